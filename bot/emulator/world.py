"""The emulated Discord's state and the operations REST calls and the test driver perform on it.

``World`` owns users, guilds, channels (threads and DMs too), messages, registered commands and pending
interactions, and implements what the gateway needs (READY and GUILD_CREATE payloads). Operations raise
``ApiError`` with Discord's codes; ``violation=True`` marks the ones that are the bot's fault. Every change
a client would see in its cache (a channel deleted, a role gone, overwrites changed) is also dispatched
as the gateway event Discord sends for it.
"""

from __future__ import annotations

import mimetypes
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from bot.emulator.commands import CommandRegistry
from bot.emulator.errors import ApiError, FormErrors, RateLimitedError, Violation
from bot.emulator.gateway import Gateway, GatewaySession, Intent
from bot.emulator.interactions import (
    ALLOWED_CALLBACKS,
    TOKEN_LIFETIME,
    Callback,
    CallbackType,
    InteractionResult,
    InteractionType,
)
from bot.emulator.mentions import resolve_pings
from bot.emulator.models import (
    CROSSPOSTED,
    DM_CHANNEL,
    EPHEMERAL,
    HAS_THREAD,
    LOADING,
    NO_PINGS,
    REQUIRE_TAG,
    Channel,
    ForumTag,
    Guild,
    Message,
    Payload,
    Pings,
    Role,
    User,
)
from bot.emulator.permissions import Overwrite, Perm
from bot.emulator.ratelimit import PublishLimit
from bot.emulator.snowflake import SnowflakeFactory
from bot.emulator.waiting import Notifier

NONCE_WINDOW = 5 * 60.0
# What a bot may do in a DM: no roles or overwrites there.
DM_PERMISSIONS = (
    Perm.VIEW_CHANNEL | Perm.SEND_MESSAGES | Perm.EMBED_LINKS | Perm.ATTACH_FILES | Perm.READ_MESSAGE_HISTORY
)
_EDITABLE_FLAGS = (1 << 2) | (1 << 12) | (1 << 15)  # suppress embeds, suppress notifications, components v2


@dataclass(frozen=True, slots=True)
class Upload:
    """A file part of a multipart request (``files[n]``)."""

    filename: str
    data: bytes


class World:
    def __init__(
        self,
        *,
        token: str,
        bot_name: str,
        application_flags: int,
        interaction_deadline: float,
        ids: SnowflakeFactory,
        notifier: Notifier,
    ) -> None:
        self.token = token
        self.ids = ids
        self.notifier = notifier
        self.application_flags = application_flags
        self.interaction_deadline = interaction_deadline
        self.bot = User(ids.next(), bot_name, bot=True)
        self.owner = User(ids.next(), "app-owner")
        self.users: dict[int, User] = {self.bot.id: self.bot, self.owner.id: self.owner}
        self.guilds: dict[int, Guild] = {}
        self.channels: dict[int, Channel] = {}
        self.messages: dict[int, Message] = {}
        self.commands = CommandRegistry(self.bot.id, ids)
        self.interactions: dict[int, InteractionResult] = {}
        self.violations: list[Violation] = []
        self.gateway_url = ""
        self.base_url = ""
        self.gateway: Gateway | None = None
        self._nonces: dict[tuple[int, str], tuple[int, float]] = {}
        #: Files attached to slash-command options, by attachment id: (filename, bytes).
        self.option_files: dict[int, tuple[str, bytes]] = {}
        self.nonce_replays = 0
        self.recommended_shards = 1
        #: Seconds added to the monotonic clock by ``Emulator.advance_clock`` (time-windowed limits read it).
        self.clock_offset = 0.0
        self.publish_limit = PublishLimit(self.now)
        #: Messages published (crossposted) from announcement channels, in order.
        self.crossposts: list[Message] = []
        #: Deleted channels and threads, kept so tests can still read what was posted there.
        self.deleted_channels: dict[int, Channel] = {}
        #: DM channels by recipient id; users who closed their DMs to the bot.
        self.dm_channels: dict[int, Channel] = {}
        self.dms_closed: set[int] = set()
        #: Users who added the app to their account (a user install); guilds the bot is not in.
        self.user_installs: set[int] = set()
        self.foreign_guilds: dict[int, Guild] = {}

    def now(self) -> float:
        return time.monotonic() + self.clock_offset

    @property
    def application_id(self) -> int:
        return self.bot.id

    # -- GatewayWorld -----------------------------------------------------------------------------

    def ready_user(self) -> Payload:
        data = self.bot.payload()
        data.update({"verified": True, "mfa_enabled": False, "email": None})
        return data

    def application_partial(self) -> Payload:
        return {"id": str(self.application_id), "flags": self.application_flags}

    def guild_ids(self) -> list[int]:
        return list(self.guilds)

    def guild_create(self, guild_id: int, intents: int, *, joined: bool = False) -> Payload:
        """GUILD_CREATE for a guild: backfilling READY's unavailable list, or (``joined``) a new guild."""
        guild = self.guilds[guild_id]
        if intents & Intent.GUILD_MEMBERS:
            members = list(guild.members.values())
        else:
            # Without the members intent Discord sends only the bot's own member (and voice members).
            members = [guild.members[self.bot.id]]
        data = guild.payload(members=members, joined_id=guild.members[self.bot.id].joined_id)
        if joined:
            # A join carries no "unavailable" key; "unavailable": false means "back from an outage".
            del data["unavailable"]
        return data

    def guild_members(self, guild_id: int, query: str | None, limit: int, user_ids: list[int] | None) -> list[Payload]:
        guild = self.guilds.get(guild_id)
        if guild is None:
            return []
        members = list(guild.members.values())
        if user_ids is not None:
            members = [m for m in members if m.id in user_ids]
        elif query:
            members = [m for m in members if m.user.username.lower().startswith(query.lower())]
        if limit:
            members = members[:limit]
        return [m.payload() for m in members]

    # -- lookups ----------------------------------------------------------------------------------

    def application_payload(self) -> Payload:
        return {
            "id": str(self.application_id),
            "name": self.bot.username,
            "icon": None,
            "description": "",
            "summary": "",
            "type": None,
            "hook": True,
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "flags": self.application_flags,
            "owner": self.owner.payload(),
            "team": None,
            "bot": self.bot.payload(),
            "rpc_origins": [],
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "tags": [],
            "approximate_guild_count": len(self.guilds),
            "integration_types_config": {"0": {}},
        }

    def channel(self, channel_id: int) -> Channel:
        channel = self.channels.get(channel_id)
        if channel is None:
            raise ApiError(404, 10003, "Unknown Channel")
        return channel

    def guild(self, guild_id: int) -> Guild:
        guild = self.guilds.get(guild_id)
        if guild is None:
            raise ApiError(404, 10004, "Unknown Guild")
        return guild

    def guild_of(self, channel: Channel) -> Guild:
        if channel.guild_id is None:
            raise ApiError(400, 50003, "Cannot execute action on a DM channel", violation=True)
        return self.guilds[channel.guild_id]

    def bot_permissions(self, channel: Channel) -> int:
        if channel.is_dm:
            return DM_PERMISSIONS
        guild = self.guild_of(channel)
        return guild.permissions_in(channel, guild.members[self.bot.id])

    def require(self, channel: Channel, permission: int) -> None:
        """403 like Discord: Missing Access without View Channel, Missing Permissions otherwise."""
        permissions = self.bot_permissions(channel)
        if not permissions:
            raise ApiError(403, 50001, "Missing Access")
        if permissions & permission != permission:
            raise ApiError(403, 50013, "Missing Permissions")

    def channel_message(self, channel: Channel, message_id: int) -> Message:
        message = self.messages.get(message_id)
        if message is None or message.deleted or message.channel_id != channel.id or message.ephemeral:
            raise ApiError(404, 10008, "Unknown Message")
        return message

    # -- messages ---------------------------------------------------------------------------------

    def create_message(
        self,
        channel: Channel,
        author: User,
        data: Mapping[str, Any],
        uploads: Mapping[int, Upload] | None = None,
        *,
        flags: int = 0,
        type: int = 0,
        webhook_id: int | None = None,
        interaction_metadata: Payload | None = None,
        message_id: int | None = None,
    ) -> Message:
        """Store a new message (ephemeral ones stay out of the channel) and dispatch MESSAGE_CREATE.

        ``message_id`` is given for a forum post's first message, whose id is the post's (thread's) id.
        """
        message = Message(
            id=message_id or self.ids.next(),
            channel_id=channel.id,
            guild_id=channel.guild_id,
            author=author,
            flags=flags | (int(data.get("flags") or 0) & (_EDITABLE_FLAGS | EPHEMERAL)),
            type=type,
            tts=bool(data.get("tts")),
            webhook_id=webhook_id,
            application_id=self.application_id if webhook_id is not None else None,
            interaction_metadata=interaction_metadata,
        )
        nonce = data.get("nonce")
        if isinstance(nonce, str | int) and not isinstance(nonce, bool):
            message.nonce = nonce
        reference = data.get("message_reference")
        replied: User | None = None
        if isinstance(reference, Mapping) and reference.get("message_id") is not None:
            message.message_reference = {
                "type": 0,
                "message_id": str(reference["message_id"]),
                "channel_id": str(reference.get("channel_id") or channel.id),
            }
            if channel.guild_id is not None:
                message.message_reference["guild_id"] = str(channel.guild_id)
            message.type = 19
            replied_to = self.messages.get(_int(reference["message_id"]) or 0)
            replied = replied_to.author if replied_to is not None else None
        self._apply(message, data, uploads or {}, creating=True)
        if not message.ephemeral:
            message.pings = self.pings(channel, author, data, replied)
        self.messages[message.id] = message
        if not message.ephemeral:
            channel.messages.append(message)
            channel.total_sent += 1
            self._dispatch_message("MESSAGE_CREATE", message)
        self.notifier.notify()
        return message

    def pings(self, channel: Channel, author: User, data: Mapping[str, Any], replied: User | None = None) -> Pings:
        """Who a new message by ``author`` with this body notifies (see ``mentions``)."""
        guild = None if channel.guild_id is None else self.guilds.get(channel.guild_id)
        if guild is None:
            permissions = 0
        elif author.id == self.bot.id:
            permissions = self.bot_permissions(channel)
        else:
            member = guild.members.get(author.id)
            permissions = guild.permissions_in(channel, member) if member is not None else 0
        return resolve_pings(
            str(data.get("content") or ""),
            data.get("allowed_mentions"),
            guild=guild,
            users=self.users,
            author_permissions=permissions,
            replied_user=replied,
        )

    def edit_message(
        self, message: Message, data: Mapping[str, Any], uploads: Mapping[int, Upload] | None = None
    ) -> None:
        self._apply(message, data, uploads or {}, creating=False)
        if message.loading and not message.ephemeral:
            # Filling in a deferred "thinking" response is what posts it: that is when it notifies.
            channel = self.channels.get(message.channel_id)
            message.pings = NO_PINGS if channel is None else self.pings(channel, message.author, data)
        if "flags" in data and data["flags"] is not None:
            message.flags = (message.flags & ~_EDITABLE_FLAGS) | (int(data["flags"]) & _EDITABLE_FLAGS)
        message.flags &= ~LOADING
        message.edited_id = self.ids.next()
        if not message.ephemeral:
            self._dispatch_message("MESSAGE_UPDATE", message)
        self.notifier.notify()

    def delete_message(self, message: Message) -> None:
        message.deleted = True
        channel = self.channels.get(message.channel_id)
        if channel is not None and message in channel.messages:
            channel.messages.remove(message)
        if not message.ephemeral and self.gateway is not None:
            payload: Payload = {"id": str(message.id), "channel_id": str(message.channel_id)}
            if message.guild_id is None:
                self.gateway.dispatch_direct("MESSAGE_DELETE", lambda _s: payload, intent=Intent.DIRECT_MESSAGES)
            else:
                payload["guild_id"] = str(message.guild_id)
                self.gateway.dispatch_guild(
                    message.guild_id, "MESSAGE_DELETE", lambda _s: payload, intent=Intent.GUILD_MESSAGES
                )
        self.notifier.notify()

    def replay_nonce(self, channel: Channel, data: Mapping[str, Any]) -> Message | None:
        """The message already created with this nonce in the last few minutes, if ``enforce_nonce``."""
        nonce = data.get("nonce")
        if not data.get("enforce_nonce") or nonce is None:
            return None
        found = self._nonces.get((channel.id, str(nonce)))
        if found is None or time.monotonic() - found[1] > NONCE_WINDOW:
            return None
        message = self.messages.get(found[0])
        if message is None or message.deleted:
            return None
        self.nonce_replays += 1
        return message

    def remember_nonce(self, message: Message) -> None:
        if message.nonce is not None:
            self._nonces[(message.channel_id, str(message.nonce))] = (message.id, time.monotonic())

    def _apply(
        self, message: Message, data: Mapping[str, Any], uploads: Mapping[int, Upload], *, creating: bool
    ) -> None:
        if "content" in data or creating:
            message.content = str(data.get("content") or "")
        if "embeds" in data or creating:
            message.embeds = [_normalise_embed(e) for e in data.get("embeds") or [] if isinstance(e, Mapping)]
        if "components" in data or creating:
            message.components = [dict(c) for c in data.get("components") or [] if isinstance(c, Mapping)]
        if "attachments" in data or uploads or creating:
            self._attachments(message, data.get("attachments"), uploads)

    def _attachments(self, message: Message, requested: object, uploads: Mapping[int, Upload]) -> None:
        existing = {int(a["id"]): a for a in message.attachments}
        kept: list[Payload] = []
        described: dict[int, Mapping[str, Any]] = {}
        if isinstance(requested, list):
            for item in requested:
                if not isinstance(item, Mapping) or item.get("id") is None:
                    continue
                ref = int(item["id"])
                if ref in existing:
                    kept.append(existing[ref])
                else:
                    described[ref] = item
        elif requested is None:
            kept = list(existing.values())
        for index, upload in sorted(uploads.items()):
            meta = described.get(index, {})
            filename = str(meta.get("filename") or upload.filename)
            attachment_id = self.ids.next()
            url = f"{self.base_url}/attachments/{message.channel_id}/{attachment_id}/{quote(filename)}"
            attachment: Payload = {
                "id": str(attachment_id),
                "filename": filename,
                "size": len(upload.data),
                "url": url,
                "proxy_url": url,
                "content_type": mimetypes.guess_type(filename)[0] or "application/octet-stream",
            }
            if meta.get("description"):
                attachment["description"] = meta["description"]
            if message.ephemeral:
                attachment["ephemeral"] = True
            kept.append(attachment)
            message.files[filename] = upload.data
        message.attachments = kept

    def option_attachment(self, channel: Channel, filename: str, data: bytes) -> Payload:
        """Upload a file the way the Discord client does for an attachment option: an ephemeral
        attachment the bot downloads from its URL."""
        attachment_id = self.ids.next()
        self.option_files[attachment_id] = (filename, data)
        url = f"{self.base_url}/attachments/{channel.id}/{attachment_id}/{quote(filename)}"
        return {
            "id": str(attachment_id),
            "filename": filename,
            "size": len(data),
            "url": url,
            "proxy_url": url,
            "content_type": mimetypes.guess_type(filename)[0] or "application/octet-stream",
            "ephemeral": True,
        }

    def _dispatch_message(self, event: str, message: Message) -> None:
        if self.gateway is None:
            return
        if message.guild_id is None:
            self.gateway.dispatch_direct(event, lambda _s: message.payload(), intent=Intent.DIRECT_MESSAGES)
            return
        guild = self.guilds.get(message.guild_id)
        member = guild.members.get(message.author.id) if guild is not None else None

        def build(session: GatewaySession) -> Payload:
            data = message.payload()
            data["guild_id"] = str(message.guild_id)
            if member is not None:
                data["member"] = member.payload(with_user=False)
            own = message.author.id == self.bot.id
            if not own and not session.intents & Intent.MESSAGE_CONTENT:
                # Without the privileged intent a bot sees other people's messages as empty shells.
                data.update(content="", embeds=[], attachments=[], components=[])
            return data

        self.gateway.dispatch_guild(message.guild_id, event, build, intent=Intent.GUILD_MESSAGES)

    # -- interactions ------------------------------------------------------------------------------

    def interaction(self, interaction_id: int, token: str) -> InteractionResult:
        result = self.interactions.get(interaction_id)
        if result is None or result.token != token:
            raise ApiError(404, 10062, "Unknown interaction", violation=True)
        return result

    def interaction_by_token(self, application_id: int, token: str) -> InteractionResult:
        if application_id != self.application_id:
            raise ApiError(404, 10015, "Unknown Webhook", violation=True)
        for result in self.interactions.values():
            if result.token == token:
                if result.age > TOKEN_LIFETIME:
                    raise ApiError(401, 50027, "Invalid Webhook Token", violation=True)
                return result
        raise ApiError(404, 10015, "Unknown Webhook", violation=True)

    def callback(self, result: InteractionResult, body: Mapping[str, Any], uploads: Mapping[int, Upload]) -> Payload:
        """Apply an interaction callback; returns the ``with_response`` body Discord would send."""
        if result.acknowledged:
            raise ApiError(400, 40060, "Interaction has already been acknowledged.", violation=True)
        if result.age > self.interaction_deadline:
            raise ApiError(
                404,
                10062,
                f"Unknown interaction (answered after {result.age:.2f}s, limit {self.interaction_deadline:g}s)",
                violation=True,
            )
        kind = int(body.get("type") or 0)
        if kind not in ALLOWED_CALLBACKS[result.type]:
            raise ApiError(
                400,
                50035,
                f"Interaction callback type {kind} is not valid for a {result.type.name} interaction",
                violation=True,
            )
        data = body.get("data") if isinstance(body.get("data"), Mapping) else None
        channel = self.channels[result.channel_id]
        resource: Payload = {"type": kind}
        if kind == CallbackType.CHANNEL_MESSAGE:
            require_content(data or {}, uploads)
            result.original = self.create_message(
                channel, self.bot, data or {}, uploads, type=self._response_type(result), **self._by_app(result)
            )
            resource["message"] = result.original.payload()
        elif kind == CallbackType.DEFERRED_CHANNEL_MESSAGE:
            flags = LOADING | (int((data or {}).get("flags") or 0) & EPHEMERAL)
            result.original = self.create_message(
                channel, self.bot, {}, None, flags=flags, type=self._response_type(result), **self._by_app(result)
            )
        elif kind in (CallbackType.DEFERRED_UPDATE_MESSAGE, CallbackType.UPDATE_MESSAGE):
            source = result.source_message
            if source is None:
                raise ApiError(400, 50035, "This interaction has no message to update", violation=True)
            result.original = source
            if kind == CallbackType.UPDATE_MESSAGE:
                self.edit_message(source, data or {}, uploads)
                resource["message"] = source.payload()
        result.callbacks.append(Callback(kind, None if data is None else dict(data), result.age))
        self.notifier.notify()
        original = result.original
        interaction: Payload = {
            "id": str(result.id),
            "type": int(result.type),
            "response_message_loading": bool(original is not None and original.loading),
            "response_message_ephemeral": bool(original is not None and original.ephemeral),
        }
        if original is not None:
            interaction["response_message_id"] = str(original.id)
        return {"interaction": interaction, "resource": resource}

    def followup(self, result: InteractionResult, data: Mapping[str, Any], uploads: Mapping[int, Upload]) -> Message:
        if not result.acknowledged:
            raise ApiError(
                404, 10015, "Unknown Webhook (follow-up before the interaction was answered)", violation=True
            )
        require_content(data, uploads)
        original = result.original
        if original is not None and original.loading:
            # The first follow-up after a deferred "thinking" response replaces that response.
            self.edit_message(original, data, uploads)
            return original
        channel = self.channels[result.channel_id]
        message = self.create_message(channel, self.bot, data, uploads, **self._by_app(result))
        result.followup_messages.append(message)
        self.notifier.notify()
        return message

    def webhook_message(self, result: InteractionResult, message_ref: str) -> Message:
        if message_ref == "@original":
            if result.original is None or result.original.deleted:
                raise ApiError(404, 10008, "Unknown Message")
            return result.original
        try:
            message = result.find_message(int(message_ref))
        except ValueError:
            message = None
        if message is None or message.deleted:
            raise ApiError(404, 10008, "Unknown Message")
        return message

    def _by_app(self, result: InteractionResult) -> dict[str, Any]:
        return {
            "webhook_id": self.application_id,
            "interaction_metadata": {
                "id": str(result.id),
                "type": int(result.type),
                "user": result.user.payload(),
                "authorizing_integration_owners": dict(result.payload.get("authorizing_integration_owners") or {}),
            },
        }

    @staticmethod
    def _response_type(result: InteractionResult) -> int:
        if result.type == InteractionType.APPLICATION_COMMAND:
            return 23 if int((result.payload.get("data") or {}).get("type") or 1) != 1 else 20
        return 0

    # -- announcement channels, threads and forums -------------------------------------------------

    def crosspost(self, channel: Channel, message: Message) -> Message:
        """Publish ``message`` to the channels following its announcement channel (10 per channel per hour)."""
        if not channel.is_announcement:
            raise ApiError(400, 50024, "Cannot execute action on this channel type", violation=True)
        if message.crossposted:
            raise ApiError(400, 40033, "This message has already been crossposted.")
        retry_after = self.publish_limit.take(channel.id)
        if retry_after is not None:
            raise RateLimitedError(retry_after, limit=self.publish_limit.limit)
        message.flags |= CROSSPOSTED
        self.crossposts.append(message)
        self._dispatch_message("MESSAGE_UPDATE", message)
        self.notifier.notify()
        return message

    def start_thread(
        self,
        parent: Channel,
        name: str,
        owner: User,
        *,
        type: int,
        source: Message | None = None,
        thread_id: int | None = None,
        applied_tags: Iterable[int] = (),
        auto_archive_duration: int | None = None,
    ) -> Channel:
        """A thread in ``parent``; one started from ``source`` takes that message's id, as on Discord."""
        guild = self.guild_of(parent)
        thread = Channel(
            id=source.id if source is not None else (thread_id or self.ids.next()),
            guild_id=guild.id,
            name=name,
            type=type,
            parent_id=parent.id,
            owner_id=owner.id,
            applied_tags=list(applied_tags),
        )
        if auto_archive_duration:
            thread.auto_archive_duration = auto_archive_duration
        if thread.id in self.channels:
            raise ApiError(400, 160004, "A thread has already been created for this message")
        guild.channels[thread.id] = thread
        self.channels[thread.id] = thread
        self._dispatch_channel("THREAD_CREATE", thread, {"newly_created": True})
        if source is not None:
            source.thread = thread
            source.flags |= HAS_THREAD
            self._dispatch_message("MESSAGE_UPDATE", source)
        self.notifier.notify()
        return thread

    def forum_tags(self, forum: Channel, requested: object) -> list[int]:
        """The tag ids of a forum post's ``applied_tags``, each one the forum offers (400 otherwise)."""
        errors = FormErrors()
        known = {tag.id for tag in forum.available_tags}
        tags: list[int] = []
        for index, raw in enumerate(requested if isinstance(requested, list) else []):
            tag_id = _int(raw)
            if tag_id not in known:
                errors.add(
                    ("applied_tags", index),
                    "BASE_TYPE_CHOICES",
                    f"Value must be one of the forum's tags {sorted(known)} (got {raw!r}).",
                )
            elif tag_id not in tags:
                tags.append(tag_id)
        if errors:
            raise errors.to_api_error()
        if forum.flags & REQUIRE_TAG and not tags:
            raise ApiError(400, 40067, "A tag is required to create a forum post in this channel", violation=True)
        return tags

    # -- changes made by the server's moderators (the test driver) ----------------------------------

    def delete_channel(self, channel: Channel) -> None:
        """Delete a channel (and its threads) or a thread; later requests to it get 404 Unknown Channel."""
        guild = self.guild_of(channel)
        doomed = [channel, *(t for t in guild.threads() if t.parent_id == channel.id)]
        for gone in doomed:
            gone.deleted = True
            guild.channels.pop(gone.id, None)
            self.channels.pop(gone.id, None)
            self.deleted_channels[gone.id] = gone
        if channel.is_thread:
            payload = {
                "id": str(channel.id),
                "guild_id": str(guild.id),
                "parent_id": str(channel.parent_id),
                "type": channel.type,
            }
            self._dispatch_guild(guild.id, "THREAD_DELETE", payload)
        else:
            self._dispatch_channel("CHANNEL_DELETE", channel)
        self.notifier.notify()

    def delete_role(self, guild: Guild, role: Role) -> None:
        if role.id == guild.id or role.bot_id is not None:
            raise ValueError(f"the role {role.name!r} cannot be deleted (@everyone and managed roles stay)")
        guild.roles.pop(role.id, None)
        for member in guild.members.values():
            if role.id in member.role_ids:
                member.role_ids.remove(role.id)
        self._dispatch_guild(guild.id, "GUILD_ROLE_DELETE", {"guild_id": str(guild.id), "role_id": str(role.id)})
        self.notifier.notify()

    def update_role(self, guild: Guild, role: Role) -> None:
        self._dispatch_guild(guild.id, "GUILD_ROLE_UPDATE", {"guild_id": str(guild.id), "role": role.payload()})
        self.notifier.notify()

    def set_forum_tags(self, forum: Channel, tags: Iterable[ForumTag]) -> None:
        """Replace a forum's tags; posts lose tags that no longer exist, as on Discord."""
        forum.available_tags = list(tags)
        known = {tag.id for tag in forum.available_tags}
        for post in self.guild_of(forum).threads():
            if post.parent_id == forum.id and any(t not in known for t in post.applied_tags):
                post.applied_tags = [t for t in post.applied_tags if t in known]
                self._dispatch_channel("THREAD_UPDATE", post)
        self._dispatch_channel("CHANNEL_UPDATE", forum)
        self.notifier.notify()

    def set_overwrites(self, channel: Channel, overwrites: Iterable[Overwrite]) -> None:
        if channel.is_thread:
            raise ValueError("threads have no overwrites of their own: change the parent channel's")
        channel.overwrites = list(overwrites)
        self._dispatch_channel("CHANNEL_UPDATE", channel)
        self.notifier.notify()

    # -- direct messages ---------------------------------------------------------------------------

    def open_dm(self, recipient: User) -> Channel:
        """The DM channel with ``recipient`` (the same one each time, as on Discord)."""
        channel = self.dm_channels.get(recipient.id)
        if channel is None:
            channel = Channel(id=self.ids.next(), guild_id=None, name="", type=DM_CHANNEL, recipient=recipient)
            self.dm_channels[recipient.id] = channel
            self.channels[channel.id] = channel
        return channel

    def require_dm_open(self, channel: Channel) -> None:
        """403 50007 when the recipient closed DMs, or shares no server with the bot and did not install
        the app on their account (Discord refuses all three)."""
        recipient = channel.recipient
        assert recipient is not None
        shares_guild = any(recipient.id in g.members and self.bot.id in g.members for g in self.guilds.values())
        reachable = shares_guild or recipient.id in self.user_installs
        if recipient.id in self.dms_closed or not reachable:
            raise ApiError(403, 50007, "Cannot send messages to this user")

    def _dispatch_channel(self, event: str, channel: Channel, extra: Payload | None = None) -> None:
        if channel.guild_id is None:
            return
        payload = {**channel.payload(), **(extra or {})}
        self._dispatch_guild(channel.guild_id, event, payload)

    def _dispatch_guild(self, guild_id: int, event: str, payload: Payload) -> None:
        if self.gateway is not None:
            self.gateway.dispatch_guild(guild_id, event, lambda _s: payload, intent=Intent.GUILDS)

    def record(self, method: str, path: str, message: str) -> None:
        self.violations.append(Violation(method, path, message))
        self.notifier.notify()


def _int(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _normalise_embed(embed: Mapping[str, Any]) -> Payload:
    data = {k: v for k, v in embed.items() if v is not None}
    data.setdefault("type", "rich")
    return data


def require_content(data: Mapping[str, Any], uploads: Mapping[int, Upload]) -> None:
    content = data.get("content")
    has_content = isinstance(content, str) and content.strip()
    if not (has_content or data.get("embeds") or data.get("components") or data.get("poll") or uploads):
        raise ApiError(400, 50006, "Cannot send an empty message", violation=True)
