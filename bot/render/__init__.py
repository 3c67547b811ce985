"""Pure functions from records to Discord payloads. No I/O, no database, no network."""

from bot.render.embeds import (
    Limit,
    article_embed,
    fit_embed,
    list_embed,
    related_embed,
    summary_line,
    topics_embed,
)
from bot.render.text import escape_markdown, link_label, masked_link, neutralise_mentions, safe_url, truncate

__all__ = [
    "Limit",
    "article_embed",
    "escape_markdown",
    "fit_embed",
    "link_label",
    "list_embed",
    "masked_link",
    "neutralise_mentions",
    "related_embed",
    "safe_url",
    "summary_line",
    "topics_embed",
    "truncate",
]
