"""Run a generation: blocks in worker processes, one Delta commit per table at the end.

Workers write Parquet parts straight into the table folders; nothing is visible until the
commit, so a cancelled or failed job leaves the previous tables (or none) untouched.

The steps around the workers (:func:`prepare_root`, :func:`write_campaigns`,
:func:`commit_all`, :func:`discard_all`) are shared with the Spark runner (``spark.py``),
whose tasks call :func:`run_block` exactly as the worker processes do.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Literal

from lakesmith.errors import LakesmithError

from .schema import TABLE_NAMES, TABLES
from .spec import SynthSpec
from .writer import PartFile, commit_table, discard_parts, sweep_uncommitted, write_part

MANIFEST = "_synth_manifest.json"

Engine = Literal["local", "spark"]
"""What ran the blocks, recorded in the manifest."""


class SynthCancelled(LakesmithError):
    """The job was cancelled; nothing was committed and the parts written were removed."""


@dataclass(frozen=True)
class Progress:
    blocks_done: int
    blocks_total: int
    rows: dict[str, int]
    elapsed_s: float

    @property
    def fraction(self) -> float:
        return self.blocks_done / self.blocks_total if self.blocks_total else 1.0

    @property
    def eta_s(self) -> float | None:
        if not self.blocks_done:
            return None
        return self.elapsed_s / self.blocks_done * (self.blocks_total - self.blocks_done)


@dataclass(frozen=True)
class TableResult:
    """One generated table.

    ``version`` is the Delta version after the commit; None when the table's format has no
    versions (a Spark catalog table stored as plain Parquet).
    """

    name: str
    full_name: str
    location: str
    rows: int
    version: int | None


@dataclass
class SynthResult:
    """A finished generation.

    ``manifest_path`` is None when no manifest file was written: catalog tables written by
    Spark keep the seed and spec hash in their commit metadata instead.
    """

    spec: SynthSpec
    tables: dict[str, TableResult]
    seconds: float
    manifest_path: Path | None
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def total_rows(self) -> int:
        return sum(t.rows for t in self.tables.values())


@dataclass(frozen=True)
class BlockDone:
    block: int
    parts: dict[str, PartFile]
    rows: dict[str, int]


def dataset_root(spec: SynthSpec, warehouse: Path) -> Path:
    return Path(warehouse) / spec.catalog / spec.schema_


def run_block(spec_json: str, block: int, root: str) -> BlockDone:
    """One task: generate a block and write its part of every table.

    Runs in a worker process or a Spark task; the part names depend only on the block, so
    the files are the same bytes at the same paths whoever writes them.
    """
    from .generator import generate_block

    spec = spec_from_json(spec_json)
    tables = generate_block(spec, block)
    parts = {
        name: write_part(Path(root) / name, table, f"part-{block + 1:06d}.parquet")
        for name, table in tables.items()
    }
    return BlockDone(block, parts, {n: t.num_rows for n, t in tables.items()})


_SPECS: dict[str, SynthSpec] = {}


def spec_from_json(text: str) -> SynthSpec:
    """The spec a task was sent as JSON, parsed once per worker process and reused."""
    if text not in _SPECS:
        _SPECS[text] = SynthSpec.model_validate_json(text)
    return _SPECS[text]


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def generate(
    spec: SynthSpec,
    *,
    warehouse: Path | str,
    workers: int | None = None,
    progress: Callable[[Progress], None] | None = None,
    cancel: threading.Event | None = None,
) -> SynthResult:
    """Generate the dataset described by ``spec`` into ``warehouse/<catalog>/<schema>/``.

    The same spec and seed give byte-identical data files whatever ``workers`` is.

    Args:
        spec: what to generate.
        warehouse: the local warehouse root.
        workers: worker processes (1 runs in this process); default: the CPU count.
        progress: called after each block with rows done so far.
        cancel: set it to stop; the job then removes what it wrote and raises.

    Raises:
        SynthCancelled: ``cancel`` was set before the commit.
    """
    started = time.perf_counter()
    root = prepare_root(spec, Path(warehouse))
    workers = workers or default_workers()
    spec_json = spec.model_dump_json(by_alias=True)
    rows = dict.fromkeys(TABLE_NAMES, 0)
    parts: dict[str, list[PartFile]] = {name: [] for name in TABLE_NAMES}
    parts["campaigns"].append(write_campaigns(spec, root))
    rows["campaigns"] = parts["campaigns"][0].num_records

    def record(done: BlockDone, count: int | None) -> None:
        """Keep a block's parts; report progress unless it is a clean-up after a failure."""
        for name, part in done.parts.items():
            parts[name].append(part)
            rows[name] += done.rows[name]
        if progress and count is not None:
            progress(Progress(count, spec.blocks, dict(rows), time.perf_counter() - started))

    try:
        _run_blocks(spec, spec_json, root, workers, record, cancel)
    except BaseException:
        discard_all(root, parts)
        raise
    return commit_all(spec, root, parts, started=started, workers=workers, engine="local")


def prepare_root(spec: SynthSpec, warehouse: Path) -> Path:
    """Create the dataset's table folders and remove what an earlier failed run left there.

    Returns:
        The dataset root, ``warehouse/<catalog>/<schema>``.
    """
    root = dataset_root(spec, warehouse)
    for name in TABLE_NAMES:
        (root / name).mkdir(parents=True, exist_ok=True)
        sweep_uncommitted(root / name)
    return root


def write_campaigns(spec: SynthSpec, root: Path) -> PartFile:
    """Write the one part of the dataset-wide campaigns table (made by the caller, not a block)."""
    from .generator import campaigns

    return write_part(root / "campaigns", campaigns(spec).table, "part-000000.parquet")


def discard_all(root: Path, parts: Mapping[str, Sequence[PartFile]]) -> None:
    """After a failure or a cancel: delete every uncommitted part, listed or not.

    The sweep also catches parts whose writer died before reporting them.
    """
    for name in TABLE_NAMES:
        discard_parts(root / name, parts.get(name, ()))
        sweep_uncommitted(root / name)


def commit_all(
    spec: SynthSpec,
    root: Path,
    parts: Mapping[str, Sequence[PartFile]],
    *,
    started: float,
    workers: int,
    engine: Engine,
) -> SynthResult:
    """Commit each table once with all its parts, then write the manifest.

    Parts are committed in path order, so the table's file list does not depend on which
    worker finished first. If a commit fails, the parts no commit took are deleted.

    Args:
        spec: the generated spec.
        root: the dataset root (see :func:`prepare_root`).
        parts: every table's parts.
        started: ``time.perf_counter()`` when the job started.
        workers: how many workers (processes or Spark partitions) ran the blocks.
        engine: what ran them, for the manifest.
    """
    metadata = {
        "lakesmith.synth.seed": str(spec.seed),
        "lakesmith.synth.spec_hash": spec.spec_hash(),
    }
    results: dict[str, TableResult] = {}
    try:
        for name in TABLE_NAMES:
            ordered = sorted(parts.get(name, ()), key=lambda p: p.path)
            version = commit_table(root / name, TABLES[name].schema, ordered, metadata=metadata)
            results[name] = TableResult(
                name=name,
                full_name=f"{spec.catalog}.{spec.schema_}.{name}",
                location=str(root / name),
                rows=sum(p.num_records for p in ordered),
                version=version,
            )
    except BaseException:
        discard_all(root, parts)
        raise
    seconds = time.perf_counter() - started
    manifest = build_manifest(spec, results, seconds, workers=workers, engine=engine)
    manifest_path = root / MANIFEST
    temp = root / f".{MANIFEST}.tmp"  # a kill mid-write must not leave half a manifest
    temp.write_text(json.dumps(manifest, indent=2))
    temp.replace(manifest_path)
    return SynthResult(spec, results, seconds, manifest_path, manifest)


def _run_blocks(
    spec: SynthSpec,
    spec_json: str,
    root: Path,
    workers: int,
    record: Callable[[BlockDone, int | None], None],
    cancel: threading.Event | None,
) -> None:
    def check() -> None:
        if cancel is not None and cancel.is_set():
            raise SynthCancelled("generation cancelled; no table was changed")

    if workers == 1:
        for block in range(spec.blocks):
            check()
            record(run_block(spec_json, block, str(root)), block + 1)
        check()
        return
    # forkserver: workers fork from a clean single-threaded server that has the generator
    # imported, so they start in milliseconds without inheriting this process's threads.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["lakesmith.synth.generator", "lakesmith.synth.writer"])
    lifeline, keep_alive = context.Pipe(duplex=False)
    with (
        contextlib.closing(lifeline),
        contextlib.closing(keep_alive),
        ProcessPoolExecutor(
            max_workers=workers,
            mp_context=context,
            initializer=_exit_with_parent,
            initargs=(lifeline,),
        ) as pool,
    ):
        pending: set[Future[BlockDone]] = set()
        next_block, done_count = 0, 0
        try:
            while next_block < spec.blocks or pending:
                check()
                while next_block < spec.blocks and len(pending) < 2 * workers:
                    pending.add(pool.submit(run_block, spec_json, next_block, str(root)))
                    next_block += 1
                finished, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                for future in finished:
                    done_count += 1
                    record(future.result(), done_count)
            check()
        except BaseException as exc:
            for future in pending:
                future.cancel()
            if isinstance(exc, SynthCancelled):
                _stop_workers(pool)  # a cancel returns in ~1 s, not after the running blocks
                raise
            for future in pending:  # let running blocks finish so their parts can be removed
                if not future.cancelled():
                    with contextlib.suppress(Exception):  # a failed block left nothing
                        record(future.result(), None)
            raise


def _exit_with_parent(lifeline: Connection) -> None:
    """Worker initializer: exit as soon as the job's process is gone, even by ``kill -9``.

    Pool workers otherwise outlive a killed parent (they hold their own task queue open, so
    they never see it close) and keep writing parts into the table folders under the feet of
    the next run. Only the parent holds the pipe's writing end: its death is EOF here.
    """

    def watch() -> None:
        with contextlib.suppress(EOFError, OSError):
            lifeline.recv()
        os._exit(1)

    threading.Thread(target=watch, name="lakesmith-lifeline", daemon=True).start()


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Terminate the pool's workers mid-block and wait until they are gone.

    What they were writing is unlisted or a temporary file; the caller's sweep
    (:func:`discard_all`) removes both, which is safe only once no worker is left to write.
    """
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(10)
    pool.shutdown(wait=True, cancel_futures=True)


def build_manifest(
    spec: SynthSpec,
    tables: Mapping[str, TableResult],
    seconds: float,
    *,
    workers: int,
    engine: Engine,
) -> dict[str, Any]:
    """What was generated, how, and with which versions: enough to regenerate the same bytes."""
    from lakesmith.versions import package_versions

    return {
        "dataset": f"{spec.catalog}.{spec.schema_}",
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "seed": spec.seed,
        "spec_hash": spec.spec_hash(),
        "households": spec.households,
        "block_households": spec.block_households,
        "blocks": spec.blocks,
        "engine": engine,
        "workers": workers,
        "seconds": round(seconds, 3),
        "versions": package_versions(),
        "tables": {
            name: {"full_name": t.full_name, "rows": t.rows, "delta_version": t.version}
            for name, t in tables.items()
        },
        "spec": spec.model_dump(mode="json", by_alias=True),
    }
