"""Field paths inside a composed YAML document: follow one, find one, print one.

Only the error path uses these (positions are resolved lazily), so clarity wins
over speed here.
"""

from __future__ import annotations

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

Loc = tuple[str | int, ...]
MERGE = "tag:yaml.org,2002:merge"


def find(root: Node, loc: Loc, *, at: str = "value") -> Node:
    """The node at ``loc`` below ``root`` (see ``SourceFile.position``)."""
    node, key_node = root, None
    for seg in loc:
        if seg == "[key]" and key_node is not None:
            return key_node
        if type(node) is MappingNode:
            pair = _find_key(node, str(seg))
            if pair is None:
                return node
            key_node, node = pair
        elif type(node) is SequenceNode:
            if not isinstance(seg, int):
                continue  # a union/validator tag in a pydantic location
            if not 0 <= seg < len(node.value):
                return node
            key_node, node = None, node.value[seg]
        else:
            return node
    if at == "key" and key_node is not None:
        return key_node
    return node


def _find_key(node: MappingNode, name: str) -> tuple[Node, Node] | None:
    merged: list[Node] = []
    for key, value in node.value:
        if type(key) is ScalarNode:
            if key.tag == MERGE:
                merged.extend(value.value if type(value) is SequenceNode else [value])
            elif key.value == name:
                return key, value
    for other in merged:
        if type(other) is MappingNode:
            found = _find_key(other, name)
            if found is not None:
                return found
    return None


def path_of(root: Node, target: Node) -> Loc:
    """The field path from ``root`` to ``target`` (error path only: a depth-first search)."""
    stack: list[tuple[Node, Loc]] = [(root, ())]
    seen: set[int] = set()
    while stack:
        node, loc = stack.pop()
        if node is target or id(node) in seen:
            if node is target:
                return loc
            continue
        seen.add(id(node))
        if type(node) is MappingNode:
            for key, value in node.value:
                name = key.value if type(key) is ScalarNode else "?"
                if key is target:
                    return (*loc, name)
                stack.append((value, (*loc, name)))
        elif type(node) is SequenceNode:
            stack.extend((item, (*loc, i)) for i, item in enumerate(node.value))
    return ()


def format_path(loc: Loc) -> str:
    """``("spec", "mailboxes", 1, "name")`` -> ``spec.mailboxes[1].name``."""
    out = ""
    for seg in loc:
        if isinstance(seg, int):
            out += f"[{seg}]"
        elif seg == "[key]":
            continue
        else:
            out += f".{seg}" if out else str(seg)
    return out
