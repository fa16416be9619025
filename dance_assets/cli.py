"""The `dance-assets` command. Bad input gets one clear line on stderr, never a traceback."""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from dance_assets.core.lake.catalogue import (
    ARCHITECTURES,
    BY_PARTICIPANT,
    DEFAULT_PROTOCOL,
    MODEL_NAMES,
    POSE_MODEL,
    PROTOCOLS,
    RANDOM_FRAMES,
    in_words,
)
from dance_assets.core.lake.errors import DanceAssetsError
from dance_assets.core.lake.lake import Lake
from dance_assets.core.lake.profiles import PROFILES, get_profile

if TYPE_CHECKING:
    from dance_assets.runs import TrainingPlan


def _echo(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _size(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d+)x(\d+)", text)
    if not match:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 360x640, got {text!r}")
    return int(match.group(1)), int(match.group(2))


def _generate_videos(lake_root: object, classes: int, participants: int, seconds: float,
                     size: tuple[int, int], seed: int, phone_hard: bool = False) -> None:
    from pathlib import Path

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


def cmd_generate(args: argparse.Namespace) -> int:
    from dance_assets.runs import use_lake

    lake = use_lake(args.lake)
    profile = get_profile(args.profile)
    _generate_videos(lake.root, args.classes or profile.classes,
                     args.participants or profile.participants, args.seconds or profile.seconds,
                     args.size or profile.video_size, args.seed, args.phone_hard)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """The project's answer first (the pose model, a held-out dancer's score and report),
    then the beats and the study's three CNNs, whose time is measured and told before
    they start; every finished step is kept, so a stopped demo picks up where it was."""
    from dance_assets.runs import (
        get_instance,
        ingest_classes,
        plan_training,
        require_success,
        run_job,
        sync_dance_classes,
        train_models,
        use_lake,
    )

    lake = use_lake(args.lake)
    profile = get_profile(args.profile)
    started = time.perf_counter()
    _echo(f"dance-assets demo: profile {profile.name} ({profile.meant_for}), lake {lake.root}")
    if not lake.raw.is_dir() or not any(lake.raw.iterdir()):
        _echo("raw/ is empty")
        _generate_videos(lake.root, profile.classes, profile.participants, profile.seconds,
                         profile.video_size, args.seed)
    instance = get_instance()
    sync = sync_dance_classes(instance, lake)
    for name, reason in sync.invalid.items():
        _echo(f"skipping class folder {name!r}: {reason}")
    for name in sync.missing:
        _echo(f"class {name!r} is registered but raw/{name}/ is gone; its tables are kept")
    classes = sorted(sync.added + sync.present)
    if not classes:
        raise DanceAssetsError(f"no class folders under {lake.raw}")
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
    return 0


def _first_summary(lake: Lake, elapsed_s: float) -> None:
    """What the project is for, as soon as it can be shown: the pose model's accuracy
    under both protocols and a held-out dancer scored against her teacher."""
    from dance_assets.core.lake.catalogue import duration_in_words
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
    from dance_assets.core.lake.catalogue import duration_in_words
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
    from dance_assets.core.ingest.video import find_ffmpeg
    from dance_assets.core.lake import tables
    from dance_assets.core.lake.warehouse import refresh_views
    from dance_assets.core.scoring.score_lines import score_lines
    from dance_assets.core.scoring.scoring import record, score

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
        result = score(lake, video, find_ffmpeg(), dance=first["dance_class"])
    except DanceAssetsError as exc:
        _echo(f"scoring {video.name} against its dance: {exc}")
        return
    record(lake, result)
    refresh_views(lake)
    print(f"\na held-out dancer scored: dance-assets score {lake.relative(video)} --dance "
          f"{first['dance_class']}")
    print("\n".join(score_lines(result)))


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


def cmd_sql(args: argparse.Namespace) -> int:
    from dance_assets.core.lake.warehouse import format_result, query

    result = query(Lake.resolve(args.lake), args.query)
    print(format_result(result, args.format))
    return 0


def cmd_review(args: argparse.Namespace) -> int:
    from dance_assets.core.curation.decisions import (
        decisions_path,
        read_decisions,
        record_decisions,
    )
    from dance_assets.core.lake import tables
    from dance_assets.core.lake.warehouse import format_result

    lake = Lake.resolve(args.lake)
    if args.action == "list":
        queue = tables.read_table(lake, "review_queue")
        decisions = read_decisions(decisions_path(lake))
        pending = queue[~queue["frame_id"].isin(decisions["frame_id"])]
        print(f"review queue: {len(pending)} frame(s) hard for several models, undecided "
              f"(open the images under {lake.root}/):")
        print(format_result(pending[["frame_id", "dance_class", "n_models", "mean_loss",
                                     "models", "path"]], "table"))
        print(f"\nhuman decisions ({decisions_path(lake)}):")
        print(format_result(decisions, "table"))
        return 0
    if not args.frame_ids:
        raise DanceAssetsError(f"review {args.action} needs at least one FRAME_ID")
    known = tables.read_table(lake, "frames")["frame_id"]
    decisions = record_decisions(lake, args.frame_ids, args.action, args.note or "", known)
    _echo(f"{args.action}d {len(args.frame_ids)} frame(s); {len(decisions)} decisions in "
          f"{decisions_path(lake)}; the next frame_manifest applies them")
    return 0






def cmd_score(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from dance_assets.core.ingest.video import find_ffmpeg
    from dance_assets.core.lake.warehouse import refresh_views
    from dance_assets.core.scoring.score_lines import score_lines
    from dance_assets.core.scoring.scoring import as_json, record, score

    lake = Lake.resolve(args.lake)
    video = Path(args.video)
    result = score(lake, video, find_ffmpeg(), reference=Path(args.reference)
                   if args.reference else None, dance=args.dance, arch=args.arch,
                   protocol=args.protocol)
    record(lake, result)
    refresh_views(lake)
    if args.json:
        print(json.dumps(as_json(result), indent=2))
    else:
        print("\n".join(score_lines(result)))
    _echo(f"scored in {result.elapsed_s:.1f} s; recorded in the scores view")
    return 0


def cmd_ui(args: argparse.Namespace) -> int:
    import socket
    import subprocess

    from dance_assets.core.lake.processes import sigterm_interrupts, stop_group
    from dance_assets.runs import dagster_home, use_lake

    lake = use_lake(args.lake)
    home = dagster_home()
    port = args.port
    if not port:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
    _echo(f"Dagster UI: http://127.0.0.1:{port}  (DAGSTER_HOME={home}, lake {lake.root}); "
          "Ctrl-C stops it")
    command = [sys.executable, "-m", "dagster", "dev", "-m", "dance_assets.definitions",
               "-h", "127.0.0.1", "-p", str(port)]
    # Its own process group, so that stopping this command stops everything dagster dev
    # started (webserver, daemon, code server), whoever sends the signal.
    process = subprocess.Popen(command, env={**os.environ, "DAGSTER_HOME": str(home),
                                             "DANCE_LAKE": str(lake.root)},
                               start_new_session=True)
    try:
        with sigterm_interrupts():
            return process.wait()
    except KeyboardInterrupt:
        _echo("stopping the Dagster UI and the processes it started")
        stop_group(process)
        return 0


AddCommand = Callable[..., argparse.ArgumentParser]  # a subcommand group's add_parser


def _add_generate(add_command: AddCommand, common: argparse.ArgumentParser) -> None:
    """`generate`: every size a profile sets can be overridden on its own."""
    generate = add_command("generate", parents=[common],
                                   help="write synthetic demo dance videos into raw/")
    generate.add_argument("--profile", default="demo", choices=sorted(PROFILES),
                          help="sizes to start from (default: demo)")
    generate.add_argument("--classes", type=int, help="number of dance classes (1-12)")
    generate.add_argument("--participants", type=int, help="participants per class")
    generate.add_argument("--seconds", type=float, help="length of each video")
    generate.add_argument("--size", type=_size, help="frame size WIDTHxHEIGHT, e.g. 360x640")
    generate.add_argument("--seed", type=int, default=0, help="participants' seed (default: 0)")
    generate.add_argument("--phone-hard", action="store_true",
                          help="every video handheld, and many frame-filling or group videos "
                          "(a lake to test cleaning against; see docs/demo.md)")
    generate.set_defaults(handler=cmd_generate)


def _add_score(add_command: AddCommand, common: argparse.ArgumentParser) -> None:
    """`score`: the command a dancer runs, so its help says what she gets."""
    score = add_command(
        "score", parents=[common],
        help="score a dancer's video against her teacher's video or a dance of the lake",
        description="Score a dancer's video: against a teacher's video (--reference), or "
        "against a dance of the lake (--dance; default: the dance the lake's classifier sees), "
        "using that dance's teacher video where references/ has one. Prints the score, timing, "
        "mirroring, body parts and weakest moments, writes an HTML report with both videos "
        "side by side, and records a row in the scores table.")
    score.add_argument("video", help="her video: any file ffmpeg reads")
    score.add_argument("--reference", metavar="VIDEO",
                       help="the teacher's video to compare with (no trained model needed)")
    score.add_argument("--dance", help="the dance she meant to perform (default: the "
                       "predicted one)")
    score.add_argument("--arch", help="the classifier whose verdict is shown beside the "
                       f"score: {in_words(MODEL_NAMES)} (default: the best evaluated one)")
    score.add_argument("--protocol", choices=sorted(PROTOCOLS),
                       help=f"which training protocol's model (default: {DEFAULT_PROTOCOL})")
    score.add_argument("--json", action="store_true",
                       help="print the result as JSON (schema in docs/scoring.md)")
    score.set_defaults(handler=cmd_score)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--lake", metavar="DIR",
                        help="the lake folder (default: $DANCE_LAKE, else ./data_lake)")
    parser = argparse.ArgumentParser(
        prog="dance-assets", parents=[common],
        description="Dance videos to frames, classifiers and reports, orchestrated by Dagster.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    _add_generate(commands.add_parser, common)

    demo = commands.add_parser("demo", parents=[common],
                               help="generate videos if raw/ is empty, then run the pipeline")
    demo.add_argument("--profile", default="demo", choices=sorted(PROFILES))
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(handler=cmd_demo)

    review = commands.add_parser("review", parents=[common],
                                 help="record human include/exclude decisions for frames")
    review.add_argument("action", choices=["list", "include", "exclude"])
    review.add_argument("frame_ids", nargs="*", metavar="FRAME_ID")
    review.add_argument("--note", help="why, kept beside the decision")
    review.set_defaults(handler=cmd_review)

    _add_score(commands.add_parser, common)

    ui = commands.add_parser("ui", parents=[common],
                             help="start the Dagster UI on 127.0.0.1 with the project's instance")
    ui.add_argument("--port", type=int, help="port (default: a free one)")
    ui.set_defaults(handler=cmd_ui)

    sql = commands.add_parser("sql", parents=[common], help="read-only SQL over the tables")
    sql.add_argument("query", help='e.g. "SELECT dance_class, count(*) FROM frames GROUP BY 1"')
    sql.add_argument("--format", default="table", choices=["table", "csv", "json"])
    sql.set_defaults(handler=cmd_sql)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except DanceAssetsError as exc:
        _echo(f"error: {exc}")
        return 2
    except KeyboardInterrupt:
        _echo("interrupted")
        return 130
    except Exception as exc:  # the last line of defence: one line, never a traceback
        if os.environ.get("DANCE_DEBUG"):
            raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        _echo(f"error: unexpected {type(exc).__name__}: {first} (DANCE_DEBUG=1 shows details)")
        return 1


if __name__ == "__main__":
    sys.exit(main())
