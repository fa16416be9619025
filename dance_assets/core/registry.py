"""Which models exist in the lake, and which of them are evaluated as they are now.

A retrain that its accuracy check blocks leaves a new model card beside the old
model's evaluation rows (predictions, metrics). Everything that reads evaluations
(the comparison, the review queue, the choice of a model for scoring) must keep only
rows of the models as they are now; this module is where that is decided.
"""

from __future__ import annotations

import json

import pandas as pd

from dance_assets.core import tables
from dance_assets.core.artifacts import CARD_NAME
from dance_assets.core.lake import PROTOCOLS, Lake
from dance_assets.core.pose_model import MODEL_NAMES

ModelKey = tuple[str, str]  # (protocol, arch)


def read_cards(lake: Lake) -> dict[ModelKey, dict]:
    """Every trained model's card, keyed by (protocol, arch)."""
    cards = {}
    for protocol in PROTOCOLS:
        for arch in MODEL_NAMES:
            path = lake.model_dir(protocol, arch) / CARD_NAME
            if path.is_file():
                cards[(protocol, arch)] = json.loads(path.read_text())
    return cards


def current_evaluations(metrics: pd.DataFrame, cards: dict[ModelKey, dict]) -> pd.DataFrame:
    """Rows of `model_metrics` that evaluate the models as they are now."""
    if metrics.empty:
        return metrics
    trained = metrics.apply(
        lambda r: cards.get((r["protocol"], r["arch"]), {}).get("trained_at"), axis=1)
    return metrics[metrics["model_trained_at"] == trained]


def of_current_models(rows: pd.DataFrame, current: pd.DataFrame) -> pd.DataFrame:
    """The rows (predictions, confusion...) of the models that `current` evaluates."""
    keys = current[["protocol", "arch"]].drop_duplicates()
    return rows.merge(keys, on=["protocol", "arch"])[rows.columns]


def current_models(lake: Lake) -> pd.DataFrame:
    """`model_metrics` rows of the lake's models as they are now."""
    return current_evaluations(tables.read_table(lake, "model_metrics"), read_cards(lake))


def model_status(cards: dict[ModelKey, dict], current: pd.DataFrame, protocol: str,
                 arch: str) -> str:
    """Whether a model is trained, and evaluated as it is now, in words for a person."""
    if (protocol, arch) not in cards:
        return "not trained"
    if ((current["protocol"] == protocol) & (current["arch"] == arch)).any():
        return "evaluated"
    return "not evaluated (accuracy not clearly above chance)"
