"""The benchmark's synthetic stores must look like real content to the real loader, or the
benchmark measures something the bot never sees."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # ``bench`` is not an installed package; plain ``pytest`` needs this
    sys.path.insert(0, str(REPO))

from bench.synth import (  # noqa: E402
    COMMON_WORDS,
    SynthStore,
    ensure_store,
    generate,
    modified_files,
    restore,
    rewrite_titles,
)
from bot.store.loader import parse_article  # noqa: E402
from bot.store.models import Article  # noqa: E402
from bot.store.urls import normalize_url  # noqa: E402

N = 300


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> SynthStore:
    return generate(N, tmp_path_factory.mktemp("synth") / "store", seed=7)


@pytest.fixture(scope="module")
def articles(store: SynthStore) -> list[Article]:
    parsed = []
    for info in store.files:
        article, issues = parse_article((store.content / info.path).read_bytes(), info.path)
        assert article is not None, f"{info.path}: {[str(i) for i in issues]}"
        assert [i for i in issues if i.severity == "error"] == []
        parsed.append(article)
    return parsed


def test_every_requested_file_is_written_and_accepted_by_the_loader(store: SynthStore, articles: list[Article]) -> None:
    on_disk = sorted(p.relative_to(store.content).as_posix() for p in store.content.rglob("*.md"))
    assert on_disk == sorted(f.path for f in store.files)
    assert len(articles) == N
    published = sum(a.published for a in articles) / N
    assert 0.2 < published < 0.4  # the real corpus: 30%
    videos = [a for a in articles if a.type == "video"]
    assert all(a.url == a.original_url for a in videos)  # no webUrl: the loader falls back


def test_related_links_resolve_to_other_generated_files(articles: list[Article]) -> None:
    by_url = {normalize_url(a.url): a for a in articles}
    refs = [(a, r) for a in articles for r in a.related if r.url]
    resolved = [(a, by_url[normalize_url(r.url)]) for a, r in refs if normalize_url(r.url) in by_url]
    assert len(resolved) / len(refs) > 0.6  # the real corpus: about 77%
    assert sum(source.url != target.url for source, target in resolved) / len(resolved) > 0.95
    lengths = sorted(len(a.related) for a in articles)
    assert lengths[-1] >= 100  # some lists are very long, as in the real corpus
    assert 5 <= lengths[len(lengths) * 3 // 4] <= 70


def test_common_words_are_in_most_articles_and_rare_words_in_few(store: SynthStore, articles: list[Article]) -> None:
    token_sets = [set(re.findall(r"[a-z0-9]+", f"{a.title} {a.excerpt}".lower())) for a in articles]
    for word in COMMON_WORDS:
        share = sum(word in tokens for tokens in token_sets) / N
        assert share > 0.5, word
        assert share == pytest.approx(store.word_df[word])
    for word in store.rare_words[:20]:
        assert 1 <= sum(word in tokens for tokens in token_sets) <= 5, word


def test_duplicates_share_a_url_under_another_file_name(store: SynthStore, articles: list[Article]) -> None:
    copies = [(i, f.duplicate_of) for i, f in enumerate(store.files) if f.duplicate_of is not None]
    assert copies
    for copy, original in copies:
        assert articles[copy].url == articles[original].url
        assert store.files[copy].path != store.files[original].path


def test_same_seed_same_bytes_and_a_finished_store_is_reused(store: SynthStore, tmp_path: Path) -> None:
    again, reused = ensure_store(N, seed=7, base=tmp_path)
    assert not reused
    for info in store.files[::37]:
        assert (again.content / info.path).read_bytes() == (store.content / info.path).read_bytes()
    _, reused = ensure_store(N, seed=7, base=tmp_path)
    assert reused


def test_rewritten_titles_are_seen_by_the_loader_and_restored(tmp_path: Path) -> None:
    small, _ = ensure_store(60, seed=3, base=tmp_path)
    changed = rewrite_titles(small, 5, tag="rev 1")
    assert len(changed) == 5
    for item in changed:
        article, _ = parse_article(item.path.read_bytes(), item.path.name)
        assert article is not None
        assert article.title.endswith("(rev 1)")
        assert item.title.endswith("(rev 1)")
    assert sorted(modified_files(small)) == sorted(str(c.path.relative_to(small.content)) for c in changed)
    restore(small, changed)
    assert all(c.path.read_bytes() == c.original for c in changed)
    assert modified_files(small) == []
    _, reused = ensure_store(60, seed=3, base=tmp_path)
    assert reused


def test_a_store_changed_by_someone_else_is_generated_again(tmp_path: Path) -> None:
    small, _ = ensure_store(60, seed=3, base=tmp_path)
    changed = rewrite_titles(small, 5, tag="rev 2")  # and never restored, as if the run died
    _, reused = ensure_store(60, seed=3, base=tmp_path)
    assert not reused
    assert all(c.path.read_bytes() == c.original for c in changed)
    victim = small.content / small.files[7].path
    victim.write_bytes(victim.read_bytes())  # same bytes, but touched behind the benchmark's back
    _, reused = ensure_store(60, seed=3, base=tmp_path)
    assert not reused
