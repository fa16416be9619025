"""What a benchmark result must say about how it was measured: the machine, the code
(which commit, and whether the measured modules differed from it or changed during the
run, since others may edit the tree meanwhile) and the CPU others used while it ran.

Shared by the benchmarks that import it (`python benchmarks/NAME.py` puts this folder on
the path). Measured modules are named by their dotted import path, so their files are
found wherever the package keeps them.
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import os
import platform
import re
import resource
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def machine() -> dict:
    model = platform.processor()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        found = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.MULTILINE)
        model = found.group(1) if found else model
    return {"cpu_count": os.cpu_count(), "cpu": model, "python": platform.python_version()}


def _path(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(module)
    return Path(spec.origin)


def sources(modules: tuple[str, ...]) -> dict[str, str]:
    """The measured modules' content, hashed."""
    return {name: hashlib.sha256(_path(name).read_bytes()).hexdigest()[:12] for name in modules}


def code(modules: tuple[str, ...], at_start: dict[str, str]) -> dict:
    """The commit checked out, which measured modules differ from it (or are not in it),
    and which changed while the benchmark ran (a fresh process would import the new code)."""
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                          text=True, check=False).stdout.strip()
    changed = []
    for name in modules:
        path = _path(name).relative_to(ROOT).as_posix()
        committed = subprocess.run(["git", "show", f"HEAD:{path}"], cwd=ROOT,
                                   capture_output=True, check=False).stdout
        if committed != (ROOT / path).read_bytes():
            changed.append(path)
    now = sources(modules)
    return {"commit": head or None, "measured_modules_changed_since_commit": changed,
            "modules_sha256_12_at_start": at_start,
            "changed_during_run": [name for name in modules if now[name] != at_start[name]]}


def _busy_s() -> float:
    """CPU seconds the whole machine has been busy since boot (NaN without /proc/stat)."""
    stat = Path("/proc/stat")
    if not stat.is_file():
        return math.nan
    fields = [int(v) for v in stat.read_text().splitlines()[0].split()[1:9]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def _mine_s() -> float:
    """CPU seconds of this process and its finished children."""
    return sum(r.ru_utime + r.ru_stime for r in (resource.getrusage(resource.RUSAGE_SELF),
                                                 resource.getrusage(resource.RUSAGE_CHILDREN)))


class OtherLoad:
    """CPU seconds the rest of the machine used while a measurement ran: the machine's
    busy time less this process's and its children's. More than a second or so means the
    measurement shared the two cores with someone else."""

    cpu_s: float = math.nan

    def __enter__(self) -> OtherLoad:
        self._start = _busy_s(), _mine_s()
        return self

    def __exit__(self, *_: object) -> None:
        busy, mine = _busy_s() - self._start[0], _mine_s() - self._start[1]
        self.cpu_s = round(max(0.0, busy - mine), 2)
