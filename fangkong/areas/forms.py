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


_REASON = forms.Textarea(attrs={"rows": 2})


class AreaAddForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    code = forms.CharField(
        label=_("Code"),
        required=False,
        max_length=18,
        help_text=_("Empty: the next free code. A statistical division code, if it has one."),
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )


class AreaRenameForm(forms.Form):
    name = forms.CharField(label=_("New name"), max_length=100)
    reason = forms.CharField(label=_("Reason"), required=False, widget=_REASON)


class AreaMoveForm(forms.Form):
    parent = forms.ChoiceField(label=_("New parent"))
    reason = forms.CharField(label=_("Reason"), widget=_REASON)

    def __init__(self, candidates, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parent"].choices = [(a.code, f"{a.name} ({a.code})") for a in candidates]


class AreaRetireForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=_REASON)


class DivisionImportForm(forms.Form):
    file = forms.FileField(
        label=_("Division list (.xlsx or .csv)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv,.txt"}),
    )


class GridForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    keeper = forms.ModelChoiceField(
        label=_("Grid worker"), queryset=None, required=False, empty_label=_("(none yet)")
    )
    # Drawn on the page as big tap targets grouped by compound (areas/grid.html).
    buildings = forms.ModelMultipleChoiceField(label=_("Buildings"), queryset=None, required=False)

    def __init__(self, buildings, keepers, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["buildings"].queryset = buildings
        self.fields["keeper"].queryset = keepers
