"""Whatever a feed's entry holds, the file the fetcher writes is one the store's loader accepts
(or the entry was refused with a reason, never written broken)."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from xml.sax.saxutils import escape

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bot.feeds.parse import Draft, Rejected, parse_feed
from bot.feeds.write import FeedMeta, write_article
from bot.store.loader import load_file
from bot.store.urls import normalize_url

NOW = datetime(2026, 11, 12, 12, tzinfo=UTC)
META = FeedMeta(slug="feed-1234abcd", provider_name="Prop & <Co>", provider_domain="example.org", topics=("Topic",))

# Text with everything feeds get wrong: markup, entities, control characters, odd whitespace,
# quotes and YAML-significant characters, astral and combining characters.
_odd = st.sampled_from(
    ["<b>", "</p>", "&amp;", "&lt;", "&#x1F600;", "&nbsp;", "\x00", "\x07", "\x1b", "\x85", "\u2028", "\ufeff",
     "\t", "\r\n", "'", '"', ":", "- ", "#", "{", "}", "[", "]", "---", "...", "|", ">", "*", "&", "!", "%", "@", "`",
     "\\", "é", "\u0301", "𝔘", "\ud800", "null", "yes", "~", "0x1F", "2026-11-10"]
)  # fmt: skip
text = st.lists(st.one_of(st.text(max_size=20), _odd), max_size=30).map("".join)
huge = st.integers(min_value=20_000, max_value=120_000).map(lambda n: "word " * (n // 5))
dates = st.one_of(
    st.sampled_from(
        ["Tue, 10 Nov 2026 08:30:00 +0100", "2026-11-10T09:15:00-05:00", "Mon, 31 Feb 2026 00:00:00 GMT",
         "yesterday", "", "Sun, 01 Jan 1961 00:00:00 GMT", "Fri, 31 Dec 2099 23:59:59 +1400", "0000-00-00",
         "2026-11-10", "Tue, 10 Nov 2026 25:61:61 GMT"]
    ),
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)).map(lambda d: d.isoformat() + "Z"),
)  # fmt: skip
links = st.one_of(
    st.sampled_from(
        ["/relative/path", "relative", "https://example.org/a?b=1&c=2#frag", "javascript:alert(1)", "",
         "//cdn.example.org/x", "http://[::1]:8080/v6", "https://exämple.org/ü", "mailto:a@b.c",
         "https://example.org/a b", "http://:80"]
    ),
    st.text(max_size=30),
)  # fmt: skip


def _item(title: str, link: str, date: str, summary: str, category: str) -> bytes:
    def cdata(value: str) -> str:
        return escape(value.replace("\x00", ""))

    xml = (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>t</title>"
        f"<item><title>{cdata(title)}</title><link>{cdata(link)}</link><pubDate>{cdata(date)}</pubDate>"
        f"<description>{cdata(summary)}</description><category>{cdata(category)}</category></item></channel></rss>"
    )
    return xml.encode("utf-8", "surrogatepass")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    title=st.one_of(text, huge),
    link=links,
    date=dates,
    summary=st.one_of(text, huge),
    category=text,
)
def test_every_entry_is_written_loadable_or_refused_with_a_reason(
    title: str, link: str, date: str, summary: str, category: str
) -> None:
    body = _item(title, link, date, summary, category)
    parsed = parse_feed(body, "https://feeds.example.org/news/rss.xml", "application/rss+xml", now=NOW)
    outcomes: list[Draft | Rejected] = [*parsed.entries, *parsed.rejected]
    if not outcomes:
        event("unreadable XML")
        return  # the XML itself was unreadable for feedparser: the whole feed fails with a reason
    (entry,) = outcomes
    if isinstance(entry, Rejected):
        assert entry.reason
        event(f"refused: {entry.reason.split(' ')[0]}")
        return
    event("written")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        path = write_article(root, META, entry)
        assert path is not None
        article, issues = load_file(root, path.relative_to(root).as_posix())
        assert article is not None, issues
        assert article.title == entry.title
        assert normalize_url(article.url) == normalize_url(entry.url)
        assert article.published_at == entry.published_at <= NOW
        assert article.published
        assert article.provider.name == "Prop & <Co>"


@settings(max_examples=150, deadline=None)
@given(
    title=st.one_of(text, huge),
    excerpt=text,
    body=st.one_of(text, huge),
    topic=text,
    image=links,
    when=st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2100, 1, 1)),
)
def test_drafts_made_directly_also_load(
    title: str, excerpt: str, body: str, topic: str, image: str, when: datetime
) -> None:
    """The writer on its own, with drafts the parser would never make (raw control characters left in)."""
    from bot.feeds.parse import DraftImage, plain

    clean_title = plain(title)
    if not clean_title:
        return
    draft = Draft(
        title=clean_title,
        url="https://example.org/a",
        published_at=when.replace(tzinfo=UTC, microsecond=0),
        excerpt=plain(excerpt),
        body=body,
        categories=(plain(topic),) if plain(topic) else (),
        images=(DraftImage(image or "https://example.org/i.png", 10, 10),),
    )
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        path = write_article(root, META, draft)
        assert path is not None
        article, issues = load_file(root, path.relative_to(root).as_posix())
        assert article is not None, issues
        assert article.title == draft.title
