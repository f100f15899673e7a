"""What users write for streaming: node kinds, triggers, stream sources, auto CDC, expectations.

The names follow Lakeflow Declarative Pipelines (``streaming_table``, ``materialized_view``,
``auto_cdc`` with ``sequence_by`` / ``apply_as_deletes`` / ``stored_as_scd_type``, expectations
that ``warn`` / ``drop`` / ``fail``) so an export to Lakeflow is a one-to-one mapping.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from lakesmith.quality import rules

NodeKind = Literal["materialized_view", "streaming_table", "view"]
NODE_KINDS: tuple[str, ...] = get_args(NodeKind)
StreamFileFormat = Literal["json", "csv", "parquet"]
OnViolation = Literal["warn", "drop", "fail"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$", re.IGNORECASE)
_UNIT_SECONDS = {
    **dict.fromkeys(("ms", "millisecond", "milliseconds"), 0.001),
    **dict.fromkeys(("s", "sec", "second", "seconds"), 1.0),
    **dict.fromkeys(("m", "min", "minute", "minutes"), 60.0),
    **dict.fromkeys(("h", "hour", "hours"), 3600.0),
    **dict.fromkeys(("d", "day", "days"), 86400.0),
}

SQL_TYPES = (
    "string",
    "bigint",
    "int",
    "smallint",
    "tinyint",
    "double",
    "float",
    "boolean",
    "date",
    "timestamp",
    "binary",
)
_DECIMAL = re.compile(r"^decimal\(\s*\d+\s*,\s*\d+\s*\)$")


def duration_seconds(text: str) -> float:
    """``1s``, ``500ms``, ``2 minutes``, ``2 days`` ... as seconds.

    Raises:
        ValueError: not a duration.
    """
    match = _DURATION.match(text)
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in _UNIT_SECONDS:
        raise ValueError(
            f"'{text}' is not a duration; write e.g. 500ms, 1s, 30 seconds, 5m, 1h or 2 days"
        )
    return float(match.group(1)) * _UNIT_SECONDS[unit]


def check_sql_type(column: str, text: str) -> str:
    """A column type in Databricks SQL (``bigint``, ``decimal(10,2)`` ...), lowercased.

    Raises:
        ValueError: an unknown type name.
    """
    name = text.strip().lower()
    if name in SQL_TYPES or _DECIMAL.match(name):
        return name
    from .suggest import did_you_mean

    raise ValueError(
        f"column '{column}': '{text}' is not a supported type.{did_you_mean(name, SQL_TYPES)} "
        f"Types: {', '.join(SQL_TYPES)}, decimal(p,s)"
    )


def _positive_duration(value: str) -> str:
    if duration_seconds(value) <= 0:
        raise ValueError(f"'{value}' must be longer than zero")
    return value


Duration = Annotated[str, AfterValidator(_positive_duration)]
"""A duration longer than zero, as written (``1s``, ``2 days``): :func:`duration_seconds`."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class IntervalTrigger(Strict):
    """At most one micro-batch per ``interval``, started as soon as new input is there
    (Lakeflow ``pipelines.trigger.interval``; see ``streaming.loop``)."""

    interval: Duration

    @property
    def seconds(self) -> float:
        return duration_seconds(self.interval)


def _trigger_kind(value: Any) -> str:
    return "interval" if isinstance(value, dict | IntervalTrigger) else "name"


Trigger = Annotated[
    Annotated[Literal["available_now", "continuous"], Tag("name")]
    | Annotated[IntervalTrigger, Tag("interval")],
    Discriminator(_trigger_kind),
]
"""``available_now`` (drain what is new, then stop), ``{interval: 1s}`` or ``continuous``."""


class FileSource(Strict):
    """A folder of arriving files read with Auto Loader semantics.

    Each file is taken exactly once, identified by its path; files are immutable once they
    appear (producers write elsewhere, or under a name starting with ``.`` or ``_``, and
    rename). Without ``schema``, JSON and CSV columns are strings (Auto Loader's default
    without type inference) and ``schema_hints`` types the columns it names.
    """

    files: str = Field(min_length=1, description="folder to watch, relative to the connection")
    connection: str | None = None
    format: StreamFileFormat
    schema_: dict[str, str] | None = Field(
        default=None, alias="schema", description="every column and its type; others dropped"
    )
    schema_hints: dict[str, str] = Field(default_factory=dict, description="column -> type")
    max_files_per_batch: int | None = Field(
        default=None, ge=1, description="Auto Loader cloudFiles.maxFilesPerTrigger"
    )
    path_glob_filter: str | None = Field(default=None, description="e.g. '*.json'")
    options: dict[str, Any] = Field(default_factory=dict, description="reader options")

    @field_validator("schema_", "schema_hints")
    @classmethod
    def _types(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is None:
            return None
        return {column: check_sql_type(column, text) for column, text in value.items()}


class TableSource(Strict):
    """Another Delta table read incrementally: its appended versions, or its change feed."""

    table: str
    change_feed: bool = Field(
        default=False, description="read the change data feed (Lakeflow readChangeFeed)"
    )

    @field_validator("table")
    @classmethod
    def _name(cls, value: str) -> str:
        from .models import TableInput  # models imports this module: import when validating

        return TableInput._name(value)


def _source_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "table" if "table" in value else "files"
    return "table" if isinstance(value, TableSource) else "files"


StreamSource = Annotated[
    Annotated[FileSource, Tag("files")] | Annotated[TableSource, Tag("table")],
    Discriminator(_source_kind),
]


TOMBSTONE_RETENTION = "2 days"
"""Lakeflow's default for ``pipelines.cdc.tombstoneGCThresholdInSeconds`` (172800 s)."""


class AutoCdc(Strict):
    """Apply a change stream to the table (Lakeflow ``create_auto_cdc_flow``).

    With SCD 1 a delete removes the row, and with it the sequence the table knew: a
    tombstone keeps the delete's sequence for ``tombstone_retention``, so an older change
    of that key arriving in a later batch stays ignored (``streaming.tombstones``).
    """

    keys: list[str] = Field(min_length=1)
    sequence_by: str = Field(min_length=1, description="orders the changes of one key")
    apply_as_deletes: str | None = Field(
        default=None, description="SQL predicate over a change row: it deletes its key"
    )
    except_column_list: list[str] = Field(
        default_factory=list, description="change-stream columns not stored in the table"
    )
    stored_as_scd_type: Literal[1, 2] = 1
    track_history_column_list: list[str] | None = Field(
        default=None, description="SCD 2: columns whose change opens a version; default all"
    )
    tombstone_retention: Duration = Field(
        default=TOMBSTONE_RETENTION,
        description="SCD 1: how long a deleted key keeps ignoring older changes that arrive "
        "late (Lakeflow pipelines.cdc.tombstoneGCThresholdInSeconds)",
    )

    @property
    def tombstone_retention_seconds(self) -> float:
        return duration_seconds(self.tombstone_retention)


class _OnViolation(BaseModel):
    on_violation: OnViolation = Field(
        default="warn", description="warn: keep the row; drop: leave it out; fail: stop"
    )

    @model_validator(mode="after")
    def _no_severity(self) -> Any:
        if getattr(self, "severity", None) or getattr(self, "tolerance", None):
            raise ValueError(
                "an expectation says what happens to each failing row with on_violation "
                "(warn | drop | fail); severity and tolerance do not apply"
            )
        return self


class NotNullExpectation(rules.NotNull, _OnViolation):
    pass


class InRangeExpectation(rules.InRange, _OnViolation):
    pass


class InSetExpectation(rules.InSet, _OnViolation):
    pass


class MatchesExpectation(rules.Matches, _OnViolation):
    pass


class ExprExpectation(rules.Expr, _OnViolation):
    pass


Expectation = Annotated[
    NotNullExpectation
    | InRangeExpectation
    | InSetExpectation
    | MatchesExpectation
    | ExprExpectation,
    Field(discriminator="check"),
]
"""A row-level quality rule (the rule format of ``lakesmith.quality.rules``) plus what to do
with a row that breaks it: Lakeflow's ``expect`` / ``expect_or_drop`` / ``expect_or_fail``."""
