"""Objectives, cascades, check-ins and performance contracts (stages 1 and 2 of MBO)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from scorecard.models import Kpi, OrgUnit


class Objective(models.Model):
    """A SMART objective of an org unit or a person for a period.

    KPI objectives set their own baseline, target and stretch, which score the
    owner's KPI for that period through (baseline, 60), (target, 80),
    (stretch, 100); milestone objectives are progressed by check-ins.
    """

    class Kind(models.TextChoices):
        KPI = "kpi", _("KPI objective")
        MILESTONE = "milestone", _("Milestone objective")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PROPOSED = "proposed", _("Proposed")
        AGREED = "agreed", _("Agreed")
        ACTIVE = "active", _("Active")
        ACHIEVED = "achieved", _("Achieved")
        MISSED = "missed", _("Missed")
        CANCELLED = "cancelled", _("Cancelled")

    # Statuses whose KPI thresholds apply to the owner's scorecard.
    IN_FORCE = (Status.AGREED, Status.ACTIVE, Status.ACHIEVED, Status.MISSED)
    # Statuses in which the owner and manager may still edit freely.
    EDITABLE = (Status.DRAFT,)
    # Statuses from which the manager marks the objective achieved or missed (at the latest when the period ends).
    TO_CLOSE = (Status.AGREED, Status.ACTIVE)

    owner_unit = models.ForeignKey(
        OrgUnit, verbose_name=_("owner unit"), null=True, blank=True, on_delete=models.PROTECT, related_name="objectives"
    )
    owner_person = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="objectives",
    )
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    title = models.CharField(_("title"), max_length=200)
    result = models.TextField(_("result"), blank=True, help_text=_("The result the objective describes."))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.KPI)
    kpi = models.ForeignKey(Kpi, verbose_name=_("KPI"), null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    baseline = models.FloatField(_("baseline"), null=True, blank=True)
    target = models.FloatField(_("target"), null=True, blank=True)
    stretch = models.FloatField(_("stretch"), null=True, blank=True)
    completion_criterion = models.TextField(_("completion criterion"), blank=True)
    verification = models.TextField(_("how completion is verified"), blank=True)
    resources = models.TextField(_("resources and support needed"), blank=True)
    weight = models.FloatField(_("weight"), default=0)
    due_date = models.DateField(_("due date"))
    parent = models.ForeignKey(
        "self", verbose_name=_("parent objective"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="children",
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    progress = models.FloatField(
        _("progress (%)"), null=True, blank=True, help_text=_("Milestone objectives: from the latest check-in.")
    )
    template = models.ForeignKey(
        "ObjectiveTemplate", null=True, blank=True, on_delete=models.SET_NULL, related_name="objectives"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Revisions of agreed objectives keep their old values here, with the reason.
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["period_start", "id"]
        verbose_name = _("objective")
        verbose_name_plural = _("objectives")
        constraints = [
            models.CheckConstraint(
                condition=(Q(owner_unit__isnull=False) & Q(owner_person__isnull=True))
                | (Q(owner_unit__isnull=True) & Q(owner_person__isnull=False)),
                name="objective_one_owner",
            ),
            models.CheckConstraint(condition=Q(period_start__lte=models.F("period_end")), name="objective_period_ordered"),
            models.CheckConstraint(condition=Q(weight__gte=0) & Q(weight__lte=100), name="objective_weight_range"),
        ]
        indexes = [
            # Threshold overrides of a scorecard: the owner's KPI objectives in force for a period.
            models.Index(fields=["owner_person", "period_start"], name="objective_person_period"),
            models.Index(fields=["owner_unit", "period_start"], name="objective_unit_period"),
        ]

    def __str__(self):
        return self.title

    @property
    def owner(self):
        return self.owner_unit if self.owner_unit_id else self.owner_person

    @property
    def owner_code(self) -> str:
        return self.owner.code

    @property
    def period_ended(self) -> bool:
        """Still agreed or active although its period is over: the manager must mark it achieved or missed."""
        return self.status in self.TO_CLOSE and self.period_end < timezone.localdate()


class ObjectiveEvent(models.Model):
    """One step of an objective's life: who moved it from which status to which, when, and why."""

    class Action(models.TextChoices):
        CREATE = "create", _("created")
        PROPOSE = "propose", _("proposed")
        AGREE = "agree", _("agreed")
        RETURN = "return", _("returned with a comment")
        REJECT = "reject", _("rejected")
        ACTIVATE = "activate", _("activated")
        ACHIEVE = "achieve", _("marked achieved")
        MISS = "miss", _("marked missed")
        CANCEL = "cancel", _("cancelled")
        REVISE = "revise", _("revised")
        CASCADE = "cascade", _("cascaded")

    objective = models.ForeignKey(Objective, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=10, choices=Action.choices)
    from_status = models.CharField(max_length=10, choices=Objective.Status.choices, blank=True)
    to_status = models.CharField(max_length=10, choices=Objective.Status.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    comment = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]


class ObjectiveTemplate(models.Model):
    """A standard objective (e.g. for every agent of a team), assigned in bulk to a unit's members."""

    name = models.CharField(_("name"), max_length=200)
    unit = models.ForeignKey(OrgUnit, verbose_name=_("unit"), on_delete=models.CASCADE, related_name="objective_templates")
    kind = models.CharField(_("kind"), max_length=10, choices=Objective.Kind.choices, default=Objective.Kind.KPI)
    title = models.CharField(_("title"), max_length=200)
    result = models.TextField(_("result"), blank=True)
    kpi = models.ForeignKey(Kpi, verbose_name=_("KPI"), null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    baseline = models.FloatField(_("baseline"), null=True, blank=True)
    target = models.FloatField(_("target"), null=True, blank=True)
    stretch = models.FloatField(_("stretch"), null=True, blank=True)
    completion_criterion = models.TextField(_("completion criterion"), blank=True)
    verification = models.TextField(_("how completion is verified"), blank=True)
    resources = models.TextField(_("resources and support needed"), blank=True)
    weight = models.FloatField(_("weight"), default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["unit__path", "name"]
        verbose_name = _("objective template")
        verbose_name_plural = _("objective templates")

    def __str__(self):
        return self.name


class CheckIn(models.Model):
    """A progress review of an objective during the period (定期检查), with the manager's reply."""

    objective = models.ForeignKey(Objective, on_delete=models.CASCADE, related_name="checkins")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    progress_note = models.TextField(_("progress"))
    progress = models.FloatField(_("progress (%)"), null=True, blank=True)
    obstacles = models.TextField(_("obstacles"), blank=True)
    help_needed = models.TextField(_("help needed"), blank=True)
    next_steps = models.TextField(_("next steps"), blank=True)
    reply = models.TextField(_("manager's reply"), blank=True)
    replied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    replied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("check-in")
        verbose_name_plural = _("check-ins")
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__isnull=True) | (Q(progress__gte=0) & Q(progress__lte=100)),
                name="checkin_progress_range",
            )
        ]


class CheckInReminder(models.Model):
    """A reminder sent to an objective's owner; unique per silence, so nobody is reminded twice for it.

    `since` is the date of the last check-in (or the objective's start when
    there is none): a new check-in starts a new silence and allows a new reminder.
    """

    objective = models.ForeignKey(Objective, on_delete=models.CASCADE, related_name="reminders")
    since = models.DateField()
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["objective", "since"], name="checkin_reminder_once")]


class InfluencingFactor(models.Model):
    """A factor behind an objective's result (运营目标制订法), drawn on its fishbone diagram."""

    class Category(models.TextChoices):
        PEOPLE = "people", _("People")
        METHOD = "method", _("Method")
        SYSTEM = "system", _("System")
        INFORMATION = "information", _("Information")
        ENVIRONMENT = "environment", _("Environment")
        MEASUREMENT = "measurement", _("Measurement")

    objective = models.ForeignKey(Objective, on_delete=models.CASCADE, related_name="factors")
    name = models.CharField(_("factor"), max_length=200)
    controllable = models.BooleanField(_("controllable"), default=False)
    influenceable = models.BooleanField(_("influenceable"), default=False)
    kpi = models.ForeignKey(Kpi, verbose_name=_("related KPI"), null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    category = models.CharField(_("fishbone category"), max_length=12, choices=Category.choices)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["category", "id"]
        verbose_name = _("influencing factor")
        verbose_name_plural = _("influencing factors")


class Contract(models.Model):
    """A person's performance contract (业绩合同) for a period, one version of it.

    Locked once both the employee and the manager have signed: an amendment is
    a new version that replaces this one and is signed again; every version
    stays readable. `content` is the frozen text of what is signed.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SIGNED = "signed", _("Signed")
        SUPERSEDED = "superseded", _("Superseded")

    person = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("employee"), on_delete=models.PROTECT, related_name="contracts")
    manager = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("manager"), on_delete=models.PROTECT, related_name="+")
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    replaces = models.OneToOneField(
        "self", verbose_name=_("replaces"), null=True, blank=True, on_delete=models.PROTECT, related_name="superseded_by"
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    support = models.TextField(_("support and resources the manager commits to"), blank=True)
    reward_terms = models.JSONField(
        _("reward and penalty table"), default=list, blank=True,
        help_text=_("A list of {grade, outcome} rows, from rating grade to outcome."),
    )
    terms_text = models.TextField(_("reward and penalty terms"), blank=True)
    # The objectives as agreed, frozen at signing: [{id, title, kind, kpi, baseline, target, stretch,
    # completion_criterion, weight, due_date}].
    content = models.JSONField(default=dict, blank=True)
    content_hash = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    locked_at = models.DateTimeField(null=True, blank=True)
    amendment_reason = models.TextField(_("reason for the amendment"), blank=True)

    class Meta:
        ordering = ["person", "period_start", "version"]
        verbose_name = _("performance contract")
        verbose_name_plural = _("performance contracts")
        constraints = [
            models.UniqueConstraint(fields=["person", "period_start", "period_end", "version"], name="contract_version_unique"),
        ]

    def __str__(self):
        return f"{self.person} {self.period_start}–{self.period_end} v{self.version}"

    @property
    def is_locked(self) -> bool:
        return self.locked_at is not None


class ContractObjective(models.Model):
    """An objective in a contract version, with its weight in that contract (weights sum to 100)."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="lines")
    objective = models.ForeignKey(Objective, on_delete=models.PROTECT, related_name="contract_lines")
    weight = models.FloatField(_("weight"))

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["contract", "objective"], name="contract_objective_once")]


class ContractSignature(models.Model):
    """A signature: who signed which version, as employee or manager, when, over which content hash."""

    class Role(models.TextChoices):
        EMPLOYEE = "employee", _("Employee")
        MANAGER = "manager", _("Manager")

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="signatures")
    role = models.CharField(max_length=8, choices=Role.choices)
    signer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    signed_at = models.DateTimeField(auto_now_add=True)
    content_hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["signed_at"]
        constraints = [models.UniqueConstraint(fields=["contract", "role"], name="contract_signed_once_per_role")]
