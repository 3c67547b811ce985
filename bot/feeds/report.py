"""The words ``newsbot feeds list`` and ``/owner feeds`` use for a feed's condition: one place, so
the two always say the same thing."""

from __future__ import annotations

from bot.feeds.service import FeedStatus, when

__all__ = ["describe"]


def describe(status: FeedStatus, *, rejected: int = 5) -> list[str]:
    """Lines about one feed: a heading, then details; at most ``rejected`` refused entries."""
    config, state = status.config, status.state
    name = state.title or config.provider or config.url
    lines = [f"[{status.condition}] {name}", f"  {config.url}"]
    details = [
        f"last fetch {when(state.last_fetch)}",
        f"{state.entries:,} articles written",
        f"every {config.interval} min"
        + (f" (the feed asks {state.min_interval / 60:.0f})" if state.min_interval > config.interval * 60 else ""),
    ]
    if config.topics:
        details.append("topics " + ", ".join(config.topics))
    lines.append("  " + " · ".join(details))
    if state.disabled:
        lines.append(f"  DISABLED: {state.disabled}; `newsbot feeds fetch {config.url}` tries again")
    elif state.failures:
        lines.append(
            f"  {state.failures} failure(s) in a row, last: {state.last_error}; next try {when(state.next_fetch)}"
        )
    elif state.last_status:
        lines.append(f"  last result: {state.last_status}")
    if state.warning:
        lines.append(f"  warning: {state.warning}")
    if state.rejected:
        lines.append(f"  {len(state.rejected)} entries refused:")
        lines.extend(f"    - {what}: {reason}" for what, reason in state.rejected[-rejected:])
        if len(state.rejected) > rejected:
            lines.append(f"    ... and {len(state.rejected) - rejected} more")
    return lines
