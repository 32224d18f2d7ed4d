"""How the MailU providers reach one server's MailU configuration.

MailU 2024.06 has no API for everything penguinctl needs (apis.md §2): the bulk,
idempotent path is the admin CLI, ``flask mailu config-export -j`` to read and
``config-import -u`` to merge (deletion with ``{"-name": d}`` / ``{"-email": a}``
items), and DKIM keys are files at ``DKIM_PATH`` (``/dkim/{domain}.{selector}.key``)
that MailU reads lazily. A :class:`MailuChannel` is that surface, nothing more,
so the providers do not care whether it runs over SSH or against the sandbox.

Two channels: :class:`SandboxChannel` (the emulator over HTTP) and
:class:`~penguinctl.providers.mailu_ssh.SshChannel` (``docker compose exec admin
flask mailu …`` through :mod:`penguinctl.remote`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

from penguinctl.core.errors import NotFound, ProviderError, redact
from penguinctl.core.provider import ProviderContext

if TYPE_CHECKING:
    import httpx

Config = dict[str, list[dict[str, Any]]]


class MailuChannel(Protocol):
    """One server's MailU configuration.

    * ``export()``: ``config-export -j`` of the ``domain`` and ``user`` sections
      (password hashes included, never clear text);
    * ``import_update(partial)``: ``config-import -u`` of ``partial``: only the items
      and fields given change; all or nothing; raises :class:`ProviderError` when
      MailU refuses the payload;
    * ``read_dkim(domain, selector)``: the installed PEM private key, or None;
    * ``install_dkim(domain, selector, pem)``: write the key file MailU signs with.
    """

    def export(self) -> Config: ...

    def import_update(self, partial: Config) -> None: ...

    def read_dkim(self, domain: str, selector: str) -> str | None: ...

    def install_dkim(self, domain: str, selector: str, pem: str) -> None: ...


def split_id(id: str) -> tuple[str, str]:
    """``<server>/<name>`` (the MailU providers' ids) split; NotFound if malformed."""
    server, sep, name = id.partition("/")
    if not sep or not server or not name:
        raise NotFound(f"not a MailU object id: {id!r}", hint="ids look like <server>/<name>")
    return server, name.lower()


def find_item(items: list[dict[str, Any]], primary: str, value: str) -> dict[str, Any] | None:
    """The exported item whose ``primary`` field equals ``value`` (case-insensitively)."""
    return next((i for i in items if str(i.get(primary, "")).lower() == value), None)


@contextmanager
def open_channel(
    ctx: ProviderContext, server: str, attrs: Mapping[str, Any] | None = None
) -> Iterator[MailuChannel]:
    """The channel to ``server``'s MailU for this call: the sandbox emulator, or SSH
    (:mod:`penguinctl.providers.mailu_ssh`, reaching the host named by ``attrs["ssh"]``)."""
    if not ctx.sandbox:
        from penguinctl.providers.mailu_ssh import open_ssh

        yield open_ssh(ctx, server, attrs or {})
        return
    import httpx

    with httpx.Client(timeout=15) as client:
        yield SandboxChannel(ctx, server, client)


class SandboxChannel:
    """The sandbox MailU emulator over HTTP (``ctx.endpoint("mailu")``)."""

    def __init__(self, ctx: ProviderContext, server: str, client: httpx.Client) -> None:
        self._ctx = ctx
        self._server = server
        self._client = client
        self._base = f"{ctx.endpoint('mailu')}/servers/{quote(server, safe='')}"

    def export(self) -> Config:
        data = self._json(self._call("GET", "/config", what="config-export"))
        if not isinstance(data, dict):
            raise self._bad_reply("config-export")
        return {
            "domain": list(data.get("domain") or []),
            "user": list(data.get("user") or []),
        }

    def import_update(self, partial: Config) -> None:
        # Not retried blindly: a merge whose reply was lost is settled by exporting again.
        self._call(
            "POST",
            "/import?update=1",
            what="config-import -u",
            retry=False,
            content=json.dumps(partial).encode(),
            headers={"content-type": "application/json"},
        )

    def read_dkim(self, domain: str, selector: str) -> str | None:
        try:
            response = self._call("GET", self._dkim_path(domain, selector), what="DKIM key read")
        except NotFound:
            return None
        return response.text

    def install_dkim(self, domain: str, selector: str, pem: str) -> None:
        self._call(
            "PUT",
            self._dkim_path(domain, selector),
            what="DKIM key install",
            content=pem.encode(),
            headers={"content-type": "application/x-pem-file"},
        )

    # -- plumbing -----------------------------------------------------------------

    @staticmethod
    def _dkim_path(domain: str, selector: str) -> str:
        return f"/dkim/{quote(domain, safe='')}/{quote(selector, safe='')}"

    def _call(
        self, method: str, path: str, *, what: str, retry: bool = True, **kwargs: Any
    ) -> httpx.Response:
        from penguinctl.core.http import request

        # No rate limiter: MailU's admin channel has no vendor quota to respect, and the
        # engine already bounds concurrency per server.
        response = request(
            self._client,
            method,
            self._base + path,
            retry=retry,
            log=self._ctx.log,
            what=f"MailU {what} on {self._server}",
            **kwargs,
        )
        if response.status_code < 300:
            return response
        detail = _error_text(response)
        message = f"MailU {what} on {self._server} failed: {detail}"
        if response.status_code == 404 and "dkim" in path:
            raise NotFound(message)
        if response.status_code == 400:
            raise ProviderError(
                message, hint="MailU refused the change; fix the spec value it names"
            )
        raise ProviderError(
            f"{message} (HTTP {response.status_code})",
            hint="the sandbox MailU did not expect this call; this is a penguinctl bug",
        )

    def _json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise self._bad_reply("config-export") from None

    def _bad_reply(self, what: str) -> ProviderError:
        return ProviderError(
            f"MailU {what} on {self._server} returned an unreadable reply",
            hint="check that the mailu endpoint points at the sandbox MailU",
        )


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return redact(response.text[:200])
    if isinstance(body, dict):
        return redact(str(body.get("error") or body.get("message") or body))
    return redact(str(body)[:200])
