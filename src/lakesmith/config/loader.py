"""Load a project: base file + environment overlay + pipeline files, validated in one pass.

Nothing here touches data: it reads config files only, and reports every problem at once.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lakesmith.catalog.table_ref import TableRef
from lakesmith.errors import ConfigError, ConfigIssue, ProjectNotFound

from . import models
from .interpolate import interpolate
from .model_errors import validate_model
from .overlay import deep_merge
from .salvage import SalvagedNode, partial_pipeline, partial_project
from .suggest import did_you_mean
from .yaml_loader import SourceMap, load_yaml

PROJECT_FILE = "lakesmith.yaml"
DEFAULT_ENV = "local"


@dataclass(frozen=True)
class PipelineFile:
    pipeline: models.Pipeline
    file: Path
    source_map: SourceMap = field(default_factory=SourceMap, compare=False, repr=False)
    salvaged: tuple[SalvagedNode, ...] | None = field(default=None, compare=False, repr=False)
    """Set only when the file did not validate: where each kept node sits in the file."""

    def node_positions(self) -> list[tuple[int, models.Node, frozenset[str]]]:
        """(index in the file, node, fields that did not validate) for every node."""
        if self.salvaged is None:
            return [(i, n, frozenset()) for i, n in enumerate(self.pipeline.nodes)]
        return [(s.index, s.node, s.invalid) for s in self.salvaged]


@dataclass
class ProjectConfig:
    """A validated project in one environment: everything a run needs, before any I/O."""

    root: Path
    env: str
    project: models.Project
    pipelines: list[PipelineFile]
    config_hash: str
    warnings: list[ConfigIssue] = field(default_factory=list)
    source_map: SourceMap = field(default_factory=SourceMap, compare=False, repr=False)
    """Where each key of the project (base file + overlay) was written: file and line."""

    @property
    def warehouse(self) -> Path:
        """The local warehouse folder: where local-only tools (synth, the app, the dbutils
        shim's volumes) write. Pipelines use ``catalog.project_catalog``, which also knows a
        warehouse on object storage; for such a project this is ``<root>/warehouse``."""
        from lakesmith.catalog.project import project_catalog

        return project_catalog(self).root.local_path or self.root / "warehouse"

    def table(self, name: str) -> TableRef:
        return TableRef.parse(name, default_catalog=self.project.catalog)

    def nodes(self) -> list[tuple[models.Pipeline, models.Node]]:
        return [(pf.pipeline, node) for pf in self.pipelines for node in pf.pipeline.nodes]


def resolve_under(root: Path, path: str) -> Path:
    p = Path(path).expanduser()
    return p if p.is_absolute() else (root / p)


def find_project(start: Path) -> Path:
    """The nearest folder at or above ``start`` holding lakesmith.yaml."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / PROJECT_FILE).is_file():
            return folder
    raise ProjectNotFound(
        f"no {PROJECT_FILE} in {start} or any parent folder",
        hint="run inside a project, pass --project DIR, or create one with `lakesmith init`",
    )


def _environments(root: Path) -> list[str]:
    return sorted(p.stem for p in (root / "config").glob("*.yaml"))


def load_project(
    root: Path | str,
    env: str = DEFAULT_ENV,
    *,
    environ: Mapping[str, str] | None = None,
    require_pipelines: bool = True,
) -> ProjectConfig:
    """Load and validate a project for one environment.

    Args:
        root: the project folder, or any folder inside it.
        env: the overlay to apply, ``config/<env>.yaml``.
        environ: variables for ``${VAR}`` interpolation (default: the process environment).
        require_pipelines: whether a project without pipeline files is an error (agents
            start new projects from raw files alone).

    Raises:
        ProjectNotFound: no lakesmith.yaml at or above ``root``.
        ConfigError: with every issue found, each with file, line, key path and hint.
    """
    from .checks import check_project

    root = find_project(Path(root))
    environ = os.environ if environ is None else environ
    base_file = root / PROJECT_FILE
    raw, smap, issues = load_yaml(base_file)

    overlay_file = root / "config" / f"{env}.yaml"
    if overlay_file.is_file():
        overlay, osmap, oissues = load_yaml(overlay_file)
        issues += oissues
        if overlay is not None and not isinstance(overlay, dict):
            shape = "a list" if isinstance(overlay, list) else "a single value"
            issues.append(
                ConfigIssue(
                    f"config/{env}.yaml must map keys of {PROJECT_FILE} to their values in "
                    f"this environment, not be {shape}",
                    file=overlay_file,
                    line=1,
                    hint="write keys such as `warehouse: ...` (or leave the file empty)",
                )
            )
        if isinstance(overlay, dict) and isinstance(raw, dict):
            raw = deep_merge(raw, overlay)
            smap.update(osmap)
    elif (root / "config").is_dir() or env != DEFAULT_ENV:
        known = _environments(root)
        issues.append(
            ConfigIssue(
                f"environment '{env}' has no overlay file config/{env}.yaml."
                + did_you_mean(env, known),
                file=overlay_file,
                hint=f"environments here: {', '.join(known) or 'none'}; "
                f"create config/{env}.yaml (it may be empty)",
            )
        )

    project: models.Project | None = None
    checked: models.Project | None = None  # the project, or what can be salvaged of it
    if raw is not None:
        raw, var_issues = interpolate(raw, smap, environ)
        issues += var_issues
        project, model_issues = validate_model(models.Project, raw, smap)
        issues += model_issues
        checked = project or partial_project(raw)

    pipelines: list[PipelineFile] = []
    raw_pipelines: list[Any] = []
    patterns = checked.pipelines if checked else ["pipelines/*.yaml"]
    files = sorted({f for pattern in patterns for f in root.glob(pattern) if f.is_file()})
    for file in files:
        praw, psmap, pissues = load_yaml(file)
        issues += pissues
        if praw is None:
            continue
        praw, var_issues = interpolate(praw, psmap, environ)
        issues += var_issues
        pipeline, model_issues = validate_model(models.Pipeline, praw, psmap)
        issues += model_issues
        raw_pipelines.append(praw)
        if pipeline is not None:
            pipelines.append(PipelineFile(pipeline, file, psmap))
        elif (partial := partial_pipeline(praw)) is not None:
            pipelines.append(PipelineFile(partial[0], file, psmap, salvaged=partial[1]))
    if project is not None and not files and require_pipelines:
        issues.append(
            ConfigIssue(
                f"no pipeline files match {patterns}",
                key="pipelines",
                file=base_file,
                hint="add pipelines/<name>.yaml or fix the 'pipelines' globs",
            )
        )

    if checked is not None:
        issues += check_project(root, checked, smap, pipelines, env)

    errors = [i for i in issues if i.severity == "error"]
    if errors or project is None:
        raise ConfigError(issues)
    digest = hashlib.sha256(
        json.dumps([raw, raw_pipelines], sort_keys=True, default=str).encode()
    ).hexdigest()[:16]
    warnings = [i for i in issues if i.severity == "warning"]
    return ProjectConfig(root, env, project, pipelines, digest, warnings, smap)
