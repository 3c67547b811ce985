"""Render Discord message payloads in a terminal, the way the Discord client would show them.

Used by ``make demo``: the emulator records what the bot sent, and this turns it into rich
panels (embeds with their colour bar, fields, footer) and a numbered list of components the user
can "click" by number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.text import Text

COMPONENT_BUTTON = 2
COMPONENT_STRING_SELECT = 3
BUTTON_LINK = 5
EPHEMERAL = 1 << 6


@dataclass(frozen=True, slots=True)
class Clickable:
    """A component the demo user can pick by number."""

    number: int
    custom_id: str
    label: str
    kind: str  # "button" or "select"
    options: tuple[tuple[str, str], ...] = ()  # (value, label) for selects


# The bits of Discord markdown our embeds use: bold, masked links, timestamps, escapes. Links and
# escapes follow the patterns of Discord's parser (simple-markdown's ``link`` and ``escape`` rules), so
# the demo shows the same links a Discord client would, a misleading one included.
_LINK_INSIDE = r"(?:\[[^\]]*\]|[^\[\]]|\](?=[^\[]*\]))*"
_LINK_TARGET = r"\s*<?(?P<url>(?:\([^)]*\)|[^\s\\]|\\.)*?)>?(?:\s+['\"][\s\S]*?['\"])?\s*"
_MARKDOWN = re.compile(
    rf"\*\*(?P<bold>.+?)\*\*|\[(?P<label>{_LINK_INSIDE})\]\({_LINK_TARGET}\)"
    r"|<t:(?P<ts>\d+):[tTdDfFR]>|\\(?P<esc>[^0-9A-Za-z\s])"
)


def relative_time(epoch: int, now: datetime | None = None) -> str:
    seconds = int(((now or datetime.now(UTC)) - datetime.fromtimestamp(epoch, UTC)).total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if abs(seconds) >= size:
            count = abs(seconds) // size
            text = f"{count} {unit}{'s' if count != 1 else ''}"
            return f"{text} ago" if seconds > 0 else f"in {text}"
    return "just now"


def markdown_text(source: str, style: str = "") -> Text:
    """Discord markdown as the client shows it: **bold**, [links](url), <t:…:R> and \\escapes."""
    text = Text(style=style)
    position = 0
    for match in _MARKDOWN.finditer(source):
        text.append(source[position : match.start()])
        if match["bold"] is not None:
            text.append_text(markdown_text(match["bold"], "bold"))
        elif match["label"] is not None:
            label = markdown_text(match["label"], "underline")
            label.stylize(f"link {match['url']}")
            text.append_text(label)
        elif match["ts"] is not None:
            text.append(relative_time(int(match["ts"])), style="italic")
        else:
            text.append(match["esc"])
        position = match.end()
    text.append(source[position:])
    return text


def _colour(value: int | None) -> str:
    return f"#{value:06x}" if isinstance(value, int) else "bright_black"


def render_embed(embed: dict[str, Any]) -> RenderableType:
    parts: list[RenderableType] = []
    author = embed.get("author")
    if author and author.get("name"):
        parts.append(Text(author["name"], style="bold dim"))
    if embed.get("title"):
        title = markdown_text(embed["title"], "bold cyan")
        if embed.get("url"):
            title.stylize(f"link {embed['url']}")
        parts.append(title)
    if embed.get("description"):
        parts.append(markdown_text(embed["description"]))
    for field in embed.get("fields", []):
        parts.append(Text.assemble(markdown_text(field["name"], "bold"), "\n", markdown_text(field["value"])))
    image = (embed.get("image") or {}).get("url") or (embed.get("thumbnail") or {}).get("url")
    if image:
        parts.append(Text(f"[image] {image}", style="dim italic"))
    footer_bits = []
    if (embed.get("footer") or {}).get("text"):
        footer_bits.append(embed["footer"]["text"])
    if embed.get("timestamp"):
        try:
            when = datetime.fromisoformat(embed["timestamp"])
            footer_bits.append(f"{when:%Y-%m-%d %H:%M} UTC")
        except ValueError:
            footer_bits.append(str(embed["timestamp"]))
    if footer_bits:
        parts.append(Text(" • ".join(footer_bits), style="dim"))
    return Panel(Group(*parts), border_style=_colour(embed.get("color")), expand=False, width=100)


def clickables(components: list[dict[str, Any]]) -> list[Clickable]:
    found: list[Clickable] = []
    for row in components:
        for item in row.get("components", []):
            if item.get("type") == COMPONENT_BUTTON and item.get("style") != BUTTON_LINK and not item.get("disabled"):
                label = " ".join(filter(None, [(item.get("emoji") or {}).get("name"), item.get("label")]))
                found.append(Clickable(len(found) + 1, item["custom_id"], label or item["custom_id"], "button"))
            elif item.get("type") == COMPONENT_STRING_SELECT and not item.get("disabled"):
                options = tuple((o["value"], o["label"]) for o in item.get("options", []))
                found.append(
                    Clickable(len(found) + 1, item["custom_id"], item.get("placeholder") or "choose", "select", options)
                )
    return found


def render_message(payload: dict[str, Any], *, header: str | None = None) -> tuple[RenderableType, list[Clickable]]:
    """The message as a renderable, and the components that can be clicked."""
    parts: list[RenderableType] = []
    flags = payload.get("flags") or 0
    if header or flags & EPHEMERAL:
        note = header or ""
        if flags & EPHEMERAL:
            note = f"{note}  (only you can see this)".strip()
        parts.append(Text(note, style="italic dim"))
    if payload.get("content"):
        parts.append(markdown_text(payload["content"]))
    parts.extend(render_embed(e) for e in payload.get("embeds", []))
    components = payload.get("components", [])
    found = clickables(components)
    links = [
        f"🔗 {item.get('label', 'link')}: {item['url']}"
        for row in components
        for item in row.get("components", [])
        if item.get("type") == COMPONENT_BUTTON and item.get("style") == BUTTON_LINK
    ]
    controls = [f"[{c.number}] {c.label}" + (" ▾" if c.kind == "select" else "") for c in found]
    if controls:
        parts.append(Text("   ".join(controls), style="bold magenta"))
    if links:
        parts.append(Text("\n".join(links), style="blue"))
    return Group(*parts), found
