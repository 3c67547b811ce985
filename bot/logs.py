"""Log output: one line per event, carrying the ids a person needs to trace it.

Log calls pass those ids as ``extra`` (``log.info("...", extra={"guild": ..., "channel": ...})``).
In text (the default) they follow the message as ``key=value``; with ``NEWSBOT_LOG_FORMAT=json``
every line is one JSON object with them as fields, for log collectors. Filters attached to the
handler (the token redaction in ``bot.app.runner``) run before either formatter, so both stay clean.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

LogFormat = Literal["text", "json"]
LOG_FORMATS: tuple[LogFormat, ...] = ("text", "json")

# Attributes every LogRecord has; anything else on a record came from ``extra``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    return {key: value for key, value in vars(record).items() if key not in _STANDARD and not key.startswith("_")}


def _text_value(value: object) -> str:
    text = str(value)
    return json.dumps(text, ensure_ascii=False) if not text or any(c.isspace() or c in '"=' for c in text) else text


class TextFormatter(logging.Formatter):
    """``2024-05-01 12:00:00 INFO    bot.telemetry: /news search ok in 12.0 ms guild=1 channel=2``"""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s", datefmt="%Y-%m-%d %H:%M:%S")

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        fields = extra_fields(record)
        if fields:
            line += " " + " ".join(f"{key}={_text_value(value)}" for key, value in fields.items())
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, the ``extra`` fields,
    and the traceback as one string when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in extra_fields(record).items():
            entry.setdefault(key, value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def formatter_for(fmt: LogFormat) -> logging.Formatter:
    return JsonFormatter() if fmt == "json" else TextFormatter()


def configure_logging(level: str, *, fmt: LogFormat = "text", stream: TextIO | None = None) -> None:
    """Configure handlers once, for the whole process (a no-op when the root logger has some)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter_for(fmt))
    logging.basicConfig(level=level, handlers=[handler])
    # discord.py's gateway chatter is useful only when debugging.
    logging.getLogger("discord").setLevel(max(logging.getLevelName(level), logging.INFO))
    logging.getLogger("discord.client").addFilter(_no_voice_warning)


def _no_voice_warning(record: logging.LogRecord) -> bool:
    """The bot never joins voice, so discord.py's "voice will NOT be supported" is only noise."""
    return "voice will NOT be supported" not in record.getMessage()
