"""A console logger that prints one line per message: step and text, no stack traces.

Full events, tracebacks included, still go to the instance's event log and the UI;
the console (the demo's output, `dagster dev`'s terminal) stays readable.
"""

from __future__ import annotations

import logging
import sys

import dagster as dg


class OneLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        meta = getattr(record, "dagster_meta", None) or {}
        text = str(meta.get("orig_message") or record.getMessage()).strip()
        first = text.splitlines()[0] if text else ""
        where = meta.get("step_key") or meta.get("job_name") or "dagster"
        stamp = self.formatTime(record, "%H:%M:%S")
        return f"{stamp} {record.levelname:<7} {where}: {first}"


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
    handler.setFormatter(OneLineFormatter())
    logger.addHandler(handler)
    return logger
