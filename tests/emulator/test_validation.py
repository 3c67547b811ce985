"""Request validation without a server: Discord's OpenAPI schemas plus the limits they do not carry."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.emulator.commands import CommandRegistry
from bot.emulator.limits import check_request, embed_text_length
from bot.emulator.snowflake import SnowflakeFactory
from bot.emulator.validation import ApiSpec

MESSAGES = "/channels/{channel_id}/messages"
CALLBACK = "/interactions/{interaction_id}/{interaction_token}/callback"
GUILD_COMMANDS = "/applications/{application_id}/guilds/{guild_id}/commands"
QUIET = {"allowed_mentions": {"parse": []}}


@pytest.fixture(scope="module")
def spec() -> ApiSpec:
    return ApiSpec.load()


def test_paths_match_the_most_specific_template(spec: ApiSpec) -> None:
    me = spec.match("/users/@me")
    original = spec.match("/webhooks/1/tok/messages/@original")
    followup = spec.match("/webhooks/1/tok/messages/42")

    assert me is not None
    assert me.template == "/users/@me"
    assert original is not None
    assert original.template.endswith("/messages/@original")
    assert followup is not None
    assert followup.params == {"webhook_id": "1", "webhook_token": "tok", "message_id": "42"}
    assert spec.match("/definitely/not/discord") is None


@given(title=st.text(max_size=300))
def test_embed_title_is_limited_to_256_characters(title: str) -> None:
    errors = ApiSpec.load().validate("POST", MESSAGES, {"embeds": [{"title": title}], **QUIET})
    assert bool(errors) == (len(title) > 256)


def test_union_errors_point_at_the_intended_branch(spec: ApiSpec) -> None:
    body = {"type": 4, "data": {"content": "x", "embeds": [{"title": "t" * 300}], "flags": 64}}

    errors = spec.validate("POST", CALLBACK, body)

    assert [(e.dotted, e.code) for e in errors.items] == [("data.embeds.0.title", "BASE_TYPE_MAX_LENGTH")]


def test_embed_urls_must_be_absolute_web_urls(spec: ApiSpec) -> None:
    good = spec.validate("POST", MESSAGES, {"embeds": [{"url": "https://example.com/a?b=1"}], **QUIET})
    bad = spec.validate("POST", MESSAGES, {"embeds": [{"url": "example.com/no-scheme"}], **QUIET})

    assert not good
    assert [e.code for e in bad.items] == ["URL_TYPE_INVALID_URL"]


def test_integer_snowflakes_are_accepted_as_discord_does(spec: ApiSpec) -> None:
    body = {"content": "reply", "message_reference": {"message_id": 1234567890123, "channel_id": "42"}, **QUIET}
    assert not spec.validate("POST", MESSAGES, body)


def test_command_registration_checks_names_and_descriptions(spec: ApiSpec) -> None:
    commands = [
        {"name": "news", "description": "News", "type": 1},
        {"name": "News Now", "description": "d" * 101, "type": 1},
        {"name": "news", "description": "Again", "type": 1},
    ]

    errors = spec.validate("PUT", GUILD_COMMANDS, commands)
    errors.extend(check_request("PUT", GUILD_COMMANDS, commands, require_no_mentions=True))

    assert sorted((e.dotted, e.code) for e in errors.items) == [
        ("1.description", "BASE_TYPE_MAX_LENGTH"),
        ("1.name", "APPLICATION_COMMAND_INVALID_NAME"),
        ("2.name", "APPLICATION_COMMANDS_DUPLICATE_NAME"),
    ]


def test_embed_text_counts_every_visible_text_field() -> None:
    embed = {
        "title": "t" * 10,
        "description": "d" * 20,
        "fields": [{"name": "n" * 3, "value": "v" * 4}, {"name": "m", "value": "w" * 2}],
        "footer": {"text": "f" * 5, "icon_url": "https://example.com/not-counted"},
        "author": {"name": "a" * 6, "url": "https://example.com/not-counted"},
        "url": "https://example.com/not-counted",
    }
    assert embed_text_length(embed) == 10 + 20 + 3 + 4 + 1 + 2 + 5 + 6


def test_embed_total_is_counted_across_all_embeds_of_a_message() -> None:
    within = {"embeds": [{"description": "d" * 3000}, {"description": "d" * 3000}], **QUIET}
    over = {"embeds": [{"description": "d" * 3000}, {"description": "d" * 3001}], **QUIET}

    assert not check_request("POST", MESSAGES, within, require_no_mentions=True)
    assert [e.code for e in check_request("POST", MESSAGES, over, require_no_mentions=True).items] == [
        "MAX_EMBED_SIZE_EXCEEDED"
    ]


def test_more_than_ten_embeds_are_rejected(spec: ApiSpec) -> None:
    body = {"embeds": [{"title": str(n)} for n in range(11)], **QUIET}
    errors = spec.validate("POST", MESSAGES, body)
    errors.extend(check_request("POST", MESSAGES, body, require_no_mentions=True))
    assert [(e.dotted, e.code) for e in errors.items] == [("embeds", "BASE_TYPE_MAX_LENGTH")]


@pytest.mark.parametrize(
    ("allowed_mentions", "ok"),
    [
        ({"parse": []}, True),
        ({"parse": [], "replied_user": False}, True),
        (None, False),
        ({"parse": ["users"]}, False),
        ({"parse": [], "users": ["80351110224678912"]}, False),
        ({"parse": ["everyone"]}, False),
        ({"parse": [], "replied_user": True}, False),
        # An alert's role ping: listed by id, never parsed from the text.
        ({"parse": [], "roles": ["41771983423143936"]}, True),
    ],
)
def test_nothing_in_a_new_message_text_can_ping(allowed_mentions: dict[str, Any] | None, ok: bool) -> None:
    body: dict[str, Any] = {"content": "hi"}
    if allowed_mentions is not None:
        body["allowed_mentions"] = allowed_mentions

    for method, template, payload in (
        ("POST", MESSAGES, body),
        ("POST", "/webhooks/{webhook_id}/{webhook_token}", body),
        ("POST", CALLBACK, {"type": 4, "data": body}),
    ):
        errors = check_request(method, template, payload, require_no_mentions=True)
        assert not errors if ok else [e.code for e in errors.items] == ["NEWSBOT_POLICY_NO_MENTIONS"]
        assert not check_request(method, template, payload, require_no_mentions=False)


@pytest.mark.parametrize("kind", ["users", "roles"])
def test_parsing_and_listing_the_same_kind_is_rejected_like_discord(spec: ApiSpec, kind: str) -> None:
    body = {"content": "hi", "allowed_mentions": {"parse": [kind], kind: ["41771983423143936"]}}

    errors = spec.validate("POST", MESSAGES, body)
    errors.extend(check_request("POST", MESSAGES, body, require_no_mentions=False))
    edit = check_request("PATCH", "/channels/{channel_id}/messages/{message_id}", body, require_no_mentions=False)

    assert [(e.dotted, e.code, e.message) for e in errors.items] == [
        (
            "allowed_mentions",
            "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
            f'parse:["{kind}"] and {kind}: [ids...] are mutually exclusive.',
        )
    ]
    assert [e.code for e in edit.items] == ["MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE"]


def test_a_forum_posts_first_message_is_held_to_the_message_rules() -> None:
    body = {"name": "Post", "message": {"content": "x" * 2001, "allowed_mentions": {"parse": ["everyone"]}}}

    errors = check_request("POST", "/channels/{channel_id}/threads", body, require_no_mentions=True)

    assert sorted((e.dotted, e.code) for e in errors.items) == [
        ("message.allowed_mentions", "NEWSBOT_POLICY_NO_MENTIONS"),
        ("message.content", "BASE_TYPE_MAX_LENGTH"),
    ]


def test_edits_need_no_allowed_mentions() -> None:
    edit = {"content": "edited"}
    assert not check_request("PATCH", "/channels/{channel_id}/messages/{message_id}", edit, require_no_mentions=True)
    assert not check_request("POST", CALLBACK, {"type": 7, "data": edit}, require_no_mentions=True)


def test_bulk_overwrite_keeps_ids_and_bumps_versions_only_on_change() -> None:
    registry = CommandRegistry(application_id=1, ids=SnowflakeFactory())
    (first,) = registry.overwrite(5, [{"name": "news", "description": "News", "type": 1}])
    (same,) = registry.overwrite(5, [{"name": "news", "description": "News", "type": 1}])
    (changed,) = registry.overwrite(5, [{"name": "news", "description": "Latest news", "type": 1}])

    assert first["id"] == same["id"] == changed["id"]
    assert first["version"] == same["version"] != changed["version"]
    assert registry.bulk_overwrites[5] == 3
    assert registry.find(5, "news") == changed
    assert registry.find(6, "news") is None
