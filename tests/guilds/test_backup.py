"""What moderators type into /admin config and the YAML backups /admin export writes and
/admin import reads."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.guilds.backup import (
    _DIGEST_KEYS,
    _HIDDEN_KEYS,
    _SETTINGS_KEYS,
    _TOP_KEYS,
    MAX_BLOCKED_ENTRIES,
    MAX_DIGESTS,
    MAX_HIDDEN,
    MAX_IMPORT_BYTES,
    Backup,
    ChannelRef,
    ConfigError,
    DigestSpec,
    HiddenSpec,
    dump_backup,
    normalise_domain,
    parse_backup,
    parse_list_option,
    split_list,
)

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def test_lists_split_on_commas_and_lines_and_none_clears() -> None:
    assert split_list(" a, b ,,\nc ") == ["a", "b", "c"]
    assert parse_list_option("None", "blocked_topics") == ()
    assert parse_list_option("  -  ", "blocked_providers") == ()


def test_topics_are_tidied_and_deduplicated_case_insensitively() -> None:
    assert parse_list_option("Space,  space , Open   Source", "blocked_topics") == ("Space", "Open Source")


@pytest.mark.parametrize(
    ("raw", "domain"),
    [
        ("Example.COM", "example.com"),
        ("https://news.example.org/some/path", "news.example.org"),
        ("http://sub.example.co.uk/", "sub.example.co.uk"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("example.com.", "example.com"),
    ],
)
def test_domains_are_normalised(raw: str, domain: str) -> None:
    assert normalise_domain(raw) == domain


@pytest.mark.parametrize("raw", ["not a domain", "localhost", "exa mple.com", "-bad-.com", "a..b", ""])
def test_non_domains_are_refused(raw: str) -> None:
    with pytest.raises(ConfigError, match="is not a domain"):
        normalise_domain(raw)


def test_list_limits_have_their_own_answers() -> None:
    with pytest.raises(ConfigError, match=f"51 entries; at most {MAX_BLOCKED_ENTRIES}"):
        parse_list_option(",".join(f"t{i}" for i in range(51)), "blocked_topics")
    with pytest.raises(ConfigError, match="at most 1,000 are allowed"):
        parse_list_option(",".join("x" * 99 for _ in range(11)), "blocked_topics")
    with pytest.raises(ConfigError, match="too long for a topic"):
        parse_list_option("y" * 101, "blocked_topics")


names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=40).map(
    lambda s: " ".join(s.split())
)
domains = st.from_regex(r"[a-z0-9]{1,10}(\.[a-z0-9]{1,10}){1,2}", fullmatch=True)
channel = st.builds(
    ChannelRef,
    id=st.integers(min_value=1, max_value=2**63 - 1),
    name=st.none() | st.text("abcdefghij-_0123456789", min_size=1, max_size=20),
)
digest = st.builds(
    DigestSpec,
    channel=channel,
    topic=names.filter(bool),
    time=st.times().map(lambda t: f"{t.hour:02d}:{t.minute:02d}"),
    timezone=st.sampled_from(["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata"]),
    cadence=st.sampled_from(["daily", "weekdays", "weekly"]),
    weekday=st.integers(0, 6),
    min_quality=st.integers(0, 164),
    max_items=st.integers(1, 10),
    paused=st.booleans(),
    pause_reason=st.none() | names.filter(bool),
)
backups = st.builds(
    Backup,
    min_quality=st.none() | st.integers(0, 164),
    include_unpublished=st.none() | st.booleans(),
    public_results=st.none() | st.booleans(),
    blocked_providers=st.lists(domains, max_size=5, unique=True).map(tuple),
    blocked_topics=st.lists(names.filter(bool), max_size=5, unique_by=str.casefold).map(tuple),
    log_channel=st.none() | channel,
    hidden=st.lists(
        st.builds(
            HiddenSpec,
            id=st.from_regex(r"[a-z0-9-]{1,60}", fullmatch=True),
            title=names,
            reason=st.none() | names.filter(bool),
        ),
        max_size=5,
        unique_by=lambda h: h.id,
    ).map(tuple),
    digests=st.none() | st.lists(digest, max_size=3).map(tuple),
    server_name=st.none() | names.filter(bool),
)


@given(backups)
def test_an_export_reads_back_as_the_same_configuration(backup: Backup) -> None:
    text = dump_backup(backup, server_id=42, exported_at=NOW)
    parsed = parse_backup(text.encode("utf-8"))
    assert parsed == Backup(
        min_quality=backup.min_quality,
        include_unpublished=backup.include_unpublished,
        public_results=backup.public_results,
        blocked_providers=backup.blocked_providers,
        blocked_topics=backup.blocked_topics,
        log_channel=backup.log_channel,
        hidden=backup.hidden,
        digests=backup.digests,
        server_name=backup.server_name,
        exported_at=NOW.isoformat(timespec="seconds"),
    )


def test_the_file_says_what_it_is() -> None:
    text = dump_backup(Backup(min_quality=3), server_id=42, exported_at=NOW)
    assert text.startswith("# newsbot server configuration")
    document = yaml.safe_load(text)
    assert document["newsbot"] == 1 and document["server"]["id"] == "42"
    assert "digests" not in document, "no digests key when the bot has no digests: import keeps them"


def digest_line(time: str, *, zone: str = "UTC", cadence: str = "daily") -> bytes:
    entry = f"{{channel: {{name: news}}, topic: Space, {time}, timezone: {zone}, cadence: {cadence}}}"
    return f"newsbot: 1\ndigests:\n  - {entry}\n".encode()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty"),
        (b"- just\n- a list\n", "`the file` must be a mapping"),
        (b"newsbot: 2\n", "format `newsbot: 2`"),
        (b"newsbot: 1\nsettings:\n  min_quality: 200\n", "must be from 0 to 164, not 200"),
        (b"newsbot: 1\nsettings:\n  min_quality: true\n", "must be a whole number"),
        (b"newsbot: 1\nsettings:\n  public_results: 'yes'\n", "must be true, false or null"),
        (b"newsbot: 1\nsettings:\n  blocked_topics: Space\n", "must be a list"),
        (b"newsbot: 1\nsettings:\n  blocked_topics: [1, 2]\n", "`settings.blocked_topics[0]` must be text"),
        (b"newsbot: 1\nsettings:\n  log_channel: {id: abc}\n", "must be a channel id"),
        (b"newsbot: 1\nhidden:\n  - title: no id\n", "has no `id`"),
        (b"newsbot: 1\nhidden:\n  - {id: a1, secret: x}\n", "unknown key(s) `secret`"),
        (b"newsbot: 1\ndigests:\n  - {topic: Space}\n", "is missing `channel`, `time`, `timezone`, `cadence`"),
        (digest_line("time: 12:30"), 'must be in quotes, for example "08:30"'),
        (digest_line("time: '25:00'"), "hour 25 is out of range"),
        (digest_line("time: '08:00'", zone="Mars/Olympus"), "unknown timezone"),
        (digest_line("time: '08:00'", cadence="hourly"), "must be one of daily, weekdays, weekly"),
        (b"\xff\xfe not utf-8", "not UTF-8 text"),
        (b"newsbot: 1\nsettings: {min_quality: [1, 2\n", "not valid YAML"),
        (b"newsbot: 1\n" + b" " * MAX_IMPORT_BYTES, "backups are at most 2,048 KiB"),
        (b"newsbot: 1\nexported_at: [1]\n", "`exported_at` must be a date and time"),
    ],
)
def test_bad_backups_are_refused_with_the_reason(content: bytes, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_backup(content)
    assert message in str(raised.value)


def test_yaml_errors_name_the_line() -> None:
    with pytest.raises(ConfigError, match=r"mapping values are not allowed .*at line 3, column 17"):
        parse_backup(b"newsbot: 1\nsettings:\n  min_quality: 3: 4\n")


def alias_bomb(tail: str) -> bytes:
    """Ten levels of ten-fold aliases: 10^10 nodes if anything walked or printed it in full."""
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 10)]
    return ("\n".join(lines) + "\n" + tail + "\n").encode()


@pytest.mark.parametrize("tail", ["? *l9\n: 1", "newsbot: *l9"])
def test_alias_bombs_are_refused_quickly(tail: str) -> None:
    started = time.perf_counter()
    with pytest.raises(ConfigError, match=r"`l1\[0\]` \(line 2\) uses a YAML alias"):
        parse_backup(alias_bomb(tail))
    assert time.perf_counter() - started < 2


def test_python_tags_are_not_executed() -> None:
    with pytest.raises(ConfigError, match=r"`newsbot` .* has the YAML tag !!python/object/apply:os\.system"):
        parse_backup(b"newsbot: !!python/object/apply:os.system ['echo pwned']\n")


# --- hostile files: every one gets a ConfigError with a reason, quickly --------------------------


def nested(depth: int, *, flow: bool) -> bytes:
    if flow:
        return b"newsbot: 1\nhidden: " + b"[" * depth + b"]" * depth + b"\n"
    lines = [b"newsbot: 1", b"hidden:"] + [b"  " * i + b"- " for i in range(1, depth)]
    return b"\n".join(lines) + b"x\n"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (nested(100_000, flow=True), "not valid YAML: exceeded maximum nesting depth"),
        (nested(900, flow=True), "`hidden[0][0][0][0][0][0][0]` (line 2) is nested too deep"),
        (nested(300, flow=False), "is nested too deep: a backup nests at most 8 levels"),
        (b"newsbot: 1\nsettings:\n  min_quality: " + b"7" * 5000 + b"\n", "is a number 5,000 characters long"),
        (b"newsbot: 1\nsettings:\n  min_quality: " + b"1:" * 5000 + b"0\n", "is a number 10,001 characters long"),
        (
            b"newsbot: 1\nexported_at: 2024-13-45\n",
            "`exported_at` (line 2) “2024-13-45” is not a valid date (month must be in 1..12)",
        ),
        (b"newsbot: 1\nexported_at: 2024-01-01 10:00:00+99:00\n", "is not a valid date"),
        (b"newsbot: 1\nsettings:\n  min_quality: 1.0e+999\n", "must be a whole number from 0 to 164, not a decimal"),
        (b"newsbot: 1\nsettings:\n  min_quality: .nan\n", "must be a whole number from 0 to 164, not a decimal"),
        (b"newsbot: 1\nserver: {name: !!binary aGk=}\n", "`server.name` (line 2) has the YAML tag !!binary"),
        (b"newsbot: 1\nhidden: !!set {a, b}\n", "`hidden` (line 2) has the YAML tag !!set"),
        (b"newsbot: 1\nhidden: !!omap [a: 1]\n", "has the YAML tag !!omap"),
        (b"newsbot: 1\nsettings: !custom {}\n", "has the YAML tag !custom"),
        (b"newsbot: 1\nexported_at: !!timestamp x\n", "is tagged !!timestamp but “x” is not a date"),
        (b"newsbot: 1\nsettings: {public_results: !!bool maybe}\n", "tagged !!bool but “maybe” is not a true/false"),
        (b"newsbot: 1\nsettings: {min_quality: !!int 1.5}\n", "tagged !!int but “1.5” is not a whole number"),
        (b"newsbot: 1\nsettings: {min_quality: !!str 1}\n", "`settings.min_quality` must be a whole number"),
        (b"newsbot: 1\nsettings: {<<: {min_quality: 3}}\n", "has the YAML tag !!merge"),
        (b"newsbot: 1\nnewsbot: 1\n", "`the file` (line 2) has the key `newsbot` twice"),
        (
            b"newsbot: 1\nsettings:\n  min_quality: 1\n  min_quality: 2\n",
            "`settings` (line 4) has the key `min_quality`",
        ),
        (b"newsbot: 1\n1: x\n", "has the key “1”, which YAML reads as a number: quote it"),
        (b"newsbot: 1\nyes: x\n", "has the key “yes”, which YAML reads as true/false"),
        (b"newsbot: 1\n? [a]\n: x\n", "has a key that is a list or a mapping"),
        (b"newsbot: 1\nhidden: [{id: 2024-01-01}]\n", "`hidden[0].id` must be text, not a date"),
        (b"newsbot: 1\nserver: {name: 2024-01-01 10:00:00}\n", "`server.name` must be text, not a date"),
        (b"newsbot: 1\n---\nnewsbot: 1\n", "starts a second YAML document"),
        (b"newsbot: 1\nsettings: {min_quality: 3\x07}\n", "a character YAML does not allow (U+0007) at line 2"),
        (b"newsbot: 1\xc3\x28\n", "not UTF-8 text (byte 10)"),
        (b"\x00\x01\x02\xff" * 50, "not UTF-8 text"),
        (b"newsbot: 1\nhidden:\n" + b"  - {id: a}\n" * 5001, "`hidden` (line 5003) has more than 5,000 entries"),
        (b"newsbot: 1\nsettings: {" + b", ".join(b"k%d: 1" % i for i in range(40)) + b"}\n", "more than 32 keys"),
    ],
)
def test_hostile_files_get_a_specific_reason(content: bytes, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_backup(content)
    assert message in str(raised.value)


HUGE = MAX_IMPORT_BYTES - 64


def filled(head: str, line: str) -> bytes:
    """``head`` then ``line`` (formatted with its number) repeated up to the size cap."""
    out, size, i = [head], len(head), 0
    while size + len(piece := line.format(i=i)) <= HUGE:
        out.append(piece)
        size, i = size + len(piece), i + 1
    return "".join(out).encode()


@pytest.mark.parametrize(
    "content",
    [
        filled("newsbot: 1\nhidden:\n", "  - {{id: article-{i}, title: Some title {i}, reason: spam}}\n"),
        filled("newsbot: 1\nsettings:\n  blocked_topics:\n", "    - topic {i}\n"),
        filled("newsbot: 1\nhidden: [", "[{{a: [1, 2, {{b: c}}]}}], ")[:-2] + b"]\n",
        filled("newsbot: 1\nsettings:\n", "  k{i}: v\n"),
        filled("newsbot: 1\nhidden:\n", "  - {{id: a{i}, title: [1, [2, [3, [4, [5]]]]]}}\n"),
    ],
    ids=["hidden entries", "a long list", "nested flow lists", "many keys", "deep entries"],
)
def test_a_hostile_file_at_the_size_cap_costs_little(content: bytes) -> None:
    assert len(content) > MAX_IMPORT_BYTES * 0.99
    started = time.process_time()
    with pytest.raises(ConfigError):
        parse_backup(content)
    assert time.process_time() - started < 1.0, "the first limit exceeded stops the parse"


def test_a_backup_at_every_count_limit_is_read() -> None:
    channel = ChannelRef(1, "news")
    spec = DigestSpec(channel, "Space", "08:00", "UTC", "daily", max_items=10, min_quality=164)
    backup = Backup(
        min_quality=164,
        blocked_providers=tuple(f"s{i}.example.com" for i in range(MAX_BLOCKED_ENTRIES)),
        # Ids as long as the store makes them, titles and reasons of a usual length.
        hidden=tuple(HiddenSpec(f"{i:05d}-" + "x" * 84, "A title " * 20, "duplicate story") for i in range(MAX_HIDDEN)),
        digests=(spec,) * MAX_DIGESTS,
    )
    text = dump_backup(backup, server_id=1, exported_at=NOW).encode()
    started = time.process_time()
    parsed = parse_backup(text)
    assert len(parsed.hidden) == MAX_HIDDEN and parsed.digests == (spec,) * MAX_DIGESTS
    assert time.process_time() - started < 2


def test_an_export_too_large_to_import_is_refused_when_made() -> None:
    backup = Backup(hidden=(HiddenSpec("id", "title", "r" * MAX_IMPORT_BYTES),))
    with pytest.raises(ConfigError, match="/admin import reads at most 2,048 KiB"):
        dump_backup(backup, server_id=1, exported_at=NOW)


# Scalars that each broke or could break a loader: values YAML converts (dates, numbers in every
# base, floats), tags, anchors and aliases, and text that looks like YAML syntax.
TRICKY_SCALARS = [
    "2024-13-45",
    "2024-02-30 25:61:00",
    "2024-01-01T10:00:00+99:99",
    "1" * 5000,
    "0x" + "f" * 200,
    "0b" + "1" * 200,
    "1:" * 300 + "0",
    "1.5:" * 100 + "0",
    "1e999",
    "-.inf",
    ".nan",
    "0o777",
    "~",
    "yes",
    "<<",
    "=",
    "!!binary aGk=",
    "!!python/object/apply:os.system [x]",
    "!!set {a}",
    "!!timestamp x",
    "!!int 1.5",
    "!!float abc",
    "!!bool maybe",
    "!<tag:yaml.org,2002:str> 1",
    "!local x",
    "&a x",
    "*a",
    "*undefined",
    "'quoted",
    '"\\x00"',
    "|",
    ">-",
    "? x",
    "- - x",
    "\t",
    "%YAML 1.1",
    "---",
    "...",
]
KEYS = [
    *_TOP_KEYS,
    *_SETTINGS_KEYS,
    *_HIDDEN_KEYS,
    *_DIGEST_KEYS,
    "1",
    "yes",
    "null",
    "~",
    "<<",
    "[a]",
    "{a: b}",
    "? x",
    "&k id",
    "*k",
    "!!str id",
    "a: b",
]


def _render(node: Any, indent: int, flow: bool) -> str:
    kind, value = node
    if kind == "scalar":
        return str(value)
    pad = "  " * indent
    if kind == "seq":
        if flow or not value:
            return "[" + ", ".join(_render(v, indent, True) for v in value) + "]"
        return "".join(f"\n{pad}- {_render(v, indent + 1, False)}" for v in value)
    if flow or not value:
        return "{" + ", ".join(f"{k}: {_render(v, indent, True)}" for k, v in value) + "}"
    return "".join(f"\n{pad}{k}: {_render(v, indent + 1, False)}" for k, v in value)


SCALARS = st.one_of(
    st.sampled_from(TRICKY_SCALARS),
    st.integers(-(10**30), 10**30).map(str),
    st.floats().map(repr),
    st.text(st.characters(codec="utf-8"), max_size=20),
    st.sampled_from(["1", "0", "164", "165", "true", "null", "daily", "08:30", "'08:30'", "UTC", "news"]),
).map(lambda s: ("scalar", s))
TREES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4).map(lambda v: ("seq", v)),
        st.lists(st.tuples(st.sampled_from(KEYS), children), max_size=5).map(lambda v: ("map", v)),
    ),
    max_leaves=25,
)


@st.composite
def yamlish(draw: st.DrawFn) -> bytes:
    """A document shaped like a backup (often with `newsbot: 1`, the known keys at the known places)
    whose values, keys, tags and layout are anything."""
    top = [("newsbot", ("scalar", draw(st.sampled_from(["1", "1", "2", "'1'", "*a", "&a 1"]))))]
    top += draw(st.lists(st.tuples(st.sampled_from(KEYS), TREES), max_size=5))
    text = "".join(f"{key}: {_render(value, 1, draw(st.booleans()))}\n" for key, value in top)
    return text.encode("utf-8", "surrogatepass")


def _parse_within_bound(data: bytes) -> None:
    started = time.process_time()
    try:
        outcome: object = parse_backup(data)
    except ConfigError as exc:
        outcome = str(exc)
    assert isinstance(outcome, Backup) or outcome.strip(), "a backup, or a refusal that says why"
    assert time.process_time() - started < 1.0


@settings(max_examples=200, deadline=None)
@given(yamlish())
def test_any_yaml_document_gives_a_backup_or_a_config_error(data: bytes) -> None:
    _parse_within_bound(data)


@settings(max_examples=100, deadline=None)
@given(backups, st.data())
def test_an_export_with_any_value_replaced_gives_a_backup_or_a_config_error(
    backup: Backup, data: st.DataObject
) -> None:
    lines = dump_backup(backup, server_id=42, exported_at=NOW).splitlines()
    values = [i for i, line in enumerate(lines) if ": " in line and not line.startswith("#")]
    index = data.draw(st.sampled_from(values))
    key = lines[index].split(": ", 1)[0]
    lines[index] = f"{key}: {data.draw(st.sampled_from(TRICKY_SCALARS))}"
    _parse_within_bound("\n".join(lines).encode())


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000) | st.text(max_size=300).map(lambda s: s.encode("utf-8", "surrogatepass")))
def test_any_bytes_give_a_backup_or_a_config_error(data: bytes) -> None:
    _parse_within_bound(data)
