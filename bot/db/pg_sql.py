"""Pieces of SQL shared by the PostgreSQL repositories: numbered parameters, visibility, folding.

The rules mirror ``bot.db.sqlite_articles`` (``visibility_sql``; topics compared by
``bot.store.keys.topic_key``) and the full-text folding of ``bot.db.fts``; only the spelling
differs ($1 parameters, arrays instead of JSON).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from bot.db.fts import vocab_term
from bot.db.types import Visibility
from bot.store.keys import topic_key


class Params:
    """Collects positional parameters: ``p.add(value)`` returns its ``$n``."""

    def __init__(self, *initial: Any) -> None:
        self.values: list[Any] = list(initial)

    def add(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


def visibility_sql(vis: Visibility, params: Params, *, alias: str = "a", ranking: str | None = None) -> list[str]:
    """WHERE clauses restricting ``alias`` (an ``articles`` row) to what ``vis`` may see; ``ranking``
    names an ``article_topics`` alias carrying copies of published/quality (as in SQLite)."""
    src = ranking or alias
    clauses: list[str] = []
    if not vis.include_unpublished:
        clauses.append(f"{src}.published")
    if vis.min_quality > 0:
        clauses.append(f"{src}.quality >= {params.add(vis.min_quality)}")
    if vis.hidden_ids:
        clauses.append(f"{alias}.id <> ALL({params.add(sorted(vis.hidden_ids))}::text[])")
    if vis.blocked_domains:
        domains = sorted(d.lower() for d in vis.blocked_domains)
        clauses.append(f"{alias}.provider_domain <> ALL({params.add(domains)}::text[])")
    if vis.blocked_topics:
        topics = sorted(topic_key(t) for t in vis.blocked_topics)
        clauses.append(
            f"NOT EXISTS (SELECT 1 FROM article_topics vt JOIN topics vtp ON vtp.id = vt.topic_id "
            f"WHERE vt.rid = {alias}.rid AND vtp.name_fold = ANY({params.add(topics)}::text[]))"
        )
    return clauses


def where(clauses: Sequence[str]) -> str:
    return " AND ".join(clauses) if clauses else "true"


def fts_unaccented(text: str) -> str | None:
    """``text`` without accents for the full-text index, or ``None`` when it has none to fold
    (plain ASCII, most of it: the server then indexes the column itself and nothing is sent twice).
    The same folding as the query words (``bot.db.fts.vocab_term``), and as SQLite's tokenizer."""
    return None if text.isascii() else vocab_term(text)


def tsquery_text(words: Iterable[str]) -> str:
    """Input for ``websearch_to_tsquery``: each folded word double-quoted, so that ``or``, ``-`` and
    other websearch syntax in user text are plain words; quoted words are ANDed."""
    return " ".join('"' + vocab_term(w).replace('"', " ") + '"' for w in words)


def rows(records: Iterable[Any]) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in records]


def storable(text: str) -> bool:
    """PostgreSQL text cannot hold NUL, so no stored name has one, and sending one is an error:
    a name typed with it matches nothing."""
    return "\x00" not in text
