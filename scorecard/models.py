"""Org structure, people and the balanced-scorecard library (METRICS.md)."""

import secrets

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import connection, models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


def _localized(obj, field: str) -> str:
    """Return the zh-Hans text of `field` when that is the active language and it is set."""
    if (get_language() or "").lower().startswith("zh"):
        return getattr(obj, f"{field}_zh") or getattr(obj, field)
    return getattr(obj, field)


class OrgUnit(models.Model):
    """A node of the org tree: the center, a department, a team, at any depth."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=200)
    parent = models.ForeignKey(
        "self", verbose_name=_("parent"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    # Materialised path of primary keys, "/1/4/17/": a subtree is one
    # `path LIKE '/1/4/%'` query (scorecard and visibility selectors).
    path = models.CharField(max_length=500, db_index=True, editable=False, default="")
    depth = models.PositiveSmallIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["path"]
        verbose_name = _("org unit")
        verbose_name_plural = _("org units")

    def __str__(self):
        return f"{self.code} {self.name}"

    @property
    def kind(self) -> str:
        return "unit"

    def clean(self):
        from django.core.exceptions import ValidationError

        if self.parent_id is None:
            if OrgUnit.objects.filter(parent__isnull=True).exclude(pk=self.pk).exists():
                raise ValidationError({"parent": _("Only one unit, the center, may have no parent.")})
        elif self.pk and (
            self.parent_id == self.pk
            or OrgUnit.objects.filter(pk=self.parent_id, path__startswith=self.path or "/-").exists()
        ):
            raise ValidationError({"parent": _("A unit cannot be placed beneath itself (a cycle in the org tree).")})
        if Person.objects.filter(employee_code=self.code).exists():
            raise ValidationError({"code": _("This code is already an employee code.")})

    def save(self, *args, **kwargs):
        """Save, then keep the materialised path of this unit and its subtree in step."""
        super().save(*args, **kwargs)
        parent_path = "/"
        if self.parent_id:
            parent_path = OrgUnit.objects.filter(pk=self.parent_id).values_list("path", flat=True).get()
        path = f"{parent_path}{self.pk}/"
        if path == self.path:
            return
        old, self.path, self.depth = self.path, path, path.count("/") - 2
        OrgUnit.objects.filter(pk=self.pk).update(path=self.path, depth=self.depth)
        if old:
            moved = list(OrgUnit.objects.filter(path__startswith=old).exclude(pk=self.pk))
            for unit in moved:
                unit.path = path + unit.path[len(old):]
                unit.depth = unit.path.count("/") - 2
            OrgUnit.objects.bulk_update(moved, ["path", "depth"], batch_size=500)
        CacheVersion.bump("org")  # after the paths, so no cache holds the old ones under a new token


class PersonManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, employee_code, password=None, **extra):
        if not employee_code:
            raise ValueError("An employee code is required.")
        extra.setdefault("email", "")
        extra["email"] = self.normalize_email(extra["email"])
        person = self.model(employee_code=employee_code, **extra)
        if password:
            person.set_password(password)
        else:
            person.set_unusable_password()
        person.save(using=self._db)
        return person

    def create_superuser(self, employee_code, password=None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        extra.setdefault("role", Person.Role.DIRECTOR)
        return self.create_user(employee_code, password, **extra)


class Person(AbstractBaseUser, PermissionsMixin):
    """Someone who works in the center; the employee code is the login."""

    class Role(models.TextChoices):
        AGENT = "agent", _("Agent")
        MANAGER = "manager", _("Manager")
        HR = "hr", _("HR")
        DIRECTOR = "director", _("Director")

    employee_code = models.CharField(_("employee code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(_("email"), blank=True)
    unit = models.ForeignKey(
        OrgUnit, verbose_name=_("unit"), null=True, blank=True, on_delete=models.PROTECT, related_name="people"
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.AGENT)
    manager = models.ForeignKey(
        "self", verbose_name=_("manager"), null=True, blank=True, on_delete=models.SET_NULL, related_name="reports"
    )
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(_("staff status"), default=False)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)

    objects = PersonManager()

    USERNAME_FIELD = "employee_code"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["name"]

    class Meta:
        ordering = ["employee_code"]
        verbose_name = _("person")
        verbose_name_plural = _("people")

    def __str__(self):
        return f"{self.employee_code} {self.name}"

    @property
    def code(self) -> str:
        return self.employee_code

    @property
    def kind(self) -> str:
        return "person"

    @property
    def sees_whole_center(self) -> bool:
        return self.is_superuser or self.role in (self.Role.HR, self.Role.DIRECTOR)

    @property
    def can_edit_library(self) -> bool:
        return self.is_superuser or self.role == self.Role.DIRECTOR

    @property
    def can_import_data(self) -> bool:
        return self.is_superuser or self.role in (self.Role.HR, self.Role.DIRECTOR)

    def clean(self):
        from django.core.exceptions import ValidationError

        super().clean()
        if OrgUnit.objects.filter(code=self.employee_code).exists():
            raise ValidationError({"employee_code": _("This code is already an org-unit code.")})

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        update_fields = kwargs.get("update_fields")
        if self.unit_id and (update_fields is None or "unit" in update_fields or "unit_id" in update_fields):
            # A person's rows count toward their current unit (the scorecard's subtree rule).
            Measurement.objects.filter(person=self).exclude(unit_id=self.unit_id).update(unit_id=self.unit_id)

    def get_full_name(self):
        return self.name

    def get_short_name(self):
        return self.name


class Perspective(models.Model):
    """One of the four balanced-scorecard perspectives, with its weight in the overall score."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_zh = models.CharField(_("name (Chinese)"), max_length=100, blank=True)
    question = models.CharField(_("question"), max_length=200, blank=True)
    question_zh = models.CharField(_("question (Chinese)"), max_length=200, blank=True)
    weight = models.FloatField(_("weight"), default=25)
    order = models.PositiveSmallIntegerField(default=0)
    history = HistoricalRecords()

    class Meta:
        ordering = ["order", "code"]
        verbose_name = _("perspective")
        verbose_name_plural = _("perspectives")
        constraints = [models.CheckConstraint(condition=Q(weight__gt=0), name="perspective_weight_positive")]

    def __str__(self):
        return self.label

    @property
    def label(self) -> str:
        return _localized(self, "name")

    @property
    def question_label(self) -> str:
        return _localized(self, "question")


MAX_VALUE_RANGE = _("The maximum per row must be above 0 and at most %(ceiling)s.")


class Measure(models.Model):
    """A raw additive count or amount from the contact-center systems.

    Its kind sets the largest plausible value of one row (METRICS.md "Plausible
    values"); the maximum itself is kept on the measure and editable in the library.
    """

    class Kind(models.TextChoices):
        COUNT = "count", _("Count")
        SECONDS = "seconds", _("Seconds")
        MINUTES = "minutes", _("Minutes")
        MONEY = "money", _("Money")
        POINTS = "points", _("Points")

    # METRICS.md: counts 100,000, seconds and minutes 86,400 × 1,000, money 10,000,000, points 100,000.
    DEFAULT_MAX = {
        Kind.COUNT: 100_000,
        Kind.SECONDS: 86_400 * 1_000,
        Kind.MINUTES: 86_400 * 1_000,
        Kind.MONEY: 10_000_000,
        Kind.POINTS: 100_000,
    }

    code = models.SlugField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    name_zh = models.CharField(_("name (Chinese)"), max_length=200, blank=True)
    description = models.TextField(_("description"), blank=True)
    description_zh = models.TextField(_("description (Chinese)"), blank=True)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.COUNT)
    # The largest value one row may carry; blank at creation: the kind's default.
    max_value = models.FloatField(
        _("maximum per row"), null=True, blank=True,
        help_text=_("A value above this in an import is refused as implausible. Blank: the default for the kind."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("measure")
        verbose_name_plural = _("measures")

    def __str__(self):
        return self.code

    # The highest maximum a user may set: a billion rows of it still sum far below a float's range,
    # so no sum over the data can overflow (issue 11: two rows of 1e308 summed to infinity).
    MAX_CEILING = 1_000_000_000_000

    def clean(self):
        from django.core.exceptions import ValidationError

        super().clean()
        if self.max_value is not None and not (0 < self.max_value <= self.MAX_CEILING):
            raise ValidationError({"max_value": MAX_VALUE_RANGE % {"ceiling": f"{self.MAX_CEILING:,}"}})

    def save(self, *args, **kwargs):
        if self.max_value is None:
            self.max_value = self.DEFAULT_MAX[self.Kind(self.kind)]
        super().save(*args, **kwargs)

    @property
    def maximum(self) -> float:
        """The largest plausible value of one row."""
        return self.max_value if self.max_value is not None else self.DEFAULT_MAX[self.Kind(self.kind)]

    @property
    def label(self) -> str:
        return _localized(self, "name")


class Kpi(models.Model):
    """A formula over measures, with thresholds and a weight in its perspective."""

    class Direction(models.TextChoices):
        HIGHER = "higher", _("Higher is better")
        LOWER = "lower", _("Lower is better")

    code = models.SlugField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    name_zh = models.CharField(_("name (Chinese)"), max_length=200, blank=True)
    definition = models.TextField(_("definition"), blank=True)
    definition_zh = models.TextField(_("definition (Chinese)"), blank=True)
    perspective = models.ForeignKey(
        Perspective, verbose_name=_("perspective"), on_delete=models.PROTECT, related_name="kpis"
    )
    formula = models.CharField(_("formula"), max_length=500)
    # The parsed formula: value = factor × Σ numerator / Σ denominator (or Σ numerator).
    factor = models.FloatField(default=1, editable=False)
    unit = models.CharField(_("unit"), max_length=32, blank=True)
    direction = models.CharField(_("direction"), max_length=8, choices=Direction.choices)
    baseline = models.FloatField(_("baseline"))
    typical = models.FloatField(_("typical"))
    excellent = models.FloatField(_("excellent"))
    weight = models.FloatField(_("weight"))
    min_sample = models.PositiveIntegerField(
        _("minimum sample"),
        null=True,
        blank=True,
        help_text=_("Below this denominator total the value is shown but not scored."),
    )
    order = models.PositiveSmallIntegerField(default=0)
    history = HistoricalRecords(excluded_fields=["factor", "order"])

    class Meta:
        ordering = ["perspective__order", "order", "code"]
        verbose_name = _("KPI")
        verbose_name_plural = _("KPIs")
        constraints = [models.CheckConstraint(condition=Q(weight__gt=0), name="kpi_weight_positive")]

    def __str__(self):
        return self.code

    @property
    def label(self) -> str:
        return _localized(self, "name")

    @property
    def definition_label(self) -> str:
        return _localized(self, "definition")


class KpiTerm(models.Model):
    """A measure summed into a KPI's numerator or denominator."""

    class Part(models.TextChoices):
        NUMERATOR = "num", _("numerator")
        DENOMINATOR = "den", _("denominator")

    kpi = models.ForeignKey(Kpi, on_delete=models.CASCADE, related_name="terms")
    measure = models.ForeignKey(Measure, on_delete=models.PROTECT, related_name="kpi_terms")
    part = models.CharField(max_length=3, choices=Part.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kpi", "measure", "part"], name="kpi_term_unique")]


class CacheVersion(models.Model):
    """Tokens renewed on every change to the KPI library and to the org and people.

    Each process caches what it loads per token (selectors.library_load and
    selectors.subject_get), so a scorecard reads one tiny row instead of
    several, and a change made in any process is seen by all of them at their
    next read. Random tokens, not counters: a rolled-back change cannot leave a
    stale entry under a number that a later change reuses.
    """

    library = models.BigIntegerField(default=0)
    org = models.BigIntegerField(default=0)

    @classmethod
    def bump(cls, *fields: str) -> None:
        tokens = {field: secrets.randbits(62) for field in fields}
        if not cls.objects.filter(pk=1).update(**tokens):
            cls.objects.update_or_create(pk=1, defaults=tokens)

    @classmethod
    def tokens(cls) -> tuple[int, int]:
        """Return (library, org) with one raw query: this runs on every scorecard."""
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT library, org FROM {cls._meta.db_table} WHERE id = 1")
            row = cursor.fetchone()
        return (row[0], row[1]) if row else (0, 0)


class Measurement(models.Model):
    """One value of one measure for one subject (a person or an org unit) on one day.

    `unit` is the unit the row counts toward: the subject itself, or the
    person's unit (kept in step when a person moves, see Person.save).
    A blank CSV cell stores no row: no row means no data, not zero.
    """

    date = models.DateField()
    # No single-column indexes: every write updates each index, and the
    # composite ones below already lead with unit_id and person_id. A measure
    # is looked up by measure_id only when it is deleted (rare, and PROTECTed).
    unit = models.ForeignKey(OrgUnit, on_delete=models.CASCADE, related_name="+", db_index=False)
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    measure = models.ForeignKey(Measure, on_delete=models.PROTECT, related_name="+", db_index=False)
    value = models.FloatField()

    class Meta:
        constraints = [
            # The upsert targets of import_measurements: one value per (date, subject, measure).
            models.UniqueConstraint(
                fields=["person", "date", "measure"],
                condition=Q(person__isnull=False),
                name="measurement_person_day_unique",
            ),
            models.UniqueConstraint(
                fields=["unit", "date", "measure"],
                condition=Q(person__isnull=True),
                name="measurement_unit_day_unique",
            ),
            models.CheckConstraint(condition=Q(value__gte=0), name="measurement_value_not_negative"),
        ]
        indexes = [
            # Covering index for the subtree sum of selectors.measure_sums:
            # WHERE unit_id IN (...) AND date BETWEEN ... GROUP BY measure_id.
            models.Index(fields=["unit", "date", "measure", "value"], name="measurement_unit_sum"),
            # Covering index for the center-wide sums, which read every row of a period:
            # selectors.daily_sums for the root unit, WHERE date BETWEEN ... GROUP BY
            # date, measure_id (the center scorecard's totals and weekly trend, read in
            # index order without a sort). One index more to write on every import: the
            # agents' league table does without one (its sums use the person unique index).
            models.Index(fields=["date", "measure", "value"], name="measurement_date_sum"),
        ]


class ImportJob(models.Model):
    """An uploaded CSV file, validated and loaded by a Celery worker."""

    class Kind(models.TextChoices):
        MEASUREMENTS = "measurements", _("Measurements")
        ORG = "org", _("Org units")
        PEOPLE = "people", _("People")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        RUNNING = "running", _("Running")
        DONE = "done", _("Loaded")
        FAILED = "failed", _("Refused")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.PENDING)
    file = models.FileField(_("file"), upload_to="imports/%Y/%m/", blank=True)
    filename = models.CharField(_("file name"), max_length=255)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    # The uploader's language: the worker writes the error messages in it.
    language = models.CharField(max_length=16, blank=True)
    rows = models.PositiveIntegerField(_("rows"), default=0)
    values = models.PositiveIntegerField(_("values"), default=0)
    # What the import wrote: measurement values, or org units or people, new and changed.
    created = models.PositiveIntegerField(_("created"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    # [{"line": 3, "column": "fcr", "message": "..."}], at most a few hundred.
    errors = models.JSONField(default=list, blank=True)
    error_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("import")
        verbose_name_plural = _("imports")

    def __str__(self):
        return f"{self.kind} {self.filename} ({self.status})"


class AuditEvent(models.Model):
    """One sensitive act, kept for HR to read: who, when, what (scorecard.audit.audit_record writes them).

    Rows are only ever added: no page, API or admin changes or deletes one.
    The actor is kept by name and code too, so the record outlives a deleted account.
    """

    class Action(models.TextChoices):
        LOGIN_FAILED = "login_failed", _("Sign-in failed")
        LOCKED_OUT = "locked_out", _("Account locked after failed sign-ins")
        UNLOCKED = "unlocked", _("Sign-in lock lifted")
        PASSWORD_CHANGED = "password_changed", _("Password changed")
        ROLE_CHANGED = "role_changed", _("Role changed")
        CONTRACT_SIGNED = "contract_signed", _("Contract signed")
        CYCLE_LAUNCHED = "cycle_launched", _("Review cycle launched")
        CALIBRATED = "calibrated", _("Rating calibrated")
        CYCLE_CLOSED = "cycle_closed", _("Review cycle closed")
        CUSTOMER_ADDED = "customer_added", _("Customer rater added")
        EXPORT_DOWNLOADED = "export_downloaded", _("Export downloaded")

    at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("who"),
    )
    # As the actor was when it happened (or the code typed at a failed sign-in).
    actor_label = models.CharField(_("who"), max_length=250, blank=True)
    action = models.CharField(_("what"), max_length=24, choices=Action.choices, db_index=True)
    # What it was done to: "reviews.ReviewCycle", its primary key and a readable label.
    target_type = models.CharField(max_length=60, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(_("on"), max_length=250, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit log")

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.target_label}"


class OutboxMessage(models.Model):
    """Work handed to the background, kept until the job system has taken it (scorecard.outbox).

    Written in the transaction of the act that needs the work, so the act and
    its work are committed together; sent to the broker after the commit, and
    sent again by the beat's drain while the broker was unreachable. A row is
    deleted once the broker has accepted its message. E-mails are kept here
    rendered (subject, body, recipients) and sent by a task.
    """

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    task = models.CharField(max_length=200)
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # Set while one process sends the row (scorecard.outbox._claim); cleared when the broker refused it.
    claimed_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("queued job")
        verbose_name_plural = _("queued jobs")

    def __str__(self):
        return f"{self.task} #{self.pk}"  # not the arguments: an e-mail's body may hold a customer's link
