"""The Foundation benchmark's 5M-row medallion on the embedded engine and on local Spark.

The same project (bronze Parquet -> narwhals clean + join -> silver Delta -> Databricks SQL
aggregate -> gold Delta) runs through the runner with ``engine: polars`` and with
``engine: spark`` in the same process, alternating, ROUNDS times each; medians count. Spark
starts once before timing (its start-up is reported on its own). Gold must be equal on both
engines and silver must hold the same rows, or the benchmark fails.

Input is pipeline_medallion.py's cached data (benchmarks/.data/). Prints progress on stderr and
ONE line of JSON on stdout.

Run: .venv/bin/python benchmarks/engines.py
"""

from __future__ import annotations

import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

from pipeline_medallion import (  # the same data and project, from this folder
    DATA_VERSION,
    GOLD_KEYS,
    N_CUSTOMERS,
    N_ORDERS,
    SEED,
    cached,
    log,
    make_customers,
    make_orders,
    run_lakesmith,
    write_project,
)

ROUNDS = 3
ENGINES = ("polars", "spark")


def tables(warehouse: Path) -> tuple[pl.DataFrame, int]:
    gold = pl.read_delta(str(warehouse / "bench" / "gold" / "revenue_by_month"))
    silver = pl.scan_delta(str(warehouse / "bench" / "silver" / "orders_enriched"))
    return gold.sort(GOLD_KEYS), silver.select(pl.len()).collect().item()


def main() -> None:
    from lakesmith.config.models import SparkSettings
    from lakesmith.runtime.spark import get_spark

    log(f"engines: {N_ORDERS:,} orders, {N_CUSTOMERS:,} customers, {ROUNDS} rounds per engine")
    key = f"v{DATA_VERSION}-s{SEED}"
    orders, _ = cached(
        "medallion", "orders", f"{key}-{N_ORDERS}", lambda: make_orders(N_ORDERS, N_CUSTOMERS)
    )
    customers, _ = cached(
        "medallion", "customers", f"{key}-{N_CUSTOMERS}", lambda: make_customers(N_CUSTOMERS)
    )
    times: dict[str, list[float]] = {engine: [] for engine in ENGINES}
    results: dict[str, tuple[pl.DataFrame, int]] = {}
    with tempfile.TemporaryDirectory(prefix="lakesmith-engines-") as tmp_name:
        tmp = Path(tmp_name)
        projects = {engine: tmp / engine for engine in ENGINES}
        warehouses = {e: write_project(root, orders, customers) for e, root in projects.items()}
        clock = time.perf_counter()
        get_spark(projects["spark"], SparkSettings())
        session_s = time.perf_counter() - clock
        log(f"  spark session: {session_s:.1f}s")
        # the first Spark run loads classes and compiles: reported, not timed with the rest
        warm = run_lakesmith(projects["spark"], "gold_revenue", "spark")[0]
        log(f"  spark warm-up run: {warm:.1f}s")
        for round_no in range(ROUNDS):
            order = ENGINES if round_no % 2 == 0 else ENGINES[::-1]
            for engine in order:
                shutil.rmtree(warehouses[engine], ignore_errors=True)
                seconds = run_lakesmith(projects[engine], "gold_revenue", engine)[0]
                times[engine].append(seconds)
                log(f"  round {round_no + 1}: {engine:7s} {seconds:6.2f}s")
        for engine in ENGINES:
            results[engine] = tables(warehouses[engine])
    gold_p, silver_p = results["polars"]
    gold_s, silver_s = results["spark"]
    assert silver_p == silver_s, f"silver rows differ: {silver_p} vs {silver_s}"
    assert_frame_equal(gold_s.select(gold_p.columns), gold_p, check_dtypes=False)
    medians = {engine: statistics.median(times[engine]) for engine in ENGINES}
    figures = {
        "orders_rows": N_ORDERS,
        "silver_rows": silver_p,
        "gold_rows": gold_p.height,
        "embedded_seconds": round(medians["polars"], 3),
        "spark_seconds": round(medians["spark"], 3),
        "spark_over_embedded": round(medians["spark"] / medians["polars"], 2),
        "embedded_rows_per_s": round(N_ORDERS / medians["polars"]),
        "spark_rows_per_s": round(N_ORDERS / medians["spark"]),
        "spark_session_start_s": round(session_s, 2),
        "spark_first_run_s": round(warm, 2),
        "runs": {engine: [round(t, 2) for t in ts] for engine, ts in times.items()},
        "tables_equal": True,
    }
    print(json.dumps({"benchmark": "engines", "figures": figures}))


if __name__ == "__main__":
    main()
