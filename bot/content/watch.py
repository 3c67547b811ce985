"""Live content: notice added, changed and removed article files and reindex while serving.

A periodic stat scan (``bot.store.loader.listing``: names, sizes and mtimes, no reading) rather
than inotify: it works the same on bind mounts, network shares and Docker Desktop volumes, where
change notifications are unreliable or absent, and costs about 0.36 s per 100,000 files.

When a scan differs from the last one, the watcher waits until the directory has been quiet for
``debounce`` seconds (an editor save or a ``git pull`` is a burst of changes, worth one reindex, not
fifty), but never longer than ``max_delay`` in all, so a directory that never settles is still
picked up. Reindexing happens in the watcher's own task, so two never overlap; a failed run is
logged and retried at the next scan, and what is served stays as it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.content.indexing import ContentUnavailable
from bot.store.loader import listing

log = logging.getLogger(__name__)

Snapshot = bytes
Reindex = Callable[[], Awaitable[object]]


def snapshot(root: Path) -> Snapshot:
    """A fingerprint of what a reindex would see: every candidate file's path, size and mtime, and
    the problems met on the way (a link that now leads outside, an unreadable directory). The
    digest of the scan the index also compares (``Listing.digest``), so a store of 100,000 files
    costs 16 bytes to remember."""
    return bytes.fromhex(listing(root).digest())


class ContentWatcher:
    """Calls ``reindex()`` after the files under ``root`` change. ``start()`` once, ``await stop()``."""

    def __init__(
        self,
        root: Path,
        reindex: Reindex,
        *,
        interval: float = 30.0,
        debounce: float = 1.0,
        max_delay: float | None = None,
        scan: Callable[[Path], Snapshot] = snapshot,
        clock: Callable[[], float] = time.monotonic,
        on_reload: Callable[[bool], None] | None = None,
    ) -> None:
        if interval <= 0 or debounce < 0:
            raise ValueError("interval must be positive and debounce not negative")
        self.root = root
        self.interval = interval
        self.debounce = debounce
        self.max_delay = max_delay if max_delay is not None else max(10 * debounce, interval)
        self._reindex = reindex
        self._scan = scan
        self._clock = clock
        self._on_reload = on_reload
        self._baseline: Snapshot | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self.reindexing = False
        self.reloads = 0
        self.failures = 0

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Take the reference snapshot, then watch in the background. Called before the start-up
        index, so a file changed while that runs is noticed afterwards, never lost."""
        if self._task is not None:
            raise RuntimeError("the watcher was already started")
        self._baseline = await asyncio.to_thread(self._scan, self.root)
        self._task = asyncio.create_task(self._run(), name="newsbot-content-watcher")
        log.info("watching %s for changes every %g s", self.root, self.interval)

    async def stop(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Stop watching. A reindex in progress may finish (it writes in transactions, so being
        cancelled after ``timeout`` loses nothing but that run)."""
        self._stopping.set()
        task, self._task = self._task, None
        if task is None or task.done():
            return
        if not self.reindexing:
            task.cancel()
        _, pending = await asyncio.wait({task}, timeout=timeout)
        if pending:
            log.warning("stopping the content watcher in the middle of a reindex")
            task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("the content watcher had stopped with an error")

    async def _sleep(self, seconds: float) -> bool:
        """False when told to stop meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
        return not self._stopping.is_set()

    async def _run(self) -> None:
        while await self._sleep(self.interval):
            try:
                await self.check()
            except OSError as exc:  # a scan never raises for missing files; this is the unexpected rest
                log.warning("could not scan %s: %s", self.root, exc)

    async def check(self) -> bool:
        """Scan once; when something changed, wait for quiet and reindex. True if it reindexed."""
        current = await asyncio.to_thread(self._scan, self.root)
        if current == self._baseline:
            return False
        first_seen = self._clock()
        while self._clock() - first_seen < self.max_delay:
            if not await self._sleep(self.debounce):
                return False
            latest = await asyncio.to_thread(self._scan, self.root)
            if latest == current:
                break
            current = latest
        return await self._reload(current)

    async def _reload(self, seen: Snapshot) -> bool:
        self.reindexing = True
        try:
            await self._reindex()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # Whatever went wrong (content unmounted, database busy), what is served stays as it
            # was and the next scan tries again: the baseline is left behind on purpose.
            self.failures += 1
            log.warning(
                "reindexing %s after a change failed (%s); still serving the previous index, will retry",
                self.root,
                exc,
                exc_info=not isinstance(exc, ContentUnavailable),
            )
            if self._on_reload:
                self._on_reload(False)
            return False
        finally:
            self.reindexing = False
        # Changes made while the reindex ran differ from ``seen`` and are picked up next time.
        self._baseline = seen
        self.reloads += 1
        if self._on_reload:
            self._on_reload(True)
        return True
