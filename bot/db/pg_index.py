"""``IndexStore`` on PostgreSQL: the twin of ``bot.db.sqlite_index``.

One batch is one transaction on a pooled connection: readers keep seeing the previous state until
it commits (MVCC), never half a run. Bulk rows go in as arrays (``unnest``) or ``COPY``, so a batch
of thousands of articles is a handful of round trips. ``exclusive()`` is a session advisory lock,
so one index run at a time across every process and host on the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

import asyncpg

from bot.db.pg_connect import ARRIVALS_LOCK, CHANNEL, CONNECTION_ERRORS, INDEX_LOCK, Pg
from bot.db.pg_sql import fts_unaccented
from bot.db.records import ArticleRecord, LinkRow, epoch
from bot.db.repository import FileKey, FileRow, FileState, IndexBatch
from bot.db.sqlite_articles import ARTICLES_VERSION_KEY
from bot.db.sqlite_index import KEEP_RUNS, RID_SHIFT, _Stale, arrivals, by_file, rejection
from bot.store.discovery import Listing
from bot.store.keys import topic_key
from bot.store.models import LoadIssue
from bot.store.names import printable

log = logging.getLogger(__name__)

_FILE_KEY = (
    "SELECT f.rel_path, f.article_id, f.norm_url, EXISTS (SELECT 1 FROM articles a WHERE a.path = f.rel_path), "
    "f.size, f.mtime_ns FROM files f"
)

#: The weighted document: title A, excerpt B, topics and provider C, body D. ``f_*`` are the
#: accent-folded texts, NULL when folding changes nothing (``pg_sql.fts_unaccented``).
_SEARCH = (
    "setweight(to_tsvector('simple', coalesce(f_title, title)), 'A') || "
    "setweight(to_tsvector('simple', coalesce(f_excerpt, excerpt)), 'B') || "
    "setweight(to_tsvector('simple', coalesce(f_topics, topics) || ' ' || coalesce(f_provider, provider_name)), "
    "'C') || "
    "setweight(to_tsvector('simple', coalesce(f_body, body)), 'D')"
)

_ARTICLE_INSERT = (
    "INSERT INTO articles (rid, id, path, url, norm_url, url_key, title, excerpt, body, topics, provider_name, "
    "provider_domain, published_at, quality, heat, published, type, has_featured_content, secured, image_url, "
    f"images, original_url, search) SELECT rid, id, path, url, norm_url, url_key, title, excerpt, body, topics, "
    "provider_name, provider_domain, published_at, quality, heat, published, type, has_featured_content, secured, "
    f"image_url, images, original_url, {_SEARCH} FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], "
    "$5::text[], $6::bigint[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], "
    "$13::bigint[], $14::integer[], $15::integer[], $16::boolean[], $17::text[], $18::boolean[], $19::text[], "
    "$20::text[], $21::text[], $22::text[], $23::text[], $24::text[], $25::text[], $26::text[], $27::text[]) "
    "AS r (rid, id, path, url, norm_url, url_key, title, excerpt, body, topics, provider_name, provider_domain, "
    "published_at, quality, heat, published, type, has_featured_content, secured, image_url, images, original_url, "
    "f_title, f_excerpt, f_body, f_topics, f_provider)"
)


class PgIndexStore:
    def __init__(self, pg: Pg) -> None:
        self._pg = pg
        self._run_lock = asyncio.Lock()

    def exclusive(self) -> AbstractAsyncContextManager[object]:
        """Held by an index run from start to end: an asyncio lock in this process, and an advisory
        lock on the server for every other process and host using the database."""
        return self._exclusive()

    @contextlib.asynccontextmanager
    async def _exclusive(self) -> AsyncIterator[object]:
        async with self._run_lock, self._pg.session_lock(INDEX_LOCK):
            yield self

    async def file_states(self) -> dict[str, FileState]:
        found = await self._pg.fetch("SELECT rel_path, size, mtime_ns FROM files")
        return {path: (size, mtime) for path, size, mtime in found}

    async def last_listing(self) -> Listing | None:
        row = await self._pg.fetchrow(
            "SELECT p.paths, s.sizes, s.mtimes, s.digest FROM last_scan s JOIN scan_paths p ON p.hash = s.paths_hash"
        )
        return Listing.stored(*row) if row is not None else None

    async def file_keys(self, rel_paths: Collection[str]) -> list[FileKey]:
        if not rel_paths:
            return []
        found = await self._pg.fetch(f"{_FILE_KEY} WHERE f.rel_path = ANY($1::text[])", list(rel_paths))
        return [FileKey(p, i, u, bool(active), size, mtime) for p, i, u, active, size, mtime in found]

    async def files_sharing(self, *, norm_urls: Collection[str], article_ids: Collection[str]) -> list[FileKey]:
        if not norm_urls and not article_ids:
            return []
        found = await self._pg.fetch(
            f"{_FILE_KEY} WHERE f.norm_url = ANY($1::text[]) UNION {_FILE_KEY} WHERE f.article_id = ANY($2::text[])",
            list(norm_urls),
            list(article_ids),
        )
        return [FileKey(p, i, u, bool(active), size, mtime) for p, i, u, active, size, mtime in found]

    async def apply(self, batch: IndexBatch) -> None:
        started = time.perf_counter()
        await self._pg.transaction(lambda conn: _apply(conn, batch, started))
        if batch.report is not None:
            # New index entries wait in the GIN index's pending list, which every search scans
            # linearly (0.8 ms after a cold index of 10k articles); merge them at the end of a run.
            await self._pg.execute("SELECT gin_clean_pending_list('articles_search'::regclass)", retry=True)
        if batch.optimize:
            # Fresh planner statistics after a large run (a cold index, a big import).
            await self._pg.execute("ANALYZE", retry=True)
        log.debug("applied index batch in %.2fs", time.perf_counter() - started)


async def _assign_rids(conn: asyncpg.Connection, records: list[ArticleRecord], empty: bool) -> list[int]:
    """As ``sqlite_index._assign_rids``: ``published_at * 2**RID_SHIFT`` plus the smallest free ``n``."""
    taken: set[int] = set()
    fetched: set[int] = set()
    rids: list[int] = []
    slot = 1 << RID_SHIFT

    async def fetch(bases: Collection[int]) -> None:
        new = [b for b in bases if b not in fetched]
        fetched.update(new)
        if new and not empty:
            found = await conn.fetch(
                "SELECT a.rid FROM unnest($1::bigint[]) b (v) JOIN articles a ON a.rid >= b.v AND a.rid < b.v + $2",
                new,
                slot,
            )
            taken.update(r for (r,) in found)

    await fetch({r.published_at << RID_SHIFT for r in records})
    for record in records:
        rid = record.published_at << RID_SHIFT
        while rid in taken or (rid >> RID_SHIFT << RID_SHIFT) not in fetched:
            await fetch([rid >> RID_SHIFT << RID_SHIFT])
            if rid in taken:
                rid += 1
        taken.add(rid)
        rids.append(rid)
    return rids


#: SQLSTATE classes of errors in one file's data (data exception, integrity constraint, program
#: limit exceeded such as a too-long tsvector): writing file by file isolates them. Every other
#: server error (resources, I/O, connection, operator intervention) is the database's or the
#: machine's, and ends the run as it is.
_FILE_DATA_CLASSES = frozenset({"22", "23", "54"})


def _environmental(exc: BaseException) -> bool:
    """As ``sqlite_index._environmental``: retrying file by file cannot help."""
    if not isinstance(exc, Exception) or isinstance(exc, MemoryError):
        return True
    if isinstance(exc, asyncpg.PostgresError):
        return str(exc.sqlstate or "")[:2] not in _FILE_DATA_CLASSES
    return isinstance(exc, CONNECTION_ERRORS)


def _cause(exc: Exception) -> BaseException:
    """What to name in a rejection: asyncpg wraps a value it cannot encode (an ``OverflowError``)
    in a ``DataError`` whose message repeats the whole parameter array."""
    cause = exc.__cause__
    return cause if isinstance(exc, asyncpg.DataError) and isinstance(cause, BaseException) else exc


async def _apply(conn: asyncpg.Connection, batch: IndexBatch, started: float) -> None:
    try:
        async with conn.transaction():  # a savepoint: a failed batch is undone without losing the transaction
            await _write(conn, batch, started)
        return
    except Exception as exc:
        if _environmental(exc) or not (batch.articles or batch.files or batch.issues):
            raise
        # Something in one file's rows cannot be written. Rather than lose the batch (and, on a
        # cold start, the whole index), write it again file by file and reject the culprit.
        log.warning(
            "writing an index batch failed (%s: %s); writing it file by file",
            type(_cause(exc)).__name__,
            printable(str(_cause(exc)))[:200],
        )
    await _write_file_by_file(conn, batch, started)


async def _write(conn: asyncpg.Connection, batch: IndexBatch, started: float) -> None:
    await _begin(conn, batch)
    stale = await _drop(conn, batch.drop_paths)
    await _insert(conn, batch.articles, stale)
    await _write_files(conn, batch.files, batch.issues, batch.forget_paths)
    await _cleanup(conn, stale)
    await _record_run(conn, batch, started)


async def _write_file_by_file(conn: asyncpg.Connection, batch: IndexBatch, started: float) -> int:
    """What :func:`_write` does, with each file's rows written in a savepoint of their own (a nested
    transaction): a file whose rows fail is rolled back alone and recorded as rejected with the reason."""
    await _begin(conn, batch)
    stale = await _drop(conn, batch.drop_paths)
    # The withdrawals' link counts are settled now; each file then adds its own.
    released = [(key, -delta) for key, delta in stale.refs.items() if delta < 0]
    await _release(conn, released)
    stale.links.update(key for key, _ in released)
    stale.refs.clear()
    await _write_files(conn, (), {}, batch.forget_paths)
    written = 0
    for rel_path, records, rows, issues in by_file(batch):
        try:
            async with conn.transaction():
                written += await _insert(conn, records, stale)
                await _write_files(conn, rows, {rel_path: issues}, ())
        except Exception as exc:
            if _environmental(exc):
                raise
            stale.refs.clear()
            await _reject(conn, rel_path, rows, _cause(exc))
    await _cleanup(conn, stale)
    await _record_run(conn, batch, started)
    return written


async def _reject(conn: asyncpg.Connection, rel_path: str, rows: list[FileRow], exc: BaseException) -> None:
    """Record ``rel_path`` as rejected (``sqlite_index._reject``): stored as :func:`printable` shows
    it, in case the path itself was what could not be written."""
    reason = rejection(exc)
    shown = printable(rel_path)
    log.warning("%s: %s", shown, reason)
    size, mtime_ns = (rows[0].size, rows[0].mtime_ns) if rows else (-1, -1)
    try:
        async with conn.transaction():
            await _write_files(
                conn, [FileRow(shown, size, mtime_ns, None, None, reason)], {shown: [LoadIssue(shown, reason)]}, ()
            )
    except Exception as second:
        if _environmental(second):
            raise
        log.error("%s: cannot record the file as rejected either (%s)", shown, second)


async def _begin(conn: asyncpg.Connection, batch: IndexBatch) -> None:
    if batch.drop_paths or batch.articles or batch.files or batch.forget_paths or batch.issues:
        await conn.execute("DELETE FROM last_scan")
    if batch.drop_paths or batch.articles:
        await conn.execute(
            "INSERT INTO meta (key, value) VALUES ($1, '1') "
            "ON CONFLICT (key) DO UPDATE SET value = (meta.value::bigint + 1)::text",
            ARTICLES_VERSION_KEY,
        )
        # Delivered at commit, to every process listening: their catalogs refresh without polling.
        await conn.execute("SELECT pg_notify($1, 'articles')", CHANNEL)


async def _drop(conn: asyncpg.Connection, drop_paths: Collection[str]) -> _Stale:
    """Withdraw the articles served from ``drop_paths``."""
    stale = _Stale()
    if not drop_paths:
        return stale
    gone = await conn.fetch(
        "SELECT rid, id, provider_domain, published FROM articles WHERE path = ANY($1::text[])", list(drop_paths)
    )
    rids_gone = [rid for rid, _, _, _ in gone]
    stale.domains.update(domain for _, _, domain, _ in gone)
    stale.was_published.update((article_id, bool(published)) for _, article_id, _, published in gone)
    if rids_gone:
        found = await conn.fetch(
            "SELECT DISTINCT topic_id FROM article_topics WHERE rid = ANY($1::bigint[])", rids_gone
        )
        stale.topics.update(t for (t,) in found)
        for key, count in await conn.fetch(
            "SELECT url_key, count(*) FROM related_links WHERE rid = ANY($1::bigint[]) GROUP BY url_key", rids_gone
        ):
            stale.refs[key] -= count
        await conn.execute("DELETE FROM articles WHERE rid = ANY($1::bigint[])", rids_gone)
    return stale


async def _insert(conn: asyncpg.Connection, articles: Sequence[ArticleRecord], stale: _Stale) -> int:
    """Serve ``articles``; ``stale.refs`` (withdrawals' link counts) is written along with them."""
    refs = stale.refs
    records = sorted(articles, key=lambda r: (r.published_at, r.id))
    was_empty = not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM articles)")
    rids = await _assign_rids(conn, records, was_empty)

    providers: dict[str, tuple[str, str | None]] = {}
    spellings: dict[str, str] = {}
    for record in records:
        logo = record.provider_logo or providers.get(record.provider_domain, ("", None))[1]
        providers[record.provider_domain] = (record.provider_name, logo)
        for name in record.topics:
            spellings.setdefault(topic_key(name), name)
    if providers:
        await conn.execute(
            "INSERT INTO providers (domain, name, logo_url) SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) "
            "ON CONFLICT (domain) DO UPDATE SET name = excluded.name, "
            "logo_url = coalesce(excluded.logo_url, providers.logo_url)",
            list(providers),
            [name for name, _ in providers.values()],
            [logo for _, logo in providers.values()],
        )
    topic_ids: dict[str, int] = {}
    if spellings:
        await conn.execute(
            "INSERT INTO topics (name, name_fold) SELECT * FROM unnest($1::text[], $2::text[]) "
            "ON CONFLICT (name_fold) DO NOTHING",
            list(spellings.values()),
            list(spellings),
        )
        found = await conn.fetch("SELECT name_fold, id FROM topics WHERE name_fold = ANY($1::text[])", list(spellings))
        topic_ids = {key: int(topic_id) for key, topic_id in found}

    if records:
        await conn.execute(_ARTICLE_INSERT, *_article_columns(records, rids))
        await conn.copy_records_to_table(
            "article_topics",
            records=[
                (rid, topic_id, r.published, r.published_at, r.heat, r.quality)
                for rid, r in zip(rids, records, strict=True)
                for topic_id in sorted({topic_ids[topic_key(name)] for name in r.topics})
            ],
            columns=["rid", "topic_id", "published", "published_at", "heat", "quality"],
        )
    links: dict[int, LinkRow] = {}
    for record in records:  # oldest first: the newest copy of a link's text wins
        for row in record.links:
            links[row[0]] = row
            refs[row[0]] += 1
    if links:
        columns = list(zip(*links.values(), strict=True))
        await conn.execute(
            "INSERT INTO links (url_key, title, url, provider_name, provider_domain, published_at, refs) "
            "SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], "
            "$7::integer[]) ON CONFLICT (url_key) DO UPDATE SET title = excluded.title, url = excluded.url, "
            "provider_name = excluded.provider_name, provider_domain = excluded.provider_domain, "
            "published_at = excluded.published_at, refs = links.refs + excluded.refs "
            "WHERE excluded.refs <> 0 OR links.title IS DISTINCT FROM excluded.title "
            "OR links.url IS DISTINCT FROM excluded.url OR links.provider_name IS DISTINCT FROM excluded.provider_name "
            "OR links.provider_domain IS DISTINCT FROM excluded.provider_domain "
            "OR links.published_at IS DISTINCT FROM excluded.published_at",
            *[list(c) for c in columns],
            [refs[key] for key in links],
        )
    await _release(conn, [(key, -delta) for key, delta in refs.items() if delta < 0 and key not in links])
    stale.links.update(key for key, delta in refs.items() if delta < 0)
    refs.clear()
    related = [
        (rid, position, row[0]) for rid, r in zip(rids, records, strict=True) for position, row in enumerate(r.links)
    ]
    if related:
        await conn.copy_records_to_table("related_links", records=related, columns=["rid", "position", "url_key"])
    await _record_arrivals(conn, records, stale.was_published)
    return len(records)


async def _release(conn: asyncpg.Connection, released: Sequence[tuple[int, int]]) -> None:
    """Lower the reference counts of links (``(url_key, by)``) that withdrawn articles held."""
    if released:
        await conn.execute(
            "UPDATE links SET refs = refs - d.n FROM unnest($1::bigint[], $2::integer[]) d (k, n) WHERE url_key = d.k",
            [k for k, _ in released],
            [n for _, n in released],
        )


async def _record_arrivals(
    conn: asyncpg.Connection, records: list[ArticleRecord], was_published: dict[str, bool]
) -> None:
    """Alerts' arrivals, in the index transaction: the rules of ``sqlite_index._record_arrivals``."""
    now = int(time.time())
    fresh = arrivals(records, was_published, now)
    if fresh:
        await conn.execute("SELECT pg_advisory_xact_lock($1)", ARRIVALS_LOCK)
        await conn.execute(
            "INSERT INTO alert_arrivals (article_id, published_at, arrived_at) "
            "SELECT a, p, $3 FROM unnest($1::text[], $2::bigint[]) WITH ORDINALITY AS f (a, p, n) ORDER BY n",
            [article_id for article_id, _ in fresh],
            [published_at for _, published_at in fresh],
            now,
        )


async def _write_files(
    conn: asyncpg.Connection,
    files: Sequence[FileRow],
    issues: Mapping[str, Sequence[LoadIssue]],
    forget_paths: Collection[str],
) -> None:
    touched = [f.rel_path for f in files]
    if forget_paths:
        await conn.execute("DELETE FROM files WHERE rel_path = ANY($1::text[])", list(forget_paths))
    if touched:
        await conn.execute("DELETE FROM file_issues WHERE rel_path = ANY($1::text[])", touched)
    if files:
        columns = list(zip(*files, strict=True))
        await conn.execute(
            "INSERT INTO files (rel_path, size, mtime_ns, article_id, norm_url, error) SELECT * FROM unnest("
            "$1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[]) "
            "ON CONFLICT (rel_path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns, "
            "article_id = excluded.article_id, norm_url = excluded.norm_url, error = excluded.error",
            *[list(c) for c in columns],
        )
    found = [(path, i.severity, i.reason, i.line) for path, listed in issues.items() for i in listed]
    if found:
        await conn.copy_records_to_table(
            "file_issues", records=found, columns=["rel_path", "severity", "reason", "line"]
        )


async def _cleanup(conn: asyncpg.Connection, stale: _Stale) -> None:
    if stale.topics:
        await conn.execute(
            "DELETE FROM topics WHERE id = ANY($1::bigint[]) "
            "AND NOT EXISTS (SELECT 1 FROM article_topics t WHERE t.topic_id = topics.id)",
            sorted(stale.topics),
        )
    if stale.links:
        await conn.execute("DELETE FROM links WHERE url_key = ANY($1::bigint[]) AND refs <= 0", sorted(stale.links))
    if stale.domains:
        await conn.execute(
            "DELETE FROM providers WHERE domain = ANY($1::text[]) "
            "AND NOT EXISTS (SELECT 1 FROM articles a WHERE a.provider_domain = providers.domain)",
            sorted(stale.domains),
        )


async def _record_run(conn: asyncpg.Connection, batch: IndexBatch, started: float) -> None:
    report = batch.report
    if report is not None:
        finished = report.finished_at
        await conn.execute(
            "INSERT INTO index_runs (finished_at, seconds, added, changed, removed, unchanged, rejected) "
            "VALUES ($1, $2, $3, $4, $5, $6, (SELECT count(*) FROM files WHERE error IS NOT NULL))",
            epoch(finished) if finished else int(time.time()),
            report.seconds + time.perf_counter() - started,
            report.added,
            report.changed,
            report.removed,
            report.unchanged,
        )
    if report is not None and batch.listing is not None:
        listing = batch.listing
        paths_hash = listing.paths_hash()
        await conn.execute(
            "INSERT INTO scan_paths (hash, paths) VALUES ($1, $2) ON CONFLICT (hash) DO NOTHING",
            paths_hash,
            bytes(listing.paths),
        )
        sizes, mtimes = listing.numbers()
        await conn.execute(
            "INSERT INTO last_scan (id, digest, paths_hash, sizes, mtimes) VALUES (1, $1, $2, $3, $4) "
            "ON CONFLICT (id) DO UPDATE SET digest = excluded.digest, paths_hash = excluded.paths_hash, "
            "sizes = excluded.sizes, mtimes = excluded.mtimes",
            listing.digest(),
            paths_hash,
            sizes,
            mtimes,
        )
        await conn.execute("DELETE FROM scan_paths WHERE hash <> $1", paths_hash)
    await conn.execute("DELETE FROM index_runs WHERE id <= (SELECT max(id) FROM index_runs) - $1", KEEP_RUNS)


def _article_columns(records: list[ArticleRecord], rids: list[int]) -> list[list[Any]]:
    """The 27 arrays of ``_ARTICLE_INSERT``: one per column, then the folded texts."""
    topics = [_json_topics(r) for r in records]
    return [
        list(rids),
        [r.id for r in records],
        [r.path for r in records],
        [r.url for r in records],
        [r.norm_url for r in records],
        [r.url_key for r in records],
        [r.title for r in records],
        [r.excerpt for r in records],
        [r.body for r in records],
        topics,
        [r.provider_name for r in records],
        [r.provider_domain for r in records],
        [r.published_at for r in records],
        [r.quality for r in records],
        [r.heat for r in records],
        [r.published for r in records],
        [r.type for r in records],
        [r.has_featured_content for r in records],
        [r.secured for r in records],
        [r.image_url for r in records],
        [r.images for r in records],
        [r.original_url for r in records],
        [fts_unaccented(r.title) for r in records],
        [fts_unaccented(r.excerpt) for r in records],
        [fts_unaccented(r.body) for r in records],
        [fts_unaccented(t) for t in topics],
        [fts_unaccented(r.provider_name) for r in records],
    ]


def _json_topics(record: ArticleRecord) -> str:
    return json.dumps(list(record.topics), ensure_ascii=False)
