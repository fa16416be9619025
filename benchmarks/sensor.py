"""How long a new_videos_sensor tick takes over many files, with a real Dagster instance.

Files are empty stand-ins (a tick never reads them): --files spread over 12 class
folders. Timed: the first tick (every class requested), unchanged ticks (best and
median of --repeats) and a tick after one file changed.

    python benchmarks/sensor.py [--files 10000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from dance_assets.resources import LakeResource
from dance_assets.sensors import new_videos_sensor

HERE = Path(__file__).resolve().parent


def tick(instance: dg.DagsterInstance, root: Path, cursor: str | None
         ) -> tuple[float, dg.SensorResult]:
    context = dg.build_sensor_context(instance=instance, cursor=cursor,
                                      resources={"lake": LakeResource(root=str(root))})
    started = time.perf_counter()
    result = new_videos_sensor(context)
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "sensor.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch, dg.instance_for_test() as instance:
        root = Path(scratch)
        for index in range(args.files):
            folder = root / "raw" / f"class_{index % 12:02d}" / f"batch_{index // 1000}"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"p{index:06d}.mp4").touch()
        first_s, first = tick(instance, root, None)
        for request in first.dynamic_partitions_requests:
            instance.add_dynamic_partitions(request.partitions_def_name,
                                            list(request.partition_keys))
        unchanged = []
        for _ in range(args.repeats):
            seconds, result = tick(instance, root, first.cursor)
            assert not result.run_requests
            unchanged.append(seconds)
        (root / "raw" / "class_03" / "batch_0" / "p000003.mp4").write_bytes(b"new take")
        changed_s, changed = tick(instance, root, first.cursor)
        assert [r.partition_key for r in changed.run_requests] == ["class_03"]
    report = {
        "benchmark": "new_videos_sensor tick",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "files": args.files, "classes": 12,
        "first_tick_s": round(first_s, 3),
        "unchanged_tick_best_s": round(min(unchanged), 3),
        "unchanged_tick_median_s": round(statistics.median(unchanged), 3),
        "one_file_changed_tick_s": round(changed_s, 3),
        "first_tick_requests": len(first.run_requests),
        "target": "unchanged tick over 10,000 files <= 2 s",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
