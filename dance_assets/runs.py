"""Running the pipeline from the command line against the project's Dagster instance.

`demo` and the other commands run the same jobs the UI launches, in this process,
recorded in a persistent DAGSTER_HOME, so every run they make shows in `ui` later.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from dance_assets.core.errors import DanceAssetsError
from dance_assets.core.ingest import is_ignored
from dance_assets.core.lake import Lake

Echo = Callable[[str], None]
_INSTANCE_CONFIG = """\
# Written by dance-assets. Runs made by `demo`, the sensor and `ui` all land here.
telemetry:
  enabled: false
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
    """$DAGSTER_HOME, else .dagster_home/ in the project (git-ignored); created if missing."""
    home = Path(os.environ.get("DAGSTER_HOME") or project_root() / ".dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(_INSTANCE_CONFIG)
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


@dataclass
class ClassSync:
    """How raw/'s class folders compare with the registered dance_classes partitions."""

    added: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # registered, but the folder is gone
    invalid: dict[str, str] = field(default_factory=dict)


def class_folders(lake: Lake) -> list[str]:
    if not lake.raw.is_dir():
        return []
    return sorted(p.name for p in lake.raw.iterdir() if p.is_dir() and not is_ignored(p.name))


def invalid_partition_reason(name: str) -> str | None:
    """Why a folder name cannot be a Dagster partition key, if it cannot."""
    from dagster._core.definitions.partitions.utils.base import INVALID_PARTITION_SUBSTRINGS

    bad = [s for s in INVALID_PARTITION_SUBSTRINGS if s in name]
    if bad:
        return f"folder name contains {bad[0]!r}, which a partition key cannot hold"
    return None


def sync_dance_classes(instance: dg.DagsterInstance, lake: Lake) -> ClassSync:
    """Register a partition for every class folder; report folders that disappeared."""
    from dance_assets.partitions import dance_class_partitions

    registered = set(instance.get_dynamic_partitions(dance_class_partitions.name))
    sync = ClassSync()
    for name in class_folders(lake):
        reason = invalid_partition_reason(name)
        if reason:
            sync.invalid[name] = reason
        elif name in registered:
            sync.present.append(name)
        else:
            sync.added.append(name)
    if sync.added:
        instance.add_dynamic_partitions(dance_class_partitions.name, sync.added)
    folders = set(class_folders(lake))
    sync.missing = sorted(registered - folders)
    return sync


@dataclass(frozen=True)
class RunOutcome:
    job: str
    partition: str | None
    success: bool
    run_id: str
    failure: str | None


def run_job(instance: dg.DagsterInstance, job_name: str, partition: str | None = None,
            run_config: dict | None = None, tags: dict[str, str] | None = None) -> RunOutcome:
    """Execute one of the code location's jobs in this process, recorded in `instance`."""
    from dance_assets.definitions import defs

    config = {"loggers": {"console": {"config": {"log_level": "INFO"}}}, **(run_config or {})}
    result = defs.resolve_job_def(job_name).execute_in_process(
        run_config=config, instance=instance, partition_key=partition, raise_on_error=False,
        tags={"dance_assets/launched_by": "cli", **(tags or {})},
    )
    failure = None
    if not result.success:
        failures = [e for e in result.all_events if e.is_step_failure]
        failure = (failures[0].event_specific_data.error.message.strip().splitlines()[0]
                   if failures and failures[0].event_specific_data.error else "run failed")
    return RunOutcome(job_name, partition, result.success, result.run_id, failure)


def ingest_classes(instance: dg.DagsterInstance, classes: Sequence[str],
                   echo: Echo) -> list[RunOutcome]:
    """Run the ingest job for each class partition, one run each."""
    outcomes = []
    for index, dance_class in enumerate(classes, 1):
        echo(f"ingest [{index}/{len(classes)}] {dance_class}")
        outcome = run_job(instance, "ingest", partition=dance_class)
        if not outcome.success:
            echo(f"  ingest of {dance_class} failed: {outcome.failure}")
        outcomes.append(outcome)
    return outcomes


def require_success(outcomes: Sequence[RunOutcome]) -> None:
    failed = [o for o in outcomes if not o.success]
    if failed:
        first = failed[0]
        where = f" ({first.partition})" if first.partition else ""
        raise DanceAssetsError(
            f"{len(failed)} run(s) failed; first: {first.job}{where}: {first.failure} "
            f"(run {first.run_id[:8]}; see `dance-assets ui`)"
        )
