"""Hostile identifiers: rejected before any path or SQL is built, or quoted and round-tripped.

Table names become folders under the warehouse and names in SQL; column names in quality
rules become quoted SQL identifiers. For random names full of quotes, backticks, ``..``,
slashes, NUL and SQL fragments, a name is either refused with a clear error or lands exactly
where it should — never a folder outside the warehouse, never a second SQL statement.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import polars as pl
import pytest
import sqlglot
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from lakesmith.catalog.local import LocalCatalog
from lakesmith.catalog.table_ref import TableRef
from lakesmith.config.models import MergeWrite
from lakesmith.engines.polars_engine import PolarsEngine
from lakesmith.errors import LakesmithError, WriteError
from lakesmith.quality.compiler import count_failures_sql, passes, to_polars
from lakesmith.quality.rules import NotNull
from lakesmith.synth.spec import SynthSpec
from lakesmith.testing import hostile

pytestmark = pytest.mark.chaos

FUZZ = settings(
    max_examples=60, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
HOSTILE = hostile.HOSTILE_NAMES


@FUZZ
@given(parts=st.lists(HOSTILE | st.sampled_from(["silver", "t1"]), min_size=1, max_size=4))
def test_table_names_are_refused_or_stay_inside_the_warehouse(
    tmp_path: Path, parts: list[str]
) -> None:
    name = ".".join(parts)
    try:
        ref = TableRef.parse(name, default_catalog="dev")
    except LakesmithError as exc:
        assert "is not a table name" in str(exc) and exc.hint
        assert not TableRef.is_valid(name)
        return
    assert all(PLAIN.fullmatch(p) for p in ref.parts)
    folder = LocalCatalog(tmp_path).path(ref).resolve()
    assert folder.is_relative_to(tmp_path.resolve())
    assert folder.relative_to(tmp_path.resolve()).parts == ref.parts


@pytest.mark.parametrize("name", hostile.CLASSIC_TABLE_NAMES)
def test_classic_attacks_on_table_names_are_refused(name: str) -> None:
    with pytest.raises(LakesmithError, match="is not a table name"):
        TableRef.parse(name, default_catalog="dev")
    assert not TableRef.is_valid(name)


@pytest.mark.parametrize("parts", [("..", "s", "t"), ("c", "s/x", "t"), ("c", "s", "t\n")])
def test_table_refs_cannot_be_built_around_parse(parts: tuple[str, str, str]) -> None:
    with pytest.raises(LakesmithError, match="is not a table name"):
        TableRef(*parts)


@FUZZ
@given(catalog=HOSTILE, schema=HOSTILE)
def test_synth_catalog_and_schema_are_plain_identifiers(catalog: str, schema: str) -> None:
    try:
        spec = SynthSpec.model_validate({"catalog": catalog, "schema": schema})
    except ValidationError:
        return
    assert PLAIN.fullmatch(spec.catalog) and PLAIN.fullmatch(spec.schema_)


@settings(max_examples=40, deadline=5000)
@given(column=HOSTILE)
def test_rule_columns_are_quoted_and_round_trip(column: str) -> None:
    """A not_null rule on a hostile column name counts that column's nulls, on DuckDB SQL and
    on Polars, and compiles to exactly one statement."""
    assume(column and "\x00" not in column)  # DuckDB cannot hold NUL in a name; Polars can (below)
    frame = pl.DataFrame({column: [1, None, 3, None], "other": [None, None, None, None]})
    named = [("r", passes(NotNull(check="not_null", column=column)))]
    sql = count_failures_sql(named, "frame", dialect="duckdb")
    assert len(sqlglot.parse(sql, read="duckdb")) == 1
    with duckdb.connect() as con:
        con.register("frame", frame.to_arrow())
        rows, failed = con.execute(sql).fetchone() or (None, None)
    assert (rows, failed) == (4, 2)
    assert frame.filter(~to_polars(named[0][1])).height == 2


def test_empty_rule_column_is_refused() -> None:
    with pytest.raises(ValidationError, match="at least 1 character"):
        NotNull(check="not_null", column="")


def test_rule_column_with_nul_round_trips_on_polars() -> None:
    frame = pl.DataFrame({"a\x00b": [None, 1]})
    assert frame.filter(~to_polars(passes(NotNull(check="not_null", column="a\x00b")))).height == 1


@settings(
    max_examples=15, deadline=10_000, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(key=HOSTILE.filter(bool))
@example(key="a\x00b")
@example(key="a`b")
@example(key='k" = 1 OR "x')
def test_merge_keys_with_hostile_names_round_trip_or_are_refused(
    tmp_path_factory: pytest.TempPathFactory, key: str
) -> None:
    """A merge on a hostile key column updates the matching row and inserts the new one —
    the name is quoted into delta-rs's predicate, never parsed as part of it."""
    engine = PolarsEngine(LocalCatalog(tmp_path_factory.mktemp("wh")), "c")
    ref = TableRef("c", "s", "t")
    spec = MergeWrite(table="c.s.t", mode="merge", keys=[key])
    if "\x00" in key:  # delta-rs would panic (a BaseException): refused before it
        with pytest.raises(WriteError, match="NUL"):
            engine.write(pl.DataFrame({key: [1]}), ref, spec)
        assert not engine.table_exists(ref)
        return
    engine.write(pl.DataFrame({key: [1, 2], "v": ["a", "b"]}), ref, spec)
    try:
        engine.write(pl.DataFrame({key: [2, 3], "v": ["B", "c"]}), ref, spec)
    except WriteError as exc:
        assert "`" in key and "backtick" in str(exc)
        assert sorted(engine.read_table(ref).collect().rows()) == [(1, "a"), (2, "b")]
        return
    assert sorted(engine.read_table(ref).collect().rows()) == [(1, "a"), (2, "B"), (3, "c")]
