"""How the audit page shows an event: its label in the reader's language, and its detail
as a short list of what changed rather than a raw dictionary."""

from django import template

from fangkong.core.audit import event_label

register = template.Library()


@register.filter
def event_name(code: str) -> str:
    return event_label(code)


@register.filter
def detail_items(detail) -> list[tuple[str, str]]:
    """`{"role": "grid", "areas": ["4311…"]}` -> [("role", "grid"), ("areas", "4311…")]."""
    if not isinstance(detail, dict):
        return []
    items = []
    for key, value in detail.items():
        if isinstance(value, list):
            value = "、".join(str(v) for v in value[:20]) + ("…" if len(value) > 20 else "")
        elif isinstance(value, dict):
            value = "; ".join(f"{k}: {v}" for k, v in value.items())
        items.append((str(key), str(value)))
    return items
