"""deploy/: the executor choice, the GPU requests, and files that name what exists."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
import yaml

from dance_assets.assets.placement import GPU_NODE_SELECTOR_VAR, GPU_POOL, GPU_TOLERATIONS_VAR
from dance_assets.definitions import EXECUTOR_VAR, VIDEOS_PER_STEP_VAR

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
# Which steps asked for what, as the code location loads with the environment given.
_STEP_TAGS = """
import json
from dance_assets.definitions import defs
graph = defs.resolve_asset_graph()
tags = {}
for key in graph.get_all_asset_keys():
    node = graph.get(key)
    asks = [op.tags["dagster-k8s/config"] for op in node.assets_def.node_def.iterate_op_defs()
            if "dagster-k8s/config" in op.tags]
    tags[key.to_user_string()] = {"k8s": asks[0] if asks else None,
                                  "pools": sorted(node.pools or [])}
print(json.dumps({"executor": defs.executor.name, "tags": tags,
                  "videos_per_step": defs.resources["ffmpeg"].videos_per_step}))
"""


def _load(**env: str) -> dict:
    done = subprocess.run([sys.executable, "-c", _STEP_TAGS], capture_output=True, text=True,
                          env={**os.environ, **env})
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_definitions_load_with_either_executor():
    assert _load()["executor"] == "multiprocess"
    assert _load(**{EXECUTOR_VAR: "k8s"})["executor"] == "k8s"
    wrong = subprocess.run([sys.executable, "-c", "import dance_assets.definitions"],
                           capture_output=True, text=True, env={**os.environ, EXECUTOR_VAR: "ray"})
    assert wrong.returncode != 0
    assert "DANCE_ASSETS_EXECUTOR must be multiprocess or k8s, got 'ray'" in wrong.stderr


@pytest.mark.slow  # three multiprocess runs, 6-13 s
def test_each_runs_steps_fork_from_a_server_started_with_that_runs_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The multiprocess executor's default: a run's steps are forks of one server that
    loaded the code location for that run, and a later run in the same process (a script,
    a test) gets a new one with its own environment, not the first run's."""
    from dance_assets_tests.worker import job

    spawn = {"execution": {"config": {"start_method": {"spawn": {}}}}}
    seen = {}
    with dg.instance_for_test() as instance:
        for mark, config in (("first run", {}), ("second run", {}), ("spawned", spawn)):
            out = tmp_path / mark
            out.mkdir()
            monkeypatch.setenv("DANCE_TEST_MARK", mark)
            monkeypatch.setenv("DANCE_TEST_OUT", str(out))
            with dg.execute_job(job("where_steps_run"), instance, run_config=config) as result:
                assert result.success
            seen[mark] = [json.loads((out / f"{op}.json").read_text())
                          for op in ("first", "second")]
    for mark, steps in seen.items():
        assert [step["mark"] for step in steps] == [mark, mark]
        assert steps[0]["pid"] != steps[1]["pid"]  # a process each
    for mark in ("first run", "second run"):  # forks of one server, not of this process
        assert seen[mark][0]["ppid"] == seen[mark][1]["ppid"] != os.getpid()
    assert seen["first run"][0]["ppid"] != seen["second run"][0]["ppid"]  # a server a run
    # A run's config can still ask for spawn: the steps are this process's children.
    assert [step["ppid"] for step in seen["spawned"]] == [os.getpid()] * 2


@pytest.mark.slow
def test_a_cluster_spreads_a_class_over_steps_and_one_machine_does_not():
    assert _load()["videos_per_step"] == 0
    assert _load(**{VIDEOS_PER_STEP_VAR: "8"})["videos_per_step"] == 8
    wrong = subprocess.run([sys.executable, "-c", "import dance_assets.definitions"],
                           capture_output=True, text=True,
                           env={**os.environ, VIDEOS_PER_STEP_VAR: "eight"})
    assert "DANCE_VIDEOS_PER_STEP must be a whole number of videos" in wrong.stderr


def test_only_the_gpu_training_steps_ask_kubernetes_for_a_gpu_on_gpu_nodes():
    selector = {"nvidia.com/gpu.present": "true"}
    tolerations = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    loaded = _load(**{GPU_NODE_SELECTOR_VAR: json.dumps(selector),
                      GPU_TOLERATIONS_VAR: json.dumps(tolerations)})["tags"]
    gpu_steps = {f"models/{arch}" for arch in ("alexnet", "resnet18", "squeezenet1_0")}
    for key, step in loaded.items():
        if key in gpu_steps:
            config = json.loads(step["k8s"])
            assert config["container_config"]["resources"]["limits"] == {"nvidia.com/gpu": "1"}
            assert config["pod_spec_config"] == {"node_selector": selector,
                                                 "tolerations": tolerations}
            assert step["pools"] == [GPU_POOL]
        else:  # extraction, curation, the CPU pose model, evaluation, reports
            assert step["k8s"] is None and GPU_POOL not in step["pools"], key


def test_dagster_yaml_is_a_valid_postgres_instance_with_the_gpu_pool_limit():
    config = yaml.safe_load((DEPLOY / "dagster.yaml").read_text())
    coordinator = config["run_coordinator"]
    named = getattr(importlib.import_module(coordinator["module"]), coordinator["class"])
    assert issubclass(named, dg.QueuedRunCoordinator)  # the run queue the pool limit needs
    database = config["storage"]["postgres"]["postgres_db"]
    assert database.pop("scheme") == "postgresql+psycopg2"
    assert {field["env"] for field in database.values()} == {
        "DAGSTER_PG_HOST", "DAGSTER_PG_PORT", "DAGSTER_PG_DB", "DAGSTER_PG_USERNAME",
        "DAGSTER_PG_PASSWORD"}
    assert config["concurrency"]["pools"]["default_limit"] == 1


def test_helm_values_name_the_module_volume_and_variables_the_code_reads():
    values = yaml.safe_load((DEPLOY / "helm" / "values.yaml").read_text())
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    module = deployment["dagsterApiGrpcArgs"][deployment["dagsterApiGrpcArgs"].index("-m") + 1]
    assert isinstance(importlib.import_module(module).defs, dg.Definitions)
    env = {item["name"]: item["value"] for item in deployment["env"]}
    assert set(env) == {"DANCE_LAKE", EXECUTOR_VAR, VIDEOS_PER_STEP_VAR, GPU_NODE_SELECTOR_VAR,
                        GPU_TOLERATIONS_VAR}
    assert int(env[VIDEOS_PER_STEP_VAR]) > 0
    assert isinstance(json.loads(env[GPU_NODE_SELECTOR_VAR]), dict)
    assert isinstance(json.loads(env[GPU_TOLERATIONS_VAR]), list)
    mounts = {m["name"]: m["mountPath"] for m in deployment["volumeMounts"]}
    assert mounts["lake"] == env["DANCE_LAKE"]
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    for name in ("DANCE_LAKE", EXECUTOR_VAR, VIDEOS_PER_STEP_VAR):  # run and step pods
        assert f"{name}={env[name]}" in launcher["envVars"], name
    assert {m["mountPath"] for m in launcher["volumeMounts"]} == {env["DANCE_LAKE"]}
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "ffmpeg" in dockerfile and "USER dance" in dockerfile
    assert f"ENV DANCE_LAKE={env['DANCE_LAKE']}" in dockerfile
