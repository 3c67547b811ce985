"""Who a new message pings: the mentions in its content, filtered by ``allowed_mentions`` and permissions.

Discord's rules, as its documentation gives them:

- without ``allowed_mentions`` every mention in the content is parsed (users, roles, @everyone/@here);
- with it, ``parse`` lists the kinds parsed from the content, and ``users``/``roles`` list the only ids of
  that kind that may ping (listing both ``parse: ["roles"]`` and ``roles: [...]`` is a 400, checked in
  ``limits``); nothing pings that the content does not mention;
- a role pings only if it is mentionable or the author may Mention Everyone in the channel;
- @everyone and @here ping only with ``"everyone"`` parsed and that permission;
- a reply pings the replied-to author only with ``replied_user`` (true by default without ``allowed_mentions``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot.emulator.models import Guild, Pings, User
from bot.emulator.permissions import Perm

_USER = re.compile(r"<@!?(\d{1,20})>")
_ROLE = re.compile(r"<@&(\d{1,20})>")
_EVERYONE = re.compile(r"@(?:everyone|here)\b")
_KINDS = ("users", "roles", "everyone")


def resolve_pings(
    content: str,
    allowed: object,
    *,
    guild: Guild | None,
    users: Mapping[int, User],
    author_permissions: int,
    replied_user: User | None = None,
) -> Pings:
    """The users, roles and @everyone that ``content`` notifies under ``allowed`` (``allowed_mentions``)."""
    if isinstance(allowed, Mapping):
        parse = {str(kind) for kind in allowed.get("parse") or () if kind in _KINDS}
        listed_users = _ids(allowed.get("users"))
        listed_roles = _ids(allowed.get("roles"))
        ping_reply = bool(allowed.get("replied_user"))
    else:
        parse, listed_users, listed_roles, ping_reply = set(_KINDS), set(), set(), True

    pinged_users: dict[int, User] = {}
    for raw in _USER.findall(content):
        user_id = int(raw)
        user = users.get(user_id)
        allowed_here = "users" in parse or user_id in listed_users
        if user is not None and allowed_here and (guild is None or user_id in guild.members):
            pinged_users.setdefault(user_id, user)
    if replied_user is not None and ping_reply:
        pinged_users.setdefault(replied_user.id, replied_user)

    may_mention_everyone = bool(author_permissions & Perm.MENTION_EVERYONE)
    roles: set[int] = set()
    if guild is not None:
        for raw in _ROLE.findall(content):
            role = guild.roles.get(int(raw))
            if role is None or role.id == guild.id:
                continue
            if ("roles" in parse or role.id in listed_roles) and (role.mentionable or may_mention_everyone):
                roles.add(role.id)
    everyone = guild is not None and "everyone" in parse and may_mention_everyone and bool(_EVERYONE.search(content))
    return Pings(user_objects=tuple(pinged_users.values()), roles=frozenset(roles), everyone=everyone)


def _ids(values: Any) -> set[int]:
    found: set[int] = set()
    for value in values or ():
        try:
            found.add(int(value))
        except (TypeError, ValueError):
            continue
    return found
