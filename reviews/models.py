"""Review cycles and appraisals (stage 3 of MBO): self-assessment, 360 feedback, appraisal, calibration."""

import uuid

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from scorecard.models import OrgUnit, _localized


def default_scale() -> list[dict]:
    """The rating scale a new cycle starts with (评分等级 / 等级说明), editable per cycle.

    The labels are data, not interface text: a cycle's scale is what HR
    writes, so the default carries both languages.
    """
    return [
        {"grade": "A", "label": "卓越 Outstanding", "min": 90, "max": 100,
         "description": "各方面远超目标 · Far beyond the objectives in every respect."},
        {"grade": "B", "label": "优秀 Excellent", "min": 80, "max": 90,
         "description": "多数方面超出目标 · Beyond the objectives in most respects."},
        {"grade": "C", "label": "良好 Good", "min": 70, "max": 80, "description": "达成目标 · Meets the objectives."},
        {"grade": "D", "label": "合格 Acceptable", "min": 60, "max": 70,
         "description": "达成多数目标，部分需改进 · Meets most objectives; some need improvement."},
        {"grade": "E", "label": "待改进 Needs improvement", "min": 0, "max": 60,
         "description": "未达目标，需制定改进计划 · Below the objectives: an improvement plan is needed."},
    ]


# The fewest answers an anonymous group (peers, subordinates, customers) needs to be shown, whatever a cycle
# says: with 2, either rater reads the other's answers by difference; with 1, the answer is the person's.
ANONYMITY_FLOOR = 3


class ReviewCycle(models.Model):
    """An appraisal round for a period: its participants, scale, weights, phases and deadlines."""

    class Phase(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SELF_ASSESSMENT = "self_assessment", _("Self-assessment")
        FEEDBACK = "feedback", _("360 feedback")
        APPRAISAL = "appraisal", _("Manager appraisal")
        CALIBRATION = "calibration", _("Calibration")
        CLOSING = "closing", _("Closing")
        CLOSED = "closed", _("Closed")

    # The phases with a deadline, in order; each ends at its deadline.
    TIMED_PHASES = (Phase.SELF_ASSESSMENT, Phase.FEEDBACK, Phase.APPRAISAL, Phase.CALIBRATION)

    name = models.CharField(_("name"), max_length=200)
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    units = models.ManyToManyField(OrgUnit, verbose_name=_("participating units"), related_name="review_cycles")
    scale = models.JSONField(_("rating scale"), default=default_scale)
    # Weights of the parts of the overall score; they sum to 100. 360 feedback
    # serves development, not the rating: 0 unless HR decides otherwise.
    weight_objectives = models.FloatField(_("weight of objective and KPI results"), default=70)
    weight_competencies = models.FloatField(_("weight of competencies"), default=30)
    weight_feedback = models.FloatField(_("weight of 360 feedback"), default=0)
    self_assessment_due = models.DateTimeField(_("self-assessment deadline"))
    feedback_due = models.DateTimeField(_("360 feedback deadline"))
    appraisal_due = models.DateTimeField(_("manager appraisal deadline"))
    calibration_due = models.DateTimeField(_("calibration deadline"))
    phase = models.CharField(_("phase"), max_length=16, choices=Phase.choices, default=Phase.DRAFT)
    # Gate rule, e.g. {"measure": "qa_fatal_errors", "above": 0, "cap": "D"}: a fatal
    # error in the period caps the grade at D, whatever the other scores.
    gate_rule = models.JSONField(_("gate rule"), default=dict, blank=True)
    # Calibration guideline: the most a grade may hold of a unit, in %, e.g. {"A": 10}.
    guideline = models.JSONField(_("calibration guideline"), default=dict, blank=True)
    anonymity_threshold = models.PositiveSmallIntegerField(
        _("minimum answers shown per group"), default=ANONYMITY_FLOOR, validators=[MinValueValidator(ANONYMITY_FLOOR)],
    )
    max_requests_per_rater = models.PositiveSmallIntegerField(_("most feedback requests per rater"), default=8)
    # The 360 questionnaire: the template HR chose (None: the default one), and
    # its competencies frozen at launch ([{"code", "name", "name_zh",
    # "description", "description_zh"}]) so later edits never change a cycle.
    feedback_template = models.ForeignKey(
        "FeedbackTemplate", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("360 questionnaire"),
    )
    questionnaire = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    launched_at = models.DateTimeField(null=True, blank=True)
    # Closing: claimed by one worker (closing_started_at), progress, the summary when done.
    closing_started_at = models.DateTimeField(null=True, blank=True)
    closing_total = models.PositiveIntegerField(default=0)
    closing_done = models.PositiveIntegerField(default=0)
    closed_at = models.DateTimeField(null=True, blank=True)
    summary = models.JSONField(default=dict, blank=True)
    # Who started the close (empty: the calibration deadline did); a close before the
    # calibration phase is an override, kept with the phase it cut short and HR's reason.
    closing_started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("close started by"),
    )
    closed_early_from = models.CharField(_("closed early in phase"), max_length=16, choices=Phase.choices, blank=True)
    close_reason = models.TextField(_("reason for closing early"), blank=True)

    class Meta:
        ordering = ["-period_start", "name"]
        verbose_name = _("review cycle")
        verbose_name_plural = _("review cycles")
        constraints = [
            models.CheckConstraint(condition=Q(period_start__lte=models.F("period_end")), name="cycle_period_ordered"),
            models.CheckConstraint(condition=Q(anonymity_threshold__gte=ANONYMITY_FLOOR), name="cycle_anonymity_floor"),
        ]

    def __str__(self):
        return self.name


class Appraisal(models.Model):
    """One person's appraisal in a cycle, with the snapshot it is scored against."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    class Part(models.TextChoices):
        """Progress of a part written by someone (self-assessment, manager appraisal)."""

        PENDING = "pending", _("Not started")
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted")
        NOT_SUBMITTED = "not_submitted", _("Not submitted")

    cycle = models.ForeignKey(ReviewCycle, on_delete=models.CASCADE, related_name="appraisals")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="appraisals")
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.OPEN)
    # At launch: the agreed objectives, the signed contract and the KPI
    # definitions and thresholds in force, so later edits never change a result.
    snapshot = models.JSONField(default=dict)
    self_status = models.CharField(_("self-assessment"), max_length=14, choices=Part.choices, default=Part.PENDING)
    self_submitted_at = models.DateTimeField(null=True, blank=True)
    achievements = models.TextField(_("main achievements"), blank=True)
    difficulties = models.TextField(_("difficulties"), blank=True)
    help_wanted = models.TextField(_("help and development wanted"), blank=True)
    manager_status = models.CharField(_("manager appraisal"), max_length=14, choices=Part.choices, default=Part.PENDING)
    manager_submitted_at = models.DateTimeField(null=True, blank=True)
    manager_comments = models.TextField(_("manager's comments"), blank=True)
    objectives_score = models.FloatField(null=True, blank=True)
    competencies_score = models.FloatField(null=True, blank=True)
    feedback_score = models.FloatField(null=True, blank=True)
    overall_score = models.FloatField(_("overall score"), null=True, blank=True)
    proposed_grade = models.CharField(_("proposed grade"), max_length=8, blank=True)
    gate_applied = models.BooleanField(default=False)
    calibrated_grade = models.CharField(_("calibrated grade"), max_length=8, blank=True)
    calibration_reason = models.TextField(_("reason for the calibration"), blank=True)
    calibrated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    calibrated_at = models.DateTimeField(null=True, blank=True)
    final_grade = models.CharField(_("final grade"), max_length=8, blank=True)
    outcome = models.TextField(_("outcome"), blank=True)
    interview_at = models.DateTimeField(_("interview"), null=True, blank=True)
    interview_notes = models.TextField(_("interview notes"), blank=True)
    improvement_actions = models.TextField(_("agreed improvement actions"), blank=True)
    next_objectives = models.JSONField(_("draft objectives for next period"), default=list, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    disagreement = models.TextField(_("written disagreement"), blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["cycle", "unit__path", "person__employee_code"]
        verbose_name = _("appraisal")
        verbose_name_plural = _("appraisals")
        constraints = [models.UniqueConstraint(fields=["cycle", "person"], name="appraisal_once_per_cycle")]
        indexes = [
            # The close job claims open appraisals of a cycle in batches.
            models.Index(fields=["cycle", "status"], name="appraisal_cycle_status"),
        ]

    def __str__(self):
        return f"{self.cycle} · {self.person}"

    @property
    def grade(self) -> str:
        return self.final_grade or self.calibrated_grade or self.proposed_grade


class ObjectiveRating(models.Model):
    """An objective of the snapshot: the actual result, the self-rating and the manager's rating."""

    appraisal = models.ForeignKey(Appraisal, on_delete=models.CASCADE, related_name="objective_ratings")
    objective_id = models.PositiveBigIntegerField()  # the snapshot's objective (the live one may change)
    title = models.CharField(max_length=200)
    weight = models.FloatField()
    actual = models.FloatField(_("actual result"), null=True, blank=True)
    system_score = models.FloatField(null=True, blank=True)  # from the scorecard under the snapshot thresholds
    self_rating = models.FloatField(_("self-rating"), null=True, blank=True)
    self_comment = models.TextField(_("comment"), blank=True)
    manager_rating = models.FloatField(_("manager's rating"), null=True, blank=True)
    manager_comment = models.TextField(_("manager's comment"), blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["appraisal", "objective_id"], name="objective_rating_once"),
            models.CheckConstraint(
                condition=(Q(self_rating__isnull=True) | (Q(self_rating__gte=0) & Q(self_rating__lte=100)))
                & (Q(manager_rating__isnull=True) | (Q(manager_rating__gte=0) & Q(manager_rating__lte=100))),
                name="objective_rating_range",
            ),
        ]


class Competency(models.Model):
    """A competency rated 1–5 (communication, interpersonal relations, leadership, …); HR edits them."""

    code = models.SlugField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    name_zh = models.CharField(_("name (Chinese)"), max_length=200, blank=True)
    description = models.TextField(_("description"), blank=True)
    description_zh = models.TextField(_("description (Chinese)"), blank=True)
    order = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(_("in use"), default=True)

    class Meta:
        ordering = ["order", "code"]
        verbose_name = _("competency")
        verbose_name_plural = _("competencies")

    def __str__(self):
        return self.code

    @property
    def label(self) -> str:
        return _localized(self, "name")

    @property
    def description_label(self) -> str:
        return _localized(self, "description")


class CompetencyRating(models.Model):
    """The manager's rating of one competency in an appraisal, 1–5."""

    appraisal = models.ForeignKey(Appraisal, on_delete=models.CASCADE, related_name="competency_ratings")
    competency = models.ForeignKey(Competency, on_delete=models.PROTECT, related_name="+")
    score = models.PositiveSmallIntegerField(_("rating"))
    comment = models.TextField(_("comment"), blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["appraisal", "competency"], name="competency_rating_once"),
            models.CheckConstraint(condition=Q(score__gte=1) & Q(score__lte=5), name="competency_rating_range"),
        ]


class AppraisalReminder(models.Model):
    """A reminder sent before a deadline; unique, so nobody is reminded twice for the same thing."""

    appraisal = models.ForeignKey(Appraisal, on_delete=models.CASCADE, related_name="reminders")
    phase = models.CharField(max_length=16, choices=ReviewCycle.Phase.choices)
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["appraisal", "phase", "recipient"], name="appraisal_reminder_once")
        ]


class ReminderRun(models.Model):
    """HR's "Remind the late ones now": what was planned when pressed, then what the worker sent.

    The e-mails go out in a background task; this row is what the cycle page
    shows meanwhile ("Sending …") and afterwards (sent, skipped, failed).
    Counts are of reminders (one per late appraisal part) and e-mails (one per recipient).
    """

    cycle = models.ForeignKey(ReviewCycle, on_delete=models.CASCADE, related_name="reminder_runs")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    planned_reminders = models.PositiveIntegerField(default=0)
    planned_emails = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    sent_reminders = models.PositiveIntegerField(default=0)
    sent_emails = models.PositiveIntegerField(default=0)
    skipped_reminders = models.PositiveIntegerField(default=0)  # already reminded within REVIEW_REMIND_NOW_HOURS
    failed_emails = models.PositiveIntegerField(default=0)  # the mail server refused; the next press tries again

    class Meta:
        # The cycle page's "latest run of this cycle" and the "already sending" check.
        indexes = [models.Index(fields=["cycle", "-requested_at"], name="reminder_run_latest")]


# ------------------------------------------------------------------ 360 feedback


class FeedbackTemplate(models.Model):
    """A 360 questionnaire: competencies rated 1–5 with comments; HR edits them."""

    name = models.CharField(_("name"), max_length=200)
    name_zh = models.CharField(_("name (Chinese)"), max_length=200, blank=True)
    description = models.TextField(_("description"), blank=True)
    competencies = models.ManyToManyField(
        Competency, through="FeedbackTemplateItem", related_name="feedback_templates", verbose_name=_("competencies")
    )
    is_default = models.BooleanField(_("default for new cycles"), default=False)
    active = models.BooleanField(_("in use"), default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-is_default", "name"]
        verbose_name = _("360 questionnaire")
        verbose_name_plural = _("360 questionnaires")
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True), name="feedback_template_one_default"),
        ]

    def __str__(self):
        return self.name

    @property
    def label(self) -> str:
        return _localized(self, "name")


class FeedbackTemplateItem(models.Model):
    """A competency of a questionnaire, in its order."""

    template = models.ForeignKey(FeedbackTemplate, on_delete=models.CASCADE, related_name="items")
    competency = models.ForeignKey(Competency, on_delete=models.PROTECT, related_name="+")
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "id"]
        constraints = [models.UniqueConstraint(fields=["template", "competency"], name="feedback_template_item_once")]


class FeedbackRequest(models.Model):
    """Someone asked to give feedback on an appraisee in a cycle: who (by relationship), and where it stands.

    Peers, subordinates and customers answer anonymously: their answers
    (FeedbackResponse) carry no link to this request, no rater and no time, so
    nothing stored with an answer tells who wrote it; this request only says
    that it was answered. Customers and other people without a login answer
    through a single-use link that expires: only the SHA-256 of its token is
    kept.
    """

    class Relationship(models.TextChoices):
        SELF = "self", _("Self")
        SUPERVISOR = "supervisor", _("Supervisor")
        PEER = "peer", _("Peer")
        SUBORDINATE = "subordinate", _("Subordinate")
        CUSTOMER = "customer", _("Customer")
        MATRIX = "matrix", _("Matrix manager")

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Awaiting approval")
        OPEN = "open", _("To answer")
        SUBMITTED = "submitted", _("Answered")
        REJECTED = "rejected", _("Not approved")
        NOT_SUBMITTED = "not_submitted", _("Not answered")

    class Origin(models.TextChoices):
        SUGGESTED = "suggested", _("Suggested")
        NOMINATED = "nominated", _("Nominated by the appraisee")
        ADDED = "added", _("Added by a manager or HR")

    # Answers from these relationships are shown only aggregated, and only from
    # cycle.anonymity_threshold answers up; the others are shown by name.
    ANONYMOUS = frozenset({Relationship.PEER, Relationship.SUBORDINATE, Relationship.CUSTOMER})
    # Requests that count toward cycle.max_requests_per_rater (not one's own
    # self-assessment, not a supervisor's duty to their reports).
    LIMITED = frozenset({Relationship.PEER, Relationship.SUBORDINATE, Relationship.MATRIX})
    LIVE = frozenset({Status.PROPOSED, Status.OPEN, Status.SUBMITTED})

    cycle = models.ForeignKey(ReviewCycle, on_delete=models.CASCADE, related_name="feedback_requests")
    appraisal = models.ForeignKey(Appraisal, on_delete=models.CASCADE, related_name="feedback_requests")
    relationship = models.CharField(_("relationship"), max_length=12, choices=Relationship.choices)
    rater = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="feedback_requests",
        verbose_name=_("rater"),
    )
    external_name = models.CharField(_("name"), max_length=200, blank=True)
    external_email = models.EmailField(_("email"), blank=True)
    origin = models.CharField(_("origin"), max_length=10, choices=Origin.choices, default=Origin.SUGGESTED)
    status = models.CharField(_("status"), max_length=14, choices=Status.choices, default=Status.PROPOSED)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    token_hash = models.CharField(max_length=64, null=True, blank=True, unique=True)
    token_expires_at = models.DateTimeField(null=True, blank=True)
    # The rater's answers until they submit ({"answers": {code: {"score", "comment"}}, "comment"});
    # emptied on submission, kept (never lost) when the cycle closes unanswered.
    draft = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["appraisal", "relationship", "id"]
        verbose_name = _("feedback request")
        verbose_name_plural = _("feedback requests")
        constraints = [
            models.UniqueConstraint(
                fields=["appraisal", "rater"], condition=Q(rater__isnull=False), name="feedback_request_rater_once"
            ),
            models.CheckConstraint(
                condition=(Q(relationship="customer") & Q(rater__isnull=True) & ~Q(external_name=""))
                | (~Q(relationship="customer") & Q(rater__isnull=False)),
                name="feedback_request_rater_or_customer",
            ),
        ]
        indexes = [
            models.Index(fields=["rater", "status"], name="feedback_request_rater"),
            models.Index(fields=["cycle", "status"], name="feedback_request_cycle"),
        ]

    def __str__(self):
        return f"{self.appraisal} · {self.get_relationship_display()}"

    @property
    def anonymous(self) -> bool:
        return self.relationship in self.ANONYMOUS

    @property
    def rater_name(self) -> str:
        return self.rater.name if self.rater_id else self.external_name


class FeedbackResponse(models.Model):
    """One submitted questionnaire about an appraisee.

    A random primary key and no timestamp: neither the order of rows nor a time
    can be matched to a request. `request` is set only for relationships shown
    by name (self, supervisor, matrix managers); anonymous answers keep only
    their relationship.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    appraisal = models.ForeignKey(Appraisal, on_delete=models.CASCADE, related_name="feedback_responses")
    relationship = models.CharField(max_length=12, choices=FeedbackRequest.Relationship.choices)
    request = models.OneToOneField(
        FeedbackRequest, null=True, blank=True, on_delete=models.SET_NULL, related_name="named_response"
    )
    comment = models.TextField(_("comment"), blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(request__isnull=True) | ~Q(relationship__in=["peer", "subordinate", "customer"]),
                name="feedback_response_anonymous_unlinked",
            ),
        ]


class FeedbackAnswer(models.Model):
    """A competency rated 1–5 in a response, with a comment."""

    response = models.ForeignKey(FeedbackResponse, on_delete=models.CASCADE, related_name="answers")
    code = models.CharField(max_length=64)  # the competency of the cycle's questionnaire
    score = models.PositiveSmallIntegerField(_("rating"))
    comment = models.TextField(_("comment"), blank=True)

    class Meta:
        ordering = ["response", "code"]
        constraints = [
            models.UniqueConstraint(fields=["response", "code"], name="feedback_answer_once"),
            models.CheckConstraint(condition=Q(score__gte=1) & Q(score__lte=5), name="feedback_answer_range"),
        ]


class FeedbackReminder(models.Model):
    """A rater reminded of their unanswered requests before the 360 deadline; once per cycle and rater."""

    cycle = models.ForeignKey(ReviewCycle, on_delete=models.CASCADE, related_name="+")
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["cycle", "recipient"], name="feedback_reminder_once")]


# ------------------------------------------------------------------ exports


class ExportJob(models.Model):
    """HR's bulk export of a cycle's appraisals as PDFs in one ZIP, rendered by Celery workers in chunks.

    `key` names what is exported (cycle, units, language): while one export of
    a key is pending or running, starting it again returns that one (a partial
    unique constraint holds it even when two requests race).
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        RUNNING = "running", _("Rendering")
        DONE = "done", _("Ready")
        FAILED = "failed", _("Failed")
        EXPIRED = "expired", _("Deleted")

    ACTIVE = (Status.PENDING, Status.RUNNING)

    cycle = models.ForeignKey(ReviewCycle, on_delete=models.CASCADE, related_name="exports")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    unit_codes = models.JSONField(_("units"), default=list, blank=True)  # sorted; empty: the whole cycle
    language = models.CharField(_("language"), max_length=16)
    key = models.CharField(max_length=64)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.PENDING)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    # One line per document that could not be rendered: {"file", "person", "error"}.
    log = models.JSONField(default=list, blank=True)
    file = models.CharField(max_length=255, blank=True)  # path of the ZIP under MEDIA_ROOT
    size = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(_("started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("appraisal export")
        verbose_name_plural = _("appraisal exports")
        constraints = [
            models.UniqueConstraint(
                fields=["cycle", "key"], condition=Q(status__in=["pending", "running"]), name="export_once_while_active"
            ),
        ]

    def __str__(self):
        return f"{self.cycle} · {self.language} · {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return int(100 * (self.done + self.failed) / self.total) if self.total else 0


class ExportChunk(models.Model):
    """A slice of an export that one worker renders into its own part file; chunks run in parallel."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        RUNNING = "running", _("Rendering")
        DONE = "done", _("Done")

    job = models.ForeignKey(ExportJob, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    appraisal_ids = models.JSONField(default=list)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    claimed_at = models.DateTimeField(null=True, blank=True)
    done = models.PositiveIntegerField(default=0)
    log = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["job", "index"]
        constraints = [models.UniqueConstraint(fields=["job", "index"], name="export_chunk_once")]
