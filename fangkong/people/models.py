import datetime as dt
import enum

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fangkong.accounts.models import Role
from fangkong.core import pii
from fangkong.core.idnumbers import IdType
from fangkong.core.phones import mask_phone
from fangkong.core.scoping import ScopedQuerySet


class Tag(enum.IntFlag):
    """Key-population tags kept as bits of one integer column."""

    LIVING_ALONE = 1
    DISABLED = 2
    BEDRIDDEN = 4
    REGULAR_TREATMENT = 8
    PREGNANT = 16
    INFANT = 32
    NO_SMARTPHONE = 64
    FOREIGN = 128
    STRANDED_STUDENT = 256


TAG_LABELS = {
    Tag.LIVING_ALONE: _("Living alone"),
    Tag.DISABLED: _("Disabled"),
    Tag.BEDRIDDEN: _("Bedridden"),
    Tag.REGULAR_TREATMENT: _("Regular treatment"),
    Tag.PREGNANT: _("Pregnant"),
    Tag.INFANT: _("Infant"),
    Tag.NO_SMARTPHONE: _("No smartphone"),
    Tag.FOREIGN: _("Foreign"),
    Tag.STRANDED_STUDENT: _("Stranded student"),
}
AGED_LABEL = _("Aged 70+")


class Residency(models.TextChoices):
    PERMANENT = "permanent", _("Permanent resident")
    TENANT = "tenant", _("Tenant / temporary")


class Sex(models.TextChoices):
    MALE = "M", _("Male")
    FEMALE = "F", _("Female")
    UNKNOWN = "", _("Unknown")


def years_ago(years: int, today: dt.date | None = None) -> dt.date:
    today = today or timezone.localdate()
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


class ResidentQuerySet(ScopedQuerySet):
    def for_user(self, user):
        if user is not None and user.is_authenticated and user.role == Role.RESIDENT:
            if user.resident_id is None:
                return self.none()
            return self.filter(household__residents__id=user.resident_id)
        return super().for_user(user)

    def with_tag(self, tag: Tag):
        return self.filter(tags__hasflag=int(tag))

    def aged(self, years: int = 70):
        return self.filter(birth_date__lte=years_ago(years))


class Resident(models.Model):
    """居民. ID and phone numbers are stored encrypted, found by keyed hash."""

    name = models.CharField(_("name"), max_length=100)
    name_pinyin = models.CharField(_("pinyin"), max_length=200, db_index=True)
    name_initials = models.CharField(_("initials"), max_length=50, db_index=True)

    id_type = models.CharField(
        _("document type"), max_length=2, choices=IdType.choices, default=IdType.MAINLAND
    )
    id_cipher = models.BinaryField(_("document number (encrypted)"))
    id_hash = models.CharField(max_length=40, unique=True)
    id_tail = models.CharField(max_length=4, db_index=True)
    id_masked = models.CharField(_("document number"), max_length=24)

    phone_cipher = models.BinaryField(_("phone (encrypted)"), blank=True, default=b"")
    phone_hash = models.CharField(max_length=40, blank=True, db_index=True)
    phone_tail = models.CharField(max_length=4, blank=True, db_index=True)
    phone_masked = models.CharField(_("phone"), max_length=20, blank=True)

    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices, blank=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)

    household = models.ForeignKey(
        "areas.Household",
        verbose_name=_("household"),
        on_delete=models.PROTECT,
        related_name="residents",
    )
    area_code = models.CharField(_("area code"), max_length=18, db_index=True)
    residency = models.CharField(
        _("residency"), max_length=10, choices=Residency.choices, default=Residency.PERMANENT
    )
    tags = models.PositiveIntegerField(_("tags"), default=0)
    language = models.CharField(_("language"), max_length=50, blank=True)
    treatment = models.CharField(_("regular treatment"), max_length=100, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ResidentQuerySet.as_manager()

    class Meta:
        verbose_name = _("resident")
        verbose_name_plural = _("residents")
        ordering = ["area_code", "id"]

    def __str__(self) -> str:
        return self.name

    # Personal data: decrypted only on demand, by callers that audit the view.
    def id_number(self) -> str:
        return pii.decrypt(self.id_cipher)

    def phone(self) -> str:
        return pii.decrypt(self.phone_cipher)

    def set_id_number(self, doc) -> None:
        self.id_type = doc.type
        self.id_cipher = pii.encrypt(doc.number)
        self.id_hash = id_hash(doc.type, doc.number)
        self.id_tail = doc.tail
        self.id_masked = doc.masked

    def set_phone(self, number: str) -> None:
        self.phone_cipher = pii.encrypt(number)
        self.phone_hash = pii.lookup_hash("phone", number)
        self.phone_tail = number[-4:]
        self.phone_masked = mask_phone(number)

    def has_tag(self, tag: Tag) -> bool:
        return bool(self.tags & tag)

    @property
    def age(self) -> int | None:
        if self.birth_date is None:
            return None
        today = timezone.localdate()
        before_birthday = (today.month, today.day) < (self.birth_date.month, self.birth_date.day)
        return today.year - self.birth_date.year - before_birthday

    def tag_labels(self) -> list[str]:
        labels = [str(AGED_LABEL)] if (self.age or 0) >= 70 else []
        return labels + [str(label) for tag, label in TAG_LABELS.items() if self.tags & tag]


def id_hash(id_type: str, number: str) -> str:
    return pii.lookup_hash(f"ID:{id_type}", number)
