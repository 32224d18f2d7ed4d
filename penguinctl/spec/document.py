"""Loaded documents and the set of them: what the engine expands into resources."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from penguinctl.core.errors import Issue
from penguinctl.spec.paths import Loc, format_path
from penguinctl.spec.yamlsrc import SourceFile

_SEGMENT = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def parse_path(path: str) -> Loc:
    """``spec.mailboxes[1].name`` -> ``("spec", "mailboxes", 1, "name")``."""
    return tuple(int(index) if index else name for name, index in _SEGMENT.findall(path))


@dataclass
class Document:
    """One validated spec document.

    ``spec`` is the kind's pydantic model; ``source`` is ``file:line`` of the
    document's ``kind:`` line (shown in plans, stored in ``Resource.source``).
    """

    kind: str
    name: str
    labels: dict[str, str]
    spec: Any
    source: str
    origin: SourceFile | None = field(default=None, repr=False, compare=False)
    index: int = field(default=0, repr=False, compare=False)

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.name)

    def issue(
        self, path: str | Loc, message: str, *, hint: str | None = None, at: str = "value"
    ) -> Issue:
        """An :class:`Issue` positioned at ``path`` (e.g. ``spec.tenant``) in this document.

        ``at="key"`` positions it at the field's key instead of its value.
        """
        loc = parse_path(path) if isinstance(path, str) else path
        file, line, column = self.position(loc, at=at)
        return Issue(
            message,
            file=file,
            line=line,
            column=column,
            path=format_path(loc) or None,
            hint=hint,
            document=f"{self.kind}/{self.name}",
        )

    def position(self, loc: Loc, *, at: str = "value") -> tuple[str | None, int | None, int | None]:
        """(file, line, column) of ``loc``; falls back to the document's ``kind:`` line."""
        file, _, line = self.source.rpartition(":")
        if self.origin is None:
            return (file or None), (int(line) if line.isdigit() else None), None
        found_line, column = self.origin.position(self.index, loc, at=at)
        return self.origin.name, found_line, column

    def location(self, path: str | Loc = ()) -> str:
        """``file:line:column`` of ``path`` (for messages that point at another document)."""
        loc = parse_path(path) if isinstance(path, str) else path
        file, line, column = self.position(loc)
        return ":".join(str(part) for part in (file, line, column) if part is not None)


@dataclass
class SpecSet:
    """Every document of one load, in source order.

    ``of(kind)`` maps names to documents (the first document wins if a name repeats;
    a load that returns has no duplicates). ``declared`` holds every ``(kind, name)``
    seen, valid or not, and ``complete`` is False when a file could not be parsed:
    cross-checks use :meth:`is_missing` so they do not report a reference to a
    document that exists but is broken.
    """

    documents: list[Document] = field(default_factory=list)
    declared: set[tuple[str, str]] = field(default_factory=set, repr=False)
    complete: bool = True
    _index: dict[str, dict[str, Document]] = field(default_factory=dict, repr=False)
    _indexed: int = field(default=-1, repr=False)

    def of(self, kind: str) -> dict[str, Document]:
        """Documents of ``kind`` by name, in source order."""
        if self._indexed != len(self.documents):
            index: dict[str, dict[str, Document]] = {}
            for doc in self.documents:
                index.setdefault(doc.kind, {}).setdefault(doc.name, doc)
            self._index, self._indexed = index, len(self.documents)
        return self._index.get(kind, {})

    @property
    def tenants(self) -> dict[str, Document]:
        return self.of("Tenant")

    @property
    def servers(self) -> dict[str, Document]:
        return self.of("Server")

    @property
    def mail_domains(self) -> dict[str, Document]:
        return self.of("MailDomain")

    def is_missing(self, kind: str, name: str) -> bool:
        """True when no document ``kind/name`` exists and every file was read."""
        return self.complete and (kind, name) not in self.declared and name not in self.of(kind)

    def __len__(self) -> int:
        return len(self.documents)
