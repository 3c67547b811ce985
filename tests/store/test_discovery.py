"""discover: which files are candidates, and how links are treated."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bot.store.discovery import FileEntry, discover


def touch(path: Path, text: str = "---\ntitle: x\n---\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def paths(entries: list[FileEntry]) -> list[str]:
    return [entry.rel_path for entry in entries]


def test_finds_markdown_and_text_recursively(tmp_path: Path) -> None:
    touch(tmp_path / "_news" / "2024-01-01-a.md")
    touch(tmp_path / "_news" / "2024" / "b.txt")
    touch(tmp_path / "c.MD")
    touch(tmp_path / "README.md")
    touch(tmp_path / "_config.yml")
    touch(tmp_path / "assets" / "logo.png")
    entries, issues = discover(tmp_path)
    assert paths(entries) == ["README.md", "_news/2024-01-01-a.md", "_news/2024/b.txt", "c.MD"]
    assert issues == []


def test_entries_carry_size_and_mtime(tmp_path: Path) -> None:
    path = touch(tmp_path / "a.md", "0123456789")
    os.utime(path, ns=(1_700_000_000_000_000_000, 1_700_000_000_123_456_789))
    (entry,) = discover(tmp_path)[0]
    assert entry == FileEntry("a.md", 10, 1_700_000_000_123_456_789)


def test_hidden_and_generated_directories_are_skipped(tmp_path: Path) -> None:
    touch(tmp_path / ".git" / "x.md")
    touch(tmp_path / ".github" / "ISSUE.md")
    touch(tmp_path / "_site" / "page.md")
    touch(tmp_path / "_site_old" / "page.md")
    touch(tmp_path / "_news" / ".#draft.md")
    touch(tmp_path / "_news" / "kept.md")
    entries, issues = discover(tmp_path)
    assert paths(entries) == ["_news/kept.md"]
    assert issues == []


def test_links_inside_the_root_are_followed(tmp_path: Path) -> None:
    touch(tmp_path / "real" / "a.md")
    (tmp_path / "alias.md").symlink_to(tmp_path / "real" / "a.md")
    entries, issues = discover(tmp_path)
    assert paths(entries) == ["alias.md", "real/a.md"]
    assert issues == []


def test_links_leading_outside_are_reported_and_not_followed(tmp_path: Path) -> None:
    root = tmp_path / "content"
    outside = tmp_path / "elsewhere"
    touch(outside / "secret.md")
    touch(root / "inside.md")
    (root / "file-link.md").symlink_to(outside / "secret.md")
    (root / "dir-link").symlink_to(outside)
    (root / "image-link.png").symlink_to(outside / "secret.md")  # not a candidate: not reported
    entries, issues = discover(root)
    assert paths(entries) == ["inside.md"]
    target = os.path.realpath(outside)
    assert [(issue.path, issue.reason, issue.severity) for issue in issues] == [
        ("dir-link", f"link leads outside the content directory: -> {target}", "error"),
        ("file-link.md", f"link leads outside the content directory: -> {target}/secret.md", "error"),
    ]


def test_relative_link_escaping_the_root_is_caught(tmp_path: Path) -> None:
    root = tmp_path / "content"
    touch(tmp_path / "outside.md")
    touch(root / "inside.md")
    (root / "sneaky.md").symlink_to(Path("..") / "outside.md")
    entries, issues = discover(root)
    assert paths(entries) == ["inside.md"]
    assert [issue.path for issue in issues] == ["sneaky.md"]
    assert issues[0].reason.startswith("link leads outside the content directory: -> ")


def test_link_loops_terminate(tmp_path: Path) -> None:
    touch(tmp_path / "a" / "one.md")
    (tmp_path / "a" / "back-to-root").symlink_to(tmp_path)
    (tmp_path / "a" / "self").symlink_to(tmp_path / "a")
    (tmp_path / "loop1.md").symlink_to(tmp_path / "loop2.md")
    (tmp_path / "loop2.md").symlink_to(tmp_path / "loop1.md")
    pool = ThreadPoolExecutor(max_workers=1)
    try:  # a hang fails the test instead of blocking the run
        entries, issues = pool.submit(discover, tmp_path).result(timeout=10)
    finally:
        pool.shutdown(wait=False)
    assert paths(entries) == ["a/one.md"]
    reasons = {issue.path: (issue.severity, issue.reason) for issue in issues}
    assert reasons["a/back-to-root"][0] == "warning"
    assert reasons["a/back-to-root"][1].startswith("link leads to a directory already scanned: -> ")
    assert reasons["a/self"][0] == "warning"
    assert reasons["loop1.md"][0] == "error"
    assert reasons["loop2.md"][0] == "error"


def test_a_linked_directory_inside_the_root_is_scanned_once(tmp_path: Path) -> None:
    touch(tmp_path / "z-real" / "a.md")
    (tmp_path / "a-link").symlink_to(tmp_path / "z-real")
    entries, issues = discover(tmp_path)
    # The real location wins even though the link sorts first.
    assert paths(entries) == ["z-real/a.md"]
    assert [(issue.path, issue.severity) for issue in issues] == [("a-link", "warning")]


def test_broken_link_is_reported(tmp_path: Path) -> None:
    (tmp_path / "gone.md").symlink_to(tmp_path / "missing.md")
    entries, issues = discover(tmp_path)
    assert entries == []
    assert [(issue.path, issue.severity) for issue in issues] == [("gone.md", "error")]
    assert issues[0].reason.startswith("broken link or unreadable entry")


def test_missing_root_is_an_issue_not_an_exception(tmp_path: Path) -> None:
    entries, issues = discover(tmp_path / "nope")
    assert entries == []
    assert [issue.reason for issue in issues] == ["cannot read the content directory: No such file or directory"]
