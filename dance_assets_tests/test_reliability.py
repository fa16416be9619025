"""Faults lose nothing: killed runs, parallel runs, full disks, slow videos."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from dance_assets.core.curation.cleaning import CleaningThresholds
from dance_assets.core.curation.manifest import ManifestSettings, build_manifest
from dance_assets.core.lake import tables
from dance_assets.core.lake.lake import Lake
from dance_assets.core.lake.warehouse import query
from dance_assets.core.synthetic.plans import plan_videos
from dance_assets.core.synthetic.writing import generate
from dance_assets.lake_tables import LAKE_TABLES, lake_tables_io_manager
from dance_assets.partitions import dance_class_partitions
from dance_assets.resources import FfmpegResource, LakeResource
from dance_assets_tests.helpers import materialize_ingest, register_classes
from dance_assets_tests.worker import ingest

TIMING_COLUMNS = {"probed_at", "seconds", "extracted_at", "mtime_ns", "pose_seconds"}
PER_CLASS_TABLES = ("videos", "frames", "extractions", "poses")


def _visible(path: Path) -> bool:
    return not any(part.startswith(".") for part in path.parts)


def _frame_files(lake: Lake) -> dict[str, str]:
    return {p.relative_to(lake.root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(lake.frames.rglob("*.jpg"))
            if _visible(p.relative_to(lake.root))}


def _stable(df: pd.DataFrame) -> pd.DataFrame:
    """Without timings, in a fixed order, landmark lists as tuples (comparable)."""
    keep = [c for c in df.columns if c not in TIMING_COLUMNS]
    df = df[keep].sort_values(keep[0]).reset_index(drop=True)
    for column in ("x", "y", "visibility"):
        if column in df:
            df[column] = df[column].map(lambda v: None if v is None else tuple(v))
    return df


def _kill_when(command: list[str], appears: callable, timeout: float = 120) -> bool:
    """Start `command`; SIGKILL its process group as soon as `appears()` is true.

    Returns whether the kill landed while the work was under way.
    """
    process = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    try:
        while process.poll() is None and time.monotonic() < deadline:
            if appears():
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                return True
            time.sleep(0.002)
        return False
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _readers_see_only_whole_things(lake: Lake, reference: dict[str, str]) -> None:
    files = _frame_files(lake)
    by_video: dict[str, dict[str, str]] = {}
    for path, digest in files.items():
        by_video.setdefault(str(Path(path).parent), {})[path] = digest
    for folder, content in by_video.items():  # every visible video folder is complete
        expected = {p: d for p, d in reference.items() if str(Path(p).parent) == folder}
        assert content == expected, folder
    for parquet in lake.tables.rglob("*.parquet"):
        if _visible(parquet.relative_to(lake.root)):
            pq.read_table(parquet)  # whole and readable
    frames = tables.read_table(lake, "frames")
    assert all((lake.root / p).is_file() for p in frames["path"])  # rows never dangle


@pytest.mark.slow
def test_killed_extraction_leaves_no_half_files_and_rerun_converges(tmp_path, tiny_raw):
    reference, victim = Lake.resolve(tmp_path / "reference"), Lake.resolve(tmp_path / "victim")
    for lake in (reference, victim):
        shutil.copytree(tiny_raw / "savage", lake.raw / "savage")
    ingest(str(reference.root), "savage")
    expected = _frame_files(reference)
    assert len(expected) == 12

    def staging() -> bool:
        folder = victim.frames / "savage"
        return folder.is_dir() and any(".tmp-" in p.name for p in folder.iterdir())

    command = [sys.executable, "-m", "dance_assets_tests.worker", "ingest", str(victim.root),
               "savage"]
    mid_flight = [_kill_when(command, staging) for _ in range(3)]
    assert any(mid_flight), "no kill landed during extraction"
    _readers_see_only_whole_things(victim, expected)

    ingest(str(victim.root), "savage")  # the next run converges
    _converged(victim, reference)
    assert _frame_files(victim) == expected


def _converged(victim: Lake, reference: Lake) -> None:
    for name in PER_CLASS_TABLES:
        pd.testing.assert_frame_equal(_stable(tables.read_table(victim, name)),
                                      _stable(tables.read_table(reference, name)))
    leftovers = [p for p in victim.root.rglob("*") if ".tmp-" in p.name]
    assert leftovers == []


@pytest.mark.slow
def test_killed_pose_step_loses_nothing_and_rerun_converges(tmp_path, tiny_raw):
    """New pose settings pose the frames again; a kill at any moment of it loses nothing."""
    reference, victim = Lake.resolve(tmp_path / "reference"), Lake.resolve(tmp_path / "victim")
    for lake in (reference, victim):
        shutil.copytree(tiny_raw / "savage", lake.raw / "savage")
    ingest(str(reference.root), "savage", "1")
    ingest(str(victim.root), "savage")
    assert len(tables.read_table(victim, "poses")) == 12
    command = [sys.executable, "-m", "dance_assets_tests.worker", "ingest", str(victim.root),
               "savage", "1"]
    for delay in (4.0, 5.5, 7.0):  # start-up takes seconds; the pose step comes after it
        started = time.monotonic()
        _kill_when(command, lambda s=started, d=delay: time.monotonic() - s > d)
        poses = tables.read_table(victim, "poses")  # whole, one row per frame, always
        assert sorted(poses["frame_id"]) == sorted(tables.read_table(victim, "frames")[
            "frame_id"])
    ingest(str(victim.root), "savage", "1")
    _converged(victim, reference)


def _synthetic_frames(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    video = rng.integers(0, n // 10, n)
    return pd.DataFrame({
        "frame_id": [f"{v:016x}_{i:05d}" for i, v in enumerate(video)],
        "video_id": [f"{v:016x}" for v in video],
        "dance_class": np.array([f"class{c}" for c in range(12)])[video % 12],
        "participant": np.array([f"p{p:02d}" for p in range(20)])[video % 20],
        "second": np.arange(n) % 70,
        "path": [f"frames/x/{i}.jpg" for i in range(n)],
        "width": 256, "height": 455,
        "brightness": rng.uniform(60, 200, n), "contrast": rng.uniform(10, 50, n),
        "sharpness": rng.uniform(50, 300, n), "noise": rng.uniform(0, 3, n),
        "subject_score": rng.uniform(0, 0.6, n), "near_duplicate_of": None,
        "uniform_share": rng.uniform(0.1, 0.7, n),
    })


@pytest.mark.slow
def test_killed_manifest_write_keeps_the_previous_manifest_whole(tmp_path):
    lake = Lake.resolve(tmp_path / "lake")
    settings = ManifestSettings(CleaningThresholds())
    no_decisions = pd.DataFrame(columns=["frame_id", "decision", "note"])
    tables.write_table(lake, "frames", _synthetic_frames(400_000, seed=1), dance_class="x")
    first = build_manifest(tables.read_table(lake, "frames"), no_decisions, settings)
    tables.write_table(lake, "frame_manifest", first)
    published = tables.read_table(lake, "frame_manifest")

    tables.write_table(lake, "frames", _synthetic_frames(400_000, seed=2), dance_class="x")
    folder = tables.table_dir(lake, "frame_manifest")
    landed = _kill_when([sys.executable, "-m", "dance_assets_tests.worker", "manifest",
                         str(lake.root)],
                        lambda: any(".tmp-" in p.name for p in folder.iterdir()))
    assert landed, "the kill did not land during the write"
    pd.testing.assert_frame_equal(tables.read_table(lake, "frame_manifest"), published)

    subprocess.run([sys.executable, "-m", "dance_assets_tests.worker", "manifest",
                    str(lake.root)], check=True)
    uninterrupted = build_manifest(tables.read_table(lake, "frames"), no_decisions, settings)
    pd.testing.assert_frame_equal(tables.read_table(lake, "frame_manifest"),
                                  tables.to_arrow("frame_manifest", uninterrupted).to_pandas())
    assert [p for p in folder.iterdir() if ".tmp-" in p.name] == []


@pytest.mark.slow
def test_parallel_partitions_with_the_multiprocess_executor_while_querying(
        tmp_path, ffmpeg_binary, monkeypatch):
    lake = Lake.resolve(tmp_path / "lake")
    people = {"renegade": 1, "savage": 2, "say_so": 3, "wap": 1, "mood": 2}  # runs end apart
    # One generate: one pool of encoding processes for all nine videos, not one per class.
    generate(lake.raw, [spec for dance, count in people.items()
                        for spec in plan_videos([dance], count, 4, (180, 320), seed=5)],
             ffmpeg_binary)
    expected = 4 * sum(people.values())
    monkeypatch.setenv("DANCE_LAKE", str(lake.root))
    classes = sorted(people)
    errors: list[str] = []
    counts: list[int] = []
    done = threading.Event()

    def keep_querying() -> None:
        while not done.is_set():
            try:
                counts.append(int(query(lake, "SELECT count(*) AS n FROM frames")["n"][0]))
            except Exception as exc:  # any failure, lock errors included, is a finding
                if "no tables yet" not in str(exc):
                    errors.append(repr(exc))
            time.sleep(0.05)

    home = tmp_path / "dagster_home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as instance:
        instance.add_dynamic_partitions(dance_class_partitions.name, classes)
    out = tmp_path / "outcomes"
    out.mkdir()
    reader = threading.Thread(target=keep_querying, daemon=True)
    reader.start()
    try:  # all at once, a process each (forks of one: see worker.runs_at_once)
        launched = subprocess.run([sys.executable, "-m", "dance_assets_tests.worker",
                                   "runs_at_once", json.dumps([["ingest", c, None, {}]
                                                               for c in classes]), str(out)],
                                  capture_output=True, text=True, timeout=600)
    finally:
        done.set()
        reader.join()
    assert launched.returncode == 0, launched.stderr[-2000:]
    outcomes = [json.loads((out / f"{index}.json").read_text()) for index in range(len(classes))]
    assert [o["success"] for o in outcomes] == [True] * len(classes), outcomes
    with dg.DagsterInstance.get() as instance:
        records = instance.get_run_records(dg.RunsFilter(job_name="ingest"))
        assert sorted(r.dagster_run.tags["dagster/partition"] for r in records) == classes
        assert all(r.dagster_run.status == dg.DagsterRunStatus.SUCCESS for r in records)
    assert errors == []
    assert counts and counts == sorted(counts)  # readers never saw rows vanish
    assert int(query(lake, "SELECT count(*) AS n FROM frames")["n"][0]) == expected
    per_class = query(lake, "SELECT dance_class, count(*) AS n FROM frames GROUP BY 1")
    assert dict(zip(per_class["dance_class"], per_class["n"], strict=True)) == {
        dance: 4 * count for dance, count in people.items()}


def test_free_disk_check_refuses_before_writing(instance, tiny_lake):
    from dance_assets.assets.ingest import raw_videos, video_frames

    (dance_class, *_) = register_classes(instance, tiny_lake)
    result = dg.materialize(
        [raw_videos, video_frames], partition_key=dance_class, instance=instance,
        raise_on_error=False,
        resources={"lake": LakeResource(root=str(tiny_lake.root), min_free_gb=1e9),
                   LAKE_TABLES: lake_tables_io_manager, "ffmpeg": FfmpegResource()})
    assert not result.success
    message = next(e for e in result.all_events if e.is_step_failure
                   ).event_specific_data.error.message
    assert "not enough free disk" in message and "min_free_gb" in message
    assert not (tiny_lake.frames / dance_class).exists() or not any(
        (tiny_lake.frames / dance_class).iterdir())


def test_a_video_over_the_time_limit_fails_alone(instance, tiny_lake):
    from dance_assets.assets.ingest import video_frames

    (dance_class, *_) = register_classes(instance, tiny_lake)
    assert materialize_ingest(instance, tiny_lake, dance_class).success  # probed normally
    shutil.rmtree(tiny_lake.frames)
    tables.partition_file(tiny_lake, "extractions", dance_class=dance_class).unlink()
    result = dg.materialize(
        [video_frames], partition_key=dance_class, instance=instance,
        resources={"lake": LakeResource(root=str(tiny_lake.root)),
                   "ffmpeg": FfmpegResource(timeout_s=0.001)})
    assert result.success  # the partition survives
    extractions = tables.read_table(tiny_lake, "extractions", dance_class=dance_class)
    assert len(extractions) and (extractions["status"] == "failed").all()
    assert extractions["reason"].str.contains("longer than the 0.001 s limit").all()


@pytest.mark.parametrize("statement", ["INSERT INTO frames SELECT * FROM frames",
                                       "COPY frames TO 'x.parquet'"])
def test_sql_refusal_does_not_depend_on_the_lake_existing(tmp_path, statement):
    from dance_assets.core.lake.errors import DanceAssetsError

    with pytest.raises(DanceAssetsError, match="refused"):
        query(Lake.resolve(tmp_path), statement)
