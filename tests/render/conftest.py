"""Discord's own OpenAPI document as the judge of every embed the renderers build.

The embed is validated inside a full message-create body (``POST /channels/{channel_id}/messages``),
so the schema is the one Discord applies to messages we send, reached through its ``$ref``s. The
document leaves out a few rules Discord enforces; ``discord_rule_violations`` checks those.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import discord
import pytest
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

REPO = Path(__file__).resolve().parents[2]
SPEC_CANDIDATES = (
    REPO / "bot" / "emulator" / "spec" / "openapi.json",
    REPO / ".." / "shared" / "discord-api-spec" / "openapi.json",
)
SPEC_URI = "urn:discord-openapi"
MESSAGE_CREATE = "/channels/{channel_id}/messages"
TOTAL_LIMIT = 6000

# RFC 3986 characters only, and the schemes Discord takes for links in embeds we build.
_URI_RE = re.compile(r"https?://[A-Za-z0-9\-._~!$&'()*+,;=:@\[\]%]+(?:[/?#][A-Za-z0-9\-._~!$&'()*+,;=:@/?#\[\]%]*)?")
_PING_RE = re.compile(r"@(everyone|here)|<@[!&]?\d|<#\d|</|<t:", re.IGNORECASE)


def _format_checker() -> FormatChecker:
    checker = FormatChecker(formats=())

    @checker.checks("uri")
    def is_uri(value: object) -> bool:
        return not isinstance(value, str) or _URI_RE.fullmatch(value) is not None

    @checker.checks("date-time")
    def is_datetime(value: object) -> bool:
        if not isinstance(value, str):
            return True
        try:
            return datetime.fromisoformat(value).tzinfo is not None
        except ValueError:
            return False

    return checker


def text_slots(embed: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """Every string Discord shows as text (and counts towards the 6,000 total)."""
    for key in ("title", "description"):
        if embed.get(key):
            yield key, embed[key]
    for i, field in enumerate(embed.get("fields") or []):
        yield f"fields/{i}/name", field["name"]
        yield f"fields/{i}/value", field["value"]
    if (embed.get("footer") or {}).get("text"):
        yield "footer/text", embed["footer"]["text"]
    if (embed.get("author") or {}).get("name"):
        yield "author/name", embed["author"]["name"]


def discord_rule_violations(embed: Mapping[str, Any]) -> list[str]:
    """Rules Discord enforces that the OpenAPI document does not carry, plus our own no-ping rule."""
    problems = []
    total = sum(len(text) for _, text in text_slots(embed))
    if total > TOTAL_LIMIT:
        problems.append(f"total text {total} > {TOTAL_LIMIT}")
    for i, field in enumerate(embed.get("fields") or []):
        if not field["name"].strip() or not field["value"].strip():
            problems.append(f"fields/{i}: empty name or value")
    if not any(embed.get(key) for key in ("title", "description", "fields", "image", "thumbnail", "author")):
        problems.append("empty embed")
    for where, text in text_slots(embed):
        for match in _PING_RE.finditer(text):
            # Our own list lines use <t:…:R> timestamps; those are the only markup allowed.
            if match.group(0).lower() == "<t:" and re.match(r"<t:-?\d+:R>", text[match.start() :]):
                continue
            problems.append(f"{where}: mention syntax {match.group(0)!r} survived")
    return problems


class EmbedChecker:
    def __init__(self, spec: dict[str, Any]) -> None:
        body = spec["paths"][MESSAGE_CREATE]["post"]["requestBody"]["content"]["application/json"]["schema"]
        registry: Registry[Any] = Registry().with_resource(
            SPEC_URI, Resource.from_contents(spec, default_specification=DRAFT202012)
        )
        schema = {"$ref": SPEC_URI + body["$ref"]} if "$ref" in body else body
        self.validator = Draft202012Validator(schema, registry=registry, format_checker=_format_checker())
        # Make sure the body really reaches the rich-embed schema, so a renamed spec cannot
        # silently turn these checks into no-ops.
        resolver = registry.resolver()
        embeds = resolver.lookup(schema["$ref"]).contents["properties"]["embeds"]
        assert embeds["items"]["$ref"].endswith("/RichEmbed")

    def problems(self, embed: discord.Embed | Mapping[str, Any]) -> list[str]:
        payload = embed.to_dict() if isinstance(embed, discord.Embed) else dict(embed)
        # A JSON round trip is what goes over the wire; it also fails on anything unserialisable.
        payload = json.loads(json.dumps(payload))
        found = [
            f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
            for error in self.validator.iter_errors({"embeds": [payload]})
        ]
        return found + discord_rule_violations(payload)


@pytest.fixture(scope="session")
def embed_checker() -> EmbedChecker:
    for candidate in SPEC_CANDIDATES:
        if candidate.is_file():
            return EmbedChecker(json.loads(candidate.read_text(encoding="utf-8")))
    pytest.skip("Discord OpenAPI document not present: bot/emulator/spec/openapi.json or ../shared/discord-api-spec")
