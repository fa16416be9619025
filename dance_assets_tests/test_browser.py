"""A user's day in the Dagster UI, in a real browser (Playwright driving Debian's chromium).

Against `dance-assets ui` on a tiny lake that `demo`'s steps already ingested and
curated: find the four groups, materialize one class partition of video_frames and
watch the run succeed, read its metadata, see a setting out of bounds refused before its
run starts, train a model from the Launchpad with edited settings and find them in its
card, read its accuracy plot at full size, see its blocking check, then drop a new video into
raw/ and wait for the sensor's run to bring its rows to SQL. A screenshot of each step
lands in a folder the failure message names; with DANCE_ASSETS_DOCS=1 the README's tour
screenshots are written to docs/.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

from dance_assets.core.lake.lake import Lake
from dance_assets.core.lake.warehouse import query
from dance_assets.core.learning.card import read_card
from dance_assets.core.synthetic.plans import plan_videos
from dance_assets.core.synthetic.specs import video_path
from dance_assets.core.synthetic.writing import write_video
from dance_assets.sensors import INTERVAL_VAR
from dance_assets_tests.helpers import TINY, chromium

pytestmark = pytest.mark.slow  # the Dagster UI in Chromium, its runs and sensor

DOCS = Path(__file__).resolve().parent.parent / "docs"
TOUR = {"graph": "tour-asset-graph.png", "frames": "tour-video-frames.png",
        "launchpad": "tour-launchpad.png"}
MODEL_SETTINGS = {"epochs": 1, "image_size": 64, "batch_size": 8, "augment": False,
                  "significance": 1}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def prepared(tmp_path: Path, ingested_tiny_original: Lake,
             monkeypatch: pytest.MonkeyPatch) -> Path:
    """What `demo` leaves before training: every class ingested and curated, recorded in
    a persistent DAGSTER_HOME that the UI then opens. The lake starts as a copy of the
    session's ingested tiny lake (its files' times kept), so `demo`'s ingest runs find
    nothing to extract and only record themselves; curation runs for real."""
    from dance_assets.runs import (
        get_instance,
        ingest_classes,
        run_job,
        sync_dance_classes,
        use_lake,
    )

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    shutil.copytree(ingested_tiny_original.root, tmp_path / "lake", symlinks=True)
    lake = use_lake(str(tmp_path / "lake"))
    instance = get_instance()
    try:
        sync = sync_dance_classes(instance, lake)
        assert all(o.success for o in ingest_classes(instance, sync.added, lambda _: None))
        assert run_job(instance, "curation").success
    finally:
        instance.dispose()
    return tmp_path


@pytest.fixture
def ui(prepared: Path) -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "dance_assets.cli", "ui", "--lake", str(prepared / "lake"),
         "--port", str(port)],
        # The sensor looks at raw/ every 5 s instead of 30: the journey's last step waits
        # for its run, not for its interval.
        env={**os.environ, "DAGSTER_HOME": str(prepared / "home"), INTERVAL_VAR: "5"},
        stdout=(prepared / "ui.log").open("w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while True:
        try:
            urllib.request.urlopen(f"{url}/server_info", timeout=5).close()
            break
        except OSError:
            assert time.monotonic() < deadline, (prepared / "ui.log").read_text()[-2000:]
            time.sleep(0.25)
    yield url
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)


def _sql(lake: Path, query: str) -> list[dict]:
    done = subprocess.run([sys.executable, "-m", "dance_assets.cli", "sql", query, "--format",
                           "json", "--lake", str(lake)], capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout)


class Journey:
    """The browser page, with a numbered screenshot after every step."""

    def __init__(self, page, base: str, shots: Path):  # type: ignore[no-untyped-def]
        self.page, self.base, self.shots, self.step = page, base, shots, 0
        # Dagster's "join the community" dialog greets a new instance whenever its page
        # loads (late, on a busy machine) unless the browser remembers it was dismissed.
        page.add_init_script("window.localStorage.setItem('communityNux', '\"1\"')")

    def shot(self, name: str) -> Path:
        self.step += 1
        path = self.shots / f"{self.step:02d}-{name}.png"
        self.page.screenshot(path=str(path))
        if os.environ.get("DANCE_ASSETS_DOCS") and name in TOUR:
            from PIL import Image

            from dance_assets.core.lake.reports import png_bytes

            DOCS.mkdir(exist_ok=True)
            (DOCS / TOUR[name]).write_bytes(png_bytes(Image.open(path).convert("RGB"),
                                                      colours=64))
        return path

    def open(self, path: str) -> None:
        self.page.goto(self.base + path)

    def wait_for_success(self, timeout_s: float) -> None:
        """On a run's page: until its status reads Success (a failure fails at once)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            header = self.page.inner_text("body")
            if "\nSuccess\n" in header or header.startswith("Success"):
                return
            assert "\nFailure\n" not in header, "the run failed"
            time.sleep(0.5)
        raise AssertionError(f"the run did not succeed within {timeout_s:.0f} s")


def test_a_users_day_in_the_ui(ui: str, prepared: Path, tmp_path: Path, ffmpeg_binary: str):
    shots = tmp_path / "screenshots"
    shots.mkdir()
    lake = prepared / "lake"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(30_000)
        journey = Journey(page, ui, shots)
        try:
            _journey(journey, lake, ffmpeg_binary)
        except (AssertionError, PlaywrightError) as failure:
            journey.shot("failed")
            raise AssertionError(f"{failure}\nscreenshots of each step: {shots}") from failure
        finally:
            browser.close()


def _launch_resnet18(journey: Journey, settings: dict[str, object],
                     shot: str | None = None) -> None:
    """Open the Launchpad of models/resnet18, type `settings`, pick random_frames, launch."""
    page = journey.page
    journey.open("/assets/models/resnet18")
    page.locator("button:right-of(:text('Materialize…'))").first.click()
    page.get_by_text("Open launchpad").click()
    config = "ops:\n  models__resnet18:\n    config:\n" + "".join(
        f"      {key}: {json.dumps(value)}\n" for key, value in settings.items())
    page.locator(".CodeMirror").wait_for()
    page.evaluate("(text) => document.querySelector('.CodeMirror').CodeMirror.setValue(text)",
                  config)
    # The Launchpad may render its partition list after the field is first filled and
    # clear the field as it does (seen once in CI): fill it again until the option shows.
    option = page.get_by_text("random_frames", exact=True).filter(visible=True).last
    for attempt in range(3):
        page.get_by_placeholder("Partition").fill("random_frames")
        try:
            option.wait_for(timeout=10_000)
            break
        except PlaywrightTimeout:
            if attempt == 2:
                raise
    option.click()
    page.get_by_text("partition: random_frames").wait_for()
    if shot:
        journey.shot(shot)
    page.get_by_role("button").filter(has=page.get_by_text("Materialize", exact=True)).last.click()


def _journey(journey: Journey, lake: Path, ffmpeg_binary: str) -> None:
    # The asset graph and its four groups.
    journey.open("/asset-groups")
    for group in ("ingest", "curation", "training", "evaluation"):
        journey.page.get_by_text(group, exact=True).first.wait_for()
    journey.shot("graph")
    _extract_one_class(journey)
    _train_resnet18(journey, lake)
    _a_new_video_reaches_sql(journey, lake, ffmpeg_binary)


def _extract_one_class(journey: Journey) -> None:
    """Materialize one class partition of video_frames from its page; see its metadata."""
    page = journey.page
    journey.open("/assets/video_frames")
    page.get_by_role("button", name="Materialize…").click()
    page.get_by_text("Select a partition or create one").click()
    page.get_by_placeholder("Filter partitions").fill("savage")
    page.get_by_text("savage", exact=True).filter(visible=True).first.click()
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Launch 1 run").click()
    toast = page.get_by_text(re.compile(r"Launched run [0-9a-f]{8}")).first.inner_text()
    journey.open("/runs")
    page.get_by_text(toast.split()[-1], exact=True).first.click()
    journey.shot("run-started")
    journey.wait_for_success(180)
    journey.shot("run-succeeded")

    # Its metadata: the row count and the contact sheet.
    journey.open("/assets/video_frames")
    page.get_by_text("Row count").wait_for()
    page.get_by_text("[Show Markdown]").first.click()
    page.locator("img[src^='data:image/png;base64,']").first.wait_for()
    page.wait_for_timeout(1000)  # the dialog fades in
    journey.shot("frames")
    page.keyboard.press("Escape")


def _train_resnet18(journey: Journey, lake: Path) -> None:
    """A refused setting, a training with settings of our own, its plot and its check."""
    page = journey.page
    # A setting out of bounds is refused before the run starts, naming the field.
    _launch_resnet18(journey, {**MODEL_SETTINGS, "epochs": 0})
    page.get_by_text("TrainConfig.epochs: Input should be greater than or equal to 1").first \
        .wait_for()
    journey.shot("refused")

    # Train ResNet18 from the Launchpad with settings of our own.
    _launch_resnet18(journey, MODEL_SETTINGS, shot="launchpad")
    journey.wait_for_success(300)
    journey.shot("model-trained")
    card = read_card(lake / "models" / "random_frames" / "resnet18" / "model_card.json")
    settings = card.training.settings
    assert (settings["epochs"], card.image_size, settings["batch_size"], settings["augment"],
            card.training.significance) == tuple(MODEL_SETTINGS.values())

    # Its accuracy plot is drawn at its own size, not shrunk until the text is unreadable.
    journey.open("/assets/models/resnet18")
    page.get_by_text("accuracy_by_epoch").first.wait_for()
    page.locator("tr", has_text="accuracy_by_epoch").get_by_text("[Show Markdown]").click()
    plot = page.locator("img[alt='accuracy by epoch']")
    plot.wait_for()
    page.wait_for_timeout(1000)  # the dialog fades in
    journey.shot("accuracy-plot")
    drawn, own = plot.evaluate("(img) => [img.clientWidth, img.naturalWidth]")
    assert drawn >= own, f"the plot is {own} px wide but drawn at {drawn} px"
    page.keyboard.press("Escape")

    # The blocking check's verdict beside the model.
    journey.open("/assets/models/resnet18?view=checks")
    page.get_by_text("check_accuracy_above_chance").first.wait_for()
    page.get_by_text("Passed").first.wait_for()
    journey.shot("check")


def _a_new_video_reaches_sql(journey: Journey, lake: Path, ffmpeg_binary: str) -> None:
    """A new participant's video: the sensor launches its class, and SQL sees the rows."""
    spec = plan_videos(["savage"], TINY.participants + 1, TINY.seconds, TINY.video_size,
                       seed=0)[-1]
    write_video(spec, video_path(lake / "raw", spec), ffmpeg_binary)
    sql = f"SELECT count(*) AS n FROM frames WHERE participant = '{spec.participant.name}'"
    # Watched with the query `dance-assets sql` runs, in this process (a command a second
    # would cost more than the wait), then asked of the command itself.
    deadline = time.monotonic() + 300
    while int(query(Lake.resolve(lake), sql)["n"][0]) == 0:
        assert time.monotonic() < deadline, "new_videos_sensor's run brought no rows"
        time.sleep(1)
    assert _sql(lake, sql)[0]["n"] > 0
    journey.open("/runs")
    journey.shot("sensor-run")
