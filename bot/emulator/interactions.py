"""Interactions: the INTERACTION_CREATE payloads a Discord client would cause, and the handle tests hold.

``InteractionResult`` records what the bot did with one interaction: its callbacks (type, data, time
since dispatch), the @original response message as it stands after edits, and follow-up messages.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from bot.emulator.models import Channel, Guild, Member, Message, Role, User
from bot.emulator.waiting import Notifier

Payload = dict[str, Any]
T = TypeVar("T")

ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024
TOKEN_LIFETIME = 15 * 60.0


class InteractionType(enum.IntEnum):
    PING = 1
    APPLICATION_COMMAND = 2
    MESSAGE_COMPONENT = 3
    AUTOCOMPLETE = 4
    MODAL_SUBMIT = 5


class CallbackType(enum.IntEnum):
    PONG = 1
    CHANNEL_MESSAGE = 4
    DEFERRED_CHANNEL_MESSAGE = 5
    DEFERRED_UPDATE_MESSAGE = 6
    UPDATE_MESSAGE = 7
    AUTOCOMPLETE_RESULT = 8
    MODAL = 9
    LAUNCH_ACTIVITY = 12


ALLOWED_CALLBACKS: dict[int, frozenset[int]] = {
    InteractionType.PING: frozenset({1}),
    InteractionType.APPLICATION_COMMAND: frozenset({4, 5, 9, 12}),
    InteractionType.MESSAGE_COMPONENT: frozenset({4, 5, 6, 7, 9, 12}),
    InteractionType.AUTOCOMPLETE: frozenset({8}),
    InteractionType.MODAL_SUBMIT: frozenset({4, 5, 6, 7}),
}


class InteractionContext(enum.IntEnum):
    """Where an interaction happens (``context``; a command's ``contexts`` lists where it may)."""

    GUILD = 0
    BOT_DM = 1
    PRIVATE_CHANNEL = 2


class Installation(enum.IntEnum):
    """How the app is installed (``integration_types``; keys of ``authorizing_integration_owners``)."""

    GUILD = 0
    USER = 1


class OptionType(enum.IntEnum):
    SUB_COMMAND = 1
    SUB_COMMAND_GROUP = 2
    STRING = 3
    INTEGER = 4
    BOOLEAN = 5
    USER = 6
    CHANNEL = 7
    ROLE = 8
    MENTIONABLE = 9
    NUMBER = 10
    ATTACHMENT = 11


@dataclass(frozen=True, slots=True)
class AttachmentFile:
    """A file the user attaches to an attachment option (type 11) of a slash command."""

    filename: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Callback:
    """One interaction callback the bot sent: its type, its data, and seconds since the dispatch."""

    type: int
    data: Payload | None
    elapsed: float

    @property
    def ephemeral(self) -> bool:
        return bool(self.data and int(self.data.get("flags") or 0) & 64)


class InteractionResult:
    """What happened to one interaction. Await ``response()`` for the first callback."""

    def __init__(
        self,
        *,
        id: int,
        token: str,
        type: InteractionType,
        application_id: int,
        guild_id: int | None,
        channel_id: int,
        user: User,
        payload: Payload,
        notifier: Notifier,
        source_message: Message | None = None,
    ) -> None:
        self.id = id
        self.token = token
        self.type = type
        self.application_id = application_id
        self.guild_id = guild_id
        self.channel_id = channel_id
        self.user = user
        self.payload = payload
        self.source_message = source_message
        self.callbacks: list[Callback] = []
        self.original: Message | None = None
        self.followup_messages: list[Message] = []
        self.dispatched_at = time.monotonic()
        self._notifier = notifier

    def __repr__(self) -> str:
        return f"<InteractionResult id={self.id} type={self.type.name} callbacks={[c.type for c in self.callbacks]}>"

    @property
    def acknowledged(self) -> bool:
        return bool(self.callbacks)

    @property
    def age(self) -> float:
        return time.monotonic() - self.dispatched_at

    @property
    def elapsed(self) -> float | None:
        """Seconds between the dispatch and the first callback (Discord allows 3)."""
        return self.callbacks[0].elapsed if self.callbacks else None

    @property
    def ephemeral(self) -> bool | None:
        """Whether the response is only visible to the user; None before any response."""
        if self.original is not None:
            return self.original.ephemeral
        if self.callbacks:
            return self.callbacks[0].ephemeral
        return None

    def messages(self) -> list[Message]:
        """The @original response (if any) followed by the follow-ups, in order."""
        found = [self.original] if self.original is not None else []
        return [*found, *self.followup_messages]

    def find_message(self, message_id: int) -> Message | None:
        for message in self.messages():
            if message.id == message_id:
                return message
        return None

    async def response(self, timeout: float = 3.0) -> Callback:  # noqa: ASYNC109
        """The first callback (type and data), waiting up to ``timeout`` seconds for it."""
        return await self._notifier.wait_until(
            lambda: self.callbacks[0] if self.callbacks else None,
            timeout=timeout,
            what=f"a response to interaction {self.id}",
        )

    async def original_message(self, timeout: float = 3.0, *, final: bool = True) -> Message:  # noqa: ASYNC109
        """The @original message; with ``final`` it waits until a deferred response has been filled in."""

        def ready() -> Message | None:
            message = self.original
            if message is None or (final and message.loading):
                return None
            return message

        return await self._notifier.wait_until(ready, timeout=timeout, what=f"the original response of {self.id}")

    async def followups(self, count: int = 1, timeout: float = 3.0) -> list[Message]:  # noqa: ASYNC109
        """The first ``count`` follow-up messages, waiting for them to arrive."""
        await self._notifier.wait_until(
            lambda: len(self.followup_messages) >= count, timeout=timeout, what=f"{count} follow-up(s) to {self.id}"
        )
        return list(self.followup_messages[:count])

    async def choices(self, timeout: float = 3.0) -> list[Payload]:  # noqa: ASYNC109
        """The autocomplete choices the bot answered with."""
        callback = await self.response(timeout)
        if callback.type != CallbackType.AUTOCOMPLETE_RESULT:
            raise AssertionError(f"expected an autocomplete result, got callback type {callback.type}")
        return list((callback.data or {}).get("choices") or [])

    async def wait_until(
        self,
        predicate: Callable[[InteractionResult], T | None],
        timeout: float = 3.0,  # noqa: ASYNC109
        what: str = "a condition",
    ) -> T:
        """Wait until ``predicate(self)`` is truthy; returns its value."""
        return await self._notifier.wait_until(lambda: predicate(self), timeout=timeout, what=what)


# -- payload builders -------------------------------------------------------------------------------


def channel_partial(channel: Channel, permissions: int) -> Payload:
    data = channel.payload()
    data["permissions"] = str(int(permissions))
    return data


def subcommand_path(subcommand: str | Sequence[str] | None) -> tuple[str, ...]:
    if subcommand is None:
        return ()
    if isinstance(subcommand, str):
        return tuple(subcommand.split())
    return tuple(subcommand)


@dataclass(slots=True)
class OptionBuilder:
    """Turns ``{"name": value}`` into Discord's nested options plus ``resolved``, checked against the command.

    A Discord client would not let a user submit a value outside an option's choices or range, or leave
    out a required option, so neither does this builder (``ValueError``).
    """

    guild: Guild
    channel: Channel
    member: Member
    resolved: Payload
    #: Stores an attached file where the bot can download it and returns its attachment object.
    attach: Callable[[str, bytes], Payload] | None = None

    def build(
        self,
        command: Mapping[str, Any],
        path: tuple[str, ...],
        values: Mapping[str, Any],
        *,
        focused: str | None = None,
    ) -> list[Payload]:
        definitions: list[Any] = list(command.get("options") or [])
        chain: list[Payload] = []
        for name in path:
            match = next((o for o in definitions if o.get("name") == name and o.get("type") in (1, 2)), None)
            if match is None:
                known = [o.get("name") for o in definitions if o.get("type") in (1, 2)]
                raise ValueError(f"/{command['name']} has no subcommand {name!r} (known: {known})")
            chain.append({"type": match["type"], "name": name, "options": []})
            definitions = list(match.get("options") or [])
        if any(o.get("type") in (1, 2) for o in definitions):
            names = [o.get("name") for o in definitions]
            raise ValueError(f"/{command['name']} needs a subcommand path (one of {names})")
        leaf = self._leaf_options(command, definitions, values, focused=focused)
        if not chain:
            return leaf
        chain[-1]["options"] = leaf
        for outer, inner in zip(reversed(chain[:-1]), reversed(chain[1:]), strict=True):
            outer["options"] = [inner]
        return [chain[0]]

    def _leaf_options(
        self,
        command: Mapping[str, Any],
        definitions: list[Any],
        values: Mapping[str, Any],
        *,
        focused: str | None,
    ) -> list[Payload]:
        by_name = {d["name"]: d for d in definitions}
        unknown = set(values) - set(by_name)
        if focused is not None and focused not in by_name:
            unknown.add(focused)
        if unknown:
            raise ValueError(f"/{command['name']} has no option(s) {sorted(unknown)} (known: {sorted(by_name)})")
        options: list[Payload] = []
        for definition in definitions:
            name = definition["name"]
            if name == focused:
                if not definition.get("autocomplete"):
                    raise ValueError(f"option {name!r} of /{command['name']} has no autocomplete")
                typed = values.get(name, "")
                options.append({"name": name, "type": definition["type"], "value": str(typed), "focused": True})
                continue
            if name not in values:
                if definition.get("required") and focused is None:
                    raise ValueError(f"/{command['name']} requires option {name!r}")
                continue
            options.append(
                {"name": name, "type": definition["type"], "value": self._value(command, definition, values[name])}
            )
        return options

    def _value(self, command: Mapping[str, Any], definition: Mapping[str, Any], value: Any) -> Any:
        kind = definition["type"]
        name = f"option {definition['name']!r} of /{command['name']}"
        if kind == OptionType.STRING:
            converted: Any = str(value)
            length = len(converted)
            if length < int(definition.get("min_length") or 0) or length > int(definition.get("max_length") or 6000):
                raise ValueError(f"{name}: length {length} is outside the allowed range")
        elif kind == OptionType.INTEGER:
            converted = int(value)
        elif kind == OptionType.NUMBER:
            converted = float(value)
        elif kind == OptionType.BOOLEAN:
            converted = bool(value)
        elif kind == OptionType.CHANNEL:
            return self._channel_value(definition, value, name)
        elif kind == OptionType.ATTACHMENT:
            return self._attachment_value(value, name)
        elif kind in (OptionType.USER, OptionType.MENTIONABLE) and isinstance(value, User | Member):
            return self._user_value(value)
        elif kind in (OptionType.ROLE, OptionType.MENTIONABLE) and isinstance(value, Role):
            self.resolved.setdefault("roles", {})[str(value.id)] = value.payload()
            return str(value.id)
        else:
            raise ValueError(f"{name}: cannot send a {type(value).__name__} for option type {kind}")
        if kind in (OptionType.INTEGER, OptionType.NUMBER):
            low, high = definition.get("min_value"), definition.get("max_value")
            if (low is not None and converted < low) or (high is not None and converted > high):
                raise ValueError(f"{name}: {converted} is outside [{low}, {high}]")
        choices = definition.get("choices")
        if choices and converted not in [c["value"] for c in choices]:
            raise ValueError(f"{name}: {converted!r} is not one of the choices {[c['value'] for c in choices]}")
        return converted

    def _channel_value(self, definition: Mapping[str, Any], value: Any, name: str) -> str:
        channel = value if isinstance(value, Channel) else self.guild.channels.get(int(value))
        if channel is None or channel.guild_id != self.guild.id:
            raise ValueError(f"{name}: {value!r} is not a channel of guild {self.guild.name!r}")
        allowed = definition.get("channel_types")
        if allowed and channel.type not in allowed:
            raise ValueError(f"{name}: channel type {channel.type} not in {allowed}")
        permissions = self.guild.permissions_in(channel, self.member)
        self.resolved.setdefault("channels", {})[str(channel.id)] = channel_partial(channel, permissions)
        return str(channel.id)

    def _attachment_value(self, value: Any, name: str) -> str:
        if not isinstance(value, AttachmentFile):
            raise ValueError(f"{name}: attach an AttachmentFile(filename, data), not a {type(value).__name__}")
        if len(value.data) > ATTACHMENT_SIZE_LIMIT:
            raise ValueError(f"{name}: {len(value.data)} bytes is over the {ATTACHMENT_SIZE_LIMIT}-byte upload limit")
        if self.attach is None:
            raise ValueError(f"{name}: attachments can only be sent with a slash command")
        attachment = self.attach(value.filename, value.data)
        self.resolved.setdefault("attachments", {})[attachment["id"]] = attachment
        return str(attachment["id"])

    def _user_value(self, value: User | Member) -> str:
        user = value.user if isinstance(value, Member) else value
        self.resolved.setdefault("users", {})[str(user.id)] = user.payload()
        member = self.guild.members.get(user.id)
        if member is not None:
            permissions = self.guild.permissions_in(self.channel, member)
            self.resolved.setdefault("members", {})[str(user.id)] = member.payload(
                permissions=permissions, with_user=False
            )
        return str(user.id)
