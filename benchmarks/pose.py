"""The pose model's and the choreography score's targets, measured on an ingested lake.

1. pose_sequence under by_participant, one training per seed: frame and video accuracy
   (the issue's target: mean video accuracy at least 95 %), beside the lake's best CNN
   under the same protocol (from model_metrics, when the demo has evaluated them).
2. References built from by_participant's training videos, as the `choreography` asset
   builds them; for every video with enough posed seconds: does it score higher against
   its own dance's reference than against every other (target: 95 % of videos), and do
   its seconds in a shuffled order score lower than in the original order (five
   shuffles per video; target: 95 % of cases)? Held-out participants are shown apart.

    python benchmarks/pose.py --lake data_lake [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from dance_assets.core.ingest.pose_features import sequence, skeletons_of
from dance_assets.core.lake import tables
from dance_assets.core.lake.lake import Lake
from dance_assets.core.learning.pose_model import PoseModelSettings, pose_sets, train_pose_model
from dance_assets.core.scoring.routines import align_to_routine, build_references

HERE = Path(__file__).resolve().parent
PROTOCOL = "split_by_participant"


def classifier(lake: Lake, skeletons, manifest, seeds: list[int]) -> dict:
    classes = sorted(manifest.loc[manifest["keep"], "dance_class"].unique())
    runs = []
    for seed in seeds:
        settings = PoseModelSettings(seed=seed)
        train_set, valid_set = pose_sets(skeletons, manifest, PROTOCOL, classes,
                                         settings.window)
        result = train_pose_model(train_set, valid_set, classes, settings, report=lambda _: None)
        runs.append({"seed": seed, "frame_accuracy": round(result.accuracy, 4),
                     "video_accuracy": round(result.video_accuracy, 4),
                     "fit_seconds": round(result.seconds, 1)})
        print(f"pose_sequence seed {seed}: frame {result.accuracy:.3f}, video "
              f"{result.video_accuracy:.3f} ({result.n_valid_videos} videos), "
              f"{result.seconds:.1f} s", flush=True)
    metrics = tables.read_table(lake, "model_metrics")
    cnns = metrics[(metrics["protocol"] == "by_participant") &
                   (metrics["arch"] != "pose_sequence")]
    return {
        "runs": runs,
        "mean_video_accuracy": round(float(np.mean([r["video_accuracy"] for r in runs])), 4),
        "mean_frame_accuracy": round(float(np.mean([r["frame_accuracy"] for r in runs])), 4),
        "best_cnn_by_participant": None if cnns.empty else
        cnns.sort_values("video_accuracy").iloc[-1][["arch", "frame_accuracy",
                                                     "video_accuracy"]].to_dict(),
    }


def score_targets(skeletons, manifest, shuffles: int = 5) -> dict:
    kept = manifest[manifest["keep"]]
    videos = kept.groupby("video_id", as_index=False).agg(
        dance_class=("dance_class", "first"), side=(PROTOCOL, "first"))
    references = {r.dance: r for r in build_references(skeletons,
                                                       videos[videos["side"] == "train"])}
    rng = np.random.default_rng(0)
    tally = {side: {"own_highest": 0, "videos": 0, "shuffled_lower": 0, "shuffles": 0,
                    "own_scores": []} for side in ("train", "valid")}
    for video_id, dance, side in videos.itertuples(index=False):
        _, performance = sequence(skeletons, video_id)
        if len(performance) < 3:
            continue
        scores = {name: ref.score(align_to_routine(performance, ref.skeletons).cost)
                  for name, ref in references.items()}
        counts = tally[side]
        counts["videos"] += 1
        counts["own_highest"] += scores[dance] > max(v for k, v in scores.items() if k != dance)
        counts["own_scores"].append(scores[dance])
        for _ in range(shuffles):
            order = rng.permutation(len(performance))
            shuffled = references[dance].score(align_to_routine(performance[order],
                                                     references[dance].skeletons).cost)
            counts["shuffled_lower"] += shuffled < scores[dance]
            counts["shuffles"] += 1
    report = {}
    for side, counts in tally.items():
        report[side] = {
            "videos": counts["videos"],
            "own_reference_highest": round(counts["own_highest"] / max(1, counts["videos"]), 4),
            "shuffled_scores_lower": round(counts["shuffled_lower"] / max(1, counts["shuffles"]),
                                           4),
            "own_score_median": float(np.median(counts["own_scores"])),
        }
    everyone = {key: sum(tally[s][key] for s in tally) for key in
                ("own_highest", "videos", "shuffled_lower", "shuffles")}
    report["all"] = {
        "videos": everyone["videos"],
        "own_reference_highest": round(everyone["own_highest"] / everyone["videos"], 4),
        "shuffled_scores_lower": round(everyone["shuffled_lower"] / everyone["shuffles"], 4)}
    print(json.dumps(report, indent=1))
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lake", type=Path, default=Path("data_lake"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=HERE / "results" / "pose.json")
    args = parser.parse_args()
    lake = Lake.resolve(args.lake)
    manifest = tables.read_table(lake, "frame_manifest")
    kept_ids = manifest.loc[manifest["keep"], "frame_id"]
    poses, frames = tables.read_table(lake, "poses"), tables.read_table(lake, "frames")
    # As the assets read them: the model's windows take every posed neighbour, the
    # references only kept frames.
    skeletons = skeletons_of(poses, frames)
    kept_skeletons = skeletons_of(poses[poses["frame_id"].isin(kept_ids)], frames)
    report = {
        "benchmark": "pose_sequence accuracy and the choreography score's targets",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "lake": str(lake.root),
        "videos": int(manifest["video_id"].nunique()),
        "classifier_by_participant": classifier(lake, skeletons, manifest, args.seeds),
        "score": score_targets(kept_skeletons, manifest),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
