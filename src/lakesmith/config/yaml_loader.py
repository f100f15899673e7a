"""YAML loading that remembers where every key came from, so errors can name file and line."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lakesmith.errors import ConfigIssue

KeyPath = tuple[str | int, ...]

MAX_DEPTH = 100
"""Deeper nesting than any project file needs; refused before Python's recursion limit."""
MAX_VALUES = 100_000
"""Values one file may expand to: anchors/aliases ("billion laughs") must not blow up memory."""


class _Refused(Exception):
    """A document too deep, too large or self-referencing: one issue at the node's line."""

    def __init__(self, message: str, line: int, hint: str) -> None:
        super().__init__(message)
        self.message, self.line, self.hint = message, line, hint


@dataclass
class SourceMap:
    """Maps a key path to the (file, line) that last defined it.

    ``literal_blocks`` are the paths of ``|`` block scalars (their text starts on the next line);
    ``interpolated`` the paths whose value came from a ``${VAR}``.
    """

    locations: dict[KeyPath, tuple[Path, int]] = field(default_factory=dict)
    literal_blocks: set[KeyPath] = field(default_factory=set)
    interpolated: set[KeyPath] = field(default_factory=set)

    def locate(self, path: KeyPath) -> tuple[Path | None, int | None]:
        for end in range(len(path), -1, -1):
            hit = self.locations.get(tuple(path[:end]))
            if hit:
                return hit
        return None, None

    def update(self, other: SourceMap, prefix: KeyPath = ()) -> None:
        for key, value in other.locations.items():
            if prefix + key == () and () in self.locations:
                continue  # the document itself stays the base file's: missing keys belong there
            self.locations[prefix + key] = value
        self.literal_blocks.update(prefix + key for key in other.literal_blocks)
        self.interpolated.update(prefix + key for key in other.interpolated)

    def text_line(self, path: KeyPath, text_line: int) -> int | None:
        """The file line of line ``text_line`` (1-based) inside the string value at ``path``."""
        _, line = self.locate(path)
        if line is None or path not in self.locations:
            return line
        return line + text_line if path in self.literal_blocks else line


def _construct(
    loader: yaml.SafeLoader,
    node: yaml.Node,
    path: KeyPath,
    file: Path,
    smap: SourceMap,
    issues: list[ConfigIssue],
    budget: list[int],
    parents: tuple[int, ...] = (),
) -> Any:
    line = node.start_mark.line + 1
    budget[0] -= 1
    if budget[0] < 0:
        raise _Refused(
            f"the document expands to more than {MAX_VALUES} values",
            line,
            "YAML anchors and aliases (&name / *name) repeat content: write it out once",
        )
    if id(node) in parents:
        raise _Refused("an alias refers to the value that contains it", line, "remove the alias")
    if len(parents) >= MAX_DEPTH:
        raise _Refused(
            f"values are nested more than {MAX_DEPTH} levels deep", line, "flatten the structure"
        )
    parents = (*parents, id(node))
    smap.locations[path] = (file, line)
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        key_lines: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(loader.construct_object(key_node))
            if key in out:
                issues.append(
                    ConfigIssue(
                        f"key '{key}' appears twice in one mapping (first on line "
                        f"{key_lines[key]})",
                        key=format_path((*path, key)),
                        file=file,
                        line=key_node.start_mark.line + 1,
                        hint="keep one; to change a value per environment use config/<env>.yaml",
                    )
                )
                continue  # the first one stays, so later checks see a consistent tree
            key_lines[key] = key_node.start_mark.line + 1
            out[key] = _construct(
                loader, value_node, (*path, key), file, smap, issues, budget, parents
            )
        return out
    if isinstance(node, yaml.SequenceNode):
        return [
            _construct(loader, v, (*path, i), file, smap, issues, budget, parents)
            for i, v in enumerate(node.value)
        ]
    if isinstance(node, yaml.ScalarNode) and node.style == "|":
        smap.literal_blocks.add(path)
    try:
        return loader.construct_object(node)
    except (ValueError, OverflowError) as exc:  # e.g. a 5000-digit integer, a 13th month
        reason = str(exc)
        if "integer string conversion" in reason:  # Python's own advice does not apply here
            reason = f"a number with more than {sys.get_int_max_str_digits()} digits"
        raise _Refused(
            f"value cannot be read: {reason}", line, "quote it to keep it as text"
        ) from None


def format_path(path: KeyPath) -> str:
    """``("nodes", 2, "write")`` -> ``nodes[2].write``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


_BRACKETS = re.compile(r"[\[\]{}]")


def _too_deep_brackets(text: str) -> int | None:
    """The line where ``[``/``{`` nest deeper than ``MAX_DEPTH``, found without parsing.

    PyYAML's scanner checks every open flow level on each token: a few thousand opening
    brackets cost seconds before it gives up with a RecursionError. Brackets inside quoted
    text count too; no real file has a hundred unclosed ones.
    """
    depth = 0
    for match in _BRACKETS.finditer(text):
        if match.group() in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return text.count("\n", 0, match.start()) + 1
        elif depth:
            depth -= 1
    return None


def load_yaml(file: Path) -> tuple[Any, SourceMap, list[ConfigIssue]]:
    """Parse one YAML file; syntax errors and repeated keys become issues, never exceptions.

    Hostile input is bounded: invalid UTF-8, control characters, alias bombs, self-referencing
    aliases, nesting deeper than ``MAX_DEPTH`` (flow brackets are counted before parsing) and
    unreadable scalars each give one issue.
    """
    smap = SourceMap()
    try:
        data = file.read_bytes()
    except OSError as exc:
        return None, smap, [ConfigIssue(f"cannot read file: {exc.strerror}", file=file)]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        msg = f"not UTF-8 text: byte 0x{data[exc.start]:02x} at offset {exc.start}"
        hint = "save the file as UTF-8"
        return None, smap, [ConfigIssue(msg, file=file, line=line, hint=hint)]
    if (deep := _too_deep_brackets(text)) is not None:
        msg = f"values are nested more than {MAX_DEPTH} levels deep"
        return None, smap, [ConfigIssue(msg, file=file, line=deep, hint="flatten the structure")]
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark else None
        msg = f"invalid YAML: {exc.problem}" + (f" (column {mark.column + 1})" if mark else "")
        hint = "check indentation and quoting near that line"
        return None, smap, [ConfigIssue(msg, file=file, line=line, hint=hint)]
    except yaml.reader.ReaderError as exc:  # a control character such as NUL
        line = text[: exc.position].count("\n") + 1
        msg = f"invalid YAML: character #x{exc.character:04x} is not allowed in YAML text"
        hint = "remove the control character (the file may be binary or damaged)"
        return None, smap, [ConfigIssue(msg, file=file, line=line, hint=hint)]
    except RecursionError:
        msg = "invalid YAML: values are nested too deeply to read"
        return None, smap, [ConfigIssue(msg, file=file, hint="flatten the structure")]
    if node is None:
        return {}, smap, []
    issues: list[ConfigIssue] = []
    try:
        tree = _construct(yaml.SafeLoader(""), node, (), file, smap, issues, [MAX_VALUES])
    except _Refused as exc:
        return None, smap, [ConfigIssue(exc.message, file=file, line=exc.line, hint=exc.hint)]
    except yaml.MarkedYAMLError as exc:  # e.g. an unknown tag such as !include
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        hint = "lakesmith reads plain YAML: no custom tags"
        if "merge" in str(exc.problem):
            hint = "merge keys (<<: *anchor) are not supported: write the keys out"
        msg = f"invalid YAML: {exc.problem or exc}"
        return None, smap, [ConfigIssue(msg, file=file, line=line, hint=hint)]
    return ({} if tree is None else tree), smap, issues  # a bare `null` reads as an empty file
