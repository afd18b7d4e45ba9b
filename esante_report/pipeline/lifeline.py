"""Child processes that end with the process that started them, however it ends (SIGKILL included).

Linux sends a child its *parent-death signal* (``prctl(PR_SET_PDEATHSIG)``) when the **thread** that started
it ends, not the process: so a child asks for it only when it was started by a thread that lives as long as
its process (a main thread). It is asked for in the child, after the fork, and the child then checks that
its parent is still the one that started it: a parent that died in between would never send the signal.

Where the starting thread may end first (a child started from a helper thread), the child instead watches
``os.getppid()`` (:func:`watch_parent`), which names the parent process whatever thread started it.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from typing import Callable

__all__ = ["set_death_signal", "die_with_parent", "watch_parent"]

_PR_SET_PDEATHSIG = 1


def set_death_signal(signum: int) -> bool:
    """Ask Linux for ``signum`` when the thread that started this process ends; False where it cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, int(signum), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def die_with_parent(parent: int, signum: int = signal.SIGTERM) -> None:
    """In a child of ``parent``, first thing: ``signum`` when ``parent`` ends, and at once if it already has."""
    set_death_signal(signum)
    if os.getppid() != parent:
        os.kill(os.getpid(), signum)


def watch_parent(parent: int, on_gone: Callable[[], None], interval: float = 0.25) -> threading.Thread:
    """A daemon thread that calls ``on_gone()`` once, as soon as ``parent`` is no longer this process's parent."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        on_gone()

    thread = threading.Thread(target=watch, name="esante-report-parent-watch", daemon=True)
    thread.start()
    return thread
