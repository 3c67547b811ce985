"""``Emulator``: the aiohttp server (REST + gateway) and the driver API tests and the demo use.

See the package docstring (``bot/emulator/__init__.py``) for the driver API with an example.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, Self, TypeVar

from aiohttp import web

from bot.emulator.commands import Command, Scope
from bot.emulator.errors import Violation
from bot.emulator.gateway import Gateway, GatewaySession, Intent
from bot.emulator.interactions import (
    ATTACHMENT_SIZE_LIMIT,
    Installation,
    InteractionContext,
    InteractionResult,
    InteractionType,
    OptionBuilder,
    channel_partial,
    subcommand_path,
)
from bot.emulator.models import (
    ANNOUNCEMENT_CHANNEL,
    FORUM_CHANNEL,
    REQUIRE_TAG,
    TEXT_CHANNEL,
    Channel,
    ForumTag,
    Guild,
    Member,
    Message,
    Payload,
    Role,
    User,
)
from bot.emulator.oauth import OAuthProvider
from bot.emulator.permissions import (
    ALL_PERMISSIONS,
    DEFAULT_BOT,
    DEFAULT_EVERYONE,
    MEMBER_OVERWRITE,
    ROLE_OVERWRITE,
    Overwrite,
    Perm,
)
from bot.emulator.ratelimit import RateLimiter, RateLimitHit
from bot.emulator.rest import API_PREFIX, RequestRecord, RestApi, Stall
from bot.emulator.snowflake import SnowflakeFactory
from bot.emulator.validation import ApiSpec
from bot.emulator.waiting import Notifier
from bot.emulator.world import DM_PERMISSIONS, World

#: What a user-installed app may do in a guild the bot is not in (its answers are webhook messages).
USER_APP_PERMISSIONS = DM_PERMISSIONS & ~Perm.READ_MESSAGE_HISTORY

log = logging.getLogger(__name__)

T = TypeVar("T")
GuildRef = Guild | int
ChannelRef = Channel | int
UserRef = User | Member | int
#: A forum tag to create: its name, or (name, moderated), or (name, moderated, emoji).
TagSpec = str | tuple[str, bool] | tuple[str, bool, str | None]


class Emulator:
    """A local Discord (REST under ``/api/v10`` and a gateway) for the unmodified discord.py client."""

    def __init__(
        self,
        *,
        token: str = "emulator-token",
        bot_name: str = "newsbot",
        heartbeat_interval: float = 41.25,
        recommended_shards: int = 1,
        application_flags: int = 0,
        validate: bool = True,
        require_no_mentions: bool = True,
        interaction_deadline: float = 3.0,
        rate_limit: int = 50,
        rate_limit_window: float = 1.0,
        allowed_privileged_intents: int = 0,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self._ids = SnowflakeFactory()
        self._notifier = Notifier()
        self.world = World(
            token=token,
            bot_name=bot_name,
            application_flags=application_flags,
            interaction_deadline=interaction_deadline,
            ids=self._ids,
            notifier=self._notifier,
        )
        self.gateway = Gateway(
            self.world,
            self._notifier,
            heartbeat_interval=heartbeat_interval,
            allowed_privileged_intents=allowed_privileged_intents,
        )
        self.world.gateway = self.gateway
        self.limiter = RateLimiter(rate_limit, rate_limit_window)
        self._validate = validate
        self._require_no_mentions = require_no_mentions
        self.world.recommended_shards = recommended_shards
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self._rest: RestApi | None = None
        self._stalls: list[Stall] = []
        self.oauth = OAuthProvider(self.world)  # "Login with Discord": bot/emulator/oauth.py

    # -- lifecycle -----------------------------------------------------------------------------------

    async def start(self) -> None:
        spec = await asyncio.to_thread(ApiSpec.load) if self._validate else None
        app = web.Application(client_max_size=64 * 1024 * 1024)
        self._rest = RestApi(
            self.world,
            self.gateway,
            self.limiter,
            spec,
            require_no_mentions=self._require_no_mentions,
        )
        self.oauth.install(app)  # before the REST API: its middleware answers the Bearer-token routes
        self._rest.stalls = self._stalls
        self._rest.install(app)
        app.router.add_get("/gateway", self.gateway.handle)
        app.router.add_get("/gateway/", self.gateway.handle)
        app.router.add_get("/attachments/{channel_id}/{attachment_id}/{filename}", self._attachment)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self._port = port
        self.world.base_url = f"http://{host}:{port}"
        self.world.gateway_url = f"ws://{host}:{port}/gateway"
        log.info("Discord emulator listening on %s", self.world.base_url)

    async def stop(self) -> None:
        if self._runner is None:
            return
        for stall in self._stalls:
            stall.release()  # no handler left waiting on a test that is over
        await self.gateway.close_all()
        await self._runner.cleanup()
        self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def _attachment(self, request: web.Request) -> web.StreamResponse:
        filename = request.match_info["filename"]
        uploaded = self.world.option_files.get(int(request.match_info["attachment_id"]))
        if uploaded is not None and uploaded[0] == filename:
            return web.Response(body=uploaded[1])
        for message in self.world.messages.values():
            if message.channel_id == int(request.match_info["channel_id"]) and filename in message.files:
                return web.Response(body=message.files[filename])
        raise web.HTTPNotFound()

    # -- addresses and records -----------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return self.world.base_url

    @property
    def api_base(self) -> str:
        """What discord.py's ``Route.BASE`` must be, e.g. ``http://127.0.0.1:PORT/api/v10``."""
        return self.world.base_url + API_PREFIX

    @property
    def gateway_url(self) -> str:
        return self.world.gateway_url

    @property
    def token(self) -> str:
        return self.world.token

    @property
    def bot_user(self) -> User:
        return self.world.bot

    @property
    def application_id(self) -> int:
        return self.world.application_id

    @property
    def application_owner(self) -> User:
        """The application's owner (GET /oauth2/applications/@me), what ``Bot.is_owner`` checks;
        ``add_member(guild, emulator.application_owner)`` puts them in a guild."""
        return self.world.owner

    @property
    def violations(self) -> list[Violation]:
        return self.world.violations

    @property
    def requests(self) -> list[RequestRecord]:
        return self._rest.requests if self._rest is not None else []

    @property
    def rate_limit_hits(self) -> list[RateLimitHit]:
        return self.limiter.hits

    @property
    def recommended_shards(self) -> int:
        """The shard count GET /gateway/bot recommends (what AutoShardedClient uses by default)."""
        return self.world.recommended_shards

    @recommended_shards.setter
    def recommended_shards(self, value: int) -> None:
        self.world.recommended_shards = value

    @property
    def resume_count(self) -> int:
        return self.gateway.resume_count

    @property
    def identify_count(self) -> int:
        return self.gateway.identify_count

    @property
    def sessions(self) -> list[GatewaySession]:
        return self.gateway.live_sessions()

    @property
    def nonce_replays(self) -> int:
        return self.world.nonce_replays

    def assert_no_violations(self) -> None:
        if self.world.violations:
            listing = "\n".join(f"  - {v}" for v in self.world.violations)
            raise AssertionError(f"the bot sent {len(self.world.violations)} bad request(s):\n{listing}")

    # -- building the world --------------------------------------------------------------------------

    def add_user(self, name: str, *, bot: bool = False) -> User:
        user = User(self._ids.next(), name, global_name=name.title(), bot=bot)
        self.world.users[user.id] = user
        return user

    def add_guild(
        self,
        name: str,
        *,
        guild_id: int | None = None,
        owner: User | None = None,
        locale: str = "en-US",
        everyone_permissions: int = DEFAULT_EVERYONE,
        bot_permissions: int = DEFAULT_BOT,
    ) -> Guild:
        """A guild the bot is in: @everyone, a managed bot role with ``bot_permissions``, an owner."""
        owner = owner or self.add_user(f"{name.lower().replace(' ', '-')}-owner")
        guild = Guild(guild_id or self._ids.next(), name, owner.id, locale=locale)
        guild.roles[guild.id] = Role(guild.id, guild.id, "@everyone", int(everyone_permissions))
        bot_role = Role(self._ids.next(), guild.id, self.world.bot.username, int(bot_permissions), 1, self.world.bot.id)
        guild.roles[bot_role.id] = bot_role
        guild.members[owner.id] = Member(owner, guild.id, joined_id=self._ids.next())
        guild.members[self.world.bot.id] = Member(self.world.bot, guild.id, [bot_role.id], joined_id=self._ids.next())
        self.world.guilds[guild.id] = guild
        self.gateway.dispatch_guild(
            guild.id,
            "GUILD_CREATE",
            lambda s: self.world.guild_create(guild.id, s.intents, joined=True),
            intent=Intent.GUILDS,
        )
        return guild

    def add_foreign_guild(self, name: str, *, owner: User | None = None, locale: str = "en-US") -> Guild:
        """A guild the bot is NOT in (members reach the app there only through a user install):
        the bot gets no event of it, and its channels only appear in interactions."""
        owner = owner or self.add_user(f"{name.lower().replace(' ', '-')}-owner")
        guild = Guild(self._ids.next(), name, owner.id, locale=locale)
        guild.roles[guild.id] = Role(guild.id, guild.id, "@everyone", int(DEFAULT_EVERYONE))
        guild.members[owner.id] = Member(owner, guild.id, joined_id=self._ids.next())
        self.world.foreign_guilds[guild.id] = guild
        return guild

    def remove_member(self, guild: GuildRef, user: UserRef) -> None:
        """The user leaves the guild (GUILD_MEMBER_REMOVE, for sessions with the members intent)."""
        g = self._guild(guild)
        member = g.members.pop(self._user_id(user))
        payload = {"guild_id": str(g.id), "user": member.user.payload()}
        self.gateway.dispatch_guild(g.id, "GUILD_MEMBER_REMOVE", lambda _s: payload, intent=Intent.GUILD_MEMBERS)

    def install_for_user(self, user: UserRef) -> None:
        """The user adds the app to their account (a user install): its user-installable commands work
        for them anywhere, and the bot may DM them even without a shared server."""
        self.world.user_installs.add(self._user_id(user))

    def uninstall_for_user(self, user: UserRef) -> None:
        self.world.user_installs.discard(self._user_id(user))

    def add_role(self, guild: GuildRef, name: str, permissions: int = 0, *, mentionable: bool = False) -> Role:
        """A role; only ``mentionable`` ones ping when mentioned by someone without Mention Everyone."""
        g = self._guild(guild)
        role = Role(self._ids.next(), g.id, name, int(permissions), position=len(g.roles), mentionable=mentionable)
        g.roles[role.id] = role
        payload = {"guild_id": str(g.id), "role": role.payload()}
        self.gateway.dispatch_guild(g.id, "GUILD_ROLE_CREATE", lambda _s: payload, intent=Intent.GUILDS)
        return role

    def add_text_channel(
        self,
        guild: GuildRef,
        name: str,
        *,
        topic: str | None = None,
        bot_allow: int = 0,
        bot_deny: int = 0,
        everyone_allow: int = 0,
        everyone_deny: int = 0,
        overwrites: Iterable[Overwrite] = (),
    ) -> Channel:
        """A text channel; ``bot_allow``/``bot_deny`` overwrite the bot's permissions in it."""
        return self._add_channel(
            guild,
            name,
            TEXT_CHANNEL,
            topic,
            self._overwrites(guild, bot_allow, bot_deny, everyone_allow, everyone_deny, overwrites),
        )

    def add_announcement_channel(
        self,
        guild: GuildRef,
        name: str,
        *,
        topic: str | None = None,
        bot_allow: int = 0,
        bot_deny: int = 0,
        everyone_allow: int = 0,
        everyone_deny: int = 0,
        overwrites: Iterable[Overwrite] = (),
    ) -> Channel:
        """An announcement channel (type 5): messages in it can be published (crossposted), 10 per hour."""
        return self._add_channel(
            guild,
            name,
            ANNOUNCEMENT_CHANNEL,
            topic,
            self._overwrites(guild, bot_allow, bot_deny, everyone_allow, everyone_deny, overwrites),
        )

    def add_forum_channel(
        self,
        guild: GuildRef,
        name: str,
        *,
        tags: Iterable[TagSpec] = (),
        require_tag: bool = False,
        topic: str | None = None,
        bot_allow: int = 0,
        bot_deny: int = 0,
        everyone_allow: int = 0,
        everyone_deny: int = 0,
        overwrites: Iterable[Overwrite] = (),
    ) -> Channel:
        """A forum (type 15) offering ``tags`` to its posts; ``forum.tag("name")`` finds one by name."""
        channel = Channel(
            self._ids.next(),
            self._guild(guild).id,
            name,
            topic=topic,
            type=FORUM_CHANNEL,
            flags=REQUIRE_TAG if require_tag else 0,
            available_tags=[self._forum_tag(spec) for spec in tags],
            overwrites=self._overwrites(guild, bot_allow, bot_deny, everyone_allow, everyone_deny, overwrites),
        )
        return self._register_channel(channel)

    def _forum_tag(self, spec: TagSpec) -> ForumTag:
        if isinstance(spec, str):
            return ForumTag(self._ids.next(), spec)
        name, moderated, *emoji = spec
        return ForumTag(self._ids.next(), name, moderated, emoji[0] if emoji else None)

    def _overwrites(
        self,
        guild: GuildRef,
        bot_allow: int,
        bot_deny: int,
        everyone_allow: int,
        everyone_deny: int,
        overwrites: Iterable[Overwrite],
    ) -> list[Overwrite]:
        g = self._guild(guild)
        result = list(overwrites)
        if everyone_allow or everyone_deny:
            result.append(Overwrite(g.id, ROLE_OVERWRITE, int(everyone_allow), int(everyone_deny)))
        if bot_allow or bot_deny:
            result.append(Overwrite(self.world.bot.id, MEMBER_OVERWRITE, int(bot_allow), int(bot_deny)))
        return result

    def _add_channel(
        self, guild: GuildRef, name: str, kind: int, topic: str | None, overwrites: list[Overwrite]
    ) -> Channel:
        channel = Channel(self._ids.next(), self._guild(guild).id, name, topic=topic, type=kind, overwrites=overwrites)
        return self._register_channel(channel)

    def _register_channel(self, channel: Channel) -> Channel:
        g = self._guild(self._guild_id(channel))
        channel.position = len(g.top_channels())
        g.channels[channel.id] = channel
        self.world.channels[channel.id] = channel
        self.gateway.dispatch_guild(g.id, "CHANNEL_CREATE", lambda _s: channel.payload(), intent=Intent.GUILDS)
        return channel

    def add_member(
        self,
        guild: GuildRef,
        user: User | str,
        *,
        permissions: int | None = None,
        roles: Iterable[Role] = (),
        nick: str | None = None,
    ) -> Member:
        """Add a member; ``permissions`` gives them a role of their own with those permissions."""
        g = self._guild(guild)
        if isinstance(user, str):
            user = self.add_user(user)
        role_ids = [r.id for r in roles]
        if permissions is not None:
            role_ids.append(self.add_role(g, f"{user.username}-role", permissions).id)
        member = Member(user, g.id, role_ids, nick=nick, joined_id=self._ids.next())
        g.members[user.id] = member
        payload = {**member.payload(), "guild_id": str(g.id)}
        self.gateway.dispatch_guild(g.id, "GUILD_MEMBER_ADD", lambda _s: payload, intent=Intent.GUILD_MEMBERS)
        return member

    def post_message(
        self, channel: ChannelRef, author: UserRef, content: str, *, embeds: Sequence[Payload] = ()
    ) -> Message:
        """A message from a (human) member, e.g. the target of a message context command."""
        ch = self._channel(channel)
        user = self._member(self._guild(self._guild_id(ch)), author).user
        return self.world.create_message(ch, user, {"content": content, "embeds": list(embeds)})

    # -- what moderators change while the bot runs ---------------------------------------------------

    def delete_channel(self, channel: ChannelRef) -> None:
        """Delete a channel (its threads too) or a thread: CHANNEL_DELETE (THREAD_DELETE) reaches the bot,
        and any later request to it gets 404 Unknown Channel (10003). Its messages stay readable here."""
        self.world.delete_channel(self._channel(channel))

    def delete_role(self, role: Role) -> None:
        """Delete a role (GUILD_ROLE_DELETE): members lose it, and mentions of it ping nobody."""
        self.world.delete_role(self._guild(role.guild_id), role)

    def edit_role(self, role: Role, *, permissions: int | None = None, mentionable: bool | None = None) -> Role:
        """Change a role's permissions or mentionability (GUILD_ROLE_UPDATE)."""
        if permissions is not None:
            role.permissions = int(permissions)
        if mentionable is not None:
            role.mentionable = mentionable
        self.world.update_role(self._guild(role.guild_id), role)
        return role

    def add_forum_tag(self, forum: ChannelRef, spec: TagSpec) -> ForumTag:
        ch = self._channel(forum)
        tag = self._forum_tag(spec)
        self.world.set_forum_tags(ch, [*ch.available_tags, tag])
        return tag

    def remove_forum_tag(self, forum: ChannelRef, tag: ForumTag | str) -> None:
        """Remove a tag from a forum (CHANNEL_UPDATE); posts carrying it lose it, as on Discord."""
        ch = self._channel(forum)
        gone = ch.tag(tag) if isinstance(tag, str) else tag
        self.world.set_forum_tags(ch, [t for t in ch.available_tags if t.id != gone.id])

    def set_overwrites(self, channel: ChannelRef, overwrites: Iterable[Overwrite]) -> None:
        """Replace a channel's permission overwrites (CHANNEL_UPDATE)."""
        self.world.set_overwrites(self._channel(channel), overwrites)

    def set_permissions(self, channel: ChannelRef, target: Role | UserRef, *, allow: int = 0, deny: int = 0) -> None:
        """Set one role's or member's overwrite in a channel (replacing theirs), like the channel settings do.
        ``set_permissions(news, emulator.bot_user, deny=Perm.SEND_MESSAGES)`` takes a permission from the bot."""
        ch = self._channel(channel)
        if isinstance(target, Role):
            key = (target.id, ROLE_OVERWRITE)
        else:
            key = (target if isinstance(target, int) else target.id, MEMBER_OVERWRITE)
        kept = [o for o in ch.overwrites if (o.id, o.type) != key]
        if allow or deny:
            kept.append(Overwrite(key[0], key[1], int(allow), int(deny)))
        self.world.set_overwrites(ch, kept)

    def advance_clock(self, seconds: float) -> None:
        """Move the emulator's clock forward, for limits counted over long windows (publishes per hour)."""
        self.world.clock_offset += seconds
        self._notifier.notify()

    # -- direct messages -----------------------------------------------------------------------------

    def close_dms(self, user: UserRef) -> None:
        """The user turns off DMs from this server's members (or blocks the bot): sends fail with 50007."""
        self.world.dms_closed.add(self._user_id(user))

    def open_dms(self, user: UserRef) -> None:
        self.world.dms_closed.discard(self._user_id(user))

    def dm_channel(self, user: UserRef) -> Channel | None:
        """The DM channel the bot opened with ``user`` (``POST /users/@me/channels``), if any."""
        return self.world.dm_channels.get(self._user_id(user))

    def dm_messages(self, user: UserRef) -> list[Message]:
        """Messages in the bot's DM with ``user``, oldest first (none if it never opened one)."""
        channel = self.dm_channel(user)
        return [] if channel is None else list(channel.messages)

    # -- reading state -------------------------------------------------------------------------------

    def channel_messages(self, channel: ChannelRef) -> list[Message]:
        """Visible (non-ephemeral, not deleted) messages of a channel, oldest first."""
        return list(self._channel(channel).messages)

    def message(self, message_id: int) -> Message:
        return self.world.messages[message_id]

    def crossposts(self, channel: ChannelRef | None = None) -> list[Message]:
        """Messages published (crossposted), in order; those of one announcement channel if given."""
        channel_id = None if channel is None else self._channel(channel).id
        return [m for m in self.world.crossposts if channel_id is None or m.channel_id == channel_id]

    def threads(self, channel: ChannelRef) -> list[Channel]:
        """The threads of a channel, or the posts of a forum (each a thread), oldest first."""
        ch = self._channel(channel)
        return [c for c in self.world.channels.values() if c.parent_id == ch.id]

    def thread(self, thread_id: int) -> Channel:
        """A thread or forum post by id (a forum post's id is also its first message's id)."""
        ch = self._channel(thread_id)
        if not ch.is_thread:
            raise KeyError(f"channel {thread_id} (#{ch.name}) is not a thread")
        return ch

    def registered_commands(self, guild_id: int | None = None) -> list[Command]:
        """Commands registered globally (``None``) or in one guild, as Discord returns them."""
        return self.world.commands.in_scope(guild_id)

    @property
    def bulk_overwrites(self) -> Counter[Scope]:
        """How many times each scope (guild id, or None for global) was bulk-overwritten (synced)."""
        return self.world.commands.bulk_overwrites

    @property
    def bulk_overwrite_count(self) -> int:
        return sum(self.world.commands.bulk_overwrites.values())

    async def wait_until(
        self,
        predicate: Callable[[], T | None],
        timeout: float = 3.0,  # noqa: ASYNC109
        what: str = "a condition",
    ) -> T:
        """Wait until ``predicate()`` is truthy (re-checked on every emulator state change)."""
        return await self._notifier.wait_until(predicate, timeout=timeout, what=what)

    async def wait_for_message(
        self,
        channel: ChannelRef,
        predicate: Callable[[Message], bool] | None = None,
        *,
        timeout: float = 3.0,  # noqa: ASYNC109
        after: Message | int | None = None,
    ) -> Message:
        """The oldest visible message in ``channel`` (newer than ``after``) matching ``predicate``."""
        ch = self._channel(channel)
        after_id = after.id if isinstance(after, Message) else (after or 0)

        def find() -> Message | None:
            for message in ch.messages:
                if message.id > after_id and (predicate is None or predicate(message)):
                    return message
            return None

        return await self._notifier.wait_until(find, timeout=timeout, what=f"a message in #{ch.name}")

    async def wait_for_messages(
        self,
        channel: ChannelRef,
        count: int,
        *,
        timeout: float = 3.0,  # noqa: ASYNC109
    ) -> list[Message]:
        ch = self._channel(channel)
        await self._notifier.wait_until(
            lambda: len(ch.messages) >= count, timeout=timeout, what=f"{count} message(s) in #{ch.name}"
        )
        return list(ch.messages)

    # -- failures on demand --------------------------------------------------------------------------

    def inject_429(
        self, method: str, path_prefix: str, retry_after: float = 0.2, count: int = 1, global_: bool = False
    ) -> None:
        """The next ``count`` requests whose path (after ``/api/v10``) starts with ``path_prefix`` get a 429."""
        self.limiter.inject(method, path_prefix, retry_after=retry_after, count=count, global_=global_)

    def stall(self, method: str, path_prefix: str, *, applied: bool) -> Stall:
        """Hold the next matching request unanswered (see ``Stall``) until ``stall.release()``."""
        stall = Stall(method, path_prefix, applied)
        self._stalls.append(stall)
        return stall

    async def drop_gateway(self, shard_id: int | None = None, *, code: int = 4000, abort: bool = False) -> int:
        """Close gateway sockets (all, or one shard's) so clients reconnect and RESUME. Returns how many."""
        return await self.gateway.drop(shard_id, code=code, abort=abort)

    async def invalidate_session(self, shard_id: int | None = None, *, resumable: bool = False) -> int:
        return await self.gateway.invalidate(shard_id, resumable=resumable)

    async def request_reconnect(self, shard_id: int | None = None) -> int:
        return await self.gateway.request_reconnect(shard_id)

    # -- interactions --------------------------------------------------------------------------------

    async def send_slash_command(
        self,
        guild: GuildRef,
        channel: ChannelRef,
        user: UserRef,
        name: str,
        options: Mapping[str, Any] | None = None,
        *,
        subcommand: str | Sequence[str] | None = None,
        locale: str = "en-US",
        ignore_default_permissions: bool = False,
    ) -> InteractionResult:
        """Invoke ``/name [subcommand ...] option:value`` as ``user`` in ``channel``.

        Like the Discord client, refuses (``PermissionError``) when the user lacks the command's
        ``default_member_permissions``; ``ignore_default_permissions=True`` plays a server admin having
        opened the command to everyone, which is when the bot's own runtime check matters.
        """
        g, ch, member = self._where(guild, channel, user)
        if g.id in self.world.foreign_guilds:
            raise PermissionError(f"the bot is not in {g.name!r}: use send_user_app_command (a user install)")
        command = self._command(g, name, 1)
        self._check_context(command, InteractionContext.GUILD, Installation.GUILD)
        self._check_can_use(g, ch, member, command, ignore_default_permissions)
        resolved: Payload = {}
        builder = OptionBuilder(
            g, ch, member, resolved, attach=lambda filename, data: self.world.option_attachment(ch, filename, data)
        )
        data: Payload = {
            "id": command["id"],
            "name": name,
            "type": 1,
            "options": builder.build(command, subcommand_path(subcommand), options or {}),
        }
        if resolved:
            data["resolved"] = resolved
        if command.get("guild_id"):
            data["guild_id"] = command["guild_id"]
        return self._interaction(InteractionType.APPLICATION_COMMAND, g, ch, member, data, locale=locale)

    async def send_autocomplete(
        self,
        guild: GuildRef,
        channel: ChannelRef,
        user: UserRef,
        name: str,
        options: Mapping[str, Any] | None = None,
        *,
        focused: str,
        subcommand: str | Sequence[str] | None = None,
        locale: str = "en-US",
    ) -> InteractionResult:
        """The user is typing into option ``focused`` (its text is ``options[focused]``, default "")."""
        g, ch, member = self._where(guild, channel, user)
        command = self._command(g, name, 1)
        builder = OptionBuilder(g, ch, member, {})
        data: Payload = {
            "id": command["id"],
            "name": name,
            "type": 1,
            "options": builder.build(command, subcommand_path(subcommand), options or {}, focused=focused),
        }
        if command.get("guild_id"):
            data["guild_id"] = command["guild_id"]
        return self._interaction(InteractionType.AUTOCOMPLETE, g, ch, member, data, locale=locale)

    async def click_button(
        self, message: Message, custom_id: str, user: UserRef, *, locale: str = "en-US"
    ) -> InteractionResult:
        """Click the button ``custom_id`` on ``message`` (which must show it, enabled)."""
        component = self._component(message, custom_id, user, kind=2)
        data: Payload = {"custom_id": custom_id, "component_type": component["type"]}
        return await self._component_interaction(message, user, data, locale)

    async def select_menu(
        self, message: Message, custom_id: str, values: Sequence[str], user: UserRef, *, locale: str = "en-US"
    ) -> InteractionResult:
        """Pick ``values`` in the select menu ``custom_id`` on ``message``."""
        component = self._component(message, custom_id, user, kind=3)
        data: Payload = {"custom_id": custom_id, "component_type": component["type"], "values": list(values)}
        return await self._component_interaction(message, user, data, locale)

    async def send_message_context_command(
        self,
        guild: GuildRef,
        channel: ChannelRef,
        user: UserRef,
        name: str,
        target: Message,
        *,
        locale: str = "en-US",
        ignore_default_permissions: bool = False,
    ) -> InteractionResult:
        """Run the message command ``name`` (Apps menu) on ``target``; its content is resolved in full."""
        g, ch, member = self._where(guild, channel, user)
        command = self._command(g, name, 3)
        self._check_can_use(g, ch, member, command, ignore_default_permissions)
        data: Payload = {
            "id": command["id"],
            "name": name,
            "type": 3,
            "target_id": str(target.id),
            "resolved": {"messages": {str(target.id): target.payload()}},
        }
        if command.get("guild_id"):
            data["guild_id"] = command["guild_id"]
        return self._interaction(InteractionType.APPLICATION_COMMAND, g, ch, member, data, locale=locale)

    async def send_dm_command(
        self,
        user: UserRef,
        name: str,
        options: Mapping[str, Any] | None = None,
        *,
        subcommand: str | Sequence[str] | None = None,
        focused: str | None = None,
        locale: str = "en-US",
    ) -> InteractionResult:
        """``/name`` typed in the user's DM with the bot (``context`` 1). Only global commands whose
        ``contexts`` include bot DMs are offered there, as in the Discord client. With ``focused``, an
        autocomplete request instead. The app is authorised by the user's install if they have one,
        else by its guild install (owner ``"0"``, as Discord sends it outside a guild)."""
        u = self.world.users[self._user_id(user)]
        command = self.world.commands.find(None, name, 1)
        if command is None:
            raise LookupError(f"no global command {name!r}: DMs only offer global commands")
        installed = u.id in self.world.user_installs
        self._check_context(command, InteractionContext.BOT_DM, Installation.USER if installed else Installation.GUILD)
        channel = self.world.open_dm(u)
        data = self._command_data(command, name, subcommand, options, focused, channel=channel, user=u)
        owners = {"1": str(u.id)} if installed else {"0": "0"}
        kind = InteractionType.AUTOCOMPLETE if focused is not None else InteractionType.APPLICATION_COMMAND
        return self._dispatch_interaction(
            kind,
            None,
            channel,
            u,
            None,
            data,
            locale=locale,
            context=InteractionContext.BOT_DM,
            owners=owners,
            app_permissions=self.world.bot_permissions(channel),
        )

    async def send_user_app_command(
        self,
        guild: GuildRef,
        channel: ChannelRef,
        user: UserRef,
        name: str,
        options: Mapping[str, Any] | None = None,
        *,
        subcommand: str | Sequence[str] | None = None,
        focused: str | None = None,
        locale: str = "en-US",
    ) -> InteractionResult:
        """``/name`` run in a guild through the user's own install of the app (the bot may or may not be
        in that guild): ``authorizing_integration_owners`` holds only the user install. Needs
        ``install_for_user`` first and a global command whose ``integration_types`` include user
        installs and whose ``contexts`` include guilds. The interaction goes to the shard the guild
        belongs to by Discord's formula, whether or not the bot is there."""
        g, ch, member = self._where(guild, channel, user)
        if member.id not in self.world.user_installs:
            raise PermissionError(f"{member.user.username} has not installed the app on their account")
        command = self.world.commands.find(None, name, 1)
        if command is None:
            raise LookupError(f"no global command {name!r}: user installs only offer global commands")
        self._check_context(command, InteractionContext.GUILD, Installation.USER)
        data = self._command_data(command, name, subcommand, options, focused, channel=ch, user=member.user, guild=g)
        kind = InteractionType.AUTOCOMPLETE if focused is not None else InteractionType.APPLICATION_COMMAND
        in_guild = g.id in self.world.guilds
        # Outside the bot's guilds Discord grants a user-installed app only what a webhook could do.
        app_permissions = self.world.bot_permissions(ch) if in_guild else USER_APP_PERMISSIONS
        return self._dispatch_interaction(
            kind,
            g,
            ch,
            member.user,
            member,
            data,
            locale=locale,
            context=InteractionContext.GUILD,
            owners={"1": str(member.id)},
            app_permissions=app_permissions,
        )

    def _command_data(
        self,
        command: Command,
        name: str,
        subcommand: str | Sequence[str] | None,
        options: Mapping[str, Any] | None,
        focused: str | None,
        *,
        channel: Channel,
        user: User,
        guild: Guild | None = None,
    ) -> Payload:
        resolved: Payload = {}
        member = guild.members.get(user.id) if guild is not None else None
        where = guild or Guild(0, "DM", user.id)
        builder = OptionBuilder(where, channel, member or Member(user, where.id), resolved)
        data: Payload = {
            "id": command["id"],
            "name": name,
            "type": 1,
            "options": builder.build(command, subcommand_path(subcommand), options or {}, focused=focused),
        }
        if resolved:
            data["resolved"] = resolved
        return data

    def _check_context(self, command: Command, context: int, installation: int) -> None:
        """Like the Discord client: a command is offered only where its ``contexts`` and
        ``integration_types`` allow (a command without ``contexts`` is offered everywhere)."""
        contexts = command.get("contexts")
        if contexts is not None and int(context) not in contexts:
            raise PermissionError(
                f"/{command['name']} is not offered in context {int(context)} (its contexts are {contexts})"
            )
        if context == InteractionContext.BOT_DM and contexts is None and command.get("dm_permission") is False:
            raise PermissionError(f"/{command['name']} is not offered in DMs (dm_permission false)")
        installs = command.get("integration_types") or [0]
        if int(installation) not in installs:
            raise PermissionError(
                f"/{command['name']} is not offered through installation type {int(installation)} "
                f"(its integration_types are {installs})"
            )

    # -- helpers -------------------------------------------------------------------------------------

    def _guild(self, guild: GuildRef) -> Guild:
        guild_id = guild.id if isinstance(guild, Guild) else guild
        found = self.world.guilds.get(guild_id) or self.world.foreign_guilds.get(guild_id)
        if found is None:
            raise KeyError(f"no guild {guild_id} in the emulator")
        return found

    def _channel(self, channel: ChannelRef) -> Channel:
        """A channel by object or id; deleted ones too, so tests can read what was posted there."""
        channel_id = channel.id if isinstance(channel, Channel) else channel
        found = self.world.channels.get(channel_id) or self.world.deleted_channels.get(channel_id)
        if found is None:
            raise KeyError(f"no channel {channel_id} in the emulator")
        return found

    @staticmethod
    def _guild_id(channel: Channel) -> int:
        if channel.guild_id is None:
            raise ValueError(f"channel {channel.id} is a DM, in no guild")
        return channel.guild_id

    @staticmethod
    def _user_id(user: UserRef) -> int:
        return user if isinstance(user, int) else user.id

    def _member(self, guild: Guild, user: UserRef) -> Member:
        user_id = user if isinstance(user, int) else user.id
        member = guild.members.get(user_id)
        if member is None:
            raise KeyError(f"user {user_id} is not a member of guild {guild.name!r}; use add_member() first")
        return member

    def _where(self, guild: GuildRef, channel: ChannelRef, user: UserRef) -> tuple[Guild, Channel, Member]:
        g = self._guild(guild)
        ch = self._channel(channel)
        if ch.guild_id != g.id:
            raise ValueError(f"channel #{ch.name} is not in guild {g.name!r}")
        return g, ch, self._member(g, user)

    def _command(self, guild: Guild, name: str, kind: int) -> Command:
        command = self.world.commands.find(guild.id, name, kind)
        if command is None:
            known = [c["name"] for c in self.world.commands.in_scope(guild.id) + self.world.commands.in_scope(None)]
            raise LookupError(f"no command {name!r} (type {kind}) is registered for guild {guild.name!r}: {known}")
        return command

    def _check_can_use(
        self, guild: Guild, channel: Channel, member: Member, command: Command, ignore_defaults: bool
    ) -> None:
        in_channel = guild.permissions_in(channel, member)
        if not in_channel & Perm.VIEW_CHANNEL or not in_channel & Perm.USE_APPLICATION_COMMANDS:
            raise PermissionError(f"{member.user.username} cannot use application commands in #{channel.name}")
        required = command.get("default_member_permissions")
        if required is None or ignore_defaults:
            return
        permissions = guild.permissions(member)
        needed = int(required)
        if permissions != ALL_PERMISSIONS and (needed == 0 or permissions & needed != needed):
            raise PermissionError(
                f"Discord hides /{command['name']} from {member.user.username} (default_member_permissions={needed}); "
                "pass ignore_default_permissions=True to simulate a server that opened it to them"
            )

    def _component(self, message: Message, custom_id: str, user: UserRef, *, kind: int) -> Payload:
        if message.deleted:
            raise ValueError("that message was deleted")
        current = self.world.messages.get(message.id, message)
        component = current.component(custom_id)
        if component is None or component.get("type") != kind:
            raise ValueError(f"message {message.id} shows no such component {custom_id!r}: {current.custom_ids()}")
        if component.get("disabled"):
            raise ValueError(f"component {custom_id!r} is disabled")
        if current.ephemeral and current.interaction_metadata is not None:
            owner = int(current.interaction_metadata["user"]["id"])
            user_id = user if isinstance(user, int) else user.id
            if owner != user_id:
                raise PermissionError("only the user who received an ephemeral message can see its components")
        return component

    async def _component_interaction(
        self, message: Message, user: UserRef, data: Payload, locale: str
    ) -> InteractionResult:
        if message.guild_id is None:
            # A message in the user's DM with the bot (or an answer to a DM command there).
            u = self.world.users[self._user_id(user)]
            installed = u.id in self.world.user_installs
            dm = self._channel(message.channel_id)
            return self._dispatch_interaction(
                InteractionType.MESSAGE_COMPONENT,
                None,
                dm,
                u,
                None,
                data,
                locale=locale,
                message=message,
                context=InteractionContext.BOT_DM,
                owners={"1": str(u.id)} if installed else {"0": "0"},
                app_permissions=self.world.bot_permissions(dm),
            )
        g = self._guild(message.guild_id)
        ch = self._channel(message.channel_id)
        member = self._member(g, user)
        if not g.permissions_in(ch, member) & Perm.VIEW_CHANNEL:
            raise PermissionError(f"{member.user.username} cannot see #{ch.name}")
        return self._interaction(InteractionType.MESSAGE_COMPONENT, g, ch, member, data, locale=locale, message=message)

    def _interaction(
        self,
        kind: InteractionType,
        guild: Guild,
        channel: Channel,
        member: Member,
        data: Payload,
        *,
        locale: str,
        message: Message | None = None,
    ) -> InteractionResult:
        """An interaction in one of the bot's guilds, authorised by its guild install."""
        return self._dispatch_interaction(
            kind,
            guild,
            channel,
            member.user,
            member,
            data,
            locale=locale,
            message=message,
            context=InteractionContext.GUILD,
            owners={"0": str(guild.id)},
            app_permissions=self.world.bot_permissions(channel),
        )

    def _dispatch_interaction(
        self,
        kind: InteractionType,
        guild: Guild | None,
        channel: Channel,
        user: User,
        member: Member | None,
        data: Payload,
        *,
        locale: str,
        context: int,
        owners: Payload,
        app_permissions: int,
        message: Message | None = None,
    ) -> InteractionResult:
        interaction_id = self._ids.next()
        token = "aW50ZXJhY3Rpb24" + secrets.token_urlsafe(48)
        payload: Payload = {
            "id": str(interaction_id),
            "application_id": str(self.application_id),
            "type": int(kind),
            "data": data,
            "token": token,
            "version": 1,
            "app_permissions": str(int(app_permissions)),
            "locale": locale,
            "entitlements": [],
            "entitlement_sku_ids": [],
            "authorizing_integration_owners": owners,
            "context": int(context),
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
        }
        if guild is not None and member is not None:
            member_permissions = guild.permissions_in(channel, member)
            payload.update(
                {
                    "guild_id": str(guild.id),
                    "guild": {"id": str(guild.id), "locale": guild.locale, "features": []},
                    "channel_id": str(channel.id),
                    "channel": channel_partial(channel, member_permissions),
                    "member": member.payload(permissions=member_permissions),
                    "guild_locale": guild.locale,
                }
            )
        else:
            payload.update(
                {
                    "channel_id": str(channel.id),
                    "channel": channel_partial(channel, app_permissions),
                    "user": user.payload(),
                }
            )
        if message is not None:
            payload["message"] = self.world.messages.get(message.id, message).payload()
        result = InteractionResult(
            id=interaction_id,
            token=token,
            type=kind,
            application_id=self.application_id,
            guild_id=guild.id if guild is not None else None,
            channel_id=channel.id,
            user=user,
            payload=payload,
            notifier=self._notifier,
            source_message=message,
        )
        self.world.interactions[interaction_id] = result
        if guild is not None:
            # By Discord's shard formula, whether or not the bot is in the guild.
            sent = self.gateway.dispatch_guild(guild.id, "INTERACTION_CREATE", lambda _s: payload, intent=None)
        else:
            sent = self.gateway.dispatch_direct("INTERACTION_CREATE", lambda _s: payload, intent=None)
        if not sent:
            where = f"guild {guild.name!r}" if guild is not None else "DMs"
            raise RuntimeError(f"no gateway session handles {where}: is the bot connected?")
        return result
