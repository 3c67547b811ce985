"""``make demo``: the real bot against the local Discord emulator, with the bundled content.

In a terminal it is a prompt where you type commands as in Discord and click buttons by number;
without one (CI, a pipe) it runs a scripted tour of every command, prints what Discord would show
and exits 0, or 1 if the emulator saw any request that Discord's spec would reject. ``arrive`` writes
a new article file into the demo's scratch copy of the content and shows what the live alerts and
personal follows then post, in channels, threads and DMs.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import socket
import sys
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.rule import Rule
from rich.text import Text

from bot.app.client import NewsBot
from bot.demo.harness import running_bot
from bot.demo.render import Clickable, clickables, render_message
from bot.emulator import Emulator, InteractionResult, Perm
from bot.emulator.models import Channel, Guild, Member, Message
from bot.feeds.demo import demo_feeds
from bot.settings import DEFAULT_DATABASE_URL, Secret, Settings, WebSettings
from bot.store.fields import article_id

DEMO_DATABASE_URL = "sqlite:///data/demo.sqlite3"
CALLBACK_UPDATE_MESSAGE = 7
CALLBACK_DEFERRED_UPDATE = 6
OPTION = re.compile(r"(\w+):(.*?)(?=\s+\w+:|$)")
#: Where ``arrive`` writes its articles, inside the (scratch) content folder.
ARRIVALS_DIR = Path("_news") / "arrived"
#: How long ``arrive`` waits for the first post or DM, and for quiet after the last one: the alert
#: loop is woken by the reindex and the follows loop by the demo, so both act within milliseconds.
FIRST_POST_WAIT = 8.0
QUIET_AFTER = 1.0
#: What ``arrive`` writes when given no title (and the tour's arrival).
ARRIVING_TITLE = "Europa probe sees plumes rising through the southern ice"

HELP = """\
Type a command as you would in Discord, for example:
  /news topics                      /news topic name:Space sort:top
  /news search query:solar batteries topic:Climate
  /news latest                      /news article article:aurora
  /news related article:aurora
  /admin stats    /admin config min_quality:100    /admin audit    (you have Manage Server)
  /digest add channel:<id> topic:Space time:08:00 timezone:Europe/London    /digest list
  /alert add channel:<id> topic:Space style:thread    /alert list    /alert why article:<article id>
  /follow add topic:Space delivery:instant timezone:Europe/London    /follow list
  arrive topic:Space title:Probe lands on Europa    (a new article file: see the alert posts and DMs)
  complete /news topic name:cl      (show autocomplete choices)
  menu Check this out https://news.example.org/...   (the "Related news" message menu)
  3                                 (click component 3 of the last message)
  4 2                               (pick option 2 of menu 4)
  help, quit"""


@dataclass
class Session:
    emulator: Emulator
    bot: NewsBot
    guild: Guild
    channel: Channel
    member: Member
    console: Console
    current: Message | None = None
    clickables: tuple[Clickable, ...] = ()


def _payload(message: Message) -> dict[str, Any]:
    return {
        "content": message.content,
        "embeds": message.embeds,
        "components": message.components,
        "flags": message.flags,
    }


def parse_command(line: str) -> tuple[str, str | None, dict[str, str]]:
    """``/news topic name:AI sort:top`` -> ("news", "topic", {"name": "AI", "sort": "top"})."""
    head, _, rest = line.strip().lstrip("/").partition(" ")
    sub, _, tail = rest.strip().partition(" ")
    if ":" in sub or not sub:
        sub, tail = "", rest
    options = {key: value.strip() for key, value in OPTION.findall(tail.strip())}
    return head, sub or None, options


def show(session: Session, message: Message, header: str) -> None:
    renderable, found = render_message(_payload(message), header=header)
    session.console.print(renderable)
    session.current, session.clickables = message, tuple(found)


async def show_result(session: Session, result: InteractionResult, header: str) -> None:
    callback = await result.response()
    if callback.type in (CALLBACK_UPDATE_MESSAGE, CALLBACK_DEFERRED_UPDATE):
        message = await result.original_message() if result.original else session.current
        if message is not None:
            show(session, message, f"{header} (message updated)")
        return
    message = await result.original_message()
    where = "" if message.ephemeral else f" · posted in #{session.channel.name}"
    show(session, message, f"{header} · answered in {1000 * (result.elapsed or 0):.0f} ms{where}")


async def run_command(session: Session, line: str) -> None:
    name, sub, options = parse_command(line)
    result = await session.emulator.send_slash_command(
        session.guild, session.channel, session.member, name, options or None, subcommand=sub
    )
    await show_result(session, result, line)


async def complete(session: Session, line: str) -> None:
    name, sub, options = parse_command(line)
    if not options:
        session.console.print("Name the option to complete, e.g. complete /news topic name:sp")
        return
    focused = list(options)[-1]
    result = await session.emulator.send_autocomplete(
        session.guild, session.channel, session.member, name, options, focused=focused, subcommand=sub
    )
    choices = await result.choices()
    session.console.print(Text(f"autocomplete for {focused}:{options[focused]!r}", style="italic dim"))
    for choice in choices:
        session.console.print(f"  • {choice['name']}  [dim]→ {choice['value']}[/dim]")
    if not choices:
        session.console.print("  (no suggestions)")


async def click(session: Session, number: int, option: int | None = None) -> None:
    if session.current is None or not 1 <= number <= len(session.clickables):
        session.console.print("There is nothing with that number to click on the last message.")
        return
    target = session.clickables[number - 1]
    if target.kind == "select":
        if option is None or not 1 <= option <= len(target.options):
            for i, (_, label) in enumerate(target.options, 1):
                session.console.print(f"  {number} {i}: {label}")
            return
        value = target.options[option - 1][0]
        result = await session.emulator.select_menu(session.current, target.custom_id, [value], session.member)
        await show_result(session, result, f"chose {target.options[option - 1][1]}")
    else:
        result = await session.emulator.click_button(session.current, target.custom_id, session.member)
        await show_result(session, result, f"clicked {target.label}")


async def context_menu(session: Session, text: str) -> None:
    message = session.emulator.post_message(session.channel, session.member.user, text)
    result = await session.emulator.send_message_context_command(
        session.guild, session.channel, session.member, "Related news", message
    )
    await show_result(session, result, f"Apps → Related news on: {text}")


def help_text(session: Session) -> str:
    return HELP.replace("channel:<id>", f"channel:{session.channel.id}")


def _slug(title: str) -> str:
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:60].strip("-") or "article"


def arrival_path(session: Session, title: str) -> Path:
    """The file ``arrive`` writes for ``title``: a new name each time, so each arrival is a new
    article (rewriting a file is an edit, which alerts and follows rightly ignore)."""
    folder = session.bot.settings.content_dir / ARRIVALS_DIR
    stem, n = _slug(title), 1
    while (folder / f"{stem}.md").exists():
        n += 1
        stem = f"{_slug(title)}-{n}"
    return folder / f"{stem}.md"


def _article_file(
    title: str, topic: str, excerpt: str, published: datetime, url: str, related: Sequence[tuple[str, str]]
) -> str:
    """An article file as the content generator writes them (strings as JSON, which is YAML too)."""

    def q(value: str) -> str:
        return json.dumps(value, ensure_ascii=False)

    lines = [
        "---",
        "category: news",
        f"title: {q(title)}",
        f"excerpt: {q(excerpt)}",
        f"publishedDateTime: {published.isoformat()}",
        f"webUrl: {q(url)}",
        "type: article",
        "quality: 130",
        "heat: 60",
        "published: true",
        "provider:",
        "  name: Orbit Desk",
        "  domain: orbit.example.org",
        "topics:",
        f"  - {q(topic)}",
    ]
    if related:
        lines.append("related:")
        for related_title, related_url in related:
            lines += [f"  - title: {q(related_title)}", f"    webUrl: {q(related_url)}"]
    return "\n".join([*lines, "---", ""])


def _bot_messages(session: Session) -> list[tuple[str, Message]]:
    """Every message the bot has posted where the demo's people can see it: the server's channels
    and threads (threads after their channel, as they were created), and each member's DMs."""
    bot_id = session.emulator.bot_user.id
    found: list[tuple[str, Message]] = []
    for channel in list(session.guild.channels.values()):
        if channel.parent_id is not None:
            parent = session.guild.channels.get(channel.parent_id)
            where = f"in the thread “{channel.name}” of #{parent.name if parent else '?'}"
        else:
            where = f"posted in #{channel.name}"
        found.extend((where, m) for m in session.emulator.channel_messages(channel) if m.author.id == bot_id)
    for member in list(session.guild.members.values()):
        if member.id != bot_id:
            found.extend(
                (f"direct message to @{member.user.username}", m) for m in session.emulator.dm_messages(member)
            )
    return found


async def arrive(session: Session, options: dict[str, str]) -> None:
    """A new article file lands in the content folder (as a `git pull` or a feed fetch would bring
    it): reindex, and show what the alerts and follows post because of it."""
    title = options.get("title") or ARRIVING_TITLE
    topic = options.get("topic") or "Space"
    excerpt = (
        options.get("excerpt")
        or f"Fresh {topic} news: a file just added to the content folder, as a git pull adds one."
    )
    path = arrival_path(session, title)
    path.parent.mkdir(parents=True, exist_ok=True)
    url = f"https://orbit.example.org/arrived/{path.stem}"
    # Like the bundled articles, it links to others of its topic (what an alert's thread lists).
    key = await session.bot.db.articles.resolve_topic(topic)
    vis = await session.bot.visibility_for(session.guild.id)
    newest = (await session.bot.db.articles.latest(topic=key, vis=vis, limit=3)).items if key else ()
    text = _article_file(title, topic, excerpt, datetime.now(UTC), url, [(a.title, a.url) for a in newest])
    seen = {m.id for _, m in _bot_messages(session)}
    path.write_text(text, encoding="utf-8")
    report = await session.bot.reindex()  # at once, rather than at the watcher's next look
    # The follows loop looks for arrivals every few seconds: wake it now. By name, as the bot finds its
    # cogs (an extension is a module object of its own, so an imported class would never match).
    wake = getattr(session.bot.get_cog("FollowCog"), "wake", None)
    if callable(wake):
        wake()
    content_dir = session.bot.settings.content_dir
    session.console.print(
        Text(
            f"wrote {path.relative_to(content_dir.parent)}; reindexed: {report.added} new",
            style="italic dim",
        )
    )
    loop = asyncio.get_running_loop()
    start = last = loop.time()
    count = 0
    while True:
        await asyncio.sleep(0.05)
        new = [(where, m) for where, m in _bot_messages(session) if m.id not in seen]
        now = loop.time()
        if len(new) != count:
            count, last = len(new), now
        elif (count and now - last >= QUIET_AFTER) or (not count and now - start >= FIRST_POST_WAIT):
            break
    if not new:
        session.console.print(
            f"Nothing was posted: no alert or follow matches it. `/alert why article:{article_id(path.stem)}` says why."
        )
    for where, message in new:
        show(session, message, where)
    # Numbers click on the alert's card (its Related button), not on the DM shown last.
    card = next((m for _, m in new if clickables(m.components)), None)
    if card is not None:
        session.current, session.clickables = card, tuple(clickables(card.components))


async def dispatch(session: Session, line: str) -> bool:
    """Run one line; False means quit."""
    line = line.strip()
    if not line:
        return True
    if line in {"quit", "exit", "q"}:
        return False
    if line == "help":
        session.console.print(help_text(session))
    elif line.startswith("/"):
        await run_command(session, line)
    elif line.startswith("complete "):
        await complete(session, line.removeprefix("complete ").strip())
    elif line.startswith("menu "):
        await context_menu(session, line.removeprefix("menu ").strip())
    elif line == "arrive" or line.startswith("arrive "):
        await arrive(session, parse_command("/" + line)[2])
    elif re.fullmatch(r"\d+(\s+\d+)?", line):
        numbers = [int(n) for n in line.split()]
        await click(session, numbers[0], numbers[1] if len(numbers) > 1 else None)
    else:
        session.console.print("Not a command. Type help for examples.")
    return True


async def _first_article_id(session: Session, text: str) -> str:
    choices = session.bot.catalog.complete_articles(text, await session.bot.visibility_for(session.guild.id), limit=1)
    return choices[0].id if choices else text


async def _digest_steps(session: Session) -> list[tuple[str, str]]:
    plain = session.emulator.add_text_channel(session.guild, "no-embeds", bot_deny=Perm.EMBED_LINKS)
    await session.emulator.wait_until(lambda: session.bot.get_channel(plain.id), what="the new channel")
    where = f"channel:{session.channel.id}"
    return [
        (
            "Moderators: a weekly digest of one topic in a channel",
            f"/digest add {where} topic:space time:08:00 timezone:Europe/London days:weekly",
        ),
        ("Autocomplete while typing a timezone", "complete /digest add timezone:new y"),
        ("Every digest of this server, with its next run in your own timezone", "/digest list"),
        ("What the digest would post now, shown only to you", "/digest preview digest:Space"),
        ("Post it now: those articles count as delivered", "/digest send digest:Space"),
        (
            "A channel where the bot may not embed links is refused, saying why",
            f"/digest add channel:{plain.id} topic:Space time:08:00",
        ),
    ]


def _alert_and_follow_steps(session: Session) -> list[tuple[str, str]]:
    arriving = article_id(arrival_path(session, ARRIVING_TITLE).stem)
    return [
        (
            "Moderators: a live alert posts each new Space article as it arrives, with a thread",
            f"/alert add channel:{session.channel.id} topic:Space style:thread",
        ),
        ("Every alert of this server: filters, channel, state, posts in the last 24 h", "/alert list"),
        (
            "Members: follow a topic for yourself, each new article by direct message",
            "/follow add topic:Space delivery:instant timezone:Europe/London",
        ),
        ("Your follows: only you can see them", "/follow list"),
        (
            "A new Space article file arrives: the alert posts it with a thread, the follow sends a DM",
            f"arrive topic:Space title:{ARRIVING_TITLE}",
        ),
        ("Why an article was (or was not) posted, for each alert", f"/alert why article:{arriving}"),
    ]


async def tour(session: Session) -> None:
    """Every command, the buttons, the context menu and the error answers, in a readable order."""
    aurora = await _first_article_id(session, "aurora")
    psa = await _first_article_id(session, "giveaway")
    article = await session.bot.db.articles.get(aurora, await session.bot.visibility_for(session.guild.id))
    steps: list[tuple[str, str]] = [
        ("Every topic with its number of articles", "/news topics"),
        ("Autocomplete while typing a topic", "complete /news topic name:sp"),
        ("The latest articles about one topic", "/news topic name:Space"),
        ("Next page", "2"),
        ("Choose the second article on the page", "1 2"),
        ("Related to the chosen article", "3"),
        ("Top-rated instead of latest", "/news topic name:Climate sort:top"),
        ("Share the chosen article publicly", "4"),
        ("Full-text search", "/news search query:solar batteries"),
        ("Search within a topic", "/news search query:open topic:Security"),
        ("The newest articles", "/news latest"),
        ("Autocomplete while typing an article", "complete /news article article:auro"),
        ("One article", f"/news article article:{aurora}"),
        ("Related articles", f"/news related article:{aurora}"),
        ("Article text cannot ping anybody", f"/news article article:{psa}"),
        ("A link in any message: Apps → Related news", f"menu Did you see this? {article.url if article else ''}"),
        ("A misspelt topic gets suggestions", "/news topic name:Spce"),
        ("Nothing found gets a hint", "/news search query:zzxqv"),
        *await _digest_steps(session),
        *_alert_and_follow_steps(session),
        ("Moderators: hide an article in this server only", f"/admin hide article:{psa} reason:scam bait"),
        ("Hidden here: members no longer find it", f"/news article article:{psa}"),
        ("Server settings: leave out low-quality sources", "/admin config min_quality:100"),
        ("Who changed what: the audit log", "/admin audit"),
        ("The store and the bot at a glance", "/admin stats"),
    ]
    for title, line in steps:
        session.console.print(Rule(title, style="green"))
        session.console.print(Text(f"> {line}", style="bold"))
        await dispatch(session, line)


async def interactive(session: Session) -> None:
    session.console.print(help_text(session))
    loop = asyncio.get_running_loop()
    while True:
        try:
            line = await loop.run_in_executor(None, input, "newsbot> ")
        except EOFError:
            return
        try:
            if not await dispatch(session, line):
                return
        except (LookupError, ValueError, PermissionError, TimeoutError) as exc:
            session.console.print(f"[red]{exc}[/red]")


def with_web_pages(settings: Settings, emulator: Emulator, moderator: Member) -> Settings:
    """The web pages and control panel on a free local port, logging in through the emulator's
    OAuth2, unless the operator configured a status server of their own."""
    if settings.web is not None or settings.http_port is not None:
        return settings
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    web = WebSettings(
        base_url=f"http://127.0.0.1:{port}",
        client_id=emulator.oauth.client_id,
        client_secret=Secret(emulator.oauth.client_secret),
        session_secret=Secret(secrets.token_urlsafe(32)),
        public=True,
    )
    emulator.oauth.allow_redirect(web.redirect_uri)
    emulator.oauth.default_user_id = moderator.id
    return replace(settings, http_host="127.0.0.1", http_port=port, web=web)


async def _demo(settings: Settings, console: Console, scripted: bool) -> int:
    async with Emulator() as emulator, demo_feeds(settings) as (settings, fetch):
        guild = emulator.add_guild("newsbot demo")
        channel = emulator.add_text_channel(guild, "news")
        member = emulator.add_member(guild, "you", permissions=Perm.MANAGE_GUILD)
        settings = with_web_pages(settings, emulator, member)
        console.print(f"Local Discord emulator on {emulator.api_base}; indexing {settings.content_dir} …")
        async with running_bot(emulator, settings) as bot:
            if settings.web is not None:
                console.print(
                    f"Web pages: {settings.web.base_url}/ · control panel: {settings.web.base_url}/panel "
                    "(log in as “You”, the demo moderator, on the emulator's Discord consent page)"
                )
            report = bot.last_index
            if report is not None:
                console.print(
                    f"Indexed {report.added + report.changed + report.unchanged} articles "
                    f"({report.added} new, {report.changed} changed, {len(report.rejected)} files rejected) "
                    f"in {report.seconds:.2f}s; {len(emulator.registered_commands())} commands registered."
                )
            fetched = await fetch()
            await bot.reindex()  # at once, rather than at the watcher's next look
            console.print(
                f"Fetched {len(fetched.written)} articles from a feed on a local server into a scratch copy of "
                f"the content (see `newsbot feeds`); they lead /news latest."
            )
            session = Session(emulator, bot, guild, channel, member, console)
            if scripted:
                await tour(session)
            else:
                await interactive(session)
        console.print(Rule("Done", style="green"))
        if emulator.violations:
            for violation in emulator.violations:
                console.print(f"[red]spec violation: {violation}[/red]")
            return 1
        console.print("The emulator checked every request against Discord's API spec: 0 violations.")
        return 0


def run_demo(settings: Settings) -> int:
    if settings.database_url == DEFAULT_DATABASE_URL:
        settings = replace(settings, database_url=DEMO_DATABASE_URL)  # never touch a real index
    scripted = not (sys.stdin.isatty() and sys.stdout.isatty())
    console = Console(width=110, highlight=False, soft_wrap=False) if scripted else Console(highlight=False)
    return asyncio.run(_demo(settings, console, scripted))
