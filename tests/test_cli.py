"""The offline command line, run as a user would: `python -m bot ...` in a subprocess."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.store.loader import load_directory
from tests.content.test_indexing import article_text

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


# --- a folder of every kind of bad entry ----------------------------------------------------------

#: check and index must finish well within this on a handful of files, on a busy machine too.
HOSTILE_SECONDS = 60


def hostile_folder(root: Path) -> dict[str, str]:
    """Every kind of bad entry at once, beside good articles. Returns, for each bad entry, the
    start of the line that must name it (its escaped path and reason)."""
    root.mkdir()
    good = article_text("Good widgets", "https://example.org/good")
    (root / "good.md").write_text(good)
    (root / "folder.md").mkdir()  # a directory with an article name is just a directory
    (root / "folder.md" / "inner.md").write_text(article_text("Inner widgets", "https://example.org/inner"))
    expected = {
        "fifo.md": "fifo.md: not a regular file but a named pipe (FIFO)",
        "sock.md": "sock.md: not a regular file but a socket",
        "bad-name": "bad\\xff\\xfe.md: name is not valid UTF-8 text",
        "escape": "esc\\x1b[31mred.md: name contains a control character (U+001B)",
        "fake-line": "nl\\nfake.md: line.md: name contains a control character (U+000A)",
        "huge.md": "huge.md:9: 'quality' must be from 0 to 164, got 1000000000000000000000000000000",
        "float.md": "float.md:10: 'heat' must be from -1 to 2,147,483,647, got ",
        "js.md": "js.md:7: no usable link: 'webUrl' is not an http(s) link ('javascript')",
        "data.md": "data.md:7: no usable link: 'webUrl' is not an http(s) link ('data')",
        "dangling.md": "dangling.md: broken link or unreadable entry",
        "outside.md": "outside.md: link leads outside the content directory",
        "empty.md": "empty.md: empty file",
        "binary.md": "binary.md:1: binary file",
    }
    os.mkfifo(root / "fifo.md")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(root / "sock.md"))
    server.close()  # the socket file stays
    with open(os.path.join(os.fsencode(root), b"bad\xff\xfe.md"), "wb") as handle:
        handle.write(good.replace("example.org/good", "example.org/bad-name").encode())
    (root / "esc\x1b[31mred.md").write_text(good.replace("/good", "/escape"))
    (root / "nl\nfake.md: line.md").write_text(good.replace("/good", "/fake-line"))
    (root / "huge.md").write_text(article_text("Huge", "https://example.org/huge", quality=10**30))
    (root / "float.md").write_text(
        article_text("Float", "https://example.org/float").replace("heat: -1", "heat: 1.0e+300")
    )
    (root / "js.md").write_text(article_text("Script", "javascript:alert(1)"))
    (root / "data.md").write_text(article_text("Data", "data:text/html,hi"))
    (root / "dangling.md").symlink_to("nowhere.md")
    (root / "outside.md").symlink_to("/etc/hostname")
    (root / "empty.md").write_text("")
    (root / "binary.md").write_bytes(bytes(range(256)) * 8)
    try:
        os.mknod(root / "zero.md", 0o600 | stat.S_IFCHR, os.makedev(1, 5))  # /dev/zero: reading never ends
        expected["zero.md"] = "zero.md: not a regular file but a character device"
    except OSError:
        pass  # not permitted here
    locked = root / "locked.md"
    locked.write_text(article_text("Locked widgets", "https://example.org/locked"))
    locked.chmod(0)
    if not os.access(locked, os.R_OK):  # as root it is readable and simply indexed
        expected["locked.md"] = "locked.md: cannot read file: Permission denied"
    return expected


def run_bounded(*args: str, db: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSBOT_", "DISCORD_"))}
    env.update(NEWSBOT_DATABASE_URL=f"sqlite:///{db}")
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=HOSTILE_SECONDS
    )
    return done, time.monotonic() - started


def test_check_and_index_finish_on_every_kind_of_bad_entry_and_name_each_one(tmp_path: Path) -> None:
    content = tmp_path / "content"
    expected = hostile_folder(content)
    db = tmp_path / "db.sqlite3"
    for command in ("check", "index"):
        done, seconds = run_bounded(command, str(content), db=db)
        assert seconds < HOSTILE_SECONDS
        assert done.returncode == 1, done.stderr
        assert "Traceback" not in done.stderr
        lines = done.stdout.splitlines()
        # One line per bad entry, each naming it: no escape sequence or fake line got through.
        assert len(lines) == len(expected), done.stdout
        assert all(line.isprintable() for line in lines)
        for entry, start in expected.items():
            assert any(line.startswith(start) for line in lines), (command, entry, done.stdout)
    hits = json.loads(newsbot("search", "widgets", "--json", db=db).stdout)
    readable = [] if "locked.md" in expected else ["locked"]
    assert sorted(hit["id"] for hit in hits) == sorted(["good", "inner", *readable])


# --- worker processes do not outlive a killed run ---------------------------------------------------


def descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry))
    found: set[int] = set()
    pending = [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            if child not in found:
                found.add(child)
                pending.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; only its parent (now init) has not collected it


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_killed_index_run_leaves_no_worker_or_resource_tracker_behind(tmp_path: Path) -> None:
    content = tmp_path / "content"
    content.mkdir()
    for number in range(8000):
        (content / f"n{number:05d}.md").write_text(article_text(f"Story {number}", f"https://example.org/{number}"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSBOT_", "DISCORD_"))}
    env.update(NEWSBOT_DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    run = subprocess.Popen(
        [sys.executable, "-m", "bot", "index", str(content)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    left: set[int] = set()
    workers: set[int] = set()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and run.poll() is None:
            workers = {pid for pid in descendants(run.pid) if "multiprocessing" in cmdline(pid)}
            if any("spawn_main" in cmdline(pid) for pid in workers):
                break
            time.sleep(0.02)
        assert run.poll() is None, "the run ended before its workers were seen: use a larger folder"
        assert workers, "no worker processes started"
        workers = descendants(run.pid)  # all of them, whatever started since
        os.kill(run.pid, signal.SIGKILL)
        run.wait(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            left = {pid for pid in workers if alive(pid)}
            if not left:
                break
            time.sleep(0.1)
        assert not left, [cmdline(pid) for pid in left]
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
        for pid in workers:  # never leave them running, even when the test fails
            if alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
