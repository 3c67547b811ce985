"""The seed article (../shared/seed): the first real file the project was built around."""

from __future__ import annotations

import pytest
import yaml

from bot.store.loader import parse_article
from tests.store.conftest import SEED


def test_seed_article() -> None:
    if not SEED.is_file():
        pytest.skip(f"../shared/seed not present: expected {SEED.resolve()}")
    raw = SEED.read_bytes()
    article, issues = parse_article(raw, "_news/000_c1840662fd681368.txt")
    assert issues == []
    assert article is not None
    assert article.id == "000_c1840662fd681368"
    assert article.title == "AI-driven Facial Recognition: Repression And Innovation"
    assert article.topics == ("Computer Vision", "AI")
    assert article.published is False
    assert len(article.related) == 2
    assert any("Türk" in ref.excerpt for ref in article.related)
    assert not any("Ã" in ref.excerpt for ref in article.related)
    text = raw.decode("utf-8")
    secured = yaml.safe_load(text[4 : text.index("\n---\n", 3)])["secured"]
    assert article.secured == secured
    assert secured not in repr(article)
