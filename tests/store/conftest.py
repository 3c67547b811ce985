"""Helpers for the store tests: article text builders and the real-corpus location."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO / ".." / "shared"
CORPUS = SHARED / "corpus" / "real"
SEED = SHARED / "seed" / "000_c1840662fd681368.txt"

# A valid article in the generator's layout. Values are raw YAML text; a value starting with a
# newline is a nested block.
BASE_FIELDS: dict[str, str] = {
    "category": "news",
    "title": '"Example Widgets ships version two"',
    "excerpt": '"The widget maker released a new version with faster gears."',
    "publishedDateTime": "2024-03-01T10:30:00Z",
    "originalUrl": '"https://www.example.org/news/widgets-two"',
    "webUrl": '"https://www.example.org/news/widgets-two"',
    "type": "article",
    "quality": "57",
    "heat": "12",
    "published": "true",
    "provider": "\n  name: Example Daily\n  domain: example.org",
    "topics": "\n  - Widgets\n  - Gears",
    "secured": '"ZmFrZS1zZWNyZXQ=;ZmFrZQ=="',
}


def front_matter(**overrides: str | None) -> str:
    """A whole article file: BASE_FIELDS with ``overrides`` applied (``None`` removes a key)."""
    fields = {**BASE_FIELDS, **overrides}
    lines = ["---"]
    for key, value in fields.items():
        if value is None:
            continue
        lines.append(f"{key}:{value}" if value.startswith("\n") else f"{key}: {value}")
    lines.append("---")
    return "\n".join(lines) + "\n"


def related_yaml(*entries: dict[str, str]) -> str:
    """A ``related`` block value from entries of raw YAML values (flat keys only)."""
    lines = [""]
    for entry in entries:
        first = True
        for key, value in entry.items():
            lines.append(f"  {'- ' if first else '  '}{key}: {value}")
            first = False
    return "\n".join(lines)


@pytest.fixture(scope="session")
def corpus_root() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"../shared/corpus/real not present: expected at {CORPUS.resolve()}")
    return CORPUS


@dataclass(frozen=True)
class RawFile:
    """A corpus file read without the loader: its front matter text and PyYAML's reading of it."""

    front_matter: str
    data: dict[str, Any]


@pytest.fixture(scope="session")
def corpus_raw(corpus_root: Path) -> dict[str, RawFile]:
    """Every corpus file by relative path, split with plain string operations."""
    found: dict[str, RawFile] = {}
    for path in sorted(corpus_root.rglob("*.md")):
        text = path.read_text("utf-8")
        assert text.startswith("---\n")
        front_matter = text[4 : text.index("\n---\n", 3) + 1]
        data = yaml.load(front_matter, Loader=yaml.CSafeLoader)
        assert isinstance(data, dict)
        found[path.relative_to(corpus_root).as_posix()] = RawFile(front_matter, data)
    assert len(found) >= 1000
    return found
