import hashlib

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from fangkong.core.permissions import granted
from fangkong.core.roles import Role
from fangkong.core.scoping import minimal_prefixes


class User(AbstractUser):
    """A person who logs in. Staff users hold area subtrees; residents hold themselves."""

    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.RESIDENT)
    display_name = models.CharField(_("display name"), max_length=100, blank=True)
    areas = models.ManyToManyField(
        "areas.Area",
        verbose_name=_("jurisdiction"),
        blank=True,
        related_name="staff",
        help_text=_("The area subtrees this user may see."),
    )
    resident = models.OneToOneField(
        "people.Resident",
        verbose_name=_("resident record"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="user",
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.display_name or self.username

    def scope_prefixes(self) -> list[str]:
        """Area codes whose subtrees this user may see (cached per instance)."""
        cached = getattr(self, "_scope_prefixes", None)
        if cached is None:
            codes = list(self.areas.values_list("code", flat=True))
            codes += self.kept_grids.values_list("buildings__code", flat=True)
            cached = self._scope_prefixes = minimal_prefixes(c for c in codes if c)
        return cached

    def has_perm(self, perm: str, obj=None) -> bool:
        """Rights come from the role (fangkong.core.permissions), never from flags or
        groups: a superuser holds no more than their role does."""
        return self.is_active and granted(self, perm)

    def may_see_area(self, code: str) -> bool:
        return any(code.startswith(p) for p in self.scope_prefixes())


class TokenScope(models.TextChoices):
    """What a token may reach, whatever its user's role may do besides (the operations
    of each scope are declared by the apps: FangkongApp.token_scopes)."""

    ALL = "all", _("Everything the user's role may do")
    UPLOAD = "upload", _("Sampling device: uploads and its configuration")
    RESULTS = "results", _("Lab system: results uploads")


class ApiToken(models.Model):
    """A bearer token for a device or an integration; only its hash is kept. It acts as
    its user, within its scope, until it expires or is revoked."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100, blank=True)
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12)
    scope = models.CharField(
        _("scope"), max_length=10, choices=TokenScope.choices, default=TokenScope.ALL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()
