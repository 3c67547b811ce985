"""Union-find: the groups depend on which pairs were joined, never on their order."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from bot.store.grouping import UnionFind

ITEMS = st.lists(st.text("abcdefgh", min_size=1, max_size=2), min_size=1, max_size=12, unique=True)


def _connected(items: list[str], pairs: list[tuple[int, int]]) -> set[frozenset[str]]:
    """The groups by brute force: repeatedly merge any two sets a pair touches."""
    sets = [{item} for item in items]
    for a, b in pairs:
        sa = next(s for s in sets if items[a] in s)
        sb = next(s for s in sets if items[b] in s)
        if sa is not sb:
            sa |= sb
            sets.remove(sb)
    return {frozenset(s) for s in sets}


@given(ITEMS, st.lists(st.tuples(st.integers(0, 11), st.integers(0, 11)), max_size=20), st.randoms())
def test_groups_are_the_connected_items_whatever_the_order(
    items: list[str], raw: list[tuple[int, int]], rnd: random.Random
) -> None:
    pairs = [(a % len(items), b % len(items)) for a, b in raw]
    shuffled = pairs[:]
    rnd.shuffle(shuffled)
    first, second = UnionFind(items), UnionFind(reversed(items))
    for a, b in pairs:
        first.union(items[a], items[b])
    for a, b in shuffled:
        second.union(items[b], items[a])
    assert {frozenset(g) for g in first.groups()} == _connected(items, pairs)
    assert sorted(first.groups()) == sorted(second.groups())
    assert all(first.find(item) == min(group) for group in first.groups() for item in group), "smallest is root"


@given(ITEMS, st.lists(st.tuples(st.integers(0, 11), st.integers(0, 11)), max_size=20), st.integers(1, 4))
def test_no_group_grows_past_its_limit(items: list[str], raw: list[tuple[int, int]], limit: int) -> None:
    groups = UnionFind(items)
    for a, b in raw:
        groups.union(items[a % len(items)], items[b % len(items)], limit)
    assert max(len(g) for g in groups.groups()) <= limit
