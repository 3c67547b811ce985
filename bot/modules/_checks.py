"""Run-time checks shared by the moderator and owner commands."""

from __future__ import annotations

from discord import app_commands

from bot.errors import UserFacingError


class Refused(app_commands.CheckFailure, UserFacingError):
    """A failed check with its own wording. A ``CheckFailure``, so the command tree routes it to its
    error handler; a ``UserFacingError``, so that handler shows the message privately, verbatim."""

    def __init__(self, message: str) -> None:
        UserFacingError.__init__(self, message)
