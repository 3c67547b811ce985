"""Sessions, CSRF tokens, redirect targets, security headers and the login rate limit.

A session is a signed cookie (HMAC-SHA256 with a key derived from ``NEWSBOT_WEB_SECRET``): the
browser holds it, can read it (it is only signed), cannot change it. It holds no secret: the
member's id and name, the ids of the servers Discord said they manage at login, a random session
id the CSRF token is derived from, and during a login the ``state`` and where to go afterwards.
The OAuth access token is used once, at login, and never kept.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import json
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from urllib.parse import urlsplit

from aiohttp import web

from bot.settings import Secret

COOKIE = "newsbot_session"
#: A one-time message shown after an action (post/redirect/get), signed and tied to the session.
FLASH_COOKIE = "newsbot_flash"
MAX_FLASH_CHARS = 1000
#: A login lasts this long; permissions are re-checked on every request meanwhile regardless.
SESSION_SECONDS = 8 * 3600
#: A login must come back from Discord within this time.
LOGIN_SECONDS = 600
#: Servers remembered per session (the cookie stays well under browsers' 4 KB per cookie).
MAX_SESSION_GUILDS = 100
#: Login attempts (starting one, or coming back from Discord) per client address and window.
LOGIN_ATTEMPTS = 10
LOGIN_WINDOW_SECONDS = 60.0
DEFAULT_NEXT = "/panel"

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src https: data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


@dataclass(frozen=True, slots=True)
class Session:
    """``user_id`` is ``None`` before login. ``sid`` is random per login (never reused across one)."""

    sid: str
    issued_at: float
    user_id: int | None = None
    user_name: str = ""
    guild_ids: tuple[int, ...] = ()
    state: str | None = None
    next: str = DEFAULT_NEXT

    @classmethod
    def fresh(cls, now: float) -> Session:
        return cls(sid=secrets.token_urlsafe(18), issued_at=now)

    @property
    def logged_in(self) -> bool:
        return self.user_id is not None


class SessionCodec:
    """Signs and checks session cookies; the key is derived so the raw secret is used for nothing else."""

    def __init__(self, secret: Secret, *, clock: Callable[[], float] = time.time) -> None:
        raw = secret.reveal().encode()
        self._key = hmac.new(raw, b"newsbot panel session v1", hashlib.sha256).digest()
        self._csrf_key = hmac.new(raw, b"newsbot panel csrf v1", hashlib.sha256).digest()
        self._flash_key = hmac.new(raw, b"newsbot panel flash v1", hashlib.sha256).digest()
        self._clock = clock

    def now(self) -> float:
        return self._clock()

    def dumps(self, session: Session) -> str:
        data = asdict(session)
        data["guild_ids"] = [str(g) for g in session.guild_ids]
        payload = _b64(json.dumps(data, separators=(",", ":")).encode())
        return f"{payload}.{_b64(self._sign(payload))}"

    def loads(self, cookie: str | None) -> Session | None:
        """The session, or ``None`` when the cookie is missing, tampered with, malformed or expired."""
        if not cookie or len(cookie) > 4096:
            return None
        payload, _, signature = cookie.partition(".")
        try:
            if not hmac.compare_digest(_unb64(signature), self._sign(payload)):
                return None
            data = json.loads(_unb64(payload))
            session = Session(
                sid=str(data["sid"]),
                issued_at=float(data["issued_at"]),
                user_id=None if data["user_id"] is None else int(data["user_id"]),
                user_name=str(data["user_name"]),
                guild_ids=tuple(int(g) for g in data["guild_ids"]),
                state=None if data["state"] is None else str(data["state"]),
                next=safe_next(str(data["next"])),
            )
        except (ValueError, KeyError, TypeError, binascii.Error):
            return None
        age = self.now() - session.issued_at
        limit = SESSION_SECONDS if session.logged_in else LOGIN_SECONDS
        if not 0 <= age <= limit:
            return None
        return session

    def csrf_token(self, session: Session) -> str:
        return hmac.new(self._csrf_key, session.sid.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, session: Session | None, token: object) -> bool:
        return (
            session is not None
            and isinstance(token, str)
            and hmac.compare_digest(token.encode(), self.csrf_token(session).encode())
        )

    def flash_dumps(self, session: Session, text: str) -> str:
        payload = _b64(text[:MAX_FLASH_CHARS].encode())
        mac = hmac.new(self._flash_key, f"{session.sid}.{payload}".encode(), hashlib.sha256).digest()
        return f"{payload}.{_b64(mac)}"

    def flash_loads(self, session: Session | None, cookie: str | None) -> str | None:
        """The message, if the cookie was made for this session (no one can plant a message)."""
        if session is None or not cookie or len(cookie) > 4096:
            return None
        payload, _, signature = cookie.partition(".")
        mac = hmac.new(self._flash_key, f"{session.sid}.{payload}".encode(), hashlib.sha256).digest()
        try:
            if not hmac.compare_digest(_unb64(signature), mac):
                return None
            return _unb64(payload).decode()
        except (ValueError, binascii.Error):
            return None

    def _sign(self, payload: str) -> bytes:
        return hmac.new(self._key, payload.encode(), hashlib.sha256).digest()


def with_login(session: Session, *, user_id: int, user_name: str, guild_ids: list[int], now: float) -> Session:
    """A new session for a member who just logged in: a new ``sid`` (so nothing from before the
    login, such as a CSRF token an attacker planted, carries over) and no ``state``."""
    return replace(
        Session.fresh(now),
        user_id=user_id,
        user_name=user_name,
        guild_ids=tuple(guild_ids[:MAX_SESSION_GUILDS]),
        next=session.next,
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def safe_next(raw: str | None) -> str:
    """Where to go after login: a path on this site, or ``/panel``. Never another origin:
    ``//evil.example``, ``/\\evil.example``, ``https://…``, ``javascript:`` and control characters
    are all refused, because browsers read those as (or repair them into) other sites."""
    if not raw or len(raw) > 1000 or not raw.startswith("/") or raw.startswith(("//", "/\\")):
        return DEFAULT_NEXT
    if "\\" in raw or any(ord(c) < 0x21 or ord(c) == 0x7F for c in raw):
        return DEFAULT_NEXT
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc:
        return DEFAULT_NEXT
    return raw


def client_address(request: web.Request) -> str:
    """The visitor's address. Behind a reverse proxy on the same machine (the documented setup),
    the last ``X-Forwarded-For`` hop is what the proxy saw; from anyone else the header is ignored,
    since a client can send it with any value."""
    remote = request.remote or "unknown"
    forwarded = request.headers.get("X-Forwarded-For", "")
    try:
        local = ipaddress.ip_address(remote).is_loopback
    except ValueError:
        local = False
    if local and forwarded:
        hop = forwarded.split(",")[-1].strip()
        try:
            return str(ipaddress.ip_address(hop))
        except ValueError:
            return remote
    return remote


class RateLimiter:
    """At most ``limit`` events per ``window`` seconds per key (a sliding window); bounded memory."""

    def __init__(
        self,
        limit: int = LOGIN_ATTEMPTS,
        window: float = LOGIN_WINDOW_SECONDS,
        *,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self._max_keys = max_keys
        self._clock = clock
        self._events: OrderedDict[str, deque[float]] = OrderedDict()

    def allow(self, key: str) -> float | None:
        """``None`` when allowed (and counted); otherwise the seconds until the next attempt may go."""
        now = self._clock()
        events = self._events.pop(key, None) or deque()
        while events and events[0] <= now - self.window:
            events.popleft()
        self._events[key] = events
        while len(self._events) > self._max_keys:
            self._events.popitem(last=False)
        if len(events) >= self.limit:
            return max(events[0] + self.window - now, 0.0)
        events.append(now)
        return None
