"""Limits that keep one hostile or broken file from costing more than a bounded amount of work,
and the ranges of the numeric fields an article may carry.

Real article files are a few KiB to about 150 KiB, nest five levels deep and use no YAML aliases.
Each range here is the one definition of what the loader accepts; the database, the backup
validator and the commands that take such a number import it from here.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "HEAT",
    "IMAGE_SIDE",
    "MAX_FILE_BYTES",
    "MAX_ID_LENGTH",
    "MAX_NESTING_DEPTH",
    "QUALITY",
    "IntRange",
]

#: Files larger than this are rejected without being read in full.
MAX_FILE_BYTES = 1024 * 1024

#: Deepest nesting of block indentation levels plus flow brackets accepted in front matter. It is
#: checked by scanning the text before any YAML parser sees it.
MAX_NESTING_DEPTH = 32

#: Article ids longer than this are shortened (see ``bot.store.fields.article_id``).
MAX_ID_LENGTH = 90


@dataclass(frozen=True, slots=True)
class IntRange:
    """The whole numbers from ``low`` to ``high``, both included."""

    low: int
    high: int

    def __contains__(self, value: object) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and self.low <= value <= self.high

    def __str__(self) -> str:
        return f"{self.low} to {self.high:,}"


# Every upper bound stays within a signed 32-bit integer, so a value the loader accepts fits the
# narrowest column any backend stores it in (an SQLite integer is 64-bit, a PostgreSQL INTEGER 32).

#: The source's quality score: 0 (unrated) to 164, the highest the feeds use. Digests and server
#: settings filter on it (``min_quality``).
QUALITY = IntRange(0, 164)

#: Popularity: -1 when the source gives none (the default), else a count. The real corpus peaks
#: in the thousands.
HEAT = IntRange(-1, 2**31 - 1)

#: An image's width or height in pixels, when given: 65,535 is the most a JPEG can have, and news
#: images are a few thousand at most.
IMAGE_SIDE = IntRange(1, 65_535)
