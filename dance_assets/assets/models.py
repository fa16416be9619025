"""Training: the study's three CNNs and the pose model, under two split protocols.

models/alexnet, models/resnet18 and models/squeezenet1_0 (one factory) train a fastai
vision_learner on the kept frames of frame_manifest, split by the partition's protocol;
their steps share the "gpu" pool, so on one machine they queue for the accelerator,
and carry a Kubernetes request for one GPU. models/pose_sequence trains a small network
on the same frames' skeletons, on the CPU in seconds. Each writes
models/<protocol>/<name>/ (model.onnx, weights, model card, plots).
"""

import sys
from pathlib import Path
from typing import Literal

import dagster as dg
import numpy as np
import pandas as pd
from PIL import Image
from pydantic import Field

from dance_assets import checks
from dance_assets.assets.curation import frame_manifest
from dance_assets.assets.failures import user_errors_fail_the_step
from dance_assets.assets.launchpad import LaunchpadConfig
from dance_assets.assets.placement import GPU_POOL, gpu_op_tags, in_own_process
from dance_assets.automation import retrain_nightly_when_upstream_changed
from dance_assets.core.curation.manifest import manifest_fingerprint, recorded_thresholds
from dance_assets.core.curation.splits import TRAIN, split_column
from dance_assets.core.ingest.pose_features import skeletons_of
from dance_assets.core.ingest.skeletons import skeleton_sheet
from dance_assets.core.lake import tables
from dance_assets.core.lake.catalogue import ARCHITECTURES, POSE_INPUT, POSE_MODEL
from dance_assets.core.lake.lake import Lake
from dance_assets.core.lake.reports import (
    accuracy_curves_png,
    contact_sheet,
    markdown_image,
    png_bytes,
    save_png,
)
from dance_assets.core.learning.card import ModelCard, trained_card
from dance_assets.core.learning.cnn_export import export
from dance_assets.core.learning.compute import resolve_device
from dance_assets.core.learning.frame_cache import CachedFrames, kept_frames_cache
from dance_assets.core.learning.frame_images import INPUT_MODES
from dance_assets.core.learning.learners import FrameSet, TrainResult, check_image_size
from dance_assets.core.learning.pose_model import (
    PoseModelSettings,
    export_pose_model,
    pose_sets,
    train_pose_model,
)
from dance_assets.core.learning.registry import frames_made_with
from dance_assets.core.learning.training import (
    DEFAULT_LR,
    LR_WITH_ADDED_BATCH_NORM,
    TrainSettings,
    frame_sets,
    train,
)
from dance_assets.core.learning.turns import Turn, turn_on
from dance_assets.lake_tables import LAKE_TABLES, stores_tables, table_input
from dance_assets.partitions import split_protocol_partitions
from dance_assets.resources import LakeResource, TorchComputeResource

_TRAIN = TrainSettings()


class TrainConfig(LaunchpadConfig):
    """Hyperparameters, editable in the Launchpad; defaults are TrainSettings'
    (core/learning/training.py). See docs/training.md for how `epochs` maps onto
    fastai's fine_tune and fit_one_cycle."""

    epochs: int = Field(default=_TRAIN.epochs, ge=1,
                        description="Epochs with every layer training (the study: 10).")
    lr: float | None = Field(
        default=_TRAIN.lr, description="Peak learning rate; empty uses the architecture's "
        "default (" + ", ".join(f"{arch} {lr:g}" for arch, lr in DEFAULT_LR.items())
        + f"; {LR_WITH_ADDED_BATCH_NORM:g} for a body given batch norm).")
    find_lr: bool = Field(default=_TRAIN.find_lr,
                          description="Pick the learning rate with lr_find.")
    batch_size: int = Field(default=_TRAIN.batch_size, ge=2, description="Frames per "
                            "training step; at most the training frames are used.")
    image_size: int = Field(default=_TRAIN.image_size, ge=32,
                            description="Frames are squished to this square size.")
    augment: bool = Field(default=_TRAIN.augment, description="Augment training batches "
                          "(core/learning/augment.py: fastai's aug_transforms ranges, rotation at "
                          "most 3 degrees).")
    seed: int = Field(default=_TRAIN.seed,
                      description="Seeds weights, shuffling and augmentation.")
    pretrained: bool = Field(
        default=_TRAIN.pretrained, description="Start from ImageNet weights (the torch "
        "resource's weights_dir, else torch's hub cache, else a hash-checked download when "
        "allowed) and fine_tune.")
    freeze_epochs: int = Field(default=_TRAIN.freeze_epochs, ge=0, description="With "
                               "pretrained weights: head-only epochs before all layers train.")
    significance: float = Field(default=0.01, gt=0, le=1, description="The accuracy check "
                                "passes when accuracy beats guessing at this p-value (p <= "
                                "significance): higher lets weaker models through, 1 every "
                                "model (smoke tests on a few frames).")
    input: Literal[INPUT_MODES] = Field(  # type: ignore[valid-type]
        default=_TRAIN.input, description="frame: the whole frame (the study's input); "
        "dancer: a square around the dancer's box from the pose step; silhouette: that "
        "square with the room painted grey beyond her limbs (both fall back to the whole "
        "frame where no pose was found). Evaluation and score prepare frames the same way, "
        "from the card.")
    batch_norm: bool = Field(
        default=_TRAIN.batch_norm, description="From scratch, a BatchNorm after every "
        "convolution of AlexNet's and SqueezeNet1_0's bodies, which have none (ResNet18 "
        "has its own): without it neither learns much from a few hundred frames. Not with "
        "pretrained weights, which ImageNet trained without it.")
    head_dropout: float = Field(
        default=_TRAIN.head_dropout, ge=0, lt=1, description="Dropout in fastai's head "
        "(its `ps`: half of it before the hidden layer, all of it before the output). 0.5 "
        "is fastai's default for fine-tuning; from scratch on a few hundred frames the "
        "demo profile uses 0.25.")

    def settings(self) -> TrainSettings:
        """Every TrainSettings field by name (the check's `significance` is not one of
        them), so a field added to both cannot land in the wrong place."""
        return TrainSettings(**{name: getattr(self, name)
                                for name in TrainSettings.__dataclass_fields__})


def _trained_on_the_manifest(key: dg.AssetKey) -> dict[str, object]:
    """What every model asset declares: the manifest as its input, partitions, group,
    schedule, its blocking check, and its output: its training_history rows."""
    return {
        "key": key,
        "ins": {"frame_manifest": table_input(frame_manifest)},
        "io_manager_key": LAKE_TABLES,
        "dagster_type": pd.DataFrame,
        "partitions_def": split_protocol_partitions,
        "group_name": "training",
        "kinds": {"pytorch", "fastai"},
        "metadata": stores_tables("training_history", arch=key.path[-1]),
        "automation_condition": retrain_nightly_when_upstream_changed(),
        "check_specs": [checks.accuracy_check_spec(key)],
    }


def _classes(manifest: pd.DataFrame) -> list[str]:
    if manifest.empty:
        raise dg.Failure("frame_manifest is empty: materialize it first")
    return sorted(manifest.loc[manifest["keep"], "dance_class"].unique())


def _train_in_turn(context: dg.AssetExecutionContext, arch: str,
                   sets: tuple[FrameSet, FrameSet], classes: list[str],
                   settings: TrainSettings, torch_compute: TorchComputeResource,
                   ) -> tuple[TrainResult, Turn]:
    """Train once the device is this step's (core/learning/turns.py: the gpu pool alone
    can let two trainings in at once)."""
    with user_errors_fail_the_step():
        device = resolve_device(torch_compute.device)
    with turn_on(device, context.log.info) as turn, user_errors_fail_the_step():
        result = train(arch, *sets, classes, settings, torch_compute.settings(),
                       report=context.log.info, show_progress=sys.stderr.isatty(),
                       own_process=in_own_process(context))
    return result, turn


def build_model_asset(arch: str) -> dg.AssetsDefinition:
    """The training asset for one architecture; all three come from here."""
    key = dg.AssetKey(["models", arch])

    @dg.asset(
        **_trained_on_the_manifest(key),
        pool=GPU_POOL,
        op_tags=gpu_op_tags(),
        description=f"fastai vision_learner on torchvision's {arch}, trained on the kept "
        "frames of frame_manifest under the partition's split protocol.",
    )
    def model(context: dg.AssetExecutionContext, config: TrainConfig, lake: LakeResource,
              torch_compute: TorchComputeResource, frame_manifest: pd.DataFrame,
              ) -> dg.MaterializeResult:
        the_lake = lake.lake()
        protocol = context.partition_key
        column = split_column(protocol)
        manifest, classes = frame_manifest, _classes(frame_manifest)
        settings = config.settings()
        with user_errors_fail_the_step():
            check_image_size(arch, settings.image_size)
        cache = kept_frames_cache(the_lake, manifest, settings.image_size, settings.input,
                                  context.log.info)
        train_set, valid_set = frame_sets(cache, manifest, column, classes)
        context.log.info(f"{arch} / {protocol}: {len(train_set.labels)} training and "
                         f"{len(valid_set.labels)} validation frames, {len(classes)} classes")
        result, turn = _train_in_turn(context, arch, (train_set, valid_set), classes,
                                      settings, torch_compute)
        out_dir = the_lake.model_dir(protocol, arch)
        card = trained_card(result, config.model_dump(),
                            **_trained_on(context, the_lake, manifest, column),
                            arch=arch, protocol=protocol, input=settings.input,
                            image_size=settings.image_size,
                            packages=("fastai", "torch", "torchvision"))
        paths = export(result, out_dir, settings.image_size,
                       the_lake.root / manifest.loc[manifest["keep"], "path"].iloc[0], card)
        return _published(key, arch, protocol, result, card, paths, out_dir,
                          config.significance, {
                              "fast_path": result.fast_path,
                              "waited_for_device_s": round(turn.waited_s, 1),
                              "learner": dg.MetadataValue.path(str(paths["learner"])),
                              "input": settings.input,
                              "frame_cache": dg.MetadataValue.path(str(cache.path)),
                              "what_the_model_sees": dg.MetadataValue.md(
                                  _input_sheet(the_lake, cache, settings.input)),
                          })

    return model


def _input_sheet(the_lake: Lake, cache: CachedFrames, mode: str) -> str:
    """Sixteen of the prepared inputs, as the network receives them."""
    picks = np.linspace(0, len(cache.frame_ids) - 1, num=min(16, len(cache.frame_ids)))
    images = [Image.fromarray(np.asarray(cache.images[int(i)])).resize((96, 96))
              for i in picks]
    png = png_bytes(contact_sheet(images, columns=8, thumb_height=96))
    save_png(the_lake.reports / "inputs" / f"{mode}-{cache.images.shape[1]}.png", png)
    return markdown_image(png, f"inputs ({mode})")


def _trained_on(context: dg.AssetExecutionContext, the_lake: Lake, manifest: pd.DataFrame,
                column: str) -> dict:
    """For the card: the hash of what the model trained on (`manifest_sha256`), and how
    its training frames were extracted, posed and cleaned (`made_with`), so that score
    reads a dancer's video the same way (core/learning/registry.py frames_made_with)."""
    training = manifest.loc[manifest["keep"] & (manifest[column] == TRAIN), "video_id"]
    cleaning = recorded_thresholds(the_lake, manifest)
    if cleaning is None:
        context.log.warning("frame_manifest has no record of the cleaning thresholds that "
                            "built it (curated by an older version): the card holds the "
                            "defaults (training.defaulted), which score cleans with; "
                            "materialize frame_manifest again to record them")
    made_with = frames_made_with(training, tables.read_table(the_lake, "extractions"),
                                 cleaning)
    if len(made_with.frame_settings) > 1:
        context.log.warning(f"the training frames were extracted or posed "
                            f"{len(made_with.frame_settings)} different ways: the card "
                            "lists them, and score uses the way of most frames")
    return {"manifest_sha256": manifest_fingerprint(manifest, column), "made_with": made_with}


def _published(key: dg.AssetKey, name: str, protocol: str, result: TrainResult,
               card: ModelCard, paths: dict[str, Path], out_dir: Path, significance: float,
               extra: dict) -> dg.MaterializeResult:
    """The training history rows, the accuracy plot, the metadata and the blocking check
    of a trained model, CNN or pose."""
    plot = accuracy_curves_png({f"{name}, {protocol}": {name: result.history}},
                               chance=1 / len(result.classes))
    save_png(out_dir / "accuracy_by_epoch.png", plot)
    return dg.MaterializeResult(
        value=result.history.assign(arch=name, protocol=protocol),
        metadata={
            "accuracy": round(result.accuracy, 4),
            "video_accuracy": round(result.video_accuracy, 4),
            "valid_loss": round(result.valid_loss, 4),
            "epochs": len(result.history),
            "seconds": round(result.seconds, 1),
            "device": result.device,
            "lr": result.lr,
            "train_frames": result.n_train,
            "valid_frames": result.n_valid,
            "first_batch_loss": result.first_batch_loss,
            "manifest_sha256": card.training.manifest_sha256,
            "model_folder": dg.MetadataValue.path(str(out_dir)),
            "model_card": dg.MetadataValue.path(str(paths["card"])),
            "model_onnx": dg.MetadataValue.path(str(paths["program"])),
            "accuracy_by_epoch": dg.MetadataValue.md(markdown_image(plot, "accuracy by epoch")),
            **extra,
        },
        check_results=[checks.accuracy_above_chance(key, result, significance)],
    )


model_assets = [build_model_asset(arch) for arch in ARCHITECTURES]


_POSE = PoseModelSettings()


class PoseModelConfig(LaunchpadConfig):
    """Hyperparameters of the pose model, editable in the Launchpad; defaults are
    PoseModelSettings' (core/learning/pose_model.py)."""

    epochs: int = Field(default=_POSE.epochs, ge=1,
                        description="Passes over the training seconds.")
    lr: float = Field(default=_POSE.lr, gt=0,
                      description="Peak learning rate of the one cycle.")
    batch_size: int = Field(default=_POSE.batch_size, ge=2,
                            description="Shrunk to the training set when it has fewer seconds.")
    window: int = Field(default=_POSE.window, ge=1, description="Seconds of skeletons per "
                        "input, centred on the second classified.")
    step_dropout: float = Field(default=_POSE.step_dropout, ge=0, lt=1, description="Training "
                                "blanks each neighbouring second with this probability.")
    augment: bool = Field(default=_POSE.augment,
                          description="Mirror, size and joint jitter, blanked neighbours.")
    seed: int = Field(default=_POSE.seed,
                      description="Seeds weights, shuffling and augmentation.")
    significance: float = Field(default=0.01, gt=0, le=1, description="As for the CNNs: the "
                                "video-level accuracy check's p-value.")

    def settings(self) -> PoseModelSettings:
        return PoseModelSettings(epochs=self.epochs, lr=self.lr, batch_size=self.batch_size,
                                 window=self.window, step_dropout=self.step_dropout,
                                 augment=self.augment, seed=self.seed)


POSE_MODEL_KEY = dg.AssetKey(["models", POSE_MODEL])


@dg.asset(
    **_trained_on_the_manifest(POSE_MODEL_KEY),
    description="A small network on windows of normalised skeletons (hip-centred, in torso "
    "lengths, mirror-averaged): the model that sees neither rooms nor outfits. Trains in "
    "seconds on a CPU.",
)
def pose_sequence_model(context: dg.AssetExecutionContext, config: PoseModelConfig,
                        lake: LakeResource, frame_manifest: pd.DataFrame,
                        ) -> dg.MaterializeResult:
    the_lake = lake.lake()
    protocol = context.partition_key
    column = split_column(protocol)
    manifest, classes = frame_manifest, _classes(frame_manifest)
    settings = config.settings()
    # The skeletons come from the lake: frame_manifest, not video_frames, is upstream here.
    poses = tables.read_table(the_lake, "poses")
    skeletons = skeletons_of(poses, tables.read_table(the_lake, "frames"))
    train_set, valid_set = pose_sets(skeletons, manifest, column, classes, settings.window)
    context.log.info(f"{POSE_MODEL} / {protocol}: {len(train_set)} training and "
                     f"{len(valid_set)} validation seconds, {len(classes)} classes, "
                     f"{settings.window}-second windows")
    with user_errors_fail_the_step():
        result = train_pose_model(train_set, valid_set, classes, settings,
                                  report=context.log.info, show_progress=sys.stderr.isatty())
    out_dir = the_lake.model_dir(protocol, POSE_MODEL)
    card = trained_card(result, config.model_dump(),
                        **_trained_on(context, the_lake, manifest, column),
                        arch=POSE_MODEL, protocol=protocol, input=POSE_INPUT,
                        window=settings.window, packages=("fastai", "torch"))
    paths = export_pose_model(result, settings.window, out_dir, card)
    kept = manifest[manifest["keep"]]
    shown = kept.iloc[np.linspace(0, len(kept) - 1, num=min(16, len(kept))).astype(int)]
    sheet = png_bytes(skeleton_sheet(the_lake, shown, poses, list(shown["dance_class"]),
                                     thumb_height=128))
    save_png(the_lake.reports / "inputs" / "pose.png", sheet)
    return _published(POSE_MODEL_KEY, POSE_MODEL, protocol, result, card,
                          paths, out_dir, config.significance, {
                              "window_seconds": settings.window,
                              "what_the_model_sees": dg.MetadataValue.md(
                                  markdown_image(sheet, "skeletons the model reads")),
                          })
