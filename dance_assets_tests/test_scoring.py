"""`dance-assets score` on the tiny profile's model: output, sense, and its errors."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from dance_assets.cli import main
from dance_assets.core.lake import tables
from dance_assets.core.lake.lake import Lake
from dance_assets.core.performance.movement import PART_NAMES
from dance_assets.core.scoring.scoring import score, score_ffmpeg
from dance_assets.core.scoring.verdict import choose_model
from dance_assets_tests.corpus import Expectation
from dance_assets_tests.helpers import TINY_TRAIN, in_fresh_python, materialize, resources_for

CLASSES = ["renegade", "savage", "say_so"]


@pytest.fixture(scope="module")
def scored_lake(tmp_path_factory, curated_tiny_original):
    """A tiny lake whose resnet18 trained long enough to know the tiny dances."""
    import shutil

    from dance_assets.assets.choreography import choreography
    from dance_assets.assets.evaluation import evaluation_assets
    from dance_assets.assets.models import model_assets
    from dance_assets.partitions import dance_class_partitions
    from dance_assets.resources import TorchComputeResource

    lake = Lake.resolve(tmp_path_factory.mktemp("scoring") / "lake")
    shutil.copytree(curated_tiny_original.root, lake.root, symlinks=True)  # ingested, curated
    resources = {**resources_for(lake), "torch_compute": TorchComputeResource()}
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(dance_class_partitions.name, CLASSES)
        assert materialize([choreography], instance=instance, resources=resources).success
        # The by_participant model is trained with Launchpad settings other than the
        # defaults; evaluation and score must follow its card.
        configs = {"random_frames": {**TINY_TRAIN, "epochs": 12},
                   "by_participant": {**TINY_TRAIN, "epochs": 12, **CARD_SETTINGS}}
        for protocol, config in configs.items():
            assert materialize(
                [model_assets[1], evaluation_assets[1]], partition_key=protocol,
                instance=instance, resources=resources,
                run_config={"ops": {model_assets[1].op.name: {"config": config}}}).success
    return lake


CARD_SETTINGS = {"input": "silhouette", "image_size": 48}


@pytest.mark.slow
def test_evaluation_and_score_follow_the_models_card(scored_lake):
    model = choose_model(scored_lake, "resnet18", "by_participant")
    assert (model.card.input, model.card.image_size) == ("silhouette", 48)
    # Evaluation read its frames from the decoded silhouettes at the card's size...
    assert list((scored_lake.root / "cache").glob("silhouette-48-*.npy"))
    metrics = tables.read_table(scored_lake, "model_metrics").set_index("protocol")
    assert metrics.loc["by_participant", "image_size"] == 48
    # ...and score prepares frames the same way: the ONNX graph only takes 48 px inputs.
    result = score(scored_lake, scored_lake.raw / "savage" / "p01.mp4", score_ffmpeg(),
                   dance="savage", arch="resnet18", protocol="by_participant")
    assert result.verdict.model.arch == "resnet18"
    assert result.verdict.shown.usable.any() and 0 <= result.feedback.score <= 100


@pytest.mark.slow
def test_score_prints_the_verdict_and_records_it(scored_lake, capsys):
    video = scored_lake.raw / "savage" / "p01.mp4"
    assert main(["score", str(video), "--dance", "savage", "--lake", str(scored_lake.root)]) == 0
    out = capsys.readouterr().out
    assert "looks like:" in out and "resnet18 / by_participant" in out
    assert "score for savage:" in out and "savage's routine, averaged over" in out
    assert "body parts: left arm " in out and "weakest moments: " in out
    scores = tables.read_table(scored_lake, "scores")
    assert len(scores) == 1 and scores.loc[0, "target_dance"] == "savage"
    row = scores.loc[0]
    assert row["reference_kind"] == "training performances" and pd.isna(row["offset_ms"])
    assert 0 <= row["target_score"] <= 100 and row["arch"] == "resnet18"
    assert all(0 <= row[part] <= 100 for part in ("left_arm", "right_arm", "torso"))
    for moment in json.loads(row["weakest"]):
        assert set(moment) == {"start_s", "end_s", "body_part", "what", "score"}
        assert moment["body_part"] in PART_NAMES and moment["start_s"] < moment["end_s"]
    report = scored_lake.root / row["report"]
    assert report.is_file() and "<video" in report.read_text()


@pytest.mark.slow
def test_score_shape(scored_lake):
    result = score(scored_lake, scored_lake.raw / "renegade" / "p02.mp4", score_ffmpeg(),
                   arch="resnet18", protocol="random_frames")
    per_second = result.verdict.per_second()
    assert list(per_second.columns) == ["second", "scored", "reason", "best_class"]
    assert len(per_second) == 4 and len(result.verdict.top) == 3
    assert result.reference.dance == result.verdict.predicted
    assert abs(sum(p for _, p in result.verdict.top) - 1) < 1e-3
    judged = result.feedback
    assert judged.offset_ms is None and judged.tempo is None  # an average has no timing
    assert set(judged.body_parts) == set(PART_NAMES)
    assert all(m.body_part in PART_NAMES for m in judged.weakest)
    assert all(m.start_s < m.end_s <= judged.video_s for m in judged.weakest)


@pytest.mark.slow
def test_own_dance_scores_higher_than_a_wrong_one_on_average(scored_lake):
    own, wrong = [], []
    for video in sorted(scored_lake.raw.glob("*/*.mp4")):
        dance = video.parent.name
        other = CLASSES[(CLASSES.index(dance) + 1) % len(CLASSES)]
        for target, scores in ((dance, own), (other, wrong)):
            scores.append(score(scored_lake, video, score_ffmpeg(), dance=target,
                                arch="resnet18", protocol="random_frames").feedback.score)
    assert sum(own) / len(own) > sum(wrong) / len(wrong) + 10


@pytest.mark.parametrize("args, message", [
    (["score", "/no/such/video.mp4"], "no such file: /no/such/video.mp4"),
    (["score", "{notes}"], "is not a usable video: plain text"),
    (["score", "{video}", "--dance", "macarena"], "unknown dance 'macarena'; known dances: "
                                                  "renegade, savage, say_so"),
    (["score", "{video}", "--arch", "vgg16"], "unknown --arch 'vgg16'"),
])
@pytest.mark.slow
def test_score_errors_are_one_clear_line(scored_lake, tmp_path, capsys, args, message):
    notes = tmp_path / "notes.mp4"
    notes.write_text("not a video\n")
    video = scored_lake.raw / "savage" / "p01.mp4"
    filled = [a.format(notes=notes, video=video) for a in args]
    assert main([*filled, "--lake", str(scored_lake.root)]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and message in error[0]


@pytest.mark.slow
def test_a_video_without_a_dancer_gets_one_clear_line(scored_lake, tmp_path, capsys):
    import subprocess

    room = tmp_path / "empty_room.mp4"
    subprocess.run([score_ffmpeg().binary, "-v", "error", "-f", "lavfi", "-i",
                    "color=c=0x8a7f70:s=180x320:d=4", "-pix_fmt", "yuv420p", str(room)],
                   check=True)
    assert main(["score", str(room), "--lake", str(scored_lake.root)]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1
    assert "no dancer found in most seconds of empty_room.mp4 (a pose in 0 of 4)" in error[0]


def test_no_trained_model_says_which_command_trains_one(tmp_path, tiny_raw, capsys):
    video = next(tiny_raw.glob("*/*.mp4"))
    assert main(["score", str(video), "--lake", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert "no trained model yet: run `dance-assets demo`" in error and "--reference" in error


def test_scoring_never_imports_torch_or_fastai():
    """Importing torch costs seconds; the scoring command is a fresh process per video."""
    assert in_fresh_python("import sys, dance_assets.cli, dance_assets.core.scoring.scoring, "
                           "dance_assets.core.scoring.verdict, "
                           "dance_assets.core.learning.inference; "
                           "print('torch' in sys.modules, 'fastai' in sys.modules)"
                           ) == ["False", "False"]


def _expected_fragments(video: Path, expectation: Expectation) -> list[str]:
    """What score's one line must say of an awkward file, in pieces: none shows a dancer,
    some are no video (with the reason the ingest records), one is not there at all."""
    reason = expectation.reason or ""
    if expectation.status != "rejected" or "outside raw/" in reason:
        # A test pattern, however it is packed, named or linked: nobody in it.
        return ["no dancer found in most ", video.name]
    if "broken symlink" in reason:
        return [f"no such file: {video}"]
    return [f"{video.name} is not a usable video: ", reason]


@pytest.mark.slow
def test_score_says_what_is_wrong_with_each_awkward_file(scored_lake, corpus, capsys):
    """Every file of the awkward corpus (codecs, rotations, audio only, empty, truncated,
    not a video, strange names) gets exit code 2 and the one line its trouble calls for."""
    corpus_lake, expectations = corpus
    for relative, expectation in sorted(expectations.items()):
        video = corpus_lake / relative
        code = main(["score", str(video), "--dance", "savage", "--lake",
                     str(scored_lake.root)])
        captured = capsys.readouterr()
        error = captured.err.strip().splitlines()
        assert code == 2 and len(error) == 1, (relative, captured.err)
        missing = [part for part in _expected_fragments(video, expectation)
                   if part not in error[0]]
        assert missing == [], (relative, error[0])


@pytest.mark.slow
def test_score_tells_the_dancer_nothing_but_the_answer(scored_lake):
    """MediaPipe's native start-up lines (TFLite, absl) stay out of the terminal."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "dance_assets.cli", "score",
                           str(scored_lake.raw / "say_so" / "p01.mp4"), "--lake",
                           str(scored_lake.root)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines() == [
        line for line in done.stderr.strip().splitlines() if line.startswith("scored in")]
    assert len(done.stderr.strip().splitlines()) == 1
