"""examples/azure: the customer360 pipeline on ADLS, run end to end by its one-command script."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lakesmith.config import load_project, models

pytestmark = pytest.mark.azure

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "azure"


def test_the_dev_environment_is_valid_without_any_variable() -> None:
    cfg = load_project(EXAMPLE, "dev", environ={})
    assert cfg.project.catalog == "dev_c360"
    auths = {getattr(c, "auth", None) for c in cfg.project.connections.values()}
    assert {type(a) for a in auths} == {models.KeyVaultAuth}


@pytest.mark.slow
def test_run_local_runs_the_pipeline_on_azurite(tmp_path: Path) -> None:
    copy = tmp_path / "azure"  # the linked customer360 folders become plain copies
    shutil.copytree(EXAMPLE, copy, ignore=shutil.ignore_patterns(".lakesmith", "__pycache__"))
    done = subprocess.run(
        [sys.executable, str(copy / "run_local.py")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no_new_data" in done.stdout  # the second run is incremental: orders are done
    tables = done.stdout.rsplit("$ lakesmith tables", 1)[1].split()
    assert "local_c360.gold.customer_360" in tables
    assert "local_c360.silver.orders_quarantine" in tables
    assert not (copy / "warehouse").exists()  # every table went to the emulated lake account
