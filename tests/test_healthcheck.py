"""``python -m bot.healthcheck`` turns what ``/healthz`` answers into the exit code Docker and systemd act on.

The real bot's answers are checked end to end in tests/e2e/test_operations.py; here a server
answers each way a bot can, including the "starting" a long first index gives.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from bot.healthcheck import EXIT_HEALTHY, EXIT_NOT_CONFIGURED, EXIT_STARTING, EXIT_UNHEALTHY, check, healthz_url
from bot.settings import Settings


@pytest.fixture
async def bot_answering() -> AsyncIterator[tuple[dict[str, object], int]]:
    """A server on a free port answering /healthz with whatever ``answer`` holds."""
    answer: dict[str, object] = {"status": 200, "body": {"status": "ok"}}

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response(answer["body"], status=int(str(answer["status"])))

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield answer, runner.addresses[0][1]
    await runner.cleanup()


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (200, {"status": "ok"}, EXIT_HEALTHY),
        (503, {"status": "unhealthy"}, EXIT_UNHEALTHY),
        (503, {"status": "starting"}, EXIT_STARTING),
        (500, "not json", EXIT_UNHEALTHY),
    ],
)
async def test_answers_become_exit_codes(
    bot_answering: tuple[dict[str, object], int], status: int, body: object, expected: int
) -> None:
    answer, port = bot_answering
    answer.update(status=status, body=body)
    code, text = await asyncio.to_thread(check, {"NEWSBOT_HTTP_PORT": str(port)})
    assert code == expected
    assert json.loads(text) == body


async def test_a_bot_that_does_not_answer_is_unhealthy() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code, text = await asyncio.to_thread(check, {"NEWSBOT_HTTP_PORT": str(port)}, 2.0)
    assert code == EXIT_UNHEALTHY
    assert json.loads(text)["status"] == "unreachable"


def test_without_a_port_there_is_nothing_to_ask() -> None:
    assert check({})[0] == EXIT_NOT_CONFIGURED
    assert check({"NEWSBOT_HTTP_PORT": "nope"}) == (
        EXIT_NOT_CONFIGURED,
        "configuration error: NEWSBOT_HTTP_PORT must be a whole number, got 'nope'",
    )


def test_a_server_on_every_interface_is_asked_over_loopback() -> None:
    assert healthz_url(Settings(http_port=8080, http_host="0.0.0.0")) == "http://127.0.0.1:8080/healthz"
    assert healthz_url(Settings(http_port=8080, http_host="::")) == "http://[::1]:8080/healthz"
    assert healthz_url(Settings(http_port=9000, http_host="10.0.0.5")) == "http://10.0.0.5:9000/healthz"
