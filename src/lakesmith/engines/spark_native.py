"""Delta tables in Unity Catalog, for a Spark session on Databricks (a cluster or Connect).

Delta is native there, so each write mode is one Delta operation with the semantics of
``delta_writes`` (the embedded engine's): ``saveAsTable`` for overwrite, append and
replace_where, one ``MERGE INTO`` for merge and for scd2 (the same staged union: changed keys
once with their key to close the current version, once with a NULL merge key to insert the
new one). The statements are built by pure functions below, so they can be checked without
a workspace. Commit metadata (run id, watermarks) travels as Delta ``userMetadata`` JSON.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from lakesmith.catalog.table_ref import TableRef
from lakesmith.config import models
from lakesmith.errors import TableNotFound

from . import delta_writes
from .base import Schema, WriteResult
from .polars_engine import SAMPLE_LIMIT
from .spark_engine import is_spark_frame, quote, sample_rows

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from .delta_writes import Guard

USER_METADATA = "spark.databricks.delta.commitInfo.userMetadata"
MERGE_KEY_PREFIX = "__lakesmith_mk_"
_metadata_lock = threading.Lock()


# --- statements (pure: no session needed) ---------------------------------------------------


def table_name(ref: TableRef) -> str:
    """The quoted three-part Unity Catalog name.

    Example:
        >>> table_name(TableRef("dev_c360", "silver", "orders"))
        '`dev_c360`.`silver`.`orders`'
    """
    return ".".join(quote(part) for part in (ref.catalog, ref.schema, ref.table))


def save_plan(
    spec: models.WriteSpec, *, exists: bool, metadata: Mapping[str, str]
) -> tuple[str, dict[str, str]]:
    """The DataFrameWriter save mode and options of a write that is not a MERGE.

    Example:
        >>> spec = models.ReplaceWhereWrite(table="s.t", mode="replace_where", predicate="d = 1")
        >>> save_plan(spec, exists=True, metadata={})
        ('overwrite', {'replaceWhere': 'd = 1'})
    """
    options = {"userMetadata": json.dumps(dict(metadata), sort_keys=True)} if metadata else {}
    if spec.schema_evolution and not isinstance(spec, models.OverwriteWrite):
        options["mergeSchema"] = "true"
    match spec:
        case models.OverwriteWrite():
            return "overwrite", {**options, "overwriteSchema": "true"}
        case models.AppendWrite():
            return "append", options
        case models.ReplaceWhereWrite() if exists:
            return "overwrite", {**options, "replaceWhere": spec.predicate}
        case _ if not exists:  # replace_where, merge and scd2 create a new table whole
            return "errorifexists", options
    raise ValueError(f"mode {spec.mode} on an existing table is a MERGE, not a save")


def duplicate_keys_sql(source: str, keys: list[str]) -> str:
    """Keys that appear more than once in the source (nulls group together)."""
    cols = ", ".join(quote(k) for k in keys)
    return f"SELECT {cols} FROM {source} GROUP BY {cols} HAVING COUNT(*) > 1"


def merge_sql(target: str, source: str, spec: models.MergeWrite) -> str:
    """One MERGE with delta_writes' clause order: delete, update, insert, delete unmatched."""
    on = " AND ".join(f"target.{quote(k)} = source.{quote(k)}" for k in spec.keys)
    clauses = []
    if spec.delete_condition:
        clauses.append(f"WHEN MATCHED AND ({spec.delete_condition}) THEN DELETE")
    clauses.append(f"WHEN MATCHED{_and(spec.update_condition)} THEN UPDATE SET *")
    clauses.append(f"WHEN NOT MATCHED{_and(spec.insert_condition)} THEN INSERT *")
    if spec.delete_unmatched:
        clauses.append("WHEN NOT MATCHED BY SOURCE THEN DELETE")
    return (
        f"MERGE{_evolve(spec)} INTO {target} AS target USING {source} AS source ON {on} "
        + " ".join(clauses)
    )


def scd2_versioned_sql(source: str, spec: models.Scd2Write, run_started: datetime) -> str:
    """The source with its history columns: valid from the effective time, open, current."""
    if spec.effective_column:
        effective = f"CAST(src.{quote(spec.effective_column)} AS TIMESTAMP)"
    else:
        effective = f"TIMESTAMP '{run_started.isoformat()}'"
    return (
        f"SELECT src.*, {effective} AS {quote(spec.valid_from)}, "
        f"CAST(NULL AS TIMESTAMP) AS {quote(spec.valid_to)}, TRUE AS {quote(spec.is_current)} "
        f"FROM {source} AS src"
    )


def scd2_stage_sql(
    target: str,
    source: str,
    spec: models.Scd2Write,
    columns: list[str],
    tracked: list[str],
    run_started: datetime,
) -> str:
    """The staged union: changed rows keyed (to close), changed and new rows unkeyed (to insert).

    ``columns`` are the source's columns; a row is new when no current version has its key,
    changed when a tracked column differs (NULL-safe, as delta_writes compares).
    """
    current = list(dict.fromkeys([*spec.keys, *tracked]))
    match = " AND ".join(f"v.{quote(k)} <=> cur.{quote(k)}" for k in spec.keys)
    differs = " OR ".join(f"NOT (v.{quote(c)} <=> cur.{quote(c)})" for c in tracked) or "FALSE"
    out = ", ".join(quote(c) for c in [*columns, spec.valid_from, spec.valid_to, spec.is_current])
    keyed = ", ".join(f"{quote(k)} AS {quote(MERGE_KEY_PREFIX + k)}" for k in spec.keys)
    unkeyed = ", ".join(f"NULL AS {quote(MERGE_KEY_PREFIX + k)}" for k in spec.keys)
    return (
        f"WITH v AS ({scd2_versioned_sql(source, spec, run_started)}), "
        f"j AS (SELECT v.*, cur.__found IS NOT NULL AS __matched, ({differs}) AS __differs "
        f"FROM v LEFT JOIN (SELECT {', '.join(quote(c) for c in current)}, TRUE AS __found "
        f"FROM {target} WHERE {quote(spec.is_current)}) AS cur ON {match}) "
        f"SELECT {keyed}, {out} FROM j WHERE __matched AND __differs "
        f"UNION ALL SELECT {unkeyed}, {out} FROM j WHERE NOT __matched OR __differs"
    )


def scd2_merge_sql(target: str, stage: str, spec: models.Scd2Write, columns: list[str]) -> str:
    """Close the current version of changed keys; insert every staged row without a match."""
    on = " AND ".join(
        f"target.{quote(k)} = source.{quote(MERGE_KEY_PREFIX + k)}" for k in spec.keys
    )
    versioned = [*columns, spec.valid_from, spec.valid_to, spec.is_current]
    return (
        f"MERGE{_evolve(spec)} INTO {target} AS target USING ({stage}) AS source "
        f"ON {on} AND target.{quote(spec.is_current)} = true "
        f"WHEN MATCHED THEN UPDATE SET {quote(spec.valid_to)} = source.{quote(spec.valid_from)}, "
        f"{quote(spec.is_current)} = false "
        f"WHEN NOT MATCHED THEN INSERT ({', '.join(quote(c) for c in versioned)}) "
        f"VALUES ({', '.join(f'source.{quote(c)}' for c in versioned)})"
    )


def history_sql(target: str, limit: int) -> str:
    return f"DESCRIBE HISTORY {target} LIMIT {int(limit)}"


def _and(condition: str | None) -> str:
    return f" AND ({condition})" if condition else ""


def _evolve(spec: models.MergeWrite | models.Scd2Write) -> str:
    return " WITH SCHEMA EVOLUTION" if spec.schema_evolution else ""


# --- the store --------------------------------------------------------------------------------


class NativeDelta:
    """The ``DeltaStore`` of a Databricks session: Unity Catalog tables, native Delta."""

    def __init__(self, spark: SparkSession) -> None:
        self.spark = spark

    def read(self, ref: TableRef) -> DataFrame:
        if not self.exists(ref):
            raise TableNotFound(
                f"table {ref} does not exist in Unity Catalog (or you may not read it)",
                hint="run the node that writes it first (lakesmith run --node ...), or check "
                "the environment's catalog and your USE/SELECT grants",
            )
        return self.spark.table(table_name(ref))

    def read_path(self, path: str, storage_options: Mapping[str, str] | None) -> DataFrame:
        return self.spark.read.format("delta").load(path)

    def exists(self, ref: TableRef) -> bool:
        return self.spark.catalog.tableExists(table_name(ref))

    def schema(self, ref: TableRef) -> Schema | None:
        if not self.exists(ref):
            return None
        fields = self.spark.table(table_name(ref)).schema.fields
        return [(f.name, f.dataType.simpleString()) for f in fields]

    def row_count(self, ref: TableRef) -> int | None:
        return self.spark.table(table_name(ref)).count() if self.exists(ref) else None

    def commit_history(self, ref: TableRef, limit: int) -> list[dict[str, Any]]:
        rows = self.spark.sql(history_sql(table_name(ref), limit)).toArrow().to_pylist()
        return [
            {
                "version": row["version"],
                "timestamp": row["timestamp"],
                "operation": row["operation"],
                **json.loads(row.get("userMetadata") or "{}"),
            }
            for row in rows
        ]

    guards_commits = False
    """Delta's own ``txnAppId``/``txnVersion`` skip a write whose version is not newer, which
    is not a guard's "no commit of this app since my read"; jobs run one at a time instead
    (``max_concurrent_runs: 1``, the bundle default)."""

    def transaction_version(self, ref: TableRef, app_id: str) -> int | None:
        return None

    def write(
        self,
        frame: Any,
        ref: TableRef,
        spec: models.WriteSpec,
        *,
        metadata: Mapping[str, str],
        run_started: datetime,
        guard: Guard | None = None,
    ) -> WriteResult:
        if guard is not None:
            raise ValueError("native Delta writes take no guard (guards_commits is False)")
        source = frame if is_spark_frame(frame) else self._from_polars(frame)
        target = table_name(ref)
        before = self.schema(ref)
        exists = before is not None
        match spec:
            case models.MergeWrite():
                rows, committed = self._merge(source, target, spec, exists, metadata)
            case models.Scd2Write():
                rows, committed = self._scd2(source, target, spec, exists, metadata, run_started)
            case _:
                rows, committed = self._save(source, target, spec, exists, metadata)
        version, metrics = self._last_commit(target) if committed else (None, {})
        return WriteResult(
            table=ref,
            mode=spec.mode,
            rows=rows,
            version=version,
            schema_before=before,
            schema_after=self.schema(ref) or [],
            metrics=metrics,
            sample=sample_rows(source, SAMPLE_LIMIT),
        )

    def _save(
        self,
        source: DataFrame,
        target: str,
        spec: models.WriteSpec,
        exists: bool,
        metadata: Mapping[str, str],
    ) -> tuple[int, bool]:
        """The rows written and whether anything was committed."""
        if isinstance(spec, models.AppendWrite) and exists and source.isEmpty():
            return 0, False
        mode, options = save_plan(spec, exists=exists, metadata=metadata)
        writer = source.write.format("delta").mode(mode).options(**options)
        if spec.partition_by:
            writer = writer.partitionBy(*spec.partition_by)
        writer.saveAsTable(target)
        return int(self._last_commit(target)[1].get("numOutputRows", 0)), True

    def _merge(
        self,
        source: DataFrame,
        target: str,
        spec: models.MergeWrite,
        exists: bool,
        metadata: Mapping[str, str],
    ) -> tuple[int, bool]:
        view = self._view(source)
        self._require_unique_keys(view, source.columns, spec.keys, "merge")
        if not exists:  # a new table: only the insert clause can apply, so one plain write
            rows = source
            if spec.insert_condition:
                condition = spec.insert_condition
                rows = self.spark.sql(f"SELECT * FROM {view} AS source WHERE {condition}")
            return self._save(rows, target, spec, exists, metadata)
        if not spec.delete_unmatched and source.isEmpty():
            return 0, False
        with self._commit_metadata(metadata):
            self.spark.sql(merge_sql(target, view, spec))
        return int(self._last_commit(target)[1].get("numSourceRows", 0)), True

    def _scd2(
        self,
        source: DataFrame,
        target: str,
        spec: models.Scd2Write,
        exists: bool,
        metadata: Mapping[str, str],
        run_started: datetime,
    ) -> tuple[int, bool]:
        view = self._view(source)
        columns = list(source.columns)
        self._require_unique_keys(view, columns, spec.keys, "scd2")
        tracked = delta_writes.scd2_tracked(columns, spec)
        if not exists:
            versioned = self.spark.sql(scd2_versioned_sql(view, spec, run_started))
            return self._save(versioned, target, spec, exists, metadata)
        stage = scd2_stage_sql(target, view, spec, columns, tracked, run_started)
        if self.spark.sql(stage).isEmpty():
            return source.count(), False
        with self._commit_metadata(metadata):
            self.spark.sql(scd2_merge_sql(target, stage, spec, columns))
        return source.count(), True

    def _require_unique_keys(
        self, view: str, columns: list[str], keys: list[str], what: str
    ) -> None:
        delta_writes.require_key_columns(columns, keys, what)
        dupes = self.spark.sql(duplicate_keys_sql(view, keys))
        count = dupes.count()
        if count:
            sample = dupes.limit(3).toArrow().to_pylist()
            raise delta_writes.duplicate_keys_error(what, count, sample)

    def _last_commit(self, target: str) -> tuple[int, dict[str, str]]:
        row = self.spark.sql(history_sql(target, 1)).toArrow().to_pylist()[0]
        return int(row["version"]), dict(row.get("operationMetrics") or [])

    def _view(self, frame: DataFrame) -> str:
        name = f"__ls_src_{uuid.uuid4().hex[:12]}"
        frame.createOrReplaceTempView(name)
        return name

    def _from_polars(self, frame: Any) -> DataFrame:
        import polars as pl

        data = frame.collect() if isinstance(frame, pl.LazyFrame) else frame
        return self.spark.createDataFrame(data.to_arrow())

    @contextmanager
    def _commit_metadata(self, metadata: Mapping[str, str]) -> Iterator[None]:
        """SQL MERGE takes commit metadata only from the session: one merge at a time."""
        with _metadata_lock:
            self.spark.conf.set(USER_METADATA, json.dumps(dict(metadata), sort_keys=True))
            try:
                yield
            finally:
                self.spark.conf.unset(USER_METADATA)
