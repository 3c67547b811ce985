"""Cleaning of human-readable text fields (titles, excerpts, topic and provider names).

The source data was produced by a pipeline that sometimes decoded UTF-8 bytes as cp1252 ("mojibake":
``TÃ¼rk`` for ``Türk``, ``â€™`` for ``’``), left HTML entities in place, kept escaped newlines and
stray whitespace; a hostile file may add bidirectional controls. :func:`clean_text` undoes all of
that. It is only ever applied to prose, never to URLs: those are kept exactly as written.
"""

from __future__ import annotations

import html
import re
import unicodedata

__all__ = ["BIDI_CONTROLS", "clean_text", "repair_mojibake"]

# Unicode's Bidi_Control property: the embeddings, overrides and isolates (U+202A..U+202E,
# U+2066..U+2069) reorder what follows them, so a title can show its letters in another order than
# they are stored ("Trojan Source"), and a label can be made to look like a different URL. The three
# marks (LRM, RLM, ALM) are milder, but a leading one decides the direction a client gives the whole
# line. Text from articles carries no direction markup of its own worth keeping: the letters are
# enough for the display to lay out RTL text, at worst with a neutral character on the other side.
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"

# Each cp1252 character in 0x80..0x9F, mapped back to the byte it came from. The five bytes cp1252
# leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D) show up in real mojibake as the C1 control
# character with the same number, which the identity part of the "byte view" already covers.
_CP1252_TO_BYTE: dict[int, int] = {}
for _byte in range(0x80, 0xA0):
    try:
        _CP1252_TO_BYTE[ord(bytes([_byte]).decode("cp1252"))] = _byte
    except UnicodeDecodeError:
        continue

_CONTINUATION = "\x80-\xbf" + "".join(chr(cp) for cp in _CP1252_TO_BYTE)
# Two-byte leads are the capital letters Â..ß; three-byte leads are à..ï; four-byte leads ð..ô.
_SUSPECT_RE = re.compile(f"[\xc2-\xf4][{_CONTINUATION}]")
# Runs over the byte view (see _byte_view), where every character stands for exactly one byte.
_UTF8_SEQ_RE = re.compile(
    "[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}|(\xe2\x80)(?![\x80-\xbf])"
)
# C1 controls left over once UTF-8 sequences are repaired: text decoded as latin-1 instead of
# cp1252. The undefined five carry no meaning and are dropped.
_C1_TO_CP1252 = {
    byte: (bytes([byte]).decode("cp1252") if byte not in (0x81, 0x8D, 0x8F, 0x90, 0x9D) else None)
    for byte in range(0x80, 0xA0)
}
# Quick tests that let repair_mojibake skip work: every match of _UTF8_SEQ_RE starts with a lead
# character (the byte view keeps those as they are), and leftover C1 controls.
_LEAD_RE = re.compile("[\xc2-\xf4]")
_C1_RE = re.compile("[\x80-\x9f]")
_ENTITY_RE = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_ESCAPED_BREAK_RE = re.compile(r"\\[nrt]")
# Invisible characters that only get in the way of display and search, and the bidi controls.
# ZWJ/ZWNJ stay: they are meaningful in emoji sequences and several scripts.
_JUNK = dict.fromkeys((*range(0x09), *range(0x0E, 0x1C), 0x7F, 0xAD, 0x200B, 0x2060, 0xFEFF, *map(ord, BIDI_CONTROLS)))
_JUNK_CLASS = "".join(re.escape(chr(cp)) for cp in _JUNK)
_JUNK_RE = re.compile(f"[{_JUNK_CLASS}]")
# Quick test for "nothing to do but whitespace", the common case: no junk, no C1 control.
_ODD_CHARS_RE = re.compile(f"[{_JUNK_CLASS}\x80-\x9f]")
# Enough for double-encoded mojibake inside double-escaped entities; real data needs two passes.
_MAX_PASSES = 12


def _byte_view(text: str) -> str:
    return text.translate(_CP1252_TO_BYTE)


def _plausible(repaired: str, length: int) -> bool:
    """Whether a repaired sequence is a character real text would contain.

    Two-byte sequences are the risky ones: a capital like ``É`` followed by ``’`` is legitimate
    text that happens to look like UTF-8, so those are only repaired into letters of the Latin,
    Greek and Cyrillic blocks, where real mojibake comes from.
    """
    cp = ord(repaired)
    if length == 2:
        return 0xA0 <= cp <= 0x24F or 0x370 <= cp <= 0x4FF
    return unicodedata.category(repaired) not in ("Cc", "Cn", "Co", "Cs")


def repair_mojibake(text: str) -> str:
    """Undo one layer of UTF-8-read-as-cp1252, sequence by sequence.

    Only byte sequences that form valid UTF-8 and decode to a plausible character are replaced, so
    correct text such as ``Türk``, ``café`` or ``日本`` is never touched. ``â€`` whose third byte
    was lost (it is usually the undefined 0x9D of ``”``) becomes ``”``. C1 control characters left
    afterwards are cp1252 punctuation decoded as latin-1 (``\\x92`` is ``’``) and are mapped back.

    Why not ftfy: given the same flagged strings, ``ftfy.fix_encoding`` agrees on every text field
    of the real corpus (only three distinct strings there need repair) at the same parse speed, but
    it judges whole strings and leaves damage that this source produces: ``â€œhelloâ€`` (the lost
    0x9D) becomes ``“hello†``, ``Ã…land`` stays as it is, and the undefined C1 bytes are kept.
    """
    pieces: list[str] = []
    last = 0
    # str.translate is slow on text that is not ASCII, so the byte view is only made when needed.
    matches = _UTF8_SEQ_RE.finditer(_byte_view(text)) if _LEAD_RE.search(text) is not None else ()
    for match in matches:
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
    if _C1_RE.search(text) is not None:
        text = text.translate(_C1_TO_CP1252)
    return text


def _unescape_entity(match: re.Match[str]) -> str:
    return html.unescape(match.group())


def _one_pass(text: str) -> str:
    if "&" in text:
        text = _ENTITY_RE.sub(_unescape_entity, text)
    text = repair_mojibake(text)
    if "\\" in text:
        text = _ESCAPED_BREAK_RE.sub(" ", text)
    if _JUNK_RE.search(text) is not None:
        text = text.translate(_JUNK)
    return " ".join(text.split())


def _collapse(s: str) -> str:
    """``" ".join(s.split())``, without splitting text that has nothing to collapse.

    A printable string has no whitespace but the plain space (every other whitespace character is
    a separator or a control character, and those are not printable), so once stripped, a printable
    string without a double space is what splitting and joining would give.
    """
    stripped = s.strip()
    if "  " not in stripped and stripped.isprintable():
        return stripped
    return " ".join(s.split())


def clean_text(s: str) -> str:
    """Return ``s`` as clean display text.

    Repairs mojibake, decodes HTML entities (``&#8217;``, ``&amp;``; ``&nbsp;`` becomes a space),
    turns literal escaped line breaks (a backslash then ``n``, ``r`` or ``t``) into spaces, drops
    invisible and control characters and the bidi controls (:data:`BIDI_CONTROLS`), collapses runs
    of whitespace into one space and strips the ends. The steps repeat until nothing changes, so
    ``clean_text(clean_text(s)) == clean_text(s)`` (bounded at a dozen passes for adversarially
    nested input). Never raises for any ``str``.
    """
    if "&" not in s and "\\" not in s:
        if s.isascii():
            joined = _collapse(s)
            if joined.isprintable():  # no control characters besides whitespace
                return joined
        elif _ODD_CHARS_RE.search(s) is None and _SUSPECT_RE.search(s) is None:
            return _collapse(s)
    for _ in range(_MAX_PASSES):
        cleaned = _one_pass(s)
        if cleaned == s:
            break
        s = cleaned
    return s
