"""Graph checks: dangling references, cycles, deterministic order."""

from __future__ import annotations

import pytest

from penguinctl.core import graph
from penguinctl.core.errors import ValidationFailed
from penguinctl.core.resource import Ref, Resource


def res(key: str, deps: tuple[str, ...] = (), **attrs: object) -> Resource:
    return Resource(
        key=key,
        provider="testprov",
        tenant="t",
        attrs=attrs,
        depends_on=deps,
        source="specs/a.yaml:7",
    )


def test_dangling_reference_is_reported_with_location() -> None:
    with pytest.raises(ValidationFailed) as exc:
        graph.check([res("widget/a", ip=Ref("server/nope", "ipv4"))])
    issue = exc.value.issues[0]
    assert "server/nope" in issue.message
    assert (issue.file, issue.line) == ("specs/a.yaml", 7)


def test_reference_to_recorded_resource_outside_the_set_is_fine() -> None:
    graph.check([res("widget/a", ip=Ref("server/s", "ipv4"))], known={"server/s"})


def test_cycle_is_reported_with_its_path() -> None:
    with pytest.raises(ValidationFailed) as exc:
        graph.check(
            [
                res("widget/a", ("widget/b",)),
                res("widget/b", ("widget/c",)),
                res("widget/c", ("widget/a",)),
            ]
        )
    assert "widget/a -> widget/b -> widget/c -> widget/a" in exc.value.issues[0].message


def test_topological_order_is_deterministic_and_dependencies_first() -> None:
    deps = {"z": {"a"}, "a": set(), "m": {"z", "a"}, "b": set()}
    assert graph.topo_order(deps) == ["a", "b", "z", "m"]
    assert graph.topo_order(dict(reversed(list(deps.items())))) == ["a", "b", "z", "m"]


def test_deep_chain_has_no_recursion_limit() -> None:
    deps = {f"k{i:05d}": {f"k{i - 1:05d}"} if i else set() for i in range(5000)}
    assert graph.find_cycle(deps) is None
    assert graph.topo_order(deps)[0] == "k00000"
