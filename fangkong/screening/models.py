"""Screening and exposure: the people it tracks, their control statuses, trace tasks
("2+6"), household screening campaigns (摸排), venues, scan batches and match runs.

Venue scans themselves are not here: they are stored for analytics outside the
transactional tables (fangkong/screening/analytics, Parquet by day); `ScanBatch` is
only the record of who sent which batch.

Everything that is about a person lives in the area tree (`area_code`) and is read
through `for_user(user)`: a community sees its own people, statuses and tasks.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fangkong.core import pii
from fangkong.core.idnumbers import IdType
from fangkong.core.scoping import AreaScopedModel, ScopedQuerySet, prefix_q, touching_q

# A btree on (campaign, code) that also serves `code LIKE 'prefix%'` on PostgreSQL.
ID_CODE_OPCLASSES = ["int8_ops", "varchar_pattern_ops"]


class ControlKind(models.TextChoices):
    NONE = "none", _("No control")
    HEALTH_MONITORING = "health_monitoring", _("Health monitoring")
    HOME_MONITORING = "home_monitoring", _("Home health monitoring")
    HOME_ISOLATION = "home_isolation", _("Home isolation")
    CENTRALISED_ISOLATION = "centralised_isolation", _("Centralised isolation")
    HOSPITAL = "hospital", _("In hospital")
    RELEASED = "released", _("Released")


class PersonQuerySet(ScopedQuerySet):
    pass


class Person(models.Model):
    """Someone the screening app tracks: a resident (linked), or a person found who is on
    no roster (a visitor, a traveller), registered with the same ID rules and attached to
    the area where they were found.

    `person_key` is the keyed hash of the identity document, the same value as the
    resident's `id_hash` and as the venue-scan store's person key: one person, one row.
    `area_code` is where they live (a resident's building when first tracked) or where
    they were found.
    """

    resident = models.OneToOneField(
        "people.Resident",
        verbose_name=_("resident"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    person_key = models.CharField(_("person key"), max_length=40)
    name = models.CharField(_("name"), max_length=100)
    id_type = models.CharField(
        _("document type"), max_length=2, choices=IdType.choices, default=IdType.MAINLAND
    )
    id_cipher = models.BinaryField(_("document number (encrypted)"), blank=True, default=b"")
    id_masked = models.CharField(_("document number"), max_length=24)
    phone_cipher = models.BinaryField(_("phone (encrypted)"), blank=True, default=b"")
    phone_masked = models.CharField(_("phone"), max_length=20, blank=True)
    area_code = models.CharField(_("area code"), max_length=18)
    found = models.BooleanField(_("found (not on a roster)"), default=False)
    found_note = models.CharField(_("where and how found"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = PersonQuerySet.as_manager()

    class Meta:
        verbose_name = _("tracked person")
        verbose_name_plural = _("tracked people")
        constraints = [models.UniqueConstraint(fields=["person_key"], name="person_unique_key")]
        indexes = [
            models.Index(
                fields=["area_code"], name="person_area", opclasses=["varchar_pattern_ops"]
            )
        ]

    def __str__(self) -> str:
        return self.name

    def id_number(self) -> str:
        return pii.decrypt(self.id_cipher)

    def phone(self) -> str:
        return pii.decrypt(self.phone_cipher)


class ControlStatusQuerySet(ScopedQuerySet):
    sight = "screening.status"

    def current(self):
        return self.filter(ended_at__isnull=True)


class ControlStatus(models.Model):
    """One span of a person's control status: what, from when, planned until when (from
    the policy in force at its start, whose version it keeps), who set it and why. A
    change ends the current span and starts the next; nothing is ever deleted."""

    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.PROTECT, related_name="statuses"
    )
    area_code = models.CharField(_("area code"), max_length=18)
    kind = models.CharField(_("status"), max_length=24, choices=ControlKind.choices)
    starts_at = models.DateTimeField(_("starts"))
    planned_end = models.DateTimeField(_("planned end"), null=True, blank=True)
    # The measure's next step, when there is one (7 days centralised, *then 3 at home*).
    then_kind = models.CharField(_("then"), max_length=24, choices=ControlKind.choices, blank=True)
    then_days = models.PositiveSmallIntegerField(_("then, days"), default=0)
    category = models.CharField(_("contact category"), max_length=12, blank=True)
    policy_version = models.PositiveIntegerField(_("policy version"), null=True, blank=True)
    reason = models.TextField(_("reason"))
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("set by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    set_by_name = models.CharField(_("set by"), max_length=150)
    task = models.ForeignKey(
        "TraceTask",
        verbose_name=_("trace task"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)

    objects = ControlStatusQuerySet.as_manager()

    class Meta:
        verbose_name = _("control status")
        verbose_name_plural = _("control statuses")
        ordering = ["-starts_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["person"], condition=Q(ended_at__isnull=True), name="status_one_current"
            )
        ]
        indexes = [
            models.Index(fields=["person", "starts_at"], name="status_person_time"),
            models.Index(
                fields=["area_code"],
                condition=Q(ended_at__isnull=True),
                name="status_current_area",
                opclasses=["varchar_pattern_ops"],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} {self.kind}"


class Category(models.TextChoices):
    """Why a person is a key person; ordered from the strongest (a task matched twice
    keeps the strongest category)."""

    CLOSE = "close", _("Close contact")
    SECONDARY = "secondary", _("Secondary contact")
    COMPANION = "companion", _("Time-space companion")
    RISK_AREA = "risk_area", _("From a risk area")
    SYMPTOMS = "symptoms", _("Symptoms reported")


CATEGORY_RANK = {c: i for i, c in enumerate(Category.values)}


class TaskState(models.TextChoices):
    OPEN = "open", _("Open")
    REACHED = "reached", _("Reached")
    CONTROLLED = "controlled", _("Controlled")
    UNREACHABLE = "unreachable", _("Unreachable")
    HANDED_OVER = "handed_over", _("Out of jurisdiction (handed over)")


ACTIVE_STATES = (TaskState.OPEN, TaskState.REACHED, TaskState.UNREACHABLE)


class TaskSource(models.TextChoices):
    MATCH = "match", _("Exposure match")
    CAMPAIGN = "campaign", _("Household screening")
    HAND_OVER = "hand_over", _("Hand-over from another district")
    MANUAL = "manual", _("Entered by hand")


class TraceTaskQuerySet(ScopedQuerySet):
    sight = "screening.trace"

    def active(self):
        return self.filter(state__in=ACTIVE_STATES)

    def overdue(self, now=None):
        return self.active().filter(deadline__lt=now or timezone.now())

    def by_time_left(self):
        return self.order_by("deadline", "id")


class TraceTask(models.Model):
    """A key person to reach and control by a deadline ("2+6").

    Assigned to the community of the person's household, or, for a person on no roster,
    where they were found: `area_code` is that building or area, so the community, its
    street and the grid worker of the building see it. One active task a person: a second
    match merges into it (evidence appended, the stronger category kept).
    """

    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.PROTECT, related_name="tasks"
    )
    area_code = models.CharField(_("area code"), max_length=18)
    category = models.CharField(_("category"), max_length=12, choices=Category.choices)
    degree = models.PositiveSmallIntegerField(_("degree"), default=1)
    state = models.CharField(
        _("state"), max_length=12, choices=TaskState.choices, default=TaskState.OPEN
    )
    source = models.CharField(_("source"), max_length=10, choices=TaskSource.choices)
    reason = models.CharField(_("why"), max_length=300)
    # Why they were matched: [{"case": …, "venue": …, "case_at": …, "contact_at": …,
    # "minutes_apart": …, "run": …}, …] (match runs), or what a screening answer said.
    evidence = models.JSONField(_("evidence"), default=list, blank=True)
    raised_at = models.DateTimeField(_("raised at"))
    deadline = models.DateTimeField(_("deadline"))
    deadline_version = models.PositiveIntegerField(_("deadline policy version"), default=0)
    measures_version = models.PositiveIntegerField(_("measures policy version"), default=0)
    match_run = models.ForeignKey(
        "MatchRun",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    client_id = models.CharField(_("client id"), max_length=64, blank=True)
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reached_at = models.DateTimeField(_("reached at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Claimed by `screening_watch` (a conditional UPDATE) when the task is overdue.
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)

    objects = TraceTaskQuerySet.as_manager()

    class Meta:
        verbose_name = _("trace task")
        verbose_name_plural = _("trace tasks")
        ordering = ["deadline", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["person"],
                condition=Q(state__in=["open", "reached", "unreachable"]),
                name="task_one_active_a_person",
            ),
            models.UniqueConstraint(
                fields=["client_id"], condition=~Q(client_id=""), name="task_unique_client_id"
            ),
        ]
        indexes = [
            models.Index(
                fields=["area_code", "deadline"],
                condition=Q(state__in=["open", "reached", "unreachable"]),
                name="task_active_area_deadline",
                opclasses=["varchar_pattern_ops", "timestamptz_ops"],
            ),
            models.Index(
                fields=["deadline"],
                condition=Q(
                    state__in=["open", "reached", "unreachable"], escalated_at__isnull=True
                ),
                name="task_to_escalate",
            ),
            models.Index(fields=["person", "raised_at"], name="task_person_time"),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} {self.category} {self.state}"

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES

    def seconds_left(self, now=None) -> int:
        return int((self.deadline - (now or timezone.now())).total_seconds())


class AttemptChannel(models.TextChoices):
    PHONE = "phone", _("Phone call")
    VISIT = "visit", _("Visit")
    OTHER = "other", _("Other")


class TraceAttempt(models.Model):
    """An attempt to reach a task's person that did not reach them."""

    task = models.ForeignKey(TraceTask, on_delete=models.CASCADE, related_name="attempt_log")
    at = models.DateTimeField(_("at"), default=timezone.now)
    channel = models.CharField(_("how"), max_length=8, choices=AttemptChannel.choices)
    note = models.CharField(_("note"), max_length=300, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    by_name = models.CharField(_("by"), max_length=150)

    class Meta:
        verbose_name = _("trace attempt")
        verbose_name_plural = _("trace attempts")
        ordering = ["task", "at", "id"]

    def __str__(self) -> str:
        return f"{self.task_id} {self.channel} {self.at:%H:%M}"


class HandOverQuerySet(models.QuerySet):
    def for_user(self, user):
        """What the sending side sees (from its area) and what the receiving district
        sees (addressed to it)."""
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        prefixes = user.scope_prefixes()
        # A receiver's scope may lie under the district the hand-over is addressed to.
        to_mine = Q(to_district__in=[p[:6] for p in prefixes if len(p) >= 6])
        return self.filter(prefix_q("from_area_code", prefixes) | to_mine)


class HandOver(models.Model):
    """A task handed to another district: the record the receiver reads. It holds only
    what the receiver needs to find and control the person (who, how to reach them, why,
    by when), never the sending side's evidence, notes or other people."""

    task = models.OneToOneField(TraceTask, on_delete=models.PROTECT, related_name="hand_over")
    from_area_code = models.CharField(_("from"), max_length=18)
    to_district = models.CharField(_("to district"), max_length=6, db_index=True)
    name = models.CharField(_("name"), max_length=100)
    id_type = models.CharField(_("document type"), max_length=2, choices=IdType.choices)
    id_cipher = models.BinaryField(_("document number (encrypted)"))
    id_masked = models.CharField(_("document number"), max_length=24)
    phone_cipher = models.BinaryField(_("phone (encrypted)"), blank=True, default=b"")
    phone_masked = models.CharField(_("phone"), max_length=20, blank=True)
    category = models.CharField(_("category"), max_length=12, choices=Category.choices)
    exposed_on = models.DateField(_("last exposure"), null=True, blank=True)
    where_now = models.CharField(_("where they are now"), max_length=200)
    reason = models.TextField(_("reason"))
    sent_at = models.DateTimeField(_("sent at"), default=timezone.now)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sent_by_name = models.CharField(_("sent by"), max_length=150)
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    accepted_task = models.ForeignKey(
        TraceTask, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = HandOverQuerySet.as_manager()

    class Meta:
        verbose_name = _("hand-over")
        verbose_name_plural = _("hand-overs")
        ordering = ["-sent_at", "-id"]

    def __str__(self) -> str:
        return f"{self.task_id} → {self.to_district}"

    def id_number(self) -> str:
        return pii.decrypt(self.id_cipher)

    def phone(self) -> str:
        return pii.decrypt(self.phone_cipher)


# Household screening campaigns (摸排) ---------------------------------------------------


class CampaignStatus(models.TextChoices):
    ACTIVE = "active", _("Under way")
    CLOSED = "closed", _("Closed")


class CampaignQuerySet(models.QuerySet):
    def for_user(self, user):
        """Campaigns over, inside or above the user's jurisdiction."""
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        touching = CampaignArea.objects.filter(touching_q("area_code", user.scope_prefixes()))
        return self.filter(pk__in=touching.values("campaign_id"))

    def active(self):
        return self.filter(status=CampaignStatus.ACTIVE)


class Campaign(models.Model):
    """摸排: screening every household of some areas with a short form."""

    name = models.CharField(_("name"), max_length=100)
    status = models.CharField(
        _("status"), max_length=10, choices=CampaignStatus.choices, default=CampaignStatus.ACTIVE
    )
    starts_at = models.DateTimeField(_("starts"), default=timezone.now)
    deadline = models.DateTimeField(_("deadline"))
    risk_places = models.TextField(
        _("risk areas"),
        blank=True,
        help_text=_("Places whose travellers are flagged, one a line (shown on the form)."),
    )
    note = models.TextField(_("note"), blank=True)
    launched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    launched_at = models.DateTimeField(_("launched at"), default=timezone.now)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    close_reason = models.TextField(_("reason for closing"), blank=True)

    objects = CampaignQuerySet.as_manager()

    class Meta:
        verbose_name = _("screening campaign")
        verbose_name_plural = _("screening campaigns")
        ordering = ["-starts_at", "-id"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.status == CampaignStatus.ACTIVE


class CampaignArea(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="campaign_areas")
    area = models.ForeignKey("areas.Area", on_delete=models.PROTECT, related_name="+")
    area_code = models.CharField(_("area code"), max_length=18, db_index=True)

    class Meta:
        verbose_name = _("campaign area")
        verbose_name_plural = _("campaign areas")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "area"], name="campaignarea_unique")
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}:{self.area_code}"


class CampaignCoverage(models.Model):
    """Per campaign and building: households there at launch, done, and visited without
    an answer (nobody home, refused). Not yet = households − done. Moved by the answer
    service in the answer's transaction; coverage of any area is a sum over a prefix."""

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="coverage", db_index=False
    )
    area_code = models.CharField(_("building"), max_length=18)
    households = models.PositiveIntegerField(_("households"), default=0)
    done = models.IntegerField(_("done"), default=0)
    open_visited = models.IntegerField(_("visited, still open"), default=0)

    class Meta:
        verbose_name = _("campaign coverage")
        verbose_name_plural = _("campaign coverage")
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "area_code"],
                name="campaigncoverage_unique",
                opclasses=ID_CODE_OPCLASSES,
            )
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}:{self.area_code} {self.done}/{self.households}"


class VisitOutcome(models.TextChoices):
    DONE = "done", _("Screened")
    NOBODY_HOME = "nobody_home", _("Nobody home")
    REFUSED = "refused", _("Refused")


class VisitMethod(models.TextChoices):
    DOOR = "door", _("Door to door")
    PHONE = "phone", _("By phone")
    SHEET = "sheet", _("From a spreadsheet")


class HouseholdVisitQuerySet(ScopedQuerySet):
    pass


class HouseholdVisit(models.Model):
    """One visit (or call) to a household in a campaign. "Nobody home" and "refused"
    keep the household open; `CampaignHousehold` keeps where each household stands."""

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="visits", db_index=False
    )
    household = models.ForeignKey(
        "areas.Household", verbose_name=_("household"), on_delete=models.PROTECT, related_name="+"
    )
    area_code = models.CharField(_("building"), max_length=18)
    outcome = models.CharField(_("outcome"), max_length=12, choices=VisitOutcome.choices)
    method = models.CharField(_("how"), max_length=6, choices=VisitMethod.choices)
    note = models.CharField(_("note"), max_length=300, blank=True)
    client_id = models.CharField(_("client id"), max_length=64)
    at = models.DateTimeField(_("at"), default=timezone.now)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    by_name = models.CharField(_("by"), max_length=150)

    objects = HouseholdVisitQuerySet.as_manager()

    class Meta:
        verbose_name = _("household visit")
        verbose_name_plural = _("household visits")
        ordering = ["-at", "-id"]
        constraints = [models.UniqueConstraint(fields=["client_id"], name="visit_unique_client_id")]
        indexes = [models.Index(fields=["campaign", "household"], name="visit_campaign_household")]

    def __str__(self) -> str:
        return f"{self.household_id} {self.outcome}"


class CampaignHousehold(models.Model):
    """Where a household stands in a campaign: its last visit's outcome, by whom."""

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    household = models.ForeignKey("areas.Household", on_delete=models.PROTECT, related_name="+")
    area_code = models.CharField(_("building"), max_length=18)
    outcome = models.CharField(_("outcome"), max_length=12, choices=VisitOutcome.choices)
    visits = models.PositiveSmallIntegerField(_("visits"), default=0)
    last_visit = models.ForeignKey(HouseholdVisit, on_delete=models.PROTECT, related_name="+")
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    by_name = models.CharField(_("by"), max_length=150)
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("household in a campaign")
        verbose_name_plural = _("households in a campaign")
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "household"], name="campaignhousehold_unique"
            )
        ]
        indexes = [
            models.Index(
                fields=["campaign", "area_code"],
                name="campaignhousehold_area",
                opclasses=ID_CODE_OPCLASSES,
            )
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}:{self.household_id} {self.outcome}"


class Vaccination(models.TextChoices):
    UNKNOWN = "", _("Not asked")
    NONE = "none", _("Not vaccinated")
    PARTIAL = "partial", _("Partly vaccinated")
    FULL = "full", _("Fully vaccinated")
    BOOSTER = "booster", _("Booster")


class ScreeningAnswer(models.Model):
    """One person's answers at a visit: travel in the last 14 days and from where,
    symptoms, contact with a case, vaccination. A flagged answer raises a trace task."""

    visit = models.ForeignKey(HouseholdVisit, on_delete=models.CASCADE, related_name="answers")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    area_code = models.CharField(_("building"), max_length=18)
    travelled = models.BooleanField(_("travelled in the last 14 days"), default=False)
    travel_from = models.CharField(_("from where"), max_length=100, blank=True)
    from_risk_area = models.BooleanField(_("from a risk area"), default=False)
    symptoms = models.BooleanField(_("symptoms"), default=False)
    case_contact = models.BooleanField(_("contact with a case"), default=False)
    vaccination = models.CharField(
        _("vaccination"), max_length=8, choices=Vaccination.choices, blank=True
    )
    task = models.ForeignKey(
        TraceTask, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("screening answer")
        verbose_name_plural = _("screening answers")
        ordering = ["visit", "id"]

    def __str__(self) -> str:
        return f"{self.visit_id}:{self.person_id}"

    @property
    def flag(self) -> str:
        """The category this answer calls for, or "" when it flags nobody."""
        if self.case_contact:
            return Category.CLOSE
        if self.from_risk_area:
            return Category.RISK_AREA
        if self.symptoms:
            return Category.SYMPTOMS
        return ""


# Venues, scan batches, match runs ------------------------------------------------------


class VenueKind(models.TextChoices):
    SHOP = "shop", _("Shop")
    MARKET = "market", _("Market")
    RESTAURANT = "restaurant", _("Restaurant")
    BUS = "bus", _("Bus or taxi")
    OFFICE = "office", _("Office")
    OTHER = "other", _("Other")


class VenueQuerySet(ScopedQuerySet):
    pass


class Venue(AreaScopedModel):
    """A place with a venue code (场所码). `code` is the opaque subject its signed QR
    carries and the `venue_code` its scans are stored under; no database id leaks."""

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=12, choices=VenueKind.choices)
    area = models.ForeignKey(
        "areas.Area", verbose_name=_("area"), on_delete=models.PROTECT, related_name="+"
    )
    address = models.CharField(_("address"), max_length=200, blank=True)
    code = models.CharField(_("venue code"), max_length=40, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = VenueQuerySet.as_manager()

    class Meta:
        verbose_name = _("venue")
        verbose_name_plural = _("venues")
        ordering = ["area_code", "name"]
        constraints = [
            models.UniqueConstraint(fields=["area", "name"], name="venue_unique_name"),
            models.UniqueConstraint(
                fields=["code"], condition=~Q(code=""), name="venue_unique_code"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ScanBatch(models.Model):
    """The record of one batch (or file) of venue scans handed to the analytics store:
    who sent it and what it held. The scans themselves live in the store."""

    client_id = models.CharField(_("client id"), max_length=200)
    source = models.CharField(_("source"), max_length=10)  # api, file
    rows = models.PositiveIntegerField(_("scans stored"), default=0)
    bad_rows = models.PositiveIntegerField(_("rows refused"), default=0)
    days = models.JSONField(_("days"), default=list)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    sent_by_name = models.CharField(_("sent by"), max_length=150)
    # sha256 of the batch's checked rows: a replay with other rows is a conflict.
    digest = models.CharField(_("digest"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("scan batch")
        verbose_name_plural = _("scan batches")
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["client_id"], name="scanbatch_unique_client_id")
        ]

    def __str__(self) -> str:
        return self.client_id


class ScanIdentity(models.Model):
    """Who a person key is, as a scan batch or file told it for someone who may be on
    no roster (a visitor, a traveller): the document (checked by the same ID rules as a
    roster, encrypted, shown masked), the name and the phone (encrypted), and the venue
    where the details first came. Not a tracked person: nobody reads it but a match run,
    which registers the person (`Person`, found) where they were found when they are
    matched as a contact and on no roster. `details_hash` (a keyed hash of the details)
    tells a replay, which changes nothing, from new details, which replace the old."""

    person_key = models.CharField(_("person key"), max_length=40)
    name = models.CharField(_("name"), max_length=100)
    id_type = models.CharField(_("document type"), max_length=2, choices=IdType.choices)
    id_cipher = models.BinaryField(_("document number (encrypted)"))
    id_masked = models.CharField(_("document number"), max_length=24)
    phone_cipher = models.BinaryField(_("phone (encrypted)"), blank=True, default=b"")
    phone_masked = models.CharField(_("phone"), max_length=20, blank=True)
    venue_code = models.CharField(_("venue"), max_length=128)
    seen_at = models.DateTimeField(_("scanned at"))
    details_hash = models.CharField(max_length=40)
    batch = models.CharField(_("batch"), max_length=200)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("identity from a scan")
        verbose_name_plural = _("identities from scans")
        constraints = [
            models.UniqueConstraint(fields=["person_key"], name="scanidentity_unique_key")
        ]
        indexes = [models.Index(fields=["seen_at"], name="scanidentity_seen")]

    def __str__(self) -> str:
        return self.person_key[:8]


class ScanStage(models.Model):
    """The scans of one API batch, acknowledged (committed) and waiting to be written to
    the analytics store. A flush claims rows (`flush` = the first id it took), writes
    their scans to Parquet under that name (idempotent: a crashed flush is redone over
    the same files) and deletes them; matching flushes first, so it sees every scan
    acknowledged. One row a batch: the request does one small insert, not one a scan."""

    batch = models.OneToOneField(
        ScanBatch, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    rows = models.PositiveIntegerField(_("scans"))
    # The checked rows as JSON: [[person_key, venue_code, UTC microseconds], …]
    payload = models.BinaryField(_("scans (JSON)"))
    flush = models.BigIntegerField(_("flush"), null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = _("staged scan batch")
        verbose_name_plural = _("staged scan batches")

    def __str__(self) -> str:
        return f"{self.batch_id}: {self.rows}"


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class MatchRunQuerySet(ScopedQuerySet):
    pass


class MatchRun(models.Model):
    """Exposure matching for one case over its window: who scanned in where the case did
    (within the margin), made into trace tasks. Keeps the policy versions it ran under."""

    case_id = models.BigIntegerField(_("case"))
    case_person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    area_code = models.CharField(_("area code"), max_length=18)
    window_start = models.DateTimeField(_("window from"))
    window_end = models.DateTimeField(_("window to"))
    margin_minutes = models.PositiveIntegerField(_("margin (minutes)"))
    second_degree = models.BooleanField(_("secondary contacts"), default=False)
    matching_version = models.PositiveIntegerField(default=0)
    contacts_version = models.PositiveIntegerField(default=0)
    # A location-ping file given with the run (time-space companions), under the
    # analytics directory, and the companion rule's version it is matched by.
    pings_file = models.CharField(_("location pings"), max_length=300, blank=True)
    companion_version = models.PositiveIntegerField(default=0)
    companions = models.PositiveIntegerField(_("time-space companions"), default=0)
    # The ping file's rows read and left out, and the first bad ones by row and field
    # ([{"row", "field", "zh", "en"}, …]): a malformed ping is reported, never lost.
    pings_rows = models.PositiveIntegerField(_("location pings read"), default=0)
    pings_refused = models.PositiveIntegerField(_("location pings refused"), default=0)
    pings_problems = models.JSONField(_("location ping problems"), default=list, blank=True)
    status = models.CharField(
        _("status"), max_length=8, choices=RunStatus.choices, default=RunStatus.QUEUED
    )
    engine = models.CharField(_("engine"), max_length=40, blank=True)
    contacts = models.PositiveIntegerField(_("contacts"), default=0)
    tasks_created = models.PositiveIntegerField(_("tasks created"), default=0)
    tasks_merged = models.PositiveIntegerField(_("tasks merged"), default=0)
    # Contacts known neither by a roster nor by any detail (listed for the community
    # where they were found, `selectors.unidentified_for`), and contacts on no roster
    # registered from the details their scans carried (`ScanIdentity`).
    unknown = models.PositiveIntegerField(_("unidentified contacts"), default=0)
    registered = models.PositiveIntegerField(_("contacts registered from scans"), default=0)
    seconds = models.FloatField(_("seconds"), default=0)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    objects = MatchRunQuerySet.as_manager()

    class Meta:
        verbose_name = _("match run")
        verbose_name_plural = _("match runs")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"run {self.pk} case {self.case_id}"


class MatchContact(models.Model):
    """A contact a run found: who (by person key), why (the venue, both scan times, how
    far apart), what became of it (the task). A contact known neither by a roster nor by
    any detail keeps its key only (`person` empty), in the area of the venue where it was
    found (the case's community when the venue is not known here), where that community
    sees it among its unidentified contacts."""

    run = models.ForeignKey(MatchRun, on_delete=models.CASCADE, related_name="found")
    person_key = models.CharField(max_length=40)
    person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    area_code = models.CharField(_("area code"), max_length=18, blank=True)
    category = models.CharField(_("category"), max_length=12, choices=Category.choices)
    degree = models.PositiveSmallIntegerField(default=1)
    venue_code = models.CharField(_("venue"), max_length=128)
    case_scanned_at = models.DateTimeField(_("case scanned at"))
    contact_scanned_at = models.DateTimeField(_("contact scanned at"))
    minutes_apart = models.DecimalField(_("minutes apart"), max_digits=9, decimal_places=2)
    task = models.ForeignKey(
        TraceTask, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("matched contact")
        verbose_name_plural = _("matched contacts")
        ordering = ["run", "id"]
        indexes = [
            models.Index(fields=["run", "area_code"], name="contact_run_area"),
            models.Index(
                fields=["area_code"],
                condition=Q(person__isnull=True),
                name="contact_unidentified_area",
                opclasses=["varchar_pattern_ops"],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.run_id}:{self.person_key[:8]}"
