"""Finding article files under the content directory (stat only, no parsing)."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from bot.store.models import LoadIssue

__all__ = ["ARTICLE_SUFFIXES", "FileEntry", "discover"]

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


def _is_article_name(name: str) -> bool:
    # endswith on the folded name, not splitext: this runs once per file on every scan, and
    # splitext was a fifth of a 100k-file scan. Hidden names (".md") never get here.
    return name.lower().endswith(_SUFFIX_TUPLE)


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def discover(root: Path) -> tuple[list[FileEntry], list[LoadIssue]]:
    """Every ``*.md`` and ``*.txt`` file under ``root``, sorted by path, and the problems met.

    Hidden files and directories (names starting with ``.``) and ``_site*`` directories are
    skipped. Links are followed only while they stay inside ``root``: a link leading outside is
    reported as an error and not followed, a broken link likewise. Each directory is scanned once
    (real paths before linked ones); a second route to it, such as a link loop, is skipped with a
    warning, so loops cannot make the scan run forever.
    """
    real_root = os.path.realpath(root)
    entries: list[FileEntry] = []
    issues: list[LoadIssue] = []
    try:
        root_stat = os.stat(real_root)
    except OSError as exc:
        return [], [LoadIssue(".", f"cannot read the content directory: {exc.strerror}")]
    visited = {(root_stat.st_dev, root_stat.st_ino)}
    pending: list[tuple[str, str]] = [(str(root), "")]
    # Linked directories wait until every real one is scanned, so a file reachable both ways keeps
    # the path where it really lives.
    linked: list[tuple[str, str, tuple[int, int], str]] = []
    while pending or linked:
        if pending:
            directory, prefix = pending.pop()
        else:
            directory, prefix, key, target = linked.pop(0)
            if key in visited:
                issues.append(
                    LoadIssue(prefix.rstrip("/"), f"link leads to a directory already scanned: -> {target}", "warning")
                )
                continue
            visited.add(key)
        try:
            with os.scandir(directory) as scan:
                children = sorted(scan, key=lambda entry: entry.name)
        except OSError as exc:
            issues.append(LoadIssue(prefix.rstrip("/") or ".", f"cannot read directory: {exc.strerror}"))
            continue
        for child in children:
            if _skipped(child.name):
                continue
            rel_path = prefix + child.name
            target = ""
            try:
                is_link = child.is_symlink()
                if is_link:
                    target = os.path.realpath(child.path)
                    if not _inside(target, real_root):
                        if _is_article_name(child.name) or os.path.isdir(target):
                            issues.append(LoadIssue(rel_path, f"link leads outside the content directory: -> {target}"))
                        continue
                is_dir = child.is_dir()
                if not is_dir and not _is_article_name(child.name):
                    continue
                info = child.stat()
            except OSError as exc:
                issues.append(LoadIssue(rel_path, f"broken link or unreadable entry: {exc.strerror}"))
                continue
            if not is_dir:
                entries.append(FileEntry(rel_path=rel_path, size=info.st_size, mtime_ns=info.st_mtime_ns))
            elif is_link:
                linked.append((child.path, rel_path + "/", (info.st_dev, info.st_ino), target))
            elif (info.st_dev, info.st_ino) not in visited:
                visited.add((info.st_dev, info.st_ino))
                pending.append((child.path, rel_path + "/"))
    entries.sort(key=lambda entry: entry.rel_path)
    log.debug("discovered %d article files under %s (%d issues)", len(entries), root, len(issues))
    return entries, issues
