"""clean_text: what a reader sees in titles and excerpts."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from bot.store.text import clean_text


def mojibake(text: str) -> str:
    """What the source pipeline did: UTF-8 bytes read as cp1252, undefined bytes as C1 controls."""
    out = []
    for byte in text.encode("utf-8"):
        try:
            out.append(bytes([byte]).decode("cp1252"))
        except UnicodeDecodeError:
            out.append(chr(byte))
    return "".join(out)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Volker TÃ¼rk, UN High Commissioner", "Volker Türk, UN High Commissioner"),
        ("Following â€˜Sensitive Dataâ€™ Exposure", "Following ‘Sensitive Data’ Exposure"),
        ("Mobiusâ€”hosted on a cloud", "Mobius—hosted on a cloud"),
        ("â€œQuotedâ€\x9d words", "“Quoted” words"),  # the C1 control that real mojibake carries
        ("â€œQuotedâ€ words", "“Quoted” words"),  # ... and the same with that byte lost
        ("ï»¿ Leading byte order mark", "Leading byte order mark"),
        ("Ã¢â‚¬â„¢ twice", "’ twice"),  # encoded twice
        ("ÐŸÑ€Ð¸Ð²ÐµÑ‚ Ð¼Ð¸Ñ€", "Привет мир"),
        ("ðŸ˜€ launch", "😀 launch"),
        ("It\x92s a latin-1 apostrophe\x85", "It’s a latin-1 apostrophe…"),
    ],
)
def test_mojibake_is_repaired(raw: str, expected: str) -> None:
    assert clean_text(raw) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Türk",
        "café",
        "日本語のニュース",
        "emoji 😀 and 👩‍💻",
        "naïve façade",
        "BEYONCÉ’S TOUR",  # É then ’ looks like a UTF-8 pair but is real text
        "Fuß“ and „Straße“",
        "São Paulo",
        "£5 or €6 — “quoted” …",
        "Ωmega Σ",
    ],
)
def test_correct_text_is_left_alone(text: str) -> None:
    assert clean_text(text) == text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Tom &amp; Jerry", "Tom & Jerry"),
        ("It&#8217;s here", "It’s here"),
        ("R&#038;D budget", "R&D budget"),
        ("non&nbsp;breaking", "non breaking"),
        ("double &amp;amp; escaped", "double & escaped"),
        ("AT&T and Q&A stay", "AT&T and Q&A stay"),
        ("&copy without semicolon stays", "&copy without semicolon stays"),
        ("first line\\nsecond line", "first line second line"),
        ("tabs\\tand\\r\\nbreaks", "tabs and breaks"),
        ("  lots   of\n\n whitespace\t ", "lots of whitespace"),
        ("zero\u200bwidth\u00adsoft", "zerowidthsoft"),
        ("narrow\u202fno-break", "narrow no-break"),
        ("control\x07char", "controlchar"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_entities_escapes_and_whitespace(raw: str, expected: str) -> None:
    assert clean_text(raw) == expected


def test_urls_inside_text_are_not_rewritten() -> None:
    text = "see https://example.org/a?b=1&c=2 now"
    assert clean_text(text) == text


@given(st.text())
@example("&amp;amp;amp;")
@example("Ã¢â‚¬â„¢")
@example("&\u200bamp;")
@example("&#38;amp;")
def test_idempotent_and_tidy(text: str) -> None:
    cleaned = clean_text(text)
    assert clean_text(cleaned) == cleaned
    assert cleaned == cleaned.strip()
    assert "  " not in cleaned
    assert not any(ch.isspace() and ch != " " for ch in cleaned)


# Text without anything clean_text treats as a marker: no C0/C1 controls, no cp1252-range
# punctuation or latin-1 symbols that mojibake consists of, no entities or backslashes.
_PLAIN_ALPHABET = st.characters(
    blacklist_categories=("Cc", "Cs", "Cf"),
    blacklist_characters="&\\\xad",
).filter(lambda ch: not ("\x80" <= ch <= "\xbf") and ch not in "€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ")


@given(st.text(_PLAIN_ALPHABET))
def test_text_without_markers_only_changes_whitespace(text: str) -> None:
    assert clean_text(text) == " ".join(text.split())


# "Normal" text: letters from several scripts, common punctuation, emoji.
_NORMAL_ALPHABET = st.sampled_from(
    list("abcXYZ019 ,.!?-'\"()")
    + list("éüöçñßàèìòùâêîôûÆØÅæøåœŒ")
    + list("’‘“”–—…€™•£©®°")
    + list("ΑβγΔПриветмир日本語中文한국어")
    + ["😀", "🚀"]
)


@given(st.text(_NORMAL_ALPHABET, min_size=1))
def test_mojibake_of_normal_text_is_repaired(text: str) -> None:
    assert clean_text(mojibake(text)) == clean_text(text)


_LEAD_CHARS = frozenset(map(chr, range(0xC2, 0xF5)))
_CONTINUATION_CHARS = frozenset(map(chr, range(0x80, 0xC0))) | frozenset("€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ")


@given(st.text(_NORMAL_ALPHABET, min_size=1))
def test_normal_text_is_unchanged_unless_it_looks_like_mojibake(text: str) -> None:
    # "â––" could be either; anything without such a lead-then-continuation pair must survive.
    assume(text == " ".join(text.split()))
    assume(not any(a in _LEAD_CHARS and b in _CONTINUATION_CHARS for a, b in itertools.pairwise(text)))
    assert clean_text(text) == text


# Dense in everything clean_text reacts to, so the rules get to interact.
_MARKER_SOUP = st.lists(
    st.sampled_from([*"Ãâ€™œ\x9d\x92Â©¢ï»¿ð\u200b&#;\\nx ", "amp;", "&#8217;", "&nbsp;", "\\n", "\xa0"])
).map("".join)


@given(_MARKER_SOUP)
def test_idempotent_on_marker_soup(text: str) -> None:
    cleaned = clean_text(text)
    assert clean_text(cleaned) == cleaned
    assert cleaned == " ".join(cleaned.split())
