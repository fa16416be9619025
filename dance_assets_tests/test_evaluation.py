"""Evaluation metrics against hand-computed values, and the reports built for real."""

from __future__ import annotations

import math
import re

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from dance_assets.core.evaluation.evaluation import (
    class_metrics,
    confusion_counts,
    frame_predictions,
    frames_flagged_by_several,
    summary,
    video_predictions,
)
from dance_assets.core.lake import tables
from dance_assets.core.lake.artifacts import CARD_NAME
from dance_assets.core.lake.lake import Lake
from dance_assets.core.lake.warehouse import query
from dance_assets.core.learning.card import write_card
from dance_assets.core.learning.registry import current_evaluations, model_status, of_current_models
from dance_assets_tests.helpers import (
    TINY_TRAIN,
    materialize,
    model_card,
    resources_for,
    small_video_frames,
)

CLASSES = ["a", "b", "c"]
# Six validation frames from three videos. By hand:
#   predicted  a b a | b c | a      truth a a a | b b | c      → 3 of 6 frames right
#   class a: predicted 3 times, 2 right → P 2/3; 3 true a, 2 found → R 2/3; F1 2/3
#   class b: P 1/2, R 1/2, F1 1/2;  class c: P 0, R 0, F1 0   → macro F1 7/18
#   video means: v1 [.567 .333 .1] → a (right, 2 of 3 frames agree)
#                v2 [.15 .55 .3]   → b (right, 1 of 2 agree); v3 → a (wrong, 1 of 1)
PROBABILITIES = np.array([[.7, .2, .1], [.4, .5, .1], [.6, .3, .1],
                          [.1, .8, .1], [.2, .3, .5], [.5, .2, .3]])
FRAMES = pd.DataFrame({
    "frame_id": [f"f{i}" for i in range(6)],
    "video_id": ["v1", "v1", "v1", "v2", "v2", "v3"],
    "participant": ["p1", "p1", "p1", "p2", "p2", "p3"],
    "dance_class": ["a", "a", "a", "b", "b", "c"],
})


def test_frame_predictions_and_losses():
    predictions = frame_predictions(FRAMES, PROBABILITIES, CLASSES)
    assert list(predictions["pred_class"]) == ["a", "b", "a", "b", "c", "a"]
    assert predictions["prob_true"].tolist() == pytest.approx([.7, .4, .6, .8, .3, .3])
    assert predictions.loc[0, "loss"] == pytest.approx(-math.log(0.7))


def test_per_class_scores_and_macro_f1():
    predictions = frame_predictions(FRAMES, PROBABILITIES, CLASSES)
    per_class = class_metrics(predictions, CLASSES).set_index("dance_class")
    assert per_class.loc["a", ["precision", "recall", "f1"]].tolist() == pytest.approx(
        [2 / 3, 2 / 3, 2 / 3])
    assert per_class.loc["b", ["precision", "recall", "f1"]].tolist() == pytest.approx(
        [.5, .5, .5])
    assert per_class.loc["c", ["precision", "recall", "f1"]].tolist() == [0, 0, 0]
    assert per_class["support"].tolist() == [3, 2, 1]
    videos = video_predictions(predictions, PROBABILITIES, CLASSES)
    scores = summary(predictions, videos, per_class.reset_index())
    assert scores["frame_accuracy"] == pytest.approx(0.5)
    assert scores["macro_f1"] == pytest.approx(7 / 18)
    assert scores["video_accuracy"] == pytest.approx(2 / 3)
    assert (scores["n_valid_frames"], scores["n_valid_videos"]) == (6, 3)


def test_video_aggregation_by_mean_probability():
    predictions = frame_predictions(FRAMES, PROBABILITIES, CLASSES)
    videos = video_predictions(predictions, PROBABILITIES, CLASSES).set_index("video_id")
    assert videos["pred_class"].to_dict() == {"v1": "a", "v2": "b", "v3": "a"}
    assert videos["agreement"].tolist() == pytest.approx([2 / 3, 1 / 2, 1.0])
    assert videos["n_frames"].tolist() == [3, 2, 1]
    assert videos.loc["v1", "prob_true"] == pytest.approx(1.7 / 3)


def test_confusion_sums_equal_validation_counts():
    predictions = frame_predictions(FRAMES, PROBABILITIES, CLASSES)
    confusion = confusion_counts(predictions, CLASSES)
    assert len(confusion) == 9 and confusion["n"].sum() == len(FRAMES)
    rows = confusion.groupby("true_class")["n"].sum()
    assert rows.to_dict() == {"a": 3, "b": 2, "c": 1}
    cell = confusion.set_index(["true_class", "pred_class"])["n"]
    assert (cell[("a", "a")], cell[("a", "b")], cell[("c", "a")]) == (2, 1, 1)


def test_review_queue_keeps_frames_hard_for_several_models():
    top = {
        "alexnet": pd.DataFrame({"frame_id": ["x", "y", "z"], "loss": [3.0, 2.0, 1.0]}),
        "resnet18": pd.DataFrame({"frame_id": ["y", "x"], "loss": [4.0, 1.0]}),
        "squeezenet1_0": pd.DataFrame({"frame_id": ["y", "w"], "loss": [2.0, 5.0]}),
    }
    flagged = frames_flagged_by_several(top, minimum=2)
    assert flagged["frame_id"].tolist() == ["y", "x"]
    assert flagged["n_models"].tolist() == [3, 2]
    assert flagged.loc[0, "mean_loss"] == pytest.approx(8 / 3)
    assert flagged.loc[1, "models"] == "alexnet, resnet18"


def test_only_the_current_models_evaluations_count():
    """A retrain blocked by its check leaves a new card beside the old model's rows."""
    metrics = pd.DataFrame({"protocol": ["by_participant"] * 2, "arch": ["alexnet", "resnet18"],
                            "model_trained_at": ["old", "t2"]})
    cards = {("by_participant", "alexnet"): model_card(training={"trained_at": "new"}),
             ("by_participant", "resnet18"): model_card(training={"trained_at": "t2"})}
    current = current_evaluations(metrics, cards)
    assert current["arch"].tolist() == ["resnet18"]
    predictions = pd.DataFrame({"protocol": ["by_participant"] * 3, "frame_id": ["a", "b", "c"],
                                "arch": ["alexnet", "resnet18", "resnet18"]})
    kept = of_current_models(predictions, current)
    assert kept["frame_id"].tolist() == ["b", "c"]
    assert list(kept.columns) == list(predictions.columns)
    assert model_status(cards, current, "by_participant", "alexnet").startswith("not evaluated")
    assert model_status(cards, current, "random_frames", "alexnet") == "not trained"


def _predictions(arch: str, losses: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame([{"arch": arch, "protocol": "by_participant", "frame_id": frame,
                          "loss": loss} for frame, loss in losses.items()])


def _evaluated(lake, arch: str, losses: dict[str, float], evaluated: str,
               trained: str) -> dict[str, pd.DataFrame]:
    """An evaluation's predictions and metrics as its input hands them over, of a model
    whose card (written under `lake`) says it was trained at `trained`."""
    write_card(lake.model_dir("by_participant", arch) / CARD_NAME,
               model_card(training={"trained_at": trained}))
    return {"predictions": _predictions(arch, losses),
            "model_metrics": pd.DataFrame([{"arch": arch, "protocol": "by_participant",
                                            "model_trained_at": evaluated}])}


def test_review_queue_is_a_function_of_the_evaluations(tmp_path):
    """Called on small tables: a frame is queued when at least two models as they are now
    have it among their top losses; a model retrained since its evaluation (its check
    blocked the new one) does not vote. The lake gives only the cards and the pictures."""
    from dance_assets.assets.evaluation import ReviewQueueConfig, review_queue
    from dance_assets.resources import LakeResource

    lake = Lake.resolve(tmp_path / "lake")
    manifest = small_video_frames(lake)["frames"]
    x, y, z, w = manifest["frame_id"].iloc[[1, 2, 5, 6]]
    result = review_queue(
        context=dg.build_asset_context(), config=ReviewQueueConfig(top_k=2, min_models=2),
        lake=LakeResource(root=str(lake.root)), frame_manifest=manifest,
        alexnet=_evaluated(lake, "alexnet", {x: 3.0, z: 2.0, y: 0.1, w: 0.2}, "t1", "t1"),
        resnet18=_evaluated(lake, "resnet18", {x: 2.0, y: 1.5, z: 0.1}, "t2", "t2"),
        squeezenet1_0=_evaluated(lake, "squeezenet1_0", {y: 4.0, z: 3.0}, "old", "new"),
        pose_sequence={"predictions": _predictions("pose_sequence", {}),
                       "model_metrics": tables.empty_frame("model_metrics")})
    queue = result.value
    assert queue["frame_id"].tolist() == [x]  # y and z only with the stale squeezenet1_0
    assert queue["n_models"].tolist() == [2] and queue["models"].tolist() == [
        "alexnet, resnet18"]
    assert queue["path"].tolist() == manifest.loc[manifest["frame_id"] == x, "path"].tolist()
    assert list(queue.columns) == tables.SCHEMAS["review_queue"].names
    assert result.metadata["dagster/row_count"] == 1
    assert (lake.reports / "review_queue.png").is_file()
    assert not list(lake.root.rglob("*.parquet"))  # storing it is the IO manager's


@pytest.fixture
def evaluated_tiny(tmp_path, trained_tiny_original):
    """All four models trained and evaluated on the tiny lake (check relaxed: tiny is
    tiny), in a copy of the instance that recorded it, which holds video_frames' metadata
    too, whose pictures the UI shows."""
    with trained_tiny_original.copy(tmp_path) as (instance, lake):
        yield instance, lake


@pytest.mark.slow
def test_reports_exist_embed_their_images_and_feed_the_views(evaluated_tiny):
    from dance_assets.assets.evaluation import model_comparison, review_queue

    instance, lake = evaluated_tiny
    result = materialize([model_comparison, review_queue], instance=instance,
                         resources=resources_for(lake),
                         run_config={"ops": {"review_queue": {"config": {"top_k": 4}}}})
    assert result.success
    page = (lake.reports / "index.html").read_text()
    images = re.findall(r'<img src="([^"]+)"', page)
    assert len(images) >= 1 + 8  # Figure 4 and eight confusion matrices at least
    assert all(src.startswith("data:image/png;base64,") for src in images)
    assert "97.64" in page and "94.97" in page and "leak_gap_points" in page
    assert "pose_sequence" in page and "mean of the three" in page
    markdown = (lake.reports / "comparison.md").read_text()
    assert markdown.startswith("# Model comparison") and "data:image/png;base64," in markdown
    for protocol in ("random_frames", "by_participant"):
        for arch in ("alexnet", "resnet18", "squeezenet1_0", "pose_sequence"):
            assert (lake.reports / protocol / arch / "confusion.png").is_file()
    for view in ("predictions", "video_predictions", "confusion", "model_metrics",
                 "review_queue", "class_metrics"):
        assert len(query(lake, f"SELECT * FROM {view}").columns) > 3, view
    metrics = query(lake, "SELECT * FROM model_metrics")
    assert len(metrics) == 8 and metrics["frame_accuracy"].between(0, 1).all()
    counts = query(lake, """SELECT p.arch, p.protocol, count(*) AS n, any_value(m.n_valid_frames)
                            AS expected FROM predictions p JOIN model_metrics m USING (arch,
                            protocol) GROUP BY ALL""")
    assert (counts["n"] == counts["expected"]).all()
    queue = tables.read_table(lake, "review_queue")
    assert not queue.empty and (queue["n_models"] >= 2).all()
    _every_metadata_picture_fits_the_ui(instance)


def _every_metadata_picture_fits_the_ui(instance: dg.DagsterInstance) -> None:
    """No picture in any asset's metadata is wider than the UI draws at its own size."""
    import base64
    import io

    from PIL import Image

    from dance_assets.core.lake.reports import UI_IMAGE_WIDTH

    widths = {}
    for key in instance.get_asset_keys():
        for record in instance.fetch_materializations(key, limit=100).records:
            for name, value in record.asset_materialization.metadata.items():
                for data in re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)",
                                       str(getattr(value, "value", ""))):
                    picture = Image.open(io.BytesIO(base64.b64decode(data)))
                    widths[f"{key.to_user_string()}: {name}"] = picture.width
    assert {"models/resnet18: accuracy_by_epoch", "evaluation/resnet18: confusion_matrix",
            "model_comparison: comparison", "video_frames: contact_sheet"} <= set(widths)
    assert {name: w for name, w in widths.items() if w > UI_IMAGE_WIDTH} == {}


@pytest.mark.slow
def test_a_model_no_better_than_guessing_is_not_evaluated(instance, curated_tiny_lake):
    from dance_assets.assets.evaluation import evaluation_assets
    from dance_assets.assets.models import model_assets
    from dance_assets.resources import TorchComputeResource

    lake = curated_tiny_lake
    strict = {**TINY_TRAIN, "significance": 1e-9}
    resources = {**resources_for(lake), "torch_compute": TorchComputeResource()}
    trained = materialize([model_assets[0]], partition_key="random_frames",
                          instance=instance, resources=resources, raise_on_error=False,
                          run_config={"ops": {model_assets[0].op.name: {"config": strict}}})
    assert not trained.success  # the blocking check failed
    # Even launched on its own, the evaluation refuses.
    alone = dg.materialize([evaluation_assets[0]], partition_key="random_frames",
                           instance=instance, resources=resources, raise_on_error=False)
    assert not alone.success
    message = next(e for e in alone.all_events if e.is_step_failure
                   ).event_specific_data.error.message
    assert "not clearly above chance" in message
