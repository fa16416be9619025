"""The lake's tables as Dagster stores and loads them: the one way an asset writes a table.

An asset that writes tables declares them (`stores_tables`) and returns their rows as
its MaterializeResult's value: one DataFrame, or a dict of them by table name when it
writes several (its `dagster_type` says which: beside check outputs, Dagster takes a
bare MaterializeResult annotation for no value at all). The `lake_tables` IO
manager writes them into the lake's Parquet truth with core/lake's atomic writes and
rebuilds the DuckDB views (warehouse.publish_tables), so no asset writes a table or has
to remember the views, and called directly an asset is a function of the DataFrames it
is given. A downstream asset takes an upstream's tables as an input (`table_input`),
loaded by the same manager.

Partitioned tables keep the layout SQL users query (tables/<table>/<column>=<value>/):
the run's partition key fills the table's one partition column the asset does not fix
(`stores_tables(..., arch="resnet18")` fixes arch; the protocol partition gives the rest).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import dagster as dg
import pandas as pd

from dance_assets.assets.schemas import column_schema
from dance_assets.core.lake import tables
from dance_assets.core.lake.lake import Lake
from dance_assets.core.lake.warehouse import publish_tables

LAKE_TABLES = "lake_tables"  # the IO manager's resource key
_TABLES = "dance_assets/tables"  # definition metadata: the tables, in the order written
_FIXED = "dance_assets/table_partition"  # partition values the asset fixes, e.g. its arch

Tables = dict[str, pd.DataFrame]


def stores_tables(*names: str, **fixed: str) -> dict[str, object]:
    """Definition metadata of an asset whose output is rows of `names` (written in this
    order), with partition values it fixes; shown in the UI beside the first table's
    columns."""
    return {**column_schema(names[0]), _TABLES: list(names), _FIXED: dict(fixed)}


def table_input(asset: dg.AssetsDefinition, *names: str) -> dg.AssetIn:
    """An input of `asset`'s tables (`names`, else all it stores): a DataFrame for one
    table, a dict by name for several. Loaded by the lake_tables manager whatever stored
    them, so a step that publishes its tables itself (video_frames) feeds inputs too."""
    return dg.AssetIn(key=asset.key, input_manager_key=LAKE_TABLES,
                      metadata={_TABLES: list(names)} if names else None)


class LakeTableIOManager(dg.IOManager):
    """Stores an asset's tables in the lake, and loads an upstream asset's."""

    def __init__(self, lake: Lake):
        self.lake = lake

    def handle_output(self, context: dg.OutputContext, obj: pd.DataFrame | Tables) -> None:
        names = list(context.definition_metadata[_TABLES])
        rows = obj if isinstance(obj, Mapping) else {names[0]: obj}
        if list(rows) != names:
            raise dg.DagsterInvariantViolationError(
                f"{context.asset_key.to_user_string()} returned tables {list(rows)}, "
                f"but declares {names}")
        # One asset's tables share their partitioning (publish_tables refuses one that
        # does not).
        key = context.partition_key if context.has_partition_key else None
        publish_tables(self.lake, rows,
                       **_filled(names[0], context.definition_metadata[_FIXED], key))

    def load_input(self, context: dg.InputContext) -> pd.DataFrame | Tables:
        upstream = context.upstream_output
        assert upstream is not None  # an asset input always has one
        names = list(context.definition_metadata.get(_TABLES)
                     or upstream.definition_metadata[_TABLES])
        fixed = dict(upstream.definition_metadata[_FIXED])
        if context.has_partition_key and context.has_asset_partitions:
            # A partitioned step reads its own partitions of the upstream (music reads
            # its class's videos); any other step reads the whole table.
            keys = context.asset_partition_keys
            loaded = {name: self._partitions(name, fixed, keys) for name in names}
        else:
            loaded = {name: _where(tables.read_table(self.lake, name), fixed)
                      for name in names}
        return loaded[names[0]] if len(names) == 1 else loaded

    def _partitions(self, name: str, fixed: dict[str, str],
                    keys: Sequence[str]) -> pd.DataFrame:
        parts = [tables.read_table(self.lake, name, **_filled(name, fixed, key))
                 for key in keys]
        return parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)


@dg.io_manager(required_resource_keys={"lake"})
def lake_tables_io_manager(init_context: dg.InitResourceContext) -> LakeTableIOManager:
    """The lake_tables IO manager on the run's `lake` resource, taken by its key, so a run
    that configures the lake (the Launchpad, run config) stores its tables there too: a
    ConfigurableResource nested in a ConfigurableIOManager keeps its own configuration."""
    return LakeTableIOManager(init_context.resources.lake.lake())


def _filled(name: str, fixed: Mapping[str, str], key: str | None) -> dict[str, str]:
    """The table's partition columns: the fixed values, and the partition key for the one
    column left (tables.partition_file refuses anything else)."""
    columns = tables.PARTITION_COLUMNS.get(name, ())
    free = [column for column in columns if column not in fixed]
    if len(free) > 1 or (free and key is None):
        raise dg.DagsterInvariantViolationError(
            f"table {name} is partitioned by {columns}: its asset fixes {dict(fixed)} and "
            f"runs for partition {key!r}")
    return {column: fixed.get(column, key) for column in columns}  # type: ignore[misc]


def _where(frame: pd.DataFrame, fixed: Mapping[str, str]) -> pd.DataFrame:
    """The rows of a whole table that belong to the asset (its arch, where it fixes one)."""
    for column, value in fixed.items():
        frame = frame[frame[column] == value]
    return frame.reset_index(drop=True) if fixed else frame
