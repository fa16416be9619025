"""The Config base class of every asset: the Launchpad shows each field's bounds.

Dagster's config schema carries a field's type and description but not pydantic's
bounds (`ge`, `gt`, `le`, `lt`), so the Launchpad would show `epochs: Int` with no hint
that 0 is refused. Each bound is written into the field's description instead, from the
same constraint that refuses the value (before the run, in dance_assets/run_coordinator.py).
"""

from __future__ import annotations

from typing import Any

import dagster as dg
from pydantic.fields import FieldInfo

# pydantic keeps each bound as a constraint object with one of these attributes.
_WORDS = {"ge": "at least", "gt": "above", "le": "at most", "lt": "below"}


def bounds_in_words(field: FieldInfo) -> str:
    """'at least 2, at most 31' for a field declared with ge=2, le=31; '' when unbounded."""
    return ", ".join(f"{phrase} {getattr(constraint, attribute):g}"
                     for constraint in field.metadata for attribute, phrase in _WORDS.items()
                     if getattr(constraint, attribute, None) is not None)


class LaunchpadConfig(dg.Config):
    """A Config whose fields' descriptions end with their bounds, e.g. "(at least 1)"."""

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        for field in cls.model_fields.values():
            bounds = bounds_in_words(field)
            if bounds and not (field.description or "").endswith(f"({bounds})"):
                field.description = f"{field.description or ''} ({bounds})".lstrip()
