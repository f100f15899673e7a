"""Hostile inputs shared by the fuzz tests and ``benchmarks/hostile_input.py``: one list each.

- ``YAML_ATTACKS``: whole files that attack a YAML loader (alias bombs, deep nesting,
  duplicate keys, bad bytes, huge numbers) — every loader must refuse them.
- ``TREES`` / :func:`near_miss`: hypothesis strategies of random structures, and of
  structures built from a loader's real keys so validation goes past the first unknown key.
- ``NAME_FRAGMENTS`` / ``HOSTILE_NAMES`` / ``CLASSIC_TABLE_NAMES``: identifiers with quotes,
  backticks, ``..``, slashes, NUL and SQL fragments.
- ``BAD_CSV`` / ``BAD_JSON``: files with bad encodings, ragged rows and mixed types.
- ``LOADERS``: the loaders of the files users write, by name.

Needs ``hypothesis`` (a dev dependency): import it from tests and benchmarks only.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

BOMB = "".join(
    f"{n}: &{n} [{', '.join([f'*{p}'] * 9 if p else ['lol'] * 9)}]\n"
    for p, n in zip(["", *"abcdefg"], "abcdefgh", strict=True)
)
YAML_ATTACKS: dict[str, bytes] = {
    "alias bomb": BOMB.encode(),
    "self-referencing alias": b"rules: &a [*a]\n",
    "deep flow nesting": b"rules: " + b"[" * 5000 + b"]" * 5000 + b"\n",
    "deep block nesting": "".join("  " * i + f"k{i}:\n" for i in range(300)).encode(),
    "duplicate keys": b"rules: []\nrules: []\n",
    "invalid UTF-8": b"rules:\n  - check: not_null\n    column: \xff\xfe\n",
    "NUL byte": b"rules: \x00\n",
    "huge integer": b"version: " + b"9" * 10_000 + b"\n",
    "bad timestamp": b"start_date: 2024-13-45\n",
    "custom tag": b"rules: !include other.yaml\n",
    "merge key": b"base: &b {check: not_null}\nrules: [{<<: *b, column: x}]\n",
    "unclosed quote": b'rules: "abc\n',
    "a list document": b"- 1\n- 2\n",
    "a scalar document": b"just text\n",
}
"""Whole files no loader may accept, by what they try."""

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats()
    | st.text(max_size=20)
)
TREES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=25,
)
"""Random YAML-able structures: wrong types, unicode, huge and special numbers, nesting."""

KEYS: dict[str, list[str]] = {
    "rules": ["version", "dataset", "defaults", "rules", "check", "column", "columns", "min"],
    "synth spec": ["households", "seed", "start_date", "catalog", "schema", "regions"],
    "bundle spec": ["name", "tasks", "key", "type", "cluster", "schedule", "depends_on"],
    "config": ["schema_version", "name", "catalog", "warehouse", "connections", "type", "path"],
}
"""Real keys of each loader's file, for :func:`near_miss`."""


def near_miss(keys: list[str]) -> st.SearchStrategy[Any]:
    """Trees whose keys are the real ones, so validation goes past the first unknown key."""
    return st.recursive(
        SCALARS,
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(keys), inner, max_size=5)
        ),
        max_leaves=25,
    )


RAW_BYTES = st.binary(max_size=200) | st.text(max_size=200).map(str.encode)
"""Random file contents: arbitrary bytes, or arbitrary text as UTF-8."""

NAME_FRAGMENTS = [
    '"', "'", "`", "..", "/", "\\", "\x00", "\n", ";", " ", "--", "/*", "*/",
    "; DROP TABLE t; --", "' OR '1'='1", '" OR 1=1 --', "`; DELETE FROM x; --",
    "../../etc", "é", "名前", "\u202e", "a", "b_1", "_",
]  # fmt: skip
HOSTILE_NAMES = st.lists(
    st.sampled_from(NAME_FRAGMENTS) | st.text(max_size=4), min_size=1, max_size=6
).map("".join)
"""Identifiers built from quotes, backticks, ``..``, slashes, NUL and SQL fragments."""
CLASSIC_TABLE_NAMES = [
    "s.t\nDROP", "s.t\x00", "s..t", "s./t", "s.`t`;DROP", "../s.t", "s.t--", "c.s.t.u", "s.'t'",
]  # fmt: skip
"""Table names every parser must refuse."""

GOOD_CSV = "".join(f"{i},name{i},{i * 10}\n" for i in range(1, 13))
BAD_CSV = (
    b"id,name,amount\n"
    + GOOD_CSV.encode()
    + b"13,b\xffd,130\n"  # invalid UTF-8
    + b"14,extra,140,oops\n"  # too many fields
    + b"15,text,lots\n"  # text in a number column
    + b'16,"quoted, name",160\n'
)
"""Twelve good rows, three bad ones (lines 14-16) and a good quoted one."""
GOOD_JSON = "".join(f'{{"id": {i}, "amount": {i * 10}}}\n' for i in range(1, 13))
BAD_JSON = (
    GOOD_JSON.encode()
    + b'{"id": 13, "amount": \n'  # broken JSON
    + b'{"id": 14, "amount": "n/a"}\n'  # text where numbers are
    + b"\xfe\xff\n"  # not UTF-8
    + b"[14]\n"  # not an object
)
"""Twelve good lines, then four bad ones (lines 13-16)."""


def _bundle(path: Path) -> Any:
    from lakesmith.deploy.specs import load_spec

    return load_spec("job", path)


def _rules(path: Path) -> Any:
    from lakesmith.quality.rules import load_rules

    return load_rules(path)


def _synth(path: Path) -> Any:
    from lakesmith.synth.spec import load_spec

    return load_spec(path)


LOADERS: dict[str, Callable[[Path], Any]] = {
    "rules": _rules,
    "synth spec": _synth,
    "bundle spec": _bundle,
}
"""Loaders of single files users write, by name (the project loader takes a folder)."""

PROJECT_FILES = ["lakesmith.yaml", "config/local.yaml", "pipelines/customer360.yaml"]
"""The files of the example project the config fuzzing replaces."""


def example_project(dest: Path) -> Path:
    """A copy of ``examples/customer360`` (without its warehouse) at ``dest``."""
    source = Path(__file__).resolve().parents[3] / "examples" / "customer360"
    ignore = shutil.ignore_patterns("warehouse", ".lakesmith")
    shutil.copytree(source, dest, ignore=ignore, dirs_exist_ok=True)
    return dest
