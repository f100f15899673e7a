"""Parity: the same project on the embedded engine and on local Spark gives the same tables.

Each test builds twin projects, runs one on Polars and one on Spark (the local Delta bridge),
and compares every table of the two warehouses: schemas, partitioning and sorted rows. Only
values that name a run (run ids, run start times) are left out. One JVM per test process:
the session fixture starts it once and the engine's factory reuses it.

Run only these: .venv/bin/pytest -m spark
"""

from __future__ import annotations

import json
import shutil
import textwrap
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from deltalake import DeltaTable

from conftest import PROJECT_YAML, Project
from lakesmith.config import load_project, models
from lakesmith.config.models import EngineName, SparkSettings
from lakesmith.engines import default_engine
from lakesmith.engines.frames import sql_type
from lakesmith.pipeline import state
from lakesmith.pipeline.plan import build_plan
from lakesmith.pipeline.runner import Runner
from lakesmith.pipeline.story.model import RunStory

pytest.importorskip("pyspark", reason="the spark extra is not installed")

pytestmark = pytest.mark.spark

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "customer360"

UTC_US = pl.Datetime("us", "UTC")
RUN_COLUMNS = {"_run_id", "_quarantined_at", "run_id", "checked_at", "updated_at"}
"""Columns naming the run that wrote a row: they differ between any two runs."""

KNOWN_TYPE_GAPS = {("gold.customer_360", "lifetime_value"): ("decimal(38,2)", "decimal(22,2)")}
"""(schema.table, column) -> (embedded type, Spark type) where the embedded engine's SQL is
not yet Spark's: DuckDB sums decimal(p, s) as decimal(38, s), Spark as decimal(p + 10, s)."""


def known_gap(table: str, column: str) -> tuple[str, str] | None:
    """The known type gap of a column of ``catalog.schema.table`` or ``catalog/schema/table``."""
    short = ".".join(table.replace("/", ".").split(".")[-2:])
    return KNOWN_TYPE_GAPS.get((short, column))


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The process's local session, started once; every SparkEngine below reuses it. It is
    not stopped: other spark-marked modules on this worker share it."""
    from lakesmith.runtime.spark import get_spark

    return get_spark(
        tmp_path_factory.mktemp("spark_home"), SparkSettings(master="local[2]")
    ).session


@pytest.fixture
def twins(spark: Any, tmp_path: Path) -> Callable[[str], tuple[Project, Project]]:
    """Two empty projects with the same YAML: one run on Polars, one on Spark."""

    def make(yaml: str = PROJECT_YAML) -> tuple[Project, Project]:
        pair = []
        for name in ("embedded", "spark"):
            project = Project(tmp_path / name)
            project.write("lakesmith.yaml", yaml)
            project.write("config/local.yaml", "{}\n")
            pair.append(project)
        return pair[0], pair[1]

    return make


def run(project: Project, engine: EngineName, **selection: list[str]) -> RunStory:
    cfg = load_project(project.root, "local")
    runner = Runner(cfg, engine=default_engine(cfg, name=engine), max_workers=2)
    return runner.run(build_plan(cfg, **selection))


def run_both(embedded: Project, on_spark: Project) -> tuple[RunStory, RunStory]:
    return run(embedded, "polars"), run(on_spark, "spark")


def tables(root: Path) -> dict[str, Path]:
    """Every Delta table of a warehouse as ``catalog/schema/table`` -> folder."""
    warehouse = root / "warehouse"
    return {
        log.parent.relative_to(warehouse).as_posix(): log.parent
        for log in sorted(warehouse.glob("*/*/*/_delta_log"))
    }


def comparable(name: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Rows in a canonical order: run-naming columns dropped, unordered values sorted.

    ``collect_set`` has no order on either engine; quality samples are a few failing rows,
    which rows come first depends on the engine's row order.
    """
    frame = frame.drop([c for c in RUN_COLUMNS if c in frame.columns])
    lists = [c for c, t in frame.schema.items() if isinstance(t, pl.List)]
    frame = frame.with_columns(pl.col(c).list.sort() for c in lists)
    if name.endswith("_lakesmith/watermarks"):  # naive from a naive file column on Polars
        marks = [state.encode(state.align(state.decode(v), UTC_US)) for v in frame["value"]]
        frame = frame.with_columns(pl.Series("value", marks))
    if name.endswith("_lakesmith/quality_results"):
        samples = [json.dumps(sorted(json.loads(s), key=str)) for s in frame["sample"]]
        frame = frame.with_columns(pl.Series("sample", samples))
    return frame.sort(pl.all(), nulls_last=True)


def assert_same_tables(embedded: Project, on_spark: Project) -> None:
    left, right = tables(embedded.root), tables(on_spark.root)
    assert sorted(left) == sorted(right)
    for name, folder in left.items():
        a, b = pl.read_delta(str(folder)), pl.read_delta(str(right[name]))
        for column in a.columns:
            if (gap := known_gap(name, column)) and column in b.columns:
                assert (sql_type(a.schema[column]), sql_type(b.schema[column])) == gap, name
                b = b.with_columns(pl.col(column).cast(a.schema[column]))
        assert a.schema == b.schema, f"{name}: {a.schema} != {b.schema}"
        partitions = [
            DeltaTable(str(f)).metadata().partition_columns for f in (folder, right[name])
        ]
        assert partitions[0] == partitions[1], name
        x, y = comparable(name, a), comparable(name, b)
        assert x.to_dicts() == y.to_dicts(), f"{name} differs:\n{x}\n{y}"


def assert_same_stories(a: RunStory, b: RunStory) -> None:
    assert (a.engine, b.engine) == ("polars", "spark")
    assert a.status == b.status

    def nodes(story: RunStory) -> dict[str, Any]:
        return {
            n.name: (
                n.status,
                n.rows_in,
                n.rows_out,
                n.quarantined,
                n.version,
                [(c, (known_gap(n.table, c) or (t,))[0]) for c, t in n.schema_ or []],
                [(q["name"], q["success"], q["fail_count"]) for q in n.quality or []],
                n.error.type if n.error else None,
            )
            for n in story.nodes
        }

    assert nodes(a) == nodes(b)


# --- the example project -----------------------------------------------------------------


def example(root: Path) -> Project:
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("warehouse", ".lakesmith"))
    return Project(root)


@pytest.mark.slow
def test_customer360_gives_the_same_tables_run_after_run(spark: Any, tmp_path: Path) -> None:
    embedded, on_spark = example(tmp_path / "embedded"), example(tmp_path / "spark")
    first = run_both(embedded, on_spark)
    assert first[1].status == "succeeded", [n.error for n in first[1].nodes if n.error]
    assert_same_stories(*first)
    assert_same_tables(embedded, on_spark)
    assert on_spark.node(first[1], "silver_orders").quarantined == 1

    # new and changed orders (one bad), a moved customer and a new one: the second run reads
    # only orders above the watermark, merges, closes and opens SCD2 versions
    for project in (embedded, on_spark):
        with (project.root / "data" / "orders.jsonl").open("a") as f:
            for row in (
                (1002, 1, 40.0, "refunded", "2026-10-21T10:00:00Z"),
                (2001, 13, 120.5, "completed", "2026-10-21T11:00:00Z"),
                (2002, 13, 15.0, "lost", "2026-10-21T12:00:00Z"),
            ):
                order_id, customer, amount, status, at = row
                record = {"order_id": order_id, "customer_id": customer, "amount": amount}
                record |= {"status": status, "ordered_at": at, "updated_at": at}
                f.write(json.dumps(record) + "\n")
        with (project.root / "data" / "customers.csv").open("a") as f:
            f.write("7,Margaret Hamilton,margaret@mit.edu,+1 617 555 0107,Boston,enterprise,")
            f.write("2026-10-22T09:00:00\n13,Barbara Liskov,bl@mit.edu,+1 617 555 0113,")
            f.write("Cambridge,smb,2026-10-22T10:00:00\n")
    second = run_both(embedded, on_spark)
    assert_same_stories(*second)
    assert on_spark.node(second[1], "bronze_orders").rows_out == 3
    assert_same_tables(embedded, on_spark)

    third = run_both(embedded, on_spark)  # nothing new: no versions, no rows
    assert_same_stories(*third)
    assert on_spark.node(third[1], "bronze_orders").status == "no_new_data"
    assert_same_tables(embedded, on_spark)


# --- every write mode --------------------------------------------------------------------

MODES = """\
    name: modes
    nodes:
      - name: overwrite
        inputs: {src: {connection: files, path: sales.csv}}
        write: {table: s.overwrite, mode: overwrite}
      - name: partitioned
        inputs: {src: {connection: files, path: sales.csv}}
        write: {table: s.partitioned, mode: overwrite, partition_by: [region]}
      - name: append
        inputs: {src: {connection: files, path: sales.csv}}
        write: {table: s.append, mode: append, partition_by: [region]}
      - name: evolve
        inputs: {src: {connection: files, path: sales.csv}}
        write: {table: s.evolve, mode: append, schema_evolution: true}
      - name: replace_where
        inputs: {src: {connection: files, path: sales.csv}}
        transform: {sql: "SELECT * FROM src WHERE region = 'EU'"}
        write: {table: s.replace_where, mode: replace_where, predicate: "region = 'EU'"}
      - name: merge
        inputs: {src: {connection: files, path: sales.csv}}
        transform: {sql: "SELECT id, region, amount, at FROM src"}
        write:
          table: s.merge
          mode: merge
          keys: [id]
          update_condition: source.amount <> target.amount
          delete_condition: source.amount < 0
          delete_unmatched: true
      - name: scd2
        inputs: {src: {connection: files, path: sales.csv}}
        transform: {sql: "SELECT id, region, amount, at FROM src"}
        write: {table: s.scd2, mode: scd2, keys: [id], effective_column: at}
    """


def sales(rows: list[tuple[int, str, float, str]], extra: bool = False) -> pl.DataFrame:
    frame = pl.DataFrame(rows, schema=["id", "region", "amount", "at"], orient="row").with_columns(
        pl.col("at").str.to_datetime()
    )
    return frame.with_columns(channel=pl.lit("web")) if extra else frame


@pytest.mark.slow
def test_every_write_mode_gives_the_same_tables(twins: Callable[..., Any]) -> None:
    embedded, on_spark = twins()
    batches = [
        sales([(1, "EU", 10.0, "2024-01-01 10:00:00"), (2, "US", 20.0, "2024-01-01 11:00:00")]),
        sales(
            [
                (1, "EU", 15.0, "2024-01-02 10:00:00"),
                (2, "US", -1.0, "2024-01-02 11:00:00"),
                (3, "EU", 30.0, "2024-01-02 12:00:00"),
            ],
            extra=True,  # a new column: evolves 'evolve', is refused by 'append'
        ),
        sales([(3, "EU", 30.0, "2024-01-02 12:00:00"), (4, "APAC", 5.0, "2024-01-03 09:00:00")]),
    ]
    for project in (embedded, on_spark):
        project.pipeline(MODES)
    for batch in batches:
        for project in (embedded, on_spark):
            project.csv("sales.csv", batch)
        stories = run_both(embedded, on_spark)
        assert_same_stories(*stories)
        assert_same_tables(embedded, on_spark)
        refused = "channel" in batch.columns  # append without schema_evolution
        assert (on_spark.node(stories[1], "append").status == "failed") == refused
    history = on_spark.table("s.scd2").sort("id", "valid_from")
    assert history.filter(pl.col("id") == 1)["is_current"].to_list() == [False, True]


def test_write_errors_are_the_same(twins: Callable[..., Any]) -> None:
    embedded, on_spark = twins()
    pipeline = """\
        name: main
        nodes:
          - name: dupes
            inputs: {src: {connection: files, path: dupes.csv}}
            write: {table: s.dupes, mode: merge, keys: [id]}
          - name: narrow
            inputs: {src: {connection: files, path: dupes.csv}}
            write: {table: s.narrow, mode: append}
        """
    for project in (embedded, on_spark):
        project.pipeline(pipeline)
        project.csv("dupes.csv", pl.DataFrame({"id": [1, 2], "v": ["a", "b"]}))
    run_both(embedded, on_spark)
    for project in (embedded, on_spark):
        project.csv("dupes.csv", pl.DataFrame({"id": [1, 1, 2], "v": ["a", "b", "c"], "x": 1}))
    stories = run_both(embedded, on_spark)
    assert_same_stories(*stories)
    errors = [{n.name: n.error.message for n in s.nodes if n.error} for s in stories]
    assert errors[0] == errors[1]
    assert "1 key(s) appear more than once in the merge source" in errors[1]["dupes"]
    assert "does not match the table schema" in errors[1]["narrow"]
    assert_same_tables(embedded, on_spark)


# --- quality -----------------------------------------------------------------------------


def test_quality_results_and_quarantine_are_the_same(twins: Callable[..., Any]) -> None:
    embedded, on_spark = twins()
    now = datetime.now(UTC).replace(microsecond=0)
    orders = pl.DataFrame(
        {
            "order_id": [1, 2, 3, 3, 5, 6, 7],
            "email": ["a@x.io", "bad", None, "c@x.io", "d@x.io", "e@x.io", "f@x.io"],
            "amount": [10.0, -5.0, 20.0, 20.0, 5000.0, None, 7.5],
            "status": ["a", "b", "a", "x", "a", "a", "c"],
            "at": [now] * 7,
        }
    )
    pipeline = """\
        name: main
        nodes:
          - name: silver
            inputs: {raw: {connection: files, path: orders.parquet}}
            write: {table: silver.orders, mode: overwrite}
            quality:
              on_error: quarantine
              rules:
                - {check: unique, columns: [order_id]}
                - {check: not_null, column: email, severity: warn}
                - {check: matches, column: email, pattern: email}
                - {check: in_range, column: amount, min: 0, name: positive}
                - {check: in_set, column: status, values: [a, b, c], filter: "amount > 0"}
                - {check: expr, expr: "amount < 1000 OR status = 'a'", name: plausible}
                - {check: row_count, min: 1, max: 100}
                - {check: freshness, column: at, max_age_hours: 24}
                - {check: in_range, column: amount, max: 100, severity: warn,
                   tolerance: {max_count: 1}}
          - name: strict
            inputs: {raw: {connection: files, path: orders.parquet}}
            write: {table: silver.strict, mode: overwrite}
            quality:
              rules: [{check: in_range, column: amount, min: 0, name: positive}]
        """
    for project in (embedded, on_spark):
        project.pipeline(pipeline)
        project.parquet("orders.parquet", orders)
    stories = run_both(embedded, on_spark)
    assert_same_stories(*stories)
    silver = on_spark.node(stories[1], "silver")
    assert silver.quarantined == 3
    assert on_spark.node(stories[1], "strict").error.type == "QualityFailed"
    assert_same_tables(embedded, on_spark)
    quarantine = on_spark.table("silver.orders_quarantine").sort("order_id")
    assert quarantine["_failed_rules"].to_list()[0] == ["matches_email", "positive"]


class RefusesCheckpoints:
    """A frame of compute that refuses local checkpoints, as serverless may: none here."""

    def __init__(self, condition: str) -> None:
        self.condition = condition

    def localCheckpoint(self, eager: bool) -> Any:
        from pyspark.errors import AnalysisException

        raise AnalysisException(message=f"[{self.condition}] no", errorClass=self.condition)


def test_compute_refusing_checkpoints_gets_its_frame_unpinned_and_other_errors_raise(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from pyspark.errors import AnalysisException

    from lakesmith.engines import spark_quality

    refusing = RefusesCheckpoints("NOT_SUPPORTED_WITH_SERVERLESS")
    assert spark_quality.pin(refusing) is refusing  # type: ignore[arg-type]
    assert "cannot checkpoint" in caplog.text and "NOT_SUPPORTED_WITH_SERVERLESS" in caplog.text
    with pytest.raises(AnalysisException, match="DIVIDE_BY_ZERO"):
        spark_quality.pin(RefusesCheckpoints("DIVIDE_BY_ZERO"))  # type: ignore[arg-type]


def test_quality_gate_runs_the_transform_once_on_spark(twins: Callable[..., Any]) -> None:
    """The check, the quarantine split and both writes read one pinned copy of the node's
    output: an expensive (or nondeterministic) transform runs once per row, not per query.
    (The in_set rule has more values than LARGE_SET: a subquery in the split's projection.)"""
    _, on_spark = twins()
    calls = on_spark.root / "calls.txt"
    on_spark.write(
        "counted_tx.py",
        """\
        import narwhals as nw
        from pyspark.sql import functions as F

        def tick(orders, params):
            def seen(order_id):
                with open(params["calls"], "a") as out:
                    out.write(".")
                return order_id

            counted = F.udf(seen, "bigint").asNondeterministic()
            native = nw.to_native(orders)
            return native.withColumn("order_id", counted("order_id"))
        """,
    )
    on_spark.pipeline(
        f"""\
        name: main
        nodes:
          - name: silver
            inputs: {{orders: {{connection: files, path: orders.parquet}}}}
            transform: {{python: "counted_tx:tick", params: {{calls: "{calls}"}}}}
            write: {{table: silver.orders, mode: overwrite}}
            quality:
              on_error: quarantine
              rules:
                - {{check: in_range, column: amount, min: 0, name: positive}}
                - {{check: not_null, column: email, severity: warn}}
                - {{check: in_set, column: order_id, values: {list(range(1, 101))}}}
        """
    )
    orders = pl.DataFrame(
        {
            "order_id": [1, 2, 3, 4, 5, 6],
            "amount": [10.0, -1.0, 5.0, -2.0, 3.0, 4.0],
            "email": ["a@x.io", None, "c@x.io", "d@x.io", None, "f@x.io"],
        }
    )
    on_spark.parquet("orders.parquet", orders)
    silver = on_spark.node(run(on_spark, "spark"), "silver")
    assert (silver.status, silver.rows_out, silver.quarantined) == ("succeeded", 4, 2)
    assert on_spark.table("silver.orders_quarantine")["order_id"].sort().to_list() == [2, 4]
    assert len(calls.read_text()) == orders.height


# --- SQL, Python transforms, incremental reads -------------------------------------------


def test_sql_and_python_transforms_and_incremental_reads_match(twins: Callable[..., Any]) -> None:
    embedded, on_spark = twins()
    module = textwrap.dedent(
        """\
        import narwhals as nw

        from lakesmith.dedupe import one_per_key

        def enrich(events, params):
            return (
                one_per_key(events, ["kind", "at"], latest_by="value")
                .filter(nw.col("kind") != "noise")
                .with_columns((nw.col("value") * params["factor"]).alias("scaled"))
                .group_by("kind")
                .agg(nw.col("scaled").sum(), nw.len().alias("n"))
            )
        """
    )
    pipeline = """\
        name: main
        nodes:
          - name: bronze
            inputs:
              raw: {connection: files, path: events.csv, incremental: {column: at}}
            write: {table: bronze.events, mode: append}
          - name: python
            inputs: {events: bronze.events}
            transform: {python: "parity_tx:enrich", params: {factor: 2}}
            write: {table: silver.kinds, mode: overwrite}
          - name: sql
            transform:
              sql: |
                SELECT kind, date_trunc('HOUR', at) AS hour, count(*) AS n,
                       collect_list(value) AS values, max(at) AS last_at,
                       CAST(sum(value) AS DECIMAL(10, 2)) AS total
                FROM bronze.events
                GROUP BY kind, date_trunc('HOUR', at)
            write: {table: gold.hourly, mode: overwrite}
        """
    for project in (embedded, on_spark):
        project.pipeline(pipeline)
        project.write("parity_tx.py", module)
    seen = pl.DataFrame()
    for start in (0, 4):
        times = [f"2024-03-01 {h:02d}:30:00" for h in range(start, start + 4)]
        events = pl.DataFrame(  # the last row twice: the Python node keeps one
            {
                "kind": ["a", "b", "noise", "a", "a"],
                "value": [1, 2, 3, 4, 4],
                "at": [*times, times[-1]],
            }
        )
        seen = pl.concat([seen, events])  # the file grows; only new rows are read
        for project in (embedded, on_spark):
            project.csv("events.csv", seen)
        stories = run_both(embedded, on_spark)
        assert_same_stories(*stories)
        assert on_spark.node(stories[1], "bronze").rows_out == 5
        assert_same_tables(embedded, on_spark)
        kept = seen.unique().filter(pl.col("kind") != "noise").group_by("kind").len()
        assert (
            embedded.table("silver.kinds").sort("kind")["n"].to_list()
            == kept.sort("kind")["len"].to_list()
        )


def test_incremental_commits_on_spark_are_guarded_like_embedded_ones(
    twins: Callable[..., Any],
) -> None:
    """Two runs that read the same watermark must not both append the rows above it: an
    incremental commit carries the node's app transaction, and a commit whose run read an
    older one is refused before Spark writes a file (the runner then reruns the node)."""
    from lakesmith.engines.delta_writes import Guard
    from lakesmith.engines.spark_engine import SparkEngine
    from lakesmith.errors import ConcurrentWriteError
    from lakesmith.synth.writer import uncommitted

    _, on_spark = twins()
    on_spark.pipeline(
        """\
        name: main
        nodes:
          - name: bronze
            inputs: {raw: {connection: files, path: events.csv, incremental: {column: id}}}
            write: {table: bronze.events, mode: append}
        """
    )
    on_spark.csv("events.csv", pl.DataFrame({"id": [1, 2, 3]}))
    assert run(on_spark, "spark").status == "succeeded"
    cfg = load_project(on_spark.root, "local")
    engine = default_engine(cfg, name="spark")
    assert isinstance(engine, SparkEngine)
    ref, app = cfg.table("bronze.events"), "lakesmith.incremental:bronze"
    assert engine.guards_commits
    seen = engine.transaction_version(ref, app)
    assert seen is not None  # the run's commit carried it
    append = {"table": "bronze.events", "mode": "append"}
    spec = models.AppendWrite.model_validate(append)
    rows = [engine.spark.createDataFrame([(4,)], "id bigint"), pl.DataFrame({"id": [4]})]
    for k, frame in enumerate(rows):  # Spark writes the files / the embedded write
        won = Guard(app, seen + 2 * k + 1, engine.transaction_version(ref, app))
        engine.write(frame, ref, spec, guard=won)
        late = Guard(app, seen + 2 * k + 2, seen)  # read before the winner committed
        with pytest.raises(ConcurrentWriteError, match="after this run read its state"):
            engine.write(frame, ref, spec, guard=late)
        assert engine.transaction_version(ref, app) == won.version
        assert engine.row_count(ref) == 4 + k
    assert uncommitted(on_spark.root / "warehouse" / "main" / "bronze" / "events") == []


# --- the session and the CLI -------------------------------------------------------------


def test_the_local_session_answers_in_utc_and_keeps_its_files_in_the_project(
    spark: Any, tmp_path: Path
) -> None:
    from lakesmith.runtime.spark import get_spark

    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
    assert spark.conf.get("spark.sql.parquet.outputTimestampType") == "TIMESTAMP_MICROS"
    assert spark.conf.get("spark.sql.warehouse.dir").endswith(".lakesmith/spark/warehouse")
    assert get_spark(tmp_path, SparkSettings()).session is spark  # one per process


def test_a_setting_spark_refuses_names_the_key_and_where_it_belongs(spark: Any) -> None:
    from lakesmith.errors import LakesmithError
    from lakesmith.runtime.spark import apply_conf

    with pytest.raises(LakesmithError, match=r"'spark\.driver\.memory'") as caught:
        apply_conf(spark, {"spark.driver.memory": "64g"})
    assert "cluster's Spark config" in caught.value.hint
    assert "64g" not in str(caught.value)


def test_cli_engine_option_runs_a_polars_project_on_spark(spark: Any, project: Project) -> None:
    from typer.testing import CliRunner

    from lakesmith.cli.main import app
    from lakesmith.pipeline.story.store import load_story

    project.pipeline(
        """\
        name: main
        nodes:
          - name: load
            inputs: {src: {connection: files, path: src.csv}}
            write: {table: bronze.t, mode: overwrite}
        """
    )
    project.csv("src.csv", pl.DataFrame({"id": [1, 2]}))
    result = CliRunner().invoke(app, ["run", "-p", str(project.root), "--engine", "spark"])
    assert result.exit_code == 0, result.output
    story, _ = load_story(project.root / ".lakesmith" / "stories", None)
    assert story.engine == "spark"
    assert project.table("bronze.t")["id"].to_list() == [1, 2]
    bad = CliRunner().invoke(app, ["run", "-p", str(project.root), "--engine", "duckdb"])
    assert bad.exit_code == 2 and "polars, spark" in bad.output


def test_native_scd2_stage_finds_the_changes_the_embedded_engine_writes(spark: Any) -> None:
    """Databricks' MERGE cannot run here, but its source can: the staged union must hold
    exactly the versions to close (keyed) and to insert (unkeyed)."""
    from lakesmith.config.models import Scd2Write
    from lakesmith.engines.spark_native import scd2_stage_sql

    history = spark.createDataFrame(
        [(1, "Oslo", True), (2, "Rome", False), (2, "Paris", True), (3, None, True)],
        "id bigint, city string, is_current boolean",
    )
    source = spark.createDataFrame(
        [(1, "Oslo"), (2, "Lyon"), (3, None), (4, "Bergen")], "id bigint, city string"
    )
    history.createOrReplaceTempView("parity_history")
    source.createOrReplaceTempView("parity_source")
    spec = Scd2Write(table="s.h", mode="scd2", keys=["id"])
    run_at = datetime(2024, 5, 1, tzinfo=UTC)
    stage = spark.sql(
        scd2_stage_sql("parity_history", "parity_source", spec, ["id", "city"], ["city"], run_at)
    )
    rows = {
        (r["__lakesmith_mk_id"], r["id"], r["city"], r["valid_from"], r["is_current"])
        for r in stage.toArrow().to_pylist()
    }
    assert rows == {
        (2, 2, "Lyon", run_at, True),  # closes Paris
        (None, 2, "Lyon", run_at, True),  # opens Lyon
        (None, 4, "Bergen", run_at, True),  # a new key; 1 and 3 (NULL = NULL) are unchanged
    }


# --- streaming tables ----------------------------------------------------------------------


def test_streaming_example_gives_the_same_tables_exactly_once(spark: Any, tmp_path: Path) -> None:
    """Structured Streaming (file source, foreachBatch into delta-rs) vs the embedded engine:
    the same files give the same bronze, auto_cdc silver and gold tables, run after run."""
    from streaming_example import LANDING, copy_example, feed

    pair = []
    for name in ("embedded", "spark"):
        root = copy_example(tmp_path / name)
        feed(root / LANDING, files=5)
        pair.append(Project(root))
    embedded, on_spark = pair

    def same_tables() -> None:
        left, right = tables(embedded.root), tables(on_spark.root)
        data = sorted(n for n in left if "/_lakesmith/" not in n)
        assert data == sorted(n for n in right if "/_lakesmith/" not in n)
        assert len(data) == 3
        for name in data:
            a, b = pl.read_delta(str(left[name])), pl.read_delta(str(right[name]))
            b = b.cast(a.schema)  # the gold count: Polars u32, Spark bigint
            assert comparable(name, a).to_dicts() == comparable(name, b).to_dicts(), name

    first = run_both(embedded, on_spark)
    assert first[1].status == "succeeded", [n.error for n in first[1].nodes if n.error]
    bronze = on_spark.node(first[1], "bronze_changes")
    assert bronze.streaming is not None and bronze.streaming.batches
    assert bronze.rows_out == embedded.node(first[0], "bronze_changes").rows_out
    commits = on_spark.table("_lakesmith.stream_commits", catalog="shop")
    assert "customers.bronze_changes@spark" in commits["stream_id"].to_list()  # Spark's batches
    checkpoints = on_spark.root / "warehouse" / "shop" / "_lakesmith" / "_spark_checkpoints"
    assert (checkpoints / "customers.bronze_changes" / "offsets").is_dir()
    same_tables()

    for project in pair:  # more files: only they are read
        feed(project.root / LANDING, files=2, first=5)
    second = run_both(embedded, on_spark)
    assert on_spark.node(second[1], "bronze_changes").rows_in == 8
    same_tables()
    third = run_both(embedded, on_spark)  # nothing new
    assert on_spark.node(third[1], "bronze_changes").rows_in in (0, None)
    same_tables()


def test_auto_cdc_tombstones_on_spark_keep_a_late_change_out(
    twins: Callable[[str], tuple[Project, Project]],
) -> None:
    """A Spark file stream's micro-batches reach the embedded auto_cdc batch: the same
    tombstones (in the Spark stream's own store) keep a change older than a delete out."""
    from test_streaming_exactly_once import CDC, changes

    embedded, on_spark = twins(PROJECT_YAML)
    batches = [
        [(1, "ann", 1, "INSERT"), (2, "bob", 1, "INSERT")],
        [(1, None, 5, "DELETE")],
        [(1, "late", 3, "UPDATE"), (2, "bobby", 2, "UPDATE")],
    ]
    for k, batch in enumerate(batches):
        for project in (embedded, on_spark):
            project.pipeline(CDC)
            changes(project, f"c{k}.json", *batch)
        stories = run_both(embedded, on_spark)
        assert [s.status for s in stories] == ["succeeded", "succeeded"]
    for project in (embedded, on_spark):
        assert sorted(project.table("silver.customers").rows()) == [(2, "bobby", 2)]
    store = on_spark.root / "warehouse/main/_lakesmith/_cdc_tombstones/ingest.customers@spark"
    assert pl.read_delta(str(store))["id"].to_list() == [1]
