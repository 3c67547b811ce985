"""The settings for running for real: defaults, accepted spellings, and errors that name the variable."""

from __future__ import annotations

import pytest

from bot.settings import Settings, SettingsError


def test_defaults_are_a_single_quiet_process() -> None:
    settings = Settings.from_env({})
    assert settings.http_port is None, "no status server unless asked for"
    assert settings.http_host == "127.0.0.1"
    assert settings.log_format == "text"
    assert settings.shard_count is None and settings.shard_ids is None
    assert settings.watch is True
    assert settings.scan_interval == 30.0
    assert Settings() == settings


def test_accepted_values() -> None:
    settings = Settings.from_env(
        {
            "NEWSBOT_HTTP_PORT": "8080",
            "NEWSBOT_HTTP_HOST": "0.0.0.0",
            "NEWSBOT_LOG_FORMAT": " JSON ",
            "NEWSBOT_SHARD_COUNT": "4",
            "NEWSBOT_SHARD_IDS": "3, 1",
            "NEWSBOT_WATCH": "off",
            "NEWSBOT_SCAN_INTERVAL": "2.5",
        }
    )
    assert settings.http_port == 8080
    assert settings.http_host == "0.0.0.0"
    assert settings.log_format == "json"
    assert settings.shard_count == 4 and settings.shard_ids == (1, 3)
    assert settings.watch is False
    assert settings.scan_interval == 2.5


@pytest.mark.parametrize(
    ("env", "variable", "hint"),
    [
        ({"NEWSBOT_HTTP_PORT": "eighty"}, "NEWSBOT_HTTP_PORT", "whole number"),
        ({"NEWSBOT_HTTP_PORT": "70000"}, "NEWSBOT_HTTP_PORT", "0 to 65535"),
        ({"NEWSBOT_HTTP_PORT": "-1"}, "NEWSBOT_HTTP_PORT", "at least 0"),
        ({"NEWSBOT_HTTP_HOST": "http://localhost"}, "NEWSBOT_HTTP_HOST", "IP address or host name"),
        ({"NEWSBOT_LOG_FORMAT": "xml"}, "NEWSBOT_LOG_FORMAT", "text or json"),
        ({"NEWSBOT_SHARD_COUNT": "0"}, "NEWSBOT_SHARD_COUNT", "at least 1"),
        ({"NEWSBOT_SHARD_COUNT": "two"}, "NEWSBOT_SHARD_COUNT", "whole number"),
        ({"NEWSBOT_SHARD_IDS": "0"}, "NEWSBOT_SHARD_IDS", "needs NEWSBOT_SHARD_COUNT"),
        ({"NEWSBOT_SHARD_COUNT": "2", "NEWSBOT_SHARD_IDS": "2"}, "NEWSBOT_SHARD_IDS", "0 to 1"),
        ({"NEWSBOT_SHARD_COUNT": "2", "NEWSBOT_SHARD_IDS": "0,0"}, "NEWSBOT_SHARD_IDS", "twice"),
        ({"NEWSBOT_SHARD_COUNT": "2", "NEWSBOT_SHARD_IDS": "0;1"}, "NEWSBOT_SHARD_IDS", "separated by commas"),
        ({"NEWSBOT_WATCH": "sometimes"}, "NEWSBOT_WATCH", "true or false"),
        ({"NEWSBOT_SCAN_INTERVAL": "0"}, "NEWSBOT_SCAN_INTERVAL", "more than 0"),
        ({"NEWSBOT_SCAN_INTERVAL": "inf"}, "NEWSBOT_SCAN_INTERVAL", "more than 0"),
        ({"NEWSBOT_SCAN_INTERVAL": "soon"}, "NEWSBOT_SCAN_INTERVAL", "number of seconds"),
    ],
)
def test_bad_values_are_refused_naming_the_variable(env: dict[str, str], variable: str, hint: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env)
    assert str(caught.value).startswith(variable)
    assert hint in str(caught.value)
