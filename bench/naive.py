"""The naive way of doing the same work, as the baseline for the ratios in ``bench/RESULTS.md``.

This is what a first version of the bot would plausibly do, with nothing clever:

- index: ``frontmatter.load`` on every file, one ``INSERT`` per row into a plain SQLite table
  (``articles`` plus an ``article_topics`` link table, no full-text index), one transaction per
  file (autocommit around each file's rows);
- reindex: the same full pass again (there is no incremental path: delete everything, re-insert);
- serve: load every row into a list of dicts at startup and answer each query by a linear scan
  (topic: filter and sort; search: substring match of every word over title and excerpt, scored
  by occurrences; related: one scan for the related URLs; autocomplete: scan of the titles).

Visibility is the bot's default (published articles only), applied while scanning: like the real
store, the server holds every article so that other visibilities stay possible.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import frontmatter
import yaml

SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    id            TEXT PRIMARY KEY,
    path          TEXT NOT NULL,
    title         TEXT NOT NULL,
    url           TEXT NOT NULL,
    excerpt       TEXT NOT NULL,
    published_at  TEXT NOT NULL,
    provider_name TEXT,
    provider_domain TEXT,
    quality       INTEGER,
    heat          INTEGER,
    published     INTEGER,
    type          TEXT,
    related       TEXT          -- JSON list of [title, url]
);
CREATE TABLE IF NOT EXISTS article_topics (article_id TEXT NOT NULL, topic TEXT NOT NULL);
"""

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class NaiveIndexReport:
    files: int
    rows: int
    failed: int
    seconds: float


def article_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix in {".md", ".txt"} and p.is_file())


def _row(root: Path, path: Path) -> tuple[tuple[Any, ...], list[str]] | None:
    """One file as an ``articles`` row and its topics; ``None`` if it cannot be read."""
    try:
        meta = frontmatter.load(path).metadata
        url = meta.get("webUrl") or meta.get("originalUrl") or ""
        when = meta["publishedDateTime"]
        provider = meta.get("provider") or {}
        related = [[r.get("title", ""), r.get("webUrl", "")] for r in meta.get("related") or []]
        values = (
            path.stem,
            str(path.relative_to(root)),
            str(meta["title"]),
            url,
            str(meta.get("excerpt", "")),
            when.isoformat() if isinstance(when, datetime) else str(when),
            provider.get("name"),
            provider.get("domain"),
            meta.get("quality", 0),
            meta.get("heat", -1),
            1 if meta.get("published") else 0,
            meta.get("type", "article"),
            json.dumps(related),
        )
        return values, [str(t) for t in meta.get("topics") or []]
    except (yaml.YAMLError, KeyError, ValueError, TypeError, AttributeError):
        return None


_INSERT_ARTICLE = "INSERT OR REPLACE INTO articles VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
_INSERT_TOPIC = "INSERT INTO article_topics VALUES (?, ?)"


def naive_index(root: Path, db_path: Path, *, files: Sequence[Path] | None = None) -> NaiveIndexReport:
    """Full pass over ``files`` (default: every article file under ``root``) into ``db_path``.

    On an existing database this is the naive reindex: everything is deleted and inserted again.
    """
    started = time.perf_counter()
    paths = article_files(root) if files is None else list(files)
    conn = sqlite3.connect(db_path, isolation_level=None)  # autocommit: each statement commits
    try:
        conn.executescript(SCHEMA)
        conn.execute("DELETE FROM article_topics")
        conn.execute("DELETE FROM articles")
        rows = failed = 0
        for path in paths:
            parsed = _row(root, path)
            if parsed is None:
                failed += 1
                continue
            values, topics = parsed
            conn.execute("BEGIN")
            conn.execute(_INSERT_ARTICLE, values)
            for topic in topics:
                conn.execute(_INSERT_TOPIC, (values[0], topic))
            conn.execute("COMMIT")
            rows += 1 + len(topics)
    finally:
        conn.close()
    return NaiveIndexReport(len(paths), rows, failed, time.perf_counter() - started)


def _rows_of(task: tuple[Path, list[Path]]) -> list[tuple[tuple[Any, ...], list[str]] | None]:
    root, paths = task
    return [_row(root, p) for p in paths]


def fill(root: Path, db_path: Path, files: Sequence[Path], *, workers: int | None = None) -> None:
    """Add ``files`` to the naive database as ``naive_index`` would, but in parallel and in one
    transaction. Not a measurement: it only completes a store whose indexing was timed on a
    sample, so that the naive queries run over every article."""
    chunks = [(root, list(files[i : i + 500])) for i in range(0, len(files), 500)]
    with ProcessPoolExecutor(workers or os.cpu_count() or 1, mp_context=get_context("spawn")) as pool:
        conn = sqlite3.connect(db_path)
        try:
            for parsed in pool.map(_rows_of, chunks):
                for item in parsed:
                    if item is not None:
                        values, topics = item
                        conn.execute(_INSERT_ARTICLE, values)
                        conn.executemany(_INSERT_TOPIC, [(values[0], t) for t in topics])
            conn.commit()
        finally:
            conn.close()


class NaiveServer:
    """Every visible article as a dict in a list; every query is a scan of that list."""

    def __init__(self, articles: list[Row]) -> None:
        self.articles = articles

    @classmethod
    def load(cls, db_path: Path) -> NaiveServer:
        conn = sqlite3.connect(db_path)
        conn.row_factory = sqlite3.Row
        try:
            topics: dict[str, list[str]] = {}
            for article_id, topic in conn.execute("SELECT article_id, topic FROM article_topics"):
                topics.setdefault(article_id, []).append(topic)
            articles = []
            for row in conn.execute("SELECT * FROM articles"):
                article = dict(row)
                article["topics"] = topics.get(article["id"], [])
                article["related"] = json.loads(article["related"])
                articles.append(article)
        finally:
            conn.close()
        return cls(articles)

    def topic(self, topic: str, sort: str, limit: int = 10) -> list[Row]:
        wanted = topic.casefold()
        found = [a for a in self.articles if a["published"] and any(t.casefold() == wanted for t in a["topics"])]
        if sort == "top":
            found.sort(key=lambda a: (a["heat"], a["quality"], a["published_at"]), reverse=True)
        else:
            found.sort(key=lambda a: a["published_at"], reverse=True)
        return found[:limit]

    def search(self, query: str, limit: int = 10) -> list[Row]:
        words = query.lower().split()
        scored = []
        for a in self.articles:
            if not a["published"]:
                continue
            title = a["title"].lower()
            text = title + " " + a["excerpt"].lower()
            if all(w in text for w in words):
                score = sum(3 * title.count(w) + text.count(w) for w in words)
                scored.append((score, a["published_at"], a))
        scored.sort(key=lambda s: (s[0], s[1]), reverse=True)
        return [a for _, _, a in scored[:limit]]

    def related(self, article_id: str, limit: int = 10) -> list[Row | list[str]]:
        source = next((a for a in self.articles if a["id"] == article_id and a["published"]), None)
        if source is None:
            return []
        urls = {url for _, url in source["related"] if url}
        in_store = {a["url"]: a for a in self.articles if a["published"] and a["url"] in urls}
        out: list[Row | list[str]] = []
        for title, url in source["related"]:
            if url and url != source["url"]:
                out.append(in_store.get(url, [title, url]))
            if len(out) == limit:
                break
        return out

    def complete_articles(self, text: str, limit: int = 25) -> list[tuple[str, str]]:
        needle = text.lower()
        found = [a for a in self.articles if a["published"] and needle in a["title"].lower()]
        found.sort(key=lambda a: a["published_at"], reverse=True)
        return [(a["id"], a["title"]) for a in found[:limit]]

    def complete_topics(self, text: str, limit: int = 25) -> list[tuple[str, int]]:
        counts = Counter(t for a in self.articles if a["published"] for t in a["topics"])
        needle = text.casefold()
        return [(t, c) for t, c in counts.most_common() if needle in t.casefold()][:limit]
