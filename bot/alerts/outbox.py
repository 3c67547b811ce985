"""``AlertOutbox`` over a connected discord.py client: cards, lines, threads, forum posts, publishing.

Every request goes through the process's ``PostQueue``. A message's ``allowed_mentions`` allows
exactly the alert's role (when it pings) and nothing else. Deleted channels and refused
permissions become ``ChannelUnavailable`` with a reason naming what is missing (the alert pauses);
Discord's 5xx and timeouts become ``TryLater`` (the post stays pending and is retried).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, Final

import discord

from bot.alerts.queue import PostQueue
from bot.db.alert_types import Alert
from bot.delivery import ChannelUnavailable, TryLater, carries, find_own_message
from bot.render.alert import Message
from bot.render.limits import POST_PERMISSIONS, permission_name

log = logging.getLogger(__name__)

#: Discord's limit on a component's custom id.
MAX_CUSTOM_ID: Final = 100
RELATED_PREFIX: Final = "alert-related:"
THREAD_ARCHIVE_MINUTES: Final = 1440
ALREADY_CROSSPOSTED: Final = 40033

#: A permission as discord.py names its flag (shown by ``bot.render.limits.permission_name``).
Permission = str
VIEW, SEND, EMBED = POST_PERMISSIONS
CREATE_THREADS = "create_public_threads"
SEND_IN_THREADS = "send_messages_in_threads"


def needed_permissions(channel_kind: str, style: str) -> list[Permission]:
    """What an alert needs in its channel, by Discord's names. Publishing our own messages in an
    announcement channel needs only Send Messages (Manage Messages is for others' messages); a forum
    post needs Send Messages in the forum (and Send Messages in Threads is not needed to start one)."""
    if channel_kind == "forum":
        return [VIEW, SEND, EMBED]
    needed = [VIEW, SEND]
    if style != "compact":
        needed.append(EMBED)
    if style == "thread":
        needed += [CREATE_THREADS, SEND_IN_THREADS]
    return needed


def channel_kind(channel: object) -> str | None:
    if isinstance(channel, discord.ForumChannel):
        return "forum"
    if isinstance(channel, discord.TextChannel):
        return "announcement" if channel.is_news() else "text"
    return None


def channel_problem(channel: object, channel_kind_: str, style: str, *, name: str | None = None) -> str | None:
    """Why an alert of this kind and style cannot post in ``channel`` (from the client's cache)."""
    if channel is None:
        where = f"#{name}" if name else "the channel"
        return f"{where} was deleted (or I can no longer see it)"
    if not isinstance(channel, discord.TextChannel | discord.ForumChannel):
        return f"#{getattr(channel, 'name', '?')} is not a text, announcement or forum channel"
    permissions = channel.permissions_for(channel.guild.me)
    missing = [
        permission_name(flag) for flag in needed_permissions(channel_kind_, style) if not getattr(permissions, flag)
    ]
    if missing:
        names = ", ".join(f"**{m}**" for m in missing)
        return f"I lack the {names} permission{'s' if len(missing) > 1 else ''} in #{channel.name}"
    return None


class RelatedButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"alert-related:(?P<article>.+)"):
    """The Related button under an alert's card: anyone may press it, and it answers privately.
    Persistent (its state is in its custom id), so it keeps working after a restart."""

    def __init__(self, article_id: str) -> None:
        super().__init__(
            discord.ui.Button(
                label="Related",
                emoji="🧭",
                style=discord.ButtonStyle.secondary,
                custom_id=f"{RELATED_PREFIX}{article_id}",
            )
        )
        self.article_id = article_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> RelatedButton:
        return cls(match["article"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        from bot.render.embeds import related_embed

        bot = interaction.client
        vis = await bot.visibility_for(interaction.guild_id)
        article = await bot.db.articles.get(self.article_id, vis)
        if article is None:
            embed = discord.Embed(description="That article is no longer available.")
        else:
            embed = related_embed(article, await bot.db.articles.related(article.id, vis, 10))
        await interaction.response.send_message(embed=embed, ephemeral=True)


def message_view(message: Message) -> discord.ui.View | None:
    """Read (a link) and Related under a card; nothing under a line."""
    url = message.get("url")
    article = message.get("article")
    if not url and not article:
        return None
    view = discord.ui.View(timeout=None)
    if isinstance(url, str) and url.startswith(("https://", "http://")) and len(url) <= 512:
        view.add_item(discord.ui.Button(style=discord.ButtonStyle.link, url=url, label="Read", emoji="🔗"))
    if isinstance(article, str) and len(RELATED_PREFIX) + len(article) <= MAX_CUSTOM_ID:
        view.add_item(RelatedButton(article))
    return view if view.children else None


def allowed_for(message: Message) -> discord.AllowedMentions:
    role = message.get("role")
    if role:
        return discord.AllowedMentions(everyone=False, users=False, roles=[discord.Object(int(role))])
    return discord.AllowedMentions.none()


def _starter(thread: discord.Thread) -> Callable[[], Awaitable[discord.Message]]:
    async def fetch() -> discord.Message:
        return await thread.fetch_message(thread.id)  # a forum post's first message has the thread's id

    return fetch


class DiscordAlertOutbox:
    def __init__(self, client: discord.Client, queue: PostQueue) -> None:
        self.client = client
        self.queue = queue

    def _guild_channel(self, channel_id: int) -> Any:
        return self.client.get_channel(channel_id)

    def problem(self, alert: Alert) -> str | None:
        channel = self._guild_channel(alert.channel_id)
        problem = channel_problem(channel, alert.channel_kind, alert.style)
        if problem is not None:
            return problem
        guild = channel.guild
        if alert.role_id is not None and guild.get_role(alert.role_id) is None:
            return "the role to mention was deleted"
        if isinstance(channel, discord.ForumChannel) and alert.forum_tags:
            present = {tag.id for tag in channel.available_tags}
            for tag_id, name in alert.forum_tags:
                if tag_id not in present:
                    return f"the forum tag “{name}” of #{channel.name} was deleted"
        return None

    def forum_tags(self, channel_id: int) -> list[tuple[int, str]]:
        channel = self._guild_channel(channel_id)
        if not isinstance(channel, discord.ForumChannel):
            return []
        return [(tag.id, tag.name) for tag in channel.available_tags]

    def _failed(self, exc: discord.HTTPException, channel: Any, what: str) -> Exception:
        name = f"#{getattr(channel, 'name', channel)}"
        if isinstance(exc, discord.NotFound):
            return ChannelUnavailable(f"{name} was deleted (or I can no longer see it)")
        if isinstance(exc, discord.Forbidden):
            kind = channel_kind(channel) or "text"
            found = None
            if channel is not None and hasattr(channel, "permissions_for"):
                style = "thread" if what == "thread" else "embed"
                found = channel_problem(channel, kind, style)
            return ChannelUnavailable(found or f"Discord refused to let me {what} in {name} (missing access)")
        if isinstance(exc, discord.DiscordServerError):
            return TryLater(f"Discord answered {exc.status}")
        return exc

    async def send(self, channel_id: int, message: Message, nonce: str) -> int:
        channel = self._guild_channel(channel_id)
        if channel is None or not isinstance(channel, discord.abc.Messageable):
            raise ChannelUnavailable("the channel was deleted (or I can no longer see it)")
        embeds = [discord.Embed.from_dict(e) for e in message.get("embeds", [])]
        view = message_view(message)

        async def request() -> int:
            kwargs: dict[str, Any] = {"view": view} if view is not None else {}
            sent = await channel.send(
                content=message.get("content"),
                embeds=embeds,
                nonce=nonce,
                allowed_mentions=allowed_for(message),
                **kwargs,
            )
            return sent.id

        try:
            return await self.queue.call(request)
        except discord.HTTPException as exc:
            raise self._failed(exc, channel, "post") from exc

    async def find(self, channel_id: int, nonce: str, *, after: datetime) -> int | None:
        channel = self._guild_channel(channel_id)
        if channel is None or not hasattr(channel, "history"):
            return None
        me = getattr(channel, "guild", None) and channel.guild.me
        if me is not None and not channel.permissions_for(me).read_message_history:
            log.warning("cannot read #%s's history to look for alert post %s", channel.name, nonce)
            return None
        return await self.queue.call(lambda: find_own_message(channel, self.client.user, nonce, after=after))

    async def start_thread(self, channel_id: int, message_id: int, name: str) -> int:
        channel = self._guild_channel(channel_id)
        if not isinstance(channel, discord.TextChannel):
            raise ChannelUnavailable("the channel was deleted (or I can no longer see it)")

        async def request() -> int:
            thread = await channel.get_partial_message(message_id).create_thread(
                name=name, auto_archive_duration=THREAD_ARCHIVE_MINUTES
            )
            return thread.id

        try:
            return await self.queue.call(request)
        except discord.HTTPException as exc:
            raise self._failed(exc, channel, "thread") from exc

    async def thread_exists(self, thread_id: int) -> bool:
        if self.client.get_channel(thread_id) is not None:
            return True
        try:
            await self.queue.call(lambda: self.client.fetch_channel(thread_id))
        except discord.NotFound:
            return False
        return True

    async def forum_post(self, forum_id: int, name: str, tags: Sequence[int], message: Message, nonce: str) -> int:
        forum = self._guild_channel(forum_id)
        if not isinstance(forum, discord.ForumChannel):
            raise ChannelUnavailable("the forum was deleted (or I can no longer see it)")
        applied = [tag for tag in forum.available_tags if tag.id in set(tags)]
        embeds = [discord.Embed.from_dict(e) for e in message.get("embeds", [])]
        view = message_view(message)

        async def request() -> int:
            kwargs: dict[str, Any] = {"view": view} if view is not None else {}
            created = await forum.create_thread(
                name=name,
                content=message.get("content"),
                embeds=embeds,
                applied_tags=applied,
                allowed_mentions=allowed_for(message),
                **kwargs,
            )
            return created.thread.id

        try:
            return await self.queue.call(request)
        except discord.HTTPException as exc:
            raise self._failed(exc, forum, "post") from exc

    async def find_forum_post(self, forum_id: int, nonce: str, *, after: datetime) -> int | None:
        forum = self._guild_channel(forum_id)
        me = self.client.user
        if not isinstance(forum, discord.ForumChannel) or me is None:
            return None
        for thread in forum.threads:
            if thread.owner_id != me.id or thread.created_at is None or thread.created_at < after:
                continue
            try:
                starter = await self.queue.call(_starter(thread))
            except discord.NotFound:
                continue
            if carries(starter, nonce):
                return thread.id
        return None

    async def publish(self, channel_id: int, message_id: int) -> None:
        channel = self._guild_channel(channel_id)
        if not isinstance(channel, discord.TextChannel):
            raise ChannelUnavailable("the channel was deleted (or I can no longer see it)")
        try:
            await self.queue.call(lambda: channel.get_partial_message(message_id).publish())
        except discord.HTTPException as exc:
            if exc.code == ALREADY_CROSSPOSTED:
                return
            raise self._failed(exc, channel, "publish") from exc
