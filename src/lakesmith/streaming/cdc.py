"""auto_cdc: a micro-batch of changes as one MERGE (SCD 1) or one history MERGE (SCD 2).

The batch keeps each key's newest change (by ``sequence_by``); a change matching
``apply_as_deletes`` deletes its key. Older changes than the table already holds are ignored
(SCD 1 compares ``sequence_by`` when the table stores it), and so are changes older than a
key's delete in an earlier batch (``tombstones``). The writes themselves are
``engines.delta_writes``' merge and scd2 modes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from lakesmith.config import models
from lakesmith.config.streaming import AutoCdc
from lakesmith.engines.delta_writes import quote, require_key_columns
from lakesmith.errors import WriteError

if TYPE_CHECKING:
    from lakesmith.engines.base import Engine

DELETE_FLAG = "__lakesmith_delete"
"""A column of the staged batch only: merges write the table's columns, never this one."""


def stage(batch: pl.DataFrame, cdc: AutoCdc, engine: Engine) -> pl.DataFrame:
    """Each key's newest change, with the delete flag (and still every column: the
    tombstones need ``sequence_by`` even when the table does not store it; ``for_table``).

    Raises:
        WriteError: a key or the sequence column is missing, or the delete condition fails.
    """
    require_key_columns(batch.columns, [*cdc.keys, cdc.sequence_by], "auto_cdc")
    if cdc.apply_as_deletes:
        flagged = engine.sql(
            f"SELECT *, COALESCE(({cdc.apply_as_deletes}), FALSE) AS {DELETE_FLAG} FROM source",
            {"source": batch.lazy()},
        ).collect()
    else:
        flagged = batch.with_columns(pl.lit(False).alias(DELETE_FLAG))
    return flagged.sort(cdc.sequence_by, maintain_order=True).unique(
        cdc.keys, keep="last", maintain_order=True
    )


def for_table(staged: pl.DataFrame, cdc: AutoCdc) -> pl.DataFrame:
    """The staged changes without the except columns: what the MERGE takes."""
    return staged.drop([c for c in cdc.except_column_list if c in staged.columns])


def write_spec(
    cdc: AutoCdc, table: str, columns: list[str]
) -> models.MergeWrite | models.Scd2Write:
    """The merge (SCD 1) or scd2 write that applies a staged batch."""
    if cdc.stored_as_scd_type == 2:
        if cdc.apply_as_deletes:
            raise WriteError(
                "auto_cdc with stored_as_scd_type 2 and apply_as_deletes is not supported "
                "on the embedded engine yet",
                hint="use stored_as_scd_type: 1, or filter the deletes out in the transform",
            )
        return models.Scd2Write(
            table=table,
            mode="scd2",
            keys=cdc.keys,
            tracked_columns=cdc.track_history_column_list,
            effective_column=cdc.sequence_by if cdc.sequence_by in columns else None,
        )
    flag = f"source.{quote(DELETE_FLAG)}"
    newer = newer_or_same = "true"
    if cdc.sequence_by in columns:  # the table stores the sequence: skip out-of-order changes
        seq = quote(cdc.sequence_by)
        newer = f"source.{seq} > target.{seq}"
        newer_or_same = f"source.{seq} >= target.{seq}"
    return models.MergeWrite(
        table=table,
        mode="merge",
        keys=cdc.keys,
        delete_condition=f"{flag} AND {newer_or_same}",
        update_condition=f"NOT {flag} AND {newer}",
        insert_condition=f"NOT {flag}",
    )


def table_columns(staged: pl.DataFrame) -> list[str]:
    return [c for c in staged.columns if c != DELETE_FLAG]
