"""The shape of the demo district: streets, communities, compounds and buildings.

The plan is made before anything is written, and it holds only areas (a few
thousand for a million residents). Households and people are not kept: each
building's rooms are drawn from its own random stream, seeded by the seed and the
building's code, so the loader can draw them again, one building at a time.
"""

import random
from collections.abc import Iterator
from dataclasses import dataclass, field

from . import data

# How a compound's era shapes it: years built, floors, units, rooms a floor, share of
# rooms lived in, share of households headed by someone old, share of tenants.
ERAS = {
    "old": dict(years=(1980, 1999), floors=(6, 7), units=(2, 4), rooms=(2, 2), occupied=(0.85, 0.95), elderly=(0.5, 0.62), tenants=(0.12, 0.22)),
    "mid": dict(years=(2000, 2011), floors=(6, 11), units=(2, 3), rooms=(2, 3), occupied=(0.8, 0.92), elderly=(0.15, 0.25), tenants=(0.15, 0.28)),
    "new": dict(years=(2012, 2022), floors=(11, 18), units=(2, 3), rooms=(2, 4), occupied=(0.6, 0.85), elderly=(0.0, 0.03), tenants=(0.15, 0.3)),
}  # fmt: skip
BUILDINGS_PER_COMPOUND = {"old": (3, 10), "mid": (4, 14), "new": (6, 24)}
# Household sizes 1-5 (weights), for households headed by someone old or not, and tenants.
SIZES_ELDERLY = (40, 45, 9, 4, 2)
SIZES_FAMILY = (14, 24, 34, 20, 8)
SIZES_TENANT = (40, 30, 20, 10, 0)
RESIDENTS_PER_COMMUNITY = 6000  # a real one holds 3,000 to 10,000
COMMUNITIES_PER_STREET = 12


@dataclass
class Household:
    unit: str
    room: str
    size: int
    elderly: bool
    tenant: bool


@dataclass
class Building:
    code: str
    name: str
    era: str
    units: int
    floors: int
    rooms: int
    occupied: float
    elderly: float
    tenants: float
    built_year: int
    limit: int = 0  # residents to load here (the community's last building is cut)
    household_count: int = 0  # households that holds
    pk: int | None = None
    children = ()

    def households(self, rng: random.Random) -> Iterator[Household]:
        """The building's households, drawn the same way every time from `rng`."""
        for unit in range(1, self.units + 1):
            for floor in range(1, self.floors + 1):
                for room in range(1, self.rooms + 1):
                    if rng.random() >= self.occupied:
                        continue
                    elderly = rng.random() < self.elderly
                    tenant = rng.random() < self.tenants
                    weights = SIZES_TENANT if tenant else SIZES_ELDERLY if elderly else SIZES_FAMILY
                    size = rng.choices(range(1, 6), weights)[0]
                    yield Household(str(unit), f"{floor}{room:02d}", size, elderly, tenant)

    def occupied_households(self, rng: random.Random) -> list[Household]:
        """The households that take the building's `limit` people (the last one cut).

        All the rooms are drawn first, so `rng` goes on the same way however many of
        them are kept."""
        return _cut(list(self.households(rng)), self.limit)


def _cut(layout: list[Household], limit: int) -> list[Household]:
    kept, left = [], limit
    for h in layout:
        if left <= 0:
            break
        h.size = min(h.size, left)
        left -= h.size
        kept.append(h)
    return kept


@dataclass
class Area:
    code: str
    name: str
    children: list = field(default_factory=list)
    built_year: int | None = None
    era: str = ""


@dataclass
class Plan:
    seed: int
    district: Area
    residents: int

    def walk(self) -> Iterator[tuple[int, Area, Area | None]]:
        """(level, area, parent) for every area, parents first."""
        yield 1, self.district, None
        stack = [(2, child, self.district) for child in reversed(self.district.children)]
        while stack:
            level, area, parent = stack.pop()
            yield level, area, parent
            stack += [(level + 1, c, area) for c in reversed(area.children)]

    def buildings(self) -> Iterator[Building]:
        for level, area, _parent in self.walk():
            if level == 5:
                yield area

    def building_rng(self, building: Building) -> random.Random:
        return random.Random(f"{self.seed}:{building.code}")

    def batches(self, residents: int) -> list[list[Building]]:
        """The buildings in order, cut into runs of about `residents` people."""
        batches: list[list[Building]] = [[]]
        count = 0
        for building in self.buildings():
            if count >= residents:
                batches.append([])
                count = 0
            batches[-1].append(building)
            count += building.limit
        return batches


def plan_district(residents: int, seed: int) -> Plan:
    """A district sized for `residents` people: several streets, communities of thousands."""
    rng = random.Random(seed)
    district = Area(data.DISTRICT_CODE, data.DISTRICT_NAME)
    plan = Plan(seed, district, residents)
    n_communities = max(4, round(residents / RESIDENTS_PER_COMMUNITY))
    n_streets = max(2, round(n_communities / COMMUNITIES_PER_STREET))
    weights = [rng.uniform(0.5, 1.5) for _ in range(n_communities)]
    quotas = [int(residents * w / sum(weights)) for w in weights]
    quotas[0] += residents - sum(quotas)
    names = _Names(rng)
    for s in range(n_streets):
        street = Area(f"{district.code}{s + 1:03d}", names.street(s))
        district.children.append(street)
        central = s < 4  # the old town: more old compounds
        for c in range(s, n_communities, n_streets):
            community = Area(f"{street.code}{len(street.children) + 1:03d}", names.community())
            street.children.append(community)
            first_era = ("old", "new")[len(street.children) % 2]  # every street has both
            _fill_community(plan, rng, names, community, quotas[c], central, first_era)
    return plan


def _fill_community(
    plan: Plan, rng, names, community: Area, quota: int, central: bool, first_era: str
) -> None:
    """Compounds and buildings until the community holds `quota` people."""
    mix = {"old": 45, "mid": 35, "new": 20} if central else {"old": 20, "mid": 30, "new": 50}
    planned = 0
    while planned < quota:
        era = first_era if not community.children else rng.choices(list(mix), list(mix.values()))[0]
        shape = ERAS[era]
        year = rng.randint(*shape["years"])
        compound = Area(f"{community.code}{len(community.children) + 1:03d}", names.compound(era))
        compound.built_year, compound.era = year, era
        community.children.append(compound)
        for b in range(1, rng.randint(*BUILDINGS_PER_COMPOUND[era]) + 1):
            building = Building(
                code=f"{compound.code}{b:03d}",
                name=f"{b}号楼",
                era=era,
                built_year=year,
                units=rng.randint(*shape["units"]),
                floors=rng.randint(*shape["floors"]),
                rooms=rng.randint(*shape["rooms"]),
                occupied=rng.uniform(*shape["occupied"]),
                elderly=rng.uniform(*shape["elderly"]),
                tenants=rng.uniform(*shape["tenants"]),
            )
            layout = list(building.households(plan.building_rng(building)))
            building.limit = min(sum(h.size for h in layout), quota - planned)
            building.household_count = len(_cut(layout, building.limit))
            compound.children.append(building)
            planned += building.limit
            if planned >= quota:
                break


class _Names:
    """Names not used twice in the district."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.used: set[str] = set()

    def _unique(self, make) -> str:
        for _ in range(50):
            name = make()
            if name not in self.used:
                self.used.add(name)
                return name
        name = make()
        n = 2
        while f"{name}{n}" in self.used:
            n += 1
        self.used.add(f"{name}{n}")
        return f"{name}{n}"

    def street(self, index: int) -> str:
        if index < len(data.STREETS):
            self.used.add(data.STREETS[index])
            return data.STREETS[index]
        return self._unique(lambda: f"{self.rng.choice(data.COMMUNITY_WORDS)}街道")

    def community(self) -> str:
        return self._unique(lambda: f"{self.rng.choice(data.COMMUNITY_WORDS)}社区")

    def compound(self, era: str) -> str:
        if era == "old":
            words, suffixes = data.OLD_COMPOUND_WORDS, data.OLD_COMPOUND_SUFFIXES
        else:
            words, suffixes = data.NEW_COMPOUND_WORDS, data.NEW_COMPOUND_SUFFIXES
        return self._unique(lambda: self.rng.choice(words) + self.rng.choice(suffixes))
