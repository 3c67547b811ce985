"""``ArticleRepository`` on SQLite.

Light lookups (topic pages, related, get) use one connection and full-text search another, so
autocomplete and topic queries never wait behind a slow search: aiosqlite runs each connection's
statements one after another on its own thread.
"""

from __future__ import annotations

import functools
import json
import logging
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

from bot.db import fts
from bot.db.connect import connect_sync
from bot.db.records import ARTICLE_COLUMNS, SUMMARY_COLUMNS, from_epoch, summary
from bot.db.records import article as article_from_row
from bot.db.repository import CatalogEntry
from bot.db.types import IndexStats, Page, RelatedItem, Sort, TopicCount, Visibility
from bot.store.keys import topic_key
from bot.store.models import Article, LoadIssue

log = logging.getLogger(__name__)
#: ``meta`` key of the counter behind ``version()``, raised by every index batch that changes articles.
ARTICLES_VERSION_KEY = "articles.version"

# Above this many matching documents for the rarest query word, ranking every match with bm25
# costs more than the latency budget, so results come newest first instead.
FREQUENT_DF = 2000
# With frequent words, a topic this small is walked newest first, testing each article (about
# 25 µs each); larger ones are found by walking the matches newest first (about 1.5 µs each).
SMALL_TOPIC = 200
MAX_LIMIT = 100

Params = dict[str, Any]


def visibility_sql(vis: Visibility, params: Params, *, alias: str = "a", ranking: str | None = None) -> list[str]:
    """WHERE clauses restricting ``alias`` (an ``articles`` row) to what ``vis`` may see.

    ``ranking`` names an ``article_topics`` alias carrying copies of published/quality, so that
    topic scans filter on the index they walk instead of looking each article up first.
    """
    src = ranking or alias
    clauses: list[str] = []
    if not vis.include_unpublished:
        clauses.append(f"{src}.published = 1")
    if vis.min_quality > 0:
        clauses.append(f"{src}.quality >= :vis_quality")
        params["vis_quality"] = vis.min_quality
    if vis.hidden_ids:
        clauses.append(f"{alias}.id NOT IN (SELECT value FROM json_each(:vis_hidden))")
        params["vis_hidden"] = json.dumps(sorted(vis.hidden_ids))
    if vis.blocked_domains:
        clauses.append(f"{alias}.provider_domain NOT IN (SELECT value FROM json_each(:vis_domains))")
        params["vis_domains"] = json.dumps(sorted(d.lower() for d in vis.blocked_domains))
    if vis.blocked_topics:
        clauses.append(
            f"NOT EXISTS (SELECT 1 FROM article_topics vt WHERE vt.rid = {alias}.rid AND vt.topic_id IN "
            "(SELECT id FROM topics WHERE name_fold IN (SELECT value FROM json_each(:vis_topics))))"
        )
        params["vis_topics"] = json.dumps(sorted(topic_key(t) for t in vis.blocked_topics))
    return clauses


def _where(clauses: Sequence[str]) -> str:
    return " AND ".join(clauses) if clauses else "1"


def _clamp(limit: int, offset: int) -> tuple[int, int]:
    return max(1, min(limit, MAX_LIMIT)), max(0, offset)


def _page(rows: Sequence[Sequence[Any]], limit: int, offset: int) -> Page:
    return Page(items=tuple(summary(r) for r in rows[:limit]), offset=offset, has_more=len(rows) > limit)


def _empty(offset: int) -> Page:
    return Page(items=(), offset=offset, has_more=False)


_ORDER = {
    "latest": "{t}.published_at DESC, {t}.rid DESC",
    "top": "{t}.heat DESC, {t}.quality DESC, {t}.published_at DESC, {t}.rid DESC",
}


class SqliteArticleRepository:
    def __init__(self, path: Path, light: aiosqlite.Connection, search: aiosqlite.Connection) -> None:
        self._path = path
        self._light = light
        self._search = search

    async def _rows(self, sql: str, params: Params, *, conn: aiosqlite.Connection | None = None) -> list[Any]:
        return list(await (conn or self._light).execute_fetchall(sql, params))

    # --- single articles ---------------------------------------------------------------------

    async def get(self, article_id: str, vis: Visibility) -> Article | None:
        return await self._get("a.id = :key", article_id, vis)

    async def get_by_url(self, url: str, vis: Visibility) -> Article | None:
        """The article whose URL or normalised URL is exactly ``url``. Callers holding a URL in
        another spelling pass it through ``bot.store.urls.normalize_url`` first."""
        article = await self._get("a.norm_url = :key", url, vis)
        return article if article is not None else await self._get("a.url = :key", url, vis)

    async def _get(self, condition: str, key: str, vis: Visibility) -> Article | None:
        params: Params = {"key": key}
        clauses = [condition, *visibility_sql(vis, params)]
        rows = await self._rows(
            f"SELECT {ARTICLE_COLUMNS} FROM articles a JOIN providers p ON p.domain = a.provider_domain "
            f"WHERE {_where(clauses)} LIMIT 1",
            params,
        )
        if not rows:
            return None
        links = await self._rows(
            "SELECT l.title, l.url, l.provider_name, l.provider_domain, l.published_at "
            "FROM related_links r JOIN links l ON l.url_key = r.url_key WHERE r.rid = :rid ORDER BY r.position",
            {"rid": rows[0][0]},
        )
        return article_from_row(rows[0], links)

    # --- lists ---------------------------------------------------------------------------------

    async def latest(self, *, topic: str | None = None, vis: Visibility, limit: int = 10, offset: int = 0) -> Page:
        if topic is not None:
            return await self.by_topic(topic, sort="latest", vis=vis, limit=limit, offset=offset)
        limit, offset = _clamp(limit, offset)
        params: Params = {"limit": limit + 1, "offset": offset}
        clauses = visibility_sql(vis, params)
        rows = await self._rows(
            f"SELECT {SUMMARY_COLUMNS} FROM articles a WHERE {_where(clauses)} "
            f"ORDER BY {_ORDER['latest'].format(t='a')} LIMIT :limit OFFSET :offset",
            params,
        )
        return _page(rows, limit, offset)

    async def top(self, *, vis: Visibility, limit: int = 10, offset: int = 0) -> Page:
        limit, offset = _clamp(limit, offset)
        params: Params = {"limit": limit + 1, "offset": offset}
        clauses = visibility_sql(vis, params)
        rows = await self._rows(
            f"SELECT {SUMMARY_COLUMNS} FROM articles a WHERE {_where(clauses)} "
            f"ORDER BY {_ORDER['top'].format(t='a')} LIMIT :limit OFFSET :offset",
            params,
        )
        return _page(rows, limit, offset)

    async def by_topic(
        self, topic: str, *, sort: Sort = "latest", vis: Visibility, limit: int = 10, offset: int = 0
    ) -> Page:
        limit, offset = _clamp(limit, offset)
        params: Params = {"limit": limit + 1, "offset": offset, "topic": topic_key(topic)}
        clauses = [
            "t.topic_id = (SELECT id FROM topics WHERE name_fold = :topic)",
            "a.rid = t.rid",
            *visibility_sql(vis, params, ranking="t"),
        ]
        # CROSS JOIN pins the order: walk the topic's ordered index, look each article up by rid.
        rows = await self._rows(
            f"SELECT {SUMMARY_COLUMNS} FROM article_topics t CROSS JOIN articles a WHERE {_where(clauses)} "
            f"ORDER BY {_ORDER[sort].format(t='t')} LIMIT :limit OFFSET :offset",
            params,
        )
        return _page(rows, limit, offset)

    # --- search --------------------------------------------------------------------------------

    async def search(
        self, query: str, *, topic: str | None = None, vis: Visibility, limit: int = 10, offset: int = 0
    ) -> Page:
        """Articles containing every word of ``query`` (in title, excerpt, body, topics or provider).

        Ranked by bm25 with the title weighted highest, then newest first. When even the rarest
        word is in more than ``FREQUENT_DF`` articles, results come newest first instead: scoring
        every match would cost far more than the difference in quality is worth.
        """
        limit, offset = _clamp(limit, offset)
        words = fts.words(query)
        if not words:
            return _empty(offset)
        params: Params = {"match": fts.match_expression(words), "limit": limit + 1, "offset": offset}
        rarest = await self._rarest_df(words)
        if rarest == 0:
            return _empty(offset)
        clauses = ["a.rid = f.rowid", *visibility_sql(vis, params)]
        if topic is not None:
            params["topic"] = topic_key(topic)
            topic_id = "(SELECT id FROM topics WHERE name_fold = :topic)"
            if rarest > FREQUENT_DF:
                size, newest = await self._topic_span(params["topic"], vis)
                if size == 0:
                    return _empty(offset)
                if size <= SMALL_TOPIC:
                    return await self._search_small_topic(params, vis, limit, offset)
                # Start the newest-first walk at the topic's newest article: topics often cover a
                # period, and the newer matches outside it would all be read and discarded.
                clauses.append("f.rowid <= :newest")
                params["newest"] = newest
            clauses.append(f"EXISTS (SELECT 1 FROM article_topics x WHERE x.rid = a.rid AND x.topic_id = {topic_id})")
        order = "f.rowid DESC" if rarest > FREQUENT_DF else "f.rank, a.published_at DESC"
        sql = (
            f"SELECT {SUMMARY_COLUMNS} FROM articles_fts f CROSS JOIN articles a "
            f"WHERE f.articles_fts MATCH :match AND {_where(clauses)} ORDER BY {order} LIMIT :limit OFFSET :offset"
        )
        try:
            rows = await self._rows(sql, params, conn=self._search)
        except sqlite3.OperationalError:
            # Not reachable by construction (every word is a quoted literal); never let it reach users.
            log.exception("full-text query failed for %d words", len(words))
            return _empty(offset)
        return _page(rows, limit, offset)

    async def _rarest_df(self, words: list[str]) -> int:
        originals = {fts.vocab_term(w): w for w in words}
        terms = sorted(originals)
        marks = ", ".join(f":t{i}" for i in range(len(terms)))
        rows = await self._rows(
            f"SELECT term, doc FROM articles_fts_vocab WHERE term IN ({marks})",
            {f"t{i}": t for i, t in enumerate(terms)},
            conn=self._search,
        )
        found = {term: int(doc) for term, doc in rows}
        missing = [t for t in terms if t not in found]
        if any(originals[t].isascii() for t in missing):
            return 0  # an ASCII word's stored form is certain: it occurs nowhere, so nothing matches
        if missing:
            return 1  # unsure how the tokenizer stored it: assume rare and let MATCH decide
        return min(found.values())

    async def _topic_span(self, topic_fold: str, vis: Visibility) -> tuple[int, int]:
        """How many articles the topic has (counted up to ``SMALL_TOPIC + 1``) and its newest rid."""
        published = "" if vis.include_unpublished else "AND published = 1"
        scope = f"FROM article_topics WHERE topic_id = (SELECT id FROM topics WHERE name_fold = :topic) {published}"
        rows = await self._rows(
            f"SELECT (SELECT count(*) FROM (SELECT 1 {scope} LIMIT {SMALL_TOPIC + 1})), "
            f"(SELECT rid {scope} ORDER BY published_at DESC, rid DESC LIMIT 1)",
            {"topic": topic_fold},
            conn=self._search,
        )
        size, newest = rows[0]
        return int(size), int(newest or 0)

    async def _search_small_topic(self, params: Params, vis: Visibility, limit: int, offset: int) -> Page:
        """Frequent words in a small topic: walk the topic newest first and test each article."""
        clauses = [
            "t.topic_id = (SELECT id FROM topics WHERE name_fold = :topic)",
            "f.rowid = t.rid",
            "f.articles_fts MATCH :match",
            "a.rid = t.rid",
            *visibility_sql(vis, params, ranking="t"),
        ]
        rows = await self._rows(
            f"SELECT {SUMMARY_COLUMNS} FROM article_topics t CROSS JOIN articles_fts f CROSS JOIN articles a "
            f"WHERE {_where(clauses)} ORDER BY t.published_at DESC, t.rid DESC LIMIT :limit OFFSET :offset",
            params,
            conn=self._search,
        )
        return _page(rows, limit, offset)

    # --- related -------------------------------------------------------------------------------

    async def related(self, article_id: str, vis: Visibility, limit: int = 10) -> list[RelatedItem]:
        """The article's related list in file order.

        A link to a store article the audience may see carries that article. A link to one it may
        not see because it is unpublished or below ``min_quality`` stays as a plain external link;
        a link to a hidden article, or to a blocked provider or topic, is left out.
        """
        limit = max(1, min(limit, MAX_LIMIT))
        # Some lists hold 100+ links, and the query's cost grows with the rows it reads (at 100k
        # articles: 0.34 ms for 48 rows, 0.09 ms for 12). Read the page plus a little room for links
        # this audience may not see, and the whole list only when that left the page short.
        cap = limit + 2
        items, capped = await self._related(article_id, vis, limit, cap)
        if len(items) < limit and capped:
            items, _ = await self._related(article_id, vis, limit, None)
        return items

    async def _related(
        self, article_id: str, vis: Visibility, limit: int, cap: int | None
    ) -> tuple[list[RelatedItem], bool]:
        params: Params = {"id": article_id}
        source = _where(visibility_sql(vis, params, alias="s"))
        if cap is not None:
            params["cap"] = cap
        # Links resolve here, by URL key, so they follow their targets as articles come and go.
        rows = await self._rows(
            "SELECT r.position, l.title, l.url, l.provider_name, l.provider_domain, l.published_at, "
            f"a.published, {SUMMARY_COLUMNS} "
            "FROM related_links r JOIN links l ON l.url_key = r.url_key LEFT JOIN articles a ON a.url_key = r.url_key "
            f"WHERE r.rid = (SELECT s.rid FROM articles s WHERE s.id = :id AND {source}) ORDER BY r.position"
            + (" LIMIT :cap" if cap is not None else ""),
            params,
        )
        capped = cap is not None and len(rows) >= cap
        return related_items(rows, vis, limit), capped

    # --- topics and stats ----------------------------------------------------------------------

    async def topics(self, vis: Visibility) -> list[TopicCount]:
        """Topics with how many visible articles each has, most articles first."""
        params: Params = {}
        if vis.hidden_ids or vis.blocked_domains or vis.blocked_topics:
            clauses = ["a.rid = t.rid", *visibility_sql(vis, params, ranking="t")]
            source = "article_topics t CROSS JOIN articles a"
        else:
            clauses = visibility_sql(vis, params, alias="t")
            source = "article_topics t"
        rows = await self._rows(
            f"SELECT tp.name, n FROM (SELECT t.topic_id, count(*) AS n FROM {source} WHERE {_where(clauses)} "
            "GROUP BY t.topic_id) c JOIN topics tp ON tp.id = c.topic_id ORDER BY n DESC, tp.name_fold",
            params,
        )
        return [TopicCount(name, int(n)) for name, n in rows]

    async def resolve_topic(self, name: str) -> str | None:
        """The canonical spelling of a topic some article has, matched case-insensitively."""
        rows = await self._rows(
            "SELECT name FROM topics tp WHERE name_fold = :fold "
            "AND EXISTS (SELECT 1 FROM article_topics t WHERE t.topic_id = tp.id)",
            {"fold": topic_key(name)},
        )
        return str(rows[0][0]) if rows else None

    async def stats(self, vis: Visibility) -> IndexStats:
        params: Params = {}
        visible = _where(visibility_sql(vis, params))
        rows = await self._rows(
            "SELECT (SELECT count(*) FROM articles), "
            f"(SELECT count(*) FROM articles a WHERE {visible}), "
            "(SELECT count(*) FROM topics tp WHERE EXISTS (SELECT 1 FROM article_topics t WHERE t.topic_id = tp.id)), "
            "(SELECT count(*) FROM providers), "
            "(SELECT count(*) FROM files WHERE error IS NOT NULL), "
            "(SELECT count(*) FROM files), "
            # Every served article comes from one accepted file; the other accepted files lost a
            # duplicate contest.
            "(SELECT count(*) FROM files f WHERE f.error IS NULL AND f.norm_url IS NOT NULL) - "
            "(SELECT count(*) FROM articles), "
            "(SELECT max(finished_at) FROM index_runs)",
            params,
        )
        total, visible_count, topics, providers, rejected, files, duplicates, finished = rows[0]
        return IndexStats(
            articles_total=int(total),
            articles_visible=int(visible_count),
            topics=int(topics),
            providers=int(providers),
            rejected_files=int(rejected),
            last_indexed_at=datetime.fromtimestamp(finished, UTC) if finished is not None else None,
            extra={"files": int(files), "duplicate_files": int(duplicates)},
        )

    # --- for the catalog and reports -----------------------------------------------------------

    async def catalog_entries(self) -> list[CatalogEntry]:
        """Every article (visible or not), newest first, in the slim form autocomplete keeps."""
        return _catalog_entries(await self._rows(_CATALOG_SQL, {}))

    def catalog_reader(self) -> Callable[[], list[CatalogEntry]]:
        """``catalog_entries`` as a picklable function to run in another process: building the
        catalog there keeps the 100k-row intermediate objects out of the serving process."""
        return functools.partial(read_catalog_entries, self._path)

    async def version(self) -> int:
        rows = await self._rows("SELECT value FROM meta WHERE key = :key", {"key": ARTICLES_VERSION_KEY})
        return int(rows[0][0]) if rows else 0

    async def file_issues(self) -> list[LoadIssue]:
        """Every problem the last index runs recorded, errors first, by path."""
        rows = await self._rows(
            "SELECT rel_path, severity, reason, line FROM file_issues "
            "ORDER BY severity = 'warning', rel_path, line, reason",
            {},
        )
        return [LoadIssue(path=p, reason=r, severity=s, line=line) for p, s, r, line in rows]


def related_items(rows: Iterable[Sequence[Any]], vis: Visibility, limit: int) -> list[RelatedItem]:
    """Decode related-link rows (position, title, url, provider_name, provider_domain,
    published_at, target published flag, then the target's ``SUMMARY_COLUMNS`` or NULLs) into the
    items ``vis`` may see; shared by both backends so the visibility rules for links are one."""
    blocked_topics = {topic_key(t) for t in vis.blocked_topics}
    blocked_domains = {d.lower() for d in vis.blocked_domains}
    items: list[RelatedItem] = []
    positions: set[int] = set()
    for row in rows:
        position, title, url, provider_name, provider_domain, published_at, published = row[:7]
        target = row[7:]
        if position in positions:
            continue  # two articles share a URL key (a 64-bit hash collision): keep the first
        positions.add(position)
        if provider_domain and provider_domain.lower() in blocked_domains:
            continue
        article = None
        if target[0] is not None:
            item = summary(target)
            if (
                item.id in vis.hidden_ids
                or item.provider_domain in blocked_domains
                or any(topic_key(t) in blocked_topics for t in item.topics)
            ):
                continue
            if (published or vis.include_unpublished) and item.quality >= vis.min_quality:
                article = item
        items.append(
            RelatedItem(
                title=article.title if article else title,
                url=article.url if article else url,
                provider_name=article.provider_name if article else provider_name,
                published_at=article.published_at if article else from_epoch(published_at) if published_at else None,
                article=article,
            )
        )
        if len(items) >= limit:
            break
    return items


_CATALOG_SQL = (
    "SELECT id, title, published_at, quality, published, provider_domain, topics FROM articles "
    "ORDER BY published_at DESC, rid DESC"
)


def _catalog_entries(rows: Iterable[Sequence[Any]]) -> list[CatalogEntry]:
    return [CatalogEntry(i, t, p, q, bool(pub), d, tuple(json.loads(tp))) for i, t, p, q, pub, d, tp in rows]


def read_catalog_entries(path: Path) -> list[CatalogEntry]:
    """``catalog_entries`` on a connection of its own, for use in a worker process."""
    conn = connect_sync(path)
    try:
        return _catalog_entries(conn.execute(_CATALOG_SQL))
    finally:
        conn.close()
