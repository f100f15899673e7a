"""lakesmith: lakehouse pipelines for Databricks that also run on a laptop."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("lakesmith")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0"
