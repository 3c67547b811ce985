"""Article drafts -> article files in the store's own format, written atomically, never over
another file.

A file is ``<content>/_feeds/<feed-slug>/<YYYY-MM-DD>-<title-slug>-<url-hash>.md``: the date and
title make it readable in a listing, the hash of the normalised URL makes the name unique per
article, so "a file with this name exists" already means "this article was written". It is written
to a hidden temporary file in the same folder (which discovery skips), flushed to disk, then linked
to its final name, which fails instead of replacing when the name is taken; readers (the content
watcher, the loader) only ever see complete files.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import frontmatter

from bot.feeds.config import MAX_TOPICS
from bot.feeds.parse import Draft, plain
from bot.store.keys import topic_key
from bot.store.urls import normalize_url

__all__ = ["FEEDS_DIR", "FeedMeta", "article_filename", "remove_old", "render_article", "write_article"]

log = logging.getLogger(__name__)

#: The folder under the content directory that belongs to the fetcher; nothing else is written or
#: removed by it.
FEEDS_DIR = "_feeds"
_SLUG_RE = re.compile(r"[^a-z0-9]+")
_NAME_DATE_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})-")
_TITLE_SLUG_CHARS = 60
# Whatever a draft holds, none of these reach the file: the loader refuses NUL bytes, and YAML and
# terminals treat the others oddly. Newlines and tabs stay in the body (it is prose with paragraphs).
_BODY_JUNK_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_URL_JUNK_RE = re.compile("[\x00-\x20\x7f-\x9f\ud800-\udfff\u2028\u2029]")


@dataclass(frozen=True, slots=True)
class FeedMeta:
    """What every article of one feed shares."""

    slug: str
    provider_name: str
    provider_domain: str
    topics: tuple[str, ...] = ()
    quality: int = 50


def url_hash(url: str) -> str:
    return hashlib.sha1(normalize_url(url).encode("utf-8", "surrogatepass")).hexdigest()[:10]


def article_filename(draft: Draft) -> str:
    ascii_title = unicodedata.normalize("NFKD", draft.title).encode("ascii", "ignore").decode("ascii")
    slug = _SLUG_RE.sub("-", ascii_title.lower()).strip("-")[:_TITLE_SLUG_CHARS].strip("-") or "entry"
    return f"{draft.published_at:%Y-%m-%d}-{slug}-{url_hash(draft.url)}.md"


def _topics(meta: FeedMeta, draft: Draft) -> list[str]:
    topics: list[str] = []
    seen: set[str] = set()
    for topic in (*meta.topics, *draft.categories):
        if topic_key(topic) not in seen:
            seen.add(topic_key(topic))
            topics.append(topic)
    return topics[:MAX_TOPICS]


def render_article(meta: FeedMeta, draft: Draft) -> str:
    """The file's text: front matter in the order the store's own files use, then the body."""
    url = _URL_JUNK_RE.sub("", draft.url)
    fields: dict[str, Any] = {
        "category": "news",
        "title": plain(draft.title),
        "excerpt": plain(draft.excerpt),
        "publishedDateTime": draft.published_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "originalUrl": url,
        "webUrl": url,
        "type": "article",
        "quality": meta.quality,
        "published": True,
        "provider": {"name": plain(meta.provider_name), "domain": _URL_JUNK_RE.sub("", meta.provider_domain)},
        "topics": [topic for topic in (plain(t) for t in _topics(meta, draft)) if topic],
        "feed": meta.slug,
    }
    images = [
        {
            key: value
            for key, value in (("url", _URL_JUNK_RE.sub("", i.url)), ("width", i.width), ("height", i.height))
            if value
        }
        for i in draft.images
    ]
    if images := [image for image in images if image.get("url")]:
        fields["images"] = images
    post = frontmatter.Post(_BODY_JUNK_RE.sub("", draft.body), **fields)
    return frontmatter.dumps(post, sort_keys=False, width=4096) + "\n"


def write_article(content_dir: Path, meta: FeedMeta, draft: Draft) -> Path | None:
    """Write ``draft`` as a new file; ``None`` when a file of that name (the same article) exists."""
    folder = content_dir / FEEDS_DIR / meta.slug
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / article_filename(draft)
    if target.exists():
        return None
    data = render_article(meta, draft).encode("utf-8")
    fd, tmp = tempfile.mkstemp(prefix=".incoming-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, target)  # unlike rename, never replaces an existing file
        except FileExistsError:
            return None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    _fsync_dir(folder)
    return target


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _file_date(path: Path) -> datetime | None:
    match = _NAME_DATE_RE.match(path.name)
    if match is None:
        return None
    try:
        return datetime(int(match[1]), int(match[2]), int(match[3]), tzinfo=UTC)
    except ValueError:
        return None


def remove_old(content_dir: Path, keep_days: int, now: datetime) -> list[Path]:
    """Delete fetched articles published more than ``keep_days`` days before ``now`` (by the date
    in the file name) and empty feed folders; the index drops them at its next run."""
    root = content_dir / FEEDS_DIR
    cutoff = now - timedelta(days=keep_days)
    removed: list[Path] = []
    if not root.is_dir():
        return removed
    for folder in _dirs(root.iterdir()):
        for path in folder.iterdir():
            if path.suffix != ".md":
                continue
            when = _file_date(path)
            # Dated by day: an article is kept for the whole of its last day.
            if when is not None and when + timedelta(days=1) <= cutoff:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                    removed.append(path)
        with contextlib.suppress(OSError):
            folder.rmdir()  # only when empty
    if removed:
        log.info("removed %d fetched articles older than %d days", len(removed), keep_days)
    return removed


def _dirs(entries: Iterable[Path]) -> list[Path]:
    return [entry for entry in entries if entry.is_dir() and not entry.is_symlink()]
