"""Discord's rules for what the bot sends other than embeds (those are ``bot.render.embeds.Limit``):
autocomplete choices, and the permissions the bot needs to post in a channel.

No ``discord`` import at run time: the catalog (``bot.content``) shapes autocomplete choices in a
worker process, which should not pay for importing discord.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import discord

__all__ = [
    "MAX_CHOICES",
    "MAX_CHOICE_CHARS",
    "POST_PERMISSIONS",
    "choice_name",
    "missing_post_permissions",
    "permission_name",
]

#: Choices one autocomplete answer may offer.
MAX_CHOICES: Final = 25
#: Characters of a choice's name (what the member sees) and of a string choice's value.
MAX_CHOICE_CHARS: Final = 100
#: What the bot needs in a channel to post its embeds there (digests, the log channel).
POST_PERMISSIONS: Final = ("view_channel", "send_messages", "embed_links")


def choice_name(text: str, fallback: str = "") -> str:
    """``text`` on one line as a choice name: ``fallback`` when it is blank, shortened with an
    ellipsis when it is longer than Discord allows (which would make Discord drop every choice)."""
    text = " ".join(text.split()) or " ".join(fallback.split())
    return text if len(text) <= MAX_CHOICE_CHARS else text[: MAX_CHOICE_CHARS - 1].rstrip() + "…"


#: Short words Discord's UI writes in lower case inside a permission's name ("Send Messages in Threads").
_LOWER_WORDS: Final = frozenset({"in", "and", "of", "to"})


def permission_name(flag: str) -> str:
    """A permission as Discord's UI names it: ``"embed_links"`` -> ``"Embed Links"``,
    ``"send_messages_in_threads"`` -> ``"Send Messages in Threads"``."""
    words = flag.split("_")
    return " ".join(w if i and w in _LOWER_WORDS else w.capitalize() for i, w in enumerate(words))


def missing_post_permissions(permissions: discord.Permissions) -> list[str]:
    """The ``POST_PERMISSIONS`` that ``permissions`` lacks, by their names in Discord's UI."""
    return [permission_name(flag) for flag in POST_PERMISSIONS if not getattr(permissions, flag)]
