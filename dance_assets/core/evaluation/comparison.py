"""The study's results beside ours: one table, Figure 4, the confusion matrices.

The study reported final frame accuracy under a random 80/20 frame split: ResNet18
97.64 %, the three models' mean 94.97 %. We show the same figure under the same
protocol, the honest participant-disjoint protocol beside it, video-level accuracy,
and the leak gap (random frames minus by participant) per model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from dance_assets.core.lake import tables
from dance_assets.core.lake.catalogue import (
    ARCHITECTURES,
    BY_PARTICIPANT,
    MODEL_NAMES,
    POSE_MODEL,
    PROTOCOLS,
    RANDOM_FRAMES,
)
from dance_assets.core.lake.lake import Lake
from dance_assets.core.lake.reports import (
    accuracy_curves_png,
    html_image,
    html_page,
    html_table,
    markdown_image,
    markdown_table,
)
from dance_assets.core.learning.card import ModelCard
from dance_assets.core.learning.registry import current_evaluations, model_status, read_cards

STUDY_ACCURACY = {"resnet18": 97.64, "average": 94.97}  # % (the study's abstract and text)


@dataclass
class ComparisonInputs:
    """Everything the comparison reads from the lake."""

    cards: dict[tuple[str, str], ModelCard]  # (protocol, arch) → model card
    metrics: pd.DataFrame  # model_metrics
    history: pd.DataFrame  # training_history
    class_scores: pd.DataFrame  # class_metrics
    reports: Path

    @classmethod
    def read(cls, lake: Lake) -> ComparisonInputs:
        return cls(read_cards(lake), tables.read_table(lake, "model_metrics"),
                   tables.read_table(lake, "training_history"),
                   tables.read_table(lake, "class_metrics"), lake.reports)

    @property
    def current_metrics(self) -> pd.DataFrame:
        """Evaluations of the models as they are now (not of an earlier training)."""
        return current_evaluations(self.metrics, self.cards)

    def status(self, protocol: str, arch: str) -> str:
        return model_status(self.cards, self.current_metrics, protocol, arch)


def _metric(metrics: pd.DataFrame, protocol: str, arch: str, column: str) -> float:
    row = metrics[(metrics["protocol"] == protocol) & (metrics["arch"] == arch)]
    return float(row[column].iloc[0]) * 100 if len(row) else np.nan


def _row(current: pd.DataFrame, name: str) -> dict[str, object]:
    row: dict[str, object] = {"model": name, "study_%": STUDY_ACCURACY.get(name, np.nan)}
    for protocol in PROTOCOLS:
        for column, label in (("frame_accuracy", "frame"), ("video_accuracy", "video")):
            row[f"{protocol}_{label}_%"] = _metric(current, protocol, name, column)
    row["leak_gap_points"] = row[f"{RANDOM_FRAMES}_frame_%"] - row[f"{BY_PARTICIPANT}_frame_%"]
    return row


def study_table(inputs: ComparisonInputs) -> pd.DataFrame:
    """The study's three CNNs and their mean (the study's accuracy beside ours under both
    protocols, the leak gap), then the pose model, which the study did not have."""
    current = inputs.current_metrics
    table = pd.DataFrame([_row(current, arch) for arch in ARCHITECTURES])
    mean = table.drop(columns=["model"]).mean(skipna=False)
    mean["study_%"] = STUDY_ACCURACY["average"]
    return pd.concat([table, pd.DataFrame([{"model": "mean of the three", **mean}]),
                      pd.DataFrame([_row(current, POSE_MODEL)])], ignore_index=True).round(2)


def _status_table(inputs: ComparisonInputs) -> pd.DataFrame:
    return pd.DataFrame([
        {"model": arch, **{protocol: inputs.status(protocol, arch) for protocol in PROTOCOLS}}
        for arch in MODEL_NAMES])


def _figure4(inputs: ComparisonInputs) -> bytes | None:
    if inputs.history.empty:
        return None
    panels = {}
    for protocol in PROTOCOLS:
        runs = inputs.history[inputs.history["protocol"] == protocol]
        panels[protocol] = {arch: group.sort_values("epoch")
                            for arch, group in runs.groupby("arch")}
    classes = next(iter(inputs.cards.values())).classes if inputs.cards else []
    return accuracy_curves_png(panels, chance=1 / len(classes) if classes else None)


_EXPLANATION = (
    "The study split frames at random 80/20, so frames of the same dancer, and of the same "
    "video, sit on both sides: its accuracy measures recognising a dancer's own moves seen "
    "a second apart. `by_participant` keeps every dancer on one side, which is what "
    "scoring a new dancer needs. Video accuracy takes the class of highest mean "
    "probability over a video's validation frames. The study's figures are for "
    "`random_frames` (its protocol); the copy of the paper available to us gives "
    "ResNet18's and the mean only. `pose_sequence` goes beyond the study: it reads only "
    "the dancer's normalised skeleton, never the room or the outfit.")


def comparison_markdown(inputs: ComparisonInputs, table: pd.DataFrame) -> str:
    figure = _figure4(inputs)
    parts = ["# Model comparison", "", _EXPLANATION, "", markdown_table(table), "",
             "Status of each model:", "", markdown_table(_status_table(inputs))]
    if figure:
        parts += ["", "## Accuracy by epoch (the study's Figure 4)", "",
                  markdown_image(figure, "accuracy by epoch")]
    return "\n".join(parts) + "\n"


def comparison_page(inputs: ComparisonInputs, table: pd.DataFrame, lake: Lake) -> str:
    """reports/index.html: everything in one self-contained page."""
    sections = [("The study's table, and ours",
                 f"<p class='note'>{_EXPLANATION.replace('`', '')}</p>" + html_table(table)
                 + html_table(_status_table(inputs)))]
    figure = _figure4(inputs)
    if figure:
        sections.append(("Accuracy by epoch (the study's Figure 4)",
                         html_image(figure, "validation accuracy by epoch")))
    for protocol in PROTOCOLS:
        images = [html_image((lake.reports / protocol / arch / "confusion.png").read_bytes(),
                             f"{arch}, {protocol}")
                  for arch in MODEL_NAMES
                  if inputs.status(protocol, arch) == "evaluated"
                  and (lake.reports / protocol / arch / "confusion.png").is_file()]
        if images:
            sections.append((f"Confusion matrices, {protocol} (the study's Figures 5-7)",
                             f"<div class='grid'>{''.join(images)}</div>"))
    current = inputs.class_scores.merge(
        inputs.current_metrics[["protocol", "arch"]], on=["protocol", "arch"])
    if not current.empty:
        f1 = current.pivot_table(index="dance_class", columns=["protocol", "arch"],
                                 values="f1").round(3)
        f1.columns = [f"{p} {a}" for p, a in f1.columns]
        sections.append(("F1 per class", html_table(f1.reset_index())))
    hardest = [html_image((lake.reports / p / a / "top_losses.png").read_bytes(),
                          f"hardest validation frames: {a}, {p} (true class, then >predicted)")
               for p in PROTOCOLS for a in MODEL_NAMES
               if inputs.status(p, a) == "evaluated"
               and (lake.reports / p / a / "top_losses.png").is_file()]
    if hardest:
        sections.append(("Top-loss frames (the study's section 3.3)",
                         f"<div class='grid'>{''.join(hardest)}</div>"))
    queue = tables.read_table(lake, "review_queue")
    picture = lake.reports / "review_queue.png"
    if not queue.empty and picture.is_file():
        sections.append(("Review queue: hard for several models",
                         "<p class='note'>Decide with <code>dance-assets review exclude|include "
                         "FRAME_ID</code>; an exclusion leaves the next frame_manifest.</p>"
                         + html_image(picture.read_bytes(), "the first 24, in this order")
                         + html_table(queue.drop(columns=["path"]))))
    return html_page("Dance classification: the study and this pipeline", sections)
