"""Frame hygiene before a write: UTC-aware microsecond timestamps, no untyped columns."""

from __future__ import annotations

import polars as pl


def delta_ready(df: pl.DataFrame) -> pl.DataFrame:
    """Make a frame safe for Delta.

    Naive datetimes become UTC (naive ones would create ``timestamp_ntz`` and raise the
    table protocol); nanoseconds become microseconds (Delta's unit); all-null columns
    without a type become strings, since Delta has no null type.
    """
    fixes: list[pl.Expr] = []
    for name, dtype in df.schema.items():
        if isinstance(dtype, pl.Datetime):
            expr = pl.col(name)
            if dtype.time_unit != "us":
                expr = expr.dt.cast_time_unit("us")
            if dtype.time_zone is None:
                expr = expr.dt.replace_time_zone("UTC")
            elif dtype.time_zone != "UTC":
                expr = expr.dt.convert_time_zone("UTC")
            if dtype.time_unit != "us" or dtype.time_zone != "UTC":
                fixes.append(expr)
        elif dtype == pl.Null:
            fixes.append(pl.col(name).cast(pl.String))
    return df.with_columns(fixes) if fixes else df


def schema_of(df: pl.DataFrame | pl.LazyFrame) -> list[tuple[str, str]]:
    schema = df.collect_schema() if isinstance(df, pl.LazyFrame) else df.schema
    return [(name, str(dtype)) for name, dtype in schema.items()]
