"""The streaming example (examples/streaming) for tests: a copy of it and change files to feed
its landing folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl

from lakesmith.testing.landing import land

EXAMPLE = Path(__file__).parents[1] / "examples" / "streaming"
LANDING = Path("data") / "landing" / "changes"


def copy_example(root: Path) -> Path:
    """The example under ``root``, without anything a local run left in it."""
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("warehouse", "data", "build"))
    return root


def feed(folder: Path, files: int = 5, rows: int = 4, first: int = 0) -> None:
    """JSON change files ``first .. first+files-1`` with repeated ids and growing ``seq``;
    some rows delete their id, some have an operation the expectations drop. Each file is
    landed (:func:`lakesmith.testing.landing.land`), so a stream never sees half of one."""
    for f in range(first, first + files):
        lines = []
        for r in range(rows):
            i = f * rows + r
            op = "BAD" if i % 7 == 3 else "DELETE" if i % 11 == 5 else "UPSERT"
            row = {
                "id": i % 6,
                "name": f" n{i} ",
                "country": ["de", "fr", "nl"][i % 3],
                "amount": float(i),
                "op": op,
                "seq": i,
            }
            lines.append(json.dumps(row))
        land(folder, f"f{f:03d}.json", "\n".join(lines) + "\n")


def rows(frame: pl.DataFrame) -> list[tuple]:
    """The rows sorted, columns by name, numbers as floats: comparable across engines (Spark
    counts in bigint, Polars in u32) and batchings."""
    frame = frame.select(sorted(frame.columns))
    return sorted(
        frame.cast({c: pl.Float64 for c, t in frame.schema.items() if t.is_numeric()}).rows()
    )
