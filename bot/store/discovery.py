"""Finding article files under the content directory (stat only, no parsing)."""

from __future__ import annotations

import hashlib
import logging
import os
import stat
import sys
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from bot.store.models import LoadIssue
from bot.store.names import name_problem, printable

__all__ = ["ARTICLE_SUFFIXES", "FileEntry", "Listing", "discover", "file_kind", "listing", "not_regular", "scan"]

log = logging.getLogger(__name__)

ARTICLE_SUFFIXES = frozenset({".md", ".txt"})


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One candidate article file. ``rel_path`` is relative to the content directory, with ``/``."""

    rel_path: str
    size: int
    mtime_ns: int


def _skipped(name: str) -> bool:
    # Hidden entries (.git, editor lock files such as .#draft.md) and Jekyll's generated _site.
    return name.startswith((".", "_site"))


_SUFFIX_TUPLE = tuple(ARTICLE_SUFFIXES)
_STAT_DIR_FD = os.stat in os.supports_dir_fd
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)


def _is_article_name(name: str) -> bool:
    # endswith on the folded name, not splitext: this runs once per file on every scan, and
    # splitext was a fifth of a 100k-file scan. Hidden names (".md") never get here.
    return name.lower().endswith(_SUFFIX_TUPLE)


def file_kind(mode: int) -> str | None:
    """What a file of this ``st_mode`` is, when it is not a regular file (``None`` for one). Only
    regular files are read: reading a named pipe waits for a writer, reading a device may never end."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISDIR(mode):
        return "a directory"
    return "a special file"


def not_regular(mode: int) -> str:
    """The reason given for a file that :func:`file_kind` says is not a regular file."""
    return f"not a regular file but {file_kind(mode)}; only regular files are read"


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


class _Batch(NamedTuple):
    """The article files of one directory: ``prefix + names[i]`` is a relative path."""

    prefix: str
    names: list[str]
    sizes: list[int]
    mtimes: list[int]


def scan(root: Path, issues: list[LoadIssue]) -> Iterator[tuple[str, int, int]]:
    """``(rel_path, size, mtime_ns)`` of every ``*.md`` and ``*.txt`` file under ``root``, in no
    particular order; the problems met are appended to ``issues`` as the scan goes.

    Hidden files and directories (names starting with ``.``) and ``_site*`` directories are
    skipped. Only regular files are listed: a named pipe, socket or device with an article name is
    reported as an error, as is a file or directory whose name :func:`name_problem` refuses (not
    UTF-8, control characters); the issue names it through :func:`printable`, and a refused
    directory is not entered. Links are followed only while they stay inside ``root``: a link
    leading outside is reported as an error and not followed, a broken link likewise. Each directory is scanned once
    (real paths before linked ones, siblings in name order); a second route to it, such as a link
    loop, is skipped with a warning, so loops cannot make the scan run forever.
    """
    for prefix, names, sizes, mtimes in _scan_directories(root, issues):
        for name, size, mtime in zip(names, sizes, mtimes, strict=True):
            yield prefix + name, size, mtime


def _scan_directories(root: Path, issues: list[LoadIssue]) -> Iterator[_Batch]:
    """:func:`scan`, a directory at a time. This runs on every reindex and every watcher tick:
    at 100,000 files the work per file, not the stat calls, was most of its time, so the common
    case (a plain article file) takes the fewest calls, and results go into plain lists."""
    real_root = os.path.realpath(root)
    try:
        root_stat = os.stat(real_root)
    except OSError as exc:
        issues.append(LoadIssue(".", f"cannot read the content directory: {exc.strerror}"))
        return
    visited = {(root_stat.st_dev, root_stat.st_ino)}
    pending: list[tuple[str, str]] = [(str(root), "")]
    # Linked directories wait until every real one is scanned, so a file reachable both ways keeps
    # the path where it really lives.
    linked: list[tuple[str, str, tuple[int, int], str]] = []
    suffixes = _SUFFIX_TUPLE
    while pending or linked:
        if pending:
            directory, prefix = pending.pop()
        else:
            directory, prefix, key, target = linked.pop(0)
            if key in visited:
                issues.append(
                    LoadIssue(
                        prefix.rstrip("/"),
                        f"link leads to a directory already scanned: -> {printable(target)}",
                        "warning",
                    )
                )
                continue
            visited.add(key)
        batch = _Batch(prefix, [], [], [])
        add_name, add_size, add_mtime = batch.names.append, batch.sizes.append, batch.mtimes.append
        special: list[os.DirEntry[str]] = []
        dir_fd: int | None = None
        try:
            # Entries are taken as the directory is read, never all at once: tens of thousands of
            # DirEntry objects alive together would stay behind as fragmented memory in the bot.
            with os.scandir(directory) as entries:
                # stat by name relative to the open directory: the kernel skips walking the path.
                dir_fd = os.open(directory, _DIR_FLAGS) if _STAT_DIR_FD else None
                for child in entries:
                    name = child.name
                    try:
                        # The common case first, with the fewest calls: a plain article file.
                        if name.lower().endswith(suffixes) and not child.is_symlink() and not child.is_dir():
                            if name.startswith((".", "_site")):
                                continue
                            if not name.isprintable() and (problem := name_problem(name)) is not None:
                                issues.append(LoadIssue(printable(prefix + name), problem))
                                continue
                            info = os.stat(name, dir_fd=dir_fd) if dir_fd is not None else os.stat(child.path)
                            if not stat.S_ISREG(info.st_mode):
                                issues.append(LoadIssue(prefix + name, not_regular(info.st_mode)))
                                continue
                            add_name(name)
                            add_size(info.st_size)
                            add_mtime(info.st_mtime_ns)
                        elif not _skipped(name) and (child.is_symlink() or child.is_dir()):
                            special.append(child)
                    except OSError as exc:
                        issues.append(LoadIssue(prefix + name, f"broken link or unreadable entry: {exc.strerror}"))
        except OSError as exc:
            issues.append(LoadIssue(prefix.rstrip("/") or ".", f"cannot read directory: {exc.strerror}"))
            continue
        finally:
            if dir_fd is not None:
                os.close(dir_fd)
        if batch.names:
            yield batch
        # Directories and links are rare: taken in name order, so which of two routes to one
        # directory wins does not depend on the order the filesystem lists them in.
        subdirs: list[tuple[str, str]] = []
        linked_files = _Batch(prefix, [], [], [])
        for child in sorted(special, key=lambda entry: entry.name):
            rel_path = prefix + child.name
            target = ""
            try:
                problem = name_problem(child.name)
                if problem is not None:
                    if _is_article_name(child.name) or child.is_dir():
                        issues.append(LoadIssue(printable(rel_path), problem))
                    continue
                is_link = child.is_symlink()
                if is_link:
                    target = os.path.realpath(child.path)
                    if not _inside(target, real_root):
                        if _is_article_name(child.name) or os.path.isdir(target):
                            issues.append(
                                LoadIssue(rel_path, f"link leads outside the content directory: -> {printable(target)}")
                            )
                        continue
                is_dir = child.is_dir()
                if not is_dir and not _is_article_name(child.name):
                    continue
                info = child.stat()
            except OSError as exc:
                issues.append(LoadIssue(rel_path, f"broken link or unreadable entry: {exc.strerror}"))
                continue
            if not is_dir and not stat.S_ISREG(info.st_mode):
                issues.append(
                    LoadIssue(rel_path, f"link leads to {file_kind(info.st_mode)}; only regular files are read")
                )
                continue
            if not is_dir:
                linked_files.names.append(child.name)
                linked_files.sizes.append(info.st_size)
                linked_files.mtimes.append(info.st_mtime_ns)
            elif is_link:
                linked.append((child.path, rel_path + "/", (info.st_dev, info.st_ino), target))
            elif (info.st_dev, info.st_ino) not in visited:
                visited.add((info.st_dev, info.st_ino))
                subdirs.append((child.path, rel_path + "/"))
        if linked_files.names:
            yield linked_files
        pending.extend(reversed(subdirs))  # popped from the end: in name order


def discover(root: Path) -> tuple[list[FileEntry], list[LoadIssue]]:
    """Every ``*.md`` and ``*.txt`` file under ``root``, sorted by path, and the problems met
    (see :func:`scan`)."""
    issues: list[LoadIssue] = []
    entries = [FileEntry(*found) for found in sorted(scan(root, issues))]
    log.debug("discovered %d article files under %s (%d issues)", len(entries), root, len(issues))
    return entries, issues


#: Compare a listing's numbers in blocks of this many entries (one memcmp each), then one by one.
_BLOCK = 256


@dataclass(eq=False)
class Listing:
    """A stat scan in compact form, in the order the filesystem lists files.

    One buffer and two arrays rather than a tuple per file: it is taken on every reindex, and at
    100,000 files tuples would leave megabytes of small objects behind in a long-running bot,
    while these are given back whole when freed. They are also what the index stores to compare
    the next scan with (:meth:`changed_since`).
    """

    paths: bytes | bytearray = field(default_factory=bytearray)  # UTF-8 (surrogateescape), NUL after each
    sizes: array[int] = field(default_factory=lambda: array("q"))
    mtimes: array[int] = field(default_factory=lambda: array("q"))
    issues: list[LoadIssue] = field(default_factory=list)
    _digest: str = ""
    _paths_hash: str = ""

    def __len__(self) -> int:
        return len(self.sizes)

    def digest(self) -> str:
        """Equal for identical scans (files, sizes, mtimes, order and problems met)."""
        if not self._digest:
            digest = hashlib.blake2b(self.paths_hash().encode(), digest_size=16)
            for part in (self.sizes, self.mtimes):
                digest.update(len(part).to_bytes(8, "little"))
                digest.update(part)
            for issue in self.issues:
                digest.update(f"{issue.path}\0{issue.severity}\0{issue.reason}\n".encode(errors="surrogateescape"))
            self._digest = digest.hexdigest()
        return self._digest

    def paths_hash(self) -> str:
        """Equal for scans that list the same paths in the same order."""
        if not self._paths_hash:
            self._paths_hash = hashlib.blake2b(self.paths, digest_size=16).hexdigest()
        return self._paths_hash

    def rel_paths(self) -> list[str]:
        return self.paths.decode(errors="surrogateescape").split("\0")[:-1]

    def changed_since(self, before: Listing) -> list[int] | None:
        """Positions whose size or mtime differ from ``before``, if both list exactly the same
        paths in the same order (files edited in place); ``None`` otherwise."""
        if self.paths != before.paths:
            return None
        changed: set[int] = set()
        for mine, theirs in ((self.sizes, before.sizes), (self.mtimes, before.mtimes)):
            a, b = mine.tobytes(), theirs.tobytes()
            width = _BLOCK * mine.itemsize
            for start in range(0, len(a), width):
                if a[start : start + width] != b[start : start + width]:
                    first = start // mine.itemsize
                    changed.update(i for i in range(first, min(first + _BLOCK, len(mine))) if mine[i] != theirs[i])
        return sorted(changed)

    def numbers(self) -> tuple[bytes, bytes]:
        """``sizes`` and ``mtimes`` as stored: little-endian int64."""
        return _little_endian(self.sizes), _little_endian(self.mtimes)

    @classmethod
    def stored(cls, paths: bytes, sizes: bytes, mtimes: bytes, digest: str) -> Listing:
        """A listing as stored: ``paths``, :meth:`numbers` and :meth:`digest` (the problems met
        are not kept; the digest covers them)."""
        return cls(paths, _from_little_endian(sizes), _from_little_endian(mtimes), [], digest)


def _little_endian(values: array[int]) -> bytes:
    if sys.byteorder == "little":
        return values.tobytes()
    swapped = array("q", values)
    swapped.byteswap()
    return swapped.tobytes()


def _from_little_endian(blob: bytes) -> array[int]:
    values = array("q")
    values.frombytes(blob)
    if sys.byteorder != "little":
        values.byteswap()
    return values


def listing(root: Path) -> Listing:
    """:func:`scan` as a :class:`Listing`."""
    paths, sizes, mtimes = bytearray(), array("q"), array("q")
    issues: list[LoadIssue] = []
    for prefix, names, batch_sizes, batch_mtimes in _scan_directories(root, issues):
        separator = "\0" + prefix
        paths += (prefix + separator.join(names) + "\0").encode(errors="surrogateescape")
        sizes.extend(batch_sizes)
        mtimes.extend(batch_mtimes)
    return Listing(paths, sizes, mtimes, issues)
