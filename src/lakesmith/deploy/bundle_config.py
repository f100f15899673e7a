"""``databricks.yml`` plus its includes, merged per target the way the Databricks CLI does it.

Only what the offline checks and the Python loader need: the root file, every ``include``
glob, and a target's overrides (variables, workspace, presets, artifacts, mode). Each key
remembers the file it came from, so errors name the file to edit.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lakesmith.config.yaml_loader import SourceMap, load_yaml
from lakesmith.errors import ConfigIssue

ROOT_FILE = "databricks.yml"
TOP_LEVEL_KEYS = (
    "artifacts",
    "bundle",
    "experimental",
    "include",
    "permissions",
    "presets",
    "python",
    "resources",
    "run_as",
    "scripts",
    "sync",
    "targets",
    "variables",
    "workspace",
)
TARGET_KEYS = (
    "artifacts",
    "bundle",
    "cluster_id",
    "compute_id",
    "default",
    "git",
    "mode",
    "permissions",
    "presets",
    "resources",
    "run_as",
    "sync",
    "variables",
    "workspace",
)
VAR_REF = re.compile(r"\$\{var\.([A-Za-z0-9_\-]+)\}")


@dataclass
class BundleConfig:
    """The merged bundle files; ``origin`` maps top-level key paths to the file that set them."""

    root: Path
    data: dict[str, Any]
    files: list[Path]
    smaps: dict[Path, SourceMap] = field(default_factory=dict)
    origin: dict[tuple[str, ...], Path] = field(default_factory=dict)
    issues: list[ConfigIssue] = field(default_factory=list)

    @property
    def targets(self) -> dict[str, dict[str, Any]]:
        targets = self.data.get("targets") or {}
        return {k: v or {} for k, v in targets.items()} if isinstance(targets, dict) else {}

    def locate(self, path: tuple[str | int, ...]) -> tuple[Path | None, int | None]:
        """File and line of a key path, searching the file that defined its top-level key."""
        for end in range(len(path), 0, -1):
            file = self.origin.get(tuple(str(p) for p in path[:end]))
            if file is not None:
                return self.smaps[file].locate(path)
        return self.root / ROOT_FILE, None

    def variables(self, target: str) -> dict[str, Any]:
        """Each declared variable's value in ``target``: the override, else the default."""
        values: dict[str, Any] = {}
        for name, decl in (self.data.get("variables") or {}).items():
            if isinstance(decl, dict) and "default" in decl:
                values[name] = decl["default"]
        for name, value in (self.targets.get(target, {}).get("variables") or {}).items():
            values[name] = value.get("default") if isinstance(value, dict) else value
        return values

    def for_target(self, target: str) -> dict[str, Any]:
        """The bundle as ``databricks.bundles.build`` expects it: merged, ``bundle.target`` set."""
        merged = copy.deepcopy({k: v for k, v in self.data.items() if k != "targets"})
        overrides = self.targets.get(target, {})
        for key in ("workspace", "presets", "artifacts", "resources", "bundle", "sync"):
            if isinstance(overrides.get(key), dict):
                merged[key] = _deep_merge(merged.get(key) or {}, overrides[key])
        merged.setdefault("bundle", {})["target"] = target
        declared = merged.get("variables") or {}
        merged["variables"] = {
            name: {**(declared.get(name) or {}), "value": value}
            for name, value in self.variables(target).items()
        }
        return merged


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def load_bundle(root: Path) -> BundleConfig:
    """Read ``databricks.yml`` and its includes; YAML problems become issues, not exceptions."""
    main = root / ROOT_FILE
    raw, smap, issues = load_yaml(main)
    config = BundleConfig(root=root, data={}, files=[main], issues=list(issues))
    config.smaps[main] = smap
    if not isinstance(raw, dict):
        return config
    _absorb(config, raw, main)
    for pattern in raw.get("include") or []:
        matches = sorted(root.glob(str(pattern)))
        if not matches:
            config.issues.append(
                ConfigIssue(
                    f"include '{pattern}' matches no file",
                    key="include",
                    file=main,
                    hint="remove it or fix the path (relative to the bundle root)",
                )
            )
        for file in matches:
            inc, ismap, iissues = load_yaml(file)
            config.files.append(file)
            config.smaps[file] = ismap
            config.issues += iissues
            if isinstance(inc, dict):
                _absorb(config, inc, file)
    return config


def _absorb(config: BundleConfig, raw: dict[str, Any], file: Path) -> None:
    """Merge one file's keys into the bundle, remembering where each came from."""
    for key, value in raw.items():
        if isinstance(value, dict) and isinstance(config.data.get(key), dict):
            for sub in value:
                config.origin[(str(key), str(sub))] = file
            config.data[key] = _deep_merge(config.data[key], value)
        else:
            config.data[key] = value
            if isinstance(value, dict):
                for sub in value:
                    config.origin[(str(key), str(sub))] = file
        config.origin.setdefault((str(key),), file)
