"""A topic as a member typed it, checked against the store and the server's blocks: one answer for
``/news``, ``/digest``, ``/alert`` and the web panel."""

from __future__ import annotations

from typing import Protocol

from bot.db.types import Visibility
from bot.errors import InvalidInput
from bot.render.text import escape_markdown, single_line, truncate
from bot.store.keys import topic_key


class TopicNames(Protocol):
    async def resolve_topic(self, name: str) -> str | None: ...


class ClosestTopics(Protocol):
    def closest_topics(self, text: str, n: int = 3) -> list[str]: ...


def quote(text: str, limit: int = 80) -> str:
    """Echo what a member typed: one line, shortened, and unable to format or ping."""
    return escape_markdown(truncate(single_line(text), limit))


async def resolve_topic(articles: TopicNames, catalog: ClosestTopics, raw: str, vis: Visibility) -> str:
    """The store's spelling of a topic, or ``InvalidInput`` (field ``topic``): the closest topics
    when it is unknown, a plain statement when this server blocked it."""
    name = await articles.resolve_topic(raw.strip())
    if name is not None:
        if topic_key(name) in vis.blocked_topics:
            raise InvalidInput(
                f"The moderators of this server have blocked the topic **{escape_markdown(name)}**.", field="topic"
            )
        return name
    closest = catalog.closest_topics(raw, 3)
    hint = (
        "Did you mean " + ", ".join(f"**{escape_markdown(t)}**" for t in closest) + "?"
        if closest
        else "Pick one from the suggestions while typing."
    )
    raise InvalidInput(f"There is no topic called “{quote(raw)}”. {hint} `/news topics` lists them all.", field="topic")
