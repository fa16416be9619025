"""Teachers and their students, for scoring a dancer against her teacher.
Each dance has a teacher (a clean performance on the dance's own tempo, from a tripod)
and students whose timing is known: late or early, faster or slower, maybe mirrored,
and for a few seconds dancing another dance's moves. Their sidecars record that
timing (see Lesson).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from dance_assets.core.synthetic.dancers import draw_participant
from dance_assets.core.synthetic.dances import DANCE_CLASSES, key_poses, stable_seed
from dance_assets.core.synthetic.phone import PhoneShares, filmed_on_a_phone
from dance_assets.core.synthetic.plans import recorded
from dance_assets.core.synthetic.sound import STUDENT_SOUND, drawn_sound, music_for
from dance_assets.core.synthetic.specs import Lesson, Splice, VideoSpec, video_path
from dance_assets.core.synthetic.writing import generate

TEACHER = "teacher"  # the teacher's name, so her video is <dance>/teacher.mp4


def teacher_spec(dance: str, seed: int, seconds: float, size: tuple[int, int]) -> VideoSpec:
    """The teacher of `dance`: a clean performance students are scored against.

    No sloppiness, on the dance's own tempo, not mirrored, from the routine's first
    beat, filmed from a tripod with nothing else in the video, so every difference a
    scorer finds in a student is the student's. Her body comes from a stream of her
    own: the lake's participants stay as they were.
    """
    body = draw_participant(np.random.default_rng(stable_seed("teacher", seed, dance)),
                            TEACHER)
    teacher = replace(body, sloppiness=0.0, tempo_bpm=key_poses(dance).tempo_bpm,
                      mirrored=False, phase=0.0)
    return VideoSpec(dance=dance, participant=teacher, seconds=seconds, width=size[0],
                     height=size[1], lesson=Lesson(TEACHER),
                     sound=music_for(teacher, dance))


def student_specs(dance: str, seed: int, count: int, seconds: float,
                  size: tuple[int, int]) -> list[VideoSpec]:
    """`count` students (s01, s02, ...) of the teacher of `dance`, with known timing.

    The student's video at time t shows the teacher's routine at the teacher's time
    tau = tempo * (t - offset_s) (see Lesson), except in her splice. Her music is the
    teacher's song played at her tempo, as a practice app slows or speeds it: at her
    time t the song's time tempo * (t - audio_offset_s), where audio_offset_s = offset_s
    - beat_offset_s (her key poses are beat_offset_s late on her music); some students
    have no sound, another song or noise over it (STUDENT_SOUND). Each is drawn like
    the lake's participants and filmed like the lake's videos (filters, bad seconds,
    phone traits), from streams of her own, so a scorer is tested on real footage's
    troubles, never on easier videos.
    """
    teacher = teacher_spec(dance, seed, seconds, size)
    return [_student(teacher, seed, index) for index in range(count)]


def _student(teacher: VideoSpec, seed: int, index: int) -> VideoSpec:
    """One student: off the teacher's timing by a known offset and tempo, about 40 %
    mirrored, with a splice of another dance."""
    rng = np.random.default_rng(stable_seed("student", seed, teacher.dance, index))
    body = draw_participant(rng, f"s{index + 1:02d}")  # sloppy as the lake's dancers
    offset_s = float(rng.choice([-1.0, 1.0]) * rng.uniform(0.2, 0.8))
    tempo = float(np.exp(rng.uniform(math.log(0.8), math.log(1.25))))
    lead = teacher.participant
    dancer = replace(body, tempo_bpm=tempo * lead.tempo_bpm, mirrored=bool(rng.random() < 0.4),
                     phase=lead.phase - tempo * offset_s * lead.tempo_bpm / 60.0)
    spec = recorded(teacher.dance, dancer, teacher.seconds, (teacher.width, teacher.height),
                    rng)
    spec = replace(spec, splice=_splice(rng, teacher.dance, spec.seconds),
                   lesson=Lesson("student", video_path(Path(), teacher).name, offset_s, tempo))
    phone = np.random.default_rng(stable_seed("student-phone", seed, teacher.dance, index))
    spec = filmed_on_a_phone(spec, PhoneShares(), phone)
    sound = np.random.default_rng(stable_seed("student-sound", seed, teacher.dance, index))
    beat_offset_s = float(sound.uniform(-1.0, 1.0) * STUDENT_SOUND.max_beat_offset_s)
    return replace(spec, sound=drawn_sound(teacher.dance, spec.participant, STUDENT_SOUND,
                                           sound, beat_offset_s))


def _splice(rng: np.random.Generator, dance: str, seconds: float) -> Splice | None:
    """2-4 s of another dance, at least 2 s from either end; None when the video is
    shorter than 6 s and has no room for one."""
    room = seconds - 4.0  # where the window may lie
    if room < 2.0:
        return None
    length = float(rng.uniform(2.0, min(4.0, room)))
    start = 2.0 + float(rng.uniform(0.0, room - length))
    other = str(rng.choice([d for d in DANCE_CLASSES if d != dance]))
    return Splice(start, start + length, other)


def write_pairs(root: Path, dances: Sequence[str], students: int, seconds: float,
                size: tuple[int, int], seed: int, ffmpeg_binary: str, workers: int | None = None,
                progress: Callable[[int, int, Path], None] | None = None,
                ) -> list[tuple[Path, list[Path]]]:
    """Each dance's teacher (root/<dance>/teacher.mp4) and `students` students
    (root/<dance>/s01.mp4, ...) with their sidecars, written as `generate` writes the lake
    (in parallel, keeping what is there); per dance, the teacher's path and the
    students'."""
    lessons = [(teacher_spec(dance, seed, seconds, size),
                student_specs(dance, seed, students, seconds, size)) for dance in dances]
    generate(root, [spec for teacher, group in lessons for spec in (teacher, *group)],
             ffmpeg_binary, workers, progress)
    return [(video_path(root, teacher), [video_path(root, spec) for spec in group])
            for teacher, group in lessons]
