import datetime as dt
import enum

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fangkong.core import pii
from fangkong.core.idnumbers import IdType
from fangkong.core.phones import mask_phone
from fangkong.core.roles import Role
from fangkong.core.scoping import AreaScopedModel, ScopedQuerySet, prefix_q


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
    sight = "people.roster"

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
    name_pinyin = models.CharField(_("pinyin"), max_length=200)
    name_initials = models.CharField(_("initials"), max_length=50)

    id_type = models.CharField(
        _("document type"), max_length=2, choices=IdType.choices, default=IdType.MAINLAND
    )
    id_cipher = models.BinaryField(_("document number (encrypted)"))
    id_hash = models.CharField(max_length=40)
    id_tail = models.CharField(max_length=4)
    id_masked = models.CharField(_("document number"), max_length=24)

    phone_cipher = models.BinaryField(_("phone (encrypted)"), blank=True, default=b"")
    phone_hash = models.CharField(max_length=40, blank=True)
    phone_tail = models.CharField(max_length=4, blank=True)
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
        # Declared one by one: `db_index` on a CharField makes two indexes on PostgreSQL
        # (a plain one and a LIKE one), and each costs every write and every bulk load.
        constraints = [models.UniqueConstraint(fields=["id_hash"], name="resident_unique_id")]
        indexes = [
            # A building's residents, by household, with what its not-yet-sampled list
            # shows (testing.selectors.UNSAMPLED_FIELDS): read by an index-only scan, a
            # few pages a building on a cold cache instead of one heap page a resident
            # (docs/benchmarks.md, "cold list at 10M"). The household in the key keeps it
            # index-only when the planner joins household by household. Beside, not
            # instead of, the plain area-code index: walking an area in code order (a
            # list's ORDER BY) reads that one, 16 times smaller.
            models.Index(
                fields=["area_code", "household"],
                include=[
                    "id",
                    "name",
                    "id_masked",
                    "phone_masked",
                    "birth_date",
                    "tags",
                ],
                name="resident_building",
            ),
            # Name-prefix search over a district: without it, a rare name read a million
            # rows (1.1 s); with it, 0.2 ms (bench/pages.py, docs/benchmarks.md).
            models.Index(
                fields=["name"], name="resident_name_prefix", opclasses=["varchar_pattern_ops"]
            ),
            # Prefix search only: one LIKE index each (it serves equality too).
            models.Index(
                fields=["name_pinyin"],
                name="resident_pinyin_prefix",
                opclasses=["varchar_pattern_ops"],
            ),
            models.Index(
                fields=["name_initials"],
                name="resident_initials_prefix",
                opclasses=["varchar_pattern_ops"],
            ),
            # Compared for equality only: a plain btree each.
            models.Index(fields=["id_tail"], name="resident_id_tail"),
            models.Index(fields=["phone_hash"], name="resident_phone_hash"),
            models.Index(fields=["phone_tail"], name="resident_phone_tail"),
        ]

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


# Roster imports ---------------------------------------------------------------------------


class ImportStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ImportJobQuerySet(ScopedQuerySet):
    pass


class ImportJob(AreaScopedModel):
    """One roster import: the file, its progress and its outcome. Lives in the area tree."""

    area = models.ForeignKey(
        "areas.Area", verbose_name=_("area"), on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("imported by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    file_name = models.CharField(_("file name"), max_length=255)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    status = models.CharField(
        _("status"), max_length=10, choices=ImportStatus.choices, default=ImportStatus.QUEUED
    )
    total_rows = models.PositiveIntegerField(_("rows in the file"), default=0)
    processed_rows = models.PositiveIntegerField(_("rows read"), default=0)
    created = models.PositiveIntegerField(_("created"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    rejected = models.PositiveIntegerField(_("rejected"), default=0)
    warned = models.PositiveIntegerField(_("warnings"), default=0)
    header = models.JSONField(_("header"), default=list, blank=True)
    error_zh = models.TextField(_("error (Chinese)"), blank=True)
    error_en = models.TextField(_("error (English)"), blank=True)
    created_at = models.DateTimeField(_("submitted at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    objects = ImportJobQuerySet.as_manager()

    class Meta:
        verbose_name = _("roster import")
        verbose_name_plural = _("roster imports")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.file_name

    @property
    def is_active(self) -> bool:
        return self.status in (ImportStatus.QUEUED, ImportStatus.RUNNING)

    @property
    def percent(self) -> int | None:
        if self.status == ImportStatus.DONE:
            return 100
        if not self.total_rows:
            return None
        return min(99, self.processed_rows * 100 // self.total_rows)

    def counts(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in ("created", "updated", "unchanged", "rejected")}


class ImportUpload(models.Model):
    """The uploaded file, encrypted like any ID number, kept only until its import has run.

    In the database rather than under MEDIA_ROOT: a roster is thousands of ID and phone
    numbers, which must not lie on disk in the clear, and the worker that runs a large
    import may be on another machine than the web server that took the upload.
    """

    job = models.OneToOneField(
        ImportJob, primary_key=True, on_delete=models.CASCADE, related_name="upload"
    )
    cipher = models.BinaryField()

    def __str__(self) -> str:
        return f"upload of import {self.job_id}"


class _ImportRow(models.Model):
    """Where in the file, and what about it (in both languages)."""

    row = models.PositiveIntegerField(_("row"))
    column = models.CharField(_("column"), max_length=200, blank=True)
    reason_zh = models.TextField(_("reason (Chinese)"))
    reason_en = models.TextField(_("reason (English)"))

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.row}: {self.reason_en}"


class ImportRejection(_ImportRow):
    """A row the import refused: where, why (in both languages) and its cells (encrypted)."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="rejections")
    cells_cipher = models.BinaryField(_("cells (encrypted)"))

    class Meta:
        verbose_name = _("rejected row")
        verbose_name_plural = _("rejected rows")
        ordering = ["job", "row", "id"]
        indexes = [models.Index(fields=["job", "row"])]


class ImportWarning(_ImportRow):
    """A row imported with a label the import did not know (kept in the person's note)."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="warnings")
    value = models.CharField(_("value"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("import warning")
        verbose_name_plural = _("import warnings")
        ordering = ["job", "row", "id"]
        indexes = [models.Index(fields=["job", "row"])]


# Hand-overs between communities -----------------------------------------------------------


class HandOverStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for approval")
    APPROVED = "approved", _("Approved")
    DECLINED = "declined", _("Declined")
    CANCELLED = "cancelled", _("Withdrawn")


class HandOverQuerySet(ScopedQuerySet):
    def for_user(self, user):
        """Hand-overs touching the user's jurisdiction: as the side that holds the
        person, the side that asks, or the office above both."""
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        prefixes = user.scope_prefixes()
        return self.filter(prefix_q("from_code", prefixes) | prefix_q("to_code", prefixes))

    def pending(self):
        return self.filter(status=HandOverStatus.PENDING)


class HandOver(models.Model):
    """A resident moving from one community to another: asked for by the community
    they now live in, decided by the office above both (the lowest common ancestor),
    audited on both sides. Until it is approved, the asking side sees no name and no
    place, only that the ID number is held elsewhere."""

    resident = models.ForeignKey(
        Resident, verbose_name=_("resident"), on_delete=models.PROTECT, related_name="handovers"
    )
    from_code = models.CharField(_("from community"), max_length=18, db_index=True)
    to_code = models.CharField(_("to community"), max_length=18, db_index=True)
    to_household = models.ForeignKey(
        "areas.Household",
        verbose_name=_("new address"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    approver_code = models.CharField(_("decided by the office of"), max_length=18)
    reason = models.TextField(_("reason"))
    status = models.CharField(
        _("status"), max_length=10, choices=HandOverStatus.choices, default=HandOverStatus.PENDING
    )
    requested_by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("asked by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    requested_at = models.DateTimeField(_("asked at"), default=timezone.now)
    decided_by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_reason = models.TextField(_("reason for the decision"), blank=True)

    objects = HandOverQuerySet.as_manager()

    class Meta:
        verbose_name = _("hand-over")
        verbose_name_plural = _("hand-overs")
        ordering = ["-requested_at", "-id"]
        constraints = [
            # One open request a person: a second ask joins the first.
            models.UniqueConstraint(
                fields=["resident"],
                condition=models.Q(status="pending"),
                name="handover_one_pending",
            )
        ]

    def __str__(self) -> str:
        return f"{self.resident_id}: {self.from_code} → {self.to_code}"

    @property
    def is_pending(self) -> bool:
        return self.status == HandOverStatus.PENDING
