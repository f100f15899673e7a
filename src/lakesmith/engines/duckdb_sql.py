"""SQL transforms on DuckDB: Databricks SQL in, transpiled by sqlglot, Polars frames out.

Why DuckDB and not Polars SQL: coverage of Spark SQL, not speed. In benchmarks/sql_engines.py
(8 Spark-dialect queries, 1.5M rows, results checked against Polars DataFrame-API answers)
DuckDB answers all 8 correctly; Polars' SQLContext, given sqlglot's postgres or duckdb
output, fails 2 (``datediff`` on timestamps does not translate to anything it runs), though it
is 2-3x faster on the 6 it answers. DuckDB reads Polars frames through Arrow, so SQL and
Python nodes share the same lazy frames.

Inputs stream: each frame is narrowed to the columns the query reads, filtered by its simple
WHERE predicates (``sql_reads``: Polars then skips Delta partitions and files by their
statistics) and handed to DuckDB as an Arrow stream that Polars' streaming engine fills batch
by batch (``FrameStream``), instead of a frame DuckDB would collect whole. So an aggregate
over a 50M-row table holds its groups, not the table.

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

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from lakesmith.errors import SqlError

from . import sql_dialect
from .frame_stream import FrameStream
from .sql_reads import QueryReads

if TYPE_CHECKING:
    import duckdb

# DuckDB widens integer sums to these; Spark returns BIGINT (and fails on overflow, as the cast)
_WIDE_INTEGERS = frozenset({"HUGEINT", "UHUGEINT"})


def run_sql(
    query: str,
    frames: Mapping[str, pl.LazyFrame],
    resolve_table: Callable[[str], pl.LazyFrame],
    *,
    settings: Mapping[str, str] | None = None,
) -> pl.LazyFrame:
    """Run one Databricks-dialect SELECT over named frames and catalog tables.

    The query is checked (bound) now and runs when the result is read, batch by batch, with
    the columns the reader asks for; each read runs it again.

    Args:
        query: the SQL, in the Databricks dialect.
        frames: input aliases usable as table names.
        resolve_table: called for every other table name (``schema.table`` or three-part).
        settings: DuckDB settings of the query's connection (``memory_limit``,
            ``temp_directory``); otherwise DuckDB's defaults.

    Raises:
        SqlError: the SQL does not parse or DuckDB rejects it; the hint shows what ran. Errors
            while it runs are raised by the read: SqlError too, or an input's own error.
    """
    from polars.io.plugins import register_io_source

    duck_sql, bound = sql_dialect.bind_tables(query, frames, resolve_table, "duckdb")
    reads = QueryReads(duck_sql, {local: f.collect_schema() for local, f in bound.items()})
    columns, filters = reads.columns(), reads.filters()
    inputs = {
        local: _utc_wall_clock(
            (frame.filter(filters[local]) if local in filters else frame).select(
                columns.get(local, pl.all())
            )
        )
        for local, frame in bound.items()
    }
    config = dict(settings or {})
    with _session(duck_sql, inputs, config) as rel:
        wide = [i for i, t in enumerate(rel.types) if str(t) in _WIDE_INTEGERS]
        declared = pl.from_arrow(rel.limit(0).to_arrow_reader().read_all())
    assert isinstance(declared, pl.DataFrame)
    empty = _spark_types(declared, wide)
    names = empty.columns
    wide_names = [names[i] for i in wide]

    def batches(
        with_columns: list[str] | None,
        predicate: pl.Expr | None,
        n_rows: int | None,
        batch_size: int | None,
    ) -> Iterator[pl.DataFrame]:
        wanted = with_columns if with_columns is not None else names
        with _session(duck_sql, inputs, config) as rel:
            # by position, named as Polars names them: DuckDB may repeat a name (a.id, b.id)
            rel = rel.project(", ".join(f"#{names.index(c) + 1} AS {_ident(c)}" for c in wanted))
            if n_rows is not None:
                rel = rel.limit(n_rows)
            reader = rel.to_arrow_reader(batch_size or _BATCH_ROWS)
            for batch in iter(reader.read_next_batch, None):
                frame = pl.from_arrow(batch)
                assert isinstance(frame, pl.DataFrame)
                frame = _spark_types(frame, [wanted.index(c) for c in wide_names if c in wanted])
                yield frame if predicate is None else frame.filter(predicate)

    return register_io_source(batches, schema=empty.schema)


_BATCH_ROWS = 100_000


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@contextmanager
def _session(
    duck_sql: str, inputs: Mapping[str, pl.LazyFrame], config: Mapping[str, str]
) -> Iterator[duckdb.DuckDBPyRelation]:
    """A connection with the inputs registered as streams and the query bound; DuckDB's
    errors inside as ``SqlError`` (or the failing input's own error), closed on the way out.

    ``config`` sets the connection (memory limit, spill folder). Without a spill folder an
    in-memory DuckDB spills to ``.tmp`` under the working directory, wherever that is."""
    import duckdb

    if spill := config.get("temp_directory"):
        Path(spill).parent.mkdir(parents=True, exist_ok=True)  # DuckDB makes only the last
    options: dict[str, bool | float | int | list[str] | str] = dict(config)
    con = duckdb.connect(config=options)
    streams: list[FrameStream] = []
    try:
        con.execute("SET TimeZone = 'UTC'")
        for local, frame in inputs.items():
            streams.append(FrameStream(frame))
            con.register(local, streams[-1])
        yield con.sql(duck_sql)
    except pl.exceptions.InvalidOperationError as exc:  # _spark_types' cast to BIGINT
        raise SqlError(
            f"an integer aggregate overflows BIGINT: {str(exc).splitlines()[0]}",
            hint="Spark fails the same way; CAST the input to DECIMAL(38, 0) before summing",
        ) from exc
    except duckdb.Error as exc:
        if failed := [s.error for s in streams if s.error is not None]:
            raise failed[0] from None  # an input failed (a bad file, a cast): its own error
        raise SqlError(
            f"SQL failed on the embedded engine: {str(exc).splitlines()[0]}",
            hint=f"transpiled to DuckDB as: {duck_sql}",
        ) from exc
    finally:
        con.close()


def _utc_wall_clock(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Zoned timestamp columns as UTC wall-clock time, lazily."""
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
