from django import forms
from django.utils.translation import gettext_lazy as _

from fangkong.areas.models import Area, Level
from fangkong.core.idnumbers import IdType

from .models import TAG_LABELS, Residency
from .roster.importing import importable_areas

MAX_ROSTER_BYTES = 50 * 1024 * 1024


class AreaChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, area):
        return f"— {area.name}" if area.level == Level.COMPOUND else area.name


class RosterImportForm(forms.Form):
    area = AreaChoiceField(
        label=_("Community or compound"), queryset=None, to_field_name="code", empty_label=None
    )
    file = forms.FileField(
        label=_("Roster file (.xlsx or .csv)"),
        allow_empty_file=True,  # the importer says so, in both languages
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv,.txt"}),
    )

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = importable_areas(user)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_ROSTER_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(mb)d MB; split it into smaller rosters."),
                params={"mb": MAX_ROSTER_BYTES // (1024 * 1024)},
            )
        return upload


class RosterExportForm(forms.Form):
    area = AreaChoiceField(label=_("Area"), queryset=None, to_field_name="code", empty_label=None)
    full = forms.BooleanField(
        label=_("Full ID and phone numbers (written to the audit log)"), required=False
    )
    reason = forms.CharField(
        label=_("Reason for full numbers (required with them)"), required=False, max_length=500
    )

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = importable_areas(user)


_REASON = forms.Textarea(attrs={"rows": 2})
TAG_CHOICES = [(tag.name.lower(), label) for tag, label in TAG_LABELS.items()]


class BuildingChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, building):
        compound = building.parent.name if building.parent_id else ""
        return f"{compound} {building.name}".strip()


def buildings_for(user, under: str = ""):
    """Buildings in use in the user's jurisdiction (under a code, if given)."""
    return (
        Area.objects.for_user(user)
        .active()
        .filter(level=Level.BUILDING, code__startswith=under)
        .select_related("parent")
        .order_by("code")
    )


class AddressFields(forms.Form):
    building = BuildingChoiceField(label=_("Building"), queryset=None, to_field_name="code")
    unit = forms.CharField(label=_("Unit"), max_length=20, required=False)
    room = forms.CharField(label=_("Room"), max_length=20)

    def __init__(self, buildings, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["building"].queryset = buildings


class ResidentEditForm(AddressFields):
    """What a worker changes on a resident's page: address, tags, phone."""

    tags = forms.MultipleChoiceField(
        label=_("Tags"), choices=TAG_CHOICES, required=False, widget=forms.CheckboxSelectMultiple
    )
    phone = forms.CharField(
        label=_("Phone"),
        max_length=40,
        required=False,
        help_text=_("Empty: keep the number on record."),
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    reason = forms.CharField(label=_("Reason"), required=False, widget=_REASON)


class ResidentRegisterForm(AddressFields):
    name = forms.CharField(label=_("Name"), max_length=100)
    id_type = forms.ChoiceField(label=_("Document type"), choices=IdType.choices)
    id_number = forms.CharField(
        label=_("Document number"),
        max_length=64,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    phone = forms.CharField(
        label=_("Phone"),
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel"}),
    )
    residency = forms.ChoiceField(label=_("Residency"), choices=Residency.choices)
    tags = forms.MultipleChoiceField(
        label=_("Tags"), choices=TAG_CHOICES, required=False, widget=forms.CheckboxSelectMultiple
    )

    field_order = ["name", "id_type", "id_number", "phone", "building", "unit", "room"]


class HandOverRequestForm(AddressFields):
    id_type = forms.ChoiceField(label=_("Document type"), choices=IdType.choices)
    id_number = forms.CharField(label=_("Document number"), max_length=64)
    reason = forms.CharField(label=_("Reason"), widget=_REASON)

    field_order = ["id_type", "id_number", "building", "unit", "room", "reason"]


class DecisionForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        widget=_REASON,
        help_text=_("Required to decline."),
    )
