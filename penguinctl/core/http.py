"""The one HTTP retry helper every vendor client uses.

Retries connection failures, timeouts, 429 and 5xx with exponential backoff and
full jitter, honouring ``Retry-After``. Only *idempotent* calls may use
``retry=True``: a purchase (Hostwinds ``add_instance``) must be sent once and
settled by reading, never re-sent blindly.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from penguinctl.core.errors import ProviderError, RateLimited, redact

RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})


def backoff(attempt: int, base: float = 0.25, cap: float = 8.0) -> float:
    """Full-jitter exponential backoff for the ``attempt``-th retry (0-based)."""
    return random.uniform(0, min(cap, base * (2**attempt)))


def retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def request(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    retry: bool = True,
    attempts: int = 4,
    limiter: Any = None,
    sleep: Callable[[float], None] = time.sleep,
    log: Callable[[str], None] | None = None,
    what: str = "request",
    **kwargs: Any,
) -> httpx.Response:
    """Send one request; retry transient failures when ``retry`` is True.

    Returns the final response (any status: the caller maps vendor errors).
    Raises :class:`ProviderError` (``retryable=True``) when every attempt failed
    on the transport, or :class:`RateLimited` when 429 persisted.
    """
    tries = attempts if retry else 1
    last: Exception | None = None
    for attempt in range(tries):
        if limiter is not None:
            limiter.acquire()
        try:
            response = client.request(method, url, **kwargs)
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            last = exc
            if attempt + 1 < tries:
                delay = backoff(attempt)
                if log:
                    log(f"{what}: {type(exc).__name__}, retrying in {delay:.1f}s")
                sleep(delay)
                continue
            raise ProviderError(
                f"{what} failed: {redact(str(exc)) or type(exc).__name__}",
                hint="check the network and the endpoint; the call may be retried",
                retryable=True,
            ) from None
        if response.status_code in RETRY_STATUS and attempt + 1 < tries:
            told = retry_after(response)
            delay = backoff(attempt) if told is None else told
            if response.status_code == 429 and limiter is not None and hasattr(limiter, "penalize"):
                limiter.penalize(delay)
            if log:
                log(f"{what}: HTTP {response.status_code}, retrying in {delay:.1f}s")
            sleep(delay)
            continue
        if response.status_code == 429:
            raise RateLimited(
                f"{what}: rate limited by the vendor", retry_after=retry_after(response)
            )
        return response
    raise ProviderError(f"{what} failed: {last}", retryable=True)  # pragma: no cover


def form_body(fields: Mapping[str, Any]) -> list[tuple[str, str]]:
    """PHP-style form encoding: lists become ``name[]=value`` pairs."""
    pairs: list[tuple[str, str]] = []
    for name, value in fields.items():
        if value is None:
            continue
        if isinstance(value, (list, tuple)):
            pairs.extend((f"{name}[]", str(v)) for v in value)
        else:
            pairs.append((name, str(value)))
    return pairs
