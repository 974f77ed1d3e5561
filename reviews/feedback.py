"""360 feedback (360度考核): raters by relationship, questionnaires, answers, and results that keep raters safe.

Who may do what:
- the appraisee nominates peers (and customers) they want feedback from; the
  nomination waits for approval;
- an arranger — the appraisal's manager, a manager above the appraisee, a
  director or HR (never the appraisee) — approves or rejects what was
  suggested or nominated, and adds raters directly (matrix managers,
  customers, peers…);
- a rater answers the requests addressed to them, as a draft until they
  submit; customers (people without a login) answer once through a link that
  expires;
- all of it from launch until the 360 deadline, while the cycle is in its
  self-assessment or 360 phase.

Customers (issue 11): the people who arrange a 360 could otherwise answer as
customers themselves and, once one real customer answered, read that
customer's scores by difference. So a customer's single-use link goes only to
the customer, by e-mail from the server: it is never returned, shown or logged
to a staff account, and the link refuses a signed-in session. A customer
needs an e-mail address outside the company (settings.COMPANY_EMAIL_DOMAINS,
any domain of an active staff member's address, never a staff member's own
address), once per appraisal, at most settings.FEEDBACK_MAX_CUSTOMERS per
appraisal (nominations awaiting approval count), counted under the cycle's row
lock. Adding, approving and sending a link again are written to the audit log,
with the address, for HR to read. An unknown, used or expired link answers the
same, so the link tells nobody whether the customer answered.

Limits: a person receives at most cycle.max_requests_per_rater requests to
rate others as a peer, subordinate or matrix manager (their own self-rating
and a supervisor's reports do not count). Suggestions at launch respect it.

Anonymity: answers from peers, subordinates and customers are stored without
a link to their request, with a random id and no time (models.FeedbackResponse),
and shown only as a mean per relationship with the comments sorted by text,
only when the group has at least cycle.anonymity_threshold answers, and only
once the 360 phase is over — so a result never changes while someone watches
and no answer can be told apart by difference. The threshold is never below
models.ANONYMITY_FLOOR (3), whatever a cycle says. Nobody but the rater sees
whether an anonymous request was answered: the lists show it as "asked".
The self-rating, the supervisor and matrix managers are shown by name.

The 360 score (my reading of "360 in the overall score"): the mean, over the
relationship groups shown (self excluded), of each group's mean rating, as a
score out of 100 (5 → 100). A group too small to show does not count, so the
score cannot reveal it either.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import math
import secrets
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from scorecard.audit import audit_record
from scorecard.emails import absolute_url, email_send
from scorecard.models import AuditEvent, Person

from .access import appraisal_visible, can_arrange  # can_arrange: also feedback.can_arrange for the pages
from .models import (
    ANONYMITY_FLOOR, Appraisal, FeedbackAnswer, FeedbackReminder, FeedbackRequest, FeedbackResponse, FeedbackTemplate,
    ReviewCycle,
)

logger = logging.getLogger(__name__)
Phase = ReviewCycle.Phase
R = FeedbackRequest.Relationship
S = FeedbackRequest.Status
O = FeedbackRequest.Origin

# Relationships in the order they are listed.
RELATIONSHIP_ORDER = [R.SELF, R.SUPERVISOR, R.MATRIX, R.PEER, R.SUBORDINATE, R.CUSTOMER]
# What an arranger may add, and what the appraisee may nominate.
ADDABLE = (R.PEER, R.SUBORDINATE, R.MATRIX, R.CUSTOMER)
NOMINABLE = (R.PEER, R.CUSTOMER)
# The phases in which raters are arranged and answer (until the 360 deadline).
OPEN_PHASES = (Phase.SELF_ASSESSMENT, Phase.FEEDBACK)
# Once these are reached, the 360 results are final and shown.
RESULT_PHASES = (Phase.APPRAISAL, Phase.CALIBRATION, Phase.CLOSING, Phase.CLOSED)

NOT_ARRANGER = _("Only the appraisee's manager, a manager above them, a director or HR arranges the raters.")
NOT_APPRAISEE = _("Only the appraisee nominates raters for their own feedback.")
NOT_RATER = _("This feedback request is not addressed to you.")
WINDOW_CLOSED = _("360 feedback for this cycle is over (its deadline was %(due)s).")
WINDOW_NOT_OPEN = _("360 feedback opens when the cycle is launched.")
APPRAISAL_CLOSED = _("This appraisal is closed: its feedback can no longer change.")
RATER_REQUIRED = _("Give the employee code of the rater.")
RATER_UNKNOWN = _("No active colleague has this employee code.")
RATER_IS_APPRAISEE = _("The appraisee cannot be their own %(relationship)s.")
RATER_ALREADY = _("%(name)s is already asked for feedback on this person.")
RATER_LIMIT = _("%(name)s already has %(n)s feedback requests in this cycle, the most a rater receives.")
RELATIONSHIP_NOT_ALLOWED = _("This relationship cannot be added here.")
CUSTOMER_NAME_REQUIRED = _("Give the customer's name.")
CUSTOMER_EMAIL_INVALID = _("Enter a valid email address.")
CUSTOMER_EMAIL_REQUIRED = _("Give the customer's email address: their personal link is sent there, and only there.")
CUSTOMER_EMAIL_COMPANY = _(
    "This is an address of the company (%(domain)s): a customer answers from their own address outside the company."
)
CUSTOMER_EMAIL_STAFF = _("This is a colleague's address: colleagues are asked as peers, never as customers.")
CUSTOMER_ALREADY = _("A customer with this email address is already asked for feedback on this person.")
CUSTOMER_LIMIT = _("At most %(n)s customers are asked for feedback on one person.")
# The same whether or not the customer has answered (then nothing is sent): sending again tells nothing.
LINK_SENT_AGAIN = _(
    "Unless %(name)s has already answered, a new personal link was sent to %(email)s; the previous one no longer works."
)
NO_SUCH_CUSTOMER = _("No customer with this email address is asked for feedback on this person.")
NOT_PROPOSED = _("This request was already decided.")
ALREADY_ANSWERED = _("This feedback was already submitted: it can no longer be changed.")
NOT_OPEN = _("This request is not open for answers.")
SCORE_RANGE = _("Rate from 1 to 5.")
SCORE_REQUIRED = _("Rate this competency before submitting.")
UNKNOWN_COMPETENCY = _("This competency is not part of the questionnaire.")
TEXT_TOO_LONG = _("At most %(n)s characters.")
# One answer for a link unknown, already used or expired: the link never tells whether its customer answered.
LINK_INVALID = _(
    "This feedback link cannot be used: it is not valid, was already used or has expired. "
    "If you were asked for feedback and have not answered yet, ask the person who asked you to send a new link."
)
SIGNED_IN = _(
    "You are signed in to Scorecard: a customer's feedback link cannot be opened from a staff account. "
    "If you are the customer, log out first or open the link in a private window."
)
NOTHING_TO_APPROVE = _("There is nothing awaiting approval.")

ANSWERS_SHAPE = _("Give the answers by competency code.")

MAX_COMMENT = 4000


# ---------------------------------------------------------------- questionnaire


def default_template() -> FeedbackTemplate | None:
    return FeedbackTemplate.objects.filter(is_default=True, active=True).first() or (
        FeedbackTemplate.objects.filter(active=True).order_by("name").first()
    )


def questionnaire_for(template: FeedbackTemplate | None) -> list[dict]:
    """The competencies of a questionnaire in their order, frozen in the cycle at launch (1 query)."""
    from .models import Competency, FeedbackTemplateItem

    if template is not None:
        competencies = [
            item.competency
            for item in FeedbackTemplateItem.objects.filter(template=template).select_related("competency")
        ]
    else:
        competencies = list(Competency.objects.filter(active=True))
    return [
        {"code": c.code, "name": c.name, "name_zh": c.name_zh,
         "description": c.description, "description_zh": c.description_zh}
        for c in competencies
    ]


def _zh() -> bool:
    return (get_language() or "").lower().startswith("zh")


def question_label(question: dict) -> str:
    return (question.get("name_zh") if _zh() else "") or question.get("name") or question.get("code", "")


def question_description(question: dict) -> str:
    return (question.get("description_zh") if _zh() else "") or question.get("description") or ""


# ------------------------------------------------------------------ who may


def results_available(cycle: ReviewCycle) -> bool:
    """Results are shown once the 360 phase is over: no answer can arrive after someone has looked."""
    return cycle.phase in RESULT_PHASES


def _due_text(cycle: ReviewCycle) -> str:
    return timezone.localtime(cycle.feedback_due).strftime("%Y-%m-%d %H:%M")


def window_error(cycle: ReviewCycle, appraisal: Appraisal | None = None, now: dt.datetime | None = None) -> str | None:
    """Why feedback cannot be arranged or given now (None: it can)."""
    now = now or timezone.now()
    if (appraisal is not None and appraisal.status == Appraisal.Status.CLOSED) or cycle.phase in (
        Phase.CLOSING, Phase.CLOSED
    ):
        return str(APPRAISAL_CLOSED)
    if cycle.phase == Phase.DRAFT:
        return str(WINDOW_NOT_OPEN)
    if cycle.phase not in OPEN_PHASES or now > cycle.feedback_due:
        return str(WINDOW_CLOSED % {"due": _due_text(cycle)})
    return None


def _check_window(cycle: ReviewCycle, appraisal: Appraisal | None = None) -> None:
    error = window_error(cycle, appraisal)
    if error:
        raise ValidationError({"__all__": error})


# ------------------------------------------------------------- suggestions


def peers_suggested(cycle: ReviewCycle) -> int:
    """How many peers each participant is suggested: enough for the peer group to be shown, within the limit.

    One request of the limit is kept for rating one's own manager as a subordinate.
    """
    return max(0, min(max(cycle.anonymity_threshold, 3), cycle.max_requests_per_rater - 1))


def suggestions_build(cycle: ReviewCycle, appraisals: list[Appraisal], people: list[Person]) -> list[FeedbackRequest]:
    """The suggested raters of every appraisal of a launch (no queries); the caller bulk-creates them.

    - self and supervisor (the appraisal's manager): open at once;
    - peers: participants with the same manager and role (an agent's team
      mates), each appraisee the next k in employee-code order, so every
      rater receives exactly k peer requests (k = peers_suggested);
    - subordinates: a participant's direct reports rate them.
    Peers and subordinates wait for the manager's approval.
    """
    by_person = {a.person_id: a for a in appraisals}
    groups: dict[tuple, list[Person]] = defaultdict(list)
    reports: dict[int, list[Person]] = defaultdict(list)
    for p in people:
        groups[(p.manager_id or f"u{p.unit_id}", p.role)].append(p)
        if p.manager_id:
            reports[p.manager_id].append(p)
    k = peers_suggested(cycle)
    requests = []

    def add(appraisal, relationship, rater_id, status):
        requests.append(FeedbackRequest(
            cycle=cycle, appraisal=appraisal, relationship=relationship, rater_id=rater_id,
            origin=O.SUGGESTED, status=status,
        ))

    for p in people:
        appraisal = by_person[p.pk]
        add(appraisal, R.SELF, p.pk, S.OPEN)
        if appraisal.manager_id and appraisal.manager_id != p.pk:
            add(appraisal, R.SUPERVISOR, appraisal.manager_id, S.OPEN)
    for members in groups.values():
        members.sort(key=lambda m: m.employee_code)
        n = len(members)
        for i, p in enumerate(members):
            for j in range(1, min(k, n - 1) + 1):
                add(by_person[p.pk], R.PEER, members[(i + j) % n].pk, S.PROPOSED)
    for manager_id, members in reports.items():
        if manager_id in by_person:
            for m in sorted(members, key=lambda m: m.employee_code):
                add(by_person[manager_id], R.SUBORDINATE, m.pk, S.PROPOSED)
    return requests


# ------------------------------------------------------------------ tokens


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_url(token: str) -> str:
    return absolute_url(reverse("feedback-token", args=[token]))


def _issue_token(request: FeedbackRequest, now: dt.datetime) -> str:
    """A new single-use link for a customer; only its hash is kept. Returns the token."""
    token = secrets.token_urlsafe(32)
    request.token_hash = token_hash(token)
    # The link's own lifetime; the 360 deadline (which may move later) is checked on every use.
    request.token_expires_at = now + dt.timedelta(days=settings.FEEDBACK_LINK_DAYS)
    return token


def _notify(request: FeedbackRequest, token: str | None) -> None:
    """Tell the rater they are asked (after commit): a link to the questionnaire; customers their own link."""
    appraisal = request.appraisal
    if request.rater_id:
        email, url = request.rater.email, absolute_url(reverse("feedback-answer", args=[request.pk]))
    else:
        email, url = request.external_email, token_url(token) if token else ""
    if not email or not url:
        return
    ctx = {
        "recipient_name": request.rater_name,
        "appraisee_name": appraisal.person.name,
        "cycle": request.cycle,
        "due": min(request.token_expires_at, request.cycle.feedback_due) if token else request.cycle.feedback_due,
        "url": url,
        "anonymous": request.anonymous,
        "customer": request.rater_id is None,
    }
    transaction.on_commit(lambda: email_send("feedback-request", ctx, [email]))


# ----------------------------------------------------------------- arrange


def _rater_by_code(code: str, errors: dict) -> Person | None:
    code = (code or "").strip()
    if not code:
        errors["rater"] = [str(RATER_REQUIRED)]
        return None
    rater = Person.objects.filter(employee_code__iexact=code, is_active=True).first()
    if rater is None:
        errors["rater"] = [str(RATER_UNKNOWN)]
    return rater


def _limit_error(cycle: ReviewCycle, rater: Person, *, exclude_pk: int | None = None) -> str | None:
    """The limit message if the rater already has the most limited requests of the cycle."""
    live = FeedbackRequest.objects.filter(
        cycle=cycle, rater=rater, relationship__in=FeedbackRequest.LIMITED, status__in=FeedbackRequest.LIVE
    )
    if exclude_pk:
        live = live.exclude(pk=exclude_pk)
    n = live.count()
    if n >= cycle.max_requests_per_rater:
        return str(RATER_LIMIT % {"name": rater.name, "n": n})
    return None


@dataclass
class Arranged:
    """A request just added or approved. A customer's link is never part of it: it goes to the customer only."""

    request: FeedbackRequest


def _email_domain(email: str) -> str:
    return email.rsplit("@", 1)[-1].strip().lower()


def company_domain_of(email: str) -> str | None:
    """The company domain an address is at (or under), or None (1 query).

    The company's domains are settings.COMPANY_EMAIL_DOMAINS and any domain of
    an active staff member's address; "mail.example.com" is under "example.com".
    """
    domain = _email_domain(email)
    labels = domain.split(".")
    # mail.acme.example → mail.acme.example, acme.example (a top-level domain alone is nobody's)
    candidates = [".".join(labels[i:]) for i in range(len(labels) - 1)] or [domain]
    configured = settings.COMPANY_EMAIL_DOMAINS
    if isinstance(configured, str):
        configured = configured.split(",")
    configured = {d.strip().lower().lstrip("@") for d in configured if d.strip()}
    for candidate in candidates:
        if candidate in configured:
            return candidate
    staff = Q()
    for candidate in candidates:
        staff |= Q(email__iendswith=f"@{candidate}")
    found = Person.objects.filter(staff, is_active=True).values_list("email", flat=True).first()
    if found is None:
        return None
    found_domain = _email_domain(found)
    return next((c for c in candidates if c == found_domain), found_domain)


def _customer_errors(appraisal: Appraisal, email: str, *, exclude_pk: int | None = None) -> dict[str, list[str]]:
    """Why a customer with this address cannot be asked about the appraisee (empty: they can); 3 queries at most.

    Called under the cycle's row lock (_lock_cycle), so two arrangers adding at
    the same moment are counted one after the other.
    """
    from django.core.validators import validate_email

    if not email:
        return {"external_email": [str(CUSTOMER_EMAIL_REQUIRED)]}
    try:
        validate_email(email)
    except ValidationError:
        return {"external_email": [str(CUSTOMER_EMAIL_INVALID)]}
    if Person.objects.filter(email__iexact=email).exists():
        return {"external_email": [str(CUSTOMER_EMAIL_STAFF)]}
    if domain := company_domain_of(email):
        return {"external_email": [str(CUSTOMER_EMAIL_COMPANY % {"domain": domain})]}
    live = FeedbackRequest.objects.filter(appraisal=appraisal, relationship=R.CUSTOMER, status__in=FeedbackRequest.LIVE)
    if exclude_pk:
        live = live.exclude(pk=exclude_pk)
    emails = [e.lower() for e in live.values_list("external_email", flat=True)]
    if email.lower() in emails:
        return {"external_email": [str(CUSTOMER_ALREADY)]}
    most = settings.FEEDBACK_MAX_CUSTOMERS
    if len(emails) >= most:
        return {"external_email": [str(CUSTOMER_LIMIT % {"n": most})]}
    return {}


def _audit_customer(step: str, *, user, row: FeedbackRequest, http_request=None) -> None:
    """Write to the audit log who asked which customer address about whom (HR reads it); never the link."""
    appraisal = row.appraisal
    audit_record(
        AuditEvent.Action.CUSTOMER_ADDED, actor=user, target=row, request=http_request,
        details={"step": step, "appraisal": appraisal.pk, "appraisee": appraisal.person.employee_code,
                 "customer": row.external_name, "email": row.external_email,
                 "domain": _email_domain(row.external_email) if row.external_email else ""},
    )


def _lock_cycle(appraisal: Appraisal) -> ReviewCycle:
    """Lock the cycle row: limits are counted and requests added one arrangement at a time."""
    return ReviewCycle.objects.select_for_update().get(pk=appraisal.cycle_id)


@transaction.atomic
def feedback_request_add(
    *,
    user,
    appraisal: Appraisal,
    relationship: str,
    rater_code: str = "",
    external_name: str = "",
    external_email: str = "",
    http_request=None,
) -> Arranged:
    """Ask someone for feedback on the appraisee.

    The appraisee nominates (peers, customers): the request waits for approval.
    An arranger adds (peers, subordinates, matrix managers, customers): open at
    once, the rater told by email. A customer needs an address outside the
    company (see _customer_errors); their link is sent there and nowhere else.
    Adding or nominating a customer is written to the audit log.
    """
    arranger = can_arrange(user, appraisal)
    if not arranger and appraisal.person_id != user.pk:
        raise PermissionDenied(NOT_ARRANGER)
    cycle = _lock_cycle(appraisal)
    _check_window(cycle, appraisal)
    allowed = ADDABLE if arranger else NOMINABLE
    errors: dict[str, list[str]] = {}
    if relationship not in allowed:
        raise ValidationError({"relationship": [str(RELATIONSHIP_NOT_ALLOWED)]})
    request = FeedbackRequest(
        cycle=cycle, appraisal=appraisal, relationship=relationship, proposed_by=user,
        origin=O.ADDED if arranger else O.NOMINATED,
    )
    if relationship == R.CUSTOMER:
        request.external_name = (external_name or "").strip()[:200]
        request.external_email = (external_email or "").strip()
        if not request.external_name:
            errors["external_name"] = [str(CUSTOMER_NAME_REQUIRED)]
        errors.update(_customer_errors(appraisal, request.external_email))
    else:
        rater = _rater_by_code(rater_code, errors)
        if rater is not None:
            label = str(FeedbackRequest.Relationship(relationship).label).lower()
            if rater.pk == appraisal.person_id:
                errors["rater"] = [str(RATER_IS_APPRAISEE % {"relationship": label})]
            elif (previous := FeedbackRequest.objects.filter(appraisal=appraisal, rater=rater).order_by().first()):
                if previous.status != S.REJECTED:
                    errors["rater"] = [str(RATER_ALREADY % {"name": rater.name})]
                else:  # asked again after a rejection: the same row, asked anew
                    request.pk, request.created_at, request.draft = previous.pk, previous.created_at, {}
            if not errors and relationship in FeedbackRequest.LIMITED and (limit := _limit_error(cycle, rater)):
                errors["rater"] = [limit]
            request.rater = rater
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    token = None
    if arranger:
        request.status, request.decided_by, request.decided_at = S.OPEN, user, now
        if relationship == R.CUSTOMER:
            token = _issue_token(request, now)
    else:
        request.status = S.PROPOSED
    try:
        with transaction.atomic():
            request.save()
    except IntegrityError:  # the same rater added at the same moment
        raise ValidationError({"rater": [str(RATER_ALREADY % {"name": request.rater_name})]}) from None
    if relationship == R.CUSTOMER:
        _audit_customer("added" if arranger else "nominated", user=user, row=request, http_request=http_request)
    if request.status == S.OPEN:
        _notify(request, token)
    return Arranged(request)


@transaction.atomic
def feedback_request_decide(*, user, request: FeedbackRequest, approve: bool, http_request=None) -> Arranged:
    """Approve (open it, tell the rater) or reject a suggested or nominated request.

    A customer is checked again when approved (address, limit) and the approval
    is written to the audit log; their link goes to their address only.
    """
    appraisal = request.appraisal
    if not can_arrange(user, appraisal):
        raise PermissionDenied(NOT_ARRANGER)
    cycle = _lock_cycle(appraisal)
    _check_window(cycle, appraisal)
    row = FeedbackRequest.objects.select_related("rater").get(pk=request.pk)
    if row.status != S.PROPOSED:
        raise ValidationError({"__all__": str(NOT_PROPOSED)})
    now = timezone.now()
    token = None
    if approve:
        if row.rater_id and row.relationship in FeedbackRequest.LIMITED:
            limit = _limit_error(cycle, row.rater, exclude_pk=row.pk)
            if limit:
                raise ValidationError({"__all__": limit})
        if row.relationship == R.CUSTOMER:
            errors = _customer_errors(appraisal, row.external_email, exclude_pk=row.pk)
            if errors:
                raise ValidationError({"__all__": [f"{row.external_name}: {m}" for m in errors["external_email"]]})
        row.status = S.OPEN
        if row.relationship == R.CUSTOMER:
            row.cycle = cycle
            token = _issue_token(row, now)
    else:
        row.status = S.REJECTED
    row.decided_by, row.decided_at = user, now
    row.save(update_fields=["status", "decided_by", "decided_at", "token_hash", "token_expires_at"])
    row.appraisal, row.cycle = appraisal, cycle
    if approve and row.relationship == R.CUSTOMER:
        _audit_customer("approved", user=user, row=row, http_request=http_request)
    if approve:
        _notify(row, token)
    request.status = row.status
    return Arranged(row)


@transaction.atomic
def feedback_requests_approve_all(*, user, appraisal: Appraisal, http_request=None) -> list[Arranged]:
    """Approve every request of the appraisal awaiting approval; all or nothing (a limit reached refuses all)."""
    if not can_arrange(user, appraisal):
        raise PermissionDenied(NOT_ARRANGER)
    pending = list(
        FeedbackRequest.objects.filter(appraisal=appraisal, status=S.PROPOSED).select_related("rater").order_by("pk")
    )
    if not pending:
        raise ValidationError({"__all__": str(NOTHING_TO_APPROVE)})
    done = []
    for r in pending:
        r.appraisal = appraisal
        done.append(feedback_request_decide(user=user, request=r, approve=True, http_request=http_request))
    return done


@transaction.atomic
def feedback_link_resend(*, user, appraisal: Appraisal, email: str, http_request=None) -> FeedbackRequest:
    """Send a customer a new link when theirs was lost: a new token, the old one dead, by e-mail only.

    The answer is the same whether or not the customer has answered (then
    nothing is sent): sending again tells the arranger nothing about it.
    Written to the audit log.
    """
    if not can_arrange(user, appraisal):
        raise PermissionDenied(NOT_ARRANGER)
    cycle = _lock_cycle(appraisal)
    _check_window(cycle, appraisal)
    email = (email or "").strip()
    row = (
        FeedbackRequest.objects.select_for_update(of=("self",))
        .filter(appraisal=appraisal, relationship=R.CUSTOMER, status__in=(S.OPEN, S.SUBMITTED, S.NOT_SUBMITTED))
        .filter(external_email__iexact=email).exclude(external_email="").order_by("pk").first()
    ) if email else None
    if row is None:
        raise ValidationError({"external_email": [str(NO_SUCH_CUSTOMER)]})
    row.appraisal, row.cycle = appraisal, cycle
    if row.status == S.OPEN:
        token = _issue_token(row, timezone.now())
        row.save(update_fields=["token_hash", "token_expires_at"])
        _notify(row, token)
    _audit_customer("link_sent_again", user=user, row=row, http_request=http_request)
    return row


# ------------------------------------------------------------------ answer


def _clean_answers(questionnaire: list[dict], answers: dict | None, comment: str | None, submit: bool,
                   previous: dict | None = None) -> tuple[dict, str]:
    """Check the answers against the questionnaire; (answers by code, comment) or ValidationError by field.

    Error keys: "<code>_score", "<code>_comment", "comment".
    """
    codes = [q["code"] for q in questionnaire]
    if answers is not None and not isinstance(answers, dict):
        raise ValidationError({"answers": [str(ANSWERS_SHAPE)]})
    clean: dict[str, dict] = {c: dict(v) for c, v in ((previous or {}).get("answers") or {}).items() if c in codes}
    errors: dict[str, list[str]] = {}
    for code, values in (answers or {}).items():
        if code not in codes:
            errors[f"{code}_score"] = [str(UNKNOWN_COMPETENCY)]
            continue
        values = values if isinstance(values, dict) else {"score": values}
        row = clean.setdefault(code, {})
        if "score" in values:
            score = values["score"]
            if score is None or (isinstance(score, str) and not score.strip()):
                row.pop("score", None)
            else:
                try:
                    if isinstance(score, bool) or (isinstance(score, float) and score != int(score)):
                        raise ValueError(score)
                    score = int(score)
                    if not 1 <= score <= 5:
                        raise ValueError(score)
                    row["score"] = score
                except (TypeError, ValueError):
                    errors[f"{code}_score"] = [str(SCORE_RANGE)]
        if "comment" in values:
            text = str(values["comment"] or "").strip()
            if len(text) > MAX_COMMENT:
                errors[f"{code}_comment"] = [str(TEXT_TOO_LONG % {"n": MAX_COMMENT})]
            row["comment"] = text
    text = (previous or {}).get("comment", "") if comment is None else str(comment or "").strip()
    if len(text) > MAX_COMMENT:
        errors["comment"] = [str(TEXT_TOO_LONG % {"n": MAX_COMMENT})]
    if submit and not errors:
        for code in codes:
            if "score" not in clean.get(code, {}):
                errors[f"{code}_score"] = [str(SCORE_REQUIRED)]
    if errors:
        raise ValidationError(errors)
    return clean, text


def _record(request: FeedbackRequest, answers: dict, comment: str) -> FeedbackResponse:
    """Store a submitted questionnaire: linked to its request only for relationships shown by name."""
    response = FeedbackResponse.objects.create(
        appraisal_id=request.appraisal_id, relationship=request.relationship,
        request=None if request.anonymous else request, comment=comment,
    )
    FeedbackAnswer.objects.bulk_create([
        FeedbackAnswer(response=response, code=code, score=values["score"], comment=values.get("comment", ""))
        for code, values in answers.items() if "score" in values
    ])
    return response


@transaction.atomic
def feedback_save(*, user, request: FeedbackRequest, answers: dict | None = None, comment: str | None = None,
                  submit: bool = False) -> FeedbackRequest:
    """The rater saves their answers as a draft, or submits them (then they can no longer change)."""
    row = (
        FeedbackRequest.objects.select_for_update(of=("self",))
        .select_related("cycle", "appraisal")
        .filter(pk=request.pk).order_by().first()
    )
    if row is None or row.rater_id != user.pk:
        raise PermissionDenied(NOT_RATER)
    if row.status == S.SUBMITTED:
        raise ValidationError({"__all__": str(ALREADY_ANSWERED)})
    _check_window(row.cycle, row.appraisal)
    if row.status != S.OPEN:
        raise ValidationError({"__all__": str(NOT_OPEN)})
    clean, text = _clean_answers(row.cycle.questionnaire, answers, comment, submit, previous=row.draft)
    if submit:
        # Conditional: a second submission at the same moment finds it answered.
        if not FeedbackRequest.objects.filter(pk=row.pk, status=S.OPEN).update(status=S.SUBMITTED, draft={}):
            raise ValidationError({"__all__": str(ALREADY_ANSWERED)})
        _record(row, clean, text)
        row.status, row.draft = S.SUBMITTED, {}
    else:
        row.draft = {"answers": clean, "comment": text}
        row.save(update_fields=["draft"])
    request.status, request.draft = row.status, row.draft
    return row


def token_request(token: str) -> FeedbackRequest:
    """The customer's request behind a link that can be used now.

    Unknown, already used, expired or past the 360 window: one and the same
    refusal (LINK_INVALID), so the link tells its holder nothing about whether
    the customer answered.
    """
    row = (
        FeedbackRequest.objects.select_related("cycle", "appraisal__person")
        .filter(token_hash=token_hash(token or ""), relationship=R.CUSTOMER)
        .order_by().first()
    )
    now = timezone.now()
    if (
        row is None or row.status != S.OPEN or (row.token_expires_at and now > row.token_expires_at)
        or window_error(row.cycle, row.appraisal, now)
    ):
        raise ValidationError({"__all__": str(LINK_INVALID)})
    return row


@transaction.atomic
def feedback_token_submit(*, token: str, answers: dict | None, comment: str | None) -> FeedbackRequest:
    """A customer submits through their link: once; the link is spent whatever happens next."""
    row = token_request(token)
    clean, text = _clean_answers(row.cycle.questionnaire, answers, comment, True)
    # Conditional on the same link still being open: a second submission, or a link sent again meanwhile, loses.
    spent = FeedbackRequest.objects.filter(pk=row.pk, status=S.OPEN, token_hash=row.token_hash)
    if not spent.update(status=S.SUBMITTED, draft={}):
        raise ValidationError({"__all__": str(LINK_INVALID)})
    _record(row, clean, text)
    row.status = S.SUBMITTED
    return row


# --------------------------------------------------------------- selectors


def requests_to_give(user) -> QuerySet[FeedbackRequest]:
    """The requests addressed to the user that are (or were) open to answer, newest cycle first (1 query)."""
    if not user.is_authenticated:
        return FeedbackRequest.objects.none()
    return (
        FeedbackRequest.objects.filter(rater=user, status__in=(S.OPEN, S.SUBMITTED, S.NOT_SUBMITTED))
        .select_related("cycle", "appraisal__person", "appraisal__unit")
        .defer("appraisal__snapshot", "cycle__scale", "cycle__summary")
        .order_by("-cycle__period_start", "cycle__name", "status", "appraisal__person__name", "pk")
    )


def request_get_for_rater(user, pk: int) -> FeedbackRequest:
    """The rater's own request; 404 for anyone else and for requests not (yet) theirs to answer."""
    row = requests_to_give(user).filter(pk=pk).order_by().first()
    if row is None:
        raise Http404
    return row


def request_get_for_arranger(user, pk: int) -> FeedbackRequest:
    """A request of an appraisal the user arranges (or is the appraisee of, for viewing); 404 otherwise."""
    row = (
        FeedbackRequest.objects.select_related("cycle", "appraisal__person__unit", "appraisal__unit",
                                               "appraisal__manager", "appraisal__cycle", "rater")
        .filter(pk=pk).order_by().first()
    )
    if row is None or not appraisal_visible(user, row.appraisal):
        raise Http404
    return row


@dataclass
class RequestRow:
    """A request as the appraisee, their managers and HR see it: for anonymous raters, only that they were asked."""

    pk: int
    relationship: str
    relationship_label: str
    rater_name: str
    rater_code: str
    origin: str
    origin_label: str
    status: str  # "proposed", "rejected", "asked" (anonymous, approved) or the real status (named)
    status_label: str
    anonymous: bool
    email: str = ""  # a customer's address (shown to arrangers: where the link goes)


ASKED_LABEL = _("Asked")


def appraisal_requests(appraisal: Appraisal) -> list[RequestRow]:
    """Who was asked about the appraisee, in relationship then name order (never in time order) (1 query)."""
    rows = []
    order = {r: i for i, r in enumerate(RELATIONSHIP_ORDER)}
    for r in FeedbackRequest.objects.filter(appraisal=appraisal).select_related("rater"):
        masked = r.anonymous and r.status in (S.OPEN, S.SUBMITTED, S.NOT_SUBMITTED)
        rows.append(RequestRow(
            pk=r.pk, relationship=r.relationship, relationship_label=str(r.get_relationship_display()),
            rater_name=r.rater_name, rater_code=r.rater.employee_code if r.rater_id else "",
            origin=r.origin, origin_label=str(r.get_origin_display()),
            status="asked" if masked else r.status,
            status_label=str(ASKED_LABEL) if masked else str(r.get_status_display()),
            anonymous=r.anonymous, email=r.external_email if r.relationship == R.CUSTOMER else "",
        ))
    rows.sort(key=lambda x: (order.get(x.relationship, 99), x.rater_name.casefold(), x.rater_code, x.email.casefold()))
    return rows


# ----------------------------------------------------------------- results


@dataclass
class Named:
    """An answer shown by name (self, supervisor, matrix manager)."""

    rater_name: str
    means: dict[str, float]
    comments: dict[str, str]
    comment: str
    mean: float | None


@dataclass
class Group:
    relationship: str
    label: str
    anonymous: bool
    shown: bool
    count: int | None  # None when the group is too small to be shown: not even its size is told
    means: dict[str, float] = field(default_factory=dict)  # competency code → mean rating (1–5)
    mean: float | None = None  # the mean of its answers' means
    comments: list[tuple[str, str]] = field(default_factory=list)  # (competency label or "", text), sorted
    named: list[Named] = field(default_factory=list)


@dataclass
class Results:
    available: bool
    threshold: int
    questions: list[dict]
    groups: list[Group]
    score: float | None  # out of 100; None when nothing counts


def _mean(xs: list[float]) -> float | None:
    return math.fsum(xs) / len(xs) if xs else None


@dataclass
class _Response:
    relationship: str
    rater_name: str
    comment: str
    scores: dict[str, int] = field(default_factory=dict)
    comments: dict[str, str] = field(default_factory=dict)

    @property
    def mean(self) -> float | None:
        return _mean([float(s) for s in self.scores.values()])


def _responses(appraisal_ids: list[int]) -> dict[int, list[_Response]]:
    """Every response of these appraisals with its answers (1 query)."""
    found: dict[int, dict] = defaultdict(dict)
    rows = FeedbackAnswer.objects.filter(response__appraisal_id__in=appraisal_ids).values_list(
        "response__appraisal_id", "response_id", "response__relationship", "response__request__rater__name",
        "response__comment", "code", "score", "comment",
    ).order_by()
    for appraisal_id, response_id, relationship, rater_name, comment, code, score, answer_comment in rows:
        response = found[appraisal_id].get(response_id)
        if response is None:
            response = found[appraisal_id][response_id] = _Response(relationship, rater_name or "", comment or "")
        response.scores[code] = score
        if answer_comment:
            response.comments[code] = answer_comment
    return {aid: list(responses.values()) for aid, responses in found.items()}


def _groups(responses: list[_Response], threshold: int, questions: list[dict],
            asked: set[str] | None = None) -> list[Group]:
    """The groups per relationship; an anonymous group nobody was asked for is left out when `asked` is given."""
    labels = {q["code"]: question_label(q) for q in questions}
    threshold = max(threshold, ANONYMITY_FLOOR)  # whatever a cycle says (rows older than the floor included)
    by_relationship: dict[str, list[_Response]] = defaultdict(list)
    for r in responses:
        by_relationship[r.relationship].append(r)
    groups = []
    for relationship in RELATIONSHIP_ORDER:
        members = by_relationship.get(relationship, [])
        anonymous = relationship in FeedbackRequest.ANONYMOUS
        label = str(R(relationship).label)
        if not members:
            if anonymous and (asked is None or relationship in asked):
                groups.append(Group(relationship, label, True, False, None))
            continue
        shown = not anonymous or len(members) >= threshold
        group = Group(relationship, label, anonymous, shown, len(members) if shown else None)
        if not shown:
            groups.append(group)
            continue
        for code in labels:
            scores = [float(r.scores[code]) for r in members if code in r.scores]
            if scores:
                group.means[code] = _mean(scores)
        group.mean = _mean([m for m in (r.mean for r in members) if m is not None])
        if anonymous:
            texts = [(labels.get(code, ""), text) for r in members for code, text in r.comments.items()]
            texts += [("", r.comment) for r in members if r.comment]
            # Sorted by competency and text: the order says nothing about who wrote what, or when.
            group.comments = sorted(texts, key=lambda t: (t[0], t[1].casefold(), t[1]))
        else:
            for r in sorted(members, key=lambda r: r.rater_name.casefold()):
                group.named.append(Named(r.rater_name, {c: float(s) for c, s in r.scores.items()},
                                         dict(r.comments), r.comment, r.mean))
        groups.append(group)
    return groups


def score_of(groups: list[Group]) -> float | None:
    """The 360 score out of 100: the mean of the shown groups' means, self excluded (5 → 100)."""
    means = [g.mean for g in groups if g.shown and g.relationship != R.SELF and g.mean is not None]
    return None if not means else 20.0 * math.fsum(means) / len(means)


def feedback_results(appraisal: Appraisal) -> Results:
    """The appraisee's 360 results as anyone may see them (2 queries, none before the 360 phase is over)."""
    cycle = appraisal.cycle
    questions = cycle.questionnaire or []
    if not results_available(cycle):
        return Results(False, max(cycle.anonymity_threshold, ANONYMITY_FLOOR), questions, [], None)
    asked = set(
        FeedbackRequest.objects.filter(appraisal=appraisal, status__in=(S.OPEN, S.SUBMITTED, S.NOT_SUBMITTED))
        .values_list("relationship", flat=True).distinct()
    )
    groups = _groups(_responses([appraisal.pk]).get(appraisal.pk, []), cycle.anonymity_threshold, questions, asked)
    return Results(True, max(cycle.anonymity_threshold, ANONYMITY_FLOOR), questions, groups, score_of(groups))


# Anonymous groups are named in the plural: a group, never a person.
GROUP_LABELS = {R.PEER: _("Peers"), R.SUBORDINATE: _("Subordinates"), R.CUSTOMER: _("Customers")}


def _by_label(comments: list[tuple[str, str]]) -> list[dict]:
    """Comments under their competency ("" for the overall comments), keeping the order given."""
    grouped: list[dict] = []
    for label, text in comments:
        if not grouped or grouped[-1]["label"] != label:
            grouped.append({"label": label, "texts": []})
        grouped[-1]["texts"].append(text)
    return grouped


def results_table(results: Results) -> dict:
    """The results as a table (the 360 page and the appraisal PDF): a column per named rater and per
    anonymous group shown, a row per competency.

    Named ratings are whole numbers ("places" -1); anonymous groups show means
    to one decimal and their answer count, never a name. Groups too small to
    show are only listed, without their size.
    """
    labels = {q["code"]: question_label(q) for q in results.questions}
    columns, hidden = [], []
    for g in results.groups:
        label = str(GROUP_LABELS.get(g.relationship, g.label))
        if not g.shown:
            hidden.append(label)
        elif g.anonymous:
            columns.append({"label": label, "name": "", "count": g.count, "means": g.means, "mean": g.mean,
                            "places": "1", "comments": _by_label(g.comments), "anonymous": True})
        else:
            for n in g.named:
                comments = [(labels[code], n.comments[code]) for code in labels if n.comments.get(code)]
                if n.comment:
                    comments.append(("", n.comment))
                columns.append({"label": label, "name": n.rater_name, "count": None, "means": n.means,
                                "mean": n.mean, "places": "-1", "comments": _by_label(comments), "anonymous": False})
    rows = [
        {"label": labels[code], "cells": [{"value": c["means"].get(code), "places": c["places"]} for c in columns]}
        for code in labels
    ]
    return {"results": results, "columns": columns, "rows": rows, "hidden": hidden}


def feedback_scores(cycle: ReviewCycle, appraisal_ids: list[int]) -> dict[int, float | None]:
    """The 360 score of each appraisal (1 query), for the close."""
    responses = _responses(appraisal_ids)
    questions = cycle.questionnaire or []
    return {
        aid: score_of(_groups(responses.get(aid, []), cycle.anonymity_threshold, questions)) for aid in appraisal_ids
    }


def feedback_score(appraisal: Appraisal) -> float | None:
    """The appraisal's 360 score once the 360 phase is over (None before: it may still change)."""
    if not results_available(appraisal.cycle):
        return None
    return feedback_scores(appraisal.cycle, [appraisal.pk])[appraisal.pk]


# -------------------------------------------------------------- completion


@dataclass
class UnitFeedback:
    unit_id: int
    code: str
    name: str
    proposed: int = 0
    asked: int = 0
    answered: int | None = 0  # None: too few appraisees in the unit to tell how many answered
    appraisees: int = 0

    @property
    def shown(self) -> bool:
        return self.answered is not None

    @property
    def percent(self) -> int | None:
        if self.answered is None:
            return None
        return round(100 * self.answered / self.asked) if self.asked else 0


def completion_total(units: list[UnitFeedback]) -> UnitFeedback:
    """The total over the units whose answers are shown (a total over hidden ones would reveal them by difference)."""
    shown = [u for u in units if u.shown]
    return UnitFeedback(
        0, "", "", sum(u.proposed for u in shown), sum(u.asked for u in shown), sum(u.answered for u in shown),
        sum(u.appraisees for u in shown),
    )


def cycle_feedback_completion(cycle: ReviewCycle, appraisals: QuerySet[Appraisal] | None = None, *,
                              viewer=None) -> list[UnitFeedback]:
    """Per unit of the appraisees: requests awaiting approval, asked (approved) and answered (1 grouped query).

    Counted over a whole unit, never per person; the viewer's own appraisal is
    left out, or an appraisee could watch their anonymous raters answer one by one;
    and a unit with fewer appraisees than the cycle's anonymity threshold (a
    department holding only its manager) shows no answered count, so nobody can
    watch one person's raters answer either.
    """
    qs = FeedbackRequest.objects.filter(cycle=cycle)
    if appraisals is not None:
        qs = qs.filter(appraisal__in=appraisals.order_by().values("pk"))
    if viewer is not None and viewer.is_authenticated:
        qs = qs.exclude(appraisal__person_id=viewer.pk)
    rows = qs.order_by().values("appraisal__unit_id", "appraisal__unit__code", "appraisal__unit__name",
                                "appraisal__unit__path").annotate(
        proposed=Count("pk", filter=Q(status=S.PROPOSED)),
        asked=Count("pk", filter=Q(status__in=(S.OPEN, S.SUBMITTED, S.NOT_SUBMITTED))),
        answered=Count("pk", filter=Q(status=S.SUBMITTED)),
        appraisees=Count("appraisal_id", distinct=True),
    )

    def path_key(row):
        return [int(x) for x in (row["appraisal__unit__path"] or "").strip("/").split("/") if x.isdigit()]

    threshold = max(cycle.anonymity_threshold, ANONYMITY_FLOOR)
    return [
        UnitFeedback(r["appraisal__unit_id"], r["appraisal__unit__code"], r["appraisal__unit__name"],
                     r["proposed"], r["asked"], r["answered"] if r["appraisees"] >= threshold else None,
                     r["appraisees"])
        for r in sorted(rows, key=path_key)
    ]


# --------------------------------------------------------------- reminders


def feedback_reminders_send(*, now: dt.datetime | None = None, hours_before: float | None = None) -> int:
    """Remind raters with unanswered requests when the 360 deadline is near; once per cycle and rater.

    Customers are not reminded: only the hash of their link is kept, and a new
    link would spend the one they have. Queries: 1 (raters due, with their
    count) + per reminder its insert.
    """
    now = now or timezone.now()
    if hours_before is None:
        hours_before = getattr(settings, "REVIEW_REMINDER_HOURS", 48)
    horizon = now + dt.timedelta(hours=hours_before)
    reminded = FeedbackReminder.objects.filter(cycle=OuterRef("cycle_id"), recipient=OuterRef("rater_id"))
    due = (
        FeedbackRequest.objects.filter(
            status=S.OPEN, rater__isnull=False, rater__is_active=True,
            cycle__phase__in=OPEN_PHASES, cycle__feedback_due__gt=now, cycle__feedback_due__lte=horizon,
            appraisal__status=Appraisal.Status.OPEN,
        )
        .exclude(rater__email="")
        .exclude(Exists(reminded))
        .values("cycle_id", "cycle__name", "cycle__feedback_due", "rater_id", "rater__name", "rater__email")
        .annotate(n=Count("pk"))
        .order_by("cycle_id", "rater_id")
    )
    sent = 0
    for row in due:
        ctx = {
            "recipient_name": row["rater__name"], "cycle_name": row["cycle__name"],
            "due": row["cycle__feedback_due"], "n": row["n"],
            "url": absolute_url(reverse("feedback-inbox")),
        }
        try:
            with transaction.atomic():
                FeedbackReminder.objects.create(cycle_id=row["cycle_id"], recipient_id=row["rater_id"])
                email_send("feedback-reminder", ctx, [row["rater__email"]])
        except IntegrityError:
            continue  # another run got there first
        except Exception:  # the mail server refused: no row kept, the next run tries again; the others still go
            logger.exception("360 reminder to rater %s not sent", row["rater_id"])
            continue
        sent += 1
    return sent


# ------------------------------------------------------------------- close


def requests_close(appraisal_ids: list[int]) -> int:
    """At close: open requests never answered become "not answered", requests never approved "not approved",
    and the drafts of anonymous raters (peers, subordinates, customers) are deleted: kept next to their
    request, a draft would say who wrote what. Named raters' drafts stay. 3 UPDATEs. Returns how many were
    marked not answered."""
    FeedbackRequest.objects.filter(appraisal_id__in=appraisal_ids, status=S.PROPOSED).update(status=S.REJECTED)
    FeedbackRequest.objects.filter(
        appraisal_id__in=appraisal_ids, relationship__in=FeedbackRequest.ANONYMOUS
    ).exclude(draft={}).update(draft={})
    return FeedbackRequest.objects.filter(appraisal_id__in=appraisal_ids, status=S.OPEN).update(
        status=S.NOT_SUBMITTED
    )
