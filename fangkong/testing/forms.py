from django import forms
from django.utils.translation import gettext_lazy as _

from fangkong.areas.models import Area, Level

from .models import ExemptReason, SiteStatus
from .policies import MAX_POOL, POOL_SIZES

_DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
_TIME = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
_REASON = forms.Textarea(attrs={"rows": 2})


def _pool(label, required=True):
    return forms.IntegerField(label=label, min_value=1, max_value=MAX_POOL, required=required)


_FROM_POLICY = _("Empty: the pool-size policy in force where the round runs.")


class RoundLaunchForm(forms.Form):
    name = forms.CharField(label=_("Round name"), max_length=100)
    areas = forms.ModelMultipleChoiceField(
        label=_("Areas"),
        queryset=Area.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The round covers everyone living under these areas."),
    )
    starts_at = forms.DateTimeField(label=_("Starts"), required=False, widget=_DATETIME)
    deadline = forms.DateTimeField(label=_("Deadline"), widget=_DATETIME)
    pool_sealed = _pool(_("People per tube in sealed zones"), required=False)
    pool_controlled = _pool(_("People per tube in controlled zones"), required=False)
    pool_prevention = _pool(_("People per tube in prevention zones and elsewhere"), required=False)
    note = forms.CharField(label=_("Note"), required=False, widget=_REASON)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # What the policy says now, shown as a hint; left empty, the round takes the
        # version in force where and when it starts.
        rule = POOL_SIZES.at()
        for zone in ("sealed", "controlled", "prevention"):
            field = self.fields[f"pool_{zone}"]
            field.widget.attrs["placeholder"] = getattr(rule.value, zone)
            field.help_text = _FROM_POLICY
        # The user's areas down to communities: a round is launched over big areas.
        self.fields["areas"].queryset = Area.objects.for_user(user).filter(
            level__lte=Level.COMMUNITY
        )


class RoundEditForm(forms.Form):
    deadline = forms.DateTimeField(label=_("Deadline"), widget=_DATETIME)
    pool_sealed = _pool(_("People per tube in sealed zones"))
    pool_controlled = _pool(_("People per tube in controlled zones"))
    pool_prevention = _pool(_("People per tube in prevention zones and elsewhere"))
    reason = forms.CharField(label=_("Reason"), widget=_REASON)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=_REASON)


class SiteForm(forms.Form):
    name = forms.CharField(label=_("Site name"), max_length=100)
    address = forms.CharField(label=_("Address"), max_length=200, required=False)
    opens_at = forms.TimeField(label=_("Opens at"), required=False, widget=_TIME)
    closes_at = forms.TimeField(label=_("Closes at"), required=False, widget=_TIME)
    channels = forms.IntegerField(label=_("Channels"), min_value=0, max_value=50, initial=2)


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=SiteStatus.choices)
    reason = forms.CharField(required=False, max_length=500)


class ExemptForm(forms.Form):
    reason = forms.ChoiceField(label=_("Reason"), choices=ExemptReason.choices)
    note = forms.CharField(label=_("Note"), required=False, max_length=500)


class AssignForm(forms.Form):
    """Give a building's open tasks to a person of one's jurisdiction, by a deadline."""

    assignee = forms.ModelChoiceField(label=_("Who does them"), queryset=None)
    due_at = forms.DateTimeField(label=_("Due by"), required=False, widget=_DATETIME)
    team_name = forms.CharField(label=_("Team (optional)"), max_length=100, required=False)

    def __init__(self, *args, user, **kwargs):
        from .selectors import assignees

        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = assignees(user)
        self.fields["assignee"].label_from_instance = lambda u: (
            f"{u.display_name or u.username} · {u.get_role_display()}"
        )


class TubeForm(forms.Form):
    tube = forms.CharField(label=_("Tube barcode"), max_length=40)
