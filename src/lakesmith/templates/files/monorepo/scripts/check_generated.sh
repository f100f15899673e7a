#!/usr/bin/env bash
# Fails when a resource module under resources/ differs from what its spec generates, in every
# bundle of the repository (the root one, or bundles/<domain>/ with one bundle per domain).
set -euo pipefail
cd "$(dirname "$0")/.."
for config in databricks.yml bundles/*/databricks.yml; do
    [ -f "$config" ] || continue
    uv run lakesmith bundle generate --check -p "$(dirname "$config")"
done
