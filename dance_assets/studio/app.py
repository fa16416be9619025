"""The studio's web app: its page, a small JSON API, the lake's reports, the live socket.

Safe on her machine: it answers only requests addressed to the loopback names (a web
page elsewhere cannot reach it by a name it rebinds to 127.0.0.1), and every upload and
the practice WebSocket refuse a request whose Origin is another site, so no page open
in her browser can drive her camera's endpoint or add to her attempts. A teacher is
named by its dance, never by a path; only the studio's own files and the lake's
reports/ are served, nothing else from the disk.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket

from dance_assets.core.lake.errors import DanceAssetsError
from dance_assets.core.lake.lake import Lake
from dance_assets.studio import library
from dance_assets.studio.attempts import Attempts
from dance_assets.studio.practice import serve_practice
from dance_assets.studio.uploads import MAX_UPLOAD_BYTES, discard, receive, sweep_uploads

STATIC = Path(__file__).resolve().parent / "static"
LOOPBACK_NAMES = ("127.0.0.1", "localhost")
# Closing a WebSocket before accepting it refuses the handshake (uvicorn answers 403),
# with the close code for a policy violation (RFC 6455) where the server can say one.
POLICY_VIOLATION = 1008


def same_origin(connection: HTTPConnection) -> bool:
    """Whether a request comes from the studio's own page (or from no page at all: a
    browser always sends Origin with a WebSocket and a cross-site POST)."""
    origin = connection.headers.get("origin")
    return origin is None or origin == f"http://{connection.headers.get('host')}"


def _refused(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


class Studio:
    """The studio's handlers for one lake."""

    def __init__(self, lake: Lake) -> None:
        self.lake = lake
        self.attempts = Attempts(lake)

    async def home(self, _request: Request) -> Response:
        return FileResponse(STATIC / "index.html")

    async def dances(self, _request: Request) -> Response:
        overview = await run_in_threadpool(library.overview, self.lake)
        return JSONResponse({"dances": overview, "lake": str(self.lake.root),
                             "max_upload_mb": MAX_UPLOAD_BYTES // 2**20})

    def _teacher(self, dance: str) -> Path | None:
        """The dance's teacher, None for no such dance (or a name that is none)."""
        return None if library.dance_name_problem(dance) else library.teacher_of(self.lake,
                                                                                   dance)

    async def teacher_video(self, request: Request) -> Response:
        video = self._teacher(request.path_params["dance"])
        return FileResponse(video) if video else _refused("no such dance", 404)

    async def add_teacher(self, request: Request) -> Response:
        if not same_origin(request):
            return _refused("refused: this request came from another site", 403)
        dance = request.query_params.get("dance", "")
        problem = library.dance_name_problem(dance)
        if problem:
            return _refused(problem)
        try:
            upload = await receive(self.lake, request.query_params.get("name", "video"),
                                   request.stream())
        except DanceAssetsError as exc:
            return _refused(str(exc))
        try:
            kept = await run_in_threadpool(library.add_teacher, self.lake, dance, upload)
        except DanceAssetsError as exc:
            return _refused(str(exc))
        finally:
            discard(upload)
        return JSONResponse({"dance": dance, "teacher": kept.name}, status_code=201)

    async def new_attempt(self, request: Request) -> Response:
        if not same_origin(request):
            return _refused("refused: this request came from another site", 403)
        dance = request.query_params.get("dance", "")
        teacher = self._teacher(dance)
        if teacher is None:
            return _refused(f"no teacher for {dance!r}: add her first", 404)
        try:
            upload = await receive(self.lake, request.query_params.get("name", "video"),
                                   request.stream())
        except DanceAssetsError as exc:
            return _refused(str(exc))
        job = await run_in_threadpool(self.attempts.start, dance, teacher, upload)
        return JSONResponse(job.as_dict(), status_code=202)

    async def attempt(self, request: Request) -> Response:
        job = self.attempts.jobs.get(request.path_params["id"])
        return JSONResponse(job.as_dict()) if job else _refused("no such attempt", 404)

    async def practice(self, websocket: WebSocket) -> None:
        teacher = self._teacher(websocket.path_params["dance"])
        if not same_origin(websocket) or teacher is None:
            await websocket.close(code=POLICY_VIOLATION)
            return
        await websocket.accept()
        await serve_practice(websocket, self.lake, teacher)

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        """Sweep what a killed server left of its uploads; at the end, stop every
        attempt being scored."""
        sweep_uploads(self.lake)
        try:
            yield
        finally:
            self.attempts.stop()


def create_app(lake: Lake) -> Starlette:
    """The studio for one lake."""
    studio = Studio(lake)
    routes = [
        Route("/", studio.home), Route("/api/dances", studio.dances),
        Route("/api/dances/{dance}/video", studio.teacher_video),
        Route("/api/teachers", studio.add_teacher, methods=["POST"]),
        Route("/api/attempts", studio.new_attempt, methods=["POST"]),
        Route("/api/attempts/{id}", studio.attempt),
        WebSocketRoute("/ws/practice/{dance}", studio.practice),
        Mount("/static", StaticFiles(directory=STATIC)),
        Mount("/reports", StaticFiles(directory=lake.reports, check_dir=False)),
    ]
    return Starlette(routes=routes, lifespan=studio.lifespan, middleware=[
        Middleware(TrustedHostMiddleware, allowed_hosts=list(LOOPBACK_NAMES))])
