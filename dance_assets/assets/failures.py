"""How assets report problems the user can fix."""

import contextlib
from collections.abc import Iterator

import dagster as dg

from dance_assets.core.lake.errors import DanceAssetsError


@contextlib.contextmanager
def user_errors_fail_the_step() -> Iterator[None]:
    """A DanceAssetsError fails the step with its one-line message instead of a traceback."""
    try:
        yield
    except DanceAssetsError as exc:
        raise dg.Failure(description=str(exc)) from None
