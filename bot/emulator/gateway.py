"""The gateway: a JSON v10 websocket with zlib-stream (or zstd-stream) compression, sessions and resume.

Each IDENTIFY opens a session that numbers its dispatches and keeps them, so a client that lost its
socket can RESUME from its last sequence number and receive what it missed, then RESUMED. Sessions
belong to a shard (``[shard_id, shard_count]``) and receive only the guilds where
``(guild_id >> 22) % shard_count == shard_id``. Close codes follow Discord (4004 bad token, 4010 bad
shard, 4013/4014 bad or disallowed intents). A session outlives its socket (discord.py itself closes
with 4000 even when shutting down) and is forgotten ``session_timeout`` seconds after it lost it.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import importlib
import json
import logging
import secrets
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import WSMsgType, web

from bot.emulator.waiting import Notifier

log = logging.getLogger(__name__)

Payload = dict[str, Any]


class Op(enum.IntEnum):
    DISPATCH = 0
    HEARTBEAT = 1
    IDENTIFY = 2
    PRESENCE_UPDATE = 3
    VOICE_STATE_UPDATE = 4
    RESUME = 6
    RECONNECT = 7
    REQUEST_GUILD_MEMBERS = 8
    INVALID_SESSION = 9
    HELLO = 10
    HEARTBEAT_ACK = 11


class Intent(enum.IntFlag):
    GUILDS = 1 << 0
    GUILD_MEMBERS = 1 << 1
    GUILD_PRESENCES = 1 << 8
    GUILD_MESSAGES = 1 << 9
    DIRECT_MESSAGES = 1 << 12
    MESSAGE_CONTENT = 1 << 15


PRIVILEGED_INTENTS = Intent.GUILD_MEMBERS | Intent.GUILD_PRESENCES | Intent.MESSAGE_CONTENT
_REPLAY_BUFFER = 10_000


class GatewayWorld(Protocol):
    """What the gateway needs to know about the emulated Discord."""

    @property
    def token(self) -> str: ...

    @property
    def gateway_url(self) -> str: ...

    def ready_user(self) -> Payload: ...

    def application_partial(self) -> Payload: ...

    def guild_ids(self) -> list[int]: ...

    def guild_create(self, guild_id: int, intents: int) -> Payload: ...

    def guild_members(
        self, guild_id: int, query: str | None, limit: int, user_ids: list[int] | None
    ) -> list[Payload]: ...


def zstd_compressor() -> Callable[[bytes], bytes] | None:
    """A streaming zstd compressor flushed per message, from whichever zstd module is installed."""
    with contextlib.suppress(ImportError):
        stdlib: Any = importlib.import_module("compression.zstd")
        compressor = stdlib.ZstdCompressor()

        def stdlib_compress(data: bytes) -> bytes:
            return bytes(compressor.compress(data, mode=stdlib.ZstdCompressor.FLUSH_BLOCK))

        return stdlib_compress
    with contextlib.suppress(ImportError):
        zstandard: Any = importlib.import_module("zstandard")
        stream = zstandard.ZstdCompressor().compressobj()

        def zstandard_compress(data: bytes) -> bytes:
            return bytes(stream.compress(data) + stream.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK))

        return zstandard_compress
    return None


def zlib_compressor() -> Callable[[bytes], bytes]:
    stream = zlib.compressobj()

    def compress(data: bytes) -> bytes:
        # Z_SYNC_FLUSH ends every frame with 00 00 ff ff, the marker clients wait for.
        return stream.compress(data) + stream.flush(zlib.Z_SYNC_FLUSH)

    return compress


@dataclass(frozen=True, slots=True)
class _Close:
    code: int
    abort: bool = False


class GatewayConnection:
    """One websocket. Frames go out through a queue so that dispatching stays synchronous and ordered."""

    def __init__(self, request: web.Request, ws: web.WebSocketResponse, compress: Callable[[bytes], bytes] | None):
        self.request = request
        self.ws = ws
        self._compress = compress
        self._queue: asyncio.Queue[str | _Close] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self.session: GatewaySession | None = None
        self.closed_by_server = False

    @property
    def compressed(self) -> bool:
        return self._compress is not None

    def start(self) -> None:
        self._writer = asyncio.create_task(self._write(), name="emulator-gateway-writer")

    def send(self, frame: str) -> None:
        self._queue.put_nowait(frame)

    def send_op(self, op: Op, data: object) -> None:
        self.send(json.dumps({"op": int(op), "d": data, "s": None, "t": None}, separators=(",", ":")))

    def close_soon(self, code: int, *, abort: bool = False) -> None:
        """Close after the frames already queued (or abort the TCP connection, like a network failure)."""
        self.closed_by_server = True
        self._queue.put_nowait(_Close(code, abort))

    async def close(self, code: int, *, abort: bool = False) -> None:
        self.close_soon(code, abort=abort)
        if self._writer is not None:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._writer), timeout=5)

    async def stop(self) -> None:
        if self._writer is not None and not self._writer.done():
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer

    async def _write(self) -> None:
        while True:
            item = await self._queue.get()
            try:
                if isinstance(item, _Close):
                    if item.abort and self.request.transport is not None:
                        self.request.transport.abort()
                    else:
                        await self.ws.close(code=item.code)
                    return
                if self._compress is not None:
                    await self.ws.send_bytes(self._compress(item.encode()))
                else:
                    await self.ws.send_str(item)
            except (ConnectionError, RuntimeError):
                log.debug("gateway connection went away while writing")
                return


@dataclass(eq=False, slots=True)
class GatewaySession:
    """An identified gateway session: its shard, its numbered dispatches and the socket it is on."""

    session_id: str
    shard: tuple[int, int] | None
    intents: int
    seq: int = 0
    buffer: deque[tuple[int, str]] = field(default_factory=lambda: deque(maxlen=_REPLAY_BUFFER))
    connection: GatewayConnection | None = None
    guild_ids: list[int] = field(default_factory=list)
    resumes: int = 0
    disconnected_at: float | None = None

    @property
    def shard_id(self) -> int | None:
        return None if self.shard is None else self.shard[0]

    @property
    def connected(self) -> bool:
        return self.connection is not None

    def handles(self, guild_id: int) -> bool:
        if self.shard is None:
            return True
        shard_id, shard_count = self.shard
        return (guild_id >> 22) % shard_count == shard_id

    def dispatch(self, event: str, data: Payload) -> None:
        self.seq += 1
        frame = json.dumps({"op": 0, "t": event, "s": self.seq, "d": data}, separators=(",", ":"))
        self.buffer.append((self.seq, frame))
        if self.connection is not None:
            self.connection.send(frame)

    def replay_after(self, seq: int) -> list[str] | None:
        """Frames after ``seq``, or None when some of them are no longer buffered."""
        if seq < self.seq and (not self.buffer or self.buffer[0][0] > seq + 1):
            return None
        return [frame for s, frame in self.buffer if s > seq]


class Gateway:
    def __init__(
        self,
        world: GatewayWorld,
        notifier: Notifier,
        *,
        heartbeat_interval: float,
        allowed_privileged_intents: int,
        session_timeout: float = 60.0,
    ) -> None:
        self._world = world
        self.session_timeout = session_timeout
        self._notifier = notifier
        self.heartbeat_interval = heartbeat_interval
        self.allowed_privileged_intents = allowed_privileged_intents
        self.sessions: dict[str, GatewaySession] = {}
        self._connections: set[GatewayConnection] = set()
        self.identify_count = 0
        self.resume_count = 0
        self.heartbeat_count = 0

    # -- websocket endpoint -------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        compress_kind = request.query.get("compress")
        compress: Callable[[bytes], bytes] | None = None
        if compress_kind == "zlib-stream":
            compress = zlib_compressor()
        elif compress_kind == "zstd-stream":
            compress = zstd_compressor()
        conn = GatewayConnection(request, ws, compress)
        self._connections.add(conn)
        conn.start()
        if request.query.get("encoding", "json") != "json" or (compress_kind and compress is None):
            # Only JSON is spoken here, and only the compressions this Python can produce.
            conn.close_soon(4002)
        else:
            conn.send_op(Op.HELLO, {"heartbeat_interval": round(self.heartbeat_interval * 1000)})
        try:
            async for msg in ws:
                if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                    self._on_frame(conn, msg.data)
                elif msg.type is WSMsgType.ERROR:
                    break
        finally:
            self._connections.discard(conn)
            self._on_disconnect(conn, ws.close_code)
            await conn.stop()
        return ws

    def _on_frame(self, conn: GatewayConnection, raw: str | bytes) -> None:
        try:
            message = json.loads(raw)
            op = Op(message["op"])
        except (ValueError, KeyError, TypeError):
            conn.close_soon(4002)
            return
        data = message.get("d")
        if op is Op.HEARTBEAT:
            self.heartbeat_count += 1
            conn.send_op(Op.HEARTBEAT_ACK, None)
        elif op is Op.IDENTIFY:
            self._identify(conn, data if isinstance(data, dict) else {})
        elif op is Op.RESUME:
            self._resume(conn, data if isinstance(data, dict) else {})
        elif conn.session is None:
            conn.close_soon(4003)  # not authenticated
        elif op is Op.REQUEST_GUILD_MEMBERS:
            self._request_members(conn.session, data if isinstance(data, dict) else {})
        elif op in (Op.PRESENCE_UPDATE, Op.VOICE_STATE_UPDATE):
            pass  # accepted and ignored: nothing in the emulator shows presence or voice
        else:
            conn.close_soon(4001)  # unknown opcode

    def _identify(self, conn: GatewayConnection, data: Payload) -> None:
        if conn.session is not None:
            conn.close_soon(4005)  # already authenticated
            return
        if data.get("token") != self._world.token:
            conn.close_soon(4004)
            return
        intents = data.get("intents")
        if not isinstance(intents, int) or intents < 0:
            conn.close_soon(4013)
            return
        if intents & PRIVILEGED_INTENTS & ~self.allowed_privileged_intents:
            conn.close_soon(4014)
            return
        shard: tuple[int, int] | None = None
        raw_shard = data.get("shard")
        if raw_shard is not None:
            if (
                not isinstance(raw_shard, list)
                or len(raw_shard) != 2
                or not all(isinstance(v, int) for v in raw_shard)
                or not 0 <= raw_shard[0] < raw_shard[1]
            ):
                conn.close_soon(4010)
                return
            shard = (raw_shard[0], raw_shard[1])
        session = GatewaySession(session_id=secrets.token_hex(16), shard=shard, intents=intents)
        self.sessions[session.session_id] = session
        self.identify_count += 1
        self._attach(session, conn)
        guild_ids = [g for g in self._world.guild_ids() if session.handles(g)]
        ready: Payload = {
            "v": 10,
            "user": self._world.ready_user(),
            "application": self._world.application_partial(),
            "guilds": [{"id": str(g), "unavailable": True} for g in guild_ids],
            "session_id": session.session_id,
            "session_type": "normal",
            "resume_gateway_url": self._world.gateway_url,
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "user_settings": {},
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "auth": {},
            "_trace": ['["newsbot-emulator"]'],
        }
        if shard is not None:
            ready["shard"] = list(shard)
        session.dispatch("READY", ready)
        for guild_id in guild_ids:
            session.guild_ids.append(guild_id)
            session.dispatch("GUILD_CREATE", self._world.guild_create(guild_id, intents))
        log.debug("gateway session %s identified (shard %s)", session.session_id, shard)
        self._notifier.notify()

    def _resume(self, conn: GatewayConnection, data: Payload) -> None:
        self.live_sessions()
        session = self.sessions.get(str(data.get("session_id")))
        seq = data.get("seq")
        frames = session.replay_after(seq) if session is not None and isinstance(seq, int) else None
        if session is None or data.get("token") != self._world.token or frames is None:
            conn.send_op(Op.INVALID_SESSION, False)
            return
        previous = session.connection
        if previous is not None and previous is not conn:
            previous.session = None
            previous.close_soon(4000)
        self._attach(session, conn, replay=frames)
        session.resumes += 1
        self.resume_count += 1
        session.dispatch("RESUMED", {"_trace": ['["newsbot-emulator"]']})
        log.debug("gateway session %s resumed after seq %s (%d replayed)", session.session_id, seq, len(frames))
        self._notifier.notify()

    def _attach(self, session: GatewaySession, conn: GatewayConnection, *, replay: Iterable[str] = ()) -> None:
        conn.session = session
        session.connection = conn
        session.disconnected_at = None
        for frame in replay:
            conn.send(frame)

    def _request_members(self, session: GatewaySession, data: Payload) -> None:
        try:
            guild_id = int(data["guild_id"])
        except (KeyError, TypeError, ValueError):
            return
        raw_ids = data.get("user_ids")
        user_ids = None if raw_ids is None else [int(u) for u in (raw_ids if isinstance(raw_ids, list) else [raw_ids])]
        members = self._world.guild_members(guild_id, data.get("query"), int(data.get("limit") or 0), user_ids)
        chunk: Payload = {
            "guild_id": str(guild_id),
            "members": members,
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
        }
        if data.get("nonce") is not None:
            chunk["nonce"] = data["nonce"]
        session.dispatch("GUILD_MEMBERS_CHUNK", chunk)

    def _on_disconnect(self, conn: GatewayConnection, close_code: int | None) -> None:
        session = conn.session
        if session is None or session.connection is not conn:
            return
        session.connection = None
        session.disconnected_at = time.monotonic()
        if not conn.closed_by_server and close_code in (1000, 1001):
            # A client that closes normally is done with its session (Discord invalidates it too).
            self.sessions.pop(session.session_id, None)
        self._notifier.notify()

    def live_sessions(self) -> list[GatewaySession]:
        """Sessions that are connected or may still resume; older disconnected ones are forgotten."""
        now = time.monotonic()
        for session in list(self.sessions.values()):
            if session.disconnected_at is not None and now - session.disconnected_at > self.session_timeout:
                del self.sessions[session.session_id]
        return list(self.sessions.values())

    # -- driving ------------------------------------------------------------------------------------

    def dispatch_guild(
        self, guild_id: int, event: str, build: Callable[[GatewaySession], Payload | None], *, intent: int | None
    ) -> int:
        """Send ``event`` to every session (connected or resumable) that handles ``guild_id``.

        Only sessions that asked for ``intent`` get it (``None``: events every session gets, like
        INTERACTION_CREATE). ``build`` makes the payload per session (intents change what a session may
        see) or returns None to skip it. Returns how many sessions got the event.
        """
        sent = 0
        for session in self.live_sessions():
            if not session.handles(guild_id) or (intent is not None and not session.intents & intent):
                continue
            data = build(session)
            if data is not None:
                session.dispatch(event, data)
                sent += 1
        return sent

    def dispatch_direct(
        self, event: str, build: Callable[[GatewaySession], Payload | None], *, intent: int | None
    ) -> int:
        """Send a DM event: Discord delivers those on shard 0 only, to sessions that asked for ``intent``
        (``None``: events every session gets, like INTERACTION_CREATE)."""
        sent = 0
        for session in self.live_sessions():
            if session.shard_id not in (None, 0) or (intent is not None and not session.intents & intent):
                continue
            data = build(session)
            if data is not None:
                session.dispatch(event, data)
                sent += 1
        return sent

    def _targets(self, shard_id: int | None) -> list[GatewayConnection]:
        return [
            c
            for c in self._connections
            if shard_id is None or (c.session is not None and c.session.shard_id == shard_id)
        ]

    async def drop(self, shard_id: int | None = None, *, code: int = 4000, abort: bool = False) -> int:
        targets = self._targets(shard_id)
        await asyncio.gather(*(c.close(code, abort=abort) for c in targets))
        return len(targets)

    async def invalidate(self, shard_id: int | None = None, *, resumable: bool = False) -> int:
        targets = [c for c in self._targets(shard_id) if c.session is not None]
        for conn in targets:
            if not resumable and conn.session is not None:
                self.sessions.pop(conn.session.session_id, None)
            conn.send_op(Op.INVALID_SESSION, resumable)
        return len(targets)

    async def request_reconnect(self, shard_id: int | None = None) -> int:
        targets = [c for c in self._targets(shard_id) if c.session is not None]
        for conn in targets:
            conn.send_op(Op.RECONNECT, None)
        return len(targets)

    async def close_all(self) -> None:
        await asyncio.gather(*(c.close(1001) for c in list(self._connections)))
