"""``ArticleRepository`` on PostgreSQL: the twin of ``bot.db.sqlite_articles``.

Full-text search uses the ``search`` tsvector (title A, excerpt B, topics and provider C, body D)
through its GIN index; ranking is ``ts_rank`` then newest first, and a query matching more than
``PG_FREQUENT_DF`` articles comes newest first instead, as on the SQLite side (which ranks more
cheaply, so switches later).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime

import asyncpg

from bot.db import fts, sqlite_articles
from bot.db.pg_connect import Pg
from bot.db.pg_sql import Params, rows, storable, tsquery_text, visibility_sql, where
from bot.db.records import ARTICLE_COLUMNS, SUMMARY_COLUMNS, summary
from bot.db.records import article as article_from_row
from bot.db.repository import CatalogEntry
from bot.db.sqlite_articles import ARTICLES_VERSION_KEY, MAX_LIMIT, related_items
from bot.db.types import IndexStats, Page, RelatedItem, Sort, TopicCount, Visibility
from bot.settings import DatabaseTarget
from bot.store.keys import topic_key
from bot.store.models import Article, LoadIssue

log = logging.getLogger(__name__)

#: Ranking a match costs about 10 µs here (ts_rank reads its whole tsvector), against about 1 µs
#: for FTS5's bm25, so PostgreSQL switches to newest-first at fewer matches than SQLite does.
PG_FREQUENT_DF = 400

#: ts_rank weights for D (body), C (topics, provider), B (excerpt), A (title).
RANK_WEIGHTS = "{0.1, 0.25, 0.4, 1.0}"
#: ts_rank normalisation 1: divide by 1 + log(length), so long bodies do not win by repetition alone.
RANK_NORMALISATION = 1

_ORDER = {
    "latest": "{t}.published_at DESC, {t}.rid DESC",
    "top": "{t}.heat DESC, {t}.quality DESC, {t}.published_at DESC, {t}.rid DESC",
}


def _clamp(limit: int, offset: int) -> tuple[int, int]:
    return max(1, min(limit, MAX_LIMIT)), max(0, offset)


def _page(found: list[tuple[object, ...]], limit: int, offset: int) -> Page:
    return Page(items=tuple(summary(r) for r in found[:limit]), offset=offset, has_more=len(found) > limit)


class PgArticleRepository:
    def __init__(self, pg: Pg) -> None:
        self._pg = pg

    async def _rows(self, sql: str, params: Params) -> list[tuple[object, ...]]:
        return rows(await self._pg.fetch(sql, *params.values))

    # --- single articles ---------------------------------------------------------------------

    async def get(self, article_id: str, vis: Visibility) -> Article | None:
        return await self._get("a.id", article_id, vis)

    async def get_by_url(self, url: str, vis: Visibility) -> Article | None:
        article = await self._get("a.norm_url", url, vis)
        return article if article is not None else await self._get("a.url", url, vis)

    async def _get(self, column: str, key: str, vis: Visibility) -> Article | None:
        params = Params(key)
        clauses = [f"{column} = $1", *visibility_sql(vis, params)]
        found = await self._rows(
            f"SELECT {ARTICLE_COLUMNS} FROM articles a JOIN providers p ON p.domain = a.provider_domain "
            f"WHERE {where(clauses)} LIMIT 1",
            params,
        )
        if not found:
            return None
        links = await self._rows(
            "SELECT l.title, l.url, l.provider_name, l.provider_domain, l.published_at "
            "FROM related_links r JOIN links l ON l.url_key = r.url_key WHERE r.rid = $1 ORDER BY r.position",
            Params(found[0][0]),
        )
        return article_from_row(found[0], links)

    # --- lists ---------------------------------------------------------------------------------

    async def latest(self, *, topic: str | None = None, vis: Visibility, limit: int = 10, offset: int = 0) -> Page:
        if topic is not None:
            return await self.by_topic(topic, sort="latest", vis=vis, limit=limit, offset=offset)
        return await self._list("latest", vis, limit, offset)

    async def top(self, *, vis: Visibility, limit: int = 10, offset: int = 0) -> Page:
        return await self._list("top", vis, limit, offset)

    async def _list(self, sort: Sort, vis: Visibility, limit: int, offset: int) -> Page:
        limit, offset = _clamp(limit, offset)
        params = Params(limit + 1, offset)
        clauses = visibility_sql(vis, params)
        found = await self._rows(
            f"SELECT {SUMMARY_COLUMNS} FROM articles a WHERE {where(clauses)} "
            f"ORDER BY {_ORDER[sort].format(t='a')} LIMIT $1 OFFSET $2",
            params,
        )
        return _page(found, limit, offset)

    async def by_topic(
        self, topic: str, *, sort: Sort = "latest", vis: Visibility, limit: int = 10, offset: int = 0
    ) -> Page:
        limit, offset = _clamp(limit, offset)
        if not storable(topic):
            return Page(items=(), offset=offset, has_more=False)
        params = Params(limit + 1, offset, topic_key(topic))
        clauses = [
            "t.topic_id = (SELECT id FROM topics WHERE name_fold = $3)",
            *visibility_sql(vis, params, ranking="t"),
        ]
        found = await self._rows(
            f"SELECT {SUMMARY_COLUMNS} FROM article_topics t JOIN articles a ON a.rid = t.rid WHERE {where(clauses)} "
            f"ORDER BY {_ORDER[sort].format(t='t')} LIMIT $1 OFFSET $2",
            params,
        )
        return _page(found, limit, offset)

    # --- search --------------------------------------------------------------------------------

    async def search(
        self, query: str, *, topic: str | None = None, vis: Visibility, limit: int = 10, offset: int = 0
    ) -> Page:
        """Articles containing every word of ``query``; see the module docstring for the order."""
        limit, offset = _clamp(limit, offset)
        words = fts.words(query)
        if not words or (topic is not None and not storable(topic)):
            return Page(items=(), offset=offset, has_more=False)
        frequent = min(sqlite_articles.FREQUENT_DF, PG_FREQUENT_DF)  # read at call time: tests lower it
        params = Params(tsquery_text(words), limit + 1, offset)
        query_sql = "websearch_to_tsquery('simple', $1)"
        matches = await self._pg.fetchval(
            f"SELECT count(*) FROM (SELECT 1 FROM articles WHERE search @@ {query_sql} LIMIT {frequent + 1}) m",
            params.values[0],
        )
        if not matches:
            return Page(items=(), offset=offset, has_more=False)
        clauses = [f"a.search @@ {query_sql}", *visibility_sql(vis, params)]
        if topic is not None:
            clauses.append(
                "EXISTS (SELECT 1 FROM article_topics x WHERE x.rid = a.rid AND x.topic_id = "
                f"(SELECT id FROM topics WHERE name_fold = {params.add(topic_key(topic))}))"
            )
        if matches > frequent:
            order = "a.rid DESC"
        else:
            rank = f"ts_rank('{RANK_WEIGHTS}', a.search, {query_sql}, {RANK_NORMALISATION})"
            order = f"{rank} DESC, a.published_at DESC, a.rid DESC"
        try:
            found = await self._rows(
                f"SELECT {SUMMARY_COLUMNS} FROM articles a WHERE {where(clauses)} ORDER BY {order} LIMIT $2 OFFSET $3",
                params,
            )
        except asyncpg.PostgresSyntaxError:
            # Not reachable by construction (every word is quoted); never let it reach users.
            log.exception("full-text query failed for %d words", len(words))
            return Page(items=(), offset=offset, has_more=False)
        return _page(found, limit, offset)

    # --- related -------------------------------------------------------------------------------

    async def related(self, article_id: str, vis: Visibility, limit: int = 10) -> list[RelatedItem]:
        """The article's related list in file order (rules: ``SqliteArticleRepository.related``)."""
        limit = max(1, min(limit, MAX_LIMIT))
        cap = limit + 2
        items, capped = await self._related(article_id, vis, limit, cap)
        if len(items) < limit and capped:
            items, _ = await self._related(article_id, vis, limit, None)
        return items

    async def _related(
        self, article_id: str, vis: Visibility, limit: int, cap: int | None
    ) -> tuple[list[RelatedItem], bool]:
        params = Params(article_id)
        source = where(visibility_sql(vis, params, alias="s"))
        tail = f" LIMIT {params.add(cap)}" if cap is not None else ""
        found = await self._rows(
            "SELECT r.position, l.title, l.url, l.provider_name, l.provider_domain, l.published_at, "
            f"a.published, {SUMMARY_COLUMNS} "
            "FROM related_links r JOIN links l ON l.url_key = r.url_key LEFT JOIN articles a ON a.url_key = r.url_key "
            f"WHERE r.rid = (SELECT s.rid FROM articles s WHERE s.id = $1 AND {source}) ORDER BY r.position{tail}",
            params,
        )
        capped = cap is not None and len(found) >= cap
        return related_items(found, vis, limit), capped

    # --- topics and stats ----------------------------------------------------------------------

    async def topics(self, vis: Visibility) -> list[TopicCount]:
        params = Params()
        if vis.hidden_ids or vis.blocked_domains or vis.blocked_topics:
            clauses = visibility_sql(vis, params, ranking="t")
            source = "article_topics t JOIN articles a ON a.rid = t.rid"
        else:
            clauses = visibility_sql(vis, params, alias="t")
            source = "article_topics t"
        found = await self._rows(
            f"SELECT tp.name, n FROM (SELECT t.topic_id, count(*) AS n FROM {source} WHERE {where(clauses)} "
            'GROUP BY t.topic_id) c JOIN topics tp ON tp.id = c.topic_id ORDER BY n DESC, tp.name_fold COLLATE "C"',
            params,
        )
        return [TopicCount(str(name), int(n)) for name, n in found]  # type: ignore[call-overload]

    async def resolve_topic(self, name: str) -> str | None:
        if not storable(name):
            return None
        value = await self._pg.fetchval(
            "SELECT name FROM topics tp WHERE name_fold = $1 "
            "AND EXISTS (SELECT 1 FROM article_topics t WHERE t.topic_id = tp.id)",
            topic_key(name),
        )
        return str(value) if value is not None else None

    async def stats(self, vis: Visibility) -> IndexStats:
        params = Params()
        visible = where(visibility_sql(vis, params))
        found = await self._rows(
            "SELECT (SELECT count(*) FROM articles), "
            f"(SELECT count(*) FROM articles a WHERE {visible}), "
            "(SELECT count(*) FROM topics tp WHERE EXISTS (SELECT 1 FROM article_topics t WHERE t.topic_id = tp.id)), "
            "(SELECT count(*) FROM providers), "
            "(SELECT count(*) FROM files WHERE error IS NOT NULL), "
            "(SELECT count(*) FROM files), "
            "(SELECT count(*) FROM files f WHERE f.error IS NULL AND f.norm_url IS NOT NULL) - "
            "(SELECT count(*) FROM articles), "
            "(SELECT max(finished_at) FROM index_runs)",
            params,
        )
        total, visible_count, topics, providers, rejected, files, duplicates, finished = found[0]
        return IndexStats(
            articles_total=int(total),  # type: ignore[call-overload]
            articles_visible=int(visible_count),  # type: ignore[call-overload]
            topics=int(topics),  # type: ignore[call-overload]
            providers=int(providers),  # type: ignore[call-overload]
            rejected_files=int(rejected),  # type: ignore[call-overload]
            last_indexed_at=datetime.fromtimestamp(finished, UTC) if isinstance(finished, int) else None,
            extra={"files": int(files), "duplicate_files": int(duplicates)},  # type: ignore[call-overload]
        )

    # --- for the catalog and reports -----------------------------------------------------------

    async def catalog_entries(self) -> list[CatalogEntry]:
        return _catalog_entries(await self._pg.fetch(_CATALOG_SQL))

    def catalog_reader(self) -> Callable[[], list[CatalogEntry]]:
        return functools.partial(read_catalog_entries, self._pg.target)

    async def version(self) -> int:
        value = await self._pg.fetchval("SELECT value FROM meta WHERE key = $1", ARTICLES_VERSION_KEY)
        return int(value) if value is not None else 0

    async def file_issues(self) -> list[LoadIssue]:
        found = await self._pg.fetch(
            "SELECT rel_path, severity, reason, line FROM file_issues "
            'ORDER BY severity = \'warning\', rel_path COLLATE "C", line NULLS FIRST, reason COLLATE "C"'
        )
        return [LoadIssue(path=p, reason=r, severity=s, line=line) for p, s, r, line in found]


_CATALOG_SQL = (
    "SELECT id, title, published_at, quality, published, provider_domain, topics FROM articles "
    "ORDER BY published_at DESC, rid DESC"
)


def _catalog_entries(found: list[asyncpg.Record]) -> list[CatalogEntry]:
    return [CatalogEntry(i, t, p, q, bool(pub), d, tuple(json.loads(tp))) for i, t, p, q, pub, d, tp in found]


def read_catalog_entries(target: DatabaseTarget) -> list[CatalogEntry]:
    """``catalog_entries`` on a connection of its own, for use in a worker process."""

    async def read() -> list[CatalogEntry]:
        conn = await asyncpg.connect(target.dsn)
        try:
            return _catalog_entries(await conn.fetch(_CATALOG_SQL))
        finally:
            await conn.close()

    return asyncio.run(read())
