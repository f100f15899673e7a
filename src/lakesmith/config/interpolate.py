"""``${VAR}`` and ``${VAR:-default}`` interpolation over a parsed config tree."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from lakesmith.errors import ConfigIssue

from .yaml_loader import KeyPath, SourceMap, format_path

__all__ = ["format_path", "interpolate"]

_PATTERN = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def interpolate(
    tree: Any,
    smap: SourceMap,
    environ: Mapping[str, str] | None = None,
    path: KeyPath = (),
) -> tuple[Any, list[ConfigIssue]]:
    """Replace variables in every string; each unset variable without default is one issue.

    The paths of values that held a variable are added to ``smap.interpolated``.
    """
    env = os.environ if environ is None else environ
    issues: list[ConfigIssue] = []

    def walk(node: Any, at: KeyPath) -> Any:
        if isinstance(node, dict):
            return {k: walk(v, (*at, k)) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, (*at, i)) for i, v in enumerate(node)]
        if not isinstance(node, str) or "${" not in node:
            return node
        if _PATTERN.search(node):
            smap.interpolated.add(at)

        def repl(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in env:
                return env[name]
            if default is not None:
                return default
            file, line = smap.locate(at)
            issues.append(
                ConfigIssue(
                    f"environment variable '{name}' is not set",
                    key=format_path(at),
                    file=file,
                    line=line,
                    hint=f"export {name}=... or give a default: ${{{name}:-value}}",
                )
            )
            return match.group(0)

        return _PATTERN.sub(repl, node)

    return walk(tree, path), issues
