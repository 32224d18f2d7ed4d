"""YAML sources: compose with libyaml, build plain data, find positions lazily.

Loading must stay linear and cheap for tens of thousands of documents, so the node
tree of a document is dropped as soon as its plain data is built; only the
document's ``kind:`` line is kept. When an issue needs a position, the file's text
is composed again (once per file, cached) and the field path is walked there. The
happy path thus pays nothing for positions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from penguinctl.core.errors import Issue
from penguinctl.spec.paths import Loc, find, format_path, path_of

try:  # libyaml when available: an order of magnitude faster than the pure-Python parser
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

_T = "tag:yaml.org,2002:"
STR, INT, BOOL, NULL, FLOAT = _T + "str", _T + "int", _T + "bool", _T + "null", _T + "float"
MAP, SEQ, MERGE, TIMESTAMP = _T + "map", _T + "seq", _T + "merge", _T + "timestamp"


class Loader(_BaseLoader):  # type: ignore[misc,valid-type]
    """The safe loader with a leaner tag resolver (it runs once per scalar).

    Same results as PyYAML's resolver for the safe schema, which has no path
    resolvers: plain scalars are matched against the implicit resolvers of their
    first character; quoted scalars are strings.
    """

    _implicit = _BaseLoader.yaml_implicit_resolvers

    def resolve(self, kind: type, value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is ScalarNode:
            if implicit[0]:
                if value == "":
                    return NULL
                for tag, regexp in self._implicit.get(value[0], ()):
                    if regexp.match(value):
                        return str(tag)
            return STR
        return SEQ if kind is SequenceNode else MAP

    # No path resolvers in the safe schema: skip the per-node bookkeeping.
    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        return None

    def ascend_resolver(self) -> None:
        return None


_BOOLS = {"yes": True, "true": True, "on": True, "no": False, "false": False, "off": False}
_constructor = yaml.constructor.SafeConstructor()


@dataclass
class SourceFile:
    """One spec file's text; a document is re-composed lazily to position an issue."""

    name: str
    text: str
    # document index -> 0-based line where its root node starts (filled by parse())
    starts: dict[int, int] = field(default_factory=dict, repr=False)
    _roots: dict[int, tuple[Node, int] | None] = field(default_factory=dict, repr=False)

    def root(self, index: int) -> tuple[Node, int] | None:
        """Document ``index``'s root node and the line offset to add to its marks."""
        if index not in self._roots:
            self._roots[index] = self._compose(index)
        return self._roots[index]

    def _compose(self, index: int) -> tuple[Node, int] | None:
        start = self.starts.get(index)
        if start is not None:
            # Compose only this document: from the start of its first line, first
            # document only (libyaml parses lazily, so the rest is never read).
            offset = 0
            for _ in range(start):
                offset = self.text.index("\n", offset) + 1
            try:
                node = next(yaml.compose_all(self.text[offset:], Loader=Loader), None)
            except yaml.YAMLError:
                node = None
            if node is not None:
                return node, start
        try:  # fall back to the whole file (e.g. %TAG directives before the document)
            for i, node in enumerate(yaml.compose_all(self.text, Loader=Loader)):
                if i == index:
                    return node, 0
        except yaml.YAMLError:
            pass
        return None

    def position(self, index: int, loc: Loc, *, at: str = "value") -> tuple[int | None, int | None]:
        """1-based (line, column) of the node at ``loc`` in document ``index``.

        ``at``: ``"value"`` (the node itself), ``"key"`` (the mapping key naming it).
        When the path cannot be followed to its end, the deepest node found is used.
        """
        found = self.root(index)
        if found is None:
            return None, None
        root, offset = found
        mark = find(root, loc, at=at).start_mark
        return mark.line + offset + 1, mark.column + 1


@dataclass
class RawDocument:
    """A composed document: plain data plus where it came from."""

    source: SourceFile
    index: int  # position among the file's documents (as compose_all yields them)
    data: Any
    line: int  # 1-based line of its ``kind:`` key (else of its first node)


def parse(source: SourceFile, issues: list[Issue]) -> tuple[list[RawDocument], bool]:
    """Compose every document of ``source``; returns (documents, parsed completely).

    YAML syntax errors, duplicate keys and unsupported tags are appended to ``issues``.
    Empty documents are skipped.
    """
    docs: list[RawDocument] = []
    try:
        for index, root in enumerate(yaml.compose_all(source.text, Loader=Loader)):
            if type(root) is ScalarNode and root.tag == NULL and root.value == "":
                continue
            problems: list[tuple[Node, str]] = []
            try:
                data = _build(root, {}, problems)
            except RecursionError:
                issues.append(_issue(source, root, "document is nested too deeply"))
                continue
            for node, message in problems:
                path = format_path(path_of(root, node))
                issues.append(_issue(source, node, message, path=path or None))
            source.starts[index] = root.start_mark.line
            docs.append(RawDocument(source, index, data, _kind_line(root)))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = f"YAML syntax error: {exc.problem or 'invalid YAML'}"
        if exc.context and exc.context_mark is not None:
            message += f" ({exc.context} started at line {exc.context_mark.line + 1})"
        issues.append(
            Issue(
                message,
                file=source.name,
                line=mark.line + 1 if mark else None,
                column=mark.column + 1 if mark else None,
                hint="check the indentation and quoting around this line",
            )
        )
        return docs, False
    except yaml.YAMLError as exc:
        issues.append(Issue(f"YAML error: {exc}", file=source.name))
        return docs, False
    return docs, True


def _issue(source: SourceFile, node: Node, message: str, *, path: str | None = None) -> Issue:
    mark = node.start_mark
    return Issue(message, file=source.name, line=mark.line + 1, column=mark.column + 1, path=path)


def _kind_line(root: Node) -> int:
    if type(root) is MappingNode:
        for key, _ in root.value:
            if type(key) is ScalarNode and key.value == "kind":
                return int(key.start_mark.line) + 1
    return int(root.start_mark.line) + 1


def _build(node: Node, memo: dict[int, Any], problems: list[tuple[Node, str]]) -> Any:
    """Plain Python data for ``node`` (the hot loop: keep it lean)."""
    kind = type(node)
    if kind is ScalarNode:
        tag = node.tag
        if tag == STR:
            return node.value
        if tag == INT:
            return _constructor.construct_yaml_int(node)
        if tag == BOOL:
            return _BOOLS[node.value.lower()]
        if tag == NULL:
            return None
        if tag == FLOAT:
            return _constructor.construct_yaml_float(node)
        if tag == TIMESTAMP:
            return node.value  # dates stay text: models parse what they need
        problems.append((node, f"unsupported YAML tag {tag}"))
        return node.value
    done = memo.get(id(node))
    if done is not None:  # an alias of a collection already built
        return done
    if kind is SequenceNode:
        items: list[Any] = []
        memo[id(node)] = items
        if node.tag != SEQ:
            problems.append((node, f"unsupported YAML tag {node.tag}"))
        for item in node.value:
            items.append(_build(item, memo, problems))
        return items
    mapping: dict[Any, Any] = {}
    memo[id(node)] = mapping
    if node.tag != MAP:
        problems.append((node, f"unsupported YAML tag {node.tag}"))
    merges: list[Node] = []
    for key_node, value_node in node.value:
        if type(key_node) is not ScalarNode:
            problems.append((key_node, "mapping keys must be plain scalars"))
            continue
        if key_node.tag == MERGE:
            merges.append(value_node)
            continue
        key = _build(key_node, memo, problems)
        if key in mapping:
            problems.append((key_node, f"duplicate key '{key}'"))
        mapping[key] = _build(value_node, memo, problems)
    for merge in merges:  # ``<<: *base``: explicit keys win over merged ones
        sources = merge.value if type(merge) is SequenceNode else [merge]
        for source in sources:
            merged = _build(source, memo, problems)
            if not isinstance(merged, dict):
                problems.append((source, "a merge key (<<) needs a mapping"))
                continue
            for key, value in merged.items():
                mapping.setdefault(key, value)
    return mapping
