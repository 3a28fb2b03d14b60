"""Mass testing: rounds, sites and channels, tubes and samples, coverage, door-to-door.

How the tables serve the busy paths:

- `Sample` rows are written by the upload service in bulk (INSERT … ON CONFLICT DO
  NOTHING); the unique `client_id` is what makes an upload safe to replay. Tube opens,
  seals and every rejected event are kept in `UploadEvent`, keyed the same way; an
  accepted sample's stored event *is* its `Sample` row.
- `FirstSample` holds one row per (round, resident): inserting it tells the service
  whether this is the person's first sample of the round, without counting samples.
- `BuildingCoverage` holds one row per (round, building) with expected, sampled and
  exempt counts; coverage of any area is a sum over a code prefix of these rows.

No foreign-key *constraints* in the database from the busy tables (tubes, samples,
markers, upload events) to rounds, sites, channels and users: with them, every upload
takes a share lock on the same round, channel and user rows, and PostgreSQL turns
overlapping share locks into multixacts, which the busiest path cannot afford. The
references stay Django relations (joins, `on_delete` in Python); the upload service
checks each one before it writes, and those rows are never deleted (PROTECT). The
references that matter row by row (a sample's tube and resident, a marker's
resident) keep their constraints.
"""

import enum
import functools

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fangkong.areas.models import ZoneKind, ancestor_codes
from fangkong.core.scoping import AreaScopedModel, ScopedQuerySet, prefix_q

# PostgreSQL: a btree on (round, code) that also serves `code LIKE 'prefix%'` under a
# non-C collation. Other backends ignore operator classes.
ROUND_CODE_OPCLASSES = ["int8_ops", "varchar_pattern_ops"]


class RoundStatus(models.TextChoices):
    ACTIVE = "active", _("Under way")
    CLOSED = "closed", _("Closed")


class RoundQuerySet(models.QuerySet):
    def for_user(self, user):
        """Rounds that touch the user's jurisdiction: over it, inside it, or above it."""
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        prefixes = user.scope_prefixes()
        above = {code for p in prefixes for code in ancestor_codes(p)}
        touching = RoundArea.objects.filter(
            prefix_q("area_code", prefixes) | Q(area_code__in=above)
        )
        return self.filter(pk__in=touching.values("round_id"))

    def active(self):
        return self.filter(status=RoundStatus.ACTIVE)


class TestingRound(models.Model):
    """区域全员核酸 轮次: one round of testing over a set of areas."""

    __test__ = False  # not a test class, whatever pytest thinks of its name

    name = models.CharField(_("name"), max_length=100)
    status = models.CharField(
        _("status"), max_length=10, choices=RoundStatus.choices, default=RoundStatus.ACTIVE
    )
    starts_at = models.DateTimeField(_("starts"))
    deadline = models.DateTimeField(_("deadline"))
    areas = models.ManyToManyField(
        "areas.Area", through="RoundArea", verbose_name=_("areas"), related_name="+"
    )
    # Pool size by the zone in force on the resident's (or site's) area.
    pool_sealed = models.PositiveSmallIntegerField(_("pool size in sealed zones"), default=1)
    pool_controlled = models.PositiveSmallIntegerField(
        _("pool size in controlled zones"), default=10
    )
    pool_prevention = models.PositiveSmallIntegerField(
        _("pool size in prevention zones and elsewhere"), default=20
    )
    # The version of the `testing.pool_sizes` policy in force when the round was
    # launched (the sizes above start from it; the launcher may override them).
    pool_policy_version = models.PositiveIntegerField(
        _("pool-size policy version"), null=True, blank=True
    )
    note = models.TextField(_("note"), blank=True)
    launched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("launched by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    launched_at = models.DateTimeField(_("launched at"), default=timezone.now)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("closed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    close_reason = models.TextField(_("reason for closing"), blank=True)

    objects = RoundQuerySet.as_manager()

    class Meta:
        verbose_name = _("testing round")
        verbose_name_plural = _("testing rounds")
        ordering = ["-starts_at", "-id"]

    def __str__(self) -> str:
        return self.name

    def pool_size_for(self, zone_kind: str | None) -> int:
        """Pool size for an area whose zone in force is `zone_kind` (None: no zone)."""
        if zone_kind == ZoneKind.SEALED:
            return self.pool_sealed
        if zone_kind == ZoneKind.CONTROLLED:
            return self.pool_controlled
        return self.pool_prevention

    def accepts_sample_at(self, at) -> bool:
        """A closed round still takes samples taken before it closed (late uploads)."""
        return self.status == RoundStatus.ACTIVE or (
            self.closed_at is not None and at is not None and at <= self.closed_at
        )

    @property
    def is_active(self) -> bool:
        return self.status == RoundStatus.ACTIVE


class RoundArea(models.Model):
    """An area a round covers (its whole subtree)."""

    round = models.ForeignKey(
        TestingRound, on_delete=models.CASCADE, related_name="round_areas", db_index=False
    )
    area = models.ForeignKey("areas.Area", on_delete=models.PROTECT, related_name="+")
    area_code = models.CharField(_("area code"), max_length=18, db_index=True)

    class Meta:
        verbose_name = _("round area")
        verbose_name_plural = _("round areas")
        constraints = [
            models.UniqueConstraint(fields=["round", "area"], name="roundarea_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.round_id}:{self.area_code}"


class SiteStatus(models.TextChoices):
    OPEN = "open", _("Open")
    PAUSED = "paused", _("Paused")
    CLOSED = "closed", _("Closed")


class SamplingSiteQuerySet(ScopedQuerySet):
    def open(self):
        return self.filter(status=SiteStatus.OPEN)


class SamplingSite(AreaScopedModel):
    """采样点: a place where people queue to be sampled. Belongs to an area."""

    area = models.ForeignKey(
        "areas.Area", verbose_name=_("area"), on_delete=models.PROTECT, related_name="+"
    )
    name = models.CharField(_("name"), max_length=100)
    address = models.CharField(_("address"), max_length=200, blank=True)
    opens_at = models.TimeField(_("opens at"), null=True, blank=True)
    closes_at = models.TimeField(_("closes at"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=SiteStatus.choices, default=SiteStatus.OPEN
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SamplingSiteQuerySet.as_manager()

    class Meta:
        verbose_name = _("sampling site")
        verbose_name_plural = _("sampling sites")
        ordering = ["area_code", "name"]
        constraints = [
            models.UniqueConstraint(fields=["area", "name"], name="site_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class ChannelQuerySet(ScopedQuerySet):
    pass


class Channel(AreaScopedModel):
    """采样通道: one queue of a site with its own sampler and tubes."""

    site = models.ForeignKey(
        SamplingSite, verbose_name=_("site"), on_delete=models.PROTECT, related_name="channels"
    )
    area_code_from = "site.area_code"
    name = models.CharField(_("name"), max_length=50)
    status = models.CharField(
        _("status"), max_length=10, choices=SiteStatus.choices, default=SiteStatus.OPEN
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = ChannelQuerySet.as_manager()

    class Meta:
        verbose_name = _("channel")
        verbose_name_plural = _("channels")
        ordering = ["site_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["site", "name"], name="channel_unique_name"),
        ]

    def __str__(self) -> str:
        return f"{self.site.name} {self.name}"


class Via(models.TextChoices):
    SITE = "site", _("At a sampling site")
    HOME = "home", _("Door to door")


class PoolSource(models.IntegerChoices):
    """Where a tube's pool size came from; a stronger source overrides a weaker one."""

    RULE = 0, _("The round's rule for the zone")
    SAMPLE = 1, _("A sample event")
    OPEN = 2, _("The tube_open event")


class TubeQuerySet(ScopedQuerySet):
    pass


class Tube(models.Model):
    """采样管: one barcode, one round, one channel (or a door-to-door team).

    A tube is made by whichever of its events reaches the server first (devices upload
    in any order). `pool_size` is the largest a `tube_open` gave; without one, the
    largest a sample carried; without either, the round's rule for the zone there
    (`pool_source` says which), so it does not depend on the order of arrival. A
    barcode is never reused: another channel or round naming it is refused.
    """

    barcode = models.CharField(_("barcode"), max_length=40)
    round = models.ForeignKey(
        TestingRound,
        verbose_name=_("round"),
        on_delete=models.PROTECT,
        related_name="tubes",
        db_index=False,
        db_constraint=False,
    )
    via = models.CharField(_("sampled"), max_length=4, choices=Via.choices, default=Via.SITE)
    site = models.ForeignKey(
        SamplingSite,
        verbose_name=_("site"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tubes",
        db_index=False,
        db_constraint=False,
    )
    channel = models.ForeignKey(
        Channel,
        verbose_name=_("channel"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tubes",
        db_index=False,
        db_constraint=False,
    )
    area_code = models.CharField(_("area code"), max_length=18)
    pool_size = models.PositiveSmallIntegerField(_("pool size"), default=1)
    pool_source = models.PositiveSmallIntegerField(
        _("pool size from"), choices=PoolSource.choices, default=PoolSource.RULE
    )
    sample_count = models.PositiveIntegerField(_("samples"), default=0)
    opened_at = models.DateTimeField(_("opened at"), null=True, blank=True)
    sealed_at = models.DateTimeField(_("sealed at"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    device_id = models.CharField(_("device"), max_length=64, blank=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("opened by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )

    objects = TubeQuerySet.as_manager()

    class Meta:
        verbose_name = _("tube")
        verbose_name_plural = _("tubes")
        ordering = ["round_id", "barcode"]
        # A constraint rather than unique=True: no second (LIKE) index on PostgreSQL.
        constraints = [models.UniqueConstraint(fields=["barcode"], name="tube_unique_barcode")]
        indexes = [
            models.Index(
                fields=["round", "area_code"],
                name="tube_round_area",
                opclasses=ROUND_CODE_OPCLASSES,
            ),
            models.Index(fields=["channel", "created_at"], name="tube_channel_time"),
        ]

    def __str__(self) -> str:
        return self.barcode

    @property
    def is_sealed(self) -> bool:
        return self.sealed_at is not None

    @property
    def is_over_pool(self) -> bool:
        return self.sample_count > self.pool_size


class SampleFlag(enum.IntFlag):
    """Why a kept sample needs a second look; bits of `Sample.flags`."""

    REPEAT_IN_ROUND = 1
    OUTSIDE_ROUND = 2
    OVER_POOL = 4
    UNKNOWN_PERSON = 8
    # The device's clock is off the server's by more than FANGKONG_CLIENT_CLOCK_SKEW_S:
    # its time of the swab is kept as claimed, but not to be trusted to the minute.
    CLOCK_SKEW = 16

    @property
    def slug(self) -> str:
        return self.name.lower()


SAMPLE_FLAG_LABELS = {
    SampleFlag.REPEAT_IN_ROUND: _("Sampled again in this round"),
    SampleFlag.OUTSIDE_ROUND: _("Lives outside the round's areas"),
    SampleFlag.OVER_POOL: _("More people than the pool size"),
    SampleFlag.UNKNOWN_PERSON: _("ID number matches no resident"),
    SampleFlag.CLOCK_SKEW: _("The device's clock was off"),
}


@functools.cache
def _flag_slugs(flags: int) -> tuple[str, ...]:
    return tuple(f.slug for f in SampleFlag if flags & f)


def flag_slugs(flags: int) -> list[str]:
    """The slugs of the bits set in `flags` (every uploaded sample answers them)."""
    return list(_flag_slugs(int(flags)))


class SampleQuerySet(ScopedQuerySet):
    def flagged(self, flag: SampleFlag):
        return self.filter(flags__hasflag=int(flag))


class Sample(models.Model):
    """One person's swab in one tube. Its `client_id` is the device's id of the scan.

    `area_code` is where the person lives (where the data is about), or the tube's
    area for an ID number that matches no resident.
    """

    client_id = models.CharField(_("client id"), max_length=64)
    round = models.ForeignKey(
        TestingRound,
        verbose_name=_("round"),
        on_delete=models.PROTECT,
        related_name="samples",
        db_index=False,
        db_constraint=False,
    )
    # No database constraint on the tube and the resident either (the ORM still
    # PROTECTs): an upload takes both ids from rows it read or made in the same
    # transaction, tubes and residents are never deleted, and the constraint's check at
    # commit (a SELECT … FOR KEY SHARE a row, which also dirties the resident's page)
    # was 15 % of PostgreSQL's CPU an upload (docs/benchmarks.md).
    tube = models.ForeignKey(
        Tube,
        verbose_name=_("tube"),
        on_delete=models.PROTECT,
        related_name="samples",
        db_constraint=False,
    )
    resident = models.ForeignKey(
        "people.Resident",
        verbose_name=_("resident"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="samples",
        db_index=False,
        db_constraint=False,
    )
    area_code = models.CharField(_("area code"), max_length=18)
    at = models.DateTimeField(_("sampled at"))
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    flags = models.PositiveIntegerField(_("flags"), default=0)
    via = models.CharField(_("sampled"), max_length=4, choices=Via.choices, default=Via.SITE)
    site = models.ForeignKey(
        SamplingSite,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    channel = models.ForeignKey(
        Channel,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    device_id = models.CharField(_("device"), max_length=64, blank=True)
    sampler = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("sampler"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    # Only for an ID number typed by hand that matched no resident (kept for review).
    id_type = models.CharField(_("document type"), max_length=2, blank=True)
    id_cipher = models.BinaryField(blank=True, default=b"")
    id_hash = models.CharField(max_length=40, blank=True)
    id_masked = models.CharField(_("document number"), max_length=24, blank=True)

    objects = SampleQuerySet.as_manager()

    class Meta:
        verbose_name = _("sample")
        verbose_name_plural = _("samples")
        ordering = ["at", "client_id"]
        constraints = [
            models.UniqueConstraint(fields=["client_id"], name="sample_unique_client_id")
        ]
        indexes = [models.Index(fields=["round", "resident"], name="sample_round_resident")]

    def __str__(self) -> str:
        return f"{self.tube_id}:{self.client_id}"

    def flag_list(self) -> list[str]:
        return flag_slugs(self.flags)

    def flag_labels(self) -> list[str]:
        return [str(label) for flag, label in SAMPLE_FLAG_LABELS.items() if self.flags & flag]


class FirstSample(models.Model):
    """The first sample of a person in a round, by (at, client_id).

    Inserted with ON CONFLICT DO NOTHING: a row that goes in is a person sampled for the
    first time (the coverage counters move); a row that is already there makes the new
    sample a repeat, unless the new one was taken earlier, in which case the marker
    moves to it and the flags of the two samples swap.
    """

    round = models.ForeignKey(
        TestingRound,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    resident = models.ForeignKey(
        "people.Resident",
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,  # as Sample.resident
    )
    area_code = models.CharField(max_length=18)
    sample = models.ForeignKey(
        Sample, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    at = models.DateTimeField()
    client_id = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("first sample")
        verbose_name_plural = _("first samples")
        constraints = [
            models.UniqueConstraint(fields=["round", "resident"], name="firstsample_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.round_id}:{self.resident_id}"


class CoverageQuerySet(ScopedQuerySet):
    pass


class BuildingCoverage(models.Model):
    """Per round and building: residents expected (at launch), sampled, exempt.

    `sampled` and `exempt` never overlap: an exempt person who is sampled after all
    stops being exempt. Not yet sampled = expected − sampled − exempt (at least 0).
    """

    round = models.ForeignKey(
        TestingRound, on_delete=models.CASCADE, related_name="coverage", db_index=False
    )
    area_code = models.CharField(_("building"), max_length=18)
    expected = models.PositiveIntegerField(_("expected"), default=0)
    sampled = models.IntegerField(_("sampled"), default=0)
    exempt = models.IntegerField(_("exempt"), default=0)

    objects = CoverageQuerySet.as_manager()

    class Meta:
        verbose_name = _("building coverage")
        verbose_name_plural = _("building coverage")
        constraints = [
            models.UniqueConstraint(
                fields=["round", "area_code"],
                name="coverage_unique",
                opclasses=ROUND_CODE_OPCLASSES,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.round_id}:{self.area_code} {self.sampled}/{self.expected}"


class ExemptReason(models.TextChoices):
    AWAY = "away", _("Away from home")
    IN_HOSPITAL = "hospital", _("In hospital")
    ISOLATED = "isolated", _("Already isolated (tested there)")


class ExemptionQuerySet(ScopedQuerySet):
    def current(self):
        return self.filter(ended_at__isnull=True)


class Exemption(models.Model):
    """A person not expected to be sampled in a round, with the reason and who said so."""

    round = models.ForeignKey(
        TestingRound, on_delete=models.CASCADE, related_name="exemptions", db_index=False
    )
    resident = models.ForeignKey(
        "people.Resident", on_delete=models.PROTECT, related_name="exemptions", db_index=False
    )
    area_code = models.CharField(_("area code"), max_length=18)
    reason = models.CharField(_("reason"), max_length=10, choices=ExemptReason.choices)
    note = models.TextField(_("note"), blank=True)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    granted_at = models.DateTimeField(_("granted at"), default=timezone.now)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    end_reason = models.TextField(_("reason for ending"), blank=True)

    objects = ExemptionQuerySet.as_manager()

    class Meta:
        verbose_name = _("exemption")
        verbose_name_plural = _("exemptions")
        ordering = ["area_code", "-granted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["round", "resident"],
                condition=Q(ended_at__isnull=True),
                name="exemption_one_current",
            ),
        ]
        indexes = [
            models.Index(fields=["round", "resident"], name="exemption_round_resident"),
        ]

    def __str__(self) -> str:
        return f"{self.resident_id} {self.get_reason_display()}"


class TaskKind(models.TextChoices):
    BEDRIDDEN = "bedridden", _("Bedridden")
    ISOLATED = "isolated", _("Isolated at home")
    SEALED_HOUSEHOLD = "sealed", _("Household in a sealed building")
    # A positive pool's member resampled alone at home: not an isolation (labs' recalls).
    RESAMPLE = "resample", _("Single-tube resample (recall)")


class TaskStatus(models.TextChoices):
    OPEN = "open", _("To do")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class HomeTaskQuerySet(ScopedQuerySet):
    def open(self):
        return self.filter(status=TaskStatus.OPEN)


class HomeSamplingTask(models.Model):
    """入户采样: a door a team must knock on. For one person, or a whole household."""

    round = models.ForeignKey(
        TestingRound, on_delete=models.CASCADE, related_name="home_tasks", db_index=False
    )
    kind = models.CharField(_("kind"), max_length=10, choices=TaskKind.choices)
    household = models.ForeignKey(
        "areas.Household", verbose_name=_("household"), on_delete=models.PROTECT, related_name="+"
    )
    resident = models.ForeignKey(
        "people.Resident",
        verbose_name=_("resident"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Empty: everyone in the household."),
    )
    area_code = models.CharField(_("building"), max_length=18)
    team = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("team leader"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    team_name = models.CharField(_("team"), max_length=100, blank=True)
    due_at = models.DateTimeField(_("due by"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN
    )
    note = models.TextField(_("note"), blank=True)
    tube = models.ForeignKey(
        Tube, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = HomeTaskQuerySet.as_manager()

    class Meta:
        verbose_name = _("door-to-door task")
        verbose_name_plural = _("door-to-door tasks")
        ordering = ["area_code", "household_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["round", "household"],
                condition=Q(resident__isnull=True),
                name="hometask_one_per_household",
            ),
            models.UniqueConstraint(
                fields=["round", "resident"],
                condition=Q(resident__isnull=False),
                name="hometask_one_per_resident",
            ),
        ]
        indexes = [
            models.Index(
                fields=["round", "area_code"],
                name="hometask_round_area",
                opclasses=ROUND_CODE_OPCLASSES,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.household_id}"


class EventStatus(models.TextChoices):
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")


class UploadEventQuerySet(ScopedQuerySet):
    def rejected(self):
        return self.filter(status=EventStatus.REJECTED)


class UploadEvent(models.Model):
    """A device event kept by its client id: tube opens and seals, and every refusal.

    Accepted samples are kept as `Sample` rows (same client id), not here, so the busy
    path writes each person once. `payload` is kept for refused events only (for a
    supervisor's review); a typed ID number in it is replaced by its masked form.
    """

    client_id = models.CharField(_("client id"), max_length=64)
    type = models.CharField(_("type"), max_length=20)
    round = models.ForeignKey(
        TestingRound,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    area_code = models.CharField(_("area code"), max_length=18, blank=True)
    tube = models.CharField(_("barcode"), max_length=40, blank=True)
    device_id = models.CharField(_("device"), max_length=64, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    at = models.DateTimeField(_("at"), null=True, blank=True)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    status = models.CharField(_("status"), max_length=10, choices=EventStatus.choices)
    code = models.CharField(_("code"), max_length=30, blank=True)
    message = models.CharField(_("message"), max_length=300, blank=True)
    message_zh = models.CharField(_("message (Chinese)"), max_length=300, blank=True)
    payload = models.JSONField(_("payload"), default=dict, blank=True)

    objects = UploadEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("upload event")
        verbose_name_plural = _("upload events")
        ordering = ["-received_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["client_id"], name="event_unique_client_id")]
        indexes = [
            models.Index(
                fields=["round", "area_code"],
                name="event_round_area",
                opclasses=ROUND_CODE_OPCLASSES,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.client_id} {self.status}"
