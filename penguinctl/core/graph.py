"""The dependency graph of resources: validation (dangling, cycles) and deterministic order."""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping

from penguinctl.core.errors import Issue, ValidationFailed
from penguinctl.core.resource import Resource


def _location(resource: Resource) -> tuple[str | None, int | None]:
    if not resource.source:
        return None, None
    file, _, line = resource.source.rpartition(":")
    return (file, int(line)) if line.isdigit() else (resource.source, None)


def check(resources: Iterable[Resource], known: Iterable[str] = ()) -> list[str]:
    """Raise :class:`ValidationFailed` for references to unknown resources and for cycles.

    ``known`` are keys that exist outside this set (recorded resources of other
    tenants), which a reference may point at. Returns the deterministic order
    (dependencies first) that the check computed anyway.
    """
    by_key = {r.key: r for r in resources}
    keys = by_key.keys()
    outside = set(known)
    issues: list[Issue] = []
    # The graph keeps only edges inside this set; it is built in the same pass as the
    # dangling check, reusing each resource's dependency set when it is all inside
    # (the common case: no intersection to allocate, no sorting).
    graph: dict[str, frozenset[str]] = {}
    for key, r in by_key.items():
        deps = r.dependencies()
        if deps <= keys:
            graph[key] = deps
            continue
        graph[key] = deps & keys
        for dep in sorted(deps):
            if dep not in by_key and dep not in outside:
                file, line = _location(r)
                issues.append(
                    Issue(
                        f"{r.key} refers to {dep}, which no spec declares",
                        file=file,
                        line=line,
                        hint="declare it, or fix the name",
                    )
                )
    # Kahn's algorithm is cheaper than a DFS and finds whether there is a cycle; the DFS
    # runs only then, to name one.
    order: list[str] = []
    try:
        order = topo_order(graph)
        cycle = None
    except ValueError:
        cycle = find_cycle(graph)
    if cycle:
        file, line = _location(by_key[cycle[0]])
        issues.append(
            Issue(
                "dependency cycle: " + " -> ".join([*cycle, cycle[0]]),
                file=file,
                line=line,
                hint="a resource cannot depend on itself, even through others",
            )
        )
    if issues:
        raise ValidationFailed(issues)
    return order


def find_cycle(deps: Mapping[str, Iterable[str]]) -> list[str] | None:
    """Return one cycle (a list of keys) or None. Iterative DFS: no recursion limit."""
    white, grey, black = 0, 1, 2
    color = dict.fromkeys(deps, white)
    for start in sorted(deps):
        if color[start] != white:
            continue
        stack: list[tuple[str, list[str]]] = [(start, sorted(deps[start]))]
        path = [start]
        color[start] = grey
        while stack:
            node, children = stack[-1]
            if not children:
                stack.pop()
                path.pop()
                color[node] = black
                continue
            child = children.pop()
            if child not in color:
                continue
            if color[child] == grey:
                return path[path.index(child) :]
            if color[child] == white:
                color[child] = grey
                path.append(child)
                stack.append((child, sorted(deps[child])))
    return None


def topo_order(deps: Mapping[str, Iterable[str]]) -> list[str]:
    """Kahn's algorithm with a heap: dependencies first, ties broken by key (deterministic)."""
    indegree = dict.fromkeys(deps, 0)
    children: dict[str, list[str]] = {k: [] for k in deps}
    for key, ds in deps.items():
        for d in ds:
            if d in indegree:
                indegree[key] += 1
                children[d].append(key)
    ready = [k for k, n in indegree.items() if n == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        key = heapq.heappop(ready)
        order.append(key)
        for child in children[key]:
            indegree[child] -= 1
            if indegree[child] == 0:
                heapq.heappush(ready, child)
    if len(order) != len(indegree):
        raise ValueError("cycle in dependency graph")
    return order
