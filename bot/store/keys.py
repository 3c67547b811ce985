"""How names and titles are compared: the keys two spellings of one thing share.

Two rules, kept apart because they answer different questions:

- :func:`topic_key`: whether two topic names are one topic. Case and spacing are ignored, nothing
  else ("C++" and "C#" stay two topics). The loader, both databases (``topics.name_fold``), the
  catalog, server settings and digests all use it, so a topic blocked or chosen in one place is
  the same topic everywhere.
- :func:`plain_words`: whether a query matches a title, and whether two titles tell one story.
  Accents, case, punctuation and spacing are ignored.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["plain_words", "topic_key"]

_NON_WORD = re.compile(r"[\W_]+")


def topic_key(name: str) -> str:
    """The key topics are compared by: case-folded, whitespace collapsed (``"AI  News"`` -> ``"ai news"``)."""
    return " ".join(name.split()).casefold()


def plain_words(text: str) -> str:
    """The words of ``text`` case-folded, without accents, separated by single spaces:
    ``plain_words("Café: Straße!") == "cafe strasse"``, ``plain_words("ガイド") == "カイト"``."""
    text = text.casefold()
    if not text.isascii():  # most titles are ASCII, and have no accents to remove
        text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    return _NON_WORD.sub(" ", text).strip()
