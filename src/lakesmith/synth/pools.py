"""Value pools, built once: names, places, campaign words. Rows draw indices into them."""

from __future__ import annotations

from functools import cache

import pyarrow as pa

from .columns import array

FEMALE = (
    "mary patricia jennifer linda elizabeth barbara susan jessica sarah karen lisa nancy betty "
    "sandra margaret ashley kimberly emily donna michelle carol amanda melissa deborah stephanie "
    "dorothy rebecca sharon laura cynthia amy kathleen angela shirley brenda emma anna pamela "
    "nicole samantha katherine christine helen debra rachel carolyn janet maria olivia heather "
    "diane julie joyce victoria ruth virginia lauren kelly christina joan evelyn judith andrea "
    "hannah megan cheryl jacqueline martha madison teresa gloria sara janice ann kathryn abigail "
    "sophia frances jean alice judy isabella julia grace amber denise danielle marilyn beverly "
    "charlotte natalie theresa diana brittany doris kayla alexis lori marie"
).split()
MALE = (
    "james robert john michael david william richard joseph thomas christopher charles daniel "
    "matthew anthony mark donald steven andrew paul joshua kenneth kevin brian george timothy "
    "ronald jason edward jeffrey ryan jacob gary nicholas eric jonathan stephen larry justin "
    "scott brandon benjamin samuel gregory alexander patrick frank raymond jack dennis jerry "
    "tyler aaron jose adam nathan henry zachary douglas peter kyle noah ethan jeremy walter "
    "christian keith roger terry austin sean gerald carl harold dylan arthur lawrence jordan "
    "jesse bryan billy bruce gabriel joe logan alan juan albert willie elijah wayne randy "
    "vincent mason roy ralph bobby russell bradley philip eugene"
).split()
LAST = (
    "smith johnson williams brown jones garcia miller davis rodriguez martinez hernandez lopez "
    "gonzalez wilson anderson thomas taylor moore jackson martin lee perez thompson white harris "
    "sanchez clark ramirez lewis robinson walker young allen king wright scott torres nguyen hill "
    "flores green adams nelson baker hall rivera campbell mitchell carter roberts gomez phillips "
    "evans turner diaz parker cruz edwards collins reyes stewart morris morales murphy cook rogers "
    "gutierrez ortiz morgan cooper peterson bailey reed kelly howard ramos kim cox ward richardson "
    "watson brooks chavez wood james bennett gray mendoza ruiz hughes price alvarez castillo "
    "sanders patel myers long ross foster jimenez powell jenkins perry russell sullivan bell "
    "coleman butler henderson barnes gonzales fisher vasquez simmons romero jordan patterson "
    "alexander hamilton graham reynolds griffin wallace moreno west cole hayes bryant herrera"
).split()

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

CAMPAIGN_ADJECTIVES = (
    "Spring Summer Autumn Winter Holiday Bold Bright Fresh Prime Smart Golden Urban Family "
    "Weekend Midnight Premier Instant Everyday"
).split()
CAMPAIGN_NOUNS = (
    "Launch Sale Push Boost Streams Rewards Moments Deals Picks Drive Reach Spotlight Wave Pulse"
).split()
SEGMENTS = (
    "affluent_family",
    "young_urban_streamer",
    "budget_household",
    "sports_enthusiast",
    "news_junkie",
    "retired_viewer",
    "cord_cutter",
    "kids_and_family",
)


@cache
def arrow_pool(name: str) -> pa.Array:
    """A pool as an Arrow string array, for ``take`` with drawn indices."""
    values = {
        "female": FEMALE,
        "male": MALE,
        "last": LAST,
        "state": tuple(p[0] for p in PLACES),
        "region": tuple(f"{p[1]} {p[2]}xx" for p in PLACES),
        "segment": SEGMENTS,
    }[name]
    return array(values, pa.string())


def place_weights() -> list[float]:
    total = sum(p[3] for p in PLACES)
    return [p[3] / total for p in PLACES]
