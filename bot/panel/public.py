"""The public pages: latest, topics, one topic (and its Atom feed), search, one article.

Off unless ``NEWSBOT_WEB_PUBLIC=true`` (404 otherwise, except ``/``, which then offers the login).
They show what the deployment's default visibility allows (``Policy.default_visibility``: what a
direct message to the bot would show), through the same repository calls as ``/news``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from bot.db.types import Page, Visibility
from bot.panel import atom
from bot.panel.app import Panel

PAGE_SIZE = 20
#: Deep pages cost a long OFFSET scan; nobody reads page 250 of a topic.
MAX_PAGE = 250
#: As ``/news search query`` and ``/news topic name`` accept.
MAX_QUERY_CHARS = 200
MAX_TOPIC_CHARS = 100
RELATED_LIMIT = 10
FEED_ITEMS = 30
FEED_AUTHOR = "newsbot"


def _page_number(request: web.Request) -> int:
    raw = request.query.get("page", "1")
    try:
        page = int(raw)
    except ValueError:
        raise web.HTTPBadRequest(text="page must be a whole number") from None
    if not 1 <= page <= MAX_PAGE:
        raise web.HTTPBadRequest(text=f"page must be from 1 to {MAX_PAGE}")
    return page


class PublicPages:
    def __init__(self, panel: Panel) -> None:
        self.panel = panel

    @property
    def _vis(self) -> Visibility:
        return self.panel.bot.policy.default_visibility

    def _require_public(self) -> None:
        if not self.panel.web.public:
            raise web.HTTPNotFound()

    def _list(
        self, request: web.Request, *, title: str, page: Page, number: int, empty: str, **extra: Any
    ) -> web.Response:
        return self.panel.render(
            request,
            "articles.html",
            title=title,
            items=page.items,
            number=number,
            has_more=page.has_more,
            empty=empty,
            **extra,
        )

    async def home(self, request: web.Request) -> web.Response:
        if not self.panel.web.public:
            return self.panel.render(request, "landing.html", title="newsbot")
        number = _page_number(request)
        page = await self.panel.bot.db.articles.latest(vis=self._vis, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE)
        return self._list(request, title="Latest news", page=page, number=number, empty="No articles yet.")

    async def topics(self, request: web.Request) -> web.Response:
        self._require_public()
        topics = await self.panel.bot.db.articles.topics(self._vis)
        return self.panel.render(request, "topics.html", title="Topics", topics=topics)

    async def _topic_name(self, request: web.Request) -> str:
        raw = request.match_info["topic"]
        name = await self.panel.bot.db.articles.resolve_topic(raw.strip()) if len(raw) <= MAX_TOPIC_CHARS else None
        if name is None:
            catalog = getattr(self.panel.bot, "catalog", None)
            closest = catalog.closest_topics(raw, 3) if catalog is not None else []
            raise _not_found(
                self.panel, request, "No such topic", f"There is no topic called “{raw[:MAX_TOPIC_CHARS]}”.", closest
            )
        return name

    async def topic(self, request: web.Request) -> web.Response:
        self._require_public()
        name = await self._topic_name(request)
        number = _page_number(request)
        page = await self.panel.bot.db.articles.by_topic(
            name, vis=self._vis, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE
        )
        return self._list(
            request,
            title=f"Latest in {name}",
            page=page,
            number=number,
            empty=f"There are no articles about {name} yet.",
            feed=atom.topic_path(name) + "/feed.atom",
        )

    async def feed(self, request: web.Request) -> web.Response:
        self._require_public()
        name = await self._topic_name(request)
        page = await self.panel.bot.db.articles.by_topic(name, vis=self._vis, limit=FEED_ITEMS)
        body = atom.topic_feed(self.panel.web.base_url, name, page.items, author=FEED_AUTHOR, now=datetime.now(UTC))
        return web.Response(body=body, content_type=atom.CONTENT_TYPE, charset="utf-8")

    async def search(self, request: web.Request) -> web.Response:
        self._require_public()
        query = " ".join(request.query.get("q", "").split())
        if len(query) > MAX_QUERY_CHARS:
            return self.panel.render(
                request,
                "articles.html",
                status=400,
                title="Search",
                items=(),
                number=1,
                has_more=False,
                empty="",
                query=query,
                error=f"Search for at most {MAX_QUERY_CHARS} characters.",
            )
        if not query:
            return self._list(request, title="Search", page=Page((), 0, False), number=1, empty="", query="")
        number = _page_number(request)
        page = await self.panel.bot.db.articles.search(
            query, vis=self._vis, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE
        )
        return self._list(
            request,
            title=f"Search: {query}",
            page=page,
            number=number,
            empty="Nothing found. Try other words.",
            query=query,
        )

    async def article(self, request: web.Request) -> web.Response:
        self._require_public()
        article_id = request.match_info["article_id"]
        article = await self.panel.bot.db.articles.get(article_id, self._vis)
        if article is None:
            raise _not_found(
                self.panel, request, "No such article", "That article does not exist or is not shown here."
            )
        related = await self.panel.bot.db.articles.related(article.id, self._vis, RELATED_LIMIT)
        return self.panel.render(request, "article.html", title=article.title, article=article, related=related)


def _not_found(
    panel: Panel, request: web.Request, title: str, text: str, suggestions: list[str] | None = None
) -> web.HTTPException:
    response = panel.render(request, "message.html", status=404, title=title, text=text, suggestions=suggestions or [])
    return web.HTTPNotFound(text=response.text, content_type="text/html")
