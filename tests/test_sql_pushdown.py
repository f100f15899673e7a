"""SQL nodes on the embedded engine push their simple WHERE predicates into the Polars scans.

What users rely on: a SQL filter on a partition column reads only that partition (the other
files are never opened), and pushing never changes an answer: nulls, NaN, outer joins, a
table read twice, time zones and mismatched literal types give DuckDB's own result.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from lakesmith.catalog import LocalCatalog
from lakesmith.engines import sql_dialect
from lakesmith.engines.polars_engine import PolarsEngine
from lakesmith.engines.sql_reads import QueryReads

ORDERS = pl.DataFrame(
    {
        "id": [1, 2, 3, 4, 5, 6],
        "shop": ["a", "b", None, "a", "c", "b"],
        "amount": [10.0, math.nan, 5.5, None, -3.0, 99.0],
        "day": [date(2024, 1, d) for d in (1, 2, 3, 4, 5, 6)],
        "at": [datetime(2024, 1, d, 23, tzinfo=UTC) for d in (1, 2, 3, 4, 5, 6)],
        "paid": [True, False, None, True, True, False],
    }
)
SHOPS = pl.DataFrame({"shop": ["a", "b", "z"], "region": ["north", None, "south"]})

PUSHED = [
    "SELECT * FROM o WHERE amount > 5",
    "SELECT * FROM o WHERE -1 < amount AND shop IN ('a', 'c')",
    "SELECT * FROM o WHERE amount <> 10 OR id = 4",
    "SELECT * FROM o WHERE day BETWEEN DATE'2024-01-02' AND DATE'2024-01-04'",
    "SELECT * FROM o WHERE at >= TIMESTAMP'2024-01-03 23:00:00'",
    "SELECT * FROM o WHERE day >= DATE'2024-01-03' AND paid = true",
    "SELECT * FROM o WHERE shop IS NOT NULL",
    "SELECT o.id, s.region FROM o LEFT JOIN s ON o.shop = s.shop WHERE s.region = 'north'",
    "SELECT o.id, s.region FROM o FULL JOIN s ON o.shop = s.shop WHERE o.amount < 50",
    "SELECT shop, count(*) AS n FROM o WHERE id > 2 GROUP BY shop",
    "SELECT * FROM (SELECT id, amount FROM o WHERE amount > 0) WHERE id < 6",
]
KEPT = [
    "SELECT o.id, s.region FROM o LEFT JOIN s ON o.shop = s.shop WHERE s.region IS NULL",
    "SELECT * FROM o WHERE amount > 5 OR shop = 'c' OR id = 1 OR day IS NULL",
    "SELECT a.id FROM o a JOIN o b ON a.id = b.id + 1 WHERE a.amount > 5",  # read twice
    "SELECT * FROM o WHERE id = '3'",  # a string against a number: DuckDB's cast rules
    "SELECT * FROM o WHERE day >= '2024-01-03'",  # a bare string against a date
    "SELECT * FROM o WHERE amount > 5 OR (SELECT count(*) FROM s) > 9",
    "SELECT * FROM (SELECT id, amount, lag(amount) OVER (ORDER BY id) AS p FROM o) "
    "WHERE amount > 5",  # above a window: the window must see every row
    "SELECT o.id FROM o JOIN s ON o.shop = s.shop WHERE o.id > length(s.region)",
    "SELECT * FROM o WHERE amount > id",
]


def sources() -> dict[str, pl.LazyFrame]:
    return {"o": ORDERS.lazy(), "s": SHOPS.lazy()}


def duck(sql: str) -> str:
    """The Databricks SQL as the engine gives it to DuckDB."""
    return sql_dialect.to_dialect(sql_dialect.parse(sql), "duckdb")


def pushed_tables(sql: str) -> set[str]:
    schemas = {name: frame.collect_schema() for name, frame in sources().items()}
    return set(QueryReads(duck(sql), schemas).filters())


def duckdb_answer(sql: str) -> pl.DataFrame:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("o", ORDERS.with_columns(pl.col("at").dt.replace_time_zone(None)).to_arrow())
    con.register("s", SHOPS.to_arrow())
    answer = con.sql(duck(sql)).pl()
    return answer.with_columns(
        pl.col(c).dt.replace_time_zone("UTC")
        for c, t in answer.schema.items()
        if isinstance(t, pl.Datetime)
    )


@pytest.fixture
def engine(tmp_path: Path) -> PolarsEngine:
    return PolarsEngine(LocalCatalog(tmp_path / "wh"), default_catalog="main")


@pytest.mark.parametrize("sql", PUSHED)
def test_simple_predicates_are_pushed_and_the_answer_is_duckdbs(engine, sql) -> None:
    assert pushed_tables(sql)
    got = engine.sql(sql, sources()).collect()
    assert_frame_equal(got, duckdb_answer(sql), check_row_order=False, check_dtypes=False)


@pytest.mark.parametrize("sql", KEPT)
def test_predicates_that_could_change_the_answer_stay_in_duckdb(engine, sql) -> None:
    assert "o" not in pushed_tables(sql)
    got = engine.sql(sql, sources()).collect()
    assert_frame_equal(got, duckdb_answer(sql), check_row_order=False, check_dtypes=False)


def test_a_partition_filter_never_opens_the_other_partitions(engine, tmp_path) -> None:
    path = tmp_path / "events"
    events = pl.DataFrame({"day": ["d1", "d2", "d3"] * 1000, "v": range(3000)})
    events.write_delta(path, delta_write_options={"partition_by": ["day"]})
    for part in (path / "day=d3").glob("*.parquet"):
        part.unlink()  # reading it would fail the query
    frames = {"e": pl.scan_delta(str(path))}
    got = engine.sql("SELECT count(*) AS n, sum(v) AS s FROM e WHERE day = 'd2'", frames)
    expected = events.filter(pl.col("day") == "d2")
    assert got.collect().row(0) == (expected.height, expected["v"].sum())
    with pytest.raises(FileNotFoundError):
        engine.sql("SELECT count(*) FROM e WHERE v > 0", frames).collect()
