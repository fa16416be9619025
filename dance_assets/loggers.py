"""A console logger that prints one line per message: step and text, no stack traces.

Full events, tracebacks included, still go to the instance's event log and the UI;
the console (the demo's output, `dagster dev`'s terminal) stays readable.
"""

from __future__ import annotations

import logging
import re
import sys

import dagster as dg

_PROCESS_ID = re.compile(r"\d+ - ")


class OneLineFormatter(logging.Formatter):
    """Dagster hands its loggers each message as "job - run id - [process id - ][step - ]
    [EVENT - ]text", the form its own console logger prints. This keeps what follows the
    run id (which the logger's init context names), less the process id, and only its
    first line: "models__alexnet - alexnet / random_frames: 200 training and ..."."""

    def __init__(self, run_id: str | None) -> None:
        super().__init__()
        self.after = f" - {run_id} - " if run_id else None

    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        if self.after and self.after in text:
            text = text.split(self.after, 1)[1]
            if match := _PROCESS_ID.match(text):
                text = text[match.end():]
        lines = text.strip().splitlines()
        stamp = self.formatTime(record, "%H:%M:%S")
        return f"{stamp} {record.levelname:<7} {lines[0] if lines else ''}"


@dg.logger(
    config_schema={"log_level": dg.Field(str, is_required=False, default_value="INFO")},
    description="One line per message on stderr: time, level, step, message.",
)
def one_line_console(init_context: dg.InitLoggerContext) -> logging.Logger:
    level = init_context.logger_config["log_level"].upper()
    logger = logging.getLogger("dance_assets.console")
    logger.setLevel(level)
    logger.propagate = False
    logger.handlers.clear()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(OneLineFormatter(init_context.run_id))
    logger.addHandler(handler)
    return logger
