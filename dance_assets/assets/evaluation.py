"""Evaluation: per-model reports, the study's comparison side by side, the review queue."""

from datetime import UTC, datetime

import dagster as dg
import numpy as np
import pandas as pd
from pydantic import Field

from dance_assets.assets.curation import frame_manifest
from dance_assets.assets.failures import user_errors_fail_the_step
from dance_assets.assets.launchpad import LaunchpadConfig
from dance_assets.automation import follow_any_evaluation, follow_passing_models
from dance_assets.core.curation.splits import VALID, split_column
from dance_assets.core.evaluation.comparison import (
    ComparisonInputs,
    comparison_markdown,
    comparison_page,
    study_table,
)
from dance_assets.core.evaluation.evaluation import (
    class_metrics,
    confusion_counts,
    frame_predictions,
    frames_flagged_by_several,
    summary,
    top_losses,
    video_predictions,
)
from dance_assets.core.ingest.pose_features import frame_windows, skeletons_of
from dance_assets.core.lake import tables
from dance_assets.core.lake.catalogue import MODEL_NAMES, POSE_INPUT
from dance_assets.core.lake.lake import Lake, atomic_write_text
from dance_assets.core.lake.reports import (
    confusion_heatmap_png,
    contact_sheet,
    markdown_image,
    markdown_table,
    png_bytes,
    save_png,
)
from dance_assets.core.learning.card import ModelCard
from dance_assets.core.learning.frame_cache import kept_frames_cache
from dance_assets.core.learning.inference import (
    Network,
    load_network,
    predict_images,
    predict_windows,
)
from dance_assets.core.learning.registry import (
    accuracy_check,
    current_evaluations,
    of_current_models,
    read_cards,
)
from dance_assets.lake_tables import LAKE_TABLES, Tables, stores_tables, table_input
from dance_assets.partitions import split_protocol_partitions
from dance_assets.resources import LakeResource

TOP_LOSSES_SHOWN = 12
# What an evaluation writes, one partition per (protocol, arch) of each table; model_metrics
# last, as it ties the others to the model as it was trained.
EVALUATION_TABLES = ("predictions", "video_predictions", "confusion", "class_metrics",
                     "model_metrics")


def build_evaluation_asset(arch: str) -> dg.AssetsDefinition:
    """The evaluation asset for one model; all four come from here."""

    @dg.asset(
        key=dg.AssetKey(["evaluation", arch]),
        deps=[dg.AssetKey(["models", arch])],
        partitions_def=split_protocol_partitions,
        io_manager_key=LAKE_TABLES,
        dagster_type=dict,
        group_name="evaluation",
        kinds={"onnx", "parquet"},
        metadata=stores_tables(*EVALUATION_TABLES, arch=arch),
        automation_condition=follow_passing_models,
        description=f"{arch} on its protocol's validation frames: predictions, per-video "
        "verdicts, confusion matrix, per-class precision/recall/F1, top-loss frames.",
    )
    def evaluation(context: dg.AssetExecutionContext,
                   lake: LakeResource) -> dg.MaterializeResult:
        the_lake = lake.lake()
        protocol = context.partition_key
        with user_errors_fail_the_step():
            network = load_network(the_lake.model_dir(protocol, arch))
        card, classes = network.card, network.classes
        _refuse_models_that_learned_nothing(card)
        manifest = tables.read_table(the_lake, "frame_manifest")
        valid = manifest[manifest["keep"] & (manifest[split_column(protocol)] == VALID)]
        valid = valid[valid["dance_class"].isin(classes)].reset_index(drop=True)
        probabilities = _validation_probabilities(context, the_lake, manifest, valid, network)
        predictions = frame_predictions(valid, probabilities, classes)
        videos = video_predictions(predictions, probabilities, classes)
        confusion = confusion_counts(predictions, classes)
        per_class = class_metrics(predictions, classes)
        scores = summary(predictions, videos, per_class)

        keys = {"protocol": protocol, "arch": arch}
        rows = _evaluation_tables(keys, card, scores, {
            "predictions": predictions, "video_predictions": videos, "confusion": confusion,
            "class_metrics": per_class})
        pictures = _pictures(the_lake, keys, classes, confusion, predictions, valid)
        context.log.info(f"{arch} / {protocol}: frame accuracy {scores['frame_accuracy']:.3f}, "
                         f"video accuracy {scores['video_accuracy']:.3f}, "
                         f"macro F1 {scores['macro_f1']:.3f}")
        return dg.MaterializeResult(value=rows, metadata={
            **{k: round(v, 4) if isinstance(v, float) else v for k, v in scores.items()},
            "dagster/row_count": len(predictions),
            "per_class": dg.MetadataValue.md(markdown_table(per_class)),
            **pictures,
        })

    return evaluation


def _pictures(the_lake: Lake, keys: dict[str, str], classes: list[str],
              confusion: pd.DataFrame, predictions: pd.DataFrame,
              valid: pd.DataFrame) -> dict[str, dg.MetadataValue]:
    """The confusion heatmap and the top-loss frames: saved under reports/ for the
    report pages, and shown in the asset's metadata."""
    protocol, arch = keys["protocol"], keys["arch"]
    folder = the_lake.reports / protocol / arch
    heatmap = confusion_heatmap_png(confusion, classes, f"{arch}, {protocol}")
    save_png(folder / "confusion.png", heatmap)
    hardest = top_losses(predictions, TOP_LOSSES_SHOWN).merge(
        valid[["frame_id", "path"]], on="frame_id")
    losses_sheet = _top_losses_sheet(the_lake, hardest)
    save_png(folder / "top_losses.png", losses_sheet)
    return {
        "confusion_matrix": dg.MetadataValue.md(markdown_image(heatmap, "confusion")),
        "top_losses": dg.MetadataValue.md(
            markdown_table(hardest[["frame_id", "true_class", "pred_class", "loss"]]) +
            "\n\n" + markdown_image(losses_sheet, "top-loss frames")),
    }


def _evaluation_tables(keys: dict[str, str], card: ModelCard, scores: dict,
                       rows: Tables) -> Tables:
    """The evaluation's rows tagged with its model, and the model_metrics row that ties
    them to the model as it was trained."""
    metrics = pd.DataFrame([{
        **keys, **scores, "epochs": len(card.training.history), "image_size": card.image_size,
        "device": card.training.device, "pretrained": card.training.pretrained,
        "model_trained_at": card.training.trained_at, "evaluated_at": datetime.now(UTC)}])
    return {**{name: frame.assign(**keys) for name, frame in rows.items()},
            "model_metrics": metrics}


def _top_losses_sheet(the_lake: Lake, hardest: pd.DataFrame) -> bytes:
    """The hardest validation frames as a contact sheet, truth above the prediction."""
    return png_bytes(contact_sheet(
        [the_lake.absolute(p) for p in hardest["path"]],
        # PIL's built-in font has no arrow glyph: plain ASCII draws everywhere.
        [f"{t}\n>{p}" for t, p in zip(hardest["true_class"], hardest["pred_class"],
                                      strict=True)], columns=6, thumb_height=128))


def _validation_probabilities(context: dg.AssetExecutionContext, the_lake: Lake,
                              manifest: pd.DataFrame, valid: pd.DataFrame,
                              network: Network) -> np.ndarray:
    """The model's probabilities for the validation frames, its inputs prepared as its card
    says: skeleton windows for the pose model, decoded frames for the CNNs."""
    card = network.card
    name = f"{card.training.arch} / {card.training.protocol}"
    if card.input == POSE_INPUT:
        context.log.info(f"{name}: predicting {len(valid)} validation seconds "
                         f"({card.window}-second skeleton windows, from the card)")
        skeletons = skeletons_of(tables.read_table(the_lake, "poses"),
                                 tables.read_table(the_lake, "frames"))
        return predict_windows(network, frame_windows(skeletons, valid, card.window))
    context.log.info(f"{name}: predicting {len(valid)} validation frames "
                     f"({card.input}, {card.image_size} px, from the card)")
    cache = kept_frames_cache(the_lake, manifest, card.image_size, card.input,
                              context.log.info)
    return predict_images(network, np.asarray(cache.images[cache.rows(list(valid["frame_id"]))]))


def _refuse_models_that_learned_nothing(card: ModelCard) -> None:
    """The blocking check stops this within a run; this guards runs launched separately.
    Its test, as the check's: validation videos."""
    trained = card.training
    passed, p_value = accuracy_check(card)
    if not passed:
        raise dg.Failure(description=(
            f"{trained.arch} / {trained.protocol} is not clearly above chance "
            f"(video accuracy {trained.final.video_accuracy:.1%}, p = {p_value:.2g}); "
            "not evaluated"))


evaluation_assets = [build_evaluation_asset(name) for name in MODEL_NAMES]


class ReviewQueueConfig(LaunchpadConfig):
    top_k: int = Field(default=10, ge=1, description="Top-loss frames taken per model and "
                       "protocol.")
    min_models: int = Field(default=2, ge=1, description="Queue frames that at least this "
                            "many architectures found among their hardest.")


@dg.asset(
    ins={"frame_manifest": table_input(frame_manifest),
         **{asset.key.path[-1]: table_input(asset, "predictions", "model_metrics")
            for asset in evaluation_assets}},
    io_manager_key=LAKE_TABLES,
    dagster_type=pd.DataFrame,
    group_name="evaluation",
    kinds={"pandas", "parquet"},
    metadata=stores_tables("review_queue"),
    # The frames' paths come from the manifest; a new manifest alone changes no loss.
    automation_condition=follow_any_evaluation.ignore(dg.AssetSelection.assets(frame_manifest)),
    description="Frames among the top losses of several models (the study's section 3.3 "
    "found the same noisy frames at the top for different models), for a person to review.",
)
def review_queue(context: dg.AssetExecutionContext, config: ReviewQueueConfig,
                 lake: LakeResource, frame_manifest: pd.DataFrame,
                 **evaluations: Tables) -> dg.MaterializeResult:
    """From each model's predictions and metrics (its evaluation's input, by arch) and the
    manifest; the lake gives the models' cards and keeps the queue's sheet."""
    the_lake = lake.lake()
    # Only the models as they are now: a retrain its check blocked leaves the old
    # model's predictions in the table.
    current = current_evaluations(_stacked(evaluations, "model_metrics"), read_cards(the_lake))
    predictions = of_current_models(_stacked(evaluations, "predictions"), current)
    if predictions.empty:
        context.log.warning("no evaluated model yet (none passed its accuracy check): "
                            "the review queue is empty")
    per_model = {
        arch: pd.concat([top_losses(group, config.top_k)
                         for _, group in frames.groupby("protocol")])
        for arch, frames in predictions.groupby("arch")
    }
    flagged = frames_flagged_by_several(per_model, config.min_models)
    manifest = frame_manifest[["frame_id", "path", "dance_class"]]
    queue = flagged.merge(manifest, on="frame_id")
    queue = queue[tables.SCHEMAS["review_queue"].names]
    context.log.info(f"{len(queue)} frames in the review queue")
    sheet = ""
    if not queue.empty:
        shown = queue.head(24)
        png = png_bytes(contact_sheet(
            [the_lake.absolute(p) for p in shown["path"]],
            [f"{c}\n{m} models" for c, m in zip(shown["dance_class"], shown["n_models"],
                                                strict=True)], columns=6, thumb_height=128))
        save_png(the_lake.reports / "review_queue.png", png)
        sheet = markdown_image(png, "review queue")
    return dg.MaterializeResult(value=queue, metadata={
        "dagster/row_count": len(queue),
        "queue": dg.MetadataValue.md(markdown_table(queue.drop(columns=["path"])) + "\n\n" +
                                     sheet + "\n\nDecide with `dance-assets review "
                                     "exclude|include FRAME_ID`."),
    })


def _stacked(evaluations: dict[str, Tables], name: str) -> pd.DataFrame:
    """One table's rows from every evaluation; empty, with its columns, where none has any."""
    frames = [evaluated[name] for evaluated in evaluations.values()]
    filled = [frame for frame in frames if not frame.empty]
    return pd.concat(filled, ignore_index=True) if filled else frames[0]


@dg.asset(
    deps=[*evaluation_assets, review_queue],  # the report shows the queue
    group_name="evaluation",
    kinds={"pandas", "html"},
    automation_condition=follow_any_evaluation,
    description="The study's table beside ours for all three models and both protocols, "
    "the leak gap, accuracy by epoch: reports/comparison.md and reports/index.html.",
)
def model_comparison(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    the_lake = lake.lake()
    inputs = ComparisonInputs.read(the_lake)
    table = study_table(inputs)
    markdown = comparison_markdown(inputs, table)
    atomic_write_text(the_lake.reports / "comparison.md", markdown)
    page = comparison_page(inputs, table, the_lake)
    atomic_write_text(the_lake.reports / "index.html", page)
    context.log.info(f"report: {the_lake.reports / 'index.html'}")
    return dg.MaterializeResult(metadata={
        "report": dg.MetadataValue.path(str(the_lake.reports / "index.html")),
        "evaluated_models": int(inputs.current_metrics.shape[0]),
        "comparison": dg.MetadataValue.md(markdown),
    })
