"""'Did you mean' suggestions for misspelt keys and values."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

# Words users bring from other tools, mapped to ours.
SYNONYMS = {
    "upsert": "merge",
    "insert": "append",
    "replace": "overwrite",
    "scd_2": "scd2",
    "scd_type_2": "scd2",
    "replacewhere": "replace_where",
    "replace-where": "replace_where",
}


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Return ``" Did you mean 'x'?"`` or an empty string."""
    options = list(choices)
    if word.lower() in SYNONYMS and SYNONYMS[word.lower()] in options:
        return f" Did you mean '{SYNONYMS[word.lower()]}'?"
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f" Did you mean '{close[0]}'?" if close else ""
