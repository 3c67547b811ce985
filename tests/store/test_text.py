"""clean_text: what a reader sees in titles and excerpts."""

from __future__ import annotations

import itertools
import unicodedata

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from bot.store.text import BIDI_CONTROLS, clean_text


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
        ("Ã…land Islands", "Åland Islands"),  # a two-byte sequence whose second byte is cp1252's "…"
        ("He said â€œhelloâ€ to me", "He said “hello” to me"),  # the closing quote's third byte lost
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


# --- bidirectional controls ---------------------------------------------------------------------

# Unicode's Bidi_Control property (PropList.txt), written out so the test does not share the code's list.
_BIDI_CONTROL_PROPERTY = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def insert_anywhere(text: str, inserts: list[tuple[int, str]]) -> str:
    """``text`` with each ``(position, character)`` of ``inserts`` put in (positions wrap around)."""
    chars = list(text)
    for position, char in inserts:
        chars.insert(position % (len(chars) + 1), char)
    return "".join(chars)


_BIDI_INSERTS = st.lists(st.tuples(st.integers(min_value=0), st.sampled_from(_BIDI_CONTROL_PROPERTY)), min_size=1)


def test_the_stripped_set_is_unicodes_bidi_control_property() -> None:
    assert frozenset(BIDI_CONTROLS) == frozenset(_BIDI_CONTROL_PROPERTY)
    # The explicit embeddings, overrides and isolates are exactly the characters of these bidi classes.
    explicit = {"LRE", "RLE", "PDF", "LRO", "RLO", "LRI", "RLI", "FSI", "PDI"}
    assert {chr(cp) for cp in range(0x110000) if unicodedata.bidirectional(chr(cp)) in explicit} <= set(BIDI_CONTROLS)


@given(st.text(), _BIDI_INSERTS)
@example("Security update", [(9, "\u202e")])
@example("&amp;", [(3, "\u2066")])
@example("TÃ¼rk", [(2, "\u200f")])
@example("a  b", [(2, "\u202a")])
def test_bidi_controls_are_stripped_wherever_they_are(text: str, inserts: list[tuple[int, str]]) -> None:
    cleaned = clean_text(insert_anywhere(text, inserts))
    assert not set(cleaned) & set(_BIDI_CONTROL_PROPERTY)
    assert cleaned == clean_text(text.translate(dict.fromkeys(map(ord, _BIDI_CONTROL_PROPERTY))))


# Right-to-left and left-to-right prose with the joiners that scripts and emoji need.
_BIDI_PROSE_ALPHABET = st.sampled_from(
    [*"abc XYZ 019 .,:/-()[]", *"שלום עולם", *"مرحبا بالعالم", *"日本語", "\u200c", "\u200d", "👩\u200d💻"]
)


@given(st.lists(_BIDI_PROSE_ALPHABET).map("".join), _BIDI_INSERTS)
def test_text_around_bidi_controls_is_kept_as_it_was(text: str, inserts: list[tuple[int, str]]) -> None:
    tidy = " ".join(text.split())
    assert clean_text(tidy) == tidy
    assert clean_text(insert_anywhere(tidy, inserts)) == tidy
