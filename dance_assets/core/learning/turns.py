"""Training steps on one machine take turns on its accelerator, whatever let them start.

Dagster's "gpu" pool is meant to hold training steps to one at a time, but on Postgres
(dagster 1.13.27) two steps asking at the same instant can both be let in: the slot is
claimed with SELECT ... FOR UPDATE on an autocommit connection, so the row lock ends
with the SELECT, and the UPDATE that follows does not ask whether the slot is still free
(sql_event_log._claim_concurrency_slot). Two trainings on one GPU would share its memory
and may run out of it; on a CPU they would halve each other's speed. So each training
also holds an exclusive lock on a file named for the device, in this machine's temporary
folder: a second step waits there, saying so in its log, until the first is done. The
lock is per machine, never in the lake: each Kubernetes pod has a GPU of its own, and a
lake shared over NFS would make pods on different nodes wait for each other.

The kernel releases the lock when its holder exits, so a killed step never leaves the
device held.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


def turn_file(device: str, folder: Path | None = None) -> Path:
    """The lock file of one device on this machine."""
    return Path(folder or tempfile.gettempdir()) / f"dance-assets-training-{device}.lock"


@dataclass
class Turn:
    """One training's hold on the device: how long it waited for it."""

    device: str
    waited_s: float = 0.0


@contextmanager
def turn_on(device: str, report: Callable[[str], None],
            folder: Path | None = None) -> Iterator[Turn]:
    """Hold `device` for one training, waiting while another process on this machine
    holds it; reports when the turn starts and ends."""
    descriptor = _lock_file(device, report, folder)
    if descriptor is None:
        yield Turn(device)
        return
    try:
        turn = Turn(device)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            report(f"waiting for the {device}: another training on this machine has it")
            asked = time.monotonic()
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            turn.waited_s = time.monotonic() - asked
        report(f"training has the {device}"
               + (f" after waiting {turn.waited_s:.1f} s" if turn.waited_s else ""))
        held = time.monotonic()
        try:
            yield turn
        finally:
            # Said before it is so: the next training's "has the" line comes after it.
            report(f"training gave the {device} back after {time.monotonic() - held:.1f} s")
            # Unlocked before the close: a process forked while training (a DataLoader
            # worker) shares the descriptor, and closing ours alone would keep the lock.
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)


def _lock_file(device: str, report: Callable[[str], None], folder: Path | None) -> int | None:
    """The open lock file, or None (said) where there is no writable temporary folder,
    a read-only pod say: training then goes on without taking turns."""
    try:
        # Opened for reading, which a lock needs no more than: another user's training
        # on this machine can then open the file that the first one created.
        return os.open(turn_file(device, folder), os.O_RDONLY | os.O_CREAT, 0o644)
    except OSError as error:
        report(f"training without taking turns on the {device}: its lock file cannot be "
               f"opened ({error})")
        return None
