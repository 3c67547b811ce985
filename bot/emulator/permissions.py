"""Discord permission bits and the server-side resolution algorithm (roles, then channel overwrites)."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass


class Perm(enum.IntFlag):
    """The permission bits the emulator's guilds, roles and overwrites use (Discord's values)."""

    CREATE_INSTANT_INVITE = 1 << 0
    KICK_MEMBERS = 1 << 1
    BAN_MEMBERS = 1 << 2
    ADMINISTRATOR = 1 << 3
    MANAGE_CHANNELS = 1 << 4
    MANAGE_GUILD = 1 << 5
    ADD_REACTIONS = 1 << 6
    VIEW_AUDIT_LOG = 1 << 7
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    SEND_TTS_MESSAGES = 1 << 12
    MANAGE_MESSAGES = 1 << 13
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    MENTION_EVERYONE = 1 << 17
    USE_EXTERNAL_EMOJIS = 1 << 18
    CHANGE_NICKNAME = 1 << 26
    MANAGE_ROLES = 1 << 28
    MANAGE_WEBHOOKS = 1 << 29
    USE_APPLICATION_COMMANDS = 1 << 31
    MANAGE_THREADS = 1 << 34
    CREATE_PUBLIC_THREADS = 1 << 35
    CREATE_PRIVATE_THREADS = 1 << 36
    SEND_MESSAGES_IN_THREADS = 1 << 38


ALL_PERMISSIONS = (1 << 53) - 1

# What a fresh server gives @everyone (the text-relevant part of Discord's default).
DEFAULT_EVERYONE = (
    Perm.CREATE_INSTANT_INVITE
    | Perm.ADD_REACTIONS
    | Perm.VIEW_CHANNEL
    | Perm.SEND_MESSAGES
    | Perm.EMBED_LINKS
    | Perm.ATTACH_FILES
    | Perm.READ_MESSAGE_HISTORY
    | Perm.USE_EXTERNAL_EMOJIS
    | Perm.CHANGE_NICKNAME
    | Perm.USE_APPLICATION_COMMANDS
    | Perm.CREATE_PUBLIC_THREADS
    | Perm.CREATE_PRIVATE_THREADS
    | Perm.SEND_MESSAGES_IN_THREADS
)

# What the bot's managed role gets from its invite link: enough to post news embeds, nothing more.
DEFAULT_BOT = Perm.VIEW_CHANNEL | Perm.SEND_MESSAGES | Perm.EMBED_LINKS | Perm.ATTACH_FILES | Perm.READ_MESSAGE_HISTORY

ROLE_OVERWRITE = 0
MEMBER_OVERWRITE = 1


@dataclass(frozen=True, slots=True)
class Overwrite:
    """A channel permission overwrite for a role (``type`` 0) or a member (``type`` 1)."""

    id: int
    type: int
    allow: int = 0
    deny: int = 0

    def payload(self) -> dict[str, object]:
        return {"id": str(self.id), "type": self.type, "allow": str(int(self.allow)), "deny": str(int(self.deny))}


def base_permissions(*, everyone: int, role_permissions: Iterable[int], is_owner: bool) -> int:
    if is_owner:
        return ALL_PERMISSIONS
    permissions = everyone
    for value in role_permissions:
        permissions |= value
    if permissions & Perm.ADMINISTRATOR:
        return ALL_PERMISSIONS
    return permissions


def channel_permissions(
    base: int,
    *,
    guild_id: int,
    member_id: int,
    role_ids: Iterable[int],
    overwrites: Iterable[Overwrite],
    in_thread: bool = False,
) -> int:
    """Apply overwrites in Discord's order: @everyone, then all member roles together, then the member.

    ``in_thread``: the overwrites are the parent channel's, and Send Messages in Threads (not Send
    Messages) is what sending, embedding, attaching and mentioning everyone depend on.
    """
    if base & Perm.ADMINISTRATOR or base == ALL_PERMISSIONS:
        return ALL_PERMISSIONS
    overwrites = list(overwrites)
    roles = set(role_ids)
    permissions = base
    for ow in overwrites:
        if ow.type == ROLE_OVERWRITE and ow.id == guild_id:
            permissions = (permissions & ~ow.deny) | ow.allow
    allow = deny = 0
    for ow in overwrites:
        if ow.type == ROLE_OVERWRITE and ow.id in roles and ow.id != guild_id:
            allow |= ow.allow
            deny |= ow.deny
    permissions = (permissions & ~deny) | allow
    for ow in overwrites:
        if ow.type == MEMBER_OVERWRITE and ow.id == member_id:
            permissions = (permissions & ~ow.deny) | ow.allow
    # Without View Channel nothing else in the channel applies; without Send Messages nothing that
    # depends on sending does (Discord resolves these implicitly).
    if not permissions & Perm.VIEW_CHANNEL:
        return 0
    if not permissions & (Perm.SEND_MESSAGES_IN_THREADS if in_thread else Perm.SEND_MESSAGES):
        permissions &= ~(Perm.SEND_TTS_MESSAGES | Perm.MENTION_EVERYONE | Perm.EMBED_LINKS | Perm.ATTACH_FILES)
    return permissions
