"""The streaming example (JSON files -> bronze with expectations -> auto_cdc silver -> gold
view) killed at each fault point of its streams, through the real CLI, on the embedded
engine and on Spark: after a re-run its tables equal those of a run that never
crashed — no change lost, none applied twice."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from lakesmith.streaming.faults import EXIT_CODE
from streaming_example import LANDING, copy_example, feed, rows

pytestmark = pytest.mark.chaos

TABLES = ("bronze_changes", "silver_customers", "gold_by_country")
FILES_PER_ROUND = 3  # mid_file needs a batch of two files or more
EMBEDDED = [  # every point once, in either stream
    ("after_offsets", "silver_customers"),
    ("mid_file", "bronze_changes"),
    ("after_write", "silver_customers"),
    ("after_commit_log", "bronze_changes"),
    ("before_tombstones", "silver_customers"),  # auto_cdc: its MERGE done, tombstones not
]
SPARK = [("after_offsets", "bronze_changes")]
"""On Spark the file stream is Structured Streaming, killed inside foreachBatch; the table
stream (silver) is the embedded one, which the embedded cases cover."""


def run(root: Path, fault: str | None = None, engine: str | None = None) -> int:
    env = {k: v for k, v in os.environ.items() if k != "LAKESMITH_FAULT"}
    if fault:
        env["LAKESMITH_FAULT"] = fault
    args = ["run", "-p", str(root), *(["--engine", engine] if engine else [])]
    done = subprocess.run(
        [sys.executable, "-m", "lakesmith.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode in (0, EXIT_CODE), done.stdout[-2000:] + done.stderr[-2000:]
    return done.returncode


def tables(root: Path) -> dict[str, list[tuple]]:
    wh = root / "warehouse" / "shop" / "crm"
    return {table: rows(pl.read_delta(str(wh / table))) for table in TABLES}


def crash_and_recover(
    tmp_path: Path, cases: list[tuple[str, str]], engine: str | None
) -> tuple[Path, Path]:
    """One round per case: new files, a clean run, a run killed at the case, a re-run."""
    crashed, clean = copy_example(tmp_path / "crashed"), copy_example(tmp_path / "clean")
    for k, (point, node) in enumerate(cases):
        for root in (crashed, clean):  # new changes, some updating or deleting earlier ids
            feed(root / LANDING, files=FILES_PER_ROUND, first=k * FILES_PER_ROUND)
        assert run(clean) == 0
        assert run(crashed, f"{point}@{node}", engine) == EXIT_CODE, (point, node)
        assert run(crashed, engine=engine) == 0
        assert tables(crashed) == tables(clean), (point, node)
    return crashed, clean


@pytest.mark.slow
def test_the_example_survives_a_crash_at_every_point(tmp_path: Path) -> None:
    crashed, clean = crash_and_recover(tmp_path, EMBEDDED, None)
    assert run(crashed) == 0  # nothing new: nothing changes
    assert tables(crashed) == tables(clean)


@pytest.mark.spark
@pytest.mark.slow
def test_the_example_on_spark_survives_a_crash_in_its_file_stream(tmp_path: Path) -> None:
    pytest.importorskip("pyspark")
    crash_and_recover(tmp_path, SPARK, "spark")
