"""A video from her browser onto the lake's disk: capped, and never half a file in view.

The page sends the file as the request's body (no multipart form to buffer), and it is
written as it arrives into a hidden folder of its own under the lake's cache/uploads/
(core/lake/lake.temp_sibling's name, so a server killed mid-upload leaves only a folder
that the next start sweeps away), under her file's own name made safe: every message
`score` and the ingest give then names the file she chose. What keeps it moves it into
place with one rename (a teacher under references/, an attempt under attempts/).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

from dance_assets.core.lake.errors import DanceAssetsError
from dance_assets.core.lake.lake import Lake, sweep_stale_temps, temp_sibling

# A phone's minute of 4K is about 400 MB; a routine is rarely longer.
MAX_UPLOAD_BYTES = 512 * 1024 * 1024
_UNSAFE = re.compile(r"[^\w.\- ]+")


def uploads_folder(lake: Lake) -> Path:
    return lake.cache / "uploads"


def safe_name(name: str) -> str:
    """Her file's name as one harmless file name: no folders, no hidden dot, at most 80
    characters, its suffix kept (ffmpeg reads the content, the suffix helps her)."""
    base = _UNSAFE.sub("_", Path(name.replace("\\", "/")).name).strip(" .") or "video"
    stem, suffix = Path(base).stem[:70] or "video", Path(base).suffix[:10].lower()
    return f"{stem}{suffix}"


def sweep_uploads(lake: Lake) -> None:
    """Remove what uploads interrupted by a killed server left."""
    sweep_stale_temps(uploads_folder(lake))


async def receive(lake: Lake, name: str, body: AsyncIterator[bytes],
                  cap: int = MAX_UPLOAD_BYTES) -> Path:
    """Write the request body into a fresh hidden folder; the file's path. Over `cap`
    bytes, or empty, it is refused and nothing stays."""
    folder = temp_sibling(uploads_folder(lake) / "upload")
    folder.mkdir(parents=True)
    target = folder / safe_name(name)
    size = 0
    try:
        with open(target, "wb") as handle:
            async for chunk in body:
                size += len(chunk)
                if size > cap:
                    raise DanceAssetsError(f"{target.name} is larger than the studio's "
                                           f"{cap // 2**20} MB limit for one video")
                handle.write(chunk)
        if size == 0:
            raise DanceAssetsError(f"{target.name} is empty: choose a video file")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return target


def discard(upload: Path) -> None:
    """Remove an upload's folder (after it was kept elsewhere, or refused)."""
    shutil.rmtree(upload.parent, ignore_errors=True)
