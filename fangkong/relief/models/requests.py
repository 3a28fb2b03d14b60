"""Residents' needs (民生诉求): categories, the request and its history, dispatch
teams and batches, escalations, and the submissions that make a retry harmless."""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from fangkong.core import pii
from fangkong.core.roles import Role
from fangkong.core.scoping import AreaScopedModel, ScopedQuerySet, prefix_q
from fangkong.core.sight import sees


class Kind(models.TextChoices):
    """What a category is, for the numbers and for whom to send (a community's own
    categories pick one of these)."""

    GROCERIES = "groceries", _("Groceries")
    MEDICINE = "medicine", _("Medicine purchase")
    PRESCRIPTION = "prescription", _("Prescription refill")
    GAS_CYLINDER = "gas_cylinder", _("Gas cylinder")
    UTILITY_TOPUP = "utility_topup", _("Gas / power / water card top-up")
    TRANSPORT_DIALYSIS = "transport_dialysis", _("Transport: dialysis")
    TRANSPORT_CHEMO = "transport_chemo", _("Transport: chemotherapy")
    TRANSPORT_PRENATAL = "transport_prenatal", _("Transport: prenatal care")
    TRANSPORT_EMERGENCY = "transport_emergency", _("Transport: emergency")
    MOBILITY_AIDS = "mobility_aids", _("Mobility aids")
    MEALS = "meals", _("Meals")
    STUDY = "study", _("Study materials")
    COUNSELLING = "counselling", _("Counselling")
    PETS = "pets", _("Pets")
    OTHER = "other", _("Other")
    CARE_FOLLOWUP = "care_followup", _("Care follow-up")


class Skill(models.TextChoices):
    NONE = "", _("Anyone")
    DRIVER = "driver", _("Driver")
    MEDICAL = "medical", _("Medical")
    COUNSELLOR = "counsellor", _("Counsellor")


TRANSPORT_KINDS = frozenset(k for k in Kind if k.startswith("transport_"))
MEDICINE_KINDS = frozenset({Kind.MEDICINE, Kind.PRESCRIPTION})
SKILL_OF_KIND: dict[str, Skill] = {
    **dict.fromkeys(TRANSPORT_KINDS, Skill.DRIVER),
    **dict.fromkeys(MEDICINE_KINDS, Skill.MEDICAL),
    Kind.COUNSELLING: Skill.COUNSELLOR,
}


class Urgency(models.TextChoices):
    CRITICAL = "critical", _("Critical")
    URGENT = "urgent", _("Urgent")
    NORMAL = "normal", _("Normal")


class Status(models.TextChoices):
    OPEN = "open", _("Waiting for dispatch")
    ASSIGNED = "assigned", _("Dispatched")
    ACCEPTED = "accepted", _("Accepted")
    PICKED_UP = "picked_up", _("On the way")
    DELIVERED = "delivered", _("Delivered")
    CONFIRMED = "confirmed", _("Delivered and confirmed")
    CANCELLED = "cancelled", _("Cancelled")


# A need that is still waiting to be met: the SLA watch and the duplicate rule look here.
ACTIVE = (Status.OPEN, Status.ASSIGNED, Status.ACCEPTED, Status.PICKED_UP)
RESOLVED = (Status.DELIVERED, Status.CONFIRMED)


class Channel(models.TextChoices):
    SELF = "self", _("By the resident")
    FAMILY = "family", _("By a family member")
    ON_BEHALF = "on_behalf", _("By a worker, for the resident")
    SCHEDULED = "scheduled", _("Scheduled treatment")
    CARE = "care", _("Proactive care")


class CategoryQuerySet(models.QuerySet):
    def for_area(self, code: str):
        """Active categories offered in the area: the built-in ones and those its
        community (or a street or district above it) added."""
        codes = [code[:n] for n in (6, 9, 12) if len(code) >= n]
        return self.filter(Q(area_code="") | Q(area_code__in=codes), active=True)


class Category(models.Model):
    """A kind of need on the list residents pick from. The built-in ones have no area; a
    community adds its own (area_code = the community's)."""

    code = models.SlugField(_("code"), max_length=40)
    name_zh = models.CharField(_("name (Chinese)"), max_length=40)
    name_en = models.CharField(_("name (English)"), max_length=60)
    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices, default=Kind.OTHER)
    urgency = models.CharField(
        _("default urgency"), max_length=10, choices=Urgency.choices, default=Urgency.NORMAL
    )
    area_code = models.CharField(_("area code"), max_length=18, blank=True)
    for_residents = models.BooleanField(_("residents may pick it"), default=True)
    active = models.BooleanField(_("active"), default=True)
    order = models.PositiveSmallIntegerField(_("order"), default=100)

    objects = CategoryQuerySet.as_manager()

    class Meta:
        verbose_name = _("category of need")
        verbose_name_plural = _("categories of need")
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["area_code", "code"], name="relief_category_code")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        if (get_language() or "").startswith("en") and self.name_en:
            return self.name_en
        return self.name_zh

    @property
    def skill(self) -> str:
        return SKILL_OF_KIND.get(self.kind, Skill.NONE)


class DispatchTeamQuerySet(ScopedQuerySet):
    pass


class DispatchTeam(AreaScopedModel):
    """A few users of one community who take deliveries together (1 leader + members).
    (The workforce app's teams may later feed these.)"""

    name = models.CharField(_("name"), max_length=60)
    community = models.ForeignKey(
        "areas.Area", verbose_name=_("community"), on_delete=models.PROTECT, related_name="+"
    )
    area_code_from = "community.code"
    leader = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("leader"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("members"), related_name="relief_teams"
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = DispatchTeamQuerySet.as_manager()

    class Meta:
        verbose_name = _("delivery team")
        verbose_name_plural = _("delivery teams")
        ordering = ["area_code", "name"]
        constraints = [
            models.UniqueConstraint(fields=["community", "name"], name="relief_team_name")
        ]

    def __str__(self) -> str:
        return self.name


class DispatchBatch(models.Model):
    """Many needs given to one worker or team at once (the 30 grocery orders of a building)."""

    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    team = models.ForeignKey(
        DispatchTeam, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    area_code = models.CharField(_("area code"), max_length=18, db_index=True)
    size = models.PositiveIntegerField(_("needs"), default=0)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("dispatch batch")
        verbose_name_plural = _("dispatch batches")

    def __str__(self) -> str:
        return f"#{self.pk} ({self.size})"


class ReliefRequestQuerySet(ScopedQuerySet):
    def in_jurisdiction(self, user):
        """Needs in the user's area subtrees (the queue's scope); residents: none."""
        if user.role == Role.RESIDENT or not sees(user, "relief.needs"):
            return self.none()
        return super().for_user(user)

    def for_user(self, user):
        """What a user may read: a resident their household's needs; a volunteer the
        tasks given to them or their team; staff their jurisdiction's and their own.
        A role that does not see needs (core.sight "relief.needs") reads none."""
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if not sees(user, "relief.needs"):
            return self.none()
        if user.role == Role.RESIDENT:
            if user.resident_id is None:
                return self.none()
            return self.filter(household__residents__id=user.resident_id)
        mine = Q(assignee_id=user.pk) | Q(
            assignee__isnull=True,
            team_id__in=DispatchTeam.objects.filter(members=user).values("id"),
        )
        if user.role == Role.WORKER:
            return self.filter(mine)
        return self.filter(prefix_q(self.scope_field, user.scope_prefixes()) | mine)

    def active(self):
        return self.filter(status__in=ACTIVE)

    def overdue(self, now=None):
        return self.active().filter(deadline__lt=now or timezone.now())


def new_confirm_code() -> str:
    return f"{secrets.randbelow(10**6):06d}"


class ReliefRequest(models.Model):
    """One need of one household: what, how urgent, by when, who carries it, and where
    it stands. Every change is a `RequestEvent`; nothing is ever deleted."""

    household = models.ForeignKey(
        "areas.Household", verbose_name=_("household"), on_delete=models.PROTECT, related_name="+"
    )
    area_code = models.CharField(_("area code"), max_length=18)
    resident = models.ForeignKey(
        "people.Resident",
        verbose_name=_("for"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    category = models.ForeignKey(
        Category, verbose_name=_("category"), on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    urgency = models.CharField(_("urgency"), max_length=10, choices=Urgency.choices)
    detail = models.TextField(_("what is needed"), max_length=1000, blank=True)
    channel = models.CharField(
        _("registered"), max_length=10, choices=Channel.choices, default=Channel.SELF
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )

    registered_at = models.DateTimeField(_("registered at"), default=timezone.now)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("registered by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    registered_by_name = models.CharField(max_length=150, blank=True)
    deadline = models.DateTimeField(_("deadline"))
    sla_version = models.PositiveIntegerField(_("SLA version"), default=0)
    sla_minutes = models.PositiveIntegerField(_("SLA minutes"), default=0)

    contact_name = models.CharField(_("contact"), max_length=100, blank=True)
    contact_phone_cipher = models.BinaryField(default=b"", blank=True)
    contact_phone_masked = models.CharField(_("contact phone"), max_length=20, blank=True)
    confirm_code = models.CharField(_("confirmation code"), max_length=6, default=new_confirm_code)
    code_attempts = models.PositiveSmallIntegerField(default=0)

    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="relief_tasks",
    )
    team = models.ForeignKey(
        DispatchTeam,
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    batch = models.ForeignKey(
        DispatchBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="requests"
    )
    assigned_at = models.DateTimeField(_("dispatched at"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    picked_up_at = models.DateTimeField(_("picked up at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    proof = models.CharField(_("proof"), max_length=10, blank=True)
    photo = models.FileField(_("photo"), upload_to="relief/%Y/%m/%d/", blank=True)
    problem = models.CharField(_("last problem"), max_length=300, blank=True)
    repeats = models.PositiveIntegerField(_("asked again"), default=0)
    reopened = models.PositiveIntegerField(_("reopened"), default=0)
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)

    # A scheduled treatment transport (many open at once, one a trip).
    plan = models.ForeignKey(
        "relief.TreatmentPlan", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    scheduled_for = models.DateTimeField(_("scheduled for"), null=True, blank=True)

    objects = ReliefRequestQuerySet.as_manager()

    class Meta:
        verbose_name = _("need")
        verbose_name_plural = _("needs")
        constraints = [
            # The same need twice from one household while the first is open is one need.
            models.UniqueConstraint(
                fields=["household", "category"],
                condition=Q(status__in=ACTIVE, plan__isnull=True),
                name="relief_one_open_need",
            ),
            models.UniqueConstraint(
                fields=["plan", "scheduled_for"],
                condition=Q(plan__isnull=False),
                name="relief_one_trip",
            ),
        ]
        indexes = [
            # The queue: open needs by deadline (keyset paging on deadline, id).
            models.Index(
                fields=["deadline", "id"], condition=Q(status__in=ACTIVE), name="relief_queue"
            ),
            # The SLA watch: open needs not yet escalated, by deadline.
            models.Index(
                fields=["deadline"],
                condition=Q(status__in=ACTIVE, escalated_at__isnull=True),
                name="relief_watch",
            ),
            models.Index(
                fields=["area_code"], name="relief_area_prefix", opclasses=["varchar_pattern_ops"]
            ),
            models.Index(fields=["assignee", "status"], name="relief_assignee"),
            models.Index(fields=["household", "status"], name="relief_household"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.category}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE

    # The labels a list shows on every row (cheaper than get_FOO_display, which builds the
    # field's choices afresh on each call).
    @property
    def urgency_label(self):
        return Urgency(self.urgency).label

    @property
    def status_label(self):
        return Status(self.status).label

    @property
    def is_overdue(self) -> bool:
        return self.is_active and self.deadline < timezone.now()

    @property
    def met_deadline(self) -> bool | None:
        if self.delivered_at is None:
            return None
        return self.delivered_at <= self.deadline

    def contact_phone(self) -> str:
        """The contact's full number: only for callers that audit the view."""
        return pii.decrypt(self.contact_phone_cipher)


class EventKind(models.TextChoices):
    REGISTERED = "registered", _("Registered")
    MERGED = "merged", _("Asked again (merged)")
    URGENCY = "urgency", _("Urgency changed")
    DISPATCHED = "dispatched", _("Dispatched")
    ACCEPTED = "accepted", _("Accepted")
    PICKED_UP = "picked_up", _("Picked up")
    DELIVERED = "delivered", _("Delivered")
    CONFIRMED = "confirmed", _("Confirmed by the resident")
    COMPLAINED = "complained", _("Complaint")
    REOPENED = "reopened", _("Reopened")
    PROBLEM = "problem", _("Problem")
    CANCELLED = "cancelled", _("Cancelled")
    ESCALATED = "escalated", _("Escalated")
    CALLED = "called", _("Phone number shown")


class RequestEvent(models.Model):
    """One step of a need's history: what, when, by whom; never edited."""

    request = models.ForeignKey(ReliefRequest, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(_("time"), default=timezone.now)
    kind = models.CharField(_("step"), max_length=12, choices=EventKind.choices)
    status = models.CharField(_("status after"), max_length=10, choices=Status.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(_("by"), max_length=150, blank=True)
    note = models.CharField(_("note"), max_length=1000, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("need history")
        verbose_name_plural = _("need history")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["request", "at"], name="relief_event_request")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.kind}"


class Submission(models.Model):
    """Every ask, keyed by who sent it and the id their device made: a retry finds its
    answer here and changes nothing (created or merged)."""

    actor_key = models.CharField(max_length=150)
    client_id = models.CharField(max_length=64)
    request = models.ForeignKey(ReliefRequest, on_delete=models.CASCADE, related_name="+")
    merged = models.BooleanField(default=False)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["actor_key", "client_id"], name="relief_submission_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.actor_key}:{self.client_id}"


class EscalationQuerySet(ScopedQuerySet):
    def unresolved(self):
        return self.filter(resolved_at__isnull=True)


class Escalation(models.Model):
    """An overdue need raised to the levels the SLA policy names; tracked until the need
    is met (resolved) and acknowledged by someone who took it in hand."""

    request = models.ForeignKey(ReliefRequest, on_delete=models.CASCADE, related_name="escalations")
    area_code = models.CharField(_("area code"), max_length=18, db_index=True)
    at = models.DateTimeField(_("escalated at"), default=timezone.now)
    urgency = models.CharField(_("urgency"), max_length=10, choices=Urgency.choices)
    levels = models.JSONField(_("told"), default=list)
    notified = models.PositiveIntegerField(_("people told"), default=0)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(_("note"), max_length=300, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)

    objects = EscalationQuerySet.as_manager()

    class Meta:
        verbose_name = _("escalation")
        verbose_name_plural = _("escalations")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(
                fields=["area_code"],
                condition=Q(resolved_at__isnull=True),
                name="relief_escalation_open",
            )
        ]

    def __str__(self) -> str:
        return f"{self.request_id} {self.at:%Y-%m-%d %H:%M}"


class Proof(models.TextChoices):
    CODE = "code", _("Confirmation code")
    PHOTO = "photo", _("Photo")
