"""Incremental indexing of real files in tmp_path."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.content import indexing
from bot.content.indexing import ContentUnavailable, reindex
from bot.db import Database, DatabaseHandle, open_database, pg_index, sqlite_index
from bot.db.records import ArticleRecord
from bot.db.repository import IndexBatch
from bot.db.types import IndexReport, Visibility
from bot.store import loader
from tests import postgres

EVERYTHING = Visibility(include_unpublished=True)
CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" / "real"


def article_text(
    title: str,
    url: str,
    *,
    published: bool = True,
    quality: int = 50,
    topics: Sequence[str] = ("Widgets",),
    related: Sequence[str] = (),
    when: str = "2024-03-01T10:30:00Z",
) -> str:
    lines = [
        "---",
        "category: news",
        f'title: "{title}"',
        f'excerpt: "About {title}."',
        f"publishedDateTime: {when}",
        f'originalUrl: "{url}"',
        f'webUrl: "{url}"',
        "type: article",
        f"quality: {quality}",
        "heat: -1",
        f"published: {'true' if published else 'false'}",
        "provider:",
        "  name: Example Daily",
        "  domain: example.org",
        "topics:",
        *(f"  - {t}" for t in topics),
    ]
    if related:
        lines.append("related:")
        for i, link in enumerate(related):
            lines += [f'  - title: "Related {i}"', f'    webUrl: "{link}"']
    lines += ['secured: "c2VjcmV0"', "---", ""]
    return "\n".join(lines)


def write(root: Path, rel_path: str, text: str) -> None:
    path = root / rel_path
    path.parent.mkdir(parents=True, exist_ok=True)
    before = path.stat().st_mtime_ns if path.exists() else None
    path.write_text(text, encoding="utf-8")
    if before is not None and path.stat().st_mtime_ns == before:  # coarse clocks: make the edit visible
        os.utime(path, ns=(before + 1_000_000, before + 1_000_000))


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "news.sqlite3")
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
def content(tmp_path: Path) -> Path:
    root = tmp_path / "content"
    write(root, "news/alpha.md", article_text("Alpha gears", "https://example.org/alpha", topics=("Gears",)))
    write(root, "news/beta.md", article_text("Beta widgets", "https://example.org/beta"))
    write(root, "news/gamma.md", article_text("Gamma widgets", "https://example.org/gamma", published=False))
    return root


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every path the loader is asked to parse."""
    seen: list[str] = []
    real = loader.parse_files

    def counting(root: Path, rel_paths: Sequence[str]) -> list[loader.ParsedFile]:
        seen.extend(rel_paths)
        return real(root, rel_paths)

    monkeypatch.setattr(loader, "parse_files", counting)
    return seen


async def search_ids(db: Database, query: str) -> list[str]:
    return sorted(item.id for item in (await db.articles.search(query, vis=EVERYTHING, limit=100)).items)


def counts(report: IndexReport) -> tuple[int, int, int, int]:
    return report.added, report.changed, report.removed, report.unchanged


async def test_cold_index_serves_every_article(db: Database, content: Path) -> None:
    progress: list[tuple[int, int]] = []
    report = await reindex(db, content, progress=lambda done, total: progress.append((done, total)))
    assert counts(report) == (3, 0, 0, 0)
    assert report.rejected == ()
    assert progress[-1] == (3, 3)
    assert await search_ids(db, "widgets") == ["beta", "gamma"]
    assert [t.name for t in await db.articles.topics(Visibility())] == ["Gears", "Widgets"]
    stats = await db.articles.stats(Visibility())
    assert (stats.articles_total, stats.articles_visible, stats.rejected_files) == (3, 2, 0)
    assert stats.last_indexed_at is not None


async def test_unchanged_files_are_not_parsed_again(db: Database, content: Path, parsed: list[str]) -> None:
    await reindex(db, content)
    assert sorted(parsed) == ["news/alpha.md", "news/beta.md", "news/gamma.md"]
    parsed.clear()
    report = await reindex(db, content)
    assert parsed == []
    assert counts(report) == (0, 0, 0, 3)
    assert await search_ids(db, "widgets") == ["beta", "gamma"]


async def test_changed_file_is_reparsed_and_its_new_title_is_searchable(
    db: Database, content: Path, parsed: list[str]
) -> None:
    await reindex(db, content)
    parsed.clear()
    write(content, "news/beta.md", article_text("Beta sprockets", "https://example.org/beta", topics=("Sprockets",)))
    report = await reindex(db, content)
    assert parsed == ["news/beta.md"]
    assert counts(report) == (0, 1, 0, 2)
    assert await search_ids(db, "sprockets") == ["beta"]
    assert await search_ids(db, "widgets") == ["gamma"]
    article = await db.articles.get("beta", EVERYTHING)
    assert article is not None
    assert article.title == "Beta sprockets"


async def test_deleted_file_leaves_search_and_topics(db: Database, content: Path) -> None:
    await reindex(db, content)
    (content / "news/alpha.md").unlink()
    report = await reindex(db, content)
    assert counts(report) == (0, 0, 1, 2)
    assert await search_ids(db, "alpha") == []
    assert await db.articles.get("alpha", EVERYTHING) is None
    assert await db.articles.resolve_topic("gears") is None
    assert (await db.articles.stats(EVERYTHING)).extra["files"] == 2


async def test_rejected_file_is_recorded_and_the_rest_still_served(db: Database, content: Path) -> None:
    write(content, "news/broken.md", "---\ntitle: [unclosed\n---\n")
    report = await reindex(db, content)
    assert [issue.path for issue in report.rejected] == ["news/broken.md"]
    assert report.rejected[0].severity == "error"
    assert await search_ids(db, "widgets") == ["beta", "gamma"]
    assert (await db.articles.stats(EVERYTHING)).rejected_files == 1
    # Still reported on the next run although the file is not read again.
    again = await reindex(db, content)
    assert [issue.path for issue in again.rejected] == ["news/broken.md"]
    assert [i.path for i in await db.articles.file_issues() if i.severity == "error"] == ["news/broken.md"]


async def test_broken_edit_withdraws_the_article_until_it_is_fixed(db: Database, content: Path) -> None:
    await reindex(db, content)
    write(content, "news/beta.md", "---\ntitle: Beta\n")  # no closing ---
    report = await reindex(db, content)
    assert [issue.path for issue in report.rejected] == ["news/beta.md"]
    assert await db.articles.get("beta", EVERYTHING) is None
    assert await search_ids(db, "widgets") == ["gamma"]
    write(content, "news/beta.md", article_text("Beta widgets", "https://example.org/beta"))
    report = await reindex(db, content)
    assert report.rejected == ()
    assert await search_ids(db, "widgets") == ["beta", "gamma"]


async def test_duplicates_across_files_collapse_incrementally(db: Database, content: Path) -> None:
    url = "https://example.org/alpha"
    write(content, "more/alpha-copy.md", article_text("Alpha copy", url + "?utm_source=x", quality=10))
    report = await reindex(db, content)
    assert await search_ids(db, "alpha") == ["alpha"]  # higher quality wins
    assert [w.path for w in report.warnings if w.reason.startswith("duplicate of")] == ["more/alpha-copy.md"]
    assert (await db.articles.stats(EVERYTHING)).extra["duplicate_files"] == 1

    # A better copy arriving later takes over, without re-reading unrelated files.
    write(content, "zz/alpha-best.md", article_text("Alpha best", url, quality=90))
    await reindex(db, content)
    assert await search_ids(db, "alpha") == ["alpha-best"]

    # Removing the winner brings the next best back.
    (content / "zz/alpha-best.md").unlink()
    await reindex(db, content)
    assert await search_ids(db, "alpha") == ["alpha"]
    (content / "news/alpha.md").unlink()
    await reindex(db, content)
    assert await search_ids(db, "alpha") == ["alpha-copy"]
    assert (await db.articles.stats(EVERYTHING)).extra["duplicate_files"] == 0


async def test_same_file_name_in_two_folders_keeps_both_articles(db: Database, content: Path) -> None:
    write(content, "other/beta.md", article_text("Other beta", "https://example.org/other-beta"))
    await reindex(db, content)
    found = (await db.articles.search("beta", vis=EVERYTHING)).items
    assert sorted(item.id for item in found)[0] == "beta"
    assert len({item.id for item in found}) == 2
    (content / "news/beta.md").unlink()
    await reindex(db, content)
    assert [item.id for item in (await db.articles.search("beta", vis=EVERYTHING)).items] == ["beta"]


async def test_related_links_follow_files_added_and_removed(db: Database, content: Path) -> None:
    write(
        content,
        "news/delta.md",
        article_text("Delta", "https://example.org/delta", related=["https://example.org/epsilon"]),
    )
    await reindex(db, content)
    assert [item.article for item in await db.articles.related("delta", EVERYTHING)] == [None]
    write(content, "news/epsilon.md", article_text("Epsilon", "https://example.org/epsilon"))
    await reindex(db, content)
    [item] = await db.articles.related("delta", EVERYTHING)
    assert item.article is not None
    assert item.article.id == "epsilon"
    (content / "news/epsilon.md").unlink()
    await reindex(db, content)
    [item] = await db.articles.related("delta", EVERYTHING)
    assert (item.article, item.title) == (None, "Related 0")


@pytest.mark.parametrize("batch_files", [1, 10_000])
async def test_incremental_runs_end_where_a_cold_run_would(
    tmp_path: Path, content: Path, monkeypatch: pytest.MonkeyPatch, batch_files: int
) -> None:
    # One file per write batch makes the cold run settle duplicates across batches too.
    monkeypatch.setattr(indexing, "BATCH_FILES", batch_files)
    incremental = await Database.open(tmp_path / "incremental.sqlite3")
    cold = await Database.open(tmp_path / "cold.sqlite3")
    try:
        await reindex(incremental, content)
        write(content, "a/dup.md", article_text("Beta again", "https://example.org/beta", quality=99))
        write(content, "news/alpha.md", article_text("Alpha renamed", "https://example.org/alpha-2"))
        (content / "news/gamma.md").unlink()
        write(content, "news/bad.md", "nothing here")
        await reindex(incremental, content)
        await reindex(cold, content)

        async def snapshot(db: Database) -> object:
            page = await db.articles.latest(vis=EVERYTHING, limit=50)
            issues = await db.articles.file_issues()
            return [(i.id, i.title, i.url) for i in page.items], [(i.path, i.severity, i.reason) for i in issues]

        assert await snapshot(incremental) == await snapshot(cold)
    finally:
        await incremental.close()
        await cold.close()


async def test_parallel_parsing_gives_the_same_result(
    db: Database, content: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(12):
        write(content, f"bulk/{n:02d}.md", article_text(f"Bulk story {n}", f"https://example.org/bulk/{n}"))
    monkeypatch.setattr(indexing, "PARALLEL_MIN_FILES", 4)
    monkeypatch.setattr(indexing, "CHUNK_FILES", 5)
    monkeypatch.setattr(indexing, "BATCH_FILES", 6)
    progress: list[tuple[int, int]] = []
    report = await reindex(db, content, workers=2, progress=lambda d, t: progress.append((d, t)))
    assert report.added == 15
    assert len(await search_ids(db, "bulk")) == 12
    assert [d for d, _ in progress] == sorted(d for d, _ in progress)
    assert progress[-1] == (15, 15)


async def test_missing_content_directory_keeps_the_index(db: Database, content: Path, tmp_path: Path) -> None:
    await reindex(db, content)
    with pytest.raises(ContentUnavailable):
        await reindex(db, tmp_path / "nowhere")
    assert await search_ids(db, "widgets") == ["beta", "gamma"]


@pytest.mark.corpus
async def test_real_corpus_indexes_and_reindexes_incrementally(db: Database) -> None:
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus/real not present: the real-corpus tests need it")
    report = await reindex(db, CORPUS)
    expected = loader.load_directory(CORPUS)
    stats = await db.articles.stats(EVERYTHING)
    assert stats.articles_total == len(expected.articles)
    assert len(report.rejected) == len(expected.errors)
    again = await reindex(db, CORPUS)
    assert counts(again) == (0, 0, 0, report.added)
    page = await db.articles.search("diablo", vis=EVERYTHING, limit=5)
    assert page.items
    assert page.has_more
    resolved = [
        item
        for summary in (await db.articles.by_topic("Diablo 4", vis=EVERYTHING, limit=20)).items
        for item in await db.articles.related(summary.id, EVERYTHING, limit=100)
        if item.article is not None
    ]
    assert resolved, "related links of the diablo4 window mostly point at files in the same window"


# --- comparing with the last scan --------------------------------------------------------------


def refuse_file_by_file(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make a run fail if it compares file by file (reads every known file's state)."""

    async def refuse() -> dict[str, tuple[int, int]]:
        raise AssertionError("compared file by file")

    monkeypatch.setattr(db.index, "file_states", refuse)


async def test_an_unchanged_store_is_recognised_from_the_last_scan(
    db: Database, content: Path, parsed: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    await reindex(db, content)
    first = (await db.articles.stats(EVERYTHING)).last_indexed_at
    parsed.clear()
    refuse_file_by_file(db, monkeypatch)
    applied: list[IndexBatch] = []
    apply = db.index.apply

    async def recording(batch: IndexBatch) -> None:
        applied.append(batch)
        await apply(batch)

    monkeypatch.setattr(db.index, "apply", recording)
    report = await reindex(db, content)
    assert parsed == []
    # Only the run itself is recorded: no batch, and the stored scan is not written again.
    assert [(b.report is not None, b.listing, b.files, b.drop_paths) for b in applied] == [(True, None, (), ())]
    assert counts(report) == (0, 0, 0, 3)
    assert report.rejected == ()
    assert first is not None
    assert await search_ids(db, "widgets") == ["beta", "gamma"]


async def test_edits_in_place_are_found_without_comparing_every_file(
    db: Database, content: Path, parsed: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    await reindex(db, content)
    parsed.clear()
    refuse_file_by_file(db, monkeypatch)
    write(content, "news/alpha.md", article_text("Alpha sprockets", "https://example.org/alpha"))
    write(content, "news/gamma.md", article_text("Gamma sprockets", "https://example.org/gamma"))
    report = await reindex(db, content)
    assert sorted(parsed) == ["news/alpha.md", "news/gamma.md"]
    assert counts(report) == (0, 2, 0, 1)
    assert await search_ids(db, "sprockets") == ["alpha", "gamma"]


async def test_a_run_that_stopped_half_way_is_compared_file_by_file_next_time(
    db: Database, content: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await reindex(db, content)
    path = content / "news/beta.md"
    original, stat = path.read_bytes(), path.stat()
    write(content, "news/beta.md", article_text("Beta sprockets", "https://example.org/beta"))

    async def crash(*args: object, **kwargs: object) -> IndexReport:
        raise RuntimeError("power cut")

    monkeypatch.setattr(indexing, "_finish", crash)
    with pytest.raises(RuntimeError):
        await reindex(db, content)  # the edit was applied, the run never recorded its end
    assert await search_ids(db, "sprockets") == ["beta"]
    monkeypatch.undo()

    # The directory now looks exactly as the last complete run saw it. Trusting that run's scan
    # would keep serving the edit; the database must be compared with the files instead.
    path.write_bytes(original)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    report = await reindex(db, content)
    assert counts(report) == (0, 1, 0, 2)
    assert await search_ids(db, "sprockets") == []
    assert await search_ids(db, "widgets") == ["beta", "gamma"]


async def test_files_added_and_removed_are_found_when_the_listing_changes(
    db: Database, content: Path, parsed: list[str]
) -> None:
    await reindex(db, content)
    parsed.clear()
    (content / "news/gamma.md").unlink()
    write(content, "news/delta.md", article_text("Delta widgets", "https://example.org/delta"))
    report = await reindex(db, content)
    assert parsed == ["news/delta.md"]
    assert counts(report) == (1, 0, 1, 2)
    assert await search_ids(db, "widgets") == ["beta", "delta"]


async def test_an_edited_article_keeps_its_related_links_and_shared_links_outlive_one_referrer(
    db: Database, content: Path
) -> None:
    shared = "https://elsewhere.example.net/story"
    write(content, "news/delta.md", article_text("Delta", "https://example.org/delta", related=[shared]))
    write(content, "news/eps.md", article_text("Eps", "https://example.org/eps", related=[shared]))
    await reindex(db, content)
    write(content, "news/delta.md", article_text("Delta edited", "https://example.org/delta", related=[shared]))
    await reindex(db, content)
    assert [item.url for item in await db.articles.related("delta", EVERYTHING)] == [shared]
    (content / "news/delta.md").unlink()
    await reindex(db, content)
    assert [item.url for item in await db.articles.related("eps", EVERYTHING)] == [shared]
    (content / "news/eps.md").unlink()
    await reindex(db, content)
    write(content, "news/zeta.md", article_text("Zeta", "https://example.org/zeta", related=[shared]))
    await reindex(db, content)
    # The link was forgotten with its last referrer and comes back with the new one's text.
    [item] = await db.articles.related("zeta", EVERYTHING)
    assert (item.url, item.title) == (shared, "Related 0")


async def test_a_large_run_can_be_done_by_a_child_process(
    db: Database, content: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(indexing, "ISOLATE_MIN_FILES", 2)
    caplog.set_level("INFO", logger="bot.content.indexing")
    report = await reindex(db, content, isolate=True)
    assert counts(report) == (3, 0, 0, 0)
    assert "indexing 3 files in a child process" in caplog.text
    assert await search_ids(db, "widgets") == ["beta", "gamma"]
    # Small runs stay in this process.
    caplog.clear()
    write(content, "news/beta.md", article_text("Beta sprockets", "https://example.org/beta"))
    report = await reindex(db, content, isolate=True)
    assert counts(report) == (0, 1, 0, 2)
    assert "child process" not in caplog.text
    assert await search_ids(db, "sprockets") == ["beta"]


async def test_runs_from_two_processes_on_one_database_take_turns(
    db: Database, content: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A second Database on the same file stands for a second bot process (shards split across
    # processes): its in-process lock is a different one, so only the file lock can order them.
    monkeypatch.setattr(sqlite_index, "LOCK_POLL_SECONDS", 0.01)
    other = await Database.open(tmp_path / "news.sqlite3")
    try:
        async with db.index.exclusive():
            waiting = asyncio.create_task(reindex(other, content))
            await asyncio.sleep(0.3)
            assert not waiting.done()  # it waits for the run in progress
            assert await search_ids(db, "widgets") == []
        report = await asyncio.wait_for(waiting, 10)
        assert counts(report) == (3, 0, 0, 0)
        assert await search_ids(db, "widgets") == ["beta", "gamma"]
    finally:
        await other.close()


# --- one file never stops the run ------------------------------------------------------------------


@pytest.fixture
async def any_db(database_url: str) -> AsyncIterator[DatabaseHandle]:
    """A database on each backend: what these tests hold must hold for both."""
    async with await open_database(database_url) as database:
        yield database


def on_postgres(db: DatabaseHandle) -> bool:
    return type(db).__module__.startswith("bot.db.pg")


def fail_writing(db: DatabaseHandle, monkeypatch: pytest.MonkeyPatch, error: Exception, path: str | None) -> None:
    """Make writing the article rows of ``path`` (of every file: None) raise ``error``, where this
    backend builds them: SQLite row by row, PostgreSQL column arrays for the whole batch."""
    if on_postgres(db):
        real_columns = pg_index._article_columns

        def failing_columns(records: list[ArticleRecord], rids: list[int]) -> list[list[object]]:
            if path is None or any(r.path == path for r in records):
                raise error
            return real_columns(records, rids)

        monkeypatch.setattr(pg_index, "_article_columns", failing_columns)
        return
    real_rows = sqlite_index._article_rows

    def failing_rows(records: list[ArticleRecord], rids: list[int]) -> Iterator[tuple[object, ...]]:
        for row in real_rows(records, rids):
            if path is None or row[2] == path:
                raise error
            yield row

    monkeypatch.setattr(sqlite_index, "_article_rows", failing_rows)


async def test_a_file_whose_rows_cannot_be_written_is_rejected_and_the_rest_indexed(
    any_db: DatabaseHandle, content: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = any_db
    with monkeypatch.context() as patch:
        fail_writing(db, patch, RuntimeError("injected failure while writing beta"), "news/beta.md")
        report = await reindex(db, content)
        assert [str(issue) for issue in report.rejected] == [
            "news/beta.md: cannot be stored in the index (RuntimeError: injected failure while writing beta)"
        ]
        assert await search_ids(db, "gears") == ["alpha"]
        assert await search_ids(db, "widgets") == ["gamma"]
        # The rejection lasts until the file changes, like any other, and then it is read again.
        again = await reindex(db, content)
        assert counts(again) == (0, 0, 0, 3)
        assert [issue.path for issue in again.rejected] == ["news/beta.md"]
    write(content, "news/beta.md", article_text("Beta widgets, fixed", "https://example.org/beta"))
    fixed = await reindex(db, content)
    assert fixed.rejected == ()
    assert await search_ids(db, "widgets") == ["beta", "gamma"]


async def test_a_number_the_database_cannot_hold_costs_only_its_file(
    any_db: DatabaseHandle, content: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = any_db
    # The loader refuses such numbers now; this stands for any value that slips past it.
    real_prepare = indexing.prepare

    def oversized(article: loader.Article) -> ArticleRecord:
        record = real_prepare(article)
        return record._replace(quality=10**30) if article.path == "news/alpha.md" else record

    monkeypatch.setattr(indexing, "prepare", oversized)
    report = await reindex(db, content)
    [issue] = report.rejected
    assert issue.path == "news/alpha.md"
    assert "OverflowError" in issue.reason
    assert await search_ids(db, "widgets") == ["beta", "gamma"]
    assert (await db.articles.stats(EVERYTHING)).articles_total == 2


async def test_a_write_failure_of_the_database_itself_still_ends_the_run(
    any_db: DatabaseHandle, content: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = any_db
    # Not one file's fault: writing file by file could not help, and must not mark files rejected.
    full: Exception = (
        asyncpg.DiskFullError("could not extend file") if on_postgres(db) else sqlite3.OperationalError("disk full")
    )
    fail_writing(db, monkeypatch, full, None)
    with pytest.raises(type(full)):
        await reindex(db, content)
    assert await db.articles.file_issues() == []


async def test_names_that_are_not_text_are_reported_and_the_rest_indexed(db: Database, content: Path) -> None:
    write(content, os.fsdecode(b"news/bad\xff\xfe.md"), article_text("Bad name", "https://example.org/bad-name"))
    write(content, "news/esc\x1b[2Jclear.md", article_text("Escape", "https://example.org/escape"))
    report = await reindex(db, content)
    assert [str(issue) for issue in report.rejected] == [
        "news/bad\\xff\\xfe.md: name is not valid UTF-8 text; rename the file",
        "news/esc\\x1b[2Jclear.md: name contains a control character (U+001B); rename the file",
    ]
    assert await search_ids(db, "widgets") == ["beta", "gamma"]
    again = await reindex(db, content)
    assert counts(again) == (0, 0, 0, 3)
    assert len(again.rejected) == 2


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    files=st.lists(
        st.tuples(
            st.sampled_from(["quality", "heat", "webUrl"]),
            st.one_of(
                st.integers(-(2**70), 2**70),
                st.sampled_from([164, 165, -1, -2, 2**31, 2**63, -(2**63) - 1]),
                st.sampled_from(["javascript:alert(1)", "data:,x", "file:///etc/passwd", "https://", "ftp://x.org/"]),
            ),
        ),
        min_size=1,
        max_size=6,
    )
)
async def test_hostile_values_never_stop_a_run(
    tmp_path_factory: pytest.TempPathFactory, database_url: str, files: list[tuple[str, object]]
) -> None:
    root = tmp_path_factory.mktemp("hostile")
    # A fresh database for each example.
    if database_url.startswith("sqlite"):
        url = f"sqlite:///{root / 'news.sqlite3'}"
    else:
        url = database_url
        await postgres.truncate_all(url)
    write(root, "good.md", article_text("Good widgets", "https://example.org/good"))
    for number, (field, value) in enumerate(files):
        text = article_text(f"Hostile {number}", f"https://example.org/hostile-{number}")
        if field == "webUrl":
            text = text.replace(f'"https://example.org/hostile-{number}"', f'"{value}"')
        else:
            text = text.replace("quality: 50" if field == "quality" else "heat: -1", f"{field}: {value}")
        write(root, f"h{number}.md", text)
    database = await open_database(url)
    try:
        report = await reindex(database, root)
        served = {item.id for item in (await database.articles.search("hostile", vis=EVERYTHING, limit=100)).items}
        rejected = {issue.path for issue in report.rejected}
        for number in range(len(files)):
            assert (f"h{number}" in served) != (f"h{number}.md" in rejected)
        assert await search_ids(database, "good") == ["good"]
    finally:
        await database.close()
