"""Forms of core's pages: a new version of a policy, its value's fields made from the
policy's pydantic schema."""

import enum
import json
import typing
from typing import Any

import annotated_types
from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .errors import DomainError
from .policies import Policy

VALUE_PREFIX = "value_"


def _bounds(info) -> dict[str, Any]:
    bounds: dict[str, Any] = {}
    for rule in info.metadata:
        if isinstance(rule, annotated_types.Ge):
            bounds["min_value"] = rule.ge
        elif isinstance(rule, annotated_types.Gt):
            bounds["min_value"] = rule.gt + 1 if isinstance(rule.gt, int) else rule.gt
        elif isinstance(rule, annotated_types.Le):
            bounds["max_value"] = rule.le
        elif isinstance(rule, annotated_types.Lt):
            bounds["max_value"] = rule.lt - 1 if isinstance(rule.lt, int) else rule.lt
        elif isinstance(rule, annotated_types.MaxLen):
            bounds["max_length"] = rule.max_length
    return bounds


def _field_for(name: str, info) -> forms.Field:
    """A form field for one field of a policy's schema: numbers, yes/no, text and
    choices get their own inputs; anything richer is edited as JSON."""
    label = gettext(info.title) if info.title else name.replace("_", " ")
    common: dict[str, Any] = {"label": label, "help_text": info.description or "", "required": True}
    kind = info.annotation
    bounds = _bounds(info)
    if kind is bool:
        return forms.BooleanField(**{**common, "required": False})
    if kind is int:
        return forms.IntegerField(**common, **bounds)
    if kind is float:
        return forms.FloatField(**common, **bounds)
    if kind is str:
        return forms.CharField(**common, max_length=bounds.get("max_length"))
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return forms.ChoiceField(**common, choices=[(m.value, m.value) for m in kind])
    if typing.get_origin(kind) is typing.Literal:
        return forms.ChoiceField(**common, choices=[(v, v) for v in typing.get_args(kind)])
    return forms.JSONField(**common, widget=forms.Textarea(attrs={"rows": 3}))


class PolicyForm(forms.Form):
    """A new version of `policy`: its value, from when, where, and why."""

    effective_from = forms.DateTimeField(
        label=_("In force from"),
        required=False,
        help_text=_("Empty: now. Never in the past."),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    area = forms.ChoiceField(label=_("Where"), required=False)
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, policy: Policy, value, areas, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.policy = policy
        current = value.model_dump(mode="json")
        fields = {}
        for name, info in policy.schema.model_fields.items():
            field = _field_for(name, info)
            initial = current.get(name)
            if isinstance(field, forms.JSONField):
                initial = json.dumps(initial, ensure_ascii=False)
            field.initial = initial
            fields[VALUE_PREFIX + name] = field
        # The value's fields first, then when, where and why.
        self.fields = {**fields, **self.fields}
        self.value_names = [name[len(VALUE_PREFIX) :] for name in fields]
        area_field = typing.cast(forms.ChoiceField, self.fields["area"])
        area_field.choices = [("", _("Everywhere"))] + [
            (a.code, f"{a.name} ({a.code})") for a in areas
        ]

    def value(self) -> dict:
        return {
            name[len(VALUE_PREFIX) :]: v
            for name, v in self.cleaned_data.items()
            if name.startswith(VALUE_PREFIX)
        }


def submit(form: forms.Form, call, fields: dict[str, str] | None = None) -> tuple[bool, object]:
    """Check `form` and, if it is valid, call the service: `(True, call(cleaned_data))`.
    A DomainError it raises goes onto the form (on the field it names if the form has
    it; `fields` maps a service's field names to the form's): `(False, None)`. Views
    stay thin: parse, call the service, render."""
    if not form.is_valid():
        return False, None
    try:
        return True, call(form.cleaned_data)
    except DomainError as exc:
        name = (fields or {}).get(exc.field, exc.field)
        form.add_error(name if name in form.fields else None, str(exc))
        return False, None
