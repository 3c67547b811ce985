"""Who made a change, for the services that both a slash command and the web panel call."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Actor:
    """A member acting on a server. ``via`` is ``"web"`` for the control panel, ``None`` for Discord;
    it goes into every audit entry the action writes, so the log says where a change was made."""

    user_id: int
    name: str
    via: str | None = None

    def audit_details(self, details: dict[str, object]) -> dict[str, object]:
        return {**details, "via": self.via} if self.via else details
