"""Interactive message components for news results: paging, choosing, related and sharing.

Only the member who ran the command may use the components (others are told so privately), and
the components are disabled when the view expires, before the interaction token (15 minutes) does.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, cast

import discord

from bot.app.respond import error_embed, report_error, send_private
from bot.db.types import ArticleSummary, Page
from bot.errors import UserFacingError
from bot.render.embeds import list_embed

log = logging.getLogger(__name__)

VIEW_TIMEOUT = 600.0
MAX_BUTTON_URL = 512  # Discord's limit for link buttons

PageSource = Callable[[int, int], Awaitable[Page]]


class ArticleActions(Protocol):
    """What the components need from the cog, without the view knowing about the database."""

    async def related_message(self, interaction: discord.Interaction[Any], article_id: str) -> discord.Embed: ...

    async def share_message(
        self, interaction: discord.Interaction[Any], article_id: str
    ) -> tuple[discord.Embed, discord.ui.View | None]: ...


def link_button(url: str, label: str = "Read at source") -> discord.ui.Button[Any] | None:
    if not url.startswith(("https://", "http://")) or len(url) > MAX_BUTTON_URL:
        return None
    return discord.ui.Button(style=discord.ButtonStyle.link, url=url, label=label, emoji="🔗")


def link_view(url: str) -> discord.ui.View | None:
    button = link_button(url)
    if button is None:
        return None
    view = discord.ui.View(timeout=None)
    view.add_item(button)
    return view


class OwnedView(discord.ui.View):
    def __init__(self, owner_id: int, actions: ArticleActions) -> None:
        super().__init__(timeout=VIEW_TIMEOUT)
        self.owner_id = owner_id
        self.actions = actions
        self.origin: discord.Interaction[Any] | None = None

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        if interaction.user.id == self.owner_id:
            return True
        await send_private(
            interaction,
            error_embed("Only the person who ran this command can use these buttons. Try the command yourself!"),
        )
        return False

    async def on_timeout(self) -> None:
        for item in self.children:
            if isinstance(item, discord.ui.Button | discord.ui.Select) and not (
                isinstance(item, discord.ui.Button) and item.url
            ):
                item.disabled = True
        if self.origin is not None:
            try:
                await self.origin.edit_original_response(view=self)
            except discord.HTTPException as exc:  # the message may be gone; nothing to disable then
                log.debug("could not disable expired buttons: %s", exc)

    async def on_error(
        self, interaction: discord.Interaction[Any], error: Exception, item: discord.ui.Item[Any]
    ) -> None:
        # Named as the member saw it ("Next", "Choose an article"); the custom id is a random token.
        name = getattr(item, "label", None) or getattr(item, "placeholder", None) or getattr(item, "custom_id", item)
        await report_error(interaction, error, what=f"component {name!r}")

    async def _related(self, interaction: discord.Interaction[Any], article_id: str) -> None:
        embed = await self.actions.related_message(interaction, article_id)
        await interaction.response.send_message(embed=embed, ephemeral=True)

    async def _share(self, interaction: discord.Interaction[Any], article_id: str) -> None:
        # A component's CHANNEL_MESSAGE_WITH_SOURCE response without the ephemeral flag is a new,
        # public message in the channel: sharing is a deliberate act by the member who asked.
        embed, view = await self.actions.share_message(interaction, article_id)
        if view is None:
            await interaction.response.send_message(embed=embed)
        else:
            await interaction.response.send_message(embed=embed, view=view)


class ArticleView(OwnedView):
    """Buttons under one article: related, share, read at the source."""

    def __init__(self, owner_id: int, actions: ArticleActions, article_id: str, url: str) -> None:
        super().__init__(owner_id, actions)
        self.article_id = article_id
        button = link_button(url)
        if button is not None:
            self.add_item(button)

    @discord.ui.button(label="Related", emoji="🧭", style=discord.ButtonStyle.secondary)
    async def related(self, interaction: discord.Interaction[Any], button: discord.ui.Button[Any]) -> None:
        await self._related(interaction, self.article_id)

    @discord.ui.button(label="Share", emoji="📣", style=discord.ButtonStyle.primary)
    async def share(self, interaction: discord.Interaction[Any], button: discord.ui.Button[Any]) -> None:
        await self._share(interaction, self.article_id)


class ResultsView(OwnedView):
    """A compact list with paging. The chosen article (first on the page unless the member picks
    another) is the one Related, Share and the link act on."""

    def __init__(
        self,
        owner_id: int,
        actions: ArticleActions,
        *,
        title: str,
        source: PageSource,
        first: Page,
        page_size: int,
    ) -> None:
        super().__init__(owner_id, actions)
        self.title = title
        self.source = source
        self.page = first
        self.page_size = page_size
        self.selected = 0
        self.link: discord.ui.Button[Any] | None = None
        self._refresh_components()

    @property
    def chosen(self) -> ArticleSummary | None:
        return self.page.items[self.selected] if self.page.items else None

    def embed(self) -> discord.Embed:
        return list_embed(
            self.title,
            self.page.items,
            offset=self.page.offset,
            has_more=self.page.has_more,
            selected=self.selected,
            total=self.page.total,
        )

    def _refresh_components(self) -> None:
        self.previous.disabled = self.page.offset == 0
        self.next.disabled = not self.page.has_more
        choose = cast("discord.ui.Select[Any]", self.choose)
        choose.options = [
            discord.SelectOption(
                label=f"{self.page.offset + i + 1}. {item.title}"[:100],
                value=str(i),
                description=f"{item.provider_name} · {item.published_at:%Y-%m-%d}"[:100],
                default=i == self.selected,
            )
            for i, item in enumerate(self.page.items)
        ]
        choose.disabled = not self.page.items
        for action in (self.related, self.share):
            action.disabled = self.chosen is None
        if self.link is not None:
            self.remove_item(self.link)
            self.link = None
        if self.chosen is not None and (link := link_button(self.chosen.url, "Read")) is not None:
            self.link = link
            self.add_item(link)

    async def _show(self, interaction: discord.Interaction[Any]) -> None:
        self._refresh_components()
        await interaction.response.edit_message(embed=self.embed(), view=self)

    async def _turn(self, interaction: discord.Interaction[Any], offset: int) -> None:
        page = await self.source(max(offset, 0), self.page_size)
        if not page.items and offset > 0:
            raise UserFacingError("There are no more results.")
        self.page, self.selected = page, 0
        await self._show(interaction)

    @discord.ui.select(placeholder="Choose an article", min_values=1, max_values=1, row=0)
    async def choose(self, interaction: discord.Interaction[Any], select: discord.ui.Select[Any]) -> None:
        index = int(select.values[0])
        if not 0 <= index < len(self.page.items):
            raise UserFacingError("That choice is no longer on this page.")
        self.selected = index
        await self._show(interaction)

    @discord.ui.button(label="Previous", emoji="◀️", style=discord.ButtonStyle.secondary, row=1)
    async def previous(self, interaction: discord.Interaction[Any], button: discord.ui.Button[Any]) -> None:
        await self._turn(interaction, self.page.offset - self.page_size)

    @discord.ui.button(label="Next", emoji="▶️", style=discord.ButtonStyle.secondary, row=1)
    async def next(self, interaction: discord.Interaction[Any], button: discord.ui.Button[Any]) -> None:
        await self._turn(interaction, self.page.offset + self.page_size)

    @discord.ui.button(label="Related", emoji="🧭", style=discord.ButtonStyle.secondary, row=1)
    async def related(self, interaction: discord.Interaction[Any], button: discord.ui.Button[Any]) -> None:
        if self.chosen is not None:
            await self._related(interaction, self.chosen.id)

    @discord.ui.button(label="Share", emoji="📣", style=discord.ButtonStyle.primary, row=1)
    async def share(self, interaction: discord.Interaction[Any], button: discord.ui.Button[Any]) -> None:
        if self.chosen is not None:
            await self._share(interaction, self.chosen.id)
