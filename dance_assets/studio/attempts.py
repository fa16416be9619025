"""Her attempts, scored in the background while the page shows how far each has got.

An uploaded (or recorded) video is kept as attempts/<dance>/<content id>/<her file name>
in the lake (content-derived, so the same video sent twice is one file; her name inside,
so the report and every message name the file she chose), then scored by
scoring_worker.py in a process group of its own, one attempt at a time (two would share
two cores and both wait twice as long; the next is shown as waiting). A video `score`
refuses is removed again with its folder: nothing is stored for it. The `scores` row and
the report are written by the worker through the lake's atomic writes, so two tabs, two
attempts or a server killed mid-attempt never leave half a file; a restart lists every
finished attempt from the table.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from dance_assets.core.lake.lake import Lake
from dance_assets.core.lake.processes import stop_group
from dance_assets.core.performance.store import content_id
from dance_assets.studio.uploads import discard

WAITING, CHECKING = "waiting for the attempt before it", "checking the video"
DONE, REFUSED = "done", "refused"


def attempts_folder(lake: Lake) -> Path:
    return lake.root / "attempts"


@dataclass(kw_only=True)
class Job:
    """One attempt as the page follows it."""

    id: str
    dance: str
    video: str  # her file's name
    stage: str = WAITING
    message: str | None = None  # why it was refused
    report: str | None = None  # the report's path inside reports/, once done
    score: int | None = None

    def as_dict(self) -> dict:
        return asdict(self)


class Attempts:
    """The attempts this server is scoring or has scored since it started."""

    def __init__(self, lake: Lake) -> None:
        self.lake = lake
        self.jobs: dict[str, Job] = {}
        self._one_at_a_time = threading.Lock()
        self._running: set[subprocess.Popen] = set()
        self._stopping = False

    def start(self, dance: str, teacher: Path, upload: Path) -> Job:
        """Keep the upload as an attempt of `dance` and score it against `teacher` in the
        background; the job the page follows."""
        folder = attempts_folder(self.lake) / dance / content_id(upload)
        folder.parent.mkdir(parents=True, exist_ok=True)
        try:
            upload.parent.rename(folder)  # one rename: the whole file or nothing
            fresh = True
        except OSError:  # the same video again (or from another tab at once): kept once
            discard(upload)
            fresh = False
        video = next(p for p in folder.iterdir() if p.is_file())
        job = Job(id=uuid.uuid4().hex[:12], dance=dance, video=video.name)
        self.jobs[job.id] = job
        threading.Thread(target=self._score, args=(job, video, teacher, fresh),
                         name=f"attempt-{job.id}", daemon=True).start()
        return job

    def _score(self, job: Job, video: Path, teacher: Path, fresh: bool) -> None:
        with self._one_at_a_time:
            if self._stopping:
                return
            job.stage = CHECKING
            command = [sys.executable, "-m", "dance_assets.studio.scoring_worker", str(video),
                       "--lake", str(self.lake.root), "--teacher", str(teacher),
                       "--dance", job.dance]
            process = subprocess.Popen(command, stdout=subprocess.PIPE,
                                       stderr=subprocess.STDOUT,
                                       text=True, start_new_session=True)
            self._running.add(process)
            try:
                outcome = self._follow(job, process)
            finally:
                self._running.discard(process)
        if "report" not in outcome and fresh:  # refused: nothing stays of it
            shutil.rmtree(video.parent, ignore_errors=True)
        if "report" in outcome:
            job.report = Path(outcome["report"]).relative_to("reports").as_posix()
            job.score, job.stage = outcome["score"], DONE
        else:
            job.message, job.stage = outcome["refused"], REFUSED

    @staticmethod
    def _follow(job: Job, process: subprocess.Popen) -> dict:
        """Follow the worker's stages until it ends; its last word ({"report": ...} or
        {"refused": ...}). Its other output (a traceback, a library's warning) only says
        why, should it fail."""
        assert process.stdout is not None
        said, outcome = "", None
        for line in process.stdout:
            try:
                message = json.loads(line)
            except ValueError:
                message = None
            if not isinstance(message, dict):
                said = line.strip() or said
            elif "stage" in message:
                job.stage = message["stage"]
            else:
                outcome = message
        if process.wait() != 0 and outcome is None:
            outcome = {"refused": f"the scoring stopped unexpectedly: {said or 'no word why'}"}
        return outcome or {"refused": "the scoring ended without a word"}

    def stop(self) -> None:
        """Stop every attempt being scored, and what each started (the studio's exit)."""
        self._stopping = True
        for process in list(self._running):
            stop_group(process, grace_s=2.0)
