"""A local ``dbutils`` so notebook-style code runs on a laptop; the real one on Databricks.

Names (``getAll``, ``defaultValue``, ...) are Databricks' own, so the same code runs on both.
Paths follow Databricks: a path without a scheme is on DBFS. Locally they map to

- ``dbfs:/a/b`` or ``/a/b``: ``<warehouse>/_dbfs/a/b``
- ``/Volumes/<catalog>/<schema>/<volume>/f`` (or ``dbfs:/Volumes/...``):
  ``<warehouse>/_volumes/<catalog>/<schema>/<volume>/f``
- ``file:/tmp/x``: ``/tmp/x`` on this machine (as on a driver)

Widgets return run parameters first, then the defaults the code declared. Secrets come from
a ``SecretResolver`` (``LAKESMITH_SECRET__SCOPE__KEY`` variables, ``.lakesmith/secrets.yaml``).
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, NamedTuple

from lakesmith.errors import LakesmithError, SecretNotFound

from .detect import is_databricks
from .secrets import SecretResolver

if TYPE_CHECKING:
    from lakesmith.config import ProjectConfig

DBFS_DIR = "_dbfs"
VOLUMES_DIR = "_volumes"


class InputWidgetNotDefined(LakesmithError):
    """``widgets.get`` for a name that is neither a run parameter nor a declared widget."""


class FileInfo(NamedTuple):
    """What ``dbutils.fs.ls`` returns: folders end with ``/`` in path and name."""

    path: str
    name: str
    size: int
    modificationTime: int  # milliseconds since the epoch

    def isDir(self) -> bool:
        return self.name.endswith("/")

    def isFile(self) -> bool:
        return not self.isDir()


class SecretScope(NamedTuple):
    name: str


class SecretMetadata(NamedTuple):
    key: str


class LocalSecrets:
    """``dbutils.secrets`` over a :class:`SecretResolver`."""

    def __init__(self, resolver: SecretResolver) -> None:
        self._resolver = resolver

    def get(self, scope: str, key: str) -> str:
        """The secret value; :class:`SecretNotFound` lists every place that was tried."""
        return self._resolver.get(scope, key)

    def getBytes(self, scope: str, key: str) -> bytes:
        return self.get(scope, key).encode("utf-8")

    def listScopes(self) -> list[SecretScope]:
        """Scopes in the secrets file and in ``LAKESMITH_SECRET__*`` variables (lower case)."""
        return [SecretScope(s) for s in self._resolver.listing()]

    def list(self, scope: str) -> list[SecretMetadata]:
        """Keys of one scope (names only, never values)."""
        listing = self._resolver.listing()
        if scope not in listing:
            raise SecretNotFound(
                f"secret scope '{scope}' does not exist locally",
                hint=f"scopes: {', '.join(listing) or 'none'}; add it to {self._resolver.file}",
            )
        return [SecretMetadata(k) for k in listing[scope]]

    def __repr__(self) -> str:
        return "LocalSecrets()"


class LocalWidgets:
    """``dbutils.widgets``: run parameters win over the defaults the code declares."""

    def __init__(self, params: Mapping[str, Any] | None = None) -> None:
        self._params = {str(k): str(v) for k, v in (params or {}).items()}
        self._defaults: dict[str, str] = {}

    def text(self, name: str, defaultValue: str, label: str | None = None) -> None:
        self._defaults[name] = str(defaultValue)

    def dropdown(
        self,
        name: str,
        defaultValue: str,
        choices: list[str],
        label: str | None = None,
    ) -> None:
        if defaultValue not in choices:
            raise LakesmithError(
                f"widget '{name}': default '{defaultValue}' is not one of its choices",
                hint=f"choices: {', '.join(map(str, choices))}",
            )
        self._defaults[name] = str(defaultValue)

    def combobox(
        self,
        name: str,
        defaultValue: str,
        choices: list[str],
        label: str | None = None,
    ) -> None:
        self._defaults[name] = str(defaultValue)

    def multiselect(
        self,
        name: str,
        defaultValue: str,
        choices: list[str],
        label: str | None = None,
    ) -> None:
        self.dropdown(name, defaultValue, choices, label)

    def get(self, name: str) -> str:
        """The run parameter ``name``, else the widget's default.

        Raises:
            InputWidgetNotDefined: neither exists.
        """
        if name in self._params:
            return self._params[name]
        if name in self._defaults:
            return self._defaults[name]
        known = sorted({*self._params, *self._defaults})
        raise InputWidgetNotDefined(
            f"InputWidgetNotDefined: no input widget named '{name}' is defined",
            hint=f"declare it first with dbutils.widgets.text('{name}', 'default'), or pass it "
            f"as a run parameter; defined: {', '.join(known) or 'none'}",
        )

    def getArgument(self, name: str, optional: str | None = None) -> str | None:
        """Deprecated on Databricks; the value, or ``optional`` when it is not defined."""
        try:
            return self.get(name)
        except InputWidgetNotDefined:
            return optional

    def getAll(self) -> dict[str, str]:
        """Every widget's current value, run parameters included."""
        return {**self._defaults, **self._params}

    def remove(self, name: str) -> None:
        if self._defaults.pop(name, None) is None:
            raise InputWidgetNotDefined(f"InputWidgetNotDefined: no input widget named '{name}'")

    def removeAll(self) -> None:
        self._defaults.clear()


class LocalFs:
    """``dbutils.fs`` over local folders (see the module docstring for the path mapping)."""

    def __init__(self, warehouse: Path) -> None:
        self.warehouse = Path(warehouse)

    def local_path(self, path: str) -> Path:
        """The file on this machine that a Databricks path stands for."""
        return self._map(path)[0]

    def ls(self, dir: str) -> list[FileInfo]:
        """Entries of a folder sorted by name, or the file itself as a one-item list."""
        local, shown = self._map(dir)
        if not local.exists():
            raise FileNotFoundError(f"{dir} does not exist (locally {local})")
        if local.is_file():
            return [self._info(local, shown)]
        base = shown.rstrip("/")
        return [self._info(p, f"{base}/{p.name}") for p in sorted(local.iterdir())]

    def head(self, file: str, maxBytes: int = 65536) -> str:
        """The first ``maxBytes`` bytes of a file as text."""
        local = self._existing_file(file)
        with local.open("rb") as fh:
            return fh.read(maxBytes).decode("utf-8", errors="replace")

    def put(self, file: str, contents: str, overwrite: bool = False) -> bool:
        """Write text to a file, creating folders; refuses to replace one unless ``overwrite``."""
        local, _ = self._map(file)
        if local.is_dir():
            raise IsADirectoryError(f"{file} is a folder (locally {local})")
        if local.exists() and not overwrite:
            raise FileExistsError(f"{file} already exists; pass overwrite=True to replace it")
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_text(contents, encoding="utf-8")
        return True

    def mkdirs(self, dir: str) -> bool:
        self._map(dir)[0].mkdir(parents=True, exist_ok=True)
        return True

    def rm(self, dir: str, recurse: bool = False) -> bool:
        """Delete a file, or a folder (with ``recurse=True`` unless empty); False if absent."""
        local, _ = self._map(dir)
        if not local.exists():
            return False
        if local.is_dir():
            if recurse:
                shutil.rmtree(local)
            elif any(local.iterdir()):
                raise OSError(f"{dir} is a folder that is not empty; pass recurse=True")
            else:
                local.rmdir()
        else:
            local.unlink()
        return True

    def cp(self, from_: str, to: str, recurse: bool = False) -> bool:
        """Copy a file, or a folder with ``recurse=True``; ``to`` is the new path."""
        src, dst = self._map(from_)[0], self._map(to)[0]
        if not src.exists():
            raise FileNotFoundError(f"{from_} does not exist (locally {src})")
        if src.is_dir():
            if not recurse:
                raise IsADirectoryError(f"{from_} is a folder; pass recurse=True to copy it")
            shutil.copytree(src, dst, dirs_exist_ok=True)
        else:
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
        return True

    def mv(self, from_: str, to: str, recurse: bool = False) -> bool:
        """Move a file, or a folder with ``recurse=True``."""
        src, dst = self._map(from_)[0], self._map(to)[0]
        if not src.exists():
            raise FileNotFoundError(f"{from_} does not exist (locally {src})")
        if src.is_dir() and not recurse:
            raise IsADirectoryError(f"{from_} is a folder; pass recurse=True to move it")
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(src, dst)
        return True

    def _existing_file(self, path: str) -> Path:
        local, _ = self._map(path)
        if not local.is_file():
            raise FileNotFoundError(f"{path} is not a file (locally {local})")
        return local

    def _map(self, path: str) -> tuple[Path, str]:
        """(local path, the path as Databricks shows it) for a dbutils path."""
        if path.startswith("file:"):
            local = Path("/" + path[len("file:") :].lstrip("/"))
            return local, f"file:{local.as_posix()}"
        if "://" in path and not path.startswith("dbfs:"):
            raise LakesmithError(
                f"the local dbutils reaches dbfs:/, /Volumes/ and file: paths, not {path}",
                hint="read cloud storage through a pipeline connection instead",
            )
        virtual = path[len("dbfs:") :] if path.startswith("dbfs:") else path
        parts = [p for p in PurePosixPath("/" + virtual.lstrip("/")).parts[1:] if p != "."]
        if ".." in parts:
            raise LakesmithError(f"'..' is not allowed in a dbutils path: {path}")
        if parts and parts[0] == "Volumes":
            local = self.warehouse.joinpath(VOLUMES_DIR, *parts[1:])
        else:
            local = self.warehouse.joinpath(DBFS_DIR, *parts)
        return local, "dbfs:/" + "/".join(parts)

    @staticmethod
    def _info(local: Path, shown: str) -> FileInfo:
        stat = local.stat()
        if local.is_dir():
            return FileInfo(shown.rstrip("/") + "/", local.name + "/", 0, int(stat.st_mtime * 1000))
        return FileInfo(shown, local.name, stat.st_size, int(stat.st_mtime * 1000))


class LocalDBUtils:
    """A stand-in for Databricks' ``dbutils`` with ``secrets``, ``widgets`` and ``fs``.

    Args:
        root: the project folder.
        warehouse: where ``dbfs:/`` and ``/Volumes/`` live (default ``<root>/warehouse``).
        params: run parameters, returned by ``widgets.get`` before any default.
        secrets: the resolver behind ``secrets.get`` (default: one for ``root``).
    """

    def __init__(
        self,
        root: Path | str,
        warehouse: Path | str | None = None,
        params: Mapping[str, Any] | None = None,
        secrets: SecretResolver | None = None,
    ) -> None:
        self.root = Path(root)
        self.warehouse = Path(warehouse) if warehouse is not None else self.root / "warehouse"
        self.secrets = LocalSecrets(secrets or SecretResolver(self.root))
        self.widgets = LocalWidgets(params)
        self.fs = LocalFs(self.warehouse)

    def __repr__(self) -> str:
        return f"LocalDBUtils(root={str(self.root)!r}, warehouse={str(self.warehouse)!r})"


def get_dbutils(
    project: ProjectConfig | Path | str | None = None,
    *,
    env: str = "local",
    params: Mapping[str, Any] | None = None,
    secrets: SecretResolver | None = None,
) -> Any:
    """The real ``dbutils`` on Databricks; a :class:`LocalDBUtils` anywhere else.

    Args:
        project: a loaded ``ProjectConfig``, a folder in a project, or None for the current one.
        env: the overlay whose ``warehouse`` is used when ``project`` is a folder.
        params: run parameters for ``widgets.get`` (ignored on Databricks, which has its own).
        secrets: the resolver for ``secrets.get`` locally.
    """
    if is_databricks():
        from .databricks import dbutils

        return dbutils()
    from lakesmith.config import ProjectConfig

    if isinstance(project, ProjectConfig):
        return LocalDBUtils(project.root, project.warehouse, params, secrets)
    root = _project_root(Path(project) if project is not None else Path.cwd())
    return LocalDBUtils(root, _warehouse(root, env), params, secrets)


def _project_root(start: Path) -> Path:
    from lakesmith.config import find_project
    from lakesmith.errors import ProjectNotFound

    try:
        return find_project(start)
    except ProjectNotFound:
        return start.resolve()  # notebooks outside a project still get a working shim


def _warehouse(root: Path, env: str) -> Path:
    """``warehouse`` from lakesmith.yaml and the env overlay, as load_project reads it."""
    from lakesmith.config.interpolate import interpolate
    from lakesmith.config.loader import PROJECT_FILE, resolve_under
    from lakesmith.config.overlay import deep_merge
    from lakesmith.config.yaml_loader import load_yaml

    raw: Any = {}
    for file in (root / PROJECT_FILE, root / "config" / f"{env}.yaml"):
        if file.is_file():
            tree, smap, _ = load_yaml(file)
            if isinstance(tree, dict):
                raw = deep_merge(raw, interpolate(tree, smap)[0])
    value = raw.get("warehouse") if isinstance(raw, dict) else None
    return resolve_under(root, value if isinstance(value, str) else "warehouse")
