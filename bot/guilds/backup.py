"""A server's configuration as data: the rules for what moderators type, the YAML backup format,
and exporting and importing it.

``/admin config`` and ``/admin import`` share these rules, so a value one accepts the other accepts
too. Every problem with a file is a ``ConfigError`` whose message says what is wrong and where, in
words a moderator can act on. The rules and the format are pure; ``BackupService`` reads and writes
through the repositories and sees the server's channels through a small protocol, so nothing here
needs Discord.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Final, Protocol

import yaml
from yaml.nodes import ScalarNode

from bot.alerts import rules as alert_rules
from bot.alerts.keywords import KeywordError
from bot.alerts.keywords import parse as parse_keywords
from bot.db.alert_types import Alert, AlertReplacement, AlertRepository, NewAlert
from bot.db.digest_types import Digest, DigestReplacement, DigestRepository, NewDigest
from bot.db.guild_types import GuildRepository, GuildSettings, HiddenArticle
from bot.db.repository import ArticleRepository
from bot.db.types import Visibility
from bot.digests import limits as digest_limits
from bot.digests.schedule import CADENCES, Schedule, canonical_timezone, parse_time
from bot.guilds.policy import Policy
from bot.store.keys import domain_key, split_list, topic_key
from bot.store.limits import QUALITY

FORMAT_VERSION = 1
MAX_BLOCKED_ENTRIES = 50
MAX_BLOCKED_CHARS = 1000
MAX_TOPIC_CHARS = 100
MAX_REASON_CHARS = 200
MAX_TITLE_CHARS = 300
MAX_ARTICLE_ID_CHARS = 200
MAX_HIDDEN = 5000
MAX_DIGESTS = digest_limits.MAX_PER_SERVER
#: The one cap on a backup's size: ``/admin import`` refuses a larger attachment before downloading it.
MAX_IMPORT_BYTES = 2 * 1024 * 1024
#: Lists and mappings inside lists and mappings: the format needs four (``digests[0].channel.id``).
MAX_DEPTH: Final = 8
#: Keys, values and entries in one file: a backup at every limit holds about 36,000 (7 per hidden article).
MAX_VALUES: Final = 8 * MAX_HIDDEN + 10_000
#: Longest number accepted (a snowflake has 20 digits). Longer ones are refused before conversion,
#: which costs time quadratic in the length for base-60 ``1:2:3...`` and decimal digits.
MAX_NUMBER_CHARS: Final = 32
#: What clears a list option in ``/admin config``.
CLEAR_WORDS = frozenset({"none", "clear", "-"})


class ConfigError(ValueError):
    """A value or a backup file that cannot be used; ``str(error)`` is the answer to show."""


# --- lists typed by moderators -----------------------------------------------------------------


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
    try:
        return domain_key(raw)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


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
    max_items: int = digest_limits.DEFAULT_ITEMS
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

# The loader stops at the first entry past these, before the rest of the file is read. Paths are
# written as the messages write them, with ``[]`` for any index.
_COLLECTION_LIMITS: Final = {
    "hidden": MAX_HIDDEN,
    "digests": MAX_DIGESTS,
    "alerts": alert_rules.MAX_PER_SERVER,
    "alerts[].providers": alert_rules.MAX_PROVIDERS,
    "settings.blocked_providers": MAX_BLOCKED_ENTRIES,
    "settings.blocked_topics": MAX_BLOCKED_ENTRIES,
}
#: Every other list or mapping: the format's largest (a digest) has ten keys.
_OTHER_COLLECTION_LIMIT: Final = 32
_INDEX_RE: Final = re.compile(r"\[\d+\]")
_YAML_PREFIX: Final = "tag:yaml.org,2002:"
_SCALAR_TAGS: Final = frozenset(
    f"{_YAML_PREFIX}{name}" for name in ("str", "int", "float", "bool", "null", "timestamp")
)
_NUMBER_TAGS: Final = frozenset({f"{_YAML_PREFIX}int", f"{_YAML_PREFIX}float"})
_SCALAR_KINDS: Final = {
    f"{_YAML_PREFIX}timestamp": "date",
    f"{_YAML_PREFIX}int": "whole number",
    f"{_YAML_PREFIX}float": "decimal number",
    f"{_YAML_PREFIX}bool": "true/false",
    f"{_YAML_PREFIX}null": "null",
}
_BaseLoader: type[yaml.SafeLoader] | type[yaml.CSafeLoader]
try:
    _BaseLoader = yaml.CSafeLoader
except AttributeError:  # PyYAML built without libyaml: the same events, parsed in Python
    _BaseLoader = yaml.SafeLoader
_Dumper: type[yaml.SafeDumper] | type[yaml.CSafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _type_name(value: object) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int):
        return "a number"
    if isinstance(value, float):
        return "a decimal number"
    if isinstance(value, date):
        return "a date"
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
    items = _list(value, where, MAX_BLOCKED_ENTRIES)
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
        min_quality=_int(data.get("min_quality", 0), f"{where}.min_quality", QUALITY.low, QUALITY.high) or 0,
        max_items=_int(
            data.get("max_items", digest_limits.DEFAULT_ITEMS),
            f"{where}.max_items",
            digest_limits.MIN_ITEMS,
            digest_limits.MAX_ITEMS,
        )
        or digest_limits.DEFAULT_ITEMS,
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
        min_quality=_int(data.get("min_quality", 0), f"{where}.min_quality", QUALITY.low, QUALITY.high) or 0,
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


class _BackupLoader(_BaseLoader):  # type: ignore[misc,valid-type]
    """libyaml's parser with PyYAML's resolver and scalar constructors, building the document itself.

    The document is built from the parser's event stream with an explicit stack instead of PyYAML's
    recursive composer and constructor, so every limit is checked as soon as the parser reaches
    it (the 5,001st hidden article stops the parse there) and no input can recurse. What a backup
    never holds is refused on the way: aliases, tags beyond the plain scalar types, keys that are
    not text, duplicate keys, numbers too long to convert cheaply, a second document.
    """

    def get_single_data(self) -> Any:
        self.get_event()  # stream start
        if self.check_event(yaml.StreamEndEvent):
            return None
        self.get_event()  # document start
        document = self._document()
        self.get_event()  # document end
        if not self.check_event(yaml.StreamEndEvent):
            raise _problem("the file", self.peek_event(), "starts a second YAML document (a `---` line)")
        return document

    def _document(self) -> Any:
        stack: list[_Open] = []
        count = 0
        while True:
            event = self.get_event()
            value: Any
            if isinstance(event, yaml.CollectionEndEvent):
                value = stack.pop().value
            else:
                parent = stack[-1] if stack else None
                where = parent.child_path() if parent is not None else ""
                count += 1
                if count > MAX_VALUES:
                    raise _problem(where, event, f"is past {MAX_VALUES:,} values; a backup holds fewer")
                if parent is not None:
                    parent.check_room(event)
                if isinstance(event, yaml.AliasEvent):
                    raise _problem(where, event, "uses a YAML alias (*name); write the value out instead")
                if parent is not None and parent.wants_key:
                    parent.take_key(self._key(event, parent))
                    continue
                if isinstance(event, yaml.ScalarEvent):
                    value = self._scalar(event, where)
                elif isinstance(event, yaml.CollectionStartEvent):
                    stack.append(self._open(event, where, len(stack)))
                    continue
                else:  # pragma: no cover - libyaml emits nothing else inside a document
                    raise _problem(where, event, f"holds an unexpected {type(event).__name__}")
            if not stack:
                return value
            stack[-1].add(value)

    def _open(self, event: yaml.CollectionStartEvent, where: str, depth: int) -> _Open:
        sequence = isinstance(event, yaml.SequenceStartEvent)
        expected = f"{_YAML_PREFIX}seq" if sequence else f"{_YAML_PREFIX}map"
        if event.tag not in (None, "!", expected):
            raise _problem(where, event, f"has the YAML tag {_tag_name(event.tag)}, which backups do not use")
        if depth >= MAX_DEPTH:
            raise _problem(where, event, f"is nested too deep: a backup nests at most {MAX_DEPTH} levels")
        limit = _COLLECTION_LIMITS.get(_INDEX_RE.sub("[]", where), _OTHER_COLLECTION_LIMIT)
        return _Open([] if sequence else {}, where, limit, event)

    def _key(self, event: yaml.Event, parent: _Open) -> str:
        where = parent.path or "the file"
        if not isinstance(event, yaml.ScalarEvent):
            raise _problem(where, event, "has a key that is a list or a mapping; keys are plain names")
        key = self._scalar(event, where)
        if not isinstance(key, str):
            shown = _shown(event.value)
            raise _problem(where, event, f"has the key “{shown}”, which YAML reads as {_type_name(key)}: quote it")
        if key in parent.value:
            raise _problem(where, event, f"has the key `{_shown(key)}` twice")
        return key

    def _scalar(self, event: yaml.ScalarEvent, where: str) -> Any:
        tag = event.tag
        if tag is None or tag == "!":
            tag = self.resolve(ScalarNode, event.value, event.implicit)
        if tag not in _SCALAR_TAGS:
            raise _problem(where, event, f"has the YAML tag {_tag_name(tag)}, which backups do not use")
        if tag != f"{_YAML_PREFIX}str" and tag != self.resolve(ScalarNode, event.value, (True, False)):
            # PyYAML's constructors trust the resolver's patterns; an explicit tag skips them
            # (``!!bool maybe``, ``!!timestamp x``), so check the text fits the tag first.
            kind = _SCALAR_KINDS.get(tag, _tag_name(tag))
            raise _problem(where, event, f"is tagged {_tag_name(tag)} but “{_shown(event.value)}” is not a {kind}")
        if tag in _NUMBER_TAGS and len(event.value) > MAX_NUMBER_CHARS:
            raise _problem(
                where, event, f"is a number {len(event.value):,} characters long; at most {MAX_NUMBER_CHARS}"
            )
        node = ScalarNode(tag, event.value, style=event.style)
        try:
            return self.yaml_constructors[tag](self, node)
        except (ValueError, ArithmeticError) as exc:  # a date with month 13, a time zone offset of 99 hours
            kind = _SCALAR_KINDS.get(tag, "value")
            raise _problem(
                where, event, f"“{_shown(event.value)}” is not a valid {kind} ({_shown(str(exc), 80)})"
            ) from None


class _Open:
    """A list or mapping being built, with where it is in the document and how many entries it may hold."""

    __slots__ = ("event", "key", "limit", "path", "value")

    def __init__(self, value: list[Any] | dict[str, Any], path: str, limit: int, event: yaml.Event) -> None:
        self.value = value
        self.path = path
        self.limit = limit
        self.event = event
        self.key: str | None = None

    @property
    def wants_key(self) -> bool:
        return isinstance(self.value, dict) and self.key is None

    def child_path(self) -> str:
        if isinstance(self.value, list):
            return f"{self.path}[{len(self.value)}]"
        if self.key is None:
            return self.path
        name = _shown(self.key)
        return f"{self.path}.{name}" if self.path else name

    def check_room(self, event: yaml.Event) -> None:
        if (isinstance(self.value, list) or self.key is None) and len(self.value) >= self.limit:
            entries = "entries" if isinstance(self.value, list) else "keys"
            raise _problem(
                self.path or "the file",
                event,
                f"has more than {self.limit:,} {entries}; at most {self.limit:,} are allowed",
            )

    def take_key(self, key: str) -> None:
        self.key = key

    def add(self, value: Any) -> None:
        if isinstance(self.value, list):
            self.value.append(value)
        else:
            assert self.key is not None  # a value follows its key
            self.value[self.key] = value
            self.key = None


def _shown(text: str, limit: int = 40) -> str:
    """Text from the file, safe to put in a message: one line, no backticks, bounded."""
    flat = " ".join(text.replace("`", "'").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _tag_name(tag: str) -> str:
    return "!!" + tag[len(_YAML_PREFIX) :] if tag.startswith(_YAML_PREFIX) else _shown(tag)


def _problem(where: str, event: yaml.Event, what: str) -> ConfigError:
    mark = event.start_mark
    line = f" (line {mark.line + 1})" if mark is not None else ""
    return ConfigError(f"`{where or 'the file'}`{line} {what}.")


def _load_yaml(raw: bytes) -> object:
    # Every check before this one is on the bytes: a file past the cap costs nothing to refuse.
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
    loader = _BackupLoader(text)
    try:
        return loader.get_single_data()
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, max(exc.position, 0)) + 1
        raise ConfigError(
            f"The file has a character YAML does not allow (U+{exc.character:04X}) at line {line}."
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "it cannot be read"
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ConfigError(f"The file is not valid YAML: {problem}{where}.") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"The file is not valid YAML: {_shown(str(exc), 200)}.") from None
    finally:
        loader.dispose()


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
        min_quality=_int(settings.get("min_quality"), "settings.min_quality", QUALITY.low, QUALITY.high, optional=True),
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
    text = header + yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=200)
    size = len(text.encode("utf-8"))
    if size > MAX_IMPORT_BYTES:
        # A file /admin import would refuse is no backup: say so now rather than on the day it is needed.
        raise ConfigError(
            f"This configuration would make a {size / 1024:,.0f} KiB file, and /admin import reads at most "
            f"{MAX_IMPORT_BYTES // 1024:,} KiB. Unhide some articles (or shorten their reasons) and export again."
        )
    return text


# --- exporting and importing a server ---------------------------------------------------------

#: Everything in the store, whatever a server's settings: what moderators may act on.
EVERYTHING = Visibility(include_unpublished=True)


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    """A text channel of the server; ``missing`` names the permissions the bot lacks to post there."""

    id: int
    name: str
    missing: tuple[str, ...] = ()


class ServerChannels(Protocol):
    """What exporting and importing need to know about the server's channels."""

    def find(self, ref: ChannelRef) -> ChannelInfo | None:
        """The text channel ``ref`` names here: the same id (the same server), else the same name."""
        ...

    def name_of(self, channel_id: int) -> str | None:
        """The channel's name, or ``None`` when it no longer exists."""
        ...

    def find_alert_channel(self, ref: ChannelRef, style: str) -> AlertChannelInfo | None:
        """The text, announcement or forum channel ``ref`` names here (same id, else same name)."""
        ...

    def find_role(self, ref: ChannelRef) -> tuple[int, str] | None:
        """The role ``ref`` names here (same id, else same name): ``(id, name)``; never @everyone."""
        ...

    def role_name(self, role_id: int) -> str | None: ...


@dataclass(frozen=True, slots=True)
class AlertChannelInfo:
    """A channel an alert can post in: its kind (``bot.alerts.rules``'s channel kinds) and, when the
    bot cannot post an alert of the asked style there, why."""

    id: int
    name: str
    kind: str
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class PlannedDigest:
    """A digest an import adds, and how the answer and the audit name it."""

    digest: NewDigest
    text: str


@dataclass(frozen=True, slots=True)
class RemovedDigest:
    id: int
    text: str


@dataclass(frozen=True, slots=True)
class PlannedAlert:
    alert: NewAlert
    text: str


@dataclass(frozen=True, slots=True)
class RemovedAlert:
    id: int
    text: str


@dataclass(frozen=True, slots=True)
class ImportPlan:
    """What importing a file here would change; nothing is written until it is applied.

    ``digests`` is ``None`` when the file has no digests (the server's are kept). Digests equal to
    one in the file are kept as they are (with their delivery history); the others are ``removed``.
    """

    backup: Backup
    settings: GuildSettings
    hidden: tuple[HiddenArticle, ...]
    hidden_before: int
    digests: tuple[PlannedDigest, ...] | None
    kept: tuple[int, ...]
    removed: tuple[RemovedDigest, ...]
    changes: tuple[str, ...]
    unmapped: tuple[str, ...]
    notes: tuple[str, ...]
    #: Like the digests: ``None`` when the file has no alerts (the server's are kept).
    alerts: tuple[PlannedAlert, ...] | None = None
    alerts_kept: tuple[int, ...] = ()
    alerts_removed: tuple[RemovedAlert, ...] = ()

    @property
    def guild_id(self) -> int:
        return self.settings.guild_id

    @property
    def needs_confirmation(self) -> bool:
        """Whether the import would delete digests or alerts this server has: the moderator must
        agree first."""
        return bool(self.removed or self.alerts_removed)

    def same_removals_as(self, other: ImportPlan) -> bool:
        """Whether ``other`` (planned again later) removes and keeps exactly what this plan does."""

        def key(plan: ImportPlan) -> tuple[object, ...]:
            return (plan.kept, [r.id for r in plan.removed], plan.alerts_kept, [r.id for r in plan.alerts_removed])

        return key(self) == key(other)


@dataclass(frozen=True, slots=True)
class ImportResult:
    plan: ImportPlan
    removed: tuple[RemovedDigest, ...]
    alerts_removed: tuple[RemovedAlert, ...] = ()

    def audit_details(self, file_name: str) -> dict[str, object]:
        """What the audit log keeps: above all, what the import removed (its key sorts first, so
        the one-line summary in ``/admin audit`` shows it)."""
        plan = self.plan
        return {
            # One key for both, named to sort first.
            "digests and alerts removed": [f"digest {r.text}" for r in self.removed]
            + [f"alert {r.text}" for r in self.alerts_removed]
            or "none",
            "unchanged alerts": len(plan.alerts_kept),
            "new alerts": "none (the file has no alerts)" if plan.alerts is None else len(plan.alerts),
            "unchanged digests": len(plan.kept),
            "file": file_name,
            "from_server": plan.backup.server_name,
            "new digests": "none (the file has no digests)" if plan.digests is None else len(plan.digests),
            "settings changed": list(plan.changes) or "none",
            "hidden": len(plan.hidden),
            "not mapped": list(plan.unmapped) or "none",
        }


def describe_digest(topic: str, channel: str, at_time: str, timezone: str, cadence: str, weekday: int) -> str:
    try:
        when = Schedule(parse_time(at_time), timezone, cadence, weekday).describe()  # type: ignore[arg-type]
    except ValueError:  # a row written by an older version; show it as stored
        when = f"{cadence} at {at_time} ({timezone})"
    return f"{topic} in {channel}, {when}"


def _identity(digest: Digest | NewDigest) -> tuple[object, ...]:
    """What makes two digests the same for an import (ids, progress and who made it aside)."""
    return (
        digest.channel_id,
        topic_key(digest.topic),
        digest.at_time,
        digest.timezone,
        digest.cadence,
        digest.weekday,
        digest.min_quality,
        digest.max_items,
        digest.paused,
    )


def describe_alert(topic: str | None, keywords: str | None, channel: str, style: str) -> str:
    what = " + ".join(_shown(part) for part in (topic, f"“{keywords}”" if keywords else None) if part)
    return f"{what} in {channel} ({style})"


def _alert_identity(alert: Alert | NewAlert) -> tuple[object, ...]:
    """What makes two alerts the same for an import (ids, progress and who made it aside)."""
    return (
        alert.channel_id,
        (alert.topic or "").casefold(),
        alert.keywords,
        tuple(alert.providers),
        alert.min_quality,
        alert.role_id,
        alert.style,
        alert.publish,
        alert.template,
        alert.posts_per_window,
        alert.paused,
    )


def _shown_setting(value: object) -> str:
    if value is None:
        return "default"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, tuple):
        return _shown(", ".join(str(v) for v in value), 80) or "none"
    return str(value)


class BackupService:
    """Exports a server's configuration as a ``Backup``, and imports one in two steps: ``plan``
    (reads only) and ``apply`` (one transaction)."""

    def __init__(
        self,
        *,
        articles: ArticleRepository,
        guilds: GuildRepository,
        digests: DigestRepository,
        alerts: AlertRepository,
        policy: Policy,
    ) -> None:
        self._articles = articles
        self._guilds = guilds
        self._digests = digests
        self._alerts = alerts
        self._policy = policy

    def _channel_text(self, channel_id: int, channels: ServerChannels) -> str:
        name = channels.name_of(channel_id)
        return f"#{name}" if name else f"channel {channel_id} (deleted)"

    async def export(self, guild_id: int, channels: ServerChannels, *, server_name: str | None) -> Backup:
        settings = (await self._policy.for_guild(guild_id)).settings
        hidden = await self._guilds.hidden(guild_id)
        log_channel = None
        if settings.log_channel_id is not None:
            log_channel = ChannelRef(settings.log_channel_id, channels.name_of(settings.log_channel_id))
        digests = tuple(
            DigestSpec(
                channel=ChannelRef(d.channel_id, channels.name_of(d.channel_id)),
                topic=d.topic,
                time=d.at_time,
                timezone=d.timezone,
                cadence=d.cadence,
                weekday=d.weekday,
                min_quality=d.min_quality,
                max_items=d.max_items,
                paused=d.paused,
                pause_reason=d.pause_reason,
            )
            for d in await self._digests.for_guild(guild_id)
        )
        alerts = tuple(
            AlertSpec(
                channel=ChannelRef(a.channel_id, channels.name_of(a.channel_id)),
                topic=a.topic,
                keywords=a.keywords,
                providers=a.providers,
                min_quality=a.min_quality,
                mention=ChannelRef(a.role_id, channels.role_name(a.role_id)) if a.role_id is not None else None,
                style=a.style,
                publish=a.publish,
                template=a.template,
                posts_per_10min=a.posts_per_window,
                paused=a.paused,
                pause_reason=a.pause_reason,
            )
            for a in await self._alerts.for_guild(guild_id)
        )
        return Backup(
            min_quality=settings.min_quality,
            include_unpublished=settings.include_unpublished,
            public_results=settings.public_results,
            blocked_providers=settings.blocked_providers,
            blocked_topics=settings.blocked_topics,
            log_channel=log_channel,
            # The title is a reminder for people reading the file (an import takes it from the store):
            # cut to what the validator reads, so a long one cannot make the file unimportable.
            hidden=tuple(HiddenSpec(h.article_id, h.title[:MAX_TITLE_CHARS], h.reason) for h in hidden),
            digests=digests,
            server_name=server_name,
            alerts=alerts,
        )

    async def canonical_topics(self, topics: Sequence[str]) -> tuple[tuple[str, ...], list[str]]:
        """Topics in the store's spelling, and the ones no article has."""
        canonical: list[str] = []
        unknown: list[str] = []
        for topic in topics:
            name = await self._articles.resolve_topic(topic)
            canonical.append(name or topic)
            if name is None:
                unknown.append(topic)
        return tuple(dict.fromkeys(canonical)), unknown

    async def unknown_providers(self, domains: Sequence[str]) -> list[str]:
        known = await self._guilds.known_providers(domains)
        return [d for d in domains if d not in known]

    async def plan(self, guild_id: int, backup: Backup, channels: ServerChannels, *, user_id: int) -> ImportPlan:
        """What importing ``backup`` here would store, with what it replaces and what did not fit
        this server. Reads only."""
        notes: list[str] = []
        unmapped: list[str] = []
        topics, unknown_topics = await self.canonical_topics(backup.blocked_topics)
        if unknown_topics:
            notes.append(f"{len(unknown_topics)} blocked topic(s) match no article yet (blocked anyway).")
        if unknown := await self.unknown_providers(backup.blocked_providers):
            notes.append(f"{len(unknown)} blocked provider(s) match no article yet (blocked anyway).")
        log_channel_id = None
        if backup.log_channel is not None:
            found = channels.find(backup.log_channel)
            if found is None:
                unmapped.append(f"Log channel {_shown(backup.log_channel.describe())}: no such channel here (not set).")
            elif found.missing:
                notes.append(f"Log channel #{found.name} not set: I need {', '.join(found.missing)} there.")
            else:
                log_channel_id = found.id
        hidden: list[HiddenArticle] = []
        absent = 0
        for spec in backup.hidden:
            article = await self._articles.get(spec.id, EVERYTHING)
            absent += article is None
            title = article.title if article is not None else spec.title or spec.id
            hidden.append(HiddenArticle(spec.id, title, spec.reason, user_id))
        if absent:
            notes.append(f"{absent} hidden article(s) are not in the store now (kept hidden in case they return).")
        settings = GuildSettings(
            guild_id=guild_id,
            min_quality=backup.min_quality,
            include_unpublished=backup.include_unpublished,
            public_results=backup.public_results,
            blocked_providers=backup.blocked_providers,
            blocked_topics=topics,
            log_channel_id=log_channel_id,
        )
        current = (await self._policy.for_guild(guild_id)).settings
        changes = self._changes(current, settings, channels)
        planned: tuple[PlannedDigest, ...] | None = None
        kept: list[int] = []
        removed: list[RemovedDigest] = []
        if backup.digests is not None:
            wanted = await self._planned_digests(guild_id, backup.digests, channels, user_id, unmapped, notes)
            planned, kept, removed = await self._match(guild_id, wanted, channels)
        planned_alerts: tuple[PlannedAlert, ...] | None = None
        alerts_kept: list[int] = []
        alerts_removed: list[RemovedAlert] = []
        if backup.alerts is not None:
            wanted_alerts = await self._planned_alerts(guild_id, backup.alerts, channels, user_id, unmapped, notes)
            planned_alerts, alerts_kept, alerts_removed = await self._match_alerts(guild_id, wanted_alerts, channels)
        return ImportPlan(
            backup=backup,
            settings=settings,
            hidden=tuple(hidden),
            hidden_before=len(await self._guilds.hidden_ids(guild_id)),
            digests=planned,
            kept=tuple(kept),
            removed=tuple(removed),
            changes=tuple(changes),
            unmapped=tuple(unmapped),
            notes=tuple(notes),
            alerts=planned_alerts,
            alerts_kept=tuple(alerts_kept),
            alerts_removed=tuple(alerts_removed),
        )

    def _changes(self, old: GuildSettings, new: GuildSettings, channels: ServerChannels) -> list[str]:
        changes = []
        for name in ("min_quality", "include_unpublished", "public_results", "blocked_providers", "blocked_topics"):
            before, after = getattr(old, name), getattr(new, name)
            if before != after:
                changes.append(f"{name}: {_shown_setting(before)} → {_shown_setting(after)}")
        if old.log_channel_id != new.log_channel_id:
            before_text = "none" if old.log_channel_id is None else self._channel_text(old.log_channel_id, channels)
            after_text = "none" if new.log_channel_id is None else self._channel_text(new.log_channel_id, channels)
            changes.append(f"log_channel: {before_text} → {after_text}")
        return changes

    async def _planned_digests(
        self,
        guild_id: int,
        specs: Sequence[DigestSpec],
        channels: ServerChannels,
        user_id: int,
        unmapped: list[str],
        notes: list[str],
    ) -> list[PlannedDigest]:
        now = datetime.now(UTC)
        planned = []
        for spec in specs:
            found = channels.find(spec.channel)
            if found is None:
                unmapped.append(
                    f"Digest about {_shown(spec.topic)} ({_shown(spec.channel.describe())}): no such channel here."
                )
                continue
            if found.missing:
                notes.append(
                    f"Digest about {_shown(spec.topic)}: I cannot post in #{found.name} yet "
                    f"(I need {', '.join(found.missing)} there)."
                )
            topic = await self._articles.resolve_topic(spec.topic)
            if topic is None:
                notes.append(f"No article has the topic “{_shown(spec.topic)}” yet (digest imported anyway).")
            digest = NewDigest(
                guild_id=guild_id,
                channel_id=found.id,
                topic=topic or spec.topic,
                at_time=spec.time,
                timezone=spec.timezone,
                cadence=spec.cadence,
                weekday=spec.weekday,
                min_quality=spec.min_quality,
                max_items=spec.max_items,
                created_at=now,
                created_by=user_id,
                paused=spec.paused,
                pause_reason=(spec.pause_reason or "paused in the imported configuration") if spec.paused else None,
            )
            text = describe_digest(digest.topic, f"#{found.name}", spec.time, spec.timezone, spec.cadence, spec.weekday)
            planned.append(PlannedDigest(digest, text))
        return planned

    async def _match(
        self, guild_id: int, wanted: list[PlannedDigest], channels: ServerChannels
    ) -> tuple[tuple[PlannedDigest, ...], list[int], list[RemovedDigest]]:
        """Split the server's digests into those the file has too (kept untouched, so they keep
        their progress and what they delivered) and those it removes; what is left of ``wanted`` is added."""
        to_add = list(wanted)
        kept: list[int] = []
        removed: list[RemovedDigest] = []
        for old in await self._digests.for_guild(guild_id):
            same = next((p for p in to_add if _identity(p.digest) == _identity(old)), None)
            if same is not None:
                to_add.remove(same)
                kept.append(old.id)
                continue
            channel = self._channel_text(old.channel_id, channels)
            text = describe_digest(old.topic, channel, old.at_time, old.timezone, old.cadence, old.weekday)
            removed.append(RemovedDigest(old.id, f"#{old.id} {text}"))
        return tuple(to_add), kept, removed

    async def _planned_alerts(
        self,
        guild_id: int,
        specs: Sequence[AlertSpec],
        channels: ServerChannels,
        user_id: int,
        unmapped: list[str],
        notes: list[str],
    ) -> list[PlannedAlert]:
        """The alerts an import stores here. An alert whose channel lacks a permission is imported
        paused, saying which (as ``/alert add`` would refuse it)."""
        now = datetime.now(UTC)
        planned = []
        for spec in specs:
            what = describe_alert(spec.topic, spec.keywords, _shown(spec.channel.describe()), spec.style)
            found = channels.find_alert_channel(spec.channel, spec.style)
            if found is None:
                unmapped.append(f"Alert {what}: no such text, announcement or forum channel here.")
                continue
            role_id = None
            if spec.mention is not None:
                role = channels.find_role(spec.mention)
                if role is None:
                    notes.append(f"Alert {what}: no role {_shown(spec.mention.describe())} here; it will not ping.")
                else:
                    role_id = role[0]
            topic = spec.topic
            if topic:
                canonical = await self._articles.resolve_topic(topic)
                if canonical is None:
                    notes.append(f"No article has the topic “{_shown(topic)}” yet (alert imported anyway).")
                topic = canonical or topic
            paused, reason = spec.paused, spec.pause_reason
            if found.problem is not None:
                paused, reason = True, found.problem
                notes.append(f"Alert {what} imported paused: {found.problem}.")
            alert = NewAlert(
                guild_id=guild_id,
                channel_id=found.id,
                channel_kind=found.kind,
                topic=topic,
                keywords=spec.keywords,
                providers=spec.providers,
                min_quality=spec.min_quality,
                role_id=role_id,
                style=spec.style,
                publish=spec.publish and found.kind == "announcement",
                template=spec.template,
                posts_per_window=spec.posts_per_10min,
                created_at=now,
                created_by=user_id,
                paused=paused,
                pause_reason=(reason or "paused in the imported configuration") if paused else None,
            )
            text = describe_alert(alert.topic, alert.keywords, f"#{found.name}", alert.style)
            planned.append(PlannedAlert(alert, text))
        return planned

    async def _match_alerts(
        self, guild_id: int, wanted: list[PlannedAlert], channels: ServerChannels
    ) -> tuple[tuple[PlannedAlert, ...], list[int], list[RemovedAlert]]:
        """As ``_match`` for digests: alerts the file has too are kept with their history."""
        to_add = list(wanted)
        kept: list[int] = []
        removed: list[RemovedAlert] = []
        for old in await self._alerts.for_guild(guild_id):
            same = next((p for p in to_add if _alert_identity(p.alert) == _alert_identity(old)), None)
            if same is not None:
                to_add.remove(same)
                kept.append(old.id)
                continue
            text = describe_alert(old.topic, old.keywords, self._channel_text(old.channel_id, channels), old.style)
            removed.append(RemovedAlert(old.id, f"#{old.id} {text}"))
        return tuple(to_add), kept, removed

    async def apply(self, plan: ImportPlan, *, user_id: int) -> ImportResult:
        """Store the plan in one transaction: a failure anywhere leaves the server as it was."""
        digests = None
        if plan.digests is not None:
            digests = DigestReplacement(
                remove=tuple(r.id for r in plan.removed), add=tuple(p.digest for p in plan.digests)
            )
        alerts = None
        if plan.alerts is not None:
            alerts = AlertReplacement(
                remove=tuple(r.id for r in plan.alerts_removed), add=tuple(p.alert for p in plan.alerts)
            )
        gone = await self._policy.replace(plan.settings, plan.hidden, user_id=user_id, digests=digests, alerts=alerts)
        digest_ids = {d.id for d in gone.digests}
        alert_ids = {a.id for a in gone.alerts}
        return ImportResult(
            plan,
            tuple(r for r in plan.removed if r.id in digest_ids),
            tuple(r for r in plan.alerts_removed if r.id in alert_ids),
        )
