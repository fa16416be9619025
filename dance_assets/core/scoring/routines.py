"""A dance's routine averaged over its training performances (its `choreography`
reference when it has no teacher video), and a dancer's performance aligned to it.

The reference of a dance is the typical sequence of normalised skeletons
(core/ingest/pose_features.py) of its training performances: the medoid performance,
refined by DTW barycentre averaging (align every performance to it, average what lands
on each step, repeat), with the spread of the performances per step and per joint.

Alignment is dynamic time warping with a step pattern that consumes one second of the
dancer's video per step and moves 0, 1 or 2 steps along the reference: a dancer may be
up to twice as fast as the reference, or slower, at a small cost per second off its
pace, and every second of her video is judged exactly once. Dances repeat their
routine, and a video may start anywhere in it and go round it many times, so the
reference is matched as a loop: the alignment starts and ends anywhere and steps from
the reference's last pose back to its first. Each performance is
aligned as filmed and as in a mirror, and the closer one counts.

The score maps the mean aligned distance onto 0-100 with two anchors taken from the
training videos: how far the dance's own performances are from its reference (about
88) and how far other dances' performances are (about 12); halfway scores 50.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dance_assets.core.ingest.pose_features import mirror, sequence
from dance_assets.core.lake.errors import DanceAssetsError

# Where a dance's reference comes from (the `choreography` table's source column).
ROUTINE = "training performances"  # the routine averaged over them, one step per interval
TEACHER_VIDEO = "teacher video"  # the dance's teacher, posed densely (core/scoring/teachers.py)
# A performance that no reference scores at least this high (halfway between the dance's
# own performances and other dances') is no dance the lake knows.
RECOGNISED_FROM = 50
MAX_ADVANCE = 2  # reference steps per second of the dancer's video: up to twice as fast
# Cost, in torso lengths, of a second that holds (0 steps) or hurries (2 steps) instead
# of keeping the reference's pace: without it, the right poses in the wrong order would
# align almost as well as the dance (measured on demo lakes of two seeds: the share of
# videos whose shuffled seconds align worse rose from 82-96 % to 96-100 %).
OFF_TEMPO_PENALTY = 0.1
REFINEMENTS = 5  # rounds of barycentre averaging after the medoid


@dataclass(frozen=True)
class RoutineAlignment:
    """A dancer's sequence aligned to a dance's averaged routine (a loop of steps)."""

    cost: float  # mean over the dancer's seconds of the aligned distance, in torso lengths
    steps: np.ndarray  # for each of the dancer's seconds, the reference step it matched
    distances: np.ndarray  # seconds × joints: each joint's distance from the reference
    mirrored: bool  # the dancer matched best as a mirror image


@dataclass(kw_only=True, frozen=True)
class Reference:
    """One dance's reference performance."""

    dance: str
    skeletons: np.ndarray  # steps × joints × 2
    spread: np.ndarray  # steps × joints: RMS distance of the performances from the mean
    own_cost: float  # median alignment cost of the dance's training performances
    other_cost: float  # median cost of the other dances' training performances
    n_videos: int

    def score(self, cost: float) -> int:
        """0-100: 50 halfway between a typical performance of this dance (about 88) and a
        typical performance of another dance (about 12)."""
        middle = (self.own_cost + self.other_cost) / 2
        width = max(self.other_cost - self.own_cost, 1e-6) / 4
        return round(100 / (1 + math.exp(min(50.0, (cost - middle) / width))))


def joint_distances(dancer: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """dancer (n × J × 2) against reference (m × J × 2) → n × m × J Euclidean distances."""
    return np.linalg.norm(dancer[:, None] - reference[None], axis=-1)


def _align_one_way(dancer: np.ndarray, reference: np.ndarray) -> tuple[float, np.ndarray]:
    """(mean cost, matched step per second), the reference looping round."""
    pose_cost = joint_distances(dancer, reference).mean(axis=-1)
    total = np.empty_like(pose_cost)
    came_from = np.zeros(pose_cost.shape, dtype=np.int64)
    total[0] = pose_cost[0]
    penalty = np.array([0.0 if advance == 1 else OFF_TEMPO_PENALTY
                        for advance in range(MAX_ADVANCE + 1)])[:, None]
    for i in range(1, len(dancer)):
        # options[a, j]: arriving at step j from step j - a (round the loop).
        options = np.stack([np.roll(total[i - 1], advance)
                            for advance in range(MAX_ADVANCE + 1)]) + penalty
        came_from[i] = options.argmin(axis=0)
        total[i] = pose_cost[i] + options.min(axis=0)
    steps = np.empty(len(dancer), dtype=np.int64)
    steps[-1] = int(total[-1].argmin())
    for i in range(len(dancer) - 1, 0, -1):
        steps[i - 1] = (steps[i] - came_from[i, steps[i]]) % len(reference)
    return float(total[-1, steps[-1]] / len(dancer)), steps


def align_to_routine(dancer: np.ndarray, reference: np.ndarray) -> RoutineAlignment:
    """Align a dancer's skeletons (seconds × J × 2) to a reference, as filmed and mirrored."""
    if len(dancer) == 0 or len(reference) == 0:
        raise DanceAssetsError("nothing to align: no skeletons")
    best = None
    for mirrored, seen in ((False, dancer), (True, mirror(dancer))):
        cost, steps = _align_one_way(seen, reference)
        if best is None or cost < best.cost:
            distances = np.linalg.norm(seen - reference[steps], axis=-1)
            best = RoutineAlignment(cost, steps, distances, mirrored)
    return best


def _medoid(performances: Sequence[np.ndarray]) -> int:
    """The performance closest, in total alignment cost, to all the others."""
    totals = [sum(align_to_routine(other, candidate).cost for other in performances)
              for candidate in performances]
    return int(np.argmin(totals))


def barycentre(performances: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(reference steps × J × 2, spread steps × J) by DTW barycentre averaging."""
    reference = performances[_medoid(performances)].copy()
    spread = np.zeros(reference.shape[:2], np.float32)
    for _ in range(REFINEMENTS):
        sums = np.zeros_like(reference)
        squares = np.zeros(reference.shape[:2], np.float64)
        counts = np.zeros(len(reference))
        aligned = []
        for performance in performances:
            alignment = align_to_routine(performance, reference)
            seen = mirror(performance) if alignment.mirrored else performance
            aligned.append((seen, alignment.steps))
            np.add.at(sums, alignment.steps, seen)
            np.add.at(counts, alignment.steps, 1)
        landed = counts > 0
        reference[landed] = sums[landed] / counts[landed, None, None]
        for seen, steps in aligned:
            np.add.at(squares, steps, np.linalg.norm(seen - reference[steps], axis=-1) ** 2)
        spread = np.sqrt(squares / np.maximum(counts, 1)[:, None]).astype(np.float32)
    return reference.astype(np.float32), spread


def build_references(skeletons: pd.DataFrame, videos: pd.DataFrame,
                     min_seconds: int = 3) -> list[Reference]:
    """A reference per dance from `videos` (video_id, dance_class: the training videos).

    `skeletons` is core.ingest.pose_features.skeletons_of over the kept frames. Performances
    with fewer than `min_seconds` posed seconds are left out.
    """
    performances: dict[str, list[np.ndarray]] = {}
    for video_id, dance in zip(videos["video_id"], videos["dance_class"], strict=True):
        _, performance = sequence(skeletons, video_id)
        if len(performance) >= min_seconds:
            performances.setdefault(dance, []).append(performance)
    if not performances:
        raise DanceAssetsError("no training video has enough seconds with a pose to build "
                               "a choreography reference")
    built = {dance: barycentre(items) for dance, items in sorted(performances.items())}
    references = []
    for dance, (reference, spread) in built.items():
        own = [align_to_routine(p, reference).cost for p in performances[dance]]
        other = [align_to_routine(p, reference).cost for name, items in performances.items()
                 if name != dance for p in items]
        references.append(Reference(dance=dance, skeletons=reference, spread=spread,
                                    own_cost=float(np.median(own)),
                                    other_cost=float(np.median(other)) if other else 2 * float(
                                        np.median(own)), n_videos=len(performances[dance])))
    return references


def references_table(references: Sequence[Reference],
                     steps_per_second: float = 1.0) -> pd.DataFrame:
    """Rows of the `choreography` table: one per dance and routine step."""
    rows = []
    for ref in references:
        for step in range(len(ref.skeletons)):
            rows.append({"dance_class": ref.dance, "step": step,
                         "x": ref.skeletons[step, :, 0], "y": ref.skeletons[step, :, 1],
                         "spread": ref.spread[step], "own_cost": ref.own_cost,
                         "other_cost": ref.other_cost, "n_videos": ref.n_videos,
                         "source": ROUTINE, "reference_path": None,
                         "steps_per_second": steps_per_second, "visibility": None})
    return pd.DataFrame(rows)


def references_from_table(table: pd.DataFrame) -> dict[str, Reference]:
    """The references stored by `references_table`."""
    references = {}
    for dance, rows in table.sort_values(["dance_class", "step"]).groupby("dance_class"):
        skeletons = np.stack([np.stack([np.asarray(x), np.asarray(y)], axis=-1)
                              for x, y in zip(rows["x"], rows["y"], strict=True)])
        first = rows.iloc[0]
        references[str(dance)] = Reference(
            dance=str(dance), skeletons=skeletons.astype(np.float32),
            spread=np.stack([np.asarray(s) for s in rows["spread"]]).astype(np.float32),
            own_cost=float(first["own_cost"]), other_cost=float(first["other_cost"]),
                                           n_videos=int(first["n_videos"]))
    return references


def nearest_dance(skeletons: np.ndarray, references: dict[str, Reference]) -> tuple[str, int]:
    """The reference this performance scores highest against, and that score."""
    scores = {name: ref.score(align_to_routine(skeletons, ref.skeletons).cost)
              for name, ref in references.items()}
    best = max(scores, key=scores.get)
    return best, scores[best]
