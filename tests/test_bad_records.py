"""Bad records in CSV and JSON-lines inputs: quarantined with the reason, or the run fails.

Real files with invalid UTF-8 bytes, a row with too many fields, a number column holding
text and a broken JSON line; ``on_bad_records: quarantine`` writes the good rows and appends
each bad one to ``<table>_bad_records`` with file, line, raw text and reason.
"""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import PROJECT_YAML, Project
from lakesmith.config.checks import check_engine
from lakesmith.engines.bad_records import split_bad_records
from lakesmith.errors import ConfigError, LakesmithError
from lakesmith.pipeline.story.render import to_html, to_markdown
from lakesmith.testing import hostile

BAD_CSV, BAD_JSON = hostile.BAD_CSV, hostile.BAD_JSON


def test_csv_bad_records_are_split_off_with_line_and_reason(tmp_path: Path) -> None:
    file = tmp_path / "orders.csv"
    file.write_bytes(BAD_CSV)
    split = split_bad_records(file, "csv")
    assert split.good["id"].to_list() == [*range(1, 13), 16]
    assert split.good["amount"].dtype.is_integer()
    assert split.good.filter(id=16)["name"].item() == "quoted, name"
    assert split.bad.select("line", "raw", "reason").rows() == [
        (14, "13,b\\xffd,130", "invalid UTF-8: byte 0xff"),
        (15, "14,extra,140,oops", "expected 3 fields, found 4"),
        (16, "15,text,lots", "column 'amount' expects Int64, got 'lots'"),
    ]
    assert set(split.bad["file"]) == {str(file)}


def test_json_bad_records_are_split_off_with_line_and_reason(tmp_path: Path) -> None:
    file = tmp_path / "orders.jsonl"
    file.write_bytes(BAD_JSON)
    split = split_bad_records(file, "json")
    assert split.good["id"].to_list() == list(range(1, 13))
    lines = dict(split.bad.select("line", "reason").rows())
    assert lines[13].startswith("invalid JSON: Expecting value")
    assert lines[14] == "column 'amount' expects Int64, got 'n/a'"
    assert lines[15] == "invalid UTF-8: byte 0xfe"
    assert lines[16] == "a JSON line must be an object, not list"


def test_declared_types_decide_what_is_bad(tmp_path: Path) -> None:
    """With schema_overrides, one text value among numbers is bad even in a tiny file."""
    file = tmp_path / "small.csv"
    file.write_text("id,amount\n1,10\n2,ten\n")
    split = split_bad_records(file, "csv", {"schema_overrides": {"amount": "Int64"}})
    assert split.good.rows() == [(1, 10)]
    assert split.bad["reason"].to_list() == ["column 'amount' expects Int64, got 'ten'"]


PIPELINE = """
    name: main
    nodes:
      - name: orders
        inputs:
          raw: {{connection: files, path: {path}, on_bad_records: {mode}}}
        write: {{table: bronze.orders, mode: append}}
"""


def test_quarantine_writes_good_rows_and_bad_records_table(project: Project) -> None:
    (project.root / "data").mkdir(parents=True)
    (project.root / "data" / "orders.csv").write_bytes(BAD_CSV)
    project.pipeline(PIPELINE.format(path="orders.csv", mode="quarantine"))
    story = project.run()
    assert story.status == "succeeded"
    node = project.node(story, "orders")
    assert node.inputs[0].bad_records == 3 and node.inputs[0].rows == 13
    assert project.table("bronze.orders").height == 13
    bad = project.table("bronze.orders_bad_records").sort("line")
    assert bad["line"].to_list() == [14, 15, 16]
    assert bad["reason"].to_list()[1] == "expected 3 fields, found 4"
    assert set(bad["node"]) == {"orders"} and set(bad["_run_id"]) == {story.run_id}
    assert bad["file"][0].endswith("orders.csv")
    assert "bad records: 3 → main.bronze.orders_bad_records" in to_markdown(story)
    assert "<th>bad records</th>" in to_html(story)


def test_without_quarantine_a_bad_file_fails_the_node_and_writes_nothing(
    project: Project,
) -> None:
    (project.root / "data").mkdir(parents=True)
    (project.root / "data" / "orders.jsonl").write_bytes(BAD_JSON)
    project.pipeline(PIPELINE.format(path="orders.jsonl", mode="fail"))
    story = project.run()
    assert story.status == "failed"
    error = project.node(story, "orders").error
    assert error is not None
    assert error.message.startswith(f"{project.root / 'data' / 'orders.jsonl'}:13: invalid JSON")
    assert "and 3 more bad record(s)" in error.message
    assert "on_bad_records: quarantine" in error.hint
    assert not (project.root / "warehouse" / "main" / "bronze" / "orders").exists()


def test_on_bad_records_is_validated(project: Project) -> None:
    project.pipeline(PIPELINE.format(path="orders.csv", mode="skip"))
    with pytest.raises(ConfigError, match="on_bad_records"):
        project.config()


CLI = [sys.executable, "-m", "lakesmith.cli.main"]
SPARK_REFUSAL = "node 'orders': on_bad_records: quarantine runs on the embedded engine only"


def test_quarantine_on_a_spark_project_is_refused_at_validation(project: Project) -> None:
    """Spark 4's PERMISSIVE mode (columnNameOfCorruptRecord, inferred types) keeps BAD_CSV's
    invalid UTF-8 as U+FFFD, its text in a number column by making the column text, and its
    ragged row without the extra field: a Spark project asking for quarantine fails
    validation instead of quarantining less than the embedded engine does."""
    project.write("lakesmith.yaml", PROJECT_YAML + "engine: spark\n")
    file = project.pipeline(PIPELINE.format(path="orders.csv", mode="quarantine"))
    line = next(i for i, t in enumerate(file.read_text().splitlines(), 1) if "on_bad_rec" in t)
    with pytest.raises(ConfigError) as info:
        project.config()
    (issue,) = info.value.issues
    assert issue.message.startswith(SPARK_REFUSAL)
    assert (issue.file, issue.key) == (
        project.root / "pipelines" / "main.yaml",
        "nodes[0].inputs.raw.on_bad_records",
    )
    assert issue.line == line and "engine: polars" in issue.hint


def test_run_engine_spark_refuses_quarantine_before_any_node_runs(project: Project) -> None:
    (project.root / "data").mkdir(parents=True)
    (project.root / "data" / "orders.csv").write_bytes(BAD_CSV)
    project.pipeline(PIPELINE.format(path="orders.csv", mode="quarantine"))
    pipelines = project.config().pipelines  # valid on the project's engine (polars)
    assert len(check_engine(pipelines, "spark")) == 1
    assert check_engine(pipelines, "spark", nodes={"another"}) == []  # a run's selection
    done = subprocess.run(
        [*CLI, "run", "-p", str(project.root), "--engine", "spark"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert SPARK_REFUSAL in " ".join(done.stderr.split())  # rich wraps long lines
    assert "main.yaml" in done.stderr and "Traceback" not in done.stderr
    assert not (project.root / "warehouse").exists()  # no Spark session, no table


def test_quarantine_refuses_formats_it_cannot_split(tmp_path: Path) -> None:
    with pytest.raises(LakesmithError, match="CSV and JSON-lines"):
        split_bad_records(tmp_path / "x.parquet", "parquet")


ROW = st.one_of(
    st.tuples(st.just("good"), st.integers(0, 10**6), st.text(max_size=8)),
    st.tuples(st.just("ragged"), st.integers(0, 10**6), st.text(max_size=8)),
    st.tuples(st.just("bytes"), st.integers(0, 10**6), st.text(max_size=8)),
)


@pytest.mark.chaos
@settings(max_examples=60, deadline=3000)
@given(rows=st.lists(ROW, min_size=1, max_size=30))
def test_no_record_is_lost_or_duplicated(
    tmp_path_factory: pytest.TempPathFactory, rows: list
) -> None:
    """Every data row lands exactly once, good or bad; every ragged or undecodable row is bad."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", "name", "amount"])
    data = [out.getvalue().encode()]
    for kind, number, name in rows:
        start = out.tell()
        fields = [number, name, number * 10]
        writer.writerow([*fields, "extra"] if kind == "ragged" else fields)
        record = out.getvalue()[start:].encode()  # a quoted newline makes it span lines
        data.append(record[:-1] + b"\xff\n" if kind == "bytes" else record)
    file = tmp_path_factory.mktemp("fuzz") / "rows.csv"
    file.write_bytes(b"".join(data))
    try:
        split = split_bad_records(file, "csv")
    except LakesmithError:
        return
    records = sum(1 for r in csv.reader(io.StringIO(out.getvalue(), newline="")) if r) - 1
    assert split.good.height + split.bad.height == records
    bad_kinds = sum(kind != "good" for kind, _, _ in rows)
    assert split.bad.height >= bad_kinds


@pytest.mark.chaos
@settings(max_examples=60, deadline=3000)
@given(data=st.binary(max_size=300), fmt=st.sampled_from(["csv", "json"]))
def test_random_bytes_split_or_fail_cleanly(
    tmp_path_factory: pytest.TempPathFactory, data: bytes, fmt: str
) -> None:
    file = tmp_path_factory.mktemp("fuzz") / "input"
    file.write_bytes(data)
    try:
        split = split_bad_records(file, fmt)
    except LakesmithError:
        return
    assert set(split.bad.columns) == {"file", "line", "raw", "reason"}
