"""Lab results, recalls and positive cases; tallies for the round report.

How the tables serve the busy paths:

- `TubeResult` is one row per tube (a unique tube id): a file or batch is stored with
  INSERT … ON CONFLICT DO NOTHING, so a retried upload changes nothing. A *different*
  result for a tube that has one is never written over silently: it needs a reason and
  goes in as a correction, the old value kept in `ResultCorrection`.
- `Recall` is one row per member of a positive or invalid pool (a unique sample id):
  the person's single-tube resample task. Open recalls are found by a partial index on
  the building's code, which is what marks a building on the community's pages.
- `ResultTally` holds per (round, area, local day, lab, pool size) the results, positives,
  invalid tubes and turnaround sums, kept by the same transaction that stores the
  results; `SamplingTally` holds people sampled and tubes per (round, area, day), caught
  up from the testing app's tables by id (`TallyCursor`). The round report sums these
  rows over a code prefix instead of counting millions of tubes and samples.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fangkong.core.scoping import ScopedQuerySet

# PostgreSQL: a btree on (round, code) that also serves `code LIKE 'prefix%'`.
ROUND_CODE_OPCLASSES = ["int8_ops", "varchar_pattern_ops"]


class Result(models.TextChoices):
    NEGATIVE = "negative", _("Negative")
    POSITIVE = "positive", _("Positive")
    INVALID = "invalid", _("Invalid")


RECALLING = (Result.POSITIVE, Result.INVALID)


class UploadStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class UploadQuerySet(models.QuerySet):
    def for_user(self, user):
        """A lab sees its own uploads; the command centre sees every upload."""
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if user.role == "command":
            return self
        return self.filter(lab=user)


class ResultUpload(models.Model):
    """One file or API batch of results from a lab, with its outcome and its bad rows."""

    lab = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("lab"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    source = models.CharField(_("source"), max_length=10, default="file")
    file_name = models.CharField(_("file name"), max_length=255, blank=True)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=UploadStatus.choices, default=UploadStatus.RUNNING
    )
    rows = models.PositiveIntegerField(_("rows"), default=0)
    created = models.PositiveIntegerField(_("new results"), default=0)
    unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    corrected = models.PositiveIntegerField(_("corrected"), default=0)
    rejected = models.PositiveIntegerField(_("rejected"), default=0)
    recalls = models.PositiveIntegerField(_("recalls raised"), default=0)
    closed = models.PositiveIntegerField(_("recalls closed"), default=0)
    cases = models.PositiveIntegerField(_("positive cases"), default=0)
    # The first bad rows: [{"row": 3, "column": "result", "code": …, "zh": …, "en": …}].
    errors = models.JSONField(_("bad rows"), default=list, blank=True)
    error_zh = models.TextField(_("error (Chinese)"), blank=True)
    error_en = models.TextField(_("error (English)"), blank=True)
    # A file too big to store while the lab waits: kept here until the worker has read it.
    data = models.BinaryField(default=b"", blank=True, editable=False)
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    objects = UploadQuerySet.as_manager()

    class Meta:
        verbose_name = _("result upload")
        verbose_name_plural = _("result uploads")
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return self.file_name or f"{self.source} {self.pk}"

    @property
    def is_active(self) -> bool:
        return self.status in (UploadStatus.QUEUED, UploadStatus.RUNNING)


class TubeResultQuerySet(ScopedQuerySet):
    pass


class TubeResult(models.Model):
    """检测结果: a lab's result for one tube. `area_code` is the tube's (the site's).

    Turnaround is from the tube's seal (or, for a tube never sealed, its last sample) to
    the moment the result reached Fangkong (`received_at`): that is when a recall can
    start. `tested_at` is the lab's own time and is shown beside it.
    """

    # The tube is the key: one index to keep per row stored (a million rows an upload).
    # No database foreign key: the store takes every tube id from a join with the tube
    # table in the same statement, and PostgreSQL's check of a foreign key locks the
    # referenced row (FOR KEY SHARE), which for a million results rewrote a million tube
    # rows and cost more than the insert itself. Tubes are never deleted; the ORM still
    # refuses to delete one that has a result (PROTECT).
    tube = models.OneToOneField(
        "testing.Tube",
        verbose_name=_("tube"),
        primary_key=True,
        on_delete=models.PROTECT,
        related_name="lab_result",
        db_constraint=False,
    )
    # Copies of the tube's round, site and area, for the indexes; the tube is the one
    # foreign key PostgreSQL checks on insert (a million rows, a million checks less each).
    round = models.ForeignKey(
        "testing.TestingRound",
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    site = models.ForeignKey(
        "testing.SamplingSite",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    area_code = models.CharField(_("area code"), max_length=18)
    pool_size = models.PositiveSmallIntegerField(_("pool size"))
    samples = models.PositiveIntegerField(
        _("samples"), default=0, help_text=_("Samples the tube held when its result came.")
    )
    result = models.CharField(_("result"), max_length=10, choices=Result.choices)
    tested_at = models.DateTimeField(_("tested at"))
    lab = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("lab"),
        null=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    lab_name = models.CharField(_("lab"), max_length=100)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    turnaround_s = models.PositiveIntegerField(_("turnaround (seconds)"), null=True, blank=True)
    upload = models.ForeignKey(
        ResultUpload,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    corrections = models.PositiveSmallIntegerField(_("corrections"), default=0)

    objects = TubeResultQuerySet.as_manager()

    class Meta:
        # No other index: lists and sums come from `ResultTally`, overdue tubes from the
        # tube side; each index here would be kept for every one of a million rows.
        verbose_name = _("tube result")
        verbose_name_plural = _("tube results")

    def __str__(self) -> str:
        return f"{self.tube_id} {self.result}"


class ResultCorrection(models.Model):
    """复核更正: a result changed after it was stored, who changed it, and why."""

    result = models.ForeignKey(TubeResult, on_delete=models.CASCADE, related_name="history")
    old_result = models.CharField(_("old result"), max_length=10, choices=Result.choices)
    new_result = models.CharField(_("new result"), max_length=10, choices=Result.choices)
    old_tested_at = models.DateTimeField(_("old test time"))
    new_tested_at = models.DateTimeField(_("new test time"))
    reason = models.TextField(_("reason"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("result correction")
        verbose_name_plural = _("result corrections")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.result_id}: {self.old_result} → {self.new_result}"


class RecallReason(models.TextChoices):
    POSITIVE_POOL = "positive", _("Pool positive")
    INVALID = "invalid", _("Tube invalid")


class RecallStatus(models.TextChoices):
    OPEN = "open", _("Awaiting resample")
    NEGATIVE = "negative", _("Closed: resample negative")
    POSITIVE = "positive", _("Closed: resample positive")
    CANCELLED = "cancelled", _("Cancelled")


CLOSED_STATUSES = (RecallStatus.NEGATIVE, RecallStatus.POSITIVE, RecallStatus.CANCELLED)


class ResampleVia(models.TextChoices):
    PENDING = "", _("Not yet arranged")
    HOME = "home", _("At home")
    SITE = "site", _("At a sampling site")


class RecallQuerySet(ScopedQuerySet):
    def open(self):
        return self.filter(status=RecallStatus.OPEN)


class Recall(models.Model):
    """单管复采: one member of a positive or invalid pool, to be resampled in a single tube.

    `area_code` is where the person lives (their building), or the tube's area for a
    sample that matched no resident. The recall is the resample task itself; arranging
    it at home also makes a door-to-door task in the testing app (`home_task`).
    """

    round = models.ForeignKey(
        "testing.TestingRound", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    tube = models.ForeignKey(
        "testing.Tube", verbose_name=_("pooled tube"), on_delete=models.PROTECT, related_name="+"
    )
    sample = models.OneToOneField(
        "testing.Sample", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    resident = models.ForeignKey(
        "people.Resident",
        verbose_name=_("resident"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    area_code = models.CharField(_("building"), max_length=18)
    reason = models.CharField(_("why"), max_length=10, choices=RecallReason.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=RecallStatus.choices, default=RecallStatus.OPEN
    )
    raised_at = models.DateTimeField(_("raised at"), default=timezone.now)
    via = models.CharField(
        _("resample"), max_length=4, choices=ResampleVia.choices, default="", blank=True
    )
    site = models.ForeignKey(
        "testing.SamplingSite",
        verbose_name=_("site"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    home_task = models.ForeignKey(
        "testing.HomeSamplingTask",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    arranged_at = models.DateTimeField(_("arranged at"), null=True, blank=True)
    arranged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resample_tube = models.ForeignKey(
        "testing.Tube",
        verbose_name=_("resample tube"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    close_reason = models.TextField(_("reason"), blank=True)

    objects = RecallQuerySet.as_manager()

    class Meta:
        verbose_name = _("recall")
        verbose_name_plural = _("recalls")
        ordering = ["area_code", "id"]
        indexes = [
            models.Index(
                fields=["round", "area_code"],
                name="recall_round_area",
                opclasses=ROUND_CODE_OPCLASSES,
            ),
            # What marks a building: its open recalls, found by code prefix.
            models.Index(
                fields=["area_code"],
                name="recall_open_area",
                condition=Q(status="open"),
                opclasses=["varchar_pattern_ops"],
            ),
            models.Index(
                fields=["resident"], name="recall_open_resident", condition=Q(status="open")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.resident_id or '?'} ← {self.tube_id}"

    @property
    def is_open(self) -> bool:
        return self.status == RecallStatus.OPEN


class CaseStatus(models.TextChoices):
    CONFIRMED = "confirmed", _("Positive")
    RULED_OUT = "ruled_out", _("Ruled out")


class CaseSource(models.TextChoices):
    SINGLE_TUBE = "single", _("Single-tube result positive")
    RESAMPLE = "resample", _("Resample positive")


class PositiveCaseQuerySet(ScopedQuerySet):
    sight = "labs.recalled_people"

    def confirmed(self):
        return self.filter(status=CaseStatus.CONFIRMED)


class PositiveCase(models.Model):
    """阳性: a person whose own single tube came back positive. Changed only with a reason."""

    resident = models.ForeignKey(
        "people.Resident", verbose_name=_("resident"), on_delete=models.PROTECT, related_name="+"
    )
    area_code = models.CharField(_("building"), max_length=18)
    round = models.ForeignKey(
        "testing.TestingRound", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    tube = models.ForeignKey(
        "testing.Tube", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    source = models.CharField(_("source"), max_length=10, choices=CaseSource.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=CaseStatus.choices, default=CaseStatus.CONFIRMED
    )
    reason = models.TextField(_("reason"))
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    ruled_out_at = models.DateTimeField(_("ruled out at"), null=True, blank=True)
    ruled_out_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rule_out_reason = models.TextField(_("reason for ruling out"), blank=True)

    objects = PositiveCaseQuerySet.as_manager()

    class Meta:
        verbose_name = _("positive case")
        verbose_name_plural = _("positive cases")
        ordering = ["-recorded_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["tube", "resident"], name="case_unique_tube_resident"),
        ]
        indexes = [
            models.Index(
                fields=["round", "area_code"],
                name="case_round_area",
                opclasses=ROUND_CODE_OPCLASSES,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.resident_id} {self.status}"


class ResultTally(models.Model):
    """Results per (round, area, local day, lab, pool size, site): what the report, the
    turnaround figures and the advisor sum."""

    round = models.ForeignKey(
        "testing.TestingRound", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    area_code = models.CharField(max_length=18)
    day = models.DateField()
    lab = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    pool_size = models.PositiveSmallIntegerField()
    site_id = models.BigIntegerField(default=0, db_default=0, help_text="0: door to door")
    results = models.IntegerField(default=0, db_default=0)
    positives = models.IntegerField(default=0, db_default=0)
    invalid = models.IntegerField(default=0, db_default=0)
    turnaround_sum = models.BigIntegerField(default=0, db_default=0, help_text="seconds")
    turnaround_n = models.IntegerField(default=0, db_default=0)

    class Meta:
        verbose_name = _("result tally")
        verbose_name_plural = _("result tallies")
        constraints = [
            models.UniqueConstraint(
                fields=["round", "area_code", "day", "lab", "pool_size", "site_id"],
                name="resulttally_unique",
            ),
        ]
        indexes = [
            models.Index(
                fields=["round", "area_code"],
                name="resulttally_round_area",
                opclasses=ROUND_CODE_OPCLASSES,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.round_id}:{self.area_code}:{self.day} {self.results}"


class SamplingTally(models.Model):
    """People first sampled and tubes made per (round, area, local day), from testing's rows."""

    round = models.ForeignKey(
        "testing.TestingRound", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    area_code = models.CharField(max_length=18)
    day = models.DateField()
    sampled = models.IntegerField(default=0, db_default=0)
    tubes = models.IntegerField(default=0, db_default=0)

    class Meta:
        verbose_name = _("sampling tally")
        verbose_name_plural = _("sampling tallies")
        constraints = [
            models.UniqueConstraint(
                fields=["round", "area_code", "day"],
                name="samplingtally_unique",
                opclasses=[*ROUND_CODE_OPCLASSES, "date_ops"],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.round_id}:{self.area_code}:{self.day} {self.sampled}"


class OverdueTube(models.Model):
    """A sealed tube still without a result after the overdue time, as found by the last
    `overdue_refresh` (run by `labs_refresh`). Finding them means looking at every sealed
    tube of a round for a result (about a second for a million); pages read this small
    table instead, and leave out tubes whose result has come since."""

    tube = models.OneToOneField(
        "testing.Tube", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    round = models.ForeignKey(
        "testing.TestingRound", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    area_code = models.CharField(max_length=18)
    sealed_at = models.DateTimeField()
    found_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("overdue tube")
        verbose_name_plural = _("overdue tubes")
        indexes = [
            models.Index(
                fields=["round", "area_code"],
                name="overdue_round_area",
                opclasses=ROUND_CODE_OPCLASSES,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tube_id} since {self.sealed_at:%Y-%m-%d %H:%M}"


class ChannelTally(models.Model):
    """Samples and tubes per (round, channel, hour): a channel's throughput over the round
    without reading its tubes. Caught up from testing's rows with `SamplingTally`."""

    round = models.ForeignKey(
        "testing.TestingRound", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    channel_id = models.BigIntegerField()
    hour = models.DateTimeField(help_text="the hour's start")
    samples = models.IntegerField(default=0, db_default=0)
    tubes = models.IntegerField(default=0, db_default=0)

    class Meta:
        verbose_name = _("channel tally")
        verbose_name_plural = _("channel tallies")
        constraints = [
            models.UniqueConstraint(
                fields=["round", "channel_id", "hour"], name="channeltally_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.round_id}:{self.channel_id}:{self.hour:%Y-%m-%d %H} {self.samples}"


class TallyCursor(models.Model):
    """How far `SamplingTally` has read a source table (by id); claimed with a row lock."""

    name = models.CharField(max_length=30, primary_key=True)
    last_id = models.BigIntegerField(default=0)
    seen_id = models.BigIntegerField(default=0, help_text="the newest id when last looked")
    seen_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("tally cursor")
        verbose_name_plural = _("tally cursors")

    def __str__(self) -> str:
        return f"{self.name}@{self.last_id}"
