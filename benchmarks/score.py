"""Wall time of `dance-assets score` end to end on a 60-second 720x1280 video.

The command runs as a user runs it, in a fresh process (Python start, imports,
probing, extraction, poses, features, the classifier, the alignment to the
choreography, the timeline, the recorded row), against a lake the demo trained (run
`dance-assets demo` first). Best and median of --repeats.

    python benchmarks/score.py --lake data_lake [--seconds 60 --size 720x1280]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from dance_assets.core.generator import DANCE_CLASSES, plan_videos, write_video
from dance_assets.core.video import find_ffmpeg

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lake", type=Path, default=Path("data_lake"))
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--size", default="720x1280")
    parser.add_argument("--arch", default="pose_sequence")
    parser.add_argument("--protocol", default="by_participant")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "score.json")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory() as scratch:
        # A participant the models never saw (seed 99), dancing the first dance.
        spec = plan_videos([DANCE_CLASSES[0]], 1, args.seconds, (width, height), seed=99)[0]
        video = write_video(spec, Path(scratch) / "my_dance.mp4", find_ffmpeg())
        command = [sys.executable, "-m", "dance_assets.cli", "score", str(video),
                   "--dance", DANCE_CLASSES[0], "--arch", args.arch, "--protocol",
                   args.protocol, "--lake", str(args.lake)]
        walls, output = [], ""
        for _ in range(args.repeats):
            started = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            walls.append(time.perf_counter() - started)
            output = done.stdout
    report = {
        "benchmark": "dance-assets score, end to end",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "video": {"seconds": args.seconds, "size": args.size, "codec": "h264"},
        "model": f"{args.arch} / {args.protocol}",
        "wall_best_s": round(min(walls), 2),
        "wall_median_s": round(statistics.median(walls), 2),
        "runs_s": [round(w, 2) for w in walls],
        "target": "<= 5 s on a 2-core CPU, poses included",
        "last_output": output.strip().splitlines(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
