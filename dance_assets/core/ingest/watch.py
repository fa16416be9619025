"""What changed under raw/ since the last look: one digest per class folder.

A digest covers every candidate file of the class (relative path, size, mtime), so
an added, changed or removed video changes its class's digest and nothing else. A
look costs one stat per file and no reading, which keeps a sensor tick over ten
thousand unchanged files well inside its time limit.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path, PurePosixPath

import pandas as pd

from dance_assets.core.ingest.ingest import class_folders, is_ignored


def _walk(folder: Path, root: Path, digest: hashlib._Hash) -> int:
    """Feed every candidate file below `folder` into `digest`; returns how many."""
    count = 0
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return 0
    for entry in entries:
        if is_ignored(entry.name):
            continue
        if entry.is_dir(follow_symlinks=False):
            count += _walk(Path(entry.path), root, digest)
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        relative = os.path.relpath(entry.path, root)
        digest.update(f"{relative}\0{info.st_size}\0{info.st_mtime_ns}\n".encode(
            "utf-8", "surrogateescape"))
        count += 1
    return count


def snapshot(raw: Path) -> dict[str, str]:
    """Class folder name → digest of its files; {} when raw/ does not exist."""
    classes = {}
    for name in class_folders(raw):
        digest = hashlib.sha256()
        files = _walk(raw / name, raw, digest)
        classes[name] = f"{files}-{digest.hexdigest()[:16]}"
    return classes


def recorded_snapshot(videos: pd.DataFrame) -> dict[str, str]:
    """The snapshot raw/ had when it was last ingested, rebuilt from the `videos` table.

    The same digests as `snapshot` (same files, sizes, modification times, same order),
    so a sensor with no cursor yet (a new instance, or the UI opened after `demo`) sees
    only what changed since the lake was filled, not every class as new.
    """
    classes: dict[str, str] = {}
    rows = videos.dropna(subset=["size_bytes", "mtime_ns"])
    relative = [PurePosixPath(path).relative_to("raw") for path in rows["path"]]
    order = sorted(range(len(rows)), key=lambda i: relative[i].parts)
    digests: dict[str, tuple[int, hashlib._Hash]] = {}
    for i in order:
        name = relative[i].parts[0]
        count, digest = digests.setdefault(name, (0, hashlib.sha256()))
        digest.update(f"{relative[i]}\0{int(rows['size_bytes'].iloc[i])}\0"
                      f"{int(rows['mtime_ns'].iloc[i])}\n".encode("utf-8", "surrogateescape"))
        digests[name] = (count + 1, digest)
    for name, (count, digest) in sorted(digests.items()):
        classes[name] = f"{count}-{digest.hexdigest()[:16]}"
    return classes


def changed_classes(previous: dict[str, str], current: dict[str, str]) -> list[str]:
    """Classes whose folder differs from the previous snapshot, new ones included (a
    removed class has nothing left to ingest)."""
    return sorted(c for c, digest in current.items() if previous.get(c) != digest)
