"""`dance-assets demo`: the project end to end from an empty lake, the answer a newcomer
came for first.

Generating the videos, ingest with one pose a second, curation with each dance's
choreography from its teacher, the pose model under both protocols and a held-out dancer
scored against her teacher come first, with a first summary; the beats of every video and
the study's three CNNs, which take most of the time on a CPU, after, their time measured
on this machine and told before they start. Every finished step is kept (a model trained
on the same frames with the same settings is not trained again: runs.plan_training), so
a demo stopped with Ctrl-C picks up where it was.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from dance_assets.core.lake.catalogue import (
    ARCHITECTURES,
    BY_PARTICIPANT,
    POSE_MODEL,
    PROTOCOLS,
    RANDOM_FRAMES,
    duration_in_words,
)
from dance_assets.core.lake.errors import DanceAssetsError
from dance_assets.core.lake.lake import Lake
from dance_assets.core.lake.profiles import Profile

if TYPE_CHECKING:
    from dance_assets.runs import TrainingPlan

def _echo(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def generate_videos(lake_root: object, classes: int, participants: int, seconds: float,
                    size: tuple[int, int], seed: int, phone_hard: bool = False) -> None:
    """The synthetic lake: `participants` dancers of each of `classes` dances into raw/
    and a teacher per dance into references/, both at once on every core."""
    from dance_assets.core.ingest.video import find_ffmpeg
    from dance_assets.core.synthetic.dances import DANCE_CLASSES
    from dance_assets.core.synthetic.lessons import teacher_spec
    from dance_assets.core.synthetic.phone import PHONE_HARD, PhoneShares
    from dance_assets.core.synthetic.plans import plan_videos
    from dance_assets.core.synthetic.writing import generate_into

    if not 1 <= classes <= len(DANCE_CLASSES):
        raise DanceAssetsError(f"--classes must be between 1 and {len(DANCE_CLASSES)}")
    raw = Path(str(lake_root)) / "raw"
    dances = list(DANCE_CLASSES[:classes])
    specs = plan_videos(dances, participants, seconds, size, seed,
                        PHONE_HARD if phone_hard else PhoneShares())
    references = Path(str(lake_root)) / "references"
    # A teacher per dance to score students against, beside raw/: not training data.
    teachers = [teacher_spec(dance, seed, seconds, size) for dance in dances]
    started = time.perf_counter()
    _echo(f"generating {len(specs)} synthetic dance videos into {raw} and {len(teachers)} "
          f"teacher videos (one per dance) into {references} (existing ones are kept)")

    def progress(done: int, total: int, _path: object) -> None:
        if done == total or done % 12 == 0:
            _echo(f"  {done}/{total} videos written")

    written = generate_into({raw: specs, references: teachers}, find_ffmpeg(),
                            progress=progress)
    _echo(f"  {len(written)} new videos in {time.perf_counter() - started:.1f} s")


def run_demo(lake_dir: str | None, profile: Profile, seed: int) -> None:
    """The project's answer first (the pose model, a held-out dancer's score and report),
    then the beats and the study's three CNNs, whose time is measured and told before
    they start; every finished step is kept, so a stopped demo picks up where it was."""
    from dance_assets.runs import (
        get_instance,
        ingest_classes,
        plan_training,
        require_success,
        run_job,
        train_models,
        use_lake,
    )

    lake = use_lake(lake_dir)
    started = time.perf_counter()
    _echo(f"dance-assets demo: profile {profile.name} ({profile.meant_for}), lake {lake.root}")
    if not lake.raw.is_dir() or not any(lake.raw.iterdir()):
        _echo("raw/ is empty")
        generate_videos(lake.root, profile.classes, profile.participants, profile.seconds,
                        profile.video_size, seed)
    instance = get_instance()
    classes = _dance_classes(instance, lake)
    require_success(ingest_classes(instance, classes, _echo))
    _echo("curation: cleaning verdicts, review decisions, both split protocols, and each "
          "dance's choreography from its teacher")
    require_success([run_job(instance, "curation")])
    # Seconds of CPU at any profile's size: its Config's defaults.
    pose = {POSE_MODEL: {}}
    require_success(train_models(
        instance, [plan_training(lake, protocol, pose) for protocol in PROTOCOLS], pose, _echo))
    _first_summary(lake, time.perf_counter() - started)
    require_success(ingest_classes(instance, classes, _echo, job="beats"))
    cnns = {arch: profile.train_config(arch) for arch in ARCHITECTURES}
    plans = [plan_training(lake, protocol, cnns) for protocol in PROTOCOLS]
    _announce_cnns(lake, plans, cnns)
    try:
        require_success(train_models(instance, plans, cnns, _echo))
    except KeyboardInterrupt:
        _echo("stopped: every model that finished is kept; `dance-assets demo` again "
              "trains only what is missing")
        raise
    _echo("reports: the study's table beside ours, and the review queue")
    require_success([run_job(instance, "reports")])
    _print_summary(lake)
    _echo(f"done in {time.perf_counter() - started:.0f} s; runs are in {os.environ['DAGSTER_HOME']}"
          f"; query with: dance-assets sql \"SELECT * FROM frames LIMIT 5\"")


def _dance_classes(instance: object, lake: Lake) -> list[str]:
    """Every class folder of raw/, registered as a partition; what cannot be is said."""
    from dance_assets.runs import sync_dance_classes

    sync = sync_dance_classes(instance, lake)
    for name, reason in sync.invalid.items():
        _echo(f"skipping class folder {name!r}: {reason}")
    for name in sync.missing:
        _echo(f"class {name!r} is registered but raw/{name}/ is gone; its tables are kept")
    classes = sorted(sync.added + sync.present)
    if not classes:
        raise DanceAssetsError(f"no class folders under {lake.raw}")
    return classes


def _first_summary(lake: Lake, elapsed_s: float) -> None:
    """What the project is for, as soon as it can be shown: the pose model's accuracy
    under both protocols and a held-out dancer scored against her teacher."""
    from dance_assets.core.learning.registry import current_models

    metrics = current_models(lake)
    rows = metrics[metrics["arch"] == POSE_MODEL].set_index("protocol")
    print(f"\nfirst results, after {duration_in_words(elapsed_s)}:")
    print(f"{POSE_MODEL} (the dancer's skeleton alone), validation accuracy frame / video:")
    for protocol in PROTOCOLS:
        if protocol in rows.index:
            row = rows.loc[protocol]
            print(f"  {protocol}: {row['frame_accuracy']:.1%} / {row['video_accuracy']:.1%}")
        else:
            print(f"  {protocol}: not evaluated (accuracy not clearly above chance)")
    _score_a_held_out_dancer(lake)
    print("see the runs and assets: dance-assets ui", flush=True)


def _announce_cnns(lake: Lake, plans: Sequence[TrainingPlan],
                   configs: dict[str, dict]) -> None:
    """How long the study's CNNs will take here, measured now, and how to stop and come
    back; nothing when every one is already trained."""
    from dance_assets.runs import estimate_training

    if not any(plan.to_train for plan in plans):
        return
    _echo("the study's three CNNs come next: timing a few batches of each on this machine")
    estimates = estimate_training(lake, plans, configs)
    total = sum(estimates.values())
    by_model = {name: sum(s for (_, n), s in estimates.items() if n == name)
                for name in dict.fromkeys(n for _, n in estimates)}
    _echo(f"training them will take about {duration_in_words(total)} here ("
          + ", ".join(f"{name} {duration_in_words(s)}" for name, s in by_model.items())
          + f", under {len(plans)} protocols), plus their evaluation. Ctrl-C stops at any "
          "time: every model that finished is kept, and `dance-assets demo` again trains "
          "only what is missing")


def _score_a_held_out_dancer(lake: Lake) -> None:
    """What a dancer gets from `score`: a dancer no by_participant model trained on,
    against her dance's teacher (or its averaged routine), as the command prints it."""
    from dance_assets.core.curation.splits import VALID, split_column
    from dance_assets.core.lake import tables
    from dance_assets.core.scoring.score_lines import score_lines
    from dance_assets.core.scoring.score_record import DEMO, as_json, record_attempt
    from dance_assets.core.scoring.scoring import score, score_ffmpeg

    manifest = tables.read_table(lake, "frame_manifest")
    held_out = manifest[manifest[split_column(BY_PARTICIPANT)] == VALID].sort_values("path")
    held_out = held_out.drop_duplicates("video_id")
    if held_out.empty:
        return
    first = held_out.iloc[0]
    videos = tables.read_table(lake, "videos").drop_duplicates("video_id").set_index(
        "video_id")["path"]
    video = lake.absolute(videos[first["video_id"]])
    try:
        result = score(lake, video, score_ffmpeg(), dance=first["dance_class"])
    except DanceAssetsError as exc:
        _echo(f"scoring {video.name} against its dance: {exc}")
        return
    record_attempt(lake, result, DEMO)
    print(f"\na held-out dancer scored: dance-assets score {lake.relative(video)} --dance "
          f"{first['dance_class']}")
    print("\n".join(score_lines(as_json(result))))


_SUMMARY_SQL = """
    SELECT v.dance_class,
           count(*) FILTER (WHERE v.status = 'ok') AS ok_videos,
           count(*) FILTER (WHERE v.status <> 'ok') AS not_usable,
           any_value(m.frames) AS frames, any_value(m.kept) AS kept_frames
    FROM videos v LEFT JOIN (
        SELECT dance_class, count(*) AS frames, count(*) FILTER (WHERE keep) AS kept
        FROM frame_manifest GROUP BY 1) m USING (dance_class)
    GROUP BY v.dance_class ORDER BY v.dance_class"""


def _print_summary(lake: Lake) -> None:
    """What the demo ends with: videos and kept frames per class, the study's table beside
    ours, and where the report is."""
    from dance_assets.core.evaluation.comparison import ComparisonInputs, study_table
    from dance_assets.core.lake.warehouse import format_result, query

    print(format_result(query(lake, _SUMMARY_SQL), "table"))
    print(f"\nvalidation accuracy (%), the study's protocol ({RANDOM_FRAMES}) and the honest "
          f"one ({BY_PARTICIPANT}):")
    print(format_result(study_table(ComparisonInputs.read(lake)), "table"))
    print(f"\nreport: {lake.reports / 'index.html'}")
