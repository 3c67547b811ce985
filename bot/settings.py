"""One typed settings object, built once in ``main()`` from the environment and passed down.

Nothing here reads the environment at import time. The Discord token is wrapped in ``Secret`` so
that it cannot leak through ``repr``, ``str``, f-strings or tracebacks that print locals.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bot.alerts.rules import DEFAULT_MAX_AGE_HOURS, MAX_MAX_AGE_HOURS, MIN_MAX_AGE_HOURS
from bot.logs import LOG_FORMATS, LogFormat

DISCORD_API_BASE = "https://discord.com/api/v10"
DEFAULT_DATABASE_URL = "sqlite:///data/newsbot.sqlite3"


class SettingsError(ValueError):
    """A setting is missing or malformed. The message names the variable, never a secret value."""


class Secret:
    """A string that hides itself. Call ``reveal()`` at the single place that needs the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("Secret values are not picklable")


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def _alert_max_age(env: Mapping[str, str]) -> int:
    value = _int(env, "NEWSBOT_ALERT_MAX_AGE_HOURS", DEFAULT_MAX_AGE_HOURS, minimum=MIN_MAX_AGE_HOURS)
    if value is None:
        return DEFAULT_MAX_AGE_HOURS
    if value > MAX_MAX_AGE_HOURS:
        raise SettingsError(f"NEWSBOT_ALERT_MAX_AGE_HOURS must be at most {MAX_MAX_AGE_HOURS} (a week), got {value}")
    return value


def _int(env: Mapping[str, str], name: str, default: int | None, *, minimum: int | None = None) -> int | None:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, got {value}")
    return value


def sqlite_path(database_url: str) -> Path:
    """The file behind a ``sqlite:///relative`` or ``sqlite:////absolute`` URL."""
    prefix = "sqlite:///"
    if not database_url.startswith(prefix):
        raise SettingsError(
            f"NEWSBOT_DATABASE_URL must start with {prefix!r} (only SQLite is supported so far), got {database_url!r}"
        )
    rest = database_url[len(prefix) :]
    if not rest:
        raise SettingsError("NEWSBOT_DATABASE_URL names no file")
    return Path(rest)


@dataclass(frozen=True, slots=True)
class Settings:
    content_dir: Path = Path("content")
    database_url: str = DEFAULT_DATABASE_URL
    include_unpublished: bool = False
    public_results: bool = False
    discord_token: Secret | None = None
    api_base: str = DISCORD_API_BASE
    gateway_url: str | None = None
    dev_guild_id: int | None = None
    log_level: str = "INFO"
    log_format: LogFormat = "text"
    http_port: int | None = None  # the status server (/healthz, /metrics) is off unless set
    http_host: str = "127.0.0.1"
    shard_count: int | None = None  # None: one unsharded process
    shard_ids: tuple[int, ...] | None = None  # None: every shard
    watch: bool = True
    scan_interval: float = 30.0
    digest_grace_hours: int = 6  # a digest slot missed by less than this (downtime) is still posted once
    alert_max_age_hours: int = DEFAULT_MAX_AGE_HOURS  # an older article arriving is not posted by alerts

    @property
    def database_path(self) -> Path:
        return sqlite_path(self.database_url)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        token = env.get("DISCORD_TOKEN", "").strip()
        database_url = env.get("NEWSBOT_DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL
        sqlite_path(database_url)  # validate early, with the variable's name in the message
        log_level = env.get("NEWSBOT_LOG_LEVEL", "INFO").strip().upper() or "INFO"
        if log_level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise SettingsError(f"NEWSBOT_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got {log_level!r}")
        return cls(
            content_dir=Path(env.get("NEWSBOT_CONTENT_DIR", "").strip() or "content"),
            database_url=database_url,
            include_unpublished=_bool(env, "NEWSBOT_INCLUDE_UNPUBLISHED", False),
            public_results=_bool(env, "NEWSBOT_PUBLIC_RESULTS", False),
            discord_token=Secret(token) if token else None,
            api_base=(env.get("DISCORD_API_BASE", "").strip() or DISCORD_API_BASE).rstrip("/"),
            gateway_url=env.get("DISCORD_GATEWAY_URL", "").strip() or None,
            dev_guild_id=_int(env, "NEWSBOT_DEV_GUILD_ID", None, minimum=1),
            log_level=log_level,
            log_format=_log_format(env, "NEWSBOT_LOG_FORMAT"),
            http_port=_port(env, "NEWSBOT_HTTP_PORT"),
            http_host=_host(env, "NEWSBOT_HTTP_HOST", "127.0.0.1"),
            shard_count=_int(env, "NEWSBOT_SHARD_COUNT", None, minimum=1),
            shard_ids=_shard_ids(env, "NEWSBOT_SHARD_IDS", "NEWSBOT_SHARD_COUNT"),
            watch=_bool(env, "NEWSBOT_WATCH", True),
            scan_interval=_seconds(env, "NEWSBOT_SCAN_INTERVAL", 30.0),
            digest_grace_hours=_int(env, "NEWSBOT_DIGEST_GRACE_HOURS", 6, minimum=0) or 0,
            alert_max_age_hours=_alert_max_age(env),
        )


# --- running for real (deploy/, health, sharding) ------------------------------------------------


def _log_format(env: Mapping[str, str], name: str) -> LogFormat:
    raw = env.get(name, "").strip().lower() or "text"
    for fmt in LOG_FORMATS:
        if raw == fmt:
            return fmt
    raise SettingsError(f"{name} must be text or json, got {raw!r}")


def _port(env: Mapping[str, str], name: str) -> int | None:
    port = _int(env, name, None, minimum=0)
    if port is not None and port > 65535:
        raise SettingsError(f"{name} must be a TCP port from 0 to 65535, got {port}")
    return port


def _host(env: Mapping[str, str], name: str, default: str) -> str:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if any(c.isspace() or c in "/@" for c in raw):
        raise SettingsError(f"{name} must be an IP address or host name such as 127.0.0.1 or 0.0.0.0, got {raw!r}")
    return raw


def _shard_ids(env: Mapping[str, str], name: str, count_name: str) -> tuple[int, ...] | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    count = _int(env, count_name, None, minimum=1)
    if count is None:
        raise SettingsError(f"{name} needs {count_name}: which shards of how many?")
    ids: list[int] = []
    for part in raw.split(","):
        try:
            shard = int(part.strip())
        except ValueError:
            raise SettingsError(f"{name} must be shard numbers separated by commas, like 0,1; got {raw!r}") from None
        if not 0 <= shard < count:
            raise SettingsError(f"{name}: shard {shard} does not exist with {count_name}={count} (0 to {count - 1})")
        if shard in ids:
            raise SettingsError(f"{name} lists shard {shard} twice")
        ids.append(shard)
    return tuple(sorted(ids))


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number of seconds, got {raw!r}") from None
    if not 0 < value < float("inf"):
        raise SettingsError(f"{name} must be more than 0 seconds, got {raw!r}")
    return value
