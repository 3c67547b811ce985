"""A malformed DISCORD_TOKEN is one line on stderr and exit 2, never a traceback, and never printed.

A token pasted with a line break used to reach aiohttp, which refused the header with a traceback
(exit 1). The rule (``bot.settings.token_problem``) is checked where the environment is read and
again where the token is used, so a ``Settings`` built in code meets it too.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import string
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import bot.app.runner
from bot.app.runner import run_bot, sync_commands
from bot.cli import main
from bot.settings import MAX_TOKEN_CHARS, Secret, Settings, SettingsError, token_problem

ROOT = Path(__file__).resolve().parents[1]
GOOD = "MTIzNDU2Nzg5MDEyMzQ1Njc4OQ.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789_-AB"
# What an HTTP header value may hold (RFC 9110 field-vchar, no obs-text), spaces aside.
HEADER_SAFE = frozenset(chr(c) for c in range(0x21, 0x7F))

HOSTILE = [
    "\n",
    "\r\n",
    "\r",
    "\t",
    " ",
    "\x00",
    "\x7f",
    "\x85",
    "\u2028",
    "\u200b",
    "é",
    "🙂",
    '"',
    "'",
    "Bot ",
    ":",
    "=",
    "%",
]
core = st.text(alphabet=string.ascii_letters + string.digits, min_size=12, max_size=40)
tokens = st.one_of(
    st.text(max_size=80),
    st.builds(
        lambda head, junk, tail: head + junk + tail,
        core,
        st.lists(st.sampled_from(HOSTILE) | st.text(max_size=3), max_size=4).map("".join),
        st.text(alphabet=string.ascii_letters + string.digits + "._-", max_size=40),
    ),
    st.from_regex(r"[A-Za-z0-9_-]{20,30}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,40}", fullmatch=True),
)


def _run_cli(token: str, command: str = "run") -> tuple[int, str, str | None]:
    """``newsbot run`` with DISCORD_TOKEN=token, up to the point it would connect: (exit, output, token used)."""
    used: list[str] = []

    async def serve(bot_: object, secret: Secret, **_: Any) -> None:
        used.append(secret.reveal())

    async def sync(settings_: Settings, secret: Secret) -> int:
        used.append(secret.reveal())
        return 0

    out, err = io.StringIO(), io.StringIO()
    # ``main`` installs the token's redaction filter on the root handlers (pytest's among them):
    # take them off again so one example's token does not redact the next tests' logs.
    filters = [(handler, list(handler.filters)) for handler in logging.getLogger().handlers]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(bot.app.runner, "serve", serve)
        patch.setattr(bot.app.runner, "_sync", sync)
        patch.setattr(bot.app.runner, "create_bot", lambda *a, **k: None)
        patch.setattr(bot.app.runner, "configure_discord", lambda *a, **k: None)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main([command], env={"DISCORD_TOKEN": token, "NEWSBOT_LOG_LEVEL": "CRITICAL"})
    for handler, before in filters:
        handler.filters[:] = before
    return code, out.getvalue() + err.getvalue(), used[0] if used else None


def _leaks(token: str, output: str, window: int = 10) -> bool:
    token = token.strip()
    return any(token[i : i + window] in output for i in range(max(len(token) - window + 1, 0)))


@pytest.mark.parametrize(
    ("token", "says"),
    [
        ("MTIzNDU2.GaBcDe\nQrStUvWx", "line break"),
        ("MTIzNDU2.GaBcDe\r\nQrStUvWx", "line break"),
        ("MTIzNDU2.GaBcDe QrStUvWx", "whitespace"),
        ("MTIzNDU2.GaBcDe\tQrStUvWx", "whitespace"),
        ("MTIzNDU2.GaBcDe\x00QrStUvWx", "control character"),
        ("MTIzNDU2.GaBcDe\x7fQrStUvWx", "control character"),
        ("MTIzNDU2.GaBcDeé.QrStUvWx", "non-ASCII"),
        ("MTIzNDU2.GaBcDe\u200bQrStUvWx", "non-ASCII"),
        ("MTIzNDU2.GaBcDe=QrStUvWx", "no Discord token has"),
        ('"MTIzNDU2.GaBcDe.QrStUvWx"', "in quotes"),
        ("Bot MTIzNDU2.GaBcDe.QrStUvWx", "without that prefix"),
        ("a" * (MAX_TOKEN_CHARS + 1), "longer than"),
    ],
)
def test_malformed_tokens_are_refused_with_the_reason(token: str, says: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"DISCORD_TOKEN": token})
    message = str(caught.value)
    assert message.startswith("DISCORD_TOKEN") and says in message
    assert "\n" not in message and not _leaks(token, message, 8)


def test_a_token_is_trimmed_and_kept_secret() -> None:
    settings_ = Settings.from_env({"DISCORD_TOKEN": f"  {GOOD}\n"})
    assert settings_.discord_token == Secret(GOOD)
    assert token_problem("emulator-token") is None, "the local emulator's token keeps working"


@settings(max_examples=200, deadline=None)
@given(tokens)
@example("MTIz.abc\ndef")
@example("")
@example(" \n ")
def test_any_token_is_accepted_or_refused_in_one_line_with_exit_2(token: str) -> None:
    code, output, used = _run_cli(token)
    assert "Traceback" not in output
    if code == 0:
        assert used == token.strip(), "an accepted token is used as given, trimmed"
        assert set(used) <= HEADER_SAFE, f"{used!r} cannot be sent in an Authorization header"
        return
    assert code == 2 and used is None
    assert output.count("\n") == 1 and output.startswith("newsbot: "), output
    assert "DISCORD_TOKEN" in output
    assert not _leaks(token, output), "the token must never be printed"


@pytest.mark.parametrize("command", ["run", "sync"])
def test_settings_built_in_code_meet_the_same_rule(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    settings_ = Settings(discord_token=Secret("abc.def\nghijklmnopqrs"))
    assert (run_bot if command == "run" else sync_commands)(settings_) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "line break" in err and "ghijklmnopqrs" not in err


def test_newsbot_run_with_a_line_break_in_the_token_is_one_line_and_exit_2(tmp_path: Path) -> None:
    secret_part = "ghijklmnopqrstuvwxyz0123"
    env = dict(os.environ, PYTHONPATH=str(ROOT), DISCORD_TOKEN=f"MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe\n{secret_part}")
    # Were the token accepted, the bot would try this closed port and fail differently (exit 1).
    env["DISCORD_API_BASE"] = "http://127.0.0.1:9/api/v10"
    done = subprocess.run(
        [sys.executable, "-m", "bot", "run"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "DISCORD_TOKEN contains a line break" in done.stderr
    assert "Traceback" not in done.stderr and secret_part not in done.stderr + done.stdout
