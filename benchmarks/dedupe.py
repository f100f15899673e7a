"""One row per key: ``lakesmith.dedupe.one_per_key`` against narwhals' own ways, by memory.

On the medallion benchmark's orders (pipeline_medallion.py's generator, cached in
benchmarks/.data/; 2 % of rows are exact copies), each way of keeping one row per
``order_id`` runs as a narwhals transform over a Polars scan, sunk to Parquet, in a fresh
process whose peak RSS it reports:

- any row per key: narwhals ``unique(keep="any")`` and the order-safe window
  ``is_first_distinct().over(order_by=...)`` (the baselines) against ``one_per_key``;
- the latest row per key by ``ordered_at``: ``unique(keep="last", order_by=...)`` (the
  baseline) against ``one_per_key(latest_by=...)``.

Each way's answer is checked to be the same rows (count and an order-free hash of them).
Size: ``LAKESMITH_DEDUPE_ORDERS`` (default 20M; at 50M the latest-row baseline needs ~17 GiB).

Run: .venv/bin/python benchmarks/dedupe.py
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import narwhals as nw
import polars as pl

from lakesmith.dedupe import one_per_key
from pipeline_medallion import DATA_VERSION, N_CUSTOMERS, SEED, cached, log, make_orders

ORDERS = int(os.environ.get("LAKESMITH_DEDUPE_ORDERS", 20_000_000))
KEY, LATEST = "order_id", "ordered_at"

WAYS: dict[str, Callable[[nw.LazyFrame[Any]], nw.LazyFrame[Any]]] = {
    "any_unique": lambda f: f.unique([KEY], keep="any"),
    "any_window": lambda f: f.filter(nw.col(KEY).is_first_distinct().over(order_by=KEY)),
    "any_one_per_key": lambda f: one_per_key(f, KEY),
    "latest_unique": lambda f: f.unique([KEY], keep="last", order_by=[LATEST]),
    "latest_one_per_key": lambda f: one_per_key(f, KEY, latest_by=LATEST),
}
BASELINES = {
    "any_one_per_key": ("any_unique", "any_window"),
    "latest_one_per_key": ("latest_unique",),
}


def run_one(way: str, orders: str, out: str) -> None:
    """In the child: one way, sunk to ``out``; prints seconds, peak RSS and the answer's hash."""
    clock = time.perf_counter()
    result = WAYS[way](nw.from_native(pl.scan_parquet(orders)))
    nw.to_native(result).sink_parquet(out)
    seconds = time.perf_counter() - clock
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    answer = pl.scan_parquet(out).select(
        pl.len().alias("rows"), pl.struct(pl.all()).hash(seed=1).sum().alias("hash")
    )
    rows, digest = answer.collect().row(0)
    print(json.dumps({"seconds": seconds, "peak": peak, "rows": rows, "hash": digest}))


def main() -> None:
    orders, _ = cached(
        "medallion",
        "orders",
        f"v{DATA_VERSION}-s{SEED}-{ORDERS}",
        lambda: make_orders(ORDERS, N_CUSTOMERS),
    )
    measured: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for way in WAYS:
            out = str(Path(tmp) / f"{way}.parquet")
            child = subprocess.run(
                [sys.executable, __file__, way, str(orders), out],
                capture_output=True,
                text=True,
                check=True,
            )
            measured[way] = json.loads(child.stdout.strip().splitlines()[-1])
            m = measured[way]
            log(f"  {way:20s} {m['seconds']:6.2f}s  peak {m['peak'] / 1024**3:5.2f} GiB")
    for way, baselines in BASELINES.items():
        for baseline in baselines:
            same = {k: measured[baseline][k] for k in ("rows", "hash")}
            assert {k: measured[way][k] for k in same} == same, f"{way} != {baseline}"
    figures: dict[str, Any] = {"orders": ORDERS}
    for way, m in measured.items():
        figures[f"{way}_s"] = round(m["seconds"], 2)
        figures[f"{way}_peak_gib"] = round(m["peak"] / 1024**3, 2)
        figures[f"{way}_rows_per_s"] = round(ORDERS / m["seconds"])
    for way, baselines in BASELINES.items():
        for baseline in baselines:
            figures[f"{baseline}_over_{way}_peak"] = round(
                measured[baseline]["peak"] / measured[way]["peak"], 2
            )
            figures[f"{baseline}_over_{way}_s"] = round(
                measured[baseline]["seconds"] / measured[way]["seconds"], 2
            )
    print(json.dumps({"benchmark": "dedupe", "figures": figures}))


if __name__ == "__main__":
    if len(sys.argv) == 4:
        run_one(*sys.argv[1:])
    else:
        main()
