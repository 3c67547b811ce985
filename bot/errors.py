"""The one exception type that commands raise to tell a user something went wrong on their side."""

from __future__ import annotations


class UserFacingError(Exception):
    """Shown privately to the user who ran the command, verbatim. Never logged as a failure."""

    def __init__(self, message: str, *, title: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.title = title


class InvalidInput(UserFacingError):
    """A ``UserFacingError`` about one option or form field: the web panel shows it next to ``field``
    (the option's name), a slash command shows the message like any other."""

    def __init__(self, message: str, *, field: str | None = None, title: str | None = None) -> None:
        super().__init__(message, title=title)
        self.field = field
