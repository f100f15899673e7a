"""Bundle resources in Python: `databricks bundle` calls load_resources (see databricks.yml).

Modules under resources/<domain>/<source>/{jobs,pipelines}/ are generated from specs/ by
`lakesmith bundle job|pipeline SPEC`. Every folder needs an __init__.py, or the loader skips
it without a word.
"""

from databricks.bundles.core import Resources, load_resources_from_current_package_module


def load_resources() -> Resources:
    return load_resources_from_current_package_module()
