"""``lakesmith-job``, the python_wheel_task entry point, as a job cluster runs it: a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polars as pl

from conftest import PROJECT_YAML, Project

PIPELINE = """\
name: main
nodes:
  - name: bronze
    inputs:
      src: {connection: files, path: "${BATCH}/orders.csv"}
    write: {table: bronze.orders, mode: overwrite}
  - name: silver
    transform:
      sql: SELECT id, ${AMOUNT_COLUMN} AS amount FROM bronze.orders
    write: {table: silver.orders, mode: overwrite}
"""


def job(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "lakesmith.cli.job", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


def _project(root: Path) -> Project:
    project = Project(root)
    project.write("lakesmith.yaml", PROJECT_YAML)
    project.pipeline(PIPELINE)
    project.csv("b1/orders.csv", pl.DataFrame({"id": [1, 2], "amt": [10.0, 20.0]}))
    project.csv("b2/orders.csv", pl.DataFrame({"id": [3], "amt": [30.0]}))
    return project


def _table(root: Path, name: str) -> pl.DataFrame:
    return pl.read_delta(str(root / "warehouse" / "main" / name.replace(".", "/")))


def test_named_parameters_fill_the_project_and_select_the_run(tmp_path: Path) -> None:
    project = _project(tmp_path / "proj")
    # named_parameters arrive as --key=value; positional parameters as separate arguments
    done = job(
        "--project",
        str(project.root),
        "--env=local",
        "--param",
        "BATCH=b2",
        "--param=AMOUNT_COLUMN=amt",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert _table(project.root, "silver.orders").rows() == [(3, 30.0)]
    only_bronze = job(
        "--project", str(project.root), "--env", "local", "--node", "bronze",
        "--param", "BATCH=b1", "--param", "AMOUNT_COLUMN=amt", cwd=tmp_path,
    )  # fmt: skip
    assert only_bronze.returncode == 0, only_bronze.stderr
    assert _table(project.root, "bronze.orders").height == 2
    assert _table(project.root, "silver.orders").height == 1  # not selected, untouched


def test_project_shipped_inside_an_installed_package(tmp_path: Path) -> None:
    site = tmp_path / "site"
    project = _project(site / "acme_orders")
    (site / "acme_orders" / "__init__.py").write_text("")
    # a python transform named by its full dotted path inside the package
    project.write("transformations/__init__.py", "")
    project.write(
        "transformations/gold.py",
        "import narwhals as nw\n\n\ndef totals(silver):\n"
        "    return silver.select(nw.col('amount').sum())\n",
    )
    project.pipeline(
        """\
        name: gold
        nodes:
          - name: gold
            inputs: {silver: silver.orders}
            transform: {python: "acme_orders.transformations.gold:totals"}
            write: {table: gold.totals, mode: overwrite}
        """,
        name="gold",
    )
    env = {**os.environ, "PYTHONPATH": str(site), "BATCH": "b1", "AMOUNT_COLUMN": "amt"}
    done = job("--package", "acme_orders", "--env", "local", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert _table(site / "acme_orders", "silver.orders").height == 2
    assert _table(site / "acme_orders", "gold.totals").rows() == [(30.0,)]


def test_exit_codes_fail_the_job_run(tmp_path: Path) -> None:
    project = _project(tmp_path / "proj")
    base = ("--project", str(project.root), "--env", "local", "--param", "BATCH=b1")
    failed = job(*base, "--param", "AMOUNT_COLUMN=no_such_column", cwd=tmp_path)
    assert failed.returncode == 1
    assert "no_such_column" in failed.stdout + failed.stderr
    bad = job(*base, "--param", "AMOUNT_COLUMN", cwd=tmp_path)
    assert bad.returncode == 2 and "KEY=VALUE" in bad.stderr
    missing = job("--package", "no_such_package_xyz", cwd=tmp_path)
    assert missing.returncode == 2 and "not installed" in missing.stderr
