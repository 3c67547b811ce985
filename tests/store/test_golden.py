"""Golden files: each input under golden/ and the normalised record it must produce.

To accept a deliberate change of output, regenerate the expectations and review the diff:

    NEWSBOT_REGEN_GOLDEN=1 .venv/bin/python -m pytest tests/store/test_golden.py
"""

from __future__ import annotations

import dataclasses
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from bot.store.loader import parse_article
from bot.store.models import Article, LoadIssue

GOLDEN = Path(__file__).resolve().parent / "golden"
INPUTS = sorted(path for path in GOLDEN.iterdir() if path.suffix in (".md", ".txt"))
REGENERATE = os.environ.get("NEWSBOT_REGEN_GOLDEN") == "1"


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    return value


def snapshot(article: Article | None, issues: list[LoadIssue]) -> dict[str, Any]:
    """Everything a consumer of the loader sees, as plain JSON."""
    return {
        "article": _jsonable(dataclasses.asdict(article)) if article is not None else None,
        "issues": [{"severity": issue.severity, "reason": issue.reason, "line": issue.line} for issue in issues],
    }


def test_there_are_golden_inputs() -> None:
    assert len(INPUTS) >= 8


@pytest.mark.parametrize("source", INPUTS, ids=[path.name for path in INPUTS])
def test_golden(source: Path) -> None:
    article, issues = parse_article(source.read_bytes(), source.name)
    actual = snapshot(article, issues)
    expected_path = source.with_name(source.name + ".json")
    if REGENERATE:
        expected_path.write_text(json.dumps(actual, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if not expected_path.exists():
        pytest.fail(f"{expected_path.name} is missing; run with NEWSBOT_REGEN_GOLDEN=1 and review it")
    assert actual == json.loads(expected_path.read_text(encoding="utf-8"))
