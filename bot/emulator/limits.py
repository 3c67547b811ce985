"""Checks Discord makes that its OpenAPI document does not carry, plus the project's no-ping rule.

- message ``content`` at most 2,000 characters (the document allows 4,000 on some routes);
- at most 10 embeds, and the title, description, field names and values, footer text and author name
  of all embeds of one message together at most 6,000 characters;
- command and option names lowercase ``[-_\\w]{1,32}``, unique per scope, required options first;
- ``allowed_mentions`` may not both parse a kind and list ids of it (``parse: ["roles"]`` with ``roles``);
- a forum post's first message (``message`` of ``POST /channels/{id}/threads``) is held to the same rules;
- policy (``require_no_mentions``): every message-creating request carries ``allowed_mentions`` with
  ``parse: []``, no user ids and no ``replied_user``, so nothing the content says can ping anyone. The
  one ping allowed is a role listed by id in ``roles`` (an alert's chosen role): it is explicit, never
  parsed from article text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from bot.emulator.errors import FormErrors

MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_EMBED_TOTAL = 6000
_NAME = re.compile(r"^[-_\w]{1,32}$")

_CREATE = "create"
_EDIT = "edit"
_MESSAGE_ROUTES: dict[tuple[str, str], str] = {
    ("POST", "/channels/{channel_id}/messages"): _CREATE,
    ("PATCH", "/channels/{channel_id}/messages/{message_id}"): _EDIT,
    ("POST", "/webhooks/{webhook_id}/{webhook_token}"): _CREATE,
    ("PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/@original"): _EDIT,
    ("PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}"): _EDIT,
}
_CALLBACK = ("POST", "/interactions/{interaction_id}/{interaction_token}/callback")
_FORUM_POST = ("POST", "/channels/{channel_id}/threads")
_COMMAND_LISTS = {
    ("PUT", "/applications/{application_id}/commands"),
    ("PUT", "/applications/{application_id}/guilds/{guild_id}/commands"),
}
_COMMAND_ONE = {
    ("POST", "/applications/{application_id}/commands"),
    ("POST", "/applications/{application_id}/guilds/{guild_id}/commands"),
    ("PATCH", "/applications/{application_id}/commands/{command_id}"),
    ("PATCH", "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}"),
}


def check_request(method: str, template: str, body: Any, *, require_no_mentions: bool) -> FormErrors:
    """Errors the documented-but-unschematised limits find in one request body."""
    errors = FormErrors()
    key = (method.upper(), template)
    if key in _MESSAGE_ROUTES and isinstance(body, Mapping):
        check_message(body, errors, creates=_MESSAGE_ROUTES[key] == _CREATE, require_no_mentions=require_no_mentions)
    elif key == _CALLBACK and isinstance(body, Mapping) and isinstance(body.get("data"), Mapping):
        kind = body.get("type")
        if kind in (4, 7):
            check_message(
                body["data"], errors, prefix=("data",), creates=kind == 4, require_no_mentions=require_no_mentions
            )
    elif key == _FORUM_POST and isinstance(body, Mapping) and isinstance(body.get("message"), Mapping):
        check_message(
            body["message"], errors, prefix=("message",), creates=True, require_no_mentions=require_no_mentions
        )
    elif key in _COMMAND_LISTS and isinstance(body, Sequence):
        check_commands(body, errors)
    elif key in _COMMAND_ONE and isinstance(body, Mapping):
        check_commands([body], errors, single=True)
    return errors


def embed_text_length(embed: Mapping[str, Any]) -> int:
    """Characters Discord counts towards the 6,000 limit for one embed."""

    def text(value: object) -> int:
        return len(value) if isinstance(value, str) else 0

    total = text(embed.get("title")) + text(embed.get("description"))
    for field in embed.get("fields") or ():
        if isinstance(field, Mapping):
            total += text(field.get("name")) + text(field.get("value"))
    for key, inner in (("footer", "text"), ("author", "name")):
        part = embed.get(key)
        if isinstance(part, Mapping):
            total += text(part.get(inner))
    return total


def check_message(
    data: Mapping[str, Any],
    errors: FormErrors,
    *,
    prefix: tuple[str | int, ...] = (),
    creates: bool,
    require_no_mentions: bool,
) -> None:
    content = data.get("content")
    if isinstance(content, str) and len(content) > MAX_CONTENT:
        errors.add(
            (*prefix, "content"),
            "BASE_TYPE_MAX_LENGTH",
            f"Must be {MAX_CONTENT} or fewer in length (got {len(content)}).",
        )
    embeds = data.get("embeds")
    if isinstance(embeds, list):
        if len(embeds) > MAX_EMBEDS:
            errors.add(
                (*prefix, "embeds"),
                "BASE_TYPE_MAX_LENGTH",
                f"Must be {MAX_EMBEDS} or fewer in length (got {len(embeds)}).",
            )
        total = sum(embed_text_length(e) for e in embeds if isinstance(e, Mapping))
        if total > MAX_EMBED_TOTAL:
            errors.add(
                (*prefix, "embeds"),
                "MAX_EMBED_SIZE_EXCEEDED",
                f"Embed size exceeds maximum size of {MAX_EMBED_TOTAL} (got {total}).",
            )
    allowed = data.get("allowed_mentions")
    if isinstance(allowed, Mapping):
        for kind in exclusive_kinds(allowed):
            errors.add(
                (*prefix, "allowed_mentions"),
                "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                f'parse:["{kind}"] and {kind}: [ids...] are mutually exclusive.',
            )
    if creates and require_no_mentions:
        problem = mention_problem(allowed)
        if problem:
            errors.add((*prefix, "allowed_mentions"), "NEWSBOT_POLICY_NO_MENTIONS", problem)


def exclusive_kinds(allowed: Mapping[str, Any]) -> list[str]:
    """The kinds (``users``, ``roles``) that ``allowed`` both parses and lists ids of: Discord's 400."""
    parse = allowed.get("parse")
    parsed = parse if isinstance(parse, list) else []
    return [kind for kind in ("users", "roles") if kind in parsed and allowed.get(kind)]


def mention_problem(allowed: object) -> str | None:
    """Why ``allowed_mentions`` could let a message's text ping someone, or None when it cannot.

    Explicitly listed roles are allowed: the alert's role ping is chosen by a moderator, never parsed.
    """
    if not isinstance(allowed, Mapping):
        return "newsbot policy: allowed_mentions with parse=[] is required on every message (the bot never pings)"
    if allowed.get("parse") != []:
        return f"newsbot policy: allowed_mentions.parse must be [] (got {allowed.get('parse')!r})"
    if allowed.get("users"):
        return "newsbot policy: allowed_mentions must not list users"
    if allowed.get("replied_user"):
        return "newsbot policy: allowed_mentions.replied_user must be false"
    return None


def check_commands(commands: Sequence[Any], errors: FormErrors, *, single: bool = False) -> None:
    seen: set[tuple[str, int]] = set()
    for index, command in enumerate(commands):
        if not isinstance(command, Mapping):
            continue
        location: tuple[str | int, ...] = () if single else (index,)
        kind = command.get("type") or 1
        name = command.get("name")
        if isinstance(name, str):
            if (name, kind) in seen:
                errors.add((*location, "name"), "APPLICATION_COMMANDS_DUPLICATE_NAME", f"Duplicate command {name!r}")
            seen.add((name, kind))
            if kind == 1:
                _check_name(name, (*location, "name"), errors)
        if kind == 1:
            description = command.get("description")
            if not isinstance(description, str) or not description:
                errors.add((*location, "description"), "BASE_TYPE_REQUIRED", "This field is required")
        _check_options(command.get("options"), (*location, "options"), errors)


def _check_name(name: str, location: tuple[str | int, ...], errors: FormErrors) -> None:
    if not _NAME.match(name) or name != name.lower():
        errors.add(location, "APPLICATION_COMMAND_INVALID_NAME", f"Command name is invalid (got {name!r}).")


def _check_options(options: object, location: tuple[str | int, ...], errors: FormErrors) -> None:
    if not isinstance(options, list):
        return
    optional_seen = False
    for index, option in enumerate(options):
        if not isinstance(option, Mapping):
            continue
        here = (*location, index)
        if isinstance(option.get("name"), str):
            _check_name(option["name"], (*here, "name"), errors)
        if option.get("type") in (1, 2):
            _check_options(option.get("options"), (*here, "options"), errors)
            continue
        if option.get("required"):
            if optional_seen:
                errors.add(
                    here,
                    "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                    "Required options must be placed before non-required options",
                )
        else:
            optional_seen = True
