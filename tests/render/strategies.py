"""Hypothesis strategies for records full of the things real feeds contain and Discord dislikes."""

from __future__ import annotations

import string
from datetime import UTC

from hypothesis import strategies as st

from bot.db.types import ArticleSummary, RelatedItem, TopicCount
from bot.store.models import Article, Image, Provider, RelatedRef

SPICY = [
    "@everyone",
    "@here",
    "@EveryOne",
    "@@here",
    "*",
    "**",
    "_",
    "__",
    "~~",
    "`",
    "```",
    "||",
    "> ",
    ">>> ",
    "# ",
    "-# ",
    "- ",
    "1. ",
    "\\",
    "\\*",
    "<@&123456789012345678>",
    "<@!123456789012345678>",
    "<@123456789012345678>",
    "<#123456789012345678>",
    "</news topic:123456789012345678>",
    "<t:1700000000:R>",
    "[click](https://evil.example.net/)",
    "\n",
    "\n\n",
    " ",
    "\t",
    "Ã©",
    "é",
    "e\u0301",
    "👍🏽",
    "👨\u200d👩\u200d👧",
    "🇫🇷",
    "&amp;",
    "https://news.example.org/a_b*c",
]

ODD_URLS = [
    "",
    "https://news.example.org/a",
    "http://news.example.org/a?b=c&d=(e)",
    "javascript:alert(1)",
    "ftp://files.example.org/x",
    "https://",
    "https:///path",
    "https://exa mple.org/",
    "//news.example.org/x",
    "https://news.example.org/" + "a" * 3000,
    "https://news.example.org/" + "é" * 700,
    "https://bücher.example.org/straße?q=ä",
    "https://[::1]/x",
    "https://[not-ipv6/x",
    "https://news.example.org:99999/",
    "data:image/png;base64,AAAA",
    "https://news.example.org/@everyone",
    "mailto:someone@example.org",
    'https://news.example.org/%zz<>"{}|^`\\',
    "HTTPS://NEWS.EXAMPLE.ORG/UPPER",
    "https://user:pass@news.example.org/",
    "https://-bad-.example.org/",
]

short_text = st.lists(st.one_of(st.text(max_size=12), st.sampled_from(SPICY)), max_size=12).map("".join)
mixed_text = st.lists(st.one_of(st.text(max_size=30), st.sampled_from(SPICY)), max_size=40).map("".join)
long_text = st.builds(lambda chunk, n: (chunk * n)[:12_000], mixed_text.filter(bool), st.integers(1, 600))
any_text = st.one_of(mixed_text, long_text)
urls = st.one_of(
    st.sampled_from(ODD_URLS),
    st.text(max_size=60),
    st.builds(lambda tail: "https://news.example.org/" + tail, st.text(max_size=200)),
)
optional_urls = st.one_of(st.none(), urls)
domains = st.one_of(
    st.sampled_from(
        ["news.example.org", "", "EXAMPLE.COM.", "@everyone", "exa mple.org", "bücher.example", "localhost"]
    ),
    st.text(max_size=30),
)
moments = st.one_of(st.datetimes(timezones=st.just(UTC)), st.datetimes())
secrets = st.text(alphabet=string.ascii_letters + string.digits + "+/", min_size=24, max_size=80).map(
    lambda body: f"SECURED{body}=="
)

providers = st.builds(Provider, name=short_text, domain=domains, logo_url=optional_urls)
images = st.builds(Image, url=urls, width=st.none() | st.integers(0, 5000), height=st.none() | st.integers(0, 5000))
related_refs = st.builds(
    RelatedRef,
    title=short_text,
    url=urls,
    excerpt=short_text,
    published_at=st.none() | moments,
    provider=st.none() | providers,
)
topics = st.one_of(
    st.lists(short_text, max_size=8),
    st.lists(st.text(min_size=1, max_size=60), min_size=50, max_size=120),
).map(tuple)

articles = st.builds(
    Article,
    id=st.text(min_size=1, max_size=30),
    path=st.text(max_size=60),
    title=any_text,
    url=urls,
    published_at=moments,
    provider=providers,
    excerpt=any_text,
    body=st.text(max_size=50),
    original_url=optional_urls,
    topics=topics,
    images=st.lists(images, max_size=2).map(tuple),
    related=st.lists(related_refs, max_size=3).map(tuple),
    quality=st.integers(-5, 200),
    heat=st.integers(-1, 10_000),
    published=st.booleans(),
    type=st.sampled_from(["article", "video", "podcast", ""]),
    has_featured_content=st.booleans(),
    secured=secrets,
)

summaries = st.builds(
    ArticleSummary,
    id=st.text(min_size=1, max_size=30),
    title=any_text,
    url=urls,
    excerpt=short_text,
    published_at=moments,
    provider_name=short_text,
    provider_domain=domains,
    image_url=optional_urls,
    quality=st.integers(0, 200),
    heat=st.integers(-1, 1000),
    type=st.sampled_from(["article", "video"]),
    topics=st.lists(short_text, max_size=3).map(tuple),
)

related_items = st.builds(
    RelatedItem,
    title=any_text,
    url=urls,
    provider_name=st.none() | short_text,
    published_at=st.none() | moments,
    article=st.none() | summaries,
)

topic_counts = st.builds(TopicCount, name=short_text, count=st.integers(0, 10**9))
