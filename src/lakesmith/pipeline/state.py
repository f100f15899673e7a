"""Incremental watermarks, kept in the warehouse and moved only by a committed write.

The watermark travels inside the target table's own commit (custom commit metadata), so the
data and the watermark are committed together or not at all. A copy is kept in the system
table ``<catalog>._lakesmith.watermarks`` for people and tools to read; if the two disagree
after a crash, the commit wins.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime
from typing import Any

import polars as pl
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import DeltaError

from lakesmith.catalog.local import SYSTEM_SCHEMA, LocalCatalog
from lakesmith.catalog.table_ref import TableRef

COMMIT_KEY = "lakesmith.watermarks"
NODE_KEY = "lakesmith.node"
RUN_KEY = "lakesmith.run_id"
_HISTORY_DEPTH = 50
_lock = threading.Lock()


def encode(value: Any) -> str:
    """A watermark as JSON text that keeps its type."""
    if isinstance(value, datetime):
        return json.dumps({"t": "datetime", "v": value.isoformat()})
    if isinstance(value, date):
        return json.dumps({"t": "date", "v": value.isoformat()})
    return json.dumps({"t": type(value).__name__, "v": value})


def decode(text: str) -> Any:
    data = json.loads(text)
    kind, value = data["t"], data["v"]
    if kind == "datetime":
        return datetime.fromisoformat(value)
    if kind == "date":
        return date.fromisoformat(value)
    return value


class WatermarkStore:
    def __init__(self, catalog: LocalCatalog, catalog_name: str) -> None:
        self.catalog = catalog
        self.ref = TableRef(catalog_name, SYSTEM_SCHEMA, "watermarks")

    def get(self, node: str, alias: str, target: TableRef) -> Any:
        """The last committed watermark of one node input, or None on a first run."""
        if not self.catalog.exists(target):
            return None  # no table holds the rows: a leftover mirror row must not skip them
        committed = self._from_target(node, target)
        if committed is not None:
            return decode(committed[alias]) if alias in committed else None
        if not self.catalog.exists(self.ref):
            return None
        rows = (
            pl.scan_delta(self.catalog.uri(self.ref))
            .filter((pl.col("node") == node) & (pl.col("input") == alias))
            .select("value")
            .collect()
        )
        return decode(rows["value"][0]) if rows.height else None

    def _from_target(self, node: str, target: TableRef) -> dict[str, str] | None:
        if not self.catalog.exists(target):
            return None
        for commit in DeltaTable(self.catalog.uri(target)).history(_HISTORY_DEPTH):
            if commit.get(NODE_KEY) == node and COMMIT_KEY in commit:
                return json.loads(commit[COMMIT_KEY])
        return None

    def record(self, node: str, run_id: str, marks: dict[str, str]) -> None:
        """Mirror committed watermarks into the system table (after the data commit)."""
        if not marks:
            return
        now = datetime.now(UTC)
        rows = pl.DataFrame(
            {
                "node": [node] * len(marks),
                "input": list(marks),
                "value": list(marks.values()),
                "run_id": [run_id] * len(marks),
                "updated_at": [now] * len(marks),
            },
            schema_overrides={"updated_at": pl.Datetime("us", "UTC")},
        )
        uri = self.catalog.uri(self.ref)
        with _lock:
            for attempt in range(5):
                try:
                    if not self.catalog.exists(self.ref):
                        self.catalog.path(self.ref).parent.mkdir(parents=True, exist_ok=True)
                        write_deltalake(uri, rows.to_arrow(), mode="error")
                        return
                    (
                        DeltaTable(uri)
                        .merge(
                            rows.to_arrow(),
                            predicate="t.node = s.node AND t.input = s.input",
                            source_alias="s",
                            target_alias="t",
                        )
                        .when_matched_update_all()
                        .when_not_matched_insert_all()
                        .execute()
                    )
                    return
                except DeltaError:  # a concurrent first write or merge: try again
                    if attempt == 4:
                        raise
