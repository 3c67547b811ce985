"""The operator's list of feeds: a YAML file, read and written whole.

.. code-block:: yaml

    feeds:
      - url: https://example.org/feed.xml
        topics: [Space]          # added to every article of this feed, before the entry's own
        provider: Example News   # default: the feed's own title
        quality: 60              # default: 50
        interval: 30             # minutes between fetches; default 30, at least 5

Every problem is a :class:`FeedsConfigError` naming the file and the feed, never a traceback.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from bot.store.keys import topic_key
from bot.store.limits import QUALITY
from bot.store.urls import normalize_url

__all__ = [
    "DEFAULT_INTERVAL_MINUTES",
    "DEFAULT_QUALITY",
    "MAX_INTERVAL_MINUTES",
    "MAX_TOPICS",
    "MIN_INTERVAL_MINUTES",
    "FeedConfig",
    "FeedsConfigError",
    "atomic_write_text",
    "check_feed_url",
    "feed_slug",
    "load_feeds",
    "save_feeds",
]

#: Politeness: nobody's feed is asked more often than this, whatever the file says.
MIN_INTERVAL_MINUTES = 5
DEFAULT_INTERVAL_MINUTES = 30
MAX_INTERVAL_MINUTES = 7 * 24 * 60
DEFAULT_QUALITY = 50
MAX_TOPICS = 20
MAX_TOPIC_LENGTH = 100
MAX_URL_LENGTH = 2000
_KEYS = frozenset({"url", "topics", "provider", "quality", "interval"})
_SLUG_RE = re.compile(r"[^a-z0-9]+")
_SLUG_TEXT_CHARS = 48


class FeedsConfigError(ValueError):
    """The feeds file or a value for it is wrong; the message names the file and the feed."""


@dataclass(frozen=True, slots=True)
class FeedConfig:
    url: str
    topics: tuple[str, ...] = ()
    provider: str | None = None
    quality: int = DEFAULT_QUALITY
    interval: int = DEFAULT_INTERVAL_MINUTES  # minutes

    @property
    def slug(self) -> str:
        return feed_slug(self.url)

    def to_yaml(self) -> dict[str, Any]:
        data: dict[str, Any] = {"url": self.url}
        if self.topics:
            data["topics"] = list(self.topics)
        if self.provider:
            data["provider"] = self.provider
        if self.quality != DEFAULT_QUALITY:
            data["quality"] = self.quality
        if self.interval != DEFAULT_INTERVAL_MINUTES:
            data["interval"] = self.interval
        return data


def check_feed_url(url: str) -> str:
    """``url`` stripped, or a :class:`FeedsConfigError` saying why it cannot be fetched."""
    text = url.strip()
    if not text:
        raise FeedsConfigError("the feed URL is empty")
    if len(text) > MAX_URL_LENGTH:
        raise FeedsConfigError(f"the feed URL is longer than {MAX_URL_LENGTH} characters")
    if any(c.isspace() or ord(c) < 0x20 for c in text):
        raise FeedsConfigError(f"the feed URL {text!r} contains spaces or control characters")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise FeedsConfigError(f"{text!r} is not a valid URL") from None
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        raise FeedsConfigError(f"{text!r} is not an http:// or https:// URL")
    return text


def feed_slug(url: str) -> str:
    """The folder name of a feed's articles: readable host and path, plus a hash of the normalised
    URL so two feeds never share a folder and the same feed always gets the same one."""
    parts = urlsplit(url)
    text = _SLUG_RE.sub("-", f"{parts.hostname or ''}{parts.path}".lower()).strip("-")[:_SLUG_TEXT_CHARS].strip("-")
    digest = hashlib.sha1(normalize_url(url).encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{text or 'feed'}-{digest}"


def _where(path: Path, number: int | None, url: object = None) -> str:
    if number is None:
        return str(path)
    return f"{path}: feed {number}" + (f" ({url})" if isinstance(url, str) else "")


def parse_entry(raw: object, path: Path, number: int) -> FeedConfig:
    if isinstance(raw, str):
        raw = {"url": raw}
    if not isinstance(raw, dict):
        raise FeedsConfigError(f"{_where(path, number)}: expected a mapping with a url, got {type(raw).__name__}")
    where = _where(path, number, raw.get("url"))
    unknown = sorted(str(key) for key in raw if key not in _KEYS)
    if unknown:
        raise FeedsConfigError(f"{where}: unknown field {unknown[0]!r} (known: {', '.join(sorted(_KEYS))})")
    url = raw.get("url")
    if not isinstance(url, str):
        raise FeedsConfigError(f"{where}: 'url' must be a string")
    try:
        url = check_feed_url(url)
    except FeedsConfigError as exc:
        raise FeedsConfigError(f"{where}: {exc}") from None
    return FeedConfig(
        url=url,
        topics=check_topics(raw.get("topics"), where),
        provider=check_provider(raw.get("provider"), where),
        quality=check_quality(raw.get("quality", DEFAULT_QUALITY), where),
        interval=check_interval(raw.get("interval", DEFAULT_INTERVAL_MINUTES), where),
    )


def check_topics(value: object, where: str = "topics") -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise FeedsConfigError(f"{where}: 'topics' must be a list of names")
    topics: list[str] = []
    for item in value:
        topic = " ".join(item.split())
        if not topic:
            continue
        if len(topic) > MAX_TOPIC_LENGTH:
            raise FeedsConfigError(f"{where}: topic {topic[:30]!r}... is longer than {MAX_TOPIC_LENGTH} characters")
        if topic_key(topic) not in {topic_key(t) for t in topics}:
            topics.append(topic)
    if len(topics) > MAX_TOPICS:
        raise FeedsConfigError(f"{where}: at most {MAX_TOPICS} topics per feed, got {len(topics)}")
    return tuple(topics)


def check_provider(value: object, where: str = "provider") -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise FeedsConfigError(f"{where}: 'provider' must be a name")
    name = " ".join(value.split())
    return name or None


def check_quality(value: object, where: str = "quality") -> int:
    if value not in QUALITY:  # the store's range: what the loader accepts in the files written
        raise FeedsConfigError(f"{where}: 'quality' must be a whole number from {QUALITY}, got {value!r}")
    assert isinstance(value, int)
    return value


def check_interval(value: object, where: str = "interval") -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not (MIN_INTERVAL_MINUTES <= value <= MAX_INTERVAL_MINUTES)
    ):
        raise FeedsConfigError(
            f"{where}: 'interval' must be whole minutes from {MIN_INTERVAL_MINUTES} to {MAX_INTERVAL_MINUTES}, "
            f"got {value!r}"
        )
    return value


def load_feeds(path: Path) -> list[FeedConfig]:
    """The feeds listed in ``path``; none when the file does not exist yet."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise FeedsConfigError(f"{path}: cannot read the feeds file: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" (line {mark.line + 1})" if mark is not None else ""
        raise FeedsConfigError(f"{path}: not valid YAML{line}: {getattr(exc, 'problem', None) or exc}") from None
    if data is None:
        return []
    if not isinstance(data, dict) or set(data) - {"feeds"}:
        raise FeedsConfigError(f"{path}: expected a mapping with one key, 'feeds', holding a list of feeds")
    entries = data.get("feeds") or []
    if not isinstance(entries, list):
        raise FeedsConfigError(f"{path}: 'feeds' must be a list")
    feeds: list[FeedConfig] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(entries, start=1):
        feed = parse_entry(raw, path, number)
        key = normalize_url(feed.url)
        if key in seen:
            raise FeedsConfigError(f"{_where(path, number, feed.url)}: the same feed as feed {seen[key]}")
        seen[key] = number
        feeds.append(feed)
    return feeds


def save_feeds(path: Path, feeds: Sequence[FeedConfig]) -> None:
    header = "# Feeds newsbot fetches into the store (see the README, 'Feeds'). Edit freely or use `newsbot feeds`.\n"
    body = yaml.safe_dump(
        {"feeds": [feed.to_yaml() for feed in feeds]}, allow_unicode=True, sort_keys=False, width=1000
    )
    atomic_write_text(path, header + body)


def atomic_write_text(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so a reader sees the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
