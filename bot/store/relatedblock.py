"""Memoised parsing of ``related`` entries, which repeat verbatim across files.

Each ``related`` entry is a copy of another article written by the same generator, so the same
block of text appears in many files (in the real corpus, 66,403 entries are 3,349 distinct texts)
and makes up most of each file. :func:`split_related_block` cuts the top-level ``related:`` block
out of the front matter, textually, into one chunk per list item, and
:func:`parse_with_related_cache` turns chunks into entries through a cache keyed by the chunk's
exact text. A chunk the cache has not seen goes through :mod:`bot.store.relatedfast` (one regex for
the generator's fixed layout, which nearly every entry is in) and, when that declines, through
:func:`bot.store.fastyaml.parse_simple_yaml`; both give the same entry.

This is only an optimisation with a strict fallback: YAML block structure is local (an item of a
block sequence is exactly the lines from its ``- `` to the next ``- `` at the same indentation), so
parsing an item on its own gives what parsing the whole document gives. Whenever the text is not
in the plain shape this relies on, both functions return ``None`` and the caller parses the whole
front matter normally, which is also where errors (with their line numbers) come from.
"""

from __future__ import annotations

import re
from itertools import islice
from typing import Any, Final

from bot.store.fastyaml import parse_simple_yaml
from bot.store.fields import RelatedEntry, related_entry
from bot.store.relatedfast import related_data

__all__ = ["parse_with_related_cache", "split_related_block"]

_RELATED_KEY_RE = re.compile(r"^related: *\n", re.M)
# The block ends at the first line starting in column 0 that is not blank and not a comment.
_BLOCK_END_RE = re.compile(r"\n(?=[^ \n#])")
_ITEM_INDENT_RE = re.compile(r"( +)- ")
_CACHE_MAX: Final = 8192  # entries of roughly 1 KiB; files are usually read in date order
# When full, the oldest quarter goes: entries inserted recently are the ones nearby files repeat.
_CACHE_EVICT: Final = _CACHE_MAX // 4
_UNUSABLE: Final = object()
_MISSING: Final = object()
_CACHE: dict[tuple[int, str], object] = {}


def _search_related_key(front_matter: str, start: int = 0) -> re.Match[str] | None:
    """``_RELATED_KEY_RE.search(front_matter, start)``, without trying the regex at every position
    (a multi-line ``^`` has no literal prefix for the regex engine to skip ahead to)."""
    if start == 0 or front_matter[start - 1] == "\n":
        match = _RELATED_KEY_RE.match(front_matter, start)
        if match is not None:
            return match
    position = front_matter.find("\nrelated:", start)
    while position >= 0:
        match = _RELATED_KEY_RE.match(front_matter, position + 1)
        if match is not None:
            return match
        position = front_matter.find("\nrelated:", position + 1)
    return None


def split_related_block(front_matter: str) -> tuple[str, int, list[str]] | None:
    """Split ``front_matter`` into everything but the ``related`` block, the indentation of the
    block's ``- `` markers, and the text of each item (without its marker).

    Returns ``None`` unless there is exactly one top-level ``related:`` line followed by a block
    sequence indented by at least one space.
    """
    match = _search_related_key(front_matter)
    if match is None:
        return None
    start = match.end()
    end_match = _BLOCK_END_RE.search(front_matter, start - 1)
    end = end_match.start() + 1 if end_match else len(front_matter)
    # A second ``related:`` line cannot be inside the block (it would have ended it), only after it.
    if _search_related_key(front_matter, end) is not None:
        return None
    first = start  # the first item, after any blank lines
    while first < end and front_matter[first] == "\n":
        first += 1
    indent_match = _ITEM_INDENT_RE.match(front_matter, first, end)
    if indent_match is None:
        return None
    indent = indent_match.group(1)
    # Cut from the line break before the first item, so that every item follows a separator.
    chunks = front_matter[first - 1 : end].split("\n" + indent + "- ")
    if chunks[0]:
        return None
    return front_matter[: match.start()] + front_matter[end:], len(indent), chunks[1:]


def _parse_chunk(chunk: str, indent: int) -> object:
    lines = chunk.split("\n")
    prefix = " " * indent
    dedented = [lines[0]]
    for line in lines[1:]:
        if line.startswith(prefix):
            dedented.append(line[indent:])
        elif line.strip(" ") and not line.lstrip(" ").startswith("#"):
            return _UNUSABLE  # less indented than the item: not a plain block sequence
        else:
            dedented.append("")
    data = parse_simple_yaml("\n".join(dedented))
    if data is None:
        return _UNUSABLE
    return related_entry(data)


def _parse_chunk_fast(chunk: str, indent: int) -> object:
    """What :func:`_parse_chunk` returns, through :mod:`bot.store.relatedfast` when the item is in
    the generator's layout (almost always) and :func:`_parse_chunk` itself otherwise."""
    data = related_data(chunk, indent)
    if data is None:
        return _parse_chunk(chunk, indent)
    return related_entry(data)


def _related_entries(chunks: list[str], indent: int) -> list[RelatedEntry] | None:
    entries: list[RelatedEntry] = []
    cache = _CACHE
    content_indent = indent + 2
    for chunk in chunks:
        key = (content_indent, chunk)
        entry = cache.get(key, _MISSING)
        if entry is _MISSING:
            entry = _parse_chunk_fast(chunk, content_indent)
            if len(cache) >= _CACHE_MAX:
                for old in list(islice(cache, _CACHE_EVICT)):
                    cache.pop(old, None)  # another thread may have evicted it already
            cache[key] = entry
        if entry is _UNUSABLE:
            return None
        entries.append(entry)  # type: ignore[arg-type]
    return entries


def parse_with_related_cache(front_matter: str) -> tuple[dict[Any, Any], list[RelatedEntry]] | None:
    """The front matter without ``related`` and the ``related`` entries, or ``None`` ("parse it
    the normal way").

    Every part must be within :mod:`bot.store.fastyaml`'s subset, where each line stands on its
    own (no multi-line scalars), which is what makes cutting the document into parts exact.
    """
    split = split_related_block(front_matter)
    if split is None:
        return None
    head, indent, chunks = split
    entries = _related_entries(chunks, indent)
    if entries is None:
        return None
    data = parse_simple_yaml(head)
    if not isinstance(data, dict) or "related" in data:
        return None
    return data, entries
