"""Validate one raw document: envelope (apiVersion, kind) then the kind's model.

Pydantic errors become :class:`Issue` s positioned in the YAML: an unknown field at
its key, a wrong value at the value, a missing field at the mapping that lacks it.
Messages never contain the offending input (it may be a secret).
"""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from penguinctl.core.errors import Issue
from penguinctl.spec import kinds
from penguinctl.spec.document import Document
from penguinctl.spec.models import FieldProblems
from penguinctl.spec.paths import Loc, format_path
from penguinctl.spec.yamlsrc import RawDocument

ENVELOPE_KEYS = ("apiVersion", "kind", "metadata", "spec")


def did_you_mean(word: object, choices: typing.Iterable[str]) -> str | None:
    """``did you mean 'x'?`` for the closest choice, or None."""
    if not isinstance(word, str):
        return None
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in choices}
        close = [lowered[word.lower()]] if word.lower() in lowered else []
    return f"did you mean '{close[0]}'?" if close else None


def validate(raw: RawDocument, issues: list[Issue]) -> Document | None:
    """The validated :class:`Document`, or None after appending its issues."""
    data = raw.data
    here = Positioner(raw)
    if not isinstance(data, dict):
        issues.append(
            here.issue(
                (),
                "a document must be a mapping with apiVersion, kind, metadata and spec",
            )
        )
        return None
    ok = True
    api = data.get("apiVersion")
    if api is None:
        ok = False
        issues.append(here.issue((), "missing required field 'apiVersion'", hint=_API_HINT))
    elif api != kinds.API_VERSION:
        ok = False
        issues.append(here.issue(("apiVersion",), f"unknown apiVersion '{api}'", hint=_API_HINT))
    kind_name = data.get("kind")
    kind = kinds.get(kind_name) if isinstance(kind_name, str) else None
    if kind_name is None:
        ok = False
        issues.append(
            here.issue((), "missing required field 'kind'", hint=f"one of: {_kind_list()}")
        )
    elif kind is None:
        ok = False
        hint = did_you_mean(kind_name, kinds.names()) or f"known kinds: {_kind_list()}"
        issues.append(here.issue(("kind",), f"unknown kind '{kind_name}'", hint=hint))
    if not ok or kind is None:
        return None
    try:
        envelope = kind.envelope.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False, include_input=True):
            issues.extend(_issues_for(error, kind.envelope, here))
        return None
    doc = Document(
        kind=kind.name,
        name=envelope.metadata.name,  # type: ignore[attr-defined]
        labels=dict(envelope.metadata.labels),  # type: ignore[attr-defined]
        spec=envelope.spec,  # type: ignore[attr-defined]
        source=f"{raw.source.name}:{raw.line}",
        origin=raw.source,
        index=raw.index,
    )
    return doc


_API_HINT = f"write apiVersion: {kinds.API_VERSION}"


def _kind_list() -> str:
    return ", ".join(kinds.names())


class Positioner:
    """Builds issues for one raw document (positions resolved lazily by the source)."""

    def __init__(self, raw: RawDocument):
        self.raw = raw
        data = raw.data if isinstance(raw.data, dict) else {}
        kind, meta = data.get("kind"), data.get("metadata")
        name = meta.get("name") if isinstance(meta, dict) else None
        self.document = (
            f"{kind}/{name}" if isinstance(kind, str) and isinstance(name, str) else None
        )

    def issue(self, loc: Loc, message: str, *, hint: str | None = None, at: str = "value") -> Issue:
        line, column = self.raw.source.position(self.raw.index, loc, at=at)
        return Issue(
            message,
            file=self.raw.source.name,
            line=line,
            column=column,
            path=format_path(loc) or None,
            hint=hint,
            document=self.document,
        )


def _issues_for(error: ErrorDetails, root: type[BaseModel], here: Positioner) -> list[Issue]:
    loc: Loc = tuple(error["loc"])
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "value_error" and isinstance(ctx.get("error"), FieldProblems):
        problems: FieldProblems = ctx["error"]
        out = []
        for rel, message, missing in problems.problems:
            full = (*loc, *rel)
            out.append(_at(here, full[:-1] if missing else full, full, message))
        return out
    if kind == "missing":
        return [_at(here, loc[:-1], loc, f"missing required field '{loc[-1]}'")]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(root, loc[:-1])
        hint = did_you_mean(loc[-1], allowed)
        if hint is None and allowed:
            hint = "allowed here: " + ", ".join(allowed)
        return [here.issue(loc, f"unknown field '{loc[-1]}'", hint=hint, at="key")]
    message = error["msg"]
    if kind == "value_error" and message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    hint = None
    if kind == "literal_error":
        expected = [
            c.strip().strip("'")
            for c in str(ctx.get("expected", "")).replace(" or ", ",").split(",")
        ]
        hint = did_you_mean(error.get("input"), [e for e in expected if e])
    return [here.issue(loc, message, hint=hint)]


def _at(here: Positioner, target: Loc, full: Loc, message: str) -> Issue:
    issue = here.issue(target, message)
    # Position of the mapping, but the path names the missing field itself.
    return Issue(
        issue.message,
        file=issue.file,
        line=issue.line,
        column=issue.column,
        path=format_path(full) or None,
        hint=issue.hint,
        document=issue.document,
    )


def _allowed_keys(root: type[BaseModel], loc: Loc) -> list[str]:
    """The YAML (alias) field names allowed in the mapping at ``loc`` below ``root``."""
    tp: Any = root
    for seg in loc:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = next((f for n, f in tp.model_fields.items() if seg in (n, f.alias)), None)
            if field is None:
                return []
            tp = field.annotation
        elif typing.get_origin(tp) in (list, tuple) and isinstance(seg, int):
            tp = typing.get_args(tp)[0]
        elif typing.get_origin(tp) is dict:
            tp = typing.get_args(tp)[1]
        else:
            return []
    tp = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [f.alias or n for n, f in tp.model_fields.items()]
    return []


def _unwrap(tp: Any) -> Any:
    """Strip ``Optional`` / ``Annotated`` wrappers."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp
            tp = args[0]
        else:
            return tp
