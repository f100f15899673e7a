"""Parquet parts and one-commit Delta tables: real delta-rs, read back through Polars."""

from __future__ import annotations

import json
import pickle
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable
from deltalake import Schema as DeltaSchema
from polars.testing import assert_frame_equal

from lakesmith.synth import writer
from lakesmith.synth.schema import TABLE_NAMES, TABLES
from lakesmith.synth.writer import (
    PartFile,
    commit_table,
    discard_parts,
    sweep_uncommitted,
    write_part,
)

T0 = datetime(2024, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
SCHEMA = TABLES["content_engagements"].schema


def sample(name: str, rows: int, start: int = 0) -> pa.Table:
    """Rows of any table in ``schema.py`` from its field types; every 5th value null but the key."""
    schema = TABLES[name].schema
    ids = range(start, start + rows)
    columns = []
    for field in schema:
        t = field.type

        def value(i: int, t: pa.DataType = t, col: str = field.name) -> object:
            if i % 5 == 4:
                return None
            if pa.types.is_integer(t):
                return i % 100 if t.bit_width <= 16 else i
            if pa.types.is_floating(t):
                return i / 4
            if pa.types.is_boolean(t):
                return i % 2 == 0
            if pa.types.is_string(t):
                return f"{col}-{i:04d}"
            if pa.types.is_date32(t):
                return date(2024, 1, 1) + timedelta(days=i)
            if pa.types.is_timestamp(t):
                return T0 + timedelta(hours=i)
            if pa.types.is_list(t):
                return [f"c{j}" for j in range(i % 3)]
            if pa.types.is_map(t):
                return [(f"k{j}", j / 2) for j in range(i % 3)]
            raise AssertionError(t)

        values = [value(i) for i in ids]
        if field.name == schema.names[0]:
            values = list(ids)
        columns.append(pa.array(values, t))
    return pa.Table.from_arrays(columns, schema=schema)


def engagements(start: int, rows: int = 10) -> pa.Table:
    return sample("content_engagements", rows, start)


def read(root: Path, version: int | None = None) -> pl.DataFrame:
    return pl.read_delta(str(root), version=version).sort(pl.first())


def frame(*tables: pa.Table) -> pl.DataFrame:
    df = pl.from_arrow(pa.concat_tables(tables))
    assert isinstance(df, pl.DataFrame)
    return df.sort(pl.first())


def add_actions(root: Path) -> pa.Table:
    return pa.table(DeltaTable(root).get_add_actions(flatten=True))


@pytest.mark.parametrize("name", TABLE_NAMES)
def test_round_trip_every_table(tmp_path: Path, name: str) -> None:
    root = tmp_path / name
    blocks = [sample(name, 7, 0), sample(name, 5, 100), sample(name, 6, 200)]
    parts = [write_part(root, t, f"part-{i:05d}.parquet") for i, t in enumerate(blocks)]
    assert [p.num_records for p in parts] == [7, 5, 6]
    assert commit_table(root, TABLES[name].schema, parts) == 0
    back = read(root)
    assert_frame_equal(back, frame(*blocks))
    expected = DeltaSchema.from_arrow(TABLES[name].schema).to_json()
    assert DeltaTable(root).schema().to_json() == expected


def test_dictionary_columns_read_back_as_strings(tmp_path: Path) -> None:
    table = engagements(0)
    encoded = table.set_column(3, "content_category", table["content_category"].dictionary_encode())
    part = write_part(tmp_path / "t", encoded, "p.parquet")
    assert pq.read_schema(tmp_path / "t" / "p.parquet").field("content_category").type == "string"
    assert pq.read_metadata(tmp_path / "t" / "p.parquet").metadata is None  # no Arrow schema
    commit_table(tmp_path / "t", SCHEMA, [part])
    assert_frame_equal(read(tmp_path / "t"), frame(table))


def test_nothing_visible_before_the_commit(tmp_path: Path) -> None:
    root = tmp_path / "t"
    write_part(root, engagements(0), "part-1.parquet")
    assert not DeltaTable.is_deltatable(str(root))
    first = write_part(root, engagements(0), "part-0.parquet")
    commit_table(root, SCHEMA, [first])
    write_part(root, engagements(50), "part-2.parquet")
    assert DeltaTable(root).version() == 0
    assert_frame_equal(read(root), frame(engagements(0)))


def test_overwrite_replaces_the_data_in_one_version(tmp_path: Path) -> None:
    root = tmp_path / "t"
    old = [write_part(root, engagements(s), f"a{s}.parquet") for s in (0, 10)]
    assert commit_table(root, SCHEMA, old, metadata={"run": "one"}) == 0
    new = [write_part(root, engagements(s), f"b{s}.parquet") for s in (100, 110, 120)]
    assert commit_table(root, SCHEMA, new, metadata={"run": "two"}) == 1
    assert_frame_equal(read(root), frame(engagements(100), engagements(110), engagements(120)))
    assert_frame_equal(read(root, version=0), frame(engagements(0), engagements(10)))
    last = DeltaTable(root).history(1)[0]
    assert (last["operation"], last["run"]) == ("WRITE", "two")
    assert sorted(add_actions(root).column("path").to_pylist()) == [
        "b100.parquet",
        "b110.parquet",
        "b120.parquet",
    ]


def test_a_part_never_replaces_an_existing_file(tmp_path: Path) -> None:
    root = tmp_path / "t"
    commit_table(root, SCHEMA, [write_part(root, engagements(0), "part-1.parquet")])
    again = write_part(root, engagements(100), "part-1.parquet")
    assert again.path.startswith("part-1-") and again.path.endswith(".parquet")
    assert_frame_equal(read(root), frame(engagements(0)))  # the committed file is untouched
    commit_table(root, SCHEMA, [again])
    assert_frame_equal(read(root), frame(engagements(100)))


def test_zero_parts_give_an_empty_table(tmp_path: Path) -> None:
    root = tmp_path / "new" / "t"
    assert commit_table(root, SCHEMA, []) == 0
    empty = pl.read_delta(str(root))
    assert empty.height == 0
    assert empty.schema["timestamp"] == pl.Datetime("us", "UTC")
    commit_table(root, SCHEMA, [write_part(root, engagements(0), "p.parquet")])
    assert commit_table(root, SCHEMA, []) == 2
    assert pl.read_delta(str(root)).height == 0


def test_identical_input_gives_identical_bytes(tmp_path: Path) -> None:
    for name in ("audience_attributes", "identity_mappings"):
        a = write_part(tmp_path / "a" / name, sample(name, 50), "p.parquet")
        b = write_part(tmp_path / "b" / name, sample(name, 50), "p.parquet")
        assert (tmp_path / "a" / name / a.path).read_bytes() == (
            tmp_path / "b" / name / b.path
        ).read_bytes()
        assert (a.size, a.stats) == (b.size, b.stats)


def test_stats_in_the_log(tmp_path: Path) -> None:
    root = tmp_path / "t"
    table = engagements(0, rows=10)
    commit_table(root, SCHEMA, [write_part(root, table, "p.parquet")])
    row = add_actions(root).to_pylist()[0]
    assert row["num_records"] == 10
    assert (row["min.event_id"], row["max.event_id"]) == (0, 9)
    assert row["null_count.event_id"] == 0
    assert row["null_count.content_id"] == 2  # rows 4 and 9
    assert row.get("min.content_category") is None  # plain strings: no min/max, never prune
    # milliseconds, the maximum rounded up: T0 has .123456 s
    assert row["min.timestamp"] == T0.replace(microsecond=123000)
    assert row["max.timestamp"] == T0.replace(microsecond=124000) + timedelta(hours=8)


def test_stats_json(tmp_path: Path) -> None:
    audience = write_part(tmp_path / "a", sample("audience_attributes", 6), "p.parquet")
    stats = json.loads(audience.stats)
    assert stats["numRecords"] == 6
    assert set(stats["nullCount"]) == {"attribute_id", "individual_id"}  # no nested, no strings
    campaigns = write_part(tmp_path / "c", sample("campaigns", 6), "p.parquet")
    stats = json.loads(campaigns.stats)
    assert (stats["minValues"]["start_date"], stats["maxValues"]["start_date"]) == (
        "2024-01-01",
        "2024-01-06",
    )
    nan = pa.table({"x": [1.0, float("nan")], "y": ["a", "b" * 100], "z": [True, None]})
    stats = json.loads(write_part(tmp_path / "n", nan, "p.parquet").stats)
    assert stats["minValues"] == {"z": True} and stats["maxValues"] == {"z": True}
    assert stats["nullCount"] == {"x": 0, "z": 1}
    labels = pa.DictionaryArray.from_arrays(pa.array([1, 0, 1]), pa.array(["news", "sports"]))
    stats = json.loads(write_part(tmp_path / "d", pa.table({"c": labels}), "p.parquet").stats)
    assert (stats["minValues"]["c"], stats["maxValues"]["c"]) == ("news", "sports")


def test_stats_skip_files(tmp_path: Path) -> None:
    root = tmp_path / "t"
    parts = [write_part(root, engagements(s), f"p{s}.parquet") for s in (0, 100, 200)]
    commit_table(root, SCHEMA, parts)
    table = DeltaTable(root)
    assert len(table.file_uris()) == 3
    assert [Path(u).name for u in table.file_uris(file_pruning_predicate="event_id >= 150")] == [
        "p200.parquet"
    ]
    late = (T0 + timedelta(hours=205)).isoformat()
    assert len(table.file_uris(file_pruning_predicate=f"timestamp > '{late}'")) == 1


def test_polars_skips_files_by_stats(tmp_path: Path) -> None:
    root = tmp_path / "t"
    parts = [write_part(root, engagements(s), f"p{s}.parquet") for s in (0, 200)]
    commit_table(root, SCHEMA, parts)
    (root / "p0.parquet").write_bytes(b"\0" * parts[0].size)  # unreadable if opened
    scanned = pl.scan_delta(str(root)).filter(pl.col("event_id") >= 150).collect()
    assert scanned["event_id"].to_list() == list(range(200, 210))
    with pytest.raises(pl.exceptions.ComputeError):
        pl.scan_delta(str(root)).filter(pl.col("event_id") < 150).collect()


def test_part_files_cross_process_boundaries(tmp_path: Path) -> None:
    part = write_part(tmp_path / "t", engagements(0), "p.parquet")
    assert pickle.loads(pickle.dumps(part)) == part
    assert part == PartFile("t", "p.parquet", part.size, 10, part.stats)


def test_a_failed_write_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(table: pa.Table, where: Path, **kwargs: object) -> None:
        Path(where).write_bytes(b"PAR1 half a file")
        raise OSError("disk full")

    monkeypatch.setattr(writer.pq, "write_table", broken)
    with pytest.raises(OSError, match="disk full"):
        write_part(tmp_path / "t", engagements(0), "p.parquet")
    assert list((tmp_path / "t").iterdir()) == []


def test_commit_checks_the_parts(tmp_path: Path) -> None:
    root = tmp_path / "t"
    part = write_part(root, engagements(0), "p.parquet")
    with pytest.raises(ValueError, match="not for"):
        commit_table(tmp_path / "other", SCHEMA, [part])
    with pytest.raises(ValueError, match="twice"):
        commit_table(root, SCHEMA, [part, part])
    (root / "p.parquet").unlink()
    with pytest.raises(FileNotFoundError):
        commit_table(root, SCHEMA, [part])
    assert not DeltaTable.is_deltatable(str(root))
    with pytest.raises(ValueError, match="relative"):
        write_part(root, engagements(0), "../escape.parquet")


def test_discard_and_sweep_remove_only_uncommitted_files(tmp_path: Path) -> None:
    root = tmp_path / "t"
    v0 = [write_part(root, engagements(s), f"a{s}.parquet") for s in (0, 10)]
    commit_table(root, SCHEMA, v0)
    v1 = [write_part(root, engagements(s), f"b{s}.parquet") for s in (20, 30)]
    commit_table(root, SCHEMA, v1)
    stray = [write_part(root, engagements(s), f"c{s}.parquet") for s in (40, 50)]
    temp = root / ".c60.parquet.0123456789abcdef0123456789abcdef.tmp"
    temp.write_bytes(b"half")

    discard_parts(root, [v1[0], stray[0]])  # a committed part is kept
    assert (root / v1[0].path).exists() and not (root / stray[0].path).exists()

    assert sorted(sweep_uncommitted(root)) == sorted([root / stray[1].path, temp])
    assert sorted(p.name for p in root.glob("*.parquet")) == [
        "a0.parquet",  # removed by version 1 but still needed to read version 0
        "a10.parquet",
        "b20.parquet",
        "b30.parquet",
    ]
    assert_frame_equal(read(root, version=0), frame(engagements(0), engagements(10)))
    assert_frame_equal(read(root), frame(engagements(20), engagements(30)))
    assert sweep_uncommitted(root) == []


def test_sweep_without_a_table(tmp_path: Path) -> None:
    assert sweep_uncommitted(tmp_path / "missing") == []
    root = tmp_path / "t"
    part = write_part(root, engagements(0), "p.parquet")
    (root / "_notes").mkdir()
    (root / "_notes" / "keep.parquet").write_bytes(b"")
    assert sweep_uncommitted(root) == [root / part.path]
    assert (root / "_notes" / "keep.parquet").exists()
