"""Coverage by area and grid, the not-yet-sampled per building, exemptions."""

import pytest

from fangkong.areas.services import grid_create
from fangkong.core.actors import SYSTEM
from fangkong.core.errors import Conflict, DomainError, PermissionDenied
from fangkong.core.models import AuditEvent
from fangkong.factories import make_resident, make_user
from fangkong.testing import selectors, services
from fangkong.testing.models import BuildingCoverage, Exemption, ExemptReason

from .conftest import launch, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def town(tree, command_user):
    """Residents in three buildings, then a round over the street."""
    a1 = [make_resident(tree.household_a1, f"甲{i}") for i in range(4)]
    a2 = [make_resident(tree.household_a2, f"乙{i}") for i in range(3)]
    b1 = [make_resident(tree.household_b1, f"丙{i}") for i in range(2)]
    return a1, a2, b1, launch(command_user, tree.street)


def _counts(c):
    return (c.expected, c.sampled, c.exempt, c.unsampled)


def test_launch_snapshots_the_residents_of_each_building(town, tree):
    a1, a2, b1, rnd = town
    rows = dict(BuildingCoverage.objects.filter(round=rnd).values_list("area_code", "expected"))
    assert rows == {tree.building_a1.code: 4, tree.building_a2.code: 3, tree.building_b1.code: 2}
    # Someone moving in later is not expected (the snapshot), and counts never go negative.
    make_resident(tree.household_a1, "新来")
    assert selectors.coverage_of_area(rnd, tree.building_a1.code).expected == 4


def test_coverage_sums_buildings_at_any_level(town, tree, sampler, site_a):
    a1, a2, b1, rnd = town
    from .conftest import Channel

    upload(sampler, Channel(rnd, site_a.channels.first()).tube(a1[:3] + a2[:1] + b1[:1]))
    assert _counts(selectors.coverage_of_area(rnd, tree.building_a1.code)) == (4, 3, 0, 1)
    assert _counts(selectors.coverage_of_area(rnd, tree.community_a.code)) == (7, 4, 0, 3)
    assert _counts(selectors.coverage_of_area(rnd, tree.street.code)) == (9, 5, 0, 4)
    assert _counts(selectors.coverage_of_area(rnd, tree.district.code)) == (9, 5, 0, 4)
    street = selectors.coverage_of_area(rnd, tree.street.code)
    assert street.percent == round(100 * 5 / 9, 1)
    children = selectors.coverage_children(rnd, tree.street)
    assert [(r.area, _counts(r.coverage)) for r in children] == [
        (tree.community_a, (7, 4, 0, 3)),
        (tree.community_b, (2, 1, 0, 1)),
    ]


def test_grid_coverage_sums_its_buildings(town, tree, sampler, site_a):
    a1, a2, b1, rnd = town
    from .conftest import Channel

    grid = grid_create(
        actor=SYSTEM, community=tree.community_a, name="一网格", buildings=[tree.building_a2]
    )
    upload(sampler, Channel(rnd, site_a.channels.first()).tube(a1[:1] + a2[:2]))
    assert _counts(selectors.coverage_of_grid(rnd, grid)) == (3, 2, 0, 1)
    rows = selectors.grid_buildings_coverage(rnd, grid)
    assert [r.area for r in rows] == [tree.building_a2]


def test_unsampled_list_leaves_out_the_sampled_and_the_exempt(
    town, tree, sampler, site_a, worker_a, django_assert_max_num_queries
):
    a1, a2, b1, rnd = town
    from .conftest import Channel

    upload(sampler, Channel(rnd, site_a.channels.first()).tube(a1[:1]))
    services.exemption_grant(
        actor=worker_a, round=rnd, resident=a1[1], reason=ExemptReason.IN_HOSPITAL, note="市一医院"
    )
    with django_assert_max_num_queries(1):
        left = list(selectors.unsampled_residents(rnd, tree.building_a1))
    assert left == [a1[2], a1[3]]
    assert _counts(selectors.coverage_of_area(rnd, tree.building_a1.code)) == (4, 1, 1, 2)


def test_an_exemption_needs_a_known_reason_and_is_audited(town, worker_a):
    a1, _, _, rnd = town
    with pytest.raises(DomainError):
        services.exemption_grant(actor=worker_a, round=rnd, resident=a1[0], reason="bored")
    ex = services.exemption_grant(actor=worker_a, round=rnd, resident=a1[0], reason="away")
    event = AuditEvent.objects.get(event="testing.exemption_grant")
    assert event.actor == worker_a and event.reason and event.target_id == str(a1[0].pk)
    with pytest.raises(Conflict):
        services.exemption_grant(actor=worker_a, round=rnd, resident=a1[0], reason="away")
    with pytest.raises(DomainError, match="reason"):
        services.exemption_end(actor=worker_a, exemption=ex, reason=" ")
    services.exemption_end(actor=worker_a, exemption=ex, reason="回来了")
    assert AuditEvent.objects.filter(event="testing.exemption_end", reason="回来了").exists()
    assert selectors.coverage_of_area(rnd, a1[0].area_code).exempt == 0


def test_an_exempt_person_who_is_sampled_stops_being_exempt(town, worker_a, sampler, site_a):
    a1, _, _, rnd = town
    from .conftest import Channel

    services.exemption_grant(actor=worker_a, round=rnd, resident=a1[0], reason="away")
    upload(sampler, Channel(rnd, site_a.channels.first()).tube(a1[:1]))
    assert not Exemption.objects.current().exists()
    assert Exemption.objects.get().end_reason == "sampled"
    cover = selectors.coverage_of_area(rnd, a1[0].area_code)
    assert (cover.sampled, cover.exempt) == (1, 0)
    with pytest.raises(Conflict, match="sampled"):
        services.exemption_grant(actor=worker_a, round=rnd, resident=a1[0], reason="away")


def test_exemptions_stay_in_the_workers_jurisdiction(town, worker_a, worker_b):
    a1, _, b1, rnd = town
    with pytest.raises(PermissionDenied):
        services.exemption_grant(actor=worker_a, round=rnd, resident=b1[0], reason="away")
    volunteer = make_user("vol", "worker")
    with pytest.raises(PermissionDenied):
        services.exemption_grant(actor=volunteer, round=rnd, resident=a1[0], reason="away")


def test_a_building_s_list_probes_the_markers_and_never_hashes_the_round_s(town, tree):
    """On PostgreSQL: one index probe of (round, resident) a resident, whatever the
    statistics say, so a cold list reads the building's pages, not the round's."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's planner")
    *_, rnd = town
    sql, params = selectors.unsampled_residents(rnd, tree.building_a1)[:100].query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_nestloop = off")  # what a bad estimate does
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "SubPlan" in plan and "Anti Join" not in plan


@pytest.mark.django_db(transaction=True)  # VACUUM runs outside a transaction
def test_a_building_s_list_reads_its_residents_and_households_from_covering_indexes(town, tree):
    """On PostgreSQL: the building's residents and households come from index-only scans
    of `resident_building` and `household_building` (what the list shows is in them), so
    a cold list reads a few index pages, not one heap page a resident and a household.
    Fails if a shown column leaves the indexes, an index is dropped, or the households
    stop being read by the building."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's planner")
    *_, rnd = town
    sql, params = selectors.unsampled_residents(rnd, tree.building_a1)[:100].query.sql_with_params()
    with connection.cursor() as cursor:
        # Pages all-visible, as autovacuum keeps them (an index-only scan is costed by
        # the share of them); and a handful of rows would be read whole, a sequential
        # scan, where on the real tables the index is the cheap way.
        # With a few rows a building, the planner would also rather look each resident
        # up by household; with ~200 it joins the two ranges.
        cursor.execute("VACUUM (ANALYZE) people_resident, areas_household")
        off = ("enable_seqscan", "enable_bitmapscan", "enable_nestloop")
        for setting in off:
            cursor.execute(f"SET {setting} = off")
        try:
            cursor.execute(f"EXPLAIN {sql}", params)
            plan = [row[0].strip() for row in cursor.fetchall()]
        finally:
            for setting in off:
                cursor.execute(f"RESET {setting}")
    for scan in (
        "Index Only Scan using resident_building on people_resident",
        "Index Only Scan using household_building on areas_household",
    ):
        at = next((i for i, line in enumerate(plan) if line.lstrip("-> ").startswith(scan)), None)
        assert at is not None, "\n".join(plan)
        assert plan[at + 1].startswith("Index Cond: (area_code = "), "\n".join(plan)
