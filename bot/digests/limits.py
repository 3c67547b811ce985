"""How many digests a server may have and how large one may be.

``/digest add`` and the backup validator (``bot.guilds.backup``) both read these, so a digest one
accepts the other accepts too. The schema's CHECK on ``digests.max_items`` (migration 004) says the same.
"""

from __future__ import annotations

from typing import Final

#: Digests one server may have.
MAX_PER_SERVER: Final = 20
#: Articles one digest message may list.
MIN_ITEMS: Final = 1
MAX_ITEMS: Final = 10
DEFAULT_ITEMS: Final = 5
#: Weekdays as ``datetime.weekday()`` numbers them (0 is Monday); a weekly schedule's ``weekday`` indexes it.
WEEKDAY_NAMES: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
