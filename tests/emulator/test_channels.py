"""Announcement channels, forums, threads, role pings, deletions and DMs, as the real discord.py client sees them."""

from __future__ import annotations

import aiohttp
import discord
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.emulator import Emulator, Perm
from bot.emulator.mentions import resolve_pings
from bot.emulator.models import Guild, Role, User
from bot.emulator.validation import ApiSpec
from tests.emulator.conftest import EmulatedClient, StartClient

NOBODY = discord.AllowedMentions.none()


def auth(emulator: Emulator) -> dict[str, str]:
    return {"Authorization": f"Bot {emulator.token}"}


# -- announcement channels and publishing ----------------------------------------------------------------


async def test_eleventh_publish_in_an_hour_is_429_and_discord_py_raises(
    emulator: Emulator, start_client: StartClient, no_violations: None
) -> None:
    guild = emulator.add_guild("Newsroom")
    announcements = emulator.add_announcement_channel(guild, "announcements")
    client = await start_client(EmulatedClient(max_ratelimit_timeout=30))
    channel = client.get_channel(announcements.id)
    assert isinstance(channel, discord.TextChannel)
    assert channel.is_news()

    sent = [await channel.send(f"story {n}") for n in range(11)]
    for message in sent[:10]:
        await message.publish()
    with pytest.raises(discord.RateLimited) as limited:
        await sent[10].publish()

    assert 3500 < limited.value.retry_after <= 3600
    assert [m.id for m in emulator.crossposts(announcements)] == [m.id for m in sent[:10]]
    assert [m.crossposted for m in emulator.channel_messages(announcements)] == [True] * 10 + [False]
    (hit,) = emulator.rate_limit_hits
    assert (hit.scope, hit.injected) == ("shared", False)
    # The hour passes: publishing works again.
    emulator.advance_clock(3600)
    await sent[10].publish()
    assert emulator.message(sent[10].id).crossposted


async def test_publish_429_carries_discords_body_and_headers(emulator: Emulator) -> None:
    guild = emulator.add_guild("Newsroom")
    announcements = emulator.add_announcement_channel(guild, "announcements")
    emulator.limiter.limit = 1000  # only the publish limit is under test
    async with aiohttp.ClientSession(headers=auth(emulator)) as http:
        ids = []
        for n in range(11):
            body = {"content": f"story {n}", "allowed_mentions": {"parse": []}}
            async with http.post(f"{emulator.api_base}/channels/{announcements.id}/messages", json=body) as r:
                ids.append((await r.json())["id"])
        statuses = []
        for message_id in ids:
            async with http.post(
                f"{emulator.api_base}/channels/{announcements.id}/messages/{message_id}/crosspost"
            ) as r:
                statuses.append(r.status)
                last, headers = await r.json(), r.headers

    assert statuses == [200] * 10 + [429]
    assert last["global"] is False and 3599 < last["retry_after"] <= 3600
    assert headers["Content-Type"] == "application/json"
    assert headers["X-RateLimit-Limit"] == "10"
    assert headers["X-RateLimit-Remaining"] == "0"
    assert headers["X-RateLimit-Scope"] == "shared"
    assert headers["Retry-After"] == "3600"
    assert "Via" in headers  # discord.py only trusts a 429 that has it


async def test_publishing_twice_or_outside_an_announcement_channel_is_refused(
    emulator: Emulator, start_client: StartClient
) -> None:
    guild = emulator.add_guild("Newsroom")
    announcements = emulator.add_announcement_channel(guild, "announcements")
    text = emulator.add_text_channel(guild, "news")
    client = await start_client(EmulatedClient())
    published = await _text(client, announcements.id).send("once")
    await published.publish()
    plain = await _text(client, text.id).send("not news")

    with pytest.raises(discord.HTTPException) as twice:
        await published.publish()
    with pytest.raises(discord.HTTPException) as wrong_kind:
        await plain.publish()

    assert (twice.value.status, twice.value.code) == (400, 40033)
    assert (wrong_kind.value.status, wrong_kind.value.code) == (400, 50024)
    assert len(emulator.crossposts()) == 1
    # Publishing in a text channel is the bot's mistake; a second publish (after a crash, say) is not.
    assert [v.path for v in emulator.violations] == [f"/channels/{text.id}/messages/{plain.id}/crosspost"]


# -- forums ------------------------------------------------------------------------------------------------


async def test_forum_post_with_tags_is_a_thread_whose_first_message_shares_its_id(
    emulator: Emulator, start_client: StartClient, no_violations: None
) -> None:
    guild = emulator.add_guild("Newsroom")
    forum = emulator.add_forum_channel(guild, "articles", tags=["Science", ("Politics", False, "🗳️"), "Sport"])
    client = await start_client(EmulatedClient())
    seen = client.get_channel(forum.id)
    assert isinstance(seen, discord.ForumChannel)
    assert [t.name for t in seen.available_tags] == ["Science", "Politics", "Sport"]
    assert str(seen.get_tag(forum.tag("politics").id).emoji) == "🗳️"  # type: ignore[union-attr]

    science, sport = (seen.get_tag(forum.tag(n).id) for n in ("science", "sport"))
    created = await seen.create_thread(
        name="Comet seen", content="A comet", embed=discord.Embed(title="Comet"), applied_tags=[science, sport]
    )

    (post,) = emulator.threads(forum)
    assert created.thread.id == created.message.id == post.id
    assert (post.type, post.name, post.parent_id) == (11, "Comet seen", forum.id)
    assert post.applied_tags == [forum.tag("science").id, forum.tag("sport").id]
    (first,) = emulator.channel_messages(post)
    assert first.id == post.id and first.content == "A comet" and first.embeds[0]["title"] == "Comet"
    assert [t.name for t in created.thread.applied_tags] == ["Science", "Sport"]
    await emulator.wait_until(lambda: client.get_channel(post.id), what="THREAD_CREATE to reach the client")


async def test_forum_post_with_an_unknown_tag_is_400_and_recorded(
    emulator: Emulator, start_client: StartClient
) -> None:
    guild = emulator.add_guild("Newsroom")
    forum = emulator.add_forum_channel(guild, "articles", tags=["Science"])
    other = emulator.add_forum_channel(guild, "elsewhere", tags=["Science"])
    client = await start_client(EmulatedClient())
    seen = client.get_channel(forum.id)
    foreign = client.get_channel(other.id)
    assert isinstance(seen, discord.ForumChannel) and isinstance(foreign, discord.ForumChannel)

    with pytest.raises(discord.HTTPException) as failure:
        await seen.create_thread(name="Comet", content="A comet", applied_tags=foreign.available_tags)

    assert (failure.value.status, failure.value.code) == (400, 50035)
    assert "applied_tags" in failure.value.text
    assert emulator.threads(forum) == []
    (violation,) = emulator.violations
    assert "applied_tags.0" in violation.message


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "n" * 101, "message": {"content": "x"}}, "name"),
        ({"name": "", "message": {"content": "x"}}, "name"),
        ({"name": "ok", "message": {"content": "x"}, "applied_tags": ["1", "2", "3", "4", "5", "6"]}, "applied_tags"),
    ],
    ids=["name-over-100", "empty-name", "six-tags"],
)
async def test_forum_post_limits_come_from_the_spec(emulator: Emulator, body: dict[str, object], field: str) -> None:
    guild = emulator.add_guild("Newsroom")
    forum = emulator.add_forum_channel(guild, "articles", tags=[f"t{n}" for n in range(6)])
    message = body["message"]
    assert isinstance(message, dict)
    message["allowed_mentions"] = {"parse": []}
    async with (
        aiohttp.ClientSession(headers=auth(emulator)) as http,
        http.post(f"{emulator.api_base}/channels/{forum.id}/threads", json=body) as response,
    ):
        error = await response.json()

    assert (response.status, error["code"]) == (400, 50035)
    assert field in error["errors"]
    assert emulator.threads(forum) == []


async def test_forum_that_requires_a_tag_refuses_an_untagged_post(
    emulator: Emulator, start_client: StartClient
) -> None:
    guild = emulator.add_guild("Newsroom")
    forum = emulator.add_forum_channel(guild, "articles", tags=["Science"], require_tag=True)
    client = await start_client(EmulatedClient())
    seen = client.get_channel(forum.id)
    assert isinstance(seen, discord.ForumChannel)

    with pytest.raises(discord.HTTPException) as failure:
        await seen.create_thread(name="Comet", content="A comet")

    assert failure.value.code == 40067


@pytest.mark.parametrize(
    ("deny", "allowed"),
    [(Perm.SEND_MESSAGES, False), (Perm.CREATE_PUBLIC_THREADS, True), (Perm.SEND_MESSAGES_IN_THREADS, True)],
    ids=["no-send-messages", "no-create-public-threads", "no-send-in-threads"],
)
async def test_forum_post_needs_send_messages_in_the_forum(
    emulator: Emulator, start_client: StartClient, deny: Perm, allowed: bool
) -> None:
    guild = emulator.add_guild("Newsroom", bot_permissions=Perm.VIEW_CHANNEL | Perm.SEND_MESSAGES)
    forum = emulator.add_forum_channel(guild, "articles", bot_deny=deny)
    client = await start_client(EmulatedClient())
    seen = client.get_channel(forum.id)
    assert isinstance(seen, discord.ForumChannel)

    if allowed:
        await seen.create_thread(name="Comet", content="A comet")
    else:
        with pytest.raises(discord.Forbidden) as failure:
            await seen.create_thread(name="Comet", content="A comet")
        assert failure.value.code == 50013
    assert len(emulator.threads(forum)) == int(allowed)


async def test_removing_a_tag_reaches_the_client_and_leaves_the_posts(
    emulator: Emulator, start_client: StartClient, no_violations: None
) -> None:
    guild = emulator.add_guild("Newsroom")
    forum = emulator.add_forum_channel(guild, "articles", tags=["Science", "Sport"])
    client = await start_client(EmulatedClient())
    seen = client.get_channel(forum.id)
    assert isinstance(seen, discord.ForumChannel)
    await seen.create_thread(name="Comet", content="A comet", applied_tags=seen.available_tags)
    science_id = forum.tag("science").id

    emulator.remove_forum_tag(forum, "science")

    await emulator.wait_until(lambda: seen.get_tag(science_id) is None, what="CHANNEL_UPDATE without the tag")
    assert [t.name for t in seen.available_tags] == ["Sport"]
    (post,) = emulator.threads(forum)
    assert post.applied_tags == [forum.tag("sport").id]


# -- threads from a message ------------------------------------------------------------------------------


async def test_thread_from_a_message_then_a_post_in_it(
    emulator: Emulator, start_client: StartClient, no_violations: None
) -> None:
    guild = emulator.add_guild("Newsroom", bot_permissions=Perm.VIEW_CHANNEL | Perm.SEND_MESSAGES)
    news = emulator.add_text_channel(guild, "news", bot_allow=Perm.CREATE_PUBLIC_THREADS)
    client = await start_client(EmulatedClient())
    card = await _text(client, news.id).send("Comet seen")

    thread = await card.create_thread(name="Comet seen")
    await thread.send("Related: earlier comets")

    assert thread.id == card.id
    (stored,) = emulator.threads(news)
    assert (stored.id, stored.type, stored.parent_id) == (card.id, 11, news.id)
    assert emulator.message(card.id).thread is stored
    assert [m.content for m in emulator.channel_messages(stored)] == ["Related: earlier comets"]
    assert [m.content for m in emulator.channel_messages(news)] == ["Comet seen"]


@pytest.mark.parametrize(
    ("deny", "fails_at"),
    [
        (Perm.CREATE_PUBLIC_THREADS, "start"),
        (Perm.SEND_MESSAGES_IN_THREADS, "post"),
        (Perm.SEND_MESSAGES, None),  # Send Messages is not what a thread needs
    ],
    ids=["no-create-public-threads", "no-send-in-threads", "no-send-messages"],
)
async def test_thread_permissions_are_discords(
    emulator: Emulator, start_client: StartClient, deny: Perm, fails_at: str | None
) -> None:
    guild = emulator.add_guild("Newsroom")
    news = emulator.add_text_channel(guild, "news")
    card = emulator.post_message(news, guild.owner_id, "Comet seen")
    emulator.set_permissions(news, emulator.bot_user, deny=deny)
    client = await start_client(EmulatedClient())
    channel = _text(client, news.id)
    message = await channel.fetch_message(card.id)

    if fails_at == "start":
        with pytest.raises(discord.Forbidden) as failure:
            await message.create_thread(name="Comet")
        assert failure.value.code == 50013
        return
    thread = await message.create_thread(name="Comet")
    if fails_at == "post":
        with pytest.raises(discord.Forbidden) as failure:
            await thread.send("related")
        assert failure.value.code == 50013
    else:
        await thread.send("related")
    assert len(emulator.channel_messages(thread.id)) == (0 if fails_at else 1)


async def test_a_hidden_parent_hides_its_threads(emulator: Emulator, start_client: StartClient) -> None:
    guild = emulator.add_guild("Newsroom")
    news = emulator.add_text_channel(guild, "news")
    client = await start_client(EmulatedClient())
    thread = await (await _text(client, news.id).send("card")).create_thread(name="Comet")

    emulator.set_permissions(news, emulator.bot_user, deny=Perm.VIEW_CHANNEL)
    with pytest.raises(discord.Forbidden) as failure:
        await thread.send("related")

    assert failure.value.code == 50001


# -- role mentions ----------------------------------------------------------------------------------------


async def test_allowed_mentions_with_one_role_pings_exactly_that_role(
    emulator: Emulator, start_client: StartClient, no_violations: None
) -> None:
    guild = emulator.add_guild("Newsroom")
    news = emulator.add_text_channel(guild, "news")
    science = emulator.add_role(guild, "science-news", mentionable=True)
    sport = emulator.add_role(guild, "sport-news", mentionable=True)
    alice = emulator.add_member(guild, "alice")
    client = await start_client(EmulatedClient())
    role = client.get_guild(guild.id).get_role(science.id)  # type: ignore[union-attr]
    assert role is not None and role.mentionable

    text = f"{science.mention} {sport.mention} <@{alice.id}> @everyone: a comet"
    exactly_science = discord.AllowedMentions(everyone=False, users=False, roles=[role], replied_user=False)
    sent = await _text(client, news.id).send(text, allowed_mentions=exactly_science)

    stored = emulator.message(sent.id)
    assert stored.pinged_roles == {science.id}
    assert stored.pinged_users == set() and not stored.pinged_everyone
    assert [r.id for r in sent.role_mentions] == [science.id]
    assert not sent.mention_everyone and sent.mentions == []


async def test_everyone_in_the_text_with_no_allowed_mentions_pings_nobody(
    emulator: Emulator, start_client: StartClient, no_violations: None
) -> None:
    guild = emulator.add_guild(
        "Newsroom", bot_permissions=Perm.VIEW_CHANNEL | Perm.SEND_MESSAGES | Perm.MENTION_EVERYONE
    )
    news = emulator.add_text_channel(guild, "news")
    science = emulator.add_role(guild, "science-news", mentionable=True)
    client = await start_client(EmulatedClient())

    sent = await _text(client, news.id).send(f"@everyone @here {science.mention} read this", allowed_mentions=NOBODY)

    assert emulator.message(sent.id).pinged_nobody
    assert not sent.mention_everyone and sent.role_mentions == []


@pytest.mark.parametrize("kind", ["roles", "users"])
async def test_parsing_and_listing_one_kind_is_discords_400(emulator: Emulator, kind: str) -> None:
    guild = emulator.add_guild("Newsroom")
    news = emulator.add_text_channel(guild, "news")
    science = emulator.add_role(guild, "science-news", mentionable=True)
    listed = str(science.id if kind == "roles" else guild.owner_id)
    body = {"content": science.mention, "allowed_mentions": {"parse": [kind], kind: [listed]}}
    async with (
        aiohttp.ClientSession(headers=auth(emulator)) as http,
        http.post(f"{emulator.api_base}/channels/{news.id}/messages", json=body) as response,
    ):
        error = await response.json()

    assert (response.status, error["code"]) == (400, 50035)
    codes = [problem["code"] for problem in error["errors"]["allowed_mentions"]["_errors"]]
    # Discord's own rule, next to the project's policy (which also refuses any parsing).
    assert codes == ["MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE", "NEWSBOT_POLICY_NO_MENTIONS"]
    assert emulator.channel_messages(news) == []


async def test_a_deleted_role_pings_nobody_and_leaves_the_client(
    emulator: Emulator, start_client: StartClient, no_violations: None
) -> None:
    guild = emulator.add_guild("Newsroom")
    news = emulator.add_text_channel(guild, "news")
    science = emulator.add_role(guild, "science-news", mentionable=True)
    client = await start_client(EmulatedClient())
    seen = client.get_guild(guild.id)
    assert seen is not None and seen.get_role(science.id) is not None

    emulator.delete_role(science)
    await emulator.wait_until(lambda: seen.get_role(science.id) is None, what="GUILD_ROLE_DELETE")
    allowed = discord.AllowedMentions(everyone=False, users=False, roles=[discord.Object(science.id)])
    sent = await _text(client, news.id).send(science.mention, allowed_mentions=allowed)

    assert emulator.message(sent.id).pinged_nobody


@settings(max_examples=200, deadline=None)
@given(
    parse=st.lists(st.sampled_from(["users", "roles", "everyone"]), unique=True),
    listed_roles=st.lists(st.sampled_from([0, 1, 2]), unique=True),
    in_text=st.lists(st.sampled_from([0, 1, 2]), unique=True),
    mentionable=st.lists(st.booleans(), min_size=3, max_size=3),
    everyone_in_text=st.booleans(),
    may_mention_everyone=st.booleans(),
)
def test_pings_follow_discords_rules(
    parse: list[str],
    listed_roles: list[int],
    in_text: list[int],
    mentionable: list[bool],
    everyone_in_text: bool,
    may_mention_everyone: bool,
) -> None:
    guild = Guild(id=1 << 40, name="g", owner_id=1)
    roles = [Role((2 << 40) + n, guild.id, f"r{n}", 0, mentionable=m) for n, m in enumerate(mentionable)]
    guild.roles = {r.id: r for r in roles}
    content = " ".join(roles[n].mention for n in in_text) + (" @everyone" if everyone_in_text else "")
    allowed = {"parse": parse, "roles": [str(roles[n].id) for n in listed_roles]}

    pings = resolve_pings(
        content,
        allowed,
        guild=guild,
        users={},
        author_permissions=Perm.MENTION_EVERYONE if may_mention_everyone else 0,
    )

    expected = {
        roles[n].id
        for n in in_text
        if ("roles" in parse or n in listed_roles) and (roles[n].mentionable or may_mention_everyone)
    }
    assert pings.roles == expected
    assert pings.everyone == ("everyone" in parse and everyone_in_text and may_mention_everyone)
    assert pings.users == set()


def test_without_allowed_mentions_everything_in_the_text_is_parsed() -> None:
    guild = Guild(id=1 << 40, name="g", owner_id=1)
    role = Role(2 << 40, guild.id, "r", 0, mentionable=True)
    user = User(3 << 40, "alice")
    guild.roles = {role.id: role}
    guild.members = {}

    pings = resolve_pings(
        f"{role.mention} <@!{user.id}>", None, guild=guild, users={user.id: user}, author_permissions=0
    )

    assert pings.roles == {role.id}
    assert pings.users == set()  # alice is not a member of this guild: nobody to notify


# -- deletions and lost permissions -----------------------------------------------------------------------


async def test_deleted_channel_gives_unknown_channel_and_the_client_hears_of_it(
    emulator: Emulator, start_client: StartClient, no_violations: None
) -> None:
    guild = emulator.add_guild("Newsroom")
    news = emulator.add_text_channel(guild, "news")
    client = await start_client(EmulatedClient())
    channel = _text(client, news.id)
    await channel.send("before")
    deleted = client.wait_for("guild_channel_delete", timeout=3)

    emulator.delete_channel(news)

    assert (await deleted).id == news.id
    assert client.get_channel(news.id) is None
    with pytest.raises(discord.NotFound) as failure:
        await channel.send("after")
    assert (failure.value.status, failure.value.code) == (404, 10003)
    assert [m.content for m in emulator.channel_messages(news)] == ["before"]


async def test_deleting_a_channel_over_rest_needs_manage_channels(
    emulator: Emulator, start_client: StartClient, no_violations: None
) -> None:
    guild = emulator.add_guild("Newsroom")
    news = emulator.add_text_channel(guild, "news")
    old = emulator.add_text_channel(guild, "old", bot_allow=Perm.MANAGE_CHANNELS)
    client = await start_client(EmulatedClient())

    with pytest.raises(discord.Forbidden):
        await _text(client, news.id).delete()
    await _text(client, old.id).delete()

    assert news.id in emulator.world.channels and old.id not in emulator.world.channels


async def test_a_deleted_forum_post_or_thread_is_unknown_too(emulator: Emulator, start_client: StartClient) -> None:
    guild = emulator.add_guild("Newsroom")
    forum = emulator.add_forum_channel(guild, "articles")
    client = await start_client(EmulatedClient())
    seen = client.get_channel(forum.id)
    assert isinstance(seen, discord.ForumChannel)
    post = (await seen.create_thread(name="Comet", content="A comet")).thread

    emulator.delete_channel(forum)  # its posts go with it

    with pytest.raises(discord.NotFound) as failure:
        await post.send("more")
    assert failure.value.code == 10003
    assert emulator.threads(forum) == []


async def test_losing_a_permission_reaches_the_client_and_gives_missing_permissions(
    emulator: Emulator, start_client: StartClient, no_violations: None
) -> None:
    guild = emulator.add_guild("Newsroom")
    news = emulator.add_text_channel(guild, "news")
    client = await start_client(EmulatedClient())
    channel = _text(client, news.id)
    me = channel.guild.me
    await channel.send("allowed")

    emulator.set_permissions(news, emulator.bot_user, deny=Perm.SEND_MESSAGES)

    await emulator.wait_until(lambda: not channel.permissions_for(me).send_messages, what="CHANNEL_UPDATE")
    with pytest.raises(discord.Forbidden) as failure:
        await channel.send("refused")
    assert (failure.value.status, failure.value.code) == (403, 50013)
    emulator.set_permissions(news, emulator.bot_user)  # the moderator gives it back
    await emulator.wait_until(lambda: channel.permissions_for(me).send_messages, what="the overwrite removed")
    await channel.send("allowed again")


async def test_a_role_losing_a_permission_takes_it_from_the_bot(
    emulator: Emulator, start_client: StartClient, no_violations: None
) -> None:
    guild = emulator.add_guild("Newsroom", everyone_permissions=Perm.VIEW_CHANNEL)
    news = emulator.add_text_channel(guild, "news")
    client = await start_client(EmulatedClient())
    channel = _text(client, news.id)
    (bot_role,) = (r for r in guild.roles.values() if r.bot_id is not None)

    emulator.edit_role(bot_role, permissions=Perm.VIEW_CHANNEL)

    await emulator.wait_until(lambda: not channel.permissions_for(channel.guild.me).send_messages, what="role update")
    with pytest.raises(discord.Forbidden):
        await channel.send("refused")


# -- direct messages -------------------------------------------------------------------------------------


async def test_dm_is_delivered_then_refused_once_dms_are_closed(
    emulator: Emulator, start_client: StartClient, no_violations: None
) -> None:
    guild = emulator.add_guild("Newsroom")
    alice = emulator.add_member(guild, "alice")
    client = await start_client(EmulatedClient())
    user = await client.fetch_user(alice.id)

    first = await user.send("Your news")
    emulator.close_dms(alice)
    with pytest.raises(discord.Forbidden) as failure:
        await user.send("More news")
    emulator.open_dms(alice)
    await user.send("Back again")

    assert (failure.value.status, failure.value.code) == (403, 50007)
    assert failure.value.text == "Cannot send messages to this user"
    dm = emulator.dm_channel(alice)
    assert dm is not None and dm.type == 1 and first.channel.id == dm.id
    assert [m.content for m in emulator.dm_messages(alice)] == ["Your news", "Back again"]


async def test_a_user_sharing_no_server_cannot_be_messaged(emulator: Emulator, start_client: StartClient) -> None:
    emulator.add_guild("Newsroom")
    stranger = emulator.add_user("stranger")
    client = await start_client(EmulatedClient())
    user = await client.fetch_user(stranger.id)

    with pytest.raises(discord.Forbidden) as failure:
        await user.send("hello")

    assert failure.value.code == 50007
    assert emulator.dm_messages(stranger) == []


# -- payloads against the spec's response schemas ---------------------------------------------------------


def test_new_payloads_match_the_spec_response_schemas(emulator: Emulator) -> None:
    spec = ApiSpec.load()
    guild = emulator.add_guild("Newsroom")
    forum = emulator.add_forum_channel(guild, "articles", tags=["Science", ("Politics", True, "🗳️")])
    announcements = emulator.add_announcement_channel(guild, "announcements")
    card = emulator.post_message(announcements, guild.owner_id, "card")
    thread = emulator.world.start_thread(announcements, "Comet", emulator.bot_user, type=10, source=card)
    post = emulator.world.start_thread(
        forum, "Post", emulator.bot_user, type=11, applied_tags=[forum.tag("science").id]
    )
    dm = emulator.world.open_dm(emulator.add_user("alice"))

    problems = {
        "forum": spec.validate_schema("GuildChannelResponse", forum.payload()),
        "announcement": spec.validate_schema("GuildChannelResponse", announcements.payload()),
        "thread": spec.validate_schema("ThreadResponse", thread.payload()),
        "post": spec.validate_schema("ThreadResponse", post.payload()),
        "dm": spec.validate_schema("PrivateChannelResponse", dm.payload()),
        "starter": spec.validate_schema("MessageResponse", card.payload()),
    }

    assert {name: errors.summary() for name, errors in problems.items() if errors} == {}


def _text(client: discord.Client, channel_id: int) -> discord.TextChannel:
    channel = client.get_channel(channel_id)
    assert isinstance(channel, discord.TextChannel), channel
    return channel
