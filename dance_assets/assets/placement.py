"""Where a training step runs: the CNNs' steps share the "gpu" pool, so on one machine they
queue for the accelerator, and carry a Kubernetes request for one GPU on the nodes the
deployment names; and whether a step has a process of its own, the only place it may
retune process-wide settings.
"""

import json
import os

import dagster as dg

GPU_POOL = "gpu"


# Where GPU nodes are, as the cluster says (JSON, read when the code location loads):
# e.g. DANCE_GPU_NODE_SELECTOR='{"nvidia.com/gpu.present": "true"}' and
# DANCE_GPU_TOLERATIONS='[{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]'.
GPU_NODE_SELECTOR_VAR = "DANCE_GPU_NODE_SELECTOR"
GPU_TOLERATIONS_VAR = "DANCE_GPU_TOLERATIONS"


def gpu_op_tags() -> dict[str, object]:
    """The Kubernetes request for one GPU, on the GPU nodes the deployment names."""
    pod_spec: dict[str, object] = {}
    if os.environ.get(GPU_NODE_SELECTOR_VAR):
        pod_spec["node_selector"] = json.loads(os.environ[GPU_NODE_SELECTOR_VAR])
    if os.environ.get(GPU_TOLERATIONS_VAR):
        pod_spec["tolerations"] = json.loads(os.environ[GPU_TOLERATIONS_VAR])
    config: dict[str, object] = {
        "container_config": {"resources": {"limits": {"nvidia.com/gpu": "1"},
                                           "requests": {"nvidia.com/gpu": "1"}}}}
    if pod_spec:
        config["pod_spec_config"] = pod_spec
    return {"dagster-k8s/config": config}


# The executors this project runs steps with (definitions.executor()), each of which gives
# a step a process of its own: a pod, or a child process. Only there does a training step
# retune the process-wide allocator; run in the caller's process (execute_in_process, a
# test) it leaves the caller's alone.
OWN_PROCESS_EXECUTORS = ("multiprocess", "k8s")


def in_own_process(context: dg.AssetExecutionContext) -> bool:
    return context.job_def.executor_def.name in OWN_PROCESS_EXECUTORS
