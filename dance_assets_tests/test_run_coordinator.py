"""The Launchpad's bounds: shown in each field's description, and a value out of them
refused before the run starts, through the instance's run queue, with the field and the
reason (Dagster's config schema knows types, not bounds)."""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg
import pytest

from dance_assets.definitions import defs
from dance_assets.run_coordinator import config_classes, refused_settings

COORDINATOR = {"module": "dance_assets.run_coordinator",
               "class": "SettingsCheckingRunCoordinator"}


def _ops(op_name: str, **values: object) -> dict:
    return {"ops": {op_name: {"config": values}}}


def test_every_configurable_asset_is_checked_with_its_own_config_class():
    from dance_assets.assets.curation import CurationConfig
    from dance_assets.assets.ingest import FrameExtractionConfig
    from dance_assets.assets.models import PoseModelConfig, TrainConfig

    found = {op_name: config.__name__ for op_name, (_, config) in config_classes().items()}
    assert {found[f"models__{arch}"] for arch in ("alexnet", "resnet18", "squeezenet1_0")} == {
        TrainConfig.__name__}
    assert found["models__pose_sequence"] == PoseModelConfig.__name__
    assert found["video_frames"] == FrameExtractionConfig.__name__
    assert found["frame_manifest"] == CurationConfig.__name__


def _settings_fields(assets_def: dg.AssetsDefinition) -> set[str]:
    """The fields the Launchpad shows for an asset's settings (a graph's through its
    config mapping); none for an asset that takes no settings."""
    node = assets_def.node_def
    schema = (node.config_mapping.config_schema if isinstance(node, dg.GraphDefinition)
              else node.config_schema)
    return set(getattr(schema.config_type, "fields", {}))


def test_the_declared_settings_classes_name_every_asset_that_takes_settings():
    """config_classes is declared beside the assets, not read from their functions: an
    asset given settings but left out, or a class that is not the one the asset shows,
    fails here."""
    declared = config_classes()
    taking = {}
    for assets_def in defs.resolve_asset_graph().assets_defs:
        fields = _settings_fields(assets_def)
        if fields:
            taking[assets_def.node_def.name] = (assets_def.key, fields)
    assert set(declared) == set(taking)
    for name, (key, config_class) in declared.items():
        assert key == taking[name][0]
        assert set(config_class.model_fields) == taking[name][1], name


def test_the_smallest_image_sizes_are_those_of_torchvision_models():
    """The coordinator refuses an image size from a table, building no model; the table
    must say what the real architectures take."""
    import torch
    import torchvision

    from dance_assets.core.lake.catalogue import CNNS

    def takes(model: torch.nn.Module, size: int) -> bool:
        try:
            with torch.no_grad():
                model(torch.zeros(1, 3, size, size))
        except RuntimeError:  # "output size is too small"
            return False
        return True

    for cnn in CNNS:
        smallest = cnn.min_image_size
        model = torchvision.models.get_model(cnn.name, weights=None).eval()
        assert takes(model, smallest), cnn.name
        assert smallest == 1 or not takes(model, smallest - 1), cnn.name


def test_the_launchpad_shows_every_bound_in_its_fields_description():
    from dance_assets.assets.launchpad import bounds_in_words

    shown = 0
    for _, config_class in config_classes().values():
        schema = config_class.to_config_schema().as_field().config_type.fields
        for name, field in config_class.model_fields.items():
            bounds = bounds_in_words(field)
            if bounds:
                assert schema[name].description.endswith(f"({bounds})"), (config_class, name)
                shown += 1
    resnet18 = defs.resolve_assets_def(dg.AssetKey(["models", "resnet18"]))
    fields = resnet18.op.config_schema.config_type.fields
    assert fields["epochs"].description.endswith("(at least 1)")
    assert fields["significance"].description.endswith("(above 0, at most 1)")
    assert shown >= 20


@pytest.mark.parametrize(("run_config", "reason"), [
    (_ops("models__resnet18", epochs=0),
     "TrainConfig.epochs: Input should be greater than or equal to 1 (got 0)"),
    (_ops("models__alexnet", image_size=48),
     "image_size 48 is too small for alexnet: its layers shrink the input to nothing below "
     "63 px; set image_size to at least 63"),
    (_ops("video_frames", jpeg_quality=40),
     "FrameExtractionConfig.jpeg_quality: Input should be less than or equal to 31 (got 40)"),
    (_ops("models__pose_sequence", epochs=-3),
     "PoseModelConfig.epochs: Input should be greater than or equal to 1 (got -3)"),
])
def test_a_setting_out_of_bounds_is_refused_with_its_field_and_reason(run_config, reason):
    assert refused_settings(run_config) == reason


def test_settings_within_bounds_pass():
    assert refused_settings(_ops("models__alexnet", image_size=64, epochs=1)) is None
    assert refused_settings({}) is None


@pytest.fixture
def checking_instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test(overrides={"run_coordinator": COORDINATOR}) as instance:
        yield instance


def _submitted(instance: dg.DagsterInstance, run_config: dict) -> dg.DagsterRun:
    job = defs.resolve_job_def("training")
    run = instance.create_run_for_job(job_def=job, run_config=run_config,
                                      tags={"dagster/partition": "random_frames"})
    # What the webserver's launch does once the run exists (the workspace it would pass
    # is not read by the queue).
    context = dg.SubmitRunContext(run, workspace=None)  # type: ignore[arg-type]
    return instance.run_coordinator.submit_run(context)


def test_the_instance_refuses_such_a_run_before_it_is_queued(checking_instance):
    """(That runs within bounds still queue and run, the browser test shows: its UI's
    instance uses this coordinator.)"""
    refused = _submitted(checking_instance, _ops("models__resnet18", epochs=0))
    assert refused.status == dg.DagsterRunStatus.FAILURE
    messages = [record.event_log_entry.dagster_event.message
                for record in checking_instance.get_records_for_run(refused.run_id).records
                if record.event_log_entry.dagster_event is not None]
    assert ("Refused before it started: TrainConfig.epochs: Input should be greater than or "
            "equal to 1 (got 0)") in messages


def test_the_projects_instance_queues_through_it_and_dequeues_every_second(tmp_path,
                                                                          monkeypatch):
    from dance_assets.run_coordinator import SettingsCheckingRunCoordinator
    from dance_assets.runs import get_instance

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    instance = get_instance()
    try:
        assert isinstance(instance.run_coordinator, SettingsCheckingRunCoordinator)
        assert instance.run_coordinator.dequeue_interval_seconds == 1
    finally:
        instance.dispose()
