"""Partitions: one per dance class (a folder under raw/), one per split protocol."""

import dagster as dg

from dance_assets.core.lake import PROTOCOLS

dance_class_partitions = dg.DynamicPartitionsDefinition(name="dance_classes")

split_protocol_partitions = dg.StaticPartitionsDefinition(list(PROTOCOLS))


def invalid_partition_reason(name: str) -> str | None:
    """Why a folder name cannot be a Dagster partition key, if it cannot."""
    from dagster._core.definitions.partitions.utils.base import INVALID_PARTITION_SUBSTRINGS

    bad = [s for s in INVALID_PARTITION_SUBSTRINGS if s in name]
    if bad:
        return f"folder name contains {bad[0]!r}, which a partition key cannot hold"
    return None
