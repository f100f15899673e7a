"""Merge memory: a merge whose source streams into delta-rs vs the same merge collected first.

An N-row source (default 10M) is merged on its key into an N-row Delta table; half its keys
match (updates), half are new (inserts). Both variants go through ``PolarsEngine.write``:
``collected`` hands it the source collected into memory (what merge did before it streamed),
``streamed`` hands it the lazy scan, which lakesmith reads twice (a pass over the keys for
the duplicate-key check, then the MERGE) without holding the rows. A third, ``delta_rs``, is
the floor: delta-rs merging the Parquet batches itself, without lakesmith (no key check, no
Polars plan). Each run is a fresh subprocess on its own copy of the table; its peak is that
process's ``ru_maxrss`` (``scale.self_peak``), its time covers the collect and the write.
Figures are medians of ROUNDS rounds (default 3), the variants alternating. The collected run
is the baseline: ``streamed_peak_rss_ratio`` < 1 is memory saved;
``streamed_peak_rss_over_delta_rs`` is what lakesmith adds to delta-rs's own MERGE.

Inputs (the source Parquet and the target Delta table) are built once and cached in
benchmarks/.data/merge_memory/. ``LAKESMITH_MERGE_ROWS=1000000 LAKESMITH_MERGE_ROUNDS=1`` for a
quick run.

Run: .venv/bin/python benchmarks/merge_memory.py
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import polars as pl

from pipeline_medallion import DATA, cached, log
from scale import gib, self_peak

ROWS = int(os.environ.get("LAKESMITH_MERGE_ROWS", 10_000_000))
ROUNDS = int(os.environ.get("LAKESMITH_MERGE_ROUNDS", 3))
DATA_VERSION = 1  # bump when the generator changes: the cache key includes it
FOLDER = DATA / "merge_memory"
VARIANTS = ("collected", "streamed", "delta_rs")  # the first is the baseline
TABLE = "main.bench.target"


def rows(first_id: int, n: int, version: str) -> pl.DataFrame:
    """``n`` rows with ids from ``first_id``: a key and four payload columns (~60 bytes)."""
    ids = pl.int_range(first_id, first_id + n, dtype=pl.Int64, eager=True)
    return pl.DataFrame({"id": ids}).with_columns(
        pl.format("customer-{}-{}", "id", pl.lit(version)).alias("name"),
        (pl.col("id").hash(7) % 100_000 / 100).alias("amount"),
        pl.col("id").hash(11).mod(5).cast(pl.String).alias("status"),
        pl.datetime(2024, 1, 1, time_zone="UTC").alias("updated_at"),
    )


def inputs(n: int) -> tuple[Path, Path]:
    """The source Parquet (ids n/2+1 .. 3n/2) and the target table (ids 1..n), cached."""
    key = f"v{DATA_VERSION}-{n}"
    source, _ = cached("merge_memory", "source", key, lambda: rows(n // 2 + 1, n, "new"))
    target = FOLDER / f"target-{key}"
    if not (target / "_delta_log").is_dir():
        from deltalake import write_deltalake

        clock = time.perf_counter()
        partial = target.with_name(target.name + ".tmp")
        shutil.rmtree(partial, ignore_errors=True)
        write_deltalake(partial, rows(1, n, "old").to_arrow())
        partial.replace(target)
        log(f"generated target table: {n:,} rows in {time.perf_counter() - clock:.1f}s")
    return source, target


def child(variant: str, warehouse: Path, source: Path) -> dict[str, Any]:
    """One merge in this (fresh) process; the table is already copied into ``warehouse``."""
    from lakesmith.catalog import LocalCatalog, TableRef
    from lakesmith.config.models import MergeWrite
    from lakesmith.engines.polars_engine import PolarsEngine

    engine = PolarsEngine(LocalCatalog(warehouse), default_catalog="main")
    ref = TableRef.parse(TABLE)
    spec = MergeWrite(table=TABLE, mode="merge", keys=["id"])
    clock = time.perf_counter()
    if variant == "delta_rs":
        import pyarrow.dataset as ds
        from deltalake import DeltaTable

        table = DeltaTable(engine.catalog.location(ref).uri)
        reader = ds.dataset(source).scanner().to_reader()
        merger = table.merge(reader, "t.id = s.id", source_alias="s", target_alias="t")
        metrics = merger.when_matched_update_all().when_not_matched_insert_all().execute()
        seconds = time.perf_counter() - clock
        return {"seconds": seconds, "rows": metrics["num_source_rows"], "metrics": metrics}
    scan = pl.scan_parquet(source)
    frame = scan.collect() if variant == "collected" else scan
    result = engine.write(frame, ref, spec)
    seconds = time.perf_counter() - clock
    return {"seconds": seconds, "rows": result.rows, "metrics": result.metrics}


def measured(variant: str, target: Path, source: Path) -> dict[str, Any]:
    """``variant`` in a subprocess, on a fresh copy of the target table."""
    with tempfile.TemporaryDirectory(prefix="lakesmith-merge-", dir=DATA) as tmp:
        warehouse = Path(tmp)
        shutil.copytree(target, warehouse / "main" / "bench" / "target")
        args = [sys.executable, __file__, "--child", variant, str(warehouse), str(source)]
        out = subprocess.run(args, stdout=subprocess.PIPE, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    from rich.console import Console
    from rich.progress import Progress

    FOLDER.mkdir(parents=True, exist_ok=True)
    runs: dict[str, list[dict[str, Any]]] = {v: [] for v in VARIANTS}
    half = ROWS - ROWS // 2
    with Progress(console=Console(stderr=True)) as progress:
        task = progress.add_task("inputs", total=1 + ROUNDS * len(VARIANTS))
        source, target = inputs(ROWS)
        progress.advance(task)
        for round_ in range(1, ROUNDS + 1):
            for variant in VARIANTS:  # alternating, so drift on a shared machine hits all
                progress.update(task, description=f"round {round_}: {ROWS:,} rows, {variant}")
                r = measured(variant, target, source)
                m = r["metrics"]
                done = (r["rows"], m["num_target_rows_updated"], m["num_target_rows_inserted"])
                if done != (ROWS, half, ROWS // 2):  # every variant must do the same merge
                    raise SystemExit(f"wrong merge: {r['rows']} source rows, metrics {m}")
                runs[variant].append(r)
                progress.advance(task)
                log(f"{variant:>9}: {r['seconds']:6.2f}s, peak RSS {gib(r['peak_rss_self'])} GiB")
    seconds = {v: statistics.median(r["seconds"] for r in rs) for v, rs in runs.items()}
    peak = {v: statistics.median(r["peak_rss_self"] for r in rs) for v, rs in runs.items()}
    figures: dict[str, Any] = {
        "source_rows": ROWS,
        "target_rows": ROWS,
        "matching_rows": half,
        "rounds": ROUNDS,
        "baseline": "collected",
    }
    for variant in VARIANTS:
        figures[f"{variant}_seconds"] = round(seconds[variant], 2)
        figures[f"{variant}_rows_per_s"] = round(ROWS / seconds[variant])
        figures[f"{variant}_peak_rss_gib"] = gib(int(peak[variant]))
        figures[f"{variant}_peak_rss_gib_runs"] = [gib(r["peak_rss_self"]) for r in runs[variant]]
    figures["streamed_peak_rss_ratio"] = round(peak["streamed"] / peak["collected"], 3)
    figures["streamed_rows_per_s_ratio"] = round(seconds["collected"] / seconds["streamed"], 3)
    figures["streamed_peak_rss_over_delta_rs"] = round(peak["streamed"] / peak["delta_rs"], 3)
    print(json.dumps({"benchmark": "merge_memory", "figures": figures}))


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        print(
            json.dumps({**child(sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4])), **self_peak()})
        )
    else:
        main()
