"""Databricks SQL on DuckDB (lakesmith's engine) against Polars' SQLContext.

The README says DuckDB was chosen over Polars SQL by measurement; this re-measures it.
Eight analytical queries written in the Spark / Databricks dialect (joins, CTEs, window
functions, date and interval arithmetic, IN subqueries; no QUALIFY so Polars can run them)
over 1.5M generated orders, 100k customers and 5k products (cached in benchmarks/.data/):

- DuckDB: ``lakesmith.engines.duckdb_sql.run_sql``, the engine's own path (sqlglot
  ``databricks`` -> ``duckdb``, Polars lazy frames registered in DuckDB, UTC session).
- Polars: sqlglot ``databricks`` -> ``postgres`` and -> ``duckdb`` (both tried; the dialect
  with more correct answers is reported), run by ``polars.SQLContext`` over the same lazy
  frames.

A query counts as correct for an engine when it runs and its result equals the other
engine's (columns, and values sorted, floats to 1e-9 relative). Each query runs RUNS times
per engine; the median counts, and the totals add the medians.

Prints progress on stderr and ONE line of JSON on stdout.

Run: .venv/bin/python benchmarks/sql_engines.py
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import sqlglot
from polars.testing import assert_frame_equal

from lakesmith.engines.duckdb_sql import run_sql

DATA = Path(__file__).resolve().parent / ".data"  # gitignored
DATA_VERSION = 2
SEED = 7
N_ORDERS = int(os.environ.get("BENCH_SQL_ORDERS", 1_500_000))
N_CUSTOMERS = 100_000
N_PRODUCTS = 5_000
RUNS = int(os.environ.get("BENCH_SQL_RUNS", 3))
POLARS_DIALECTS = ("postgres", "duckdb")

COUNTRIES = ["US"] * 5 + ["DE"] * 3 + ["FR"] * 2 + ["GB"] * 2 + ["NL", "SE", "ES", "IT", "JP"]
SEGMENTS = ["consumer"] * 6 + ["smb"] * 3 + ["enterprise"]
CATEGORIES = ["books", "games", "garden", "kitchen", "music", "sports", "tools", "toys"]
STATUSES = ["COMPLETED"] * 7 + ["SHIPPED"] * 2 + ["CANCELLED", "RETURNED"]

QUERIES: dict[str, str] = {
    "q1_join_groupby": """
        SELECT c.country, p.category, count(*) AS orders,
               sum(o.quantity * o.unit_price) AS revenue
        FROM orders o
        JOIN customers c ON o.customer_id = c.customer_id
        JOIN products p ON o.product_id = p.product_id
        WHERE o.status = 'COMPLETED' AND o.ordered_at >= TIMESTAMP '2024-01-01 00:00:00'
        GROUP BY c.country, p.category
    """,
    "q2_cte_having": """
        WITH spend AS (
          SELECT customer_id, sum(quantity * unit_price) AS total, count(*) AS n
          FROM orders
          WHERE status <> 'CANCELLED'
          GROUP BY customer_id
        )
        SELECT c.segment, count(*) AS customers, avg(s.total) AS avg_total,
               max(s.n) AS max_orders
        FROM spend s JOIN customers c ON s.customer_id = c.customer_id
        WHERE s.total > 1000
        GROUP BY c.segment
        HAVING count(*) > 10
    """,
    "q3_window_first_order": """
        SELECT country, year(first_at) AS cohort_year, month(first_at) AS cohort_month,
               count(*) AS customers
        FROM (
          SELECT o.customer_id, c.country, o.ordered_at AS first_at,
                 row_number() OVER (PARTITION BY o.customer_id
                                    ORDER BY o.ordered_at, o.order_id) AS rn
          FROM orders o JOIN customers c ON o.customer_id = c.customer_id
        ) t
        WHERE rn = 1
        GROUP BY country, year(first_at), month(first_at)
    """,
    "q4_window_lag_datediff": """
        SELECT segment, avg(gap_days) AS avg_gap_days, count(*) AS repeat_orders
        FROM (
          SELECT c.segment,
                 datediff(o.ordered_at, lag(o.ordered_at) OVER (
                   PARTITION BY o.customer_id ORDER BY o.ordered_at, o.order_id)) AS gap_days
          FROM orders o JOIN customers c ON o.customer_id = c.customer_id
        ) t
        WHERE gap_days IS NOT NULL
        GROUP BY segment
    """,
    "q5_interval": """
        SELECT p.category, count(*) AS shipped,
               sum(CASE WHEN o.shipped_at > o.ordered_at + INTERVAL 3 DAYS THEN 1 ELSE 0 END)
                 AS late
        FROM orders o JOIN products p ON o.product_id = p.product_id
        WHERE o.shipped_at IS NOT NULL
        GROUP BY p.category
    """,
    "q6_date_trunc_distinct": """
        SELECT date_trunc('MONTH', ordered_at) AS month,
               count(DISTINCT customer_id) AS active_customers, sum(quantity) AS units
        FROM orders
        WHERE status = 'COMPLETED'
        GROUP BY date_trunc('MONTH', ordered_at)
    """,
    "q7_case_bands": """
        SELECT CASE WHEN p.list_price < 20 THEN 'low'
                    WHEN p.list_price < 100 THEN 'mid'
                    ELSE 'high' END AS band,
               count(DISTINCT o.product_id) AS products, sum(o.quantity) AS units,
               avg(coalesce(o.discount, 0.0)) AS avg_discount
        FROM orders o JOIN products p ON o.product_id = p.product_id
        GROUP BY CASE WHEN p.list_price < 20 THEN 'low'
                      WHEN p.list_price < 100 THEN 'mid'
                      ELSE 'high' END
    """,
    "q8_in_subquery_date_add": """
        SELECT c.country, count(*) AS loyal_customers,
               avg(datediff(DATE '2025-01-01', date_add(c.signup_date, 30))) AS avg_tenure_days
        FROM customers c
        WHERE c.customer_id IN (SELECT customer_id FROM orders WHERE year(ordered_at) = 2023)
          AND c.customer_id IN (SELECT customer_id FROM orders WHERE year(ordered_at) = 2024)
        GROUP BY c.country
    """,
}


# --- reference answers ---------------------------------------------------------------------
# The same questions in the Polars DataFrame API, written from Spark's semantics (datediff
# counts date boundaries; session time zone UTC). An engine is correct when it matches.

Tables = dict[str, pl.DataFrame]


def _revenue() -> pl.Expr:
    return pl.col("quantity") * pl.col("unit_price")


def ref_q1(t: Tables) -> pl.DataFrame:
    since = pl.datetime(2024, 1, 1, time_zone="UTC")
    return (
        t["orders"]
        .filter((pl.col("status") == "COMPLETED") & (pl.col("ordered_at") >= since))
        .join(t["customers"], on="customer_id")
        .join(t["products"], on="product_id")
        .group_by("country", "category")
        .agg(pl.len().alias("orders"), _revenue().sum().alias("revenue"))
    )


def ref_q2(t: Tables) -> pl.DataFrame:
    spend = (
        t["orders"]
        .filter(pl.col("status") != "CANCELLED")
        .group_by("customer_id")
        .agg(_revenue().sum().alias("total"), pl.len().alias("n"))
    )
    return (
        spend.join(t["customers"], on="customer_id")
        .filter(pl.col("total") > 1000)
        .group_by("segment")
        .agg(
            pl.len().alias("customers"),
            pl.col("total").mean().alias("avg_total"),
            pl.col("n").max().alias("max_orders"),
        )
        .filter(pl.col("customers") > 10)
    )


def ref_q3(t: Tables) -> pl.DataFrame:
    first = t["orders"].group_by("customer_id").agg(pl.col("ordered_at").min().alias("first_at"))
    return (
        first.join(t["customers"], on="customer_id")
        .group_by(
            "country",
            pl.col("first_at").dt.year().alias("cohort_year"),
            pl.col("first_at").dt.month().alias("cohort_month"),
        )
        .agg(pl.len().alias("customers"))
    )


def ref_q4(t: Tables) -> pl.DataFrame:
    day = pl.col("ordered_at").dt.date()
    return (
        t["orders"]
        .join(t["customers"], on="customer_id")
        .sort("customer_id", "ordered_at", "order_id")
        .with_columns((day - day.shift(1).over("customer_id")).dt.total_days().alias("gap_days"))
        .drop_nulls("gap_days")
        .group_by("segment")
        .agg(pl.col("gap_days").mean().alias("avg_gap_days"), pl.len().alias("repeat_orders"))
    )


def ref_q5(t: Tables) -> pl.DataFrame:
    late = pl.col("shipped_at") > pl.col("ordered_at") + pl.duration(days=3)
    return (
        t["orders"]
        .drop_nulls("shipped_at")
        .join(t["products"], on="product_id")
        .group_by("category")
        .agg(pl.len().alias("shipped"), late.sum().alias("late"))
    )


def ref_q6(t: Tables) -> pl.DataFrame:
    return (
        t["orders"]
        .filter(pl.col("status") == "COMPLETED")
        .group_by(pl.col("ordered_at").dt.truncate("1mo").alias("month"))
        .agg(
            pl.col("customer_id").n_unique().alias("active_customers"),
            pl.col("quantity").sum().alias("units"),
        )
    )


def ref_q7(t: Tables) -> pl.DataFrame:
    price = pl.col("list_price")
    band = pl.when(price < 20).then(pl.lit("low")).when(price < 100).then(pl.lit("mid"))
    return (
        t["orders"]
        .join(t["products"], on="product_id")
        .group_by(band.otherwise(pl.lit("high")).alias("band"))
        .agg(
            pl.col("product_id").n_unique().alias("products"),
            pl.col("quantity").sum().alias("units"),
            pl.col("discount").fill_null(0.0).mean().alias("avg_discount"),
        )
    )


def ref_q8(t: Tables) -> pl.DataFrame:
    year = pl.col("ordered_at").dt.year()
    ids = {y: t["orders"].filter(year == y)["customer_id"].unique() for y in (2023, 2024)}
    tenure = pl.date(2025, 1, 1) - (pl.col("signup_date") + pl.duration(days=30))
    return (
        t["customers"]
        .filter(
            pl.col("customer_id").is_in(ids[2023].implode())
            & pl.col("customer_id").is_in(ids[2024].implode())
        )
        .group_by("country")
        .agg(
            pl.len().alias("loyal_customers"),
            tenure.dt.total_days().mean().alias("avg_tenure_days"),
        )
    )


REFERENCES: dict[str, Callable[[Tables], pl.DataFrame]] = {
    "q1_join_groupby": ref_q1,
    "q2_cte_having": ref_q2,
    "q3_window_first_order": ref_q3,
    "q4_window_lag_datediff": ref_q4,
    "q5_interval": ref_q5,
    "q6_date_trunc_distinct": ref_q6,
    "q7_case_bands": ref_q7,
    "q8_in_subquery_date_add": ref_q8,
}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- synthetic data ------------------------------------------------------------------------


def uniform(n: int, table: str, column: str) -> pl.Series:
    """n uniform draws in [0, 1): one independent, reproducible stream per table.column."""
    stream = np.random.SeedSequence([SEED, DATA_VERSION, zlib.crc32(f"{table}.{column}".encode())])
    return pl.Series(column, np.random.Generator(np.random.PCG64(stream)).random(n))


def pick(u: pl.Series, pool: Sequence[str]) -> pl.Series:
    return pl.Series(u.name, pool, dtype=pl.String).gather((u * len(pool)).floor().cast(pl.UInt32))


def integers(u: pl.Series, low: int, high: int) -> pl.Series:
    return (u * (high - low + 1)).floor().cast(pl.Int64) + low


def timestamps(u: pl.Series, start: str, days: float) -> pl.Series:
    origin = pl.Series([start]).str.to_datetime(time_unit="us", time_zone="UTC")
    span_us = int(days * 86_400 * 1_000_000)
    return (origin.dt.epoch("us")[0] + (u * span_us).cast(pl.Int64)).cast(pl.Datetime("us", "UTC"))


def make_tables() -> dict[str, pl.DataFrame]:
    def u(table: str, column: str, n: int) -> pl.Series:
        return uniform(n, table, column)

    customers = pl.DataFrame(
        {
            "customer_id": pl.int_range(1, N_CUSTOMERS + 1, dtype=pl.Int64, eager=True),
            "country": pick(u("customers", "country", N_CUSTOMERS), COUNTRIES),
            "segment": pick(u("customers", "segment", N_CUSTOMERS), SEGMENTS),
            "signup_date": timestamps(
                u("customers", "signup", N_CUSTOMERS), "2019-01-01", 5 * 365
            ).dt.date(),
        }
    )
    products = pl.DataFrame(
        {
            "product_id": pl.int_range(1, N_PRODUCTS + 1, dtype=pl.Int64, eager=True),
            "category": pick(u("products", "category", N_PRODUCTS), CATEGORIES),
            "list_price": (u("products", "price", N_PRODUCTS).pow(2) * 300 + 2).round(2),
        }
    )
    n = N_ORDERS
    ship = (u("orders", "ship_days", n) * 8 * 86_400e6).cast(pl.Int64).cast(pl.Duration("us"))
    has_discount = u("orders", "has_discount", n) < 0.3
    shipped = u("orders", "shipped", n) < 0.85
    orders = pl.DataFrame(
        {
            "order_id": pl.int_range(1, n + 1, dtype=pl.Int64, eager=True),
            # a few heavy customers: a power law over ids
            "customer_id": integers(u("orders", "customer", n).pow(1.5), 1, N_CUSTOMERS),
            "product_id": integers(u("orders", "product", n), 1, N_PRODUCTS),
            "quantity": integers(u("orders", "quantity", n), 1, 5).cast(pl.Int32),
            "unit_price": (u("orders", "price", n).pow(2) * 300 + 2).round(2),
            "discount": (u("orders", "discount", n) * 0.3).round(2),
            "status": pick(u("orders", "status", n), STATUSES),
            "ordered_at": timestamps(u("orders", "ordered_at", n), "2023-01-01", 2 * 365),
        }
    ).with_columns(
        pl.when(has_discount).then(pl.col("discount")).alias("discount"),
        pl.when(shipped).then(pl.col("ordered_at") + pl.lit(ship)).alias("shipped_at"),
    )
    return {"orders": orders, "customers": customers, "products": products}


def load_tables() -> tuple[dict[str, pl.DataFrame], float]:
    folder = DATA / "sql_engines" / f"v{DATA_VERSION}-s{SEED}-{N_ORDERS}"
    names = ("orders", "customers", "products")
    if all((folder / f"{t}.parquet").is_file() for t in names):
        return {t: pl.read_parquet(folder / f"{t}.parquet") for t in names}, 0.0
    clock = time.perf_counter()
    tables = make_tables()
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        tmp = folder / f"{name}.tmp"
        df.write_parquet(tmp, compression="zstd")
        tmp.replace(folder / f"{name}.parquet")
    seconds = time.perf_counter() - clock
    log(
        f"generated {', '.join(f'{t} {df.height:,}' for t, df in tables.items())} in {seconds:.1f}s"
    )
    return tables, seconds


# --- engines -------------------------------------------------------------------------------


def on_duckdb(sql: str, frames: dict[str, pl.LazyFrame]) -> pl.DataFrame:
    def unknown(name: str) -> pl.LazyFrame:
        raise KeyError(name)

    return run_sql(sql, frames, unknown).collect()


def on_polars(dialect: str) -> Callable[[str, dict[str, pl.LazyFrame]], pl.DataFrame]:
    def run(sql: str, frames: dict[str, pl.LazyFrame]) -> pl.DataFrame:
        text = sqlglot.transpile(sql, read="databricks", write=dialect)[0]
        return pl.SQLContext(frames=frames, eager=False).execute(text).collect()

    return run


def timed(
    run: Callable[[str, dict[str, pl.LazyFrame]], pl.DataFrame],
    sql: str,
    frames: dict[str, pl.LazyFrame],
) -> tuple[pl.DataFrame | None, float | None, str]:
    """The result, the median seconds of RUNS runs, and the first error line if it failed."""
    seconds: list[float] = []
    result = None
    for _ in range(RUNS):
        clock = time.perf_counter()
        try:
            result = run(sql, frames)
        except Exception as exc:
            return None, None, f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:160]}"
        seconds.append(time.perf_counter() - clock)
    return result, statistics.median(seconds), ""


def normalise(df: pl.DataFrame) -> pl.DataFrame:
    """Comparable form: lower-case names, integers as Int64, other numbers as Float64,
    timestamps in UTC microseconds, rows sorted."""
    casts: list[pl.Expr] = []
    for name, dtype in df.schema.items():
        if dtype.is_integer():
            casts.append(pl.col(name).cast(pl.Int64))
        elif dtype.is_numeric():
            casts.append(pl.col(name).cast(pl.Float64))
        elif isinstance(dtype, pl.Datetime):
            expr = pl.col(name).dt.cast_time_unit("us")
            expr = (
                expr.dt.replace_time_zone("UTC")
                if dtype.time_zone is None
                else expr.dt.convert_time_zone("UTC")
            )
            casts.append(expr)
    out = df.with_columns(casts) if casts else df
    out = out.rename({c: c.lower() for c in out.columns})
    return out.sort(out.columns, nulls_last=True)


def same(a: pl.DataFrame, b: pl.DataFrame) -> str:
    """'' when equal, else what differs."""
    try:
        assert_frame_equal(normalise(a), normalise(b), check_dtypes=True, rel_tol=1e-9)
    except AssertionError as exc:
        return " ".join(str(exc).split())[:300]
    return ""


def main() -> None:
    log(f"sql_engines: {len(QUERIES)} Databricks-dialect queries over {N_ORDERS:,} orders")
    tables, gen_s = load_tables()
    frames = {name: df.lazy() for name, df in tables.items()}
    engines: dict[str, Callable[[str, dict[str, pl.LazyFrame]], pl.DataFrame]] = {
        "duckdb": on_duckdb
    }
    engines |= {f"polars_{d}": on_polars(d) for d in POLARS_DIALECTS}

    # warm-up: imports and first-call set-up are not part of any query's time
    for run in engines.values():
        run("SELECT count(*) AS n FROM products", frames)

    per_query: dict[str, dict[str, Any]] = {}
    correct = dict.fromkeys(engines, 0)
    for name, sql in QUERIES.items():
        expected = REFERENCES[name](tables)
        row: dict[str, Any] = {}
        for engine, run in engines.items():
            result, seconds, error = timed(run, sql, frames)
            row[f"{engine}_s"] = None if seconds is None else round(seconds, 4)
            if error:
                row[f"{engine}_error"] = error
                row[f"{engine}_correct"] = False
                continue
            assert result is not None
            diff = same(result, expected)
            row[f"{engine}_correct"] = not diff
            correct[engine] += not diff
            if diff:
                row[f"{engine}_diff"] = diff
        per_query[name] = row
        status = ", ".join(
            f"{e} {row[f'{e}_s']:.3f}s{'' if row[f'{e}_correct'] else ' WRONG'}"
            if row[f"{e}_s"] is not None
            else f"{e} FAILED"
            for e in engines
        )
        log(f"  {name:26s} {status}")
        for key in sorted(row):
            if key.endswith(("_error", "_diff")):
                log(f"      {key}: {row[key]}")

    def total(engine: str, only: Callable[[dict[str, Any]], bool] = lambda r: True) -> float:
        return round(sum(r[f"{engine}_s"] or 0.0 for r in per_query.values() if only(r)), 3)

    best = max(POLARS_DIALECTS, key=lambda d: (correct[f"polars_{d}"], -total(f"polars_{d}")))
    pe = f"polars_{best}"

    def both(r: dict[str, Any]) -> bool:
        return bool(r["duckdb_correct"] and r[f"{pe}_correct"])

    figures: dict[str, Any] = {
        "queries": len(QUERIES),
        "orders_rows": N_ORDERS,
        "statistic": f"median of {RUNS} runs per query, summed",
        "duckdb_correct": correct["duckdb"],
        "duckdb_total_s": total("duckdb"),
        "polars_dialect": best,
        "polars_correct": correct[pe],
        "polars_total_s": total(pe),
        "both_correct": sum(both(r) for r in per_query.values()),
        "duckdb_s_on_both_correct": total("duckdb", both),
        "polars_s_on_both_correct": total(pe, both),
        "by_polars_dialect": {
            d: {"correct": correct[f"polars_{d}"], "total_s": total(f"polars_{d}")}
            for d in POLARS_DIALECTS
        },
        "per_query": per_query,
        "datagen_s": round(gen_s, 3),
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "cores": os.cpu_count(),
    }
    log(
        f"DuckDB: {correct['duckdb']}/{len(QUERIES)} correct in {figures['duckdb_total_s']}s; "
        f"Polars SQL (via {best}): {correct[pe]}/{len(QUERIES)} correct in "
        f"{figures['polars_total_s']}s; on the {figures['both_correct']} both answer: DuckDB "
        f"{figures['duckdb_s_on_both_correct']}s, Polars {figures['polars_s_on_both_correct']}s"
    )
    print(json.dumps({"benchmark": "sql_engines", "figures": figures}))


if __name__ == "__main__":
    main()
