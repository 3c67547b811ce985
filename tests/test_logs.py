"""Log lines: text for people, JSON for collectors, ids as fields, and never the token."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app.runner import RedactSecret
from bot.logs import JsonFormatter, TextFormatter
from bot.settings import Secret

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "MTIz.secret-token-value.abc"


@pytest.fixture
def capture() -> Iterator[tuple[logging.Logger, io.StringIO, logging.Handler]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("tests.ops.logs")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    yield logger, stream, handler
    logger.removeHandler(handler)
    logger.propagate = True


def test_json_lines_carry_the_ids_as_fields(capture: tuple[logging.Logger, io.StringIO, logging.Handler]) -> None:
    logger, stream, handler = capture
    handler.setFormatter(JsonFormatter())
    logger.info("digest %s posted", 7, extra={"guild": 123, "channel": 456, "digest": 7})
    try:
        raise RuntimeError("boom\nsecond line")
    except RuntimeError:
        logger.exception("failed", extra={"when": datetime(2024, 5, 1, tzinfo=UTC)})
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2, "one line per event, even with a multi-line traceback"
    first, second = (json.loads(line) for line in lines)
    assert first["message"] == "digest 7 posted"
    assert (first["guild"], first["channel"], first["digest"]) == (123, 456, 7)
    assert first["level"] == "INFO" and first["logger"] == "tests.ops.logs"
    assert datetime.fromisoformat(first["time"]).tzinfo is not None
    assert second["when"] == "2024-05-01 00:00:00+00:00"
    assert "RuntimeError: boom" in second["exception"]


def test_text_lines_put_the_ids_after_the_message(capture: tuple[logging.Logger, io.StringIO, logging.Handler]) -> None:
    logger, stream, handler = capture
    handler.setFormatter(TextFormatter())
    logger.info("/news latest ok", extra={"guild": 1, "command": "news latest"})
    line = stream.getvalue().rstrip("\n")
    assert "\n" not in line
    assert line.endswith(' tests.ops.logs: /news latest ok guild=1 command="news latest"')


@pytest.mark.parametrize("formatter", [TextFormatter(), JsonFormatter()], ids=["text", "json"])
def test_the_token_is_redacted_in_either_format(
    capture: tuple[logging.Logger, io.StringIO, logging.Handler], formatter: logging.Formatter
) -> None:
    logger, stream, handler = capture
    handler.setFormatter(formatter)
    handler.addFilter(RedactSecret(Secret(TOKEN)))
    logger.warning("connecting with %s", TOKEN)
    logger.warning(f"token in the message itself: {TOKEN}")  # noqa: G004 (what a careless library might do)
    output = stream.getvalue()
    assert TOKEN not in output
    assert output.count("[token redacted]") == 2


def test_json_output_end_to_end_from_the_environment() -> None:
    code = (
        "import logging, sys\n"
        "from bot.cli import configure_logging\n"
        "configure_logging('INFO', fmt='json')\n"
        "logging.getLogger('bot.x').info('hello %s', 'there', extra={'guild': 42})\n"
        "logging.getLogger('bot.x').debug('not shown')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    [line] = done.stderr.splitlines()
    entry = json.loads(line)
    assert entry["message"] == "hello there" and entry["guild"] == 42 and entry["logger"] == "bot.x"
