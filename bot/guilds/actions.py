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
from bot.db.guild_types import HiddenArticle
from bot.db.repository import ArticleRepository
from bot.db.types import ArticleChoice, Visibility
from bot.errors import InvalidInput, UserFacingError
from bot.guilds.backup import (
    EVERYTHING,
    MAX_HIDDEN,
    MAX_REASON_CHARS,
    BackupService,
    ConfigError,
    ImportPlan,
    ImportResult,
    parse_list_option,
)
from bot.guilds.policy import Policy
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

    @property
    def empty(self) -> bool:
        return all(getattr(self, name) is None for name in self.__slots__)


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
