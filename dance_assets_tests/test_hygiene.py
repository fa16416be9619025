"""Importing the project changes nothing process-wide: no warning filter is added at a
module's top level (only inside a function, or in a catch_warnings() block around the
noisy call), and fastai's own import warning is ignored for the import alone."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "dance_assets"
FILTERS = {"filterwarnings", "simplefilter"}


def _called(node: ast.AST) -> str | None:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def _at_import(tree: ast.Module) -> list[ast.AST]:
    """Each node run when the module is imported: its top level, into if/try/with blocks
    but not into functions, lambdas or catch_warnings() blocks."""
    found, pending = [], list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue
        if isinstance(node, ast.With) and any(
                _called(item.context_expr) == "catch_warnings" for item in node.items):
            continue
        found.append(node)
        pending.extend(ast.iter_child_nodes(node))
    return found


def test_no_module_adds_a_warning_filter_when_imported():
    offenders = [f"{path.relative_to(PACKAGE.parent)}:{node.lineno}"
                 for path in sorted(PACKAGE.rglob("*.py"))
                 for node in _at_import(ast.parse(path.read_text()))
                 if _called(node) in FILTERS]
    assert offenders == []


@pytest.mark.slow
def test_the_learners_import_fastai_without_its_torch_jit_warning():
    """fastai's layers call torch.jit.script, deprecated by torch 2.14: a FutureWarning
    raised into an error here unless import_fastai ignores it for the import."""
    code = ("from dance_assets.core.learning.learners import import_fastai\n"
            "import_fastai()\n"
            "import fastai.callback.schedule, fastai.learner, fastai.vision.all\n")
    done = subprocess.run([sys.executable, "-W", "error::FutureWarning", "-c", code],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


def test_a_training_step_run_in_the_callers_process_leaves_its_allocator_alone(
        instance, curated_tiny_lake, monkeypatch):
    """glibc is told to keep freed memory (core/learning/host_memory.py) only where a
    training step has a process of its own: under the executors the definitions pick,
    not in a run in the caller's process, as this one in pytest's."""

    import dance_assets.core.learning.training as training
    from dance_assets.assets.models import model_assets
    from dance_assets.assets.placement import OWN_PROCESS_EXECUTORS
    from dance_assets.definitions import defs
    from dance_assets.resources import FfmpegResource, LakeResource, TorchComputeResource
    from dance_assets_tests.helpers import materialize

    assert defs.resolve_job_def("training").executor_def.name in OWN_PROCESS_EXECUTORS
    asked = []
    monkeypatch.setattr(training, "keep_freed_memory", lambda: asked.append(True))
    squeezenet = next(a for a in model_assets if a.key.path[-1] == "squeezenet1_0")
    settings = {"epochs": 1, "image_size": 64, "batch_size": 8, "augment": False,
                "significance": 1.0}
    result = materialize(
        [squeezenet], partition_key="random_frames", instance=instance,
        resources={"lake": LakeResource(root=str(curated_tiny_lake.root)),
                   "ffmpeg": FfmpegResource(), "torch_compute": TorchComputeResource(device="cpu")},
        run_config={"ops": {squeezenet.op.name: {"config": settings}}})
    assert result.success
    assert asked == []
