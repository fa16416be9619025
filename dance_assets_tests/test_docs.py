"""The documentation stays short, linked and true to what the code and the benchmarks say.

README.md is what a newcomer reads first: at most 12,000 characters, linking every page in
docs/, with the two commands CI and the demo run. The measured numbers
(benchmarks/results/README.md) and the table schemas (docs/tables.md) are written by
`python benchmarks/results_readme.py`; these tests fail until it has been rerun after a
benchmark or a schema change.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
RESULTS_README = ROOT / "benchmarks" / "results" / "README.md"
REGENERATE = "run `python benchmarks/results_readme.py` and commit what it writes"

DEMO_COMMAND = ("python3.11 -m venv .venv && .venv/bin/pip install -qq -e . && "
                ".venv/bin/dance-assets demo")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def _generator():
    path = ROOT / "benchmarks" / "results_readme.py"
    spec = importlib.util.spec_from_file_location("results_readme", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _bash_blocks(markdown: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", markdown, flags=re.DOTALL)


def test_readme_is_read_in_five_minutes():
    size = len(README.read_text(encoding="utf-8"))
    assert size <= 12_000, f"README.md has {size} characters; move detail into docs/"


def test_readme_links_every_docs_page():
    readme = README.read_text(encoding="utf-8")
    linked = {Path(target.split("#")[0]).name for target in LINK.findall(readme)
              if target.startswith("docs/")}
    missing = [page.name for page in DOCS if page.name not in linked]
    assert DOCS, "no docs/*.md pages"
    assert not missing, f"README.md does not link {missing}"


def _anchors(page: Path) -> set[str]:
    """The anchors GitHub gives a Markdown page's headings."""
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.DOTALL)
    anchors = set()
    for heading in re.findall(r"^#{1,6} +(.+)$", text, flags=re.MULTILINE):
        heading = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "")
        anchors.add(re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-"))
    return anchors


@pytest.mark.parametrize("page", [README, RESULTS_README, *DOCS],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_point_at_files(page: Path):
    broken = []
    for target in LINK.findall(page.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target):
            continue  # a web address
        path, _, anchor = target.partition("#")
        linked = page.parent / path if path else page
        heading_missing = (linked.exists() and linked.suffix == ".md" and anchor != ""
                           and anchor not in _anchors(linked))
        if not linked.exists() or heading_missing:
            broken.append(target)
    assert not broken, f"{page.relative_to(ROOT)} links to missing files or headings: {broken}"


def test_readme_test_command_is_what_ci_runs():
    ci = [line for line in (ROOT / ".ci" / "run").read_text().splitlines()
          if line.strip() and not line.startswith("#") and not line.startswith(("set ", "cd "))]
    blocks = [block.strip() for block in _bash_blocks(README.read_text(encoding="utf-8"))]
    test_blocks = [block for block in blocks if "pytest" in block]
    assert ci, ".ci/run runs nothing"
    assert test_blocks == [ci[-1]], (
        f"README's test command {test_blocks} differs from .ci/run's {ci[-1]!r}")


def test_readme_demo_command_is_unchanged():
    blocks = [block.strip() for block in _bash_blocks(README.read_text(encoding="utf-8"))]
    assert DEMO_COMMAND in blocks


def test_measured_numbers_are_current():
    assert RESULTS_README.exists(), REGENERATE
    assert RESULTS_README.read_text() == _generator().results_readme(), REGENERATE


def test_results_readme_covers_every_results_file():
    text = RESULTS_README.read_text()
    results = RESULTS_README.parent
    names = [p.name for p in [*results.glob("*.json"), *results.glob("*.md")]
             if p.name != "README.md"]
    assert names
    missing = [name for name in names if f"[`{name}`]({name})" not in text]
    assert not missing, f"benchmarks/results/README.md leaves out {missing}"


def test_table_schemas_in_the_docs_are_current():
    generator = _generator()
    doc = generator.TABLES_DOC.read_text()
    assert doc == generator.with_schemas(doc, generator.schemas_section()), REGENERATE


def test_every_table_has_its_schema_in_the_docs():
    generator = _generator()
    doc = generator.TABLES_DOC.read_text()
    missing = [name for name in generator.tables_module().SCHEMAS
               if f"### `{name}`" not in doc]
    assert not missing, f"docs/tables.md has no schema for {missing}"


def test_user_docs_state_current_behaviour_not_history():
    markers = ("measured at commit", "(was ", "no longer", "used to ")
    found = [(page.name, marker) for page in [README, *DOCS]
             for marker in markers if marker in page.read_text(encoding="utf-8").lower()]
    assert not found, f"history in the user docs (it belongs in git log): {found}"
