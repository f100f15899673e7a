"""SQL transforms on DuckDB: Databricks SQL in, transpiled by sqlglot, Polars frames out.

Why DuckDB and not Polars SQL: coverage of Spark SQL, not speed. In benchmarks/sql_engines.py
(8 Spark-dialect queries, 1.5M rows, results checked against Polars DataFrame-API answers)
DuckDB answers all 8 correctly; Polars' SQLContext, given sqlglot's postgres or duckdb
output, fails 2 (``datediff`` on timestamps does not translate to anything it runs), though it
is 2-3x faster on the 6 it answers. DuckDB reads Polars frames through Arrow, so SQL and
Python nodes share the same lazy frames; filters and projections are pushed into them.

Spark semantics kept on DuckDB:

- Time zone: a Spark TIMESTAMP is an instant shown in the session zone, UTC on Databricks.
  DuckDB runs with TimeZone UTC and gets timestamp columns as UTC wall-clock TIMESTAMPs
  (results come back UTC-aware), so ``date_trunc``, ``datediff``, ``CAST(ts AS DATE)`` and
  ``CAST(ts AS STRING)`` never depend on the machine's zone and answer as Spark does. It is
  also faster: DuckDB's TIMESTAMPTZ functions go through ICU calendars, several times slower
  than plain TIMESTAMP arithmetic on millions of rows.
- Integer aggregates that DuckDB widens to HUGEINT (``sum`` of integers, ``count_if``) come
  back as BIGINT, Spark's type, instead of ``decimal(38,0)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import polars as pl

from lakesmith.errors import SqlError

from . import sql_dialect

# DuckDB widens integer sums to these; Spark returns BIGINT (and fails on overflow, as the cast)
_WIDE_INTEGERS = frozenset({"HUGEINT", "UHUGEINT"})


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

    duck_sql, bound = sql_dialect.bind_tables(query, frames, resolve_table, "duckdb")
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        for local, frame in bound.items():
            con.register(local, _utc_wall_clock(frame))
        rel = con.sql(duck_sql)
        wide = [i for i, t in enumerate(rel.types) if str(t) in _WIDE_INTEGERS]
        df = rel.pl()
        return _spark_types(df, wide).lazy()
    except pl.exceptions.InvalidOperationError as exc:
        raise SqlError(
            f"an integer aggregate overflows BIGINT: {str(exc).splitlines()[0]}",
            hint="Spark fails the same way; CAST the input to DECIMAL(38, 0) before summing",
        ) from exc
    except duckdb.Error as exc:
        raise SqlError(
            f"SQL failed on the embedded engine: {str(exc).splitlines()[0]}",
            hint=f"transpiled to DuckDB as: {duck_sql}",
        ) from exc
    finally:
        con.close()


def _utc_wall_clock(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Zoned timestamp columns as UTC wall-clock time; lazily, so DuckDB still pushes
    projections and filters down into the frame."""
    fixes = [
        pl.col(name).dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        for name, dtype in frame.collect_schema().items()
        if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None
    ]
    return frame.with_columns(fixes) if fixes else frame


def _spark_types(df: pl.DataFrame, wide: list[int]) -> pl.DataFrame:
    """Timestamps back as UTC instants; DuckDB's HUGEINT aggregates as BIGINT."""
    fixes = [
        pl.nth(i).dt.replace_time_zone("UTC")
        for i, dtype in enumerate(df.dtypes)
        if isinstance(dtype, pl.Datetime) and dtype.time_zone is None
    ]
    if wide:
        fixes.append(pl.nth(wide).cast(pl.Int64))
    return df.with_columns(fixes) if fixes else df
