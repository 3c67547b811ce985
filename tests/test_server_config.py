"""What moderators type into /admin config and the YAML backups /admin export writes and
/admin import reads."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from bot.server_config import (
    MAX_BLOCKED_ENTRIES,
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
    with pytest.raises(ConfigError, match=r"mapping values are not allowed here at line 3, column 17"):
        parse_backup(b"newsbot: 1\nsettings:\n  min_quality: 3: 4\n")


def alias_bomb(tail: str) -> bytes:
    """Ten levels of ten-fold aliases: 10^10 nodes if anything walked or printed it in full."""
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 10)]
    return ("\n".join(lines) + "\n" + tail + "\n").encode()


@pytest.mark.parametrize(
    ("tail", "message"),
    [
        ("? *l9\n: 1", "found unhashable key"),
        ("newsbot: *l9", "unknown key(s) `l0`"),
    ],
)
def test_alias_bombs_are_refused_quickly(tail: str, message: str) -> None:
    started = time.perf_counter()
    with pytest.raises(ConfigError) as raised:
        parse_backup(alias_bomb(tail))
    assert message in str(raised.value)
    assert time.perf_counter() - started < 2


def test_an_aliased_version_is_named_by_its_type() -> None:
    with pytest.raises(ConfigError, match="format `newsbot: a list`"):
        parse_backup(b"newsbot: &v [1, [*v]]\n")


def test_python_tags_are_not_executed() -> None:
    with pytest.raises(ConfigError, match="not valid YAML"):
        parse_backup(b"newsbot: !!python/object/apply:os.system ['echo pwned']\n")


@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_any_input_gives_a_backup_or_a_config_error_with_a_reason(data: bytes) -> None:
    try:
        parse_backup(data)
    except ConfigError as exc:
        message = str(exc)
    else:
        message = "parsed"
    assert message.strip()
