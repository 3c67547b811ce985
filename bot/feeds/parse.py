"""Feed bytes -> article drafts, with feedparser (RSS 0.9x/1.0/2.0, Atom 0.3/1.0, RDF, CDF).

A feed feedparser can read despite errors ("bozo") is read, and the problem kept as a warning; a
response that is no feed at all is a :class:`NotAFeed`. Each entry becomes a :class:`Draft` (all
text reduced to clean, single-spaced prose; links resolved against the feed's URL; the date in
UTC) or a :class:`Rejected` with the reason, shown to the operator by ``newsbot feeds list``.
"""

from __future__ import annotations

import calendar
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin

import feedparser

from bot.feeds.config import MAX_TOPIC_LENGTH, MAX_TOPICS
from bot.store.text import clean_text
from bot.store.urls import host_of, web_url

__all__ = ["Draft", "DraftImage", "NotAFeed", "ParsedFeed", "Rejected", "html_to_text", "parse_feed"]

MAX_TITLE_CHARS = 300
MAX_EXCERPT_CHARS = 600
MAX_BODY_CHARS = 20_000
_EARLIEST = datetime(1970, 1, 2, tzinfo=UTC)
_PERIOD_SECONDS = {"hourly": 3600, "daily": 86400, "weekly": 7 * 86400, "monthly": 30 * 86400, "yearly": 365 * 86400}
_BLOCK_TAGS = frozenset(
    {"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "tr", "table",
     "section", "article", "figure", "figcaption", "hr", "dd", "dt"}
)  # fmt: skip
_SKIPPED_TAGS = frozenset({"script", "style", "noscript", "template", "iframe", "object", "svg", "math"})
# Characters that have no business in prose: C0/C1 controls (tab and newline become spaces), lone
# surrogates, non-characters, and line/paragraph separators that YAML and terminals treat oddly.
_CONTROL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff\u2028\u2029]")
_SPACE_RE = re.compile(r"\s+")
_TAG_RE = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(?:\s[^<>]*)?/?>")
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif")
_IGNORED_CATEGORIES = frozenset({"uncategorized", "uncategorised", "general", "news"})


class NotAFeed(Exception):
    """The response is not a feed feedparser can read; the message says what it looked like."""


@dataclass(frozen=True, slots=True)
class DraftImage:
    url: str
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True, slots=True)
class Draft:
    """One entry, ready to be written as an article file."""

    title: str
    url: str
    published_at: datetime
    excerpt: str = ""
    body: str = ""
    categories: tuple[str, ...] = ()
    images: tuple[DraftImage, ...] = ()


@dataclass(frozen=True, slots=True)
class Rejected:
    what: str  # the entry's title, link or position
    reason: str


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str
    site: str  # the feed's own host, for the provider's domain
    entries: list[Draft] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    min_interval: float | None = None  # seconds the feed asks readers to wait (ttl, sy:updatePeriod)
    warning: str | None = None


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            self._skipping += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def plain(text: str) -> str:
    """One line of clean prose: no control characters, single spaces, the store's cleaning rules."""
    text = _CONTROL_RE.sub(" ", text)
    return clean_text(_SPACE_RE.sub(" ", text).strip())


def html_to_text(markup: str) -> str:
    """The readable text of an HTML fragment: tags dropped (scripts and styles with their content),
    entities decoded, whitespace collapsed. Feeds often escape their HTML twice (``&amp;lt;b&amp;gt;``);
    tags that appear once the first layer is decoded are markup too, never prose, and go as well."""
    text = _strip_tags(markup)
    if _TAG_RE.search(text):
        text = _strip_tags(text)
    return plain(text)


def _strip_tags(markup: str) -> str:
    if "<" not in markup and "&" not in markup:
        return markup
    extractor = _TextExtractor()
    try:
        extractor.feed(markup)
        extractor.close()
    except (AssertionError, ValueError):  # html.parser gives up on some malformed declarations
        return re.sub(r"<[^>]*>", " ", markup)
    return "".join(extractor.parts)


def shorten(text: str, limit: int) -> str:
    """``text`` cut at a word boundary to at most ``limit`` characters, with an ellipsis if cut."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-") + "…"


def _struct_to_utc(value: Any) -> datetime | None:
    if not isinstance(value, time.struct_time):
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _web_url(value: object, base: str) -> str | None:
    """The entry's link resolved against the feed's address, if the store would accept it as a link
    (``bot.store.urls.web_url``: the one definition of a usable link)."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = _CONTROL_RE.sub("", value.strip())
    try:
        url = urljoin(base, text)
    except ValueError:
        return None
    return web_url(url)


def _dimension(value: object) -> int | None:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 100_000 else None


def _images(entry: Any, base: str) -> tuple[DraftImage, ...]:
    found: list[DraftImage] = []
    candidates: list[tuple[object, object, object]] = []
    for media in entry.get("media_content") or []:
        kind = str(media.get("medium") or media.get("type") or "")
        url = media.get("url")
        if kind.startswith("image") or (not kind and str(url).lower().endswith(_IMAGE_SUFFIXES)):
            candidates.append((url, media.get("width"), media.get("height")))
    for thumb in entry.get("media_thumbnail") or []:
        candidates.append((thumb.get("url"), thumb.get("width"), thumb.get("height")))
    for link in entry.get("links") or []:
        if link.get("rel") == "enclosure" and str(link.get("type") or "").startswith("image/"):
            candidates.append((link.get("href"), None, None))
    seen: set[str] = set()
    for raw_url, width, height in candidates:
        url = _web_url(raw_url, base)
        if url is not None and url not in seen:
            seen.add(url)
            found.append(DraftImage(url, _dimension(width), _dimension(height)))
    return tuple(found[:5])


def _categories(entry: Any) -> tuple[str, ...]:
    names: list[str] = []
    folded: set[str] = set()
    for tag in entry.get("tags") or []:
        raw = tag.get("label") or tag.get("term")
        if not isinstance(raw, str):
            continue
        # Some feeds pack several categories into one, separated by commas or slashes.
        for part in re.split(r"[,/|]", raw) if len(raw) > 40 else [raw]:
            name = plain(part)
            key = name.casefold()
            if name and len(name) <= MAX_TOPIC_LENGTH and key not in folded and key not in _IGNORED_CATEGORIES:
                folded.add(key)
                names.append(name)
    return tuple(names[:MAX_TOPICS])


def _content_text(entry: Any) -> str:
    best = ""
    for content in entry.get("content") or []:
        value = content.get("value")
        if isinstance(value, str) and len(value) > len(best):
            best = value
    return best


def _entry(entry: Any, base: str, number: int, now: datetime) -> Draft | Rejected:
    title = plain(html_to_text(entry.get("title") or ""))
    link = entry.get("link")
    url = _web_url(link, base)
    what = shorten(title, 80) or (str(link)[:80] if link else f"entry {number}")
    if url is None:
        return Rejected(what, "no link" if not link else f"the link {str(link)[:80]!r} is not a web address")
    published = None
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        published = _struct_to_utc(dict.get(entry, key))  # dict.get: no feedparser key aliasing
        if published is not None:
            break
    if published is None:
        raw_date = dict.get(entry, "published") or dict.get(entry, "updated")
        return Rejected(what, f"unreadable date {str(raw_date)[:40]!r}" if raw_date else "no date")
    if published < _EARLIEST:
        return Rejected(what, f"implausible date {published:%Y-%m-%d}")
    # A date in the future would pin the entry to the top of /news latest until then.
    published = min(published, now)
    summary = html_to_text(entry.get("summary") or "")
    content = html_to_text(_content_text(entry))
    if not title:
        title = shorten(summary or content, 120)
        if not title:
            return Rejected(what, "no title and no text")
    body = content if len(content) > len(summary) else summary
    return Draft(
        title=shorten(title, MAX_TITLE_CHARS),
        url=url,
        published_at=published.replace(microsecond=0),
        excerpt=shorten(summary or content, MAX_EXCERPT_CHARS),
        body=shorten(body, MAX_BODY_CHARS),
        categories=_categories(entry),
        images=_images(entry, base),
    )


def _min_interval(feed: Any) -> float | None:
    hints: list[float] = []
    ttl = _dimension(feed.get("ttl"))
    if ttl is not None:
        hints.append(ttl * 60.0)  # RSS <ttl> is in minutes
    period = str(feed.get("sy_updateperiod") or "").strip().lower()
    if period in _PERIOD_SECONDS:
        frequency = _dimension(feed.get("sy_updatefrequency")) or 1
        hints.append(_PERIOD_SECONDS[period] / frequency)
    return max(hints) if hints else None


def _describe(body: bytes) -> str:
    head = body[:200].lstrip().lower()
    if not head:
        return "an empty response"
    if head.startswith((b"<!doctype html", b"<html")) or b"<html" in head:
        return "an HTML page"
    return "neither RSS nor Atom"


def parse_feed(body: bytes, url: str, content_type: str | None = None, *, now: datetime | None = None) -> ParsedFeed:
    """Parse a feed fetched from ``url`` (the URL after redirects: relative links resolve against it)."""
    now = now or datetime.now(UTC)
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    parsed = feedparser.parse(body, response_headers=headers, sanitize_html=False, resolve_relative_uris=True)
    problem = parsed.get("bozo_exception")
    if not parsed.get("version") and not parsed.entries:
        reason = f"not a feed: {_describe(body)}"
        if problem is not None:
            reason += f" ({str(problem)[:120]})"
        raise NotAFeed(reason)
    feed = parsed.feed
    warning = f"the feed is malformed but readable: {str(problem)[:200]}" if parsed.get("bozo") and problem else None
    site = host_of(_web_url(feed.get("link"), url) or url)
    drafts: list[Draft] = []
    rejected: list[Rejected] = []
    for number, entry in enumerate(parsed.entries, start=1):
        result = _entry(entry, url, number, now)
        if isinstance(result, Draft):
            drafts.append(result)
        else:
            rejected.append(result)
    return ParsedFeed(
        title=shorten(plain(html_to_text(feed.get("title") or "")), 100),
        site=site,
        entries=drafts,
        rejected=rejected,
        min_interval=_min_interval(feed),
        warning=warning,
    )
