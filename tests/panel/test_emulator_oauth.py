"""The emulator's OAuth2 (``bot/emulator/oauth.py``): what Discord does, as far as the panel relies on it.
Responses of the routes Discord's OpenAPI document describes are validated against it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from importlib import resources
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import aiohttp
import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from bot.emulator import Emulator, Perm
from bot.emulator.models import Guild, Member

REDIRECT = "http://127.0.0.1:9/login/callback"


def _response_validator(path: str) -> Draft202012Validator:
    """Discord's schema for the 200 answer to ``GET path``."""
    document = json.loads(resources.files("bot.emulator").joinpath("spec/openapi.json").read_text(encoding="utf-8"))
    uri = "urn:test-spec"
    resource = Resource.from_contents(document, default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource(uri, resource)
    pointer = (
        "/paths/" + path.replace("~", "~0").replace("/", "~1") + "/get/responses/200/content/application~1json/schema"
    )
    return Draft202012Validator({"$ref": f"{uri}#{pointer}"}, registry=registry)


class Flow:
    def __init__(self, emulator: Emulator, http: aiohttp.ClientSession, guild: Guild, mod: Member) -> None:
        self.emulator, self.http, self.guild, self.mod = emulator, http, guild, mod

    async def code(self, user: Member, *, scope: str = "identify guilds", redirect: str = REDIRECT) -> str:
        query = {
            "client_id": self.emulator.oauth.client_id,
            "redirect_uri": redirect,
            "response_type": "code",
            "scope": scope,
            "state": "s1",
        }
        async with self.http.get(f"{self.emulator.base_url}/oauth2/authorize?{urlencode(query)}") as page:
            assert page.status == 200
            assert f'id="user-{user.id}"' in await page.text()
        form = {**query, "user_id": str(user.id), "decision": "authorize"}
        async with self.http.post(f"{self.emulator.base_url}/oauth2/authorize", data=form, allow_redirects=False) as r:
            location = r.headers["Location"]
        assert location.startswith(redirect + "?")
        params = dict(parse_qsl(urlsplit(location).query))
        assert params["state"] == "s1"
        return params["code"]

    async def token(self, **form: str) -> tuple[int, dict[str, Any]]:
        body = {"client_id": self.emulator.oauth.client_id, "client_secret": self.emulator.oauth.client_secret, **form}
        async with self.http.post(f"{self.emulator.api_base}/oauth2/token", data=body) as r:
            return r.status, await r.json()

    async def get(self, path: str, token: str) -> tuple[int, Any]:
        async with self.http.get(f"{self.emulator.api_base}{path}", headers={"Authorization": f"Bearer {token}"}) as r:
            return r.status, await r.json()


@pytest.fixture
async def flow() -> AsyncIterator[Flow]:
    async with Emulator() as emulator, aiohttp.ClientSession() as http:
        emulator.oauth.allow_redirect(REDIRECT)
        guild = emulator.add_guild("Newsroom")
        emulator.add_guild("Elsewhere")
        mod = emulator.add_member(guild, "mod", permissions=Perm.MANAGE_GUILD)
        yield Flow(emulator, http, guild, mod)


async def test_code_to_token_to_user_and_guilds_match_discords_spec(flow: Flow) -> None:
    status, token = await flow.token(
        grant_type="authorization_code", code=await flow.code(flow.mod), redirect_uri=REDIRECT
    )
    assert status == 200 and token["token_type"] == "Bearer" and token["scope"] == "guilds identify"
    status, me = await flow.get("/users/@me", token["access_token"])
    assert status == 200 and me["id"] == str(flow.mod.id)
    _response_validator("/users/@me").validate(me)
    status, guilds = await flow.get("/users/@me/guilds", token["access_token"])
    assert status == 200
    _response_validator("/users/@me/guilds").validate(guilds)
    assert [g["id"] for g in guilds] == [str(flow.guild.id)]  # only the guilds the user is in
    assert int(guilds[0]["permissions"]) & Perm.MANAGE_GUILD and guilds[0]["owner"] is False


async def test_owner_flag_and_refresh_grant(flow: Flow) -> None:
    owner = flow.guild.members[flow.guild.owner_id]
    _, token = await flow.token(grant_type="authorization_code", code=await flow.code(owner), redirect_uri=REDIRECT)
    status, fresh = await flow.token(grant_type="refresh_token", refresh_token=token["refresh_token"])
    assert status == 200
    _, guilds = await flow.get("/users/@me/guilds", fresh["access_token"])
    assert guilds[0]["owner"] is True
    status, again = await flow.token(grant_type="refresh_token", refresh_token=token["refresh_token"])
    assert status == 400 and again["error"] == "invalid_grant"  # a refresh token is replaced when used


async def test_a_code_works_once_and_only_with_its_redirect_uri(flow: Flow) -> None:
    code = await flow.code(flow.mod)
    status, error = await flow.token(grant_type="authorization_code", code=code, redirect_uri=REDIRECT + "x")
    assert status == 400 and error["error"] == "invalid_grant"
    status, _ = await flow.token(grant_type="authorization_code", code=code, redirect_uri=REDIRECT)
    assert status == 400  # spent by the failed attempt


async def test_the_client_secret_is_checked(flow: Flow) -> None:
    code = await flow.code(flow.mod)
    status, error = await flow.token(
        grant_type="authorization_code", code=code, redirect_uri=REDIRECT, client_secret="wrong"
    )
    assert status == 401 and error["error"] == "invalid_client"


async def test_unregistered_redirect_is_refused_on_the_page(flow: Flow) -> None:
    query = {
        "client_id": flow.emulator.oauth.client_id,
        "redirect_uri": "https://evil.example/cb",
        "response_type": "code",
        "scope": "identify",
    }
    async with flow.http.get(f"{flow.emulator.base_url}/oauth2/authorize?{urlencode(query)}") as page:
        assert page.status == 400 and "redirect_uri" in await page.text()


async def test_scope_limits_what_the_token_reads(flow: Flow) -> None:
    _, token = await flow.token(
        grant_type="authorization_code", code=await flow.code(flow.mod, scope="identify"), redirect_uri=REDIRECT
    )
    assert (await flow.get("/users/@me/guilds", token["access_token"]))[0] == 403
    assert (await flow.get("/users/@me", "not-a-token"))[0] == 401


async def test_the_bots_own_users_me_still_works(flow: Flow) -> None:
    headers = {"Authorization": f"Bot {flow.emulator.token}"}
    async with flow.http.get(f"{flow.emulator.api_base}/users/@me", headers=headers) as r:
        assert r.status == 200 and (await r.json())["id"] == str(flow.emulator.bot_user.id)
    flow.emulator.assert_no_violations()
