"""Loading article files: bytes -> :class:`Article` or a reason why not.

The pieces, each usable on its own:

* :func:`discover` lists candidate files (stat only; :func:`scan` is its unsorted stream);
* :func:`parse_article` turns one file's bytes into an article, pure and never raising for bad
  input; :func:`load_file` reads and parses one file; :func:`parse_files` does a batch and is what
  worker processes run;
* :func:`dedupe` collapses copies of the same article;
* :func:`load_directory` does all of it for a content directory.

Every rejected file yields exactly one error :class:`LoadIssue` with a specific reason (and the
line, when known); accepted files may carry warnings.
"""

from __future__ import annotations

import codecs
import logging
import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path
from typing import Any

from bot.store.dedupe import dedupe
from bot.store.discovery import FileEntry, Listing, discover, listing, not_regular, scan
from bot.store.fields import FieldError, build_article
from bot.store.limits import MAX_FILE_BYTES
from bot.store.models import Article, LoadIssue
from bot.store.relatedblock import parse_with_related_cache
from bot.store.workers import worker_pool
from bot.store.yamlparse import FrontMatterError, parse_front_matter, split_front_matter

__all__ = [
    "FileEntry",
    "Listing",
    "LoadResult",
    "dedupe",
    "discover",
    "listing",
    "load_directory",
    "load_file",
    "parse_article",
    "parse_files",
    "scan",
]

log = logging.getLogger(__name__)

#: Below this many files load_directory parses in-process; worker start-up would cost more.
PARALLEL_THRESHOLD = 2000
_BATCH_SIZE = 500

ParsedFile = tuple[str, Article | None, list[LoadIssue]]


@dataclass(frozen=True, slots=True)
class LoadResult:
    """Articles loaded from a content directory (de-duplicated, sorted by path) and the issues met."""

    articles: list[Article] = field(default_factory=list)
    issues: list[LoadIssue] = field(default_factory=list)

    @property
    def errors(self) -> list[LoadIssue]:
        return [issue for issue in self.issues if issue.severity == "error"]


def _decode(raw: bytes) -> tuple[str, str | None]:
    """The file's text with ``\\n`` line endings, and a warning when it was not plain UTF-8."""
    if len(raw) > MAX_FILE_BYTES:
        raise FrontMatterError(f"file too large ({len(raw):,} bytes; the limit is {MAX_FILE_BYTES:,})")
    warning = None
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = raw.decode("utf-16")
        except UnicodeDecodeError:
            raise FrontMatterError("invalid UTF-16 text (file starts with a UTF-16 byte order mark)") from None
        warning = "decoded as UTF-16 (byte order mark found); please save article files as UTF-8"
        if "\x00" in text:
            raise FrontMatterError("binary file (contains NUL characters)")
    else:
        if b"\x00" in raw:
            raise FrontMatterError("binary file (contains NUL bytes)", raw.count(b"\n", 0, raw.index(b"\x00")) + 1)
        if raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8) :]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw.count(b"\n", 0, exc.start) + 1
            try:
                text = raw.decode("cp1252")
            except UnicodeDecodeError:
                raise FrontMatterError(
                    f"not UTF-8 text (byte 0x{raw[exc.start]:02X} at line {line} is invalid in UTF-8 and cp1252)",
                    line,
                ) from None
            warning = f"not valid UTF-8 (byte 0x{raw[exc.start]:02X} at line {line}); decoded as cp1252"
    if not text.strip():
        raise FrontMatterError("empty file")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text, warning


_FIELD_LINE_CACHE: dict[str, re.Pattern[str]] = {}


def _field_line(front_matter: str, name: str | None) -> int | None:
    """The file line where top-level key ``name`` is written, for pointing at a bad field."""
    if name is None:
        return None
    pattern = _FIELD_LINE_CACHE.get(name)
    if pattern is None:
        pattern = _FIELD_LINE_CACHE.setdefault(name, re.compile(rf"^{re.escape(name)}[ \t]*:", re.M))
    match = pattern.search(front_matter)
    return front_matter.count("\n", 0, match.start()) + 2 if match else None


def _kind(value: Any) -> str:
    if value is None:
        return "nothing (the front matter is empty or null)"
    if isinstance(value, list):
        return "a list"
    shown = repr(value)
    return f"a single value ({shown if len(shown) <= 40 else shown[:37] + '...'})"


def parse_article(raw: bytes, rel_path: str) -> tuple[Article | None, list[LoadIssue]]:
    """Parse one article file's bytes. ``rel_path`` names it in issues and gives it its id.

    Returns the article (or ``None`` when rejected) and the issues: when rejected, exactly one
    error; otherwise warnings, if any (cp1252 or UTF-16 decoding, dropped list entries). Pure; does
    not raise for any input bytes.
    """
    issues: list[LoadIssue] = []
    front_matter = ""
    try:
        text, warning = _decode(raw)
        if warning is not None:
            issues.append(LoadIssue(rel_path, warning, "warning"))
        front_matter, body = split_front_matter(text)
        cached = parse_with_related_cache(front_matter)
        if cached is not None:
            data, related = cached
            article, warnings = build_article(data, rel_path, body, related)
        else:
            data = parse_front_matter(front_matter)
            if not isinstance(data, dict):
                raise FrontMatterError(f"front matter must be a mapping of fields, got {_kind(data)}", 2)
            article, warnings = build_article(data, rel_path, body)
    except FrontMatterError as exc:
        issues.append(LoadIssue(rel_path, exc.reason, "error", exc.line))
        return None, issues
    except FieldError as exc:
        issues.append(LoadIssue(rel_path, exc.reason, "error", _field_line(front_matter, exc.field)))
        return None, issues
    issues.extend(LoadIssue(rel_path, message, "warning") for message in warnings)
    return article, issues


def _safe_rel_path(rel_path: str) -> bool:
    parts = rel_path.split("/")
    return bool(rel_path) and not rel_path.startswith("/") and ".." not in parts and "\\" not in rel_path


# Non-blocking, so that opening a named pipe returns at once instead of waiting for a writer;
# no controlling terminal, should a terminal device ever be opened.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)


def _read_regular(path: Path) -> bytes | str:
    """The file's first ``MAX_FILE_BYTES + 1`` bytes, or why it is not read.

    The scan already listed only regular files, but the name may have been given to a named pipe
    or a device since then: the check is repeated on what was actually opened.
    """
    fd = os.open(path, _OPEN_FLAGS)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return not_regular(info.st_mode)
        if info.st_size > MAX_FILE_BYTES:
            return f"file too large ({info.st_size:,} bytes; the limit is {MAX_FILE_BYTES:,})"
        chunks: list[bytes] = []
        left = MAX_FILE_BYTES + 1
        while left > 0:
            chunk = os.read(fd, left)
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def load_file(root: Path, rel_path: str) -> tuple[Article | None, list[LoadIssue]]:
    """Read ``root / rel_path`` (a ``/``-separated path inside ``root``) and parse it. Only a
    regular file is read; anything else is rejected with what it is."""
    if not _safe_rel_path(rel_path):
        return None, [LoadIssue(rel_path, "path must be relative to the content directory, without '..'")]
    try:
        raw = _read_regular(root / rel_path)
    except OSError as exc:
        return None, [LoadIssue(rel_path, f"cannot read file: {exc.strerror or exc}")]
    if isinstance(raw, str):
        return None, [LoadIssue(rel_path, raw)]
    return parse_article(raw, rel_path)


def parse_files(root: Path, rel_paths: Sequence[str]) -> list[ParsedFile]:
    """Load a batch of files; one ``(rel_path, article or None, issues)`` per path, in order.

    Made for worker processes: arguments and results pickle cheaply. A bug triggered by one file
    is logged and reported as that file's error instead of losing the batch.
    """
    results: list[ParsedFile] = []
    for rel_path in rel_paths:
        try:
            article, issues = load_file(root, rel_path)
        except Exception:  # one bad file must not cost the whole batch
            log.exception("unexpected error while loading %s", rel_path)
            article, issues = None, [LoadIssue(rel_path, "internal error while loading (see the log)")]
        results.append((rel_path, article, issues))
    return results


def _parse_all(root: Path, rel_paths: list[str], workers: int) -> list[ParsedFile]:
    if workers <= 1 or len(rel_paths) < 2 * _BATCH_SIZE:
        return parse_files(root, rel_paths)
    batches = [rel_paths[start : start + _BATCH_SIZE] for start in range(0, len(rel_paths), _BATCH_SIZE)]
    with worker_pool(workers) as pool:
        return [item for batch in pool.map(parse_files, repeat(root), batches) for item in batch]


def load_directory(root: Path, *, workers: int | None = None) -> LoadResult:
    """Discover, parse and de-duplicate every article under ``root``.

    ``workers`` is the number of processes to parse with; by default one per CPU when there are at
    least ``PARALLEL_THRESHOLD`` files, else parsing stays in this process. ``workers=1`` forces
    the serial path.
    """
    entries, issues = discover(root)
    rel_paths = [entry.rel_path for entry in entries]
    if workers is None:
        workers = (os.cpu_count() or 1) if len(rel_paths) >= PARALLEL_THRESHOLD else 1
    articles: list[Article] = []
    for _rel_path, article, file_issues in _parse_all(root, rel_paths, workers):
        issues.extend(file_issues)
        if article is not None:
            articles.append(article)
    kept, duplicate_issues = dedupe(articles)
    issues.extend(duplicate_issues)
    log.info(
        "loaded %d articles from %d files under %s (%d duplicates, %d errors)",
        len(kept),
        len(rel_paths),
        root,
        len(articles) - len(kept),
        sum(1 for issue in issues if issue.severity == "error"),
    )
    return LoadResult(kept, issues)
