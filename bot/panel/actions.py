"""The control panel's actions: each a POST form on a server's page, adapters over the services the
slash commands call (``bot.guilds.actions``, ``bot.digests.actions``, ``bot.alerts.actions``).

Every action checks the CSRF token, then asks Discord whether the member has Manage Server in the
server now (``managed_guild(..., fresh=True)``), and acts as ``Actor(member, via="web")`` so the
audit log says it was made on the web. Wrong input shows the page again with the message next to
the field and what was typed kept (status 400); success redirects back with a one-time message
(post/redirect/get).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import discord
from aiohttp import web
from multidict import MultiDictProxy

from bot.actors import Actor
from bot.alerts import rules as alert_rules
from bot.alerts.actions import AlertActions, AlertChanges, AlertForm, describe_filters
from bot.digests.actions import DigestActions, DigestChanges, DigestForm
from bot.digests.limits import DEFAULT_ITEMS, MAX_ITEMS, MIN_ITEMS, WEEKDAY_NAMES
from bot.digests.schedule import CADENCES
from bot.errors import InvalidInput, UserFacingError
from bot.guilds.actions import ConfigForm, GuildChannels, import_summary
from bot.guilds.backup import MAX_IMPORT_BYTES, ConfigError, ImportPlan, dump_backup, parse_backup
from bot.panel.app import Panel, redirect
from bot.panel.security import Session
from bot.panel.servers import ServerPages, alert_channels, web_text
from bot.store.limits import QUALITY

log = logging.getLogger(__name__)

#: The buttons on a digest's or an alert's row.
ROW_FORMS = ("digests", "alerts")
Form = MultiDictProxy[str | bytes | bytearray | web.FileField]


@dataclass(frozen=True, slots=True)
class Acting:
    guild: discord.Guild
    actor: Actor
    form: Form


def _text(form: Form, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _optional(form: Form, name: str) -> str | None:
    return _text(form, name) or None


def _int(form: Form, name: str, *, default: int | None = None, label: str | None = None) -> int | None:
    raw = _text(form, name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise InvalidInput(
            f"{label or name.replace('_', ' ').capitalize()} must be a whole number.", field=name
        ) from None


def _required_int(form: Form, name: str, default: int) -> int:
    value = _int(form, name, default=default)
    assert value is not None
    return value


def _values(form: Form) -> dict[str, str]:
    """What was typed, to show again (the CSRF token and files aside)."""
    return {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf"}


class ServerActions:
    def __init__(self, panel: Panel, pages: ServerPages) -> None:
        self.panel = panel
        self.pages = pages

    # --- the checks every action makes ------------------------------------------------------------

    async def _acting(self, request: web.Request) -> Acting | web.Response:
        session = self.panel.logged_in(request)
        if session is None or session.user_id is None:
            return self.panel.message(request, 403, "Refused", "Please log in again: this form needs a login.")
        form: Form = await request.post()
        if not self.panel.codec.csrf_ok(session, form.get("csrf")):
            return self.panel.message(request, 403, "Refused", "This form has expired or did not come from this site.")
        try:
            guild_id = int(request.match_info["guild_id"])
        except ValueError:
            raise web.HTTPNotFound() from None
        guild = await self.panel.access.managed_guild(guild_id, session.user_id, fresh=True)
        if guild is None:
            return self.panel.message(
                request,
                403,
                "Not allowed",
                "You need the Manage Server permission in that server, and newsbot must be in it.",
            )
        return Acting(guild, Actor(session.user_id, session.user_name, via="web"), form)

    async def _viewing(self, request: web.Request) -> tuple[discord.Guild, Session] | web.Response:
        """For pages that only show (preview, why, edit form): the same check as the server page."""
        session = self.panel.logged_in(request)
        if session is None or session.user_id is None:
            raise self.panel.login_redirect(request)
        try:
            guild_id = int(request.match_info["guild_id"])
        except ValueError:
            raise web.HTTPNotFound() from None
        guild = await self.panel.access.managed_guild(guild_id, session.user_id)
        if guild is None:
            return self.panel.message(
                request,
                403,
                "Not allowed",
                "You need the Manage Server permission in that server, and newsbot must be in it.",
            )
        return guild, session

    def _done(self, request: web.Request, guild: discord.Guild, text: str, anchor: str) -> web.Response:
        response = redirect(f"/panel/{guild.id}#{anchor}")
        self.panel.flash(request, response, web_text(text, guild))
        return response

    async def _run(
        self,
        request: web.Request,
        form_name: str,
        anchor: str,
        act: Callable[[Acting], Awaitable[str]],
        *,
        again: Callable[[Acting, dict[str, str], str | None], Awaitable[web.Response]] | None = None,
    ) -> web.Response:
        acting = await self._acting(request)
        if isinstance(acting, web.Response):
            return acting
        try:
            text = await act(acting)
        except InvalidInput as exc:
            if form_name in ROW_FORMS:
                # A row's buttons have no field to show a message next to: it goes above.
                return await self.pages.page(request, acting.guild, status=400, problem=exc.message)
            errors = {exc.field or "form": web_text(exc.message, acting.guild)}
            if again is not None:
                return await again(acting, errors, None)
            return await self.pages.page(
                request, acting.guild, status=400, form=form_name, errors=errors, values=_values(acting.form)
            )
        except UserFacingError as exc:
            if again is not None:
                return await again(acting, {}, exc.message)
            return await self.pages.page(
                request, acting.guild, status=400, form=form_name, values=_values(acting.form), problem=exc.message
            )
        return self._done(request, acting.guild, text, anchor)

    def _digests(self) -> DigestActions:
        actions = self.panel.bot.digest_actions
        if actions is None:
            raise web.HTTPServiceUnavailable(text="Digests are not running in this bot right now.")
        return actions

    def _alerts(self) -> AlertActions:
        actions = self.panel.bot.alert_actions
        if actions is None:
            raise web.HTTPServiceUnavailable(text="Alerts are not running in this bot right now.")
        return actions

    # --- settings and hidden articles -------------------------------------------------------------

    async def settings(self, request: web.Request) -> web.Response:
        async def act(a: Acting) -> str:
            f = a.form
            if _text(f, "reset") == "all":
                await self.panel.bot.guild_actions.configure(a.guild, a.actor, ConfigForm(reset="all"))
                return "Every setting is back to its default."
            current = (await self.panel.bot.policy.for_guild(a.guild.id)).settings
            given: dict[str, Any] = {}
            defaults: list[str] = []
            quality = _text(f, "min_quality")
            if quality == "":
                if current.min_quality is not None:
                    defaults.append("min_quality")
            else:
                value = _int(f, "min_quality", label="The minimum quality")
                if value != current.min_quality:
                    given["min_quality"] = value
            for name in ("include_unpublished", "public_results"):
                choice = _text(f, name)
                wanted = None if choice in ("", "default") else choice == "yes"
                if wanted is None and getattr(current, name) is not None:
                    defaults.append(name)
                elif wanted is not None and wanted != getattr(current, name):
                    given[name] = wanted
            for name in ("blocked_providers", "blocked_topics"):
                typed = _text(f, name)
                if ", ".join(getattr(current, name)) != ", ".join(x.strip() for x in typed.split(",") if x.strip()):
                    given[name] = typed or "none"
            log_channel = _int(f, "log_channel", label="The log channel")
            if log_channel is None and current.log_channel_id is not None:
                defaults.append("log_channel")
            elif log_channel is not None and log_channel != current.log_channel_id:
                given["log_channel_id"] = log_channel
            form = ConfigForm(**given, defaults=tuple(defaults))
            if form.empty:
                return "Nothing changed: the settings were already like that."
            notes = await self.panel.bot.guild_actions.configure(a.guild, a.actor, form)
            return " ".join(["Settings saved.", *notes])

        return await self._run(request, "settings", "settings", act)

    async def hide(self, request: web.Request) -> web.Response:
        async def act(a: Acting) -> str:
            found = await self.panel.bot.guild_actions.hide(
                a.guild.id, a.actor, _text(a.form, "article"), _optional(a.form, "reason")
            )
            return f"“{found.title}” is hidden in this server now."

        return await self._run(request, "hide", "hidden", act)

    async def unhide(self, request: web.Request) -> web.Response:
        async def act(a: Acting) -> str:
            hidden = await self.panel.bot.db.guilds.hidden(a.guild.id)
            match = await self.panel.bot.guild_actions.unhide(a.guild.id, a.actor, _text(a.form, "article"), hidden)
            return f"“{match.title}” shows in this server again."

        return await self._run(request, "hide", "hidden", act)

    # --- digests ----------------------------------------------------------------------------------

    async def add_digest(self, request: web.Request) -> web.Response:
        async def act(a: Acting) -> str:
            f = a.form
            form = DigestForm(
                channel_id=_int(f, "channel", label="The channel"),
                topic=_text(f, "topic"),
                time=_text(f, "time"),
                timezone=_text(f, "timezone") or "UTC",
                days=_text(f, "days") or "daily",
                min_quality=_required_int(f, "min_quality", 0),
                max_items=_required_int(f, "max_items", 5),
            )
            if not form.topic:
                raise InvalidInput("Give the topic of the digest.", field="topic")
            added = await self._digests().add(a.guild, a.actor, form)
            first = added.first.astimezone(added.schedule.zone)
            return (
                f"Digest #{added.digest.id} scheduled: {added.digest.topic}, {added.schedule.describe()}. "
                f"First run: {first:%Y-%m-%d %H:%M} ({added.schedule.timezone})."
            )

        return await self._run(request, "digest", "digests", act)

    async def digest_action(self, request: web.Request) -> web.Response:
        action = request.match_info["action"]

        async def act(a: Acting) -> str:
            actions = self._digests()
            digest = await actions.find(a.guild.id, request.match_info["item_id"])
            described = actions.describe(a.guild, digest)
            if action == "pause":
                await actions.pause(a.guild, a.actor, digest)
                return f"Paused digest {described}."
            if action == "resume":
                when = await actions.resume(a.guild, a.actor, digest)
                return f"Resumed digest {described}. Next run: {when:%Y-%m-%d %H:%M} UTC."
            if action == "remove":
                await actions.remove(a.guild, a.actor, digest)
                return f"Removed digest {described}. Nothing more will be posted."
            if action == "send":
                outcome = await actions.send_now(a.guild, a.actor, digest)
                return f"Posted digest {described}: {outcome.detail}."
            raise web.HTTPNotFound()

        return await self._run(request, "digests", "digests", act)

    async def edit_digest_page(self, request: web.Request) -> web.Response:
        viewing = await self._viewing(request)
        if isinstance(viewing, web.Response):
            return viewing
        guild, _ = viewing
        try:
            digest = await self._digests().find(guild.id, request.match_info["item_id"])
        except UserFacingError as exc:
            return self.panel.message(request, 404, "No such digest", web_text(exc.message, guild))
        values = {
            "channel": str(digest.channel_id),
            "topic": digest.topic,
            "time": digest.at_time,
            "timezone": digest.timezone,
            "days": digest.cadence,
            "weekday": str(digest.weekday),
            "min_quality": str(digest.min_quality),
            "max_items": str(digest.max_items),
        }
        return await self._digest_page(request, guild, digest.id, values, {}, None)

    async def _digest_page(
        self,
        request: web.Request,
        guild: discord.Guild,
        digest_id: int,
        values: Mapping[str, str],
        errors: Mapping[str, str],
        problem: str | None,
        *,
        status: int = 200,
    ) -> web.Response:
        return self.panel.render(
            request,
            "digest_edit.html",
            status=status,
            title=f"Edit digest #{digest_id}",
            guild=guild,
            form="digest",
            digest_id=digest_id,
            values=dict(values),
            errors=dict(errors),
            problem=web_text(problem, guild) if problem else None,
            text_channels=sorted(guild.text_channels, key=lambda c: c.position),
            quality=QUALITY,
            items=(MIN_ITEMS, MAX_ITEMS, DEFAULT_ITEMS),
            cadences=CADENCES,
            weekdays=WEEKDAY_NAMES,
        )

    async def edit_digest(self, request: web.Request) -> web.Response:
        digest_id = request.match_info["item_id"]

        async def act(a: Acting) -> str:
            actions = self._digests()
            found = await actions.find(a.guild.id, digest_id)
            f = a.form
            topic = _text(f, "topic")
            if not topic:
                raise InvalidInput("Give the topic of the digest.", field="topic")
            days = _text(f, "days") or found.cadence
            # The form always sends every field; the weekday matters only for a weekly digest.
            weekday = _int(f, "weekday", label="The weekday") if days == "weekly" else None
            changes = DigestChanges(
                channel_id=_int(f, "channel", label="The channel"),
                topic=topic,
                time=_text(f, "time"),
                timezone=_text(f, "timezone") or "UTC",
                days=days,
                weekday=weekday,
                min_quality=_required_int(f, "min_quality", found.min_quality),
                max_items=_required_int(f, "max_items", found.max_items),
            )
            edited = await actions.edit(a.guild, a.actor, found, changes)
            if not edited.changed:
                return f"Nothing changed: digest #{found.id} already had these settings."
            when = edited.next.astimezone(edited.schedule.zone)
            return (
                f"Changed {', '.join(edited.options)} of digest #{found.id}: {edited.digest.topic}, "
                f"{edited.schedule.describe()}. Next run: {when:%Y-%m-%d %H:%M} ({edited.schedule.timezone})."
            )

        async def again(a: Acting, errors: dict[str, str], problem: str | None) -> web.Response:
            return await self._digest_page(
                request, a.guild, int(digest_id), _values(a.form), errors, problem, status=400
            )

        return await self._run(request, "digest", "digests", act, again=again)

    async def preview_digest(self, request: web.Request) -> web.Response:
        viewing = await self._viewing(request)
        if isinstance(viewing, web.Response):
            return viewing
        guild, _ = viewing
        actions = self._digests()
        try:
            digest = await actions.find(guild.id, request.match_info["item_id"])
        except UserFacingError as exc:
            return self.panel.message(request, 404, "No such digest", web_text(exc.message, guild))
        composed = await actions.preview(digest)
        return self.panel.render(
            request,
            "preview.html",
            title=f"Preview of digest #{digest.id}",
            guild=guild,
            digest=digest,
            channel=web_text(actions.describe(guild, digest), guild),
            items=composed.items,
        )

    # --- alerts -----------------------------------------------------------------------------------

    @staticmethod
    def _alert_form(f: Form) -> AlertForm:
        return AlertForm(
            channel_id=_int(f, "channel", label="The channel"),
            topic=_optional(f, "topic"),
            keywords=_optional(f, "keywords"),
            providers=_optional(f, "providers"),
            min_quality=_required_int(f, "min_quality", 0),
            role_id=_int(f, "mention", label="The role"),
            style=_text(f, "style") or "embed",
            publish=_text(f, "publish") == "yes",
            template=_optional(f, "template"),
            posts_per_window=_required_int(f, "posts_per_window", 5),
        )

    async def add_alert(self, request: web.Request) -> web.Response:
        async def act(a: Acting) -> str:
            saved = await self._alerts().add(a.guild, a.actor, self._alert_form(a.form))
            return " ".join([f"Alert #{saved.alert.id} created: {describe_filters(saved.alert)}.", *saved.notes])

        return await self._run(request, "alert", "alerts", act)

    async def edit_alert_page(self, request: web.Request) -> web.Response:
        viewing = await self._viewing(request)
        if isinstance(viewing, web.Response):
            return viewing
        guild, _ = viewing
        try:
            alert = await self._alerts().find(guild.id, request.match_info["item_id"])
        except UserFacingError as exc:
            return self.panel.message(request, 404, "No such alert", web_text(exc.message, guild))
        values = {
            "channel": str(alert.channel_id),
            "topic": alert.topic or "",
            "keywords": alert.keywords or "",
            "providers": ", ".join(alert.providers),
            "min_quality": str(alert.min_quality),
            "mention": str(alert.role_id or ""),
            "style": alert.style,
            "publish": "yes" if alert.publish else "",
            "template": alert.template or "",
            "posts_per_window": str(alert.posts_per_window),
        }
        return await self._edit_page(request, guild, alert.id, values, {}, None)

    async def _edit_page(
        self,
        request: web.Request,
        guild: discord.Guild,
        alert_id: int,
        values: Mapping[str, str],
        errors: Mapping[str, str],
        problem: str | None,
        *,
        status: int = 200,
    ) -> web.Response:
        return self.panel.render(
            request,
            "alert_edit.html",
            status=status,
            title=f"Edit alert #{alert_id}",
            guild=guild,
            form="alert",
            alert_id=alert_id,
            values=dict(values),
            errors=dict(errors),
            problem=web_text(problem, guild) if problem else None,
            alert_channels=alert_channels(guild),
            roles=[r for r in guild.roles if not r.is_default()],
            styles=alert_rules.STYLES,
        )

    async def edit_alert(self, request: web.Request) -> web.Response:
        alert_id = request.match_info["item_id"]

        async def act(a: Acting) -> str:
            actions = self._alerts()
            found = await actions.find(a.guild.id, alert_id)
            f = a.form
            role = _int(f, "mention", label="The role")
            changes = AlertChanges(
                channel_id=_int(f, "channel", label="The channel"),
                topic=_text(f, "topic") or "none",
                keywords=_text(f, "keywords") or "none",
                providers=_text(f, "providers") or "none",
                min_quality=_required_int(f, "min_quality", 0),
                role_id=role,
                no_mention=role is None,
                style=_text(f, "style") or "embed",
                publish=_text(f, "publish") == "yes",
                template=_text(f, "template") or "none",
                posts_per_window=_required_int(f, "posts_per_window", 5),
            )
            saved = await actions.edit(a.guild, a.actor, found, changes)
            what = ", ".join(saved.changed) or "nothing (the values were the same)"
            return " ".join([f"Changed {what} of alert #{saved.alert.id}.", *saved.notes])

        async def again(a: Acting, errors: dict[str, str], problem: str | None) -> web.Response:
            return await self._edit_page(request, a.guild, int(alert_id), _values(a.form), errors, problem, status=400)

        if not alert_id.isdigit():
            raise web.HTTPNotFound()
        return await self._run(request, "alert", "alerts", act, again=again)

    async def alert_action(self, request: web.Request) -> web.Response:
        action = request.match_info["action"]

        async def act(a: Acting) -> str:
            actions = self._alerts()
            alert = await actions.find(a.guild.id, request.match_info["item_id"])
            described = actions.describe(a.guild, alert)
            if action == "pause":
                await actions.pause(a.guild, a.actor, alert)
                return f"Paused alert {described}. Articles arriving meanwhile are skipped."
            if action == "resume":
                await actions.resume(a.guild, a.actor, alert)
                return f"Resumed alert {described}."
            if action == "remove":
                await actions.remove(a.guild, a.actor, alert)
                return f"Removed alert {described}. Nothing more will be posted."
            if action == "test":
                outcome = await actions.test(a.guild, a.actor, alert)
                return f"Posted a test of alert {described}: “{outcome.detail}”. It does not count as delivered."
            raise web.HTTPNotFound()

        return await self._run(request, "alerts", "alerts", act)

    async def why(self, request: web.Request) -> web.Response:
        viewing = await self._viewing(request)
        if isinstance(viewing, web.Response):
            return viewing
        guild, _ = viewing
        actions = self._alerts()
        raw = request.query.get("article", "").strip()[:200]
        try:
            article = await actions.article(raw)
            answers = await actions.why(guild.id, article)
        except UserFacingError as exc:
            return await self.pages.page(
                request,
                guild,
                status=400,
                form="why",
                errors={"article": web_text(exc.message, guild)},
                values={"article": raw},
            )
        rows = [(a.alert.id, describe_filters(a.alert), a.posted, a.detail, a.link) for a in answers]
        return self.panel.render(
            request,
            "why.html",
            title=f"Why “{article.title[:80]}”",
            guild=guild,
            article=article,
            rows=[(i, web_text(d, guild), posted, detail, link) for i, d, posted, detail, link in rows],
        )

    # --- backups ----------------------------------------------------------------------------------

    async def export(self, request: web.Request) -> web.StreamResponse:
        acting = await self._acting(request)
        if isinstance(acting, web.Response):
            return acting
        guild = acting.guild
        actions = self.panel.bot.guild_actions
        backup = await actions.backups.export(guild.id, GuildChannels(guild), server_name=guild.name)
        text = dump_backup(backup, server_id=guild.id, exported_at=datetime.now(UTC))
        digests, alerts = len(backup.digests or ()), len(backup.alerts or ())
        await actions.audit(
            guild.id, acting.actor, "export", {"hidden": len(backup.hidden), "digests": digests, "alerts": alerts}
        )
        return web.Response(
            body=text.encode("utf-8"),
            content_type="application/yaml",
            charset="utf-8",
            headers={"Content-Disposition": f'attachment; filename="newsbot-{guild.id}.yaml"'},
        )

    async def import_(self, request: web.Request) -> web.Response:
        acting = await self._acting(request)
        if isinstance(acting, web.Response):
            return acting
        guild, f = acting.guild, acting.form
        upload = f.get("file")
        if isinstance(upload, web.FileField):
            raw = upload.file.read(MAX_IMPORT_BYTES + 1)
            file_name = upload.filename or "upload.yaml"
        else:
            text = f.get("backup")
            raw = text.encode("utf-8") if isinstance(text, str) else b""
            file_name = _text(f, "file_name") or "upload.yaml"
        file_name = file_name[:100]

        async def refuse(message: str) -> web.Response:
            return await self.pages.page(request, guild, status=400, form="import", errors={"file": message})

        if not raw:
            return await refuse("Choose the YAML file an export made.")
        if len(raw) > MAX_IMPORT_BYTES:
            return await refuse(f"That file is larger than {MAX_IMPORT_BYTES // 1024:,} KiB, the most a backup can be.")
        try:
            backup = await asyncio.to_thread(parse_backup, raw)
        except ConfigError as exc:
            return await refuse(web_text(f"Nothing was imported. {exc}", guild))
        actions = self.panel.bot.guild_actions
        plan = await actions.backups.plan(guild.id, backup, GuildChannels(guild), user_id=acting.actor.user_id)
        if plan.needs_confirmation and _text(f, "confirm") != _removals(plan):
            return self._confirm_page(request, guild, plan, raw, file_name, changed=bool(_text(f, "confirm")))
        result = await actions.apply_import(plan, acting.actor, file_name)
        summary = import_summary(plan, result)
        text = (
            f"Imported {file_name}: {len(summary.added)} digest(s) and {len(summary.alerts_added)} alert(s) added, "
            f"{len(summary.removed)} digest(s) and {len(summary.alerts_removed)} alert(s) removed, "
            f"{len(summary.changes)} setting(s) changed."
        )
        return self._done(request, guild, text, "backup")

    def _confirm_page(
        self, request: web.Request, guild: discord.Guild, plan: ImportPlan, raw: bytes, file_name: str, *, changed: bool
    ) -> web.Response:
        return self.panel.render(
            request,
            "import_confirm.html",
            status=409 if changed else 200,
            title="Confirm the import",
            guild=guild,
            summary=import_summary(plan),
            changed=changed,
            backup=raw.decode("utf-8", errors="replace"),
            file_name=file_name,
            removals=_removals(plan),
        )


def _removals(plan: ImportPlan) -> str:
    """A fingerprint of what an import removes and keeps: the confirmation applies only while the
    server's digests and alerts are still the ones the moderator saw."""
    key = (plan.kept, [r.id for r in plan.removed], plan.alerts_kept, [r.id for r in plan.alerts_removed])
    return hashlib.sha256(repr(key).encode()).hexdigest()[:32]
