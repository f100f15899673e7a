"""The embedded engine streams: lazy frames flow into Delta writes and DuckDB batch by batch.

What users rely on: every row arrives, the story's row count and sample are right, a plan
that fails half-way leaves the table as it was and reports the plan's own error, a merge or
scd2 source repeating a key anywhere fails before anything is written, and a SQL node reads
only the columns its query uses.
"""

from __future__ import annotations

import polars as pl
import pytest
from deltalake import DeltaTable

from lakesmith.catalog import LocalCatalog, TableRef
from lakesmith.config.models import (
    AppendWrite,
    MergeWrite,
    OverwriteWrite,
    ReplaceWhereWrite,
    Scd2Write,
)
from lakesmith.engines.polars_engine import PolarsEngine
from lakesmith.engines.sql_reads import QueryReads
from lakesmith.errors import SqlError, WriteError

ROWS = 300_000  # several streaming batches


@pytest.fixture
def engine(tmp_path) -> PolarsEngine:
    return PolarsEngine(LocalCatalog(tmp_path / "wh"), default_catalog="main")


REF = TableRef("main", "silver", "t")


def overwrite() -> OverwriteWrite:
    return OverwriteWrite(table=REF.full_name, mode="overwrite")


def numbers(n: int = ROWS) -> pl.LazyFrame:
    return pl.LazyFrame({"id": pl.int_range(0, n, eager=True)}).with_columns(
        (pl.col("id") % 7).alias("bucket"), pl.col("id").cast(pl.String).alias("text")
    )


def table(engine: PolarsEngine) -> DeltaTable:
    return DeltaTable(engine.catalog.location(REF).uri)


def failing_at_the_last_row() -> pl.LazyFrame:
    return numbers().with_columns(
        pl.when(pl.col("id") == ROWS - 1)
        .then(pl.lit("not a number"))
        .otherwise(pl.col("text"))
        .cast(pl.Int64, strict=True)
        .alias("text")
    )


def merge() -> MergeWrite:
    return MergeWrite(table=REF.full_name, mode="merge", keys=["id"])


def scd2() -> Scd2Write:
    return Scd2Write(table=REF.full_name, mode="scd2", keys=["id"])


def read(engine: PolarsEngine) -> pl.DataFrame:
    return pl.read_delta(engine.catalog.location(REF).uri)


def test_a_lazy_overwrite_writes_every_row_and_reports_count_and_sample(engine) -> None:
    result = engine.write(numbers().filter(pl.col("bucket") != 3), REF, overwrite())
    expected = numbers().filter(pl.col("bucket") != 3).collect()
    written = pl.read_delta(engine.catalog.location(REF).uri).sort("id")
    assert written.equals(expected)
    assert result.rows == expected.height
    assert result.sample == expected.head(20).to_dicts()  # in plan order, as collected
    assert result.schema_after == [("id", "bigint"), ("bucket", "bigint"), ("text", "string")]


def test_a_plan_failing_half_way_raises_its_own_error_and_leaves_the_table(engine) -> None:
    engine.write(numbers(10), REF, overwrite())
    late_failure = failing_at_the_last_row()
    for spec in (overwrite(), AppendWrite(table=REF.full_name, mode="append"), merge()):
        with pytest.raises(pl.exceptions.InvalidOperationError, match="not a number"):
            engine.write(late_failure, REF, spec)
        assert table(engine).version() == 0
        assert pl.read_delta(engine.catalog.location(REF).uri).height == 10


def test_an_scd2_source_failing_half_way_raises_its_own_error_and_leaves_the_table(
    engine,
) -> None:
    late_failure = failing_at_the_last_row()
    with pytest.raises(pl.exceptions.InvalidOperationError, match="not a number"):
        engine.write(late_failure, REF, scd2())  # the first write creates the table
    assert not DeltaTable.is_deltatable(engine.catalog.location(REF).uri)
    engine.write(numbers(10), REF, scd2())
    with pytest.raises(pl.exceptions.InvalidOperationError, match="not a number"):
        engine.write(late_failure, REF, scd2())  # the MERGE of the staged changes
    assert table(engine).version() == 0


def test_a_lazy_merge_streams_its_source_and_the_story_counts_it(engine) -> None:
    engine.write(numbers(), REF, overwrite())
    half = ROWS // 2
    source = numbers().with_columns(pl.col("id") + half, pl.lit("new").alias("text"))
    result = engine.write(source, REF, merge())
    assert result.rows == ROWS
    assert result.sample == source.head(20).collect().to_dicts()
    assert result.metrics["num_source_rows"] == ROWS
    assert result.metrics["num_target_rows_updated"] == ROWS - half
    assert result.metrics["num_target_rows_inserted"] == half
    written = read(engine)
    assert written.height == ROWS + half
    assert written.filter(pl.col("text") == "new")["id"].sort().to_list() == list(
        range(half, ROWS + half)
    )


@pytest.mark.parametrize("spec", [merge(), scd2()], ids=["merge", "scd2"])
def test_a_key_repeated_in_the_last_batch_fails_before_anything_is_written(engine, spec) -> None:
    engine.write(numbers(10), REF, spec)
    repeated = pl.concat([numbers(), numbers(1)])  # id 0 again, after 300k rows
    with pytest.raises(WriteError, match="1 key\\(s\\) appear more than once") as info:
        engine.write(repeated, REF, spec)
    assert "{'id': 0}" in info.value.message
    assert table(engine).version() == 0


def test_a_lazy_scd2_stages_changed_and_new_keys_and_the_story_counts_the_source(
    engine,
) -> None:
    engine.write(numbers(), REF, scd2())
    changed = pl.col("id") % 10 == 0  # 1 in 10 keys changes, and as many new keys arrive
    source = numbers().with_columns(
        pl.when(changed).then(pl.lit("changed")).otherwise(pl.col("text")).alias("text")
    )
    source = pl.concat([source, numbers(ROWS // 10).with_columns(pl.col("id") + ROWS)])
    result = engine.write(source, REF, scd2())
    assert result.rows == ROWS + ROWS // 10
    assert result.sample == source.head(20).collect().to_dicts()
    assert result.metrics["num_target_rows_updated"] == ROWS // 10  # versions closed
    assert result.metrics["num_target_rows_inserted"] == 2 * (ROWS // 10)
    written = read(engine)
    current = written.filter(pl.col("is_current"))
    assert current.height == ROWS + ROWS // 10
    assert current.filter(pl.col("text") == "changed").height == ROWS // 10
    closed = written.filter(~pl.col("is_current"))
    assert closed.height == ROWS // 10
    assert closed["valid_to"].null_count() == 0


def test_an_empty_lazy_append_commits_nothing(engine) -> None:
    engine.write(numbers(10), REF, overwrite())
    result = engine.write(
        numbers().filter(pl.col("id") < 0), REF, AppendWrite(table=REF.full_name, mode="append")
    )
    assert not result.committed
    assert result.rows == 0
    assert table(engine).version() == 0


def test_a_lazy_replace_where_replaces_only_the_predicate_rows(engine) -> None:
    engine.write(numbers(), REF, overwrite())
    spec = ReplaceWhereWrite(table=REF.full_name, mode="replace_where", predicate="bucket = 3")
    fresh = numbers().filter(pl.col("bucket") == 3).with_columns(pl.lit("new").alias("text"))
    result = engine.write(fresh, REF, spec)
    written = pl.read_delta(engine.catalog.location(REF).uri)
    assert result.rows == written.filter(pl.col("bucket") == 3).height > 0
    assert set(written.filter(pl.col("bucket") == 3)["text"]) == {"new"}
    assert written.height == ROWS


def test_sql_reads_only_the_columns_its_query_uses(engine) -> None:
    bad = (pl.col("text") + "x").cast(pl.Int64, strict=True)  # fails on every row it computes
    poisoned = numbers(1000).with_columns(bad.alias("bad"))
    out = engine.sql("SELECT bucket, count(*) AS n FROM t GROUP BY bucket", {"t": poisoned})
    assert out.collect()["n"].sum() == 1000  # `bad` is never computed
    with pytest.raises(pl.exceptions.InvalidOperationError):  # the input's own error
        engine.sql("SELECT max(bad) FROM t", {"t": poisoned}).collect()


SCHEMAS = {"t": ["a", "b", "c", "D"], "u": ["k", "v"]}


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT b, count(DISTINCT c) FROM t GROUP BY b", {"t": ["b", "c"]}),
        ("SELECT count(*) FROM t", {"t": ["a"]}),  # any one column: the rows still count
        ("SELECT * FROM t", {"t": ["a", "b", "c", "D"]}),
        ("SELECT x.d FROM t AS x JOIN u ON x.a = u.k", {"t": ["a", "D"], "u": ["k"]}),
        (
            "SELECT a FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.k = t.b)",
            {"t": ["a", "b"], "u": ["k"]},
        ),
        ("WITH w AS (SELECT c FROM t) SELECT c FROM w", {"t": ["c"]}),
    ],
)
def test_read_columns_finds_what_each_table_gives_the_query(sql, expected) -> None:
    assert read_columns(sql, {t: SCHEMAS[t] for t in expected}) == expected


def test_read_columns_reads_whole_tables_when_a_column_does_not_resolve() -> None:
    assert read_columns("SELECT nope FROM t", {"t": SCHEMAS["t"]}) == {}
    assert read_columns("SELECT a FROM t", {"t": ["a", "A"]}) == {}  # which one? read both


def read_columns(sql: str, schemas: dict[str, list[str]]) -> dict[str, list[str]]:
    return QueryReads(
        sql, {t: dict.fromkeys(cols, pl.Int64()) for t, cols in schemas.items()}
    ).columns()


def test_sql_results_are_read_lazily_with_the_columns_asked_for(engine) -> None:
    out = engine.sql(
        "SELECT a.id, b.id, a.text FROM t a JOIN t b ON a.id = b.id", {"t": numbers(50)}
    )
    assert out.collect_schema().names() == ["id", "id_1", "text"]  # as DuckDB names repeats
    picked = out.select("id_1").filter(pl.col("id_1") >= 45).collect()  # read by position
    assert sorted(picked["id_1"]) == [45, 46, 47, 48, 49]
    assert out.collect().height == out.collect().height == 50  # each read runs the query


def test_sql_failing_while_it_runs_is_a_sql_error_when_read(engine) -> None:
    out = engine.sql("SELECT CAST(text || 'x' AS INT) AS n FROM t", {"t": numbers(10)})
    with pytest.raises(SqlError, match="SQL failed on the embedded engine") as info:
        out.collect()
    assert "transpiled to DuckDB" in info.value.hint
