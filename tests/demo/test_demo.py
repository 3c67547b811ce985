"""`make demo` without a terminal: the scripted tour of every command, through the emulator."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_scripted_demo_tours_every_command_with_zero_violations(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "NEWSBOT_"))}
    env["NEWSBOT_DATABASE_URL"] = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    env["NEWSBOT_CONTENT_DIR"] = str(ROOT / "content")
    for run in range(2):  # the second run finds the index up to date and a fresh emulator
        done = subprocess.run(
            [sys.executable, "-m", "bot", "demo"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        out = done.stdout
        for step in ["/news topics", "/news topic name:Space", "/news search", "/news latest", "/news article"]:
            assert f"> {step}" in out, step
        assert "Related news" in out and "Did you mean" in out and "Nothing matches" in out
        assert "posted in #news" in out, "the Share button posted publicly"
        for step in ["/alert add", "/alert list", "/follow add", "/follow list", "arrive", "/alert why"]:
            assert f"> {step}" in out, step
        # What the new article caused, up to the next step: the alert's card and its thread, the DM.
        arrival = out.split("> arrive", 1)[1].split("\n> ", 1)[0]
        assert "reindexed: 1 new" in arrival
        card, rest = arrival.split("posted in #news", 1)[1].split("in the thread “Europa probe", 1)
        assert "Europa probe sees plumes" in card and "Alert #" in card, "the alert posted the card"
        thread, dm = rest.split("direct message to @you", 1)
        assert "Related articles" in thread and "Aurora-3" in thread, "the thread lists related articles"
        assert "Europa probe sees plumes" in dm and "Your follow #" in dm, "the follow sent the DM"
        why = out.split("> /alert why", 1)[1].split("\n> ", 1)[0]
        assert "✅ posted" in why
        assert "0 violations" in out
        assert "Traceback" not in out + done.stderr
        assert ("38 new" in out) == (run == 0)


def test_the_demo_shows_the_links_a_discord_client_would() -> None:
    from bot.demo.render import markdown_text
    from tests.render.discord_markdown import links_in

    lines = [
        # As the bot rendered a hostile title before links were made honest: the demo must show the lie.
        r"**1.** [Security update https://support.example](https://evil.example/login) \[read\]](https://news.example.org/a)",
        r"**2.** [Exam \(2021\) https\(:\)//evil\(.\)example](https://news.example.org/b) — P \\ x",
        r"[a [b] c](https://news.example.org/c) and \[not\](https://evil.example)",
        r"[a [b](https://evil.example) c](https://news.example.org/d)",
        r"[a](https://news.example.org/e_(f)) [g](<https://news.example.org/h>)",
    ]
    for line in lines:
        shown = markdown_text(line)
        demo = [str(span.style).removeprefix("link ") for span in shown.spans if str(span.style).startswith("link ")]
        assert sorted(demo) == sorted(link.target for link in links_in(line) if link.kind == "masked"), line
