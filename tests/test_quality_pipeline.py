"""Quality gates inside pipelines: fail, warn and quarantine, as a user runs them."""

from __future__ import annotations

import polars as pl
import pytest

from conftest import Project
from lakesmith.errors import ConfigError

ORDERS = pl.DataFrame(
    {"order_id": [1, 2, 3, 4], "amount": [10.0, -5.0, 20.0, 5000.0], "status": ["a", "b", "a", "x"]}
)


def _pipeline(project: Project, on_error: str) -> None:
    project.parquet("orders.parquet", ORDERS)
    project.pipeline(
        f"""\
        name: main
        nodes:
          - name: silver
            inputs:
              raw: {{connection: files, path: orders.parquet}}
            write: {{table: silver.orders, mode: overwrite}}
            quality:
              on_error: {on_error}
              rules:
                - {{check: in_range, column: amount, min: 0, name: positive}}
                - {{check: in_set, column: status, values: [a, b], name: known_status}}
                - {{check: in_range, column: amount, max: 1000, severity: warn, name: plausible}}
          - name: gold
            inputs: {{orders: silver.orders}}
            write: {{table: gold.orders, mode: overwrite}}
        """
    )


def _results(project: Project) -> pl.DataFrame:
    return project.table("_lakesmith.quality_results")


def test_fail_writes_nothing_and_skips_dependents(project: Project) -> None:
    _pipeline(project, "fail")
    story = project.run()
    silver = project.node(story, "silver")
    assert silver.status == "failed" and silver.error is not None
    assert silver.error.type == "QualityFailed"
    assert "positive (1 rows)" in silver.error.message
    assert "known_status (1 rows)" in silver.error.message
    assert project.node(story, "gold").status == "skipped"
    assert not (project.root / "warehouse" / "main" / "silver" / "orders").exists()
    failed = {q["name"] for q in silver.quality if not q["success"]}
    assert failed == {"positive", "known_status", "plausible"}
    assert set(_results(project)["rule"]) == {"positive", "known_status", "plausible"}


def test_warn_writes_every_row_and_reports(project: Project) -> None:
    _pipeline(project, "warn")
    story = project.run()
    assert project.node(story, "silver").status == "succeeded"
    assert project.table("silver.orders").height == 4
    results = _results(project)
    assert results.filter(~pl.col("success")).height == 3
    assert results["run_id"].unique().to_list() == [story.run_id]


def test_quarantine_sets_aside_rows_failing_error_rules_only(project: Project) -> None:
    _pipeline(project, "quarantine")
    story = project.run()
    silver = project.node(story, "silver")
    assert silver.status == "succeeded" and silver.quarantined == 2
    assert sorted(project.table("silver.orders")["order_id"]) == [1, 3]
    quarantine = project.table("silver.orders_quarantine").sort("order_id")
    assert quarantine["order_id"].to_list() == [2, 4]
    assert quarantine["_failed_rules"].to_list() == [["positive"], ["known_status"]]
    assert quarantine["_run_id"].unique().to_list() == [story.run_id]
    assert project.table("gold.orders").height == 2
    # the warn rule (amount <= 1000) failed on order 4 but never decides quarantine alone
    plausible = next(q for q in silver.quality if q["name"] == "plausible")
    assert not plausible["success"] and plausible["severity"] == "warn"


def test_rules_file_and_missing_file(project: Project) -> None:
    project.parquet("orders.parquet", ORDERS)
    project.write(
        "rules/orders.yaml",
        """\
        version: 1
        dataset: silver.orders
        rules:
          - {check: in_range, column: amount, min: 0}
        """,
    )
    body = """\
        name: main
        nodes:
          - name: silver
            inputs:
              raw: {{connection: files, path: orders.parquet}}
            write: {{table: silver.orders, mode: overwrite}}
            quality: {{rules_file: {path}, on_error: quarantine}}
        """
    project.pipeline(body.format(path="rules/orders.yaml"))
    story = project.run()
    assert project.node(story, "silver").quarantined == 1
    project.pipeline(body.format(path="rules/missing.yaml"))
    with pytest.raises(ConfigError, match=r"rules file 'rules/missing\.yaml' does not exist"):
        project.config()
