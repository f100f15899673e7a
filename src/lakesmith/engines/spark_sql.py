"""SQL transforms on Spark: Databricks SQL runs natively, over temp views of the inputs.

The Databricks dialect is Spark's, so nothing is translated for meaning; sqlglot only finds
the tables a query reads and renames them to per-call temp views, so inputs, catalog tables
of the local warehouse and Unity Catalog tables are bound the same way and concurrent nodes
never see each other's names.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from lakesmith.errors import SqlError

from . import sql_dialect

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


def run_sql(
    spark: SparkSession,
    query: str,
    frames: Mapping[str, DataFrame],
    resolve_table: Callable[[str], DataFrame],
) -> DataFrame:
    """Run one Databricks-dialect SELECT over named frames and catalog tables.

    Args:
        spark: the session.
        query: the SQL, in the Databricks dialect.
        frames: input aliases usable as table names.
        resolve_table: called for every other table name (``schema.table`` or three-part).

    Raises:
        SqlError: the SQL does not parse or Spark rejects it; the hint shows what ran.
    """
    from pyspark.errors import PySparkException

    prefix = f"__ls_{uuid.uuid4().hex[:12]}_t"  # per call: concurrent nodes share the session
    spark_sql, bound = sql_dialect.bind_tables(query, frames, resolve_table, "spark", prefix)
    for view, frame in bound.items():
        frame.createOrReplaceTempView(view)
    try:
        return spark.sql(spark_sql)
    except PySparkException as exc:
        raise SqlError(
            f"SQL failed on Spark: {_first_line(exc)}",
            hint=f"ran on Spark as: {spark_sql}",
        ) from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
