"""The workforce: workers (下沉干部 / 志愿者), reporting in, teams and party branches,
staffing requests and their allocation, posts, shifts and attendance, call-outs.

Workers' ID and phone numbers are personal data like residents': encrypted at rest,
found by keyed hash, shown masked. Rows that live in the area tree carry `area_code`.
"""

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fangkong.core import pii
from fangkong.core.idnumbers import IdType
from fangkong.core.phones import mask_phone
from fangkong.core.roles import Role
from fangkong.core.scoping import ScopedQuerySet, prefix_q
from fangkong.core.sight import sees

# Registry kept by the command centre ---------------------------------------------------


class Organ(models.Model):
    """An employer organ that sends cadres (区委办, 区卫健局 …)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("organ")
        verbose_name_plural = _("organs")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SkillKind(models.TextChoices):
    DRIVING = "driving", _("Driving")
    MEDICAL = "medical", _("Medical")
    SAMPLING = "sampling", _("Nucleic-acid sampling")
    LANGUAGE = "language", _("Language")
    DATA_ENTRY = "data_entry", _("Data entry")
    COUNSELLING = "counselling", _("Counselling")
    LIFTING = "lifting", _("Heavy lifting")
    DIALECT = "dialect", _("Dialect")
    OTHER = "other", _("Other")


class Skill(models.Model):
    """A skill of the vocabulary: `code` is what requests and the solver match on
    (a driving licence class is its own skill: drive_c1, drive_b2 …)."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=SkillKind.choices)
    name_zh = models.CharField(_("name (Chinese)"), max_length=50)
    name_en = models.CharField(_("name (English)"), max_length=80)

    class Meta:
        verbose_name = _("skill")
        verbose_name_plural = _("skills")
        ordering = ["kind", "code"]

    def __str__(self) -> str:
        return self.name_zh


class AreaPoint(models.Model):
    """Where a community (or street, district) lies, for distances. The area tree holds
    no coordinates; the command centre keeps these for the workforce."""

    area = models.OneToOneField(
        "areas.Area", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    code = models.CharField(max_length=18, unique=True)
    lat = models.FloatField(_("latitude"))
    lon = models.FloatField(_("longitude"))

    class Meta:
        verbose_name = _("map point")
        verbose_name_plural = _("map points")

    def __str__(self) -> str:
        return f"{self.code} ({self.lat:.4f}, {self.lon:.4f})"


class OrganLiaison(models.Model):
    """A user (role WORKER) who speaks for an organ: bulk-enrols and sees its staff."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="organ_liaison"
    )
    organ = models.ForeignKey(Organ, on_delete=models.CASCADE, related_name="liaisons")

    class Meta:
        verbose_name = _("organ liaison")
        verbose_name_plural = _("organ liaisons")

    def __str__(self) -> str:
        return f"{self.user} → {self.organ}"


# Workers ------------------------------------------------------------------------------


class WorkerKind(models.TextChoices):
    CADRE = "cadre", _("Dispatched cadre")
    VOLUNTEER = "volunteer", _("Volunteer")


class WorkerStatus(models.TextChoices):
    AVAILABLE = "available", _("Available")
    SICK = "sick", _("Sick")
    CLOSE_CONTACT = "close_contact", _("Quarantined: close contact")
    SECONDARY_CONTACT = "secondary_contact", _("Quarantined: secondary contact")
    OTHER = "other", _("Unavailable")


QUARANTINE = (WorkerStatus.CLOSE_CONTACT, WorkerStatus.SECONDARY_CONTACT)

# Days of the week as bits: Monday 1 … Sunday 64.
ALL_DAYS = 127


class WorkerQuerySet(ScopedQuerySet):
    def for_user(self, user) -> "WorkerQuerySet":
        """Offices: workers enrolled with, living in or assigned to their areas. A worker:
        themself and their team; an organ's liaison also the organ's staff."""
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if getattr(user, "is_system", False) is True:
            return self.all()
        if not sees(user, "workforce.workers"):  # core.sight
            return self.none()
        if user.role == Role.WORKER:
            mine = Q(user_id=user.pk)
            teams = TeamMember.objects.filter(worker__user_id=user.pk).values("team_id")
            mine |= Q(team_memberships__team_id__in=teams)
            organ = OrganLiaison.objects.filter(user_id=user.pk).values("organ_id")
            mine |= Q(organ_id__in=organ)
            return self.filter(mine).distinct()
        prefixes = user.scope_prefixes()
        assigned = Assignment.objects.filter(
            prefix_q("area_code", prefixes), worker_id=OuterRef("pk"), ended_at__isnull=True
        )
        return self.filter(
            prefix_q("area_code", prefixes) | prefix_q("home_code", prefixes) | Exists(assigned)
        )

    def available(self):
        return self.filter(status=WorkerStatus.AVAILABLE)


class Worker(models.Model):
    """A dispatched cadre or a volunteer. One per ID number (keyed hash)."""

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(
        _("kind"), max_length=10, choices=WorkerKind.choices, default=WorkerKind.VOLUNTEER
    )
    id_type = models.CharField(
        _("document type"), max_length=2, choices=IdType.choices, default=IdType.MAINLAND
    )
    id_cipher = models.BinaryField(_("document number (encrypted)"))
    id_hash = models.CharField(max_length=40, unique=True)
    id_masked = models.CharField(_("document number"), max_length=24)
    phone_cipher = models.BinaryField(_("phone (encrypted)"), blank=True, default=b"")
    phone_hash = models.CharField(max_length=40, blank=True, db_index=True)
    phone_masked = models.CharField(_("phone"), max_length=20, blank=True)

    organ = models.ForeignKey(
        Organ,
        verbose_name=_("organ"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="workers",
    )
    party_member = models.BooleanField(_("party member"), default=False)
    skills = models.ManyToManyField(Skill, verbose_name=_("skills"), blank=True)
    home_community = models.ForeignKey(
        "areas.Area", verbose_name=_("home community"), on_delete=models.PROTECT, related_name="+"
    )
    home_code = models.CharField(_("home area code"), max_length=18, db_index=True)
    # Where the worker serves now: the community they reported in at (or enrolled at
    # when stranded), else their home community.
    area_code = models.CharField(_("area code"), max_length=18, db_index=True)
    # The map point of `area_code` (or its nearest ancestor that has one), for distances.
    lat = models.FloatField(null=True, blank=True)
    lon = models.FloatField(null=True, blank=True)

    days = models.PositiveSmallIntegerField(_("days available"), default=ALL_DAYS)
    day_from = models.TimeField(_("available from"), default=dt.time(7, 0))
    day_until = models.TimeField(_("available until"), default=dt.time(22, 0))
    nights = models.BooleanField(_("nights"), default=False)

    status = models.CharField(
        _("status"), max_length=20, choices=WorkerStatus.choices, default=WorkerStatus.AVAILABLE
    )
    status_until = models.DateTimeField(_("unavailable until"), null=True, blank=True)

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("login"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="worker",
    )
    resident = models.OneToOneField(
        "people.Resident",
        verbose_name=_("resident record"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = WorkerQuerySet.as_manager()

    class Meta:
        verbose_name = _("worker")
        verbose_name_plural = _("workers")
        ordering = ["area_code", "id"]
        indexes = [
            models.Index(fields=["status", "area_code"], name="worker_status_area"),
            models.Index(fields=["status", "lat", "lon"], name="worker_status_place"),
        ]

    def __str__(self) -> str:
        return self.name

    def id_number(self) -> str:
        return pii.decrypt(self.id_cipher)

    def phone(self) -> str:
        return pii.decrypt(self.phone_cipher)

    def set_id_number(self, doc) -> None:
        self.id_type = doc.type
        self.id_cipher = pii.encrypt(doc.number)
        self.id_hash = worker_id_hash(doc.type, doc.number)
        self.id_masked = doc.masked

    def set_phone(self, number: str) -> None:
        self.phone_cipher = pii.encrypt(number)
        self.phone_hash = pii.lookup_hash("phone", number) if number else ""
        self.phone_masked = mask_phone(number)

    @property
    def is_available(self) -> bool:
        return self.status == WorkerStatus.AVAILABLE


def worker_id_hash(id_type: str, number: str) -> str:
    """The same keyed hash as a resident's, so a worker who is a resident is found."""
    return pii.lookup_hash(f"ID:{id_type}", number)


class StatusChange(models.Model):
    """A worker's status set or ended: who, when, why, until when. Never deleted."""

    worker = models.ForeignKey(Worker, on_delete=models.CASCADE, related_name="status_changes")
    status = models.CharField(_("status"), max_length=20, choices=WorkerStatus.choices)
    reason = models.TextField(_("reason"))
    until = models.DateTimeField(_("until"), null=True, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    by_name = models.CharField(max_length=150)
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.worker}: {self.status}"


# Reporting in ---------------------------------------------------------------------------


class EnrollmentStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for the community")
    CONFIRMED = "confirmed", _("Confirmed")
    DECLINED = "declined", _("Declined")
    LEFT = "left", _("Left")


class EnrollmentVia(models.TextChoices):
    SCAN = "scan", _("Scanned the community's code")
    CHOICE = "choice", _("Chose the community")
    REGISTRATION = "registration", _("At registration")
    BULK = "bulk", _("Bulk enrolment")


OPEN_ENROLLMENT = (EnrollmentStatus.PENDING, EnrollmentStatus.CONFIRMED)


class EnrollmentQuerySet(ScopedQuerySet):
    def open(self):
        return self.filter(status__in=OPEN_ENROLLMENT)


class Enrollment(models.Model):
    """报到: a worker reporting in at a community, which confirms or declines."""

    worker = models.ForeignKey(Worker, on_delete=models.CASCADE, related_name="enrollments")
    community = models.ForeignKey("areas.Area", on_delete=models.PROTECT, related_name="+")
    area_code = models.CharField(max_length=18, db_index=True)
    organ = models.ForeignKey(Organ, null=True, blank=True, on_delete=models.SET_NULL)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=EnrollmentStatus.choices,
        default=EnrollmentStatus.PENDING,
    )
    via = models.CharField(_("how"), max_length=15, choices=EnrollmentVia.choices)
    client_id = models.CharField(max_length=64, unique=True)
    reported_at = models.DateTimeField(_("reported at"), default=timezone.now, db_index=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    objects = EnrollmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("report-in")
        verbose_name_plural = _("report-ins")
        ordering = ["-reported_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["worker"],
                condition=Q(status__in=["pending", "confirmed"]),
                name="enrollment_one_open",
            )
        ]
        indexes = [models.Index(fields=["area_code", "status"], name="enrollment_area_status")]

    def __str__(self) -> str:
        return f"{self.worker} @ {self.area_code}"


class BulkEnrolJob(models.Model):
    """A spreadsheet of an organ's staff, as imported: counts and rejected rows."""

    organ = models.ForeignKey(Organ, null=True, blank=True, on_delete=models.SET_NULL)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    file_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    rows = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    # [{row, column, reason_zh, reason_en, problems: [{column, reason_zh, reason_en}]}]:
    # every column at fault in the row; no cell values (they hold ID numbers).
    rejections = models.JSONField(default=list)
    error_zh = models.TextField(blank=True)
    error_en = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.file_name


# Teams and party branches ---------------------------------------------------------------


class TeamQuerySet(ScopedQuerySet):
    def for_user(self, user):
        if user is not None and user.is_authenticated and user.role == Role.WORKER:
            return self.filter(members__worker__user_id=user.pk).distinct()
        return super().for_user(user)


class Team(models.Model):
    """小组: a leader and members (Lanzhou's 1 + 2)."""

    name = models.CharField(_("name"), max_length=100)
    community = models.ForeignKey("areas.Area", on_delete=models.PROTECT, related_name="+")
    area_code = models.CharField(max_length=18, db_index=True)
    leader = models.ForeignKey(
        Worker, null=True, on_delete=models.SET_NULL, related_name="teams_led"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TeamQuerySet.as_manager()

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["area_code", "name"]

    def __str__(self) -> str:
        return self.name


class TeamMember(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="members")
    worker = models.ForeignKey(Worker, on_delete=models.CASCADE, related_name="team_memberships")

    class Meta:
        # A worker belongs to one team at a time.
        constraints = [models.UniqueConstraint(fields=["worker"], name="team_member_one_team")]

    def __str__(self) -> str:
        return f"{self.worker} in {self.team}"


class BranchQuerySet(ScopedQuerySet):
    def for_user(self, user):
        if user is not None and user.is_authenticated and user.role == Role.WORKER:
            return self.filter(members__user_id=user.pk).distinct()
        return super().for_user(user)


class PartyBranch(models.Model):
    """临时党支部: by compound, community or site; a secretary; enrolled party members."""

    name = models.CharField(_("name"), max_length=100)
    area = models.ForeignKey("areas.Area", on_delete=models.PROTECT, related_name="+")
    area_code = models.CharField(max_length=18, db_index=True)
    secretary = models.ForeignKey(
        Worker, null=True, on_delete=models.SET_NULL, related_name="branches_led"
    )
    members = models.ManyToManyField(Worker, related_name="branches", blank=True)
    founded_at = models.DateTimeField(default=timezone.now)

    objects = BranchQuerySet.as_manager()

    class Meta:
        verbose_name = _("temporary party branch")
        verbose_name_plural = _("temporary party branches")
        ordering = ["area_code", "name"]

    def __str__(self) -> str:
        return self.name


# Staffing requests and allocation ---------------------------------------------------------


class PostKind(models.TextChoices):
    SAMPLING_ORDER = "sampling_order", _("Sampling order")
    CHECKPOINT = "checkpoint", _("Checkpoint")
    DELIVERY = "delivery", _("Delivery")
    MOBILE_SERVICE = "mobile_service", _("Mobile service")
    DOOR_TO_DOOR = "door_to_door", _("Door to door")
    DATA_ENTRY = "data_entry", _("Data entry")
    HOTLINE = "hotline", _("Hotline")
    TRANSFER = "transfer", _("Transfer")


class RequestStatus(models.TextChoices):
    OPEN = "open", _("Open")
    FILLED = "filled", _("Filled")
    PARTLY = "partly", _("Partly filled")
    CANCELLED = "cancelled", _("Cancelled")


class StaffingRequest(models.Model):
    """人员需求: how many people, which skills, which post kind, which days and hours."""

    area = models.ForeignKey("areas.Area", on_delete=models.PROTECT, related_name="+")
    area_code = models.CharField(max_length=18, db_index=True)
    count = models.PositiveIntegerField(_("people"))
    post_kind = models.CharField(_("post kind"), max_length=20, choices=PostKind.choices)
    required_skill = models.ForeignKey(
        Skill, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    preferred_skill = models.ForeignKey(
        Skill, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    first_day = models.DateField(_("first day"))
    last_day = models.DateField(_("last day"))
    hours_from = models.TimeField(_("from"))
    hours_until = models.TimeField(_("until"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=RequestStatus.choices, default=RequestStatus.OPEN
    )
    filled = models.PositiveIntegerField(_("filled"), default=0)
    client_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("staffing request")
        verbose_name_plural = _("staffing requests")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.area_code} × {self.count} {self.post_kind}"

    @property
    def open_seats(self) -> int:
        return max(0, self.count - self.filled)

    @property
    def at_night(self) -> bool:
        """Hours that reach into the night (22:00–06:00) need workers who take nights."""
        return (
            self.hours_until <= self.hours_from
            or self.hours_from < dt.time(6)
            or self.hours_until > dt.time(22)
        )


class RunStatus(models.TextChoices):
    PROPOSED = "proposed", _("Proposed")
    CONFIRMED = "confirmed", _("Confirmed")
    DISCARDED = "discarded", _("Discarded")


class AllocationRun(models.Model):
    """One run of the allocation over the open requests of an area: a proposal until a
    person confirms it."""

    area_code = models.CharField(max_length=18, db_index=True)
    status = models.CharField(max_length=10, choices=RunStatus.choices, default="proposed")
    seats = models.PositiveIntegerField(default=0)
    filled = models.PositiveIntegerField(default=0)
    cost = models.FloatField(default=0)
    greedy_cost = models.FloatField(null=True, blank=True)
    greedy_filled = models.PositiveIntegerField(null=True, blank=True)
    seconds = models.FloatField(default=0)
    stats = models.JSONField(default=dict)
    weights_version = models.PositiveIntegerField(default=0)
    purpose = models.CharField(max_length=20, default="requests")  # or "substitution"
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"run {self.pk} ({self.filled}/{self.seats})"


class Unfilled(models.TextChoices):
    NO_SKILL = "no_skill", _("Nobody has the required skill")
    UNAVAILABLE = "unavailable", _("Everyone with the skill is unavailable or out of reach")
    ALL_TAKEN = "all_taken", _("Everyone who could go is placed elsewhere")


class ProposedSeat(models.Model):
    """One seat of a run: the worker proposed (or why nobody), and what a person changed."""

    run = models.ForeignKey(AllocationRun, on_delete=models.CASCADE, related_name="proposal")
    # The request a seat is for (a substitution's seat may have none: its shift).
    request = models.ForeignKey(
        StaffingRequest, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    area_code = models.CharField(max_length=18, db_index=True)
    number = models.PositiveIntegerField()
    worker = models.ForeignKey(Worker, null=True, blank=True, on_delete=models.CASCADE)
    cost = models.FloatField(null=True, blank=True)
    distance_km = models.FloatField(null=True, blank=True)
    unfilled = models.CharField(max_length=15, choices=Unfilled.choices, blank=True)
    with_skill = models.PositiveIntegerField(default=0)
    candidates = models.PositiveIntegerField(default=0)
    # The shift a substitution run fills (empty for requests).
    shift = models.ForeignKey("Shift", null=True, blank=True, on_delete=models.CASCADE)
    adjusted = models.BooleanField(default=False)

    class Meta:
        ordering = ["run", "request", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "worker"], condition=Q(worker__isnull=False), name="seat_one_a_run"
            )
        ]

    def __str__(self) -> str:
        return f"{self.request_id}#{self.number}: {self.worker_id or self.unfilled}"


class AssignmentQuerySet(ScopedQuerySet):
    def active(self):
        return self.filter(ended_at__isnull=True)


class Assignment(models.Model):
    """A confirmed placement of a worker on a request (so: at a community, for days)."""

    worker = models.ForeignKey(Worker, on_delete=models.CASCADE, related_name="assignments")
    request = models.ForeignKey(
        StaffingRequest, on_delete=models.CASCADE, related_name="assignments"
    )
    area_code = models.CharField(max_length=18, db_index=True)
    run = models.ForeignKey(AllocationRun, null=True, on_delete=models.SET_NULL)
    first_day = models.DateField()
    last_day = models.DateField()
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    confirmed_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=200, blank=True)

    objects = AssignmentQuerySet.as_manager()

    class Meta:
        ordering = ["-confirmed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["worker", "request"],
                condition=Q(ended_at__isnull=True),
                name="assignment_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.worker} → {self.request_id}"


# Posts, shifts, attendance --------------------------------------------------------------


class ShiftPattern(models.TextChoices):
    THREE_EIGHT = "3x8", _("3 × 8 h round the clock")
    TWO_TWELVE = "2x12", _("2 × 12 h round the clock")
    DAY = "day", _("Day only (08:00–18:00)")


# Each pattern's shifts as (start hour, length in hours) from midnight.
PATTERN_SLOTS = {
    ShiftPattern.THREE_EIGHT: ((0, 8), (8, 8), (16, 8)),
    ShiftPattern.TWO_TWELVE: ((8, 12), (20, 12)),
    ShiftPattern.DAY: ((8, 10),),
}


class Post(models.Model):
    """岗位: a place where someone is on duty, with a code to scan."""

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=PostKind.choices)
    area = models.ForeignKey("areas.Area", on_delete=models.PROTECT, related_name="+")
    area_code = models.CharField(max_length=18, db_index=True)
    place = models.CharField(_("place"), max_length=200, blank=True)
    lat = models.FloatField(null=True, blank=True)
    lon = models.FloatField(null=True, blank=True)
    pattern = models.CharField(
        _("shift pattern"), max_length=5, choices=ShiftPattern.choices, default="day"
    )
    heads = models.PositiveSmallIntegerField(_("people a shift"), default=1)
    request = models.ForeignKey(
        StaffingRequest, null=True, blank=True, on_delete=models.SET_NULL, related_name="posts"
    )
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("post")
        verbose_name_plural = _("posts")
        ordering = ["area_code", "name"]

    def __str__(self) -> str:
        return self.name


class ShiftStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    OPEN = "open", _("Open: needs someone")
    PROPOSED = "proposed", _("Replacement proposed")


class ShiftQuerySet(ScopedQuerySet):
    def covering(self, when):
        return self.filter(starts_at__lte=when, ends_at__gt=when)


class Shift(models.Model):
    """班次: one person at one post for one span of time (open when nobody is on it)."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="shifts")
    area_code = models.CharField(max_length=18, db_index=True)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    worker = models.ForeignKey(
        Worker, null=True, blank=True, on_delete=models.SET_NULL, related_name="shifts"
    )
    status = models.CharField(max_length=10, choices=ShiftStatus.choices, default="planned")
    proposed = models.ForeignKey(
        Worker, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    opened_reason = models.CharField(max_length=200, blank=True)
    no_show_at = models.DateTimeField(null=True, blank=True)
    # Claimed by a watcher (conditional UPDATE) before it tells anyone.
    watch_claimed_at = models.DateTimeField(null=True, blank=True)

    objects = ShiftQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at", "post_id", "id"]
        indexes = [
            models.Index(fields=["starts_at", "no_show_at"], name="shift_watch"),
            models.Index(fields=["worker", "starts_at"], name="shift_worker_start"),
        ]

    def __str__(self) -> str:
        return f"{self.post} {self.starts_at:%m-%d %H:%M}"

    @property
    def hours(self) -> float:
        return (self.ends_at - self.starts_at).total_seconds() / 3600


class AttendanceQuerySet(ScopedQuerySet):
    def on_duty(self):
        return self.filter(check_out_at__isnull=True)


class Attendance(models.Model):
    """值守: a check-in at a post and, later, its check-out. The phone's client ids make
    a replay answer the stored record instead of writing another."""

    worker = models.ForeignKey(Worker, on_delete=models.CASCADE, related_name="attendance")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="attendance")
    shift = models.ForeignKey(Shift, null=True, blank=True, on_delete=models.SET_NULL)
    area_code = models.CharField(max_length=18, db_index=True)
    in_client_id = models.CharField(max_length=64, unique=True)
    check_in_at = models.DateTimeField()
    in_received_at = models.DateTimeField(default=timezone.now)
    out_client_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    check_out_at = models.DateTimeField(null=True, blank=True)
    out_received_at = models.DateTimeField(null=True, blank=True)
    clock_skew = models.BooleanField(default=False)

    objects = AttendanceQuerySet.as_manager()

    class Meta:
        ordering = ["-check_in_at", "-id"]
        indexes = [models.Index(fields=["worker", "check_in_at"], name="attendance_worker")]

    def __str__(self) -> str:
        return f"{self.worker} @ {self.post}"

    @property
    def hours(self) -> float:
        end = self.check_out_at or timezone.now()
        return max(0.0, (end - self.check_in_at).total_seconds() / 3600)


# Call-outs --------------------------------------------------------------------------------


class CallOutStatus(models.TextChoices):
    OPEN = "open", _("Open")
    FILLED = "filled", _("Filled")
    CANCELLED = "cancelled", _("Cancelled")
    EXPIRED = "expired", _("Expired")


class CallOutQuerySet(ScopedQuerySet):
    def for_user(self, user):
        if user is not None and user.is_authenticated and user.role == Role.WORKER:
            return self.filter(responses__worker__user_id=user.pk).distinct()
        return super().for_user(user)


class CallOut(models.Model):
    """紧急召集: need N people with skill S at place P now. `accepted` is the counter a
    conditional UPDATE raises, so exactly `needed` accept however many answer at once."""

    area = models.ForeignKey("areas.Area", on_delete=models.PROTECT, related_name="+")
    area_code = models.CharField(max_length=18, db_index=True)
    place = models.CharField(_("place"), max_length=200)
    lat = models.FloatField()
    lon = models.FloatField()
    skill = models.ForeignKey(Skill, null=True, blank=True, on_delete=models.PROTECT)
    needed = models.PositiveIntegerField(_("people needed"))
    accepted = models.PositiveIntegerField(default=0)
    radius_km = models.FloatField()
    note = models.CharField(max_length=200, blank=True)
    # Urgent to all: also calls those whose shift starts soon (policy shift_soon_minutes).
    urgent = models.BooleanField(_("urgent to all"), default=False)
    status = models.CharField(max_length=10, choices=CallOutStatus.choices, default="open")
    notified = models.PositiveIntegerField(default=0)
    client_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    closes_at = models.DateTimeField()
    filled_at = models.DateTimeField(null=True, blank=True)
    fanout_seconds = models.FloatField(null=True, blank=True)

    objects = CallOutQuerySet.as_manager()

    class Meta:
        verbose_name = _("call-out")
        verbose_name_plural = _("call-outs")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.place} × {self.needed}"


class Answer(models.TextChoices):
    NOTIFIED = "notified", _("Notified")
    ACCEPTED = "accepted", _("Accepted")
    TOO_LATE = "too_late", _("Too late: filled")
    DECLINED = "declined", _("Declined")


class CallOutResponse(models.Model):
    callout = models.ForeignKey(CallOut, on_delete=models.CASCADE, related_name="responses")
    worker = models.ForeignKey(Worker, on_delete=models.CASCADE, related_name="+")
    answer = models.CharField(max_length=10, choices=Answer.choices, default="notified")
    notified_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["callout", "worker"], name="callout_once_a_worker")
        ]
        indexes = [models.Index(fields=["worker", "answer"], name="callout_worker_answer")]

    def __str__(self) -> str:
        return f"{self.callout_id}: {self.worker_id} {self.answer}"

    @property
    def seconds(self) -> float | None:
        if self.answered_at is None:
            return None
        return (self.answered_at - self.notified_at).total_seconds()
