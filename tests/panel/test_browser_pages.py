"""Every page behind the server page, in headless Chromium: digest preview, alert edit, "why not
posted" and the import confirmation (the pages `test_browser.py` does not reach)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.panel.conftest import HOSTILE_ID, Site
from tests.panel.test_browser import _csp_errors, _fill, _follow, _log_in, _moderate, _text, driver, run, shots

__all__ = ["driver", "shots"]  # the fixtures, used by name


async def test_preview_edit_why_and_import_pages(site: Site, driver: Any, shots: Path, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    await _moderate(site)  # digest #1 about Space, a hidden hostile article
    channel = site.guild.channel_named("news")
    added = await site.emulator.send_slash_command(
        site.guild, channel, site.moderator, "alert", {"channel": channel.id, "topic": "Space"}, subcommand="add"
    )
    await added.response()
    backup = tmp_path / "other-server.yaml"
    backup.write_text("newsbot: 1\nsettings: {}\nhidden: []\ndigests: []\n", encoding="utf-8")
    page = f"{site.base}/panel/{site.guild.id}"

    def submit(selector: str) -> None:
        _follow(driver, driver.find_element(By.CSS_SELECTOR, selector))

    def flow() -> None:
        _log_in(driver, site, site.moderator.id)
        driver.get(page)
        _follow(driver, driver.find_element(By.LINK_TEXT, "Preview"))
        assert "Preview of digest #1" in _text(driver)
        driver.save_screenshot(str(shots / "panel-preview.png"))

        driver.get(page)
        _follow(driver, driver.find_element(By.CSS_SELECTOR, f"a[href='/panel/{site.guild.id}/alerts/1']"))
        assert "Edit alert #1" in _text(driver)
        _fill(driver, "alert-form", {"posts_per_window": "7"})
        submit("#alert-form button[type=submit]")
        assert "#1" in _text(driver)

        driver.get(page)
        _fill(driver, "why-form", {"article": HOSTILE_ID})
        submit("#why-form button[type=submit]")
        text = _text(driver)
        assert "Why" in text and "<script>alert('title')</script>" in text  # the hostile title, as text
        assert driver.execute_script("return document.scripts.length === 0")

        driver.get(page)
        driver.find_element(By.ID, "i-file").send_keys(str(backup))
        submit("#import-form button[type=submit]")
        assert "Confirm the import" in _text(driver)
        driver.save_screenshot(str(shots / "panel-import.png"))
        submit("#confirm-import")
        assert _csp_errors(driver) == []

    await run(flow)
    alerts = await site.bot.db.alerts.for_guild(site.guild.id)
    assert [a.posts_per_window for a in alerts] == [7], "the edit from the page is stored"
    assert await site.bot.db.digests.for_guild(site.guild.id) == [], "the confirmed import removed the digest"
    actions = [e.action for e in await site.bot.db.audit.latest(site.guild.id, 10)]
    assert "alert.edit" in actions and "import" in actions
