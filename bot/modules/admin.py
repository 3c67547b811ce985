"""``/admin``: moderator tools for one server: reload the store, statistics, hide and unhide
articles, the server's settings, the audit log, and a YAML backup of it all.

Every command needs Manage Server. ``default_member_permissions`` only hides the commands in the
Discord client, and a server can open them to anyone, so the permission is checked again when a
command runs. Answers are private.
"""

from __future__ import annotations

import asyncio
import io
import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

import bot as package
from bot.alerts.backup import export_alerts, plan_alerts
from bot.catalog import fold
from bot.client import NewsBot
from bot.db.digest_types import Digest, DigestRepository, NewDigest
from bot.db.guild_types import GuildSettings, HiddenArticle
from bot.db.types import Visibility
from bot.errors import UserFacingError
from bot.indexing import ContentUnavailable
from bot.modules._checks import Refused
from bot.modules._lookup import quote
from bot.policy import ServerPolicy
from bot.render.admin import (
    ADMIN_COLOR,
    BotStats,
    SettingsView,
    audit_embed_list,
    reload_embed,
    settings_embed,
    stats_embed,
)
from bot.render.embeds import fit_embed
from bot.render.text import single_line, truncate
from bot.server_config import (
    MAX_HIDDEN,
    MAX_IMPORT_BYTES,
    MAX_REASON_CHARS,
    Backup,
    ChannelRef,
    ConfigError,
    DigestSpec,
    HiddenSpec,
    dump_backup,
    parse_backup,
    parse_list_option,
)
from bot.store.models import Article

log = logging.getLogger(__name__)

MAX_CHOICES = 25
#: Everything in the store, whatever a server's settings: what moderators may act on.
EVERYTHING = Visibility(include_unpublished=True)
#: What the bot needs in the log channel to announce there.
LOG_CHANNEL_PERMISSIONS = ("view_channel", "send_messages", "embed_links")
RELOAD_COOLDOWN = 10.0

Resettable = Literal[
    "min_quality", "include_unpublished", "public_results", "blocked_providers", "blocked_topics", "log_channel", "all"
]
_DEFAULTS: dict[str, Any] = {
    "min_quality": None,
    "include_unpublished": None,
    "public_results": None,
    "blocked_providers": (),
    "blocked_topics": (),
    "log_channel_id": None,
}


def _field(option: str) -> str:
    return "log_channel_id" if option == "log_channel" else option


def _permission_name(flag: str) -> str:
    return flag.replace("_", " ").title()


def missing_post_permissions(channel: discord.abc.GuildChannel, me: discord.Member) -> list[str]:
    permissions = channel.permissions_for(me)
    return [_permission_name(p) for p in LOG_CHANNEL_PERMISSIONS if not getattr(permissions, p)]


def _find_text_channel(guild: discord.Guild, ref: ChannelRef) -> discord.TextChannel | None:
    """The channel a backup names: the same id in the same server, else the same name."""
    if ref.id is not None:
        channel = guild.get_channel(ref.id)
        if isinstance(channel, discord.TextChannel):
            return channel
    if ref.name:
        return discord.utils.get(guild.text_channels, name=ref.name)
    return None


@dataclass(frozen=True, slots=True)
class ResolvedDigest:
    spec: DigestSpec
    channel_id: int
    topic: str


@dataclass(frozen=True, slots=True)
class ImportPlan:
    """What an import stores. ``digests`` is ``None`` when the server's digests stay as they are."""

    settings: GuildSettings
    hidden: list[HiddenArticle]
    digests: list[ResolvedDigest] | None
    notes: list[str]


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class Admin(commands.GroupCog, group_name="admin", group_description="Moderate newsbot in this server"):
    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot
        super().__init__()

    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        if interaction.guild is None:
            raise app_commands.NoPrivateMessage()
        if not interaction.permissions.manage_guild:
            raise Refused("You need the **Manage Server** permission to use /admin commands.")
        return True

    # --- helpers ------------------------------------------------------------------------------

    @staticmethod
    def _guild(interaction: discord.Interaction[Any]) -> discord.Guild:
        if interaction.guild is None:  # guild_only: Discord never sends these from DMs
            raise app_commands.NoPrivateMessage()
        return interaction.guild

    @property
    def _digests(self) -> DigestRepository | None:
        """The digest repository when this bot has digests (issue #4)."""
        repo: DigestRepository | None = getattr(self.bot.db, "digests", None)
        return repo

    async def _audit(self, interaction: discord.Interaction[Any], action: str, details: dict[str, object]) -> None:
        await self.bot.audit(self._guild(interaction).id, interaction.user.id, action, details)

    async def _find_article(self, raw: str) -> Article:
        """An article by id, link or exact title (autocomplete sends the id). No fuzzy guess: a
        moderator acting on the wrong article would be worse than a second try."""
        value = raw.strip()
        articles = self.bot.db.articles
        found = await articles.get(value, EVERYTHING) or await articles.get_by_url(value, EVERYTHING)
        if found is None and value:
            for choice in self.bot.catalog.complete_articles(value, EVERYTHING, limit=5):
                if fold(choice.title) == fold(value):
                    found = await articles.get(choice.id, EVERYTHING)
                    break
        if found is None:
            raise UserFacingError(
                f"No article matches “{quote(raw)}”. Pick one from the suggestions while typing, or paste its link."
            )
        return found

    def _settings_view(self, guild: discord.Guild, policy: ServerPolicy, hidden: int) -> SettingsView:
        s = policy.settings
        log_channel = None
        if s.log_channel_id is not None:
            channel = guild.get_channel(s.log_channel_id)
            log_channel = channel.mention if channel is not None else f"<#{s.log_channel_id}> (no longer exists)"
        return SettingsView(
            min_quality=policy.min_quality,
            min_quality_default=s.min_quality is None,
            include_unpublished=policy.include_unpublished,
            include_unpublished_default=s.include_unpublished is None,
            public_results=policy.public_results,
            public_results_default=s.public_results is None,
            blocked_providers=s.blocked_providers,
            blocked_topics=s.blocked_topics,
            log_channel=log_channel,
            hidden=hidden,
        )

    async def _show_settings(self, interaction: discord.Interaction[Any], *, title: str, notes: list[str]) -> None:
        guild = self._guild(interaction)
        policy = await self.bot.policy.for_guild(guild.id)
        view = self._settings_view(guild, policy, len(policy.visibility.hidden_ids))
        embed = settings_embed(view, title=title, notes=notes)
        if interaction.response.is_done():
            await interaction.followup.send(embed=embed, ephemeral=True)
        else:
            await interaction.response.send_message(embed=embed, ephemeral=True)

    async def _canonical_topics(self, topics: tuple[str, ...]) -> tuple[tuple[str, ...], list[str]]:
        """Topics in the store's spelling, and the ones no article has."""
        canonical: list[str] = []
        unknown: list[str] = []
        for topic in topics:
            name = await self.bot.db.articles.resolve_topic(topic)
            canonical.append(name or topic)
            if name is None:
                unknown.append(topic)
        return tuple(dict.fromkeys(canonical)), unknown

    async def _unknown_providers(self, domains: tuple[str, ...]) -> list[str]:
        known = await self.bot.db.guilds.known_providers(domains)
        return [d for d in domains if d not in known]

    # --- autocomplete -------------------------------------------------------------------------

    async def visible_article_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        # Autocomplete skips command checks: without this, anyone could read this server's lists.
        if interaction.guild is None or not interaction.permissions.manage_guild:
            return []
        vis = await self.bot.visibility_for(interaction.guild_id)
        return [
            app_commands.Choice(name=c.title[:100] or c.id, value=c.id[:100])
            for c in self.bot.catalog.complete_articles(current, vis, limit=MAX_CHOICES)
        ]

    async def hidden_article_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        if interaction.guild is None or not interaction.permissions.manage_guild:
            return []
        query = fold(current)
        hidden = await self.bot.db.guilds.hidden(interaction.guild.id)
        matches = [h for h in hidden if not query or query in fold(h.title) or h.article_id.startswith(current)]
        return [
            app_commands.Choice(
                name=truncate(single_line(h.title), 100) or h.article_id[:100], value=h.article_id[:100]
            )
            for h in matches[:MAX_CHOICES]
        ]

    # --- commands -----------------------------------------------------------------------------

    @app_commands.command(name="reload", description="Re-read the content store now and report what changed")
    @app_commands.checks.cooldown(1, RELOAD_COOLDOWN, key=lambda i: i.guild_id)
    async def reload(self, interaction: discord.Interaction[NewsBot]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)  # a large store takes a while
        try:
            report = await self.bot.reindex()
        except ContentUnavailable as exc:
            log.warning("reload by user %s in guild %s failed: %s", interaction.user.id, interaction.guild_id, exc)
            raise UserFacingError(
                "The content store cannot be read right now, so nothing changed. The bot's operator can see why "
                "in the logs."
            ) from None
        await self._audit(
            interaction,
            "reload",
            {
                "new": report.added,
                "changed": report.changed,
                "removed": report.removed,
                "rejected": len(report.rejected),
            },
        )
        await interaction.followup.send(embed=reload_embed(report), ephemeral=True)

    @app_commands.command(name="stats", description="Articles, topics, digests and the bot's health at a glance")
    async def stats(self, interaction: discord.Interaction[NewsBot]) -> None:
        guild = self._guild(interaction)
        policy = await self.bot.policy.for_guild(guild.id)
        stats = await self.bot.db.articles.stats(policy.visibility)
        digests: tuple[int, int] | None = None
        if self._digests is not None:
            listed = await self._digests.for_guild(guild.id)
            paused = sum(1 for d in listed if d.paused)
            digests = (len(listed) - paused, paused)
        latency = self.bot.latency
        data = BotStats(
            stats=stats,
            digests=digests,
            latency=latency if math.isfinite(latency) else None,  # NaN until the first heartbeat is answered
            uptime=datetime.now(UTC) - self.bot.started_at,
            version=package.__version__,
            hidden=len(policy.visibility.hidden_ids),
        )
        await interaction.response.send_message(embed=stats_embed(data), ephemeral=True)

    @app_commands.command(name="hide", description="Hide an article from every command and digest in this server")
    @app_commands.describe(article="The article (start typing its title)", reason="Why (kept in the audit log)")
    @app_commands.autocomplete(article=visible_article_autocomplete)
    async def hide(
        self,
        interaction: discord.Interaction[NewsBot],
        article: app_commands.Range[str, 1, 200],
        reason: app_commands.Range[str, 1, MAX_REASON_CHARS] | None = None,
    ) -> None:
        guild = self._guild(interaction)
        found = await self._find_article(article)
        policy = await self.bot.policy.for_guild(guild.id)
        if found.id in policy.visibility.hidden_ids:
            raise UserFacingError(f"“{quote(found.title)}” is already hidden in this server.")
        if len(policy.visibility.hidden_ids) >= MAX_HIDDEN:
            raise UserFacingError(
                f"This server already hides {MAX_HIDDEN:,} articles. Unhide some, or block their provider or "
                "topic with /admin config instead."
            )
        note = reason.strip() if reason and reason.strip() else None
        await self.bot.policy.hide(guild.id, HiddenArticle(found.id, found.title, note, interaction.user.id))
        embed = discord.Embed(
            title="Article hidden",
            description=f"“{quote(found.title, 200)}” no longer appears in any command, autocomplete or digest in "
            "this server. `/admin unhide` brings it back.",
            colour=ADMIN_COLOR,
        )
        await self._audit(interaction, "hide", {"article": found.id, "title": found.title, "reason": note})
        await interaction.response.send_message(embed=fit_embed(embed), ephemeral=True)

    @app_commands.command(name="unhide", description="Show a hidden article again in this server")
    @app_commands.describe(article="The hidden article (start typing its title)")
    @app_commands.autocomplete(article=hidden_article_autocomplete)
    async def unhide(self, interaction: discord.Interaction[NewsBot], article: app_commands.Range[str, 1, 200]) -> None:
        guild = self._guild(interaction)
        value = article.strip()
        hidden = await self.bot.db.guilds.hidden(guild.id)
        match = next((h for h in hidden if h.article_id == value), None)
        if match is None:
            match = next((h for h in hidden if fold(h.title) == fold(value) and value), None)
        if match is None and value:
            by_url = await self.bot.db.articles.get_by_url(value, EVERYTHING)
            match = next((h for h in hidden if by_url is not None and h.article_id == by_url.id), None)
        if match is None:
            raise UserFacingError(
                f"“{quote(article)}” is not hidden in this server. Pick one from the suggestions while typing."
            )
        await self.bot.policy.unhide(guild.id, match.article_id)
        embed = discord.Embed(
            title="Article visible again",
            description=f"“{quote(match.title, 200)}” shows in this server's commands and digests again.",
            colour=ADMIN_COLOR,
        )
        await self._audit(interaction, "unhide", {"article": match.article_id, "title": match.title})
        await interaction.response.send_message(embed=fit_embed(embed), ephemeral=True)

    @app_commands.command(name="config", description="Show or change this server's settings for newsbot")
    @app_commands.describe(
        min_quality="Leave out articles whose source quality is below this (0 to 164)",
        include_unpublished="Also serve articles marked as not published",
        public_results="Answer lookups in the channel for everyone instead of privately",
        blocked_providers="Provider domains to leave out, comma-separated (none clears the list)",
        blocked_topics="Topics to leave out, comma-separated (none clears the list)",
        log_channel="Where admin actions and digest failures are announced",
        reset="Put a setting (or all of them) back to the default",
    )
    async def config(
        self,
        interaction: discord.Interaction[NewsBot],
        min_quality: app_commands.Range[int, 0, 164] | None = None,
        include_unpublished: bool | None = None,
        public_results: bool | None = None,
        blocked_providers: str | None = None,
        blocked_topics: str | None = None,
        log_channel: discord.TextChannel | None = None,
        reset: Resettable | None = None,
    ) -> None:
        guild = self._guild(interaction)
        given: dict[str, Any] = {
            "min_quality": min_quality,
            "include_unpublished": include_unpublished,
            "public_results": public_results,
            "blocked_providers": blocked_providers,
            "blocked_topics": blocked_topics,
            "log_channel": log_channel,
        }
        given = {k: v for k, v in given.items() if v is not None}
        if not given and reset is None:
            await self._show_settings(interaction, title=f"Settings for {guild.name}", notes=[])
            return
        if reset is not None and reset != "all" and reset in given:
            raise UserFacingError(f"Either set `{reset}` or reset it, not both at once.")
        changes: dict[str, Any] = {}
        notes: list[str] = []
        if reset == "all":
            changes.update(_DEFAULTS)
        elif reset is not None:
            changes[_field(reset)] = _DEFAULTS[_field(reset)]
        for option in ("min_quality", "include_unpublished", "public_results"):
            if option in given:
                changes[option] = given[option]
        try:
            if blocked_providers is not None:
                domains = parse_list_option(blocked_providers, "blocked_providers")
                changes["blocked_providers"] = domains
                if unknown := await self._unknown_providers(domains):
                    notes.append(
                        "No article in the store comes from "
                        + ", ".join(f"`{d}`" for d in unknown[:10])
                        + " (blocked anyway, in case some arrive)."
                    )
            if blocked_topics is not None:
                topics, unknown = await self._canonical_topics(parse_list_option(blocked_topics, "blocked_topics"))
                changes["blocked_topics"] = topics
                if unknown:
                    notes.append(
                        "No article has the topic "
                        + ", ".join(f"“{quote(t, 40)}”" for t in unknown[:10])
                        + " (blocked anyway, in case some arrive)."
                    )
        except ConfigError as exc:
            raise UserFacingError(str(exc)) from None
        if log_channel is not None:
            missing = missing_post_permissions(log_channel, guild.me)
            if missing:
                needed = ", ".join(f"**{p}**" for p in missing)
                raise UserFacingError(
                    f"I cannot post in {log_channel.mention}: I need the {needed} permission there. "
                    "Give it to me in the channel's settings, or choose another channel."
                )
            changes["log_channel_id"] = log_channel.id
        await self.bot.policy.update(guild.id, interaction.user.id, **changes)
        details = {k.removesuffix("_id"): v for k, v in changes.items()}
        if log_channel is not None:
            details["log_channel"] = f"#{log_channel.name}"
        if reset is not None:
            details["reset"] = reset
        await self._audit(interaction, "config", details)
        await self._show_settings(interaction, title="Settings updated", notes=notes)

    @app_commands.command(name="audit", description="The latest admin actions in this server")
    @app_commands.describe(limit="How many actions to show (1 to 25)")
    async def audit(
        self, interaction: discord.Interaction[NewsBot], limit: app_commands.Range[int, 1, 25] = 10
    ) -> None:
        entries = await self.bot.db.audit.latest(self._guild(interaction).id, limit)
        await interaction.response.send_message(embed=audit_embed_list(entries, limit=limit), ephemeral=True)

    # --- backup -------------------------------------------------------------------------------

    async def _export_digests(self, guild: discord.Guild) -> tuple[DigestSpec, ...] | None:
        if self._digests is None:
            return None
        specs = []
        for d in await self._digests.for_guild(guild.id):
            channel = guild.get_channel(d.channel_id)
            specs.append(
                DigestSpec(
                    channel=ChannelRef(d.channel_id, channel.name if channel is not None else None),
                    topic=d.topic,
                    time=d.at_time,
                    timezone=d.timezone,
                    cadence=d.cadence,
                    weekday=d.weekday,
                    min_quality=d.min_quality,
                    max_items=d.max_items,
                    paused=d.paused,
                    pause_reason=d.pause_reason,
                )
            )
        return tuple(specs)

    @app_commands.command(name="export", description="Download this server's settings, hidden articles and digests")
    async def export(self, interaction: discord.Interaction[NewsBot]) -> None:
        guild = self._guild(interaction)
        settings = (await self.bot.policy.for_guild(guild.id)).settings
        hidden = await self.bot.db.guilds.hidden(guild.id)
        log_channel = None
        if settings.log_channel_id is not None:
            channel = guild.get_channel(settings.log_channel_id)
            log_channel = ChannelRef(settings.log_channel_id, channel.name if channel is not None else None)
        digests = await self._export_digests(guild)
        alerts = await export_alerts(guild, self.bot.db.alerts)  # live alerts (issue #12)
        backup = Backup(
            min_quality=settings.min_quality,
            include_unpublished=settings.include_unpublished,
            public_results=settings.public_results,
            blocked_providers=settings.blocked_providers,
            blocked_topics=settings.blocked_topics,
            log_channel=log_channel,
            hidden=tuple(HiddenSpec(h.article_id, h.title, h.reason) for h in hidden),
            digests=digests,
            server_name=guild.name,
            alerts=alerts,
        )
        text = dump_backup(backup, server_id=guild.id, exported_at=datetime.now(UTC))
        file = discord.File(io.BytesIO(text.encode("utf-8")), filename=f"newsbot-{guild.id}.yaml")
        counts = f"{len(hidden):,} hidden articles" + (f", {len(digests):,} digests" if digests is not None else "")
        counts += f", {len(alerts):,} alerts"
        embed = discord.Embed(
            title="Configuration exported",
            description=f"Settings and {counts}. Restore them in any server with `/admin import`.",
            colour=ADMIN_COLOR,
        )
        await self._audit(
            interaction, "export", {"hidden": len(hidden), "digests": len(digests) if digests is not None else "n/a"}
        )
        await interaction.response.send_message(embed=embed, file=file, ephemeral=True)

    async def _resolve_digests(
        self, guild: discord.Guild, specs: tuple[DigestSpec, ...], notes: list[str]
    ) -> list[ResolvedDigest]:
        resolved = []
        for spec in specs:
            channel = _find_text_channel(guild, spec.channel)
            if channel is None:
                notes.append(
                    f"Digest about {quote(spec.topic, 40)} skipped: this server has no channel "
                    f"{quote(spec.channel.describe(), 40)}."
                )
                continue
            if missing := missing_post_permissions(channel, guild.me):
                notes.append(
                    f"Digest about {quote(spec.topic, 40)}: I cannot post in {channel.mention} yet "
                    f"(I need {', '.join(missing)} there)."
                )
            topic = await self.bot.db.articles.resolve_topic(spec.topic)
            if topic is None:
                notes.append(f"No article has the topic “{quote(spec.topic, 40)}” yet (digest imported anyway).")
            resolved.append(ResolvedDigest(spec, channel.id, topic or spec.topic))
        return resolved

    async def _replace_digests(self, guild_id: int, user_id: int, digests: list[ResolvedDigest]) -> None:
        repo = self._digests
        if repo is None:
            return
        now = datetime.now(UTC)
        existing: list[Digest] = await repo.for_guild(guild_id)
        for old in existing:
            await repo.remove(old.id)
        for item in digests:
            spec = item.spec
            added = await repo.add(
                NewDigest(
                    guild_id=guild_id,
                    channel_id=item.channel_id,
                    topic=item.topic,
                    at_time=spec.time,
                    timezone=spec.timezone,
                    cadence=spec.cadence,
                    weekday=spec.weekday,
                    min_quality=spec.min_quality,
                    max_items=spec.max_items,
                    created_at=now,
                    created_by=user_id,
                )
            )
            if spec.paused:
                reason = spec.pause_reason or "paused in the imported configuration"
                await repo.set_paused(added.id, paused=True, reason=reason, settle_until=now)
        # The scheduler sleeps until the next slot it knows of: wake it to read the new digests now.
        self.bot.dispatch("digests_changed", guild_id)

    async def _plan_import(self, guild: discord.Guild, backup: Backup, user_id: int) -> ImportPlan:
        """What importing ``backup`` here would store, with notes on what did not fit this server.
        Reads only: nothing is written until the whole file has been checked."""
        notes: list[str] = []
        topics, unknown_topics = await self._canonical_topics(backup.blocked_topics)
        if unknown_topics:
            notes.append(f"{len(unknown_topics)} blocked topic(s) match no article yet (blocked anyway).")
        if unknown := await self._unknown_providers(backup.blocked_providers):
            notes.append(f"{len(unknown)} blocked provider(s) match no article yet (blocked anyway).")
        log_channel_id = None
        if backup.log_channel is not None:
            channel = _find_text_channel(guild, backup.log_channel)
            if channel is None:
                notes.append(f"Log channel {quote(backup.log_channel.describe(), 40)} is not in this server: not set.")
            elif missing := missing_post_permissions(channel, guild.me):
                notes.append(f"Log channel {channel.mention} not set: I need {', '.join(missing)} there.")
            else:
                log_channel_id = channel.id
        digests: list[ResolvedDigest] | None = None
        if backup.digests is not None:
            if self._digests is None:
                notes.append("The file's digests were not imported: this bot does not run digests.")
            else:
                digests = await self._resolve_digests(guild, backup.digests, notes)
        hidden = []
        absent = 0
        for spec in backup.hidden:
            article = await self.bot.db.articles.get(spec.id, EVERYTHING)
            absent += article is None
            title = article.title if article is not None else spec.title or spec.id
            hidden.append(HiddenArticle(spec.id, title, spec.reason, user_id))
        if absent:
            notes.append(f"{absent} hidden article(s) are not in the store now (kept hidden in case they return).")
        settings = GuildSettings(
            guild_id=guild.id,
            min_quality=backup.min_quality,
            include_unpublished=backup.include_unpublished,
            public_results=backup.public_results,
            blocked_providers=backup.blocked_providers,
            blocked_topics=topics,
            log_channel_id=log_channel_id,
        )
        return ImportPlan(settings, hidden, digests, notes)

    @app_commands.command(name="import", description="Restore settings, hidden articles and digests from an export")
    @app_commands.describe(file="The YAML file /admin export made")
    async def import_(self, interaction: discord.Interaction[NewsBot], file: discord.Attachment) -> None:
        guild = self._guild(interaction)
        if file.size > MAX_IMPORT_BYTES:
            raise UserFacingError(
                f"That file is {file.size / 1024:,.0f} KiB; a backup is at most {MAX_IMPORT_BYTES // 1024:,} KiB. "
                "Attach the YAML file /admin export made."
            )
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            raw = await file.read()
        except discord.HTTPException as exc:
            log.warning("could not download import file in guild %s: %s", guild.id, exc)
            raise UserFacingError("I could not download that file from Discord. Please attach it again.") from None
        try:
            # Parsing a large file takes a moment of pure Python: keep the gateway answering meanwhile.
            backup = await asyncio.to_thread(parse_backup, raw)
        except ConfigError as exc:
            raise UserFacingError(f"Nothing was imported. {exc}", title="Import failed") from None
        plan = await self._plan_import(guild, backup, interaction.user.id)
        # --- live alerts (issue #12): replaced only when the file has an `alerts` key ---
        alerts = None
        if backup.alerts is not None:
            alerts = await plan_alerts(
                guild,
                backup.alerts,
                self.bot.db.articles.resolve_topic,
                user_id=interaction.user.id,
                now=datetime.now(UTC),
                notes=plan.notes,
            )
        # ---
        if plan.digests is not None:
            await self._replace_digests(guild.id, interaction.user.id, plan.digests)
        if alerts is not None:
            await self.bot.db.alerts.replace_guild(guild.id, alerts)
            self.bot.dispatch("alerts_changed", guild.id)
        await self.bot.policy.replace(plan.settings, plan.hidden, user_id=interaction.user.id)
        await self._audit(
            interaction,
            "import",
            {
                "file": file.filename,
                "from_server": backup.server_name,
                "hidden": len(plan.hidden),
                "digests": "kept" if plan.digests is None else len(plan.digests),
                "alerts": "kept" if alerts is None else len(alerts),
            },
        )
        await self._show_settings(interaction, title="Configuration imported", notes=plan.notes)


async def setup(bot: NewsBot) -> None:
    await bot.add_cog(Admin(bot))
