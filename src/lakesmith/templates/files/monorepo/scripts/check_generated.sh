#!/usr/bin/env bash
# Fails when a resource module under resources/ differs from what its spec generates.
set -euo pipefail
cd "$(dirname "$0")/.."
uv run lakesmith bundle generate --check
