"""Databricks-dialect SQL on the embedded engine: table-driven, results checked by value."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest

from conftest import PROJECT_YAML
from lakesmith.catalog import LocalCatalog, TableRef
from lakesmith.config.models import OverwriteWrite
from lakesmith.engines.polars_engine import PolarsEngine
from lakesmith.engines.sql_dialect import parse, referenced_tables
from lakesmith.errors import ConfigError, SqlError, TableNotFound

EVENTS = pl.LazyFrame(
    {
        "k": [1, 1, 2, 3],
        "v": ["a", "b", "c", None],
        "ts": [datetime(2026, 1, d, tzinfo=UTC) for d in (1, 5, 3, 9)],
        "d": [date(2026, 1, 1), date(2026, 1, 5), date(2026, 2, 1), date(2026, 3, 1)],
    }
)

CASES = [
    ("SELECT date_add(d, 3) AS x FROM e WHERE k = 2", [date(2026, 2, 4)]),
    ("SELECT date_sub(d, 1) AS x FROM e WHERE k = 2", [date(2026, 1, 31)]),
    ("SELECT add_months(d, 1) AS x FROM e WHERE k = 1 AND v = 'a'", [date(2026, 2, 1)]),
    ("SELECT datediff(DATE'2026-01-10', d) AS x FROM e WHERE k = 2", [-22]),
    ("SELECT size(collect_list(v)) AS x FROM e", [3]),
    ("SELECT sort_array(collect_set(k)) AS x FROM e", [[1, 2, 3]]),
    (
        "SELECT v AS x FROM e QUALIFY row_number() OVER (PARTITION BY k ORDER BY ts DESC) = 1 "
        "ORDER BY k",
        ["b", "c", None],
    ),
    ("SELECT nvl(v, 'none') AS x FROM e WHERE k = 3", ["none"]),
    ("SELECT `v` AS x FROM e WHERE v RLIKE '^[ab]$' ORDER BY v", ["a", "b"]),
    ("SELECT concat_ws('-', v, 'z') AS x FROM e WHERE k = 2", ["c-z"]),
    ("WITH t AS (SELECT k FROM e WHERE k > 1) SELECT count(*) AS x FROM t", [2]),
    ("SELECT CAST(ts AS DATE) AS x FROM e WHERE k = 3", [date(2026, 1, 9)]),
    # time zones and epochs, with the values Spark gives under a UTC session
    (
        "SELECT from_utc_timestamp(ts, 'America/New_York') AS x FROM e WHERE k = 2",
        [datetime(2026, 1, 2, 19, tzinfo=UTC)],
    ),
    (
        "SELECT to_utc_timestamp(ts, 'Asia/Kolkata') AS x FROM e WHERE k = 2",
        [datetime(2026, 1, 2, 18, 30, tzinfo=UTC)],
    ),
    ("SELECT unix_timestamp(ts) AS x FROM e WHERE k = 2", [1767398400]),
    ("SELECT unix_timestamp('2026-01-03 00:00:01') AS x FROM e WHERE k = 2", [1767398401]),
    ("SELECT unix_timestamp('03/01/2026', 'dd/MM/yyyy') AS x FROM e WHERE k = 2", [1767398400]),
    ("SELECT from_unixtime(1767398400) AS x FROM e WHERE k = 2", ["2026-01-03 00:00:00"]),
]


@pytest.fixture
def engine(tmp_path) -> PolarsEngine:
    return PolarsEngine(LocalCatalog(tmp_path / "wh"), default_catalog="main")


@pytest.mark.parametrize(("sql", "expected"), CASES, ids=[c[0][:40] for c in CASES])
def test_databricks_sql_runs_with_spark_semantics(engine, sql, expected) -> None:
    out = engine.sql(sql, {"e": EVENTS}).collect()
    assert out["x"].to_list() == expected


def test_three_and_two_part_names_resolve_to_warehouse_tables(engine) -> None:
    for catalog in ("main", "other"):
        ref = TableRef(catalog, "sales", "orders")
        frame = pl.DataFrame({"id": [1, 2], "cat": [catalog, catalog]})
        engine.write(frame, ref, OverwriteWrite(table=ref.full_name, mode="overwrite"))
    sql = (
        "SELECT a.id, a.cat AS a_cat, b.cat AS b_cat FROM sales.orders a "
        "JOIN other.sales.orders b ON a.id = b.id ORDER BY a.id"
    )
    out = engine.sql(sql, {}).collect()
    assert out.to_dicts() == [
        {"id": 1, "a_cat": "main", "b_cat": "other"},
        {"id": 2, "a_cat": "main", "b_cat": "other"},
    ]
    qualified = engine.sql("SELECT orders.id FROM main.sales.orders ORDER BY 1", {}).collect()
    assert qualified["id"].to_list() == [1, 2]


def test_cte_names_are_not_tables() -> None:
    tree = parse("WITH x AS (SELECT * FROM s.a) SELECT * FROM x JOIN c.s.b USING (id)")
    assert sorted(referenced_tables(tree)) == ["c.s.b", "s.a"]


def test_syntax_error_names_line_and_column() -> None:
    with pytest.raises(SqlError, match=r"line 2, column \d+"):
        parse("SELECT a\nFROM t WHERE (")


def test_engine_error_shows_the_transpiled_sql(engine) -> None:
    with pytest.raises(SqlError) as info:
        engine.sql("SELECT nope FROM e", {"e": EVENTS})
    assert "transpiled to DuckDB" in info.value.hint


def test_missing_table_says_how_to_create_it(engine) -> None:
    with pytest.raises(TableNotFound, match=r"main\.sales\.missing does not exist"):
        engine.sql("SELECT * FROM sales.missing", {})


def test_integer_aggregates_come_back_as_bigint_like_spark(engine) -> None:
    out = engine.sql(
        "SELECT sum(k) AS s, count_if(k > 1) AS c, count(*) AS n FROM e", {"e": EVENTS}
    ).collect()
    assert out.schema == pl.Schema({"s": pl.Int64, "c": pl.Int64, "n": pl.Int64})
    assert out.row(0) == (7, 2, 4)


def test_dates_do_not_depend_on_the_machine_time_zone(engine, monkeypatch) -> None:
    import time

    late = pl.LazyFrame({"ts": [datetime(2024, 3, 1, 2, 0, tzinfo=UTC)]})
    sql = (
        "SELECT date_trunc('MONTH', ts) AS m, CAST(ts AS DATE) AS d, CAST(ts AS STRING) AS s FROM t"
    )
    answers = []
    for zone in ("UTC", "America/New_York"):
        monkeypatch.setenv("TZ", zone)
        time.tzset()
        answers.append(engine.sql(sql, {"t": late}).collect().row(0))
    monkeypatch.delenv("TZ")
    time.tzset()
    assert answers[0] == answers[1]
    month, day, text = answers[0]
    assert month == datetime(2024, 3, 1, tzinfo=UTC)
    assert day == date(2024, 3, 1)
    assert text == "2024-03-01 02:00:00"


# --- the DuckDB a SQL node runs in ------------------------------------------------------------


def test_a_sql_node_runs_within_the_projects_duckdb_memory_limit(project, monkeypatch) -> None:
    monkeypatch.chdir(project.root / "..")
    project.write(
        "lakesmith.yaml",
        PROJECT_YAML + "duckdb: {memory_limit: 64MB}\n",
    )
    project.parquet("keys.parquet", pl.DataFrame({"k": range(2_000_000)}))
    project.pipeline(
        """\
        name: main
        nodes:
          - name: settings
            transform:
              sql: |
                SELECT current_setting('memory_limit') AS memory,
                       current_setting('temp_directory') AS spill
            write: {table: meta.duckdb, mode: overwrite}
          - name: grouped
            inputs: {keys: {connection: files, path: keys.parquet}}
            transform:
              sql: SELECT k % 1000000 AS g, count(*) AS n, max(k) AS top FROM keys GROUP BY 1
            write: {table: meta.grouped, mode: overwrite}
        """
    )
    assert project.run().status == "succeeded"
    settings = project.table("meta.duckdb").row(0, named=True)
    assert settings["memory"] == "61.0 MiB"  # DuckDB shows 64MB in MiB
    assert settings["spill"] == str(project.root / ".lakesmith" / "tmp")
    grouped = project.table("meta.grouped")
    assert (grouped.height, grouped["n"].sum()) == (1_000_000, 2_000_000)
    assert not (project.root / ".." / ".tmp").exists()  # DuckDB's default spill folder


def test_a_memory_limit_duckdb_cannot_read_is_a_config_error(project) -> None:
    project.write("lakesmith.yaml", PROJECT_YAML + "duckdb: {memory_limit: lots}\n")
    with pytest.raises(ConfigError, match=r"duckdb\.memory_limit"):
        project.config()
