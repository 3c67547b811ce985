"""Registered application commands, global and per guild, as Discord stores and returns them.

Bulk overwrite keeps a command's id when one with the same name and type already exists and bumps its
``version`` only when the definition changed, which is how a bot can tell a no-op sync from a real one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from bot.emulator.snowflake import SnowflakeFactory

Command = dict[str, Any]
Scope = int | None  # a guild id, or None for global commands

_DEFINITION_KEYS = (
    "name",
    "description",
    "options",
    "default_member_permissions",
    "dm_permission",
    "nsfw",
    "contexts",
    "integration_types",
    "name_localizations",
    "description_localizations",
)


def _normalise(data: Mapping[str, Any]) -> Command:
    kind = data.get("type") or 1
    permissions = data.get("default_member_permissions")
    return {
        "type": kind,
        "name": data["name"],
        "description": data.get("description") or "",
        "options": list(data.get("options") or []),
        "default_member_permissions": None if permissions is None else str(permissions),
        "dm_permission": data.get("dm_permission", True),
        "nsfw": bool(data.get("nsfw", False)),
        "contexts": data.get("contexts"),
        "integration_types": data.get("integration_types") or [0],
        "name_localizations": data.get("name_localizations"),
        "description_localizations": data.get("description_localizations"),
    }


class CommandRegistry:
    def __init__(self, application_id: int, ids: SnowflakeFactory) -> None:
        self._application_id = application_id
        self._ids = ids
        self._scopes: dict[Scope, dict[tuple[str, int], Command]] = {}
        self.bulk_overwrites: Counter[Scope] = Counter()

    def in_scope(self, scope: Scope) -> list[Command]:
        return [dict(c) for c in self._scopes.get(scope, {}).values()]

    def get(self, scope: Scope, command_id: int) -> Command | None:
        for command in self._scopes.get(scope, {}).values():
            if int(command["id"]) == command_id:
                return dict(command)
        return None

    def find(self, guild_id: int | None, name: str, kind: int = 1) -> Command | None:
        """The command a user in ``guild_id`` sees under ``name``: guild commands shadow global ones."""
        for scope in (guild_id, None) if guild_id is not None else (None,):
            command = self._scopes.get(scope, {}).get((name, kind))
            if command is not None:
                return dict(command)
        return None

    def overwrite(self, scope: Scope, commands: Iterable[Mapping[str, Any]]) -> list[Command]:
        self.bulk_overwrites[scope] += 1
        old = self._scopes.get(scope, {})
        new: dict[tuple[str, int], Command] = {}
        for data in commands:
            command = self._store(scope, _normalise(data), old)
            new[(command["name"], command["type"])] = command
        self._scopes[scope] = new
        return self.in_scope(scope)

    def upsert(self, scope: Scope, data: Mapping[str, Any]) -> tuple[Command, bool]:
        commands = self._scopes.setdefault(scope, {})
        normalised = _normalise(data)
        key = (normalised["name"], normalised["type"])
        created = key not in commands
        commands[key] = self._store(scope, normalised, commands)
        return dict(commands[key]), created

    def edit(self, scope: Scope, command_id: int, changes: Mapping[str, Any]) -> Command | None:
        commands = self._scopes.get(scope, {})
        for key, command in list(commands.items()):
            if int(command["id"]) == command_id:
                merged = _normalise({**command, **changes})
                del commands[key]
                stored = self._store(scope, merged, {(merged["name"], merged["type"]): command})
                commands[(stored["name"], stored["type"])] = stored
                return dict(stored)
        return None

    def delete(self, scope: Scope, command_id: int) -> bool:
        commands = self._scopes.get(scope, {})
        for key, command in list(commands.items()):
            if int(command["id"]) == command_id:
                del commands[key]
                return True
        return False

    def _store(self, scope: Scope, command: Command, existing: Mapping[tuple[str, int], Command]) -> Command:
        previous = existing.get((command["name"], command["type"]))
        if previous is not None:
            command["id"] = previous["id"]
            unchanged = all(previous.get(k) == command.get(k) for k in _DEFINITION_KEYS)
            command["version"] = previous["version"] if unchanged else str(self._ids.next())
        else:
            command["id"] = str(self._ids.next())
            command["version"] = str(self._ids.next())
        command["application_id"] = str(self._application_id)
        if scope is not None:
            command["guild_id"] = str(scope)
        return command
