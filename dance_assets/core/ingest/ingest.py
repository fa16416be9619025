"""From a class folder under raw/ to one `videos` row per file, with a status and reason.

Every file is accounted for: a video that probes cleanly is `ok`; anything else is
`rejected` with the reason, or `duplicate` when the same content (sha256) appears
earlier in the class or anywhere in another class (its label is then ambiguous, so
every copy is flagged). Hidden files, OS junk and the generator's sidecars are not
videos and are skipped silently. Symlinks are never followed out of raw/.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from dance_assets.core.ingest.audio import check_audio
from dance_assets.core.ingest.video import FfmpegSettings, Probe, VideoError, probe_video
from dance_assets.core.lake.lake import Lake
from dance_assets.core.lake.tables import SCHEMAS, empty_frame, records

JUNK_NAMES = frozenset({"thumbs.db", "desktop.ini", "__macosx", "$recycle.bin", "icon\r"})
PARTIAL_SUFFIXES = (".part", ".crdownload", ".download", ".tmp", "~")
# A video's truth, written beside it by the synthetic generator: not a video itself.
SIDECAR_SUFFIX = ".truth.json"
PARTICIPANT_SEPARATOR = "__"
NO_AUDIO = "none"  # the videos table's audio_codec for a file without an audio stream
_AUDIO_COLUMNS = ("audio_codec", "audio_sample_rate", "audio_duration_s", "audio_error")


@dataclass(frozen=True)
class ProbeLimits:
    """Videos beyond these are rejected rather than allowed to eat the disk."""

    max_duration_s: float = 3600.0
    max_side: int = 7680


@dataclass(frozen=True)
class RawFile:
    """One entry found under a class folder, before any probing."""

    path: Path
    size: int
    mtime_ns: int
    problem: str | None = None  # a reason to reject without reading it


def is_ignored(name: str) -> bool:
    """Hidden files, OS junk, unfinished downloads and generator sidecars are not videos."""
    lowered = name.lower()
    return (
        name.startswith(".")
        or lowered in JUNK_NAMES
        or lowered.endswith(PARTIAL_SUFFIXES)
        or lowered.endswith(SIDECAR_SUFFIX)
    )


def class_folders(raw: Path) -> list[str]:
    """The dance classes: folders directly under raw/ (not hidden or OS junk), by name."""
    if not raw.is_dir():
        return []
    return sorted(p.name for p in raw.iterdir() if p.is_dir() and not is_ignored(p.name))


def participant_of(path: Path) -> str:
    """The participant is the file name's stem before any `__take` suffix."""
    return path.stem.split(PARTICIPANT_SEPARATOR, 1)[0].strip()


def list_class_files(raw: Path, dance_class: str) -> list[RawFile]:
    """Every candidate file of one class folder, nested folders included, sorted."""
    root = raw / dance_class
    raw_real = raw.resolve()
    found: list[RawFile] = []
    for folder, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(folder)
        dirnames[:] = sorted(d for d in dirnames if not is_ignored(d))
        for name in list(dirnames):
            entry = here / name
            if entry.is_symlink():
                dirnames.remove(name)
                found.append(RawFile(entry, 0, 0, "symlinked folder (not followed)"))
        for name in sorted(filenames):
            if is_ignored(name):
                continue
            found.append(_describe(here / name, raw_real))
    return sorted(found, key=lambda f: f.path.as_posix())


def _describe(path: Path, raw_real: Path) -> RawFile:
    try:
        if path.is_symlink():
            target = path.resolve()
            if not target.exists():
                return RawFile(path, 0, 0, "broken symlink")
            if not target.is_relative_to(raw_real):
                return RawFile(path, 0, 0, "symlink pointing outside raw/ (not followed)")
        info = path.stat()
    except OSError as exc:
        return RawFile(path, 0, 0, f"cannot read it: {exc.strerror or exc}")
    if not stat.S_ISREG(info.st_mode):
        return RawFile(path, 0, 0, "not a regular file")
    if not os.access(path, os.R_OK):
        return RawFile(path, info.st_size, info.st_mtime_ns, "cannot read it: permission denied")
    return RawFile(path, info.st_size, info.st_mtime_ns)


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _cached_by_stat(previous: pd.DataFrame) -> dict[tuple[str, int, int], dict]:
    """Earlier rows by (path, size, mtime): an unchanged file is not probed again."""
    return {
        (row["path"], int(row["size_bytes"]), int(row["mtime_ns"])): row
        for row in records(previous)
        if row["size_bytes"] is not None and row["mtime_ns"] is not None
    }


def _probe_row(lake: Lake, dance_class: str, entry: RawFile, settings: FfmpegSettings,
               cached: dict[tuple[str, int, int], dict]) -> dict:
    relative = lake.relative(entry.path)
    row = {name: None for name in SCHEMAS["videos"].names}
    row.update(path=relative, dance_class=dance_class, participant=participant_of(entry.path),
               size_bytes=entry.size, mtime_ns=entry.mtime_ns,
               probed_at=datetime.now(UTC))
    if entry.problem:
        row.update(probe_error=entry.problem, size_bytes=None, mtime_ns=None)
        return row
    earlier = cached.get((relative, entry.size, entry.mtime_ns))
    if earlier is not None and (earlier["audio_codec"] or earlier["probe_error"]):
        for key in ("video_id", "sha256", "duration_s", "fps", "width", "height", "rotation",
                    "codec", "probe_error", "probed_at", *_AUDIO_COLUMNS):
            row[key] = earlier[key]
        return row
    row["sha256"] = sha256_file(entry.path)
    row["video_id"] = row["sha256"][:16]
    try:
        probe: Probe = probe_video(entry.path, settings)
    except VideoError as exc:
        row["probe_error"] = str(exc)
        return row
    row.update(duration_s=probe.duration_s, fps=probe.fps, width=probe.width,
               height=probe.height, rotation=probe.rotation, codec=probe.codec,
               audio_codec=probe.audio_codec or NO_AUDIO,
               audio_sample_rate=probe.audio_sample_rate)
    if probe.audio_codec:
        checked = check_audio(entry.path, settings)
        row.update(audio_duration_s=checked.duration_s, audio_error=checked.error)
    return row


def _verdict(row: dict, limits: ProbeLimits) -> str | None:
    """Why a probed file cannot be used, or None when it can."""
    if row["probe_error"]:
        return row["probe_error"]
    if not row["participant"]:
        return "the name has no participant before '__' (expected <participant>[__<take>].<ext>)"
    if row["duration_s"] > limits.max_duration_s:
        return (f"too long: {row['duration_s']:.0f} s exceeds the "
                f"{limits.max_duration_s:g} s limit")
    if max(row["width"], row["height"]) > limits.max_side:
        return (f"too large: {row['width']}x{row['height']} exceeds the "
                f"{limits.max_side} px limit")
    return None


def other_class_copies(raw: Path, lake: Lake, dance_class: str, digests: dict[int, set[str]],
                       known: pd.DataFrame) -> dict[str, list[str]]:
    """Files in other classes with the same content as this class's, by sha256.

    Only files whose size matches one of ours are hashed (copies have equal sizes), and
    hashes already in the `videos` table are reused when size and mtime still match.
    """
    cached = {key: row["sha256"] for key, row in _cached_by_stat(known).items() if row["sha256"]}
    copies: dict[str, list[str]] = {}
    for other in class_folders(raw):
        if other == dance_class:
            continue
        for entry in list_class_files(raw, other):
            if entry.problem or entry.size not in digests:
                continue
            relative = lake.relative(entry.path)
            digest = cached.get((relative, entry.size, entry.mtime_ns)) or sha256_file(entry.path)
            if digest in digests[entry.size]:
                copies.setdefault(digest, []).append(relative)
    return copies


def scan_class(lake: Lake, dance_class: str, settings: FfmpegSettings, limits: ProbeLimits,
               previous: pd.DataFrame, all_known: pd.DataFrame, workers: int,
               progress: Callable[[int, int, str], None] | None = None) -> pd.DataFrame:
    """The `videos` rows of one class: probe what changed, then decide every status."""
    entries = list_class_files(lake.raw, dance_class)
    if not entries:
        return empty_frame("videos")
    cached = _cached_by_stat(previous)
    rows: list[dict] = []
    with ThreadPoolExecutor(max(1, workers)) as pool:
        jobs = pool.map(lambda e: _probe_row(lake, dance_class, e, settings, cached), entries)
        for done, row in enumerate(jobs, 1):
            rows.append(row)
            if progress:
                progress(done, len(entries), row["path"])
    for row in rows:
        reason = _verdict(row, limits)
        row["status"], row["reason"] = ("rejected", reason) if reason else ("ok", None)
    _flag_duplicates(rows, other_class_copies(
        lake.raw, lake, dance_class, _digests_by_size(rows), all_known))
    return pd.DataFrame(rows, columns=SCHEMAS["videos"].names)


def _digests_by_size(rows: Iterable[dict]) -> dict[int, set[str]]:
    sizes: dict[int, set[str]] = {}
    for row in rows:
        if row["status"] == "ok":
            sizes.setdefault(int(row["size_bytes"]), set()).add(row["sha256"])
    return sizes


def _flag_duplicates(rows: list[dict], elsewhere: dict[str, list[str]]) -> None:
    first_seen: dict[str, str] = {}
    for row in rows:  # rows are sorted by path, so the first copy stays ok
        if row["status"] != "ok":
            continue
        digest = row["sha256"]
        if digest in elsewhere:
            others = ", ".join(elsewhere[digest])
            row["status"] = "duplicate"
            row["reason"] = f"same content also under another class ({others}): label is ambiguous"
        elif digest in first_seen:
            row["status"] = "duplicate"
            row["reason"] = f"same content as {first_seen[digest]}"
        else:
            first_seen[digest] = row["path"]
