"""360 feedback pages: the requests to answer, the questionnaire (also through a customer's link), an
appraisal's raters and results, and the questionnaires HR edits.

Every page resolves its object through reviews.feedback, reviews.appraisals or
reviews.questionnaires, which answer 404 for what the user may not see; the
rules (who arranges, the window, the limits) are theirs. Anonymous raters are
shown only through feedback.appraisal_requests (statuses masked) and
feedback.feedback_results (means from the threshold up), never from the
requests or responses themselves. A customer's link is on no page and in no
message: it goes to the customer by e-mail only, and its page refuses a
signed-in session.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from scorecard.models import Person

from . import feedback, questionnaires
from .appraisals import appraisal_get
from .feedback_forms import SCALE, FeedbackAnswerForm, QuestionnaireForm, RaterForm
from .models import Appraisal, Competency, FeedbackRequest, FeedbackResponse, FeedbackTemplate
from .services import can_manage_cycles

R = FeedbackRequest.Relationship
S = FeedbackRequest.Status

NOT_SAVED = _("Nothing was saved: please correct the fields marked below.")
DRAFT_SAVED = _("Your answers were saved as a draft.")
SUBMITTED = _("Thank you: your feedback was submitted.")
NOMINATED = _("%(name)s was nominated: the request waits for approval by a manager or HR.")
ADDED = _("%(name)s was asked for feedback.")
CUSTOMER_ASKED = _("%(name)s was asked for feedback: their personal link was sent to %(email)s, and only there.")
APPROVED = _("The request to %(name)s was approved.")
REJECTED = _("The request to %(name)s was rejected.")
NOT_CHANGED = _("Nothing was changed.")
QUESTIONNAIRE_SAVED = _("Questionnaire “%(name)s” saved.")

# Where a request stands for its rater (the inbox).
INBOX_STATES = {
    "to_answer": _("To answer"),
    "draft": _("Draft saved"),
    "answered": _("Answered"),
    "not_answered": _("Not answered"),
    "closed": _("Closed"),
}
# Anonymous groups are named in the plural: they are never one person.


# ------------------------------------------------------------------ inbox


def _inbox_state(r: FeedbackRequest) -> str:
    if r.status == S.SUBMITTED:
        return "answered"
    if r.status == S.NOT_SUBMITTED:
        return "not_answered"
    if feedback.window_error(r.cycle, r.appraisal):
        return "closed"
    return "draft" if r.draft else "to_answer"


@login_required
def feedback_inbox_page(request: HttpRequest) -> HttpResponse:
    """The requests addressed to the user, by cycle, newest first (1 query)."""
    groups: dict[int, dict] = {}
    to_answer = 0
    for r in feedback.requests_to_give(request.user):
        state = _inbox_state(r)
        to_answer += state in ("to_answer", "draft")
        group = groups.setdefault(r.cycle_id, {"cycle": r.cycle, "rows": []})
        group["rows"].append({"r": r, "state": state, "state_label": INBOX_STATES[state],
                              "is_self": r.relationship == R.SELF})
    ctx = {"groups": list(groups.values()), "to_answer": to_answer}
    return render(request, "reviews/feedback_inbox.html", ctx)


# ----------------------------------------------------------------- answer


def _answered_rows(row: FeedbackRequest) -> tuple[list[dict], str, bool]:
    """What the rater answered, read-only: (rows, overall comment, hidden).

    Submitted anonymous answers are stored without a link to their request, so
    they cannot be found again: hidden. Named ones come from their response;
    unsubmitted ones from the draft.
    """
    questionnaire = row.cycle.questionnaire or []
    if row.status == S.SUBMITTED and row.anonymous:
        return [], "", True
    if row.status == S.SUBMITTED:
        response = FeedbackResponse.objects.filter(request=row).prefetch_related("answers").first()
        answers = {a.code: {"score": a.score, "comment": a.comment} for a in response.answers.all()} if response else {}
        comment = response.comment if response else ""
    else:
        answers = (row.draft or {}).get("answers") or {}
        comment = (row.draft or {}).get("comment", "")
    meaning = dict(SCALE)
    rows = []
    for q in questionnaire:
        given = answers.get(q["code"]) or {}
        score = given.get("score")
        rows.append({"label": feedback.question_label(q), "description": feedback.question_description(q),
                     "score": score, "meaning": meaning.get(score, ""), "comment": given.get("comment", "")})
    return rows, comment, False


def _answer(request: HttpRequest, row: FeedbackRequest, *, form: FeedbackAnswerForm | None = None,
            status: int = 200) -> HttpResponse:
    cycle, appraisal = row.cycle, row.appraisal
    closed = feedback.window_error(cycle, appraisal)
    editable = row.status == S.OPEN and not closed
    # A refused form is shown again with what was typed, even when the window closed meanwhile.
    if form is None and editable:
        form = FeedbackAnswerForm(questionnaire=cycle.questionnaire or [], draft=row.draft)
    state = _inbox_state(row)
    ctx = {
        "r": row, "cycle": cycle, "appraisal": appraisal, "form": form,
        "closed": closed if row.status != S.SUBMITTED else None,
        "is_self": row.relationship == R.SELF, "anonymous": row.anonymous, "threshold": cycle.anonymity_threshold,
        "group_label": feedback.GROUP_LABELS.get(row.relationship, ""), "scale": SCALE,
        "state": state, "state_label": INBOX_STATES[state],
    }
    if form is None:
        ctx["answered"], ctx["answered_comment"], ctx["answers_hidden"] = _answered_rows(row)
    return render(request, "reviews/feedback_answer.html", ctx, status=status)


@login_required
def feedback_answer_page(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the questionnaire (prefilled from the draft) or, once answered or closed, what was answered.
    POST: save a draft (action=save) or submit (action=submit)."""
    row = feedback.request_get_for_rater(request.user, pk)
    if request.method != "POST":
        return _answer(request, row)
    form = FeedbackAnswerForm(request.POST, questionnaire=row.cycle.questionnaire or [], draft=row.draft)
    submit = request.POST.get("action") == "submit"
    if form.is_valid():
        try:
            feedback.feedback_save(user=request.user, request=row, submit=submit, **form.service_kwargs())
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, SUBMITTED if submit else DRAFT_SAVED)
            return redirect("feedback-answer", pk=row.pk)
    messages.error(request, NOT_SAVED)
    return _answer(request, row, form=form, status=400)


# --------------------------------------------------------- customer's link


def _token_gone(request: HttpRequest) -> HttpResponse:
    """A link that cannot be used — unknown, used or expired, all alike: the message, nothing else (404)."""
    return render(request, "reviews/feedback_token_gone.html", {"message": feedback.LINK_INVALID}, status=404)


@never_cache
def feedback_token_page(request: HttpRequest, token: str) -> HttpResponse:
    """A customer answers through their link, without a login: once. Shows only the appraisee, cycle and questions.

    Never from a signed-in session: a staff account is refused before the link
    is looked up, so it learns nothing of it (not even whether it is valid).
    The link's pages send their address to no other site (referrer
    "same-origin"; "no-referrer" would make the browser send "Origin: null"
    with the form, which the CSRF check refuses).
    """
    if request.user.is_authenticated:
        return render(request, "reviews/feedback_token_signed_in.html", {"message": feedback.SIGNED_IN}, status=403)
    try:
        row = feedback.token_request(token)
    except ValidationError:
        return _token_gone(request)
    cycle = row.cycle
    form = FeedbackAnswerForm(request.POST if request.method == "POST" else None,
                              questionnaire=cycle.questionnaire or [])
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                feedback.feedback_token_submit(token=token, **form.service_kwargs())
            except ValidationError as exc:
                if "__all__" in getattr(exc, "message_dict", {"__all__": None}):
                    return _token_gone(request)  # used or expired meanwhile
                form.add_service_errors(exc)
            else:
                ctx = {"appraisee_name": row.appraisal.person.name, "cycle_name": cycle.name}
                return render(request, "reviews/feedback_token_thanks.html", ctx)
        status = 400
    ctx = {
        "form": form, "appraisee_name": row.appraisal.person.name, "cycle_name": cycle.name,
        "due": row.token_expires_at or cycle.feedback_due, "threshold": cycle.anonymity_threshold, "scale": SCALE,
        "refused": status == 400,
    }
    return render(request, "reviews/feedback_token.html", ctx, status=status)


# ------------------------------------------------------ appraisal's raters


def _feedback_page(request: HttpRequest, a: Appraisal, *, form: RaterForm | None = None,
                   status: int = 200) -> HttpResponse:
    """The raters (masked) and the results. Queries: the appraisal (1), its requests (1), its answers (1, once
    results are shown) — plus session and user."""
    user = request.user
    cycle = a.cycle
    arranger = feedback.can_arrange(user, a)
    is_appraisee = a.person_id == user.pk
    closed = feedback.window_error(cycle, a)
    rows = feedback.appraisal_requests(a)
    if form is None and (arranger or is_appraisee) and not closed:
        form = RaterForm(arranger=arranger)
    results = feedback.feedback_results(a)
    ctx = {
        "a": a, "cycle": cycle, "rows": rows, "arranger": arranger, "is_appraisee": is_appraisee,
        "closed": closed, "can_decide": arranger and not closed, "form": form,
        "pending": sum(1 for r in rows if r.status == S.PROPOSED),
        "results": results, "table": feedback.results_table(results) if results.available else None,
        "counts": cycle.weight_feedback > 0, "due": cycle.feedback_due,
        # The colleagues the rater box offers by name (one query; only while a rater can be added).
        "rater_options": [] if form is None else [
            f"{name} ({code})" for name, code in Person.objects.filter(is_active=True, unit__isnull=False)
            .exclude(pk=a.person_id).order_by("name", "employee_code").values_list("name", "employee_code")
        ],
    }
    return render(request, "reviews/feedback_appraisal.html", ctx, status=status)


@login_required
def appraisal_feedback_page(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: raters and results. POST action=add: nominate (the appraisee) or add (an arranger) a rater;
    action=approve_all: approve every request awaiting approval; action=resend: send a customer a new link
    (by e-mail to them only)."""
    a = appraisal_get(request.user, pk)
    if request.method != "POST":
        return _feedback_page(request, a)
    action = request.POST.get("action")
    if action == "approve_all":
        try:
            done = feedback.feedback_requests_approve_all(user=request.user, appraisal=a, http_request=request)
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            messages.success(request, ngettext("%(n)s request approved.", "%(n)s requests approved.", len(done))
                             % {"n": len(done)})
        return redirect("appraisal-feedback", pk=a.pk)
    if action == "resend":
        try:
            row = feedback.feedback_link_resend(user=request.user, appraisal=a,
                                                email=request.POST.get("external_email", ""), http_request=request)
        except PermissionDenied:
            raise Http404 from None  # the appraisee sees the raters, and arranges nothing
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            messages.success(request, feedback.LINK_SENT_AGAIN % {"name": row.external_name,
                                                                  "email": row.external_email})
        return redirect("appraisal-feedback", pk=a.pk)
    if action != "add":
        return HttpResponseBadRequest()
    arranger = feedback.can_arrange(request.user, a)
    form = RaterForm(request.POST, arranger=arranger)
    if form.is_valid():
        try:
            arranged = feedback.feedback_request_add(user=request.user, appraisal=a, http_request=request,
                                                     **form.service_kwargs())
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            row = arranged.request
            if arranger and row.relationship == R.CUSTOMER:
                messages.success(request, CUSTOMER_ASKED % {"name": row.rater_name, "email": row.external_email})
            else:
                messages.success(request, (ADDED if arranger else NOMINATED) % {"name": row.rater_name})
            return redirect("appraisal-feedback", pk=a.pk)
    messages.error(request, NOT_SAVED)
    return _feedback_page(request, a, form=form, status=400)


@login_required
@require_POST
def feedback_decide_page(request: HttpRequest, pk: int) -> HttpResponse:
    """Approve (action=approve) or reject (action=reject) one request awaiting approval; back to the raters."""
    row = feedback.request_get_for_arranger(request.user, pk)
    action = request.POST.get("action")
    if action not in ("approve", "reject"):
        return HttpResponseBadRequest()
    try:
        feedback.feedback_request_decide(user=request.user, request=row, approve=action == "approve",
                                         http_request=request)
    except PermissionDenied:
        raise Http404 from None  # the appraisee (or a viewer) may see the request, not decide it
    except ValidationError as exc:
        messages.error(request, NOT_CHANGED)
        for message in exc.messages:
            messages.error(request, message)
    else:
        name = row.rater_name
        messages.success(request, (APPROVED if action == "approve" else REJECTED) % {"name": name})
    return redirect("appraisal-feedback", pk=row.appraisal_id)


# ---------------------------------------------------------- questionnaires


def _require_questionnaire_manager(request: HttpRequest) -> None:
    if not can_manage_cycles(request.user):
        raise Http404


@login_required
def questionnaire_list_page(request: HttpRequest) -> HttpResponse:
    """The 360 questionnaires with their competencies in order, the default first (2 queries)."""
    _require_questionnaire_manager(request)
    templates = list(questionnaires.questionnaires_visible(request.user))
    return render(request, "reviews/questionnaire_list.html", {"templates": templates})


def _questionnaire_form_page(request: HttpRequest, template: FeedbackTemplate | None) -> HttpResponse:
    competencies = list(Competency.objects.filter(active=True))
    if template is not None:
        # Retired competencies still in the questionnaire are listed, so the refusal to keep them can be seen.
        competencies += [item.competency for item in template.items.all() if not item.competency.active]
    data = request.POST if request.method == "POST" else None
    form = QuestionnaireForm(data, template=template, competencies=competencies)
    if data is not None:
        if form.is_valid():
            try:
                saved = questionnaires.questionnaire_save(user=request.user, template=template, **form.service_kwargs())
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, QUESTIONNAIRE_SAVED % {"name": saved.name})
                return redirect("questionnaire-list")
        messages.error(request, NOT_SAVED)
    ctx = {"form": form, "template": template}
    return render(request, "reviews/questionnaire_form.html", ctx, status=400 if data is not None else 200)


@login_required
def questionnaire_create_page(request: HttpRequest) -> HttpResponse:
    _require_questionnaire_manager(request)
    return _questionnaire_form_page(request, None)


@login_required
def questionnaire_edit_page(request: HttpRequest, pk: int) -> HttpResponse:
    _require_questionnaire_manager(request)
    return _questionnaire_form_page(request, questionnaires.questionnaire_get(request.user, pk))
