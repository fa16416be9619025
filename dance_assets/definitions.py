"""The one Definitions object of the dance_assets code location."""

import multiprocessing
import multiprocessing.forkserver
import os
import threading
import warnings

import dagster as dg

from dance_assets.assets.choreography import ChoreographyConfig, choreography
from dance_assets.assets.curation import CurationConfig, frame_manifest
from dance_assets.assets.evaluation import (
    ReviewQueueConfig,
    evaluation_assets,
    model_comparison,
    review_queue,
)
from dance_assets.assets.ingest import FrameExtractionConfig, raw_videos, video_frames
from dance_assets.assets.models import (
    PoseModelConfig,
    TrainConfig,
    model_assets,
    pose_sequence_model,
)
from dance_assets.assets.music import music
from dance_assets.automation import automation_sensor
from dance_assets.core.lake.errors import DanceAssetsError
from dance_assets.lake_tables import LAKE_TABLES, lake_tables_io_manager
from dance_assets.loggers import one_line_console
from dance_assets.resources import FfmpegResource, LakeResource, TorchComputeResource
from dance_assets.sensors import new_videos_sensor

ingest_job = dg.define_asset_job(
    "ingest",
    selection=[raw_videos, video_frames],
    description="Probe a dance class's videos and extract their frames.",
)
beats_job = dg.define_asset_job(
    "beats",
    selection=[music],
    description="Find the beats of a dance class's videos with sound, and the dancers' hits "
    "against them (their skeletons ten times a second).",
)
curation_job = dg.define_asset_job(
    "curation",
    selection=[frame_manifest, choreography],
    description="Rebuild the frame manifest (cleaning verdicts, human decisions, splits) "
    "and the choreography references built from it.",
)
training_job = dg.define_asset_job(
    "training",
    selection=dg.AssetSelection.assets(*model_assets, pose_sequence_model, *evaluation_assets),
    description="Train the three CNNs and the pose model under one split protocol and "
    "evaluate those whose blocking accuracy check passes.",
)
reports_job = dg.define_asset_job(
    "reports",
    selection=[model_comparison, review_queue],
    description="The comparison report and the review queue over every evaluation.",
)

# The settings class of each asset that takes settings, with the asset's key, by the name
# its settings go under in a run's config (`ops: {name: {config: ...}}`): what the run
# coordinator (dance_assets/run_coordinator.py) checks a run's settings against before it
# queues the run. Declared here, beside the assets; test_run_coordinator.py checks that
# it names every asset that takes settings, with the fields the Launchpad shows for it.
# (video_frames is a graph: its one Config is what the Launchpad shows and its ops take.)
SETTINGS_CLASSES: dict[str, tuple[dg.AssetKey, type[dg.Config]]] = {
    asset.node_def.name: (asset.key, settings) for asset, settings in [
        *((model, TrainConfig) for model in model_assets),
        (pose_sequence_model, PoseModelConfig),
        (video_frames, FrameExtractionConfig),
        (frame_manifest, CurationConfig),
        (choreography, ChoreographyConfig),
        (review_queue, ReviewQueueConfig),
    ]}

# Who to ask about an asset, shown and filterable in the UI; a deployment sets its team.
OWNERS = ["team:dance-ml"]


def _for_the_ui(assets: list[dg.AssetsDefinition]) -> list[dg.AssetsDefinition]:
    """Owners on every asset, and a link from each to the file and line that defines it
    (a beta API of Dagster's, whose warnings would otherwise greet every command)."""
    owned = dg.map_asset_specs(lambda spec: spec.replace_attributes(owners=OWNERS), assets)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        return list(dg.with_source_code_references(owned))


EXECUTOR_VAR = "DANCE_ASSETS_EXECUTOR"

# Where the multiprocess executor starts a run's steps, unless the run's config picks
# (`execution: {config: {start_method: {spawn: {}}}}`): a fork of one server process that
# imported the code location once for the run, instead of a new interpreter per step that
# imports Dagster and the code location again (about 1.9 s of CPU a step on 2 cores).
PRELOADED = ["dance_assets.definitions"]


class _ForkserverPerRun(dg.Executor):
    """Dagster's multiprocess executor, then Python's forkserver stopped once no run in this
    process is using it: a later run in the same process (a script, a test) forks from a
    server started with its environment and code, as spawn would give it, not the first
    run's. A run worker runs one run, so there it only stops the server a little earlier."""

    _lock = threading.Lock()
    _running = 0

    def __init__(self, inner: dg.Executor):
        self._inner = inner

    @property
    def retries(self):  # type: ignore[no-untyped-def]  (a RetryMode)
        return self._inner.retries

    @property
    def step_dependency_config(self):  # type: ignore[no-untyped-def]
        return self._inner.step_dependency_config

    def execute(self, plan_context, execution_plan):  # type: ignore[no-untyped-def]
        with self._lock:
            _ForkserverPerRun._running += 1
        try:
            yield from self._inner.execute(plan_context, execution_plan)
        finally:
            with self._lock:
                _ForkserverPerRun._running -= 1
                if not _ForkserverPerRun._running:
                    # No public call stops it; this is the one CPython's own tests use.
                    multiprocessing.forkserver._forkserver._stop()


@dg.executor(name="multiprocess", config_schema=dg.multiprocess_executor.config_schema,
             requirements=dg.multiple_process_executor_requirements())
def local_executor(init_context: dg.InitExecutorContext) -> dg.Executor:
    """Dagster's multiprocess executor, with forkserver and the code location preloaded as
    its default start method where the platform has one (not Windows)."""
    config = dict(init_context.executor_config)
    if not config.get("start_method"):
        if "forkserver" not in multiprocessing.get_all_start_methods():
            return dg.multiprocess_executor.executor_creation_fn(init_context)
        config["start_method"] = {"forkserver": {"preload_modules": PRELOADED}}
    inner = dg.multiprocess_executor.executor_creation_fn(
        init_context._replace(executor_config=config))
    return _ForkserverPerRun(inner) if "forkserver" in config["start_method"] else inner


def executor() -> dg.ExecutorDefinition:
    """multiprocess on one machine (the default); k8s_job_executor, a pod per step, when the
    deployment sets DANCE_ASSETS_EXECUTOR=k8s (deploy/helm/values.yaml)."""
    choice = os.environ.get(EXECUTOR_VAR, "multiprocess")
    if choice == "multiprocess":
        return local_executor
    if choice == "k8s":
        try:
            from dagster_k8s import k8s_job_executor
        except ImportError:
            raise DanceAssetsError(f"{EXECUTOR_VAR}=k8s needs dagster-k8s: pip install "
                                   "-e '.[deploy]'") from None
        return k8s_job_executor
    raise DanceAssetsError(f"{EXECUTOR_VAR} must be multiprocess or k8s, got {choice!r}")


VIDEOS_PER_STEP_VAR = "DANCE_VIDEOS_PER_STEP"


def videos_per_step() -> int:
    """How many videos one video_frames step takes: $DANCE_VIDEOS_PER_STEP, which a
    cluster sets (deploy/helm/values.yaml) to spread a class over pods; else 0, a class
    in one step, as one machine wants. A run can still set the ffmpeg resource's own."""
    value = os.environ.get(VIDEOS_PER_STEP_VAR, "0")
    if not value.isdigit():
        raise DanceAssetsError(f"{VIDEOS_PER_STEP_VAR} must be a whole number of videos "
                               f"(0: a class in one step), got {value!r}")
    return int(value)


defs = dg.Definitions(
    assets=_for_the_ui([
        raw_videos, video_frames, music, frame_manifest, choreography, *model_assets,
        pose_sequence_model, *evaluation_assets, model_comparison, review_queue]),
    jobs=[ingest_job, beats_job, curation_job, training_job, reports_job],
    sensors=[new_videos_sensor, automation_sensor],
    resources={"lake": LakeResource(), LAKE_TABLES: lake_tables_io_manager,
               "ffmpeg": FfmpegResource(videos_per_step=videos_per_step()),
               "torch_compute": TorchComputeResource()},
    loggers={"console": one_line_console},
    executor=executor(),
)
