"""Hostile project files: every loader answers with a ConfigError naming file and line.

Property-based (hypothesis, bounded examples) over the four file kinds users write —
lakesmith.yaml with its overlays and pipelines, quality rules, synth specs and bundle specs —
plus the classic attacks: alias bombs, self-referencing aliases, deep nesting, duplicate keys,
non-UTF-8 bytes, control characters, huge numbers and empty files.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lakesmith.config.loader import load_project
from lakesmith.errors import ConfigError
from lakesmith.quality.rules import load_rules
from lakesmith.testing import hostile

pytestmark = pytest.mark.chaos

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "customer360"
FUZZ = settings(
    max_examples=25,
    deadline=2000,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

HOSTILE = hostile.YAML_ATTACKS
LOADERS = hostile.LOADERS


def _rejects_cleanly(load: Callable[[Path], Any], file: Path) -> ConfigError | None:
    """The load succeeds or raises ConfigError whose issues name the file; nothing else."""
    start = time.monotonic()
    try:
        load(file)
    except ConfigError as exc:
        assert exc.issues, "a ConfigError lists at least one issue"
        assert all(i.file is None or i.file.name == file.name for i in exc.issues), exc
        return exc
    finally:
        assert time.monotonic() - start < 10, f"{file.name} took too long"
    return None


@pytest.mark.parametrize("loader", LOADERS)
@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_files_give_one_clear_error(tmp_path: Path, loader: str, case: str) -> None:
    file = tmp_path / "input.yaml"
    file.write_bytes(HOSTILE[case])
    exc = _rejects_cleanly(LOADERS[loader], file)
    assert exc is not None, f"{case} was accepted"
    first = exc.issues[0]
    assert first.file == file and first.message


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("alias bomb", "expands to more than"),
        ("self-referencing alias", "refers to the value that contains it"),
        ("deep flow nesting", "nested more than 100 levels deep"),
        ("deep block nesting", "nested more than 100 levels"),
        ("duplicate keys", "appears twice"),
        ("invalid UTF-8", "not UTF-8 text: byte 0xff"),
        ("NUL byte", "#x0000 is not allowed"),
        ("huge integer", "a number with more than 4300 digits"),
        ("merge key", "invalid YAML"),
    ],
)
def test_hostile_yaml_messages_say_what_and_where(tmp_path: Path, case: str, expected: str) -> None:
    file = tmp_path / "rules.yaml"
    file.write_bytes(HOSTILE[case])
    with pytest.raises(ConfigError) as info:
        load_rules(file)
    issue = info.value.issues[0]
    assert expected in issue.message
    assert issue.line is not None
    assert issue.hint


@pytest.mark.parametrize("loader", LOADERS)
@FUZZ
@given(data=st.data())
def test_random_structures_never_escape_as_tracebacks(
    tmp_path: Path, loader: str, data: st.DataObject
) -> None:
    tree = data.draw(hostile.TREES | hostile.near_miss(hostile.KEYS[loader]))
    file = tmp_path / "input.yaml"
    file.write_text(yaml.safe_dump(tree, allow_unicode=True), encoding="utf-8")
    _rejects_cleanly(LOADERS[loader], file)


@pytest.mark.parametrize("loader", LOADERS)
@FUZZ
@given(raw=hostile.RAW_BYTES)
def test_random_bytes_never_escape_as_tracebacks(tmp_path: Path, loader: str, raw: bytes) -> None:
    file = tmp_path / "input.yaml"
    file.write_bytes(raw)
    _rejects_cleanly(LOADERS[loader], file)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return hostile.example_project(tmp_path / "customer360")


PROJECT_FILES = hostile.PROJECT_FILES


@pytest.mark.parametrize("target", PROJECT_FILES)
@settings(
    max_examples=25,
    deadline=5000,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_project_files_mutated_give_config_errors(
    project: Path, target: str, data: st.DataObject
) -> None:
    """Replace one value of a real project file with a random one, or the whole file."""
    file = project / target
    original = yaml.safe_load((EXAMPLE / target).read_text())
    if data.draw(st.booleans()) and isinstance(original, dict) and original:
        key = data.draw(st.sampled_from(sorted(original)))
        tree = {**original, key: data.draw(hostile.TREES)}
    else:
        tree = data.draw(hostile.TREES)
    file.write_text(yaml.safe_dump(tree, allow_unicode=True), encoding="utf-8")
    try:
        load_project(project, "local")
    except ConfigError as exc:
        assert exc.issues


@pytest.mark.parametrize("target", PROJECT_FILES)
@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_project_files_give_a_config_error_naming_the_file(
    project: Path, target: str, case: str
) -> None:
    """Each attack in the project file, its environment overlay or a pipeline file
    (an overlay holding a list or a single value was once ignored without a word)."""
    (project / target).write_bytes(HOSTILE[case])
    started = time.monotonic()
    with pytest.raises(ConfigError) as info:
        load_project(project, "local")
    assert time.monotonic() - started < 10
    assert any(i.file == project / target and i.message for i in info.value.issues)


def test_deep_flow_nesting_is_refused_before_parsing(tmp_path: Path) -> None:
    """Thousands of open brackets once cost PyYAML's scanner seconds; counted first now."""
    file = tmp_path / "rules.yaml"
    file.write_bytes(b"rules:\n  - " + b"[" * 50_000 + b"\n")
    started = time.monotonic()
    with pytest.raises(ConfigError, match="nested more than 100 levels deep") as info:
        load_rules(file)
    assert time.monotonic() - started < 0.5
    assert info.value.issues[0].line == 2


@pytest.mark.parametrize(
    ("target", "case"),
    [
        ("lakesmith.yaml", "alias bomb"),
        ("config/local.yaml", "invalid UTF-8"),
        ("pipelines/customer360.yaml", "deep flow nesting"),
        ("pipelines/customer360.yaml", "huge integer"),
    ],
)
def test_validate_exits_2_with_a_message(project: Path, target: str, case: str) -> None:
    (project / target).write_bytes(HOSTILE[case])
    result = subprocess.run(
        [sys.executable, "-m", "lakesmith.cli.main", "validate", "-p", str(project)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert target.split("/")[-1] in result.stderr
    assert "Traceback" not in result.stderr
