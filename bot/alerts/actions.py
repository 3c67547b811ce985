"""What a moderator can do to a server's alerts, once for ``/alert`` and the web panel.

Each action validates with the rules of ``bot.alerts.rules`` (the same the backup validator and the
database use), changes the repository, wakes the alert loop and writes the audit entry (marked
``via`` where it was made). Wrong input raises ``InvalidInput`` naming the option. Discord is read
only through the ``discord.Guild`` from the bot's cache that both callers have.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Final

import discord

from bot.actors import Actor
from bot.alerts import rules
from bot.alerts.keywords import KeywordError, parse
from bot.alerts.match import topic_key
from bot.alerts.outbox import channel_kind, channel_problem
from bot.alerts.service import AlertService, Outcome, WhyAnswer
from bot.db.alert_types import Alert, AlertRepository, NewAlert
from bot.db.repository import ArticleRepository
from bot.db.types import Visibility
from bot.delivery import ChannelUnavailable
from bot.errors import InvalidInput, UserFacingError
from bot.render.text import escape_markdown, single_line, truncate
from bot.store.keys import domain_key, split_list
from bot.store.limits import QUALITY
from bot.store.models import Article

log = logging.getLogger(__name__)

_ID_RE: Final = re.compile(r"#?\s*(\d{1,18})")
#: What moderators can see of every article (``why`` must find hidden ones too).
ALL: Final = Visibility(include_unpublished=True)
#: Words that clear an optional text option in ``/alert edit``.
CLEAR_WORDS: Final = ("none", "-", "clear")
MAX_PROVIDERS_CHARS: Final = 1000
TopicResolver = Callable[[str, Visibility], Awaitable[str]]
Audit = Callable[[int, int, str, dict[str, object]], Awaitable[None]]


def _quote(text: str, limit: int) -> str:
    return escape_markdown(truncate(single_line(text), limit))


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe_filters(alert: Alert | NewAlert) -> str:
    parts = []
    if alert.topic:
        parts.append(f"topic **{escape_markdown(alert.topic)}**")
    if alert.keywords:
        parts.append(f"keywords `{_cut(alert.keywords, 80).replace('`', 'ˋ')}`")
    if alert.providers:
        parts.append("from " + ", ".join(alert.providers[:5]) + ("…" if len(alert.providers) > 5 else ""))
    if alert.min_quality:
        parts.append(f"quality {alert.min_quality}+")
    return ", ".join(parts)


def parse_providers(raw: str | None) -> tuple[str, ...]:
    """Comma-separated provider domains; ``InvalidInput`` (field ``providers``) when one is not a domain."""
    if not raw:
        return ()
    if len(raw) > MAX_PROVIDERS_CHARS:
        raise InvalidInput(f"At most {MAX_PROVIDERS_CHARS:,} characters of providers.", field="providers")
    entries = split_list(raw)
    if len(entries) > rules.MAX_PROVIDERS:
        raise InvalidInput(f"At most {rules.MAX_PROVIDERS} providers per alert.", field="providers")
    try:
        return tuple(dict.fromkeys(domain_key(e) for e in entries))
    except ValueError as exc:
        raise InvalidInput(str(exc), field="providers") from None


def is_clear(value: str) -> bool:
    return value.strip().casefold() in CLEAR_WORDS


@dataclass(frozen=True, slots=True)
class AlertForm:
    """The options of ``/alert add`` as typed (``providers`` still the raw comma-separated text)."""

    channel_id: int | None
    topic: str | None = None
    keywords: str | None = None
    providers: str | None = None
    min_quality: int = QUALITY.low
    role_id: int | None = None
    style: str = rules.DEFAULT_STYLE
    publish: bool = False
    template: str | None = None
    posts_per_window: int = rules.DEFAULT_POSTS_PER_WINDOW


@dataclass(frozen=True, slots=True)
class AlertChanges:
    """The options of ``/alert edit``: ``None`` keeps a value; a text option set to ``none`` (or
    ``-``, ``clear``) removes it."""

    channel_id: int | None = None
    topic: str | None = None
    keywords: str | None = None
    providers: str | None = None
    min_quality: int | None = None
    role_id: int | None = None
    no_mention: bool = False
    style: str | None = None
    publish: bool | None = None
    template: str | None = None
    posts_per_window: int | None = None


@dataclass(frozen=True, slots=True)
class Saved:
    alert: Alert
    notes: list[str]
    changed: list[str]


EDITABLE: Final = (
    "channel_id",
    "channel_kind",
    "topic",
    "keywords",
    "providers",
    "min_quality",
    "role_id",
    "style",
    "publish",
    "template",
    "posts_per_window",
    "forum_tags",
)


class AlertActions:
    def __init__(
        self,
        repo: AlertRepository,
        articles: ArticleRepository,
        service: AlertService,
        *,
        wake: Callable[[], None],
        reset: Callable[[int], None],
        audit: Audit,
        topics: TopicResolver,
        visibility_for: Callable[[int], Awaitable[Visibility]],
    ) -> None:
        self.repo = repo
        self.articles = articles
        self.service = service
        self.wake = wake
        self.reset = reset
        self._audit_fn = audit
        self.topics = topics
        self.visibility_for = visibility_for

    # --- reading ----------------------------------------------------------------------------------

    async def find(self, guild_id: int, raw: str) -> Alert:
        match = _ID_RE.fullmatch(raw.strip())
        if match:
            alert = await self.repo.get(int(match[1]))
            if alert is not None and alert.guild_id == guild_id:
                return alert
        raise InvalidInput(
            f"This server has no alert “{_quote(raw, 20)}”. `/alert list` shows the alerts and their ids.",
            field="alert",
        )

    @staticmethod
    def describe(guild: discord.Guild, alert: Alert) -> str:
        where = f"<#{alert.channel_id}>" if guild.get_channel(alert.channel_id) is not None else "a deleted channel"
        return f"**#{alert.id}** ({describe_filters(alert)}) in {where}"

    async def _audit(self, actor: Actor, action: str, alert: Alert, **extra: object) -> None:
        details: dict[str, object] = {
            "alert": alert.id,
            "channel": alert.channel_id,
            "topic": alert.topic,
            "keywords": alert.keywords,
            "style": alert.style,
            **extra,
        }
        try:
            await self._audit_fn(alert.guild_id, actor.user_id, action, actor.audit_details(details))
        except Exception:
            log.exception("auditing %s of alert %d failed", action, alert.id)

    # --- validation (add and edit share it) -------------------------------------------------------

    async def validate(self, guild: discord.Guild, draft: NewAlert) -> tuple[NewAlert, list[str]]:
        """The alert as it will be stored, and notes for the answer; ``InvalidInput`` otherwise."""
        notes: list[str] = []
        if not draft.topic and not draft.keywords:
            raise InvalidInput(
                "Give a `topic`, `keywords`, or both: an alert needs something to look for.", field="topic"
            )
        if draft.topic is not None and len(draft.topic) > rules.MAX_TOPIC_CHARS:
            raise InvalidInput(f"A topic is at most {rules.MAX_TOPIC_CHARS} characters.", field="topic")
        if draft.keywords is not None and len(draft.keywords) > rules.MAX_KEYWORDS_CHARS:
            raise InvalidInput(f"Keywords are at most {rules.MAX_KEYWORDS_CHARS} characters.", field="keywords")
        if not rules.MIN_QUALITY <= draft.min_quality <= rules.MAX_QUALITY:
            raise InvalidInput(f"The minimum quality goes from {QUALITY}.", field="min_quality")
        if draft.style not in rules.STYLES:
            raise InvalidInput(f"The style is one of {', '.join(rules.STYLES)}.", field="style")
        try:
            rules.check_posts_per_window(draft.posts_per_window)
        except ValueError as exc:
            raise InvalidInput(str(exc)[:1].upper() + str(exc)[1:] + ".", field="posts_per_window") from None
        topic = draft.topic
        if topic:
            topic = await self.topics(topic, await self.visibility_for(guild.id))
        if draft.keywords:
            try:
                parse(draft.keywords)
            except KeywordError as exc:
                raise InvalidInput(f"The keywords can't be used: {exc}", field="keywords") from None
        if draft.template is not None:
            try:
                rules.check_template(draft.template)
            except rules.TemplateError as exc:
                raise InvalidInput(str(exc), field="template") from None
        channel = guild.get_channel(draft.channel_id)
        kind = channel_kind(channel)
        if channel is None or kind is None:
            raise InvalidInput("Alerts post in a text, announcement or forum channel.", field="channel")
        if draft.publish and kind != "announcement":
            raise InvalidInput(
                f"`publish` works only in an announcement channel; {channel.mention} is a {kind} channel.",
                field="publish",
            )
        problem = channel_problem(channel, kind, draft.style)
        if problem is not None:
            raise InvalidInput(
                f"I can't post alerts there: {problem}. Give me what is missing, or pick another channel.",
                field="channel",
            )
        if draft.role_id is not None:
            role = guild.get_role(draft.role_id)
            if role is None or role.is_default():
                raise InvalidInput("Alerts never ping @everyone: pick a role to mention instead.", field="mention")
            if not role.mentionable and not channel.permissions_for(guild.me).mention_everyone:
                raise InvalidInput(
                    f"I can't ping {role.mention}: it is not mentionable. Make it mentionable in the server's "
                    "role settings (or give me **Mention @everyone, @here and All Roles**).",
                    field="mention",
                )
        forum_tags: tuple[tuple[int, str], ...] = ()
        if isinstance(channel, discord.ForumChannel):
            forum_tags = await self._forum_tags(channel, topic, notes)
        return (
            replace(
                draft,
                channel_id=channel.id,
                channel_kind=kind,
                topic=topic,
                keywords=" ".join(draft.keywords.split()) if draft.keywords else None,
                forum_tags=forum_tags,
            ),
            notes,
        )

    async def _forum_tags(
        self, channel: discord.ForumChannel, topic: str | None, notes: list[str]
    ) -> tuple[tuple[int, str], ...]:
        tags = [(t.id, t.name) for t in channel.available_tags]
        forum_tags: tuple[tuple[int, str], ...] = ()
        if topic:
            mapped = [(i, n) for i, n in tags if topic_key(n) == topic_key(topic)]
            if mapped:
                forum_tags = tuple(mapped[:1])
                notes.append(f"Topic **{escape_markdown(topic)}** → tag **{escape_markdown(mapped[0][1])}**.")
            elif channel.flags.require_tag:
                raise InvalidInput(
                    f"{channel.mention} requires a tag on every post, and none of its tags "
                    f"({', '.join(escape_markdown(n) for _, n in tags) or 'none'}) matches the topic "
                    f"**{escape_markdown(topic)}**. Add a tag named after the topic, or pick another channel.",
                    field="channel",
                )
            else:
                notes.append(
                    f"Topic **{escape_markdown(topic)}** has no matching tag in {channel.mention}: its posts get "
                    "a tag only for other topics that match one."
                )
        if tags:
            known: list[str] = []
            unknown: list[str] = []
            for _, name in tags:
                (known if await self.articles.resolve_topic(name) else unknown).append(escape_markdown(name))
            notes.append(
                "Each post gets the forum's tags named like its topics (at most 5). "
                + (f"Tags that match a topic: {', '.join(known[:20])}. " if known else "No tag matches a topic. ")
                + (f"Tags no topic matches: {', '.join(unknown[:20])}." if unknown else "")
            )
        else:
            notes.append(f"{channel.mention} has no tags, so posts carry none.")
        return forum_tags

    @staticmethod
    def _no_everyone(guild: discord.Guild, role_id: int | None) -> None:
        if role_id is not None and role_id == guild.id:  # the @everyone role has the server's id
            raise InvalidInput("Alerts never ping @everyone: pick a role to mention instead.", field="mention")

    # --- changes ----------------------------------------------------------------------------------

    async def add(self, guild: discord.Guild, actor: Actor, form: AlertForm) -> Saved:
        self._no_everyone(guild, form.role_id)
        if await self.repo.count_for_guild(guild.id) >= rules.MAX_PER_SERVER:
            raise UserFacingError(
                f"This server already has {rules.MAX_PER_SERVER} alerts, the most it can have. "
                "`/alert remove` one first."
            )
        if form.channel_id is None:
            raise InvalidInput("Pick the channel to post in.", field="channel")
        draft = NewAlert(
            guild_id=guild.id,
            channel_id=form.channel_id,
            channel_kind="text",
            topic=form.topic,
            keywords=form.keywords,
            providers=parse_providers(form.providers),
            min_quality=form.min_quality,
            role_id=form.role_id,
            style=form.style,
            publish=form.publish,
            template=form.template,
            posts_per_window=form.posts_per_window,
            created_at=self.service.clock(),
            created_by=actor.user_id,
        )
        new, notes = await self.validate(guild, draft)
        alert = await self.repo.add(new)
        self.wake()
        await self._audit(actor, "alert.add", alert)
        return Saved(alert, notes, [])

    async def edit(self, guild: discord.Guild, actor: Actor, found: Alert, given: AlertChanges) -> Saved:
        self._no_everyone(guild, given.role_id)

        def cleared(value: str | None, current: str | None) -> str | None:
            if value is None:
                return current
            return None if is_clear(value) else value

        draft = NewAlert(
            guild_id=found.guild_id,
            channel_id=given.channel_id if given.channel_id is not None else found.channel_id,
            channel_kind=found.channel_kind,
            topic=cleared(given.topic, found.topic),
            keywords=cleared(given.keywords, found.keywords),
            providers=found.providers
            if given.providers is None
            else ()
            if given.providers.strip() in ("none", "-")
            else parse_providers(given.providers),
            min_quality=found.min_quality if given.min_quality is None else given.min_quality,
            role_id=None if given.no_mention else (given.role_id if given.role_id is not None else found.role_id),
            style=given.style or found.style,
            publish=found.publish if given.publish is None else given.publish,
            template=cleared(given.template, found.template),
            posts_per_window=given.posts_per_window or found.posts_per_window,
            created_at=found.created_at,
            created_by=found.created_by,
        )
        if guild.get_channel(draft.channel_id) is None:
            raise InvalidInput("The alert's channel was deleted: give a new `channel`.", field="channel")
        new, notes = await self.validate(guild, draft)
        changes = {name: getattr(new, name) for name in EDITABLE if getattr(new, name) != getattr(found, name)}
        updated = await self.repo.update(found.id, **changes)
        if updated is None:
            raise UserFacingError("That alert was removed meanwhile.")
        self.reset(found.id)
        self.wake()
        await self._audit(actor, "alert.edit", updated, changed=sorted(changes))
        return Saved(updated, notes, sorted(changes))

    async def pause(self, guild: discord.Guild, actor: Actor, found: Alert) -> None:
        if found.paused:
            raise UserFacingError(
                f"Alert {self.describe(guild, found)} is already paused. `/alert resume` restarts it."
            )
        await self.repo.set_paused(found.id, paused=True, reason=f"by {escape_markdown(actor.name)}")
        await self._audit(actor, "alert.pause", found)

    async def resume(self, guild: discord.Guild, actor: Actor, found: Alert) -> None:
        if not found.paused:
            raise UserFacingError(f"Alert {self.describe(guild, found)} is not paused.")
        problem = self.service.outbox.problem(found)
        if problem is not None:
            raise UserFacingError(
                f"Alert {self.describe(guild, found)} stays paused: {problem}. Fix that, or `/alert edit` it."
            )
        await self.repo.set_paused(found.id, paused=False, reason=None)
        self.reset(found.id)
        self.wake()
        await self._audit(actor, "alert.resume", found)

    async def remove(self, guild: discord.Guild, actor: Actor, found: Alert) -> None:
        await self.repo.remove(found.id)
        self.service.forget(found.id)
        await self._audit(actor, "alert.remove", found)

    async def test(self, guild: discord.Guild, actor: Actor, found: Alert) -> Outcome:
        """Post the newest matching article now, marked as a test (it does not count as delivered)."""
        vis = await self.visibility_for(found.guild_id)
        if found.topic:
            page = await self.articles.latest(topic=found.topic, vis=vis, limit=100)
        else:
            words = " ".join(
                t.words[0] for c in parse(found.keywords or "").clauses if not c.excluded for t in c.terms[:1]
            )
            page = await self.articles.search(words, vis=vis, limit=100)
        articles = [a for a in [await self.articles.get(i.id, vis) for i in page.items] if a is not None]
        try:
            outcome = await self.service.test_post(found, articles)
        except ChannelUnavailable as exc:
            raise UserFacingError(f"I can't post alert **#{found.id}**: {exc.reason}.") from None
        if outcome.kind != "posted":
            raise UserFacingError(f"No recent article matches alert {self.describe(guild, found)}: nothing was posted.")
        await self._audit(actor, "alert.test", found)
        return outcome

    async def article(self, raw: str) -> Article:
        found = await self.articles.get(raw.strip(), ALL)
        if found is None:
            raise InvalidInput(
                f"There is no article “{_quote(raw, 60)}”. Pick one from the suggestions.", field="article"
            )
        return found

    async def why(self, guild_id: int, article: Article) -> list[WhyAnswer]:
        """Why ``article`` was or was not posted by each of the server's alerts."""
        alerts = await self.repo.for_guild(guild_id)
        if not alerts:
            raise UserFacingError("This server has no alerts. `/alert add` creates one.")
        return [await self.service.why(alert, article) for alert in alerts]
