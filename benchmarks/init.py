"""`lakesmith init` wall time per template, as a user runs it (a fresh process each time).

Target: <= 2 s per project. The template store is private to the run, so the first init of the
run also pays for committing the templates into it (reported separately). Ends with one JSON
line: {"benchmark": "init", "figures": {...}}.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TEMPLATES = ("batch-medallion", "streaming", "ml-feature", "monorepo")
RUNS = 3
LAKESMITH = Path(sys.executable).parent / "lakesmith"


def _init(template: str, dest: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(
        [str(LAKESMITH), "init", template, str(dest), "--domain", "sales", "--source", "crm"],
        check=True,
        capture_output=True,
        env=env,
    )
    return time.perf_counter() - start


def main() -> None:
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="lakesmith-bench-init-") as tmp:
        env = {**os.environ, "LAKESMITH_TEMPLATE_STORE": str(Path(tmp) / "store")}
        figures["first_init_with_store_setup_s"] = round(
            _init("batch-medallion", Path(tmp) / "first", env), 3
        )
        for template in TEMPLATES:
            times = [_init(template, Path(tmp) / f"{template}-{i}", env) for i in range(RUNS)]
            figures[f"{template}_median_s"] = round(statistics.median(times), 3)
    figures["target_s"] = 2.0
    figures["worst_median_s"] = max(v for k, v in figures.items() if k.endswith("_median_s"))
    print(json.dumps({"benchmark": "init", "figures": figures}))


if __name__ == "__main__":
    main()
