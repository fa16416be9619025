"""Human include/exclude decisions on frames: review/decisions.csv, edited by
`dance-assets review` (under a lock, so concurrent commands never lose a decision)."""

from __future__ import annotations

import contextlib
import csv
import fcntl
import io
from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd

from dance_assets.core.lake.errors import DanceAssetsError
from dance_assets.core.lake.lake import Lake, atomic_write_text

DECISIONS = ("include", "exclude")
DECISION_COLUMNS = ("frame_id", "decision", "note")


def read_decisions(path: Path) -> pd.DataFrame:
    """review/decisions.csv (frame_id, decision, note); the last line for a frame wins."""
    if not path.exists():
        return pd.DataFrame(columns=list(DECISION_COLUMNS))
    rows = []
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or not {"frame_id", "decision"} <= set(reader.fieldnames):
            raise DanceAssetsError(f"{path}: expected a header with frame_id,decision,note")
        for line, row in enumerate(reader, start=2):
            decision = (row.get("decision") or "").strip().lower()
            if decision not in DECISIONS:
                raise DanceAssetsError(
                    f"{path}:{line}: decision must be include or exclude, got {decision!r}")
            rows.append({"frame_id": row["frame_id"].strip(), "decision": decision,
                         "note": (row.get("note") or "").strip()})
    decisions = pd.DataFrame(rows, columns=list(DECISION_COLUMNS))
    return decisions.drop_duplicates("frame_id", keep="last").reset_index(drop=True)


def write_decisions(path: Path, decisions: pd.DataFrame) -> None:
    buffer = io.StringIO()
    decisions[list(DECISION_COLUMNS)].sort_values("frame_id").to_csv(buffer, index=False)
    atomic_write_text(path, buffer.getvalue())


def unknown_frames(frame_ids: Iterable[str], known: pd.Series) -> list[str]:
    return sorted(set(frame_ids) - set(known))


def record_decisions(lake: Lake, frame_ids: list[str], decision: str, note: str,
                     known: pd.Series) -> pd.DataFrame:
    """Add or replace human decisions; an unknown frame id is an error that names it."""
    if decision not in DECISIONS:
        raise DanceAssetsError(f"decision must be include or exclude, got {decision!r}")
    missing = unknown_frames(frame_ids, known)
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5
                                          else "")
        raise DanceAssetsError(f"unknown frame id(s): {shown} (see the frames view)")
    path = decisions_path(lake)
    with _exclusive(path.with_name(".decisions.lock")):  # concurrent `review` commands
        current = read_decisions(path)
        new = pd.DataFrame({"frame_id": frame_ids, "decision": decision, "note": note})
        merged = pd.concat([current[~current["frame_id"].isin(frame_ids)], new],
                           ignore_index=True)
        write_decisions(path, merged)
    return merged


@contextlib.contextmanager
def _exclusive(lock_file: Path) -> Iterator[None]:
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def decisions_path(lake: Lake) -> Path:
    return lake.review / "decisions.csv"
