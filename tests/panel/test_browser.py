"""The web pages in a real browser: headless Chromium (the system's, Debian ``chromium`` and
``chromium-driver``; ``make test`` installs them when it can) driven by Selenium.

Log in through the emulator's OAuth2 consent page, see the server list, open a server, be refused
without Manage Server, log out. Screenshots of the main pages go to a temporary folder, or to
``docs/`` (``docs/panel-*.png``, shown in the README) with ``PANEL_SCREENSHOTS=docs``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.panel.conftest import HOSTILE_ID, ROOT, Site

pytestmark = pytest.mark.browser
T = TypeVar("T")
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1100,900",
]


def _missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (Path(path).exists() or shutil.which(Path(path).name)):
            return f"no {Path(path).name}: install the chromium and chromium-driver packages (make browser)"
    return None


@pytest.fixture
def driver(tmp_path: Path) -> Iterator[Any]:
    reason = _missing()
    if reason is not None:
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or CHROMIUM
    for flag in [*FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=shutil.which("chromedriver") or CHROMEDRIVER)
    browser = webdriver.Chrome(service=service, options=options)
    browser.set_page_load_timeout(20)
    try:
        yield browser
    finally:
        browser.quit()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    target = os.environ.get("PANEL_SCREENSHOTS")
    folder = ROOT / "docs" if target == "docs" else tmp_path / "shots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


async def run(step: Callable[[], T]) -> T:
    """Selenium blocks; the site is served by this test's event loop, so each step runs in a thread."""
    return await asyncio.to_thread(step)


def _text(driver: Any) -> str:
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.common.by import By

    for _ in range(20):
        try:
            return str(driver.find_element(By.TAG_NAME, "body").text)
        except (StaleElementReferenceException, NoSuchElementException):  # a navigation was replacing the page
            time.sleep(0.1)
    return str(driver.find_element(By.TAG_NAME, "body").text)


def _log_in(driver: Any, site: Site, user_id: int) -> None:
    from selenium.webdriver.common.by import By

    driver.get(site.base + "/panel")
    assert driver.current_url.startswith(site.emulator.base_url + "/oauth2/authorize"), driver.current_url
    driver.find_element(By.ID, f"user-{user_id}").click()
    _follow(driver, driver.find_element(By.ID, "authorize"))
    _settle(driver, site.base)


def _settle(driver: Any, origin: str) -> None:
    """Wait until the redirects after a form post land back on ``origin`` and the page has loaded
    (reading the page during the navigation finds a stale document on a busy machine)."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 20).until(
        lambda d: d.current_url.startswith(origin) and d.execute_script("return document.readyState") == "complete"
    )


def _follow(driver: Any, element: Any) -> None:
    """Click a link or button that leaves the page, and wait until the browser has left it."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.expected_conditions import staleness_of
    from selenium.webdriver.support.ui import WebDriverWait

    page = driver.find_element(By.TAG_NAME, "html")
    element.click()
    # The old document goes stale even when the new one has the same address (post, then redirect back).
    WebDriverWait(driver, 20).until(staleness_of(page))
    WebDriverWait(driver, 20).until(lambda d: d.execute_script("return document.readyState") == "complete")


def _csp_errors(driver: Any) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if "Content Security Policy" in e["message"]]


async def _moderate(site: Site) -> None:
    """Some of what a moderator does with slash commands, so the server page has something to show."""
    channel = site.guild.channel_named("news")
    for name, sub, options in [
        ("digest", "add", {"channel": channel.id, "topic": "Space", "time": "08:00", "timezone": "Europe/London"}),
        ("admin", "config", {"min_quality": 90, "blocked_topics": "Sport"}),
        ("admin", "hide", {"article": HOSTILE_ID, "reason": "scam bait"}),
    ]:
        result = await site.emulator.send_slash_command(
            site.guild, channel, site.moderator, name, options, subcommand=sub
        )
        await result.response()


async def test_moderator_logs_in_sees_a_server_and_logs_out(site: Site, driver: Any, shots: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    await _moderate(site)

    def flow() -> None:
        _log_in(driver, site, site.moderator.id)
        assert driver.current_url == site.base + "/panel"
        assert "Your servers" in _text(driver) and "Logged in as Mod" in _text(driver)
        driver.save_screenshot(str(shots / "panel-servers.png"))
        _follow(driver, driver.find_element(By.LINK_TEXT, "Newsroom"))
        assert driver.current_url == f"{site.base}/panel/{site.guild.id}"
        for heading in ("Settings", "Hidden articles", "Digests", "Audit log"):
            assert driver.find_element(By.XPATH, f"//h2[normalize-space()='{heading}']")
        driver.save_screenshot(str(shots / "panel-server.png"))
        # Keyboard: the first Tab reaches the skip link, which the stylesheet (allowed by the CSP) shows on focus.
        driver.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
        assert driver.switch_to.active_element.get_attribute("class") == "skip"
        _follow(driver, driver.find_element(By.ID, "logout"))
        assert driver.current_url == site.base + "/"
        assert "Logged in as" not in _text(driver)
        driver.get(site.base + "/panel")
        assert driver.current_url.startswith(site.emulator.base_url + "/oauth2/authorize")
        assert _csp_errors(driver) == []

    await run(flow)


async def test_member_without_manage_server_is_refused(site: Site, driver: Any) -> None:
    def flow() -> None:
        _log_in(driver, site, site.member.id)
        assert "None of your servers can be managed here" in _text(driver)
        driver.get(f"{site.base}/panel/{site.guild.id}")
        assert "You need the Manage Server permission" in _text(driver)

    await run(flow)


async def test_public_pages_in_the_browser(site: Site, driver: Any, shots: Path) -> None:
    from selenium.webdriver.common.by import By

    def flow() -> None:
        driver.get(site.base + "/")
        assert "Latest news" in _text(driver)
        driver.save_screenshot(str(shots / "panel-latest.png"))
        search = driver.find_element(By.ID, "q")
        search.send_keys("router")
        search.submit()
        assert "Search: router" in _text(driver)
        driver.get(f"{site.base}/articles/{HOSTILE_ID}")
        assert "<script>alert('title')</script>" in _text(driver)  # shown as text, never run
        assert driver.execute_script("return window.__xss === undefined && document.scripts.length === 0")
        driver.get(site.base + "/topics/Space")
        driver.save_screenshot(str(shots / "panel-topic.png"))
        driver.set_window_size(390, 844)  # a phone
        driver.get(site.base + "/topics")
        driver.save_screenshot(str(shots / "panel-phone.png"))
        assert driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")
        assert _csp_errors(driver) == []

    await run(flow)


def _fill(driver: Any, form_id: str, values: dict[str, str]) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    form = driver.find_element(By.ID, form_id)
    if form.find_elements(By.XPATH, "ancestor::details[not(@open)]"):
        form.find_element(By.XPATH, "ancestor::details/summary").click()
    for name, value in values.items():
        field = form.find_element(By.NAME, name)
        if field.tag_name == "select":
            Select(field).select_by_visible_text(value)
        else:
            field.clear()
            field.send_keys(value)


async def test_moderator_creates_a_digest_and_an_alert_from_the_page(site: Site, driver: Any, shots: Path) -> None:
    from selenium.webdriver.common.by import By

    channel = site.guild.channel_named("news")

    def create() -> None:
        _log_in(driver, site, site.moderator.id)
        driver.get(f"{site.base}/panel/{site.guild.id}")
        # A mistake first: the message shows next to the field, what was typed stays.
        _fill(driver, "digest-form", {"channel": "#news", "topic": "Space", "time": "8 am", "timezone": "Europe/Paris"})
        _follow(driver, driver.find_element(By.ID, "add-digest"))
        assert "is not a time" in driver.find_element(By.ID, "digest-time-error").text
        assert driver.find_element(By.ID, "d-timezone").get_attribute("value") == "Europe/Paris"
        driver.save_screenshot(str(shots / "panel-form-error.png"))
        _fill(driver, "digest-form", {"time": "07:30"})
        _follow(driver, driver.find_element(By.ID, "add-digest"))
        assert "Digest #1 scheduled: Space" in _text(driver)
        _fill(driver, "alert-form", {"channel": "#news", "topic": "Security"})
        _follow(driver, driver.find_element(By.ID, "add-alert"))
        assert "Alert #1 created" in _text(driver)
        driver.save_screenshot(str(shots / "panel-actions.png"))
        _follow(driver, driver.find_element(By.XPATH, "//button[@aria-label='Test alert #1']"))
        assert "Posted a test of alert #1" in _text(driver)
        assert _csp_errors(driver) == []

    await run(create)
    # Discord sees both: the test post in the channel, the digest in /digest list.
    assert any(
        "Security" in str(m.embeds) or "test" in m.content.lower() for m in site.emulator.channel_messages(channel)
    )
    result = await site.emulator.send_slash_command(site.guild, channel, site.moderator, "digest", subcommand="list")
    fields = (await result.original_message()).embeds[0]["fields"]
    assert any(f["name"].startswith("#1 · Space") and "07:30" in f["name"] for f in fields)
    entries = await site.bot.db.audit.latest(site.guild.id, 5)
    assert {e.action for e in entries} >= {"digest.add", "alert.add", "alert.test"}
    assert all(e.details.get("via") == "web" and e.user_id == site.moderator.id for e in entries)


async def test_a_tampered_form_is_refused(site: Site, driver: Any) -> None:
    from selenium.webdriver.common.by import By

    def flow() -> None:
        _log_in(driver, site, site.moderator.id)
        driver.get(f"{site.base}/panel/{site.guild.id}")
        _fill(driver, "hide-form", {"article": HOSTILE_ID})
        token = driver.find_element(By.CSS_SELECTOR, "#hide-form input[name=csrf]")
        driver.execute_script("arguments[0].value = arguments[0].value.replace(/.$/, 'x')", token)
        _follow(driver, driver.find_element(By.CSS_SELECTOR, "#hide-form button[type=submit]"))
        assert "did not come from this site" in _text(driver)

    await run(flow)
    assert await site.bot.db.guilds.hidden(site.guild.id) == []
