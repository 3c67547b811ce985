"""What a moderator can do to a server's settings, hidden articles and backups, once for ``/admin``
and the web panel.

Each action checks its input with the rules of ``bot.guilds.backup`` (the same the import uses),
changes the server through ``Policy`` and writes the audit entry (marked ``via`` where it was made).
Wrong input raises ``InvalidInput`` naming the option.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

import discord

from bot.actors import Actor
from bot.alerts.outbox import channel_kind, channel_problem
from bot.db.guild_types import HiddenArticle
from bot.db.repository import ArticleRepository
from bot.db.types import ArticleChoice, Visibility
from bot.errors import InvalidInput, UserFacingError
from bot.guilds.backup import (
    EVERYTHING,
    MAX_HIDDEN,
    MAX_REASON_CHARS,
    AlertChannelInfo,
    BackupService,
    ChannelInfo,
    ChannelRef,
    ConfigError,
    ImportPlan,
    ImportResult,
    parse_list_option,
)
from bot.guilds.policy import Policy
from bot.render.admin import ImportSummary
from bot.render.limits import missing_post_permissions
from bot.render.text import escape_markdown, single_line, truncate
from bot.store.keys import plain_words
from bot.store.limits import QUALITY
from bot.store.models import Article

Resettable = Literal[
    "min_quality", "include_unpublished", "public_results", "blocked_providers", "blocked_topics", "log_channel", "all"
]
RESETTABLE: Final = (
    "min_quality",
    "include_unpublished",
    "public_results",
    "blocked_providers",
    "blocked_topics",
    "log_channel",
    "all",
)
DEFAULTS: Final[dict[str, Any]] = {
    "min_quality": None,
    "include_unpublished": None,
    "public_results": None,
    "blocked_providers": (),
    "blocked_topics": (),
    "log_channel_id": None,
}
#: ``audit(guild_id, user_id, action, details)``.
Audit = Callable[[int, int, str, dict[str, object]], Awaitable[None]]
#: ``complete(text, visibility, limit)``: articles whose title starts like ``text`` (the catalog).
Complete = Callable[[str, Visibility, int], Sequence[ArticleChoice]]
#: ``notify(event, guild_id)``: tell the digest and alert loops that the server's lists changed.
Notify = Callable[[str, int], None]


def _field(option: str) -> str:
    return "log_channel_id" if option == "log_channel" else option


def quote(text: str, limit: int = 80) -> str:
    return escape_markdown(truncate(single_line(text), limit))


@dataclass(frozen=True, slots=True)
class ConfigForm:
    """The options of ``/admin config``; ``None`` leaves a setting as it is."""

    min_quality: int | None = None
    include_unpublished: bool | None = None
    public_results: bool | None = None
    blocked_providers: str | None = None
    blocked_topics: str | None = None
    log_channel_id: int | None = None
    reset: str | None = None
    #: Settings put back to their default (the web form's "default" choice), besides ``reset``.
    defaults: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.defaults and all(getattr(self, name) is None for name in self.__slots__ if name != "defaults")


class GuildActions:
    def __init__(
        self,
        policy: Policy,
        articles: ArticleRepository,
        backups: BackupService,
        *,
        audit: Audit,
        complete: Complete,
        notify: Notify,
    ) -> None:
        self.policy = policy
        self.articles = articles
        self.backups = backups
        self._audit = audit
        self.complete = complete
        self.notify = notify

    async def audit(self, guild_id: int, actor: Actor, action: str, details: dict[str, object]) -> None:
        await self._audit(guild_id, actor.user_id, action, actor.audit_details(details))

    # --- settings ---------------------------------------------------------------------------------

    async def configure(self, guild: discord.Guild, actor: Actor, form: ConfigForm) -> list[str]:
        """Change the settings ``form`` gives; returns notes for the answer."""
        given = {
            name: getattr(form, name)
            for name in (
                "min_quality",
                "include_unpublished",
                "public_results",
                "blocked_providers",
                "blocked_topics",
                "log_channel_id",
            )
            if getattr(form, name) is not None
        }
        reset = form.reset
        if reset is not None and reset not in RESETTABLE:
            raise InvalidInput(f"`reset` is one of {', '.join(RESETTABLE)}.", field="reset")
        if reset is not None and reset != "all" and _field(reset) in given:
            raise InvalidInput(f"Either set `{reset}` or reset it, not both at once.", field="reset")
        changes: dict[str, Any] = {}
        notes: list[str] = []
        if reset == "all":
            changes.update(DEFAULTS)
        elif reset is not None:
            changes[_field(reset)] = DEFAULTS[_field(reset)]
        for name in form.defaults:
            if name not in RESETTABLE or name == "all":
                raise InvalidInput(f"`{name}` is not a setting.", field="reset")
            if _field(name) in given:
                raise InvalidInput(f"Either set `{name}` or reset it, not both at once.", field=name)
            changes[_field(name)] = DEFAULTS[_field(name)]
        if form.min_quality is not None and not QUALITY.low <= form.min_quality <= QUALITY.high:
            raise InvalidInput(f"The minimum quality goes from {QUALITY}.", field="min_quality")
        for option in ("min_quality", "include_unpublished", "public_results"):
            if option in given:
                changes[option] = given[option]
        if form.blocked_providers is not None:
            try:
                domains = parse_list_option(form.blocked_providers, "blocked_providers")
            except ConfigError as exc:
                raise InvalidInput(str(exc), field="blocked_providers") from None
            changes["blocked_providers"] = domains
            if unknown := await self.backups.unknown_providers(domains):
                notes.append(
                    "No article in the store comes from "
                    + ", ".join(f"`{d}`" for d in unknown[:10])
                    + " (blocked anyway, in case some arrive)."
                )
        if form.blocked_topics is not None:
            try:
                parsed = parse_list_option(form.blocked_topics, "blocked_topics")
            except ConfigError as exc:
                raise InvalidInput(str(exc), field="blocked_topics") from None
            topics, unknown = await self.backups.canonical_topics(parsed)
            changes["blocked_topics"] = topics
            if unknown:
                notes.append(
                    "No article has the topic "
                    + ", ".join(f"“{quote(t, 40)}”" for t in unknown[:10])
                    + " (blocked anyway, in case some arrive)."
                )
        log_channel = None
        if form.log_channel_id is not None:
            log_channel = guild.get_channel(form.log_channel_id)
            if not isinstance(log_channel, discord.TextChannel):
                raise InvalidInput("The log channel must be one of this server's text channels.", field="log_channel")
            missing = missing_post_permissions(log_channel.permissions_for(guild.me))
            if missing:
                needed = ", ".join(f"**{p}**" for p in missing)
                raise InvalidInput(
                    f"I cannot post in {log_channel.mention}: I need the {needed} permission there. "
                    "Give it to me in the channel's settings, or choose another channel.",
                    field="log_channel",
                )
            changes["log_channel_id"] = log_channel.id
        await self.policy.update(guild.id, actor.user_id, **changes)
        details: dict[str, object] = {k.removesuffix("_id"): v for k, v in changes.items()}
        if log_channel is not None:
            details["log_channel"] = f"#{log_channel.name}"
        if reset is not None:
            details["reset"] = reset
        if form.defaults:
            details["reset"] = [*([reset] if reset else []), *form.defaults]
        await self.audit(guild.id, actor, "config", details)
        return notes

    # --- hidden articles --------------------------------------------------------------------------

    async def find_article(self, raw: str) -> Article:
        """An article by id, link or exact title. No fuzzy guess: a moderator acting on the wrong
        article would be worse than a second try."""
        value = raw.strip()
        found = await self.articles.get(value, EVERYTHING) or await self.articles.get_by_url(value, EVERYTHING)
        if found is None and value:
            for choice in self.complete(value, EVERYTHING, 5):
                if plain_words(choice.title) == plain_words(value):
                    found = await self.articles.get(choice.id, EVERYTHING)
                    break
        if found is None:
            raise InvalidInput(
                f"No article matches “{quote(raw)}”. Pick one from the suggestions while typing, or paste its link.",
                field="article",
            )
        return found

    async def hide(self, guild_id: int, actor: Actor, raw: str, reason: str | None) -> Article:
        if reason is not None and len(reason) > MAX_REASON_CHARS:
            raise InvalidInput(f"A reason is at most {MAX_REASON_CHARS} characters.", field="reason")
        found = await self.find_article(raw)
        policy = await self.policy.for_guild(guild_id)
        if found.id in policy.visibility.hidden_ids:
            raise InvalidInput(f"“{quote(found.title)}” is already hidden in this server.", field="article")
        if len(policy.visibility.hidden_ids) >= MAX_HIDDEN:
            raise UserFacingError(
                f"This server already hides {MAX_HIDDEN:,} articles. Unhide some, or block their provider or "
                "topic with /admin config instead."
            )
        note = reason.strip() if reason and reason.strip() else None
        await self.policy.hide(guild_id, HiddenArticle(found.id, found.title, note, actor.user_id))
        await self.audit(guild_id, actor, "hide", {"article": found.id, "title": found.title, "reason": note})
        return found

    async def unhide(self, guild_id: int, actor: Actor, raw: str, hidden: Sequence[HiddenArticle]) -> HiddenArticle:
        value = raw.strip()
        match = next((h for h in hidden if h.article_id == value), None)
        if match is None:
            match = next((h for h in hidden if plain_words(h.title) == plain_words(value) and value), None)
        if match is None and value:
            by_url = await self.articles.get_by_url(value, EVERYTHING)
            match = next((h for h in hidden if by_url is not None and h.article_id == by_url.id), None)
        if match is None:
            raise InvalidInput(
                f"“{quote(raw)}” is not hidden in this server. Pick one from the suggestions while typing.",
                field="article",
            )
        await self.policy.unhide(guild_id, match.article_id)
        await self.audit(guild_id, actor, "unhide", {"article": match.article_id, "title": match.title})
        return match

    # --- import -----------------------------------------------------------------------------------

    async def apply_import(self, plan: ImportPlan, actor: Actor, file_name: str) -> ImportResult:
        result = await self.backups.apply(plan, user_id=actor.user_id)
        if plan.digests is not None:
            # The scheduler sleeps until the next slot it knows of: wake it to read the new digests now.
            self.notify("digests_changed", plan.guild_id)
        if plan.alerts is not None:
            self.notify("alerts_changed", plan.guild_id)
        await self.audit(plan.guild_id, actor, "import", result.audit_details(file_name))
        return result


# --- backups over the bot's guild cache ----------------------------------------------------------


class GuildChannels:
    """The server's text channels as ``bot.guilds.backup`` sees them (``ServerChannels``)."""

    def __init__(self, guild: discord.Guild) -> None:
        self._guild = guild

    def find(self, ref: ChannelRef) -> ChannelInfo | None:
        channel = self._guild.get_channel(ref.id) if ref.id is not None else None
        if not isinstance(channel, discord.TextChannel):
            channel = discord.utils.get(self._guild.text_channels, name=ref.name) if ref.name else None
        if channel is None:
            return None
        return ChannelInfo(
            channel.id, channel.name, tuple(missing_post_permissions(channel.permissions_for(self._guild.me)))
        )

    def name_of(self, channel_id: int) -> str | None:
        channel = self._guild.get_channel(channel_id)
        return channel.name if channel is not None else None

    def find_alert_channel(self, ref: ChannelRef, style: str) -> AlertChannelInfo | None:
        candidates = [c for c in self._guild.channels if channel_kind(c) is not None]
        channel = next((c for c in candidates if c.id == ref.id), None) if ref.id is not None else None
        if channel is None and ref.name:
            channel = next((c for c in candidates if c.name == ref.name), None)
        kind = channel_kind(channel)
        if channel is None or kind is None:
            return None
        return AlertChannelInfo(channel.id, channel.name, kind, channel_problem(channel, kind, style))

    def find_role(self, ref: ChannelRef) -> tuple[int, str] | None:
        roles = [r for r in self._guild.roles if not r.is_default()]
        role = next((r for r in roles if r.id == ref.id), None) if ref.id is not None else None
        if role is None and ref.name:
            role = next((r for r in roles if r.name == ref.name), None)
        return (role.id, role.name) if role is not None else None

    def role_name(self, role_id: int) -> str | None:
        role = self._guild.get_role(role_id)
        return role.name if role is not None else None


def import_summary(plan: ImportPlan, result: ImportResult | None = None) -> ImportSummary:
    removed = result.removed if result is not None else plan.removed
    return ImportSummary(
        source=plan.backup.server_name,
        changes=plan.changes,
        hidden=(plan.hidden_before, len(plan.hidden)),
        removed=[r.text for r in removed],
        added=[p.text for p in plan.digests or ()],
        kept=len(plan.kept),
        alerts_removed=[r.text for r in (result.alerts_removed if result is not None else plan.alerts_removed)],
        alerts_added=[p.text for p in plan.alerts or ()],
        alerts_kept=len(plan.alerts_kept),
        unmapped=plan.unmapped,
        notes=plan.notes
        + (() if plan.digests is not None else ("The file has no digests: this server's are kept.",))
        + (() if plan.alerts is not None else ("The file has no alerts: this server's are kept.",)),
    )
