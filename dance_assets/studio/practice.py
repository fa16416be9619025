"""Live practice: her camera's frames posed on the server, judged against her teacher.

The page sends a frame over the WebSocket, its short side scaled to the DenseSettings'
short_side (what `score` poses at), and waits for the answer before it sends the next:
one frame in flight, no queue behind her. Should frames still arrive while one is being
posed (a second tab, a page that does not wait), the server keeps only the latest.

Each frame is posed by the project's own MediaPipe stack as `score` poses a video
(core/ingest/follower.Follower: a static keyframe now and then, its tracker between),
normalised and judged by core/scoring/live.py against the teacher's dense poses. Live
poses are not smoothed in time as `score`'s are (that filter looks ahead); the small
jitter that leaves shows in the colours, hardly in the running score.

A frame's message is binary: 4 bytes (little-endian) giving the length of a JSON header,
the header ({"frame": the page's number for it, echoed in the answer, "teacher_s": the
teacher video's time when the frame was taken, "speed": its playback rate, "run": which
run of hers it belongs to, "scoring": false during the countdown}), then the JPEG.
"""

from __future__ import annotations

import asyncio
import io
import json
import struct
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image
from starlette.websockets import WebSocket, WebSocketDisconnect

from dance_assets.core.ingest.dense_poses import DEFAULT_SETTINGS, pose_rows
from dance_assets.core.ingest.follower import Follower
from dance_assets.core.lake.errors import DanceAssetsError
from dance_assets.core.lake.lake import Lake
from dance_assets.core.performance.movement import PART_NAMES, movement_of
from dance_assets.core.scoring.live import (
    LAG_S,
    LEAD_S,
    LiveComparison,
    her_pose,
    whole_body_advice,
)
from dance_assets.core.scoring.score_report_page import (
    FAIR_DEG,
    FAIR_SCORE,
    GOOD_DEG,
    GOOD_SCORE,
)
from dance_assets.core.scoring.side_by_side import BODY_BONES
from dance_assets.studio.library import teacher_poses

_HEADER = struct.Struct("<I")


def frame_message(header: dict, jpeg: bytes) -> bytes:
    """A frame as the page sends it (module docstring)."""
    text = json.dumps(header).encode()
    return _HEADER.pack(len(text)) + text + jpeg


def _read_frame(message: bytes) -> tuple[dict, np.ndarray]:
    (length,) = _HEADER.unpack_from(message)
    header = json.loads(message[_HEADER.size:_HEADER.size + length])
    image = Image.open(io.BytesIO(message[_HEADER.size + length:])).convert("RGB")
    short = DEFAULT_SETTINGS.short_side
    if min(image.size) > short:  # the page scales it; a bigger frame is posed as score would
        scale = short / min(image.size)
        image = image.resize((round(image.width * scale), round(image.height * scale)))
    return header, np.asarray(image)


class PracticeSession:
    """One page's practice against one teacher: her poses followed, each judged."""

    def __init__(self, lake: Lake, teacher: Path) -> None:
        self.teacher = movement_of(teacher_poses(lake, teacher))
        self.follower = Follower(DEFAULT_SETTINGS)
        self.comparison = LiveComparison(self.teacher)
        self.frames = 0
        self.run: object = None

    def handle(self, message: bytes) -> dict:
        """The answer to one frame: her landmarks, whether her whole body is in view,
        and while she dances, her pose judged (live.LivePose)."""
        header, rgb = _read_frame(message)
        height, width = rgb.shape[:2]
        person = self.follower.step(self.frames, rgb)
        self.frames += 1
        reply: dict = {"frame": header.get("frame"), "landmarks": None,
                       "advice": whole_body_advice(*pose_rows(person))}
        if person is not None:
            reply["landmarks"] = np.round(np.stack([person.x, person.y, person.visibility],
                                                   axis=1), 4).tolist()
        if header.get("scoring"):
            if header.get("run") != self.run:  # she started again: a fresh running score
                self.run, self.comparison = header.get("run"), LiveComparison(self.teacher)
            directions, weights = (her_pose(person.x, person.y, person.visibility, width,
                                            height) if person is not None else (None, None))
            reply.update(self.comparison.compare(directions, weights,
                                                 float(header["teacher_s"]),
                                                 float(header.get("speed", 1.0))).as_dict())
        return reply

    def close(self) -> None:
        self.follower.close()


def hello() -> dict:
    """What the page needs before the first frame: the bones to draw (MediaPipe landmark
    pairs, each with its body part), the report's bands (of a part's angle and of a
    score), the comparison's window and the frames' short side."""
    return {"ready": True, "parts": list(PART_NAMES),
            "bones": [[a, b, PART_NAMES[part]] for a, b, part in BODY_BONES],
            "bands_deg": [GOOD_DEG, FAIR_DEG], "score_bands": [GOOD_SCORE, FAIR_SCORE],
            "window_s": [LAG_S, LEAD_S],
            "short_side": DEFAULT_SETTINGS.short_side}


async def serve_practice(websocket: WebSocket, lake: Lake, teacher: Path) -> None:
    """Answer one page's frames until it goes (module docstring)."""
    loop = asyncio.get_running_loop()
    # MediaPipe's graphs are used from one thread, this session's own.
    worker = ThreadPoolExecutor(1, thread_name_prefix="practice")
    try:
        session = await loop.run_in_executor(worker, PracticeSession, lake, teacher)
    except DanceAssetsError as exc:  # a teacher put in by hand that cannot be one
        await websocket.send_json({"error": f"the teacher's video cannot be used: {exc}"})
        await websocket.close()
        worker.shutdown(wait=False)
        return
    latest: list[bytes] = []
    arrived, gone = asyncio.Event(), asyncio.Event()

    async def receive() -> None:
        try:
            while True:
                data = await websocket.receive_bytes()
                latest[:] = [data]  # only the latest waits: no queue behind her
                arrived.set()
        except (WebSocketDisconnect, RuntimeError, KeyError):
            gone.set()
            arrived.set()

    receiver = asyncio.create_task(receive())
    try:
        await websocket.send_json(hello())
        while True:
            await arrived.wait()
            arrived.clear()
            if gone.is_set():
                break
            if latest:
                frame = latest.pop()
                try:
                    reply = await loop.run_in_executor(worker, session.handle, frame)
                except (OSError, ValueError, KeyError, struct.error) as exc:
                    reply = {"error": f"a frame the studio cannot read: {exc}"}
                await websocket.send_json(reply)
    except WebSocketDisconnect:
        pass
    finally:
        receiver.cancel()
        worker.submit(session.close)
        worker.shutdown(wait=False)
