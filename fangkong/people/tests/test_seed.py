"""The demo district: its shape, its people, its users and its statistics.

One district of 3,000 residents is seeded for the module (on SQLite or PostgreSQL,
whichever the suite runs on) and rolled back at the end.
"""

import datetime as dt
import io
import stat
from collections import Counter

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count, F, Q

from fangkong.accounts.models import User
from fangkong.areas.models import CODE_LENGTH, Area, BuildingStats, Household, Level
from fangkong.core import idnumbers, pii
from fangkong.core.errors import Conflict
from fangkong.core.idnumbers import IdType
from fangkong.core.roles import Role
from fangkong.people import services
from fangkong.people.models import Residency, Resident, Tag, years_ago
from fangkong.people.pinyin import pinyin_keys
from fangkong.people.seeding import seed_district
from fangkong.people.seeding.data import DISTRICT_CODE, ORGANS
from fangkong.people.seeding.users import logins_read

RESIDENTS = 3000


@pytest.fixture(scope="module")
def logins_file(tmp_path_factory):
    return tmp_path_factory.mktemp("seed") / ".demo-logins"


@pytest.fixture(scope="module")
def district(django_db_setup, django_db_blocker, logins_file):
    """The seeded district, shared by the module's tests and rolled back after them."""
    with django_db_blocker.unblock(), transaction.atomic():
        out = io.StringIO()
        # Two drawing processes, as a big seed on PostgreSQL has.
        call_command(
            "seed", residents=RESIDENTS, seed=7, workers=2, logins_file=logins_file, stdout=out
        )
        assert "Seeded 3,000 residents" in out.getvalue()
        yield Area.objects.get(code=DISTRICT_CODE)
        transaction.set_rollback(True)


@pytest.fixture
def seeded(district, db):
    return district


def _user(username):
    return User.objects.get(username=username)


def test_seeds_exactly_the_residents_asked_for(seeded):
    assert Resident.objects.count() == RESIDENTS


def test_tree_has_several_streets_and_codes_that_are_paths(seeded):
    areas = list(Area.objects.all())
    by_level = Counter(a.level for a in areas)
    assert by_level[Level.DISTRICT] == 1
    assert by_level[Level.STREET] >= 2
    assert by_level[Level.COMMUNITY] >= 4
    assert by_level[Level.COMPOUND] >= by_level[Level.COMMUNITY]
    assert by_level[Level.BUILDING] > by_level[Level.COMPOUND]
    codes = {a.pk: a.code for a in areas}
    for a in areas:
        assert len(a.code) == CODE_LENGTH[a.level] and a.code.isdigit()
        assert a.code.startswith(DISTRICT_CODE)
        if a.level != Level.DISTRICT:
            assert a.code.startswith(codes[a.parent_id])
    compounds = [a for a in areas if a.level == Level.COMPOUND]
    assert all(1980 <= a.built_year <= 2022 for a in compounds)
    assert all(a.name.endswith(("小区", "花园", "家园", "新村", "宿舍", "家属区", "雅苑", "公馆", "名城", "新城")) for a in compounds)  # fmt: skip
    assert all(a.name.endswith("号楼") for a in areas if a.level == Level.BUILDING)


def test_households_live_in_buildings_with_rooms_and_1_to_5_people(seeded):
    sizes = Counter(Household.objects.annotate(n=Count("residents")).values_list("n", flat=True))
    assert set(sizes) <= {1, 2, 3, 4, 5}
    assert sizes[1] and sizes[3] and sizes[5]
    assert not Household.objects.exclude(area_code__regex=r"^\d{18}$").exists()
    wrong_area = Resident.objects.exclude(area_code=F("household__area_code"))
    assert not wrong_area.exists()


def test_id_numbers_are_valid_unique_and_agree_with_birth_and_sex(seeded):
    numbers = []
    for r in Resident.objects.all():
        doc = idnumbers.parse(r.id_type, r.id_number())
        numbers.append(doc.number)
        if r.id_type == IdType.MAINLAND:
            assert doc.birth_date == r.birth_date
            assert doc.sex == r.sex
        assert r.id_tail == doc.number[-4:] and r.id_masked == doc.masked
    assert len(set(numbers)) == len(numbers) == RESIDENTS
    regions = Counter(n[:6] for n in numbers if n[:2].isdigit())
    assert regions.most_common(1)[0][0] == DISTRICT_CODE
    assert regions[DISTRICT_CODE] > 0.6 * RESIDENTS


def test_tenants_come_from_elsewhere(seeded):
    tenants = Resident.objects.filter(residency=Residency.TENANT)
    share = tenants.count() / RESIDENTS
    assert 0.1 < share < 0.3
    from_here = sum(r.id_number().startswith(DISTRICT_CODE) for r in tenants)
    assert from_here < 0.2 * tenants.count()


def _aged_share(compounds) -> float:
    where = Q()
    for c in compounds:
        where |= Q(area_code__startswith=c.code)
    residents = Resident.objects.filter(where)
    return residents.aged(70).count() / residents.count()


def test_old_compounds_hold_more_people_over_70_than_new_ones(seeded):
    compounds = Area.objects.filter(level=Level.COMPOUND)
    old = [c for c in compounds if c.built_year < 2000]
    new = [c for c in compounds if c.built_year >= 2012]
    assert old and new
    assert _aged_share(old) > 0.3
    assert _aged_share(new) < 0.1


def test_key_population_tags_are_there_at_plausible_rates(seeded):
    def share(tag):
        return Resident.objects.with_tag(tag).count() / RESIDENTS

    assert 0.002 <= share(Tag.BEDRIDDEN) <= 0.02
    assert 0.005 <= share(Tag.DISABLED) <= 0.05
    for tag in (Tag.LIVING_ALONE, Tag.NO_SMARTPHONE, Tag.INFANT, Tag.PREGNANT):
        assert share(tag) > 0, tag
    # Living alone and no smartphone are tags of the old.
    young = Resident.objects.exclude(birth_date__lte=years_ago(60))
    assert not young.with_tag(Tag.LIVING_ALONE).exists()
    infants = Resident.objects.with_tag(Tag.INFANT)
    assert all(r.age < 3 for r in infants)


def test_rare_tags_appear_at_their_rates_in_a_larger_draw():
    """Foreign residents, dialysis and stranded students are rare: draw 40,000 people."""
    from django.utils import timezone

    from fangkong.people.seeding.population import COLUMNS, People
    from fangkong.people.seeding.tree import plan_district

    plan = plan_district(40_000, seed=3)
    people = People(timezone.localdate())
    counts: Counter = Counter()
    foreign_rows = []
    tags_at, type_at = COLUMNS.index("tags"), COLUMNS.index("id_type")
    for building in list(plan.buildings())[:120]:
        rng = plan.building_rng(building)
        for i, h in enumerate(list(building.households(rng))):
            for row in people.rows(rng, building, h, i, h.size):
                counts["all"] += 1
                for tag in (Tag.FOREIGN, Tag.REGULAR_TREATMENT, Tag.STRANDED_STUDENT):
                    counts[tag] += bool(row[tags_at] & tag)
                if row[tags_at] & Tag.FOREIGN:
                    foreign_rows.append(row)
    assert counts[Tag.REGULAR_TREATMENT] / counts["all"] < 0.005
    assert counts[Tag.FOREIGN] and counts[Tag.REGULAR_TREATMENT] and counts[Tag.STRANDED_STUDENT]
    for row in foreign_rows:
        assert row[type_at] == IdType.PASSPORT
        assert row[COLUMNS.index("language")]


def test_seeded_people_are_found_by_name_pinyin_initials_and_digits(seeded):
    command = _user("command")
    someone = Resident.objects.filter(id_type=IdType.MAINLAND).order_by("id")[5]
    assert (someone.name_pinyin, someone.name_initials) == pinyin_keys(someone.name)
    for q in (someone.name, someone.name_initials, someone.name_pinyin, someone.id_tail):
        page = services.resident_search(actor=command, q=q)
        found = list(page.items)
        while someone not in found and page.has_next:
            page = services.resident_search(actor=command, q=q, page=page.number + 1)
            found += page.items
        assert someone in found, q
    assert services.resident_search(actor=command, q=someone.id_number()).items == [someone]


def test_pii_columns_are_what_resident_setters_would_store(seeded):
    from fangkong.people.seeding.population import LookupHash

    assert LookupHash()("phone", "13800138000") == pii.lookup_hash("phone", "13800138000")
    for seeded_resident in Resident.objects.exclude(phone_hash="")[:20]:
        fresh = Resident()
        fresh.set_id_number(idnumbers.parse(seeded_resident.id_type, seeded_resident.id_number()))
        fresh.set_phone(seeded_resident.phone())
        for field in ("id_type", "id_hash", "id_tail", "id_masked", "phone_hash", "phone_tail", "phone_masked"):  # fmt: skip
            assert getattr(fresh, field) == getattr(seeded_resident, field), field


def test_there_is_a_demo_user_for_every_role(seeded):
    assert {u.role for u in User.objects.all()} == set(Role.values)


def test_demo_users_hold_the_right_jurisdictions(seeded):
    district = seeded
    street = Area.objects.filter(level=Level.STREET).order_by("code").first()
    community_a, community_b = Area.objects.filter(parent=street).order_by("code")[:2]
    assert _user("command").scope_prefixes() == [district.code]
    assert _user("street").scope_prefixes() == [street.code]
    assert _user("community_a").scope_prefixes() == [community_a.code]
    assert _user("community_b").scope_prefixes() == [community_b.code]
    assert _user("lab").scope_prefixes() == _user("inspector").scope_prefixes() == [district.code]


def test_a_community_worker_sees_only_their_community(seeded):
    district = seeded
    worker = _user("community_a")
    code = worker.scope_prefixes()[0]
    visible = Resident.objects.for_user(worker)
    assert visible.count() == Resident.objects.within(code).count() > 0
    assert not visible.exclude(area_code__startswith=code).exists()
    assert Resident.objects.for_user(_user("command")).count() == RESIDENTS
    assert Resident.objects.for_user(_user("street")).count() < RESIDENTS
    assert district.code not in worker.scope_prefixes()


def test_grid_worker_and_building_leader_hold_buildings_of_community_a(seeded):
    community_a = _user("community_a").scope_prefixes()[0]
    grid = _user("grid")
    held = grid.scope_prefixes()
    assert held and all(len(c) == 18 and c.startswith(community_a) for c in held)
    assert grid.kept_grids.get().community.code == community_a
    leader = _user("building").scope_prefixes()
    assert len(leader) == 1 and len(leader[0]) == 18 and leader[0].startswith(community_a)
    assert not Resident.objects.for_user(grid).exclude(area_code__in=held).exists()


def test_cadres_come_from_several_government_organs(seeded):
    cadres = User.objects.filter(role=Role.WORKER, username__startswith="cadre_")
    assert cadres.count() == len(ORGANS)
    for organ_key, organ in ORGANS:
        assert organ in _user(f"cadre_{organ_key}").display_name
    assert all(len(c.scope_prefixes()[0]) == 12 for c in cadres)


def test_the_demo_resident_sees_their_own_household(seeded):
    user = _user("resident")
    assert user.resident is not None
    assert user.resident.birth_date <= years_ago(18)
    members = Resident.objects.for_user(user)
    assert set(members) == set(Resident.objects.filter(household=user.resident.household))


def test_passwords_are_random_private_and_printed_by_demo_logins(seeded, logins_file):
    passwords = logins_read(logins_file)
    assert set(passwords) == set(User.objects.values_list("username", flat=True))
    assert len(set(passwords.values())) == len(passwords)
    assert stat.S_IMODE(logins_file.stat().st_mode) == 0o600
    for username, password in passwords.items():
        assert _user(username).check_password(password)
    out = io.StringIO()
    call_command("demo_logins", logins_file=logins_file, stdout=out)
    for username, password in passwords.items():
        assert username in out.getvalue() and password in out.getvalue()
    assert "区卫健局" in out.getvalue()


def test_demo_logins_without_a_seed_says_what_to_do(tmp_path, db):
    out = io.StringIO()
    call_command("demo_logins", logins_file=tmp_path / "none", stdout=out)
    assert "fangkong seed" in out.getvalue()


def test_if_empty_makes_a_second_seed_do_nothing(seeded, logins_file):
    before = (Area.objects.count(), Resident.objects.count(), User.objects.count())
    out = io.StringIO()
    call_command("seed", residents=500, if_empty=True, logins_file=logins_file, stdout=out)
    assert "nothing to do" in out.getvalue()
    assert (Area.objects.count(), Resident.objects.count(), User.objects.count()) == before
    with pytest.raises(Conflict):
        seed_district(residents=500)


def _direct_counts(building: str) -> dict[str, int]:
    residents = Resident.objects.filter(area_code=building)
    return {
        "households": Household.objects.filter(area_code=building).count(),
        "residents": residents.count(),
        "aged_70": residents.aged(70).count(),
        "tenants": residents.filter(residency=Residency.TENANT).count(),
        "aged_70_alone": residents.aged(70).with_tag(Tag.LIVING_ALONE).count(),
        **{tag.name.lower(): residents.with_tag(tag).count() for tag in Tag},
    }


def test_building_statistics_agree_with_a_direct_count(seeded):
    stats = {s.code: s for s in BuildingStats.objects.all()}
    buildings = Area.objects.filter(level=Level.BUILDING).values_list("code", flat=True)
    assert set(stats) == set(buildings)
    for code, s in stats.items():
        assert {f: getattr(s, f) for f in BuildingStats.COUNT_FIELDS} == _direct_counts(code)
    assert sum(s.residents for s in stats.values()) == RESIDENTS


def test_refresh_stats_recounts_an_area(seeded):
    s = BuildingStats.objects.order_by("code").first()
    right = s.residents
    BuildingStats.objects.filter(pk=s.pk).update(residents=0)
    call_command("refresh_stats", area=s.code[:12], stdout=io.StringIO())
    assert BuildingStats.objects.get(pk=s.pk).residents == right
    BuildingStats.objects.filter(pk=s.pk).update(residents=0)
    call_command("refresh_stats", stdout=io.StringIO())
    assert BuildingStats.objects.get(pk=s.pk).residents == right


def test_the_same_seed_plans_the_same_district():
    from fangkong.people.seeding.tree import plan_district

    def shape(plan):
        return [(a.code, a.name, getattr(a, "limit", None)) for _, a, _ in plan.walk()]

    assert shape(plan_district(5000, seed=11)) == shape(plan_district(5000, seed=11))
    assert shape(plan_district(5000, seed=11)) != shape(plan_district(5000, seed=12))


def test_id_numbers_stay_unique_when_a_birth_day_is_full():
    from fangkong.people.seeding.population import IdNumbers

    ids = IdNumbers(dt.date(2026, 1, 1))
    seen = set()
    for _ in range(1001):  # more than a day's 500 men: the birth date moves on
        number, birth = ids.mainland("431102", dt.date(1950, 3, 1), "M")
        assert idnumbers.parse_mainland(number).birth_date == birth
        seen.add(number)
    assert len(seen) == 1001


def test_parallel_drawing_makes_the_same_people_as_one_process(monkeypatch):
    from fangkong.people.seeding import batches
    from fangkong.people.seeding.tree import plan_district

    monkeypatch.setattr(batches, "CHUNK", 1500)
    plan = plan_district(9000, seed=5)
    for pk, building in enumerate(plan.buildings(), start=1):
        building.pk = pk
    today = dt.date(2026, 6, 1)

    def plain(drawn):  # ciphertexts differ by their random nonces
        return [
            (households, [tuple(v for v in r if not isinstance(v, bytes)) for r in residents])
            for households, residents in drawn
        ]

    one = plain(batches.generate(plan, 100, today, workers=1))
    assert len(one) >= 5
    assert plain(batches.generate(plan, 100, today, workers=2)) == one
    from fangkong.people.seeding.population import COLUMNS

    at = [c for c in COLUMNS if "cipher" not in c].index("id_hash")
    hashes = [r[at] for _, residents in one for r in residents]
    assert len(set(hashes)) == len(hashes) == 9000
    # COPY's text format is written without escaping: nothing may need it.
    texts = {v for hh, rr in one for row in hh + rr for v in row if isinstance(v, str)}
    assert not [t for t in texts if set(t) & set("\t\n\r\\")]
