"""One typed settings object, built once in ``main()`` from the environment and passed down.

Nothing here reads the environment at import time. The Discord token is wrapped in ``Secret`` so
that it cannot leak through ``repr``, ``str``, f-strings or tracebacks that print locals.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

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


# A Discord bot token is base64url text in dot-separated parts. Anything else cannot be one, and some
# of it cannot even be sent: a line break in an HTTP header is refused (with a traceback) by aiohttp.
TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
MAX_TOKEN_CHARS = 256
_TOKEN_HELP = "copy it again from the Bot page of your application in the Discord developer portal"


def token_problem(token: str) -> str | None:
    """Why ``token`` cannot be a Discord bot token, in words that never quote it; ``None`` if it can be.

    The one rule for the token, wherever it comes from (the environment, or a ``Settings`` built in code).
    """
    if token[:4].lower() == "bot ":
        return "DISCORD_TOKEN starts with 'Bot ': give the token alone, without that prefix"
    if len(token) >= 2 and token[0] == token[-1] and token[0] in "'\"":
        return "DISCORD_TOKEN is in quotes: give the token alone, without them"
    for problem, found in (
        ("a line break", lambda ch: ch in "\r\n\v\f\x85\u2028\u2029"),
        ("a space or other whitespace", str.isspace),
        ("a control character", lambda ch: ord(ch) < 32 or 127 <= ord(ch) < 160),
        ("a non-ASCII character", lambda ch: not ch.isascii()),
        ("a character no Discord token has (only letters, digits, '.', '-' and '_')", lambda ch: ch not in TOKEN_CHARS),
    ):
        if any(found(ch) for ch in token):
            return f"DISCORD_TOKEN contains {problem}; {_TOKEN_HELP}"
    if len(token) > MAX_TOKEN_CHARS:
        return f"DISCORD_TOKEN is longer than any Discord token ({MAX_TOKEN_CHARS} characters at most); {_TOKEN_HELP}"
    return None


def _token(env: Mapping[str, str], name: str) -> Secret | None:
    # Surrounding whitespace is forgiven: a token read from a file usually ends with a line break.
    raw = env.get(name, "").strip()
    if not raw:
        return None
    problem = token_problem(raw)
    if problem is not None:
        raise SettingsError(problem)
    return Secret(raw)


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
    target = database_target(database_url)
    if target.path is None:
        raise SettingsError(f"NEWSBOT_DATABASE_URL is not an SQLite URL: {target.masked}")
    return target.path


# --- the database: SQLite file or PostgreSQL server ----------------------------------------------

DatabaseKind = Literal["sqlite", "postgresql"]
_PG_SCHEMES = ("postgresql://", "postgres://")
IndexerMode = Literal["true", "false", "auto"]
_INDEXER_MODES: tuple[IndexerMode, ...] = ("true", "false", "auto")


def mask_url(url: str) -> str:
    """``url`` with any password replaced by ``***``: in the userinfo part and in a ``password=``
    query parameter. The only form of a database URL that may reach a log line or an error."""
    masked = re.sub(r"^([a-z][a-z0-9+.-]*://[^:/?#@]*):[^@/?#]*@", r"\1:***@", url, flags=re.IGNORECASE)
    return re.sub(r"([?&]password=)[^&#]*", r"\1***", masked, flags=re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class DatabaseTarget:
    """Where the database is: an SQLite file, or a PostgreSQL server (``dsn``, password included).

    Picklable (an index run's child process reopens the database from it); ``repr`` and ``masked``
    never show the password.
    """

    kind: DatabaseKind
    path: Path | None = None
    dsn: str = field(default="", repr=False)

    @property
    def masked(self) -> str:
        return mask_url(self.dsn) if self.kind == "postgresql" else f"sqlite:///{self.path}"

    def __repr__(self) -> str:
        return f"DatabaseTarget({self.masked!r})"


def database_target(url: str | Path, *, setting: str = "NEWSBOT_DATABASE_URL") -> DatabaseTarget:
    """Parse ``sqlite:///path`` or ``postgresql://user:pass@host:port/db`` (a ``Path``: an SQLite file)."""
    if isinstance(url, Path):
        return DatabaseTarget("sqlite", url)
    text = url.strip()
    if text.lower().startswith(_PG_SCHEMES):
        rest = text.split("://", 1)[1]
        host = rest.split("/", 1)[0].rsplit("@", 1)[-1]
        if not host and "host=" not in text:
            raise SettingsError(f"{setting} names no PostgreSQL host: {mask_url(text)}")
        return DatabaseTarget("postgresql", None, text)
    prefix = "sqlite:///"
    if text.startswith(prefix):
        rest = text[len(prefix) :]
        if not rest:
            raise SettingsError(f"{setting} names no file")
        return DatabaseTarget("sqlite", Path(rest))
    raise SettingsError(
        f"{setting} must be sqlite:///path/to/file or postgresql://user:password@host:5432/database, "
        f"got {mask_url(text)!r}"
    )


def _indexer(env: Mapping[str, str], name: str) -> IndexerMode:
    raw = env.get(name, "").strip().lower() or "auto"
    for mode in _INDEXER_MODES:
        if raw == mode:
            return mode
    raise SettingsError(f"{name} must be true, false or auto, got {raw!r}")


@dataclass(frozen=True, slots=True)
class Settings:
    content_dir: Path = Path("content")
    database_url: str = field(default=DEFAULT_DATABASE_URL, repr=False)  # may hold a password: see ``database``
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
    feeds: bool = True  # run the feed fetcher inside the bot (it does nothing without a feeds file)
    feeds_file: Path | None = None  # None: feeds.yml beside the content directory
    feeds_keep_days: int = 90
    feeds_contact: str | None = None  # a URL or e-mail address for feed owners, in the User-Agent
    web: WebSettings | None = None  # the web pages (bot.panel) are off unless NEWSBOT_WEB=true
    indexer: IndexerMode = "auto"  # whether this process indexes the content folder (auto: if it exists)
    alert_max_age_hours: int = DEFAULT_MAX_AGE_HOURS  # an older article arriving is not posted by alerts

    @property
    def database_path(self) -> Path:
        return sqlite_path(self.database_url)

    @property
    def feeds_path(self) -> Path:
        """The operator's list of feeds (``NEWSBOT_FEEDS_FILE``; default ``feeds.yml`` beside the content)."""
        if self.feeds_file is not None:
            return self.feeds_file
        return self.content_dir.absolute().parent / "feeds.yml"

    @property
    def database(self) -> DatabaseTarget:
        return database_target(self.database_url)

    def indexes_content(self) -> bool:
        """Whether this process reads the content folder; one that does not serves what the index holds.

        ``auto`` on SQLite always indexes (as before: a content volume mounted late is still picked
        up by the watcher); on PostgreSQL it indexes where the folder exists, so hosts without
        the content simply serve what an indexing host keeps up to date.
        """
        if self.indexer == "auto":
            return self.database.kind == "sqlite" or self.content_dir.is_dir()
        return self.indexer == "true"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        database_url = env.get("NEWSBOT_DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL
        database_target(database_url)  # validate early, with the variable's name in the message
        log_level = env.get("NEWSBOT_LOG_LEVEL", "INFO").strip().upper() or "INFO"
        if log_level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise SettingsError(f"NEWSBOT_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got {log_level!r}")
        return cls(
            content_dir=Path(env.get("NEWSBOT_CONTENT_DIR", "").strip() or "content"),
            database_url=database_url,
            include_unpublished=_bool(env, "NEWSBOT_INCLUDE_UNPUBLISHED", False),
            public_results=_bool(env, "NEWSBOT_PUBLIC_RESULTS", False),
            discord_token=_token(env, "DISCORD_TOKEN"),
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
            feeds=_bool(env, "NEWSBOT_FEEDS", True),
            feeds_file=Path(raw_feeds_file) if (raw_feeds_file := env.get("NEWSBOT_FEEDS_FILE", "").strip()) else None,
            feeds_keep_days=_int(env, "NEWSBOT_FEEDS_KEEP_DAYS", 90, minimum=1) or 90,
            feeds_contact=_contact(env, "NEWSBOT_FEEDS_CONTACT"),
            web=_web(env),
            indexer=_indexer(env, "NEWSBOT_INDEXER"),
            alert_max_age_hours=_alert_max_age(env),
        )


def _contact(env: Mapping[str, str], name: str) -> str | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    # It goes into an HTTP header: one line of printable ASCII, no parentheses (they end the comment).
    if not raw.isascii() or not raw.isprintable() or any(c in "()" for c in raw) or len(raw) > 200:
        raise SettingsError(f"{name} must be a URL or e-mail address (printable ASCII, no parentheses), got {raw!r}")
    return raw


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


# --- the web pages and control panel (bot.panel) -------------------------------------------------

#: A session key shorter than this could be guessed; ``python -c "import secrets; print(secrets.token_urlsafe(32))"``.
MIN_WEB_SECRET_CHARS = 32


@dataclass(frozen=True, slots=True)
class WebSettings:
    """What ``NEWSBOT_WEB=true`` needs: served by the status server (``NEWSBOT_HTTP_PORT``)."""

    base_url: str  # where visitors reach the pages, e.g. https://news.example.org (no trailing slash)
    client_id: str
    client_secret: Secret
    session_secret: Secret
    public: bool = False

    @property
    def redirect_uri(self) -> str:
        """The address to register in the developer portal (OAuth2 -> Redirects)."""
        return f"{self.base_url}/login/callback"

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")


def _web(env: Mapping[str, str]) -> WebSettings | None:
    public = _bool(env, "NEWSBOT_WEB_PUBLIC", False)
    if not _bool(env, "NEWSBOT_WEB", False):
        if public:
            raise SettingsError("NEWSBOT_WEB_PUBLIC=true needs NEWSBOT_WEB=true (the web pages are off)")
        return None
    if _port(env, "NEWSBOT_HTTP_PORT") is None:
        raise SettingsError("NEWSBOT_WEB=true needs NEWSBOT_HTTP_PORT: the pages are served by the status server")
    secret = _required_web(env, "NEWSBOT_WEB_SECRET")
    if len(secret) < MIN_WEB_SECRET_CHARS:
        raise SettingsError(f"NEWSBOT_WEB_SECRET must be at least {MIN_WEB_SECRET_CHARS} random characters")
    client_id = _required_web(env, "DISCORD_CLIENT_ID")
    if not client_id.isdigit():
        raise SettingsError(f"DISCORD_CLIENT_ID must be the application's numeric id, got {client_id!r}")
    return WebSettings(
        base_url=_base_url(_required_web(env, "NEWSBOT_WEB_BASE_URL"), "NEWSBOT_WEB_BASE_URL"),
        client_id=client_id,
        client_secret=Secret(_required_web(env, "DISCORD_CLIENT_SECRET")),
        session_secret=Secret(secret),
        public=public,
    )


def _required_web(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise SettingsError(f"NEWSBOT_WEB=true needs {name} (see the README, Web pages and control panel)")
    return value


def _base_url(raw: str, name: str) -> str:
    parts = urlsplit(raw)
    try:
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        raise SettingsError(f"{name} has a malformed port: {raw!r}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment or parts.username:
        raise SettingsError(f"{name} must be an http(s) address such as https://news.example.org, got {raw!r}")
    return raw.rstrip("/")
