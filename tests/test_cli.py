"""The offline command line, run as a user would: `python -m bot ...` in a subprocess."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.store.loader import load_directory

ROOT = Path(__file__).resolve().parents[1]
CONTENT = ROOT / "content"
CORPUS = ROOT.parent / "shared" / "corpus" / "real"


def newsbot(
    *args: str, db: Path, content: Path = CONTENT, extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSBOT_", "DISCORD_"))}
    env.update(NEWSBOT_DATABASE_URL=f"sqlite:///{db}", NEWSBOT_CONTENT_DIR=str(content), **(extra or {}))
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def test_check_accepts_the_bundled_content(tmp_path: Path) -> None:
    done = newsbot("check", db=tmp_path / "db.sqlite3")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == ""
    assert "0 rejected" in done.stderr


def test_check_names_each_rejected_file_with_its_reason_and_exits_1(tmp_path: Path) -> None:
    content = tmp_path / "content"
    shutil.copytree(CONTENT, content)
    (content / "bad-yaml.md").write_text("---\ntitle: [unclosed\n---\n", encoding="utf-8")
    (content / "no-date.md").write_text('---\ntitle: "Hi"\nwebUrl: "https://example.org/x"\n---\n', encoding="utf-8")
    (content / "binary.md").write_bytes(b"---\ntitle: \x00\x01\n---\n")
    done = newsbot("check", str(content), db=tmp_path / "db.sqlite3")
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert len(lines) == 3, done.stdout
    by_file = {line.split(":", 1)[0]: line for line in lines}
    assert "YAML" in by_file["bad-yaml.md"]
    assert re.match(r"bad-yaml\.md:[23]: ", by_file["bad-yaml.md"]), "the line is given"
    assert "publishedDateTime" in by_file["no-date.md"]
    assert "binary" in by_file["binary.md"].lower() or "NUL" in by_file["binary.md"]
    assert "Traceback" not in done.stderr


def test_check_on_a_missing_directory_is_one_line(tmp_path: Path) -> None:
    done = newsbot("check", str(tmp_path / "nope"), db=tmp_path / "db.sqlite3")
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "does not exist" in done.stderr


def test_queries_before_indexing_say_what_to_do(tmp_path: Path) -> None:
    done = newsbot("topics", db=tmp_path / "db.sqlite3")
    assert done.returncode != 0
    assert "run `newsbot index` first" in done.stderr


def test_index_then_query_with_json_ids_that_round_trip(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite3"
    indexed = newsbot("index", db=db)
    assert indexed.returncode == 0, indexed.stderr
    published = [a for a in load_directory(CONTENT).articles if a.published]
    assert f"{len(load_directory(CONTENT).articles)} added" in indexed.stderr

    topics = json.loads(newsbot("topics", "--json", db=db).stdout)
    expected: dict[str, int] = {}
    for article in published:
        for topic in article.topics:
            expected[topic] = expected.get(topic, 0) + 1
    assert {t["name"]: t["count"] for t in topics} == expected

    hits = json.loads(newsbot("search", "solar batteries", "--json", db=db).stdout)
    assert hits and "batter" in (hits[0]["title"] + hits[0]["excerpt"]).lower()
    shown = json.loads(newsbot("article", hits[0]["id"], "--json", db=db).stdout)
    assert shown["url"] == hits[0]["url"]
    assert "secured" not in shown

    linked = next(a for a in published if a.related)
    related = json.loads(newsbot("related", linked.id, "--json", db=db).stdout)
    assert related and all("url" in r for r in related)
    in_store = [r for r in related if r["in_store"]]
    for r in in_store:
        assert newsbot("article", r["id"], db=db).returncode == 0

    scoped = json.loads(newsbot("search", "open", "--topic", "security", "--limit", "3", "--json", db=db).stdout)
    assert 0 < len(scoped) <= 3 and all("Security" in r["topics"] for r in scoped)


def test_bad_options_get_one_line_and_no_traceback(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite3"
    newsbot("index", db=db)
    unknown = newsbot("search", "x", "--topic", "Underwater Basket Weaving", db=db)
    assert unknown.returncode == 1 and "unknown topic" in unknown.stderr
    missing = newsbot("article", "no-such-article", db=db)
    assert missing.returncode == 1 and "no article with id" in missing.stderr
    limit = newsbot("search", "x", "--limit", "0", db=db)
    assert limit.returncode == 2 and "from 1 to 100" in limit.stderr
    bad_env = newsbot("topics", db=db, extra={"NEWSBOT_INCLUDE_UNPUBLISHED": "maybe"})
    assert bad_env.returncode == 2 and "NEWSBOT_INCLUDE_UNPUBLISHED" in bad_env.stderr
    for done in (unknown, missing, limit, bad_env):
        assert "Traceback" not in done.stderr


def test_include_unpublished_serves_every_article(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite3"
    newsbot("index", db=db)
    hidden = next(a for a in load_directory(CONTENT).articles if not a.published)
    assert newsbot("article", hidden.id, db=db).returncode == 1
    shown = newsbot("article", hidden.id, db=db, extra={"NEWSBOT_INCLUDE_UNPUBLISHED": "true"})
    assert shown.returncode == 0 and hidden.title[:20] in shown.stdout


@pytest.mark.corpus
def test_check_accepts_the_whole_real_corpus(tmp_path: Path) -> None:
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus/real is not present: the real-corpus checks need it beside the repo")
    done = newsbot("check", str(CORPUS), db=tmp_path / "db.sqlite3")
    assert done.returncode == 0, done.stdout[:2000]
    assert "3000 files checked" in done.stderr and "0 rejected" in done.stderr
