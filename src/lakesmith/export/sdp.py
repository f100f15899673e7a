"""Export to open-source Spark Declarative Pipelines: ``spark-pipeline.yml`` plus one module.

OSS SDP has no Auto Loader and no expectations: file sources are plain
``spark.readStream.format("json"|"csv"|"parquet")`` with the declared schema (a file stream
needs one), ``drop`` expectations become filters and ``fail`` ones a filter that raises
(``raise_error``) on the first failing row; ``warn`` ones are listed as comments.
Run it with ``spark-pipelines run`` in the output folder; the tables' schemas must exist and
repeated runs need ``--conf spark.sql.catalogImplementation=hive``.

``auto_cdc`` needs a table format that supports MERGE for ``create_auto_cdc_flow``
(``AUTOCDC_TARGET_DOES_NOT_SUPPORT_MERGE`` on Spark's default Parquet tables), so by default
it exports as a ``snapshot``: a materialized view holding each key's newest change, deletes
left out — SCD 1's result, recomputed from the change table on every update. With Delta or
Iceberg as the session's table format, ``auto_cdc="flow"`` applies changes incrementally.

Python transforms are refused: ``spark-pipelines`` calls each query function while it
registers the dataset, before any upstream dataset exists, and its Spark Connect server
refuses every analysis or execution request made inside one
(``ATTEMPT_ANALYSIS_IN_PIPELINE_QUERY_FUNCTION``, SPARK-54562). narwhals on a Spark frame asks
for the frame's columns (``group_by().agg()`` renames its keys through ``df.columns``;
``nw.all()``, ``nw.exclude`` and selectors list them), and a pandas boundary collects. Which
operations ask is narwhals' internals, so every Python transform is refused at export rather
than some failing at run time. SQL transforms export as ``spark.sql``: batch table inputs are
named in the query (dependencies the pipeline resolves in graph order), file and stream
inputs are passed to it as frames.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import yaml

from lakesmith.streaming.expectations import CompiledExpectation, sql_filters

from .model import Dataset, ExportError, ExportPipeline, Frame
from .pycode import call, string
from .render import AutoCdcAs, Target, render

SPEC_FILE = "spark-pipeline.yml"
"""``spark-pipelines`` finds the spec by this exact name."""
LIBRARIES_DIR = "transformations"


def _file_reader(frame: Frame) -> tuple[str, dict[str, str]]:
    if not frame.schema:
        raise ExportError(
            f"file source '{frame.conf_key}' has no schema; OSS Spark file streams need one",
            hint="declare every column under source.schema (schema_hints are Auto Loader's)",
        )
    options = {}
    if frame.max_files_per_batch is not None:
        options["maxFilesPerTrigger"] = str(frame.max_files_per_batch)
    options.update(frame.options)
    return f"spark.readStream.format({string(frame.format)})", options


def _expectations(items: tuple[CompiledExpectation, ...]) -> tuple[list[str], list[str]]:
    body = [
        f"    # expectation {e.name}: on_violation warn, not enforced by OSS SDP"
        for e in items
        if e.on_violation == "warn"
    ]
    for predicate in sql_filters(items):
        body.append(f"    result = {call('result.filter', [string(predicate, 8)], indent=4)}")
    return [], body


def _check_cdc(ds: Dataset) -> None:
    cdc = ds.auto_cdc
    if cdc is not None and cdc.stored_as_scd_type != 1:
        raise ExportError(
            f"node '{ds.name}': OSS Spark Declarative Pipelines apply changes as SCD type 1 only",
            hint="export it with `lakesmith export lakeflow`, or use stored_as_scd_type: 1",
        )


PYTHON_REFUSAL = (
    "open-source Spark Declarative Pipelines cannot run the Python transform of {nodes}: "
    "spark-pipelines refuses any DataFrame analysis inside a query function "
    "(ATTEMPT_ANALYSIS_IN_PIPELINE_QUERY_FUNCTION), and narwhals reads a Spark frame's columns "
    "(a pandas transform even collects it)",
    "write the node's transform in SQL (transform: {sql: ...} or sql_file), which exports as "
    "spark.sql over the inputs; or export with `lakesmith export lakeflow`",
)


TARGET = Target(
    name="sdp",
    dialect="spark",
    file_reader=_file_reader,
    expectations=_expectations,
    check_cdc=_check_cdc,
    refuses_python=lambda ds: True,
    python_refusal=PYTHON_REFUSAL,
)


def module(pipeline: ExportPipeline, auto_cdc: AutoCdcAs = "snapshot") -> str:
    """The SDP pipeline source (``from pyspark import pipelines as dp``)."""
    return render(pipeline, replace(TARGET, auto_cdc=auto_cdc))


def spec(pipeline: ExportPipeline, storage: str) -> dict[str, object]:
    """``spark-pipeline.yml``: name, storage (checkpoints), configuration, libraries."""
    out: dict[str, object] = {"name": pipeline.name, "storage": storage}
    if pipeline.configuration:
        out["configuration"] = dict(pipeline.configuration)
    out["libraries"] = [{"glob": {"include": f"{LIBRARIES_DIR}/**"}}]
    return out


def write(pipeline: ExportPipeline, out: Path, auto_cdc: AutoCdcAs = "snapshot") -> list[Path]:
    """Write ``spark-pipeline.yml`` and ``transformations/<pipeline>.py`` into ``out``.

    Returns:
        The files written.
    """
    text = module(pipeline, auto_cdc)  # refuses what OSS SDP cannot run before writing anything
    out = out.resolve()
    code = out / LIBRARIES_DIR / f"{pipeline.name.replace('-', '_')}.py"
    code.parent.mkdir(parents=True, exist_ok=True)
    code.write_text(text, encoding="utf-8")
    spec_file = out / SPEC_FILE
    head = (
        "# Generated by `lakesmith export sdp`; edit the pipeline, not this file.\n"
        f"# Create the schemas first ({', '.join(pipeline.schemas)}); run repeatedly with\n"
        "#   spark-pipelines run --conf spark.sql.catalogImplementation=hive\n"
    )
    body = yaml.safe_dump(spec(pipeline, (out / "storage").as_uri()), sort_keys=False)
    spec_file.write_text(head + body, encoding="utf-8")
    return [spec_file, code]
