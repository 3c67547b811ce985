"""discover: which files are candidates, and how links are treated."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.store.discovery import FileEntry, Listing, discover, listing


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


# --- Listing: the compact scan the index compares runs with -----------------------------------


def make_listing(files: list[tuple[str, int, int]]) -> Listing:
    listing = Listing()
    for path, size, mtime in files:
        listing.paths += path.encode() + b"\0"  # type: ignore[operator]
        listing.sizes.append(size)
        listing.mtimes.append(mtime)
    return listing


def test_listing_holds_what_discover_finds(tmp_path: Path) -> None:
    for name in ("b.md", "a/c.txt", "a/d.md", "skip.png"):
        touch(tmp_path / name, "x" * len(name))
    entries, issues = discover(tmp_path)
    found = listing(tmp_path)
    assert sorted(zip(found.rel_paths(), found.sizes, found.mtimes, strict=True)) == [
        (e.rel_path, e.size, e.mtime_ns) for e in entries
    ]
    assert found.issues == issues == []


def test_listing_digest_changes_with_any_file_detail(tmp_path: Path) -> None:
    path = touch(tmp_path / "a.md", "one")
    first = listing(tmp_path).digest()
    assert listing(tmp_path).digest() == first
    os.utime(path, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_001))
    touched = listing(tmp_path).digest()
    assert touched != first
    (tmp_path / "gone.md").symlink_to(tmp_path / "missing.md")  # a problem met is part of the scan
    assert listing(tmp_path).digest() != touched


files_strategy = st.lists(
    st.tuples(
        st.text(min_size=1, max_size=12).filter(lambda t: "\0" not in t), st.integers(0, 2**40), st.integers(0, 2**62)
    ),
    max_size=600,
)


@given(files=files_strategy, data=st.data())
@settings(max_examples=60, deadline=None)
def test_changed_since_finds_exactly_the_files_whose_size_or_mtime_moved(
    files: list[tuple[str, int, int]], data: st.DataObject
) -> None:
    edited = list(files)
    moved = data.draw(st.sets(st.integers(0, max(0, len(files) - 1)), max_size=len(files))) if files else set()
    for i in moved:
        path, size, mtime = edited[i]
        if data.draw(st.booleans()):
            edited[i] = (path, size + 1, mtime)
        else:
            edited[i] = (path, size, mtime - 1)
    before, after = make_listing(files), make_listing(edited)
    assert after.changed_since(before) == sorted(moved)
    assert (after.digest() == before.digest()) == (not moved)
    # What the index stores and reads back compares the same way.
    stored = Listing.stored(bytes(before.paths), *before.numbers(), before.digest())
    assert stored.digest() == before.digest()
    assert after.changed_since(stored) == sorted(moved)


@given(files=files_strategy.filter(bool), extra=st.text(min_size=1, max_size=5).filter(lambda t: "\0" not in t))
@settings(max_examples=40, deadline=None)
def test_changed_since_declines_when_the_paths_differ(files: list[tuple[str, int, int]], extra: str) -> None:
    before = make_listing(files)
    assert make_listing([*files, (extra, 1, 1)]).changed_since(before) is None
    assert make_listing(files[1:]).changed_since(before) is None
    renamed = [(files[0][0] + extra, *files[0][1:]), *files[1:]]
    assert make_listing(renamed).changed_since(before) is None
