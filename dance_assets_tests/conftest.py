"""Shared fixtures: real ffmpeg, a generated tiny lake, a real Dagster instance."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from dance_assets.core.ingest.video import FfmpegSettings, find_ffmpeg
from dance_assets.core.lake.lake import Lake
from dance_assets.core.synthetic.dances import DANCE_CLASSES
from dance_assets.core.synthetic.plans import plan_videos
from dance_assets.core.synthetic.writing import generate
from dance_assets_tests.corpus import build_awkward_corpus
from dance_assets_tests.helpers import (
    TINY,
    TINY_TRAIN,
    BuiltLake,
    built_once,
    materialize,
    materialize_ingest,
    materialize_manifest,
    register_classes,
    resources_for,
)


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
def shared(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """A folder every test worker of this session sees: what one builds (built_once) the
    others use instead of building it again."""
    base = tmp_path_factory.getbasetemp()
    return base if worker_id == "master" else base.parent


@pytest.fixture(scope="session")
def tiny_raw(shared: Path, ffmpeg_binary: str) -> Path:
    """The tiny profile's videos, generated once per session; copy before changing."""
    def build(folder: Path) -> None:
        specs = plan_videos(list(DANCE_CLASSES[: TINY.classes]), TINY.participants,
                            TINY.seconds, TINY.video_size, seed=0)
        generate(folder / "raw", specs, ffmpeg_binary)

    return built_once(shared, "tiny_source", build) / "raw"


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


@pytest.fixture(scope="session")
def tiny_ingest(shared: Path, tiny_raw: Path) -> BuiltLake:
    """The tiny lake with every class ingested through the real assets, once a session
    (each ingest of it costs 10-25 s, and holds on to MediaPipe's memory), and each
    class's run. Never change the lake: copy it (ingested_tiny_lake does)."""
    def build(folder: Path) -> None:
        lake = Lake.resolve(folder / "lake")
        shutil.copytree(tiny_raw, lake.raw)
        (folder / "dagster_home").mkdir()
        with dg.instance_for_test(temp_dir=str(folder / "dagster_home")) as instance:
            runs = {dance_class: materialize_ingest(instance, lake, dance_class)
                    for dance_class in register_classes(instance, lake)}
        assert all(run.success for run in runs.values())
        _write_run_ids(folder, runs)

    return _built_lake(built_once(shared, "tiny_ingested", build))


@pytest.fixture(scope="session")
def ingested_tiny_original(tiny_ingest: BuiltLake) -> Lake:
    """tiny_ingest's lake. Never change it: copy it (ingested_tiny_lake does)."""
    return tiny_ingest.lake


@pytest.fixture(scope="session")
def curated_tiny_original(shared: Path, ingested_tiny_original: Lake) -> Lake:
    """That lake with its frame manifest built by the real asset, once a session. Never
    change it: copy it (curated_tiny_lake does)."""
    def build(folder: Path) -> None:
        lake = Lake.resolve(folder / "lake")
        shutil.copytree(ingested_tiny_original.root, lake.root, symlinks=True)
        with dg.instance_for_test() as instance:
            assert materialize_manifest(instance, lake).success

    return Lake.resolve(built_once(shared, "tiny_curated", build) / "lake")


@pytest.fixture(scope="session")
def trained_tiny_original(shared: Path, curated_tiny_original: Lake) -> BuiltLake:
    """That lake with the three CNNs (head dropout 0.3, not fastai's 0.5) and the pose
    model trained and evaluated under both protocols by the real assets, once a session
    (the eight trainings cost 30-40 s), recorded in an instance of its own whose folder
    stays: every class ingested again there first (nothing to extract), so it holds
    video_frames' metadata too. Never change either: copy them (BuiltLake.copy)."""
    def build(folder: Path) -> None:
        from dance_assets.assets.evaluation import evaluation_assets
        from dance_assets.assets.models import model_assets, pose_sequence_model
        from dance_assets.core.lake.catalogue import PROTOCOLS
        from dance_assets.resources import TorchComputeResource

        lake = Lake.resolve(folder / "lake")
        shutil.copytree(curated_tiny_original.root, lake.root, symlinks=True)
        home = folder / "dagster_home"
        home.mkdir()
        ops = {asset.op.name: {"config": {**TINY_TRAIN, "head_dropout": 0.3}}
               for asset in model_assets}
        ops[pose_sequence_model.op.name] = {"config": {"epochs": 10, "significance": 1.0}}
        runs = {}
        with dg.instance_for_test(temp_dir=str(home)) as instance:
            for dance_class in register_classes(instance, lake):
                assert materialize_ingest(instance, lake, dance_class).success
            for protocol in PROTOCOLS:
                runs[protocol] = materialize(
                    [*model_assets, pose_sequence_model, *evaluation_assets],
                    partition_key=protocol, instance=instance,
                    resources={**resources_for(lake), "torch_compute": TorchComputeResource()},
                    run_config={"ops": ops})
                assert runs[protocol].success
        _write_run_ids(folder, runs)

    return _built_lake(built_once(shared, "tiny_trained", build))


def _write_run_ids(folder: Path, runs: dict[str, dg.ExecuteInProcessResult]) -> None:
    (folder / "runs.json").write_text(json.dumps({name: run.run_id
                                                  for name, run in runs.items()}))


def _built_lake(folder: Path) -> BuiltLake:
    return BuiltLake(lake=Lake.resolve(folder / "lake"), dagster_home=folder / "dagster_home",
                     run_ids=json.loads((folder / "runs.json").read_text()))


def _copy_of(original: Lake, tmp_path: Path, instance: dg.DagsterInstance) -> Lake:
    """A lake of the test's own, copied with its files' times (so a re-ingest sees them
    unchanged), its classes registered in the test's instance. The copy's warehouse
    notices it moved and rebuilds its views on first use."""
    lake = Lake.resolve(tmp_path / "lake")
    shutil.copytree(original.root, lake.root, symlinks=True)
    register_classes(instance, lake)
    return lake


@pytest.fixture
def ingested_tiny_lake(instance: dg.DagsterInstance, tmp_path: Path,
                       ingested_tiny_original: Lake) -> Lake:
    """The tiny lake with every class ingested through the real assets (its runs are in
    the session's first instance, not the test's)."""
    return _copy_of(ingested_tiny_original, tmp_path, instance)


@pytest.fixture
def curated_tiny_lake(instance: dg.DagsterInstance, tmp_path: Path,
                      curated_tiny_original: Lake) -> Lake:
    """The ingested tiny lake with its frame manifest (built in another instance)."""
    return _copy_of(curated_tiny_original, tmp_path, instance)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules with slow tests first. The suite's workers (pyproject's `-n`) take whole
    modules in this order: the long ones start early and the quick ones fill the end,
    instead of one worker running the Postgres tests while the other waits."""
    slow = {item.module.__name__ for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.module.__name__ not in slow)
