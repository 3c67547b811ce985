"""Personal follows' messages: the DMs (an article, a roundup, a personal digest) and the private
answers of ``/follow``. Pure functions from records to embeds, within Discord's limits; every text a
member typed or an article carried is escaped, so nothing can format, ping or link elsewhere."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Final

import discord

from bot.db.follow_types import Follow, Member
from bot.db.types import ArticleSummary
from bot.delivery import marker
from bot.digests.limits import WEEKDAY_NAMES
from bot.render.digest import digest_date_text, digest_message, message_text_length
from bot.render.embeds import DEFAULT_COLOR, Limit, article_embed, fit_embed, summary_line
from bot.render.text import escape_markdown, single_line, truncate
from bot.store.models import Article

ROUNDUP_TITLE: Final = "News you follow"
FOLLOW_TEXT_CHARS: Final = 80


def _footer(embeds: list[discord.Embed], text: str, nonce: str) -> list[dict[str, Any]]:
    embeds[-1].set_footer(text=truncate(f"{text} · {marker(nonce)}", Limit.FOOTER))
    return [dict(embed.to_dict()) for embed in embeds]


def follow_label(follow: Follow) -> str:
    """What a follow matches, for the member: ``topic **Energy** · keywords `solar -oil```."""
    parts: list[str] = []
    if follow.topic:
        parts.append(f"topic **{escape_markdown(truncate(single_line(follow.topic), FOLLOW_TEXT_CHARS))}**")
    if follow.keywords:
        parts.append(f"keywords “{escape_markdown(truncate(single_line(follow.keywords), FOLLOW_TEXT_CHARS))}”")
    return " · ".join(parts)


def delivery_label(follow: Follow) -> str:
    if follow.delivery == "instant":
        return "instantly"
    if follow.delivery == "weekly":
        return f"weekly on {WEEKDAY_NAMES[follow.weekday]}s at {follow.at_time}"
    return f"daily at {follow.at_time}"


def follow_line(follow: Follow) -> str:
    state = " · ⏸ paused" if follow.paused else ""
    return f"**#{follow.id}** · {follow_label(follow)} · {delivery_label(follow)}{state}"


def instant_message(article: Article, follow_ids: Sequence[int], nonce: str) -> list[dict[str, Any]]:
    """One article as its card; the footer names the follows it matched."""
    which = ", ".join(f"#{i}" for i in follow_ids[:5])
    return _footer([article_embed(article)], f"Your follow {which}", nonce)


def roundup_message(items: Sequence[ArticleSummary], why: str, nonce: str, *, limit: int) -> list[dict[str, Any]]:
    """Several articles in one message: at most ``limit`` numbered lines with links (fewer if they
    would not fit), then "and N more"."""
    lines = [summary_line(item, i + 1) for i, item in enumerate(items)]
    kept: list[str] = []
    used = 0
    budget = Limit.DESCRIPTION - 200
    for line in lines[:limit]:
        if used + len(line) + 1 > budget:
            break
        kept.append(line)
        used += len(line) + 1
    if len(kept) < len(lines):
        kept.append(f"…and {len(lines) - len(kept)} more.")
    count = f"{len(items)} new article" + ("s" if len(items) != 1 else "")
    embed = discord.Embed(title=f"{ROUNDUP_TITLE}: {count}", description="\n".join(kept), colour=DEFAULT_COLOR)
    return _footer([fit_embed(embed)], why, nonce)


def digest_dm(follow: Follow, local_date: date, items: Sequence[ArticleSummary], nonce: str) -> list[dict[str, Any]]:
    """A personal digest: the digests' layout, titled after what the follow matches; the footer
    (with the marker) on the header, and the last embed shortened if the footer pushed the message
    past Discord's 6,000-character total."""
    title = follow.topic or follow.keywords or "Your news"
    embeds = digest_message(title, digest_date_text(local_date), items, timezone=follow.timezone)
    embeds[0].set_footer(text=truncate(f"Your follow #{follow.id} · {marker(nonce)}", Limit.FOOTER))
    excess = message_text_length(embeds) - Limit.TOTAL
    if excess > 0 and len(embeds) > 1 and embeds[-1].description:
        description = embeds[-1].description
        embeds[-1].description = truncate(description, max(1, len(description) - excess - 1))
    return [dict(embed.to_dict()) for embed in embeds]


# --- answers ---------------------------------------------------------------------------------------

HOW_TO_FIX: Final = (
    "To get your follows again, allow direct messages from me (Discord: **User Settings → Content & Social → "
    "allow DMs from server members**, or this server's **Privacy Settings**), or add the app to your account, "
    "then run `/follow resume`."
)
PAUSED_COLOUR: Final = discord.Colour.orange()


def paused_notice(reason: str) -> discord.Embed:
    """Said once, privately, with the member's next command after Discord refused their DMs."""
    text = f"⏸ **Your follows are paused:** {escape_markdown(reason)}. {HOW_TO_FIX}"
    return discord.Embed(description=text[: Limit.DESCRIPTION], colour=PAUSED_COLOUR)


def answer(text: str, *, title: str | None = None) -> discord.Embed:
    return fit_embed(discord.Embed(title=title, description=text[: Limit.DESCRIPTION], colour=DEFAULT_COLOR))


def list_embed(follows: Sequence[Follow], member: Member | None) -> discord.Embed:
    lines = [follow_line(f) for f in follows] or ["You follow nothing yet. `/follow add` starts."]
    extra: list[str] = []
    if member is not None:
        extra.append(f"Timezone: {member.timezone}")
        if member.quiet_start is not None and member.quiet_end is not None:
            extra.append(f"Quiet hours: {_clock(member.quiet_start)}–{_clock(member.quiet_end)} (your time)")
        if member.paused_reason:
            extra.append(f"⏸ Nothing is sent: {member.paused_reason}")
    text = "\n".join(lines) + ("\n\n" + "\n".join(extra) if extra else "")
    return answer(text, title="Your follows")


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def local_moment(moment: datetime) -> str:
    return f"<t:{int(moment.timestamp())}:F>"
