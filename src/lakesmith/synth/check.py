"""Validate a generated dataset in the warehouse and keep the report beside its manifest."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from lakesmith.errors import LakesmithError

from .job import MANIFEST
from .report import to_html, to_markdown
from .schema import TABLE_NAMES
from .spec import SynthSpec
from .validation import ValidationReport, validate_dataset

REPORT = "_synth_validation"


def check_dataset(
    warehouse: Path, catalog: str, schema: str
) -> tuple[ValidationReport, dict[str, Path]]:
    """Validate ``catalog.schema`` against the spec recorded in its manifest.

    Returns:
        The report and the paths of its JSON, Markdown and HTML forms.

    Raises:
        LakesmithError: no generated dataset (manifest) at that place.
    """
    root = Path(warehouse) / catalog / schema
    manifest = root / MANIFEST
    if not manifest.is_file():
        raise LakesmithError(
            f"no generated dataset at {root}",
            hint="generate one first: lakesmith synth generate",
        )
    recorded = json.loads(manifest.read_text())
    spec = SynthSpec.model_validate(recorded["spec"])
    tables = {
        name: pl.scan_delta(str(root / name), version=version)
        for name, version in manifest_versions(recorded).items()
    }
    report = validate_dataset(spec, tables)
    paths = {ext: root / f"{REPORT}.{ext}" for ext in ("json", "md", "html")}
    paths["json"].write_text(report.model_dump_json(indent=2))
    paths["md"].write_text(to_markdown(report), encoding="utf-8")
    paths["html"].write_text(to_html(report), encoding="utf-8")
    return report, paths


def manifest_versions(manifest: dict) -> dict[str, int | None]:
    """Each table's Delta version as the manifest recorded it: the dataset's commit point.

    A job commits its tables one by one and writes the manifest last, so a job killed between
    two commits leaves some tables newer than the manifest. Reading every table at the
    recorded version gives the last complete dataset, never a mix of two generations.
    """
    tables = manifest.get("tables", {})
    return {name: tables.get(name, {}).get("delta_version") for name in TABLE_NAMES}
