"""The `dance-assets` command. Bad input gets one clear line on stderr, never a traceback."""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable, Sequence

from dance_assets.core.lake.catalogue import (
    DEFAULT_PROTOCOL,
    MODEL_NAMES,
    PROTOCOLS,
    in_words,
)
from dance_assets.core.lake.errors import DanceAssetsError
from dance_assets.core.lake.lake import Lake
from dance_assets.core.lake.profiles import PROFILES, get_profile


def _echo(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _size(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d+)x(\d+)", text)
    if not match:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 360x640, got {text!r}")
    return int(match.group(1)), int(match.group(2))


def cmd_generate(args: argparse.Namespace) -> int:
    from dance_assets.demo import generate_videos
    from dance_assets.runs import use_lake

    lake = use_lake(args.lake)
    profile = get_profile(args.profile)
    generate_videos(lake.root, args.classes or profile.classes,
                    args.participants or profile.participants, args.seconds or profile.seconds,
                    args.size or profile.video_size, args.seed, args.phone_hard)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from dance_assets.demo import run_demo

    run_demo(args.lake, get_profile(args.profile), args.seed)
    return 0


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

    from dance_assets.core.scoring.score_lines import score_lines
    from dance_assets.core.scoring.score_record import COMMAND_LINE, as_json, record_attempt
    from dance_assets.core.scoring.scoring import score, score_ffmpeg

    lake = Lake.resolve(args.lake)
    video = Path(args.video)
    result = score(lake, video, score_ffmpeg(), reference=Path(args.reference)
                   if args.reference else None, dance=args.dance, arch=args.arch,
                   protocol=args.protocol, keep=not args.no_record)
    if not args.no_record:
        record_attempt(lake, result, COMMAND_LINE)
    if args.json:
        print(json.dumps(as_json(result), indent=2))
    else:
        print("\n".join(score_lines(as_json(result))))
    where = ("not recorded (--no-record): nothing was written into a lake"
             if args.no_record else f"recorded in the scores table of the lake at {lake.root}")
    _echo(f"scored in {result.elapsed_s:.1f} s; {where}")
    return 0


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def cmd_ui(args: argparse.Namespace) -> int:
    import subprocess

    from dance_assets.core.lake.processes import sigterm_interrupts, stop_group
    from dance_assets.runs import dagster_home, use_lake

    lake = use_lake(args.lake)
    home = dagster_home()
    port = args.port or _free_port()
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


def cmd_studio(args: argparse.Namespace) -> int:
    """The dancer's web app on 127.0.0.1. Its socket is bound before the address is
    printed, so a browser sent there at once is answered. uvicorn stops on Ctrl-C or
    SIGTERM, and the app's shutdown stops every attempt it is scoring (each a process
    group)."""
    import socket

    import uvicorn

    from dance_assets.studio.app import create_app

    lake = Lake.resolve(args.lake)
    app = create_app(lake)
    listening = socket.socket()
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listening.bind(("127.0.0.1", args.port or 0))
    except OSError as exc:
        raise DanceAssetsError(f"cannot listen on port {args.port}: {exc.strerror}; choose "
                               "another with --port") from None
    listening.listen(128)
    port = listening.getsockname()[1]
    _echo(f"dance studio: http://127.0.0.1:{port}  (lake {lake.root}); Ctrl-C stops it")
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning",
                                           timeout_graceful_shutdown=3))
    server.run(sockets=[listening])
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
        "side by side, and records a row in the scores table of the lake (--lake, default "
        "./data_lake) unless --no-record.")
    score.add_argument("video", help="her video: any file ffmpeg reads")
    score.add_argument("--reference", metavar="VIDEO",
                       help="the teacher's video to compare with (no trained model needed)")
    score.add_argument("--dance", help="the dance she meant to perform (default: the "
                       "predicted one)")
    score.add_argument("--arch", help="the classifier whose verdict is shown beside the "
                       f"score: {in_words(MODEL_NAMES)} (default: the best evaluated one; "
                       "not with --reference)")
    score.add_argument("--protocol", choices=sorted(PROTOCOLS),
                       help=f"which training protocol's model (default: {DEFAULT_PROTOCOL})")
    score.add_argument("--json", action="store_true",
                       help="print the result as JSON (schema in docs/scoring.md)")
    score.add_argument("--no-record", action="store_true",
                       help="write nothing into a lake: no row, no pose cache; the report "
                       "goes to a temporary folder")
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

    studio = commands.add_parser("studio", parents=[common],
                                 help="start the dancer's web app on 127.0.0.1: teachers, "
                                 "attempts, live practice, progress")
    studio.add_argument("--port", type=int, help="port (default: a free one)")
    studio.set_defaults(handler=cmd_studio)

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
