"""Partitions: one per dance class (a folder under raw/), one per split protocol."""

from collections.abc import Iterable
from dataclasses import dataclass, field

import dagster as dg

from dance_assets.core.lake.catalogue import PROTOCOLS

dance_class_partitions = dg.DynamicPartitionsDefinition(name="dance_classes")

split_protocol_partitions = dg.StaticPartitionsDefinition(list(PROTOCOLS))


@dataclass
class ClassSync:
    """How raw/'s class folders compare with the registered dance_classes partitions."""

    added: list[str] = field(default_factory=list)  # to register
    present: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # registered, but the folder is gone
    invalid: dict[str, str] = field(default_factory=dict)  # folder → why it cannot be one


def class_sync(folders: Iterable[str], registered: set[str]) -> ClassSync:
    """What registering raw/'s class folders as partitions means: the one rule that the
    CLI (which registers them) and the sensor (which asks Dagster to) both follow."""
    sync = ClassSync()
    folders = sorted(folders)
    for name in folders:
        reason = invalid_partition_reason(name)
        if reason:
            sync.invalid[name] = reason
        elif name in registered:
            sync.present.append(name)
        else:
            sync.added.append(name)
    sync.missing = sorted(registered - set(folders))
    return sync


def invalid_partition_reason(name: str) -> str | None:
    """Why a folder name cannot be a Dagster partition key, if it cannot (Dagster's own
    rule, asked through its public API: a definition with that key refuses it)."""
    try:
        dg.StaticPartitionsDefinition([name])
    except dg.DagsterInvalidDefinitionError as refused:
        return f"folder name {name!r} cannot be a partition key: {refused}"
    return None
