"""Supply points and stock. A count changes only by a conditional UPDATE (`quantity >=
n` for a draw), so concurrent deliveries can never take it below zero; the database's
check constraint says the same."""

from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from fangkong.areas.models import Area, Level
from fangkong.core.actors import is_system, user_of
from fangkong.core.audit import audit_record
from fangkong.core.errors import DomainError, PermissionDenied
from fangkong.core.guards import authorize, required_reason
from fangkong.core.notifications import Recipient, notify

from ..models import MovementKind, ReliefRequest, Stock, StockMovement, SupplyPoint
from ..permissions import can_manage_stock
from ..policies import STOCK
from ._common import is_mine

MAX_QUANTITY = 1_000_000


def _quantity(value, field: str = "quantity") -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if not 1 <= number <= MAX_QUANTITY:
        raise DomainError(
            f"数量应在1到{MAX_QUANTITY}之间",
            f"the quantity must be between 1 and {MAX_QUANTITY:,}",
            field=field,
        )
    return number


def _keeper_or_manager(actor, point: SupplyPoint) -> None:
    if is_system(actor) or point.keeper_id == actor.pk:
        return
    authorize(actor, can_manage_stock, area=point.area_code)


@transaction.atomic
def supply_point_create(*, actor, area: Area, name: str, address: str = "", keeper=None):
    authorize(actor, can_manage_stock, area=area.code)
    if area.level < Level.STREET or area.level > Level.COMPOUND:
        raise DomainError(
            "物资点应设在街道、社区或小区",
            "a supply point belongs to a street, community or compound",
            field="area",
        )
    name = (name or "").strip()[:60]
    if not name:
        raise DomainError("请填写物资点名称", "the supply point needs a name", field="name")
    if keeper is not None and not any(
        area.code.startswith(p) or p.startswith(area.code) for p in keeper.scope_prefixes()
    ):
        raise DomainError(
            "保管人须在该区域工作", "the keeper must work in this area", field="keeper"
        )
    point = SupplyPoint.objects.create(
        name=name, area=area, address=(address or "").strip()[:200], keeper=keeper
    )
    audit_record(actor=actor, event="relief.point_create", target=point, area_code=area.code)
    return point


def _replayed(actor, client_id: str) -> StockMovement | None:
    if not client_id:
        return None
    return StockMovement.objects.filter(by_name=actor.username, client_id=client_id).first()


def _movement(actor, stock: Stock, kind, quantity: int, balance: int, **extra) -> StockMovement:
    return StockMovement.objects.create(
        stock=stock,
        at=timezone.now(),
        kind=kind,
        quantity=quantity,
        balance=balance,
        by=user_of(actor),
        by_name=actor.username,
        **extra,
    )


@transaction.atomic
def stock_receive(
    *,
    actor,
    point: SupplyPoint,
    item: str,
    quantity,
    kind: str = MovementKind.ARRIVAL,
    source: str = "",
    unit: str = "",
    client_id: str = "",
) -> StockMovement:
    """An arrival or a donation: stock goes up; where it came from is kept."""
    _keeper_or_manager(actor, point)
    if (previous := _replayed(actor, client_id)) is not None:
        return previous
    if kind not in (MovementKind.ARRIVAL, MovementKind.DONATION):
        raise DomainError(
            "入库类型应为到货或捐赠", "kind must be arrival or donation", field="kind"
        )
    item = (item or "").strip()[:60]
    if not item:
        raise DomainError("请填写物资名称", "the item needs a name", field="item")
    quantity = _quantity(quantity)
    source = (source or "").strip()[:100]
    if kind == MovementKind.DONATION and not source:
        raise DomainError("捐赠须写明来源", "a donation needs its source", field="source")
    stock, _ = Stock.objects.get_or_create(
        point=point,
        item=item,
        defaults={"unit": (unit or "").strip()[:10], "area_code": point.area_code},
    )
    Stock.objects.filter(pk=stock.pk).update(quantity=F("quantity") + quantity)
    stock.refresh_from_db()
    if stock.low_since is not None and stock.quantity > _low_at(stock):
        Stock.objects.filter(pk=stock.pk).update(low_since=None)
    try:
        with transaction.atomic():
            moved = _movement(
                actor, stock, kind, quantity, stock.quantity, source=source, client_id=client_id
            )
    except IntegrityError:  # the same client id at the same moment: the other one counted
        raise DomainError("重复提交", "sent twice at once; reload", field="client_id") from None
    audit_record(
        actor=actor,
        event="relief.stock_receive",
        target=stock,
        area_code=point.area_code,
        detail={"kind": kind, "item": item, "quantity": quantity, "source": source},
    )
    return moved


def _low_at(stock: Stock) -> int:
    if stock.low_at is not None:
        return stock.low_at
    return STOCK.at(None, stock.area_code).value.low_at(stock.item)


@transaction.atomic
def stock_draw(
    *,
    actor,
    stock: Stock,
    quantity,
    request: ReliefRequest | None = None,
    client_id: str = "",
) -> StockMovement:
    """Take `quantity` out for a delivery: refused (with what is left) if the point holds
    less. Low stock warns the point's keeper, once until it is filled again."""
    point = stock.point
    if request is not None and is_mine(actor, request):
        # The one carrying a need draws at a point of the need's street.
        if point.area_code[:9] != request.area_code[:9]:
            raise PermissionDenied(
                "只能从本街道的物资点取货", "draw from a supply point of the need's street"
            )
    else:
        _keeper_or_manager(actor, point)
    if (previous := _replayed(actor, client_id)) is not None:
        return previous
    quantity = _quantity(quantity)
    drawn = Stock.objects.filter(pk=stock.pk, quantity__gte=quantity).update(
        quantity=F("quantity") - quantity
    )
    stock.refresh_from_db()
    if not drawn:
        raise DomainError(
            f"“{stock.item}”库存不足：要取{quantity}{stock.unit}，仅剩{stock.quantity}{stock.unit}",
            f"not enough {stock.item}: {quantity} wanted, {stock.quantity} left",
            field="quantity",
        )
    moved = _movement(
        actor,
        stock,
        MovementKind.DRAW,
        -quantity,
        stock.quantity,
        request=request,
        client_id=client_id,
    )
    audit_record(
        actor=actor,
        event="relief.stock_draw",
        target=stock,
        area_code=stock.area_code,
        detail={"quantity": quantity, "request": request.pk if request else None},
    )
    if stock.quantity <= _low_at(stock):
        _warn_low(stock)
    return moved


def _warn_low(stock: Stock) -> None:
    warned = Stock.objects.filter(pk=stock.pk, low_since__isnull=True).update(
        low_since=timezone.now()
    )
    keeper = stock.point.keeper
    if warned and keeper is not None:
        notify(
            recipients=[Recipient(keeper)],
            kind="relief.low_stock",
            text_zh=f"{stock.point.name}的“{stock.item}”库存偏低：仅剩{stock.quantity}{stock.unit}",
            text_en=f"{stock.point.name}: {stock.item} is low ({stock.quantity} left)",
            url=reverse("relief:point", args=[stock.point_id]),
        )


@transaction.atomic
def stock_adjust(*, actor, stock: Stock, counted: int, reason: str) -> StockMovement:
    """A stocktake: the count found replaces the book count, with a reason."""
    _keeper_or_manager(actor, stock.point)
    reason = required_reason(reason)
    try:
        counted = int(counted)
    except (TypeError, ValueError):
        counted = -1
    if not 0 <= counted <= MAX_QUANTITY:
        raise DomainError("盘点数量不对", "the counted quantity is not valid", field="counted")
    row = Stock.objects.select_for_update().get(pk=stock.pk)
    delta = counted - row.quantity
    row.quantity = counted
    row.save(update_fields=["quantity"])
    moved = _movement(actor, row, MovementKind.ADJUST, delta, counted, source=reason[:100])
    audit_record(
        actor=actor,
        event="relief.stock_adjust",
        target=row,
        area_code=row.area_code,
        reason=reason,
        detail={"delta": delta},
    )
    return moved
