"""Running the pipeline from the command line against the project's Dagster instance.

`demo` and the other commands run the same jobs the UI launches, in this process,
recorded in a persistent DAGSTER_HOME, so every run they make shows in `ui` later.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from dance_assets.core.ingest.ingest import class_folders
from dance_assets.core.lake.errors import DanceAssetsError
from dance_assets.core.lake.lake import Lake, atomic_write_text
from dance_assets.partitions import ClassSync, class_sync

Echo = Callable[[str], None]
_WRITTEN_BY_US = "# Written by dance-assets."
_INSTANCE_CONFIG = f"""\
{_WRITTEN_BY_US} Runs made by `demo`, the sensor and `ui` all land here.
telemetry:
  enabled: false
run_coordinator:
  # Dagster's run queue, refusing before a run starts the settings its steps would refuse.
  module: dance_assets.run_coordinator
  class: SettingsCheckingRunCoordinator
  config:
    # A launched run leaves the queue within a second, not Dagster's default five.
    dequeue_interval_seconds: 1
concurrency:
  pools:
    # Steps in the "gpu" pool (training) run one at a time on one accelerator.
    default_limit: 1
"""


def project_root() -> Path:
    """The checkout this package runs from, or the working directory when installed."""
    candidate = Path(__file__).resolve().parent.parent
    return candidate if (candidate / "pyproject.toml").is_file() else Path.cwd()


def dagster_home() -> Path:
    """$DAGSTER_HOME, else .dagster_home/ in the project (git-ignored); created if missing.

    Its dagster.yaml is written when missing, and rewritten when an older dance-assets
    wrote it; one a person wrote is theirs."""
    home = Path(os.environ.get("DAGSTER_HOME") or project_root() / ".dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    written = config.read_text() if config.exists() else None
    if written is None or (written.startswith(_WRITTEN_BY_US) and written != _INSTANCE_CONFIG):
        atomic_write_text(config, _INSTANCE_CONFIG)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def use_lake(lake_dir: str | None) -> Lake:
    """Resolve a lake to write to and export it, so the code location and its runs agree."""
    lake = Lake.resolve(lake_dir)
    try:
        lake.root.mkdir(parents=True, exist_ok=True)
        probe = lake.root / f".write-test-{os.getpid()}"
        probe.touch()
        probe.unlink()
    except OSError as exc:
        raise DanceAssetsError(
            f"cannot use {lake.root} as the lake: {exc.strerror or exc}") from None
    os.environ["DANCE_LAKE"] = str(lake.root)
    return lake


def get_instance() -> dg.DagsterInstance:
    dagster_home()
    return dg.DagsterInstance.get()


def sync_dance_classes(instance: dg.DagsterInstance, lake: Lake) -> ClassSync:
    """Register a partition for every class folder; report folders that disappeared."""
    from dance_assets.partitions import dance_class_partitions

    sync = class_sync(class_folders(lake.raw),
                      set(instance.get_dynamic_partitions(dance_class_partitions.name)))
    if sync.added:
        instance.add_dynamic_partitions(dance_class_partitions.name, sync.added)
    return sync


@dataclass(kw_only=True, frozen=True)
class RunOutcome:
    job: str
    partition: str | None
    success: bool
    run_id: str
    failure: str | None
    blocked_by_check: bool = False  # a blocking asset check failed; nothing crashed
    blocked: tuple[str, ...] = ()  # "asset: check description" for each failed blocking check


def run_job(instance: dg.DagsterInstance, job_name: str, partition: str | None = None,
            run_config: dict | None = None, tags: dict[str, str] | None = None,
            assets: Sequence[dg.AssetKey] | None = None) -> RunOutcome:
    """Execute one of the code location's jobs in this process, recorded in `instance`;
    with `assets`, only those of the job's assets."""
    from dance_assets.definitions import defs

    config = {"loggers": {"console": {"config": {"log_level": "INFO"}}}, **(run_config or {})}
    result = defs.resolve_job_def(job_name).execute_in_process(
        run_config=config, instance=instance, partition_key=partition, raise_on_error=False,
        tags={"dance_assets/launched_by": "cli", **(tags or {})}, asset_selection=assets,
    )
    failure, blocked = None, False
    if not result.success:
        errors = [e.event_specific_data.error for e in result.all_events
                  if e.is_step_failure and e.event_specific_data.error]
        if any(error.cls_name == "DagsterExecutionInterruptedError" for error in errors):
            # Ctrl-C: Dagster stopped the steps and recorded the run as failed; what
            # finished is kept, and the caller stops as it would on any interrupt.
            raise KeyboardInterrupt
        failure = one_line(errors[0]) if errors else "run failed"
        blocked = bool(errors) and all(
            error.cls_name == "DagsterAssetCheckFailedError" for error in errors)
    failed_checks = tuple(
        f"{e.asset_key.to_user_string()}: {e.description}"
        for e in result.get_asset_check_evaluations() if e.blocking and not e.passed)
    return RunOutcome(job=job_name, partition=partition, success=result.success,
                      run_id=result.run_id, failure=failure, blocked_by_check=blocked,
                      blocked=failed_checks)


def one_line(error: object) -> str:
    """A step failure as one sentence: its innermost cause, and for a setting the
    Launchpad accepted but the Config class refused, which field and why."""
    while getattr(error, "cause", None) is not None:
        error = error.cause
    lines = [line.strip() for line in str(getattr(error, "message", error)).strip().splitlines()]
    if getattr(error, "cls_name", "") == "ValidationError" and len(lines) >= 3:
        # pydantic: "1 validation error for TrainConfig" / "epochs" / "Input should be ..."
        owner = lines[0].rsplit(" ", 1)[-1]
        return f"{owner}.{lines[1]}: {lines[2].split(' [type=')[0]}"
    if not lines:
        return "run failed"
    # "dagster._core.definitions.events.Failure: the sentence" → the sentence
    qualified, _, rest = lines[0].partition(": ")
    named = getattr(error, "cls_name", None)
    return rest if named and rest and qualified.split(".")[-1] == named else lines[0]


def ingest_classes(instance: dg.DagsterInstance, classes: Sequence[str],
                   echo: Echo, job: str = "ingest") -> list[RunOutcome]:
    """Run a per-class job (ingest, beats) for each class partition, one run each."""
    outcomes = []
    for index, dance_class in enumerate(classes, 1):
        echo(f"{job} [{index}/{len(classes)}] {dance_class}")
        outcome = run_job(instance, job, partition=dance_class)
        if not outcome.success:
            echo(f"  {job} of {dance_class} failed: {outcome.failure}")
        outcomes.append(outcome)
    return outcomes


@dataclass(frozen=True)
class TrainingPlan:
    """What one split protocol's training run still has to do, model by model."""

    protocol: str
    to_train: tuple[str, ...]  # trained, then evaluated when its accuracy check passes
    to_evaluate: tuple[str, ...]  # trained as asked and passing, not evaluated as it is now
    kept: tuple[str, ...]  # trained as asked, and evaluated or refused by its check

    def assets(self) -> list[dg.AssetKey]:
        return [*(dg.AssetKey(["models", name]) for name in self.to_train),
                *(dg.AssetKey(["evaluation", name])
                  for name in (*self.to_train, *self.to_evaluate))]


def launchpad_config(name: str, values: dict[str, object]) -> dict[str, object]:
    """Every field of a model's Launchpad config: `values` over the Config's defaults."""
    from dance_assets.assets.models import PoseModelConfig, TrainConfig
    from dance_assets.core.lake.catalogue import POSE_MODEL

    return (PoseModelConfig if name == POSE_MODEL else TrainConfig)(**values).model_dump()


def plan_training(lake: Lake, protocol: str,
                  configs: dict[str, dict[str, object]]) -> TrainingPlan:
    """Which of `configs`' models a protocol's run must train or evaluate: a model whose
    card says it was trained on the manifest as it is now with these settings is not
    trained again (seeded, it would come out the same), so a demo stopped halfway picks up
    where it stopped."""
    from dance_assets.core.curation.manifest import manifest_fingerprint
    from dance_assets.core.curation.splits import split_column
    from dance_assets.core.lake import tables
    from dance_assets.core.lake.artifacts import CARD_NAME, PROGRAM_NAME
    from dance_assets.core.learning.card import read_card
    from dance_assets.core.learning.registry import (
        accuracy_check,
        current_models,
        trained_as_asked,
    )

    fingerprint = manifest_fingerprint(tables.read_table(lake, "frame_manifest"),
                                       split_column(protocol))
    evaluated = current_models(lake)
    evaluated = set(evaluated.loc[evaluated["protocol"] == protocol, "arch"])
    plan: dict[str, list[str]] = {"train": [], "evaluate": [], "kept": []}
    for name, values in configs.items():
        folder = lake.model_dir(protocol, name)
        card = None
        if (folder / CARD_NAME).is_file() and (folder / PROGRAM_NAME).is_file():
            with contextlib.suppress(DanceAssetsError):  # a card this version cannot read
                card = read_card(folder / CARD_NAME)
        if card is None or not trained_as_asked(card, launchpad_config(name, values),
                                                fingerprint):
            plan["train"].append(name)
        elif name in evaluated or not accuracy_check(card)[0]:
            plan["kept"].append(name)
        else:
            plan["evaluate"].append(name)
    return TrainingPlan(protocol=protocol, to_train=tuple(plan["train"]),
                        to_evaluate=tuple(plan["evaluate"]), kept=tuple(plan["kept"]))


def train_models(instance: dg.DagsterInstance, plans: Sequence[TrainingPlan],
                 configs: dict[str, dict[str, object]], echo: Echo) -> list[RunOutcome]:
    """One training run per split protocol, for what its plan leaves to do; `configs`
    holds each model's settings."""
    outcomes = []
    for plan in plans:
        if plan.kept:
            echo(f"{plan.protocol}: {', '.join(plan.kept)} already trained on these frames "
                 "with these settings: kept")
        if not plan.to_train and not plan.to_evaluate:
            continue
        config = {"ops": {f"models__{name}": {"config": configs[name]}
                          for name in plan.to_train}}
        described = ", ".join(_described(name, configs[name]) for name in plan.to_train)
        echo(f"training on {plan.protocol}: {described}" if described else
             f"evaluating on {plan.protocol}: {', '.join(plan.to_evaluate)}")
        outcome = run_job(instance, "training", partition=plan.protocol, run_config=config,
                          assets=plan.assets())
        for blocked in outcome.blocked:
            echo(f"  blocked: {blocked}; the model is kept but will not be evaluated")
        outcomes.append(outcome)
    return outcomes


def estimate_training(lake: Lake, plans: Sequence[TrainingPlan],
                      configs: dict[str, dict[str, object]]) -> dict[tuple[str, str], float]:
    """Seconds each model left to train will take on this machine, by (protocol, name),
    from a few batches of each architecture timed now (core/learning/estimate.py)."""
    from dance_assets.assets.models import TrainConfig
    from dance_assets.core.curation.splits import TRAIN, VALID, split_column
    from dance_assets.core.lake import tables
    from dance_assets.core.learning.estimate import measure_pace
    from dance_assets.resources import TorchComputeResource

    manifest = tables.read_table(lake, "frame_manifest")
    kept = manifest[manifest["keep"]]
    compute = TorchComputeResource().settings()
    n_classes = kept["dance_class"].nunique()
    paces, seconds = {}, {}
    for plan in plans:
        sides = kept[split_column(plan.protocol)]
        for name in plan.to_train:
            settings = TrainConfig(**configs[name]).settings()
            if name not in paces:
                paces[name] = measure_pace(name, settings, compute, n_classes)
            seconds[(plan.protocol, name)] = paces[name].seconds(
                settings, int((sides == TRAIN).sum()), int((sides == VALID).sum()))
    return seconds


def _described(name: str, values: dict[str, object]) -> str:
    if "image_size" in values:
        return f"{name} ({values['image_size']} px, {values.get('epochs')} epochs)"
    return f"{name} ({values.get('epochs', 'default')} epochs)"


def require_success(outcomes: Sequence[RunOutcome]) -> None:
    """Raise for runs that crashed; a run stopped by a blocking check is a result."""
    failed = [o for o in outcomes if not o.success and not o.blocked_by_check]
    if failed:
        first = failed[0]
        where = f" ({first.partition})" if first.partition else ""
        raise DanceAssetsError(
            f"{len(failed)} run(s) failed; first: {first.job}{where}: {first.failure} "
            f"(run {first.run_id[:8]}; see `dance-assets ui`)"
        )
