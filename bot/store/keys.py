"""How names and titles are compared: the keys two spellings of one thing share.

Two rules, kept apart because they answer different questions:

- :func:`topic_key`: whether two topic names are one topic. Case and spacing are ignored, nothing
  else ("C++" and "C#" stay two topics). The loader, both databases (``topics.name_fold``), the
  catalog, server settings and digests all use it, so a topic blocked or chosen in one place is
  the same topic everywhere.
- :func:`plain_words`: whether a query matches a title, and whether two titles tell one story.
  Accents, case, punctuation and spacing are ignored.

And how a typed provider (``"https://WWW.Example.com/x"``) becomes the domain articles carry
(:func:`domain_key`), for server blocks, alerts and backups alike.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["domain_key", "plain_words", "split_list", "topic_key"]

_NON_WORD = re.compile(r"[\W_]+")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})+")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://")


def split_list(text: str) -> list[str]:
    """``"a, b ,,c"`` -> ``["a", "b", "c"]`` (commas or new lines separate entries)."""
    return [part.strip() for part in re.split(r"[,\n]", text) if part.strip()]


def domain_key(raw: str) -> str:
    """``"https://WWW.Example.com/path"`` -> ``"www.example.com"``; ``ValueError`` (a message to show)
    when it is not a domain."""
    text = _SCHEME.sub("", raw.strip().lower()).split("/", 1)[0].rstrip(".")
    problem = f"“{raw.strip()[:60]}” is not a domain (for example: example.com)."
    if not text.isascii():
        try:
            text = text.encode("idna").decode("ascii")
        except UnicodeError:
            raise ValueError(problem) from None
    if len(text) > 253 or not _DOMAIN.fullmatch(text):
        raise ValueError(problem)
    return text


def topic_key(name: str) -> str:
    """The key topics are compared by: case-folded, whitespace collapsed (``"AI  News"`` -> ``"ai news"``)."""
    return " ".join(name.split()).casefold()


def plain_words(text: str) -> str:
    """The words of ``text`` case-folded, without accents, separated by single spaces:
    ``plain_words("Café: Straße!") == "cafe strasse"``, ``plain_words("ガイド") == "カイト"``."""
    text = text.casefold()
    if not text.isascii():  # most titles are ASCII, and have no accents to remove
        text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
        # Compatibility forms decompose to letters of either case ("𝕊" -> "S"): fold what they became.
        text = text.casefold()
    return _NON_WORD.sub(" ", text).strip()
