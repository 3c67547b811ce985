"""The message a scheduled digest posts: one message, within Discord's per-message limits.

Layout (a digest has at most 10 articles, and a message at most 10 embeds, so one card per article
plus a header would not fit):

1. a header embed: "<topic> digest", the article count and the date in the digest's timezone;
2. the top ``RICH_CARDS`` (3) articles as cards: linked title, short excerpt, provider, thumbnail,
   publication time;
3. when there are more, one "More new articles" embed listing the rest as numbered lines (the
   numbering continues after the cards), with links and relative times.

So a message has at most 5 embeds (10 with ``rich=8``), and the text of all of them together stays within Discord's
6,000-character message total (the list gives way first, line by line). All article text is
escaped, so nothing can ping; the caller still sends with ``allowed_mentions`` that allow none.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date
from typing import Final

import discord

from bot.db.types import ArticleSummary
from bot.render.embeds import DEFAULT_COLOR, UNTITLED, VIDEO_MARK, Limit, author_name, fit_embed, summary_line
from bot.render.text import ELLIPSIS, escape_markdown, link_label, safe_host, safe_url, single_line, truncate

MAX_EMBEDS: Final = 10  # per message
MESSAGE_TOTAL: Final = Limit.TOTAL  # characters, summed over every embed of one message
RICH_CARDS: Final = 3
CARD_EXCERPT_CHARS: Final = 200
CARD_PROVIDER_CHARS: Final = 64
HEADER_TOPIC_CHARS: Final = 100
DATE_CHARS: Final = 64
MORE_TITLE: Final = "More new articles"
_MONTHS: Final = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_DAYS: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def digest_date_text(local_date: date) -> str:
    """``"Tuesday 3 March 2026"``: English whatever the host locale (``strftime`` would not be)."""
    return f"{_DAYS[local_date.weekday()]} {local_date.day} {_MONTHS[local_date.month - 1]} {local_date.year}"


def _count_text(n: int) -> str:
    return f"{n} new article" if n == 1 else f"{n} new articles"


def _header(topic: str, date_text: str, count: int, timezone: str, colour: discord.Colour | int) -> discord.Embed:
    name = truncate(escape_markdown(single_line(topic)), HEADER_TOPIC_CHARS) or "News"
    when = truncate(escape_markdown(single_line(date_text)), DATE_CHARS)
    zone = truncate(escape_markdown(single_line(timezone)), DATE_CHARS)
    if count:
        description = f"**{_count_text(count)}** for {when} ({zone})"
    else:
        description = f"No new articles for {when} ({zone})."
    return fit_embed(discord.Embed(title=f"{name} digest", description=description, colour=colour))


def _card(item: ArticleSummary, colour: discord.Colour | int) -> discord.Embed:
    prefix = f"{VIDEO_MARK} " if item.type == "video" else ""
    url = safe_url(item.url)
    # The card's title links to the article: a link label like any other.
    title = link_label(single_line(item.title) or UNTITLED, url, limit=Limit.TITLE - len(prefix))
    excerpt = truncate(escape_markdown(single_line(item.excerpt)), CARD_EXCERPT_CHARS)
    published = item.published_at if item.published_at.tzinfo is not None else item.published_at.replace(tzinfo=UTC)
    embed = discord.Embed(
        title=prefix + title,
        url=url,
        description=excerpt or None,
        colour=colour,
        timestamp=published,
    )
    provider_url = safe_host(item.provider_domain)
    provider = author_name(item.provider_name, item.provider_domain, provider_url, CARD_PROVIDER_CHARS)
    if provider:
        embed.set_author(name=provider, url=provider_url)
    thumbnail = safe_url(item.image_url)
    if thumbnail is not None:
        embed.set_thumbnail(url=thumbnail)
    return fit_embed(embed)


def _lines_within(lines: Sequence[str], limit: int) -> str:
    """Whole lines while they fit in ``limit`` characters, then how many were left out."""
    out: list[str] = []
    used = 0
    for i, line in enumerate(lines):
        left_after = len(lines) - i - 1
        tail = len(f"\n…and {left_after} more") if left_after else 0
        cost = len(line) + (1 if out else 0)
        if used + cost + tail > limit:
            out.append(f"…and {len(lines) - i} more")
            break
        out.append(line)
        used += cost
    return truncate("\n".join(out), limit)


def message_text_length(embeds: Sequence[discord.Embed]) -> int:
    """Characters of ``embeds`` that count towards Discord's 6,000 per-message total."""
    return sum(len(embed) for embed in embeds)


def digest_message(
    topic: str,
    local_date_text: str,
    items: Sequence[ArticleSummary],
    *,
    timezone: str,
    rich: int = RICH_CARDS,
    color: discord.Colour | int | None = None,
) -> list[discord.Embed]:
    """The embeds of one digest message, in order (layout in the module doc).

    ``local_date_text`` is the slot's date as shown to readers (``digest_date_text(slot_date(...))``).
    ``rich`` is how many of the top items get a card (clamped to 0..8 so the message keeps at most
    10 embeds). With no items the header alone says there is nothing new (for previews; the
    scheduler posts nothing for an empty digest).
    """
    colour = color if color is not None else DEFAULT_COLOR
    cards = max(0, min(rich, MAX_EMBEDS - 2))
    embeds = [_header(topic, local_date_text, len(items), timezone, colour)]
    embeds.extend(_card(item, colour) for item in items[:cards])
    rest = items[cards:]
    if rest:
        lines = [summary_line(item, cards + i + 1) for i, item in enumerate(rest)]
        budget = MESSAGE_TOTAL - message_text_length(embeds) - len(MORE_TITLE)
        limit = min(Limit.DESCRIPTION, budget)
        if limit > len(ELLIPSIS):
            embeds.append(
                fit_embed(discord.Embed(title=MORE_TITLE, description=_lines_within(lines, limit), colour=colour))
            )
    return embeds
