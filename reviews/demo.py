"""Review cycles for the demo center, made through the reviews services.

Last quarter's review is in progress: launched, most self-assessments of the
inbound department submitted, some manager appraisals drafted. Its 360 raters
were suggested at launch and approved, except in one team whose manager has
not got to it; the first agent has nominated a colleague (awaiting approval)
and has a customer asked through a link; about half of the answers are in,
some as drafts. The quarter before that was reviewed and closed: its 360 was
answered before the close, so its appraisals show results (groups large
enough shown, the others not) and a 360 score, next to grades and a summary;
its appraisals were submitted, discussed in the interview and signed (most of
them), two grades calibrated, every moment dated in the month after its period.
Runs once: a second run finds the cycles and stops.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Callable

from django.db import transaction
from django.db.models import Count, OuterRef, Subquery
from django.utils import timezone

from scorecard.models import OrgUnit, Person
from scorecard.periods import quarter_of

from . import appraisals, calibration, closing, feedback, services
from .models import (
    Appraisal, Competency, FeedbackAnswer, FeedbackRequest, FeedbackResponse, ReviewCycle, default_scale,
)

GATE_RULE = {"measure": "qa_fatal_errors", "above": 0, "cap": "D"}
GUIDELINE = {"A": 10, "B": 30}

FS = FeedbackRequest.Status
FR = FeedbackRequest.Relationship
# This team's manager has not approved the suggested raters yet (in the goals demo, its objectives wait too).
FEEDBACK_WAITING_TEAM = "CO-02"
# Share of the 360 requests answered, by relationship: (the closed cycle, the cycle in progress).
FEEDBACK_ANSWERED = {
    FR.SELF: (0.95, 0.5), FR.SUPERVISOR: (0.9, 0.3), FR.MATRIX: (0.9, 0.3),
    FR.PEER: (0.85, 0.55), FR.SUBORDINATE: (0.75, 0.4),
}
FEEDBACK_DRAFTED = 0.15  # of the rest: started, saved as a draft
FEEDBACK_COMMENTS = {
    FR.SELF: ["I handle billing questions well; complex complaints still take me long.",
              "我能独立处理大部分业务问题，需要加强投诉处理技巧。"],
    FR.SUPERVISOR: ["Dependable on the phones and helpful in huddles.", "工作认真负责，客户评价好，建议多分享经验。"],
    FR.PEER: ["Always ready to help when the queue is long.", "Explains the new products clearly to the team.",
              "乐于助人，沟通清楚。", "Could share knowledge more during handovers.", "遇到难题时很冷静，值得学习。"],
    FR.SUBORDINATE: ["Gives clear feedback after call reviews.", "排班公平，愿意倾听大家的意见。",
                     "Team meetings could be shorter and more focused."],
    FR.CUSTOMER: ["Solved our account problem in one call.", "服务专业，回复及时。"],
}


def _deadlines(now: dt.datetime, first_in_days: int) -> dict:
    first = now + dt.timedelta(days=first_in_days)
    return {
        "self_assessment_due": first,
        "feedback_due": first + dt.timedelta(days=7),
        "appraisal_due": first + dt.timedelta(days=14),
        "calibration_due": first + dt.timedelta(days=21),
    }


def _create(hr: Person, center: OrgUnit, name: str, start: dt.date, end: dt.date, now: dt.datetime) -> ReviewCycle:
    cycle = services.cycle_create(
        user=hr, name=name, period_start=start, period_end=end, units=[center], scale=default_scale(),
        weight_objectives=70, weight_competencies=30, weight_feedback=0, gate_rule=GATE_RULE,
        guideline=GUIDELINE, **_deadlines(now, 5),
    )
    services.cycle_launch(user=hr, cycle=cycle)
    return cycle


def _self_assess(appraisal: Appraisal, rng: random.Random, submit: bool) -> None:
    appraisal = appraisals.appraisal_prepare(appraisal=appraisal)
    ratings = {
        r.objective_id: {"self_rating": round(min(100, max(40, (r.system_score or 75) + rng.uniform(-5, 10)))),
                         "self_comment": "Used the resolution checklist on most calls."}
        for r in appraisal.objective_ratings.all()
    }
    appraisals.appraisal_self_save(
        user=appraisal.person, appraisal=appraisal, objectives=ratings, submit=submit,
        achievements="Handled the quarter's peak weeks without overtime; mentored a new colleague. 高峰期无需加班，带教一名新同事。",
        difficulties="Refund questions still need the back office.",
        help_wanted="Coaching on complex billing cases; the advanced product course.",
    )


def _manager_draft(appraisal: Appraisal, manager: Person, competencies, rng: random.Random) -> None:
    appraisals.appraisal_prepare(appraisal=appraisal)
    appraisals.appraisal_manager_save(
        user=manager, appraisal=appraisal,
        competencies={c.code: {"score": rng.choice([3, 3, 4, 4, 4, 5]), "comment": ""} for c in competencies},
        manager_comments="Reliable and well liked by customers; keep working on first-contact resolution.",
    )


INTERVIEW_NOTES = [
    "Went through the quarter's figures together; agreed the handle-time trend is the priority. "
    "回顾了本季度数据，一致认为平均处理时长是重点。",
    "Discussed the quarter's complaint cases and the coaching plan. 讨论了本季度的投诉案例和辅导计划。",
    "Reviewed first-contact resolution week by week; the agent asked for more product training.",
]
IMPROVEMENTS = [
    "Shadow a senior agent twice a month; use the billing checklist on every billing call.",
    "参加投诉处理进阶课程，每月一次通话复盘。",
    "Weekly call review with the team leader until FCR is back above target.",
]
DISAGREEMENTS = [
    "The CSAT tool's outage weeks lowered my satisfaction score through no fault of mine. 满意度系统故障期间的数据拉低了我的得分。",
]


def _closed_cycle_run(cycle: ReviewCycle, hr: Person, competencies, rng: random.Random, whole: int | None) -> None:
    """The closed cycle as it ran, through the services: once the 360 deadline had passed the managers
    submitted their appraisals (a few with an objective rated above the data, with the reason), held the
    interview (面谈), the appraisees signed (被考核人签名, one with a written disagreement), and HR
    calibrated two grades. A few appraisals were left unsigned or not submitted, as happens; not the
    appraisal `whole` (the demo agent's), which went through every step."""
    # Past the self-assessment and 360 deadlines: the appraisal phase (the beat's move, phases_advance).
    ReviewCycle.objects.filter(pk=cycle.pk, phase=ReviewCycle.Phase.SELF_ASSESSMENT).update(
        phase=ReviewCycle.Phase.APPRAISAL)
    submitted = []
    for appraisal in cycle.appraisals.select_related("person", "manager").order_by("person__employee_code"):
        if appraisal.manager is None or (rng.random() < 0.04 and appraisal.pk != whole):
            continue
        appraisal = appraisals.appraisal_prepare(appraisal=appraisal)
        objectives = {}
        for row in appraisal.objective_ratings.all():
            if row.system_score is not None and row.system_score < 70 and rng.random() < 0.3:
                objectives[row.objective_id] = {
                    "manager_rating": round(row.system_score + 10),
                    "manager_comment": "Two weeks of the quarter on the new billing queue: credited. 新业务队列支援两周，予以加分。",
                }
        appraisals.appraisal_manager_save(
            user=appraisal.manager, appraisal=appraisal, objectives=objectives,
            competencies={c.code: {"score": rng.choice([3, 3, 4, 4, 4, 5]), "comment": ""} for c in competencies},
            manager_comments=rng.choice([
                "Reliable and well liked by customers; keep working on first-contact resolution.",
                "工作认真负责，客户评价好；继续提高一次解决率。",
                "A strong quarter on the phones; share your handling of difficult calls with the team.",
            ]),
            submit=True,
        )
        submitted.append(appraisal)
    disagreed = False
    for n, appraisal in enumerate(submitted):
        if rng.random() < 0.92 or appraisal.pk == whole:
            appraisals.appraisal_interview_save(
                user=appraisal.manager, appraisal=appraisal,
                interview_at=timezone.now(),  # dated in the quarter after, with the rest, by _closed_cycle_dates
                interview_notes=rng.choice(INTERVIEW_NOTES), improvement_actions=rng.choice(IMPROVEMENTS),
            )
            if rng.random() < 0.9 or appraisal.pk == whole:
                disagrees = (not disagreed and n >= 3 and appraisal.pk != whole  # one agent, a few rows down the list
                             and appraisal.person.role == "agent")
                appraisals.appraisal_acknowledge(
                    user=appraisal.person, appraisal=appraisal, disagreement=DISAGREEMENTS[0] if disagrees else "")
                disagreed = disagreed or disagrees
    # The calibration meeting: one A brought down to keep within the guideline, one C raised.
    for proposed, grade, reason in (
        ("A", "B", "校准会议：本部门A等级超出10%的指导比例，与同等表现的员工保持一致。"),
        ("C", "B", "Calibration meeting: carried the team through the CSAT tool's outage weeks; top of the department on quality."),
    ):
        appraisal = (Appraisal.objects.filter(cycle=cycle, proposed_grade=proposed, person__role="agent")
                     .exclude(pk=whole).select_related("cycle").order_by("person__employee_code").first())
        if appraisal is not None:
            calibration.appraisal_calibrate(user=hr, appraisal=appraisal, grade=grade, reason=reason)


def _closed_cycle_dates(cycle: ReviewCycle, end: dt.date, rng: random.Random) -> None:
    """Move the closed cycle's moments to when they happened: launched the day after its period, the
    self-assessments within a week, the appraisals and interviews in the second and third weeks, the
    signatures a day or two after, the calibration and the close in the fourth (Shanghai office hours)."""
    tz = timezone.get_current_timezone()

    def at(days: float) -> dt.datetime:
        day = end + dt.timedelta(days=int(days))
        return timezone.make_aware(dt.datetime.combine(day, dt.time(9)), tz) + dt.timedelta(
            minutes=rng.randrange(0, 8 * 60))

    launched = timezone.make_aware(dt.datetime.combine(end + dt.timedelta(days=1), dt.time(9)), tz)
    closed_at = timezone.make_aware(dt.datetime.combine(end + dt.timedelta(days=28), dt.time(18)), tz)
    rows = list(Appraisal.objects.filter(cycle=cycle).order_by("pk"))
    for a in rows:
        if a.self_submitted_at:
            a.self_submitted_at = at(rng.uniform(1, 6))
        if a.manager_submitted_at:
            a.manager_submitted_at = at(rng.uniform(9, 15))
        if a.interview_at:
            a.interview_at = max(at(rng.uniform(13, 19)), a.manager_submitted_at + dt.timedelta(hours=2))
        if a.acknowledged_at:
            a.acknowledged_at = a.interview_at + dt.timedelta(hours=rng.choice([1, 2, 3, 24, 25, 48]), minutes=rng.randrange(60))
        if a.calibrated_at:
            a.calibrated_at = at(24)
        a.closed_at = closed_at
    Appraisal.objects.bulk_update(
        rows, ["self_submitted_at", "manager_submitted_at", "interview_at", "acknowledged_at", "calibrated_at",
               "closed_at"], batch_size=500)
    ReviewCycle.objects.filter(pk=cycle.pk).update(
        created_at=launched - dt.timedelta(days=3), launched_at=launched,
        closing_started_at=closed_at - dt.timedelta(minutes=1), closed_at=closed_at,
        self_assessment_due=launched + dt.timedelta(days=7), feedback_due=launched + dt.timedelta(days=10),
        appraisal_due=launched + dt.timedelta(days=17), calibration_due=launched + dt.timedelta(days=26),
    )
    FeedbackRequest.objects.filter(cycle=cycle, decided_at__isnull=False).update(decided_at=launched + dt.timedelta(days=1))


def _feedback_decide(cycle: ReviewCycle, rng: random.Random, now: dt.datetime, waiting: tuple[str, ...] = ()) -> None:
    """Approve the suggested raters as each appraisee's manager would, in bulk (and without the hundreds of
    emails approve-all sends), a few rejected; the `waiting` teams' requests are left for their managers."""
    proposed = FeedbackRequest.objects.filter(cycle=cycle, status=FS.PROPOSED).exclude(
        appraisal__unit__code__in=waiting)
    manager = Subquery(Appraisal.objects.filter(pk=OuterRef("appraisal_id")).values("manager_id")[:1])
    rejected = [pk for pk in proposed.order_by("pk").values_list("pk", flat=True) if rng.random() < 0.04]
    FeedbackRequest.objects.filter(pk__in=rejected).update(status=FS.REJECTED, decided_by_id=manager, decided_at=now)
    proposed.update(status=FS.OPEN, decided_by_id=manager, decided_at=now)


def _answers(rng: random.Random, level: float, relationship: str, codes: list[str], n: int | None = None) -> dict:
    """Ratings around the appraisee's level (a little higher for oneself), a comment now and then."""
    bias = 0.3 if relationship == FR.SELF else 0.0
    answers = {}
    for code in codes[:n] if n else codes:
        answers[code] = {"score": max(1, min(5, round(level + bias + rng.gauss(0, 0.6))))}
        if rng.random() < 0.08:
            answers[code]["comment"] = rng.choice(FEEDBACK_COMMENTS[FR.PEER])
    return answers


def _comment(rng: random.Random, relationship: str) -> str:
    return rng.choice(FEEDBACK_COMMENTS[relationship]) if rng.random() < 0.4 else ""


def _feedback_answer(cycle: ReviewCycle, rng: random.Random, closed: bool, everyone_about: int | None = None) -> None:
    """The raters answer their open requests: most of them (closed cycle) or about half (in progress); drafts.

    A thousand answers or so: checked by feedback_save's rules and stored as it
    stores them (a draft on its request; a submitted anonymous answer without
    its request), in bulk. Everyone asked about `everyone_about` (an appraisal) answered.
    """
    questionnaire = cycle.questionnaire
    codes = [q["code"] for q in questionnaire]
    levels: dict[int, float] = {}
    submitted: list[tuple[FeedbackRequest, dict, str]] = []
    drafts: list[FeedbackRequest] = []
    for request in (
        FeedbackRequest.objects.filter(cycle=cycle, status=FS.OPEN, rater__isnull=False)
        .only("pk", "appraisal_id", "relationship", "draft").order_by("pk")
    ):
        level = levels.setdefault(request.appraisal_id, rng.uniform(2.8, 4.5))
        x = rng.random()
        answered = FEEDBACK_ANSWERED[request.relationship][0 if closed else 1]
        if x < answered or request.appraisal_id == everyone_about:
            answers, comment = feedback._clean_answers(
                questionnaire, _answers(rng, level, request.relationship, codes), _comment(rng, request.relationship),
                submit=True,
            )
            submitted.append((request, answers, comment))
        elif x < answered + FEEDBACK_DRAFTED:
            answers, comment = feedback._clean_answers(
                questionnaire, _answers(rng, level, request.relationship, codes, n=2), "", submit=False)
            request.draft = {"answers": answers, "comment": comment}
            drafts.append(request)
    FeedbackRequest.objects.bulk_update(drafts, ["draft"], batch_size=500)
    for start in range(0, len(submitted), 500):
        FeedbackRequest.objects.filter(pk__in=[r.pk for r, _, _ in submitted[start:start + 500]]).update(
            status=FS.SUBMITTED, draft={})
    responses = [
        FeedbackResponse(appraisal_id=r.appraisal_id, relationship=r.relationship,
                         request=None if r.anonymous else r, comment=comment)
        for r, _, comment in submitted
    ]
    FeedbackResponse.objects.bulk_create(responses, batch_size=500)
    FeedbackAnswer.objects.bulk_create([
        FeedbackAnswer(response=response, code=code, score=values["score"], comment=values.get("comment", ""))
        for response, (_, answers, _) in zip(responses, submitted) for code, values in answers.items()
    ], batch_size=1000)


def _customers(cycle: ReviewCycle, rng: random.Random, answer: bool) -> None:
    """The first agent of each team has a customer asked by their manager, whose link went to the customer's
    own address; in the closed cycle the customer answered. The links are not shown anywhere."""
    codes = [q["code"] for q in cycle.questionnaire]
    firsts: dict[int, int] = {}
    for unit_id, pk in Appraisal.objects.filter(cycle=cycle, person__role="agent", manager__isnull=False).order_by(
        "person__employee_code"
    ).values_list("unit_id", "pk"):
        firsts.setdefault(unit_id, pk)
    chosen = (
        Appraisal.objects.filter(pk__in=firsts.values()).select_related("person__unit", "manager__unit", "cycle")
        .defer("snapshot").order_by("person__employee_code")
    )
    for n, appraisal in enumerate(chosen):
        arranged = feedback.feedback_request_add(
            user=appraisal.manager, appraisal=appraisal, relationship=FR.CUSTOMER,
            external_name=["陈先生 · Mr Chen (corporate account)", "Ms Li 李女士 (VIP line)"][n % 2],
            external_email=[f"chen.{n + 1}@corporate-client.example", f"li.{n + 1}@vip-client.example"][n % 2],
        )
        if answer:
            # The customer's side of it: no staff account ever holds a link, so the demo makes the customer's own.
            row = arranged.request
            token = feedback._issue_token(row, timezone.now())
            row.save(update_fields=["token_hash", "token_expires_at"])
            feedback.feedback_token_submit(
                token=token, comment=_comment(rng, FR.CUSTOMER),
                answers=_answers(rng, rng.uniform(3.0, 4.8), FR.CUSTOMER, codes),
            )


def _first_agents(cycle: ReviewCycle) -> list[Appraisal]:
    """The appraisals of the first agent of the first two teams (the demo's agent login first: agents are
    numbered team after team)."""
    agents = (Appraisal.objects.filter(cycle=cycle, person__role="agent").select_related("person__unit", "unit")
              .defer("snapshot").order_by("person__employee_code"))
    firsts: dict[int, Appraisal] = {}
    for appraisal in agents:
        firsts.setdefault(appraisal.unit_id, appraisal)
        if len(firsts) == 2:
            break
    return list(firsts.values())


def _nomination(cycle: ReviewCycle) -> None:
    """The first agent asks for a colleague of the next team they work with on escalations: awaiting approval."""
    firsts = _first_agents(cycle)
    if len(firsts) == 2:
        feedback.feedback_request_add(user=firsts[0].person, appraisal=firsts[0], relationship=FR.PEER,
                                      rater_code=firsts[1].person.employee_code)


def load_reviews_demo(*, today: dt.date, log: Callable[[str], None] = lambda message: None) -> int:
    """Create the in-progress and the closed review cycles; return how many cycles were made."""
    hr = Person.objects.filter(role="hr").order_by("employee_code").first()
    center = OrgUnit.objects.filter(parent__isnull=True).first()
    last_start, last_end = quarter_of(quarter_of(today)[0] - dt.timedelta(days=1))
    before_start, before_end = quarter_of(last_start - dt.timedelta(days=1))
    if hr is None or center is None or ReviewCycle.objects.filter(period_start=last_start).exists():
        log("Review cycles: already there.")
        return 0
    rng = random.Random(11)
    feedback_rng = random.Random(360)  # apart, so the appraisals above come out as they always did
    now = timezone.now()
    competencies = list(Competency.objects.filter(active=True))
    with transaction.atomic():
        closed = _create(hr, center, f"{before_start:%Y} Q{(before_start.month - 1) // 3 + 1} review", before_start, before_end, now)
        for appraisal in closed.appraisals.select_related("person", "manager"):
            _self_assess(appraisal, rng, submit=True)
        _feedback_decide(closed, feedback_rng, now)
        _customers(closed, feedback_rng, answer=True)
        # The demo's agent saw all their peers answer: a group shown, next to the customer's, too small to show.
        demo_agent = next(iter(_first_agents(closed)), None)
        _feedback_answer(closed, feedback_rng, closed=True, everyone_about=demo_agent and demo_agent.pk)
        _closed_cycle_run(closed, hr, competencies, random.Random(22), whole=demo_agent and demo_agent.pk)
        # Past the appraisal deadline: calibration, then HR closed it (the beat's move, then the button).
        ReviewCycle.objects.filter(pk=closed.pk).update(phase=ReviewCycle.Phase.CALIBRATION)
        closed.phase = ReviewCycle.Phase.CALIBRATION
        closing.cycle_close_start(user=hr, cycle=closed)
        closing.close_cycle(cycle_id=closed.pk)
        # It ran the quarter after its period: its moments and deadlines are history.
        _closed_cycle_dates(closed, before_end, random.Random(23))

        current = _create(hr, center, f"{last_start:%Y} Q{(last_start.month - 1) // 3 + 1} review", last_start, last_end, now)
        for appraisal in current.appraisals.select_related("person", "manager", "unit"):
            inbound = appraisal.unit.code.startswith("IN-")
            if inbound and rng.random() < 0.8:
                _self_assess(appraisal, rng, submit=rng.random() < 0.85)
            if appraisal.unit.code in ("IN-01", "IN-02") and appraisal.manager is not None:
                _manager_draft(appraisal, appraisal.manager, competencies, rng)
        _feedback_decide(current, feedback_rng, now, waiting=(FEEDBACK_WAITING_TEAM,))
        _nomination(current)
        _customers(current, feedback_rng, answer=False)
        _feedback_answer(current, feedback_rng, closed=False)
    log(f"Review cycles: {closed.name} closed, {current.name} in progress.")
    for cycle in (closed, current):
        counts = dict(
            FeedbackRequest.objects.filter(cycle=cycle).order_by().values_list("status").annotate(n=Count("pk"))
        )
        log(f"360 feedback in {cycle.name}: " + ", ".join(f"{n} {status}" for status, n in sorted(counts.items())))
    return 2
