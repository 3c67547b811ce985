"""The emulated Discord's state and the operations REST calls and the test driver perform on it.

``World`` owns users, guilds, channels, messages, registered commands and pending interactions, and
implements what the gateway needs (READY and GUILD_CREATE payloads). Operations raise ``ApiError``
with Discord's codes; ``violation=True`` marks the ones that are the bot's fault.
"""

from __future__ import annotations

import mimetypes
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from bot.emulator.commands import CommandRegistry
from bot.emulator.errors import ApiError, Violation
from bot.emulator.gateway import Gateway, GatewaySession, Intent
from bot.emulator.interactions import (
    ALLOWED_CALLBACKS,
    TOKEN_LIFETIME,
    Callback,
    CallbackType,
    InteractionResult,
    InteractionType,
)
from bot.emulator.models import EPHEMERAL, LOADING, Channel, Guild, Message, Payload, User
from bot.emulator.snowflake import SnowflakeFactory
from bot.emulator.waiting import Notifier

NONCE_WINDOW = 5 * 60.0
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

    def bot_permissions(self, channel: Channel) -> int:
        guild = self.guilds[channel.guild_id]
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
    ) -> Message:
        """Store a new message (ephemeral ones stay out of the channel) and dispatch MESSAGE_CREATE."""
        message = Message(
            id=self.ids.next(),
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
        if isinstance(reference, Mapping) and reference.get("message_id") is not None:
            message.message_reference = {
                "type": 0,
                "message_id": str(reference["message_id"]),
                "channel_id": str(reference.get("channel_id") or channel.id),
                "guild_id": str(channel.guild_id),
            }
            message.type = 19
        self._apply(message, data, uploads or {}, creating=True)
        self.messages[message.id] = message
        if not message.ephemeral:
            channel.messages.append(message)
            self._dispatch_message("MESSAGE_CREATE", message)
        self.notifier.notify()
        return message

    def edit_message(
        self, message: Message, data: Mapping[str, Any], uploads: Mapping[int, Upload] | None = None
    ) -> None:
        self._apply(message, data, uploads or {}, creating=False)
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
            payload = {"id": str(message.id), "channel_id": str(message.channel_id), "guild_id": str(message.guild_id)}
            self.gateway.dispatch_guild(
                message.guild_id or 0, "MESSAGE_DELETE", lambda _s: payload, intent=Intent.GUILD_MESSAGES
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
        if self.gateway is None or message.guild_id is None:
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
                "authorizing_integration_owners": {"0": str(result.guild_id)},
            },
        }

    @staticmethod
    def _response_type(result: InteractionResult) -> int:
        if result.type == InteractionType.APPLICATION_COMMAND:
            return 23 if int((result.payload.get("data") or {}).get("type") or 1) != 1 else 20
        return 0

    def record(self, method: str, path: str, message: str) -> None:
        self.violations.append(Violation(method, path, message))
        self.notifier.notify()


def _normalise_embed(embed: Mapping[str, Any]) -> Payload:
    data = {k: v for k, v in embed.items() if v is not None}
    data.setdefault("type", "rich")
    return data


def require_content(data: Mapping[str, Any], uploads: Mapping[int, Upload]) -> None:
    content = data.get("content")
    has_content = isinstance(content, str) and content.strip()
    if not (has_content or data.get("embeds") or data.get("components") or data.get("poll") or uploads):
        raise ApiError(400, 50006, "Cannot send an empty message", violation=True)
