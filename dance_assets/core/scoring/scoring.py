"""The dancer's score: her video against her teacher's, or against a dance's routine.

Against a teacher's video (`score STUDENT --reference TEACHER`, or `--dance NAME` when
the lake has that dance's teacher): both videos are posed densely
(core/ingest/dense_poses.py), put in step (core/scoring/pair_alignment.py) and judged
(core/scoring/coaching.py): a score, her timing and tempo, mirroring, body parts, her
weakest and best moments. Nothing from the lake is needed; a lake's classifier, when
there is one, adds its verdict beside the score.

Against a dance without a teacher video, the reference is the dance's routine averaged
over its training performances (core/scoring/routines.py), one pose per interval: her video
is read as the classifier's training frames were (core/scoring/verdict.py), aligned to the
routine as a loop, and judged the same way, without timing (an average of dancers at
their own tempos has none to compare with).

Either way a self-contained HTML report is written (core/scoring/score_report.py); the
result is one record (core/scoring/score_record.py) that `--json`, the `scores` row and
the printed lines are rendered from.
"""

from __future__ import annotations

import importlib
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from dance_assets.core.ingest.dense_poses import (
    DEFAULT_SETTINGS,
    DensePoses,
    DenseSettings,
    probed,
)
from dance_assets.core.ingest.video import FfmpegSettings, find_ffmpeg
from dance_assets.core.lake import tables
from dance_assets.core.lake.catalogue import FFMPEG_DENSE_TIMEOUT_S
from dance_assets.core.lake.errors import DanceAssetsError
from dance_assets.core.lake.lake import Lake
from dance_assets.core.performance.beats import Beats
from dance_assets.core.performance.movement import (
    PART_NAMES,
    Movement,
    movement_from_skeletons,
    movement_of,
    part_errors,
)
from dance_assets.core.performance.performance import Performance, read_performance
from dance_assets.core.scoring.coaching import Feedback, feedback
from dance_assets.core.scoring.music import (
    AudioSync,
    MusicFeedback,
    against_beats,
    hits,
    sync_by_sound,
)
from dance_assets.core.scoring.pair_alignment import PairAlignment, Start, align_pair
from dance_assets.core.scoring.routines import (
    RECOGNISED_FROM,
    ROUTINE,
    TEACHER_VIDEO,
    Reference,
    align_to_routine,
    nearest_dance,
    references_from_table,
)
from dance_assets.core.scoring.score_record import as_json
from dance_assets.core.scoring.score_report import write_report
from dance_assets.core.scoring.side_by_side import Sound
from dance_assets.core.scoring.verdict import (
    Seconds,
    Verdict,
    choose_model,
    classify,
    classify_while_reading,
)

# The stages of scoring against a teacher, as score_against_teacher announces them.
POSING, IN_STEP, REPORT = "posing", "putting in step", "the report"


@dataclass(frozen=True)
class ReferenceInfo:
    """What she was compared with."""

    kind: str  # TEACHER_VIDEO or ROUTINE
    name: str  # as the dancer reads it
    path: Path | None  # the teacher's video
    dance: str | None


@dataclass(kw_only=True)
class DanceScore:
    video: Path
    reference: ReferenceInfo
    feedback: Feedback
    verdict: Verdict | None  # the lake classifier's, when there is one
    nearest: tuple[str, int] | None  # the routine that fits best and its old-scale score
    report: Path  # where her report is written
    music: MusicFeedback | None = None  # None against an averaged routine
    elapsed_s: float = 0.0  # set once the report is written

    @property
    def recognised(self) -> bool:
        """Whether her dance is the reference's: for a teacher, whether they share a dance;
        for routines, whether any fits better than halfway to another dance."""
        if self.nearest is not None:
            return self.nearest[1] >= RECOGNISED_FROM
        return self.feedback.shares_a_dance


def score_ffmpeg() -> FfmpegSettings:
    """ffmpeg as `score` runs it from the command line (an asset hands it the
    FfmpegResource's settings instead): one thread a process, as its two videos are
    decoded side by side, and up to FFMPEG_DENSE_TIMEOUT_S a video."""
    return FfmpegSettings(find_ffmpeg(), threads=1, timeout_s=FFMPEG_DENSE_TIMEOUT_S)


def score_against_teacher(lake: Lake, student: Path, teacher: Path, ffmpeg: FfmpegSettings, *,
                          dance: str | None = None, verdict: Verdict | None = None,
                          settings: DenseSettings = DEFAULT_SETTINGS, keep: bool = True,
                          progress: Callable[[str], None] = lambda _stage: None,
                          read: Performance | None = None) -> DanceScore:
    """Her video against a teacher's: both read once (core/performance; hers already, where
    `read` is given), their music compared, put in step (by the sound first when they
    share a song) and judged. With `keep` False nothing is written into the lake: no
    cached performance, the report in a temporary folder. `progress` hears each stage as
    it starts (POSING, IN_STEP, REPORT): the studio shows them while she waits."""
    started = time.perf_counter()
    # A file that is no video is told before any posing.
    her_probe = None if read is not None else probed(student, ffmpeg)
    their_probe = probed(teacher, ffmpeg)
    # librosa's import (seconds of CPU) runs beside the posing instead of after it.
    threading.Thread(target=importlib.import_module, args=("librosa",), daemon=True).start()
    progress(POSING)
    with ThreadPoolExecutor(2) as pool:
        hers = None if read is not None else pool.submit(
            read_performance, student, ffmpeg, settings, probe=her_probe,
            cache=_her_cache(lake, student, keep), frames=True, motion=True, sound=True)
        theirs = pool.submit(read_performance, teacher, ffmpeg, settings, probe=their_probe,
                             cache=lake.cache if keep else None, frames=True)
        her = read if hers is None else hers.result()
        their = theirs.result()
    her.require_dancer()
    their.require_dancer()
    progress(IN_STEP)
    alignment, judged, synced = judge_pair(her.movement, their.movement, her.beats,
                                           their.beats)
    _require_shared_dance(judged, student, teacher, dance)
    music = _music_feedback(her.movement, her.beats, synced, teacher.name,
                            her_note=her.no_beat, their_note=their.no_beat)
    reference = ReferenceInfo(TEACHER_VIDEO, teacher.name + (f" ({dance}'s teacher)"
                                                             if dance else ""), teacher, dance)
    progress(REPORT)
    result = DanceScore(video=student, reference=reference, feedback=judged, verdict=verdict,
                        nearest=None, report=_report_path(lake, student, keep), music=music)
    write_report(result.report, her.poses, their.poses, alignment, judged,
                 record=as_json(result), ffmpeg=ffmpeg, music=music,
                 sound=Sound(her.sound) if her.sound else None)
    result.elapsed_s = time.perf_counter() - started
    return result


def _her_cache(lake: Lake, student: Path, keep: bool) -> Path | None:
    """Where her performance is cached: a dancer of the lake's own raw/ is read once for
    her score and the music asset; any other video is not kept."""
    in_lake = student.resolve().is_relative_to(lake.raw.resolve())
    return lake.cache if keep and in_lake else None


def _require_shared_dance(judged: Feedback, student: Path, teacher: Path,
                          dance: str | None) -> None:
    if not judged.shares_a_dance:
        tried = f"{dance}'s teacher ({teacher.name})" if dance else teacher.name
        raise DanceAssetsError(
            f"{student.name} and {tried} share no dance: however they are put in "
            f"step, her moves do not match the teacher's (score {judged.score}/100, a mean "
            f"body-part angle of {judged.error_deg:.0f}°)")


def judge_pair(hers: Movement, theirs: Movement, her_music: Beats | None,
               their_music: Beats | None) -> tuple[PairAlignment, Feedback, AudioSync | None]:
    """Her performance against the teacher's: put in step (by their song first when they
    share one) and judged; with how the sound synced them, if both had music."""
    synced = sync_by_sound(her_music, their_music) if her_music and their_music else None
    start = Start(synced.tempo, synced.offset_s) if synced and synced.same_song else None
    alignment = align_pair(hers, theirs, start)
    return alignment, feedback(alignment), synced


def _music_feedback(movement: Movement, hers: Beats | None, synced: AudioSync | None,
                    teacher_name: str, *, her_note: str, their_note: str) -> MusicFeedback:
    """Her hits against her music's beat, and how the music put the videos in step.
    `her_note`, `their_note`: why her video's sound and the teacher's gave no beat ("" where
    they did)."""
    if synced is not None and synced.same_song:
        note = (f"the same song as in {teacher_name}: the videos were put in step by the "
                "sound first")
    elif synced is not None:
        note = f"a different song from {teacher_name}'s: the dance alone put them in step"
    else:
        note = f"{her_note or their_note}: the dance alone put the videos in step"
    timing = against_beats(hits(movement), hers) if hers is not None else None
    return MusicFeedback(
        tempo_bpm=round(hers.tempo_bpm, 1) if hers else None,
        beats=[round(float(t), 3) for t in hers.times] if hers else [], timing=timing,
        same_song=synced.same_song if synced else None,
        audio_offset_s=round(synced.offset_s, 3) if synced and synced.same_song else None,
        note=note, no_beat=her_note)


def load_routines(lake: Lake) -> dict[str, Reference]:
    """The dances' routines averaged over their training performances."""
    table = tables.read_table(lake, "choreography")
    routines = references_from_table(table[table["source"].fillna(ROUTINE) == ROUTINE])
    if not routines:
        raise DanceAssetsError("no choreography reference yet: run `dance-assets demo` (or "
                               "materialize choreography in the UI)")
    return routines


def score_against_routine(lake: Lake, verdict: Verdict, dance: str,
                          ffmpeg: FfmpegSettings, keep: bool = True) -> DanceScore:
    """Her video, read as the classifier's card says, against a dance's averaged routine."""
    started = time.perf_counter()
    routines = load_routines(lake)
    if dance not in routines:
        raise DanceAssetsError(f"no choreography reference for {dance}: materialize "
                               "choreography again")
    shown = verdict.shown
    student = _seconds_as_poses(shown)
    alignment = routine_alignment(student, np.flatnonzero(shown.usable), routines[dance])
    judged = feedback(alignment)
    video = verdict.video
    reference = ReferenceInfo(ROUTINE, f"{dance}'s routine, averaged over "
                              f"{routines[dance].n_videos} training performances", None, dance)
    upright = alignment.student.skeletons[np.flatnonzero(shown.usable)]  # as compared
    result = DanceScore(video=video, reference=reference, feedback=judged, verdict=verdict,
                        nearest=nearest_dance(upright, routines),
                        report=_report_path(lake, video, keep))
    write_report(result.report, student, None, alignment, judged, record=as_json(result),
                 ffmpeg=ffmpeg, sound=Sound(shown.sound) if shown.sound else None)
    result.elapsed_s = time.perf_counter() - started
    return result


def _seconds_as_poses(shown: Seconds) -> DensePoses:
    """The classifier's frames as a (sparse) posed video: NaN where not usable."""
    n = len(shown.seconds)
    x, y, visibility = (np.full((n, 33), np.nan, np.float32) for _ in range(3))
    for i in np.flatnonzero(shown.usable):
        dancer = shown.poses[i].dancer
        x[i], y[i], visibility[i] = dancer.x, dancer.y, dancer.visibility
    height, width = shown.images[0].shape[:2]
    step = float(np.median(np.diff(shown.seconds))) if n > 1 else 1.0
    return DensePoses(times=shown.seconds.astype(np.float64), x=x, y=y, visibility=visibility,
                      people=np.array([p.people for p in shown.poses]), width=width, height=height,
                      rate=1 / step,
                      frames=list(shown.images))


def routine_alignment(student: DensePoses, usable: np.ndarray, routine: Reference
                      ) -> PairAlignment:
    """Her `usable` seconds (their indices) matched to the routine's steps by
    core/scoring/routines.align_to_routine (a loop, up to twice as fast), as a PairAlignment with
    the routine in the teacher's place."""
    hers = movement_of(student)  # turned upright if she was filmed sideways
    looped = align_to_routine(hers.skeletons[usable], routine.skeletons)
    steps = movement_from_skeletons(np.arange(len(routine.skeletons), dtype=np.float64),
                                    routine.skeletons, None, 1.0)
    if looped.mirrored:
        steps = steps.mirrored()
    frames = np.full(len(student), -1, dtype=np.int64)
    frames[usable] = looped.steps
    errors = np.full((len(student), len(PART_NAMES)), np.nan, np.float32)
    errors[usable] = part_errors(hers.directions[usable], steps.directions[looped.steps],
                                 hers.weights[usable])
    path = np.where(frames >= 0, frames, np.nan).astype(np.float64)
    return PairAlignment(warp=None, mirrored=looped.mirrored, path_times=path,
                         teacher_frames=frames, part_errors=errors, student=hers, teacher=steps)


def _report_path(lake: Lake, video: Path, keep: bool) -> Path:
    """Where her report goes: the lake's reports, or without `keep` a temporary folder."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    folder = lake.reports / "scores" if keep else Path(tempfile.gettempdir()) / "dance-assets"
    return folder / f"{video.stem}-{stamp}.html"


def lake_teachers(lake: Lake) -> dict[str, Path]:
    """The dances whose teacher video the `choreography` asset posed, and its path."""
    table = tables.read_table(lake, "choreography")
    teachers = table[table["source"] == TEACHER_VIDEO]
    return {str(dance): lake.absolute(str(path)) for dance, path in
            teachers.groupby("dance_class")["reference_path"].first().items()}


def score(lake: Lake, video: Path, ffmpeg: FfmpegSettings, *, reference: Path | None = None,
          dance: str | None = None, arch: str | None = None,
          protocol: str | None = None, keep: bool = True) -> DanceScore:
    """Score a video: against `reference` (a teacher's video) when given, else against
    `dance` (default: the one the lake's classifier sees), using its teacher's video
    where the lake has one and its averaged routine where not. Without `keep`, nothing
    is written into the lake (score_against_teacher)."""
    if not video.is_file():
        raise DanceAssetsError(f"no such file: {video}")
    if reference is not None:
        if arch is not None or protocol is not None:
            raise DanceAssetsError(
                "--arch and --protocol choose the lake's classifier, which scoring against "
                "--reference does not use: leave them out")
        return score_against_teacher(lake, video, reference, ffmpeg, dance=dance,
                                     keep=keep)
    teachers = lake_teachers(lake)
    try:
        model = choose_model(lake, arch, protocol)
    except DanceAssetsError:
        if arch is not None or dance not in teachers:
            raise
        model = None  # her teacher is enough; a classifier's verdict only adds to it
    known = sorted(set(teachers) | set(model.card.classes if model else ()))
    if dance is not None and dance not in known:
        raise DanceAssetsError(f"unknown dance {dance!r}; known dances: {', '.join(known)}")
    started, her, verdict = time.perf_counter(), None, None
    if model is not None and (dance in teachers if dance else teachers):
        # Her score will need her poses: one decoding gives them and the classifier's frames.
        probe = probed(video, ffmpeg)
        her, verdict = classify_while_reading(video, probe, model, lambda outputs: (
            read_performance(video, ffmpeg, probe=probe, cache=_her_cache(lake, video, keep),
                             frames=True, motion=True, sound=True, also=outputs)))
    elif model is not None:
        verdict = classify(video, model, ffmpeg)
    target = dance or verdict.predicted
    if target in teachers:
        result = score_against_teacher(lake, video, teachers[target], ffmpeg, dance=target,
                                       verdict=verdict, keep=keep, read=her)
        result.elapsed_s = time.perf_counter() - started
        return result
    return score_against_routine(lake, verdict, target, ffmpeg, keep)
