"""Templates, the setting's range, and alert messages within Discord's limits whatever the article says."""

from __future__ import annotations

from datetime import UTC, datetime

import discord
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.alerts import rules
from bot.render.alert import card_message, compact_message, fill_template, masked_link, roundup_messages
from bot.settings import Settings, SettingsError
from bot.store.models import Article, Provider


def article(title: str = "Title", excerpt: str = "Excerpt", url: str = "https://example.org/a") -> Article:
    return Article(
        id="a1",
        path="a1.md",
        title=title,
        url=url,
        published_at=datetime(2026, 3, 1, tzinfo=UTC),
        provider=Provider("Example", "example.org"),
        excerpt=excerpt,
        topics=("Science",),
    )


def test_templates_name_what_is_wrong_and_list_what_is_valid() -> None:
    assert rules.check_template("{mention} **{title}** {url} {{braces}}")
    with pytest.raises(rules.TemplateError, match=r"Unknown placeholder\(s\) `\{titel\}`.*`\{excerpt\}`"):
        rules.check_template("{titel}")
    with pytest.raises(rules.TemplateError, match="Unknown"):
        rules.check_template("{title!r}")
    with pytest.raises(rules.TemplateError, match="3,000 characters long"):
        rules.check_template("x" * 3000)
    with pytest.raises(rules.TemplateError, match="unmatched brace"):
        rules.check_template("{title")


@given(st.text(max_size=400), st.text(max_size=1000))
def test_a_valid_template_always_fits_in_one_message(title: str, excerpt: str) -> None:
    base = "{title} {url} {excerpt} {provider} {topics} {published} {mention}"
    template = base + "x" * (rules.MAX_TEMPLATE_CHARS - len(base))
    rules.check_template(template)
    text = fill_template(template, article(title, excerpt), 123)
    assert len(text) <= rules.MESSAGE_CONTENT_LIMIT
    assert "@everyone" not in text.replace("@\u200beveryone", "")


def test_article_text_in_a_template_is_escaped() -> None:
    text = fill_template("{title}", article("**bold** [x](https://evil.example) @everyone"), None)
    assert "\\*\\*bold\\*\\*" in text and "\\[x\\]" in text and "@everyone" not in text


@given(st.text(max_size=300))
def test_a_masked_link_label_never_makes_another_link(title: str) -> None:
    link = masked_link(title, "https://example.org/a")
    assert link.endswith("](https://example.org/a)")
    label = link[1 : -len("](https://example.org/a)")]
    assert "](" not in label.replace("\\]", "")


@given(st.integers(1, 600), st.text(min_size=1, max_size=300))
def test_roundups_list_every_article_within_discords_limits(count: int, title: str) -> None:
    lines = [(f"{title} {n}", f"https://example.org/{n}", "Example") for n in range(count)]
    messages = roundup_messages(3, lines, nonce="r3-abc", role_id=None)
    listed = sum(e.get("description", "").count("\n• ") + 1 for m in messages for e in m["embeds"])
    assert listed == count
    for message in messages:
        assert len(message["embeds"]) <= 10
        assert sum(len(discord.Embed.from_dict(e)) for e in message["embeds"]) <= 6000
        assert all(len(e.get("description", "")) <= 4096 for e in message["embeds"])


def test_cards_and_lines_carry_the_role_only_when_it_pings() -> None:
    card = card_message(article(), alert_id=3, nonce="a3-x.0", role_id=77, template=None)
    assert card["content"] == "<@&77>" and card["role"] == 77 and "ref a3-x.0" in card["embeds"][0]["footer"]["text"]
    line = compact_message(article(), alert_id=3, nonce="a3-x.0", role_id=None, template=None)
    assert line["role"] is None and line["content"].startswith("[Title](https://example.org/a)")


def test_the_max_age_setting_has_its_range() -> None:
    assert Settings.from_env({"DISCORD_TOKEN": "x"}).alert_max_age_hours == rules.DEFAULT_MAX_AGE_HOURS
    assert Settings.from_env({"NEWSBOT_ALERT_MAX_AGE_HOURS": "12"}).alert_max_age_hours == 12
    with pytest.raises(SettingsError, match="at most 168"):
        Settings.from_env({"NEWSBOT_ALERT_MAX_AGE_HOURS": "500"})
    with pytest.raises(SettingsError, match="at least 1"):
        Settings.from_env({"NEWSBOT_ALERT_MAX_AGE_HOURS": "0"})
