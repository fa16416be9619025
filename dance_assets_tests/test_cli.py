"""The `dance-assets` command: demo end to end, read-only SQL, one-line errors."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dance_assets.assets.models import TrainConfig
from dance_assets.cli import main
from dance_assets_tests.helpers import TINY, counting_ffmpeg, reads_of


@pytest.fixture(scope="module")
def demo_lake(tmp_path_factory, ingested_tiny_original) -> Path:
    """A tiny lake after `dance-assets demo --profile tiny`, with its own DAGSTER_HOME: a
    demo stopped with Ctrl-C as its second CNN starts training (what it printed is in
    stopped.json), then `demo` again, in this process (its output in demo.out and
    demo.err). The lake starts as a copy of the session's ingested tiny lake (its files'
    times kept): the demo's ingest runs record every class without extracting again
    (test_ingest extracts)."""
    import shutil

    from dance_assets.core.ingest.video import find_ffmpeg
    from dance_assets.core.synthetic.lessons import teacher_spec
    from dance_assets.core.synthetic.writing import generate

    root = tmp_path_factory.mktemp("cli")
    lake = root / "lake"
    shutil.copytree(ingested_tiny_original.root, lake, symlinks=True)
    # As `generate` leaves them: a teacher per dance beside raw/.
    generate(lake / "references", [teacher_spec(d.name, 0, TINY.seconds, TINY.video_size)
                                   for d in sorted((lake / "raw").iterdir())], find_ffmpeg())
    previous = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(root / "dagster_home")
    try:
        (root / "stopped.json").write_text(json.dumps(_demo_stopped_by_ctrl_c(lake)))
        with (open(root / "demo.out", "w") as printed, contextlib.redirect_stdout(printed),
              open(root / "demo.err", "w") as said, contextlib.redirect_stderr(said)):
            assert main(["demo", "--profile", "tiny", "--lake", str(lake)]) == 0
    finally:
        if previous is None:
            os.environ.pop("DAGSTER_HOME", None)
        else:
            os.environ["DAGSTER_HOME"] = previous
    return lake


def _trained_by(stderr: str) -> list[str]:
    """The CNN steps that started training, in order, from a demo's log lines."""
    return [line.split(" - ")[0].split()[-1].removeprefix("models__")
            for line in stderr.splitlines() if "training has the cpu" in line]


def _demo_stopped_by_ctrl_c(lake: Path) -> dict:
    """`demo` in a process of its own, sent SIGINT with every process it started (as a
    terminal's Ctrl-C) when its second CNN starts training."""
    import signal

    demo = subprocess.Popen([sys.executable, "-m", "dance_assets.cli", "demo", "--profile",
                             "tiny", "--lake", str(lake)], stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True, start_new_session=True)
    assert demo.stderr is not None
    said = []
    for line in demo.stderr:
        said.append(line)
        if len(_trained_by("".join(said))) == 2:
            os.killpg(demo.pid, signal.SIGINT)
            break
    said.append(demo.stderr.read())
    return {"returncode": demo.wait(timeout=120), "stderr": "".join(said)}


@pytest.fixture(scope="module")
def sql_lake(tmp_path_factory, ingested_tiny_original) -> Path:
    """A copy of the tiny lake after ingest: what the SQL command reads, without the demo."""
    import shutil

    lake = tmp_path_factory.mktemp("sql") / "lake"
    shutil.copytree(ingested_tiny_original.root, lake, symlinks=True)
    return lake


def _parquet_digest(lake: Path) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((lake / "tables").rglob("*.parquet"))}


@pytest.mark.slow
def test_demo_then_sql_shows_every_class(demo_lake, capsys):
    capsys.readouterr()
    assert main(["sql", "--lake", str(demo_lake), "--format", "csv",
                 "SELECT dance_class, count(*) AS n FROM frames GROUP BY 1 ORDER BY 1"]) == 0
    assert capsys.readouterr().out == "dance_class,n\nrenegade,12\nsavage,12\nsay_so,12\n"


@pytest.mark.slow
def test_demo_runs_are_recorded_in_dagster_home(demo_lake):
    home = demo_lake.parent / "dagster_home"
    assert (home / "dagster.yaml").is_file()
    assert any(home.rglob("*.db"))


def test_sql_json_and_table_output(sql_lake, capsys):
    capsys.readouterr()
    main(["sql", "--lake", str(sql_lake), "--format", "json",
          "SELECT status, count(*) AS n FROM videos GROUP BY 1"])
    assert json.loads(capsys.readouterr().out) == [{"status": "ok", "n": 9}]
    main(["sql", "--lake", str(sql_lake), "SELECT count(*) AS n FROM frames"])
    assert capsys.readouterr().out.split() == ["n", "36"]


def test_sql_works_from_any_directory(sql_lake, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert main(["sql", "--lake", str(sql_lake), "--format", "csv",
                 "SELECT count(*) FROM videos"]) == 0
    assert capsys.readouterr().out.strip().endswith("9")


@pytest.mark.parametrize("statement", [
    "INSERT INTO videos SELECT * FROM videos",
    "DROP VIEW frames",
    "COPY (SELECT * FROM frames) TO 'tables/frames/evil.parquet'",
    "ATTACH 'other.duckdb' AS other",
    "CREATE TABLE t AS SELECT 1",
    "SELECT 1; DELETE FROM videos",
])
def test_sql_refuses_writes_and_leaves_the_truth_alone(sql_lake, capsys, statement):
    before = _parquet_digest(sql_lake)
    capsys.readouterr()
    assert main(["sql", "--lake", str(sql_lake), statement]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: refused") and error.count("\n") == 1
    assert _parquet_digest(sql_lake) == before


def test_sql_cannot_read_outside_the_lake(sql_lake, capsys):
    assert main(["sql", "--lake", str(sql_lake), "SELECT * FROM read_csv('/etc/passwd')"]) == 2
    assert "error: query failed" in capsys.readouterr().err


def test_sql_on_an_empty_lake_says_what_to_run(tmp_path, capsys):
    assert main(["sql", "--lake", str(tmp_path), "SELECT 1"]) == 2
    assert "dance-assets demo" in capsys.readouterr().err


def test_errors_are_one_line_never_a_traceback(sql_lake):
    for args in (["sql", "SELECT * FROM no_such_view"], ["sql", "SELEC oops"],
                 ["demo", "--profile", "tiny", "--lake", "/proc/not_a_lake"],
                 ["generate", "--classes", "13", "--lake", str(sql_lake)]):
        lake_args = [] if "--lake" in args else ["--lake", str(sql_lake)]
        done = subprocess.run([sys.executable, "-m", "dance_assets.cli", *args, *lake_args],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode != 0, args
        assert "Traceback" not in done.stderr, done.stderr
        (line,) = done.stderr.strip().splitlines()[-1:]
        assert line.startswith("error: ") and "unexpected" not in line, done.stderr


def test_an_instance_written_by_an_older_dance_assets_gets_the_checking_run_queue(
        tmp_path, monkeypatch):
    from dance_assets.runs import dagster_home

    older, theirs = tmp_path / "older", tmp_path / "theirs"
    for home, text in ((older, "# Written by dance-assets. An older release.\n"),
                       (theirs, "telemetry:\n  enabled: true\n")):
        home.mkdir()
        (home / "dagster.yaml").write_text(text)
        monkeypatch.setenv("DAGSTER_HOME", str(home))
        dagster_home()
    assert "SettingsCheckingRunCoordinator" in (older / "dagster.yaml").read_text()
    assert (theirs / "dagster.yaml").read_text() == "telemetry:\n  enabled: true\n"


@pytest.mark.slow
def test_demo_ends_by_scoring_a_held_out_dancer(demo_lake):
    from dance_assets.core.lake import tables
    from dance_assets.core.lake.lake import Lake

    lake = Lake.resolve(demo_lake)
    scores = tables.read_table(lake, "scores")
    held_out = tables.read_table(lake, "frame_manifest").query(
        "split_by_participant == 'valid'")
    # Each demo scores her once, the stopped one (before its CNNs) and the one after.
    assert len(scores) == 2 and scores["path"].nunique() == 1
    assert scores.loc[0, "target_dance"] in set(held_out["dance_class"])
    assert scores.loc[0, "reference_kind"] == "teacher video"
    assert scores.loc[0, "reference_path"].endswith("teacher.mp4")
    assert (lake.root / scores.loc[0, "report"]).is_file()


@pytest.mark.slow
def test_score_with_the_lakes_classifier_and_teacher_reads_her_video_once(demo_lake,
                                                                          tmp_path):
    """`score --dance` in a lake with a classifier and the dance's teacher: one decoding
    of her video gives her dense poses, her sound and the classifier's frames, whose
    verdict is the one the classifier gives from frames extracted on their own. Nothing
    is written into the lake (keep=False), which other tests read."""
    from dance_assets.core.lake.lake import Lake
    from dance_assets.core.scoring.scoring import score, score_ffmpeg
    from dance_assets.core.scoring.verdict import choose_model, classify

    lake = Lake.resolve(demo_lake)
    video = sorted((lake.raw / "savage").glob("*.mp4"))[0]
    ffmpeg, log = counting_ffmpeg(tmp_path)
    # Named: a tiny model may fail its accuracy check, and then no classifier is chosen.
    result = score(lake, video, ffmpeg, dance="savage", arch="resnet18", keep=False)
    (hers,) = reads_of(log, video)
    assert len(hers) == 2, hers  # a probe, then one decoding
    assert ".jpg" in hers[1] and "rgb24" in hers[1] and "f32le" in hers[1]
    assert result.reference.kind == "teacher video" and result.verdict is not None
    alone = classify(video, choose_model(lake, "resnet18", None), score_ffmpeg())
    assert result.verdict.predicted == alone.predicted
    assert len(result.verdict.shown.seconds) == len(alone.shown.seconds)


@pytest.mark.slow
def test_a_demo_stopped_during_training_trains_only_what_is_missing(demo_lake):
    """Ctrl-C while a CNN trains: the models that finished are kept, and `demo` again
    trains the rest only, to the same model a training never stopped gives."""
    from dance_assets.core.curation.splits import split_column
    from dance_assets.core.lake import tables
    from dance_assets.core.lake.catalogue import ARCHITECTURES, RANDOM_FRAMES
    from dance_assets.core.lake.lake import Lake
    from dance_assets.core.learning.frame_cache import kept_frames_cache
    from dance_assets.core.learning.training import frame_sets, train
    from dance_assets.resources import TorchComputeResource

    stopped = json.loads((demo_lake.parent / "stopped.json").read_text())
    assert stopped["returncode"] == 130, stopped["stderr"]
    assert "every model that finished is kept" in stopped["stderr"]
    finished, interrupted = _trained_by(stopped["stderr"])  # both under random_frames
    again = (demo_lake.parent / "demo.err").read_text()
    assert f"random_frames: {finished} already trained" in again
    assert sorted(_trained_by(again)) == sorted(
        [*(a for a in ARCHITECTURES if a != finished), *ARCHITECTURES])  # and by_participant

    # The model trained again is the one a training never stopped gives (seeded).
    lake = Lake.resolve(demo_lake)
    manifest = tables.read_table(lake, "frame_manifest")
    settings = TrainConfig(**TINY.train_config(interrupted)).settings()
    classes = sorted(manifest.loc[manifest["keep"], "dance_class"].unique())
    cache = kept_frames_cache(lake, manifest, settings.image_size, settings.input)
    sets = frame_sets(cache, manifest, split_column(RANDOM_FRAMES), classes)
    direct = train(interrupted, *sets, classes, settings, TorchComputeResource().settings(),
                   report=lambda _: None).history
    resumed = tables.read_table(lake, "training_history").query(
        f"protocol == '{RANDOM_FRAMES}' and arch == '{interrupted}'").sort_values("epoch")
    assert resumed["accuracy"].tolist() == direct["accuracy"].tolist()
    assert resumed["train_loss"].tolist() == pytest.approx(direct["train_loss"].tolist(),
                                                           rel=1e-5)
