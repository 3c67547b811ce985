"""The loader's fast paths give exactly what the straightforward code they replaced gives.

The oracles below are that code, copied as it was before the fast paths went in: cleaning text by
running every pass (with ``str.translate`` and a per-character scan for C1 controls), finding the
closing front-matter line with a multi-line regex, and building every provider afresh.
"""

from __future__ import annotations

import html
import re
import unicodedata

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.store import fields
from bot.store.models import Provider
from bot.store.text import BIDI_CONTROLS, clean_text
from bot.store.urls import host_of
from bot.store.yamlparse import FrontMatterError, split_front_matter
from tests.store.test_text import mojibake

# --- the oracle for clean_text ------------------------------------------------------------------

_CP1252_TO_BYTE: dict[int, int] = {}
for _byte in range(0x80, 0xA0):
    try:
        _CP1252_TO_BYTE[ord(bytes([_byte]).decode("cp1252"))] = _byte
    except UnicodeDecodeError:
        continue
_UTF8_SEQ_RE = re.compile(
    "[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}|(\xe2\x80)(?![\x80-\xbf])"
)
_C1_TO_CP1252 = {
    byte: (bytes([byte]).decode("cp1252") if byte not in (0x81, 0x8D, 0x8F, 0x90, 0x9D) else None)
    for byte in range(0x80, 0xA0)
}
_ENTITY_RE = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_ESCAPED_BREAK_RE = re.compile(r"\\[nrt]")
_JUNK = dict.fromkeys((*range(0x09), *range(0x0E, 0x1C), 0x7F, 0xAD, 0x200B, 0x2060, 0xFEFF, *map(ord, BIDI_CONTROLS)))


def _plausible(repaired: str, length: int) -> bool:
    cp = ord(repaired)
    if length == 2:
        return 0xA0 <= cp <= 0x24F or 0x370 <= cp <= 0x4FF
    return unicodedata.category(repaired) not in ("Cc", "Cn", "Co", "Cs")


def _repair_mojibake(text: str) -> str:
    view = text.translate(_CP1252_TO_BYTE)
    pieces: list[str] = []
    last = 0
    for match in _UTF8_SEQ_RE.finditer(view):
        seq = match.group()
        if match.group(1) is not None:
            repaired = "”"
        else:
            try:
                repaired = seq.encode("latin-1").decode("utf-8")
            except UnicodeDecodeError:
                continue
            if not _plausible(repaired, len(seq)):
                continue
        pieces.append(text[last : match.start()])
        pieces.append(repaired)
        last = match.end()
    if pieces:
        pieces.append(text[last:])
        text = "".join(pieces)
    if any("\x80" <= ch <= "\x9f" for ch in text):
        text = text.translate(_C1_TO_CP1252)
    return text


def _one_pass(text: str) -> str:
    if "&" in text:
        text = _ENTITY_RE.sub(lambda match: html.unescape(match.group()), text)
    text = _repair_mojibake(text)
    if "\\" in text:
        text = _ESCAPED_BREAK_RE.sub(" ", text)
    text = text.translate(_JUNK)
    return " ".join(text.split())


def reference_clean_text(s: str) -> str:
    """clean_text without any shortcut: every pass, until nothing changes (at most twelve)."""
    for _ in range(12):
        cleaned = _one_pass(s)
        if cleaned == s:
            break
        s = cleaned
    return s


# --- clean_text ---------------------------------------------------------------------------------

_WHITESPACE = [" ", "  ", "\n", "\t", "\r", "\x0b", "\x0c", "\x1c", "\x1f", "\x85", "\xa0", "\u2028", "\u3000"]
_MOJIBAKE_BITS = [
    *"Ãâ€™œ\x9d\x92\x81Â©¢ï»¿ð\u200b\u2060\ufeff\xad\x00\x07\x7f\u202e\u2066\u200f",
    "Ã©",
    "â€”",
    "ðŸ˜€",
    "Ð¸",
]
_ENTITY_BITS = ["&", "&amp;", "&#8217;", "&#x2019;", "&nbsp;", "&lt;", "&bogus;", "&#;", "amp;", "\\", "\\n", "\\t"]
_WORDS = ["News", "café", "Türk", "日本", "😀", "x", "BEYONCÉ’S", "“q”", "—", "…", "a.b", "1"]

# Text in the shapes the fast paths look at: plain ASCII prose, prose with stray whitespace of every
# kind, text with mojibake, entities and escapes sprinkled in, and arbitrary Unicode.
_PROSE = st.lists(st.sampled_from(_WORDS + _WHITESPACE), max_size=12).map("".join)
_MESSY = st.lists(st.sampled_from(_WORDS + _WHITESPACE + _MOJIBAKE_BITS + _ENTITY_BITS), max_size=16).map("".join)
_ASCII = st.text(st.characters(max_codepoint=0x7F))
_MOJIBAKE_OF_TEXT = st.lists(st.sampled_from([*_WORDS, " ", "\n", "’", "é", "€", "Ω"])).map("".join).map(mojibake)


@settings(max_examples=1500)
@given(st.one_of(_PROSE, _MESSY, _ASCII, _MOJIBAKE_OF_TEXT, st.text()))
@example("Plain words, nothing else")
@example("  padded\tand\nbroken  ")
@example("ascii with a control\x01 character")
@example("ends with NEL\x85")
@example("It\x92s")
@example("\x1ctrailing separators\x1f")
@example("TÃ¼rk")
@example("a\u2028b")
def test_clean_text_equals_the_pass_by_pass_reference(text: str) -> None:
    assert clean_text(text) == reference_clean_text(text)


def test_printable_text_has_no_whitespace_but_the_space() -> None:
    # What the whitespace shortcut in clean_text relies on, for every code point.
    assert [cp for cp in range(0x110000) if chr(cp).isspace() and chr(cp).isprintable() and cp != 0x20] == []


# --- split_front_matter -------------------------------------------------------------------------

_OPENING_RE = re.compile(r"---[ \t]*\n")
_CLOSING_RE = re.compile(r"^(?:---|\.\.\.)[ \t]*$", re.M)


def reference_split(text: str) -> tuple[str, str] | str:
    """split_front_matter with the regex search, or the error reason."""
    opening = _OPENING_RE.match(text)
    if opening is None:
        return "no opening"
    closing = _CLOSING_RE.search(text, opening.end())
    if closing is None:
        return "unterminated YAML front matter (no closing --- line)"
    return text[opening.end() : closing.start()], text[closing.end() :]


_LINE_BITS = ["---", "...", "--", "..", "----", "-", ".", " ", "\t", "\n", "a: 1", "x", "---\n", "\n...\n", "\n--- \t"]


@settings(max_examples=1500)
@given(st.lists(st.sampled_from(_LINE_BITS), max_size=14).map("".join))
@example("---\n---\n")
@example("---\n...")
@example("---\na: 1\n--- \t\nbody\n---\n")
@example("---\na: ...\n---x\n...\t\n")
def test_split_front_matter_equals_the_regex_search(rest: str) -> None:
    text = "---\n" + rest
    expected = reference_split(text)
    if isinstance(expected, str):
        with pytest.raises(FrontMatterError, match=re.escape(expected)):
            split_front_matter(text)
    else:
        assert split_front_matter(text) == expected


# --- providers ----------------------------------------------------------------------------------


def reference_provider(name: object, domain: object, images: object, url: str) -> Provider:
    domain_text = domain.strip().lower() if isinstance(domain, str) else ""
    if domain_text.startswith("www."):
        domain_text = domain_text[4:]
    if not domain_text:
        domain_text = host_of(url)
    if isinstance(name, str):
        name_text = reference_clean_text(name)
    elif isinstance(name, int | float) and not isinstance(name, bool):
        name_text = str(name)
    else:
        name_text = ""
    return Provider(name=name_text or domain_text, domain=domain_text, logo_url=fields._first_image_url(images))


@given(
    url=st.sampled_from(["https://www.one.example/a", "https://two.example/b", "not a url"]),
    name=st.sampled_from(["Example Daily", " Example  Daily ", "", "TÃ¼rk", 7, 2.5, True, None]) | st.text(max_size=20),
    domain=st.sampled_from(["example.org", "WWW.Example.org ", "www.", " ", "", None, 3]),
    images=st.sampled_from([None, [], [{"url": " https://img.example/1.jpg "}], ["x"]]),
)
@settings(max_examples=300, deadline=None)
def test_shared_providers_equal_fresh_ones(url: str, name: object, domain: object, images: object) -> None:
    # Twice, with another URL in between, so that the second call can come from the memo.
    first = fields._make_provider(name, domain, images, url)
    fields._make_provider(name, domain, images, "https://elsewhere.example/")
    second = fields._make_provider(name, domain, images, url)
    assert first == second == reference_provider(name, domain, images, url)
