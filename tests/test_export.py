"""``lakesmith export lakeflow|sdp``: the streaming example as declarative pipeline code.

The generated modules are imported under the installed pyspark with a recording graph
registry (pyspark's own extension point), so the decorators register datasets without
running them. ``dp.expect*`` exist only in the Databricks runtime, and OSS
``create_auto_cdc_flow`` needs Spark Connect (grpcio): those are recorded by fakes that bind
their arguments to the real signature where there is one.
"""

from __future__ import annotations

import importlib.util
import inspect
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from lakesmith.cli.main import app
from lakesmith.config import load_project
from lakesmith.export import lakeflow, sdp
from lakesmith.export.model import ExportError, build
from lakesmith.quality.compiler import passes, to_sql
from lakesmith.quality.rules import rule_name
from streaming_example import copy_example

pytest.importorskip("pyspark.pipelines")

from pyspark import pipelines as dp
from pyspark.pipelines.graph_element_registry import (
    GraphElementRegistry,
    graph_element_registration_context,
)

GOLDEN_BUNDLE = Path(__file__).parent / "golden" / "bundle"
RUFF = Path(sys.executable).parent / "ruff"
runner = CliRunner()


class Recorder(GraphElementRegistry):
    """Keeps what a pipeline module declares."""

    def __init__(self) -> None:
        self.outputs: dict[str, Any] = {}
        self.flows: dict[str, Any] = {}
        self.cdc: list[dict[str, Any]] = []
        self.expectations: dict[str, list[tuple[str, str, str]]] = {}

    def register_output(self, output: Any) -> None:
        self.outputs[output.name] = output

    def register_flow(self, flow: Any) -> None:
        self.flows[flow.target] = flow

    def register_auto_cdc_flow(self, flow: Any) -> None:  # pragma: no cover
        raise AssertionError("_import records create_auto_cdc_flow's arguments instead")

    def register_sql(self, sql_text: str, file_path: Path) -> None:  # pragma: no cover
        raise AssertionError("the exports write Python only")


@pytest.fixture
def example(tmp_path: Path) -> Path:
    return copy_example(tmp_path / "streaming")


def _import(path: Path, recorder: Recorder, monkeypatch: pytest.MonkeyPatch, root: Path) -> None:
    def expectation(kind: str):
        def make(name: str, constraint: str):
            def decorate(func):
                recorder.expectations.setdefault(func.__name__, []).append((kind, name, constraint))
                return func

            return decorate

        return make

    for kind in ("expect", "expect_or_drop", "expect_or_fail"):
        monkeypatch.setattr(dp, kind, expectation(kind), raising=False)
    # the arguments as the module wrote them (with grpcio the real function turns them into
    # Spark Connect columns), checked against the real signature
    real = dp.create_auto_cdc_flow

    def auto_cdc(*args: Any, **kwargs: Any) -> None:
        bound = inspect.signature(real).bind(*args, **kwargs)
        recorder.cdc.append(dict(bound.arguments))

    monkeypatch.setattr(dp, "create_auto_cdc_flow", auto_cdc)
    monkeypatch.syspath_prepend(str(root))
    spec = importlib.util.spec_from_file_location(f"exported_{path.stem}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    with graph_element_registration_context(recorder):
        spec.loader.exec_module(module)


@pytest.fixture
def lakeflow_bundle(example: Path, tmp_path: Path) -> Iterator[Path]:
    bundle = tmp_path / "bundle"
    shutil.copytree(GOLDEN_BUNDLE, bundle, ignore=shutil.ignore_patterns("__pycache__"))
    result = runner.invoke(
        app,
        [
            "export",
            "lakeflow",
            "customers",
            "-p",
            str(example),
            "-e",
            "local",
            "--bundle",
            str(bundle),
        ],
    )
    assert result.exit_code == 0, result.output
    yield bundle


MODULE = "lakeflow/shop_crm_gold_customers/shop_crm_gold_customers.py"
SQL_GOLD = (
    "sql: SELECT country, count(*) AS customers, sum(amount) AS amount FROM customers GROUP BY 1"
)
PYTHON_GOLD = "python: transformations.gold:by_country"


def python_gold(root: Path) -> None:
    """The example with its gold transform in Python (narwhals) instead of SQL."""
    package = root / "transformations"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "gold.py").write_text(
        "import narwhals as nw\n\n\n"
        "def by_country(customers: nw.LazyFrame) -> nw.LazyFrame:\n"
        '    return customers.group_by("country").agg(\n'
        '        nw.len().alias("customers"), nw.col("amount").sum().alias("amount")\n'
        "    )\n"
    )
    pipeline = root / "pipelines" / "customers.yaml"
    text = pipeline.read_text()
    assert SQL_GOLD in text
    pipeline.write_text(text.replace(SQL_GOLD, PYTHON_GOLD))


def test_lakeflow_module_declares_every_node(
    lakeflow_bundle: Path, example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = lakeflow_bundle / MODULE
    compile(path.read_text(), str(path), "exec")
    recorder = Recorder()
    _import(path, recorder, monkeypatch, example)
    kinds = {name: type(out).__name__ for name, out in recorder.outputs.items()}
    assert kinds == {
        "crm.bronze_changes": "StreamingTable",  # @dp.table declares a streaming table
        "silver_customers_changes": "TemporaryView",
        "crm.silver_customers": "StreamingTable",
        "crm.gold_by_country": "MaterializedView",
    }
    assert set(recorder.flows) == {
        "crm.bronze_changes",
        "silver_customers_changes",
        "crm.gold_by_country",
    }
    (cdc,) = recorder.cdc
    assert cdc["target"] == "crm.silver_customers"
    assert cdc["source"] == "silver_customers_changes"
    assert cdc["keys"] == ["id"] and cdc["sequence_by"] == "seq"
    assert cdc["apply_as_deletes"] == "op = 'DELETE'"
    assert cdc["except_column_list"] == ["op"] and cdc["stored_as_scd_type"] == 1


def test_lakeflow_expectations_are_the_quality_compilers_sql(
    lakeflow_bundle: Path, example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = Recorder()
    _import(lakeflow_bundle / MODULE, recorder, monkeypatch, example)
    node = next(
        n
        for pf in load_project(example, "local").pipelines
        for n in pf.pipeline.nodes
        if n.name == "bronze_changes"
    )
    got = recorder.expectations["bronze_changes"]
    decorator = {"warn": "expect", "drop": "expect_or_drop", "fail": "expect_or_fail"}
    expected = [
        (decorator[e.on_violation], rule_name(e, i), to_sql(passes(e), "databricks"))
        for i, e in enumerate(node.expectations)
    ]
    assert sorted(got) == sorted(expected)
    assert {g[0] for g in got} == {"expect", "expect_or_drop", "expect_or_fail"}


def test_lakeflow_resource_follows_the_trigger_and_validates_offline(
    lakeflow_bundle: Path, example: Path
) -> None:
    from lakesmith.deploy.validate import validate_bundle

    spec = yaml.safe_load(
        (lakeflow_bundle / "specs/pipelines/shop_crm_gold_customers.yaml").read_text()
    )
    assert spec["continuous"] is True  # trigger: {interval: 1s}
    assert spec["configuration"]["pipelines.trigger.interval"] == "1 seconds"
    landing = example / "data" / "landing" / "changes"
    assert spec["configuration"]["lakesmith.files.bronze_changes"] == str(landing)
    assert spec["libraries"] == ["lakeflow/shop_crm_gold_customers/**"]
    report = validate_bundle(lakeflow_bundle, cli=False)
    assert report.issues == []
    assert "shop_crm_gold_customers" in report.resources["dev"]["pipelines"]
    resource = report.resources["dev"]["pipelines"]["shop_crm_gold_customers"]
    assert resource["catalog"] == "${var.catalog_prefix}shop" and resource["schema"] == "crm"
    assert resource["serverless"] is True


def test_available_now_exports_a_triggered_pipeline(example: Path, tmp_path: Path) -> None:
    pipeline = example / "pipelines" / "customers.yaml"
    pipeline.write_text(pipeline.read_text().replace("trigger: {interval: 1s}", ""))
    model = build(load_project(example, "local"), "customers")
    spec = lakeflow.spec(model, lakeflow.default_naming(model, "shop"), "x/**")
    assert spec["continuous"] is False
    assert "pipelines.trigger.interval" not in str(spec)


def test_exports_are_deterministic_and_ruff_formatted(
    lakeflow_bundle: Path, example: Path, tmp_path: Path
) -> None:
    first = (lakeflow_bundle / MODULE).read_bytes()
    model = build(load_project(example, "local"), "customers")
    assert lakeflow.module(model).encode() == first
    out = tmp_path / "sdp"
    sdp.write(build(load_project(example, "local"), "customers"), out)
    for length in ("88", "100"):
        result = subprocess.run(
            [RUFF, "format", "--diff", "--line-length", length, lakeflow_bundle / "lakeflow", out],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_sdp_export_writes_plain_readers_and_enforces_expectations(
    example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "sdp"
    result = runner.invoke(
        app, ["export", "sdp", "customers", "-p", str(example), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    spec = yaml.safe_load((out / "spark-pipeline.yml").read_text())
    # the fields spark-pipelines accepts (pyspark.pipelines.cli.unpack_pipeline_spec, which
    # cannot be imported without grpcio); name and storage are required
    assert set(spec) <= {
        "name",
        "storage",
        "catalog",
        "database",
        "schema",
        "configuration",
        "libraries",
    }
    assert spec["name"] == "customers" and spec["storage"].startswith("file://")
    assert spec["libraries"] == [{"glob": {"include": "transformations/**"}}]
    landing = example / "data" / "landing" / "changes"
    assert spec["configuration"] == {"lakesmith.files.bronze_changes": str(landing)}
    code = (out / "transformations" / "customers.py").read_text()
    assert "cloudFiles" not in code and 'spark.readStream.format("json")' in code
    assert "dp.expect" not in code
    assert "raise_error('expectation not_null_id failed" in code  # fail
    assert "(NOT (NOT `op` IS NULL)) OR (`op` IN ('UPSERT', 'DELETE'))" in code  # drop
    # a table input is named in the query, a dependency spark-pipelines resolves in graph order
    # (a frame passed to spark.sql is resolved at once: TABLE_OR_VIEW_NOT_FOUND on a first run)
    assert "FROM crm.silver_customers AS customers" in code
    assert "create_auto_cdc_flow" not in code  # the default: auto_cdc as a snapshot
    recorder = Recorder()
    _import(out / "transformations" / "customers.py", recorder, monkeypatch, example)
    kinds = {name: type(out).__name__ for name, out in recorder.outputs.items()}
    assert kinds == {
        "crm.bronze_changes": "StreamingTable",
        "crm.silver_customers": "MaterializedView",
        "crm.gold_by_country": "MaterializedView",
    }
    assert not recorder.expectations and not recorder.cdc


def test_sdp_auto_cdc_as_a_flow_for_tables_that_merge(
    example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "sdp"
    args = ["export", "sdp", "customers", "-p", str(example), "--out", str(out)]
    result = runner.invoke(app, [*args, "--auto-cdc", "flow"])
    assert result.exit_code == 0, result.output
    recorder = Recorder()
    _import(out / "transformations" / "customers.py", recorder, monkeypatch, example)
    assert type(recorder.outputs["crm.silver_customers"]).__name__ == "StreamingTable"
    (cdc,) = recorder.cdc
    assert cdc["source"] == "silver_customers_changes" and cdc["stored_as_scd_type"] == 1
    result = runner.invoke(app, [*args, "--auto-cdc", "merge"])
    assert result.exit_code == 2 and "snapshot" in result.output


def test_the_tombstone_retention_becomes_lakeflows_table_property(
    example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline = example / "pipelines" / "customers.yaml"
    text = pipeline.read_text()
    cdc_line = "      except_column_list: [op]\n"
    assert cdc_line in text
    pipeline.write_text(text.replace(cdc_line, cdc_line + "      tombstone_retention: 7 days\n"))
    out = tmp_path / "sdp"
    args = ["export", "sdp", "customers", "-p", str(example), "--out", str(out)]
    assert runner.invoke(app, [*args, "--auto-cdc", "flow"]).exit_code == 0
    recorder = Recorder()
    _import(out / "transformations" / "customers.py", recorder, monkeypatch, example)
    silver = recorder.outputs["crm.silver_customers"]
    assert silver.table_properties == {"pipelines.cdc.tombstoneGCThresholdInSeconds": "604800"}


STREAM_SQL_NODE = """
  - name: big_changes
    kind: streaming_table
    source: {table: crm.bronze_changes}
    transform:
      sql: SELECT id, amount, seq FROM source WHERE amount >= 10
    write: {table: crm.big_changes}
"""


def test_sql_over_a_table_stream_names_it_as_a_stream(
    example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stream passed to spark.sql as a frame is resolved when the function runs, before the
    upstream table exists on a first run: the exports name it, ``STREAM(table)``."""
    pipeline = example / "pipelines" / "customers.yaml"
    pipeline.write_text(pipeline.read_text() + STREAM_SQL_NODE)
    model = build(load_project(example, "local"), "customers")
    for module in (sdp.module(model), lakeflow.module(model)):
        body = module[module.index("def big_changes") :]
        body = body[: body.index("return result")]
        assert "readStream" not in body and "source=" not in body
        assert " ".join(body.split()).count("FROM STREAM ( crm.bronze_changes ) AS source") == 1


def test_lakeflow_exports_python_transforms_through_narwhals(
    example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    python_gold(example)
    bundle = tmp_path / "bundle"
    shutil.copytree(GOLDEN_BUNDLE, bundle, ignore=shutil.ignore_patterns("__pycache__"))
    args = ["export", "lakeflow", "customers", "-p", str(example), "--bundle", str(bundle)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    code = (bundle / MODULE).read_text()
    assert 'transform = importlib.import_module("transformations.gold").by_country' in code
    assert "customers=nw.from_native(customers)" in " ".join(code.split())
    recorder = Recorder()
    _import(bundle / MODULE, recorder, monkeypatch, example)
    assert type(recorder.outputs["crm.gold_by_country"]).__name__ == "MaterializedView"
    fmt = [RUFF, "format", "--diff", bundle / "lakeflow"]
    done = subprocess.run(fmt, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_sdp_export_refuses_what_oss_cannot_do(example: Path, tmp_path: Path) -> None:
    pipeline = example / "pipelines" / "customers.yaml"
    text = pipeline.read_text()
    pipeline.write_text(
        text.replace(
            "except_column_list: [op]", "except_column_list: [op]\n      stored_as_scd_type: 2"
        ).replace("      apply_as_deletes: op = 'DELETE'\n", "")
    )
    result = runner.invoke(
        app, ["export", "sdp", "customers", "-p", str(example), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2
    assert "SCD type 1 only" in result.output
    pipeline.write_text(
        text.replace(
            "schema: {id: bigint, name: string, country: string, amount: double, op: string, "
            "seq: bigint}",
            "schema_hints: {id: bigint}",
        )
    )
    result = runner.invoke(
        app, ["export", "sdp", "customers", "-p", str(example), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2 and "need one" in result.output


def test_sdp_export_refuses_python_transforms_naming_the_node(
    example: Path, tmp_path: Path
) -> None:
    """spark-pipelines refuses analysis inside a query function, which narwhals needs on
    Spark: the export says so rather than writing a module that fails at run time."""
    python_gold(example)
    out = tmp_path / "o"
    result = runner.invoke(
        app, ["export", "sdp", "customers", "-p", str(example), "--out", str(out)]
    )
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "'gold_by_country' (transformations.gold:by_country)" in text
    assert "ATTEMPT_ANALYSIS_IN_PIPELINE_QUERY_FUNCTION" in text
    assert "transform in SQL" in text
    assert not out.exists()


def test_lakeflow_export_refuses_pandas_transforms(example: Path, tmp_path: Path) -> None:
    """A pandas boundary collects its input, which Lakeflow dataset functions must not do."""
    python_gold(example)
    (example / "gold_pandas_export.py").write_text(
        "import pandas as pd\n\n\n"
        "def by_country(customers: pd.DataFrame) -> pd.DataFrame:\n"
        "    return customers.groupby('country', as_index=False)['amount'].sum()\n"
    )
    pipeline = example / "pipelines" / "customers.yaml"
    pipeline.write_text(
        pipeline.read_text().replace("transformations.gold:by", "gold_pandas_export:by")
    )
    model = build(load_project(example, "local"), "customers")
    with pytest.raises(ExportError, match=r"pandas transform of 'gold_by_country'"):
        lakeflow.module(model)


def test_unknown_pipeline_says_which_exist(example: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["export", "sdp", "customer", "-p", str(example)])
    assert result.exit_code == 2
    assert "Did you mean 'customers'" in result.output or "customers" in result.output
