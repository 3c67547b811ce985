"""load_file, parse_files and load_directory on real files."""

from __future__ import annotations

import os
from pathlib import Path
from unittest import mock

import pytest

from bot.store import loader
from bot.store.limits import MAX_FILE_BYTES
from bot.store.loader import LoadResult, load_directory, load_file, parse_files
from tests.store.conftest import front_matter


def write(root: Path, rel_path: str, text: str | bytes) -> Path:
    path = root / rel_path
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def article_file(slug: str, url: str | None = None, **overrides: str | None) -> str:
    url = url or f"https://example.org/news/{slug}"
    fields: dict[str, str | None] = {"title": f'"Story {slug}"', "webUrl": f'"{url}"', "originalUrl": f'"{url}"'}
    return front_matter(**{**fields, **overrides})


def test_load_file_reads_and_parses(tmp_path: Path) -> None:
    write(tmp_path, "_news/2024-01-01-one.md", article_file("one"))
    article, issues = load_file(tmp_path, "_news/2024-01-01-one.md")
    assert issues == []
    assert article is not None
    assert (article.id, article.path, article.title) == ("2024-01-01-one", "_news/2024-01-01-one.md", "Story one")


@pytest.mark.parametrize("rel_path", ["../outside.md", "/etc/passwd", "a/../../b.md", ""])
def test_load_file_refuses_paths_outside_the_root(tmp_path: Path, rel_path: str) -> None:
    article, issues = load_file(tmp_path, rel_path)
    assert article is None
    assert [issue.reason for issue in issues] == ["path must be relative to the content directory, without '..'"]


def test_load_file_missing_file(tmp_path: Path) -> None:
    article, issues = load_file(tmp_path, "nope.md")
    assert article is None
    assert [issue.reason for issue in issues] == ["cannot read file: No such file or directory"]


def test_load_file_checks_the_size_before_reading(tmp_path: Path) -> None:
    path = write(tmp_path, "huge.md", article_file("huge"))
    os.truncate(path, MAX_FILE_BYTES * 50)  # sparse: big on paper, cheap on disk
    with mock.patch.object(loader, "parse_article") as parse:
        article, issues = load_file(tmp_path, "huge.md")
    parse.assert_not_called()
    assert article is None
    assert [issue.reason for issue in issues] == [
        f"file too large ({MAX_FILE_BYTES * 50:,} bytes; the limit is {MAX_FILE_BYTES:,})"
    ]


def test_parse_files_keeps_order_and_reports_each_file(tmp_path: Path) -> None:
    write(tmp_path, "b.md", article_file("b"))
    write(tmp_path, "a.md", "no front matter")
    results = parse_files(tmp_path, ["b.md", "a.md", "missing.md"])
    assert [rel for rel, _, _ in results] == ["b.md", "a.md", "missing.md"]
    assert results[0][1] is not None
    assert results[1][1] is None
    assert results[1][2][0].reason == "no YAML front matter (file must start with ---)"
    assert results[2][2][0].reason.startswith("cannot read file")


def test_parse_files_survives_a_bug_in_one_file(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    write(tmp_path, "a.md", article_file("a"))
    write(tmp_path, "b.md", article_file("b"))
    real = loader.parse_article

    def flaky(raw: bytes, rel_path: str) -> object:
        if rel_path == "a.md":
            raise RuntimeError("boom")
        return real(raw, rel_path)

    with mock.patch.object(loader, "parse_article", side_effect=flaky):
        results = parse_files(tmp_path, ["a.md", "b.md"])
    assert results[0][1] is None
    assert [issue.reason for issue in results[0][2]] == ["internal error while loading (see the log)"]
    assert results[1][1] is not None
    assert "unexpected error while loading a.md" in caplog.text


def _site(root: Path) -> None:
    write(root, "_news/2024-01-01-one.md", article_file("one", quality="10"))
    write(
        root,
        "_news/2024-01-02-one-again.md",
        article_file("one-again", "http://www.example.org/news/one/", quality="90"),
    )
    write(root, "_news/2024-01-03-two.md", article_file("two"))
    write(root, "other/2024-01-03-two.md", article_file("two-elsewhere"))
    write(root, "_news/broken.md", article_file("broken", quality="high"))
    write(root, "_news/legacy.txt", article_file("legacy", title='"Caf\u00e9"').encode("cp1252"))
    write(root, ".git/ignored.md", "not even an article")


def test_load_directory(tmp_path: Path) -> None:
    _site(tmp_path)
    result = load_directory(tmp_path)
    assert isinstance(result, LoadResult)
    by_path = {article.path: article for article in result.articles}
    assert sorted(by_path) == [
        "_news/2024-01-02-one-again.md",  # higher quality copy of one.md
        "_news/2024-01-03-two.md",
        "_news/legacy.txt",
        "other/2024-01-03-two.md",
    ]
    assert by_path["_news/legacy.txt"].title == "Café"
    assert by_path["_news/2024-01-03-two.md"].id == "2024-01-03-two"
    assert by_path["other/2024-01-03-two.md"].id.startswith("2024-01-03-two-")
    issues = {(issue.path, issue.severity): issue.reason for issue in result.issues}
    assert issues == {
        ("_news/broken.md", "error"): "'quality' must be an integer, got string 'high'",
        ("_news/legacy.txt", "warning"): "not valid UTF-8 (byte 0xE9 at line 3); decoded as cp1252",
        ("_news/2024-01-01-one.md", "warning"): "duplicate of _news/2024-01-02-one-again.md (same URL)",
        ("other/2024-01-03-two.md", "warning"): (
            f"id '2024-01-03-two' is already used by _news/2024-01-03-two.md; "
            f"this article's id is {by_path['other/2024-01-03-two.md'].id!r}"
        ),
    }
    assert [issue.path for issue in result.errors] == ["_news/broken.md"]


def test_load_directory_in_worker_processes_matches_serial(tmp_path: Path) -> None:
    for number in range(2 * loader._BATCH_SIZE + 5):
        write(tmp_path, f"_news/{number:04d}.md", article_file(f"n{number % 700}"))  # 305 duplicates
    serial = load_directory(tmp_path, workers=1)
    with mock.patch.object(loader, "worker_pool", wraps=loader.worker_pool) as pool:
        parallel = load_directory(tmp_path, workers=2)
    pool.assert_called_once()
    assert parallel == serial
    assert len(serial.articles) == 700
    assert sum(issue.reason.startswith("duplicate of") for issue in serial.issues) == 2 * loader._BATCH_SIZE + 5 - 700
