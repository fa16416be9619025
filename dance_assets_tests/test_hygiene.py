"""Importing the project changes nothing process-wide: no warning filter is added at a
module's top level (only inside a function, or in a catch_warnings() block around the
noisy call), and fastai's own import warning is ignored for the import alone."""

import ast
import subprocess
import sys
from pathlib import Path

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


def test_the_learners_import_fastai_without_its_torch_jit_warning():
    """fastai's layers call torch.jit.script, deprecated by torch 2.14: a FutureWarning
    raised into an error here unless import_fastai ignores it for the import."""
    code = ("from dance_assets.core.learning.learners import import_fastai\n"
            "import_fastai()\n"
            "import fastai.callback.schedule, fastai.learner, fastai.vision.all\n")
    done = subprocess.run([sys.executable, "-W", "error::FutureWarning", "-c", code],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
