"""The dancer's studio: its HTTP routes and WebSocket through Starlette's TestClient with
real MediaPipe and real ffmpeg, the live comparison on recorded pose tracks, and (slow)
an attempt scored end to end and a practice in Chromium with a fake camera.

One lake for the module: two generated dances (a teacher and a student each, 6 s), the
teachers added through the studio's own upload, so every test after the first finds
their poses in the lake's cache.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from dance_assets.cli import main
from dance_assets.core.ingest.dense_poses import DEFAULT_SETTINGS, decode, read_video
from dance_assets.core.ingest.video import FfmpegSettings, find_ffmpeg, output_size, probe_video
from dance_assets.core.lake import tables
from dance_assets.core.lake.lake import Lake
from dance_assets.core.performance.movement import Movement, movement_of
from dance_assets.core.scoring.live import LiveComparison, her_pose
from dance_assets.core.synthetic.lessons import write_pairs
from dance_assets.studio.app import POLICY_VIOLATION, create_app
from dance_assets.studio.library import teacher_of, teacher_poses
from dance_assets.studio.practice import frame_message
from dance_assets.studio.uploads import uploads_folder
from dance_assets_tests.helpers import chromium

DANCES = ("wap", "mood")
LOCAL = "http://127.0.0.1"
SOCKETS = "ws://127.0.0.1/ws/practice"  # TestClient sends ws:// to "testserver" unless told
DOCS = Path(__file__).resolve().parent.parent / "docs"


@pytest.fixture(scope="module")
def lessons(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("studio_lessons")
    write_pairs(root, DANCES, 1, 6, (240, 426), 0, find_ffmpeg())
    return root


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory, lessons: Path) -> Lake:
    """A lake whose two teachers were added through the studio (which poses them)."""
    lake = Lake.resolve(tmp_path_factory.mktemp("studio") / "lake")
    with TestClient(create_app(lake), base_url=LOCAL) as client:
        for dance in DANCES:
            sent = client.post(f"/api/teachers?dance={dance}&name=teacher.mp4",
                               content=(lessons / dance / "teacher.mp4").read_bytes())
            assert sent.status_code == 201, sent.text
    return lake


@pytest.fixture
def client(lake: Lake):
    with TestClient(create_app(lake), base_url=LOCAL) as client:
        yield client


def _jpeg(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def _frames(video: Path) -> list[np.ndarray]:
    """The video decoded as `score` poses it: ten frames a second, short side 256."""
    ffmpeg = FfmpegSettings(find_ffmpeg())
    size = output_size(probe_video(video, ffmpeg), DEFAULT_SETTINGS.short_side)
    return list(decode(video, DEFAULT_SETTINGS.rate, size, ffmpeg))


def test_an_empty_lake_says_what_to_do_and_the_page_is_served(tmp_path):
    with TestClient(create_app(Lake.resolve(tmp_path / "lake")), base_url=LOCAL) as client:
        assert client.get("/api/dances").json()["dances"] == []
        page = client.get("/")
        assert page.status_code == 200 and 'src="/static/main.js"' in page.text
        script = client.get("/static/home.js")
        assert "javascript" in script.headers["content-type"]  # modules need a JS type
        assert "No teacher yet" in script.text
        assert client.get("/static/../app.py").status_code == 404
        assert client.get("/api/dances", headers={"host": "evil.example"}).status_code == 400


def test_teachers_added_through_the_studio_are_kept_as_the_dances_teacher(lake, client):
    listed = {d["dance"]: d for d in client.get("/api/dances").json()["dances"]}
    assert sorted(listed) == sorted(DANCES)
    for dance in DANCES:
        kept = teacher_of(lake, dance)
        assert kept == lake.references / dance / "teacher.mp4"
        assert listed[dance]["teacher"] == kept.name and listed[dance]["attempts"] == []
    assert not any(uploads_folder(lake).iterdir())
    again = client.post("/api/teachers?dance=wap&name=t.mp4", content=kept.read_bytes())
    assert again.status_code == 400 and "already has a teacher" in again.json()["error"]


def test_a_text_file_is_refused_as_a_teacher_and_nothing_is_stored(lake, client):
    sent = client.post("/api/teachers?dance=salsa&name=notes.txt", content=b"not a video")
    assert sent.status_code == 400
    assert sent.json()["error"] == "notes.txt is not a usable video: plain text, not a video"
    assert not (lake.references / "salsa").exists()
    assert not any(uploads_folder(lake).iterdir())
    empty = client.post("/api/teachers?dance=salsa&name=empty.mp4", content=b"")
    assert empty.status_code == 400 and "empty" in empty.json()["error"]


@pytest.mark.parametrize("name", ["../escape", "a/b", "..", ".hidden", " padded", ""])
def test_a_dance_name_that_is_not_one_plain_folder_is_refused(lake, client, name):
    sent = client.post("/api/teachers", params={"dance": name, "name": "t.mp4"},
                       content=b"x")
    assert sent.status_code == 400, sent.text
    assert sorted(p.name for p in lake.references.iterdir()) == sorted(DANCES)


def test_another_sites_page_can_neither_upload_nor_open_the_camera_socket(client):
    evil = {"origin": "http://evil.example"}
    for url in ("/api/teachers?dance=x&name=t.mp4", "/api/attempts?dance=wap&name=t.mp4"):
        assert client.post(url, content=b"x", headers=evil).status_code == 403
    with pytest.raises(WebSocketDisconnect) as refused, \
            client.websocket_connect(f"{SOCKETS}/wap", headers=evil):
        pass
    assert refused.value.code == POLICY_VIOLATION  # refused before the socket opens


def test_practice_poses_her_frame_and_judges_it_against_the_teacher(client, lessons):
    """A frame of the teacher's own video at 3 s, sent as the teacher shows 3 s: her
    skeleton comes back, green nearly everywhere, with a running score; frames sent
    while one is posed are dropped but the latest."""
    frame = _jpeg(_frames(lessons / "wap" / "teacher.mp4")[30])
    room = _jpeg(np.full((455, 256, 3), 120, np.uint8))
    with client.websocket_connect(f"{SOCKETS}/wap", headers={"origin": LOCAL}) as socket:
        hello = socket.receive_json()
        assert hello["ready"] and len(hello["bones"]) > 10 and hello["short_side"] == 256
        header = {"teacher_s": 3.0, "speed": 1.0, "run": 1, "scoring": True}
        for number in (1, 2, 3):
            socket.send_bytes(frame_message({**header, "frame": number}, frame))
        first, latest = socket.receive_json(), socket.receive_json()
        assert (first["frame"], latest["frame"]) == (1, 3)
        assert len(first["landmarks"]) == 33 and first["advice"] is None
        assert list(first["colours"].values()).count("#26a64a") >= 5, first["errors"]
        assert latest["score"] >= 90 and abs(latest["matched_s"] - 3.0) <= 0.2
        socket.send_bytes(frame_message({**header, "frame": 4, "scoring": False}, room))
        nobody = socket.receive_json()
        assert nobody["landmarks"] is None and nobody["advice"].startswith("nobody in view")
        socket.send_bytes(b"\x05\x00\x00\x00{}")  # a header and no picture
        assert "cannot read" in socket.receive_json()["error"]


RED = "#de3535"


def _live_score(her: Movement, teacher: Movement, teacher_s: np.ndarray, speed: float
                ) -> tuple[int, int, np.ndarray]:
    """Her poses (a Movement's frames) fed one by one as taken while the teacher's video
    showed `teacher_s`; the running score, her lag and each pose's number of red parts."""
    live = LiveComparison(teacher)
    reds = []
    for i in range(len(her.times)):
        found = her.found[i]
        judged = live.compare(her.directions[i:i + 1] if found else None,
                              her.weights[i:i + 1] if found else None, float(teacher_s[i]),
                              speed)
        reds.append(list(judged.colours.values()).count(RED))
    return judged.score, judged.lag_ms, np.array(reds)


def test_the_live_comparison_on_recorded_pose_tracks(lake):
    """Good, late, at half speed and wrong: the teachers' own pose tracks played back."""
    teacher, other = (movement_of(teacher_poses(lake, teacher_of(lake, d))) for d in DANCES)
    t = teacher.times
    good = _live_score(teacher, teacher, t, 1.0)
    late = _live_score(teacher, teacher, t + 0.5, 1.0)  # she dances 0.5 s behind the video
    # At 0.5x she is at the teacher's pose τ when the video shows τ + 0.25 (0.5 s of hers).
    slow = _live_score(teacher, teacher, t + 0.25, 0.5)
    wrong = _live_score(other, teacher, t, 1.0)
    assert good[0] >= 95 and abs(good[1]) <= 50
    assert late[0] >= 90 and abs(late[1] - 500) <= 100
    assert slow[0] >= 90 and abs(slow[1] - 500) <= 100
    assert wrong[0] <= good[0] - 30, (wrong, good)
    assert wrong[2].mean() >= good[2].mean() + 1  # red limbs, pose after pose


def test_her_poses_normalised_live_are_the_scores(lake):
    """her_pose on a frame's landmarks gives what movement_of gives for that frame."""
    poses = teacher_poses(lake, teacher_of(lake, "wap"))
    movement = movement_of(poses)
    i = int(np.flatnonzero(poses.found)[5])
    directions, weights = her_pose(poses.x[i], poses.y[i], poses.visibility[i], poses.width,
                                   poses.height)
    assert np.allclose(directions[0], movement.directions[i], atol=1e-5)
    assert np.allclose(weights[0], movement.weights[i])


def _wait_for(client: TestClient, job: dict, timeout_s: float = 240) -> dict:
    deadline = time.monotonic() + timeout_s
    stages = [job["stage"]]
    while job["stage"] not in ("done", "refused") and time.monotonic() < deadline:
        time.sleep(0.3)
        job = client.get(f"/api/attempts/{job['id']}").json()
        stages += [job["stage"]] if job["stage"] != stages[-1] else []
    return {**job, "stages": stages}


def test_an_attempt_score_refuses_gets_its_message_and_stores_nothing(lake, client,
                                                                      tmp_path, capsys):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a video")
    main(["score", str(notes), "--reference", str(teacher_of(lake, "wap")), "--no-record"])
    said = capsys.readouterr().err.strip().removeprefix("error: ")
    job = client.post("/api/attempts?dance=wap&name=notes.txt", content=notes.read_bytes())
    assert job.status_code == 202
    done = _wait_for(client, job.json())
    assert (done["stage"], done["message"]) == ("refused", said)
    assert not list((lake.root / "attempts").rglob("*.txt"))
    unknown = client.post("/api/attempts?dance=salsa&name=a.mp4", content=b"x")
    assert unknown.status_code == 404


@pytest.fixture(scope="module")
def scored_attempt(lake: Lake, lessons: Path) -> dict:
    """The generated student of wap sent as an attempt and scored (about 25 s: two videos
    posed, their music, the report); the job as the page last saw it."""
    with TestClient(create_app(lake), base_url=LOCAL) as client:
        job = client.post("/api/attempts?dance=wap&name=s01.mp4",
                          content=(lessons / "wap" / "s01.mp4").read_bytes())
        return _wait_for(client, job.json())


@pytest.mark.slow  # a real attempt scored
def test_an_attempt_is_scored_in_the_background_and_agrees_with_the_live_score(
        lake, client, lessons, scored_attempt):
    done = scored_attempt
    assert done["stage"] == "done", done
    assert "posing" in done["stages"] and done["stages"][-1] == "done"
    report = client.get(f"/reports/{done['report']}")
    assert report.status_code == 200 and "s01.mp4" in report.text
    row = tables.read_table(lake, "scores").iloc[-1]
    assert (row["source"], row["target_dance"], row["target_score"]) == (
        "studio", "wap", done["score"])
    kept = Path(row["path"])
    assert kept.name == "s01.mp4" and kept.parent.parent == lake.root / "attempts" / "wap"
    (listed,) = [d for d in client.get("/api/dances").json()["dances"] if d["dance"] == "wap"]
    assert [a["score"] for a in listed["attempts"]] == [done["score"]]
    assert "teacher_start_s" in listed["weakest"]  # her splice of another dance
    # Her recording played back live as she danced it, starting with the teacher's video:
    # the running score tells the story her report tells (core/scoring/live.py).
    her = movement_of(read_video(lessons / "wap" / "s01.mp4", FfmpegSettings(find_ffmpeg())))
    teacher = movement_of(teacher_poses(lake, teacher_of(lake, "wap")))
    live, _, reds = _live_score(her, teacher, her.times, 1.0)
    assert abs(live - done["score"]) <= 10, (live, done["score"])
    # The seconds she danced another dance's moves (her sidecar's splice) turn red live.
    truth = json.loads((lessons / "wap" / "s01.truth.json").read_text())
    spliced = (her.times >= truth["splice_start_s"]) & (her.times < truth["splice_end_s"])
    assert reds[spliced].mean() >= max(1.5, 3 * reds[~spliced].mean()), reds


@pytest.fixture
def studio_server(lake: Lake) -> tuple[str, subprocess.Popen]:
    """`dance-assets studio` on a free port, as she starts it; its address."""
    process = subprocess.Popen(
        [sys.executable, "-m", "dance_assets.cli", "studio", "--lake", str(lake.root)],
        stderr=subprocess.PIPE, text=True, start_new_session=True)
    line = process.stderr.readline()  # printed once the app is built
    assert line.startswith("dance studio: http://127.0.0.1:"), line
    address = line.split()[2]
    yield address, process
    if process.poll() is None:
        process.kill()
        process.wait()


def _fake_camera(video: Path, folder: Path) -> Path:
    """The video as Chromium's fake camera plays it: raw frames in a .y4m file."""
    camera = folder / "camera.y4m"
    subprocess.run([find_ffmpeg(), "-loglevel", "error", "-y", "-i", str(video),
                    "-pix_fmt", "yuv420p", str(camera)], check=True)
    return camera


@pytest.mark.slow  # Chromium and the studio's own server
@pytest.mark.usefixtures("scored_attempt")
def test_practice_in_chromium_colours_her_limbs_and_the_studio_stops_on_sigterm(
        studio_server, lessons, lake, tmp_path):
    """Home with her attempt, a text file refused as a teacher in the page, then practice
    with Chromium's fake camera (the generated student), recording her: coloured limbs,
    a running score, her weakest moment looped at 0.75x; when she stops, her recording
    is scored as an attempt and the page sets the report's score beside the running one."""
    from playwright.sync_api import sync_playwright

    address, process = studio_server
    camera = _fake_camera(lessons / "wap" / "s01.mp4", tmp_path)
    shots = DOCS if os.environ.get("DANCE_ASSETS_DOCS") else tmp_path
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=[
            "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={camera}",
            "--autoplay-policy=no-user-gesture-required"])
        page = browser.new_page(viewport={"width": 1200, "height": 1000})
        page.goto(address)
        page.wait_for_selector("section[data-dance=wap] >> text=report")
        page.screenshot(path=shots / "studio-home.png", full_page=True)
        notes = tmp_path / "notes.txt"
        notes.write_text("not a video")
        page.fill("input[name=dance]", "salsa")
        page.set_input_files("input[aria-label=\"the teacher's video\"]", notes)
        page.click("text=Add the teacher")
        refused = page.wait_for_selector("[role=alert]").inner_text()
        assert refused == "notes.txt is not a usable video: plain text, not a video"
        assert not (lake.references / "salsa").exists()
        page.click("section[data-dance=wap] >> text=Practise live")
        page.wait_for_selector("text=Ready: press Start", timeout=60_000)
        page.check("#record")
        page.click("#start")  # the countdown waits until the camera sees all of her
        page.wait_for_function("document.getElementById('live-parts').dataset.colours",
                               timeout=30_000)
        page.wait_for_timeout(2500)
        colours = json.loads(page.get_attribute("#live-parts", "data-colours"))
        assert set(colours.values()) <= {"#26a64a", "#f2a30d", "#de3535", "#969696"}
        assert int(page.inner_text("#live-score")) in range(101)
        page.screenshot(path=shots / "studio-practice.png", full_page=True)
        page.click("text=Loop my weakest moment")
        assert page.eval_on_selector(".panel video", "v => v.playbackRate") == 0.75
        assert page.inner_text(".controls").count("loop ") == 1
        page.wait_for_timeout(6000)  # about ten seconds of her recorded in all
        page.click("#stop")
        told = page.wait_for_selector("text=Your report scores", timeout=240_000).inner_text()
        assert "the running score was" in told
        browser.close()
    scores = tables.read_table(lake, "scores")
    recorded = scores[scores["path"].str.endswith(".webm")]
    assert len(recorded) == 1 and recorded.iloc[0]["source"] == "studio"
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=15) is not None


def test_practice_against_a_teacher_that_shows_nobody_says_so(tmp_path):
    """A teacher put in references/ by hand that cannot be one: the page is told why."""
    lake = Lake.resolve(tmp_path / "lake")
    (lake.references / "empty").mkdir(parents=True)
    subprocess.run([find_ffmpeg(), "-loglevel", "error", "-f", "lavfi", "-i",
                    "color=c=gray:s=160x284:d=2", "-pix_fmt", "yuv420p",
                    str(lake.references / "empty" / "wall.mp4")], check=True)
    with TestClient(create_app(lake), base_url=LOCAL) as client, \
            client.websocket_connect(f"{SOCKETS}/empty", headers={"origin": LOCAL}) as socket:
        said = socket.receive_json()["error"]
    assert said.startswith("the teacher's video cannot be used: no dancer found in most of")
