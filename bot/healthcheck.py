"""``python -m bot.healthcheck``: ask the running bot's ``/healthz`` and exit with what it said.

For Docker's ``HEALTHCHECK`` and the systemd health timer in ``deploy/``: it reads the same
settings as the bot (``NEWSBOT_HTTP_HOST``, ``NEWSBOT_HTTP_PORT``), needs no curl in the image,
and prints the bot's answer, which ``docker inspect`` shows.

Exit codes: 0 healthy; 1 unhealthy or not answering (restart it); 3 still starting (a long first
index: wait); 4 no status server configured. ``--attempts N --wait S`` asks up to N times,
S seconds apart, and reports the last answer, so one reconnecting moment is not a verdict.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence

from bot.settings import Settings, SettingsError

EXIT_HEALTHY = 0
EXIT_UNHEALTHY = 1
EXIT_STARTING = 3
EXIT_NOT_CONFIGURED = 4
TIMEOUT = 5.0
# A server listening on every address is reached, from the same machine, over loopback.
_ANY = {"0.0.0.0": "127.0.0.1", "::": "::1"}


def healthz_url(settings: Settings) -> str | None:
    if settings.http_port is None:
        return None
    host = _ANY.get(settings.http_host, settings.http_host)
    return f"http://{f'[{host}]' if ':' in host else host}:{settings.http_port}/healthz"


def check(env: Mapping[str, str], timeout: float = TIMEOUT) -> tuple[int, str]:
    """Ask once: the exit code and the line to print."""
    try:
        url = healthz_url(Settings.from_env(env))
    except SettingsError as exc:
        return EXIT_NOT_CONFIGURED, f"configuration error: {exc}"
    if url is None:
        return EXIT_NOT_CONFIGURED, "NEWSBOT_HTTP_PORT is not set: the bot serves no /healthz"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return EXIT_HEALTHY, response.read().decode()
    except urllib.error.HTTPError as exc:  # 503: the bot answered that it is unwell, or starting
        body = exc.read().decode(errors="replace")
        try:
            starting = json.loads(body).get("status") == "starting"
        except (ValueError, AttributeError):
            starting = False
        return EXIT_STARTING if starting else EXIT_UNHEALTHY, body
    except (OSError, ValueError) as exc:
        return EXIT_UNHEALTHY, json.dumps({"status": "unreachable", "url": url, "error": str(exc)})


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bot.healthcheck", description="Ask the running bot's /healthz.")
    parser.add_argument("--attempts", type=int, default=1, help="ask up to this many times (default 1)")
    parser.add_argument("--wait", type=float, default=10.0, help="seconds between attempts (default 10)")
    args = parser.parse_args(argv)
    code, text = check(os.environ)
    for _ in range(args.attempts - 1):
        if code in (EXIT_HEALTHY, EXIT_NOT_CONFIGURED):
            break
        time.sleep(args.wait)
        code, text = check(os.environ)
    (sys.stdout if code == EXIT_HEALTHY else sys.stderr).write(text.rstrip("\n") + "\n")
    sys.exit(code)


if __name__ == "__main__":
    main()
