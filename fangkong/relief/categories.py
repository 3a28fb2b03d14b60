"""The built-in categories of need, kept present in every database: made by migration
0002 and again after every `migrate` or `flush` (a post_migrate handler, as Django's own
content types are), so a flushed test database or a new deployment always has them.
A community adds its own on top (services.category_add).

`active()` holds the active categories in memory for `POLICY_CACHE_SECONDS` (a resident's
ask then reads none), dropped at once in the process that changes one (a signal), seen
by the other processes within that time."""

import time

from django.conf import settings

BUILTIN = [
    # code (= kind), Chinese, English, default urgency, residents may pick it
    ("groceries", "生活物资代购", "Groceries", "normal", True),
    ("medicine", "药品代购", "Medicine purchase", "urgent", True),
    ("prescription", "处方续药", "Prescription refill", "urgent", True),
    ("gas_cylinder", "煤气罐", "Gas cylinder", "urgent", True),
    ("utility_topup", "燃气/电/水卡充值", "Gas / power / water card top-up", "normal", True),
    ("transport_dialysis", "透析转运", "Transport: dialysis", "critical", True),
    ("transport_chemo", "化疗转运", "Transport: chemotherapy", "critical", True),
    ("transport_prenatal", "产检转运", "Transport: prenatal care", "urgent", True),
    ("transport_emergency", "急诊就医转运", "Transport: emergency", "critical", True),
    ("mobility_aids", "助行器具", "Mobility aids", "normal", True),
    ("meals", "送餐", "Meals", "normal", True),
    ("study", "学习资料", "Study materials", "normal", True),
    ("counselling", "心理疏导", "Counselling", "normal", True),
    ("pets", "宠物照料", "Pets", "normal", True),
    ("other", "其他", "Other", "normal", True),
    ("care_followup", "关怀回访", "Care follow-up", "urgent", False),
]


def ensure_builtin(sender=None, using="default", **kwargs) -> int:
    """Create the built-in categories that are missing (a post_migrate receiver)."""
    from .models import Category

    present = set(Category.objects.using(using).filter(area_code="").values_list("code", flat=True))
    missing = [
        Category(
            code=code,
            kind=code,
            name_zh=zh,
            name_en=en,
            urgency=urgency,
            for_residents=for_residents,
            order=(i + 1) * 10,
        )
        for i, (code, zh, en, urgency, for_residents) in enumerate(BUILTIN)
        if code not in present
    ]
    Category.objects.using(using).bulk_create(missing, ignore_conflicts=True)
    forget()
    return len(missing)


# (when read, monotonic seconds; the active categories) while the cache is on.
_HELD: list = []


def forget(**kwargs) -> None:
    """Read the categories afresh next time (a post_save / post_delete receiver)."""
    _HELD.clear()


def active() -> list:
    """Every active category (built-in and the communities' own), cached as above."""
    from .models import Category

    seconds = getattr(settings, "POLICY_CACHE_SECONDS", 0)
    if seconds > 0 and _HELD and time.monotonic() - _HELD[0] < seconds:
        return _HELD[1]
    rows = list(Category.objects.filter(active=True).order_by("order", "id"))
    if seconds > 0:
        _HELD[:] = [time.monotonic(), rows]
    return rows


def find(code: str, area_code: str, *, residents: bool):
    """The category of `code` offered in `area_code`: a community's (street's,
    district's) own before the built-in one; None if there is none."""
    prefixes = {area_code[:n] for n in (6, 9, 12) if len(area_code) >= n} | {""}
    found = [
        c
        for c in active()
        if c.code == code and c.area_code in prefixes and (c.for_residents or not residents)
    ]
    return max(found, key=lambda c: len(c.area_code), default=None)
