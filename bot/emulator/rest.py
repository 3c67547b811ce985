"""The REST API under ``/api/v10``: one middleware for the cross-cutting rules, thin handlers for the routes.

The middleware, in order: rate limits (injected 429s first), the bot token, body parsing (JSON, or
multipart with ``payload_json`` and ``files[n]``), validation against the OpenAPI document and the
extra limits, then the handler. Errors come back in Discord's JSON shape with exactly
``Content-Type: application/json`` (discord.py compares the header verbatim). Unknown routes are 404
(or 405 for a known path with another method) and recorded as violations.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.emulator.errors import ApiError, FormErrors, RateLimitedError
from bot.emulator.gateway import Gateway
from bot.emulator.interactions import InteractionResult
from bot.emulator.limits import check_request, mention_problem
from bot.emulator.models import (
    ANNOUNCEMENT_CHANNEL,
    ANNOUNCEMENT_THREAD,
    PRIVATE_THREAD,
    PUBLIC_THREAD,
    TEXT_CHANNEL,
    Channel,
    Message,
)
from bot.emulator.permissions import Perm
from bot.emulator.ratelimit import Limited, RateLimiter
from bot.emulator.validation import ApiSpec, RouteMatch
from bot.emulator.world import Upload, World, require_content

log = logging.getLogger(__name__)

API_PREFIX = "/api/v10"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_BODY_METHODS = {"POST", "PUT", "PATCH"}
_TOKEN_ROUTES = ("/interactions/", "/webhooks/")
_MAJOR = ("channel_id", "guild_id", "webhook_id", "webhook_token", "interaction_id")
_ROUTE: web.RequestKey[RouteMatch] = web.RequestKey("route", RouteMatch)
_BODY: web.RequestKey[Any] = web.RequestKey("body", object)
_UPLOADS: web.RequestKey[dict[int, Upload]] = web.RequestKey("uploads", dict)


@dataclass(eq=False)
class Stall:
    """The next request matching ``method`` and ``path_prefix`` is held without an answer until
    ``release()``: taken effect first when ``applied`` (a crash after Discord acted), or never when
    not (a crash before the request reached Discord). Tests kill the caller while it waits."""

    method: str
    path_prefix: str
    applied: bool
    used: bool = False
    _reached: asyncio.Event = field(default_factory=asyncio.Event)
    _released: asyncio.Event = field(default_factory=asyncio.Event)

    async def hold(self) -> None:
        self._reached.set()
        await self._released.wait()

    async def reached(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until a matching request is being held."""
        await asyncio.wait_for(self._reached.wait(), timeout)

    def release(self) -> None:
        self._released.set()


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One REST request the emulator answered. ``at`` is ``time.monotonic()`` at the answer."""

    method: str
    path: str
    status: int
    at: float


def json_response(data: object, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # Set verbatim: aiohttp's json_response would add "; charset=utf-8", which discord.py rejects.
    return web.Response(
        status=status, body=json.dumps(data).encode(), headers={"Content-Type": "application/json", **(headers or {})}
    )


def _snowflake(request: web.Request, name: str) -> int:
    try:
        return int(request.match_info[name])
    except (KeyError, ValueError):
        raise ApiError(404, 10000, f"Unknown {name.removesuffix('_id')}") from None


def _body(request: web.Request) -> Any:
    return request.get(_BODY)


def _uploads(request: web.Request) -> dict[int, Upload]:
    return request.get(_UPLOADS) or {}


def _flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "").lower() in {"1", "true"}


class RestApi:
    def __init__(
        self,
        world: World,
        gateway: Gateway,
        limiter: RateLimiter,
        spec: ApiSpec | None,
        *,
        require_no_mentions: bool,
    ) -> None:
        self.world = world
        self.gateway = gateway
        self.limiter = limiter
        self.spec = spec
        self.require_no_mentions = require_no_mentions
        self.requests: list[RequestRecord] = []
        self.stalls: list[Stall] = []

    # -- wiring ----------------------------------------------------------------------------------

    def install(self, app: web.Application) -> None:
        app.middlewares.append(self.middleware)
        routes: list[tuple[str, str, Handler]] = [
            ("GET", "/users/{user_id}", self.get_user),
            ("GET", "/gateway", self.get_gateway),
            ("GET", "/gateway/bot", self.get_gateway_bot),
            ("GET", "/applications/@me", self.get_application),
            ("GET", "/oauth2/applications/@me", self.get_application),
            ("GET", "/applications/{application_id}/commands", self.list_commands),
            ("PUT", "/applications/{application_id}/commands", self.overwrite_commands),
            ("POST", "/applications/{application_id}/commands", self.create_command),
            ("GET", "/applications/{application_id}/commands/{command_id}", self.get_command),
            ("PATCH", "/applications/{application_id}/commands/{command_id}", self.edit_command),
            ("DELETE", "/applications/{application_id}/commands/{command_id}", self.delete_command),
            ("GET", "/applications/{application_id}/guilds/{guild_id}/commands/permissions", self.command_permissions),
            ("GET", "/applications/{application_id}/guilds/{guild_id}/commands", self.list_commands),
            ("PUT", "/applications/{application_id}/guilds/{guild_id}/commands", self.overwrite_commands),
            ("POST", "/applications/{application_id}/guilds/{guild_id}/commands", self.create_command),
            ("GET", "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}", self.get_command),
            ("PATCH", "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}", self.edit_command),
            ("DELETE", "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}", self.delete_command),
            ("POST", "/interactions/{interaction_id}/{interaction_token}/callback", self.interaction_callback),
            ("POST", "/webhooks/{webhook_id}/{webhook_token}", self.execute_webhook),
            ("GET", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}", self.get_webhook_message),
            ("PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}", self.edit_webhook_message),
            ("DELETE", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}", self.delete_webhook_message),
            ("GET", "/channels/{channel_id}", self.get_channel),
            ("GET", "/channels/{channel_id}/messages", self.list_messages),
            ("POST", "/channels/{channel_id}/messages", self.create_message),
            ("GET", "/channels/{channel_id}/messages/{message_id}", self.get_message),
            ("PATCH", "/channels/{channel_id}/messages/{message_id}", self.edit_message),
            ("DELETE", "/channels/{channel_id}/messages/{message_id}", self.delete_message),
            ("POST", "/channels/{channel_id}/typing", self.typing),
            ("DELETE", "/channels/{channel_id}", self.delete_channel),
            ("POST", "/channels/{channel_id}/messages/{message_id}/crosspost", self.crosspost),
            ("POST", "/channels/{channel_id}/messages/{message_id}/threads", self.start_thread_from_message),
            ("POST", "/channels/{channel_id}/threads", self.start_thread),
            ("POST", "/users/@me/channels", self.open_dm),
            ("GET", "/guilds/{guild_id}", self.get_guild),
            ("GET", "/guilds/{guild_id}/channels", self.guild_channels),
            ("GET", "/guilds/{guild_id}/roles", self.guild_roles),
            ("GET", "/guilds/{guild_id}/roles/{role_id}", self.guild_role),
            ("GET", "/guilds/{guild_id}/members/{user_id}", self.guild_member),
        ]
        for method, path, handler in routes:
            app.router.add_route(method, API_PREFIX + path, handler)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self.unknown_route)

    # -- middleware ------------------------------------------------------------------------------

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith(API_PREFIX + "/"):
            return await handler(request)
        method = request.method
        path = request.path[len(API_PREFIX) :]
        match = self.spec.match(path) if self.spec is not None else None
        template = match.template if match is not None else path
        if match is not None:
            request[_ROUTE] = match
        bucket = f"{method} {template}:" + "+".join(match.params[k] for k in _MAJOR if match and k in match.params)
        limited = self.limiter.check(method, path, bucket)
        if limited is not None:
            body = {
                "message": "You are being rate limited.",
                "retry_after": limited.retry_after,
                "global": limited.global_,
            }
            if limited.global_:
                body["code"] = 0
            response: web.StreamResponse = json_response(body, 429, self.limiter.limited_headers(bucket, limited))
            self._log(method, path, response.status)
            return response
        try:
            self._authorise(request, path)
            await self._read_body(request, method)
            self._validate(method, match, _body(request))
            stall = self._stall_for(method, path)
            if stall is not None and not stall.applied:
                await stall.hold()  # the caller dies meanwhile: the request never took effect
                raise ApiError(503, 0, "503: stalled request released")
            response = await handler(request)
            if stall is not None:
                await stall.hold()  # applied, but the caller has not seen the answer yet
        except RateLimitedError as error:
            # A limit of the resource (an announcement channel's publishes), not of the route's bucket.
            limited = Limited(error.retry_after, False, injected=False, limit=error.limit, scope=error.scope)
            self.limiter.record(method, path, limited)
            body = {
                "message": "You are being rate limited.",
                "retry_after": round(error.retry_after, 3),
                "global": False,
            }
            response = json_response(body, 429, self.limiter.limited_headers(bucket, limited))
            self._log(method, path, response.status)
            return response
        except ApiError as error:
            if error.violation:
                self.world.record(method, path, error.describe())
                log.warning("emulator: %s %s -> %s %s", method, path, error.status, error.describe())
            response = json_response(error.body(), error.status)
        response.headers.update(self.limiter.headers(bucket))
        self._log(method, path, response.status)
        return response

    def _stall_for(self, method: str, path: str) -> Stall | None:
        for stall in self.stalls:
            if not stall.used and stall.method == method and path.startswith(stall.path_prefix):
                stall.used = True
                return stall
        return None

    def _log(self, method: str, path: str, status: int) -> None:
        self.requests.append(RequestRecord(method, path, status, time.monotonic()))
        self.world.notifier.notify()

    def _authorise(self, request: web.Request, path: str) -> None:
        if path.startswith(_TOKEN_ROUTES) or path == "/gateway":
            return
        if request.headers.get("Authorization") != f"Bot {self.world.token}":
            raise ApiError(401, 0, "401: Unauthorized", violation=True)

    async def _read_body(self, request: web.Request, method: str) -> None:
        if method not in _BODY_METHODS or not request.can_read_body:
            return
        if request.content_type == "multipart/form-data":
            form = await request.post()
            uploads: dict[int, Upload] = {}
            for name, value in form.items():
                if name == "payload_json":
                    request[_BODY] = _parse_json(value.file.read() if isinstance(value, web.FileField) else value)
                elif name.startswith("files[") and name.endswith("]") and isinstance(value, web.FileField):
                    uploads[int(name[6:-1])] = Upload(value.filename, value.file.read())
            request[_UPLOADS] = uploads
            return
        raw = await request.read()
        if raw:
            request[_BODY] = _parse_json(raw)

    def _validate(self, method: str, match: RouteMatch | None, body: Any) -> None:
        if match is None or body is None:
            return
        errors = self.spec.validate(method, match.template, body) if self.spec is not None else None
        extra = check_request(method, match.template, body, require_no_mentions=self.require_no_mentions)
        if errors is None:
            errors = extra
        else:
            errors.extend(extra)
        if errors:
            raise errors.to_api_error()

    async def unknown_route(self, request: web.Request) -> web.StreamResponse:
        match = request.get(_ROUTE)
        if match is not None and request.method not in match.methods:
            raise ApiError(405, 0, "405: Method Not Allowed", violation=True)
        raise ApiError(404, 0, "404: Not Found (the emulator does not implement this route)", violation=True)

    # -- users, gateway, application -------------------------------------------------------------

    async def get_user(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["user_id"] == "@me":
            return json_response(self.world.ready_user())
        user = self.world.users.get(_snowflake(request, "user_id"))
        if user is None:
            raise ApiError(404, 10013, "Unknown User")
        return json_response(user.payload())

    async def get_gateway(self, request: web.Request) -> web.StreamResponse:
        return json_response({"url": self.world.gateway_url})

    async def get_gateway_bot(self, request: web.Request) -> web.StreamResponse:
        return json_response(
            {
                "url": self.world.gateway_url,
                "shards": self.world.recommended_shards,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 14_400_000,
                    "max_concurrency": 1,
                },
            }
        )

    async def get_application(self, request: web.Request) -> web.StreamResponse:
        return json_response(self.world.application_payload())

    # -- application commands --------------------------------------------------------------------

    def _scope(self, request: web.Request) -> int | None:
        if _snowflake(request, "application_id") != self.world.application_id:
            raise ApiError(403, 50001, "Missing Access (not this application)", violation=True)
        if "guild_id" not in request.match_info:
            return None
        guild_id = _snowflake(request, "guild_id")
        if guild_id not in self.world.guilds:
            raise ApiError(403, 50001, "Missing Access (the bot is not in that guild)", violation=True)
        return guild_id

    async def list_commands(self, request: web.Request) -> web.StreamResponse:
        return json_response(self.world.commands.in_scope(self._scope(request)))

    async def overwrite_commands(self, request: web.Request) -> web.StreamResponse:
        scope = self._scope(request)
        body = _body(request)
        if not isinstance(body, list):
            raise ApiError(400, 50035, "Invalid Form Body", violation=True)
        return json_response(self.world.commands.overwrite(scope, body))

    async def create_command(self, request: web.Request) -> web.StreamResponse:
        command, created = self.world.commands.upsert(self._scope(request), _body(request))
        return json_response(command, 201 if created else 200)

    async def get_command(self, request: web.Request) -> web.StreamResponse:
        command = self.world.commands.get(self._scope(request), _snowflake(request, "command_id"))
        if command is None:
            raise ApiError(404, 10063, "Unknown application command")
        return json_response(command)

    async def edit_command(self, request: web.Request) -> web.StreamResponse:
        command = self.world.commands.edit(self._scope(request), _snowflake(request, "command_id"), _body(request))
        if command is None:
            raise ApiError(404, 10063, "Unknown application command")
        return json_response(command)

    async def delete_command(self, request: web.Request) -> web.StreamResponse:
        if not self.world.commands.delete(self._scope(request), _snowflake(request, "command_id")):
            raise ApiError(404, 10063, "Unknown application command")
        return web.Response(status=204)

    async def command_permissions(self, request: web.Request) -> web.StreamResponse:
        self._scope(request)
        return json_response([])

    # -- interactions and their webhooks ---------------------------------------------------------

    async def interaction_callback(self, request: web.Request) -> web.StreamResponse:
        result = self.world.interaction(_snowflake(request, "interaction_id"), request.match_info["interaction_token"])
        body = _body(request)
        if not isinstance(body, dict):
            raise ApiError(400, 50035, "Invalid Form Body", violation=True)
        response = self.world.callback(result, body, _uploads(request))
        if _flag(request, "with_response"):
            return json_response(response)
        return web.Response(status=204)

    def _webhook_interaction(self, request: web.Request) -> InteractionResult:
        return self.world.interaction_by_token(_snowflake(request, "webhook_id"), request.match_info["webhook_token"])

    async def execute_webhook(self, request: web.Request) -> web.StreamResponse:
        result = self._webhook_interaction(request)
        body = _body(request)
        message = self.world.followup(result, body if isinstance(body, dict) else {}, _uploads(request))
        if _flag(request, "wait"):
            return json_response(message.payload())
        return web.Response(status=204)

    async def get_webhook_message(self, request: web.Request) -> web.StreamResponse:
        message = self.world.webhook_message(self._webhook_interaction(request), request.match_info["message_id"])
        return json_response(message.payload())

    async def edit_webhook_message(self, request: web.Request) -> web.StreamResponse:
        message = self.world.webhook_message(self._webhook_interaction(request), request.match_info["message_id"])
        body = _body(request)
        if message.loading and self.require_no_mentions:
            # Filling in a deferred "thinking" response is what posts it, so it must not ping either.
            problem = mention_problem(body.get("allowed_mentions") if isinstance(body, dict) else None)
            if problem:
                errors = FormErrors()
                errors.add(("allowed_mentions",), "NEWSBOT_POLICY_NO_MENTIONS", problem)
                raise errors.to_api_error()
        self.world.edit_message(message, body if isinstance(body, dict) else {}, _uploads(request))
        return json_response(message.payload())

    async def delete_webhook_message(self, request: web.Request) -> web.StreamResponse:
        message = self.world.webhook_message(self._webhook_interaction(request), request.match_info["message_id"])
        self.world.delete_message(message)
        return web.Response(status=204)

    # -- channels and messages -------------------------------------------------------------------

    async def get_channel(self, request: web.Request) -> web.StreamResponse:
        channel = self.world.channel(_snowflake(request, "channel_id"))
        self.world.require(channel, Perm.VIEW_CHANNEL)
        return json_response(channel.payload())

    async def list_messages(self, request: web.Request) -> web.StreamResponse:
        channel = self.world.channel(_snowflake(request, "channel_id"))
        self.world.require(channel, Perm.VIEW_CHANNEL)
        if not self.world.bot_permissions(channel) & Perm.READ_MESSAGE_HISTORY:
            return json_response([])  # documented: no history permission, no messages
        try:
            limit = int(request.query.get("limit", "50"))
            before, after, around = (
                int(request.query[k]) if k in request.query else None for k in ("before", "after", "around")
            )
        except ValueError:
            raise ApiError(400, 50035, "Invalid Form Body (query)", violation=True) from None
        if not 1 <= limit <= 100:
            raise ApiError(400, 50035, f"Invalid Form Body: limit must be 1..100 (got {limit})", violation=True)
        return json_response([m.payload() for m in _page(channel.messages, limit, before, after, around)])

    async def create_message(self, request: web.Request) -> web.StreamResponse:
        channel = self.world.channel(_snowflake(request, "channel_id"))
        body = _body(request)
        data: dict[str, Any] = dict(body) if isinstance(body, dict) else {}
        uploads = _uploads(request)
        if channel.is_forum:
            raise ApiError(
                400, 50024, "Cannot execute action on this channel type (a forum takes posts)", violation=True
            )
        if channel.is_dm:
            self.world.require_dm_open(channel)
        else:
            self.world.require(channel, _send_permission(channel) | (Perm.ATTACH_FILES if uploads else 0))
        replay = self.world.replay_nonce(channel, data)
        if replay is not None:
            return json_response(replay.payload())
        self._drop_embeds_without_permission(channel, data)
        if data.get("flags") and int(data["flags"]) & 64:
            raise ApiError(400, 50035, "Invalid Form Body: ephemeral flag outside an interaction", violation=True)
        require_content(data, uploads)
        message = self.world.create_message(channel, self.world.bot, data, uploads)
        self.world.remember_nonce(message)
        return json_response(message.payload())

    def _drop_embeds_without_permission(self, channel: Channel, data: dict[str, Any]) -> None:
        if data.get("embeds") and not self.world.bot_permissions(channel) & Perm.EMBED_LINKS:
            # Discord drops embeds silently when the bot may not embed links.
            log.info("emulator: dropping embeds in channel %s (no Embed Links permission)", channel.id)
            data["embeds"] = []

    async def get_message(self, request: web.Request) -> web.StreamResponse:
        channel = self.world.channel(_snowflake(request, "channel_id"))
        self.world.require(channel, Perm.VIEW_CHANNEL | Perm.READ_MESSAGE_HISTORY)
        return json_response(self.world.channel_message(channel, _snowflake(request, "message_id")).payload())

    async def edit_message(self, request: web.Request) -> web.StreamResponse:
        channel = self.world.channel(_snowflake(request, "channel_id"))
        self.world.require(channel, Perm.VIEW_CHANNEL)
        message = self.world.channel_message(channel, _snowflake(request, "message_id"))
        if message.author.id != self.world.bot.id:
            raise ApiError(403, 50005, "Cannot edit a message authored by another user", violation=True)
        body = _body(request)
        self.world.edit_message(message, body if isinstance(body, dict) else {}, _uploads(request))
        return json_response(message.payload())

    async def delete_message(self, request: web.Request) -> web.StreamResponse:
        channel = self.world.channel(_snowflake(request, "channel_id"))
        self.world.require(channel, Perm.VIEW_CHANNEL)
        message = self.world.channel_message(channel, _snowflake(request, "message_id"))
        if message.author.id != self.world.bot.id:
            self.world.require(channel, Perm.MANAGE_MESSAGES)
        self.world.delete_message(message)
        return web.Response(status=204)

    async def typing(self, request: web.Request) -> web.StreamResponse:
        channel = self.world.channel(_snowflake(request, "channel_id"))
        self.world.require(channel, _send_permission(channel))
        return web.Response(status=204)

    async def delete_channel(self, request: web.Request) -> web.StreamResponse:
        channel = self.world.channel(_snowflake(request, "channel_id"))
        if channel.is_dm:
            return json_response(channel.payload())  # "deleting" a DM only closes it on the bot's side
        self.world.require(
            channel, Perm.VIEW_CHANNEL | (Perm.MANAGE_THREADS if channel.is_thread else Perm.MANAGE_CHANNELS)
        )
        payload = channel.payload()
        self.world.delete_channel(channel)
        return json_response(payload)

    # -- announcement channels, threads and forum posts ------------------------------------------

    async def crosspost(self, request: web.Request) -> web.StreamResponse:
        channel = self.world.channel(_snowflake(request, "channel_id"))
        message = self.world.channel_message(channel, _snowflake(request, "message_id"))
        # Publishing someone else's message takes Manage Messages as well (Discord's documentation).
        others = Perm.MANAGE_MESSAGES if message.author.id != self.world.bot.id else 0
        self.world.require(channel, Perm.VIEW_CHANNEL | Perm.SEND_MESSAGES | others)
        return json_response(self.world.crosspost(channel, message).payload())

    async def start_thread_from_message(self, request: web.Request) -> web.StreamResponse:
        channel = self.world.channel(_snowflake(request, "channel_id"))
        if channel.type not in (TEXT_CHANNEL, ANNOUNCEMENT_CHANNEL):
            raise ApiError(400, 50024, "Cannot execute action on this channel type", violation=True)
        self.world.require(channel, Perm.VIEW_CHANNEL | Perm.CREATE_PUBLIC_THREADS)
        message = self.world.channel_message(channel, _snowflake(request, "message_id"))
        body = _body(request) if isinstance(_body(request), dict) else {}
        thread = self.world.start_thread(
            channel,
            str(body.get("name") or ""),
            self.world.bot,
            type=ANNOUNCEMENT_THREAD if channel.is_announcement else PUBLIC_THREAD,
            source=message,
            auto_archive_duration=_archive_minutes(body),
        )
        return json_response(thread.payload(), 201)

    async def start_thread(self, request: web.Request) -> web.StreamResponse:
        """A forum post (a thread with its first message) or, in a text channel, a thread without one."""
        channel = self.world.channel(_snowflake(request, "channel_id"))
        body: dict[str, Any] = dict(_body(request)) if isinstance(_body(request), dict) else {}
        if channel.is_forum:
            return self._forum_post(channel, body, _uploads(request))
        if channel.type not in (TEXT_CHANNEL, ANNOUNCEMENT_CHANNEL):
            raise ApiError(400, 50024, "Cannot execute action on this channel type", violation=True)
        kind = int(body.get("type") or PRIVATE_THREAD)  # Discord's default is a private thread
        if kind == PRIVATE_THREAD and channel.is_announcement:
            raise ApiError(
                400, 50024, "Cannot execute action on this channel type (private announcement thread)", violation=True
            )
        if kind not in (PUBLIC_THREAD, PRIVATE_THREAD, ANNOUNCEMENT_THREAD):
            raise ApiError(400, 50035, f"Invalid Form Body: thread type {kind}", violation=True)
        create = Perm.CREATE_PRIVATE_THREADS if kind == PRIVATE_THREAD else Perm.CREATE_PUBLIC_THREADS
        self.world.require(channel, Perm.VIEW_CHANNEL | create)
        if kind == PUBLIC_THREAD and channel.is_announcement:
            kind = ANNOUNCEMENT_THREAD
        thread = self.world.start_thread(
            channel,
            str(body.get("name") or ""),
            self.world.bot,
            type=kind,
            auto_archive_duration=_archive_minutes(body),
        )
        return json_response(thread.payload(), 201)

    def _forum_post(self, forum: Channel, body: dict[str, Any], uploads: dict[int, Upload]) -> web.StreamResponse:
        # Creating a forum post takes Send Messages in the forum (not Create Public Threads), per Discord.
        self.world.require(forum, Perm.VIEW_CHANNEL | Perm.SEND_MESSAGES | (Perm.ATTACH_FILES if uploads else 0))
        tags = self.world.forum_tags(forum, body.get("applied_tags"))
        moderated = [t.name for t in forum.available_tags if t.id in tags and t.moderated]
        if moderated and not self.world.bot_permissions(forum) & Perm.MANAGE_THREADS:
            raise ApiError(403, 50013, f"Missing Permissions (moderated tags {moderated} need Manage Threads)")
        raw_message = body.get("message")
        if not isinstance(raw_message, dict):
            raise ApiError(400, 50035, "Invalid Form Body: a forum post needs its first message", violation=True)
        message_data = dict(raw_message)
        self._drop_embeds_without_permission(forum, message_data)
        require_content(message_data, uploads)
        thread = self.world.start_thread(
            forum,
            str(body.get("name") or ""),
            self.world.bot,
            type=PUBLIC_THREAD,
            applied_tags=tags,
            auto_archive_duration=_archive_minutes(body),
        )
        message = self.world.create_message(thread, self.world.bot, message_data, uploads, message_id=thread.id)
        return json_response({**thread.payload(), "message": message.payload()}, 201)

    # -- direct messages -------------------------------------------------------------------------

    async def open_dm(self, request: web.Request) -> web.StreamResponse:
        body = _body(request) if isinstance(_body(request), dict) else {}
        raw = body.get("recipient_id")
        recipient = self.world.users.get(int(raw)) if isinstance(raw, str | int) and str(raw).isdigit() else None
        if recipient is None:
            raise ApiError(404, 10013, "Unknown User")
        return json_response(self.world.open_dm(recipient).payload())

    # -- guilds ----------------------------------------------------------------------------------

    async def get_guild(self, request: web.Request) -> web.StreamResponse:
        return json_response(self.world.guild(_snowflake(request, "guild_id")).rest_payload())

    async def guild_channels(self, request: web.Request) -> web.StreamResponse:
        guild = self.world.guild(_snowflake(request, "guild_id"))
        return json_response([c.payload() for c in guild.channels.values()])

    async def guild_roles(self, request: web.Request) -> web.StreamResponse:
        guild = self.world.guild(_snowflake(request, "guild_id"))
        return json_response([r.payload() for r in guild.roles.values()])

    async def guild_role(self, request: web.Request) -> web.StreamResponse:
        guild = self.world.guild(_snowflake(request, "guild_id"))
        role = guild.roles.get(_snowflake(request, "role_id"))
        if role is None:
            raise ApiError(404, 10011, "Unknown Role")
        return json_response(role.payload())

    async def guild_member(self, request: web.Request) -> web.StreamResponse:
        guild = self.world.guild(_snowflake(request, "guild_id"))
        member = guild.members.get(_snowflake(request, "user_id"))
        if member is None:
            raise ApiError(404, 10007, "Unknown Member")
        return json_response(member.payload())


def _send_permission(channel: Channel) -> int:
    """Sending in a thread takes Send Messages in Threads, and Send Messages alone does not do."""
    return Perm.VIEW_CHANNEL | (Perm.SEND_MESSAGES_IN_THREADS if channel.is_thread else Perm.SEND_MESSAGES)


def _archive_minutes(body: dict[str, Any]) -> int | None:
    value = body.get("auto_archive_duration")
    return value if isinstance(value, int) else None


def _parse_json(raw: str | bytes | bytearray) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        raise ApiError(400, 50109, "The request body contains invalid JSON.", violation=True) from None


def _page(
    messages: list[Message], limit: int, before: int | None, after: int | None, around: int | None
) -> list[Message]:
    """Discord's history paging: newest first, whichever cursor is given."""
    ordered = sorted(messages, key=lambda m: m.id)
    if around is not None:
        older = [m for m in ordered if m.id <= around][-(limit - limit // 2) :]
        newer = [m for m in ordered if m.id > around][: limit // 2]
        chosen = older + newer
    elif after is not None:
        chosen = [m for m in ordered if m.id > after][:limit]
    elif before is not None:
        chosen = [m for m in ordered if m.id < before][-limit:]
    else:
        chosen = ordered[-limit:]
    return list(reversed(chosen))
