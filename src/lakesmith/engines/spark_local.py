"""Delta tables of the local warehouse for local Spark: Spark moves the data, delta-rs the log.

Open-source Spark cannot load Delta's jars here (no Maven), so:

- Reads take the Parquet files of the table's current version from the Delta log
  (``DeltaTable.file_uris()``) with the table's schema; ``basePath`` keeps partition columns.
- Appends and overwrites that keep the table's metadata (same partitioning; for appends the
  same columns) are written by Spark as Parquet straight into the table folder and made
  visible by one delta-rs commit of add actions: the rows never pass through Python.
- Every other write (merge, scd2, replace_where, a new column, new partitioning) brings the
  rows to the driver as Arrow and goes through the embedded engine's write, so both engines
  produce the same table by construction. delta-rs's predicate overwrite and merge rewrite
  existing files, which an add-actions commit cannot express.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import quote as url_quote
from urllib.parse import unquote

from lakesmith.catalog.local import LocalCatalog
from lakesmith.catalog.table_ref import TableRef
from lakesmith.config import models

from . import delta_writes
from .base import Schema, WriteResult
from .polars_engine import SAMPLE_LIMIT, PolarsEngine
from .spark_engine import is_spark_frame, quote, sample_rows

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import StructType

_NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"


class LocalDelta:
    """The ``DeltaStore`` of a local session: the project's warehouse folders."""

    def __init__(self, spark: SparkSession, catalog: LocalCatalog, default_catalog: str) -> None:
        self.spark = spark
        self.catalog = catalog
        self.embedded = PolarsEngine(catalog, default_catalog)

    def read(self, ref: TableRef) -> DataFrame:
        where = self.catalog.require(ref)
        return read_delta(self.spark, where.uri, where.storage_options)

    def read_path(self, path: str, storage_options: Mapping[str, str] | None) -> DataFrame:
        return read_delta(self.spark, path, storage_options)

    def exists(self, ref: TableRef) -> bool:
        return self.embedded.table_exists(ref)

    def schema(self, ref: TableRef) -> Schema | None:
        return self.embedded.table_schema(ref)

    def row_count(self, ref: TableRef) -> int | None:
        return self.embedded.row_count(ref)

    def commit_history(self, ref: TableRef, limit: int) -> list[dict[str, Any]]:
        return self.embedded.commit_history(ref, limit)

    guards_commits = True
    """delta-rs commits every write, so a ``Guard`` works as on the embedded engine."""

    def transaction_version(self, ref: TableRef, app_id: str) -> int | None:
        return self.embedded.transaction_version(ref, app_id)

    def write(
        self,
        frame: Any,
        ref: TableRef,
        spec: models.WriteSpec,
        *,
        metadata: Mapping[str, str],
        run_started: datetime,
        guard: delta_writes.Guard | None = None,
    ) -> WriteResult:
        if is_spark_frame(frame):
            written = self._write_files(frame, ref, spec, metadata, guard)
            if written is not None:
                return written
            import polars as pl

            frame = pl.DataFrame(frame.toArrow())
        return self.embedded.write(
            frame, ref, spec, commit_metadata=metadata, run_started=run_started, guard=guard
        )

    def _write_files(
        self,
        frame: DataFrame,
        ref: TableRef,
        spec: models.WriteSpec,
        metadata: Mapping[str, str],
        guard: delta_writes.Guard | None,
    ) -> WriteResult | None:
        """Spark writes the Parquet files, delta-rs commits them; None when it cannot.

        With a ``guard`` the table is checked before Spark writes and committed against
        that same snapshot, as ``delta_writes.write`` does."""
        if not isinstance(spec, models.OverwriteWrite | models.AppendWrite):
            return None
        from deltalake import CommitProperties, DeltaTable, Transaction
        from deltalake import Schema as DeltaSchema
        from deltalake.transaction import create_table_with_add_actions

        where = self.catalog.location(ref)
        if where.local_path is None:  # object storage: local Spark has no ADLS filesystem
            return None
        root, uri = where.local_path, where.uri
        before = self.schema(ref)
        partitions = list(spec.partition_by)
        if not set(partitions) <= set(frame.columns):
            return None
        schema = _all_nullable(frame.schema)
        if before is not None:
            table = DeltaTable(uri)
            if list(table.metadata().partition_columns) != partitions:
                return None
            if isinstance(spec, models.AppendWrite):
                schema = _struct(table.schema().to_json())
                if sorted(f.name for f in schema.fields) != sorted(frame.columns):
                    return None
                frame = _conform(frame, schema)

        loaded = delta_writes.guarded(uri, guard, None) if guard is not None else None
        files = _spark_write(frame, root, partitions)
        rows = sum(f.rows for f in files)
        if before is not None and isinstance(spec, models.AppendWrite) and rows == 0:
            _discard(root, files)
            return _result(ref, spec, 0, None, before, before, {}, [])
        actions = [f.action(root) for f in files]
        txns = [Transaction(guard.app_id, guard.version)] if guard is not None else None
        props = CommitProperties(custom_metadata=dict(metadata), app_transactions=txns)
        delta_schema = DeltaSchema.from_json(schema.json())
        try:
            with delta_writes.translate_errors(uri):
                if before is None:
                    create_table_with_add_actions(
                        uri,
                        delta_schema,
                        actions,
                        mode="error",
                        partition_by=partitions or None,
                        commit_properties=props,
                    )
                else:
                    (loaded or DeltaTable(uri)).create_write_transaction(
                        actions,
                        mode=spec.mode,
                        schema=delta_schema,
                        partition_by=partitions or None,
                        commit_properties=props,
                    )
        except BaseException:
            _discard(root, files)
            raise
        new = [str(root / f.path) for f in files]
        sample = (
            sample_rows(_read_files(self.spark, uri, new, schema), SAMPLE_LIMIT) if rows else []
        )
        after = self.schema(ref) or []
        metrics = {"num_added_rows": rows}
        return _result(ref, spec, rows, DeltaTable(uri).version(), before, after, metrics, sample)


def read_delta(
    spark: SparkSession, uri: str, storage_options: Mapping[str, str] | None = None
) -> DataFrame:
    """The current version of a Delta table as a Spark frame, without Delta's jars.

    Local Spark has no ADLS filesystem (hadoop-azure is not on its classpath), so a table
    on object storage comes through delta-rs as Arrow; local files Spark reads itself.
    """
    from deltalake import DeltaTable

    options = dict(storage_options) if storage_options else None
    table = DeltaTable(uri, storage_options=options)
    schema = _struct(table.schema().to_json())
    if "://" in uri and not uri.startswith("file://"):
        import polars as pl

        rows = pl.scan_delta(uri, storage_options=options).collect().to_arrow()
        frame = spark.createDataFrame(rows) if rows.num_rows else spark.createDataFrame([], schema)
        return frame.select(*(quote(f.name) for f in schema.fields))
    return _read_files(spark, uri, table.file_uris(), schema)


def _read_files(spark: SparkSession, root: str, files: list[str], schema: StructType) -> DataFrame:
    """Parquet files of one table with its schema, columns in the table's order.

    The schema is given, not inferred: files written before a column was added lack it
    (read as null), and Spark would otherwise take the schema of one file only.
    """
    if not files:
        return spark.createDataFrame([], schema)
    frame = spark.read.schema(schema).option("basePath", root).parquet(*files)
    return frame.select(*(quote(f.name) for f in schema.fields))  # partition columns last


class _File:
    """One Parquet file Spark wrote, moved into the table folder, not yet committed."""

    def __init__(self, path: str, size: int, rows: int, partition_values: dict[str, str | None]):
        self.path = path  # relative to the table root, as written on disk
        self.size = size
        self.rows = rows
        self.partition_values = partition_values

    def action(self, root: Path) -> Any:
        from deltalake.transaction import AddAction

        return AddAction(
            path=url_quote(self.path, safe="/="),  # the log holds URI-encoded relative paths
            size=self.size,
            partition_values=self.partition_values,
            modification_time=(root / self.path).stat().st_mtime_ns // 1_000_000,
            data_change=True,
            stats=json.dumps({"numRecords": self.rows}),
        )


def _spark_write(frame: DataFrame, root: Path, partitions: list[str]) -> list[_File]:
    """Spark writes into a hidden staging folder in the table; files move up, the rest goes.

    Readers never see the files before the commit: a Delta table is its log, not its folder.
    """
    import pyarrow.parquet as pq

    root.mkdir(parents=True, exist_ok=True)
    stage = root / f".lakesmith-stage-{uuid.uuid4().hex}"
    files: list[_File] = []
    try:
        writer = frame.write.mode("errorifexists")
        if partitions:
            writer = writer.partitionBy(*partitions)
        writer.parquet(str(stage))
        for written in sorted(stage.rglob("*.parquet")):
            relative = written.relative_to(stage)
            if any(part[0] in "._" for part in relative.parts):
                continue
            target = root / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            written.rename(target)
            files.append(
                _File(
                    relative.as_posix(),
                    target.stat().st_size,
                    pq.read_metadata(target).num_rows,
                    _partition_values(relative),
                )
            )
    except BaseException:
        _discard(root, files)
        raise
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return files


def _partition_values(relative: Path) -> dict[str, str | None]:
    """``key=value`` folders as Delta partition values (Spark escapes them like Hive)."""
    values: dict[str, str | None] = {}
    for folder in PurePosixPath(relative.as_posix()).parent.parts:
        key, _, value = folder.partition("=")
        values[unquote(key)] = None if value == _NULL_PARTITION else unquote(value)
    return values


def _discard(root: Path, files: list[_File]) -> None:
    for f in files:
        (root / f.path).unlink(missing_ok=True)


def _conform(frame: DataFrame, schema: StructType) -> DataFrame:
    """The frame in the table's column order and types, as delta-rs casts an append."""
    from pyspark.sql import functions as F

    return frame.select(*(F.col(quote(f.name)).cast(f.dataType).alias(f.name) for f in schema))


def _struct(delta_json: str) -> StructType:
    """A Delta schema as a Spark schema: Delta's schema JSON is Spark's."""
    from pyspark.sql.types import StructType

    return StructType.fromJson(json.loads(delta_json))


def _all_nullable(schema: StructType) -> StructType:
    """Every field, element and value nullable, as tables written from Arrow are.

    Spark marks literals and counts NOT NULL; a table created that way would refuse nulls
    the embedded engine writes into it later.
    """
    from pyspark.sql.types import StructType

    def loosen(node: Any) -> Any:
        if isinstance(node, dict):
            fixed = {k: loosen(v) for k, v in node.items()}
            for flag in ("nullable", "containsNull", "valueContainsNull"):
                if flag in fixed:
                    fixed[flag] = True
            return fixed
        if isinstance(node, list):
            return [loosen(v) for v in node]
        return node

    return StructType.fromJson(loosen(schema.jsonValue()))


def _result(
    ref: TableRef,
    spec: models.WriteSpec,
    rows: int,
    version: int | None,
    before: Schema | None,
    after: Schema,
    metrics: dict[str, Any],
    sample: list[dict[str, Any]],
) -> WriteResult:
    return WriteResult(
        table=ref,
        mode=spec.mode,
        rows=rows,
        version=version,
        schema_before=before,
        schema_after=after,
        metrics=metrics,
        sample=sample,
    )
