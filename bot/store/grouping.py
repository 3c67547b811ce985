"""Grouping things that are joined in pairs (union-find): files that describe one article, the
copies of one story in a digest."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

__all__ = ["UnionFind"]


class UnionFind:
    """Disjoint groups of strings. A group's root is its smallest member, so the result does not
    depend on the order of the joins; ``max_size`` refuses a join that would make a group larger."""

    def __init__(self, items: Iterable[str] = ()) -> None:
        self.parent: dict[str, str] = {}
        self._size: dict[str, int] = {}
        for item in items:
            self.add(item)

    def __contains__(self, item: object) -> bool:
        return item in self.parent

    def add(self, item: str) -> None:
        if item not in self.parent:
            self.parent[item] = item
            self._size[item] = 1

    def find(self, item: str) -> str:
        root = item
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[item] != root:  # path compression: later finds take one step
            self.parent[item], item = root, self.parent[item]
        return root

    def union(self, a: str, b: str, max_size: int | None = None) -> bool:
        """Join the groups of ``a`` and ``b``; False when they would exceed ``max_size`` (``None``: no limit)."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        if max_size is not None and self._size[ra] + self._size[rb] > max_size:
            return False
        if rb < ra:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self._size[ra] += self._size.pop(rb)
        return True

    def groups(self) -> list[list[str]]:
        """Every group, its members sorted."""
        out: dict[str, list[str]] = defaultdict(list)
        for item in self.parent:
            out[self.find(item)].append(item)
        return [sorted(members) for members in out.values()]
