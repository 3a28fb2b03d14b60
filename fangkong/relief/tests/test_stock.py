"""Supply points: arrivals and donations with their source, draws for deliveries, the
low-stock warning, and a count that never goes negative, even under concurrent draws."""

import threading

import pytest
from django.db import connection

from fangkong.core.errors import DomainError, PermissionDenied
from fangkong.core.models import Notification
from fangkong.factories import make_user
from fangkong.relief import services
from fangkong.relief.models import MovementKind, Stock, StockMovement

from .conftest import ask

pytestmark = pytest.mark.django_db


@pytest.fixture
def keeper(tree):
    return make_user("keeper", "worker", tree.community_a)


@pytest.fixture
def point(tree, worker_a, keeper):
    return services.supply_point_create(
        actor=worker_a, area=tree.community_a, name="东风物资点", keeper=keeper
    )


def rice(point, worker_a, quantity=20):
    services.stock_receive(
        actor=worker_a, point=point, item="大米", unit="袋", quantity=quantity, source="区商务局"
    )
    return Stock.objects.get(point=point, item="大米")


def test_arrivals_and_donations_keep_their_source(point, worker_a, keeper):
    stock = rice(point, worker_a)
    services.stock_receive(
        actor=keeper,
        point=point,
        item="大米",
        quantity=5,
        kind=MovementKind.DONATION,
        source="爱心企业",
    )
    stock.refresh_from_db()
    assert stock.quantity == 25
    assert list(StockMovement.objects.order_by("id").values_list("kind", "source", "balance")) == [
        ("arrival", "区商务局", 20),
        ("donation", "爱心企业", 25),
    ]
    with pytest.raises(DomainError) as refused:
        services.stock_receive(actor=keeper, point=point, item="大米", quantity=5, kind="donation")
    assert refused.value.field == "source"


def test_a_draw_beyond_the_stock_is_refused_with_what_is_left(point, worker_a):
    stock = rice(point, worker_a, 3)
    with pytest.raises(DomainError) as refused:
        services.stock_draw(actor=worker_a, stock=stock, quantity=4)
    assert "仅剩3袋" in refused.value.zh and "3 left" in refused.value.en
    assert refused.value.field == "quantity"
    stock.refresh_from_db()
    assert stock.quantity == 3 and not StockMovement.objects.filter(kind="draw").exists()


def test_a_pick_up_draws_stock_for_the_need_all_or_nothing(point, worker_a, volunteer, asker):
    stock = rice(point, worker_a, 5)
    services.stock_receive(actor=worker_a, point=point, item="食用油", quantity=1)
    oil = Stock.objects.get(item="食用油")
    need = ask(asker, "groceries").request
    services.request_dispatch(actor=worker_a, request=need, assignee=volunteer)
    with pytest.raises(DomainError):
        services.request_pick_up(actor=volunteer, request=need, draws=[(stock, 2), (oil, 3)])
    stock.refresh_from_db()
    need.refresh_from_db()
    assert stock.quantity == 5 and need.status == "assigned"
    services.request_pick_up(actor=volunteer, request=need, draws=[(stock, 2), (oil, 1)])
    stock.refresh_from_db()
    assert stock.quantity == 3
    assert StockMovement.objects.filter(kind="draw", request=need).count() == 2


def test_low_stock_warns_the_keeper_once_until_it_is_filled(point, worker_a, keeper):
    stock = rice(point, worker_a, 14)
    services.stock_draw(actor=worker_a, stock=stock, quantity=3)  # 11: not low (10)
    assert not Notification.objects.filter(kind="relief.low_stock").exists()
    services.stock_draw(actor=worker_a, stock=stock, quantity=2)  # 9: low
    services.stock_draw(actor=worker_a, stock=stock, quantity=1)  # 8: still low, told already
    warnings = Notification.objects.filter(kind="relief.low_stock")
    assert list(warnings.values_list("recipient", flat=True)) == [keeper.pk]
    assert "仅剩9袋" in warnings.get().text_zh
    services.stock_receive(actor=worker_a, point=point, item="大米", quantity=50)
    stock.refresh_from_db()
    assert stock.low_since is None


def test_the_low_level_is_a_policy_per_item(point, worker_a, command_user):
    from fangkong.core.services import policy_set

    policy_set(
        actor=command_user,
        key="relief.stock",
        value={"default_low": 10, "items": {"大米": 100}},
        reason="大米消耗快",
    )
    stock = rice(point, worker_a, 120)
    services.stock_draw(actor=worker_a, stock=stock, quantity=21)
    assert Notification.objects.filter(kind="relief.low_stock").count() == 1


def test_only_the_keeper_and_stock_managers_record_at_a_point(point, volunteer, worker_b, worker_a):
    with pytest.raises(PermissionDenied):
        services.stock_receive(actor=volunteer, point=point, item="水", quantity=1)
    with pytest.raises(PermissionDenied):
        services.stock_receive(actor=worker_b, point=point, item="水", quantity=1)
    stock = rice(point, worker_a)
    with pytest.raises(PermissionDenied):
        services.stock_draw(actor=volunteer, stock=stock, quantity=1)


def test_a_retried_receipt_counts_once(point, worker_a):
    for _ in range(2):
        services.stock_receive(actor=worker_a, point=point, item="水", quantity=10, client_id="c1")
    assert Stock.objects.get(item="水").quantity == 10


def test_a_stocktake_corrects_the_count_with_a_reason(point, worker_a):
    stock = rice(point, worker_a, 20)
    with pytest.raises(DomainError):
        services.stock_adjust(actor=worker_a, stock=stock, counted=18, reason="")
    services.stock_adjust(actor=worker_a, stock=stock, counted=18, reason="盘点少两袋")
    stock.refresh_from_db()
    assert stock.quantity == 18
    assert StockMovement.objects.get(kind="adjust").quantity == -2


@pytest.mark.django_db(transaction=True)
def test_concurrent_draws_never_take_the_count_below_zero(tree):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (SQLite takes one writer at a time)")
    manager = make_user("stock_mgr", "community", tree.community_a)
    point = services.supply_point_create(actor=manager, area=tree.community_a, name="并发物资点")
    services.stock_receive(actor=manager, point=point, item="口罩", quantity=50)
    stock = Stock.objects.get(point=point)
    drawn, refused, errors = [], [], []
    start = threading.Barrier(8)

    def worker():
        from django.db import connections

        try:
            start.wait()
            for _ in range(10):
                try:
                    services.stock_draw(
                        actor=manager,
                        stock=Stock.objects.select_related("point").get(pk=stock.pk),
                        quantity=3,
                    )
                    drawn.append(3)
                except DomainError:
                    refused.append(3)
        except Exception as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    stock.refresh_from_db()
    assert sum(drawn) == 48 and stock.quantity == 2  # 16 draws of 3 fit in 50
    assert len(refused) == 80 - 16
    assert StockMovement.objects.filter(kind="draw").count() == 16
    balances = sorted(StockMovement.objects.filter(kind="draw").values_list("balance", flat=True))
    assert balances == list(range(2, 50, 3))
