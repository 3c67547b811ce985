"""Alert messages as plain payloads (dicts the outbox sends and the database keeps while pending).

Every message is within Discord's limits; article text is escaped (markdown) or neutralised
(mentions). Every masked link ``[label](url)`` of an alert is built by ``masked_link`` alone, so the
rule that a link's label cannot pretend to be another link lives in one place.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from datetime import UTC
from typing import Any, Final

import discord

from bot.alerts.rules import MESSAGE_CONTENT_LIMIT, PLACEHOLDER_BUDGET, THREAD_NAME_LIMIT
from bot.db.types import RelatedItem
from bot.delivery import marker
from bot.render.embeds import DEFAULT_COLOR, Limit, _link_target, _title, article_embed
from bot.render.text import escape_markdown, neutralise_mentions, safe_url, single_line, truncate
from bot.store.models import Article

#: One message's embeds together (Discord's 6,000) and a roundup's lines.
MESSAGE_TOTAL: Final = Limit.TOTAL
MAX_EMBEDS: Final = 10
ROUNDUP_TITLE_CHARS: Final = 150
RELATED_LINES: Final = 10
Message = dict[str, Any]


def masked_link(label: str, url: str | None) -> str:
    """``[label](url)`` with the label escaped (it can never be read as another link) and the URL
    made safe; just the escaped label when the URL is unusable."""
    text = _title(label, ROUNDUP_TITLE_CHARS)
    target = _link_target(url)
    return f"[{text}]({target})" if target is not None else text


def footer(alert_id: int, nonce: str | None, *, test: bool = False) -> str:
    base = f"Alert #{alert_id}" + (" · test post, not counted as delivered" if test else "")
    return f"{base} · {marker(nonce)}" if nonce else base


def mention_text(role_id: int | None) -> str:
    return f"<@&{role_id}>" if role_id else ""


def fill_template(template: str, article: Article, role_id: int | None) -> str:
    """The template with the article filled in: text escaped and cut to its placeholder's budget
    (``check_template`` guaranteed the result fits)."""

    def cut(name: str, text: str) -> str:
        return truncate(text, PLACEHOLDER_BUDGET[name])

    values = {
        "title": cut("title", escape_markdown(single_line(article.title))),
        "url": cut("url", safe_url(article.url) or "") if len(safe_url(article.url) or "") <= 512 else "",
        "excerpt": cut("excerpt", escape_markdown(single_line(article.excerpt))),
        "provider": cut("provider", escape_markdown(single_line(article.provider.name or article.provider.domain))),
        "topics": cut("topics", escape_markdown(", ".join(single_line(t) for t in article.topics))),
        "published": f"<t:{int(article.published_at.astimezone(UTC).timestamp())}:f>",
        "mention": mention_text(role_id),
    }
    # The template's own text is the moderator's: only mentions in it are neutralised.
    parts = []
    for literal, field, _, _ in string.Formatter().parse(template):
        parts.append(neutralise_mentions(literal))
        if field is not None:
            parts.append(values.get(field, ""))
    return "".join(parts)[:MESSAGE_CONTENT_LIMIT]


def _content(template: str | None, article: Article, role_id: int | None) -> str | None:
    if template:
        text = fill_template(template, article, role_id)
        if role_id and "{mention}" not in template:
            text = f"{mention_text(role_id)} {text}"[:MESSAGE_CONTENT_LIMIT]
        return text or None
    return mention_text(role_id) or None


def card_message(
    article: Article, *, alert_id: int, nonce: str | None, role_id: int | None, template: str | None, test: bool = False
) -> Message:
    """The article card (as ``/news``), with our footer marker, the Read and Related buttons."""
    embed = article_embed(article)
    existing = embed.footer.text or ""
    mark = footer(alert_id, nonce, test=test)
    text = f"{existing} · {mark}" if existing else mark
    if len(text) > Limit.FOOTER:
        text = mark
    embed.set_footer(text=text)
    return {
        "content": _content(template, article, role_id),
        "embeds": [embed.to_dict()],
        "role": role_id,
        "article": article.id,
        "url": article.url,
    }


def compact_message(
    article: Article, *, alert_id: int, nonce: str | None, role_id: int | None, template: str | None, test: bool = False
) -> Message:
    """One line: the linked title and the provider (or the template)."""
    if template:
        content = _content(template, article, role_id) or ""
    else:
        provider = escape_markdown(single_line(article.provider.name or article.provider.domain))[:64]
        line = f"{masked_link(article.title, article.url)} — {provider}"
        if test:
            line += " *(test post)*"
        mention = mention_text(role_id)
        content = f"{mention} {line}" if mention else line
    return {"content": content[:MESSAGE_CONTENT_LIMIT], "embeds": [], "role": role_id}


def thread_name(title: str) -> str:
    """A thread's or forum post's name: the title on one line, plain (names render no markdown)."""
    name = truncate(neutralise_mentions(single_line(title)), THREAD_NAME_LIMIT)
    return name or "Untitled"


def related_message(article: Article, items: Sequence[RelatedItem], *, nonce: str) -> Message:
    """A thread's first message: what the article links to."""
    lines = []
    for item in items[:RELATED_LINES]:
        url = item.article.url if item.article is not None else item.url
        title = item.article.title if item.article is not None else item.title
        lines.append(f"• {masked_link(title, url)}")
    description = "\n".join(lines) if lines else "No related articles for this one."
    embed = discord.Embed(title="Related articles", description=description[: Limit.DESCRIPTION], colour=DEFAULT_COLOR)
    embed.set_footer(text=marker(nonce))
    return {"content": None, "embeds": [embed.to_dict()], "role": None}


def roundup_messages(
    alert_id: int, lines_for: Sequence[tuple[str, str | None, str]], *, nonce: str, role_id: int | None
) -> list[Message]:
    """The held articles as few messages as fit: ``(title, url, provider)`` each, all of them."""
    lines = []
    for title, url, provider in lines_for:
        meta = escape_markdown(single_line(provider))[:48]
        lines.append(f"• {masked_link(title, url)}" + (f" — {meta}" if meta else ""))
    total = len(lines)
    # The posts of the window came first: this is the rest ("and 37 more"), never silently less.
    heading = f"…and {total} more new article{'s' if total != 1 else ''} for alert #{alert_id}"
    # Pack lines into embeds (each description <= 4,096) and embeds into messages (<= 6,000 in all).
    messages: list[list[list[str]]] = [[[]]]
    used = [0]
    desc_used = [0]
    budget = MESSAGE_TOTAL - 200  # title and footer of each embed
    for line in lines:
        cost = len(line) + 1
        if desc_used[-1] + cost > Limit.DESCRIPTION - 1:
            if used[-1] + cost > budget or len(messages[-1]) >= MAX_EMBEDS:
                messages.append([[]])
                used.append(0)
            else:
                messages[-1].append([])
            desc_used.append(0)
        elif used[-1] + cost > budget:
            messages.append([[]])
            used.append(0)
            desc_used.append(0)
        messages[-1][-1].append(line)
        used[-1] += cost
        desc_used[-1] += cost
    out: list[Message] = []
    parts = len(messages)
    for i, embeds in enumerate(messages):
        built = []
        for j, block in enumerate(embeds):
            embed = discord.Embed(description="\n".join(block), colour=DEFAULT_COLOR)
            if j == 0:
                embed.title = heading + (f" ({i + 1}/{parts})" if parts > 1 else "")
            if j == len(embeds) - 1:
                embed.set_footer(text=footer(alert_id, f"{nonce}.{i}"))
            built.append(embed.to_dict())
        out.append(
            {
                "content": mention_text(role_id) if i == 0 and role_id else None,
                "embeds": built,
                "role": role_id if i == 0 else None,
            }
        )
    return out


def message_length(message: Mapping[str, Any]) -> int:
    return sum(len(discord.Embed.from_dict(e)) for e in message.get("embeds", []))
