"""The emulator's world: users, guilds, roles, members, channels, threads and messages, with their payloads.

Payloads are shaped like Discord's v10 objects closely enough for discord.py to build its models from
them (snowflakes as strings, permissions as decimal strings, ISO timestamps).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.emulator.permissions import Overwrite, base_permissions, channel_permissions
from bot.emulator.snowflake import iso_timestamp

TEXT_CHANNEL = 0
DM_CHANNEL = 1
ANNOUNCEMENT_CHANNEL = 5
ANNOUNCEMENT_THREAD = 10
PUBLIC_THREAD = 11
PRIVATE_THREAD = 12
FORUM_CHANNEL = 15
THREAD_TYPES = frozenset({ANNOUNCEMENT_THREAD, PUBLIC_THREAD, PRIVATE_THREAD})

# Message flags.
CROSSPOSTED = 1 << 0
HAS_THREAD = 1 << 5
EPHEMERAL = 1 << 6
LOADING = 1 << 7

# Channel flags: a forum whose posts must carry at least one tag.
REQUIRE_TAG = 1 << 4
THREAD_ARCHIVE_MINUTES = 1440

Payload = dict[str, Any]


@dataclass(eq=False, slots=True)
class User:
    id: int
    username: str
    global_name: str | None = None
    bot: bool = False

    def payload(self) -> Payload:
        data: Payload = {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": None,
            "public_flags": 0,
            "flags": 0,
            "banner": None,
            "accent_color": None,
            "avatar_decoration_data": None,
            "primary_guild": None,
        }
        if self.bot:
            data["bot"] = True
        return data


@dataclass(eq=False, slots=True)
class Role:
    id: int
    guild_id: int
    name: str
    permissions: int
    position: int = 0
    bot_id: int | None = None
    mentionable: bool = False

    @property
    def mention(self) -> str:
        return f"<@&{self.id}>"

    def payload(self) -> Payload:
        data: Payload = {
            "id": str(self.id),
            "name": self.name,
            "permissions": str(int(self.permissions)),
            "position": self.position,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "managed": self.bot_id is not None,
            "mentionable": self.mentionable,
            "icon": None,
            "unicode_emoji": None,
            "flags": 0,
        }
        if self.bot_id is not None:
            data["tags"] = {"bot_id": str(self.bot_id)}
        return data


@dataclass(eq=False, slots=True)
class Member:
    user: User
    guild_id: int
    role_ids: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_id: int = 0

    @property
    def id(self) -> int:
        return self.user.id

    def payload(self, *, permissions: int | None = None, with_user: bool = True) -> Payload:
        data: Payload = {
            "roles": [str(r) for r in self.role_ids],
            "nick": self.nick,
            "avatar": None,
            "banner": None,
            "joined_at": iso_timestamp(self.joined_id),
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
            "communication_disabled_until": None,
        }
        if with_user:
            data["user"] = self.user.payload()
        if permissions is not None:
            data["permissions"] = str(int(permissions))
        return data


@dataclass(frozen=True, slots=True)
class ForumTag:
    """A tag a forum offers its posts (``available_tags``); ``moderated`` ones need Manage Threads to apply."""

    id: int
    name: str
    moderated: bool = False
    emoji_name: str | None = None

    def payload(self) -> Payload:
        return {
            "id": str(self.id),
            "name": self.name,
            "moderated": self.moderated,
            "emoji_id": None,
            "emoji_name": self.emoji_name,
        }


@dataclass(eq=False, slots=True)
class Channel:
    """A guild channel (text, announcement, forum), a thread (``parent_id`` set) or a DM (``recipient`` set).

    DM channels belong to no guild: their ``guild_id`` is None.
    """

    id: int
    guild_id: int | None
    name: str
    position: int = 0
    topic: str | None = None
    overwrites: list[Overwrite] = field(default_factory=list)
    type: int = TEXT_CHANNEL
    messages: list[Message] = field(default_factory=list)
    flags: int = 0
    available_tags: list[ForumTag] = field(default_factory=list)
    parent_id: int | None = None
    owner_id: int | None = None
    applied_tags: list[int] = field(default_factory=list)
    auto_archive_duration: int = THREAD_ARCHIVE_MINUTES
    recipient: User | None = None
    deleted: bool = False
    #: Every message ever posted here (threads count their own; forums count their posts' starters).
    total_sent: int = 0

    @property
    def mention(self) -> str:
        return f"<#{self.id}>"

    @property
    def is_thread(self) -> bool:
        return self.type in THREAD_TYPES

    @property
    def is_forum(self) -> bool:
        return self.type == FORUM_CHANNEL

    @property
    def is_announcement(self) -> bool:
        return self.type == ANNOUNCEMENT_CHANNEL

    @property
    def is_dm(self) -> bool:
        return self.type == DM_CHANNEL

    @property
    def last_message_id(self) -> int | None:
        return self.messages[-1].id if self.messages else None

    def tag(self, name: str) -> ForumTag:
        """The forum tag called ``name`` (case-insensitive)."""
        for tag in self.available_tags:
            if tag.name.casefold() == name.casefold():
                return tag
        raise KeyError(f"forum #{self.name} has no tag {name!r}: {[t.name for t in self.available_tags]}")

    def payload(self) -> Payload:
        last = self.last_message_id
        last_id = None if last is None else str(last)
        if self.is_dm:
            assert self.recipient is not None
            return {
                "id": str(self.id),
                "type": self.type,
                "last_message_id": last_id,
                "flags": 0,
                "recipients": [self.recipient.payload()],
            }
        data: Payload = {
            "id": str(self.id),
            "type": self.type,
            "guild_id": str(self.guild_id),
            "name": self.name,
            "parent_id": None if self.parent_id is None else str(self.parent_id),
            "last_message_id": last_id,
            "rate_limit_per_user": 0,
            "flags": self.flags,
        }
        if self.is_thread:
            data.update(self._thread_fields())
            return data
        data.update(
            position=self.position,
            topic=self.topic,
            nsfw=False,
            permission_overwrites=[o.payload() for o in self.overwrites],
            default_auto_archive_duration=THREAD_ARCHIVE_MINUTES,
        )
        if self.is_forum:
            data.update(
                available_tags=[t.payload() for t in self.available_tags],
                default_reaction_emoji=None,
                default_sort_order=None,
                default_forum_layout=0,
                default_thread_rate_limit_per_user=0,
                default_tag_setting="match_some",
            )
        return data

    def _thread_fields(self) -> Payload:
        # Discord counts neither the starter message nor deleted ones in message_count.
        count = sum(1 for m in self.messages if m.id != self.id)
        return {
            "owner_id": str(self.owner_id),
            "message_count": count,
            "member_count": 1,
            "total_message_sent": self.total_sent,
            "applied_tags": [str(t) for t in self.applied_tags],
            "thread_metadata": {
                "archived": False,
                "archive_timestamp": iso_timestamp(self.id),
                "auto_archive_duration": self.auto_archive_duration,
                "locked": False,
                "create_timestamp": iso_timestamp(self.id),
            },
        }


@dataclass(eq=False, slots=True)
class Guild:
    id: int
    name: str
    owner_id: int
    locale: str = "en-US"
    roles: dict[int, Role] = field(default_factory=dict)
    #: Channels and threads (a thread's ``parent_id`` names its channel).
    channels: dict[int, Channel] = field(default_factory=dict)
    members: dict[int, Member] = field(default_factory=dict)

    @property
    def everyone(self) -> Role:
        return self.roles[self.id]

    def channel_named(self, name: str) -> Channel:
        for channel in self.channels.values():
            if channel.name == name:
                return channel
        raise KeyError(f"guild {self.name!r} has no channel {name!r}")

    def permissions(self, member: Member) -> int:
        """Guild-level permissions: @everyone plus the member's roles (everything for owner/admin)."""
        return base_permissions(
            everyone=self.everyone.permissions,
            role_permissions=(self.roles[r].permissions for r in member.role_ids if r in self.roles),
            is_owner=member.id == self.owner_id,
        )

    def permissions_in(self, channel: Channel, member: Member) -> int:
        """Permissions in a channel; a thread has its parent's, with Send Messages in Threads deciding sending."""
        parent = self.channels.get(channel.parent_id) if channel.parent_id is not None else None
        return channel_permissions(
            self.permissions(member),
            guild_id=self.id,
            member_id=member.id,
            role_ids=member.role_ids,
            overwrites=(parent or channel).overwrites,
            in_thread=channel.is_thread,
        )

    def top_channels(self) -> list[Channel]:
        return [c for c in self.channels.values() if not c.is_thread]

    def threads(self) -> list[Channel]:
        return [c for c in self.channels.values() if c.is_thread]

    def payload(self, *, members: list[Member], joined_id: int) -> Payload:
        """A GUILD_CREATE payload listing ``members`` (Discord sends only some without the members intent)."""
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(self.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 1,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "premium_progress_bar_enabled": False,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "preferred_locale": self.locale,
            "features": [],
            "emojis": [],
            "stickers": [],
            "roles": [r.payload() for r in self.roles.values()],
            "channels": [c.payload() for c in self.top_channels()],
            "threads": [t.payload() for t in self.threads()],
            "members": [m.payload() for m in members],
            "member_count": len(self.members),
            "large": False,
            "unavailable": False,
            "joined_at": iso_timestamp(joined_id),
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "lazy": True,
            "application_id": None,
            "max_members": 500000,
            "vanity_url_code": None,
        }

    def rest_payload(self) -> Payload:
        """GET /guilds/{id}: the guild without the gateway-only lists."""
        data = self.payload(members=[], joined_id=self.id)
        for key in ("channels", "threads", "members", "voice_states", "presences", "joined_at", "large", "lazy"):
            data.pop(key, None)
        return data


@dataclass(eq=False, slots=True)
class Message:
    """A message as stored by the emulator; ``files`` keeps uploaded bytes by filename for assertions."""

    id: int
    channel_id: int
    guild_id: int | None
    author: User
    content: str = ""
    embeds: list[Payload] = field(default_factory=list)
    components: list[Payload] = field(default_factory=list)
    attachments: list[Payload] = field(default_factory=list)
    flags: int = 0
    type: int = 0
    tts: bool = False
    nonce: str | int | None = None
    webhook_id: int | None = None
    application_id: int | None = None
    interaction_metadata: Payload | None = None
    message_reference: Payload | None = None
    edited_id: int | None = None
    deleted: bool = False
    files: dict[str, bytes] = field(default_factory=dict)
    pings: Pings = field(default_factory=lambda: Pings())
    #: The thread started from this message, if any.
    thread: Channel | None = None

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL)

    @property
    def loading(self) -> bool:
        """A deferred interaction response still showing "thinking"."""
        return bool(self.flags & LOADING)

    @property
    def edited(self) -> bool:
        return self.edited_id is not None

    @property
    def crossposted(self) -> bool:
        """Published to the servers following its announcement channel."""
        return bool(self.flags & CROSSPOSTED)

    @property
    def pinged_roles(self) -> frozenset[int]:
        return self.pings.roles

    @property
    def pinged_users(self) -> frozenset[int]:
        return self.pings.users

    @property
    def pinged_everyone(self) -> bool:
        return self.pings.everyone

    @property
    def pinged_nobody(self) -> bool:
        return not self.pings

    def custom_ids(self) -> list[str]:
        """Every ``custom_id`` of the message's components (buttons, selects), depth first."""
        found: list[str] = []

        def walk(items: list[Any]) -> None:
            for item in items:
                if isinstance(item, dict):
                    if "custom_id" in item:
                        found.append(str(item["custom_id"]))
                    walk(item.get("components") or [])
                    if isinstance(item.get("accessory"), dict):
                        walk([item["accessory"]])

        walk(self.components)
        return found

    def component(self, custom_id: str) -> Payload | None:
        def walk(items: list[Any]) -> Payload | None:
            for item in items:
                if not isinstance(item, dict):
                    continue
                if item.get("custom_id") == custom_id:
                    return item
                nested = walk([*(item.get("components") or []), item.get("accessory")])
                if nested is not None:
                    return nested
            return None

        return walk(self.components)

    def payload(self) -> Payload:
        data: Payload = {
            "id": str(self.id),
            "channel_id": str(self.channel_id),
            "author": self.author.payload(),
            "content": self.content,
            "timestamp": iso_timestamp(self.id),
            "edited_timestamp": None if self.edited_id is None else iso_timestamp(self.edited_id),
            "tts": self.tts,
            "mention_everyone": self.pings.everyone,
            "mentions": [u.payload() for u in self.pings.user_objects],
            "mention_roles": [str(r) for r in sorted(self.pings.roles)],
            "attachments": [dict(a) for a in self.attachments],
            "embeds": [dict(e) for e in self.embeds],
            "components": [dict(c) for c in self.components],
            "pinned": False,
            "type": self.type,
            "flags": self.flags,
        }
        if self.nonce is not None:
            data["nonce"] = self.nonce
        if self.webhook_id is not None:
            data["webhook_id"] = str(self.webhook_id)
        if self.application_id is not None:
            data["application_id"] = str(self.application_id)
        if self.interaction_metadata is not None:
            data["interaction_metadata"] = dict(self.interaction_metadata)
        if self.message_reference is not None:
            data["message_reference"] = dict(self.message_reference)
        if self.thread is not None and not self.thread.deleted:
            data["thread"] = self.thread.payload()
        return data


@dataclass(frozen=True, slots=True)
class Pings:
    """Who a message actually notified: what its content mentions, filtered by ``allowed_mentions`` and permissions."""

    user_objects: tuple[User, ...] = ()
    roles: frozenset[int] = frozenset()
    everyone: bool = False

    @property
    def users(self) -> frozenset[int]:
        return frozenset(u.id for u in self.user_objects)

    def __bool__(self) -> bool:
        return bool(self.user_objects or self.roles or self.everyone)


NO_PINGS = Pings()
