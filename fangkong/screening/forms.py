from typing import cast

from django import forms
from django.utils.translation import gettext_lazy as _

from fangkong.areas.models import Area, Level
from fangkong.core.idnumbers import IdType

from .models import AttemptChannel, Category, ControlKind, Vaccination, VenueKind
from .services import AnswerIn
from .services.tracing import CONTROL_KINDS

_DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
_REASON = forms.Textarea(attrs={"rows": 2})


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=_REASON)


class StatusForm(forms.Form):
    kind = forms.ChoiceField(label=_("Status"), choices=ControlKind.choices)
    category = forms.ChoiceField(
        label=_("As (sets the planned end)"),
        choices=[("", _("— no category —")), *Category.choices],
        required=False,
    )
    reason = forms.CharField(label=_("Reason"), widget=_REASON)


class ControlForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Measure"), choices=[c for c in ControlKind.choices if c[0] in CONTROL_KINDS]
    )
    reason = forms.CharField(label=_("Reason"), widget=_REASON)


class NoteForm(forms.Form):
    note = forms.CharField(label=_("Note"), required=False, max_length=300)


class AttemptForm(forms.Form):
    channel = forms.ChoiceField(label=_("How"), choices=AttemptChannel.choices)
    note = forms.CharField(label=_("Note"), required=False, max_length=300)


class HandOverForm(forms.Form):
    to_district = forms.CharField(
        label=_("Receiving district (6-digit code)"), max_length=6, min_length=6
    )
    where_now = forms.CharField(label=_("Where the person is now"), max_length=200)
    reason = forms.CharField(label=_("Reason"), widget=_REASON)


def _areas_of(user, deepest: int):
    return Area.objects.for_user(user).filter(level__lte=deepest).order_by("code")


class AcceptForm(forms.Form):
    area = forms.ModelChoiceField(
        label=_("Community where the person is"), queryset=Area.objects.none()
    )

    def __init__(self, *args, user, district: str, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["area"]).queryset = _areas_of(
            user, Level.COMMUNITY
        ).filter(level=Level.COMMUNITY, code__startswith=district)


class RegisterForm(forms.Form):
    id_type = forms.ChoiceField(label=_("Document type"), choices=IdType.choices)
    id_number = forms.CharField(label=_("Document number"), max_length=40)
    name = forms.CharField(label=_("Name"), max_length=100)
    phone = forms.CharField(label=_("Phone"), max_length=20, required=False)
    area = forms.ModelChoiceField(label=_("Where found"), queryset=Area.objects.none())
    note = forms.CharField(
        label=_("How found (visitor, traveller …)"), max_length=200, required=False
    )
    category = forms.ChoiceField(
        label=_("Raise a trace task as"),
        choices=[("", _("— no task —")), *Category.choices],
        required=False,
    )
    reason = forms.CharField(label=_("Why"), required=False, widget=_REASON)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = _areas_of(user, Level.BUILDING).filter(
            level__gte=Level.COMMUNITY
        )


class CampaignLaunchForm(forms.Form):
    name = forms.CharField(label=_("Campaign name"), max_length=100)
    areas = forms.ModelMultipleChoiceField(
        label=_("Areas"),
        queryset=Area.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Every household under these areas is to be screened."),
    )
    deadline = forms.DateTimeField(label=_("Deadline"), widget=_DATETIME)
    risk_places = forms.CharField(
        label=_("Risk areas (one a line)"), required=False, widget=_REASON
    )
    note = forms.CharField(label=_("Note"), required=False, widget=_REASON)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["areas"].queryset = _areas_of(user, Level.COMMUNITY)


class UploadForm(forms.Form):
    file = forms.FileField(label=_("Spreadsheet (.xlsx or .csv)"))


class MatchRunForm(forms.Form):
    """A match run's optional inputs on the page; the service checks them."""

    onset = forms.DateTimeField(
        label=_("Onset of symptoms"),
        required=False,
        widget=_DATETIME,
        help_text=_(
            "Optional. The window starts the policy's days before the onset when it came "
            "before sampling; never after confirmation."
        ),
    )
    pings = forms.FileField(
        label=_("Location pings (.csv or .parquet)"),
        required=False,
        allow_empty_file=True,  # the service refuses it, in both languages
        help_text=_(
            "Optional, 512 MB at most: person_id,lat,lon,at. Finds the case's time-space "
            "companions; bad rows are counted and listed on the run."
        ),
    )


class VenueForm(forms.Form):
    name = forms.CharField(label=_("Venue name"), max_length=100)
    kind = forms.ChoiceField(label=_("Kind"), choices=VenueKind.choices)
    area = forms.ModelChoiceField(label=_("Area"), queryset=Area.objects.none())
    address = forms.CharField(label=_("Address"), max_length=200, required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = _areas_of(user, Level.BUILDING).filter(
            level__gte=Level.COMMUNITY
        )


def _yes(post, name: str) -> bool:
    return post.get(name) in ("1", "on", "yes", "true")


def _answer(post, prefix: str, **identity) -> AnswerIn:
    vaccination = post.get(f"{prefix}vaccination", "")
    return AnswerIn(
        **identity,
        travelled=_yes(post, f"{prefix}travelled"),
        travel_from=post.get(f"{prefix}travel_from", "")[:100],
        from_risk_area=_yes(post, f"{prefix}risk"),
        symptoms=_yes(post, f"{prefix}symptoms"),
        case_contact=_yes(post, f"{prefix}contact"),
        vaccination=vaccination if vaccination in Vaccination.values else "",
    )


def answers_from_post(post, members) -> list[AnswerIn]:
    """The screening form's answers: one block a member (`r<id>_…`), and one for a person
    on no roster staying there (`x_…`, when a document number is given)."""
    answers = [_answer(post, f"r{m.pk}_", resident_id=m.pk) for m in members]
    if post.get("x_id_number", "").strip():
        answers.append(
            _answer(
                post,
                "x_",
                id_type=post.get("x_id_type") or IdType.MAINLAND,
                id_number=post.get("x_id_number", ""),
                name=post.get("x_name", ""),
                phone=post.get("x_phone", ""),
            )
        )
    return answers
