"""File names: which ones the store accepts, and how to print any name (or reason) safely.

A file name becomes an article id that users see and type, and every name ends up in ``check``
output, the index's rejected list and logs. Names that are not valid UTF-8 cannot be stored as
text; control characters could move a terminal's cursor, change its colours or fake a line of
output; bidirectional controls make text read differently from what it is. Such names are refused
with a reason, and whatever is printed goes through :func:`printable` first.
"""

from __future__ import annotations

import unicodedata

__all__ = ["name_problem", "printable"]

# Explicit bidirectional formatting: embeddings and overrides, isolates, and the marks.
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# os.fsdecode turns each byte that is not part of valid UTF-8 into U+DC80..U+DCFF (surrogateescape).
_ESCAPED_BYTES = range(0xDC80, 0xDD00)


def _escaped(ch: str) -> str:
    code = ord(ch)
    if code in _ESCAPED_BYTES:
        return f"\\x{code - 0xDC00:02x}"  # the byte as it is on disk
    return repr(ch)[1:-1] if code < 0x10000 else f"\\U{code:08x}"


def printable(text: str) -> str:
    """``text`` with every character that is not printable escaped as Python would write it
    (``\\n``, ``\\x1b``, ``\\u202e``), and bytes that are not UTF-8 as ``\\xff``.

    Safe to print on a terminal or in a log line, and unchanged when it was already printable, so
    applying it twice changes nothing. Backslashes are left as they are: a name that really
    contains ``\\x1b`` as four characters prints like one holding the escape character, which is
    ambiguous but harmless.
    """
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or ch == " " else _escaped(ch) for ch in text)


def name_problem(name: str) -> str | None:
    """Why a file or directory ``name`` (as ``os.fsdecode`` gives it) is refused; ``None`` if it
    is accepted. Nearly every name is plain printable text, which is checked first."""
    if name.isprintable():
        return None
    for ch in name:
        code = ord(ch)
        if 0xD800 <= code <= 0xDFFF:
            return "name is not valid UTF-8 text; rename the file"
        if ch in _BIDI_CONTROLS:
            return f"name contains a bidirectional control character (U+{code:04X}); rename the file"
        if unicodedata.category(ch) == "Cc":
            return f"name contains a control character (U+{code:04X}); rename the file"
    return None
