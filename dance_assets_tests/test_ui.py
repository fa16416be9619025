"""`dance-assets ui` starts the real Dagster webserver, which answers GraphQL."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

pytestmark = pytest.mark.slow  # starts dagster dev (webserver, daemon, code server)

QUERY = json.dumps({"query": "{ assetNodes { assetKey { path } } }"}).encode()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _asset_keys(port: int, deadline: float) -> set[str]:
    while True:
        try:
            request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=QUERY,
                                             headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=5) as response:
                nodes = json.load(response)["data"]["assetNodes"]
                return {"/".join(node["assetKey"]["path"]) for node in nodes}
        except (OSError, KeyError, TypeError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.25)


def _descendants(pid: int) -> set[int]:
    """Every process below `pid`, from /proc (children of children included)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(parent, []).append(int(entry))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_ui_serves_the_asset_graph_and_sigterm_stops_everything_it_started(tmp_path):
    port = _free_port()
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "home")}
    # As a process manager starts it: its own session, so its group is not ours.
    process = subprocess.Popen(
        [sys.executable, "-m", "dance_assets.cli", "ui", "--lake", str(tmp_path / "lake"),
         "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True)
    started: set[int] = set()
    try:
        keys = _asset_keys(port, time.monotonic() + 180)
        started = _descendants(process.pid)
        assert len(started) >= 3  # dagster dev, the webserver, the daemon, code servers
        process.send_signal(signal.SIGTERM)  # to the command only, as a process manager does
        process.wait(timeout=20)
        deadline = time.monotonic() + 5
        while any(_running(pid) for pid in started) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [pid for pid in started if _running(pid)]
    finally:  # whatever the outcome, leave nothing running
        for pid in started | _descendants(process.pid) | {process.pid}:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    assert {"raw_videos", "video_frames", "frame_manifest", "models/resnet18",
            "models/pose_sequence", "choreography", "evaluation/alexnet",
            "model_comparison", "review_queue"} <= keys
    assert (tmp_path / "home" / "dagster.yaml").is_file()
