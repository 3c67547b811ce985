"""Worker processes that never outlive the process that started them.

Parsing runs in pools of worker processes. If the process that owns a pool is killed outright
(``kill -9``, the OOM killer), nothing tells its workers: they would wait for work forever, and so
would multiprocessing's resource tracker, which stays up while any of them holds its pipe. Each
worker therefore arranges to die with its parent: on Linux the kernel sends it ``SIGKILL`` the
moment the parent goes (``PR_SET_PDEATHSIG``), and everywhere a watcher thread notices within
``PARENT_POLL_SECONDS`` that it has been handed to another parent.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

__all__ = ["PARENT_POLL_SECONDS", "die_with_parent", "worker_pool"]

log = logging.getLogger(__name__)

#: How often a worker checks that the process that started it is still its parent.
PARENT_POLL_SECONDS = 0.5

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def worker_pool(max_workers: int) -> ProcessPoolExecutor:
    """A pool of ``max_workers`` processes that exit when this process dies.

    Workers are started with "spawn", not "fork": callers have threads (an event loop's helpers, a
    database connection), and forking a threaded process can deadlock the child on a lock some
    thread held at the time.
    """
    # The kernel's parent-death signal follows the thread that started the child, not the process:
    # armed only when that is the main thread, whose end is the process's end.
    from_main_thread = threading.current_thread() is threading.main_thread()
    return ProcessPoolExecutor(
        max_workers=max_workers,
        mp_context=get_context("spawn"),
        initializer=die_with_parent,
        initargs=(os.getpid(), from_main_thread),
    )


def _arm_parent_death_signal() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return int(libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent_pid: int) -> None:
    while True:
        time.sleep(PARENT_POLL_SECONDS)
        if os.getppid() != parent_pid:
            os._exit(1)  # nothing to clean up: a worker only parses and returns results


def die_with_parent(parent_pid: int, use_signal: bool = True) -> None:
    """Worker initializer: make this process exit when ``parent_pid`` (its parent) dies."""
    if use_signal:
        _arm_parent_death_signal()
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)
    threading.Thread(target=_watch, args=(parent_pid,), name="parent-watch", daemon=True).start()
