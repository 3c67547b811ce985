"""Give memory that has been freed back to the system, so a long-running bot stays small.

A reindex or a catalog rebuild allocates tens of megabytes for a moment (scan listings, SQLite's
page cache on the writing connection, rows in flight). Python and SQLite free it all, but glibc's
allocator keeps freed memory mapped for reuse, so the bot's resident size would stay at its
high-water mark. ``malloc_trim`` hands the free pages back. Elsewhere (musl, macOS) this is a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys
from collections.abc import Callable

__all__ = ["release_free_memory"]

log = logging.getLogger(__name__)


def _malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim: Callable[[int], int] = libc.malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None
    return trim


_TRIM = _malloc_trim()


def release_free_memory() -> bool:
    """Return freed heap memory to the system; ``True`` if the allocator could do it here."""
    if _TRIM is None:
        return False
    _TRIM(0)
    return True
