"""Arranging rounds, sites, tubes and samples for the labs tests (rows written directly)."""

import datetime as dt
import itertools

from django.utils import timezone

from fangkong import factories
from fangkong.labs.files import ResultRow
from fangkong.testing.models import (
    BuildingCoverage,
    Channel,
    FirstSample,
    RoundArea,
    Sample,
    SamplingSite,
    TestingRound,
    Tube,
)

_client_ids = itertools.count(1)
T0 = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)  # 16:00 in Shanghai


def make_lab(tree, username="lab", name="零陵区疾控中心", area=None):
    user = factories.make_user(username, "lab", area or tree.district)
    user.display_name = name
    user.save(update_fields=["display_name"])
    return user


def make_round(tree, *, starts_at=T0 - dt.timedelta(hours=8), name="第1轮") -> TestingRound:
    rnd = TestingRound.objects.create(
        name=name, starts_at=starts_at, deadline=starts_at + dt.timedelta(hours=24)
    )
    RoundArea.objects.create(round=rnd, area=tree.street, area_code=tree.street.code)
    return rnd


def make_site(area, name="采样点", channels=1) -> tuple[SamplingSite, list[Channel]]:
    site = SamplingSite.objects.create(area=area, name=name)
    return site, [Channel.objects.create(site=site, name=f"{i + 1}号") for i in range(channels)]


def make_tube(
    rnd,
    channel,
    barcode: str,
    residents=(),
    *,
    at: dt.datetime = T0,
    pool_size: int = 10,
    sealed_after: dt.timedelta | None = dt.timedelta(minutes=10),
    unknown: int = 0,
    first: bool = True,
    step: dt.timedelta = dt.timedelta(seconds=30),
) -> Tube:
    """A tube at `channel` holding samples of `residents` taken from `at`, `step` apart."""
    site = channel.site if channel is not None else None
    tube = Tube.objects.create(
        barcode=barcode,
        round=rnd,
        site=site,
        channel=channel,
        area_code=site.area_code if site else residents[0].area_code,
        pool_size=pool_size,
        opened_at=at,
        created_at=at,
        sealed_at=at + sealed_after if sealed_after is not None else None,
    )
    count = 0
    for i, person in enumerate([*residents, *[None] * unknown]):
        sample = Sample.objects.create(
            client_id=f"c{next(_client_ids)}",
            round=rnd,
            tube=tube,
            resident=person,
            area_code=person.area_code if person else tube.area_code,
            at=at + i * step,
            site=site,
            channel=channel,
        )
        count += 1
        if person is not None and first:
            _, made = FirstSample.objects.get_or_create(
                round=rnd,
                resident=person,
                defaults={
                    "area_code": person.area_code,
                    "sample": sample,
                    "at": sample.at,
                    "client_id": sample.client_id,
                },
            )
            if made:
                cov, _ = BuildingCoverage.objects.get_or_create(
                    round=rnd, area_code=person.area_code
                )
                cov.sampled += 1
                cov.save()
    tube.sample_count = count
    tube.save(update_fields=["sample_count"])
    return tube


def people(household, n: int, name: str = "居民"):
    return [factories.make_resident(household, f"{name}{i}") for i in range(n)]


def row(barcode: str, result: str, n: int = 2, *, at: dt.datetime | None = None, reason=""):
    return ResultRow(n, barcode, result, at or timezone.now() - dt.timedelta(hours=1), "", reason)
