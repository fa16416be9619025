"""What several test modules share besides fixtures (those are in conftest.py): the tiny
profile's settings, materializing the real assets, reading a result, hand-made frames.

A plain module, so a test module imports from here and never from another test module
or from conftest.py, and a child process can import it by name too.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageDraw

from dance_assets.core.curation.cleaning import CleaningThresholds
from dance_assets.core.ingest.frames import fingerprint
from dance_assets.core.ingest.video import ExtractionParams, FfmpegSettings, find_ffmpeg
from dance_assets.core.lake.lake import Lake
from dance_assets.core.lake.profiles import PROFILES
from dance_assets.core.learning.card import FrameSetting, MadeWith, ModelCard, trained_card
from dance_assets.core.learning.learners import TrainResult
from dance_assets.lake_tables import LAKE_TABLES, lake_tables_io_manager
from dance_assets.partitions import dance_class_partitions
from dance_assets.resources import FfmpegResource, LakeResource

TINY = PROFILES["tiny"]

# One epoch on a few dozen frames learns next to nothing, and whether a model lands above
# or below chance depends on the CPU's arithmetic; significance 1 lets every model through
# to evaluation. The check itself is tested with a strict significance.
TINY_TRAIN = {"epochs": 1, "image_size": 64, "batch_size": 8, "augment": False,
              "significance": 1.0}


class RecordedRun:
    """A run read back from the instance that recorded it: what the tests ask of an
    ExecuteInProcessResult, for a run made by another test worker."""

    def __init__(self, events: Sequence[dg.DagsterEvent]):
        self.all_events = list(events)

    @property
    def success(self) -> bool:
        return any(e.event_type == dg.DagsterEventType.RUN_SUCCESS for e in self.all_events)

    def asset_materializations_for_node(self, node_name: str) -> list[dg.AssetMaterialization]:
        return [e.step_materialization_data.materialization for e in self.all_events
                if e.is_step_materialization and e.node_handle is not None
                and e.node_handle.path[0] == node_name]  # the node or one inside it

    def get_asset_check_evaluations(self) -> list[dg.AssetCheckEvaluation]:
        return [e.event_specific_data for e in self.all_events  # type: ignore[misc]
                if e.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION]

    def get_asset_materialization_events(self) -> list[dg.DagsterEvent]:
        return [e for e in self.all_events if e.is_step_materialization]


@dataclass(frozen=True)
class BuiltLake:
    """A lake built once a session, the folder of the instance that recorded it and its
    runs' ids by name (a class, a protocol). Never change either: copy them (copy)."""

    lake: Lake
    dagster_home: Path
    run_ids: dict[str, str]

    @property
    def runs(self) -> dict[str, RecordedRun]:
        """Each run as recorded, read from a copy of the instance (another worker may be
        reading the original)."""
        with tempfile.TemporaryDirectory(prefix="runs-") as folder, \
                self.copy(Path(folder), with_lake=False) as (instance, _lake):
            return {name: RecordedRun([e.dagster_event for e in instance.all_logs(run_id)
                                       if e.dagster_event is not None])
                    for name, run_id in self.run_ids.items()}

    @contextmanager
    def copy(self, folder: Path, with_lake: bool = True
             ) -> Iterator[tuple[dg.DagsterInstance, Lake]]:
        """The lake (unless not `with_lake`) and the instance copied into `folder`, the
        instance open (as the `instance` fixture's: DAGSTER_HOME is its folder while it
        is)."""
        lake = Lake.resolve(folder / "lake")
        if with_lake:
            shutil.copytree(self.lake.root, lake.root, symlinks=True)
        home = folder / "dagster_home"
        shutil.copytree(self.dagster_home, home)
        with dg.instance_for_test(temp_dir=str(home)) as instance:
            yield instance, lake


def built_once(root: Path, name: str, build: Callable[[Path], None]) -> Path:
    """`root/name`, built in place by `build` for the first test worker that asks, while
    the others wait on a lock (they share `root`); a build that failed is started over.
    In place, because a lake's instance records its absolute paths."""
    folder, done = root / name, root / f"{name}.done"
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            build(folder)
            done.touch()
    return folder


def resources_for(lake: Lake) -> dict[str, object]:
    return {"lake": LakeResource(root=str(lake.root)), LAKE_TABLES: lake_tables_io_manager,
            "ffmpeg": FfmpegResource(workers=2)}


def materialize(assets: Sequence[dg.AssetsDefinition], resources: dict[str, object],
                **kwargs: object) -> dg.ExecuteInProcessResult:
    """dg.materialize of `assets` (and their checks) alone, among every asset of the code
    location and with its resources where `resources` has none: an asset takes its
    upstream's tables as inputs, which Dagster resolves only where the upstream is
    defined; those not materialized here are read from the lake."""
    from dance_assets.definitions import defs

    return dg.materialize(list(defs.assets or []),  # type: ignore[arg-type]
                          selection=dg.AssetSelection.assets(*assets),
                          resources={**(defs.resources or {}), **resources}, **kwargs)


def register_classes(instance: dg.DagsterInstance, lake: Lake) -> list[str]:
    classes = sorted(p.name for p in lake.raw.iterdir() if p.is_dir())
    instance.add_dynamic_partitions(dance_class_partitions.name, classes)
    return classes


def materialize_ingest(instance: dg.DagsterInstance, lake: Lake,
                       dance_class: str) -> dg.ExecuteInProcessResult:
    from dance_assets.assets.ingest import raw_videos, video_frames

    return dg.materialize([raw_videos, video_frames], partition_key=dance_class,
                          instance=instance, resources=resources_for(lake))


def materialize_manifest(instance: dg.DagsterInstance, lake: Lake,
                         **config: object) -> dg.ExecuteInProcessResult:
    from dance_assets.assets.curation import frame_manifest

    return materialize([frame_manifest], instance=instance, resources=resources_for(lake),
                       run_config={"ops": {"frame_manifest": {"config": config}}},
                       raise_on_error=False)


def materialize_models(instance: dg.DagsterInstance, lake: Lake, protocol: str,
                       compute: dict[str, object] | None = None,
                       archs: Sequence[str] | None = None,
                       **overrides: object) -> dg.ExecuteInProcessResult:
    """The three CNNs (or those of `archs`) trained with TINY_TRAIN and `overrides`."""
    from dance_assets.assets.models import model_assets
    from dance_assets.resources import TorchComputeResource

    config = {**TINY_TRAIN, **overrides}
    chosen = [asset for asset in model_assets
              if archs is None or asset.key.path[-1] in archs]
    ops = {asset.op.name: {"config": config} for asset in chosen}
    return materialize(chosen, partition_key=protocol, instance=instance,
                       resources={**resources_for(lake),
                                  "torch_compute": TorchComputeResource(**(compute or {}))},
                       run_config={"ops": ops}, raise_on_error=False)


def metadata_of(result: dg.ExecuteInProcessResult, asset: str) -> dict:
    """The values of the one materialization of `asset` in `result`, by key."""
    (materialization,) = result.asset_materializations_for_node(asset)
    return {key: value.value for key, value in materialization.metadata.items()}


def checks_of(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    """The asset check evaluations in `result`, by check name (the last one of a name)."""
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def in_fresh_python(code: str, env: dict[str, str] | None = None) -> list[str]:
    """What `code` prints, split into words, run in a new interpreter (clean sys.modules),
    with `env` added to the environment."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, env={**os.environ, **(env or {})}).stdout.split()


def counting_ffmpeg(folder: Path) -> tuple[FfmpegSettings, Path]:
    """The real ffmpeg behind a script that first writes down each command line."""
    log, shim = folder / "ffmpeg.log", folder / "ffmpeg"
    shim.write_text(f'#!/bin/sh\necho "$*" >> {log}\nexec {find_ffmpeg()} "$@"\n')
    shim.chmod(0o755)
    return FfmpegSettings(str(shim), threads=1, timeout_s=600), log


def reads_of(log: Path, *videos: Path) -> list[list[str]]:
    """For each video, the logged command lines that open it; the log is emptied."""
    lines = log.read_text().splitlines()
    log.write_text("")
    return [[line for line in lines if f"-i {video} " in line + " "] for video in videos]


def chromium() -> str:
    """Debian's chromium, installed on first use where apt-get can (CI runs as root)."""
    binary = shutil.which("chromium")
    if binary:
        return binary
    if shutil.which("apt-get") and os.geteuid() == 0:
        install = ["apt-get", "install", "-y", "-qq", "chromium"]
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        if subprocess.run(install, env=env, capture_output=True).returncode != 0:
            subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True)
            subprocess.run(install, env=env, capture_output=True, check=True)
        binary = shutil.which("chromium")
        if binary:
            return binary
    pytest.skip("no chromium: install Debian's chromium package (apt-get install chromium) "
                "to run the browser test")


def hand_made_room(seed: int = 0) -> Image.Image:
    """A 144x256 room: a wall of a random colour, a red picture on it, a brown floor."""
    rng = np.random.default_rng(seed)
    image = Image.new("RGB", (144, 256), tuple(int(v) for v in rng.integers(80, 200, 3)))
    draw = ImageDraw.Draw(image)
    draw.rectangle([10, 20, 60, 70], fill=(200, 40, 40))
    draw.rectangle([0, 200, 144, 256], fill=(90, 60, 30))
    return image


def hand_made_person(x: int, arm_up: bool) -> Image.Image:
    """The room with a stick person standing at `x`, one arm up or down."""
    image = hand_made_room()
    draw = ImageDraw.Draw(image)
    draw.ellipse([x - 8, 80, x + 8, 96], fill=(230, 180, 140))
    draw.rectangle([x - 12, 96, x + 12, 150], fill=(30, 120, 220))
    draw.line([x - 12, 100, x - 30, 70 if arm_up else 140], fill=(30, 120, 220), width=6)
    draw.line([x - 6, 150, x - 10, 200], fill=(40, 40, 40), width=8)
    draw.line([x + 6, 150, x + 10, 200], fill=(40, 40, 40), width=8)
    return image


def model_card(**changes: object) -> ModelCard:
    """A card as training writes it, of a resnet18 trained two epochs on three classes from
    frames extracted every 2 s (the lake had no record of their pose settings); `changes`
    replace the card's fields, `training` a dict of the record's."""
    history = pd.DataFrame([{"epoch": e, "frozen": False, "train_loss": 1.2 / e,
                             "valid_loss": 1.1 / e, "accuracy": 0.4 * e, "seconds": 0.5 * e}
                            for e in (1, 2)])
    result = TrainResult(history=history, classes=["renegade", "savage", "say_so"], device="cpu",
                         fast_path="off", seconds=1.0, first_batch_loss=1.15,
                         accuracy=0.8, valid_loss=0.55, n_train=24, n_valid=6, lr=3e-3,
                         video_correct=2, n_valid_videos=2)
    every_2_s = ExtractionParams(interval_s=2)
    made_with = MadeWith(every_2_s, None, CleaningThresholds(blur_ratio=0.1), [
        FrameSetting(extraction=fingerprint(every_2_s), pose=None, training_frames=24)])
    card = trained_card(result, {**TINY_TRAIN, "lr": None, "input": "frame",
                                 "pretrained": False}, made_with,
                        arch="resnet18", protocol="by_participant", manifest_sha256="0" * 64,
                        packages=("pandas",), input="frame", image_size=64)
    training = card.training.model_copy(update=dict(changes.pop("training", {})))
    return card.model_copy(update={**changes, "training": training})


def small_video_frames(lake: Lake, dark_second: int = 0,
                       pose_params: str = "pose-v1") -> dict[str, pd.DataFrame]:
    """video_frames' three tables, small: 2 classes × 3 dancers × 4 seconds, a dancer found
    in every frame but the too dark `dark_second` of each video, whose JPEG (the sheet of
    dropped frames draws it) is written under `lake`; nothing else is."""
    frames, poses, extractions = [], [], []
    for dance_class in ("renegade", "savage"):
        for participant in ("p01", "p02", "p03"):
            video_id = f"{dance_class[:3]}{participant}"
            for second in range(4):
                dark = second == dark_second
                frame_id = f"{video_id}_{second:05d}"
                path = f"frames/{dance_class}/{video_id}/{second:05d}.jpg"
                picture = lake.absolute(path)
                picture.parent.mkdir(parents=True, exist_ok=True)
                Image.new("RGB", (36, 64), (10, 10, 10) if dark else (120, 110, 100)).save(
                    picture)
                frames.append({
                    "frame_id": frame_id, "video_id": video_id, "dance_class": dance_class,
                    "participant": participant, "second": second, "path": path,
                    "width": 36, "height": 64, "brightness": 10.0 if dark else 120.0,
                    "contrast": 30.0, "sharpness": 100.0, "noise": 1.0,
                    "subject_score": 0.3, "near_duplicate_of": None, "uniform_share": 0.2})
                poses.append({
                    "frame_id": frame_id, "video_id": video_id, "dance_class": dance_class,
                    "second": second, "person_found": not dark, "people": int(not dark),
                    "x": None if dark else [0.5] * 33, "y": None if dark else [0.5] * 33,
                    "visibility": None if dark else [1.0] * 33, "box_x0": 0.3,
                    "box_y0": 0.2, "box_x1": 0.7, "box_y1": 0.9})
            extractions.append({
                "video_id": video_id, "dance_class": dance_class, "participant": participant,
                "path": f"raw/{dance_class}/{participant}.mp4", "status": "extracted",
                "reason": None, "n_frames": 4, "expected_frames": 4, "params": "every-1s",
                "seconds": 1.0, "extracted_at": pd.Timestamp("2026-01-01", tz="UTC"),
                "pose_params": pose_params, "pose_seconds": 1.0})
    return {"frames": pd.DataFrame(frames), "poses": pd.DataFrame(poses),
            "extractions": pd.DataFrame(extractions)}
