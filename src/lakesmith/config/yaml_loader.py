"""YAML loading that remembers where every key came from, so errors can name file and line."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lakesmith.errors import ConfigIssue

KeyPath = tuple[str | int, ...]


@dataclass
class SourceMap:
    """Maps a key path to the (file, line) that last defined it."""

    locations: dict[KeyPath, tuple[Path, int]] = field(default_factory=dict)

    def locate(self, path: KeyPath) -> tuple[Path | None, int | None]:
        for end in range(len(path), -1, -1):
            hit = self.locations.get(tuple(path[:end]))
            if hit:
                return hit
        return None, None

    def update(self, other: SourceMap, prefix: KeyPath = ()) -> None:
        for key, value in other.locations.items():
            self.locations[prefix + key] = value


class _DuplicateKey(Exception):
    def __init__(self, key: str, line: int) -> None:
        self.key, self.line = key, line


def _construct(
    loader: yaml.SafeLoader, node: yaml.Node, path: KeyPath, file: Path, smap: SourceMap
) -> Any:
    smap.locations[path] = (file, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(loader.construct_object(key_node))
            if key in out:
                raise _DuplicateKey(key, key_node.start_mark.line + 1)
            out[key] = _construct(loader, value_node, (*path, key), file, smap)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(loader, v, (*path, i), file, smap) for i, v in enumerate(node.value)]
    return loader.construct_object(node)


def load_yaml(file: Path) -> tuple[Any, SourceMap, list[ConfigIssue]]:
    """Parse one YAML file; syntax errors and repeated keys become issues, never exceptions."""
    smap = SourceMap()
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        return None, smap, [ConfigIssue(f"cannot read file: {exc.strerror}", file=file)]
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark else None
        msg = f"invalid YAML: {exc.problem}" + (f" (column {mark.column + 1})" if mark else "")
        hint = "check indentation and quoting near that line"
        return None, smap, [ConfigIssue(msg, file=file, line=line, hint=hint)]
    if node is None:
        return {}, smap, []
    try:
        return _construct(yaml.SafeLoader(""), node, (), file, smap), smap, []
    except _DuplicateKey as dup:
        issue = ConfigIssue(
            f"key '{dup.key}' appears twice in one mapping",
            file=file,
            line=dup.line,
            hint="keep one; to change a value per environment use config/<env>.yaml",
        )
        return None, smap, [issue]
