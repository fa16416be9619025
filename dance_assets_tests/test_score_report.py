"""Her report: one self-contained page whose video, sound, timeline, beat grid and stills
work.

On a small generated pair (a teacher and a student who dances it as in a mirror, 10 s at
240x426), her hits against her song's beats (the generator's truth) and her video given a
test tone that starts at TONE_AT_S: the page holds everything itself, its MP4 is H.264
that ffmpeg decodes back frame for frame with the teacher's matched frame beside hers,
with her sound as AAC cut to the video and in step with it (none when her video has no
sound), the beat grid has a tick per beat and a mark per hit of the right kind, and in
Debian's chromium the video plays with its sound, a click on a weak moment, a still, the
timeline or a hit seeks it there, and a screenshot is taken (docs/score-report.png with
DANCE_ASSETS_DOCS=1).
"""

from __future__ import annotations

import base64
import io
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Page, sync_playwright

from dance_assets.core.ingest.audio import ANALYSIS_RATE, decode_audio
from dance_assets.core.ingest.dense_poses import DensePoses, read_video
from dance_assets.core.ingest.video import FfmpegSettings, probe_video
from dance_assets.core.lake.reports import png_bytes, save_png
from dance_assets.core.performance.beats import HOP, Beats
from dance_assets.core.performance.movement import movement_of
from dance_assets.core.scoring.coaching import Feedback, feedback
from dance_assets.core.scoring.music import (
    ON_BEAT_S,
    BeatTiming,
    MusicFeedback,
    against_beats,
    hits,
)
from dance_assets.core.scoring.pair_alignment import PairAlignment, align_pair
from dance_assets.core.scoring.routines import TEACHER_VIDEO
from dance_assets.core.scoring.score_record import as_json
from dance_assets.core.scoring.score_report import write_report
from dance_assets.core.scoring.score_timeline import beat_html
from dance_assets.core.scoring.scoring import DanceScore, ReferenceInfo
from dance_assets.core.scoring.side_by_side import Sound
from dance_assets.core.synthetic.lessons import student_specs, teacher_spec
from dance_assets.core.synthetic.soundtrack import beat_times
from dance_assets.core.synthetic.specs import VideoSpec
from dance_assets.core.synthetic.writing import write_video
from dance_assets_tests.helpers import chromium

DANCE, SEED, SECONDS, SIZE = "mood", 0, 10, (240, 426)
STUDENT = 0  # mirrored, 0.6 s late and 18 % slow: the alignment finds it
TONE_AT_S, TONE_HZ, SOUND_S = 2.0, 440, 12.0  # her sound: silent, then a tone, past the end
DOCS_SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "score-report.png"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


@dataclass
class Scored:
    """A pair as `dance-assets score` leaves it: posed with frames, aligned, judged."""

    student: DensePoses
    teacher: DensePoses
    alignment: PairAlignment
    feedback: Feedback
    music: MusicFeedback
    with_sound: Path  # her video with the test tone


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory, ffmpeg_binary: str) -> Scored:
    root = tmp_path_factory.mktemp("pair")
    teacher_video = write_video(teacher_spec(DANCE, SEED, SECONDS, SIZE),
                                root / "teacher.mp4", ffmpeg_binary)
    spec = student_specs(DANCE, SEED, STUDENT + 1, SECONDS, SIZE)[STUDENT]
    student_video = write_video(spec, root / "student.mp4", ffmpeg_binary)
    settings = FfmpegSettings(ffmpeg_binary, threads=1, timeout_s=60)
    student = read_video(student_video, settings, keep_frames=True)
    teacher = read_video(teacher_video, settings, keep_frames=True)
    alignment = align_pair(movement_of(student), movement_of(teacher))
    return Scored(student, teacher, alignment, feedback(alignment), _her_music(spec, student),
                  _with_sound(student_video, ffmpeg_binary))


def _her_music(spec: VideoSpec, student: DensePoses) -> MusicFeedback:
    """Her hits (music.py) against her song's beats as the generator laid them, from a
    beat before her video to one after it, as a beat tracker finds them."""
    assert spec.sound is not None, "the student dances to the lesson's song"
    beats = beat_times(spec.sound.bpm, spec.sound.first_beat_s, -1.0, SECONDS + 1.0)
    timing = against_beats(hits(movement_of(student)), Beats(
        spec.sound.bpm, beats, np.zeros(0), np.zeros((12, 0)), HOP / ANALYSIS_RATE))
    assert timing is not None
    return MusicFeedback(tempo_bpm=round(spec.sound.bpm, 1), beats=[round(float(t),
                                                                          3) for t in beats],
                         timing=timing, same_song=True, audio_offset_s=0.4,
                         note="the same song as in teacher.mp4: the videos "
                         "were put in step by the sound first")


def _with_sound(video: Path, ffmpeg_binary: str) -> Path:
    """Her video's pictures with a tone from TONE_AT_S to SOUND_S (longer than the video)."""
    tone = f"aevalsrc=0.5*sin(2*PI*{TONE_HZ}*t)*gte(t\\,{TONE_AT_S}):s=44100:d={SOUND_S}"
    with_sound = video.with_name("with-sound.mp4")
    subprocess.run([ffmpeg_binary, "-v", "error", "-y", "-i", str(video), "-f", "lavfi",
                    "-i", tone, "-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy", "-c:a",
                    "aac", str(with_sound)], check=True)
    return with_sound


def _write(scored: Scored, path: Path, ffmpeg_binary: str, with_teacher: bool = True) -> Path:
    """Her report with her music and sound; or without the teacher's video (an averaged
    routine's figure instead), without her music, and given as sound bytes that are no
    AAC (ffmpeg cannot read them: the report plays silent)."""
    ffmpeg = FfmpegSettings(ffmpeg_binary, timeout_s=120)
    sound = subprocess.run([ffmpeg_binary, "-v", "error", "-i", str(scored.with_sound),
                            "-map", "0:a:0", "-c:a", "copy", "-f", "adts", "pipe:1"],
                           capture_output=True, check=True).stdout
    sound = sound if with_teacher else b"no sound at all"
    music = scored.music if with_teacher else None
    record = as_json(DanceScore(
        video=Path("student.mp4"), feedback=scored.feedback, verdict=None, nearest=None,
        reference=ReferenceInfo(TEACHER_VIDEO, "the savage teacher", None, None),
        report=path, music=music))
    return write_report(path, scored.student, scored.teacher if with_teacher else None,
                        scored.alignment, scored.feedback, record=record, ffmpeg=ffmpeg,
                        music=music, sound=Sound(sound))


@pytest.fixture(scope="module")
def report(scored: Scored, tmp_path_factory: pytest.TempPathFactory,
           ffmpeg_binary: str) -> Path:
    return _write(scored, tmp_path_factory.mktemp("report") / "report.html", ffmpeg_binary)


@pytest.fixture(scope="module")
def figure_report(scored: Scored, tmp_path_factory: pytest.TempPathFactory,
                  ffmpeg_binary: str) -> Path:
    return _write(scored, tmp_path_factory.mktemp("figure") / "figure.html", ffmpeg_binary,
                  with_teacher=False)


def _embedded_mp4(html: str) -> bytes:
    found = re.search(r'<script type="application/octet-stream" id="side-by-side-mp4">'
                      r"([A-Za-z0-9+/=\s]+)</script>", html)
    assert found, "no embedded MP4"
    return base64.b64decode(found.group(1))


def _decoded(mp4: bytes, tmp_path: Path, ffmpeg_binary: str) -> np.ndarray:
    """The MP4's frames as ffmpeg decodes them (frames × height × width × 3), after
    checking that it is H.264 and starts fast (its index before its data)."""
    assert mp4[4:8] == b"ftyp" and mp4.find(b"moov") < mp4.find(b"mdat")
    path = tmp_path / "side-by-side.mp4"
    path.write_bytes(mp4)
    probe = probe_video(path, FfmpegSettings(ffmpeg_binary))
    assert probe.codec == "h264" and probe.width % 2 == 0 and probe.height % 2 == 0
    raw = subprocess.run([ffmpeg_binary, "-v", "error", "-i", str(path), "-f", "rawvideo",
                          "-pix_fmt", "rgb24", "pipe:1"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, probe.height, probe.width, 3)


def _in_step(video: np.ndarray, scored: Scored) -> None:
    """Her frame on the left; on the right the teacher's frame the alignment matched
    (flipped when she mirrored): of all the teacher's frames, the nearest to it."""
    student, teacher, alignment = scored.student, scored.teacher, scored.alignment
    top = video.shape[1] - student.height  # the captions are above the frames
    assert np.abs(video[:, top:, :student.width].astype(int)
                  - np.stack(student.frames)).mean() < 12
    theirs = np.stack([frame[::4, ::-4] if alignment.mirrored else frame[::4, ::4]
                       for frame in teacher.frames]).astype(np.int16)
    sampled = np.flatnonzero(alignment.teacher_frames >= 0)[::4]
    right = video[sampled, top::4, student.width:student.width + teacher.width:4]
    nearest = [int(np.abs(theirs - shown).mean(axis=(1, 2, 3)).argmin())
               for shown in right.astype(np.int16)]
    matched = alignment.teacher_frames[sampled]
    assert (np.abs(np.array(nearest) - matched) <= 1).mean() >= 0.8, (nearest, matched)


def test_the_report_is_one_page_with_everything_inside(report: Path, figure_report: Path,
                                                        scored: Scored, tmp_path: Path,
                                                        ffmpeg_binary: str):
    html = report.read_text()
    for outside in ("http://", "https://", 'src="/', "src='/", "url("):
        assert outside not in html, f"the page refers to {outside}…"
    assert scored.alignment.mirrored and 'id="mirrored"' in html
    assert f'<span id="score">{scored.feedback.score}</span>' in html

    video = _decoded(_embedded_mp4(html), tmp_path, ffmpeg_binary)
    assert len(video) == len(scored.student)
    assert video.shape[2] == scored.student.width + scored.teacher.width
    assert f'width="{video.shape[2]}" height="{video.shape[1]}"' in html
    _in_step(video, scored)

    weakest = scored.feedback.weakest
    assert weakest, "a student with a splice of another dance has weak moments"
    marked = re.findall(r'<g class="moment weak" data-start="([0-9.]+)"', html)
    assert [float(s) for s in marked] == [m.start_s for m in weakest]
    stills = re.findall(r'<button type="button" class="still" data-start="[0-9.]+" '
                        r'aria-label="[^"]*"><img src="data:image/jpeg;base64,([^"]+)"', html)
    assert len(stills) == len(weakest)
    for still in stills:
        assert Image.open(io.BytesIO(base64.b64decode(still))).size == video.shape[2:0:-1]

    # A reference without a video (an averaged routine): its stick figure on the right.
    drawn = _decoded(_embedded_mp4(figure_report.read_text()), tmp_path, ffmpeg_binary)
    assert drawn.shape == (len(scored.student), video.shape[1], 2 * scored.student.width, 3)


def _audio(mp4: bytes, tmp_path: Path, ffmpeg_binary: str) -> np.ndarray | None:
    """The MP4's sound as ffmpeg decodes it (mono at ANALYSIS_RATE), after checking it is AAC;
    None when the MP4 has no audio stream."""
    path = tmp_path / "with-sound.mp4"
    path.write_bytes(mp4)
    settings = FfmpegSettings(ffmpeg_binary)
    codec = probe_video(path, settings).audio_codec
    if codec is None:
        return None
    assert codec == "aac"
    return decode_audio(path, settings)


def test_her_sound_plays_in_step_and_only_when_she_has_some(report: Path, figure_report: Path,
                                                            scored: Scored, tmp_path: Path,
                                                            ffmpeg_binary: str):
    html = report.read_text()
    sound = _audio(_embedded_mp4(html), tmp_path, ffmpeg_binary)
    assert sound is not None, "her video has sound: the report's video plays it"
    video_s = len(scored.student) / scored.student.rate
    assert abs(len(sound) / ANALYSIS_RATE - video_s) < 0.1, "her sound is cut to the video"
    window = ANALYSIS_RATE // 100  # 10 ms
    loudness = np.sqrt(np.mean(sound[:len(sound) // window * window].reshape(-1, window) ** 2,
                               axis=1))
    onset_s = np.argmax(loudness > loudness.max() / 2) * window / ANALYSIS_RATE
    assert abs(onset_s - TONE_AT_S) < 0.05, "her sound is in step with her pictures"
    tone = sound[round(TONE_AT_S * ANALYSIS_RATE):]
    frequencies = np.fft.rfftfreq(len(tone), 1 / ANALYSIS_RATE)
    assert abs(frequencies[np.argmax(np.abs(np.fft.rfft(tone)))] - TONE_HZ) < 3
    assert re.search(r'<video id="side-by-side"[^>]* controls playsinline', html), \
        "with sound, the video is not muted"

    html = figure_report.read_text()  # from her video without sound
    assert _audio(_embedded_mp4(html), tmp_path, ffmpeg_binary) is None
    assert " controls muted " in html


def _grid(html: str) -> tuple[list[float], list[tuple[str, float, int]]]:
    """The beat grid's beats, and its hits as (kind, time, offset in ms)."""
    grid = re.search(r'<svg id="beat-grid".*?</svg>', html)
    assert grid, "no beat grid"
    beats = re.findall(r'<line class="beat" data-time="([0-9.]+)"', grid.group())
    marks = re.findall(r'<circle class="hit ([a-z-]+)" data-time="([0-9.]+)" '
                       r'data-offset="(-?\d+)"', grid.group())
    return [float(t) for t in beats], [(k, float(t), int(o)) for k, t, o in marks]


def _kind(offset_ms: int) -> str:
    return ("early" if offset_ms < -1000 * ON_BEAT_S else "late"
            if offset_ms > 1000 * ON_BEAT_S else "on-time")


def test_the_beat_grid_has_her_beats_and_hits(report: Path, scored: Scored):
    html = report.read_text()
    beats, marks = _grid(html)
    video_s = len(scored.student) / scored.student.rate
    assert beats == [t for t in scored.music.beats if 0 <= t <= video_s]
    assert len(beats) < len(scored.music.beats), "the beats outside her video are left out"
    timing = scored.music.timing
    assert [(t, o) for _, t, o in marks] == list(zip(timing.hit_times, timing.hit_offsets_ms,
                                                     strict=True))
    assert all(kind == _kind(offset) for kind, _, offset in marks)
    assert f"furthest off the beat: {timing.worst_offset_ms:+d} ms" in html
    assert f"{scored.music.tempo_bpm:.0f} bpm · the same song as the teacher" in html
    assert "Your hits land" in html and "The same song as in teacher.mp4" in html


def test_a_hit_is_early_on_time_or_late_by_its_offset():
    offsets = (-230, -101, -100, 0, 100, 101, 180)
    times = tuple(1.0 + i for i in range(len(offsets)))
    timing = BeatTiming(mean_offset_ms=20, spread_ms=140, on_beat_share=0.43, hits=len(offsets),
                        worst_start_s=5.0, worst_end_s=7.0, worst_offset_ms=140, hit_times=times,
                        hit_offsets_ms=offsets)
    music = MusicFeedback(tempo_bpm=120.0, beats=[-0.5, *np.arange(0.0, 8.01, 0.5).tolist(), 8.5],
                          timing=timing,
                          same_song=None, audio_offset_s=None,
                          note="no song in the teacher's video")
    beats, marks = _grid(beat_html(music, 8.0))
    assert len(beats) == 17
    assert [kind for kind, _, _ in marks] == ["early", "early", "on-time", "on-time",
                                             "on-time", "late", "late"]
    assert "furthest off the beat: +140 ms" in beat_html(music, 8.0)
    for no_music in (None, MusicFeedback(tempo_bpm=None, beats=[], timing=None, same_song=None,
                                         audio_offset_s=None, note="no sound in her.mp4")):
        line = beat_html(no_music, 8.0)
        assert "beat-grid" not in line and 'class="no-music"' in line
    assert "No sound in her.mp4." in line


def _current_time(page: Page) -> float:
    return page.evaluate("document.getElementById('side-by-side').currentTime")


def _seeks_to(page: Page, seconds: float, tolerance: float = 0.15) -> None:
    page.wait_for_function(
        "([t, tol]) => { const v = document.getElementById('side-by-side');"
        " return !v.seeking && Math.abs(v.currentTime - t) < tol; }",
        arg=[seconds, tolerance], timeout=5000)


def _free_cell(scored: Scored) -> float:
    """The start of a half-second cell that no moment's mark covers."""
    moments = [*scored.feedback.weakest, *([scored.feedback.best] if scored.feedback.best else [])]
    free = [t for t in np.arange(0.0, SECONDS - 0.5, 0.5)
            if all(t + 0.5 <= m.start_s or t >= m.end_s for m in moments)]
    assert free, "the moments cover the whole timeline"
    return float(free[len(free) // 2])


@pytest.mark.slow
def test_she_plays_it_in_chromium(report: Path, scored: Scored, tmp_path: Path):
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), headless=True,
                                             args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(report.as_uri())
            page.wait_for_function("document.getElementById('side-by-side').readyState >= 2",
                                   timeout=15_000)
            width, error = page.evaluate("(v => [v.videoWidth, v.error && v.error.message])"
                                         "(document.getElementById('side-by-side'))")
            assert error is None and width == scored.student.width + scored.teacher.width
            _plays_with_sound(page)
            _seeks_where_she_clicks(page, scored)
            _screenshot(page, tmp_path)
        finally:
            browser.close()
    assert not errors, errors


def _plays_with_sound(page: Page) -> None:
    """It plays (H.264 in Debian's chromium) and decodes its sound (muted here: headless
    Chromium has no speaker, and only muted playback may start without a click), and
    the playheads follow."""
    page.evaluate("(v => { v.muted = true; return v.play(); })"
                  "(document.getElementById('side-by-side'))")
    page.wait_for_function("document.getElementById('side-by-side').currentTime > 1",
                           timeout=10_000)
    page.evaluate("document.getElementById('side-by-side').pause()")
    decoded = page.evaluate("document.getElementById('side-by-side').webkitAudioDecodedByteCount")
    assert decoded > 0, "the video's sound was not decoded"
    for axis in ("#timeline", "#beat-grid"):
        playhead = float(page.locator(f"{axis} .playhead").get_attribute("x1"))
        assert playhead > float(page.locator(axis).get_attribute("data-x0"))


def _seeks_where_she_clicks(page: Page, scored: Scored) -> None:
    """A click on the timeline plays from there; on a weak moment or a still, from its
    start; on a hit in the beat grid, from the hit."""
    cell = _free_cell(scored)
    page.locator("#timeline rect", has_text=f"overall, {cell:.1f}–").click()
    _seeks_to(page, cell + 0.25, tolerance=0.3)
    last = scored.feedback.weakest[-1]
    page.locator("button.still").last.click()
    _seeks_to(page, last.start_s)
    first = scored.feedback.weakest[0]
    page.locator("#timeline .moment.weak .span").first.click()
    _seeks_to(page, first.start_s)
    hits = page.locator("#beat-grid .hit")
    assert page.locator("#beat-grid").is_visible()
    assert hits.count() == len(scored.music.timing.hit_times)
    hit = hits.nth(hits.count() // 2)
    hit.click()
    _seeks_to(page, float(hit.get_attribute("data-time")), tolerance=0.05)


def _screenshot(page: Page, tmp_path: Path) -> Path:
    """The whole page; with DANCE_ASSETS_DOCS=1 it is the README's picture of a report."""
    page.evaluate("window.scrollTo(0, 0)")
    shot = tmp_path / "score-report.png"
    page.screenshot(path=str(shot), full_page=True)
    if os.environ.get("DANCE_ASSETS_DOCS"):
        save_png(DOCS_SCREENSHOT, png_bytes(Image.open(shot), colours=256))
    return shot
