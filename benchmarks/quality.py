"""Quality on 10M rows: 10 rules in one scan (target <= 0.8 s) and a full profile (<= 2 s).

Runs with no arguments; input cached in benchmarks/.data/ (gitignored). Ends with one JSON line.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
import polars as pl

from lakesmith.quality import rules as r
from lakesmith.quality.evaluate import evaluate, split

ROWS = 10_000_000
DATA = Path(__file__).parent / ".data" / "quality_10m.parquet"
RUNS = 3


def make_data() -> pl.DataFrame:
    if DATA.is_file():
        return pl.read_parquet(DATA)
    rng = np.random.default_rng(7)
    ids = np.arange(ROWS, dtype=np.int64)
    domains = np.array(["gmail.com", "yahoo.com", "example.org", "bad"])
    frame = pl.DataFrame(
        {
            "order_id": ids,
            "customer_id": pl.Series(rng.integers(0, 200_000, ROWS)).scatter(
                np.nonzero(rng.random(ROWS) < 0.001)[0], None
            ),
            "amount": np.round(rng.lognormal(3.5, 1.0, ROWS), 2),
            "quantity": rng.integers(-1, 20, ROWS),
            "status": rng.choice(["NEW", "PAID", "SHIPPED", "VOID", "??"], ROWS),
            "email": pl.Series(rng.integers(0, 10**6, ROWS)).cast(pl.String)
            + "@"
            + pl.Series(domains[rng.integers(0, 4, ROWS)]),
            "ordered_at": pl.datetime_range(
                pl.datetime(2025, 1, 1, time_zone="UTC"),
                pl.datetime(2025, 12, 31, time_zone="UTC"),
                interval="3s",
                eager=True,
            ).head(ROWS),
        }
    )
    DATA.parent.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(DATA)
    return frame


T = TypeVar("T")

RULES = r.RuleSet(
    dataset="orders",
    rules=[
        r.NotNull(check="not_null", column="customer_id", tolerance=r.Tolerance(max_ratio=0.01)),
        r.NotNull(check="not_null", column="email"),
        r.Unique(check="unique", columns=["order_id"]),
        r.InRange(check="in_range", column="amount", min=0, max=10_000),
        r.InRange(check="in_range", column="quantity", min=0, max=100),
        r.InSet(check="in_set", column="status", values=["NEW", "PAID", "SHIPPED", "VOID"]),
        r.Matches(check="matches", column="email", pattern="email"),
        r.Expr(check="expr", expr="amount < 5000 OR status = 'VOID'", name="big_orders_void"),
        r.RowCount(check="row_count", min=1_000_000),
        r.Freshness(check="freshness", column="ordered_at", max_age_hours=24 * 400),
    ],
)


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    started = time.perf_counter()
    out = fn()
    return time.perf_counter() - started, out


def main() -> None:
    frame = make_data()
    print(f"{frame.height:,} rows, {len(RULES.rules)} rules", file=sys.stderr)
    runs = [timed(lambda: evaluate(RULES, frame)) for _ in range(RUNS)]
    seconds = statistics.median(t for t, _ in runs)
    result = runs[0][1]
    lazy_runs = [timed(lambda: evaluate(RULES, pl.scan_parquet(DATA)))[0] for _ in range(RUNS)]
    split_s, (valid, quarantine) = timed(lambda: split(RULES, frame))
    figures: dict[str, object] = {
        "rows": frame.height,
        "rules": len(RULES.rules),
        "rules_in_memory_s": round(seconds, 3),
        "rules_rows_per_s": round(frame.height / seconds),
        "rules_from_parquet_s": round(statistics.median(lazy_runs), 3),
        "target_s": 0.8,
        "failed_rules": [x.name for x in result.rules if not x.success],
        "quarantine_split_s": round(split_s, 3),
        "quarantined_rows": quarantine.height,
        "valid_rows": valid.height,
    }
    try:
        from lakesmith.quality.profile import profile

        profile_runs = [timed(lambda: profile(frame))[0] for _ in range(RUNS)]
        figures["profile_s"] = round(statistics.median(profile_runs), 3)
        figures["profile_target_s"] = 2.0
    except ImportError:
        figures["profile_s"] = None
    print(json.dumps({"benchmark": "quality", "figures": figures}))


if __name__ == "__main__":
    main()
