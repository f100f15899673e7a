"""SQL filters pushed into the scans: a SQL node over a partitioned Delta table.

A SQL node on the embedded engine reads its tables through Polars scans that feed DuckDB
(``lakesmith.engines.duckdb_sql``). Its simple WHERE predicates are pushed into those scans
(``lakesmith.engines.sql_reads``), so Polars skips the partitions, files and row groups the
filter excludes by their statistics. Measured on a Delta table of ``ROWS`` orders in
``DAYS`` daily partitions (made once, cached in benchmarks/.data/, gitignored), two queries:

- ``partition``: one day's revenue per status (``WHERE day = ...``);
- ``range``: a range of order ids, which are written in order (``WHERE id BETWEEN ...``),
  so each file's statistics exclude most of it.

Each runs three ways in this process: ``pushed`` (the engine as it is); ``unpushed``, the
same filter written so it cannot be pushed (``OR rand() < 0``: what every SQL node did
before), the baseline; and ``polars``, a hand-written ``scan_delta().filter()`` (the floor).
The median of ``RUNS`` runs counts. Answers are checked equal.

Run: .venv/bin/python benchmarks/sql_pushdown.py
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import polars as pl
from rich.console import Console

from lakesmith.engines.duckdb_sql import run_sql

DATA = Path(__file__).resolve().parent / ".data" / "sql_pushdown"
ROWS = 20_000_000
VERSION = 2  # of the generated table: bump when its columns change
DAYS = 50
RUNS = 5
DAY = "2024-02-10"
IDS = (7_000_000, 7_100_000)
STATUSES = ["COMPLETED", "SHIPPED", "CANCELLED", "RETURNED"]
console = Console(stderr=True)

QUERIES = {
    "partition": (
        f"SELECT status, count(*) AS n, sum(cents) AS revenue FROM orders "
        f"WHERE day = '{DAY}'{{extra}} GROUP BY status",
        lambda lf: lf.filter(pl.col("day") == DAY),
    ),
    "range": (
        f"SELECT status, count(*) AS n, sum(cents) AS revenue FROM orders "
        f"WHERE id BETWEEN {IDS[0]} AND {IDS[1]}{{extra}} GROUP BY status",
        lambda lf: lf.filter(pl.col("id").is_between(*IDS)),
    ),
}


def table() -> str:
    """The partitioned Delta table, written once."""
    path = DATA / f"orders-v{VERSION}-{ROWS}-{DAYS}"
    if not (path / "_delta_log").exists():
        console.log(f"writing {ROWS:,} orders in {DAYS} daily partitions to {path}")
        ids = pl.int_range(0, ROWS, eager=True)
        first = date(2024, 1, 1)
        days = pl.date_range(first, first + timedelta(days=DAYS - 1), eager=True)
        frame = pl.DataFrame(
            {
                "id": ids,
                "day": days.dt.to_string().gather(ids * DAYS // ROWS),
                "status": pl.Series(STATUSES).gather(ids % len(STATUSES)),
                "cents": ids % 9_973,
            }
        )
        frame.write_delta(path, delta_write_options={"partition_by": ["day"]})
    return str(path)


def median_seconds(run: Callable[[], pl.DataFrame]) -> tuple[float, pl.DataFrame]:
    seconds, answer = [], pl.DataFrame()
    for _ in range(RUNS):
        clock = time.perf_counter()
        answer = run()
        seconds.append(time.perf_counter() - clock)
    return statistics.median(seconds), answer.sort("status")


def main() -> None:
    uri = table()
    figures: dict[str, object] = {"rows": ROWS, "partitions": DAYS, "runs": RUNS}
    for name, (sql, by_hand) in QUERIES.items():

        def engine(extra: str, sql: str = sql) -> pl.DataFrame:
            query = sql.format(extra=extra)
            return run_sql(
                query, {"orders": pl.scan_delta(uri)}, lambda t: pl.LazyFrame()
            ).collect()

        def polars(by_hand: Callable[[pl.LazyFrame], pl.LazyFrame] = by_hand) -> pl.DataFrame:
            return (
                by_hand(pl.scan_delta(uri))
                .group_by("status")
                .agg(pl.len().cast(pl.Int64).alias("n"), pl.col("cents").sum().alias("revenue"))
                .collect()
            )

        pushed_s, pushed = median_seconds(lambda: engine(""))
        unpushed_s, unpushed = median_seconds(lambda: engine(" OR rand() < 0"))
        polars_s, expected = median_seconds(polars)
        for answer in (pushed, unpushed):
            assert answer.equals(expected.select(answer.columns)), f"{name}: wrong answer"
        figures[name] = {
            "pushed_s": round(pushed_s, 4),
            "unpushed_s": round(unpushed_s, 4),
            "polars_s": round(polars_s, 4),
            "speedup_vs_unpushed": round(unpushed_s / pushed_s, 1),
            "ratio_vs_polars": round(pushed_s / polars_s, 2),
            "table_rows_per_s": round(ROWS / pushed_s),
            "rows_matched": int(pushed["n"].sum()),
        }
        console.log(
            f"{name}: pushed {pushed_s:.3f}s, unpushed {unpushed_s:.3f}s "
            f"({unpushed_s / pushed_s:.1f}x), hand-written Polars {polars_s:.3f}s"
        )
    print(json.dumps({"benchmark": "sql_pushdown", "figures": figures}))


if __name__ == "__main__":
    sys.exit(main())
