"""The offline command line: validate, index and query the article store without Discord.

Every subcommand returns an exit code instead of raising: bad input is reported as one line,
never as a traceback. ``--json`` output carries each article's ``id``, which ``article`` and
``related`` accept.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Callable, Coroutine, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, TextIO

from bot import __version__, logs
from bot.db import DatabaseHandle as Database
from bot.db import open_database
from bot.db.errors import DatabaseConnectError
from bot.db.types import ArticleSummary, IndexReport, Page, RelatedItem, Visibility
from bot.logs import LogFormat
from bot.settings import Settings, SettingsError
from bot.store.models import Article
from bot.store.names import printable

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_REJECTED = 1
EXIT_USAGE = 2


class CliError(Exception):
    """A problem to report as one line on stderr, with an exit code."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsbot",
        description="newsbot: serve a store of news articles on Discord, or query it offline.",
    )
    parser.add_argument("--version", action="version", version=f"newsbot {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="also show warnings and debug logs")
    # -v works after the subcommand too (`newsbot check -v`); SUPPRESS keeps the top-level value.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("check", parents=[common], help="validate article files; exit 1 if any is rejected")
    p.add_argument("dir", nargs="?", type=Path, help="content directory (default: NEWSBOT_CONTENT_DIR)")

    p = sub.add_parser(
        "index", parents=[common], help="(re)index the content directory into the database, incrementally"
    )
    p.add_argument("dir", nargs="?", type=Path, help="content directory (default: NEWSBOT_CONTENT_DIR)")

    p = sub.add_parser("search", parents=[common], help="full-text search")
    p.add_argument("query", help="words to look for")
    p.add_argument("--topic", help="only articles with this topic")
    p.add_argument("--limit", type=_positive_int, default=10, help="how many results (default 10, max 100)")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = sub.add_parser("topics", parents=[common], help="list topics with article counts")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = sub.add_parser("article", parents=[common], help="show one article by id")
    p.add_argument("id", help="article id, as printed by search or topics --json")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = sub.add_parser("related", parents=[common], help="articles related to one article")
    p.add_argument("id", help="article id")
    p.add_argument("--limit", type=_positive_int, default=10, help="how many results (default 10, max 100)")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    _add_feeds_parser(sub, common)
    _add_db_parser(sub, common)

    sub.add_parser("run", parents=[common], help="run the Discord bot (needs DISCORD_TOKEN)")
    sub.add_parser("sync", parents=[common], help="register the slash commands with Discord now (needs DISCORD_TOKEN)")
    sub.add_parser(
        "demo", parents=[common], help="run the bot against the local Discord emulator with the bundled content"
    )
    return parser


def _positive_int(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {raw!r}") from None
    if not 1 <= value <= 100:
        raise argparse.ArgumentTypeError(f"expected a number from 1 to 100, got {value}")
    return value


def configure_logging(level: str, *, fmt: LogFormat = "text", stream: TextIO | None = None) -> None:
    """Configure handlers once, for the whole process (``bot.logs``: text or JSON lines)."""
    logs.configure_logging(level, fmt=fmt, stream=stream)


def main(argv: Sequence[str] | None = None, env: dict[str, str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    environ = dict(os.environ if env is None else env)
    try:
        settings = Settings.from_env(environ)
    except SettingsError as exc:
        print(f"newsbot: configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    configure_logging(
        "DEBUG" if args.verbose else settings.log_level if args.command in {"run", "sync"} else "WARNING",
        fmt=settings.log_format,
    )
    handler = _COMMANDS[str(args.command)]
    try:
        return handler(args, settings)
    except CliError as exc:
        print(f"newsbot: {printable(str(exc))}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return 130


# --- check ---------------------------------------------------------------------------------


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    from bot.store.loader import load_directory

    root = _content_dir(args.dir, settings)
    result = load_directory(root)
    errors = [issue for issue in result.issues if issue.severity == "error"]
    warnings = [issue for issue in result.issues if issue.severity == "warning"]
    # Issues print through ``printable`` (LoadIssue.__str__), as does every path below: a hostile
    # file name must not be able to send escape sequences to the terminal or fake a line.
    for issue in errors:
        print(issue)
    if args.verbose:
        for issue in warnings:
            print(issue)
    files = len(result.articles) + len(errors) + sum(1 for w in warnings if w.reason.startswith("duplicate of"))
    print(
        f"{files} files checked in {printable(str(root))}: {len(result.articles)} articles, {len(errors)} rejected, "
        f"{len(warnings)} warnings" + ("" if args.verbose or not warnings else " (use -v to list them)"),
        file=sys.stderr,
    )
    return EXIT_REJECTED if errors else EXIT_OK


def _content_dir(arg: Path | None, settings: Settings) -> Path:
    root = arg if arg is not None else settings.content_dir
    if not root.exists():
        raise CliError(f"content directory '{printable(str(root))}' does not exist")
    if not root.is_dir():
        raise CliError(f"'{printable(str(root))}' is not a directory")
    return root


# --- index ---------------------------------------------------------------------------------


def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    root = _content_dir(args.dir, settings)
    report = asyncio.run(_index(settings, root))
    for issue in report.rejected:
        print(issue)
    if args.verbose:
        for issue in report.warnings:
            print(issue)
    print(_describe_report(report, root), file=sys.stderr)
    return EXIT_REJECTED if report.rejected else EXIT_OK


def _describe_report(report: IndexReport, root: Path) -> str:
    return (
        f"indexed {printable(str(root))} in {report.seconds:.2f}s: {report.added} added, {report.changed} changed, "
        f"{report.removed} removed, {report.unchanged} unchanged, {len(report.rejected)} rejected, "
        f"{len(report.warnings)} warnings"
    )


async def _index(settings: Settings, root: Path) -> IndexReport:
    from bot.content.indexing import ContentUnavailable, reindex

    async with _open_db(settings) as db:
        with _progress() as progress:
            try:
                return await reindex(db, root, progress=progress)
            except ContentUnavailable as exc:
                raise CliError(f"cannot read the content directory: {printable(str(exc))}") from None


@contextmanager
def _progress() -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on stderr when it is a terminal; nothing otherwise (logs and pipes stay clean)."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        transient=True,
    ) as bar:
        task = bar.add_task("indexing", total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


@asynccontextmanager
async def _open_db(settings: Settings) -> Any:
    try:
        db = await open_database(settings.database)
    except DatabaseConnectError as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"cannot open the database at {settings.database.masked}: {exc.strerror or exc}") from None
    try:
        yield db
    finally:
        await db.close()


# --- queries -------------------------------------------------------------------------------


def _visibility(settings: Settings) -> Visibility:
    return Visibility(include_unpublished=settings.include_unpublished)


def _run_query(settings: Settings, query: Callable[[Database], Coroutine[Any, Any, int]]) -> int:
    async def runner() -> int:
        async with _open_db(settings) as db:
            stats = await db.articles.stats(_visibility(settings))
            if stats.last_indexed_at is None:
                raise CliError("the index is empty: run `newsbot index` first (or `make demo`)")
            return await query(db)

    return asyncio.run(runner())


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    async def query(db: Database) -> int:
        topic = None
        if args.topic:
            topic = await db.articles.resolve_topic(args.topic)
            if topic is None:
                raise CliError(f"unknown topic {args.topic!r}; `newsbot topics` lists them", EXIT_REJECTED)
        page = await db.articles.search(args.query, topic=topic, vis=_visibility(settings), limit=args.limit, offset=0)
        _print_page(page, args.json, empty=f"no articles match {args.query!r}")
        return EXIT_OK

    return _run_query(settings, query)


def cmd_topics(args: argparse.Namespace, settings: Settings) -> int:
    async def query(db: Database) -> int:
        topics = await db.articles.topics(_visibility(settings))
        if args.json:
            _dump([{"name": t.name, "count": t.count} for t in topics])
        else:
            width = max((len(t.name) for t in topics), default=0)
            for t in topics:
                print(f"{t.name:<{width}}  {t.count:>6}")
        return EXIT_OK

    return _run_query(settings, query)


def cmd_article(args: argparse.Namespace, settings: Settings) -> int:
    async def query(db: Database) -> int:
        article = await db.articles.get(args.id, _visibility(settings))
        if article is None:
            raise CliError(f"no article with id {args.id!r}", EXIT_REJECTED)
        if args.json:
            _dump(article_json(article))
        else:
            print(article.title)
            print(f"  {article.provider.name} ({article.provider.domain}) · {article.published_at:%Y-%m-%d %H:%M} UTC")
            print(f"  {article.url}")
            if article.topics:
                print(f"  topics: {', '.join(article.topics)}")
            if article.excerpt:
                print()
                print(f"  {article.excerpt}")
        return EXIT_OK

    return _run_query(settings, query)


def cmd_related(args: argparse.Namespace, settings: Settings) -> int:
    async def query(db: Database) -> int:
        vis = _visibility(settings)
        if await db.articles.get(args.id, vis) is None:
            raise CliError(f"no article with id {args.id!r}", EXIT_REJECTED)
        items = await db.articles.related(args.id, vis, args.limit)
        if args.json:
            _dump([related_json(item) for item in items])
        elif not items:
            print("no related articles")
        else:
            for item in items:
                where = f"[{item.article.id}]" if item.article else "(external)"
                print(f"{where} {item.title}\n    {item.url}")
        return EXIT_OK

    return _run_query(settings, query)


def _print_page(page: Page, as_json: bool, *, empty: str) -> None:
    if as_json:
        _dump([summary_json(item) for item in page.items])
        return
    if not page.items:
        print(empty)
        return
    for item in page.items:
        print(f"[{item.id}] {item.title}")
        print(f"    {item.provider_name} · {item.published_at:%Y-%m-%d} · {item.url}")


def summary_json(item: ArticleSummary) -> dict[str, Any]:
    return {
        "id": item.id,
        "title": item.title,
        "url": item.url,
        "excerpt": item.excerpt,
        "published_at": item.published_at.isoformat(),
        "provider": {"name": item.provider_name, "domain": item.provider_domain},
        "image_url": item.image_url,
        "quality": item.quality,
        "heat": item.heat,
        "type": item.type,
        "topics": list(item.topics),
    }


def article_json(article: Article) -> dict[str, Any]:
    """Everything a consumer may see. ``secured`` is deliberately absent."""
    return {
        "id": article.id,
        "title": article.title,
        "url": article.url,
        "original_url": article.original_url,
        "excerpt": article.excerpt,
        "body": article.body,
        "published_at": article.published_at.isoformat(),
        "provider": {"name": article.provider.name, "domain": article.provider.domain},
        "topics": list(article.topics),
        "images": [{"url": i.url, "width": i.width, "height": i.height} for i in article.images],
        "quality": article.quality,
        "heat": article.heat,
        "published": article.published,
        "type": article.type,
    }


def related_json(item: RelatedItem) -> dict[str, Any]:
    return {
        "id": item.article.id if item.article else None,
        "title": item.title,
        "url": item.url,
        "provider": item.provider_name,
        "published_at": item.published_at.isoformat() if item.published_at else None,
        "in_store": item.article is not None,
    }


def _dump(data: object) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


# --- feeds (bot.feeds: the operator's list of RSS/Atom feeds that fill the store) ------------


def _add_feeds_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    feeds = sub.add_parser("feeds", parents=[common], help="the RSS and Atom feeds that fill the store")
    actions = feeds.add_subparsers(dest="feeds_command", metavar="ACTION", required=True)
    p = actions.add_parser("add", parents=[common], help="add a feed to the feeds file")
    p.add_argument("url", help="the feed's http:// or https:// address")
    p.add_argument("--topic", action="append", default=[], help="a topic for all its articles (repeatable)")
    p.add_argument("--provider", help="the source name shown on its articles (default: the feed's title)")
    p.add_argument("--quality", type=int, help="quality score given to its articles, 0-100 (default 50)")
    p.add_argument("--interval", type=int, help="minutes between fetches (default 30, at least 5)")
    actions.add_parser("list", parents=[common], help="every feed: state, last fetch, articles, errors")
    p = actions.add_parser("remove", parents=[common], help="remove a feed (its articles stay until they expire)")
    p.add_argument("url", help="the feed's address, as listed")
    p = actions.add_parser("fetch", parents=[common], help="fetch the due feeds now, or one feed even if disabled")
    p.add_argument("url", nargs="?", help="only this feed (also re-enables it when it works again)")


def cmd_feeds(args: argparse.Namespace, settings: Settings) -> int:
    from bot.feeds.config import FeedsConfigError
    from bot.feeds.state import StateError

    try:
        return _FEEDS_ACTIONS[str(args.feeds_command)](args, settings)
    except (FeedsConfigError, StateError) as exc:
        raise CliError(str(exc), EXIT_REJECTED) from None


def _feeds_add(args: argparse.Namespace, settings: Settings) -> int:
    from bot.feeds import config

    path = settings.feeds_path
    where = "--"
    feed = config.FeedConfig(
        url=config.check_feed_url(args.url),
        topics=config.check_topics(args.topic, f"{where}topic"),
        provider=config.check_provider(args.provider, f"{where}provider"),
        quality=config.check_quality(
            config.DEFAULT_QUALITY if args.quality is None else args.quality, f"{where}quality"
        ),
        interval=config.check_interval(
            config.DEFAULT_INTERVAL_MINUTES if args.interval is None else args.interval, f"{where}interval"
        ),
    )
    feeds = config.load_feeds(path)
    from bot.store.urls import normalize_url

    if any(normalize_url(f.url) == normalize_url(feed.url) for f in feeds):
        raise CliError(f"{feed.url} is already in {path}", EXIT_REJECTED)
    config.save_feeds(path, [*feeds, feed])
    print(f"added {feed.url} to {path}; its articles go to {settings.content_dir / '_feeds' / feed.slug}")
    print("the bot fetches it within a minute; `newsbot feeds fetch` does it now", file=sys.stderr)
    return EXIT_OK


def _feeds_remove(args: argparse.Namespace, settings: Settings) -> int:
    from bot.feeds.config import load_feeds, save_feeds
    from bot.store.urls import normalize_url

    path = settings.feeds_path
    feeds = load_feeds(path)
    kept = [f for f in feeds if normalize_url(f.url) != normalize_url(args.url)]
    if len(kept) == len(feeds):
        raise CliError(f"{args.url} is not in {path} (`newsbot feeds list` shows the feeds)", EXIT_REJECTED)
    save_feeds(path, kept)
    print(f"removed {args.url} from {path}; its articles stay until NEWSBOT_FEEDS_KEEP_DAYS passes")
    return EXIT_OK


def _feeds_list(args: argparse.Namespace, settings: Settings) -> int:
    from bot.feeds.report import describe
    from bot.feeds.service import FeedService, FeedsSetup

    statuses = FeedService(FeedsSetup.from_settings(settings)).status()
    if not statuses:
        print(f"no feeds in {settings.feeds_path}; add one with `newsbot feeds add URL`")
        return EXIT_OK
    for status in statuses:
        print("\n".join(describe(status, rejected=20)))
    return EXIT_OK


def _feeds_fetch(args: argparse.Namespace, settings: Settings) -> int:
    report = asyncio.run(_fetch_feeds(settings, args.url))
    for result in report.feeds:
        print(f"{result.url}: {result.outcome}")
    print(
        f"{len(report.feeds)} feeds fetched: {len(report.written)} new articles, "
        f"{len(report.removed)} expired ones removed"
        + ("; the bot's watcher indexes them, or run `newsbot index`" if report.changed else ""),
        file=sys.stderr,
    )
    return EXIT_REJECTED if any(result.failed for result in report.feeds) else EXIT_OK


async def _fetch_feeds(settings: Settings, url: str | None) -> Any:
    from bot.feeds.known import IndexedUrls, KnownUrls, ScannedUrls
    from bot.feeds.service import FeedService, FeedsSetup

    setup = FeedsSetup.from_settings(settings)
    if not settings.database_path.exists():  # no index to ask: read the store itself
        known: KnownUrls = ScannedUrls(settings.content_dir)
        return await FeedService(setup, known=known).refresh(url)
    async with _open_db(settings) as db:
        return await FeedService(setup, known=IndexedUrls(db.index)).refresh(url)


_FEEDS_ACTIONS: dict[str, Callable[[argparse.Namespace, Settings], int]] = {
    "add": _feeds_add,
    "list": _feeds_list,
    "remove": _feeds_remove,
    "fetch": _feeds_fetch,
}


# --- bot and demo ----------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app.runner import run_bot

    return run_bot(settings)


def cmd_sync(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app.runner import sync_commands

    return sync_commands(settings)


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from bot.demo.tour import run_demo

    return run_demo(settings)


_COMMANDS: dict[str, Callable[[argparse.Namespace, Settings], int]] = {
    "check": cmd_check,
    "index": cmd_index,
    "search": cmd_search,
    "topics": cmd_topics,
    "article": cmd_article,
    "related": cmd_related,
    "run": cmd_run,
    "sync": cmd_sync,
    "demo": cmd_demo,
    "feeds": cmd_feeds,
}


# --- db copy: moving settings and digests to another database ---------------------------------


def _add_db_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("db", parents=[common], help="database maintenance (copy to PostgreSQL)")
    actions = p.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    copy = actions.add_parser(
        "copy",
        parents=[common],
        help="copy settings, digests, audit and delivery state to another database (the index is rebuilt)",
    )
    copy.add_argument("--from", dest="source", required=True, help="sqlite:///path or postgresql://... to copy from")
    copy.add_argument("--to", dest="target", required=True, help="postgresql://... to copy into")
    copy.add_argument("--force", action="store_true", help="replace what the target already holds")


def _cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    from bot.db.copy import CopyError, copy_database
    from bot.settings import database_target

    try:
        source = database_target(args.source, setting="--from")
        target = database_target(args.target, setting="--to")
    except SettingsError as exc:
        raise CliError(str(exc)) from None

    def progress(table: str, rows: int) -> None:
        print(f"{table:<20} {rows:>8} rows")

    try:
        report = asyncio.run(copy_database(source, target, force=args.force, progress=progress))
    except CopyError as exc:
        raise CliError(str(exc), EXIT_REJECTED) from None
    except OSError as exc:  # DatabaseConnectError included: one line, password masked
        raise CliError(str(exc)) from None
    verb = "resumed and finished" if report.resumed else "copied"
    print(f"{verb}: {sum(report.counts.values())} rows, row counts checked; {target.masked} is ready")
    print("the article index is not copied: run `newsbot index` (or start the bot) with the new NEWSBOT_DATABASE_URL")
    return EXIT_OK


_COMMANDS["db"] = _cmd_db
