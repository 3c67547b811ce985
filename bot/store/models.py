"""Immutable records produced by the loader.

These types are the contract between the store (files), the database layer and the renderers.
They are plain frozen dataclasses so they can be pickled across worker processes cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from bot.store.names import printable


@dataclass(frozen=True, slots=True)
class Provider:
    """Who published the article. ``domain`` is the stable key; names are noisy."""

    name: str
    domain: str
    logo_url: str | None = None


@dataclass(frozen=True, slots=True)
class Image:
    url: str
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True, slots=True)
class RelatedRef:
    """A denormalised copy of another article, as found in a file's ``related`` list."""

    title: str
    url: str
    excerpt: str = ""
    published_at: datetime | None = None
    provider: Provider | None = None
    quality: int | None = None
    image_url: str | None = None


@dataclass(frozen=True, slots=True)
class Article:
    """One news item, cleaned and normalised.

    ``id`` is derived from the file's slug and is what users pick in ``/news article``.
    ``url`` is ``webUrl`` or, when that is missing or empty, ``originalUrl``.
    ``secured`` is an opaque blob kept for round-tripping only: it is excluded from ``repr`` and
    must never be displayed or logged.
    """

    id: str
    path: str
    title: str
    url: str
    published_at: datetime
    provider: Provider
    excerpt: str = ""
    body: str = ""
    original_url: str | None = None
    topics: tuple[str, ...] = ()
    images: tuple[Image, ...] = ()
    related: tuple[RelatedRef, ...] = ()
    quality: int = 0
    heat: int = -1
    published: bool = True
    type: str = "article"
    has_featured_content: bool = False
    secured: str | None = field(default=None, repr=False, compare=False)

    @property
    def image_url(self) -> str | None:
        return self.images[0].url if self.images else None


Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class LoadIssue:
    """A problem found while loading one file.

    ``error`` means the file was rejected; ``warning`` means it was accepted (for example decoded
    as cp1252, or collapsed as a duplicate of another file). ``path`` is relative to the content
    directory; ``line`` is 1-based when known.
    """

    path: str
    reason: str
    severity: Severity = "error"
    line: int | None = None

    def __str__(self) -> str:
        # One line, safe on a terminal: names and reasons may hold anything a file name or a
        # front-matter value can.
        where = printable(f"{self.path}:{self.line}" if self.line else self.path)
        reason = printable(self.reason)
        return f"{where}: {reason}" if self.severity == "error" else f"{where}: warning: {reason}"
