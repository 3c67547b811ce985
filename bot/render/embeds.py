"""Pure functions from store and repository records to ``discord.Embed`` objects.

Every builder keeps each part within Discord's per-field limits and passes the result through
``fit_embed`` so the 6,000-character total holds too. Article text is escaped (markdown slots) or
mention-neutralised (plain slots) here, so callers can hand over records as they come.
Never rendered: ``Article.secured`` and featured HTML.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Final

import discord

from bot.db.types import ArticleSummary, RelatedItem, TopicCount
from bot.render.text import (
    ELLIPSIS,
    ZWSP,
    escape_markdown,
    link_label,
    masked_link,
    neutralise_mentions,
    safe_host,
    safe_url,
    single_line,
    truncate,
)
from bot.store.models import Article


class Limit:
    """Discord's embed limits, in characters (the API counts code points)."""

    TITLE: Final = 256
    DESCRIPTION: Final = 4096
    FIELDS: Final = 25
    FIELD_NAME: Final = 256
    FIELD_VALUE: Final = 1024
    FOOTER: Final = 2048
    AUTHOR: Final = 256
    TOTAL: Final = 6000
    URL: Final = 2048


DEFAULT_COLOR: Final = discord.Colour(0x2B6CB0)
VIDEO_COLOR: Final = discord.Colour(0xC53030)
VIDEO_MARK: Final = "▶"
# List lines stay short so a page of ten reads at a glance and never nears the description limit.
LIST_TITLE_CHARS: Final = 120
LIST_PROVIDER_CHARS: Final = 48
# Long links would eat the description budget; such items are listed without a link.
LIST_URL_CHARS: Final = 512
UNTITLED: Final = "Untitled"


def _aware(moment: datetime) -> datetime:
    # Naive datetimes would be read as the host's local time by discord.py; records are UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _title(text: str, limit: int = Limit.TITLE) -> str:
    cleaned = single_line(text) or UNTITLED
    return truncate(escape_markdown(cleaned), limit)


def _linked_title(text: str, url: str | None, limit: int = Limit.TITLE) -> str:
    """An embed title that ``url`` makes clickable: a link label like any other."""
    return link_label(single_line(text) or UNTITLED, url, limit=limit)


def _meta(text: str, limit: int) -> str:
    """Provider names and such beside a list line's link: shown as written, never a link of their own."""
    return escape_markdown(truncate(single_line(text), limit), links=False)


def _plain(text: str, limit: int) -> str:
    return truncate(neutralise_mentions(single_line(text)), limit)


def _relative(moment: datetime | None) -> str | None:
    return discord.utils.format_dt(_aware(moment), "R") if moment is not None else None


def author_name(name: str, domain: str, url: str | None, limit: int = Limit.AUTHOR) -> str:
    """The provider's name for an embed's author slot, which links to ``url`` (plain text, no markdown)."""
    return link_label(single_line(name) or single_line(domain), url, limit=limit, markdown=False)


def _set_author(embed: discord.Embed, name: str, domain: str, logo_url: str | None) -> None:
    url = safe_host(domain)
    label = author_name(name, domain, url)
    if not label:
        return
    embed.set_author(name=label, url=url, icon_url=safe_url(logo_url))


def article_embed(article: Article, *, color: discord.Colour | int | None = None) -> discord.Embed:
    """The full card for one article: linked title, excerpt, image, provider, time and topics."""
    is_video = article.type == "video"
    prefix = f"{VIDEO_MARK} " if is_video else ""
    url = safe_url(article.url)
    embed = discord.Embed(
        title=prefix + _linked_title(article.title, url, Limit.TITLE - len(prefix)),
        url=url,
        description=truncate(escape_markdown(article.excerpt.strip()), Limit.DESCRIPTION) or None,
        colour=color if color is not None else (VIDEO_COLOR if is_video else DEFAULT_COLOR),
        timestamp=_aware(article.published_at),
    )
    _set_author(embed, article.provider.name, article.provider.domain, article.provider.logo_url)
    image = safe_url(article.image_url)
    if image is not None:
        embed.set_image(url=image)
    footer = []
    if is_video:
        footer.append("Video")
    if not article.published:
        footer.append("Unpublished")
    topics = [single_line(topic) for topic in article.topics if single_line(topic)]
    if topics:
        footer.append(", ".join(topics))
    if footer:
        embed.set_footer(text=_plain(" · ".join(footer), Limit.FOOTER))
    return fit_embed(embed)


def summary_line(summary: ArticleSummary, index: int) -> str:
    """One numbered list line: ``**3.** [Title](url) — Provider · <relative time>``."""
    title = single_line(summary.title) or UNTITLED
    if summary.type == "video":
        title = f"{VIDEO_MARK} {title}"
    linked = masked_link(title, summary.url, limit=LIST_TITLE_CHARS, max_url=LIST_URL_CHARS)
    meta = [_meta(summary.provider_name or summary.provider_domain, LIST_PROVIDER_CHARS)]
    when = _relative(summary.published_at)
    if when is not None:
        meta.append(when)
    return f"**{index}.** {linked} — {' · '.join(part for part in meta if part)}"


def _join_within(lines: Sequence[str], limit: int, overflow: str) -> str:
    """Join whole lines while they fit, then say how many were left out."""
    out: list[str] = []
    used = 0
    for i, line in enumerate(lines):
        remaining = len(lines) - i - 1
        tail = len(overflow.format(n=remaining)) + 1 if remaining else 0
        cost = len(line) + (1 if out else 0)
        if used + cost + tail > limit:
            out.append(overflow.format(n=len(lines) - i))
            break
        out.append(line)
        used += cost
    return truncate("\n".join(out), limit)


def list_embed(
    title: str,
    items: Sequence[ArticleSummary],
    *,
    offset: int = 0,
    has_more: bool = False,
    total: int | None = None,
    selected: int | None = None,
    color: discord.Colour | int | None = None,
) -> discord.Embed:
    """A compact numbered page of articles, as returned in one ``Page``.

    Numbering continues across pages (``offset`` is the index of the first item). ``total`` is the
    number of matches when known. ``selected`` is an index into ``items``: that line is marked and
    its image shown as the thumbnail.
    """
    lines = []
    for i, item in enumerate(items):
        line = summary_line(item, offset + i + 1)
        lines.append(f"➤ {line}" if i == selected else line)
    description = _join_within(lines, Limit.DESCRIPTION, "…and {n} more") if lines else "No articles found."
    embed = discord.Embed(
        title=_title(title), description=description, colour=color if color is not None else DEFAULT_COLOR
    )
    if selected is not None and 0 <= selected < len(items):
        thumbnail = safe_url(items[selected].image_url)
        if thumbnail is not None:
            embed.set_thumbnail(url=thumbnail)
    if items:
        footer = f"{offset + 1}–{offset + len(items)}"
        if total is not None:
            noun = "article" if total == 1 else "articles"
            footer += f" of {total} {noun}"
        if has_more:
            footer += " · more on the next page"
        embed.set_footer(text=footer)
    elif total:
        embed.set_footer(text=f"{total} articles in all")
    return fit_embed(embed)


def _related_line(index: int, item: RelatedItem) -> str:
    if item.article is not None:
        return summary_line(item.article, index)
    title = single_line(item.title) or UNTITLED
    linked = masked_link(title, item.url, limit=LIST_TITLE_CHARS, max_url=LIST_URL_CHARS)
    meta = []
    if item.provider_name:
        meta.append(_meta(item.provider_name, LIST_PROVIDER_CHARS))
    when = _relative(item.published_at)
    if when is not None:
        meta.append(when)
    meta.append("external")
    return f"**{index}.** {linked} — {' · '.join(meta)}"


def related_embed(
    article: Article, items: Sequence[RelatedItem], *, color: discord.Colour | int | None = None
) -> discord.Embed:
    """Articles related to ``article``; ones in the library come first as the caller ordered them.

    Self-links and repeated URLs (common in the source data) are dropped here as a last guard.
    """
    seen = {article.url}
    unique: list[RelatedItem] = []
    for item in items:
        if item.url in seen or (item.article is not None and item.article.id == article.id):
            continue
        seen.add(item.url)
        unique.append(item)
    lines = [_related_line(i, item) for i, item in enumerate(unique, start=1)]
    url = safe_url(article.url)
    embed = discord.Embed(
        title=_linked_title(f"Related: {single_line(article.title)}", url),
        url=url,
        description=_join_within(lines, Limit.DESCRIPTION, "…and {n} more") if lines else "No related articles.",
        colour=color if color is not None else DEFAULT_COLOR,
    )
    in_library = sum(1 for item in unique if item.article is not None)
    if unique:
        noun = "link" if len(unique) == 1 else "links"
        embed.set_footer(text=f"{len(unique)} related {noun} · {in_library} in this library")
    return fit_embed(embed)


def topics_embed(
    topics: Sequence[TopicCount], *, title: str = "Topics", color: discord.Colour | int | None = None
) -> discord.Embed:
    """All topics with their article counts, as one line each, in the order given."""
    lines = [
        f"• {escape_markdown(truncate(single_line(topic.name), 100))} — {topic.count}"
        for topic in topics
        if single_line(topic.name)
    ]
    embed = discord.Embed(
        title=_title(title),
        description=_join_within(lines, Limit.DESCRIPTION, "…and {n} more topics") if lines else "No topics yet.",
        colour=color if color is not None else DEFAULT_COLOR,
    )
    if lines:
        total = sum(topic.count for topic in topics)
        embed.set_footer(text=f"{len(lines)} topics · {total} tagged articles")
    return fit_embed(embed)


def _text_total(embed: discord.Embed) -> int:
    return len(embed)


def _non_blank(text: str) -> str:
    return text if text.strip() else ZWSP


def fit_embed(embed: discord.Embed) -> discord.Embed:
    """Enforce every per-part limit and the 6,000-character total, in place; returns ``embed``.

    Shortens the description first, then field values from the last field, dropping fields that
    cannot keep any text, then the footer. Discord rejects blank field names or values, so those
    become a zero-width space.
    """
    if embed.title:
        embed.title = truncate(embed.title, Limit.TITLE)
    if embed.description:
        embed.description = truncate(embed.description, Limit.DESCRIPTION)
    while len(embed.fields) > Limit.FIELDS:
        embed.remove_field(-1)
    for i, field in enumerate(embed.fields):
        embed.set_field_at(
            i,
            name=_non_blank(truncate(field.name or "", Limit.FIELD_NAME)),
            value=_non_blank(truncate(field.value or "", Limit.FIELD_VALUE)),
            inline=bool(field.inline),
        )
    if embed.footer.text:
        embed.set_footer(text=truncate(embed.footer.text, Limit.FOOTER), icon_url=embed.footer.icon_url)
    if embed.author.name:
        embed.set_author(
            name=truncate(embed.author.name, Limit.AUTHOR), url=embed.author.url, icon_url=embed.author.icon_url
        )

    excess = _text_total(embed) - Limit.TOTAL
    if excess > 0 and embed.description:
        keep = len(embed.description) - excess
        embed.description = truncate(embed.description, keep) if keep > len(ELLIPSIS) else None
    while _text_total(embed) > Limit.TOTAL and embed.fields:
        excess = _text_total(embed) - Limit.TOTAL
        last = embed.fields[-1]
        value = last.value or ""
        keep = len(value) - excess
        if keep > len(ELLIPSIS):
            embed.set_field_at(
                len(embed.fields) - 1, name=last.name or ZWSP, value=truncate(value, keep), inline=bool(last.inline)
            )
        else:
            embed.remove_field(-1)
    excess = _text_total(embed) - Limit.TOTAL
    if excess > 0 and embed.footer.text:
        embed.set_footer(
            text=truncate(embed.footer.text, len(embed.footer.text) - excess) or None, icon_url=embed.footer.icon_url
        )
    excess = _text_total(embed) - Limit.TOTAL
    if excess > 0 and embed.title:
        embed.title = truncate(embed.title, len(embed.title) - excess) or None
    return embed
