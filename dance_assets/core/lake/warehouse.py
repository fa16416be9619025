"""warehouse.duckdb: views over the Parquet truth, and read-only queries on them.

The file holds views only. It is rebuilt into a temporary file and renamed into
place, so writers never hold DuckDB's single-writer lock on the live file and a
reader (who opens it read-only) never waits for or blocks a pipeline step. Views use
absolute paths so the warehouse works from any working directory; every rebuild
rewrites them, so a moved lake heals on its next materialization (or `sql`, which
rebuilds a stale warehouse before querying).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import duckdb
import pandas as pd

from dance_assets.core.lake.errors import DanceAssetsError
from dance_assets.core.lake.lake import Lake, atomic_path, sweep_stale_temps
from dance_assets.core.lake.tables import SCHEMAS, partition_file, table_dir, to_arrow, write_arrow

READ_ONLY_STATEMENTS = frozenset({duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN})
_ROOT_MARKER = "dance_assets_lake_root"


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


_SQL_TYPES = {"string": "VARCHAR", "double": "DOUBLE", "int64": "BIGINT", "bool": "BOOLEAN",
              "timestamp[us, tz=UTC]": "TIMESTAMPTZ", "list<item: float>": "FLOAT[]"}


def view_sql(lake: Lake, name: str, published: bool) -> str:
    """The view over a table's files; before its first file, an empty view of its schema."""
    if not published:
        columns = ", ".join(f"CAST(NULL AS {_SQL_TYPES[str(f.type)]}) AS {f.name}"
                            for f in SCHEMAS[name])
        return f"CREATE OR REPLACE VIEW {name} AS SELECT {columns} WHERE false"
    files = (table_dir(lake, name) / "**" / "*.parquet").as_posix()
    return (
        f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM read_parquet("
        f"{_sql_string(files)}, union_by_name = true, hive_partitioning = false)"
    )


def published_tables(lake: Lake) -> list[str]:
    """Tables with at least one Parquet file: only those can back a view."""
    return [
        name for name in SCHEMAS
        if table_dir(lake, name).is_dir() and any(table_dir(lake, name).rglob("*.parquet"))
    ]


def refresh_views(lake: Lake) -> list[str]:
    """Rebuild warehouse.duckdb with a view per table; returns those backed by files.

    Every table has its view from the start (empty until its first file lands), so a
    query never fails because a pipeline stage has not reached that table yet.
    """
    names = published_tables(lake)
    lake.root.mkdir(parents=True, exist_ok=True)
    sweep_stale_temps(lake.root)  # a rebuild killed midway leaves its file and its log
    with atomic_path(lake.warehouse) as tmp:
        connection = duckdb.connect(str(tmp))
        try:
            for name in SCHEMAS:
                connection.execute(view_sql(lake, name, name in names))
            connection.execute(
                f"CREATE OR REPLACE VIEW {_ROOT_MARKER} AS SELECT "
                f"{_sql_string(lake.root.as_posix())} AS root, "
                f"{_sql_string(','.join(names))} AS published"
            )
            connection.execute("CHECKPOINT")
        finally:
            connection.close()
    return names


def publish_tables(lake: Lake, rows: Mapping[str, pd.DataFrame], **partition: str) -> list[Path]:
    """Replace `partition` of each table with its rows, in the order given, then rebuild
    the views: how every pipeline step stores its tables (dance_assets/lake_tables.py).

    Every table is cast to its schema, and its partition checked, before the first file is
    replaced, so rows that do not fit fail the step with every table as it was. Each file
    is then published in one rename (tables.write_arrow), so a crash leaves each table as
    it was or as it is now, never half written; the views are rebuilt once the last file
    is in place, so SQL sees every table the step wrote as soon as it ends. The order is
    the caller's: video_frames writes its ledger, extractions, last.
    """
    cast = {name: to_arrow(name, frame) for name, frame in rows.items()}
    for name in cast:
        partition_file(lake, name, **partition)  # refuses a partition the table lacks
    written = [write_arrow(lake, name, table, **partition) for name, table in cast.items()]
    refresh_views(lake)
    return written


def _is_current(lake: Lake) -> bool:
    """Whether the warehouse exists, points at this lake and backs every published table."""
    if not lake.warehouse.exists():
        return False
    connection = duckdb.connect(str(lake.warehouse), read_only=True)
    try:
        marker = connection.execute(f"SELECT root, published FROM {_ROOT_MARKER}").fetchone()
    except duckdb.Error:
        return False
    finally:
        connection.close()
    return (bool(marker) and marker[0] == lake.root.as_posix()
            and set(published_tables(lake)) <= set(filter(None, marker[1].split(","))))


def check_read_only(sql: str) -> None:
    """Refuse anything but SELECT and EXPLAIN: the Parquet truth is never written here."""
    try:
        statements = duckdb.connect().extract_statements(sql)
    except duckdb.Error as exc:
        raise DanceAssetsError(f"SQL does not parse: {str(exc).splitlines()[0]}") from exc
    if not statements:
        raise DanceAssetsError("no SQL statement given")
    for statement in statements:
        if statement.type not in READ_ONLY_STATEMENTS:
            kind = statement.type.name
            raise DanceAssetsError(
                f"refused: {kind} statements are not allowed; `sql` is read-only "
                "(SELECT, EXPLAIN, DESCRIBE, SHOW, SUMMARIZE)"
            )


def query(lake: Lake, sql: str) -> pd.DataFrame:
    """Run read-only SQL over the views and return the result."""
    check_read_only(sql)
    if not _is_current(lake):
        if not published_tables(lake):
            raise DanceAssetsError(
                f"no tables yet in {lake.root}: run `dance-assets demo` (or materialize "
                "raw_videos) first"
            )
        refresh_views(lake)
    connection = duckdb.connect(str(lake.warehouse), read_only=True)
    try:
        # Only the lake's tables may be read (the views need them), and a query cannot
        # loosen that: the configuration is locked before user SQL runs. Writing
        # statements were refused above.
        allowed = _sql_string(lake.tables.as_posix() + "/")
        connection.execute(f"SET allowed_directories = [{allowed}]")
        connection.execute("SET enable_external_access = false")
        connection.execute("SET lock_configuration = true")
        return connection.execute(sql).df()
    except duckdb.Error as exc:
        raise DanceAssetsError(f"query failed: {str(exc).splitlines()[0]}") from exc
    finally:
        connection.close()


def format_result(df: pd.DataFrame, fmt: str) -> str:
    if fmt == "csv":  # print() ends the last line; no blank line after it
        return df.to_csv(index=False).removesuffix("\n")
    if fmt == "json":
        return json.dumps(json.loads(df.to_json(orient="records", date_format="iso")), indent=2)
    if df.empty:
        return "(no rows)"
    return df.to_string(index=False, max_colwidth=60, na_rep="—")
