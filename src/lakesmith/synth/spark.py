"""The synthetic generator on Spark: the same block function, run in ``mapInArrow`` tasks.

The target decides how the data lands:

* **A warehouse folder** (``warehouse=``; local Spark, or a cluster whose executors see the
  folder): each task runs :func:`~lakesmith.synth.job.run_block` exactly as a local worker
  process does, writing Parquet parts straight into the Delta table folders, and returns one
  small row per part. The driver checks that every block came back once, commits each table
  once and writes the manifest. The files are byte-identical to ``generate()``'s.
* **Catalog tables** (no warehouse; Databricks and Unity Catalog, where executors cannot write
  into managed tables): each block is generated once, its tables serialized as Arrow IPC
  chunks into a scratch table partitioned by table name; then, per table, a ``mapInArrow``
  decodes that table's chunks and ``saveAsTable`` replaces ``catalog.schema.table``. Same
  rows and values as ``generate()``; the files are Spark's own.

Only DataFrame APIs are used (``spark.range``, ``mapInArrow``, ``saveAsTable``, job tags),
never ``.rdd`` or ``sparkContext``, so the code also runs on Spark Connect and serverless.
Task functions are module-level and get only the spec as JSON, so executors import them.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from lakesmith.errors import LakesmithError, MissingDependency

from .job import (
    Progress,
    SynthCancelled,
    SynthResult,
    TableResult,
    build_manifest,
    commit_all,
    discard_all,
    prepare_root,
    run_block,
    spec_from_json,
    write_campaigns,
)
from .schema import TABLE_NAMES, TABLES
from .spec import SynthSpec
from .writer import PartFile, discard_parts

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

PART_ROW = pa.schema(
    [
        ("block", pa.int64()),
        ("table", pa.string()),
        ("path", pa.string()),
        ("size", pa.int64()),
        ("num_records", pa.int64()),
        ("stats", pa.string()),
    ]
)
"""What a warehouse-mode task returns per written part: a :class:`PartFile` and its block."""

STAGE_ROW = pa.schema(
    [
        ("block", pa.int64()),
        ("name", pa.string()),
        ("chunk", pa.int32()),
        ("rows", pa.int64()),
        ("ipc", pa.binary()),
    ]
)
"""What a catalog-mode task stages per table and block: Arrow IPC chunks of the rows."""

STAGE_CHUNK_ROWS = 1 << 16
"""Rows per staged IPC value: a few MB, so no Spark row holds a whole block's table."""

_IPC = pa.ipc.IpcWriteOptions(compression="lz4")
_TOKEN_PREFIX = ".synth-run-"
_CANCELLED = "generation cancelled; no table was changed"
_POLL_S = 0.1


def generate_spark(
    spec: SynthSpec,
    spark: SparkSession,
    *,
    warehouse: Path | str | None = None,
    partitions: int | None = None,
    progress: Callable[[Progress], None] | None = None,
    cancel: threading.Event | None = None,
) -> SynthResult:
    """Generate the dataset described by ``spec`` with Spark.

    With ``warehouse``, the tables land in ``warehouse/<catalog>/<schema>/`` as Delta tables
    byte-identical to :func:`~lakesmith.synth.job.generate` output; the executors must see
    that folder (local mode, or a mounted volume). Without it, they land in the Spark catalog
    as ``<catalog>.<schema>.<table>`` (the spec's catalog and schema); each table's
    replacement is atomic, the set of ten is not.

    Spark shows task progress in its UI; ``progress`` is called once, when every block is
    generated (the driver hears from the tasks only when the job ends).

    Args:
        spec: what to generate; its catalog and schema name the target.
        spark: the session (classic or Spark Connect).
        warehouse: a local warehouse root; None writes catalog tables instead.
        partitions: Spark tasks for the blocks; default one per block, which balances best.
        progress: called when the blocks are done.
        cancel: set it to stop; tasks stop after their block and the parts written are
            removed (warehouse mode), or the running jobs are interrupted (catalog mode; on
            classic Spark every job of the session), and :class:`SynthCancelled` is raised.

    Returns:
        The tables, row counts and manifest, as :func:`~lakesmith.synth.job.generate` returns.

    Raises:
        SynthCancelled: ``cancel`` was set before the commit.
        MissingDependency: pyspark is not installed.
        LakesmithError: Spark returned a block's parts more or less than once.

    Examples:
        >>> from lakesmith.config.models import SparkSettings
        >>> from lakesmith.runtime.spark import get_spark
        >>> spark = get_spark(Path("."), SparkSettings()).session  # doctest: +SKIP
        >>> spec = SynthSpec(households=2_000, block_households=1_000)
        >>> generate_spark(spec, spark, warehouse="/tmp/wh").tables["households"].rows
        ... # doctest: +SKIP
        2000
    """
    _require_pyspark()
    if partitions is not None and partitions < 1:
        raise ValueError(f"partitions must be at least 1, got {partitions}")
    count = min(partitions or spec.blocks, spec.blocks)
    if warehouse is not None:  # absolute: Python workers do not share the driver's cwd
        return _generate_files(spec, spark, Path(warehouse).resolve(), count, progress, cancel)
    return _generate_tables(spec, spark, count, progress, cancel)


# --- warehouse mode: tasks write the Delta parts, the driver commits --------------------------


def _generate_files(
    spec: SynthSpec,
    spark: SparkSession,
    warehouse: Path,
    partitions: int,
    progress: Callable[[Progress], None] | None,
    cancel: threading.Event | None,
) -> SynthResult:
    """Warehouse mode: the local job's steps, with Spark tasks in place of worker processes.

    A run token file in the dataset root fences the tasks: a task writes a block only while
    the token exists and deletes its own parts if the token vanished meanwhile. The driver
    deletes the token on a cancel (tasks stop after their current block) and before cleaning
    up after a failure, so a task Spark has not stopped yet cannot leave parts behind.
    """
    from pyspark.sql.pandas.types import from_arrow_schema

    started = time.perf_counter()
    root = prepare_root(spec, warehouse)
    for stale in root.glob(f"{_TOKEN_PREFIX}*"):
        stale.unlink(missing_ok=True)
    token = root / f"{_TOKEN_PREFIX}{uuid.uuid4().hex}"
    token.touch()
    parts: dict[str, list[PartFile]] = {name: [] for name in TABLE_NAMES}
    task = partial(
        _write_blocks,
        spec_json=spec.model_dump_json(by_alias=True),
        root=str(root),
        token=str(token),
    )
    try:
        parts["campaigns"].append(write_campaigns(spec, root))
        frame = _blocks(spark, spec, partitions).mapInArrow(task, from_arrow_schema(PART_ROW))
        with _on_cancel(cancel, lambda: token.unlink(missing_ok=True)):
            collected = frame.toArrow()
        _check(cancel)
        for part in _collected_parts(collected, spec.blocks):
            parts[part.table].append(part)
        rows = {name: sum(p.num_records for p in written) for name, written in parts.items()}
        _report(progress, spec, rows, started)
        _check(cancel)
    except BaseException as exc:
        # the token goes first, so tasks Spark has not stopped yet remove their own parts
        token.unlink(missing_ok=True)
        discard_all(root, parts)
        _raise_cancelled(exc, cancel, _CANCELLED)
        raise
    finally:
        token.unlink(missing_ok=True)
    return commit_all(spec, root, parts, started=started, workers=partitions, engine="spark")


def _write_blocks(
    batches: Iterable[pa.RecordBatch], *, spec_json: str, root: str, token: str
) -> Iterator[pa.RecordBatch]:
    """Spark task: write each block's parts as a local worker would; one row per part.

    Stops without error once the run token is gone (a cancel or a failed job): the driver
    then finds blocks missing and never commits this output.
    """
    live = Path(token)
    for batch in batches:
        for block in batch.column("id").to_pylist():
            if not live.exists():
                return
            done = run_block(spec_json, block, root)
            if not live.exists():
                for name, part in done.parts.items():
                    discard_parts(Path(root) / name, [part])
                return
            written = list(done.parts.values())
            yield pa.RecordBatch.from_pydict(
                {
                    "block": [block] * len(written),
                    "table": [p.table for p in written],
                    "path": [p.path for p in written],
                    "size": [p.size for p in written],
                    "num_records": [p.num_records for p in written],
                    "stats": [p.stats for p in written],
                },
                schema=PART_ROW,
            )


def _collected_parts(rows: pa.Table, blocks: int) -> list[PartFile]:
    """The parts the tasks reported, after checking each block reported every table once."""
    per_block = Counter(rows.column("block").to_pylist())
    expected = len(TABLE_NAMES) - 1  # campaigns are written by the driver
    wrong = [b for b in range(blocks) if per_block.get(b, 0) != expected]
    if wrong or len(per_block) != blocks:
        shown = ", ".join(map(str, wrong[:10])) + (" ..." if len(wrong) > 10 else "")
        hint = "run again; if it repeats, turn off speculative execution for this job"
        if not per_block:
            hint = (
                "no task wrote anything: the executors must see the warehouse folder (local "
                "Spark, or a volume mounted on every node); otherwise generate without a "
                "warehouse into catalog tables"
            )
        raise LakesmithError(
            f"Spark returned the parts of {len(wrong)} of {blocks} block(s) incompletely "
            f"or more than once (blocks {shown or 'out of range'}); nothing was committed.",
            hint=hint,
        )
    return [
        PartFile(r["table"], r["path"], r["size"], r["num_records"], r["stats"])
        for r in rows.to_pylist()
    ]


# --- catalog mode: generate once into a stage, then one replace per table ---------------------


def _generate_tables(
    spec: SynthSpec,
    spark: SparkSession,
    partitions: int,
    progress: Callable[[Progress], None] | None,
    cancel: threading.Event | None,
) -> SynthResult:
    """Catalog mode: stage every block once as Arrow IPC, then decode and save each table.

    The stage is a real table rather than ``persist()``: serverless compute has no cache, and
    a table also survives a lost executor. It is partitioned by table name, so each table's
    pass reads only its own chunks, and it is dropped at the end whatever happens.
    """
    from pyspark.sql.pandas.types import from_arrow_schema

    started = time.perf_counter()
    target = f"`{spec.catalog}`.`{spec.schema_}`"
    stage = f"{target}.`_lakesmith_synth_stage_{uuid.uuid4().hex[:12]}`"
    tag = f"lakesmith-synth-{uuid.uuid4().hex}"
    metadata = json.dumps(
        {"lakesmith.synth.seed": str(spec.seed), "lakesmith.synth.spec_hash": spec.spec_hash()}
    )
    task = partial(_encode_blocks, spec_json=spec.model_dump_json(by_alias=True))
    results: dict[str, TableResult] = {}
    spark.addTag(tag)
    try:
        with _on_cancel(cancel, lambda: _interrupt(spark, tag)):
            if not spark.catalog.databaseExists(f"{spec.catalog}.{spec.schema_}"):
                spark.sql(f"CREATE SCHEMA IF NOT EXISTS {target}")
            encoded = _blocks(spark, spec, partitions).mapInArrow(
                task, from_arrow_schema(STAGE_ROW)
            )
            encoded.write.partitionBy("name").saveAsTable(stage)
            _check(cancel)
            rows = _staged_rows(spark.table(stage), spec.blocks)
            _report(progress, spec, rows, started)
            _check(cancel)
            for name in TABLE_NAMES:
                full_name = f"{target}.`{name}`"
                _save_table(spark, stage, full_name, name, metadata)
                results[name] = TableResult(
                    name=name,
                    full_name=f"{spec.catalog}.{spec.schema_}.{name}",
                    location=full_name,
                    rows=rows[name],
                    version=_table_version(spark, full_name),
                )
                _check(cancel)
    except BaseException as exc:
        with contextlib.suppress(Exception):  # the error that stopped the job matters more
            spark.sql(f"DROP TABLE IF EXISTS {stage}")
        replaced = ", ".join(results)
        _raise_cancelled(
            exc,
            cancel,
            f"generation cancelled after replacing {replaced}; the other tables are unchanged"
            if results
            else _CANCELLED,
        )
        raise
    finally:
        spark.removeTag(tag)
    spark.sql(f"DROP TABLE IF EXISTS {stage}")
    seconds = time.perf_counter() - started
    manifest = build_manifest(spec, results, seconds, workers=partitions, engine="spark")
    return SynthResult(spec, results, seconds, None, manifest)


def _save_table(spark: SparkSession, stage: str, full_name: str, name: str, metadata: str) -> None:
    """Decode one table's staged chunks and replace the catalog table with them.

    One table after the other, in the calling thread: classic Spark can only interrupt jobs
    started by threads that carry the session's properties, which pool threads do not.
    """
    from pyspark.sql import functions as F
    from pyspark.sql.pandas.types import from_arrow_schema

    (
        spark.table(stage)
        .where(F.col("name") == name)
        .select("ipc")
        .mapInArrow(partial(_decode_chunks, table=name), from_arrow_schema(TABLES[name].schema))
        .write.mode("overwrite")
        .option("overwriteSchema", "true")  # Delta: a changed spec may change column types
        .option("userMetadata", metadata)  # Delta: the seed and spec hash in the history
        .saveAsTable(full_name)
    )


def _encode_blocks(
    batches: Iterable[pa.RecordBatch], *, spec_json: str
) -> Iterator[pa.RecordBatch]:
    """Spark task: generate each block once; its tables as IPC chunks, one stage row each.

    The task of block 0 also stages the campaigns table, so every table takes the same path.
    Every (block, table) gets at least one chunk, even without rows, so the driver can count
    blocks per table.
    """
    from .generator import campaigns, generate_block

    spec = spec_from_json(spec_json)
    for batch in batches:
        for block in batch.column("id").to_pylist():
            tables = generate_block(spec, block)
            if block == 0:
                tables = {"campaigns": campaigns(spec).table, **tables}
            for name, table in tables.items():
                yield _encode(block, name, table)


def _encode(block: int, name: str, table: pa.Table) -> pa.RecordBatch:
    payloads: list[bytes] = []
    counts: list[int] = []
    for offset in range(0, max(table.num_rows, 1), STAGE_CHUNK_ROWS):
        piece = table.slice(offset, STAGE_CHUNK_ROWS)
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, piece.schema, options=_IPC) as writer:
            writer.write_table(piece)
        payloads.append(sink.getvalue().to_pybytes())
        counts.append(piece.num_rows)
    return pa.RecordBatch.from_pydict(
        {
            "block": [block] * len(payloads),
            "name": [name] * len(payloads),
            "chunk": list(range(len(payloads))),
            "rows": counts,
            "ipc": payloads,
        },
        schema=STAGE_ROW,
    )


def _decode_chunks(batches: Iterable[pa.RecordBatch], *, table: str) -> Iterator[pa.RecordBatch]:
    """Spark task: one table's staged chunks back to rows in its schema.

    The generator keeps low-cardinality strings dictionary-encoded; the cast makes them plain
    strings, the type declared to Spark.
    """
    schema = TABLES[table].schema
    for batch in batches:
        payloads = batch.column("ipc")
        for i in range(len(payloads)):
            with pa.ipc.open_stream(payloads[i].as_buffer()) as reader:
                for chunk in reader:
                    yield chunk.cast(schema)


def _staged_rows(stage: DataFrame, blocks: int) -> dict[str, int]:
    """Rows per table in the stage, after checking every table has every block once.

    The index (no payloads; a few rows per block and table) comes to the driver: cheaper than
    a distributed aggregate even at 100M households.
    """
    index = stage.select("block", "name", "chunk", "rows").toArrow().to_pylist()
    copies = Counter((r["block"], r["name"], r["chunk"]) for r in index)
    found: dict[str, set[int]] = {name: set() for name in TABLE_NAMES}
    rows = dict.fromkeys(TABLE_NAMES, 0)
    for r in index:
        found.setdefault(r["name"], set()).add(r["block"])
        rows[r["name"]] = rows.get(r["name"], 0) + r["rows"]
    duplicated = {name for (_, name, _), n in copies.items() if n > 1}
    wrong = sorted(
        name
        for name, got in found.items()
        if name in duplicated or got != ({0} if name == "campaigns" else set(range(blocks)))
    )
    if wrong:
        raise LakesmithError(
            f"the Spark stage is missing or duplicates blocks of {', '.join(wrong)}; "
            "no table was replaced.",
            hint="run again; if it repeats, turn off speculative execution for this job",
        )
    return rows


def _table_version(spark: SparkSession, name: str) -> int | None:
    """The Delta version of a catalog table; None for formats without history (Parquet)."""
    from pyspark.errors import PySparkException

    try:
        row = spark.sql(f"DESCRIBE HISTORY {name} LIMIT 1").first()
    except PySparkException:
        return None
    return None if row is None else int(row["version"])


# --- shared ----------------------------------------------------------------------------------


def _blocks(spark: SparkSession, spec: SynthSpec, partitions: int) -> DataFrame:
    """Block numbers 0..blocks-1 as column ``id``, in contiguous ranges per partition."""
    return spark.range(0, spec.blocks, 1, partitions)


@contextmanager
def _on_cancel(
    cancel: threading.Event | None, action: Callable[[], object]
) -> Generator[None, None, None]:
    """Run ``action`` while the body runs once ``cancel`` is set, every poll until it ends.

    The caller's thread is inside a blocking Spark call, so a small watcher thread polls.
    The action repeats because an interrupt reaches only jobs already submitted: a job the
    body starts a moment later (the driver may still be planning it) needs another one.
    """
    if cancel is None:
        yield
        return
    finished = threading.Event()

    def watch() -> None:
        while not finished.wait(_POLL_S):
            if cancel.is_set():
                action()

    watcher = threading.Thread(target=watch, name="lakesmith-synth-cancel", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        finished.set()
        watcher.join()


def _interrupt(spark: SparkSession, tag: str) -> None:
    """Stop the jobs of a catalog-mode generation from the cancel watcher's thread.

    Spark Connect interrupts by tag from any thread. Classic Spark maps a tag to its job tag
    per thread, so ``interruptTag`` from another thread finds nothing; there only
    ``interruptAll`` (every running job of this session) reaches the generation's jobs, and
    only if the calling thread carries the session's properties (it started the session, or
    is a ``pyspark.InheritableThread``). Otherwise the cancel lands when the running step ends.
    """
    if type(spark).__module__.startswith("pyspark.sql.connect"):
        spark.interruptTag(tag)
    else:
        spark.interruptAll()


def _check(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise SynthCancelled(_CANCELLED)


def _raise_cancelled(exc: BaseException, cancel: threading.Event | None, message: str) -> None:
    """After a cancel, report whatever stopped the job as one :class:`SynthCancelled`.

    Spark's interrupt error and our own checks alike become the same error, whose message
    says what the cancel left changed.
    """
    if cancel is not None and cancel.is_set():
        raise SynthCancelled(message) from (None if isinstance(exc, SynthCancelled) else exc)


def _report(
    progress: Callable[[Progress], None] | None,
    spec: SynthSpec,
    rows: Mapping[str, int],
    started: float,
) -> None:
    if progress is not None:
        progress(Progress(spec.blocks, spec.blocks, dict(rows), time.perf_counter() - started))


def _require_pyspark() -> None:
    try:
        import pyspark  # noqa: F401
    except ImportError as exc:
        raise MissingDependency("The Spark synthetic generator", "spark") from exc
