from django import forms
from django.utils.translation import gettext_lazy as _

from .selectors import assignable_areas, grantable_roles

_REASON = forms.Textarea(attrs={"rows": 2})


class AreaChoices(forms.MultipleChoiceField):
    """The actor's areas as checkboxes (codes), drawn as big tap targets."""

    def __init__(self, actor, **kwargs):
        areas = assignable_areas(actor)
        choices = [(a.code, f"{'— ' * (a.level - 2)}{a.name}") for a in areas]
        super().__init__(choices=choices, widget=forms.CheckboxSelectMultiple, **kwargs)


class UserCreateForm(forms.Form):
    username = forms.CharField(
        label=_("User name"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocapitalize": "none", "autocomplete": "off"}),
    )
    display_name = forms.CharField(label=_("Name"), max_length=100, required=False)
    role = forms.ChoiceField(label=_("Role"))
    password = forms.CharField(
        label=_("Password"),
        required=False,
        help_text=_("Empty: the user cannot log in until a password is set."),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, actor, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = grantable_roles(actor)
        self.fields["areas"] = AreaChoices(actor, label=_("Jurisdiction"))


class UserUpdateForm(forms.Form):
    display_name = forms.CharField(label=_("Name"), max_length=100, required=False)
    role = forms.ChoiceField(label=_("Role"))

    def __init__(self, actor, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = grantable_roles(actor)


class UserAreasForm(forms.Form):
    def __init__(self, actor, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["areas"] = AreaChoices(actor, label=_("Jurisdiction"))


class PasswordForm(forms.Form):
    password = forms.CharField(
        label=_("New password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), required=False, widget=_REASON)


class TokenForm(forms.Form):
    name = forms.CharField(
        label=_("Device"), max_length=100, help_text=_("Which device or system uses it.")
    )


class UserImportForm(forms.Form):
    file = forms.FileField(
        label=_("Account list (.xlsx or .csv)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv,.txt"}),
    )
