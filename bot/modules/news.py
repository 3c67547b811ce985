"""``/news``: look articles up by topic, full-text search, latest and related; a context menu finds
the article behind a link in any message."""

from __future__ import annotations

import re
from typing import Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.app.client import NewsBot
from bot.app.respond import reply, within_deadline
from bot.db.types import Page, Visibility
from bot.errors import UserFacingError
from bot.modules._lookup import quote, resolve_topic, topic_choices
from bot.modules._views import ArticleView, PageSource, ResultsView, link_view
from bot.render.embeds import article_embed, related_embed, topics_embed
from bot.render.limits import MAX_CHOICES, choice_name
from bot.store.models import Article

PAGE_SIZE = 5
RELATED_LIMIT = 10
URL_PATTERN = re.compile(r"https?://[^\s<>()\"']+")


class News(commands.GroupCog, group_name="news", group_description="Look up news articles"):
    def __init__(self, bot: NewsBot) -> None:
        self.bot = bot
        self.context_menu = app_commands.ContextMenu(name="Related news", callback=self.related_news_menu)
        super().__init__()

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.context_menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.context_menu.name, type=self.context_menu.type)

    # --- helpers ----------------------------------------------------------------------------

    async def _vis(self, interaction: discord.Interaction[Any]) -> Visibility:
        return await self.bot.visibility_for(interaction.guild_id)

    async def _ephemeral(self, interaction: discord.Interaction[Any]) -> bool:
        """Lookups answer privately so channels are not flooded (unless the server or the deployment
        chose public answers); sharing is a deliberate act."""
        return not await self.bot.public_results(interaction.guild_id)

    async def _article(self, raw: str, vis: Visibility) -> Article:
        """The option's value is an id when picked from autocomplete, but members can also type a
        title or paste a link: accept those too."""
        value = raw.strip()
        articles = self.bot.db.articles
        article = await articles.get(value, vis)
        if article is None and URL_PATTERN.fullmatch(value):
            article = await articles.get_by_url(value, vis)
        if article is None and value:
            choices = self.bot.catalog.complete_articles(value, vis, limit=1)
            if choices:
                article = await articles.get(choices[0].id, vis)
        if article is None:
            raise UserFacingError(f"No article matches “{quote(raw)}”. Pick one from the suggestions while typing.")
        return article

    async def _send_list(
        self,
        interaction: discord.Interaction[Any],
        *,
        title: str,
        source: PageSource,
        empty: str,
    ) -> None:
        ephemeral = await self._ephemeral(interaction)
        first: Page = await within_deadline(interaction, source(0, PAGE_SIZE), ephemeral=ephemeral)
        if not first.items:
            raise UserFacingError(empty)
        view = ResultsView(interaction.user.id, self, title=title, source=source, first=first, page_size=PAGE_SIZE)
        await reply(interaction, embed=view.embed(), view=view, ephemeral=ephemeral)
        view.origin = interaction

    # --- ArticleActions, used by the views -----------------------------------------------

    async def related_message(self, interaction: discord.Interaction[Any], article_id: str) -> discord.Embed:
        vis = await self._vis(interaction)
        article = await self.bot.db.articles.get(article_id, vis)
        if article is None:
            raise UserFacingError("That article is no longer available.")
        items = await self.bot.db.articles.related(article.id, vis, RELATED_LIMIT)
        return related_embed(article, items)

    async def share_message(
        self, interaction: discord.Interaction[Any], article_id: str
    ) -> tuple[discord.Embed, discord.ui.View | None]:
        article = await self.bot.db.articles.get(article_id, await self._vis(interaction))
        if article is None:
            raise UserFacingError("That article is no longer available.")
        return article_embed(article), link_view(article.url)

    # --- autocomplete -----------------------------------------------------------------------

    async def topic_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        return await topic_choices(self.bot, interaction, current)

    async def article_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        vis = await self._vis(interaction)
        return [
            app_commands.Choice(name=choice_name(c.title, c.id), value=c.id)
            for c in self.bot.catalog.complete_articles(current, vis, limit=MAX_CHOICES)
        ]

    # --- commands ---------------------------------------------------------------------------

    @app_commands.command(name="topic")
    @app_commands.describe(name="The topic (start typing to see suggestions)", sort="Latest first, or top-rated first")
    @app_commands.autocomplete(name=topic_autocomplete)
    async def topic(
        self,
        interaction: discord.Interaction[NewsBot],
        name: app_commands.Range[str, 1, 100],
        sort: Literal["latest", "top"] = "latest",
    ) -> None:
        """Articles about one topic, latest or top first"""
        vis = await self._vis(interaction)
        topic = await resolve_topic(self.bot, name, vis)

        async def source(offset: int, limit: int) -> Page:
            return await self.bot.db.articles.by_topic(topic, sort=sort, vis=vis, limit=limit, offset=offset)

        label = "Top" if sort == "top" else "Latest"
        await self._send_list(
            interaction, title=f"{label} in {topic}", source=source, empty=f"There are no articles about {topic} yet."
        )

    @app_commands.command(name="search")
    @app_commands.describe(query="Words to look for", topic="Only articles with this topic")
    @app_commands.autocomplete(topic=topic_autocomplete)
    async def search(
        self,
        interaction: discord.Interaction[NewsBot],
        query: app_commands.Range[str, 1, 200],
        topic: app_commands.Range[str, 1, 100] | None = None,
    ) -> None:
        """Full-text search over titles, excerpts, topics and sources"""
        if not query.strip():
            raise UserFacingError("Type at least one word to search for.")
        vis = await self._vis(interaction)
        topic_name = await resolve_topic(self.bot, topic, vis) if topic else None

        async def source(offset: int, limit: int) -> Page:
            return await self.bot.db.articles.search(query, topic=topic_name, vis=vis, limit=limit, offset=offset)

        scope = f" in {topic_name}" if topic_name else ""
        await self._send_list(
            interaction,
            title=f"Search: {query}{scope}",
            source=source,
            empty=f"Nothing matches “{quote(query)}”{scope}. Try fewer or different words"
            + (", or search without the topic." if topic_name else "."),
        )

    @app_commands.command(name="latest")
    @app_commands.describe(topic="Only articles with this topic")
    @app_commands.autocomplete(topic=topic_autocomplete)
    async def latest(
        self, interaction: discord.Interaction[NewsBot], topic: app_commands.Range[str, 1, 100] | None = None
    ) -> None:
        """The newest articles, optionally for one topic"""
        vis = await self._vis(interaction)
        topic_name = await resolve_topic(self.bot, topic, vis) if topic else None

        async def source(offset: int, limit: int) -> Page:
            return await self.bot.db.articles.latest(topic=topic_name, vis=vis, limit=limit, offset=offset)

        await self._send_list(
            interaction,
            title=f"Latest in {topic_name}" if topic_name else "Latest news",
            source=source,
            empty="There are no articles yet." if not topic_name else f"There are no articles about {topic_name} yet.",
        )

    @app_commands.command(name="article")
    @app_commands.describe(article="The article (start typing its title)")
    @app_commands.autocomplete(article=article_autocomplete)
    async def article(
        self, interaction: discord.Interaction[NewsBot], article: app_commands.Range[str, 1, 200]
    ) -> None:
        """Show one article with its excerpt, image and source link"""
        found = await self._article(article, await self._vis(interaction))
        view = ArticleView(interaction.user.id, self, found.id, found.url)
        await reply(interaction, embed=article_embed(found), view=view, ephemeral=await self._ephemeral(interaction))
        view.origin = interaction

    @app_commands.command(name="related")
    @app_commands.describe(article="The article (start typing its title)")
    @app_commands.autocomplete(article=article_autocomplete)
    async def related(
        self, interaction: discord.Interaction[NewsBot], article: app_commands.Range[str, 1, 200]
    ) -> None:
        """Articles related to one article"""
        vis = await self._vis(interaction)
        found = await self._article(article, vis)
        items = await self.bot.db.articles.related(found.id, vis, RELATED_LIMIT)
        await reply(interaction, embed=related_embed(found, items), ephemeral=await self._ephemeral(interaction))

    @app_commands.command(name="topics")
    async def topics(self, interaction: discord.Interaction[NewsBot]) -> None:
        """Every topic with its number of articles"""
        topics = await self.bot.db.articles.topics(await self._vis(interaction))
        if not topics:
            raise UserFacingError("There are no topics yet: the news store is empty.")
        await reply(interaction, embed=topics_embed(topics), ephemeral=await self._ephemeral(interaction))

    async def related_news_menu(self, interaction: discord.Interaction[NewsBot], message: discord.Message) -> None:
        """Message context menu: the article behind the first link in the message that we know."""
        vis = await self._vis(interaction)
        urls = URL_PATTERN.findall(message.content or "")
        urls += [e.url for e in message.embeds if e.url]
        if not urls:
            raise UserFacingError("That message has no link in it. Use this on a message that links to an article.")
        for url in dict.fromkeys(urls[:10]):
            article = await self.bot.db.articles.get_by_url(url.rstrip(".,;:!?"), vis)
            if article is not None:
                items = await self.bot.db.articles.related(article.id, vis, RELATED_LIMIT)
                await reply(interaction, embed=related_embed(article, items), ephemeral=True)
                return
        raise UserFacingError(
            "I don't know the article behind the links in that message. `/news search` may find something similar."
        )


async def setup(bot: NewsBot) -> None:
    await bot.add_cog(News(bot))
