"""The sending-IP assignment policy (penguinctl.spec.pools.assign), as a pure function."""

from __future__ import annotations

import itertools
from collections import Counter

from penguinctl.spec.pools import assign

MEMBERS = ["mx1", "mx2", "mx3"]


def domains(n: int, prefix: str = "d") -> list[str]:
    return [f"{prefix}{i:03}.example" for i in range(n)]


def test_a_fresh_pool_is_spread_evenly() -> None:
    for n in range(1, 40):
        load = Counter(assign(domains(n), MEMBERS).values())
        assert max(load.values()) - min(load.get(m, 0) for m in MEMBERS) <= 1, (n, load)


def test_the_result_does_not_depend_on_input_order() -> None:
    names = domains(12)
    first = assign(names, MEMBERS)
    for order in itertools.islice(itertools.permutations(names), 5):
        assert assign(list(order), MEMBERS) == first


def test_adding_domains_never_moves_an_assigned_one() -> None:
    previous: dict[str, str] = {}
    for n in range(1, 30):
        now = assign(domains(n), MEMBERS, previous=previous)
        assert {d: now[d] for d in previous} == previous
        previous = now
    load = Counter(previous.values())
    assert max(load.values()) - min(load.values()) <= 1  # and still even


def test_new_domains_fill_a_new_member_first() -> None:
    before = assign(domains(6), ["mx1", "mx2"])
    after = assign(domains(8), MEMBERS, previous=before)
    assert {d: after[d] for d in before} == before
    assert [after[d] for d in domains(8)[6:]] == ["mx3", "mx3"]


def test_removing_a_member_moves_only_its_domains() -> None:
    before = assign(domains(9), MEMBERS)
    after = assign(domains(9), ["mx1", "mx3"], previous=before)
    moved = {d for d in before if before[d] != after[d]}
    assert moved == {d for d, m in before.items() if m == "mx2"}
    assert sorted(Counter(after.values()).values()) == [4, 5]  # still even over mx1, mx3
    assert set(after.values()) == {"mx1", "mx3"}


def test_pins_win_over_history_and_unknown_members_are_ignored() -> None:
    previous = {"d000.example": "mx1", "d001.example": "mx2"}
    pins = {"d000.example": "mx3", "d001.example": "gone"}
    out = assign(domains(2), MEMBERS, pins=pins, previous=previous)
    assert out == {"d000.example": "mx3", "d001.example": "mx2"}


def test_ties_are_not_broken_by_member_order() -> None:
    """With equal loads the first member does not take every new domain."""
    firsts = Counter(assign([d], MEMBERS)[d] for d in domains(60))
    assert set(firsts) == set(MEMBERS)
