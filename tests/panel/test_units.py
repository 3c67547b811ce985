"""The security rules on their own: redirect targets, signed sessions, the rate limit, cookies
behind HTTPS, and the web settings."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st

from bot.panel.app import Panel
from bot.panel.discord_oauth import can_manage
from bot.panel.security import (
    DEFAULT_NEXT,
    LOGIN_SECONDS,
    SESSION_SECONDS,
    RateLimiter,
    Session,
    SessionCodec,
    safe_next,
)
from bot.settings import MIN_WEB_SECRET_CHARS, Secret, Settings, SettingsError, WebSettings

BASE = "https://news.example.org"
WEB_ENV = {
    "NEWSBOT_WEB": "true",
    "NEWSBOT_HTTP_PORT": "8080",
    "NEWSBOT_WEB_BASE_URL": "https://news.example.org/",
    "DISCORD_CLIENT_ID": "1234567890",
    "DISCORD_CLIENT_SECRET": "client-secret-value",
    "NEWSBOT_WEB_SECRET": "w" * MIN_WEB_SECRET_CHARS,
}


# --- next -----------------------------------------------------------------------------------------


@given(st.text(max_size=60) | st.from_regex(r"[/\\\t\n ]{1,3}[a-z.:@%0-9]{0,20}", fullmatch=True))
def test_next_always_stays_on_this_site(raw: str) -> None:
    target = safe_next(raw)
    assert target.startswith("/") and not target.startswith("//")
    # As a browser resolves the Location header against the page's address.
    assert urlsplit(urljoin(BASE + "/login/callback", target)).netloc == "news.example.org"


@pytest.mark.parametrize("raw", ["/panel/123", "/topics/Space?page=2", "/search?q=a%20b"])
def test_next_keeps_paths_of_this_site(raw: str) -> None:
    assert safe_next(raw) == raw


@pytest.mark.parametrize(
    "raw", [None, "", "//evil.example", "/\\evil.example", "https://evil.example", "/\x00x", "\\\\x"]
)
def test_next_falls_back_to_the_panel(raw: str | None) -> None:
    assert safe_next(raw) == DEFAULT_NEXT


# --- sessions -------------------------------------------------------------------------------------


def test_session_round_trips_and_expires() -> None:
    now = [1000.0]
    codec = SessionCodec(Secret("k" * 40), clock=lambda: now[0])
    session = Session(sid="abc", issued_at=now[0], user_id=42, user_name="Mod", guild_ids=(1, 2))
    cookie = codec.dumps(session)
    assert codec.loads(cookie) == session
    now[0] += SESSION_SECONDS + 1
    assert codec.loads(cookie) is None


def test_a_login_in_progress_expires_sooner() -> None:
    now = [1000.0]
    codec = SessionCodec(Secret("k" * 40), clock=lambda: now[0])
    cookie = codec.dumps(Session(sid="abc", issued_at=now[0], state="xyz"))
    now[0] += LOGIN_SECONDS + 1
    assert codec.loads(cookie) is None


@given(st.text(max_size=300))
def test_no_cookie_but_a_signed_one_is_a_session(cookie: str) -> None:
    assert SessionCodec(Secret("k" * 40)).loads(cookie) is None


def test_another_secret_does_not_accept_the_cookie() -> None:
    cookie = SessionCodec(Secret("a" * 40)).dumps(Session(sid="x", issued_at=0.0, user_id=1))
    assert SessionCodec(Secret("b" * 40), clock=lambda: 1.0).loads(cookie) is None


def test_csrf_token_is_bound_to_the_session() -> None:
    codec = SessionCodec(Secret("k" * 40))
    one, two = Session(sid="one", issued_at=0.0), Session(sid="two", issued_at=0.0)
    assert codec.csrf_ok(one, codec.csrf_token(one))
    assert not codec.csrf_ok(two, codec.csrf_token(one))
    assert not codec.csrf_ok(None, codec.csrf_token(one))
    assert not codec.csrf_ok(one, None)


# --- rate limit -----------------------------------------------------------------------------------


def test_rate_limit_counts_per_key_and_window() -> None:
    now = [0.0]
    limiter = RateLimiter(3, 60.0, clock=lambda: now[0])
    assert [limiter.allow("a") for _ in range(3)] == [None, None, None]
    assert limiter.allow("a") == pytest.approx(60.0)
    assert limiter.allow("b") is None
    now[0] = 60.5
    assert limiter.allow("a") is None


# --- cookies and permissions ----------------------------------------------------------------------


def _panel(base_url: str) -> Panel:
    web_settings = WebSettings(base_url, "1", Secret("c"), Secret("k" * 40))
    bot: Any = SimpleNamespace(settings=Settings(), get_guild=lambda _id: None)
    return Panel(bot, web_settings)


@pytest.mark.parametrize(("base", "secure"), [("https://news.example.org", True), ("http://127.0.0.1:8080", False)])
def test_session_cookie_is_secure_behind_https(base: str, secure: bool) -> None:
    response = web.Response()
    _panel(base).set_session(response, Session(sid="x", issued_at=0.0))
    morsel = response.cookies["newsbot_session"]
    assert bool(morsel["secure"]) is secure
    assert morsel["httponly"] and morsel["samesite"] == "Lax"


def test_authorize_page_is_on_the_api_origin() -> None:
    url = _panel(BASE).oauth.authorize_url("st")
    assert url.startswith("https://discord.com/oauth2/authorize?")
    assert "redirect_uri=https%3A%2F%2Fnews.example.org%2Flogin%2Fcallback" in url


@pytest.mark.parametrize(
    ("guild", "expected"),
    [
        ({"owner": True, "permissions": "0"}, True),
        ({"owner": False, "permissions": str(1 << 5)}, True),
        ({"owner": False, "permissions": str(1 << 3)}, True),
        ({"owner": False, "permissions": str((1 << 53) - 1 - (1 << 5) - (1 << 3))}, False),
        ({"owner": False, "permissions": "not a number"}, False),
    ],
)
def test_servers_offered_after_login(guild: dict[str, object], expected: bool) -> None:
    assert can_manage(guild) is expected


# --- settings -------------------------------------------------------------------------------------


def test_web_settings_from_the_environment() -> None:
    web_settings = Settings.from_env(WEB_ENV).web
    assert web_settings is not None
    assert web_settings.redirect_uri == "https://news.example.org/login/callback"
    assert web_settings.secure_cookies
    assert "client-secret-value" not in repr(web_settings)
    assert Settings.from_env({}).web is None


@pytest.mark.parametrize(
    "name",
    ["NEWSBOT_WEB_SECRET", "DISCORD_CLIENT_SECRET", "DISCORD_CLIENT_ID", "NEWSBOT_WEB_BASE_URL", "NEWSBOT_HTTP_PORT"],
)
def test_a_missing_web_setting_is_named(name: str) -> None:
    env = {k: v for k, v in WEB_ENV.items() if k != name}
    with pytest.raises(SettingsError, match=name):
        Settings.from_env(env)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("NEWSBOT_WEB_SECRET", "short", "at least 32"),
        ("DISCORD_CLIENT_ID", "abc", "numeric id"),
        ("NEWSBOT_WEB_BASE_URL", "news.example.org", "http"),
        ("NEWSBOT_WEB_BASE_URL", "https://news.example.org/?x=1", "http"),
    ],
)
def test_a_malformed_web_setting_is_named(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env({**WEB_ENV, name: value})


def test_public_pages_need_the_web_pages_on() -> None:
    with pytest.raises(SettingsError, match="NEWSBOT_WEB_PUBLIC=true needs NEWSBOT_WEB=true"):
        Settings.from_env({"NEWSBOT_WEB_PUBLIC": "true"})


def test_configuration_error_is_one_line_naming_the_setting(capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli import main

    env = {k: v for k, v in WEB_ENV.items() if k != "NEWSBOT_WEB_SECRET"}
    assert main(["run"], env={**env, "DISCORD_TOKEN": "x"}) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "NEWSBOT_WEB_SECRET" in err
