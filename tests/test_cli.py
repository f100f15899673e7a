"""The real CLI as a subprocess: exit codes, outputs and the example project."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "customer360"


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lakesmith.cli.main", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


@pytest.fixture
def example(tmp_path: Path) -> Path:
    dest = tmp_path / "customer360"
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns("warehouse", ".lakesmith"))
    return dest


def test_example_runs_end_to_end_and_is_idempotent(example: Path) -> None:
    first = cli("run", "-p", str(example))
    assert first.returncode == 0, first.stderr
    tables = json.loads(cli("tables", "-p", str(example), "--json").stdout)
    assert "local_c360.gold.customer_360" in tables
    assert "local_c360.silver.customers_history" in tables

    gold_before = json.loads(
        cli("table", "describe", "gold.customer_360", "-p", str(example), "--json").stdout
    )
    second = cli("run", "-p", str(example))
    assert second.returncode == 0, second.stderr
    gold_after = json.loads(
        cli("table", "describe", "gold.customer_360", "-p", str(example), "--json").stdout
    )
    assert gold_after["rows"] == gold_before["rows"] == 12
    history = json.loads(
        cli("table", "describe", "silver.customers_history", "-p", str(example), "--json").stdout
    )
    assert history["version"] == 0, "an unchanged source must not add SCD2 versions"

    story = json.loads(cli("story", "-p", str(example), "--format", "json").stdout)
    statuses = {n["name"]: n["status"] for n in story["nodes"]}
    assert statuses["bronze_orders"] == "no_new_data"
    assert story["status"] == "succeeded"


def test_dry_run_touches_nothing(example: Path) -> None:
    result = cli("run", "-p", str(example), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "gold_customer_360" in result.stdout
    assert "local_c360.gold.customer_360" in result.stdout
    assert not (example / "warehouse").exists()
    assert not (example / ".lakesmith").exists()


def test_validate_lists_every_error_with_location(example: Path) -> None:
    pipeline = example / "pipelines" / "customer360.yaml"
    text = pipeline.read_text()
    text = text.replace("gold.customer_360, mode: overwrite}", "gold.customer_360, mode: upsert}")
    text = text.replace(
        "{connection: landing, path: customers.csv}", "{connection: lnding, path: x.csv}"
    )
    text = text.replace(
        "    tags: [silver]\n", "    tags: [silver]\n    depends_on: [silver_custmers]\n", 1
    )
    pipeline.write_text(text)
    result = cli("validate", "-p", str(example))
    assert result.returncode == 2
    err = result.stderr
    assert "3 error(s)" in err
    assert "customer360.yaml:" in err
    assert "'upsert' is not a mode. Did you mean 'merge'?" in err
    assert "unknown connection 'lnding'. Did you mean 'landing'?" in err
    assert "unknown node 'silver_custmers'. Did you mean 'silver_customers'?" in err


def test_failed_node_exit_code_and_resume_hint(example: Path) -> None:
    sql = example / "sql" / "gold_customer_360.sql"
    sql.write_text(sql.read_text().replace("c.segment,", "c.no_such_column,"))
    result = cli("run", "-p", str(example))
    assert result.returncode == 1
    assert "gold_customer_360" in result.stderr
    assert "--from gold_customer_360" in result.stderr
    assert not (example / "warehouse" / "local_c360" / "gold").exists()


def test_unknown_environment_is_a_config_error(example: Path) -> None:
    result = cli("run", "-p", str(example), "--env", "prd")
    assert result.returncode == 2
    assert "environment 'prd'" in result.stderr
    assert "Did you mean 'prod'?" in result.stderr or "local" in result.stderr


def test_quality_check_exit_code_follows_error_rules(example: Path) -> None:
    assert cli("run", "-p", str(example)).returncode == 0
    quarantine = json.loads(cli("tables", "-p", str(example), "--json").stdout)
    assert "local_c360.silver.orders_quarantine" in quarantine
    rules = example / "rules.yaml"
    rules.write_text(
        "version: 1\ndataset: silver.orders\nrules:\n"
        "  - {check: in_range, column: amount, min: 0, max: 300, name: amount_range}\n"
        "  - {check: foreign_key, columns: [customer_id], ref_table: silver.customers}\n"
    )
    failing = cli("quality", "check", str(rules), "-p", str(example), "--json")
    assert failing.returncode == 1
    by_rule = {r["name"]: r for r in json.loads(failing.stdout)["rules"]}
    assert not by_rule["amount_range"]["success"] and by_rule["amount_range"]["fail_count"] > 0
    assert by_rule["foreign_key_customer_id"]["success"]
    rules.write_text(rules.read_text().replace("max: 300", "max: 100000"))
    assert cli("quality", "check", str(rules), "-p", str(example)).returncode == 0


def test_profile_writes_json_markdown_and_html(example: Path) -> None:
    assert cli("run", "-p", str(example)).returncode == 0
    result = cli("profile", "silver.orders", "-p", str(example))
    assert result.returncode == 0, result.stderr
    folder = example / ".lakesmith" / "profiles" / "local_c360.silver.orders"
    saved = json.loads((folder / "profile.json").read_text())
    assert saved["row_count"] == 25
    status = next(c for c in saved["columns"] if c["name"] == "status")
    assert status["null_count"] == 0
    html = (folder / "profile.html").read_text()
    assert "<svg" in html and "<script" not in html
    missing = cli("profile", "silver.nope", "-p", str(example))
    assert missing.returncode == 2 and "does not exist" in missing.stderr
