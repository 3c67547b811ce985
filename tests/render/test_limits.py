"""Autocomplete choices within Discord's limits, and the permissions the bot needs to post."""

from __future__ import annotations

import discord
from hypothesis import given
from hypothesis import strategies as st

from bot.render.limits import MAX_CHOICE_CHARS, POST_PERMISSIONS, choice_name, missing_post_permissions, permission_name


@given(st.text(), st.text(min_size=1).filter(str.strip))
def test_a_choice_name_is_one_line_within_the_limit_and_never_blank(text: str, fallback: str) -> None:
    name = choice_name(text, fallback[:MAX_CHOICE_CHARS])
    assert 1 <= len(name) <= MAX_CHOICE_CHARS
    assert name.strip() and len(name.splitlines()) == 1
    if len(" ".join(text.split())) <= MAX_CHOICE_CHARS and text.strip():
        assert name == " ".join(text.split()), "a name that fits is shown whole"


def test_a_long_title_is_shortened_with_an_ellipsis() -> None:
    name = choice_name("word " * 60)
    assert len(name) == MAX_CHOICE_CHARS and name.endswith("…")


@given(st.sets(st.sampled_from(POST_PERMISSIONS)))
def test_missing_permissions_are_named_as_in_discords_ui(granted: set[str]) -> None:
    permissions = discord.Permissions(**dict.fromkeys(granted, True))
    names = {"view_channel": "View Channel", "send_messages": "Send Messages", "embed_links": "Embed Links"}
    assert missing_post_permissions(permissions) == [names[p] for p in POST_PERMISSIONS if p not in granted]


def test_permission_names_are_written_as_discord_writes_them() -> None:
    assert permission_name("send_messages_in_threads") == "Send Messages in Threads"
    assert permission_name("create_public_threads") == "Create Public Threads"
    assert permission_name("view_channel") == "View Channel"
