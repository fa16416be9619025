"""The Parquet datasets under tables/: their schemas, layout and crash-safe writes.

Each table is a folder of Parquet files, Hive-style where it is partitioned
(tables/frames/dance_class=renegade/part-0.parquet). Every column, partition columns
included, is stored inside the files, so readers never depend on parsing folder names
(a class called "2020" stays a string).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from dance_assets.core.lake.lake import Lake, atomic_path, sweep_stale_temps

_STR = pa.string()
_F64 = pa.float64()
_I64 = pa.int64()
_BOOL = pa.bool_()
_TS = pa.timestamp("us", tz="UTC")
_F32_LIST = pa.list_(pa.float32())


def _schema(*fields: tuple[str, pa.DataType]) -> pa.Schema:
    return pa.schema([pa.field(name, kind) for name, kind in fields])


SCHEMAS: dict[str, pa.Schema] = {
    "videos": _schema(
        ("video_id", _STR),
        ("path", _STR),
        ("dance_class", _STR),
        ("participant", _STR),
        ("status", _STR),
        ("reason", _STR),
        ("duration_s", _F64),
        ("fps", _F64),
        ("width", _I64),
        ("height", _I64),
        ("rotation", _I64),
        ("codec", _STR),
        ("size_bytes", _I64),
        ("sha256", _STR),
        ("mtime_ns", _I64),
        ("probe_error", _STR),
        ("probed_at", _TS),
        # The first audio stream: its codec ("none" without one; null: not probed for it),
        # sample rate, and the duration and error of decoding it whole.
        ("audio_codec", _STR),
        ("audio_sample_rate", _I64),
        ("audio_duration_s", _F64),
        ("audio_error", _STR),
    ),
    "extractions": _schema(
        ("video_id", _STR),
        ("dance_class", _STR),
        ("participant", _STR),
        ("path", _STR),
        ("status", _STR),
        ("reason", _STR),
        ("n_frames", _I64),
        ("expected_frames", _I64),
        ("params", _STR),
        ("seconds", _F64),
        ("extracted_at", _TS),
        ("pose_params", _STR),
        ("pose_seconds", _F64),
    ),
    # One row per extracted frame. x, y, visibility: 33 landmarks each, in MediaPipe's
    # order (core/ingest/pose.py LANDMARK_NAMES), normalised to the frame (0-1 inside it); null
    # when nobody was found. box_*: the dancer's box, normalised.
    "poses": _schema(
        ("frame_id", _STR),
        ("video_id", _STR),
        ("dance_class", _STR),
        ("second", _I64),
        ("person_found", _BOOL),
        ("people", _I64),
        ("x", _F32_LIST),
        ("y", _F32_LIST),
        ("visibility", _F32_LIST),
        ("box_x0", _F64),
        ("box_y0", _F64),
        ("box_x1", _F64),
        ("box_y1", _F64),
    ),
    "frames": _schema(
        ("frame_id", _STR),
        ("video_id", _STR),
        ("dance_class", _STR),
        ("participant", _STR),
        ("second", _I64),
        ("path", _STR),
        ("width", _I64),
        ("height", _I64),
        ("brightness", _F64),
        ("contrast", _F64),
        ("sharpness", _F64),
        ("noise", _F64),
        ("subject_score", _F64),
        ("near_duplicate_of", _STR),
        ("uniform_share", _F64),
    ),
    "frame_manifest": _schema(
        ("frame_id", _STR),
        ("path", _STR),
        ("dance_class", _STR),
        ("participant", _STR),
        ("video_id", _STR),
        ("second", _I64),
        ("keep", _BOOL),
        ("reason", _STR),
        ("split_random_frames", _STR),
        ("split_by_participant", _STR),
        ("auto_reason", _STR),
        ("decision", _STR),
        ("note", _STR),
    ),
    "training_history": _schema(
        ("arch", _STR),
        ("protocol", _STR),
        ("epoch", _I64),
        ("frozen", _BOOL),
        ("train_loss", _F64),
        ("valid_loss", _F64),
        ("accuracy", _F64),
        ("seconds", _F64),
    ),
    "predictions": _schema(
        ("arch", _STR), ("protocol", _STR), ("frame_id", _STR), ("video_id", _STR),
        ("participant", _STR), ("true_class", _STR), ("pred_class", _STR),
        ("prob_true", _F64), ("loss", _F64),
    ),
    "video_predictions": _schema(
        ("arch", _STR), ("protocol", _STR), ("video_id", _STR), ("true_class", _STR),
        ("pred_class", _STR), ("prob_true", _F64), ("n_frames", _I64), ("agreement", _F64),
    ),
    "confusion": _schema(
        ("arch", _STR), ("protocol", _STR), ("true_class", _STR), ("pred_class", _STR),
        ("n", _I64),
    ),
    "class_metrics": _schema(
        ("arch", _STR), ("protocol", _STR), ("dance_class", _STR), ("precision", _F64),
        ("recall", _F64), ("f1", _F64), ("support", _I64),
    ),
    "model_metrics": _schema(
        ("arch", _STR), ("protocol", _STR), ("frame_accuracy", _F64), ("video_accuracy", _F64),
        ("macro_f1", _F64), ("n_valid_frames", _I64), ("n_valid_videos", _I64),
        ("epochs", _I64), ("image_size", _I64), ("device", _STR), ("pretrained", _BOOL),
        ("model_trained_at", _STR), ("evaluated_at", _TS),
    ),
    # One row per scored video (core/scoring/score_record.py). reference_kind: "teacher video" (a
    # teacher's video, reference_path) or "training performances" (the dance's averaged
    # routine); target_score and the body parts (left_arm ... head): 0-100 on the angle
    # scale of core/scoring/coaching.py, null for a part never seen; offset_ms (positive: behind
    # the teacher) and tempo (hers over the teacher's): null against a routine; weakest:
    # JSON list of {start_s, end_s, body_part, what, score}, best: one such; arch,
    # predicted_dance, top_classes: the lake classifier's verdict, null without one;
    # report: the HTML report, relative to the lake; music_tempo_bpm and her hits against
    # its beat (beat_offset_ms, positive late; beat_spread_ms; on_beat_share), and
    # same_song: whether the teacher's video plays the same song (null: no music to tell).
    # The rest is `score --json` field by field (core/scoring/score_record.py): source
    # ("command line", "demo", "studio"), error_deg, timing (JSON stretches), turned_deg,
    # weights, steady, coverage, nearest, audio_offset_s, the sentences, elapsed_s.
    "scores": _schema(
        ("scored_at", _TS), ("path", _STR), ("reference_kind", _STR),
        ("reference_path", _STR), ("target_dance", _STR), ("target_score", _I64),
        ("offset_ms", _I64), ("tempo", _F64), ("mirrored", _BOOL),
        *((part, _I64) for part in ("left_arm", "right_arm", "left_leg", "right_leg",
                                    "torso", "head")),
        ("seconds", _I64), ("scored_seconds", _I64), ("weakest", _STR), ("best", _STR),
        ("recognised", _BOOL), ("arch", _STR), ("protocol", _STR),
        ("predicted_dance", _STR), ("top_classes", _STR), ("report", _STR),
        ("music_tempo_bpm", _F64), ("beat_offset_ms", _I64), ("beat_spread_ms", _I64),
        ("on_beat_share", _F64), ("same_song", _BOOL),
        ("source", _STR), ("reference_name", _STR), ("error_deg", _F64), ("timing", _STR),
        ("timing_words", _STR), ("turned_deg", _I64), ("reference_turned_deg", _I64),
        ("weights", _STR), ("steady", _STR), ("coverage", _F64), ("nearest", _STR),
        ("audio_offset_s", _F64), ("music_note", _STR), ("beat_words", _STR),
        ("elapsed_s", _F64),
    ),
    # One row per dance, source and reference step: a normalised skeleton (x, y: the 13
    # joints of core/ingest/pose_features.JOINT_NAMES, in torso lengths from the hip centre).
    # source "training performances": the dance's routine averaged over them, a step per
    # extraction interval, with their spread per joint; own_cost and other_cost anchor
    # which dance a video looks like. source "teacher video": the teacher's own
    # performance (reference_path, in references/), steps_per_second poses a second,
    # with MediaPipe's visibility per joint. Score uses the teacher where there is one.
    "choreography": _schema(
        ("dance_class", _STR), ("step", _I64), ("x", _F32_LIST), ("y", _F32_LIST),
        ("spread", _F32_LIST), ("own_cost", _F64), ("other_cost", _F64), ("n_videos", _I64),
        ("source", _STR), ("reference_path", _STR), ("steps_per_second", _F64),
        ("visibility", _F32_LIST),
    ),
    # One row per usable video with an audio stream (core/scoring/music.py): status "analysed",
    # or "no music" / "failed" with the reason; tempo_bpm and beats (seconds in the video);
    # the dancer's hits against them from her dense poses, timed by her frame-by-frame motion:
    # mean offset (positive: late), spread, share within core/scoring/music.ON_BEAT_S, and the
    # stretch furthest off the beat.
    "music": _schema(
        ("video_id", _STR), ("dance_class", _STR), ("path", _STR), ("status", _STR),
        ("reason", _STR), ("tempo_bpm", _F64), ("beats", _F32_LIST),
        ("beat_offset_ms", _I64), ("beat_spread_ms", _I64), ("on_beat_share", _F64),
        ("hits", _I64), ("worst_start_s", _F64), ("worst_end_s", _F64),
        ("worst_offset_ms", _I64), ("params", _STR), ("analysed_at", _TS),
    ),
    "review_queue": _schema(
        ("frame_id", _STR), ("path", _STR), ("dance_class", _STR), ("n_models", _I64),
        ("mean_loss", _F64), ("models", _STR),
    ),
}

PARTITION_COLUMNS: dict[str, tuple[str, ...]] = {
    "videos": ("dance_class",),
    "music": ("dance_class",),
    "extractions": ("dance_class",),
    "frames": ("dance_class",),
    "poses": ("dance_class",),
    "training_history": ("protocol", "arch"),
    **{name: ("protocol", "arch") for name in (
        "predictions", "video_predictions", "confusion", "class_metrics", "model_metrics")},
}

PART_FILE = "part-0.parquet"


def table_dir(lake: Lake, name: str) -> Path:
    return lake.tables / name


def partition_file(lake: Lake, name: str, **partition: str) -> Path:
    """Where one partition of a table lives (the whole table when unpartitioned)."""
    expected = PARTITION_COLUMNS.get(name, ())
    if tuple(partition) != expected:
        raise ValueError(f"table {name!r} is partitioned by {expected}, got {tuple(partition)}")
    folder = table_dir(lake, name)
    for column, value in partition.items():
        folder = folder / f"{column}={value}"
    return folder / PART_FILE


def empty_frame(name: str) -> pd.DataFrame:
    return SCHEMAS[name].empty_table().to_pandas()


def to_arrow(name: str, df: pd.DataFrame) -> pa.Table:
    """Cast a DataFrame to the table's schema; a missing or extra column is a bug."""
    schema = SCHEMAS[name]
    missing = set(schema.names) - set(df.columns)
    extra = set(df.columns) - set(schema.names)
    if missing or extra:
        raise ValueError(f"{name}: missing columns {sorted(missing)}, extra {sorted(extra)}")
    return pa.Table.from_pandas(df[schema.names], schema=schema, preserve_index=False)


def write_table(lake: Lake, name: str, df: pd.DataFrame, **partition: str) -> Path:
    """Replace one partition (or the whole unpartitioned table) in one atomic rename."""
    return write_arrow(lake, name, to_arrow(name, df), **partition)


def write_arrow(lake: Lake, name: str, table: pa.Table, **partition: str) -> Path:
    """write_table of rows already cast to the table's schema (to_arrow)."""
    target = partition_file(lake, name, **partition)
    with atomic_path(target) as tmp:
        pq.write_table(table, tmp, compression="zstd")
    sweep_stale_temps(target.parent)
    return target


def append_rows(lake: Lake, name: str, df: pd.DataFrame) -> Path:
    """Add rows to an append-only table as a new file, published in one rename."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    target = table_dir(lake, name) / f"part-{stamp}-{uuid.uuid4().hex[:8]}.parquet"
    table = to_arrow(name, df)
    with atomic_path(target) as tmp:
        pq.write_table(table, tmp, compression="zstd")
    return target


def read_table(lake: Lake, name: str, **partition: str) -> pd.DataFrame:
    """One partition, or with no arguments the whole table; empty with its schema if absent."""
    schema = SCHEMAS[name]
    if partition:
        path = partition_file(lake, name, **partition)
        if not path.exists():
            return empty_frame(name)
        return _conform(pq.read_table(path), schema).to_pandas()
    folder = table_dir(lake, name)
    if not folder.exists():
        return empty_frame(name)
    dataset = ds.dataset(folder, format="parquet", schema=schema, partitioning=None)
    return dataset.to_table().to_pandas()


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """Tolerate files written before a column was added: missing columns read as null."""
    columns = [
        table.column(f.name).cast(f.type) if f.name in table.column_names
        else pa.nulls(table.num_rows, f.type)
        for f in schema
    ]
    return pa.Table.from_arrays(columns, schema=schema)


def records(df: pd.DataFrame) -> list[dict]:
    """Rows as dicts with missing values as None (pandas reads missing strings as NaN)."""
    return [{key: (None if _missing(value) else value) for key, value in row.items()}
            for row in df.to_dict("records")]


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and value != value)


