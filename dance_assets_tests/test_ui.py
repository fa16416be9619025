"""`dance-assets ui` starts the real Dagster webserver, which answers GraphQL."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

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
            time.sleep(1)


def test_ui_serves_the_asset_graph_over_graphql(tmp_path):
    port = _free_port()
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "home")}
    process = subprocess.Popen(
        [sys.executable, "-m", "dance_assets.cli", "ui", "--lake", str(tmp_path / "lake"),
         "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True)
    try:
        keys = _asset_keys(port, time.monotonic() + 180)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
    assert {"raw_videos", "video_frames", "frame_manifest", "models/resnet18",
            "evaluation/alexnet", "model_comparison", "review_queue"} <= keys
    assert (tmp_path / "home" / "dagster.yaml").is_file()
