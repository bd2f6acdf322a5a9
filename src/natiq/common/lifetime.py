"""Worker processes that end when the process that started them ends, even by SIGKILL.

A ``ProcessPoolExecutor`` cleans up its workers when its owner exits normally,
but a SIGKILLed owner runs no clean-up: its workers (and, with the
``forkserver`` start method, the server they were forked from) can keep
running and holding memory. ``die_with`` is meant for a pool's
``initializer``; it arranges two independent ways out:

- ``prctl(PR_SET_PDEATHSIG, SIGKILL)``: the kernel kills the worker when its
  parent (the forkserver, which itself exits when its owner's pipe closes)
  goes away;
- a daemon thread waiting on a pidfd of the owner (Linux >= 5.3), which ends
  the worker as soon as the owner is gone, whoever its parent is.

Both are Linux facilities; elsewhere ``die_with`` falls back to a thread that
polls the owner's pid every half second.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import select
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1
POLL_INTERVAL_S = 0.5


def _set_parent_death_signal() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _end_now() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _watch_pidfd(pidfd: int) -> None:
    with contextlib.suppress(OSError):
        select.select([pidfd], [], [])
    _end_now()


def _watch_polling(pid: int) -> None:
    while _alive(pid):
        time.sleep(POLL_INTERVAL_S)
    _end_now()


def die_with(owner_pid: int) -> None:
    """End this process (SIGKILL) as soon as process ``owner_pid`` has ended."""
    _set_parent_death_signal()
    try:
        pidfd = os.pidfd_open(owner_pid)  # type: ignore[attr-defined]
    except ProcessLookupError:
        _end_now()
        return
    except (AttributeError, OSError):
        target, args = _watch_polling, (owner_pid,)
    else:
        target, args = _watch_pidfd, (pidfd,)
    threading.Thread(target=target, args=args, daemon=True, name="natiq-owner-watch").start()
