"""Her report: one self-contained page whose video, timeline and stills work.

On a small generated pair (a teacher and a student who dances it as in a mirror, 10 s at
240x426): the page holds everything itself, its MP4 is H.264 that ffmpeg decodes back
frame for frame with the teacher's matched frame beside hers, and in Debian's chromium
the video plays, a click on a weak moment, a still or the timeline seeks it there, and a
screenshot is taken (docs/score-report.png with DANCE_ASSETS_DOCS=1).
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

from dance_assets.core.coaching import Feedback, feedback
from dance_assets.core.dense_poses import DensePoses, read_video
from dance_assets.core.generator import student_specs, teacher_spec, write_video
from dance_assets.core.movement import movement_of
from dance_assets.core.pair_alignment import PairAlignment, align_pair
from dance_assets.core.reports import png_bytes, save_png
from dance_assets.core.score_report import write_report
from dance_assets.core.video import FfmpegSettings, probe_video
from dance_assets_tests.conftest import chromium

DANCE, SEED, SECONDS, SIZE = "mood", 0, 10, (240, 426)
STUDENT = 0  # mirrored, 0.6 s late and 18 % slow: the alignment finds it
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


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory, ffmpeg_binary: str) -> Scored:
    root = tmp_path_factory.mktemp("pair")
    teacher_video = write_video(teacher_spec(DANCE, SEED, SECONDS, SIZE),
                                root / "teacher.mp4", ffmpeg_binary)
    student_video = write_video(student_specs(DANCE, SEED, STUDENT + 1, SECONDS, SIZE)[STUDENT],
                                root / "student.mp4", ffmpeg_binary)
    settings = FfmpegSettings(ffmpeg_binary, threads=1, timeout_s=60)
    student = read_video(student_video, settings, keep_frames=True)
    teacher = read_video(teacher_video, settings, keep_frames=True)
    alignment = align_pair(movement_of(student), movement_of(teacher))
    return Scored(student, teacher, alignment, feedback(alignment))


def _write(scored: Scored, path: Path, ffmpeg_binary: str, with_teacher: bool = True) -> Path:
    return write_report(path, scored.student, scored.teacher if with_teacher else None,
                        scored.alignment, scored.feedback, student_name="student.mp4",
                        reference_name="the savage teacher", ffmpeg_binary=ffmpeg_binary)


@pytest.fixture(scope="module")
def report(scored: Scored, tmp_path_factory: pytest.TempPathFactory,
           ffmpeg_binary: str) -> Path:
    return _write(scored, tmp_path_factory.mktemp("report") / "report.html", ffmpeg_binary)


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


def test_the_report_is_one_page_with_everything_inside(report: Path, scored: Scored,
                                                        tmp_path: Path, ffmpeg_binary: str):
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
    figure = _write(scored, tmp_path / "figure.html", ffmpeg_binary, with_teacher=False)
    drawn = _decoded(_embedded_mp4(figure.read_text()), tmp_path, ffmpeg_binary)
    assert drawn.shape == (len(scored.student), video.shape[1], 2 * scored.student.width, 3)


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

            # It plays (H.264 in Debian's chromium), and the playhead follows.
            page.evaluate("document.getElementById('side-by-side').play()")
            page.wait_for_function("document.getElementById('side-by-side').currentTime > 1",
                                   timeout=10_000)
            page.evaluate("document.getElementById('side-by-side').pause()")
            playhead = float(page.locator("#playhead").get_attribute("x1"))
            assert playhead > float(page.locator("#timeline").get_attribute("data-x0"))

            # A click on the timeline plays from there; on a weak moment or a still, from
            # its start.
            cell = _free_cell(scored)
            page.locator("#timeline rect", has_text=f"overall, {cell:.1f}–").click()
            _seeks_to(page, cell + 0.25, tolerance=0.3)
            last = scored.feedback.weakest[-1]
            page.locator("button.still").last.click()
            _seeks_to(page, last.start_s)
            first = scored.feedback.weakest[0]
            page.locator("#timeline .moment.weak .span").first.click()
            _seeks_to(page, first.start_s)
            _screenshot(page, tmp_path)
        finally:
            browser.close()
    assert not errors, errors


def _screenshot(page: Page, tmp_path: Path) -> Path:
    """The whole page; with DANCE_ASSETS_DOCS=1 it is the README's picture of a report."""
    page.evaluate("window.scrollTo(0, 0)")
    shot = tmp_path / "score-report.png"
    page.screenshot(path=str(shot), full_page=True)
    if os.environ.get("DANCE_ASSETS_DOCS"):
        save_png(DOCS_SCREENSHOT, png_bytes(Image.open(shot), colours=256))
    return shot
