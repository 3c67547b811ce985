"""A server's configuration as data: the rules for what moderators type, and the YAML backup format.

Pure: no Discord and no database. ``/admin config`` and ``/admin import`` share these rules, so a
value one accepts the other accepts too. Every problem is a ``ConfigError`` whose message says
what is wrong and where, in words a moderator can act on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import yaml

from bot.alerts import rules as alert_rules
from bot.alerts.keywords import KeywordError
from bot.alerts.keywords import parse as parse_keywords
from bot.digests.schedule import CADENCES, canonical_timezone, parse_time

FORMAT_VERSION = 1
MIN_QUALITY, MAX_QUALITY = 0, 164
MAX_BLOCKED_ENTRIES = 50
MAX_BLOCKED_CHARS = 1000
MAX_TOPIC_CHARS = 100
MAX_REASON_CHARS = 200
MAX_TITLE_CHARS = 300
MAX_ARTICLE_ID_CHARS = 200
MAX_HIDDEN = 5000
MAX_DIGESTS = 20  # what /digest allows per server (bot.modules.digest.MAX_PER_SERVER)
MAX_DIGEST_ITEMS = 10
MAX_IMPORT_BYTES = 2 * 1024 * 1024
#: What clears a list option in ``/admin config``.
CLEAR_WORDS = frozenset({"none", "clear", "-"})

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})+")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://")


class ConfigError(ValueError):
    """A value or a backup file that cannot be used; ``str(error)`` is the answer to show."""


# --- lists typed by moderators -----------------------------------------------------------------


def split_list(text: str) -> list[str]:
    """``"a, b ,,c"`` -> ``["a", "b", "c"]`` (commas or new lines separate entries)."""
    return [part.strip() for part in re.split(r"[,\n]", text) if part.strip()]


def is_clear(text: str) -> bool:
    return text.strip().casefold() in CLEAR_WORDS


def _check_size(option: str, entries: Sequence[str]) -> None:
    if len(entries) > MAX_BLOCKED_ENTRIES:
        raise ConfigError(
            f"`{option}` has {len(entries)} entries; at most {MAX_BLOCKED_ENTRIES} are allowed. "
            "Block fewer (the most frequent offenders first)."
        )
    chars = sum(len(e) for e in entries) + 2 * max(len(entries) - 1, 0)
    if chars > MAX_BLOCKED_CHARS:
        raise ConfigError(
            f"`{option}` is {chars:,} characters long; at most {MAX_BLOCKED_CHARS:,} are allowed. Block fewer entries."
        )


def normalise_domain(raw: str) -> str:
    """``"https://WWW.Example.com/path"`` -> ``"www.example.com"``; ``ConfigError`` when not a domain."""
    text = _SCHEME.sub("", raw.strip().lower()).split("/", 1)[0].rstrip(".")
    if not text.isascii():
        try:
            text = text.encode("idna").decode("ascii")
        except UnicodeError:
            raise ConfigError(f"“{raw.strip()[:60]}” is not a domain (for example: example.com).") from None
    if len(text) > 253 or not _DOMAIN.fullmatch(text):
        raise ConfigError(f"“{raw.strip()[:60]}” is not a domain (for example: example.com).")
    return text


def normalise_topic(raw: str) -> str:
    text = " ".join(raw.split())
    if len(text) > MAX_TOPIC_CHARS:
        raise ConfigError(f"“{text[:60]}…” is too long for a topic name (at most {MAX_TOPIC_CHARS} characters).")
    return text


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    """First spelling wins; later ones differing only in case are dropped."""
    seen: set[str] = set()
    out: list[str] = []
    for value in values:
        k = value.casefold()
        if value and k not in seen:
            seen.add(k)
            out.append(value)
    return tuple(out)


def blocked_providers(entries: Sequence[str], option: str = "blocked_providers") -> tuple[str, ...]:
    _check_size(option, entries)
    return _unique(normalise_domain(e) for e in entries if e.strip())


def blocked_topics(entries: Sequence[str], option: str = "blocked_topics") -> tuple[str, ...]:
    _check_size(option, entries)
    return _unique(normalise_topic(e) for e in entries if e.strip())


def parse_list_option(text: str, option: str) -> tuple[str, ...]:
    """What ``/admin config`` stores for a typed list (``none`` clears it)."""
    if is_clear(text):
        return ()
    entries = split_list(text)
    _check_size(option, entries)
    if len(text) > MAX_BLOCKED_CHARS:
        raise ConfigError(
            f"`{option}` is {len(text):,} characters long; at most {MAX_BLOCKED_CHARS:,} are allowed. "
            "Block fewer entries."
        )
    return blocked_providers(entries, option) if option == "blocked_providers" else blocked_topics(entries, option)


# --- the backup file --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChannelRef:
    """A channel named in a backup: found again by id in the same server, by name in another."""

    id: int | None = None
    name: str | None = None

    def describe(self) -> str:
        return f"#{self.name}" if self.name else f"channel {self.id}"


@dataclass(frozen=True, slots=True)
class HiddenSpec:
    id: str
    title: str = ""
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class DigestSpec:
    channel: ChannelRef
    topic: str
    time: str
    timezone: str
    cadence: str
    weekday: int = 0
    min_quality: int = 0
    max_items: int = 5
    paused: bool = False
    pause_reason: str | None = None


@dataclass(frozen=True, slots=True)
class AlertSpec:
    """A live alert (issue #12) as a backup holds it; the same limits as ``/alert add``."""

    channel: ChannelRef
    topic: str | None = None
    keywords: str | None = None
    providers: tuple[str, ...] = ()
    min_quality: int = 0
    mention: ChannelRef | None = None  # a role, found again by id or by name the same way
    style: str = alert_rules.DEFAULT_STYLE
    publish: bool = False
    template: str | None = None
    posts_per_10min: int = alert_rules.DEFAULT_POSTS_PER_WINDOW
    paused: bool = False
    pause_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Backup:
    """One server's configuration. ``None`` settings follow the deployment's defaults.
    ``digests`` is ``None`` when the file has no ``digests`` key (the server's digests are kept)."""

    min_quality: int | None = None
    include_unpublished: bool | None = None
    public_results: bool | None = None
    blocked_providers: tuple[str, ...] = ()
    blocked_topics: tuple[str, ...] = ()
    log_channel: ChannelRef | None = None
    hidden: tuple[HiddenSpec, ...] = ()
    digests: tuple[DigestSpec, ...] | None = None
    server_name: str | None = None
    #: ``None`` when the file has no ``alerts`` key (the server's alerts are kept).
    alerts: tuple[AlertSpec, ...] | None = None
    exported_at: str | None = None


_TOP_KEYS = ("newsbot", "server", "exported_at", "settings", "hidden", "digests", "alerts")
_SETTINGS_KEYS = (
    "min_quality",
    "include_unpublished",
    "public_results",
    "blocked_providers",
    "blocked_topics",
    "log_channel",
)
_HIDDEN_KEYS = ("id", "title", "reason")
_DIGEST_KEYS = (
    "channel",
    "topic",
    "time",
    "timezone",
    "cadence",
    "weekday",
    "min_quality",
    "max_items",
    "paused",
    "pause_reason",
)
_DIGEST_REQUIRED = ("channel", "topic", "time", "timezone", "cadence")
_CHANNEL_KEYS = ("id", "name")


def _type_name(value: object) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _mapping(value: object, where: str, allowed: Sequence[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"`{where}` must be a mapping (key: value lines), not {_type_name(value)}.")
    # Only text keys are named: a complex key built from YAML aliases could take forever to print.
    unknown = [k[:40] if isinstance(k, str) else f"({_type_name(k)})" for k in value if k not in allowed]
    if unknown:
        raise ConfigError(
            f"`{where}` has unknown key(s) {', '.join(f'`{k}`' for k in unknown[:5])}; allowed: {', '.join(allowed)}."
        )
    return value


def _list(value: object, where: str, limit: int) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConfigError(f"`{where}` must be a list, not {_type_name(value)}.")
    if len(value) > limit:
        raise ConfigError(f"`{where}` has {len(value):,} entries; at most {limit:,} are allowed.")
    return value


def _optional_bool(value: object, where: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise ConfigError(f"`{where}` must be true, false or null, not {_type_name(value)}.")


def _int(value: object, where: str, low: int, high: int, *, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"`{where}` must be a whole number from {low} to {high}, not {_type_name(value)}.")
    if not low <= value <= high:
        raise ConfigError(f"`{where}` must be from {low} to {high}, not {value}.")
    return value


def _text(value: object, where: str, limit: int, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise ConfigError(f"`{where}` must be text, not {_type_name(value)}.")
    if len(value) > limit:
        raise ConfigError(f"`{where}` is {len(value):,} characters long; at most {limit:,} are allowed.")
    return value


def _strings(value: object, where: str) -> list[str]:
    items = _list(value, where, MAX_BLOCKED_ENTRIES * 4)
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise ConfigError(f"`{where}[{i}]` must be text, not {_type_name(item)}.")
    return items


def _channel(value: object, where: str) -> ChannelRef | None:
    if value is None:
        return None
    data = _mapping(value, where, _CHANNEL_KEYS)
    raw_id = data.get("id")
    channel_id: int | None
    if raw_id is None:
        channel_id = None
    elif isinstance(raw_id, int) and not isinstance(raw_id, bool) and raw_id > 0:
        channel_id = raw_id
    elif isinstance(raw_id, str) and raw_id.isdigit() and len(raw_id) <= 20:
        channel_id = int(raw_id)
    else:
        raise ConfigError(f"`{where}.id` must be a channel id (digits), not {_type_name(raw_id)}.")
    name = _text(data.get("name"), f"{where}.name", 100, optional=True)
    if channel_id is None and not name:
        raise ConfigError(f"`{where}` needs an `id` or a `name`.")
    return ChannelRef(channel_id, name)


def _hidden(value: object) -> tuple[HiddenSpec, ...]:
    specs: dict[str, HiddenSpec] = {}
    for i, item in enumerate(_list(value, "hidden", MAX_HIDDEN)):
        where = f"hidden[{i}]"
        data = _mapping(item, where, _HIDDEN_KEYS)
        if "id" not in data:
            raise ConfigError(f"`{where}` has no `id` (the article id, as /admin export writes it).")
        article_id = (_text(data["id"], f"{where}.id", MAX_ARTICLE_ID_CHARS) or "").strip()
        if not article_id:
            raise ConfigError(f"`{where}.id` is empty.")
        title = _text(data.get("title"), f"{where}.title", MAX_TITLE_CHARS, optional=True) or ""
        reason = _text(data.get("reason"), f"{where}.reason", MAX_REASON_CHARS, optional=True)
        specs.setdefault(article_id, HiddenSpec(article_id, " ".join(title.split()), reason))
    return tuple(specs.values())


def _digest(item: object, where: str) -> DigestSpec:
    data = _mapping(item, where, _DIGEST_KEYS)
    missing = [k for k in _DIGEST_REQUIRED if k not in data]
    if missing:
        raise ConfigError(f"`{where}` is missing {', '.join(f'`{k}`' for k in missing)}.")
    channel = _channel(data["channel"], f"{where}.channel")
    if channel is None:
        raise ConfigError(f"`{where}.channel` must name a channel.")
    topic = normalise_topic(_text(data["topic"], f"{where}.topic", MAX_TOPIC_CHARS) or "")
    if not topic:
        raise ConfigError(f"`{where}.topic` is empty.")
    raw_time = data["time"]
    if isinstance(raw_time, int) and not isinstance(raw_time, bool):
        # YAML 1.1 reads an unquoted 12:30 as the number 750 (base 60).
        raise ConfigError(f'`{where}.time` must be in quotes, for example "08:30".')
    time_text = _text(raw_time, f"{where}.time", 5) or ""
    zone = _text(data["timezone"], f"{where}.timezone", 64) or ""
    cadence = (_text(data["cadence"], f"{where}.cadence", 16) or "").strip().lower()
    try:
        at = parse_time(time_text)
        zone = canonical_timezone(zone)
    except ValueError as exc:
        raise ConfigError(f"`{where}`: {exc}.") from None
    if cadence not in CADENCES:
        raise ConfigError(f"`{where}.cadence` must be one of {', '.join(CADENCES)}, not “{cadence[:20]}”.")
    return DigestSpec(
        channel=channel,
        topic=topic,
        time=f"{at.hour:02d}:{at.minute:02d}",
        timezone=zone,
        cadence=cadence,
        weekday=_int(data.get("weekday", 0), f"{where}.weekday", 0, 6) or 0,
        min_quality=_int(data.get("min_quality", 0), f"{where}.min_quality", MIN_QUALITY, MAX_QUALITY) or 0,
        max_items=_int(data.get("max_items", 5), f"{where}.max_items", 1, MAX_DIGEST_ITEMS) or 5,
        paused=bool(_optional_bool(data.get("paused", False), f"{where}.paused")),
        pause_reason=_text(data.get("pause_reason"), f"{where}.pause_reason", MAX_REASON_CHARS, optional=True),
    )


# --- alerts (issue #12) -----------------------------------------------------------------------

_ALERT_KEYS = (
    "channel",
    "topic",
    "keywords",
    "providers",
    "min_quality",
    "mention",
    "style",
    "publish",
    "template",
    "posts_per_10min",
    "paused",
    "pause_reason",
)


def _alert(item: object, where: str) -> AlertSpec:
    data = _mapping(item, where, _ALERT_KEYS)
    channel = _channel(data.get("channel"), f"{where}.channel")
    if channel is None:
        raise ConfigError(f"`{where}.channel` must name a channel.")
    topic = _text(data.get("topic"), f"{where}.topic", alert_rules.MAX_TOPIC_CHARS, optional=True)
    topic = normalise_topic(topic) if topic else None
    keywords = _text(data.get("keywords"), f"{where}.keywords", alert_rules.MAX_KEYWORDS_CHARS, optional=True)
    keywords = " ".join(keywords.split()) if keywords else None
    if not topic and not keywords:
        raise ConfigError(f"`{where}` needs a `topic`, `keywords`, or both.")
    if keywords:
        try:
            parse_keywords(keywords)
        except KeywordError as exc:
            raise ConfigError(f"`{where}.keywords`: {exc}") from None
    providers = _strings(data.get("providers"), f"{where}.providers")
    if len(providers) > alert_rules.MAX_PROVIDERS:
        raise ConfigError(f"`{where}.providers` has {len(providers)} entries; at most {alert_rules.MAX_PROVIDERS}.")
    style = (_text(data.get("style", alert_rules.DEFAULT_STYLE), f"{where}.style", 16) or "").strip().lower()
    if style not in alert_rules.STYLES:
        raise ConfigError(f"`{where}.style` must be one of {', '.join(alert_rules.STYLES)}, not “{style[:20]}”.")
    template = _text(data.get("template"), f"{where}.template", alert_rules.MAX_TEMPLATE_CHARS * 4, optional=True)
    if template is not None:
        try:
            alert_rules.check_template(template)
        except alert_rules.TemplateError as exc:
            raise ConfigError(f"`{where}.template`: {exc}") from None
    posts = _int(
        data.get("posts_per_10min", alert_rules.DEFAULT_POSTS_PER_WINDOW),
        f"{where}.posts_per_10min",
        alert_rules.MIN_POSTS_PER_WINDOW,
        alert_rules.MAX_POSTS_PER_WINDOW,
    )
    return AlertSpec(
        channel=channel,
        topic=topic,
        keywords=keywords,
        providers=_unique(normalise_domain(p) for p in providers if p.strip()),
        min_quality=_int(data.get("min_quality", 0), f"{where}.min_quality", MIN_QUALITY, MAX_QUALITY) or 0,
        mention=_channel(data.get("mention"), f"{where}.mention"),
        style=style,
        publish=bool(_optional_bool(data.get("publish", False), f"{where}.publish")),
        template=template,
        posts_per_10min=posts or alert_rules.DEFAULT_POSTS_PER_WINDOW,
        paused=bool(_optional_bool(data.get("paused", False), f"{where}.paused")),
        pause_reason=_text(data.get("pause_reason"), f"{where}.pause_reason", MAX_REASON_CHARS, optional=True),
    )


def _alerts(value: object) -> tuple[AlertSpec, ...]:
    items = _list(value, "alerts", alert_rules.MAX_PER_SERVER)
    return tuple(_alert(item, f"alerts[{i}]") for i, item in enumerate(items))


def _alert_data(a: AlertSpec) -> dict[str, Any]:
    return {
        "channel": _channel_data(a.channel),
        "topic": a.topic,
        "keywords": a.keywords,
        "providers": list(a.providers),
        "min_quality": a.min_quality,
        "mention": _channel_data(a.mention),
        "style": a.style,
        "publish": a.publish,
        "template": a.template,
        "posts_per_10min": a.posts_per_10min,
        "paused": a.paused,
        "pause_reason": a.pause_reason,
    }


# --- reading and writing the file ---------------------------------------------------------------


def _load_yaml(raw: bytes) -> object:
    if len(raw) > MAX_IMPORT_BYTES:
        raise ConfigError(
            f"The file is {len(raw) / 1024:,.0f} KiB; backups are at most {MAX_IMPORT_BYTES // 1024:,} KiB."
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"The file is not UTF-8 text (byte {exc.start}); attach the YAML file /admin export made."
        ) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or "it cannot be read"
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ConfigError(f"The file is not valid YAML: {problem}{where}.") from None


def parse_backup(raw: bytes) -> Backup:
    """Read and check a backup strictly: every key known, every value of the right type and range."""
    document = _load_yaml(raw)
    if document is None:
        raise ConfigError("The file is empty.")
    top = _mapping(document, "the file", _TOP_KEYS)
    version = top.get("newsbot")
    if version is None:
        raise ConfigError("This is not a newsbot backup: the `newsbot: 1` line is missing.")
    if version != FORMAT_VERSION:
        shown = str(version)[:20] if isinstance(version, int | str) else _type_name(version)
        raise ConfigError(f"This backup has format `newsbot: {shown}`; this bot reads format {FORMAT_VERSION}.")
    server = top.get("server")
    server_name = None
    if server is not None:
        server_data = _mapping(server, "server", ("id", "name"))
        server_name = _text(server_data.get("name"), "server.name", 100, optional=True)
    exported = top.get("exported_at")
    if exported is not None and not isinstance(exported, str | datetime):
        raise ConfigError(f"`exported_at` must be a date and time, not {_type_name(exported)}.")
    settings = _mapping(top.get("settings") or {}, "settings", _SETTINGS_KEYS)
    digests = None
    if "digests" in top:
        digests = tuple(
            _digest(d, f"digests[{i}]") for i, d in enumerate(_list(top["digests"], "digests", MAX_DIGESTS))
        )
    return Backup(
        min_quality=_int(settings.get("min_quality"), "settings.min_quality", MIN_QUALITY, MAX_QUALITY, optional=True),
        include_unpublished=_optional_bool(settings.get("include_unpublished"), "settings.include_unpublished"),
        public_results=_optional_bool(settings.get("public_results"), "settings.public_results"),
        blocked_providers=blocked_providers(
            _strings(settings.get("blocked_providers"), "settings.blocked_providers"), "settings.blocked_providers"
        ),
        blocked_topics=blocked_topics(
            _strings(settings.get("blocked_topics"), "settings.blocked_topics"), "settings.blocked_topics"
        ),
        log_channel=_channel(settings.get("log_channel"), "settings.log_channel"),
        hidden=_hidden(top.get("hidden")),
        digests=digests,
        server_name=server_name,
        exported_at=str(exported) if exported is not None else None,
        alerts=_alerts(top["alerts"]) if "alerts" in top else None,
    )


def _channel_data(ref: ChannelRef | None) -> dict[str, Any] | None:
    if ref is None:
        return None
    data: dict[str, Any] = {}
    if ref.id is not None:
        data["id"] = str(ref.id)  # as text: snowflakes exceed what JSON tools keep exactly
    if ref.name:
        data["name"] = ref.name
    return data


def dump_backup(backup: Backup, *, server_id: int, exported_at: datetime) -> str:
    """The YAML ``parse_backup`` reads back to the same ``Backup``."""
    document: dict[str, Any] = {
        "newsbot": FORMAT_VERSION,
        "server": {"id": str(server_id), "name": backup.server_name} if backup.server_name else {"id": str(server_id)},
        "exported_at": exported_at.isoformat(timespec="seconds"),
        "settings": {
            "min_quality": backup.min_quality,
            "include_unpublished": backup.include_unpublished,
            "public_results": backup.public_results,
            "blocked_providers": list(backup.blocked_providers),
            "blocked_topics": list(backup.blocked_topics),
            "log_channel": _channel_data(backup.log_channel),
        },
        "hidden": [
            {"id": h.id, "title": h.title, "reason": h.reason} if h.reason else {"id": h.id, "title": h.title}
            for h in backup.hidden
        ],
    }
    if backup.digests is not None:
        document["digests"] = [
            {
                "channel": _channel_data(d.channel),
                "topic": d.topic,
                "time": d.time,
                "timezone": d.timezone,
                "cadence": d.cadence,
                "weekday": d.weekday,
                "min_quality": d.min_quality,
                "max_items": d.max_items,
                "paused": d.paused,
                "pause_reason": d.pause_reason,
            }
            for d in backup.digests
        ]
    if backup.alerts is not None:
        document["alerts"] = [_alert_data(a) for a in backup.alerts]
    header = (
        "# newsbot server configuration. Restore it in any server with /admin import.\n"
        "# Settings that are null follow the bot's defaults.\n"
    )
    return header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=200)
