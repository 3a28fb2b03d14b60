from django import forms
from django.utils.translation import gettext_lazy as _

from .models import ZoneKind


class ZoneDeclareForm(forms.Form):
    kind = forms.ChoiceField(label=_("Zone"), choices=ZoneKind.choices)
    ends_at = forms.DateTimeField(
        label=_("Ends"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))


class ZoneLiftForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))
