"""Personalization: jinja2's sandbox with strict undefined, deterministic spintax and A/B picks.

Every choice is a pure function of (campaign, contact, step): the same contact
always gets the same variant and the same spintax alternatives, so a preview is
exactly what will be sent and a retry never changes the words.

Spintax ``{Hi|Hello|Hey}`` is resolved in the template *source*, before jinja2
(so contact data containing braces is never read as spintax); jinja2's own
``{{``, ``{%`` and ``{#`` are left alone. Nested spintax resolves innermost first.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

_SPIN = re.compile(r"(?<!\{)\{(?![{%#])([^{}]*\|[^{}]*)\}")


def _unit(*parts: object) -> float:
    """A number in [0, 1) fixed by ``parts``."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest) / 2**64


def spin(source: str, seed: str) -> str:
    """Resolve every spintax group of ``source``, deterministically for ``seed``."""
    count = 0

    def pick(found: re.Match[str]) -> str:
        nonlocal count
        count += 1
        options = found.group(1).split("|")
        return options[int(_unit(seed, count, found.group(1)) * len(options))]

    while True:
        result = _SPIN.sub(pick, source)
        if result == source:
            return result
        source = result


def pick_variant(names_weights: list[tuple[str, float]], *parts: object) -> str:
    """A weighted choice fixed by ``parts`` (campaign, contact id, step)."""
    total = sum(w for _, w in names_weights)
    point = _unit("variant", *parts) * total
    for name, weight in names_weights:
        point -= weight
        if point < 0:
            return name
    return names_weights[-1][0]


@lru_cache(maxsize=1)
def environment() -> Any:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    # autoescape off: text parts are text; the HTML part escapes through its own env.
    return SandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True
    )


@lru_cache(maxsize=1)
def html_environment() -> Any:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(
        undefined=StrictUndefined, autoescape=True, keep_trailing_newline=True
    )


@lru_cache(maxsize=4096)
def _compiled(source: str, html: bool) -> Any:
    env = html_environment() if html else environment()
    return env.from_string(source)


class RenderError(Exception):
    """A template that cannot be rendered for one contact (message says why)."""


def render(source: str, context: Mapping[str, Any], *, seed: str, html: bool = False) -> str:
    from jinja2 import TemplateError

    try:
        return str(_compiled(spin(source, seed), html).render(context))
    except TemplateError as exc:
        raise RenderError(_describe(exc)) from None


def _describe(exc: Exception) -> str:
    message = getattr(exc, "message", None) or str(exc)
    line = getattr(exc, "lineno", None)
    return f"{message} (template line {line})" if line else str(message)


def compile_errors(step: Any) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Syntax errors of a step's templates, each with its relative spec path."""
    from jinja2 import TemplateSyntaxError

    parts: list[tuple[tuple[str | int, ...], str | None]] = [
        (("subject",), step.subject),
        (("text",), step.text),
        (("html",), step.html),
    ]
    for index, variant in enumerate(step.variants):
        for name in ("subject", "text", "html"):
            parts.append((("variants", index, name), getattr(variant, name)))
    for path, source in parts:
        if not source:
            continue
        try:
            environment().parse(spin(source, "check"))
        except TemplateSyntaxError as exc:
            yield path, f"template syntax error: {_describe(exc)}"


@dataclass(frozen=True)
class Rendered:
    step: int
    variant: str
    subject: str
    text: str
    html: str | None


def render_step(
    spec: Any, campaign: str, step_index: int, contact: Mapping[str, Any], sender: Mapping[str, str]
) -> Rendered:
    """The subject and bodies of ``step_index`` for ``contact`` (raises :class:`RenderError`)."""
    step = spec.steps[step_index]
    variant_name = "-"
    subject, text, html = step.subject, step.text, step.html
    if step.variants:
        variant_name = pick_variant(
            [(v.name, v.weight) for v in step.variants], campaign, contact["id"], step_index
        )
        chosen = next(v for v in step.variants if v.name == variant_name)
        subject = chosen.subject or subject
        text = chosen.text or text
        html = chosen.html or html
    context = {
        **spec.defaults,
        **contact.get("fields", {}),
        "email": contact["email"],
        "sender": dict(sender),
    }
    seed = f"{campaign}/{contact['id']}/{step_index}"
    if subject:
        rendered_subject = render(subject, context, seed=seed + "/s").strip()
    else:
        base = first_subject(spec, campaign, contact["id"])
        rendered_subject = (
            "Re: " + render(base, context, seed=f"{campaign}/{contact['id']}/0/s").strip()
        )
    rendered_text = render(text, context, seed=seed + "/t") if text else ""
    rendered_html = render(html, context, seed=seed + "/h", html=True) if html else None
    if "\n" in rendered_subject or "\r" in rendered_subject:
        raise RenderError("the subject renders with a line break")
    return Rendered(step_index, variant_name, rendered_subject, rendered_text, rendered_html)


def first_subject(spec: Any, campaign: str, contact_id: int) -> str:
    """The subject template of the first step as this contact got it (its variant's)."""
    first = spec.steps[0]
    if first.variants:
        name = pick_variant([(v.name, v.weight) for v in first.variants], campaign, contact_id, 0)
        chosen = next(v for v in first.variants if v.name == name)
        return str(chosen.subject or first.subject or "")
    return str(first.subject or "")
