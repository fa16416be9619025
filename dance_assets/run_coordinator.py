"""Settings the Launchpad accepts but the project refuses, refused before the run starts.

Dagster's config schema carries a field's type, not pydantic's bounds: the Launchpad
accepts `epochs: 0` or `image_size: 32` for AlexNet, and until now such a run was queued,
given a process, and failed in its step's first line. The instance's run coordinator
(`SettingsCheckingRunCoordinator`, named in the dagster.yaml that `dance-assets` writes)
asks `refused_settings` before it queues a run, and fails the run there with one sentence
that names the field and why.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import Any

import dagster as dg
import pydantic

from dance_assets.core.lake.errors import DanceAssetsError


def config_classes() -> dict[str, tuple[dg.AssetKey, type[dg.Config]]]:
    """Each configurable asset's node name (the key of its settings under `ops`), with its
    key and its Config class, as dance_assets/definitions.py declares them beside the
    assets (imported here, not at the module's import: the instance loads this module)."""
    from dance_assets.definitions import SETTINGS_CLASSES

    return SETTINGS_CLASSES


def refused_settings(run_config: Mapping[str, Any]) -> str | None:
    """Why the run's settings would fail their step, in one sentence; None when they pass."""
    from dance_assets.assets.models import TrainConfig
    from dance_assets.core.learning.learners import check_image_size

    for op_name, values in (run_config.get("ops") or {}).items():
        key, config_class = config_classes().get(op_name, (None, None))
        if config_class is None or not isinstance(values, Mapping):
            continue
        try:
            config = config_class(**(values.get("config") or {}))
        except pydantic.ValidationError as error:
            first = error.errors()[0]
            field = ".".join(map(str, first["loc"]))
            return f"{config_class.__name__}.{field}: {first['msg']} (got {first['input']!r})"
        if isinstance(config, TrainConfig) and key is not None:
            try:
                check_image_size(key.path[-1], config.image_size)
            except DanceAssetsError as error:
                return str(error)
    return None


class SettingsCheckingRunCoordinator(dg.QueuedRunCoordinator):
    """Dagster's queued run coordinator, which first refuses a run whose settings its
    steps would refuse: the run is marked failed with the reason and never queued.

    The instance hands itself to its run coordinator through `register_instance` (as it
    does to its storages, which extend it the same way); this one keeps its own weak
    reference from there rather than reading the base class's private one."""

    _checking_instance: weakref.ReferenceType[dg.DagsterInstance] | None = None

    def register_instance(self, instance: dg.DagsterInstance) -> None:
        super().register_instance(instance)
        self._checking_instance = weakref.ref(instance)

    def submit_run(self, context: dg.SubmitRunContext) -> dg.DagsterRun:
        run = context.dagster_run
        refusal = refused_settings(run.run_config)
        if refusal is None:
            return super().submit_run(context)
        instance = self._checking_instance() if self._checking_instance else None
        if instance is None:
            raise DanceAssetsError(f"Refused before it started: {refusal}")
        instance.report_run_failed(run, message=f"Refused before it started: {refusal}")
        refused = instance.get_run_by_id(run.run_id)
        assert refused is not None, run.run_id
        return refused
