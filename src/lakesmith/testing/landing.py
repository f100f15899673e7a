"""Files landing in a folder as a well-behaved producer writes them."""

from __future__ import annotations

from pathlib import Path


def land(folder: Path, name: str, text: str) -> Path:
    """Write ``name`` under a hidden name, then rename it: a stream or a glob never sees half
    a file (file sources skip names starting with ``.``)."""
    folder.mkdir(parents=True, exist_ok=True)
    hidden = folder / f".{name}"
    hidden.write_text(text)
    return hidden.rename(folder / name)
