"""SQL transforms on DuckDB: Databricks SQL in, transpiled by sqlglot, Polars frames out.

Why DuckDB and not Polars SQL: on a 22-query analytical workload in the Spark dialect
(joins, correlated subqueries, CTEs, interval arithmetic) DuckDB ran every query correctly
in 2.9 s against 5.0 s for Polars' SQLContext, which also had one query at 1.9 s alone
(FIELD_NOTES.md; re-measured by benchmarks/sql_engines.py). DuckDB scans Arrow and Polars
data without copying, so SQL and Python nodes share the same frames.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import polars as pl

from lakesmith.errors import SqlError

from . import sql_dialect


def run_sql(
    query: str,
    frames: Mapping[str, pl.LazyFrame],
    resolve_table: Callable[[str], pl.LazyFrame],
) -> pl.LazyFrame:
    """Run one Databricks-dialect SELECT over named frames and catalog tables.

    Args:
        query: the SQL, in the Databricks dialect.
        frames: input aliases usable as table names.
        resolve_table: called for every other table name (``schema.table`` or three-part).

    Raises:
        SqlError: the SQL does not parse or DuckDB rejects it; the hint shows what ran.
    """
    import duckdb

    tree = sql_dialect.parse(query)
    lowered = {alias.lower(): frame for alias, frame in frames.items()}
    bound: dict[str, pl.LazyFrame] = {}
    local_names: dict[str, str] = {}

    def rename(name: str) -> str:
        key = name.lower()
        if key not in local_names:
            local = f"__ls_t{len(local_names)}"
            local_names[key] = local
            bound[local] = lowered[key] if key in lowered else resolve_table(name)
        return local_names[key]

    duck_sql = sql_dialect.to_dialect(sql_dialect.rewrite_tables(tree, rename), "duckdb")
    con = duckdb.connect()
    try:
        for local, frame in bound.items():
            con.register(local, frame)
        return con.sql(duck_sql).pl().lazy()
    except duckdb.Error as exc:
        raise SqlError(
            f"SQL failed on the embedded engine: {str(exc).splitlines()[0]}",
            hint=f"transpiled to DuckDB as: {duck_sql}",
        ) from exc
    finally:
        con.close()
