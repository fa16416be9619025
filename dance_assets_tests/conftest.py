"""Shared fixtures: real ffmpeg, a generated tiny lake, a real Dagster instance."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from dance_assets.core.ingest.video import FfmpegSettings, find_ffmpeg
from dance_assets.core.lake.lake import Lake
from dance_assets.core.lake.profiles import PROFILES
from dance_assets.core.synthetic.dances import DANCE_CLASSES
from dance_assets.core.synthetic.plans import plan_videos
from dance_assets.core.synthetic.writing import generate
from dance_assets.partitions import dance_class_partitions
from dance_assets.resources import FfmpegResource, LakeResource
from dance_assets_tests.corpus import build_awkward_corpus

TINY = PROFILES["tiny"]


@pytest.fixture(autouse=True)
def private_torch_home(tmp_path_factory: pytest.TempPathFactory,
                       monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own empty torch hub cache: none reads or fills the machine's."""
    home = tmp_path_factory.mktemp("torch_home")
    monkeypatch.setenv("TORCH_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def ffmpeg_binary() -> str:
    return find_ffmpeg()


@pytest.fixture(scope="session")
def ffmpeg_settings(ffmpeg_binary: str) -> FfmpegSettings:
    return FfmpegSettings(ffmpeg_binary, threads=1, timeout_s=60)


@pytest.fixture(scope="session")
def tiny_raw(tmp_path_factory: pytest.TempPathFactory, ffmpeg_binary: str) -> Path:
    """The tiny profile's videos, generated once per session; copy before changing."""
    raw = tmp_path_factory.mktemp("tiny_source") / "raw"
    specs = plan_videos(list(DANCE_CLASSES[: TINY.classes]), TINY.participants, TINY.seconds,
                        TINY.video_size, seed=0)
    generate(raw, specs, ffmpeg_binary)
    return raw


@pytest.fixture
def tiny_lake(tmp_path: Path, tiny_raw: Path) -> Lake:
    """A fresh lake holding a copy of the tiny videos."""
    lake = Lake.resolve(tmp_path / "lake")
    shutil.copytree(tiny_raw, lake.raw)
    return lake


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory, ffmpeg_binary: str):
    """The awkward-input corpus (see corpus.py): a lake folder and what each file must become."""
    root = tmp_path_factory.mktemp("corpus")
    expectations = build_awkward_corpus(ffmpeg_binary, root / "lake" / "raw", root / "outside")
    return root / "lake", expectations


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as test_instance:
        yield test_instance


def resources_for(lake: Lake) -> dict[str, object]:
    return {"lake": LakeResource(root=str(lake.root)), "ffmpeg": FfmpegResource(workers=2)}


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

    return dg.materialize([frame_manifest], instance=instance, resources=resources_for(lake),
                          run_config={"ops": {"frame_manifest": {"config": config}}},
                          raise_on_error=False)


@pytest.fixture
def ingested_tiny_lake(instance: dg.DagsterInstance, tiny_lake: Lake) -> Lake:
    """The tiny lake with every class ingested through the real assets."""
    for dance_class in register_classes(instance, tiny_lake):
        assert materialize_ingest(instance, tiny_lake, dance_class).success
    return tiny_lake


# One epoch on a few dozen frames learns next to nothing, and whether a model lands above
# or below chance depends on the CPU's arithmetic; significance 1 lets every model through
# to evaluation. The check itself is tested with a strict significance.
TINY_TRAIN = {"epochs": 1, "image_size": 64, "batch_size": 8, "augment": False,
              "significance": 1.0}


def materialize_models(instance: dg.DagsterInstance, lake: Lake, protocol: str,
                       compute: dict[str, object] | None = None,
                       **overrides: object) -> dg.ExecuteInProcessResult:
    from dance_assets.assets.models import model_assets
    from dance_assets.resources import TorchComputeResource

    config = {**TINY_TRAIN, **overrides}
    ops = {asset.op.name: {"config": config} for asset in model_assets}
    return dg.materialize(model_assets, partition_key=protocol, instance=instance,
                          resources={**resources_for(lake),
                                     "torch_compute": TorchComputeResource(**(compute or {}))},
                          run_config={"ops": ops}, raise_on_error=False)


@pytest.fixture
def curated_tiny_lake(instance: dg.DagsterInstance, ingested_tiny_lake: Lake) -> Lake:
    assert materialize_manifest(instance, ingested_tiny_lake).success
    return ingested_tiny_lake


def in_fresh_python(code: str) -> list[str]:
    """What `code` prints, split into words, run in a new interpreter (clean sys.modules)."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.split()


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
