"""Hot paths never import pandas: it costs ~0.35 s per process wherever it is installed.

pyarrow's ``pa.array``, ``pa.scalar`` and ``pa.table`` import pandas on first use when it can
be found. A stand-in ``pandas`` package that records every import attempt makes the check
meaningful whether or not the real one is installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "customer360"


@pytest.fixture
def watched(tmp_path: Path) -> tuple[dict[str, str], Path]:
    marker = tmp_path / "pandas-imported"
    package = tmp_path / "shadow" / "pandas"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(
        "import traceback\n"
        f"with open({str(marker)!r}, 'a') as f:\n"
        "    traceback.print_stack(file=f)\n"
        "raise ImportError('stand-in pandas')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(package.parent)}
    return env, marker


def _cli(env: dict[str, str], cwd: Path, *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "lakesmith.cli.main", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr


def test_pipeline_run_does_not_import_pandas(watched, tmp_path: Path) -> None:
    env, marker = watched
    project = tmp_path / "c360"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("warehouse", ".lakesmith"))
    _cli(env, project, "run")
    _cli(env, project, "run")  # the second run reads existing tables and merges into them
    assert not marker.exists(), marker.read_text()


def test_synth_generate_does_not_import_pandas(watched, tmp_path: Path) -> None:
    env, marker = watched
    args = ("synth", "generate", "--households", "2000", "--workers", "2", "--no-validate")
    _cli(env, tmp_path, *args, "--warehouse", str(tmp_path / "wh"))
    _cli(env, tmp_path, *args, "--warehouse", str(tmp_path / "wh"))  # over existing tables
    assert not marker.exists(), marker.read_text()
