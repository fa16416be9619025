"""The columns of each Parquet table, as Dagster shows them beside the asset that writes it."""

import dagster as dg

from dance_assets.core.lake.tables import SCHEMAS


def column_schema(table: str) -> dict[str, dg.TableSchema]:
    """Definition metadata naming the columns (and their Arrow types) of `table`."""
    return {"dagster/column_schema": dg.TableSchema(columns=[
        dg.TableColumn(field.name, str(field.type)) for field in SCHEMAS[table]])}
