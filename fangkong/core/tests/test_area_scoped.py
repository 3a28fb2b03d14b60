"""AreaScopedModel: the one `area_code` save hook of every model in the area tree."""

from django.apps import apps

from fangkong.areas.models import Household, ZoneDesignation
from fangkong.core.scoping import AreaScopedModel, ScopedQuerySet
from fangkong.testing.models import Channel, SamplingSite


def test_household_takes_its_buildings_code(tree):
    household = Household.objects.create(building=tree.building_b1, unit="3", room="302")
    assert household.area_code == tree.building_b1.code


def test_a_row_moved_to_another_area_follows_on_save(tree):
    site = SamplingSite.objects.create(area=tree.community_a, name="东风采样点")
    site.area = tree.community_b
    site.save()
    site.refresh_from_db()
    assert site.area_code == tree.community_b.code


def test_a_path_through_another_row_is_followed(tree):
    site = SamplingSite.objects.create(area=tree.compound_a, name="幸福小区采样点")
    channel = Channel.objects.create(site=site, name="1")
    assert channel.area_code == tree.compound_a.code
    assert Channel.objects.within(tree.community_a).filter(pk=channel.pk).exists()
    assert not Channel.objects.within(tree.community_b).exists()


def test_every_area_scoped_model_is_scoped_and_names_a_real_path():
    scoped = [m for m in apps.get_models() if issubclass(m, AreaScopedModel)]
    assert ZoneDesignation in scoped and len(scoped) >= 10
    for model in scoped:
        assert isinstance(model.objects.all(), ScopedQuerySet), model
        first = model.area_code_from.split(".")[0]
        assert model._meta.get_field(first).is_relation, model
        field = model._meta.get_field("area_code")
        assert field.db_index and not field.editable and field.max_length == 18, model
