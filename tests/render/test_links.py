"""No rendered link can lie: every link goes where its article says, and no label names another address.

Rendered markdown is read back with ``discord_markdown`` (a port of the parser Discord's client uses),
so these tests see the links a reader would see, not the ones the renderer meant to write.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from urllib.parse import urlsplit

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.db.guild_types import AuditEntry
from bot.db.types import ArticleSummary, IndexReport, RelatedItem
from bot.render.admin import audit_embed, reload_embed
from bot.render.digest import digest_message
from bot.render.embeds import article_embed, related_embed, summary_line
from bot.render.text import code_span, escape_markdown, link_label, link_target, masked_link, safe_url
from bot.store.models import Article, LoadIssue, Provider

from .discord_markdown import Link, address_like, links_in, shown_text
from .strategies import SPICY, articles, urls
from .test_embeds import make_article

OWN = "https://news.example.org/2026/01/security-update"
NOW = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)

# The pieces hostile titles are made of: link syntax of every kind, addresses in every spelling,
# escapes and code fences that could shift what the parser sees.
HOSTILE = [
    "Security update https://support.example](https://evil.example/login) [read]",
    "[",
    "]",
    "(",
    ")",
    "](",
    "](https://evil.example/x)",
    "[free nitro](https://evil.example/)",
    "[https://paypal.com](https://evil.example/)",
    '[a](<https://evil.example/> "title")',
    "<https://evil.example/>",
    "<evil:/x>",
    "<someone@evil.example>",
    "https://",
    "http://",
    "HTTPS://",
    "steam://",
    "https:/\\",
    "https\\://",
    "https：／／",
    "://",
    ":/",
    "www.",
    "evil.example",
    "support.example/login",
    "paypal.com",
    "news.example.org",
    "news.example.org.evil.example",
    "evil\u200b.example",
    "evil\ufe0f.example",
    "evil。example",
    "evil．example",
    "раураl.com",
    ".",
    "..",
    "\\",
    "\\\\",
    "\\[",
    "\\]",
    "`",
    "``",
    "`[x](https://evil.example)`",
    "*",
    "_",
    "__",
    "~~",
    "||",
    "@everyone",
    "<@123456789012345678>",
    "\n",
    " ",
    "Node.js",
    "U.S.",
    "3.12",
    "e.g.",
]
hostile_text = st.lists(
    st.one_of(st.sampled_from(HOSTILE), st.sampled_from(SPICY), st.text(max_size=8)), max_size=14
).map("".join)
own_urls = st.one_of(
    st.just(OWN),
    st.builds(lambda tail: "https://news.example.org/" + tail, st.text(max_size=40)),
    st.sampled_from(
        [
            "https://news.example.org/a_(b)",
            "https://user)x@news.example.org/a",
            "https://news.example.org/@everyone",
            "https://www.news.example.org/a",
            "https://bücher.example/straße",
        ]
    ),
    urls,
)


def _host(url: str | None) -> str:
    host = urlsplit(url).hostname or "" if url else ""
    return host.removeprefix("www.")


def _own(name: str, host: str) -> bool:
    name = name.removeprefix("www.")
    with contextlib.suppress(UnicodeError):
        name = name.encode("idna").decode("ascii") if not name.isascii() else name
    return bool(host) and (name == host or host.endswith("." + name))


def label_problems(shown: str, url: str | None) -> list[str]:
    """What in a clickable text ``shown``, linking to ``url``, reads as an address other than ``url``'s."""
    host = _host(url)
    return [found for found in address_like(shown) if "/" in found or not _own(found, host)]


def assert_honest_link(link: Link, expected: Iterable[str | None]) -> None:
    targets = {target for target in expected if target is not None}
    assert link.kind == "masked", f"our text became a link of its own: {link}"
    assert link.target in targets, f"a link points elsewhere: {link} (expected one of {targets})"
    assert not label_problems(link.text, link.target), f"label names another address: {link}"


def assert_list_text_honest(markdown: str, expected: Iterable[str | None]) -> None:
    expected = list(expected)
    for link in links_in(markdown):
        assert_honest_link(link, expected)


def assert_card_honest(embed: dict[str, object], expected: Sequence[str | None], *, list_only: bool) -> None:
    """Titles linked by ``url`` and author names are labels; descriptions may hold masked links of ours only,
    plus, in excerpts, bare URLs that show their own address."""
    if embed.get("url") and embed.get("title"):
        title = shown_text(str(embed["title"]))
        assert not links_in(str(embed["title"])), embed["title"]
        assert not label_problems(title, str(embed["url"])), f"title names another address: {title!r}"
    author = embed.get("author")
    if isinstance(author, dict) and author.get("url"):
        assert not label_problems(author["name"], author["url"]), f"author names another address: {author}"
    for link in links_in(str(embed.get("description") or "")):
        if link.kind != "masked" and not list_only:
            assert link.text == link.target, f"a bare link that does not show where it goes: {link}"
            continue
        assert_honest_link(link, expected)


def summary(title: str, url: str = OWN, provider: str = "Daily News", excerpt: str = "") -> ArticleSummary:
    return ArticleSummary(
        id="a",
        title=title,
        url=url,
        excerpt=excerpt,
        published_at=NOW,
        provider_name=provider,
        provider_domain="news.example.org",
        image_url=None,
        quality=50,
        heat=1,
    )


summaries = st.builds(summary, title=hostile_text, url=own_urls, provider=hostile_text, excerpt=hostile_text)
related = st.builds(
    RelatedItem,
    title=hostile_text,
    url=own_urls,
    provider_name=st.none() | hostile_text,
    published_at=st.none() | st.just(NOW),
    article=st.none() | summaries,
)


# --- concrete examples (each of these lied before) --------------------------------------------


def test_the_reported_title_links_only_to_its_article() -> None:
    line = summary_line(summary("Security update https://support.example](https://evil.example/login) [read]"), 1)
    links = links_in(line)
    assert [link.target for link in links] == [OWN]
    assert "evil.example" not in links[0].target
    assert links[0].text == "Security update https(:)//support(.)example)(https(:)//evil(.)example/login) (read)"


def test_a_label_never_shows_another_address() -> None:
    for title in ("Log in at paypal.com now", "Visit https://paypal.com", "www.paypal.com", "paypal。com"):
        (link,) = links_in(summary_line(summary(title), 1))
        assert link.target == OWN
        assert not label_problems(link.text, link.target), link.text


def test_the_articles_own_host_reads_as_written() -> None:
    (link,) = links_in(summary_line(summary("news.example.org turns ten, say www.news.example.org and example.org"), 1))
    assert link.text == "news.example.org turns ten, say www.news.example.org and example.org"


def test_dots_that_are_not_addresses_are_left_alone() -> None:
    label = link_label("Python 3.12 in the U.S., e.g. on v2.0", OWN)
    assert shown_text(label) == "Python 3.12 in the U.S., e.g. on v2.0"


def test_square_brackets_in_titles_read_as_parentheses() -> None:
    (link,) = links_in(summary_line(summary("Exam Dumps [2021] Azure [Update"), 1))
    assert (link.target, link.text) == (OWN, "Exam Dumps (2021) Azure (Update")


def test_hostile_provider_names_beside_the_link_are_not_links() -> None:
    line = summary_line(
        summary("Fine", provider="[Official](https://evil.example) https://evil.example <https://e.x>"), 2
    )
    assert [link.target for link in links_in(line)] == [OWN]
    assert "https://evil.example" in shown_text(line), "the name is still shown as written"


def test_a_related_line_links_only_to_its_own_url() -> None:
    item = RelatedItem(
        title="Read [this](https://evil.example)",
        url="https://other.example/a",
        provider_name="x](https://evil.example)",
    )
    embed = related_embed(_article("Base"), [item])
    assert [link.target for link in links_in(embed.description or "")] == ["https://other.example/a"]


def test_a_parenthesis_anywhere_in_the_url_cannot_end_the_link_early() -> None:
    line = summary_line(summary("Title", url="https://user)evil@news.example.org/a_(b)"), 1)
    (link,) = links_in(line)
    assert _host(link.target) == "news.example.org"
    assert link.target == link_target("https://user)evil@news.example.org/a_(b)")


def test_links_in_excerpts_show_their_own_address() -> None:
    excerpts = (
        "steam://[Click](https://evil.example)",  # Discord's parser does not link steam://, so "[" must be escaped
        "<x:/[Click](https://evil.example)>",  # nor every <scheme:/…>
        "https://news.example.org/c<someone@evil.example>",  # the URL would swallow the backslash before "<"
    )
    for excerpt in excerpts:
        for link in links_in(escape_markdown(excerpt)):
            assert link.kind == "url" and link.text == link.target, (excerpt, link)


def test_linked_titles_and_author_names_name_no_other_address() -> None:
    article = _article("Reset your password at https://paypal.com/login", provider_name="paypal.com")
    embed = article_embed(article).to_dict()
    assert shown_text(embed["title"]) == "Reset your password at https(:)//paypal(.)com/login"
    assert embed["author"]["name"] == "paypal(.)com", "the author links to the provider's site, not paypal.com"
    own = article_embed(_article("Hello", provider_name="", domain="news.example.org")).to_dict()
    assert own["author"]["name"] == "news.example.org"


def test_a_digest_posts_no_lying_link() -> None:
    items = [summary(f"{i} https://support.example](https://evil.example/login) [read]", excerpt="x") for i in range(6)]
    embeds = digest_message("Security", "Tuesday 3 March 2026", items, timezone="UTC")
    for embed in embeds:
        assert_card_honest(embed.to_dict(), [link_target(OWN), safe_url(OWN)], list_only=False)
    assert sum(len(links_in(e.description or "")) for e in embeds) == 3, "the three listed items keep their link"


def test_file_names_with_backticks_stay_inside_their_code_span() -> None:
    path = "x` [click](https://evil.example) `y.md"
    report = IndexReport(added=1, rejected=(_issue(path),), seconds=0.1)
    embed = reload_embed(report).to_dict()
    assert not links_in(embed["fields"][0]["value"])
    assert path in shown_text(embed["fields"][0]["value"])
    for text in ("`", "``a``", "a`", "` a", ""):
        assert shown_text(code_span(text)).strip() == text.strip()


def test_audit_details_cannot_build_links() -> None:
    entry = AuditEntry(
        id=1, guild_id=1, user_id=2, action="config", details={"topic": "[x](https://evil.example)"}, created_at=NOW
    )
    field = audit_embed(entry).to_dict()["fields"][0]["value"]
    assert all(link.kind == "url" and link.text == link.target for link in links_in(field))


def test_masked_link_without_a_usable_url_is_plain_text() -> None:
    assert not links_in(masked_link("[x](https://evil.example)", "javascript:alert(1)", limit=100))
    assert not links_in(masked_link("x", OWN, limit=100, max_url=10))


# --- properties ----------------------------------------------------------------------------------


@settings(max_examples=200)
@given(summaries, st.integers(1, 100))
def test_list_lines_link_only_to_their_own_article(item: ArticleSummary, index: int) -> None:
    assert_list_text_honest(summary_line(item, index), [link_target(item.url)])


@settings(max_examples=150)
@given(st.lists(related, max_size=6))
def test_related_lines_link_only_to_their_own_article(items: list[RelatedItem]) -> None:
    embed = related_embed(_article("Base", url="https://base.example/a"), items)
    expected = [link_target(i.url) for i in items] + [link_target(i.article.url) for i in items if i.article]
    assert_card_honest(embed.to_dict(), expected, list_only=True)


@settings(max_examples=100)
@given(st.lists(summaries, max_size=10), hostile_text, st.integers(0, 8))
def test_digests_post_no_lying_link(items: list[ArticleSummary], topic: str, rich: int) -> None:
    expected = [link_target(item.url) for item in items]
    for embed in digest_message(topic, "Tuesday 3 March 2026", items, timezone="UTC", rich=rich):
        assert_card_honest(embed.to_dict(), expected, list_only=embed.title == "More new articles")


@settings(max_examples=100, deadline=None)  # long hostile texts; timing is not what this checks
@given(articles, hostile_text, hostile_text)
def test_article_cards_title_and_author_name_no_other_address(article: Article, title: str, name: str) -> None:
    article = _replace_article(article, title=title, provider_name=name)
    assert_card_honest(article_embed(article).to_dict(), [], list_only=False)


@settings(max_examples=200)
@given(hostile_text, own_urls)
def test_a_masked_link_is_one_link_to_its_url(text: str, url: str) -> None:
    rendered = masked_link(text, url, limit=120)
    links = links_in(rendered)
    target = link_target(url)
    if target is None:
        assert not links
    else:
        assert len(links) == 1 and links[0].target == target
        assert _host(links[0].target) == _host(safe_url(url))
        assert not label_problems(links[0].text, target)


# --- helpers -------------------------------------------------------------------------------------


def _article(title: str, *, url: str = OWN, provider_name: str = "Daily News", domain: str = "evil.example") -> Article:
    return make_article(title=title, url=url, provider=Provider(provider_name, domain, None))


def _replace_article(article: Article, *, title: str, provider_name: str) -> Article:
    return dataclasses.replace(article, title=title, provider=dataclasses.replace(article.provider, name=provider_name))


def _issue(path: str) -> LoadIssue:
    return LoadIssue(path=path, reason="bad", severity="error")
