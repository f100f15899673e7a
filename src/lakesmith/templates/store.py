"""A local git repository that versions the packaged templates, so ``copier update`` works.

copier updates a project by re-rendering the template version it was made from (the answers
file's ``_commit``) and merging the difference into the project. That needs the template in git
with PEP 440 tags, while lakesmith ships its templates as plain files inside the wheel. The
store bridges the two: every distinct template tree is committed once, tagged
``<lakesmith version>`` (first content seen for that version) or ``<version>.postN`` (later
content under the same version, e.g. a platform team's edits), and copier renders from the tag.

The store's default location is written as ``~/.cache/lakesmith/templates`` so the
``_src_path`` copier records is the same on every machine; ``LAKESMITH_TEMPLATE_STORE``
overrides it. Commits use fixed dates, so the same template tree gives the same commit id.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Generator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from lakesmith.errors import LakesmithError

DEFAULT_STORE = "~/.cache/lakesmith/templates"
STORE_ENV = "LAKESMITH_TEMPLATE_STORE"
_FIXED_DATE = "2000-01-01T00:00:00+0000"
_IGNORED = "__pycache__/\n*.pyc\n.DS_Store\n"


@dataclass(frozen=True)
class TemplateVersion:
    """Where copier finds one template tree: the store (as recorded) and the tag."""

    src_path: str
    tag: str


def store_location() -> str:
    """The store as copier should record it: the override, or the portable ``~`` path."""
    return os.environ.get(STORE_ENV) or DEFAULT_STORE


def _git(store: Path, *args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        ["git", "-C", str(store), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )
    if done.returncode != 0:
        raise LakesmithError(
            f"git {' '.join(args[:2])} failed in the template store {store}: {done.stderr.strip()}",
            hint=f"delete {store} to rebuild it, or point {STORE_ENV} elsewhere",
        )
    return done.stdout.strip()


@contextmanager
def _locked(store: Path) -> Generator[None]:
    """One writer at a time: parallel ``lakesmith init`` runs share the store."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; concurrent inits are rare there
        yield
        return
    with (store / ".git" / "lakesmith.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _ensure_repo(store: Path) -> None:
    if (store / ".git").is_dir():
        return
    store.mkdir(parents=True, exist_ok=True)
    _git(store, "init", "-q", "-b", "main")
    (store / ".git" / "info").mkdir(exist_ok=True)
    (store / ".git" / "info" / "exclude").write_text(_IGNORED)


def _tree_of(store: Path, folder: Path) -> str:
    """The git tree id of ``folder``'s files, hashed into the store without a checkout."""
    with tempfile.TemporaryDirectory(prefix="lakesmith-index-") as tmp:
        env = {
            "GIT_DIR": str(store / ".git"),
            "GIT_INDEX_FILE": str(Path(tmp) / "index"),
            "GIT_WORK_TREE": str(folder),
        }
        _git(folder, "add", "-A", ".", env=env)
        return _git(folder, "write-tree", env=env)


def _next_tag(base: str, tags: list[str]) -> str:
    """``base`` for the first tree of a version, then ``base.post1``, ``base.post2`` ..."""
    if base not in tags:
        return base
    posts = [
        int(m.group(1)) for t in tags if (m := re.fullmatch(re.escape(base) + r"\.post(\d+)", t))
    ]
    return f"{base}.post{max(posts, default=0) + 1}"


def sync(folder: Path, version: str) -> TemplateVersion:
    """Commit ``folder`` into the store unless that exact tree is already tagged.

    Args:
        folder: the copier template root (``copier.yml`` at its top).
        version: the lakesmith version the templates belong to (PEP 440).

    Returns:
        The store path as copier records it and the tag that holds ``folder``'s tree.

    Raises:
        LakesmithError: git is missing or the store is damaged (the hint says how to reset it).
    """
    location = store_location()
    store = Path(location).expanduser()
    _ensure_repo(store)
    with _locked(store):
        tree = _tree_of(store, folder)
        listed = _git(store, "for-each-ref", "--format=%(refname:strip=2) %(tree)", "refs/tags")
        tags: dict[str, str] = dict(line.split(" ", 1) for line in listed.splitlines() if line)
        for tag, tag_tree in tags.items():
            if tag_tree == tree:
                return TemplateVersion(location, tag)
        tag = _next_tag(version, list(tags))
        dates = {
            "GIT_AUTHOR_DATE": _FIXED_DATE,
            "GIT_COMMITTER_DATE": _FIXED_DATE,
            "GIT_AUTHOR_NAME": "lakesmith",
            "GIT_AUTHOR_EMAIL": "lakesmith@localhost",
            "GIT_COMMITTER_NAME": "lakesmith",
            "GIT_COMMITTER_EMAIL": "lakesmith@localhost",
        }
        head = subprocess.run(
            ["git", "-C", str(store), "rev-parse", "-q", "--verify", "refs/heads/main"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        parent = ["-p", head] if head else []
        commit = _git(store, "commit-tree", tree, *parent, "-m", f"templates {tag}", env=dates)
        _git(store, "update-ref", "refs/heads/main", commit)
        _git(store, "tag", tag, commit)
        return TemplateVersion(location, tag)


def has_tag(tag: str) -> bool:
    """Whether this machine's store holds ``tag`` (a project's ``_commit``)."""
    store = Path(store_location()).expanduser()
    if not (store / ".git").is_dir():
        return False
    done = subprocess.run(
        ["git", "-C", str(store), "rev-parse", "-q", "--verify", f"refs/tags/{tag}"],
        capture_output=True,
        check=False,
    )
    return done.returncode == 0
