"""`make demo` without a terminal: the scripted tour of every command, through the emulator."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


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
        assert "0 violations" in out
        assert "Traceback" not in out + done.stderr
        assert ("38 new" in out) == (run == 0)
