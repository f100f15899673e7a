"""Streaming tables: file-drop-to-visible latency, throughput, and local Spark on the same input.

Runs with no arguments; inputs and tables go to benchmarks/.data/streaming/ (gitignored).
Ends with one JSON line. Targets (issue 10): latency p50 <= 0.5 s at a 1 s trigger.

- latency: the real ``lakesmith stream`` in its own process at ``--interval 1s`` and
  ``100ms``; small JSON files are dropped (written hidden, renamed) by a producer thread at
  Poisson-random times, one per interval on average and independent of the loop, and the time
  from each drop until its row is readable in the Delta table is measured by polling it.
- throughput: ``lakesmith run`` (available-now: drain everything) over many small JSON files,
  in rows/s, timed as users run it: the CLI process, its start included. The baseline, in the
  same run, is local Spark Structured Streaming on the same files: the same project on the
  spark engine (file stream, ``foreachBatch`` into Delta exactly once), and plain Structured
  Streaming into Parquet as Spark's own floor; the session is started and warmed before
  their clocks start.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import polars as pl
from rich.console import Console

from lakesmith.config.streaming import duration_seconds
from lakesmith.streaming.files import ddl
from lakesmith.testing.landing import land

DATA = Path(__file__).parent / ".data" / "streaming"
ROOT = Path(__file__).resolve().parents[1]
console = Console(stderr=True)

SCHEMA = {"id": "bigint", "name": "string", "amount": "double", "seq": "bigint"}
PIPELINE = """\
name: feed
nodes:
  - name: events
    kind: streaming_table
    source:
      files: landing
      connection: files
      format: json
      schema: {id: bigint, name: string, amount: double, seq: bigint}
      max_files_per_batch: %d
    write: {table: bronze.events}
"""
LATENCY_DROPS = 25
THROUGHPUT_FILES = 400
ROWS_PER_FILE = 250
MAX_FILES_PER_BATCH = 100


def project(name: str, max_files: int) -> Path:
    root = DATA / name
    shutil.rmtree(root, ignore_errors=True)
    (root / "pipelines").mkdir(parents=True)
    (root / "config").mkdir()
    (root / "data" / "landing").mkdir(parents=True)
    (root / "lakesmith.yaml").write_text(
        "schema_version: 1\nname: bench\ncatalog: main\nwarehouse: warehouse\n"
        "connections:\n  files: {type: local, path: data}\n"
    )
    (root / "config" / "local.yaml").write_text("{}\n")
    (root / "pipelines" / "feed.yaml").write_text(PIPELINE % max_files)
    return root


def drop(folder: Path, k: int, rows: int) -> None:
    text = "".join(
        json.dumps({"id": k * rows + i, "name": f"n{i}", "amount": i * 0.5, "seq": k}) + "\n"
        for i in range(rows)
    )
    land(folder, f"f{k:06d}.json", text)


def env() -> dict[str, str]:
    path = os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path}


def visible_rows(table: Path) -> int:
    try:
        return pl.scan_delta(str(table)).select(pl.len()).collect().item()
    except Exception:  # not created yet
        return 0


def visible_seqs(table: Path) -> set[int]:
    """The files (their ``seq``) whose rows a reader of the Delta table sees now."""
    try:
        return set(pl.scan_delta(str(table)).select("seq").unique().collect()["seq"])
    except Exception:  # not created yet
        return set()


def latency(interval: str) -> list[float]:
    """Seconds from each file's drop (write, then rename) to its row being readable in the
    Delta table, under ``lakesmith stream``.

    Files arrive as a Poisson process (one per interval on average), from a thread of their
    own: their times are independent of the loop, as real producers' are. The table is
    polled every 5 ms; a file's latency ends at the first poll that sees its row.
    """
    root = project(f"latency_{interval}", 10)
    landing, table = root / "data" / "landing", root / "warehouse" / "main" / "bronze" / "events"
    cmd = [sys.executable, "-m", "lakesmith.cli.main", "stream", "-p", str(root)]
    proc = subprocess.Popen(
        [*cmd, "--interval", interval, "--compact-every", "0"],
        env=env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    rng = random.Random(7)
    dropped: dict[int, float] = {}
    seen: dict[int, float] = {}
    try:
        drop(landing, 0, 1)  # warm-up: the table exists and the process is running
        deadline = time.monotonic() + 60
        while visible_rows(table) < 1:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"lakesmith stream did not start (exit {proc.poll()})")
            time.sleep(0.01)
        cycle = duration_seconds(interval)
        gaps = [rng.expovariate(1 / cycle) for _ in range(LATENCY_DROPS)]

        def producer() -> None:
            for k, gap in enumerate(gaps, start=1):
                time.sleep(gap)
                dropped[k] = time.perf_counter()
                drop(landing, k, 1)

        thread = threading.Thread(target=producer, daemon=True)
        thread.start()
        deadline = time.monotonic() + 60 + sum(gaps)
        while len(seen) < LATENCY_DROPS:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(
                    f"rows missing after {sum(gaps) + 60:.0f}s: {dropped.keys() - seen.keys()}"
                )
            visible = visible_seqs(table)
            now = time.perf_counter()
            for k in sorted(visible - {0} - seen.keys()):
                seen[k] = now
                console.print(f"  {interval}: drop {k}/{LATENCY_DROPS} {now - dropped[k]:.3f}s")
            time.sleep(0.005)
        thread.join()
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    return [seen[k] - dropped[k] for k in sorted(seen)]


def throughput_input() -> Path:
    """The throughput files, made once and reused (copied into each project)."""
    folder = DATA / "input" / f"{THROUGHPUT_FILES}x{ROWS_PER_FILE}"
    if not folder.is_dir():
        folder.mkdir(parents=True)
        for k in range(THROUGHPUT_FILES):
            drop(folder, k, ROWS_PER_FILE)
    return folder


def embedded_throughput(files: Path) -> float:
    root = project("throughput", MAX_FILES_PER_BATCH)
    landing = root / "data" / "landing"
    landing.rmdir()
    shutil.copytree(files, landing)
    os.sync()
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "lakesmith.cli.main", "run", "-p", str(root)],
        env=env(),
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(done.stdout[-2000:] + done.stderr[-2000:])
    rows = visible_rows(root / "warehouse" / "main" / "bronze" / "events")
    assert rows == THROUGHPUT_FILES * ROWS_PER_FILE, rows
    return elapsed


def spark_session() -> tuple[Any, float]:
    """The local session, started and warmed (first job run) before any clock starts."""
    from lakesmith.config.models import SparkSettings
    from lakesmith.runtime.spark import get_spark

    started = time.perf_counter()
    spark = get_spark(DATA / "spark_home", SparkSettings(master="local[2]")).session
    warm = DATA / "spark_warm"
    shutil.rmtree(warm, ignore_errors=True)
    spark.range(10).write.parquet(str(warm))
    return spark, time.perf_counter() - started


def lakesmith_spark_throughput(files: Path) -> float:
    """The same project on the spark engine in this process: Structured Streaming file
    source, foreachBatch into the Delta table exactly once (session already warm)."""
    from lakesmith.config import load_project
    from lakesmith.engines import default_engine
    from lakesmith.pipeline.plan import build_plan
    from lakesmith.pipeline.runner import Runner

    root = project("throughput_spark", MAX_FILES_PER_BATCH)
    landing = root / "data" / "landing"
    landing.rmdir()
    shutil.copytree(files, landing)
    cfg = load_project(root, "local")
    runner = Runner(cfg, engine=default_engine(cfg, name="spark"), save=False)
    plan = build_plan(cfg)
    os.sync()
    started = time.perf_counter()
    story = runner.run(plan)
    elapsed = time.perf_counter() - started
    if story.status != "succeeded":
        raise RuntimeError(str([n.error for n in story.nodes if n.error]))
    rows = visible_rows(root / "warehouse" / "main" / "bronze" / "events")
    assert rows == THROUGHPUT_FILES * ROWS_PER_FILE, rows
    return elapsed


def raw_spark_throughput(spark: Any, files: Path) -> float:
    """Plain Structured Streaming on the same files into Parquet: Spark's own floor."""
    out, checkpoint = DATA / "spark_out", DATA / "spark_checkpoint"
    for folder in (out, checkpoint):
        shutil.rmtree(folder, ignore_errors=True)
    started = time.perf_counter()
    query = (
        spark.readStream.schema(ddl(SCHEMA))
        .option("maxFilesPerTrigger", MAX_FILES_PER_BATCH)
        .json(str(files))
        .writeStream.trigger(availableNow=True)
        .format("parquet")
        .option("path", str(out))
        .option("checkpointLocation", str(checkpoint))
        .start()
    )
    query.awaitTermination()
    elapsed = time.perf_counter() - started
    rows = spark.read.parquet(str(out)).count()
    assert rows == THROUGHPUT_FILES * ROWS_PER_FILE, rows
    return elapsed


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def main() -> None:
    DATA.mkdir(parents=True, exist_ok=True)
    figures: dict[str, Any] = {}
    for interval in ("1s", "100ms"):
        console.print(f"[bold]latency[/] lakesmith stream --interval {interval}")
        got = latency(interval)
        figures[f"latency_p50_s_at_{interval}"] = round(statistics.median(got), 3)
        figures[f"latency_p95_s_at_{interval}"] = round(pct(got, 95), 3)
    files = throughput_input()
    rows = THROUGHPUT_FILES * ROWS_PER_FILE
    console.print(f"[bold]throughput[/] {THROUGHPUT_FILES} files x {ROWS_PER_FILE} rows")
    embedded = embedded_throughput(files)
    console.print(f"  lakesmith run: {embedded:.2f}s")
    spark, session_s = spark_session()
    spark_s = lakesmith_spark_throughput(files)
    console.print(f"  lakesmith on local Spark: {spark_s:.2f}s (+{session_s:.1f}s session)")
    raw_s = raw_spark_throughput(spark, files)
    console.print(f"  plain Structured Streaming to Parquet: {raw_s:.2f}s")
    figures.update(
        {
            "files": THROUGHPUT_FILES,
            "rows": rows,
            "embedded_seconds": round(embedded, 3),
            "embedded_rows_per_s": round(rows / embedded),
            "spark_seconds": round(spark_s, 3),
            "spark_rows_per_s": round(rows / spark_s),
            "spark_session_seconds": round(session_s, 2),
            "spark_raw_parquet_seconds": round(raw_s, 3),
            "spark_raw_parquet_rows_per_s": round(rows / raw_s),
            "embedded_vs_spark_throughput": round(spark_s / embedded, 2),
            "target_p50_at_1s_met": figures["latency_p50_s_at_1s"] <= 0.5,
        }
    )
    print(json.dumps({"benchmark": "streaming", "figures": figures}))


if __name__ == "__main__":
    main()
