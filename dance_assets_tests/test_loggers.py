"""The console logger: one line per message, the step first, from what Dagster hands a
logger (its message text and the run id of the logger's init context)."""

import re

import dagster as dg

from dance_assets.loggers import one_line_console


@dg.op
def counts(context: dg.OpExecutionContext) -> int:
    context.log.info("alexnet / random_frames - 200 training frames\nand a second line")
    context.log.warning("12 - a message that starts with a number")
    return 1


@dg.op
def fails(_counted: int) -> None:
    raise ValueError("no frames\nat all")


@dg.job(logger_defs={"console": one_line_console})
def logged() -> None:
    fails(counts())


def test_each_message_is_one_line_with_its_step_and_no_run_id(capsys):
    result = logged.execute_in_process(run_config={"loggers": {"console": {}}},
                                       raise_on_error=False)
    lines = capsys.readouterr().err.splitlines()
    shown = [re.sub(r"^\d\d:\d\d:\d\d ", "", line) for line in lines]
    assert shown[:2] == [
        "INFO    counts - alexnet / random_frames - 200 training frames",
        "WARNING counts - 12 - a message that starts with a number"]
    assert 'ERROR   fails - STEP_FAILURE - Execution of step "fails" failed.' in shown
    assert not any(result.run_id in line or "Traceback" in line for line in lines)
