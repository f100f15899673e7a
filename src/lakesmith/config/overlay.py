"""Deep merge of an environment overlay onto the base project file."""

from __future__ import annotations

from typing import Any

# A mapping whose ``type`` changes is another kind of thing: the overlay replaces it whole, so
# keys of the base kind (a local connection's ``path``) do not leak into the new one.
DISCRIMINATORS = ("type",)


def deep_merge(base: Any, overlay: Any) -> Any:
    """Mappings merge key by key; anything else in the overlay replaces the base value.

    A mapping whose ``type`` differs between base and overlay is replaced, not merged.
    """
    if isinstance(base, dict) and isinstance(overlay, dict):
        if any(k in base and k in overlay and base[k] != overlay[k] for k in DISCRIMINATORS):
            return overlay
        merged = dict(base)
        for key, value in overlay.items():
            merged[key] = deep_merge(base[key], value) if key in base else value
        return merged
    return overlay
