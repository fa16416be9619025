"""Crash-safe writes: nothing half-written is ever visible at a final name."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from dance_assets.core.lake import tables
from dance_assets.core.lake.lake import (
    Lake,
    atomic_path,
    atomic_write_text,
    replace_dir,
    sweep_stale_temps,
    temp_sibling,
)
from dance_assets.core.lake.warehouse import refresh_views


def test_failed_write_leaves_neither_file_nor_temporary(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_replaces_whole_file(tmp_path):
    target = atomic_write_text(tmp_path / "a.txt", "one")
    atomic_write_text(target, "two")
    assert target.read_text() == "two" and len(list(tmp_path.iterdir())) == 1


def test_sweep_removes_only_temporaries_of_dead_writers(tmp_path):
    mine = temp_sibling(tmp_path / "x.parquet")
    mine.write_text("in progress")
    dead = tmp_path / ".x.parquet.tmp-999999999-0123abcd"
    dead.write_text("left by a killed run")
    keep = tmp_path / "x.parquet"
    keep.write_text("published")
    assert sweep_stale_temps(tmp_path) == 1
    assert mine.exists() and keep.exists() and not dead.exists()


def test_rewriting_a_file_removes_what_a_killed_write_of_it_left(tmp_path):
    """A step killed while writing a report leaves its temporary; writing that file again
    removes it, and leaves other files' temporaries (a live writer elsewhere) alone."""
    left = tmp_path / ".savage.png.tmp-999999999-0123abcd"
    left.write_bytes(b"half a png")
    others = tmp_path / ".wap.png.tmp-999999999-0123abcd"
    others.write_bytes(b"another file's")
    atomic_write_text(tmp_path / "savage.png", "whole")
    assert sorted(p.name for p in tmp_path.iterdir()) == [others.name, "savage.png"]


def test_a_warehouse_rebuild_killed_midway_is_swept_by_the_next(tmp_path):
    lake = Lake(tmp_path / "lake")
    lake.root.mkdir()
    left = [lake.root / ".warehouse.duckdb.tmp-999999999-0123abcd",
            lake.root / ".warehouse.duckdb.tmp-999999999-0123abcd.wal"]
    for path in left:
        path.write_bytes(b"half a database")
    refresh_views(lake)
    assert sorted(p.name for p in lake.root.iterdir()) == [lake.warehouse.name]


def test_replace_dir_swaps_whole_folders(tmp_path):
    final = tmp_path / "video"
    for content in ("old", "new"):
        staged = temp_sibling(final)
        staged.mkdir()
        (staged / "00000.jpg").write_text(content)
        replace_dir(staged, final)
    assert (final / "00000.jpg").read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["video"]


def test_tables_roundtrip_with_schema_and_missing_partition(tmp_path):
    lake = Lake.resolve(tmp_path)
    assert tables.read_table(lake, "videos", dance_class="x").empty
    row = {name: None for name in tables.SCHEMAS["videos"].names}
    row.update(video_id="v1", path="raw/2020/a.mp4", dance_class="2020", status="ok")
    tables.write_table(lake, "videos", pd.DataFrame([row]), dance_class="2020")
    back = tables.read_table(lake, "videos")
    assert back.loc[0, "dance_class"] == "2020"  # a numeric-looking class stays a string
    assert tables.partition_file(lake, "videos", dance_class="2020").is_file()
    with pytest.raises(ValueError, match="missing columns"):
        tables.write_table(lake, "videos", pd.DataFrame([{"video_id": "v"}]), dance_class="y")


def test_lake_resolution_order(tmp_path, monkeypatch):
    monkeypatch.setenv("DANCE_LAKE", str(tmp_path / "env"))
    assert Lake.resolve().root == tmp_path / "env"
    assert Lake.resolve(tmp_path / "explicit").root == tmp_path / "explicit"
    monkeypatch.delenv("DANCE_LAKE")
    monkeypatch.chdir(tmp_path)
    assert Lake.resolve().root == tmp_path / "data_lake"
    assert os.path.isabs(Lake.resolve().root)
