"""Where households live: the place pool and the US Census regions and divisions over it.

Kept free of Arrow and numpy so the spec model can validate region names cheaply.
"""

from __future__ import annotations

# (state, city, zip3, weight): large metros, weighted roughly by population.
PLACES = (
    ("NY", "New York", "100", 8.3),
    ("CA", "Los Angeles", "900", 3.9),
    ("IL", "Chicago", "606", 2.7),
    ("TX", "Houston", "770", 2.3),
    ("AZ", "Phoenix", "850", 1.6),
    ("PA", "Philadelphia", "191", 1.6),
    ("TX", "San Antonio", "782", 1.5),
    ("CA", "San Diego", "921", 1.4),
    ("TX", "Dallas", "752", 1.3),
    ("TX", "Austin", "787", 1.0),
    ("FL", "Jacksonville", "322", 0.95),
    ("CA", "San Jose", "951", 1.0),
    ("TX", "Fort Worth", "761", 0.95),
    ("OH", "Columbus", "432", 0.9),
    ("NC", "Charlotte", "282", 0.88),
    ("IN", "Indianapolis", "462", 0.88),
    ("CA", "San Francisco", "941", 0.81),
    ("WA", "Seattle", "981", 0.75),
    ("CO", "Denver", "802", 0.72),
    ("DC", "Washington", "200", 0.68),
    ("MA", "Boston", "021", 0.65),
    ("TN", "Nashville", "372", 0.69),
    ("OK", "Oklahoma City", "731", 0.69),
    ("NV", "Las Vegas", "891", 0.65),
    ("OR", "Portland", "972", 0.63),
    ("MI", "Detroit", "482", 0.62),
    ("KY", "Louisville", "402", 0.62),
    ("WI", "Milwaukee", "532", 0.56),
    ("NM", "Albuquerque", "871", 0.56),
    ("AZ", "Tucson", "857", 0.54),
    ("CA", "Fresno", "937", 0.54),
    ("CA", "Sacramento", "958", 0.52),
    ("MO", "Kansas City", "641", 0.51),
    ("GA", "Atlanta", "303", 0.5),
    ("NE", "Omaha", "681", 0.48),
    ("NC", "Raleigh", "276", 0.47),
    ("FL", "Miami", "331", 0.44),
    ("MN", "Minneapolis", "554", 0.43),
    ("FL", "Tampa", "336", 0.4),
    ("LA", "New Orleans", "701", 0.38),
    ("OH", "Cleveland", "441", 0.37),
    ("HI", "Honolulu", "968", 0.35),
    ("KS", "Wichita", "672", 0.4),
    ("MO", "St. Louis", "631", 0.3),
    ("PA", "Pittsburgh", "152", 0.3),
    ("UT", "Salt Lake City", "841", 0.2),
    ("ID", "Boise", "837", 0.24),
    ("VA", "Richmond", "232", 0.23),
    ("AL", "Birmingham", "352", 0.2),
    ("IA", "Des Moines", "503", 0.21),
    ("ME", "Portland", "041", 0.07),
    ("VT", "Burlington", "054", 0.04),
    ("AK", "Anchorage", "995", 0.29),
    ("MT", "Billings", "591", 0.12),
    ("SD", "Sioux Falls", "571", 0.2),
    ("ND", "Fargo", "581", 0.13),
    ("WY", "Cheyenne", "820", 0.07),
    ("AR", "Little Rock", "722", 0.2),
    ("MS", "Jackson", "392", 0.15),
    ("SC", "Columbia", "292", 0.14),
    ("WV", "Charleston", "253", 0.05),
    ("NH", "Manchester", "031", 0.12),
    ("RI", "Providence", "029", 0.19),
    ("CT", "Bridgeport", "066", 0.15),
    ("DE", "Wilmington", "198", 0.07),
    ("NJ", "Newark", "071", 0.31),
    ("MD", "Baltimore", "212", 0.57),
)

# US Census Bureau regions and divisions (every state and DC in exactly one division).
CENSUS_DIVISIONS: dict[str, tuple[str, ...]] = {
    "New England": ("CT", "ME", "MA", "NH", "RI", "VT"),
    "Middle Atlantic": ("NJ", "NY", "PA"),
    "East North Central": ("IL", "IN", "MI", "OH", "WI"),
    "West North Central": ("IA", "KS", "MN", "MO", "NE", "ND", "SD"),
    "South Atlantic": ("DE", "DC", "FL", "GA", "MD", "NC", "SC", "VA", "WV"),
    "East South Central": ("AL", "KY", "MS", "TN"),
    "West South Central": ("AR", "LA", "OK", "TX"),
    "Mountain": ("AZ", "CO", "ID", "MT", "NV", "NM", "UT", "WY"),
    "Pacific": ("AK", "CA", "HI", "OR", "WA"),
}
CENSUS_REGIONS: dict[str, tuple[str, ...]] = {
    "Northeast": ("New England", "Middle Atlantic"),
    "Midwest": ("East North Central", "West North Central"),
    "South": ("South Atlantic", "East South Central", "West South Central"),
    "West": ("Mountain", "Pacific"),
}
STATES: tuple[str, ...] = tuple(sorted({p[0] for p in PLACES}))


def region_states(name: str) -> tuple[str, ...]:
    """The states a region name stands for: a Census region, a Census division or a state.

    Raises:
        KeyError: ``name`` is none of them (names are canonical; see :func:`canonical_region`).
    """
    if name in CENSUS_REGIONS:
        return tuple(s for d in CENSUS_REGIONS[name] for s in CENSUS_DIVISIONS[d])
    if name in CENSUS_DIVISIONS:
        return CENSUS_DIVISIONS[name]
    if name in STATES:
        return (name,)
    raise KeyError(name)


def region_names() -> tuple[str, ...]:
    """Every valid region name: Census regions, then divisions, then state codes."""
    return (*CENSUS_REGIONS, *CENSUS_DIVISIONS, *STATES)


def valid_regions_text() -> str:
    """Every valid region name, grouped, for error messages."""
    return (
        f"Census regions {', '.join(CENSUS_REGIONS)}; "
        f"Census divisions {', '.join(CENSUS_DIVISIONS)}; "
        f"states {', '.join(STATES)}"
    )


def canonical_region(name: str) -> str | None:
    """``name`` as spelled in :func:`region_names`, matched case-insensitively; None if unknown."""
    wanted = " ".join(name.split()).casefold()
    return next((n for n in region_names() if n.casefold() == wanted), None)


def place_indices(regions: tuple[str, ...] | list[str]) -> tuple[int, ...]:
    """Indices into :data:`PLACES` of the places inside any of ``regions`` (empty: all)."""
    if not regions:
        return tuple(range(len(PLACES)))
    states = {s for r in regions for s in region_states(r)}
    return tuple(i for i, p in enumerate(PLACES) if p[0] in states)
