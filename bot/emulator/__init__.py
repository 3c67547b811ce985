"""A local Discord for the end-to-end tests and ``make demo``: REST under ``/api/v10`` and a gateway.

The unmodified discord.py client talks to it over loopback once pointed at it with
``configure_discord(emulator.api_base, emulator.gateway_url)`` (``bot.app.endpoints``; it returns the
previous endpoints for ``restore_discord``). The package imports nothing from the rest of ``bot/``.
Every request body the bot sends is validated against Discord's OpenAPI document
(``spec/openapi.json``) and the limits Discord documents outside it (content <= 2,000, <= 10
embeds, <= 6,000 embed characters per message, command names, ``allowed_mentions`` that both parse and
list a kind), plus the project's rule that nothing in a message's text may ping (``allowed_mentions``
with ``parse: []`` and no users on every new message; a role listed by id is the one ping allowed).
A bad request gets Discord's 400 (``{"code": 50035, "message": "Invalid Form Body", "errors": ...}``)
and is recorded in ``emulator.violations``, as are unknown routes, late or double interaction answers
and follow-ups without an answer.

Beyond text channels it has announcement channels (publishing, 10 per channel per hour, then a 429 with
``X-RateLimit-Scope: shared``), forums with tags and posts (a thread whose first message has the
thread's id), threads started from a message (Create Public Threads to start, Send Messages in Threads
to post, the parent's View Channel), role pings resolved by Discord's rules, DMs (403 50007 when the
user closed them or shares no server with the bot), and what moderators do while the bot runs (delete a
channel, role or tag, change overwrites or a role), each sent as its gateway event.

Driver API (``Emulator``)::

    Emulator(*, token="emulator-token", bot_name="newsbot", heartbeat_interval=41.25,
             recommended_shards=1, application_flags=0, validate=True, require_no_mentions=True,
             interaction_deadline=3.0, rate_limit=50, rate_limit_window=1.0,
             allowed_privileged_intents=0, host="127.0.0.1", port=0)
    await emulator.start() / await emulator.stop()            # or: async with Emulator() as emulator
    emulator.api_base, emulator.gateway_url, emulator.token, emulator.bot_user, emulator.application_id
    emulator.application_owner                                 # the User Bot.is_owner() recognises
    emulator.recommended_shards = 2                            # what GET /gateway/bot answers

    emulator.add_user(name, *, bot=False) -> User
    emulator.add_guild(name, *, guild_id=None, owner=None, locale="en-US",
                       everyone_permissions=DEFAULT_EVERYONE, bot_permissions=DEFAULT_BOT) -> Guild
    emulator.add_role(guild, name, permissions=0, *, mentionable=False) -> Role
    emulator.add_text_channel(guild, name, *, topic=None, bot_allow=0, bot_deny=0,
                              everyone_allow=0, everyone_deny=0, overwrites=()) -> Channel
    emulator.add_announcement_channel(guild, name, ...same options...) -> Channel          # type 5
    emulator.add_forum_channel(guild, name, *, tags=("Science", ("Politics", moderated, "emoji")),
                               require_tag=False, ...same options...) -> Channel        # type 15
    forum.tag("science") -> ForumTag                                                   # by name
    emulator.add_member(guild, user_or_name, *, permissions=None, roles=(), nick=None) -> Member
    emulator.post_message(channel, author, content, *, embeds=()) -> Message      # a human's message
    (added after the bot connected, guilds, channels and roles reach it as gateway events)

    emulator.delete_channel(channel)            # CHANNEL_DELETE (THREAD_DELETE); then 404 10003
    emulator.delete_role(role)                  # GUILD_ROLE_DELETE
    emulator.edit_role(role, *, permissions=None, mentionable=None)          # GUILD_ROLE_UPDATE
    emulator.add_forum_tag(forum, spec) / emulator.remove_forum_tag(forum, tag_or_name)  # CHANNEL_UPDATE
    emulator.set_overwrites(channel, overwrites)                             # CHANNEL_UPDATE
    emulator.set_permissions(channel, role_or_user, *, allow=0, deny=0)      # one overwrite; 0/0 removes it
    emulator.advance_clock(seconds)             # lets the publish window (an hour) pass at once
    emulator.close_dms(user) / emulator.open_dms(user)                       # DMs refused with 50007

    await emulator.send_slash_command(guild, channel, user, name, options=None, *, subcommand=None,
                                      locale="en-US", ignore_default_permissions=False) -> InteractionResult
        (an attachment option takes AttachmentFile(filename, data): the bot downloads it from its URL)
    await emulator.send_autocomplete(guild, channel, user, name, options=None, *, focused,
                                     subcommand=None, locale="en-US") -> InteractionResult
    await emulator.click_button(message, custom_id, user) -> InteractionResult
    await emulator.select_menu(message, custom_id, values, user) -> InteractionResult
    await emulator.send_message_context_command(guild, channel, user, name, target_message,
                                                *, ignore_default_permissions=False) -> InteractionResult

    await result.response(timeout=3.0) -> Callback(type, data, elapsed)   # the first callback
    await result.original_message(timeout=3.0, *, final=True) -> Message # @original, after edits
    await result.followups(count=1, timeout=3.0) -> list[Message]
    await result.choices(timeout=3.0) -> list[dict]                        # autocomplete answer
    await result.wait_until(lambda r: ..., timeout=3.0)
    result.callbacks, result.original, result.followup_messages, result.ephemeral, result.elapsed

    emulator.channel_messages(channel) -> list[Message]     # visible (not ephemeral/deleted), oldest first
        (a thread or forum post is a channel too; deleted channels stay readable here)
    message.flags, .crossposted, .thread (started from it), .pinged_roles, .pinged_users, .pinged_everyone,
    .pinged_nobody                              # who was notified, after allowed_mentions and permissions
    emulator.crossposts(channel=None) -> list[Message]      # published messages, in order
    emulator.threads(channel) -> list[Channel]  # threads of a channel, posts of a forum
    emulator.thread(thread_id) -> Channel       # .name, .type, .parent_id, .owner_id, .applied_tags
    emulator.dm_channel(user) -> Channel | None, emulator.dm_messages(user) -> list[Message]
    await emulator.wait_for_message(channel, predicate=None, *, timeout=3.0, after=None) -> Message
    await emulator.wait_for_messages(channel, count, *, timeout=3.0) -> list[Message]
    await emulator.wait_until(predicate, timeout=3.0, what="...") -> the predicate's value
    emulator.registered_commands(guild_id=None) -> list[dict]
    emulator.bulk_overwrite_count, emulator.bulk_overwrites[guild_id or None]
    emulator.inject_429(method, path_prefix, retry_after=0.2, count=1, global_=False)
    stall = emulator.stall(method, path_prefix, *, applied)  # hold the next match unanswered (kill tests)
    await stall.reached(timeout=10.0); stall.release()
    await emulator.drop_gateway(shard_id=None, *, code=4000, abort=False) -> int
    await emulator.invalidate_session(shard_id=None, *, resumable=False) -> int
    await emulator.request_reconnect(shard_id=None) -> int
    emulator.violations, emulator.assert_no_violations(), emulator.requests, emulator.rate_limit_hits,
    emulator.resume_count, emulator.identify_count, emulator.sessions, emulator.nonce_replays

Guild, channel and user arguments take the emulator's objects or their ids. Slash commands must have
been registered (synced) by the bot: interactions carry the registered command's id, and options are
checked against its definition the way the Discord client would (choices, ranges, required options).
Example::

    async with Emulator() as emulator:
        guild = emulator.add_guild("Newsroom")
        news = emulator.add_text_channel(guild, "news")
        alice = emulator.add_member(guild, "alice")
        admin = emulator.add_member(guild, "admin", permissions=Perm.MANAGE_GUILD)
        previous = configure_discord(emulator.api_base, emulator.gateway_url)
        try:
            ...  # start the bot with token=emulator.token; wait until it is ready and has synced
            result = await emulator.send_slash_command(guild, news, alice, "news", {"topic": "science"})
            reply = await result.original_message()
            assert reply.ephemeral and reply.embeds and result.elapsed < 3
            emulator.assert_no_violations()
        finally:
            restore_discord(previous)

Stop the bot before the emulator: a client whose server vanishes keeps trying to reconnect.
"""

from bot.emulator.errors import Violation
from bot.emulator.interactions import AttachmentFile, Callback, CallbackType, InteractionResult, InteractionType
from bot.emulator.models import Channel, ForumTag, Guild, Member, Message, Role, User
from bot.emulator.permissions import DEFAULT_BOT, DEFAULT_EVERYONE, Overwrite, Perm
from bot.emulator.server import Emulator

__all__ = [
    "DEFAULT_BOT",
    "DEFAULT_EVERYONE",
    "AttachmentFile",
    "Callback",
    "CallbackType",
    "Channel",
    "Emulator",
    "ForumTag",
    "Guild",
    "InteractionResult",
    "InteractionType",
    "Member",
    "Message",
    "Overwrite",
    "Perm",
    "Role",
    "User",
    "Violation",
]
