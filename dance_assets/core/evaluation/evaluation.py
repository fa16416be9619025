"""Evaluating a trained classifier: frame and video predictions, confusion, per-class scores.

The study reported frame accuracy. A dance is a video, so predictions are also
aggregated per video by mean probability, with the share of the video's frames
that agree with the verdict. Pure functions on arrays and DataFrames; inference
lives in `core.learning.inference`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dance_assets.core.lake.errors import DanceAssetsError
from dance_assets.core.learning.learners import mean_by_video

_EPSILON = 1e-7


def frame_predictions(frames: pd.DataFrame, probabilities: np.ndarray,
                      classes: list[str]) -> pd.DataFrame:
    """One row per frame: true and predicted class, probability of the truth, its loss."""
    index = {name: i for i, name in enumerate(classes)}
    truth = frames["dance_class"].map(index).to_numpy()
    if np.isnan(truth.astype(float)).any():
        unknown = sorted(set(frames["dance_class"]) - set(classes))
        raise DanceAssetsError(f"classes unknown to the model: {', '.join(unknown)}")
    prob_true = probabilities[np.arange(len(frames)), truth.astype(int)]
    return pd.DataFrame({
        "frame_id": frames["frame_id"].to_numpy(),
        "video_id": frames["video_id"].to_numpy(),
        "participant": frames["participant"].to_numpy(),
        "true_class": frames["dance_class"].to_numpy(),
        "pred_class": np.array(classes)[probabilities.argmax(axis=1)],
        "prob_true": prob_true.astype(float),
        "loss": -np.log(np.clip(prob_true, _EPSILON, 1.0)).astype(float),
    })




def video_predictions(predictions: pd.DataFrame, probabilities: np.ndarray,
                      classes: list[str]) -> pd.DataFrame:
    """Per video: the class of highest mean probability, and how many frames agree."""
    mean = mean_by_video(probabilities, predictions["video_id"].to_numpy(), classes)
    mean.index.name = "video_id"
    verdict = mean.idxmax(axis=1)
    grouped = predictions.groupby("video_id")
    agreement = predictions.assign(verdict=predictions["video_id"].map(verdict)).pipe(
        lambda d: (d["pred_class"] == d["verdict"]).groupby(d["video_id"]).mean())
    return pd.DataFrame({
        "video_id": mean.index,
        "true_class": grouped["true_class"].first().reindex(mean.index).to_numpy(),
        "pred_class": verdict.to_numpy(),
        "prob_true": [mean.loc[v, t] for v, t in zip(
            mean.index, grouped["true_class"].first().reindex(mean.index), strict=True)],
        "n_frames": grouped.size().reindex(mean.index).to_numpy(),
        "agreement": agreement.reindex(mean.index).to_numpy(),
    }).reset_index(drop=True)


def confusion_counts(predictions: pd.DataFrame, classes: list[str]) -> pd.DataFrame:
    """Every (true, predicted) pair with its count, zeros included."""
    counts = pd.crosstab(predictions["true_class"], predictions["pred_class"])
    counts = counts.reindex(index=classes, columns=classes, fill_value=0)
    long = counts.stack().rename("n").reset_index()
    long.columns = ["true_class", "pred_class", "n"]
    return long.astype({"n": int})


def class_metrics(predictions: pd.DataFrame, classes: list[str]) -> pd.DataFrame:
    """Precision, recall, F1 and support per class (0 where undefined)."""
    rows = []
    for name in classes:
        predicted = predictions["pred_class"] == name
        actual = predictions["true_class"] == name
        hits = int((predicted & actual).sum())
        precision = hits / int(predicted.sum()) if predicted.any() else 0.0
        recall = hits / int(actual.sum()) if actual.any() else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append({"dance_class": name, "precision": precision, "recall": recall, "f1": f1,
                     "support": int(actual.sum())})
    return pd.DataFrame(rows)


def summary(predictions: pd.DataFrame, videos: pd.DataFrame,
            per_class: pd.DataFrame) -> dict[str, float | int]:
    """Frame and video accuracy, macro F1 over classes that occur, sizes."""
    present = per_class[per_class["support"] > 0]
    return {
        "frame_accuracy": float((predictions["pred_class"] == predictions["true_class"]).mean()),
        "video_accuracy": float((videos["pred_class"] == videos["true_class"]).mean()),
        "macro_f1": float(present["f1"].mean()) if len(present) else 0.0,
        "n_valid_frames": len(predictions),
        "n_valid_videos": len(videos),
    }


def top_losses(predictions: pd.DataFrame, n: int) -> pd.DataFrame:
    """The frames the model found hardest: highest loss first."""
    return predictions.nlargest(n, "loss")


def frames_flagged_by_several(top: dict[str, pd.DataFrame], minimum: int) -> pd.DataFrame:
    """Frames among the top losses of at least `minimum` models, with their mean loss."""
    if not top:
        return pd.DataFrame(columns=["frame_id", "n_models", "mean_loss", "models"])
    stacked = pd.concat([frame.assign(model=name) for name, frame in top.items()],
                        ignore_index=True)
    grouped = stacked.groupby("frame_id").agg(
        n_models=("model", "nunique"), mean_loss=("loss", "mean"),
        models=("model", lambda names: ", ".join(sorted(set(names)))))
    flagged = grouped[grouped["n_models"] >= minimum]
    return flagged.sort_values(["n_models", "mean_loss"], ascending=False).reset_index()
