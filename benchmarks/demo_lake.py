"""What the benchmarks that train read: a lake with a curated frame_manifest."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from dance_assets.core.lake import tables
from dance_assets.core.lake.lake import Lake


def curated_lake(path: Path) -> tuple[Lake, pd.DataFrame, list[str]]:
    """The lake, its frame_manifest and the classes of its kept frames; a clear exit when
    the lake has not been curated yet."""
    lake = Lake.resolve(path)
    manifest = tables.read_table(lake, "frame_manifest")
    if manifest.empty:
        raise SystemExit(f"no frame_manifest in {lake.root}: run `dance-assets demo` first")
    return lake, manifest, sorted(manifest.loc[manifest["keep"], "dance_class"].unique())
