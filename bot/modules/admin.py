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
from datetime import UTC, datetime, timedelta
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

import bot as package
from bot.actors import Actor
from bot.app.client import NewsBot
from bot.app.respond import error_embed, reply, report_error, send_private
from bot.content.indexing import ContentUnavailable
from bot.errors import UserFacingError
from bot.guilds.actions import ConfigForm, GuildActions, GuildChannels, Resettable, import_summary
from bot.guilds.backup import (
    MAX_IMPORT_BYTES,
    MAX_REASON_CHARS,
    Backup,
    BackupService,
    ConfigError,
    ImportPlan,
    ImportResult,
    dump_backup,
    parse_backup,
)
from bot.guilds.policy import ServerPolicy
from bot.modules._checks import Refused
from bot.modules._lookup import quote
from bot.render.admin import (
    ADMIN_COLOR,
    BotStats,
    SettingsView,
    audit_embed_list,
    import_closed_embed,
    import_embed,
    reload_embed,
    settings_embed,
    stats_embed,
)
from bot.render.embeds import fit_embed
from bot.render.limits import MAX_CHOICE_CHARS, MAX_CHOICES, choice_name
from bot.store.keys import plain_words
from bot.store.limits import QUALITY

log = logging.getLogger(__name__)

RELOAD_COOLDOWN = 10.0
#: How long the buttons of an import that removes digests wait for the moderator (well within the
#: 15 minutes an interaction token lives, so the expired answer can still be shown).
CONFIRM_TIMEOUT = 300.0


class ImportConfirmation(discord.ui.View):
    """Import and Cancel under an import that would remove digests or alerts; only its moderator may press them."""

    def __init__(self, cog: Admin, owner_id: int, plan: ImportPlan, file_name: str) -> None:
        super().__init__(timeout=cog.confirm_timeout)
        self.cog = cog
        self.owner_id = owner_id
        self.plan = plan
        self.file_name = file_name
        self.origin: discord.Interaction[Any] | None = None
        self._answered = False

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        if interaction.user.id == self.owner_id:
            return True
        await send_private(interaction, error_embed("Only the moderator who started this import can confirm it."))
        return False

    def _close(self) -> bool:
        """True for the first press only: a double click must not import twice."""
        if self._answered:
            return False
        self._answered = True
        self.stop()
        return True

    @discord.ui.button(label="Import", style=discord.ButtonStyle.danger)
    async def confirm(self, interaction: discord.Interaction[Any], button: discord.ui.Button[Any]) -> None:
        if self._close():
            await self.cog.confirm_import(interaction, self.plan, self.file_name)

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: discord.Interaction[Any], button: discord.ui.Button[Any]) -> None:
        if self._close():
            await interaction.response.edit_message(embed=import_closed_embed(expired=False), view=None)

    async def on_timeout(self) -> None:
        if self._answered or self.origin is None:
            return
        self._answered = True
        try:
            await self.origin.edit_original_response(embed=import_closed_embed(expired=True), view=None)
        except discord.HTTPException as exc:  # the message may be gone; nothing to close then
            log.debug("could not close an expired import confirmation: %s", exc)

    async def on_error(
        self, interaction: discord.Interaction[Any], error: Exception, item: discord.ui.Item[Any]
    ) -> None:
        await report_error(interaction, error, what="import confirmation")


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class Admin(commands.GroupCog, group_name="admin", group_description="Moderate newsbot in this server"):
    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot
        self.confirm_timeout = CONFIRM_TIMEOUT
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
    def actions(self) -> GuildActions:
        return self.bot.guild_actions

    @property
    def backups(self) -> BackupService:
        return self.actions.backups

    @staticmethod
    def _actor(interaction: discord.Interaction[Any]) -> Actor:
        return Actor(interaction.user.id, interaction.user.display_name)

    async def _audit(self, interaction: discord.Interaction[Any], action: str, details: dict[str, object]) -> None:
        await self.bot.audit(self._guild(interaction).id, interaction.user.id, action, details)

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
        await reply(interaction, embed=embed, ephemeral=True)

    # --- autocomplete -------------------------------------------------------------------------

    async def visible_article_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        # Autocomplete skips command checks: without this, anyone could read this server's lists.
        if interaction.guild is None or not interaction.permissions.manage_guild:
            return []
        vis = await self.bot.visibility_for(interaction.guild_id)
        return [
            app_commands.Choice(name=choice_name(c.title, c.id), value=c.id[:MAX_CHOICE_CHARS])
            for c in self.bot.catalog.complete_articles(current, vis, limit=MAX_CHOICES)
        ]

    async def hidden_article_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        if interaction.guild is None or not interaction.permissions.manage_guild:
            return []
        query = plain_words(current)
        hidden = await self.bot.db.guilds.hidden(interaction.guild.id)
        matches = [h for h in hidden if not query or query in plain_words(h.title) or h.article_id.startswith(current)]
        return [
            app_commands.Choice(name=choice_name(h.title, h.article_id), value=h.article_id[:MAX_CHOICE_CHARS])
            for h in matches[:MAX_CHOICES]
        ]

    # --- commands -----------------------------------------------------------------------------

    @app_commands.command(name="reload")
    @app_commands.checks.cooldown(1, RELOAD_COOLDOWN, key=lambda i: i.guild_id)
    async def reload(self, interaction: discord.Interaction[NewsBot]) -> None:
        """Re-read the content store now and report what changed"""
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

    @app_commands.command(name="stats")
    async def stats(self, interaction: discord.Interaction[NewsBot]) -> None:
        """Articles, topics, digests and the bot's health at a glance"""
        guild = self._guild(interaction)
        policy = await self.bot.policy.for_guild(guild.id)
        stats = await self.bot.db.articles.stats(policy.visibility)
        listed = await self.bot.db.digests.for_guild(guild.id)
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

    @app_commands.command(name="hide")
    @app_commands.describe(article="The article (start typing its title)", reason="Why (kept in the audit log)")
    @app_commands.autocomplete(article=visible_article_autocomplete)
    async def hide(
        self,
        interaction: discord.Interaction[NewsBot],
        article: app_commands.Range[str, 1, 200],
        reason: app_commands.Range[str, 1, MAX_REASON_CHARS] | None = None,
    ) -> None:
        """Hide an article from every command and digest in this server"""
        guild = self._guild(interaction)
        found = await self.actions.hide(guild.id, self._actor(interaction), article, reason)
        embed = discord.Embed(
            title="Article hidden",
            description=f"“{quote(found.title, 200)}” no longer appears in any command, autocomplete or digest in "
            "this server. `/admin unhide` brings it back.",
            colour=ADMIN_COLOR,
        )
        await interaction.response.send_message(embed=fit_embed(embed), ephemeral=True)

    @app_commands.command(name="unhide")
    @app_commands.describe(article="The hidden article (start typing its title)")
    @app_commands.autocomplete(article=hidden_article_autocomplete)
    async def unhide(self, interaction: discord.Interaction[NewsBot], article: app_commands.Range[str, 1, 200]) -> None:
        """Show a hidden article again in this server"""
        guild = self._guild(interaction)
        hidden = await self.bot.db.guilds.hidden(guild.id)
        match = await self.actions.unhide(guild.id, self._actor(interaction), article, hidden)
        embed = discord.Embed(
            title="Article visible again",
            description=f"“{quote(match.title, 200)}” shows in this server's commands and digests again.",
            colour=ADMIN_COLOR,
        )
        await interaction.response.send_message(embed=fit_embed(embed), ephemeral=True)

    @app_commands.command(name="config")
    @app_commands.describe(
        min_quality=f"Leave out articles whose source quality is below this ({QUALITY})",
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
        min_quality: app_commands.Range[int, QUALITY.low, QUALITY.high] | None = None,
        include_unpublished: bool | None = None,
        public_results: bool | None = None,
        blocked_providers: str | None = None,
        blocked_topics: str | None = None,
        log_channel: discord.TextChannel | None = None,
        reset: Resettable | None = None,
    ) -> None:
        """Show or change this server's settings for newsbot"""
        guild = self._guild(interaction)
        form = ConfigForm(
            min_quality=min_quality,
            include_unpublished=include_unpublished,
            public_results=public_results,
            blocked_providers=blocked_providers,
            blocked_topics=blocked_topics,
            log_channel_id=log_channel.id if log_channel is not None else None,
            reset=reset,
        )
        if form.empty:
            await self._show_settings(interaction, title=f"Settings for {guild.name}", notes=[])
            return
        notes = await self.actions.configure(guild, self._actor(interaction), form)
        await self._show_settings(interaction, title="Settings updated", notes=notes)

    @app_commands.command(name="audit")
    @app_commands.describe(limit="How many actions to show (1 to 25)")
    async def audit(
        self, interaction: discord.Interaction[NewsBot], limit: app_commands.Range[int, 1, 25] = 10
    ) -> None:
        """The latest admin actions in this server"""
        entries = await self.bot.db.audit.latest(self._guild(interaction).id, limit)
        await interaction.response.send_message(embed=audit_embed_list(entries, limit=limit), ephemeral=True)

    # --- backup -------------------------------------------------------------------------------

    @app_commands.command(name="export")
    async def export(self, interaction: discord.Interaction[NewsBot]) -> None:
        """Download this server's settings, hidden articles, digests and alerts"""
        guild = self._guild(interaction)
        backup = await self.backups.export(guild.id, GuildChannels(guild), server_name=guild.name)
        text = dump_backup(backup, server_id=guild.id, exported_at=datetime.now(UTC))
        file = discord.File(io.BytesIO(text.encode("utf-8")), filename=f"newsbot-{guild.id}.yaml")
        digests, alerts = len(backup.digests or ()), len(backup.alerts or ())
        embed = discord.Embed(
            title="Configuration exported",
            description=f"Settings, {len(backup.hidden):,} hidden articles, {digests:,} digests and {alerts:,} alerts. "
            "Restore them in any server with `/admin import`.",
            colour=ADMIN_COLOR,
        )
        await self._audit(interaction, "export", {"hidden": len(backup.hidden), "digests": digests, "alerts": alerts})
        await interaction.response.send_message(embed=embed, file=file, ephemeral=True)

    async def _read_backup(self, interaction: discord.Interaction[NewsBot], file: discord.Attachment) -> Backup:
        if file.size > MAX_IMPORT_BYTES:
            raise UserFacingError(
                f"That file is {file.size / 1024:,.0f} KiB; a backup is at most {MAX_IMPORT_BYTES // 1024:,} KiB. "
                "Attach the YAML file /admin export made.",
                title="Import failed",
            )
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            raw = await file.read()
        except discord.HTTPException as exc:
            log.warning("could not download import file in guild %s: %s", interaction.guild_id, exc)
            raise UserFacingError("I could not download that file from Discord. Please attach it again.") from None
        try:
            # Off the event loop: the gateway keeps answering while a large file is read.
            return await asyncio.to_thread(parse_backup, raw)
        except ConfigError as exc:
            raise UserFacingError(f"Nothing was imported. {exc}", title="Import failed") from None

    async def _apply_import(
        self, interaction: discord.Interaction[Any], plan: ImportPlan, file_name: str
    ) -> ImportResult:
        return await self.actions.apply_import(plan, self._actor(interaction), file_name)

    @app_commands.command(name="import")
    @app_commands.describe(file="The YAML file /admin export made")
    async def import_(self, interaction: discord.Interaction[NewsBot], file: discord.Attachment) -> None:
        """Restore settings, hidden articles, digests and alerts from an export"""
        guild = self._guild(interaction)
        backup = await self._read_backup(interaction, file)
        plan = await self.backups.plan(guild.id, backup, GuildChannels(guild), user_id=interaction.user.id)
        if not plan.needs_confirmation:
            result = await self._apply_import(interaction, plan, file.filename)
            await interaction.followup.send(
                embed=import_embed(import_summary(plan, result), applied=True), ephemeral=True
            )
            return
        view = ImportConfirmation(self, interaction.user.id, plan, file.filename)
        view.origin = interaction
        expires = datetime.now(UTC) + timedelta(seconds=self.confirm_timeout)
        embed = import_embed(import_summary(plan), applied=False, expires=expires)
        await interaction.followup.send(embed=embed, view=view, ephemeral=True)

    async def confirm_import(self, interaction: discord.Interaction[Any], shown: ImportPlan, file_name: str) -> None:
        """The moderator pressed Import: plan again (the server may have changed since the preview)
        and apply only if the digests it removes are still the ones they saw."""
        guild = self._guild(interaction)
        plan = await self.backups.plan(guild.id, shown.backup, GuildChannels(guild), user_id=interaction.user.id)
        if not plan.same_removals_as(shown):
            embed = error_embed(
                "This server's digests or alerts changed since you looked, so nothing was imported. "
                "Run `/admin import` again to see what it would change now.",
                "Import not applied",
            )
            await interaction.response.edit_message(embed=embed, view=None)
            return
        result = await self._apply_import(interaction, plan, file_name)
        await interaction.response.edit_message(
            embed=import_embed(import_summary(plan, result), applied=True), view=None
        )


async def setup(bot: NewsBot) -> None:
    await bot.add_cog(Admin(bot))
