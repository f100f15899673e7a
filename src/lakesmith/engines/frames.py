"""Frame hygiene before a write: UTC-aware microsecond timestamps, no untyped columns."""

from __future__ import annotations

from typing import Any, TypeVar

import polars as pl

_Frame = TypeVar("_Frame", pl.DataFrame, pl.LazyFrame)

_SIGNED: dict[type[pl.DataType], pl.DataType] = {
    pl.UInt8: pl.Int16(),
    pl.UInt16: pl.Int32(),
    pl.UInt32: pl.Int64(),
    pl.UInt64: pl.Decimal(20, 0),
}
"""Delta has no unsigned integers: each becomes the smallest signed type holding all its values
(Polars counts are UInt32, Spark's are bigint; ``sql_type`` names them the same way)."""


def delta_ready(df: _Frame) -> _Frame:
    """Make a frame (eager or lazy) safe for Delta.

    Naive datetimes become UTC (naive ones would create ``timestamp_ntz`` and raise the
    table protocol); nanoseconds become microseconds (Delta's unit); all-null columns
    without a type become strings, since Delta has no null type; unsigned integers become
    signed ones wide enough for every value (``_SIGNED``).
    """
    fixes: list[pl.Expr] = []
    schema = df.collect_schema() if isinstance(df, pl.LazyFrame) else df.schema
    for name, dtype in schema.items():
        if (signed := _SIGNED.get(dtype.base_type())) is not None:
            fixes.append(pl.col(name).cast(signed))
            continue
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


_SIMPLE: dict[type[pl.DataType], str] = {
    pl.Int8: "tinyint",
    pl.Int16: "smallint",
    pl.Int32: "int",
    pl.Int64: "bigint",
    pl.UInt8: "smallint",
    pl.UInt16: "int",
    pl.UInt32: "bigint",
    pl.UInt64: "decimal(20,0)",
    pl.Float32: "float",
    pl.Float64: "double",
    pl.Boolean: "boolean",
    pl.String: "string",
    pl.Binary: "binary",
    pl.Date: "date",
    pl.Null: "void",
}


def sql_type(dtype: Any) -> str:
    """The Spark / Databricks SQL name of a Polars type, as users see it in Unity Catalog."""
    if isinstance(dtype, pl.Datetime):
        return "timestamp" if dtype.time_zone else "timestamp_ntz"
    if isinstance(dtype, pl.Decimal):
        return f"decimal({dtype.precision},{dtype.scale})"
    if isinstance(dtype, pl.List | pl.Array):
        return f"array<{sql_type(dtype.inner)}>"
    if isinstance(dtype, pl.Struct):
        return "struct<" + ",".join(f"{f.name}:{sql_type(f.dtype)}" for f in dtype.fields) + ">"
    base = dtype if isinstance(dtype, type) else dtype.base_type()
    return _SIMPLE.get(base, str(dtype).lower())


def schema_of(df: pl.DataFrame | pl.LazyFrame) -> list[tuple[str, str]]:
    """Column names and SQL type names, the form stories and schema diffs use."""
    schema = df.collect_schema() if isinstance(df, pl.LazyFrame) else df.schema
    return [(name, sql_type(dtype)) for name, dtype in schema.items()]
