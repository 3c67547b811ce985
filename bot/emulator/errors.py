"""Discord-shaped API errors and the violation record the emulator keeps for every misuse it sees."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Violation:
    """Something the bot sent that real Discord would reject (or that the project forbids, like pings)."""

    method: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.method} {self.path}: {self.message}"


class ApiError(Exception):
    """Raised by a REST handler; rendered as Discord's JSON error body with this status.

    ``violation`` marks errors that are the bot's fault (answering twice, too late, an invalid body);
    the emulator records those in ``violations`` as well as answering with the error.
    """

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        errors: dict[str, Any] | None = None,
        *,
        violation: bool = False,
        detail: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors
        self.violation = violation
        self.detail = detail

    def describe(self) -> str:
        """One line for the violation record: code, message and, for form errors, each field's problem."""
        text = f"{self.code} {self.message}"
        return f"{text}: {self.detail}" if self.detail else text

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors is not None:
            body["errors"] = self.errors
        return body


@dataclass(frozen=True, slots=True)
class FieldError:
    """One failed check at a location in the body: ``("embeds", 0, "title")`` -> ``embeds.0.title``."""

    location: tuple[str | int, ...]
    code: str
    message: str

    @property
    def dotted(self) -> str:
        return ".".join(str(part) for part in self.location) or "(body)"


@dataclass(slots=True)
class FormErrors:
    """Collects field errors and renders them the way Discord nests them under ``errors``."""

    items: list[FieldError] = field(default_factory=list)

    def add(self, location: tuple[str | int, ...], code: str, message: str) -> None:
        self.items.append(FieldError(location, code, message))

    def extend(self, other: FormErrors) -> None:
        """Add ``other``'s errors, skipping ones already reported at the same place with the same code."""
        known = {(item.location, item.code) for item in self.items}
        self.items.extend(item for item in other.items if (item.location, item.code) not in known)

    def __bool__(self) -> bool:
        return bool(self.items)

    def as_discord(self) -> dict[str, Any]:
        root: dict[str, Any] = {}
        for item in self.items:
            node = root
            for part in item.location:
                node = node.setdefault(str(part), {})
            node.setdefault("_errors", []).append({"code": item.code, "message": item.message})
        return root

    def summary(self) -> str:
        return "; ".join(f"{item.dotted}: {item.message}" for item in self.items)

    def to_api_error(self) -> ApiError:
        return ApiError(400, 50035, "Invalid Form Body", self.as_discord(), violation=True, detail=self.summary())


class RateLimitedError(Exception):
    """Raised by a handler when a per-resource limit (an announcement channel's publishes) is spent.

    Rendered as a 429 with ``retry_after`` and the headers of a limit ``limit`` wide in ``scope``
    ("shared": the limit belongs to the resource, not to the bot).
    """

    def __init__(self, retry_after: float, *, limit: int, scope: str = "shared") -> None:
        super().__init__(f"rate limited for {retry_after:.1f}s")
        self.retry_after = retry_after
        self.limit = limit
        self.scope = scope
