"""Checks of streaming tables, views and their sources that pydantic cannot do alone.

Each check yields ``(key path, message, hint)``; ``checks.check_project`` reports them with
file and line in the same pass as every other issue.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from collections.abc import Set as AbstractSet

from lakesmith.catalog.table_ref import TableRef

from . import models
from .streaming import FileSource, TableSource
from .yaml_loader import KeyPath

Finding = tuple[KeyPath, str, str]


def check_node(
    at: KeyPath,
    node: models.Node,
    catalog: str,
    writers: Mapping[TableRef, models.Node],
    invalid: AbstractSet[str] = frozenset(),
) -> Iterator[Finding]:
    """Every problem of one node's kind, source, auto_cdc and expectations.

    Args:
        at: the node's key path.
        node: the node.
        catalog: the project's default catalog.
        writers: every table written in the project and the node writing it.
        invalid: the node's fields that did not validate (reported already).
    """
    if node.kind != "streaming_table":
        yield from _not_streaming(at, node)
        return
    if node.source is None and "source" not in invalid:
        yield (
            (*at, "kind"),
            f"streaming table '{node.name}' has no source",
            "add source: {files: <folder>, format: json} for arriving files, or "
            "source: {table: <schema.table>} to read another table's new rows",
        )
    if node.write.mode != "append":
        yield (
            (*at, "write", "mode"),
            f"a streaming table appends; mode '{node.write.mode}' does not apply",
            "remove write.mode; to upsert or keep history from a change stream use "
            "auto_cdc: {keys: [...], sequence_by: <column>}",
        )
    if node.quality is not None:
        yield (
            (*at, "quality"),
            "a streaming table checks its rows with expectations, not quality",
            "move the rules to expectations: and add on_violation: warn | drop | fail",
        )
    for alias, spec in node.input_specs().items():
        if spec.incremental is not None:
            yield (
                (*at, "inputs", alias, "incremental"),
                "inputs of a streaming table are read whole with every batch",
                "the source is already incremental; remove incremental here",
            )
    if isinstance(node.source, TableSource):
        yield from _table_source(at, node, node.source, catalog, writers)
    if isinstance(node.source, FileSource) and node.source.schema_ and node.source.schema_hints:
        yield (
            (*at, "source", "schema_hints"),
            "give schema or schema_hints, not both",
            "schema fixes every column; schema_hints types some and keeps the rest as read",
        )
    if node.auto_cdc is not None:
        yield from _auto_cdc(at, node)


def _not_streaming(at: KeyPath, node: models.Node) -> Iterator[Finding]:
    kind = node.kind.replace("_", " ")
    if node.source is not None:
        yield (
            (*at, "source"),
            f"only streaming tables have a source; '{node.name}' is a {kind}",
            "set kind: streaming_table, or read the data with inputs:",
        )
    if node.auto_cdc is not None:
        yield (
            (*at, "auto_cdc"),
            f"auto_cdc applies a change stream; '{node.name}' is a {kind}",
            "set kind: streaming_table with a source, or use write mode merge / scd2",
        )
    if node.expectations:
        yield (
            (*at, "expectations"),
            f"expectations check streaming tables; '{node.name}' is a {kind}",
            "check a recomputed table's output with quality: {rules: [...]}",
        )
    if node.kind == "view" and node.write.mode != "overwrite":
        yield (
            (*at, "write", "mode"),
            f"a view is recomputed on every run; mode '{node.write.mode}' does not apply",
            "use mode: overwrite, or make it a streaming_table to add rows",
        )


def _table_source(
    at: KeyPath,
    node: models.Node,
    source: TableSource,
    catalog: str,
    writers: Mapping[TableRef, models.Node],
) -> Iterator[Finding]:
    ref = TableRef.parse(source.table, default_catalog=catalog)
    if ref == TableRef.parse(node.write.table, default_catalog=catalog):
        yield (
            (*at, "source", "table"),
            f"streaming table '{node.name}' reads the table it writes ({ref})",
            "read the upstream table that feeds it",
        )
        return
    writer = writers.get(ref)
    if writer is not None and writer.kind != "streaming_table":
        kind = writer.kind.replace("_", " ")
        yield (
            (*at, "source", "table"),
            f"streaming table '{node.name}' reads {ref}, a {kind} (node '{writer.name}'); "
            "it is recomputed, so it has no stream of new rows",
            f"make '{writer.name}' a streaming_table, or make '{node.name}' a "
            "materialized_view that reads it with inputs:",
        )


def _auto_cdc(at: KeyPath, node: models.Node) -> Iterator[Finding]:
    cdc = node.auto_cdc
    assert cdc is not None
    where = (*at, "auto_cdc")
    if cdc.sequence_by in cdc.keys:
        yield (
            (*where, "sequence_by"),
            f"sequence_by '{cdc.sequence_by}' is also a key",
            "sequence_by orders the changes of one key: a version number or change time",
        )
    dropped = [k for k in cdc.keys if k in cdc.except_column_list]
    if dropped:
        yield (
            (*where, "except_column_list"),
            f"key column(s) {dropped} cannot be left out of the table",
            "except_column_list lists change-stream columns such as the operation",
        )
    if cdc.track_history_column_list is not None and cdc.stored_as_scd_type == 1:
        yield (
            (*where, "track_history_column_list"),
            "track_history_column_list needs stored_as_scd_type: 2",
            "SCD type 1 keeps no history; set stored_as_scd_type: 2 or remove the list",
        )
    if "tombstone_retention" in cdc.model_fields_set and (
        cdc.stored_as_scd_type == 2 or not cdc.apply_as_deletes
    ):
        yield (
            (*where, "tombstone_retention"),
            "tombstone_retention keeps deleted keys, and this auto_cdc deletes none",
            "it applies to stored_as_scd_type: 1 with apply_as_deletes; remove it otherwise",
        )
    schema = node.source.schema_ if isinstance(node.source, FileSource) else None
    if schema is not None and node.transform is None:  # else the columns are the transform's
        wanted = [*cdc.keys, cdc.sequence_by, *(cdc.track_history_column_list or [])]
        missing = [c for c in dict.fromkeys(wanted) if c not in schema]
        if missing:
            yield (
                where,
                f"auto_cdc names column(s) {missing} that the source schema does not have",
                f"source columns: {', '.join(schema)}",
            )
