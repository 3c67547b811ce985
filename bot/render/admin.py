"""Embeds for ``/admin`` and ``/owner``: index reports, statistics, a server's settings, the audit log.

Pure functions of plain values; every builder ends with ``fit_embed`` so Discord's limits hold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import discord

from bot.db.guild_types import AuditEntry
from bot.db.types import IndexReport, IndexStats
from bot.render.embeds import DEFAULT_COLOR, fit_embed
from bot.render.text import code_span, escape_markdown, single_line, truncate

ADMIN_COLOR: Final = discord.Colour(0x4A5568)
WARNING_COLOR: Final = discord.Colour.orange()
AUDIT_COLOR: Final = discord.Colour.dark_gold()
REJECTED_SHOWN: Final = 10
MAX_DETAIL_CHARS: Final = 300
MAX_DETAILS: Final = 10
#: The audit list stops adding lines here, well below the description limit, rather than cut one.
AUDIT_LIST_CHARS: Final = 3900


def detail_text(value: object, limit: int = MAX_DETAIL_CHARS) -> str:
    """One audit detail as plain, escaped, single-line text of bounded length."""
    if isinstance(value, list | tuple | set | frozenset):
        text = ", ".join(str(v) for v in value) or "(none)"
    elif value is None:
        text = "(none)"
    else:
        text = str(value)
    return escape_markdown(truncate(single_line(text), limit))


def who(user_id: int) -> str:
    # A mention shows the member's name and pings nobody: every message goes with allowed_mentions none.
    return f"<@{user_id}>" if user_id else "newsbot"


def audit_embed(entry: AuditEntry) -> discord.Embed:
    """One audit entry, as announced in a server's log channel."""
    embed = discord.Embed(
        title=f"Audit: {entry.action}",
        description=f"by {who(entry.user_id)}",
        colour=AUDIT_COLOR,
        timestamp=entry.created_at,
    )
    for key, value in list(entry.details.items())[:MAX_DETAILS]:
        embed.add_field(name=str(key), value=detail_text(value) or "—", inline=False)
    embed.set_footer(text=f"audit #{entry.id}")
    return fit_embed(embed)


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _time(moment: datetime | None) -> str:
    return discord.utils.format_dt(moment, "R") if moment is not None else "never"


def duration(delta: timedelta) -> str:
    """``3d 4h``, ``2h 5m``, ``42s``: the two largest units."""
    seconds = max(int(delta.total_seconds()), 0)
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "m"), (seconds, "s")]
    shown = [f"{n}{unit}" for n, unit in parts if n][:2]
    return " ".join(shown) or "0s"


def reload_embed(report: IndexReport, *, title: str = "Content reloaded") -> discord.Embed:
    colour = WARNING_COLOR if report.rejected else DEFAULT_COLOR
    embed = discord.Embed(title=title, colour=colour)
    # The index counts files: a new file that fails to parse is new, and also among the rejected.
    embed.description = (
        f"Files: **{report.added:,}** new · **{report.changed:,}** changed · **{report.removed:,}** removed · "
        f"{report.unchanged:,} unchanged. **{len(report.rejected):,}** rejected in all. ({report.seconds:.1f} s)"
    )
    if report.rejected:
        lines = [
            code_span(truncate(single_line(issue.path), 80))
            + (f" (line {issue.line})" if issue.line else "")
            + f": {escape_markdown(truncate(single_line(issue.reason), 160))}"
            for issue in report.rejected[:REJECTED_SHOWN]
        ]
        more = len(report.rejected) - REJECTED_SHOWN
        if more > 0:
            lines.append(f"… and {more:,} more (`newsbot check` lists them all)")
        embed.add_field(name="Rejected files", value="\n".join(lines), inline=False)
    return fit_embed(embed)


@dataclass(frozen=True, slots=True)
class BotStats:
    stats: IndexStats
    digests: tuple[int, int] | None  # (active, paused), None when digests are not available
    latency: float | None
    uptime: timedelta
    version: str
    hidden: int


def stats_embed(data: BotStats) -> discord.Embed:
    s = data.stats
    embed = discord.Embed(title="newsbot statistics", colour=ADMIN_COLOR)
    embed.add_field(name="Articles (visible here / total)", value=f"{s.articles_visible:,} / {s.articles_total:,}")
    embed.add_field(name="Topics", value=f"{s.topics:,}")
    embed.add_field(name="Providers", value=f"{s.providers:,}")
    embed.add_field(name="Rejected files", value=f"{s.rejected_files:,}")
    embed.add_field(name="Hidden here", value=f"{data.hidden:,}")
    embed.add_field(name="Last indexed", value=_time(s.last_indexed_at))
    digests = "n/a" if data.digests is None else f"{data.digests[0]:,} active / {data.digests[1]:,} paused"
    embed.add_field(name="Digests (active / paused)", value=digests)
    latency = "n/a" if data.latency is None else f"{data.latency * 1000:.0f} ms"
    embed.add_field(name="Gateway latency", value=latency)
    embed.add_field(name="Uptime", value=duration(data.uptime))
    embed.set_footer(text=f"newsbot {data.version}")
    return fit_embed(embed)


@dataclass(frozen=True, slots=True)
class SettingsView:
    """A server's settings as shown: each value with whether it is the default."""

    min_quality: int
    min_quality_default: bool
    include_unpublished: bool
    include_unpublished_default: bool
    public_results: bool
    public_results_default: bool
    blocked_providers: Sequence[str]
    blocked_topics: Sequence[str]
    log_channel: str | None  # a mention, or a note that it is gone
    hidden: int


def _yes_no(value: bool, default: bool) -> str:
    return ("yes" if value else "no") + (" (default)" if default else "")


def _listing(values: Sequence[str]) -> str:
    return escape_markdown(", ".join(values)) if values else "none"


def settings_embed(view: SettingsView, *, title: str, notes: Sequence[str] = ()) -> discord.Embed:
    embed = discord.Embed(title=title, colour=WARNING_COLOR if notes else ADMIN_COLOR)
    if notes:
        embed.description = "\n".join(f"⚠️ {n}" for n in notes)
    quality = f"{view.min_quality}" + (" (default)" if view.min_quality_default else "")
    embed.add_field(name="min_quality", value=quality)
    embed.add_field(
        name="include_unpublished", value=_yes_no(view.include_unpublished, view.include_unpublished_default)
    )
    embed.add_field(name="public_results", value=_yes_no(view.public_results, view.public_results_default))
    embed.add_field(name="blocked_providers", value=_listing(view.blocked_providers), inline=False)
    embed.add_field(name="blocked_topics", value=_listing(view.blocked_topics), inline=False)
    embed.add_field(name="log_channel", value=view.log_channel or "none")
    embed.add_field(name="hidden articles", value=f"{view.hidden:,}")
    embed.set_footer(text="Change with /admin config; a list or the log channel is cleared with reset.")
    return fit_embed(embed)


def _summary(entry: AuditEntry, limit: int = 160) -> str:
    parts = [f"{key}: {detail_text(value, 60)}" for key, value in entry.details.items()]
    return truncate("; ".join(parts), limit) if parts else ""


def audit_embed_list(entries: Sequence[AuditEntry], *, limit: int) -> discord.Embed:
    embed = discord.Embed(title=f"Audit log: latest {_count(len(entries), 'action')}", colour=ADMIN_COLOR)
    if not entries:
        embed.description = "Nothing has been recorded in this server yet."
        return fit_embed(embed)
    lines: list[str] = []
    used = 0
    for entry in entries:
        summary = _summary(entry)
        line = f"`#{entry.id}` {discord.utils.format_dt(entry.created_at, 'f')} {who(entry.user_id)} **{entry.action}**"
        line += f" · {summary}" if summary else ""
        if used + len(line) + 1 > AUDIT_LIST_CHARS:
            break
        lines.append(line)
        used += len(line) + 1
    embed.description = "\n".join(lines)
    embed.set_footer(text=f"Showing up to {limit}; /admin audit limit:25 shows more.")
    return fit_embed(embed)


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """What an import changes, as plain text lines: shown before a confirmation and after applying."""

    source: str | None  # the server the file was exported from
    changes: Sequence[str]  # settings that change, "name: old → new"
    hidden: tuple[int, int]  # hidden articles now, and from the file
    removed: Sequence[str]  # digests removed
    added: Sequence[str]  # digests added
    kept: int  # digests the file has too, left as they are
    unmapped: Sequence[str]  # what names something this server does not have
    notes: Sequence[str]
    alerts_removed: Sequence[str] = ()
    alerts_added: Sequence[str] = ()
    alerts_kept: int = 0


def _lines(values: Sequence[str], empty: str = "none", limit: int = 6) -> str:
    # Six fields of six lines stay well below the 6,000-character total, so the question above them is never cut.
    shown = [f"• {escape_markdown(truncate(single_line(v), 120))}" for v in values[:limit]]
    if len(values) > limit:
        shown.append(f"… and {len(values) - limit:,} more")
    return "\n".join(shown) or empty


def import_embed(summary: ImportSummary, *, applied: bool, expires: datetime | None = None) -> discord.Embed:
    """The answer to ``/admin import``: what it replaces and what cannot be mapped here. Before
    applying (``applied=False``) it asks for confirmation; ``expires`` is when the buttons stop working."""
    source = f" from **{escape_markdown(truncate(single_line(summary.source), 80))}**" if summary.source else ""
    if applied:
        title, colour = "Configuration imported", WARNING_COLOR if summary.unmapped or summary.notes else ADMIN_COLOR
        description = f"The configuration{source} replaced this server's."
    else:
        title, colour = "Import: confirm first", WARNING_COLOR
        removes = " and ".join(
            _count(n, kind)
            for n, kind in ((len(summary.removed), "digest"), (len(summary.alerts_removed), "alert"))
            if n
        )
        description = (
            f"The configuration{source} would replace this server's and **remove {removes}** it has now. "
            "Nothing has changed yet: press **Import** to go ahead or **Cancel**."
        )
        if expires is not None:
            description += f" The buttons stop working {discord.utils.format_dt(expires, 'R')}."
    embed = discord.Embed(title=title, description=description, colour=colour)
    embed.add_field(
        name="Settings changed" if applied else "Settings that change", value=_lines(summary.changes), inline=False
    )
    before, after = summary.hidden
    embed.add_field(name="Hidden articles", value=f"{before:,} → {after:,}", inline=False)
    embed.add_field(name="Digests removed", value=_lines(summary.removed), inline=False)
    added = _lines(summary.added)
    if summary.kept:
        added += f"\n({_count(summary.kept, 'digest')} the file has too stay as they are)"
    embed.add_field(name="Digests added", value=added, inline=False)
    if summary.alerts_removed or summary.alerts_added or summary.alerts_kept:
        # Three lines each: with them, eight fields still leave the question above them whole.
        embed.add_field(name="Alerts removed", value=_lines(summary.alerts_removed, limit=3), inline=False)
        alerts_added = _lines(summary.alerts_added, limit=3)
        if summary.alerts_kept:
            alerts_added += f"\n({_count(summary.alerts_kept, 'alert')} the file has too stay as they are)"
        embed.add_field(name="Alerts added", value=alerts_added, inline=False)
    if summary.unmapped:
        embed.add_field(name="Not in this server (skipped)", value=_lines(summary.unmapped), inline=False)
    if summary.notes:
        embed.add_field(name="Notes", value=_lines(summary.notes), inline=False)
    return fit_embed(embed)


def import_closed_embed(*, expired: bool) -> discord.Embed:
    """A confirmation that ended without importing: cancelled, or left until the buttons expired."""
    if expired:
        return discord.Embed(
            title="Import expired",
            description="Nothing was changed. Run `/admin import` again to import the file.",
            colour=ADMIN_COLOR,
        )
    return discord.Embed(title="Import cancelled", description="Nothing was changed.", colour=ADMIN_COLOR)
