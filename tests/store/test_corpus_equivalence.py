"""The real corpus parses to exactly the same articles and issues with and without the fast paths.

The reference is the same files parsed with every shortcut switched off (the pass-by-pass text
cleaning, the regex front-matter split, fresh providers, no related-entry memo: see
``test_fastpaths``), compared field by field with types, ``secured`` included (which ``==`` on an
article ignores).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from bot.store import fields, loader
from bot.store.loader import ParsedFile, parse_files
from tests.store import test_fastpaths

pytestmark = pytest.mark.corpus


def canonical(value: Any) -> Any:
    """``value`` as nested tuples of type names and values: every dataclass field, types included."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (type(value).__name__, *((f.name, canonical(getattr(value, f.name))) for f in dataclasses.fields(value)))
    if isinstance(value, list | tuple):
        return (type(value).__name__, *(canonical(item) for item in value))
    return (type(value).__name__, value)


@pytest.fixture(scope="module")
def rel_paths(corpus_root: Path) -> list[str]:
    return sorted(path.relative_to(corpus_root).as_posix() for path in corpus_root.rglob("*.md"))


@pytest.fixture(scope="module")
def fast(corpus_root: Path, rel_paths: list[str]) -> list[ParsedFile]:
    return parse_files(corpus_root, rel_paths)


def test_corpus_matches_the_reference_without_shortcuts(
    corpus_root: Path, rel_paths: list[str], fast: list[ParsedFile], monkeypatch: pytest.MonkeyPatch
) -> None:
    def reference_split(text: str) -> tuple[str, str]:
        split = test_fastpaths.reference_split(text)
        assert not isinstance(split, str)  # every corpus file has front matter
        return split

    monkeypatch.setattr(loader, "parse_with_related_cache", lambda front_matter: None)
    monkeypatch.setattr(loader, "split_front_matter", reference_split)
    monkeypatch.setattr(fields, "clean_text", test_fastpaths.reference_clean_text)
    monkeypatch.setattr(fields, "_make_provider", test_fastpaths.reference_provider)
    reference = parse_files(corpus_root, rel_paths)
    assert len(reference) == len(fast) == 3000
    for got, expected in zip(fast, reference, strict=True):
        assert canonical(got) == canonical(expected), got[0]
