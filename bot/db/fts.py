"""Turning user text into a safe FTS5 query.

User text never reaches MATCH as syntax: it is split into words the way the ``unicode61``
tokenizer splits them (letters, digits and private-use characters; everything else separates),
and each word is sent as a double-quoted string, which FTS5 treats as a literal phrase. Operators
such as ``AND``, ``NEAR``, ``*``, ``^``, ``:`` or stray quotes therefore only ever match as text.
"""

from __future__ import annotations

import unicodedata

MAX_TERMS = 12
MAX_TERM_CHARS = 64


def _is_token_char(ch: str) -> bool:
    category = unicodedata.category(ch)
    # Combining marks stay attached to their letter (e.g. decomposed accents).
    return category[0] in "LNM" or category == "Co"


def words(text: str) -> list[str]:
    """The distinct words of ``text`` in order, at most ``MAX_TERMS``, each at most ``MAX_TERM_CHARS``."""
    found: list[str] = []
    seen: set[str] = set()
    current: list[str] = []

    def flush() -> None:
        if current:
            word = "".join(current)[:MAX_TERM_CHARS]
            current.clear()
            key = vocab_term(word)
            if key and key not in seen:
                seen.add(key)
                found.append(word)

    for ch in unicodedata.normalize("NFC", text):
        if _is_token_char(ch):
            current.append(ch)
        else:
            flush()
            if len(found) >= MAX_TERMS:
                break
    flush()
    return found[:MAX_TERMS]


def quote(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


def match_expression(terms: list[str]) -> str:
    """Implicit AND of literal phrases: every word must occur."""
    return " ".join(quote(t) for t in terms)


def vocab_term(word: str) -> str:
    """Our best guess of how ``unicode61 remove_diacritics 2`` stores ``word`` in the vocabulary.

    Used only to estimate document frequencies; MATCH itself re-tokenizes the quoted word, so a
    wrong guess can only change which ranking path a query takes, never its results.
    """
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))
