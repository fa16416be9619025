"""House rules a reader relies on: modules and functions short enough to read whole, and
core/ in pipeline order, so that a stage can be understood knowing only those before it.

The order: lake < ingest < curation < learning < evaluation < performance < scoring; a
stage imports only itself and earlier stages, and so does the asset module of a stage
(the ingest's, curation's, models' and evaluation's assets never reach into scoring).
synthetic (made-up videos) may import lake and ingest, and no other stage imports it, nor
anything else in dance_assets but the CLI (its generate and demo commands). Nothing in
core/ imports Dagster.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "dance_assets"
CORE = PACKAGE / "core"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 50  # from the `def` line through the last, docstring included
STAGES = ("lake", "ingest", "curation", "learning", "evaluation", "performance", "scoring")
SYNTHETIC = "synthetic"
SYNTHETIC_MAY_IMPORT = ("lake", "ingest")
# `generate` and `demo` write synthetic videos (the commands, and the demo they run).
MAY_GENERATE = (PACKAGE / "cli.py", PACKAGE / "demo.py")


def _modules(root: Path) -> list[Path]:
    return sorted(root.rglob("*.py"))


def _name(path: Path) -> str:
    return path.relative_to(PACKAGE.parent).as_posix()


def _imported_modules(tree: ast.AST) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module


def _may_import(stage: str, other: str) -> bool:
    if other == stage:
        return True
    if stage == SYNTHETIC:
        return other in SYNTHETIC_MAY_IMPORT
    if other == SYNTHETIC or other not in STAGES:
        return False
    return STAGES.index(other) < STAGES.index(stage)


def test_no_module_is_longer_than_a_reader_holds():
    long = [f"{_name(p)}: {n} lines" for p in _modules(PACKAGE)
            if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES]
    assert not long, f"modules over {MAX_MODULE_LINES} lines:\n" + "\n".join(long)


def test_no_function_is_longer_than_a_screen():
    long = []
    for path in _modules(PACKAGE):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{_name(path)}:{node.lineno} {node.name}: {lines} lines")
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines:\n" + "\n".join(long)


def test_every_core_module_belongs_to_a_stage():
    loose = [_name(p) for p in CORE.glob("*.py") if p.name != "__init__.py"]
    stages = {p.name for p in CORE.iterdir() if (p / "__init__.py").is_file()}
    assert not loose
    assert stages == {*STAGES, SYNTHETIC}


def test_core_imports_follow_the_pipeline_and_never_dagster():
    wrong = []
    for path in _modules(CORE):
        parts = path.relative_to(CORE).parts
        if len(parts) < 2:
            continue
        stage = parts[0]
        for module in _imported_modules(ast.parse(path.read_text())):
            if module.split(".")[0].startswith("dagster"):
                wrong.append(f"{_name(path)} imports {module}")
            elif module.startswith("dance_assets"):
                names = module.split(".")
                other = names[2] if names[1:2] == ["core"] and len(names) > 2 else module
                if not _may_import(stage, other):
                    wrong.append(f"{_name(path)} ({stage}) imports {module}")
    assert not wrong, "imports against the pipeline order:\n" + "\n".join(wrong)


EARLY_ASSETS = ("ingest", "curation", "models", "evaluation")


def test_early_assets_never_reach_into_later_stages():
    late = {f"dance_assets.core.{stage}" for stage in ("performance", "scoring")}
    wrong = [f"{name} imports {module}" for name in EARLY_ASSETS
             for module in _imported_modules(ast.parse(
                 (PACKAGE / "assets" / f"{name}.py").read_text()))
             if any(module.startswith(stage) for stage in late)]
    assert not wrong, "early assets importing later stages:\n" + "\n".join(wrong)


def test_only_the_cli_generates_videos():
    users = [_name(path) for path in _modules(PACKAGE)
             if not path.is_relative_to(CORE) and path not in MAY_GENERATE
             and any(module.startswith(f"dance_assets.core.{SYNTHETIC}")
                     for module in _imported_modules(ast.parse(path.read_text())))]
    assert not users, "made-up videos used outside the CLI: " + ", ".join(users)


MAX_POSITIONAL_FIELDS = 5


def _dataclass_decorators(node: ast.ClassDef) -> list[ast.expr]:
    return [d for d in node.decorator_list
            if "dataclass" in ast.unparse(d.func if isinstance(d, ast.Call) else d)]


def test_wide_records_are_built_by_keyword():
    """A dataclass of more than five fields is keyword-only: a value in the wrong slot of
    a wide record (accuracy where valid_loss goes) would pass without a word."""
    positional = []
    for path in _modules(PACKAGE):
        for node in ast.walk(ast.parse(path.read_text())):
            decorators = isinstance(node, ast.ClassDef) and _dataclass_decorators(node)
            if not decorators:
                continue
            fields = [s for s in node.body if isinstance(s, ast.AnnAssign)
                      and "ClassVar" not in ast.unparse(s.annotation)]
            keyword_only = any(isinstance(d, ast.Call) and any(
                k.arg == "kw_only" and ast.unparse(k.value) == "True" for k in d.keywords)
                for d in decorators)
            if len(fields) > MAX_POSITIONAL_FIELDS and not keyword_only:
                positional.append(f"{_name(path)}:{node.lineno} {node.name}: {len(fields)} fields")
    assert not positional, "wide dataclasses built by position:\n" + "\n".join(positional)
