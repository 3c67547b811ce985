"""The content watcher against real files in tmp_path: what it reindexes for, and when."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.content.indexing import ContentUnavailable
from bot.content.watch import ContentWatcher, snapshot


async def eventually(predicate: Callable[[], bool], timeout: float = 5.0) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


class Recorder:
    """Stands in for ``bot.reindex``: counts calls, can be slow or fail, notes overlaps."""

    def __init__(self, *, seconds: float = 0.0) -> None:
        self.calls = 0
        self.seconds = seconds
        self.running = 0
        self.most_at_once = 0
        self.fail_next = 0

    async def __call__(self) -> None:
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        try:
            await asyncio.sleep(self.seconds)
            if self.fail_next:
                self.fail_next -= 1
                raise ContentUnavailable("content directory went away")
            self.calls += 1
        finally:
            self.running -= 1


@pytest.fixture
def root(tmp_path: Path) -> Path:
    content = tmp_path / "content"
    (content / "_news").mkdir(parents=True)
    (content / "_news" / "first.md").write_text("---\ntitle: First\n---\n", encoding="utf-8")
    return content


@pytest.fixture
async def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def watcher(root: Path, recorder: Recorder) -> AsyncIterator[ContentWatcher]:
    watcher = ContentWatcher(root, recorder, interval=0.05, debounce=0.05)
    await watcher.start()
    yield watcher
    await watcher.stop()


async def test_added_changed_and_removed_files_each_reindex(
    root: Path, recorder: Recorder, watcher: ContentWatcher
) -> None:
    await asyncio.sleep(0.2)
    assert recorder.calls == 0, "nothing changed, nothing to do"
    new = root / "_news" / "second.md"
    new.write_text("---\ntitle: Second\n---\n", encoding="utf-8")
    await eventually(lambda: recorder.calls == 1)
    new.write_text("---\ntitle: Second, longer\n---\n", encoding="utf-8")
    await eventually(lambda: recorder.calls == 2)
    new.unlink()
    await eventually(lambda: recorder.calls == 3)
    await asyncio.sleep(0.2)
    assert recorder.calls == 3
    assert watcher.reloads == 3


async def test_files_that_are_not_articles_are_ignored(root: Path, recorder: Recorder, watcher: ContentWatcher) -> None:
    (root / "_news" / ".first.md.swp").write_bytes(b"editor scratch")
    (root / "_news" / "picture.jpg").write_bytes(b"\xff\xd8")
    await asyncio.sleep(0.3)
    assert recorder.calls == 0


async def test_a_burst_of_changes_is_one_reindex(root: Path) -> None:
    recorder = Recorder()
    watcher = ContentWatcher(root, recorder, interval=0.05, debounce=0.4)
    await watcher.start()
    try:
        for i in range(15):  # like a `git pull`: many files within a moment
            (root / "_news" / f"burst-{i}.md").write_text(f"---\ntitle: Burst {i}\n---\n", encoding="utf-8")
            await asyncio.sleep(0.02)
        await eventually(lambda: recorder.calls >= 1)
        await asyncio.sleep(0.6)
        assert recorder.calls == 1
    finally:
        await watcher.stop()


async def test_a_directory_that_never_settles_is_still_reindexed(root: Path) -> None:
    recorder = Recorder()
    watcher = ContentWatcher(root, recorder, interval=0.05, debounce=0.1, max_delay=0.4)
    await watcher.start()
    try:
        started = time.monotonic()
        i = 0
        while recorder.calls == 0:
            assert time.monotonic() - started < 3, "the watcher waited for quiet forever"
            (root / "_news" / f"churn-{i}.md").write_text("---\ntitle: Churn\n---\n", encoding="utf-8")
            i += 1
            await asyncio.sleep(0.03)
    finally:
        await watcher.stop()


async def test_reindexes_never_overlap_and_changes_during_one_are_not_lost(root: Path) -> None:
    recorder = Recorder(seconds=0.3)
    watcher = ContentWatcher(root, recorder, interval=0.02, debounce=0.02)
    await watcher.start()
    try:
        (root / "_news" / "a.md").write_text("---\ntitle: A\n---\n", encoding="utf-8")
        await eventually(lambda: recorder.running == 1)
        (root / "_news" / "b.md").write_text("---\ntitle: B\n---\n", encoding="utf-8")  # while it runs
        await eventually(lambda: recorder.calls == 2)
        await asyncio.sleep(0.5)
        assert recorder.calls == 2
        assert recorder.most_at_once == 1
    finally:
        await watcher.stop()


async def test_a_failed_reindex_is_retried_and_watching_goes_on(root: Path) -> None:
    recorder = Recorder()
    recorder.fail_next = 1
    outcomes: list[bool] = []
    watcher = ContentWatcher(root, recorder, interval=0.05, debounce=0.02, on_reload=outcomes.append)
    await watcher.start()
    try:
        (root / "_news" / "a.md").write_text("---\ntitle: A\n---\n", encoding="utf-8")
        await eventually(lambda: recorder.calls == 1)  # retried without a further change
        assert outcomes == [False, True]
        assert watcher.failures == 1
        (root / "_news" / "b.md").write_text("---\ntitle: B\n---\n", encoding="utf-8")
        await eventually(lambda: recorder.calls == 2)
        assert watcher.running
    finally:
        await watcher.stop()


async def test_stop_lets_a_running_reindex_finish(root: Path) -> None:
    recorder = Recorder(seconds=0.3)
    watcher = ContentWatcher(root, recorder, interval=0.02, debounce=0.02)
    await watcher.start()
    (root / "_news" / "a.md").write_text("---\ntitle: A\n---\n", encoding="utf-8")
    await eventually(lambda: recorder.running == 1)
    await watcher.stop()
    assert recorder.calls == 1 and recorder.running == 0
    assert not watcher.running


async def test_stop_is_prompt_when_idle(root: Path, recorder: Recorder) -> None:
    watcher = ContentWatcher(root, recorder, interval=30)
    await watcher.start()
    started = time.monotonic()
    await watcher.stop()
    assert time.monotonic() - started < 1
    assert not watcher.running


def test_nonsense_timings_are_refused(root: Path, recorder: Recorder) -> None:
    with pytest.raises(ValueError, match="interval"):
        ContentWatcher(root, recorder, interval=0)


def test_the_fingerprint_changes_with_any_file_change_and_only_then(root: Path) -> None:
    before = snapshot(root)
    assert snapshot(root) == before
    article = root / "_news" / "first.md"
    stat = article.stat()
    os.utime(article, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # saved again, same size
    touched = snapshot(root)
    assert touched != before
    (root / "_news" / "first.md").rename(root / "_news" / "renamed.md")
    assert snapshot(root) not in {before, touched}
