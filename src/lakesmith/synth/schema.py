"""The ten identity-graph tables: Arrow schemas, keys and foreign keys (the data contract).

Generator, writers and validation all read this module; nothing else names a column.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

TS = pa.timestamp("us", tz="UTC")
INCOMPRESSIBLE = {b"lakesmith.compression": b"none"}
"""Field metadata for random identifiers: compressing them costs CPU and saves ~12 %."""


@dataclass(frozen=True)
class ForeignKey:
    column: str
    parent: str
    parent_column: str


@dataclass(frozen=True)
class TableDef:
    name: str
    schema: pa.Schema
    primary_key: str
    foreign_keys: tuple[ForeignKey, ...] = ()


def _fk(column: str, parent: str) -> ForeignKey:
    return ForeignKey(column, parent, column)


TABLES: dict[str, TableDef] = {
    t.name: t
    for t in (
        TableDef(
            "households",
            pa.schema(
                [
                    ("household_id", pa.int64()),
                    ("state", pa.string()),
                    ("region", pa.string()),
                    ("income_bracket", pa.string()),
                    ("annual_income", pa.int64()),
                    ("size", pa.int8()),
                    ("created_at", TS),
                ]
            ),
            "household_id",
        ),
        TableDef(
            "individuals",
            pa.schema(
                [
                    ("individual_id", pa.int64()),
                    ("household_id", pa.int64()),
                    ("age", pa.int16()),
                    ("gender", pa.string()),
                    ("education", pa.string()),
                    ("employment", pa.string()),
                    ("is_householder", pa.bool_()),
                ]
            ),
            "individual_id",
            (_fk("household_id", "households"),),
        ),
        TableDef(
            "identity_mappings",
            pa.schema(
                [
                    ("mapping_id", pa.int64()),
                    ("individual_id", pa.int64()),
                    ("identifier_type", pa.string()),
                    pa.field("identifier_value", pa.string(), metadata=INCOMPRESSIBLE),
                    ("first_seen", TS),
                    ("last_seen", TS),
                    ("confidence", pa.float64()),
                    ("is_deterministic", pa.bool_()),
                ]
            ),
            "mapping_id",
            (_fk("individual_id", "individuals"),),
        ),
        TableDef(
            "content_engagements",
            pa.schema(
                [
                    ("event_id", pa.int64()),
                    ("individual_id", pa.int64()),
                    ("content_id", pa.int64()),
                    ("content_category", pa.string()),
                    ("timestamp", TS),
                    ("engagement_type", pa.string()),
                    ("duration_seconds", pa.int32()),
                    ("device_type", pa.string()),
                ]
            ),
            "event_id",
            (_fk("individual_id", "individuals"),),
        ),
        TableDef(
            "viewership_patterns",
            pa.schema(
                [
                    ("pattern_id", pa.int64()),
                    ("individual_id", pa.int64()),
                    ("frequency", pa.int32()),
                    ("recency_days", pa.int32()),
                    ("preferred_categories", pa.list_(pa.string())),
                    ("avg_duration", pa.float64()),
                ]
            ),
            "pattern_id",
            (_fk("individual_id", "individuals"),),
        ),
        TableDef(
            "audience_attributes",
            pa.schema(
                [
                    ("attribute_id", pa.int64()),
                    ("individual_id", pa.int64()),
                    ("segment", pa.string()),
                    ("affinity_scores", pa.map_(pa.string(), pa.float64())),
                    ("classifications", pa.list_(pa.string())),
                ]
            ),
            "attribute_id",
            (_fk("individual_id", "individuals"),),
        ),
        TableDef(
            "campaigns",
            pa.schema(
                [
                    ("campaign_id", pa.int64()),
                    ("name", pa.string()),
                    ("start_date", pa.date32()),
                    ("end_date", pa.date32()),
                    ("target_criteria", pa.string()),
                    ("channels", pa.list_(pa.string())),
                    ("budget", pa.float64()),
                ]
            ),
            "campaign_id",
        ),
        TableDef(
            "campaign_exposures",
            pa.schema(
                [
                    ("exposure_id", pa.int64()),
                    ("individual_id", pa.int64()),
                    ("campaign_id", pa.int64()),
                    ("timestamp", TS),
                    ("channel", pa.string()),
                    ("frequency", pa.int16()),
                ]
            ),
            "exposure_id",
            (_fk("individual_id", "individuals"), _fk("campaign_id", "campaigns")),
        ),
        TableDef(
            "response_events",
            pa.schema(
                [
                    ("response_id", pa.int64()),
                    ("individual_id", pa.int64()),
                    ("campaign_id", pa.int64()),
                    ("exposure_id", pa.int64()),
                    ("response_type", pa.string()),
                    ("timestamp", TS),
                    ("value", pa.float64()),
                ]
            ),
            "response_id",
            (
                _fk("individual_id", "individuals"),
                _fk("campaign_id", "campaigns"),
                _fk("exposure_id", "campaign_exposures"),
            ),
        ),
        TableDef(
            "outcome_metrics",
            pa.schema(
                [
                    ("outcome_id", pa.int64()),
                    ("response_id", pa.int64()),
                    ("conversion_status", pa.string()),
                    ("converted_at", TS),
                    ("revenue", pa.float64()),
                    ("attribution_weight", pa.float64()),
                ]
            ),
            "outcome_id",
            (_fk("response_id", "response_events"),),
        ),
    )
}

TABLE_NAMES: tuple[str, ...] = tuple(TABLES)
