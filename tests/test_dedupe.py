"""one_per_key: one row per key on the embedded engine, the rows unique(keep="any") keeps."""

from __future__ import annotations

import narwhals as nw
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from conftest import Project
from lakesmith.dedupe import one_per_key

ROWS = pl.DataFrame(
    {
        "order_id": [3, 1, 3, None, 2, 1, None, 3],
        "shop": ["a", "a", "b", "a", "a", "a", "a", "a"],
        "amount": [30, 10, 31, 0, 20, 10, 1, 30],
    }
)


def keep(keys: str | list[str], **latest: str | list[str]) -> pl.DataFrame:
    return nw.to_native(one_per_key(nw.from_native(ROWS.lazy()), keys, **latest).collect())


def test_one_row_per_key_and_every_row_is_an_input_row() -> None:
    kept = keep("order_id")
    assert kept["order_id"].to_list() == [3, 1, None, 2]  # nulls are one key, as in unique
    assert kept.join(ROWS, on=ROWS.columns, how="anti", nulls_equal=True).is_empty()


def test_several_keys_match_unique() -> None:
    expected = ROWS.unique(["order_id", "shop"], keep="first", maintain_order=True)
    assert_frame_equal(keep(["order_id", "shop"]), expected)


def test_latest_by_keeps_the_rows_narwhals_unique_keeps_last() -> None:
    frame = nw.from_native(ROWS.lazy())
    for by in (["amount"], ["shop", "amount"]):
        expected = frame.unique(["order_id"], keep="last", order_by=by).collect().to_native()
        assert_frame_equal(keep("order_id", latest_by=by), expected, check_row_order=False)


def test_latest_by_prefers_a_value_to_null_and_keeps_one_of_equal_rows() -> None:
    rows = pl.LazyFrame({"k": [1, 1, 1, 2, 2], "at": [None, 3, 3, None, None], "n": range(5)})
    kept = nw.to_native(one_per_key(nw.from_native(rows), "k", latest_by="at").collect())
    assert kept.sort("k").select("k", "at").rows() == [(1, 3), (2, None)]
    assert kept["n"].is_in([1, 2, 3, 4]).all()


def test_a_missing_key_or_none_is_a_clear_error() -> None:
    with pytest.raises(nw.exceptions.ColumnNotFoundError, match=r"no column 'id'.*order_id"):
        keep(["id"])
    with pytest.raises(nw.exceptions.ColumnNotFoundError, match=r"no column 'seen'"):
        keep("order_id", latest_by="seen")
    with pytest.raises(ValueError, match="at least one key"):
        keep([])


def test_a_python_node_dedupes_exact_copies(project: Project) -> None:
    project.parquet("orders.parquet", pl.concat([ROWS, ROWS]))
    project.write(
        "tx.py",
        "from lakesmith.dedupe import one_per_key\n\n\n"
        "def clean(orders):\n"
        "    return one_per_key(orders, ['order_id', 'shop', 'amount'])\n",
    )
    project.pipeline(
        """\
        name: main
        nodes:
          - name: silver
            inputs: {orders: {connection: files, path: orders.parquet}}
            transform: {python: "tx:clean"}
            write: {table: silver.orders, mode: overwrite}
        """
    )
    assert project.run().status == "succeeded"
    assert_frame_equal(
        project.table("silver.orders").sort(ROWS.columns),
        ROWS.unique().sort(ROWS.columns),
    )
