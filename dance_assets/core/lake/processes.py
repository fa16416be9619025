"""Stopping a command and everything it started, the way a process manager expects.

`dagster dev` starts a webserver, a daemon and a code server of its own; a SIGTERM to
the command that launched it must end all of them, promptly, even when some ignore the
polite signals.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress


def group_alive(group: int) -> bool:
    """Whether any process of the process group is still running."""
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a member we may not signal is still a member
        return True
    return True


def _signal_group(group: int, sig: signal.Signals) -> None:
    with suppress(ProcessLookupError):
        os.killpg(group, sig)


def stop_group(process: subprocess.Popen, grace_s: float = 5.0) -> None:
    """End `process` (started with start_new_session=True) and its whole process group:
    SIGINT (Ctrl-C, what dagster dev handles), then SIGTERM, then SIGKILL for whatever
    still runs after `grace_s` seconds."""
    group = process.pid
    deadline = time.monotonic() + grace_s
    for sig, share in ((signal.SIGINT, 0.6), (signal.SIGTERM, 1.0)):
        _signal_group(group, sig)
        until = time.monotonic() + grace_s * share
        while group_alive(group) and time.monotonic() < min(until, deadline):
            process.poll()  # reap the leader so that it stops counting
            time.sleep(0.1)
    if group_alive(group):
        _signal_group(group, signal.SIGKILL)
    process.wait()


@contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """Within the block, SIGTERM raises KeyboardInterrupt like Ctrl-C does."""

    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
