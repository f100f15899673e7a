"""Versions of the packages a result depends on, recorded in stories and manifests."""

from __future__ import annotations

PACKAGES = ("lakesmith", "polars", "deltalake", "duckdb", "sqlglot", "narwhals", "pyarrow", "numpy")


def package_versions() -> dict[str, str]:
    import platform
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    return out
