"""Shared fixtures: real ffmpeg, a generated tiny lake, a real Dagster instance."""

from __future__ import annotations

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
    materialize_ingest,
    materialize_manifest,
    register_classes,
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


@pytest.fixture
def ingested_tiny_lake(instance: dg.DagsterInstance, tiny_lake: Lake) -> Lake:
    """The tiny lake with every class ingested through the real assets."""
    for dance_class in register_classes(instance, tiny_lake):
        assert materialize_ingest(instance, tiny_lake, dance_class).success
    return tiny_lake


@pytest.fixture
def curated_tiny_lake(instance: dg.DagsterInstance, ingested_tiny_lake: Lake) -> Lake:
    assert materialize_manifest(instance, ingested_tiny_lake).success
    return ingested_tiny_lake
