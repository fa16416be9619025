"""The catalogue (core/lake/catalogue.py) names the models and protocols once; what
derives from it agrees with it, and what it says of each CNN is what torchvision builds."""

from __future__ import annotations

import argparse
import dataclasses

import pytest

from dance_assets.assets.curation import CurationConfig
from dance_assets.assets.models import TrainConfig
from dance_assets.cli import build_parser
from dance_assets.core.curation.splits import SPLITTERS
from dance_assets.core.ingest.video import FfmpegSettings
from dance_assets.core.lake.catalogue import (
    ARCHITECTURES,
    CNNS,
    DEFAULT_PROTOCOL,
    FFMPEG_TIMEOUT_S,
    MODEL_NAMES,
    PROTOCOLS,
    VALID_SHARE,
)
from dance_assets.core.lake.profiles import PROFILES, Profile
from dance_assets.core.learning.training import TrainSettings
from dance_assets.partitions import split_protocol_partitions
from dance_assets.resources import FfmpegResource


def _score_parser() -> argparse.ArgumentParser:
    commands = next(action for action in build_parser()._actions
                    if isinstance(action, argparse._SubParsersAction))
    return commands.choices["score"]


def test_the_cli_offers_the_catalogues_models_and_protocols():
    parser = _score_parser()
    protocol = next(a for a in parser._actions if a.dest == "protocol")
    assert sorted(protocol.choices) == sorted(PROTOCOLS)
    help_text = " ".join(parser.format_help().split())
    assert all(name in help_text for name in MODEL_NAMES)
    assert f"(default: {DEFAULT_PROTOCOL})" in help_text


def test_every_protocol_is_a_split_and_a_partition():
    assert tuple(SPLITTERS) == PROTOCOLS
    assert tuple(split_protocol_partitions.get_partition_keys()) == PROTOCOLS


def test_the_shared_defaults_are_the_catalogues():
    assert CurationConfig().valid_share == VALID_SHARE
    assert FfmpegResource().timeout_s == FfmpegSettings("ffmpeg").timeout_s == FFMPEG_TIMEOUT_S


# Profile re-declares these TrainSettings fields so that a profile can set them; where a
# profile does not, its default is what the demo trains with, so it must be training's.
REDECLARED = ("input", "pretrained", "head_dropout")


def test_a_profiles_training_defaults_are_trainings_own():
    profile_defaults = {f.name: f.default for f in dataclasses.fields(Profile)}
    for name in REDECLARED:
        assert profile_defaults[name] == getattr(TrainSettings(), name), name
        assert profile_defaults[name] == TrainConfig.model_fields[name].default, name


@pytest.mark.parametrize("profile", PROFILES.values(), ids=PROFILES)
def test_a_profile_trains_the_catalogues_cnns_with_training_settings(profile):
    assert {arch for arch, _ in profile.image_size_for} <= set(ARCHITECTURES)
    settings = {f.name for f in dataclasses.fields(TrainSettings)}
    for arch in ARCHITECTURES:
        config = profile.train_config(arch)
        assert set(REDECLARED) <= set(config) <= settings
        assert TrainConfig(**config).settings() == TrainSettings(**config)


def test_the_catalogue_knows_which_cnns_have_batch_norm():
    import torch
    import torchvision

    for cnn in CNNS:
        model = torchvision.models.get_model(cnn.name, weights=None)
        has = any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
        assert has == cnn.own_batch_norm, cnn.name
