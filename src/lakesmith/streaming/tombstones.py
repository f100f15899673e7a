"""auto_cdc's tombstones: each deleted key with its delete's ``sequence_by`` value.

An SCD 1 MERGE deletes the row, and with it the sequence the table knew: without more, an
older change of that key arriving in a later batch finds no row and inserts the key again.
Lakeflow keeps tombstones for ``pipelines.cdc.tombstoneGCThresholdInSeconds``; here each
stream keeps them in a Delta table of its own, ``<catalog>/_lakesmith/_cdc_tombstones/
<stream id>`` (the key columns, ``__lakesmith_sequence``, ``__lakesmith_deleted_at``),
next to its Spark checkpoint folder. Per batch ``b``:

1. ``plan``: the staged changes lose those a live tombstone outdates (a sequence not newer
   than the key's delete); the tombstones gain the batch's deletes and lose the keys it
   inserts again and those recorded longer ago than ``tombstone_retention``;
2. the target MERGE applies the changes left, with the app transaction ``(app id, b)``;
3. ``commit``: the tombstone changes in one commit carrying the same app transaction.

A crash between 2 and 3 leaves ``b`` in the table, not in the tombstones: the re-run sees
the tombstones' app transaction behind, reads ``b`` again, skips the table's write and
plans from the same tombstones as the first try (only the retention's cutoff has moved). A
tombstone commit for ``b`` means step 2 is done, so ``b`` is not written again even when
its MERGE committed nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import polars as pl
from deltalake import DeltaTable

from lakesmith.catalog.local import SYSTEM_SCHEMA, LocalCatalog
from lakesmith.catalog.storage import TableLocation
from lakesmith.catalog.table_ref import TableRef
from lakesmith.config import models
from lakesmith.config.streaming import AutoCdc
from lakesmith.engines import delta_writes
from lakesmith.engines.frames import delta_ready

from .cdc import DELETE_FLAG

FOLDER = "_cdc_tombstones"
"""Under the ``_lakesmith`` schema, one Delta table per stream id (not a catalog table)."""
SEQUENCE = "__lakesmith_sequence"
DELETED_AT = "__lakesmith_deleted_at"


def location(catalog: LocalCatalog, catalog_name: str, stream_id: str) -> TableLocation:
    """Where a stream's tombstones live, in the catalog of the table it writes."""
    folder = catalog.location(TableRef(catalog_name, SYSTEM_SCHEMA, FOLDER))
    local = folder.local_path / stream_id if folder.local_path is not None else None
    return TableLocation(f"{folder.uri.rstrip('/')}/{stream_id}", folder.storage_options, local)


@dataclass(frozen=True)
class Plan:
    """One batch's changes to apply, and the rows of the tombstones' MERGE (delete flag set:
    the key's tombstone goes)."""

    kept: pl.DataFrame
    tombstones: pl.DataFrame


@dataclass(frozen=True)
class Tombstones:
    """The tombstones of one SCD 1 ``auto_cdc`` stream that deletes (:func:`for_stream`)."""

    cdc: AutoCdc
    where: TableLocation
    app: str
    """The stream's Delta app id: its commits here carry the batch, as the table's do."""

    def _table(self) -> DeltaTable | None:
        options = self.where.storage_options
        if not DeltaTable.is_deltatable(self.where.uri, storage_options=options):
            return None
        return DeltaTable(self.where.uri, storage_options=options)

    def recorded(self, batch_id: int) -> bool:
        """Whether the tombstones hold the batch (so the table does too)."""
        table = self._table()
        done = table.transaction_version(self.app) if table is not None else None
        return done is not None and done >= batch_id

    def plan(self, staged: pl.DataFrame, now: datetime) -> Plan:
        """Drop the changes a tombstone outdates; the tombstone changes the rest make."""
        keys, seq = self.cdc.keys, self.cdc.sequence_by
        staged = delta_ready(staged)  # the dtypes the tombstones were stored with
        table = self._table()
        types = pl.Schema({**{k: staged.schema[k] for k in keys}, SEQUENCE: staged.schema[seq]})
        if table is None:
            stored = pl.DataFrame(schema={**types, DELETED_AT: pl.Datetime("us", "UTC")})
        else:
            stored = pl.read_delta(table).cast(types)
        cutoff = now - timedelta(seconds=self.cdc.tombstone_retention_seconds)
        expired = pl.col(DELETED_AT) < cutoff
        live = stored.filter(~expired).select(*keys, SEQUENCE)
        joined = staged.join(live, on=keys, how="left", maintain_order="left")
        kept = joined.filter(~(pl.col(seq) <= pl.col(SEQUENCE)).fill_null(False))
        deletes = kept.filter(pl.col(DELETE_FLAG)).select(
            *keys, pl.col(seq).alias(SEQUENCE), pl.lit(now).alias(DELETED_AT)
        )
        reinserted = kept.filter(~pl.col(DELETE_FLAG) & pl.col(SEQUENCE).is_not_null())
        gone = (
            pl.concat([reinserted.select(keys), stored.filter(expired).select(keys)])
            .unique()
            .join(deletes, on=keys, how="anti")
        )
        changes = pl.concat(
            [
                deletes.with_columns(pl.lit(False).alias(DELETE_FLAG)),
                gone.with_columns(pl.lit(True).alias(DELETE_FLAG)),
            ],
            how="diagonal",
        )
        return Plan(kept.drop(SEQUENCE), changes)

    def commit(self, changes: pl.DataFrame, batch_id: int, now: datetime) -> None:
        """Apply a plan's tombstone changes as one commit of app transaction ``(app, b)``
        (none when nothing changes: the re-run of the batch then changes nothing either)."""
        if changes.is_empty():
            return
        exists = self._table() is not None
        name = f"{SYSTEM_SCHEMA}.{FOLDER}"
        spec: models.WriteSpec
        if exists:
            flag = f"source.{delta_writes.quote(DELETE_FLAG)}"
            spec = models.MergeWrite(
                table=name,
                mode="merge",
                keys=self.cdc.keys,
                delete_condition=flag,
                update_condition=f"NOT {flag}",
                insert_condition=f"NOT {flag}",
            )
        else:  # no tombstones yet, so nothing to remove: the deletes create the table
            changes = changes.filter(~pl.col(DELETE_FLAG)).drop(DELETE_FLAG)
            spec = models.AppendWrite(table=name, mode="append")
        delta_writes.write(
            self.where.uri,
            delta_ready(changes),
            spec,
            exists=exists,
            storage_options=self.where.storage_options,
            run_started=now,
            app_transaction=(self.app, batch_id),
        )


def for_stream(
    cdc: AutoCdc | None, catalog: LocalCatalog, catalog_name: str, stream_id: str, app: str
) -> Tombstones | None:
    """A stream's tombstones; None when its ``auto_cdc`` never deletes a row (SCD 2 keeps
    the closed version as history, and without ``apply_as_deletes`` nothing is deleted)."""
    if cdc is None or cdc.stored_as_scd_type != 1 or not cdc.apply_as_deletes:
        return None
    return Tombstones(cdc, location(catalog, catalog_name, stream_id), app)
