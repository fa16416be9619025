"""The exception types whose messages are shown to users as they are."""

from pathlib import Path


class DanceAssetsError(Exception):
    """A problem the user can fix; its message is one clear line, never a traceback."""


class UnusableVideo(DanceAssetsError):
    """A file ffmpeg cannot read as a video: its name and why, kept apart so a caller that
    records the reason (a rejected teacher) needs no parsing of the message."""

    def __init__(self, video: Path, reason: object):
        self.name, self.reason = video.name, str(reason)
        super().__init__(f"{self.name} is not a usable video: {self.reason}")
