"""The plan: which nodes run, in which order, reading and writing what. Built without I/O."""

from __future__ import annotations

import graphlib
from dataclasses import dataclass, field

from lakesmith.catalog.table_ref import TableRef
from lakesmith.config import models
from lakesmith.config.checks import check_engine
from lakesmith.config.loader import ProjectConfig
from lakesmith.config.streaming import StreamSource, TableSource
from lakesmith.config.suggest import did_you_mean
from lakesmith.errors import ConfigError, LakesmithError

from .graph import dependency_graph, descendants, sql_table_names


@dataclass(frozen=True)
class PlannedNode:
    node: models.Node
    pipeline: str
    target: TableRef
    upstream: frozenset[str]
    reads: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.node.name


@dataclass
class Plan:
    nodes: dict[str, PlannedNode]
    order: list[str]
    selection: dict[str, list[str]] = field(default_factory=dict)

    def downstream(self, name: str) -> set[str]:
        """Every selected node that depends on ``name``, directly or not."""
        return descendants({n: pn.upstream for n, pn in self.nodes.items()}, name)

    def describe(self) -> list[dict[str, object]]:
        """One row per node in run order, for --dry-run."""
        rows: list[dict[str, object]] = []
        for step, name in enumerate(self.order, 1):
            pn = self.nodes[name]
            rows.append(
                {
                    "step": step,
                    "node": name,
                    "pipeline": pn.pipeline,
                    "after": sorted(pn.upstream),
                    "reads": list(pn.reads),
                    "writes": pn.target.full_name,
                    "mode": pn.node.write.mode,
                }
            )
        return rows


def _describe_input(cfg: ProjectConfig, spec: models.InputSpec) -> str:
    if isinstance(spec, models.TableInput):
        text = cfg.table(spec.table).full_name
    else:
        conn = f"{spec.connection}:" if spec.connection else ""
        text = f"{conn}{spec.path}"
    return text + (f" (incremental on {spec.incremental.column})" if spec.incremental else "")


def _describe_source(cfg: ProjectConfig, source: StreamSource) -> str:
    if isinstance(source, TableSource):
        feed = "change feed" if source.change_feed else "new rows"
        return f"stream: {cfg.table(source.table).full_name} ({feed})"
    conn = f"{source.connection}:" if source.connection else ""
    return f"stream: {conn}{source.files} ({source.format} files)"


def build_plan(
    cfg: ProjectConfig,
    *,
    nodes: list[str] | None = None,
    from_nodes: list[str] | None = None,
    tags: list[str] | None = None,
    pipelines: list[str] | None = None,
) -> Plan:
    """Select nodes and order them. Selections combine as an intersection.

    Raises:
        LakesmithError: a selection names an unknown node, tag or pipeline, or selects nothing.
        ConfigError: a selected node asks for what the project's engine cannot do.
    """
    every = {n.name: (p, n) for p, n in cfg.nodes()}
    catalog = cfg.project.catalog
    graph = dependency_graph([n for _, n in every.values()], catalog, cfg.root)

    def unknown(kind: str, name: str, known: set[str]) -> LakesmithError:
        return LakesmithError(
            f"unknown {kind} '{name}'.{did_you_mean(name, known)}",
            hint=f"{kind}s: {', '.join(sorted(known))}",
        )

    selected = set(every)
    if pipelines:
        known = {p.name for p, _ in every.values()}
        for name in pipelines:
            if name not in known:
                raise unknown("pipeline", name, known)
        selected &= {n for n, (p, _) in every.items() if p.name in pipelines}
    if nodes:
        for name in nodes:
            if name not in every:
                raise unknown("node", name, set(every))
        selected &= set(nodes)
    if from_nodes:
        start: set[str] = set()
        for name in from_nodes:
            if name not in every:
                raise unknown("node", name, set(every))
            start |= {name} | descendants(graph, name)
        selected &= start
    if tags:
        known = {t for _, n in every.values() for t in n.tags}
        for tag in tags:
            if tag not in known:
                raise unknown("tag", tag, known)
        selected &= {n for n, (_, node) in every.items() if set(tags) & set(node.tags)}
    if not selected:
        raise LakesmithError("the selection matches no node", hint="loosen --node/--from/--tag")
    if issues := check_engine(cfg.pipelines, cfg.project.engine, selected):
        raise ConfigError(issues)  # the engine was chosen after validation (run --engine)

    planned: dict[str, PlannedNode] = {}
    for name in (n for n in every if n in selected):  # declaration order: stable plans
        pipeline, node = every[name]
        reads = [_describe_input(cfg, s) for s in node.input_specs().values()]
        reads += [cfg.table(t).full_name for t in sql_table_names(node, cfg.root)]
        if node.source is not None:
            reads.insert(0, _describe_source(cfg, node.source))
        planned[name] = PlannedNode(
            node=node,
            pipeline=pipeline.name,
            target=cfg.table(node.write.table),
            upstream=frozenset(graph[name] & selected),
            reads=tuple(dict.fromkeys(reads)),
        )
    position = {n: i for i, n in enumerate(every)}
    sorter = graphlib.TopologicalSorter(
        {n: sorted(pn.upstream, key=position.__getitem__) for n, pn in planned.items()}
    )
    order = list(sorter.static_order())
    selection = {
        k: v
        for k, v in {
            "pipelines": pipelines,
            "nodes": nodes,
            "from": from_nodes,
            "tags": tags,
        }.items()
        if v
    }
    return Plan(planned, order, {k: list(v) for k, v in selection.items()})
