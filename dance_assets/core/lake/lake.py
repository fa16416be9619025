"""The lake's layout and the crash-safe file operations every writer uses.

Writers never create a file at its final name: they write a hidden temporary sibling
and rename it into place, so a killed process leaves nothing half-written where a
reader looks. Temporaries carry the writer's pid, so later runs can sweep the ones
whose writer is gone.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

DEFAULT_LAKE = "data_lake"
# A temporary (temp_sibling) and the write-ahead log DuckDB keeps beside one it has open.
_TEMP_PATTERN = re.compile(r"^\..+\.tmp-(\d+)-[0-9a-f]{8}(\.wal)?$")


@dataclass(frozen=True)
class Lake:
    """Paths of one lake; see DESIGN.md for what lives where."""

    root: Path

    @classmethod
    def resolve(cls, root: str | os.PathLike[str] | None = None) -> Lake:
        """The lake from an explicit root, else $DANCE_LAKE, else ./data_lake."""
        value = root or os.environ.get("DANCE_LAKE") or DEFAULT_LAKE
        return cls(Path(value).expanduser().resolve())

    @property
    def raw(self) -> Path:
        return self.root / "raw"

    @property
    def references(self) -> Path:
        """references/<dance>/<name>.<ext>: the dances' teacher videos, never modified."""
        return self.root / "references"

    @property
    def frames(self) -> Path:
        return self.root / "frames"

    @property
    def tables(self) -> Path:
        return self.root / "tables"

    @property
    def models(self) -> Path:
        return self.root / "models"

    def model_dir(self, protocol: str, arch: str) -> Path:
        """Where one trained model lives: models/<protocol>/<arch>/."""
        return self.models / protocol / arch

    @property
    def cache(self) -> Path:
        """Derived files, safe to delete between runs: the decoded frame arrays, and the
        values one run's steps pass each other (cache/steps/<run id>/)."""
        return self.root / "cache"

    @property
    def step_outputs(self) -> Path:
        """Where one run's steps leave values for the next: cache/steps/<run id>/."""
        return self.cache / "steps"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def review(self) -> Path:
        return self.root / "review"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    def relative(self, path: Path) -> str:
        """A path inside the lake as stored in tables: relative, with forward slashes."""
        return Path(os.path.relpath(path, self.root)).as_posix()

    def absolute(self, relative_path: str) -> Path:
        return self.root / relative_path


def temp_sibling(path: Path) -> Path:
    """A hidden name next to `path` that no reader's glob matches."""
    return path.parent / f".{path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"


@contextlib.contextmanager
def atomic_path(path: Path, *, fsync: bool = True) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces `path` in one rename.

    Temporaries of `path` itself left by writers that no longer run (a step killed while
    writing this very file) are removed first: only this file's, since another file's
    writer in the folder may be alive in another process namespace (a pod)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{glob.escape(path.name)}.tmp-*"):
        match = _TEMP_PATTERN.match(stale.name)
        if match and not _pid_alive(int(match.group(1))):
            stale.unlink(missing_ok=True)
    tmp = temp_sibling(path)
    try:
        yield tmp
        if fsync:
            with open(tmp, "rb") as handle:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return path


def atomic_write_text(path: Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def replace_dir(staged: Path, final: Path) -> None:
    """Move a fully written directory into place, replacing any older one."""
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.exists():
        trash = temp_sibling(final)
        os.replace(final, trash)
        os.replace(staged, final)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(staged, final)


def remove_dir(path: Path) -> None:
    """Remove a directory so that readers see it either whole or gone."""
    if path.exists():
        trash = temp_sibling(path)
        os.replace(path, trash)
        shutil.rmtree(trash, ignore_errors=True)


def ensure_free_space(folder: Path, needed_bytes: int, reserve_bytes: int) -> None:
    """Refuse to start work that would leave less than `reserve_bytes` free."""
    from dance_assets.core.lake.errors import DanceAssetsError

    probe = folder
    while not probe.exists():
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    if free - needed_bytes < reserve_bytes:
        raise DanceAssetsError(
            f"not enough free disk for {folder}: {free / 1e9:.1f} GB free, about "
            f"{needed_bytes / 1e9:.2f} GB needed and {reserve_bytes / 1e9:.1f} GB to keep free "
            "(LakeResource.min_free_gb)")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale_temps(directory: Path) -> int:
    """Delete temporaries left in `directory` by writers that no longer run."""
    if not directory.is_dir():
        return 0
    removed = 0
    for entry in directory.iterdir():
        match = _TEMP_PATTERN.match(entry.name)
        if match and not _pid_alive(int(match.group(1))):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed += 1
    return removed
