"""One attempt scored in a process of its own: `python -m dance_assets.studio.scoring_worker`.

The studio's server stays free for live practice while an attempt is scored (posing
holds a core for a while), and stopping the studio stops the attempt and every ffmpeg
it started (its process group). It scores exactly as `score --reference TEACHER --dance
DANCE` does and records the row as `score` does (score_record.record_attempt), with the
studio as its source. It tells the server how far it got as JSON lines on stdout: each
stage as it starts ({"stage": ...}), then {"report": ..., "score": ...} or, for a video
`score` refuses, {"refused": the one line `score` prints}.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from dance_assets.core.lake.errors import DanceAssetsError
from dance_assets.core.lake.lake import Lake
from dance_assets.core.scoring.score_record import STUDIO, record_attempt
from dance_assets.core.scoring.scoring import score_against_teacher, score_ffmpeg


def _tell(**message: object) -> None:
    print(json.dumps(message), flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video")
    parser.add_argument("--lake", required=True)
    parser.add_argument("--teacher", required=True)
    parser.add_argument("--dance", required=True)
    args = parser.parse_args(argv)
    lake = Lake.resolve(args.lake)
    try:
        result = score_against_teacher(lake, Path(args.video), Path(args.teacher),
                                       score_ffmpeg(), dance=args.dance,
                                       progress=lambda stage: _tell(stage=stage))
        record_attempt(lake, result, STUDIO)
    except DanceAssetsError as exc:
        _tell(refused=str(exc))
        return 2
    _tell(report=lake.relative(result.report), score=result.feedback.score)
    return 0


if __name__ == "__main__":
    sys.exit(main())
