"""The validation report: one pydantic model per kind of check, JSON-serialisable."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, computed_field


class _Check(BaseModel):
    # extra="ignore": computed fields (`passed`, ...) appear in the JSON and are recomputed
    # when a report is read back.
    model_config = ConfigDict(extra="ignore", frozen=True)


class SchemaCheck(_Check):
    """A table against the contract in `schema.py`."""

    table: str
    present: bool
    missing_columns: list[str] = []
    type_mismatches: list[str] = []
    extra_columns: list[str] = []

    @computed_field
    @property
    def passed(self) -> bool:
        return self.present and not self.missing_columns and not self.type_mismatches


class KeyCheck(_Check):
    """Primary key: `duplicate_keys` counts the rows beyond the first with the same key."""

    table: str
    column: str
    rows: int
    null_keys: int
    duplicate_keys: int

    @computed_field
    @property
    def passed(self) -> bool:
        return self.null_keys == 0 and self.duplicate_keys == 0


class OrphanCheck(_Check):
    """Foreign key: rows whose reference is null or has no parent row."""

    table: str
    column: str
    parent: str
    parent_column: str
    rows: int
    null_refs: int
    orphans: int

    @computed_field
    @property
    def passed(self) -> bool:
        return self.null_refs == 0 and self.orphans == 0


class IdentifierCheck(_Check):
    """Duplicate identifier values of one type.

    `duplicated_values` counts distinct values found on more than one row (scope ``dataset``)
    or in more than one household (scope ``household``, the ``ip`` type); `affected_rows` counts
    the rows holding such a value.
    """

    identifier_type: str
    scope: Literal["dataset", "household"]
    rows: int
    null_values: int
    duplicated_values: int
    affected_rows: int

    @computed_field
    @property
    def passed(self) -> bool:
        return self.null_values == 0 and self.duplicated_values == 0


class TemporalCheck(_Check):
    """One time rule: `violations` rows out of `rows_checked` break it."""

    rule: str
    table: str
    description: str
    rows_checked: int
    violations: int

    @computed_field
    @property
    def passed(self) -> bool:
        return self.violations == 0


class ConsistencyCheck(_Check):
    """A derived value against its source: `mismatches` rows out of `rows_checked` disagree."""

    rule: str
    table: str
    description: str
    rows_checked: int
    mismatches: int

    @computed_field
    @property
    def passed(self) -> bool:
        return self.mismatches == 0


Comparison = Literal["abs", "rel", "greater"]
Status = Literal["pass", "fail", "skip"]


class DistributionCheck(_Check):
    """An observed statistic against the target the spec implies.

    `comparison` says how `tolerance` applies: ``abs`` passes when
    ``|observed - target| <= tolerance``, ``rel`` when ``|observed - target| <= tolerance *
    |target|``, ``greater`` when ``observed > target``. `status` is ``skip`` when the sample is
    too small to judge (the check then never fails the report).
    """

    name: str
    group: str
    description: str
    n: int
    observed: float | None
    target: float
    tolerance: float
    comparison: Comparison
    status: Status
    detail: str = ""

    @computed_field
    @property
    def passed(self) -> bool:
        return self.status != "fail"


class ValidationReport(_Check):
    """Everything `validate_dataset` found; `model_dump_json()` gives the JSON form."""

    dataset: str
    seed: int
    spec_hash: str
    spec_households: int
    row_counts: dict[str, int]
    schema_checks: list[SchemaCheck]
    keys: list[KeyCheck]
    orphans: list[OrphanCheck]
    identifiers: list[IdentifierCheck]
    temporal: list[TemporalCheck]
    consistency: list[ConsistencyCheck]
    distributions: list[DistributionCheck]
    elapsed_seconds: float

    @computed_field
    @property
    def integrity_passed(self) -> bool:
        """Schema, keys, orphans, identifiers, temporal rules and derived tables all pass."""
        sections: list[list[SchemaCheck] | list[KeyCheck] | list[OrphanCheck]] = [
            self.schema_checks,
            self.keys,
            self.orphans,
        ]
        more: list[list[IdentifierCheck] | list[TemporalCheck] | list[ConsistencyCheck]] = [
            self.identifiers,
            self.temporal,
            self.consistency,
        ]
        return all(c.passed for s in sections for c in s) and all(c.passed for s in more for c in s)

    @computed_field
    @property
    def distributions_passed(self) -> bool:
        return all(c.passed for c in self.distributions)

    @computed_field
    @property
    def passed(self) -> bool:
        return self.integrity_passed and self.distributions_passed

    def failures(self) -> list[str]:
        """One line per failed check, in report order."""
        out = [f"schema {c.table}" for c in self.schema_checks if not c.passed]
        out += [
            f"keys {c.table}.{c.column}: {c.duplicate_keys} duplicate, {c.null_keys} null"
            for c in self.keys
            if not c.passed
        ]
        out += [
            f"orphans {c.table}.{c.column} -> {c.parent}: {c.orphans} orphan, {c.null_refs} null"
            for c in self.orphans
            if not c.passed
        ]
        out += [
            f"identifiers {c.identifier_type}: {c.duplicated_values} duplicated values, "
            f"{c.null_values} null"
            for c in self.identifiers
            if not c.passed
        ]
        out += [
            f"temporal {c.rule}: {c.violations} of {c.rows_checked}"
            for c in self.temporal
            if not c.passed
        ]
        out += [
            f"consistency {c.rule}: {c.mismatches} of {c.rows_checked}"
            for c in self.consistency
            if not c.passed
        ]
        out += [
            f"distribution {c.name}: observed {c.observed}, target {c.target} ({c.comparison} "
            f"{c.tolerance:g})"
            for c in self.distributions
            if not c.passed
        ]
        return out


# --------------------------------------------------------------------------- entry point
