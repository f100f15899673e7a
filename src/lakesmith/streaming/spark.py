"""Streaming tables on the spark engine: Structured Streaming, exactly once.

- Locally (no Delta jars): the file source is Spark's (``readStream.format("json"|...)``)
  with its checkpoint under the ``_lakesmith`` system schema's folder; each micro-batch goes
  through ``foreachBatch`` to the embedded streaming batch (:class:`.execute.Batch`): the
  offsets and commits logs, the expectations, ``auto_cdc``, and the Delta write through
  delta-rs with the app transaction ``(app id, Spark batch id)`` checked before writing, so a
  batch Spark replays after a crash is never written twice. A Delta table source has no
  Spark streaming reader without delta-spark: it is read by the embedded table stream.
- On Databricks: Auto Loader (``cloudFiles``) or ``readStream.table``, expectations as
  filters, and a native Delta streaming write (``toTable``) whose checkpoint is the
  exactly-once record.

Both run ``trigger(availableNow=True)``: ``lakesmith run`` drains what is new and stops;
``lakesmith stream`` repeats that at the pipeline's interval.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import polars as pl

from lakesmith.catalog.local import SYSTEM_SCHEMA
from lakesmith.catalog.table_ref import TableRef
from lakesmith.config import models
from lakesmith.config.streaming import FileSource, TableSource
from lakesmith.connections.resolve import path_uri
from lakesmith.errors import LakesmithError
from lakesmith.pipeline import transforms
from lakesmith.pipeline.plan import PlannedNode
from lakesmith.pipeline.story.model import BatchReport, NodeReport

from .checkpoint import Checkpoint, Offset
from .expectations import compile_sql, sql_filters
from .faults import fault
from .files import ddl

if TYPE_CHECKING:
    from lakesmith.engines.spark_engine import SparkEngine

    from .execute import StreamContext

CHECKPOINTS = "_spark_checkpoints"
ENGINE_SUFFIX = "@spark"
"""Spark numbers its batches itself: its stream id and Delta app id are apart from the
embedded engine's, so switching engines never mistakes one's batch for the other's."""


@dataclass(frozen=True)
class ReaderPlan:
    """How a file source is read: the format Spark is given, its options and schema."""

    format: str
    options: dict[str, str] = field(default_factory=dict)
    schema: str = ""


def file_reader(source: FileSource, *, auto_loader: bool, schema_location: str = "") -> ReaderPlan:
    """Spark's reader for a file source: Auto Loader (Databricks) or the plain file source.

    Raises:
        LakesmithError: the plain file source without a full schema (Spark infers none for
            streams; Auto Loader does).
    """
    from lakesmith.engines.spark_engine import _text

    options: dict[str, str] = {}
    if auto_loader:
        options["cloudFiles.format"] = source.format
        if schema_location:
            options["cloudFiles.schemaLocation"] = schema_location
        if source.schema_hints:
            options["cloudFiles.schemaHints"] = ddl(source.schema_hints).replace("`", "")
        if source.max_files_per_batch is not None:
            options["cloudFiles.maxFilesPerTrigger"] = str(source.max_files_per_batch)
    else:
        if source.schema_ is None:
            raise LakesmithError(
                f"the file source {source.files} has no schema; Spark file streams need one",
                hint="declare every column under source.schema, or run on the polars engine",
            )
        if source.max_files_per_batch is not None:
            options["maxFilesPerTrigger"] = str(source.max_files_per_batch)
    if source.format == "csv":
        options["header"] = "true"
    if source.path_glob_filter:
        options["pathGlobFilter"] = source.path_glob_filter
    options.update({str(k): _text(v) for k, v in source.options.items()})
    schema = ddl(source.schema_) if source.schema_ else ""
    return ReaderPlan("cloudFiles" if auto_loader else source.format, options, schema)


def read_stream(spark: Any, plan: ReaderPlan, uri: str) -> Any:
    reader = spark.readStream.format(plan.format).options(**plan.options)
    if plan.schema:
        reader = reader.schema(plan.schema)
    return reader.load(uri)


def checkpoint_location(engine: SparkEngine, pn: PlannedNode) -> str:
    """Spark's checkpoint of a stream, under the target catalog's ``_lakesmith`` schema: the
    warehouse folder locally, a Unity Catalog volume on Databricks."""
    stream_id = f"{pn.pipeline}.{pn.name}"
    catalog = getattr(engine.store, "catalog", None)
    if catalog is None:  # native: Unity Catalog
        return f"/Volumes/{pn.target.catalog}/{SYSTEM_SCHEMA}/checkpoints/{stream_id}"
    folder = catalog.location(TableRef(pn.target.catalog, SYSTEM_SCHEMA, CHECKPOINTS)).uri
    return f"{folder.rstrip('/')}/{stream_id}"


def drain_spark(pn: PlannedNode, ctx: StreamContext, report: NodeReport) -> bool:
    """Drain a streaming table on the spark engine; returns whether any batch ran.

    Raises:
        LakesmithError: a batch failed; Spark's checkpoint and the offsets log keep it pending.
    """
    engine = ctx.engine
    embedded = getattr(engine.store, "embedded", None)
    if embedded is None:
        return _native(pn, ctx, engine, report)
    if isinstance(pn.node.source, TableSource):  # no Delta streaming reader without the jars
        from .execute import drain

        return drain(pn, replace(ctx, engine=embedded), report)
    from .lock import exclusive, lock_folder

    stream_id = f"{pn.pipeline}.{pn.name}{ENGINE_SUFFIX}"
    with exclusive(lock_folder(embedded.catalog), stream_id):
        return _local(pn, ctx, engine, embedded, stream_id, report)


class _CurrentBatch:
    """The ``Stream`` the embedded batch reads from: the micro-batch Spark hands over."""

    def __init__(self, describe: str) -> None:
        self.rows = pl.DataFrame()
        self._describe = describe

    def describe(self) -> str:
        return self._describe

    def next_offset(self, state: Any, batch_id: int) -> Offset | None:  # Spark plans
        return None

    def read(self, offset: Offset) -> pl.DataFrame:
        return self.rows


def _source_uri(pn: PlannedNode, ctx: StreamContext) -> str:
    source = pn.node.source
    assert isinstance(source, FileSource)
    spec = models.PathInput(path=source.files, connection=source.connection)
    return path_uri(spec, ctx.connections, ctx.root)


def _local(
    pn: PlannedNode,
    ctx: StreamContext,
    engine: SparkEngine,
    embedded: Any,
    stream_id: str,
    report: NodeReport,
) -> bool:
    from .execute import Batch, app_id, finish_report, start_report

    node = pn.node
    assert isinstance(node.source, FileSource)
    uri = _source_uri(pn, ctx)
    stream = read_stream(engine.spark, file_reader(node.source, auto_loader=False), uri)
    frames = {"source": stream, **{a: ctx.read_input(s) for a, s in node.input_specs().items()}}
    transformed = transforms.apply(node, frames, engine, ctx.root)
    # the rest of the batch (expectations, auto_cdc, write) as on the embedded engine
    bare = replace(pn, node=node.model_copy(update={"transform": None, "inputs": {}}))
    current = _CurrentBatch(f"{node.source.format} files in {uri} (Spark file stream)")
    checkpoint = Checkpoint(embedded, pn.target.catalog, stream_id)
    item = start_report(pn, report, current.describe())
    batch = Batch(
        bare,
        replace(ctx, engine=embedded),
        embedded,
        current,
        checkpoint,
        report,
        app_id(pn) + ENGINE_SUFFIX,
    )
    failure: list[BaseException] = []

    def each(frame: Any, batch_id: int) -> None:
        try:
            current.rows = pl.DataFrame(frame.toArrow())
            progress = checkpoint.load()
            recovered = batch_id in progress.offsets
            if not recovered:
                checkpoint.plan(Offset(batch_id))
                fault("after_offsets", batch_id, node.name)
            elif batch_id in progress.committed:  # Spark replays a batch it did not mark done
                return
            batch.run(Offset(batch_id), recovered=recovered)
        except BaseException as exc:
            failure.append(exc)
            raise

    try:
        query = (
            transformed.writeStream.foreachBatch(each)
            .trigger(availableNow=True)
            .option("checkpointLocation", checkpoint_location(engine, pn))
            .start()
        )
        try:
            query.awaitTermination()
        except Exception:
            if failure:
                raise failure[0] from None
            raise
    finally:
        finish_report(report, item)
    assert report.streaming is not None
    return bool(report.streaming.batches)


@dataclass(frozen=True)
class NativeWrite:
    """The native Delta streaming write of one node (what ``_native`` starts)."""

    table: str
    checkpoint: str
    filters: tuple[str, ...]
    reader: ReaderPlan | None
    source_table: str | None
    change_feed: bool


def native_plan(pn: PlannedNode, engine: SparkEngine, uri: str) -> NativeWrite:
    """Everything the Databricks streaming write sets, computed without a cluster.

    Raises:
        LakesmithError: ``auto_cdc``, which Databricks runs as a Lakeflow flow.
    """
    from lakesmith.engines.spark_native import table_name

    node = pn.node
    if node.auto_cdc is not None:
        raise LakesmithError(
            f"streaming table '{node.name}' applies auto_cdc; on Databricks that is a Lakeflow "
            "flow",
            hint=f"lakesmith export lakeflow {pn.pipeline}, and deploy the pipeline",
        )
    location = checkpoint_location(engine, pn)
    reader = source_table = None
    change_feed = False
    if isinstance(node.source, FileSource):
        reader = file_reader(node.source, auto_loader=True, schema_location=f"{location}/schema")
    elif isinstance(node.source, TableSource):
        ref = TableRef.parse(node.source.table, default_catalog=engine.default_catalog)
        source_table, change_feed = table_name(ref), node.source.change_feed
    return NativeWrite(
        table=table_name(pn.target),
        checkpoint=location,
        filters=tuple(sql_filters(compile_sql(node.expectations))),
        reader=reader,
        source_table=source_table,
        change_feed=change_feed,
    )


def _native(pn: PlannedNode, ctx: StreamContext, engine: SparkEngine, report: NodeReport) -> bool:
    from .execute import finish_report, start_report

    node = pn.node
    uri = _source_uri(pn, ctx) if isinstance(node.source, FileSource) else ""
    plan = native_plan(pn, engine, uri)
    if plan.reader is not None:
        stream = read_stream(engine.spark, plan.reader, uri)
    else:
        assert plan.source_table is not None  # a streaming table has a file or table source
        reader = engine.spark.readStream
        if plan.change_feed:
            reader = reader.option("readChangeFeed", "true")
        stream = reader.table(plan.source_table)
    frames = {"source": stream, **{a: ctx.read_input(s) for a, s in node.input_specs().items()}}
    result = transforms.apply(node, frames, engine, ctx.root)
    for predicate in plan.filters:
        result = result.filter(predicate)
    item = start_report(pn, report, plan.source_table or uri)
    try:
        query = (
            result.writeStream.option("checkpointLocation", plan.checkpoint)
            .option("mergeSchema", "true")
            .trigger(availableNow=True)
            .toTable(plan.table)
        )
        query.awaitTermination()
        assert report.streaming is not None
        for progress in query.recentProgress:
            rows = int(progress["numInputRows"])
            if rows:
                report.streaming.batches.append(
                    BatchReport(batch_id=int(progress["batchId"]), rows_in=rows, rows_written=rows)
                )
    finally:
        finish_report(report, item)
    return bool(report.streaming and report.streaming.batches)
