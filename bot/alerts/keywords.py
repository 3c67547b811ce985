"""The keyword query language of alerts (and follows): pure, reusable, explainable.

``solar "heat pump" -oil wind | tidal`` means: *solar* and the phrase *heat pump* occur, *oil* does
not, and *wind* or *tidal* does. Words match whole words; a quoted phrase matches its words in a
row within one field. Text is compared after ``bot.catalog.fold`` (case, accents and punctuation
ignored), the same folding search uses, so ``Café`` matches ``cafe`` and ``CAFÉ``.

``parse`` turns the text a moderator typed into a ``Query`` (or a ``KeywordError`` saying what is
wrong); ``Query.first_failure`` says which term an article fails (for ``/alert why``);
``Query.index_keys`` gives the words an article must contain for the query to possibly match, so a
matcher can find the queries an article concerns without testing every one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from bot.alerts.rules import MAX_KEYWORDS_CHARS
from bot.catalog import fold

MAX_TERMS: Final = 20

_TOKEN = re.compile(r'\s*(?:(?P<bar>\|)|(?P<neg>-)?(?:"(?P<phrase>[^"]*)"?|(?P<word>[^\s"|]+)))')


class KeywordError(ValueError):
    """Keywords that cannot be used; the message says why, in words a moderator can act on."""


@dataclass(frozen=True, slots=True)
class Term:
    """A word (one folded word) or a phrase (several, in a row); ``text`` is how it was typed."""

    words: tuple[str, ...]
    text: str

    def shown(self) -> str:
        return f'"{self.text}"' if len(self.words) > 1 or " " in self.text else self.text


@dataclass(frozen=True, slots=True)
class Clause:
    """Either term (``a | b``) must occur; with ``excluded`` none may."""

    terms: tuple[Term, ...]
    excluded: bool = False
    #: The one-word terms as a set (tested in one set operation) and the phrases (tested in turn).
    words: frozenset[str] = field(init=False, compare=False, repr=False)
    phrases: tuple[Term, ...] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "words", frozenset(t.words[0] for t in self.terms if len(t.words) == 1))
        object.__setattr__(self, "phrases", tuple(t for t in self.terms if len(t.words) > 1))

    def found_in(self, text: Text) -> bool:
        if not self.words.isdisjoint(text.words):
            return True
        return bool(self.phrases) and any(text.has(t) for t in self.phrases)

    def shown(self) -> str:
        text = " | ".join(t.shown() for t in self.terms)
        return f"-{text}" if self.excluded else text


@dataclass(frozen=True, slots=True)
class Text:
    """Article text prepared once for many queries: the folded words of each field, and all of them."""

    fields: tuple[tuple[str, ...], ...]
    words: frozenset[str]

    @classmethod
    def of(cls, *fields: str | Iterable[str]) -> Text:
        """Fields are strings or lists of strings (topics: each its own field, so no phrase spans two)."""
        out: list[tuple[str, ...]] = []
        for entry in fields:
            for part in [entry] if isinstance(entry, str) else entry:
                folded = tuple(fold(part).split())
                if folded:
                    out.append(folded)
        return cls(tuple(out), frozenset(w for f in out for w in f))

    def has(self, term: Term) -> bool:
        words = term.words
        if words[0] not in self.words:
            return False
        if len(words) == 1:
            return True
        if any(w not in self.words for w in words[1:]):
            return False
        n = len(words)
        for row in self.fields:
            for i in range(len(row) - n + 1):
                if row[i] == words[0] and row[i : i + n] == words:
                    return True
        return False


@dataclass(frozen=True, slots=True)
class Query:
    clauses: tuple[Clause, ...]

    def __str__(self) -> str:
        return " ".join(c.shown() for c in self.clauses)

    def first_failure(self, text: Text) -> Clause | None:
        """The first clause ``text`` fails (a required term missing, or an excluded one present), or None."""
        for clause in self.clauses:
            if clause.found_in(text) == clause.excluded:
                return clause
        return None

    def matches(self, text: Text) -> bool:
        return self.first_failure(text) is None

    def index_keys(self) -> frozenset[str]:
        """Words of which an article must contain at least one to match: the first word of each
        alternative of the required clause with the fewest alternatives."""
        required = [c for c in self.clauses if not c.excluded]
        best = min(required, key=lambda c: len(c.terms))
        return frozenset(t.words[0] for t in best.terms)


def parse(raw: str) -> Query:
    """The query ``raw`` means, or ``KeywordError``. At least one word must be required."""
    if len(raw) > MAX_KEYWORDS_CHARS:
        raise KeywordError(f"Keywords are at most {MAX_KEYWORDS_CHARS} characters long (these are {len(raw)}).")
    items: list[tuple[str, Term | None, bool]] = []  # ("bar", None, _) or ("term", term, excluded)
    pos = 0
    text = raw.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            break
        pos = match.end()
        if match["bar"]:
            items.append(("bar", None, False))
            continue
        typed = match["phrase"] if match["phrase"] is not None else match["word"] or ""
        words = tuple(fold(typed).split())
        if not words:
            if match["phrase"] is not None and not typed.strip():
                raise KeywordError('An empty phrase `""` matches nothing; put words between the quotes.')
            raise KeywordError(f"“{typed[:40]}” has no letters or digits, so it can never match.")
        items.append(("term", Term(words, " ".join(typed.split())), bool(match["neg"])))
    clauses: list[Clause] = []
    pending_bar = False
    for kind, term, excluded in items:
        if kind == "bar":
            if not clauses or pending_bar:
                raise KeywordError("`|` must stand between two words or phrases, as in `solar | wind`.")
            pending_bar = True
            continue
        assert term is not None
        if pending_bar:
            previous = clauses[-1]
            if excluded or previous.excluded:
                raise KeywordError(
                    f"An excluded word can't be one of several choices (`{previous.shown()} | ...`): "
                    "write the exclusions on their own, as in `solar | wind -oil`."
                )
            clauses[-1] = Clause((*previous.terms, term))
            pending_bar = False
        else:
            clauses.append(Clause((term,), excluded))
    if pending_bar:
        raise KeywordError("`|` must stand between two words or phrases, as in `solar | wind`.")
    if sum(len(c.terms) for c in clauses) > MAX_TERMS:
        raise KeywordError(f"At most {MAX_TERMS} words and phrases are allowed.")
    if not any(not c.excluded for c in clauses):
        raise KeywordError("Give at least one word that must occur; `-word` alone only excludes.")
    return Query(tuple(clauses))
