from __future__ import annotations

import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot.render.text import ELLIPSIS, ZWSP, escape_markdown, neutralise_mentions, safe_url, truncate

from .strategies import ODD_URLS, mixed_text

MARKDOWN_CHARS = "*_~`|[]"


def unescape(text: str) -> str:
    """What a Discord client shows for escaped text: backslash escapes resolved, ZWSP invisible."""
    return re.sub(r"\\(.)", r"\1", text.replace(ZWSP, ""), flags=re.DOTALL)


def odd_backslashes_before(text: str, index: int) -> bool:
    count = 0
    while index - count - 1 >= 0 and text[index - count - 1] == "\\":
        count += 1
    return count % 2 == 1


# --- escaping ---------------------------------------------------------------------------------


def test_bold_renders_literally() -> None:
    assert escape_markdown("*bold*") == r"\*bold\*"
    assert escape_markdown("__under__ ~~strike~~ ||spoiler|| `code`") == (
        r"\_\_under\_\_ \~\~strike\~\~ \|\|spoiler\|\| \`code\`"
    )


def test_line_start_markers_are_escaped() -> None:
    assert escape_markdown("> quote\n# heading\n-# small\n- item\n2. second") == (
        "\\> quote\n\\# heading\n\\-# small\n\\- item\n2\\. second"
    )


def test_masked_links_do_not_render() -> None:
    assert escape_markdown("[free nitro](https://evil.example.net/)") == r"\[free nitro\](https://evil.example.net/)"


def test_bare_urls_stay_clickable() -> None:
    assert escape_markdown("see https://news.example.org/a_b_c for *more*") == (
        r"see https://news.example.org/a_b_c for \*more\*"
    )


def test_an_existing_backslash_cannot_unescape_our_escape() -> None:
    # "\*" in the source must show as a backslash and a star, not let the star start italics.
    assert escape_markdown(r"\*not italic*") == r"\\\*not italic\*"


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("@everyone look", "@\u200beveryone look"),
        ("@here", "@\u200bhere"),
        ("ping <@&123456789012345678>", "ping <\u200b@\u200b&123456789012345678>"),
        ("<#123456789012345678>", "<\u200b#123456789012345678>"),
        ("</news topic:1>", "<\u200b/news topic:1>"),
    ],
)
def test_mentions_cannot_ping(raw: str, shown: str) -> None:
    # In markdown the "<" of a mention is escaped as well (see test_links: it could open a mail link).
    assert escape_markdown(raw).replace("\\<", "<") == shown
    assert neutralise_mentions(raw) == shown


def test_plain_slots_get_no_backslashes() -> None:
    assert neutralise_mentions("*Pixel* Post @everyone") == "*Pixel* Post @\u200beveryone"


@given(mixed_text.filter(lambda s: ":/" not in s and ZWSP not in s))
@example("1. first\n> quote *x* \\ y")
def test_escaping_shows_the_original_text(text: str) -> None:
    assert unescape(escape_markdown(text)) == text


@given(mixed_text.filter(lambda s: "://" not in s))
def test_every_markdown_character_is_escaped_and_nothing_pings(text: str) -> None:
    escaped = escape_markdown(text)
    for i, char in enumerate(escaped):
        if char in MARKDOWN_CHARS:
            assert odd_backslashes_before(escaped, i), (escaped, i)
    assert not re.search(r"@(everyone|here)", escaped, re.IGNORECASE)
    assert not re.search(r"<[@#/]|<t:", escaped)


# --- truncation -------------------------------------------------------------------------------


def test_short_text_is_unchanged() -> None:
    assert truncate("Heat pumps", 10) == "Heat pumps"


def test_cuts_at_a_word_boundary() -> None:
    assert truncate("The quick brown fox jumps over", 16) == "The quick brown…"
    assert truncate("The quick brown fox jumps over", 19) == "The quick brown…"


def test_cuts_mid_word_when_there_is_no_space() -> None:
    assert truncate("x" * 30, 10) == "x" * 9 + ELLIPSIS


def test_a_far_away_space_does_not_throw_the_text_away() -> None:
    text = "Hi " + "y" * 100
    assert truncate(text, 50) == text[:49] + ELLIPSIS


def test_never_splits_an_escape() -> None:
    assert truncate(r"ab\*cd", 4) == "ab" + ELLIPSIS
    assert truncate(r"ab\\cd", 4) == "ab" + ELLIPSIS
    assert truncate(r"ab\\\*cd", 6) == "ab\\\\" + ELLIPSIS


def test_never_splits_a_surrogate_pair_or_a_combining_mark() -> None:
    pair = "\ud83d\ude00"  # as produced by a surrogatepass decode
    assert truncate("a" + pair * 5, 3) == "a" + ELLIPSIS
    assert truncate("e\u0301" * 10, 4) == "e\u0301" + ELLIPSIS
    assert truncate("👍🏽" * 10, 4) == "👍🏽" + ELLIPSIS


@pytest.mark.parametrize(("limit", "expected"), [(0, ""), (1, ELLIPSIS), (2, "L" + ELLIPSIS)])
def test_tiny_limits(limit: int, expected: str) -> None:
    assert truncate("Lanterns Below", limit) == expected


@given(st.text(), st.integers(0, 400))
def test_truncate_stays_within_the_limit_and_keeps_a_prefix(text: str, limit: int) -> None:
    result = truncate(text, limit)
    assert len(result) <= limit
    if len(text) <= limit:
        assert result == text
    elif limit >= 1:
        assert result.endswith(ELLIPSIS)
        head = result[: -len(ELLIPSIS)]
        assert text.startswith(head)
        assert not odd_backslashes_before(head, len(head))


@given(st.text(alphabet=st.sampled_from("abcdefgh ,.'"), min_size=1), st.integers(4, 200))
def test_truncate_prefers_the_last_word_boundary(text: str, limit: int) -> None:
    result = truncate(text, limit)
    budget = limit - len(ELLIPSIS)
    if len(text) > limit and " " in text[(budget * 2) // 3 : budget + 1]:
        head = result[: -len(ELLIPSIS)]
        assert text[len(head)] == " ", (text, result)


# --- URLs ---------------------------------------------------------------------------------------


def test_ordinary_urls_are_kept_as_they_are() -> None:
    url = "https://news.example.org/missions/aurora-3?ref=feed&x=(1)"
    assert safe_url(url) == url


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "ftp://files.example.org/x", "https://", "https://exa mple.org/", "", None, "/relative"],
)
def test_unusable_urls_are_dropped(url: str | None) -> None:
    assert safe_url(url) is None


def test_too_long_urls_are_dropped_not_cut() -> None:
    assert safe_url("https://news.example.org/" + "a" * 2100) is None


def test_non_ascii_urls_are_percent_encoded() -> None:
    assert safe_url("https://bücher.example.org/straße") == "https://xn--bcher-kva.example.org/stra%C3%9Fe"


@given(st.one_of(st.sampled_from(ODD_URLS), st.text()))
def test_safe_url_output_is_ascii_http_and_short(url: str) -> None:
    result = safe_url(url)
    if result is not None:
        assert result.isascii()
        assert result.startswith(("http://", "https://"))
        assert len(result) <= 2048
        assert not any(char.isspace() for char in result)
