"""release_free_memory: freed memory goes back to the system, not only to the allocator."""

from __future__ import annotations

import sys

import pytest

from bot.content.memory import release_free_memory


def resident_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="measures /proc/self/status (Linux)")
def test_freed_memory_in_the_middle_of_the_heap_is_given_back() -> None:
    if not release_free_memory():
        pytest.skip("not glibc: malloc_trim is unavailable and the call is a no-op")
    # 2 KiB blocks come from glibc's heap (too big for Python's own small-object allocator), and the
    # block allocated last keeps the heap's top in place, so nothing is returned by itself.
    blocks = [bytes(2048) for _ in range(40_000)]
    pin = bytes(2048)
    grown = resident_mb()
    del blocks
    freed_only = resident_mb()
    release_free_memory()
    trimmed = resident_mb()
    assert freed_only - trimmed > 40, (grown, freed_only, trimmed)
    assert pin  # still alive: the heap top stayed pinned during the measurement
