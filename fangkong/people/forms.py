from django import forms
from django.utils.translation import gettext_lazy as _

from fangkong.areas.models import Level

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
