"""The streaming example's SDP export runs on local Spark and builds the tables the embedded
run builds (its auto_cdc node as a snapshot, the default: Spark's own Parquet tables cannot
MERGE), with one more streaming table whose SQL reads a table stream.

Two levels: ``spark-pipelines run`` itself (needs Spark Connect, i.e. grpcio, which the
``spark`` extra does not install: skipped without it), and the exported dataset functions
executed on a classic local session in the order the module declares them, streaming tables
with ``trigger(availableNow=True)``, materialized views as batch writes.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml

from lakesmith.config import load_project
from lakesmith.config.models import SparkSettings
from lakesmith.export import sdp
from lakesmith.export.model import build
from lakesmith.pipeline.plan import build_plan
from lakesmith.pipeline.runner import Runner

pytest.importorskip("pyspark.pipelines")

from pyspark.pipelines.graph_element_registry import (
    GraphElementRegistry,
    graph_element_registration_context,
)

from streaming_example import LANDING, copy_example, feed, rows
from test_export import STREAM_SQL_NODE

pytestmark = [pytest.mark.spark, pytest.mark.slow]

TABLES = ("bronze_changes", "silver_customers", "big_changes", "gold_by_country")


@pytest.fixture
def example(tmp_path: Path) -> Path:
    root = copy_example(tmp_path / "streaming")
    pipeline = root / "pipelines" / "customers.yaml"
    pipeline.write_text(pipeline.read_text() + STREAM_SQL_NODE)
    feed(root / LANDING)
    return root


def embedded_tables(root: Path) -> dict[str, pl.DataFrame]:
    cfg = load_project(root, "local")
    story = Runner(cfg, save=False).run(build_plan(cfg))
    assert story.status == "succeeded"
    wh = root / "warehouse" / "shop" / "crm"
    return {t: pl.read_delta(str(wh / t)) for t in TABLES}


class Flows(GraphElementRegistry):
    def __init__(self) -> None:
        self.flows: list[Any] = []

    def register_output(self, output: Any) -> None:
        pass

    def register_flow(self, flow: Any) -> None:
        self.flows.append(flow)

    def register_auto_cdc_flow(self, flow: Any) -> None:  # pragma: no cover
        raise AssertionError("auto_cdc exports as a snapshot by default")

    def register_sql(self, sql_text: str, file_path: Path) -> None:  # pragma: no cover
        raise AssertionError("the export writes Python only")


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from lakesmith.runtime.spark import get_spark

    return get_spark(
        tmp_path_factory.mktemp("spark_home"), SparkSettings(master="local[2]")
    ).session


def test_exported_datasets_on_local_spark_equal_the_embedded_tables(
    example: Path, tmp_path: Path, spark: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = embedded_tables(example)
    out = tmp_path / "sdp"
    sdp.write(build(load_project(example, "local"), "customers"), out)
    spec = yaml.safe_load((out / sdp.SPEC_FILE).read_text())
    for key, value in spec["configuration"].items():
        spark.conf.set(key, value)
    registry = Flows()
    monkeypatch.syspath_prepend(str(example))
    module_path = out / "transformations" / "customers.py"
    loader = importlib.util.spec_from_file_location("sdp_customers", module_path)
    assert loader and loader.loader
    with graph_element_registration_context(registry):
        loader.loader.exec_module(importlib.util.module_from_spec(loader))
    spark.sql("CREATE DATABASE IF NOT EXISTS crm")
    for flow in registry.flows:  # declaration order is dependency order
        frame = flow.func()
        if frame.isStreaming:
            query = (
                frame.writeStream.trigger(availableNow=True)
                .option("checkpointLocation", str(tmp_path / "checkpoints" / flow.name))
                .toTable(flow.target)
            )
            query.awaitTermination()
        else:
            frame.write.mode("overwrite").saveAsTable(flow.target)
    for table, want in expected.items():
        got = pl.from_pandas(spark.read.table(f"crm.{table}").toPandas())
        assert rows(got) == rows(want), table
    spark.sql("DROP DATABASE crm CASCADE")


def test_spark_pipelines_run_builds_the_embedded_tables(example: Path, tmp_path: Path) -> None:
    """The real ``spark-pipelines run`` CLI, twice (the second run must be a no-op)."""
    pytest.importorskip(
        "grpc", reason="spark-pipelines needs Spark Connect: pip install pyspark[connect]"
    )
    expected = embedded_tables(example)
    out = tmp_path / "sdp"
    sdp.write(build(load_project(example, "local"), "customers"), out)
    bin_dir = Path(sys.executable).parent
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(example),
        "PYSPARK_PYTHON": sys.executable,
    }
    metastore = tmp_path / "metastore_db"  # Derby's default is ./metastore_db: pin it
    hive = [
        "--conf",
        "spark.sql.catalogImplementation=hive",
        "--conf",
        f"spark.sql.warehouse.dir={tmp_path / 'spark-warehouse'}",
        "--conf",
        f"spark.hadoop.javax.jdo.option.ConnectionURL=jdbc:derby:;databaseName={metastore};"
        "create=true",
        *("--conf", "spark.sql.shuffle.partitions=2"),
    ]

    def spark_sql(statements: str) -> None:
        subprocess.run(
            [bin_dir / "spark-sql", *hive, "-e", statements],
            cwd=out,
            env=env,
            check=True,
            capture_output=True,
            timeout=600,
        )

    spark_sql("CREATE DATABASE IF NOT EXISTS crm")
    for _ in range(2):  # the second run finds no new file: the tables must not change
        done = subprocess.run(
            [bin_dir / "spark-pipelines", "run", *hive],
            cwd=out,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    # the tables' Parquet files where the metastore keeps them (a reader's JVM costs ~15 s);
    # a stale or duplicate file would break the equality, never hide a difference
    for table, want in expected.items():
        got = pl.read_parquet(tmp_path / "spark-warehouse" / "crm.db" / table / "*.parquet")
        assert rows(got) == rows(want), table
