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

from pydantic import BaseModel, ValidationError

from lakesmith.catalog.table_ref import TableRef
from lakesmith.errors import ConfigError, ConfigIssue, ProjectNotFound

from . import models
from .interpolate import format_path, interpolate
from .overlay import deep_merge
from .suggest import did_you_mean
from .yaml_loader import KeyPath, SourceMap, load_yaml

PROJECT_FILE = "lakesmith.yaml"
DEFAULT_ENV = "local"


@dataclass(frozen=True)
class PipelineFile:
    pipeline: models.Pipeline
    file: Path
    source_map: SourceMap = field(default_factory=SourceMap, compare=False, repr=False)


@dataclass
class ProjectConfig:
    """A validated project in one environment: everything a run needs, before any I/O."""

    root: Path
    env: str
    project: models.Project
    pipelines: list[PipelineFile]
    config_hash: str
    warnings: list[ConfigIssue] = field(default_factory=list)

    @property
    def warehouse(self) -> Path:
        return resolve_under(self.root, self.project.warehouse)

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


def _all_field_names() -> set[str]:
    names: set[str] = set()
    for obj in vars(models).values():
        if isinstance(obj, type) and issubclass(obj, BaseModel):
            names.update(obj.model_fields)
    return names


def _real_path(raw: Any, loc: tuple[Any, ...]) -> KeyPath:
    """Drop the union tags pydantic puts into error locations; keep the user's key path."""
    out: list[str | int] = []
    node = raw
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and part < len(node)
        ):
            out.append(part)
            node = node[part]
        elif last and isinstance(part, str) and not part.startswith("function-"):
            out.append(part)
        # else: a union tag such as 'merge' or 'table' - not a key the user wrote
    return tuple(out)


def _pydantic_issues(
    exc: ValidationError, raw: Any, smap: SourceMap, prefix: KeyPath
) -> list[ConfigIssue]:
    issues: list[ConfigIssue] = []
    vocabulary = _all_field_names()
    seen: set[tuple[str, str]] = set()
    for err in exc.errors():
        path = _real_path(raw, tuple(err["loc"]))
        kind, ctx = err["type"], err.get("ctx") or {}
        file, line = smap.locate(prefix + path)
        message, hint = err["msg"], ""
        if kind == "extra_forbidden":
            key = str(path[-1])
            message = f"unknown key '{key}'.{did_you_mean(key, vocabulary)}"
            hint = "remove it, or check the spelling against the documented keys"
        elif kind == "missing":
            message = f"required key '{path[-1]}' is missing"
        elif kind == "union_tag_invalid":
            tag, expected = ctx.get("tag"), ctx.get("expected_tags", "")
            disc = str(ctx.get("discriminator", "")).strip("'")
            choices = [t.strip().strip("'") for t in str(expected).split(",")]
            path = (*path, disc)
            message = f"'{tag}' is not a {disc}.{did_you_mean(str(tag), choices)}"
            hint = f"{disc}s: {', '.join(choices)}"
        elif kind == "union_tag_not_found":
            disc = str(ctx.get("discriminator", "")).strip("'")
            message = f"required key '{disc}' is missing"
        elif kind == "literal_error":
            expected = str(ctx.get("expected", ""))
            value = _value_at(raw, path)
            choices = [t.strip().strip("'") for t in expected.replace(" or ", ",").split(",")]
            message = f"{value!r} is not allowed.{did_you_mean(str(value), choices)}"
            hint = f"allowed: {expected}"
        elif kind == "value_error":
            message = str(ctx.get("error", message))
        where = format_path(prefix + path)
        if (where, message) in seen:
            continue
        seen.add((where, message))
        issues.append(ConfigIssue(message, key=where, file=file, line=line, hint=hint))
    return issues


def _value_at(raw: Any, path: KeyPath) -> Any:
    node = raw
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def _validate_model(
    model: type[BaseModel], raw: Any, smap: SourceMap, prefix: KeyPath = ()
) -> tuple[Any, list[ConfigIssue]]:
    if not isinstance(raw, dict):
        file, line = smap.locate(prefix)
        return None, [ConfigIssue("expected a mapping of keys", file=file, line=line)]
    try:
        return model.model_validate(raw), []
    except ValidationError as exc:
        return None, _pydantic_issues(exc, raw, smap, prefix)


def _partial_pipeline(raw: Any) -> models.Pipeline | None:
    """The nodes that did validate, so cross-reference checks still cover them.

    Only used to report more errors in the same pass; never run (the project has errors).
    """
    if not isinstance(raw, dict) or not isinstance(raw.get("nodes"), list):
        return None
    nodes = []
    for item in raw["nodes"]:
        try:
            nodes.append(models.Node.model_validate(item))
        except ValidationError:
            continue
    return models.Pipeline.model_construct(name=str(raw.get("name", "?")), nodes=nodes)


def _environments(root: Path) -> list[str]:
    return sorted(p.stem for p in (root / "config").glob("*.yaml"))


def load_project(
    root: Path | str,
    env: str = DEFAULT_ENV,
    *,
    environ: Mapping[str, str] | None = None,
) -> ProjectConfig:
    """Load and validate a project for one environment.

    Args:
        root: the project folder, or any folder inside it.
        env: the overlay to apply, ``config/<env>.yaml``.
        environ: variables for ``${VAR}`` interpolation (default: the process environment).

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
    if raw is not None:
        raw, var_issues = interpolate(raw, smap, environ)
        issues += var_issues
        project, model_issues = _validate_model(models.Project, raw, smap)
        issues += model_issues

    pipelines: list[PipelineFile] = []
    raw_pipelines: list[Any] = []
    patterns = project.pipelines if project else ["pipelines/*.yaml"]
    files = sorted({f for pattern in patterns for f in root.glob(pattern) if f.is_file()})
    for file in files:
        praw, psmap, pissues = load_yaml(file)
        issues += pissues
        if praw is None:
            continue
        praw, var_issues = interpolate(praw, psmap, environ)
        issues += var_issues
        pipeline, model_issues = _validate_model(models.Pipeline, praw, psmap)
        issues += model_issues
        raw_pipelines.append(praw)
        if pipeline is None:
            pipeline = _partial_pipeline(praw)
        if pipeline is not None:
            pipelines.append(PipelineFile(pipeline, file, psmap))
    if project is not None and not files:
        issues.append(
            ConfigIssue(
                f"no pipeline files match {patterns}",
                key="pipelines",
                file=base_file,
                hint="add pipelines/<name>.yaml or fix the 'pipelines' globs",
            )
        )

    if project is not None:
        issues += check_project(root, project, smap, pipelines)

    errors = [i for i in issues if i.severity == "error"]
    if errors or project is None:
        raise ConfigError(issues)
    digest = hashlib.sha256(
        json.dumps([raw, raw_pipelines], sort_keys=True, default=str).encode()
    ).hexdigest()[:16]
    warnings = [i for i in issues if i.severity == "warning"]
    return ProjectConfig(root, env, project, pipelines, digest, warnings)
