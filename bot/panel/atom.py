"""An Atom 1.0 feed (RFC 4287) of one topic, so the store can be read in any feed reader.

Built with ElementTree, which escapes every text and attribute: article text cannot break out.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import UTC, datetime
from urllib.parse import quote

from bot.db.types import ArticleSummary
from bot.render.text import safe_url

ATOM = "http://www.w3.org/2005/Atom"
CONTENT_TYPE = "application/atom+xml"


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
    if text is not None:
        element.text = text
    return element


def article_path(article_id: str) -> str:
    return "/articles/" + quote(article_id, safe="")


def topic_path(topic: str) -> str:
    return "/topics/" + quote(topic, safe="")


def topic_feed(base_url: str, topic: str, items: Sequence[ArticleSummary], *, author: str, now: datetime) -> bytes:
    """The feed of ``topic``'s newest ``items``; ``updated`` is the newest one's time (``now`` if none)."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    page = base_url + topic_path(topic)
    _sub(feed, "id", page + "/feed.atom")
    _sub(feed, "title", f"{topic}: {author}")
    _sub(feed, "updated", _iso(max((a.published_at for a in items), default=now)))
    _sub(_sub(feed, "author"), "name", author)
    _sub(feed, "link", rel="self", type=CONTENT_TYPE, href=page + "/feed.atom")
    _sub(feed, "link", rel="alternate", type="text/html", href=page)
    for article in items:
        entry = _sub(feed, "entry")
        own = base_url + article_path(article.id)
        _sub(entry, "id", own)
        _sub(entry, "title", article.title or article.id)
        _sub(entry, "updated", _iso(article.published_at))
        _sub(entry, "published", _iso(article.published_at))
        _sub(entry, "link", rel="alternate", type="text/html", href=own)
        source = safe_url(article.url)
        if source is not None:
            _sub(entry, "link", rel="via", href=source)
        if article.provider_name:
            _sub(_sub(entry, "author"), "name", article.provider_name)
        _sub(entry, "summary", article.excerpt or article.title, type="text")
    data: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return data
