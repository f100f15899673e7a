"""Cross-reference checks that pydantic cannot do alone; they read config files, never data."""

from __future__ import annotations

import graphlib
import importlib.util
import sys
from collections import Counter
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from lakesmith.catalog.table_ref import TableRef
from lakesmith.errors import ConfigIssue, LakesmithError

from . import models
from .interpolate import format_path
from .suggest import did_you_mean
from .yaml_loader import KeyPath, SourceMap

if TYPE_CHECKING:
    from .loader import PipelineFile

EXTENSION_FORMATS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".json": "json",
    ".jsonl": "json",
    ".ndjson": "json",
    ".parquet": "parquet",
    ".pq": "parquet",
}


def infer_format(path: str) -> str | None:
    """The file format a path's extension implies; None for folders and unknown endings."""
    suffix = PurePosixPath(path.rstrip("/").split("*")[0] or path).suffix.lower()
    if not suffix and "*" in path:
        suffix = PurePosixPath(path).suffix.lower()
    return EXTENSION_FORMATS.get(suffix)


class _Reporter:
    def __init__(self, file: Path, smap: SourceMap) -> None:
        self.file, self.smap = file, smap
        self.issues: list[ConfigIssue] = []

    def __call__(
        self, path: KeyPath, message: str, hint: str = "", severity: str = "error"
    ) -> None:
        _, line = self.smap.locate(path)
        self.issues.append(ConfigIssue(message, format_path(path), self.file, line, hint, severity))


def check_project(
    root: Path,
    project: models.Project,
    project_smap: SourceMap,
    pipelines: list[PipelineFile],
) -> list[ConfigIssue]:
    issues: list[ConfigIssue] = []
    issues += _check_connections(root / "lakesmith.yaml", project, project_smap)
    names = Counter(pf.pipeline.name for pf in pipelines)
    node_owner: dict[str, str] = {}
    writers: dict[TableRef, str] = {}
    all_nodes = {n.name for pf in pipelines for n in pf.pipeline.nodes}
    for pf in pipelines:
        report = _Reporter(pf.file, pf.source_map)
        if names[pf.pipeline.name] > 1:
            report(("name",), f"pipeline name '{pf.pipeline.name}' is used by more than one file")
        for i, node in enumerate(pf.pipeline.nodes):
            at: KeyPath = ("nodes", i)
            if node.name in node_owner:
                report(
                    (*at, "name"),
                    f"node name '{node.name}' is already used in pipeline "
                    f"'{node_owner[node.name]}'",
                    "node names are unique across a project so --node and --from are unambiguous",
                )
            node_owner.setdefault(node.name, pf.pipeline.name)
            target = TableRef.parse(node.write.table, default_catalog=project.catalog)
            if target in writers:
                report(
                    (*at, "write", "table"),
                    f"table {target} is also written by node '{writers[target]}'",
                    "give each table one writing node; combine the logic or write another table",
                )
            writers.setdefault(target, node.name)
            for dep in node.depends_on:
                if dep not in all_nodes:
                    report(
                        (*at, "depends_on"),
                        f"depends_on names unknown node '{dep}'.{did_you_mean(dep, all_nodes)}",
                    )
            _check_inputs(report, at, node, project, root)
            _check_transform(report, at, node, root)
        issues += report.issues
    issues += _check_cycles(root, project, pipelines)
    return issues


def _check_connections(file: Path, project: models.Project, smap: SourceMap) -> list[ConfigIssue]:
    report = _Reporter(file, smap)
    for name, conn in project.connections.items():
        auth = getattr(conn, "auth", None)
        if isinstance(auth, models.DirectKeyAuth) and not isinstance(
            auth.account_key, models.SecretRef
        ):
            report(
                ("connections", name, "auth", "account_key"),
                "a literal account key is in a config file",
                "use ${ENV_VAR} or {secret: scope/key} so the key never reaches git",
                severity="warning",
            )
    return report.issues


def _check_inputs(
    report: _Reporter, at: KeyPath, node: models.Node, project: models.Project, root: Path
) -> None:
    for alias, spec in node.input_specs().items():
        where = (*at, "inputs", alias)
        if not isinstance(spec, models.PathInput):
            continue
        if spec.connection and spec.connection not in project.connections:
            known = list(project.connections)
            report(
                (*where, "connection"),
                f"unknown connection '{spec.connection}'.{did_you_mean(spec.connection, known)}",
                f"connections defined: {', '.join(known) or 'none'} (in lakesmith.yaml)",
            )
        implied = infer_format(spec.path)
        if spec.format is None and implied is None:
            report(
                (*where, "path"),
                f"cannot tell the format of '{spec.path}'",
                f"add format: one of {', '.join(models.FILE_FORMATS)}",
            )
        elif spec.format == "delta" and implied is not None:
            report(
                (*where, "format"),
                f"format 'delta' does not fit the file path '{spec.path}' (a .{implied} file)",
                "a Delta table is a folder; use format: "
                f"{implied}, or read the table by name with 'table:'",
            )
        elif spec.format and implied and spec.format != implied:
            report(
                (*where, "format"),
                f"format '{spec.format}' does not fit path '{spec.path}'",
                f"the extension says '{implied}': fix the format or the path",
            )


def _check_transform(report: _Reporter, at: KeyPath, node: models.Node, root: Path) -> None:
    transform = node.transform
    where = (*at, "transform")
    if transform is None:
        if len(node.inputs) != 1:
            report(
                where,
                f"node has {len(node.inputs)} inputs and no transform",
                "add transform: {sql: ...} or {python: module:function}, or keep one input",
            )
        return
    if isinstance(transform, models.SqlTransform):
        from lakesmith.engines.sql_dialect import parse

        sql = transform.sql
        if transform.sql_file:
            sql_path = root / transform.sql_file
            if not sql_path.is_file():
                report((*where, "sql_file"), f"SQL file '{transform.sql_file}' does not exist")
                return
            sql = sql_path.read_text(encoding="utf-8")
        try:
            parse(sql or "")
        except LakesmithError as exc:
            report((*where, "sql_file" if transform.sql_file else "sql"), exc.message, exc.hint)
        return
    module, _, _func = transform.python.partition(":")
    if not _module_exists(module, root):
        report(
            (*where, "python"),
            f"module '{module}' is not found in the project",
            "put it under the project root or src/ (a .py file; folders need __init__.py)",
        )


def _module_exists(module: str, root: Path) -> bool:
    rel = Path(*module.split("."))
    for base in (root, root / "src"):
        if (base / rel).with_suffix(".py").is_file() or (base / rel / "__init__.py").is_file():
            return True
    if str(root) in sys.path:
        return importlib.util.find_spec(module) is not None
    return False


def _check_cycles(
    root: Path, project: models.Project, pipelines: list[PipelineFile]
) -> list[ConfigIssue]:
    from lakesmith.pipeline.graph import dependency_graph

    nodes = [n for pf in pipelines for n in pf.pipeline.nodes]
    try:
        graph = dependency_graph(nodes, project.catalog, root)
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        cycle = " -> ".join(exc.args[1])
        return [
            ConfigIssue(
                f"the pipeline graph has a cycle: {cycle}",
                key="nodes",
                file=pipelines[0].file if pipelines else None,
                hint="a node cannot read, directly or through others, the table it writes",
            )
        ]
    except LakesmithError:
        return []  # unparsable SQL was reported already
    return []
