"""Bring the database up to date with the content directory, incrementally.

One run: stat every file (no reading), compare size and mtime with what the last run recorded,
parse only new and changed files (in worker processes when there are many), settle duplicates
across the whole store, and write. Large runs write in batches of ``BATCH_FILES`` files, each in
one transaction, while the workers go on parsing the next ones.

The comparison is cheap when little changed. The scan the last complete run started from is
stored with it (``Listing``): an identical scan means there is nothing to do, and a scan of the
same paths in the same order means only the files whose size or mtime moved need a look.
Otherwise every scanned file is looked up in the ``files`` table. The stored scan is deleted by
the first batch of any run and written again by its last transaction, so a run that stops
half-way is followed by a full comparison.

Duplicates are settled without re-reading the store. Every parsed file's article id and
normalised URL are kept in the ``files`` table; a batch gathers the files that share an id or a
URL with anything it touches (transitively), parses just those again, and lets
``loader.dedupe`` settle each such group exactly as it would in one pass over all files: one
article per normalised URL, and an id clash resolved by a suffixed id for the later path. So a
new file that copies an existing article's URL collapses into it (or replaces it, if preferred),
and removing the preferred copy brings the next one back.

A file that was served and is then broken by an edit is withdrawn (its article disappears) and
reported as rejected until it is fixed: serving the stale copy would hide the breakage from
whoever edited it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import time
from collections.abc import AsyncIterator, Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from bot.content.memory import release_free_memory
from bot.db import DatabaseHandle as Database
from bot.db import open_database, target_of
from bot.db.records import ArticleRecord, article_record
from bot.db.repository import FileKey, FileRow, IndexBatch
from bot.db.types import IndexReport
from bot.settings import DatabaseTarget
from bot.store import loader
from bot.store.discovery import Listing
from bot.store.grouping import UnionFind
from bot.store.models import Article, LoadIssue, RelatedRef
from bot.store.urls import normalize_url
from bot.store.workers import worker_pool

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


class ContentUnavailable(RuntimeError):
    """The content directory cannot be read at all; the index is left as it was."""


#: Fewer files than this are parsed in this process: starting workers costs more than it saves.
PARALLEL_MIN_FILES = 500
#: Files per task sent to a worker process.
CHUNK_FILES = 250
#: Files per write transaction in large runs.
BATCH_FILES = 10_000
#: After a run that inserted this many articles, the full-text index is merged into one segment.
OPTIMIZE_AFTER = 5_000
#: With ``reindex(isolate=True)``, runs that parse at least this many files run in a child process.
ISOLATE_MIN_FILES = 5_000


class ScannedFile(NamedTuple):
    rel_path: str
    size: int
    mtime_ns: int


# --- parsing (runs in worker processes) ------------------------------------------------------


def prepare(article: Article) -> ArticleRecord:
    """``article`` in database form, with its related list cleaned: entries without a URL, links
    to the article itself and repeats of an earlier entry (same normalised URL) are dropped."""
    own = normalize_url(article.url)
    seen = {own}
    links: list[tuple[RelatedRef, str]] = []
    for ref in article.related:
        key = normalize_url(ref.url) if ref.url else ""
        if not key or key in seen:
            continue
        seen.add(key)
        links.append((ref, key))
    return article_record(article, own, links)


Parsed = tuple[str, ArticleRecord | None, list[LoadIssue]]


def parse_chunk(root: str, rel_paths: Sequence[str]) -> list[Parsed]:
    """Parse files and return database-ready records (cheap to send between processes)."""
    return [
        (path, prepare(article) if article is not None else None, issues)
        for path, article, issues in loader.parse_files(Path(root), rel_paths)
    ]


async def _parsed_batches(
    root: Path, paths: list[str], workers: int | None, progress: Progress | None
) -> AsyncIterator[list[Parsed]]:
    """Parse ``paths`` and yield the results in batches of about ``BATCH_FILES``, as they come.

    Many files are parsed by worker processes while this process writes earlier batches, so
    parsing and writing overlap and memory holds one batch, not the whole store.
    """
    total = len(paths)
    done = 0
    workers = workers or os.cpu_count() or 1
    pending: list[Parsed] = []
    if total < PARALLEL_MIN_FILES or workers <= 1:
        for start in range(0, total, CHUNK_FILES):
            # A thread keeps the event loop (and a bot's heartbeat) responsive meanwhile.
            pending.extend(await asyncio.to_thread(parse_chunk, str(root), paths[start : start + CHUNK_FILES]))
            done = min(total, start + CHUNK_FILES)
            if progress:
                progress(done, total)
            if len(pending) >= BATCH_FILES:
                yield pending
                pending = []
        if pending:
            yield pending
        return
    loop = asyncio.get_running_loop()
    chunks = [paths[start : start + CHUNK_FILES] for start in range(0, total, CHUNK_FILES)]
    chunks.reverse()  # popped from the end: in path order
    with worker_pool(workers) as pool:
        # Enough chunks in flight to keep the workers busy while a batch is written, but bounded,
        # so parsed results never pile up far ahead of the writer.
        window = max(4 * workers, 2 * BATCH_FILES // CHUNK_FILES)
        running: set[asyncio.Future[list[Parsed]]] = set()
        try:
            while chunks or running:
                while chunks and len(running) < window:
                    running.add(loop.run_in_executor(pool, parse_chunk, str(root), chunks.pop()))
                finished, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for future in finished:
                    chunk = future.result()
                    pending.extend(chunk)
                    done += len(chunk)
                if progress:
                    progress(done, total)
                if len(pending) >= BATCH_FILES:
                    yield pending
                    pending = []
        finally:
            for future in running:
                future.cancel()
    if pending:
        yield pending


# --- settling duplicates ---------------------------------------------------------------------


class _Groups:
    """Paths joined when they share an article id or a normalised URL."""

    def __init__(self) -> None:
        self._paths = UnionFind()
        self._by_key: dict[tuple[str, str], str] = {}

    def add(self, path: str, article_id: str, norm_url: str) -> None:
        self._paths.add(path)
        for key in (("id", article_id), ("url", norm_url)):
            self._paths.union(path, self._by_key.setdefault(key, path))

    def groups(self) -> list[list[str]]:
        return self._paths.groups()


def _settle(articles: list[Article]) -> tuple[list[Article], list[LoadIssue]]:
    """The articles to serve from one group: ``loader.dedupe`` decides between equal URLs; among
    what remains, an id is kept by the smallest path and the others are rejected."""
    kept, issues = loader.dedupe(articles)
    by_id: dict[str, Article] = {}
    served: list[Article] = []
    for article in sorted(kept, key=lambda a: a.path):
        first = by_id.setdefault(article.id, article)
        if first is article:
            served.append(article)
        else:
            issues.append(LoadIssue(article.path, f"article id {article.id!r} is already used by {first.path}"))
    return served, issues


@dataclass
class _Plan:
    new: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: int = 0


async def _conflicting(db: Database, urls: set[str], ids: set[str], stale: set[str]) -> dict[str, FileKey]:
    """Files not in ``stale`` that share a URL or id with the given ones, followed transitively."""
    members: dict[str, FileKey] = {}
    frontier_urls, frontier_ids = set(urls), set(ids)
    while frontier_urls or frontier_ids:
        rows = await db.index.files_sharing(norm_urls=frontier_urls, article_ids=frontier_ids)
        frontier_urls, frontier_ids = set(), set()
        for key in rows:
            if key.rel_path in stale or key.rel_path in members:
                continue
            members[key.rel_path] = key
            if key.norm_url and key.norm_url not in urls:
                urls.add(key.norm_url)
                frontier_urls.add(key.norm_url)
            if key.article_id and key.article_id not in ids:
                ids.add(key.article_id)
                frontier_ids.add(key.article_id)
    return members


def _error_text(issues: Iterable[LoadIssue]) -> str | None:
    reasons = [i.reason for i in issues if i.severity == "error"]
    return "; ".join(reasons) if reasons else None


# --- the run ---------------------------------------------------------------------------------


@dataclass
class _Run:
    """What one reindex knows while it applies its batches."""

    root: Path
    to_parse: dict[str, ScannedFile]
    db_empty: bool
    warnings: list[LoadIssue] = field(default_factory=list)
    inserted: int = 0


async def _step(
    db: Database,
    run: _Run,
    parsed: list[Parsed],
    *,
    changed: Collection[str] = (),
    deleted: Collection[str] = (),
    refused: dict[str, LoadIssue] | None = None,
    gone: Collection[str] = (),
) -> None:
    """Apply one batch of parsed files (and, in the first batch, deletions and refusals)."""
    refused = refused or {}
    batch_paths = [path for path, _, _ in parsed]
    stale = set(batch_paths) | set(deleted) | set(refused)
    issues: dict[str, list[LoadIssue]] = {path: list(found) for path, _, found in parsed}
    records: dict[str, ArticleRecord] = {path: r for path, r, _ in parsed if r is not None}
    members: dict[str, FileKey] = {}
    if not run.db_empty:
        old_keys = await db.index.file_keys([*(p for p in batch_paths if p in changed), *deleted, *gone])
        urls = {k.norm_url for k in old_keys if k.norm_url} | {r.norm_url for r in records.values()}
        ids = {k.article_id for k in old_keys if k.article_id} | {r.id for r in records.values()}
        members = await _conflicting(db, urls, ids, stale)

    groups = _Groups()
    for path, record in records.items():
        groups.add(path, record.id, record.norm_url)
    for key in members.values():
        if key.article_id and key.norm_url:
            groups.add(key.rel_path, key.article_id, key.norm_url)

    serve: list[ArticleRecord] = []
    contested: list[list[str]] = []
    for group in groups.groups():
        if len(group) > 1:
            contested.append(group)
        elif group[0] in records:
            serve.append(records[group[0]])
        else:
            # An unchanged file whose rival changed or went away: it may now be served, or under
            # its own id again, so it is settled afresh like any contested group.
            contested.append(group)
    recheck = [p for g in contested for p in g]
    if recheck:
        # Groups are rare and small; their members are read again to hand dedupe whole articles.
        articles: dict[str, Article] = {}
        for path, article, found in await asyncio.to_thread(loader.parse_files, run.root, recheck):
            issues[path] = list(found)
            if article is not None:
                articles[path] = article
        for group in contested:
            served, found = _settle([articles[p] for p in group if p in articles])
            serve.extend(prepare(a) for a in served)
            for issue in found:
                issues.setdefault(issue.path, []).append(issue)

    files: list[FileRow] = []
    for path in batch_paths:
        entry = run.to_parse[path]
        parsed_record = records.get(path)
        article_id, norm_url = (parsed_record.id, parsed_record.norm_url) if parsed_record else (None, None)
        files.append(FileRow(path, entry.size, entry.mtime_ns, article_id, norm_url, _error_text(issues.get(path, ()))))
    for path, key in members.items():
        if path in issues:  # read again to settle its group; it keeps the size and mtime recorded
            error = _error_text(issues[path])
            files.append(FileRow(path, key.size, key.mtime_ns, key.article_id, key.norm_url, error))
    for path, issue in refused.items():
        files.append(FileRow(path, -1, -1, None, None, issue.reason))
        issues[path] = [issue]

    await db.index.apply(
        IndexBatch(
            drop_paths=sorted({*(p for p in batch_paths if p in changed), *deleted, *gone, *recheck}),
            articles=serve,
            files=files,
            issues=issues,
            forget_paths=deleted,
        )
    )
    run.db_empty = False
    run.inserted += len(serve)
    run.warnings.extend(i for found in issues.values() for i in found if i.severity == "warning")


async def reindex(
    db: Database,
    root: Path,
    *,
    workers: int | None = None,
    progress: Progress | None = None,
    isolate: bool = False,
) -> IndexReport:
    """Index ``root`` into ``db``; only new and changed files are read. See the module docstring.

    ``progress(done, total)`` is called as files are parsed. Large runs are applied in several
    transactions of about ``BATCH_FILES`` files; readers see whole batches, never half of one.
    Runs on one ``Database`` take turns. Raises ``ContentUnavailable`` if ``root`` cannot be read.

    With ``isolate``, a run that has at least ``ISOLATE_MIN_FILES`` files to parse is done by a
    child process (``progress`` is then not called), so that the caller, a long-running bot, does
    not keep the memory that a large run takes: hundreds of MB at 100,000 files, which Python
    frees but does not give back to the system.
    """
    async with db.index.exclusive():
        try:
            return await _reindex(db, Path(root), workers, progress, isolate)
        finally:
            release_free_memory()


async def _reindex(
    db: Database, root: Path, workers: int | None, progress: Progress | None, isolate: bool
) -> IndexReport:
    started = time.perf_counter()
    found = await asyncio.to_thread(loader.listing, root)
    unreadable = [i for i in found.issues if i.path == "." and i.severity == "error"]
    if unreadable and not found:
        # Never mistake a missing or unmounted directory for "every article was deleted".
        raise ContentUnavailable(f"{root}: {unreadable[0].reason}")
    refused = {i.path: i for i in found.issues if i.severity == "error"}
    warnings = [i for i in found.issues if i.severity != "error"]

    plan = _Plan()
    before = await db.index.last_listing()
    if before is not None and before.digest() == found.digest():
        # Exactly what the last complete run saw: nothing to compare, parse or apply.
        plan.unchanged = len(found)
        log.debug("scan of %d files matches the last run's (%.2fs)", len(found), time.perf_counter() - started)
        return await _finish(db, plan, warnings, None, started, progress, optimize=False)

    to_parse: dict[str, ScannedFile] = {}
    gone: list[str] = []
    moved = found.changed_since(before) if before is not None else None
    if moved is not None:
        # The same files as last time, some edited in place: only those need a look. Nothing is
        # new, deleted or newly refused (a refused path is missing from the listing).
        paths = found.rel_paths()
        for i in moved:
            to_parse[paths[i]] = ScannedFile(paths[i], found.sizes[i], found.mtimes[i])
        plan.changed = list(to_parse)
        plan.unchanged = len(found) - len(moved)
        db_empty = False
    else:
        known = await db.index.file_states()
        take = known.pop  # what is left in ``known`` afterwards is gone from disk
        for entry in map(ScannedFile, found.rel_paths(), found.sizes, found.mtimes):
            state = take(entry.rel_path, None)
            if state is None:
                plan.new.append(entry.rel_path)
            elif state != (entry.size, entry.mtime_ns):
                plan.changed.append(entry.rel_path)
            else:
                plan.unchanged += 1
                continue
            to_parse[entry.rel_path] = entry
        plan.new.sort()
        plan.changed.sort()
        plan.deleted = sorted(p for p in known if p not in refused)
        gone = sorted(p for p, (size, _) in known.items() if p in refused and size >= 0)  # was a file, now refused
        db_empty = not known and not plan.changed and plan.unchanged == 0
        del known
    log.debug("scanned and compared %d files in %.2fs", len(found), time.perf_counter() - started)

    if isolate and len(to_parse) >= ISOLATE_MIN_FILES:
        log.info("indexing %d files in a child process", len(to_parse))
        return await _reindex_in_child(db, root, workers)

    run = _Run(root, to_parse, db_empty=db_empty, warnings=warnings)
    changed = set(plan.changed)
    first = True
    async for parsed in _parsed_batches(root, plan.new + plan.changed, workers, progress):
        extra: dict[str, Any] = {"deleted": plan.deleted, "refused": refused, "gone": gone} if first else {}
        await _step(db, run, parsed, changed=changed, **extra)
        first = False
    if first:  # nothing to parse: deletions and refusals still need applying
        await _step(db, run, [], deleted=plan.deleted, refused=refused, gone=gone)
    log.debug("applied at %.2fs", time.perf_counter() - started)

    return await _finish(db, plan, run.warnings, found, started, progress, optimize=run.inserted >= OPTIMIZE_AFTER)


async def _finish(
    db: Database,
    plan: _Plan,
    warnings: list[LoadIssue],
    listing: Listing | None,
    started: float,
    progress: Progress | None,
    *,
    optimize: bool,
) -> IndexReport:
    """Record the run and report it. ``listing``: the scan it started from, for the next run to
    compare with (``None``: the one recorded is still right)."""
    report = IndexReport(
        added=len(plan.new),
        changed=len(plan.changed),
        removed=len(plan.deleted),
        unchanged=plan.unchanged,
        warnings=tuple(warnings),
        seconds=time.perf_counter() - started,
        finished_at=datetime.now(UTC),
    )
    await db.index.apply(IndexBatch(report=report, optimize=optimize, listing=listing))
    rejected = tuple(i for i in await db.articles.file_issues() if i.severity == "error")
    total = len(plan.new) + len(plan.changed)
    if progress:
        progress(total, total)
    return dataclasses.replace(report, rejected=rejected, seconds=time.perf_counter() - started)


def _reindex_child(target: DatabaseTarget, root: str, workers: int | None) -> IndexReport:
    """``reindex`` in a child process (see ``reindex(isolate=True)``)."""

    async def run() -> IndexReport:
        db = await open_database(target)
        try:
            # Not ``reindex``: the parent holds the database's index lock for this run.
            report = await _reindex(db, Path(root), workers, None, isolate=False)
        finally:
            await db.close()
        return report

    return asyncio.run(run())


async def _reindex_in_child(db: Database, root: Path, workers: int | None) -> IndexReport:
    loop = asyncio.get_running_loop()
    with worker_pool(1) as pool:
        return await loop.run_in_executor(pool, _reindex_child, target_of(db), str(root), workers)
