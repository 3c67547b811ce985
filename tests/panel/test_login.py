"""Login with Discord through the emulator's OAuth2: state, CSRF, redirects, rate limit, logout,
and the client secret never shown or logged."""

from __future__ import annotations

import base64
import json
import logging
from urllib.parse import parse_qsl, urlsplit

import pytest
from yarl import URL

from bot.panel.security import COOKIE, LOGIN_ATTEMPTS
from tests.panel.conftest import Site


async def test_login_lands_on_the_panel_with_a_hardened_cookie(site: Site) -> None:
    async with site.client() as http:
        query = await site.start_login(http)
        assert query["scope"] == "identify guilds"
        assert query["redirect_uri"] == f"{site.base}/login/callback"
        callback = await site.consent(http, query, site.moderator)
        async with http.get(callback, allow_redirects=False) as response:
            assert response.status == 302
            assert response.headers["Location"] == "/panel"
            cookie = response.cookies[COOKIE]
            assert cookie["httponly"] and cookie["samesite"] == "Lax"
            assert not cookie["secure"]  # http base URL; https sets Secure (test_units)
        async with http.get(site.base + "/panel") as response:
            assert "Logged in as" in await response.text()


async def test_callback_with_another_state_is_refused(site: Site) -> None:
    async with site.client() as http:
        query = await site.start_login(http)
        callback = await site.consent(http, {**query, "state": "forged"}, site.moderator)
        async with http.get(callback, allow_redirects=False) as response:
            assert response.status == 400
            assert "not the one this browser started" in await response.text()
        async with http.get(site.base + "/panel", allow_redirects=False) as response:
            assert response.status == 302 and response.headers["Location"].startswith("/login")


async def test_a_state_works_once(site: Site) -> None:
    async with site.client() as http:
        callback = await site.consent(http, await site.start_login(http), site.moderator)
        async with http.get(callback, allow_redirects=False) as first:
            assert first.status == 302
        async with http.get(site.base + "/login/callback?" + urlsplit(callback).query, allow_redirects=False) as again:
            assert again.status == 400


async def test_callback_in_another_browser_is_refused(site: Site) -> None:
    # Login CSRF: an attacker's own code and state, replayed in the victim's browser, must not log the victim in.
    async with site.client() as attacker, site.client() as victim:
        callback = await site.consent(attacker, await site.start_login(attacker), site.moderator)
        async with victim.get(callback, allow_redirects=False) as response:
            assert response.status == 400
        assert COOKIE not in {c.key for c in victim.cookie_jar}


async def test_cancelled_consent_says_so(site: Site) -> None:
    async with site.client() as http:
        query = await site.start_login(http)
        form = {**query, "decision": "cancel"}
        async with http.post(f"{site.emulator.base_url}/oauth2/authorize", data=form, allow_redirects=False) as r:
            callback = r.headers["Location"]
        async with http.get(callback, allow_redirects=False) as response:
            assert response.status == 400 and "Login cancelled" in await response.text()


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/panel",
        "/\\evil.example",
        "https://evil.example/",
        "javascript:alert(1)",
        "/%0d%0aSet-Cookie:x=1",
        "/\t/evil.example",
        "evil.example",
    ],
)
async def test_next_never_leaves_the_site(site: Site, target: str) -> None:
    async with site.client() as http:
        response = await site.login(http, site.moderator, next_path=target)
        assert response.status == 302
        location = response.headers["Location"]
        assert location.startswith("/") and not location.startswith("//")
        assert not urlsplit(location).netloc


async def test_next_returns_to_the_page_that_asked(site: Site) -> None:
    async with site.client() as http:
        async with http.get(f"{site.base}/panel/{site.guild.id}", allow_redirects=False) as response:
            login = response.headers["Location"]
        assert dict(parse_qsl(urlsplit(login).query))["next"] == f"/panel/{site.guild.id}"
        response = await site.login(http, site.moderator, next_path=f"/panel/{site.guild.id}")
        assert response.headers["Location"] == f"/panel/{site.guild.id}"


async def test_logout_needs_the_csrf_token_and_clears_the_session(site: Site) -> None:
    async with site.client() as http:
        await site.login(http, site.moderator)
        async with http.post(site.base + "/logout", allow_redirects=False) as missing:
            assert missing.status == 403
        async with http.post(site.base + "/logout", data={"csrf": "0" * 64}, allow_redirects=False) as wrong:
            assert wrong.status == 403
        async with http.get(site.base + "/panel") as page:
            assert page.status == 200 and "Logged in as" in await page.text()
        csrf = site.panel.codec.csrf_token(site.panel.codec.loads(_cookie(http)))
        async with http.post(site.base + "/logout", data={"csrf": csrf}, allow_redirects=False) as ok:
            assert ok.status == 302
        assert COOKIE not in {c.key for c in http.cookie_jar if c.value}
        async with http.get(site.base + "/panel", allow_redirects=False) as after:
            assert after.status == 302 and after.headers["Location"].startswith("/login")


async def test_csrf_token_of_another_session_is_refused(site: Site) -> None:
    async with site.client() as alice, site.client() as mallory:
        await site.login(alice, site.moderator)
        await site.login(mallory, site.member)
        stolen = site.panel.codec.csrf_token(site.panel.codec.loads(_cookie(mallory)))
        async with alice.post(site.base + "/logout", data={"csrf": stolen}, allow_redirects=False) as response:
            assert response.status == 403


async def test_a_tampered_session_cookie_is_not_a_login(site: Site) -> None:
    # A member without Manage Server rewrites their cookie to name the moderator and list the server.
    async with site.client() as http:
        await site.login(http, site.member)
        payload, _, signature = _cookie(http).partition(".")
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        data.update(user_id=site.moderator.id, guild_ids=[str(site.guild.id)])
        forged = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
        http.cookie_jar.clear()
        http.cookie_jar.update_cookies({COOKIE: f"{forged}.{signature}"}, URL(site.base))
        async with http.get(site.base + f"/panel/{site.guild.id}", allow_redirects=False) as response:
            assert response.status == 302 and response.headers["Location"].startswith("/login")


async def test_login_attempts_are_rate_limited_per_address(site: Site) -> None:
    async with site.client() as http:
        for _ in range(LOGIN_ATTEMPTS):
            async with http.get(site.base + "/login", allow_redirects=False) as response:
                assert response.status == 302
        async with http.get(site.base + "/login", allow_redirects=False) as response:
            assert response.status == 429
            assert int(response.headers["Retry-After"]) >= 1
        # Another address (as a local reverse proxy reports it) is counted on its own.
        headers = {"X-Forwarded-For": "203.0.113.9"}
        async with http.get(site.base + "/login", headers=headers, allow_redirects=False) as response:
            assert response.status == 302


async def test_client_secret_never_in_pages_or_logs(site: Site, caplog: pytest.LogCaptureFixture) -> None:
    secret = site.emulator.oauth.client_secret
    caplog.set_level(logging.DEBUG)
    bodies: list[str] = []
    async with site.client() as http:
        callback = await site.consent(http, await site.start_login(http), site.moderator)
        bad = callback.replace("code=", "code=x")  # a code Discord refuses: the failure path logs
        for url in (bad, callback):
            async with http.get(url) as response:
                bodies.append(await response.text())
        for path in ("/panel", f"/panel/{site.guild.id}", "/"):
            async with http.get(site.base + path) as response:
                bodies.append(await response.text())
    assert "Discord did not accept this login" in bodies[0]
    assert "Discord refused the login code" in caplog.text
    assert secret not in caplog.text
    assert all(secret not in body for body in bodies)
    assert secret not in repr(site.bot.settings)


def _cookie(http: object) -> str:
    for cookie in http.cookie_jar:  # type: ignore[attr-defined]
        if cookie.key == COOKIE:
            return str(cookie.value)
    raise AssertionError("no session cookie")
