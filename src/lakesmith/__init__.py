"""lakesmith: lakehouse pipelines for Databricks that also run on a laptop."""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    # __version__ is looked up on first use: importlib.metadata costs ~50 ms at start-up,
    # and every `lakesmith` command imports this package.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            value = version("lakesmith")
        except PackageNotFoundError:  # running from a source tree without install
            value = "0.0.0"
        globals()["__version__"] = value
        return value
    raise AttributeError(f"module 'lakesmith' has no attribute {name!r}")
