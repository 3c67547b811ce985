"""What the fetcher remembers per feed, in a JSON file beside the feeds file.

Why a file and not the database: the feeds file, its state and the articles they produced belong
to the store, which several deployments may share, while the database is one deployment's index
(rebuildable, and possibly absent when ``newsbot feeds fetch`` runs from cron). The file is
replaced atomically, and a lock file serialises refreshes between the bot and the command line.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from bot.feeds.config import atomic_write_text

__all__ = ["MAX_REJECTED", "MAX_SEEN", "FeedState", "StateError", "feeds_lock", "load_state", "save_state"]

#: Normalised URLs remembered per feed: entries already written or already in the store are not
#: looked at again. Well above the 50-100 entries real feeds carry.
MAX_SEEN = 1000
#: Entries refused (no link, no date ...) shown per feed, newest last.
MAX_REJECTED = 20
_FORMAT = 1


class StateError(RuntimeError):
    """The state file cannot be read or the lock not taken; the message names the file."""


@dataclass(slots=True)
class FeedState:
    """One feed's memory. Times are epoch seconds (UTC); ``None`` means never."""

    title: str = ""
    etag: str | None = None
    last_modified: str | None = None
    last_fetch: float | None = None
    last_success: float | None = None
    last_status: str = ""  # "200 OK: 3 new", "304 not modified", "error: ..."
    next_fetch: float = 0.0
    min_interval: float = 0.0  # seconds, from the feed's own hints (ttl, sy:updatePeriod, max-age)
    failures: int = 0  # consecutive
    failing_since: float | None = None
    last_error: str | None = None
    disabled: str | None = None  # why the feed is no longer fetched
    warning: str | None = None  # the feed is broken but readable
    entries: int = 0  # articles written from this feed, all time
    seen: list[str] = field(default_factory=list)
    rejected: list[list[str]] = field(default_factory=list)  # [title or id, reason]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FeedState:
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})

    def remember(self, norm_urls: list[str]) -> None:
        have = set(self.seen)
        self.seen.extend(url for url in norm_urls if url not in have)
        del self.seen[:-MAX_SEEN]

    def reject(self, what: str, reason: str) -> None:
        entry = [what, reason]
        if entry in self.rejected:
            return
        self.rejected.append(entry)
        del self.rejected[:-MAX_REJECTED]


def state_path(feeds_file: Path) -> Path:
    return feeds_file.with_name(feeds_file.name + ".state.json")


def load_state(path: Path) -> dict[str, FeedState]:
    """Per feed URL; empty when there is no state file yet."""
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise StateError(f"{path}: cannot read the feeds state: {exc.strerror or exc}") from None
    try:
        data = json.loads(raw)
        feeds = data["feeds"]
        return {str(url): FeedState.from_json(value) for url, value in feeds.items()}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        # Losing the state costs one unconditional fetch per feed; dedupe by URL keeps the store right.
        raise StateError(f"{path}: the feeds state is damaged ({exc}); delete it to start afresh") from None


def save_state(path: Path, states: dict[str, FeedState]) -> None:
    data = {"format": _FORMAT, "feeds": {url: asdict(state) for url, state in sorted(states.items())}}
    atomic_write_text(path, json.dumps(data, ensure_ascii=False, indent=1))


@contextlib.contextmanager
def _flock(path: Path, timeout: float) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise StateError(
                        f"{path}: another newsbot process is refreshing the feeds; try again later"
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextlib.asynccontextmanager
async def feeds_lock(feeds_file: Path, wait: float = 30.0) -> AsyncIterator[None]:
    """Exclusive use of the feeds state between processes (the bot and ``newsbot feeds``)."""
    lock_path = feeds_file.with_name(feeds_file.name + ".lock")
    manager = _flock(lock_path, wait)
    await asyncio.to_thread(manager.__enter__)
    try:
        yield
    finally:
        manager.__exit__(None, None, None)
