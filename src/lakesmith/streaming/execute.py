"""Drain a streaming table: plan, read, transform, check and write micro-batches exactly once.

The protocol, per batch ``b`` of stream ``<pipeline>.<node>``:

1. offsets log: ``b`` and exactly what it takes (files, or source versions) are recorded;
2. the batch is read, transformed and checked against the expectations;
3. the table write carries the Delta app transaction ``(app id, b)``; before writing,
   ``transaction_version(app id) >= b`` means the table already holds ``b``: no second write;
4. commits log: ``b`` is recorded as done.

A crash anywhere leaves ``b`` either committed in the table (found by step 3 on restart) or
not at all (Delta commits are atomic); a restart first re-runs a pending batch with the files
recorded in step 1, then plans new ones. So no row is lost and none is written twice. An
``auto_cdc`` stream that deletes commits its tombstones after step 3 with the same app
transaction (``tombstones``): a batch is in the table once its tombstones hold it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

import polars as pl

from lakesmith.catalog.table_ref import TableRef
from lakesmith.config import models
from lakesmith.config.streaming import StreamSource, TableSource
from lakesmith.connections.resolve import locate
from lakesmith.engines.polars_engine import PolarsEngine
from lakesmith.pipeline import state, transforms
from lakesmith.pipeline.plan import PlannedNode
from lakesmith.pipeline.story.model import (
    BatchReport,
    ExpectationReport,
    InputReport,
    NodeReport,
    StreamReport,
)
from lakesmith.runtime.secrets import SecretResolver

from . import cdc, expectations
from .checkpoint import Checkpoint, Offset, StreamState
from .faults import fault, node_scope
from .files import FileStream
from .lock import exclusive, lock_folder
from .tables import TableStream
from .tombstones import Tombstones, for_stream

BATCH_KEY = "lakesmith.stream.batch_id"
SOURCE_VERSION_KEY = "lakesmith.stream.source_version"


class Stream(Protocol):
    """A source that plans batches and reads them: ``FileStream`` or ``TableStream``."""

    def describe(self) -> str: ...

    def next_offset(self, state: StreamState, batch_id: int) -> Offset | None: ...

    def read(self, offset: Offset) -> pl.DataFrame: ...


@dataclass(frozen=True)
class StreamContext:
    """What a stream needs from the run: where things are, and how to read static inputs."""

    root: Path
    connections: Mapping[str, models.Connection]
    secrets: SecretResolver
    engine: Any
    run_id: str
    run_started: datetime
    read_input: Callable[[models.InputSpec], Any]


def app_id(pn: PlannedNode) -> str:
    """The stream's Delta app id: stable for a pipeline and node across runs and machines."""
    return f"lakesmith:{pn.pipeline}.{pn.name}"


def drain(pn: PlannedNode, ctx: StreamContext, report: NodeReport) -> bool:
    """Run the pending batch, then every new batch until the source has nothing new.

    Returns whether any batch ran. Fills ``report`` as it goes, so a failed batch still
    shows the batches committed before it. One process at a time per stream (``lock``).

    Raises:
        LakesmithError: a batch failed (bad file, failed expectation, refused write); its
            offsets stay recorded and the next run retries exactly that batch.
    """
    engine = ctx.engine
    if not isinstance(engine, PolarsEngine):
        from .spark import drain_spark

        return drain_spark(pn, ctx, report)
    stream_id = f"{pn.pipeline}.{pn.name}"
    with exclusive(lock_folder(engine.catalog), stream_id):
        return _drain(pn, ctx, engine, stream_id, report)


def start_report(pn: PlannedNode, report: NodeReport, source: str) -> InputReport:
    """The node report's streaming section and its one input, filled as batches commit."""
    node = pn.node
    report.streaming = StreamReport(
        expectations=[
            ExpectationReport(name=name, on_violation=e.on_violation)
            for name, e in _named(node.expectations)
        ]
    )
    item = InputReport(alias="source", source=source, rows=0)
    report.inputs = [item]
    if node.auto_cdc:
        report.mode = f"auto_cdc (scd {node.auto_cdc.stored_as_scd_type})"
    return item


def finish_report(report: NodeReport, item: InputReport) -> None:
    assert report.streaming is not None
    item.rows = sum(b.rows_in for b in report.streaming.batches)
    report.rows_in = item.rows
    report.rows_out = report.streaming.rows


def _drain(
    pn: PlannedNode, ctx: StreamContext, engine: PolarsEngine, stream_id: str, report: NodeReport
) -> bool:
    node = pn.node
    stream = stream_for(node.source, engine, ctx.root, ctx.connections, ctx.secrets)
    checkpoint = Checkpoint(engine, pn.target.catalog, stream_id)
    progress = checkpoint.load()
    item = start_report(pn, report, stream.describe())
    streaming = report.streaming
    assert streaming is not None
    batch = Batch(pn, ctx, engine, stream, checkpoint, report, app_id(pn))
    try:
        for offset in progress.pending():
            batch.run(offset, recovered=True)
        while (offset := stream.next_offset(progress, progress.next_batch_id)) is not None:
            checkpoint.plan(offset)
            progress.offsets[offset.batch_id] = offset
            fault("after_offsets", offset.batch_id, node.name)
            batch.run(offset, recovered=False)
            progress.committed.add(offset.batch_id)
    finally:  # a failed batch still reports the batches committed before it
        finish_report(report, item)
    return bool(streaming.batches)


def stream_for(
    source: StreamSource | None,
    engine: PolarsEngine,
    root: Path,
    connections: Mapping[str, models.Connection],
    secrets: SecretResolver,
) -> Stream:
    """The source of a streaming table on the embedded engine: a folder or a Delta table."""
    if isinstance(source, TableSource):
        ref = TableRef.parse(source.table, default_catalog=engine.default_catalog)
        where = engine.catalog.location(ref)
        return TableStream(source, ref, where.uri, where.storage_options)
    assert source is not None  # validation: every streaming table has a source
    where = locate(
        models.PathInput(path=source.files, connection=source.connection),
        dict(connections),
        root,
        secrets,
    )
    return FileStream(source, where.uri)


def _named(items: list[Any]) -> list[tuple[str, Any]]:
    from lakesmith.quality.rules import rule_name

    return [(rule_name(e, i), e) for i, e in enumerate(items)]


@dataclass
class Batch:
    pn: PlannedNode
    ctx: StreamContext
    engine: PolarsEngine
    stream: Stream
    checkpoint: Checkpoint
    report: NodeReport
    app: str
    """The Delta app id the table's commits carry (:func:`app_id`, per engine)."""

    def run(self, offset: Offset, *, recovered: bool) -> None:
        """One batch, steps 2-4 of the protocol (the offsets row exists already)."""
        assert self.report.streaming is not None
        out = BatchReport(
            batch_id=offset.batch_id,
            files=list(offset.files),
            source_version=offset.end_version,
            outcome="recovered" if recovered else "committed",
        )
        tombstones = self.tombstones
        # the tombstones commit after the table: holding the batch, they vouch for it too
        recorded = tombstones is not None and tombstones.recorded(offset.batch_id)
        in_table = recorded or self._already_in_table(offset.batch_id)
        if in_table:
            out.outcome = "already_in_table"
        if not in_table or (tombstones is not None and not recorded):  # something left to do
            self._write(offset, out, in_table=in_table)
            fault("after_write", offset.batch_id, self.pn.node.name)
        self.checkpoint.commit(
            offset.batch_id,
            outcome=out.outcome,
            rows_in=out.rows_in,
            rows_written=out.rows_written,
            dropped=out.dropped,
            table_version=out.version,
        )
        fault("after_commit_log", offset.batch_id, self.pn.node.name)
        self.report.streaming.batches.append(out)

    @cached_property
    def tombstones(self) -> Tombstones | None:
        """The stream's auto_cdc tombstones (None: its auto_cdc deletes nothing)."""
        return for_stream(
            self.pn.node.auto_cdc,
            self.engine.catalog,
            self.pn.target.catalog,
            self.checkpoint.stream_id,
            self.app,
        )

    def _already_in_table(self, batch_id: int) -> bool:
        """Whether the table's log holds this batch's app transaction (a crash after the
        write, before the commits log): delta-rs records the id but never checks it."""
        done = self.engine.transaction_version(self.pn.target, self.app)
        return done is not None and done >= batch_id

    def _write(self, offset: Offset, out: BatchReport, *, in_table: bool) -> None:
        """Read, transform, check and write one batch; ``in_table``: the table holds it, only
        its tombstones are left to record (a crash came in between)."""
        node, ref = self.pn.node, self.pn.target
        with node_scope(node.name):
            rows = self.stream.read(offset)
        out.rows_in = rows.height
        if rows.width == 0:  # only empty files, and no schema: no row, not even a column
            return
        frames = {"source": rows.lazy()}
        frames.update({a: self.ctx.read_input(s) for a, s in node.input_specs().items()})
        result = transforms.apply(node, frames, self.engine, self.ctx.root)
        output = result.collect() if isinstance(result, pl.LazyFrame) else result
        kept, counts = expectations.apply(node.expectations, output, ref.full_name)
        self._count(counts)
        out.dropped = output.height - kept.height
        # columns come and go between files (Auto Loader's addNewColumns): merge schemas
        spec: models.WriteSpec = node.write.model_copy(update={"schema_evolution": True})
        plan, now = None, datetime.now(UTC)
        if node.auto_cdc is not None:
            kept = cdc.stage(kept, node.auto_cdc, self.engine)
            if self.tombstones is not None:
                plan = self.tombstones.plan(kept, now)
                kept = plan.kept
            kept = cdc.for_table(kept, node.auto_cdc)
            columns = cdc.table_columns(kept)
            spec = cdc.write_spec(node.auto_cdc, node.write.table, columns)
            if isinstance(spec, models.Scd2Write):
                kept = kept.drop(cdc.DELETE_FLAG)
            elif not self.engine.table_exists(ref):  # the merge needs the table's columns
                empty = kept.head(0).select(columns)
                create = models.AppendWrite(table=ref.full_name, mode="append")
                self.engine.write(empty, ref, create, run_started=self.ctx.run_started)
        metadata = {
            state.RUN_KEY: self.ctx.run_id,
            state.NODE_KEY: node.name,
            BATCH_KEY: str(offset.batch_id),
        }
        if offset.end_version is not None:  # Delta-to-Delta progress, atomic with the data
            metadata[SOURCE_VERSION_KEY] = str(offset.end_version)
        if not in_table:
            self._commit(kept, spec, metadata, offset.batch_id, out)
        if plan is not None:
            assert self.tombstones is not None
            fault("before_tombstones", offset.batch_id, node.name)
            self.tombstones.commit(plan.tombstones, offset.batch_id, now)

    def _commit(
        self,
        kept: pl.DataFrame,
        spec: models.WriteSpec,
        metadata: dict[str, str],
        batch_id: int,
        out: BatchReport,
    ) -> None:
        """The table's write of the batch, with its app transaction."""
        ref = self.pn.target
        written = self.engine.write(
            kept,
            ref,
            spec,
            commit_metadata=metadata,
            run_started=self.ctx.run_started,
            app_transaction=(self.app, batch_id),
        )
        out.rows_written = written.rows if written.committed else 0
        out.version = written.version
        if written.committed:
            self.report.version = written.version
            self.report.schema_ = written.schema_after

    def _count(self, counts: list[ExpectationReport]) -> None:
        assert self.report.streaming is not None
        totals = {e.name: e for e in self.report.streaming.expectations}
        for count in counts:
            totals[count.name].failed += count.failed
