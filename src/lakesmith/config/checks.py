"""Cross-reference checks that pydantic cannot do alone; they read config files, never data."""

from __future__ import annotations

import graphlib
import importlib.util
import itertools
import re
import sys
from collections import Counter
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from lakesmith.catalog.table_ref import TableRef
from lakesmith.errors import ConfigIssue, LakesmithError

from . import models, streaming_checks
from .streaming import FileSource
from .suggest import did_you_mean
from .yaml_loader import KeyPath, SourceMap, format_path

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
        self,
        path: KeyPath,
        message: str,
        hint: str = "",
        severity: str = "error",
        *,
        file: Path | None = None,
        line: int | None = None,
    ) -> None:
        if file is None:
            file = self.file
            line = self.smap.locate(path)[1] if line is None else line
        self.issues.append(ConfigIssue(message, format_path(path), file, line, hint, severity))


def check_project(
    root: Path,
    project: models.Project,
    project_smap: SourceMap,
    pipelines: list[PipelineFile],
    env: str = "",
) -> list[ConfigIssue]:
    issues: list[ConfigIssue] = []
    issues += _check_connections(root / "lakesmith.yaml", project, project_smap, env)
    issues += _check_table_storage(root / "lakesmith.yaml", project, project_smap)
    issues += _check_llm(root / "lakesmith.yaml", project, project_smap)
    names = Counter(pf.pipeline.name for pf in pipelines)
    node_owner: dict[str, PipelineFile] = {}
    writers: dict[TableRef, str] = {}
    all_nodes = {n.name for pf in pipelines for n in pf.pipeline.nodes}
    issues += _check_circuit_breakers(root / "lakesmith.yaml", project, project_smap, all_nodes)
    by_table = {
        TableRef.parse(n.write.table, default_catalog=project.catalog): n
        for pf in pipelines
        for n in pf.pipeline.nodes
    }
    for pf in pipelines:
        report = _Reporter(pf.file, pf.source_map)
        if names[pf.pipeline.name] > 1:
            others = [o.file.name for o in pipelines if o.pipeline.name == pf.pipeline.name]
            report(
                ("name",),
                f"pipeline name '{pf.pipeline.name}' is used by more than one file "
                f"({', '.join(others)})",
                "give each pipeline file its own name",
            )
        for i, node, invalid in pf.node_positions():
            at: KeyPath = ("nodes", i)
            if node.name in node_owner:
                owner = node_owner[node.name]
                report(
                    (*at, "name"),
                    f"node name '{node.name}' is already used in pipeline "
                    f"'{owner.pipeline.name}' ({_short(owner.file, root)})",
                    "node names are unique across a project so --node and --from are unambiguous",
                )
            node_owner.setdefault(node.name, pf)
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
                        "depends_on lists node names, not tables; reading a table another "
                        "node writes already orders them",
                    )
            _check_inputs(report, at, node, project, root)
            for key, message, hint in streaming_checks.check_node(
                at, node, project.catalog, by_table, invalid
            ):
                report(key, message, hint)
            source = node.source
            if isinstance(source, FileSource) and source.connection:
                _check_connection(report, (*at, "source"), source.connection, project)
            if not invalid & {"inputs", "transform"}:
                _check_transform(report, at, node, root)
            rules_file = node.quality.rules_file if node.quality else None
            if rules_file and not (root / rules_file).is_file():
                report(
                    (*at, "quality", "rules_file"),
                    f"rules file '{rules_file}' does not exist",
                    "paths are relative to the project root",
                )
        issues += report.issues
    issues += _check_cycles(root, project, pipelines)
    issues += check_engine(pipelines, project.engine)
    return issues


def check_engine(
    pipelines: list[PipelineFile], engine: str, nodes: set[str] | None = None
) -> list[ConfigIssue]:
    """What the nodes ask for that ``engine`` cannot do, one issue per place.

    Run by validation with the project's engine, and again when a run picks another one
    (``lakesmith run --engine spark``), before any node runs.

    Args:
        pipelines: the project's pipeline files.
        engine: the engine that will run them.
        nodes: only these nodes (a run's selection); default: all.
    """
    if engine != "spark":
        return []
    issues: list[ConfigIssue] = []
    for pf in pipelines:
        report = _Reporter(pf.file, pf.source_map)
        for i, node, _ in pf.node_positions():
            if nodes is not None and node.name not in nodes:
                continue
            for alias, spec in node.input_specs().items():
                if isinstance(spec, models.PathInput) and spec.on_bad_records == "quarantine":
                    report(
                        ("nodes", i, "inputs", alias, "on_bad_records"),
                        f"node '{node.name}': on_bad_records: quarantine runs on the embedded "
                        "engine only, and this project runs on spark (Spark's PERMISSIVE mode "
                        "would keep invalid UTF-8 as U+FFFD and values of the wrong type as "
                        "text in good rows)",
                        "run this project on the embedded engine (engine: polars), or remove "
                        "on_bad_records and keep the bad rows out of the file upstream",
                    )
        issues += report.issues
    return issues


def _short(file: Path, root: Path) -> str:
    try:
        return file.relative_to(root).as_posix()
    except ValueError:
        return str(file)


def is_production(env: str) -> bool:
    """Whether an environment name means production (prod, production, prod-eu, ...)."""
    return env.lower().startswith("prod")


def _check_connections(
    file: Path, project: models.Project, smap: SourceMap, env: str = ""
) -> list[ConfigIssue]:
    report = _Reporter(file, smap)
    for name, conn in project.connections.items():
        auth = getattr(conn, "auth", None)
        where: KeyPath = ("connections", name, "auth", "account_key")
        if isinstance(auth, models.DirectKeyAuth) and is_production(env):
            auth_type: KeyPath = ("connections", name, "auth", "type")
            file_of_type, type_line = smap.locate(auth_type)
            report(
                auth_type,
                f"connection '{name}' uses direct_key auth in the '{env}' environment",
                "production should not hold account keys: use key_vault (a workspace managed "
                "identity reads the key) or unity_catalog on Databricks",
                severity="warning",
                file=file_of_type,
                line=type_line,
            )
        if (
            isinstance(auth, models.DirectKeyAuth)
            and not isinstance(auth.account_key, models.SecretRef)
            and where not in smap.interpolated
        ):
            file_of_key, line = smap.locate(where)
            report(
                where,
                "a literal account key is in a config file",
                "use ${ENV_VAR} or {secret: scope/key} so the key never reaches git",
                severity="warning",
                file=file_of_key,
                line=line,
            )
    return report.issues


def _check_llm(file: Path, project: models.Project, smap: SourceMap) -> list[ConfigIssue]:
    """A model's API key written into a config file (it would reach git)."""
    report = _Reporter(file, smap)
    where: KeyPath = ("llm", "api_key")
    llm = project.llm
    if (
        llm is not None
        and llm.api_key is not None
        and not isinstance(llm.api_key, models.SecretRef)
        and where not in smap.interpolated
    ):
        file_of_key, line = smap.locate(where)
        report(
            where,
            "a literal API key is in a config file",
            "use {secret: scope/key}, ${ENV_VAR} or LAKESMITH_LLM_API_KEY so the key never "
            "reaches git",
            severity="warning",
            file=file_of_key,
            line=line,
        )
    return report.issues


def _check_table_storage(file: Path, project: models.Project, smap: SourceMap) -> list[ConfigIssue]:
    """The warehouse and ``catalogs:`` name connections that exist and hold folders."""
    report = _Reporter(file, smap)
    places: list[tuple[KeyPath, str | models.ConnectionPath]] = [
        (("warehouse",), project.warehouse),
        *((("catalogs", name), spec) for name, spec in project.catalogs.items()),
    ]
    storage = [
        n for n, c in project.connections.items() if isinstance(c, models.STORAGE_CONNECTIONS)
    ]
    for at, spec in places:
        if not isinstance(spec, models.ConnectionPath):
            continue
        conn = project.connections.get(spec.connection)
        if isinstance(conn, dict):
            continue  # a connection that did not validate: reported already
        if conn is None:
            report(
                (*at, "connection"),
                f"unknown connection '{spec.connection}'.{did_you_mean(spec.connection, storage)}",
                f"storage connections defined: {', '.join(storage) or 'none'} (in lakesmith.yaml)",
            )
        elif not isinstance(conn, models.STORAGE_CONNECTIONS):
            report(
                (*at, "connection"),
                f"connection '{spec.connection}' is of type {conn.type}: it holds tables, "
                "not folders to keep tables in",
                "use an azure_adls or local connection here; a unity_catalog connection "
                "governs tables on Databricks by itself",
            )
    return report.issues


def _check_inputs(
    report: _Reporter, at: KeyPath, node: models.Node, project: models.Project, root: Path
) -> None:
    for alias, spec in node.input_specs().items():
        where = (*at, "inputs", alias)
        if not isinstance(spec, models.PathInput):
            continue
        if spec.connection:
            _check_connection(report, where, spec.connection, project)
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


def _check_connection(
    report: _Reporter, where: KeyPath, name: str, project: models.Project
) -> None:
    if name not in project.connections:
        known = list(project.connections)
        report(
            (*where, "connection"),
            f"unknown connection '{name}'.{did_you_mean(name, known)}",
            f"connections defined: {', '.join(known) or 'none'} (in lakesmith.yaml)",
        )


def _check_transform(report: _Reporter, at: KeyPath, node: models.Node, root: Path) -> None:
    transform = node.transform
    where = (*at, "transform")
    if transform is None:
        streaming = node.kind == "streaming_table"
        inputs = len(node.inputs) + (streaming and node.source is not None)  # input 'source'
        if inputs != 1 and not (streaming and node.source is None):  # "has no source" instead
            report(
                where,
                f"node has {inputs} inputs and no transform",
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
            _report_sql_error(report, where, transform, root, exc)
        return
    module, _, _func = transform.python.partition(":")
    if not _module_exists(module, root):
        report(
            (*where, "python"),
            f"module '{module}' is not found in the project",
            "put it under the project root or src/ (a .py file; folders need __init__.py)",
        )


_SQLGLOT_MISSING = re.compile(r"Required keyword: '(\w+)' missing for <class '[\w.]*?(\w+)'>")


def _report_sql_error(
    report: _Reporter,
    where: KeyPath,
    transform: models.SqlTransform,
    root: Path,
    exc: LakesmithError,
) -> None:
    """A parse error at the file and line of the SQL itself (the .sql file or the YAML block)."""
    key = (*where, "sql_file" if transform.sql_file else "sql")
    first = _first_parse_error(exc)
    if first is None:
        report(key, exc.message, exc.hint)
        return
    sql_line, col = first.get("line"), first.get("col")
    detail = str(first.get("description", ""))
    missing = _SQLGLOT_MISSING.fullmatch(detail)
    if missing:
        detail = f"incomplete {missing.group(2)} expression (no {missing.group(1)})"
    if detail.startswith("Invalid expression / Unexpected token"):
        detail = "unexpected token"
    near = (str(first.get("start_context") or "") + str(first.get("highlight") or "")).strip()
    near = near.splitlines()[-1].strip()[-40:] if near else ""
    text = f"SQL does not parse at line {sql_line}, column {col}"
    text += f" near '{near}'" if near else ""
    text += f": {detail}"
    if transform.sql_file:
        file = root / transform.sql_file
        report(key, text, exc.hint, file=file, line=sql_line if isinstance(sql_line, int) else None)
        return
    line = report.smap.text_line(key, sql_line) if isinstance(sql_line, int) else None
    report(key, text, exc.hint, line=line)


def _first_parse_error(exc: BaseException) -> dict[str, object] | None:
    cause = exc.__cause__
    errors = getattr(cause, "errors", None)
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return errors[0]
    return None


def _module_exists(module: str, root: Path) -> bool:
    """A transform module in the project's folders, or in the installed package that ships
    the project (a wheel job: ``lakesmith-job --package``); never some other package."""
    rel = Path(*module.split("."))
    for base in (root, root / "src"):
        if (base / rel).with_suffix(".py").is_file() or (base / rel / "__init__.py").is_file():
            return True
    if str(root) in sys.path or _ships_project(module.split(".")[0], root):
        return importlib.util.find_spec(module) is not None
    return False


def _ships_project(package: str, root: Path) -> bool:
    """Whether the installed top-level ``package`` holds the project folder ``root``."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return False
    folders = (spec.submodule_search_locations or []) if spec else []
    return any(root.resolve().is_relative_to(Path(f).resolve()) for f in folders)


def _check_cycles(
    root: Path, project: models.Project, pipelines: list[PipelineFile]
) -> list[ConfigIssue]:
    from lakesmith.pipeline.graph import dependency_graph, node_reads

    where: dict[str, tuple[PipelineFile, int]] = {}
    nodes: list[models.Node] = []
    for pf in pipelines:
        for i, node, _ in pf.node_positions():
            where.setdefault(node.name, (pf, i))
            try:
                node_reads(node, project.catalog, root)
            except LakesmithError:  # unparsable SQL, reported already: keep its declared inputs
                node = node.model_copy(update={"transform": None})
            nodes.append(node)
    try:
        graph = dependency_graph(nodes, project.catalog, root)
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        cycle: list[str] = list(exc.args[1])
        by_name = {n.name: n for n in nodes}
        reasons = [
            _edge_reason(by_name, upstream, downstream, project.catalog)
            for upstream, downstream in itertools.pairwise(cycle)
        ]
        first = next((n for n in cycle if n in where), None)
        pf, index = where[first] if first else (pipelines[0] if pipelines else None, None)
        key: KeyPath = ("nodes", index) if index is not None else ("nodes",)
        return [
            ConfigIssue(
                f"the pipeline graph has a cycle: {' -> '.join(reversed(cycle))} "
                f"({'; '.join(reversed(reasons))})",
                key=format_path(key),
                file=pf.file if pf else None,
                line=pf.source_map.locate(key)[1] if pf else None,
                hint="a node cannot read, directly or through others, a table written after it; "
                "break the loop (reading a node's own table is allowed)",
            )
        ]
    return []


def _edge_reason(
    nodes: dict[str, models.Node], upstream: str, downstream: str, catalog: str
) -> str:
    """Why ``downstream`` waits for ``upstream``, in words."""
    node, parent = nodes.get(downstream), nodes.get(upstream)
    if node is None or parent is None:
        return f"{downstream} waits for {upstream}"
    if upstream in node.depends_on:
        return f"{downstream} depends_on {upstream}"
    target = TableRef.parse(parent.write.table, default_catalog=catalog)
    return f"{downstream} reads {target}, written by {upstream}"


def _check_circuit_breakers(
    file: Path, project: models.Project, smap: SourceMap, nodes: set[str]
) -> list[ConfigIssue]:
    """``montecarlo.circuit_breakers`` gates nodes that exist."""
    report = _Reporter(file, smap)
    gates = project.montecarlo.circuit_breakers if project.montecarlo else {}
    for name in gates:
        if name not in nodes:
            report(
                ("montecarlo", "circuit_breakers", name),
                f"circuit breaker for unknown node '{name}'.{did_you_mean(name, sorted(nodes))}",
                "key the gates by node name (the node it runs before)",
            )
    return report.issues
