"""A realistic quarter of objectives for the demo center, made through the goals services.

Center objectives on each perspective, cascaded to departments, teams and
agents; most agreed and active, one team's proposals still waiting, one
team's target revised down (so its department is misaligned), a team whose
figures put its objectives at risk, contracts signed and unsigned, check-ins
with replies, a milestone objective and an influencing-factor worksheet.
Runs once per quarter: a second run finds the center's objectives and stops.
"""

from __future__ import annotations

import datetime as dt
from typing import Callable

from django.db import transaction

from scorecard.models import Kpi, OrgUnit, Person
from scorecard.periods import quarter_of

from . import cascades, checkins, contracts, services
from .models import Objective

# kpi, title, result, baseline, target, stretch, weight, cascade depth
CENTER_OBJECTIVES = [
    ("fcr", "Raise first-contact resolution", "Customers get their answer in the first contact: FCR 76% for the quarter.",
     72, 76, 80, 25, "agents"),
    ("aht", "Bring average handle time down", "Shorter contacts without hurting quality: AHT 350 s.", 370, 350, 330, 25, "agents"),
    ("training_completion", "Complete the quarter's training plan", "Every assigned course finished: 92% completion.",
     85, 92, 98, 20, "agents"),
    ("service_level", "Answer 85% of contacts within 20 seconds", "Service level 85% on every queue.", 80, 85, 90, 15, "teams"),
    ("cost_per_contact", "Keep cost per contact under 4.80", "Cost per handled contact 4.80 or less.", 5.2, 4.8, 4.4, 15, "teams"),
]
# Transitions that make a draft objective active, each by the right person.
TO_ACTIVE = ("propose", "agree", "activate")


def _manager_of(owner) -> Person | None:
    """Whoever agrees an objective of `owner`: a person's manager, or the manager of a unit's parent."""
    if isinstance(owner, Person):
        return owner.manager
    parent = owner.parent
    return Person.objects.filter(unit=parent, role__in=["manager", "director"]).order_by("employee_code").first()


def _advance(objective: Objective, actions, director: Person) -> None:
    owner = objective.owner
    for action in actions:
        actor = _manager_of(owner) if action in ("agree", "activate") else (
            owner if isinstance(owner, Person) else _manager_of(owner)
        )
        services.objective_transition(user=actor or director, objective=objective, action=action)


def load_goals_demo(*, today: dt.date, log: Callable[[str], None] = lambda message: None) -> int:
    """Create the quarter's objectives, contracts and check-ins; return how many objectives were made."""
    start, end = quarter_of(today)
    center = OrgUnit.objects.get(parent__isnull=True)
    director = Person.objects.filter(role="director").order_by("employee_code").first()
    if director is None or Objective.objects.filter(owner_unit=center, period_start=start).exists():
        log(f"Objectives {start} … {end}: already there.")
        return 0
    with transaction.atomic():
        made = _build(center, director, start, end, today, log)
        last_start, last_end = quarter_of(start - dt.timedelta(days=1))
        made += _previous_quarter(center, director, last_start, last_end, PREVIOUS_QUARTERS[0])
        made += _previous_quarter(center, director, *quarter_of(last_start - dt.timedelta(days=1)), PREVIOUS_QUARTERS[1])
    log(f"Objectives {start} … {end} and the two quarters before: {made} created.")
    return made


# The objectives of last quarter and of the quarter before (what the demo's two review cycles appraise):
# (KPI, title, baseline, target, stretch, weight), each quarter a little more demanding.
PREVIOUS_QUARTERS = (
    (("fcr", "First-contact resolution at 74%", 70, 74, 78, 50),
     ("aht", "Average handle time at 360 s", 380, 360, 340, 50)),
    (("fcr", "First-contact resolution at 72%", 68, 72, 76, 50),
     ("aht", "Average handle time at 370 s", 390, 370, 350, 50)),
)


def _previous_quarter(center: OrgUnit, director: Person, start: dt.date, end: dt.date, objectives) -> int:
    """A past quarter's objectives (FCR and AHT, cascaded to every agent, all active): what its review appraises."""
    kpis = {k.code: k for k in Kpi.objects.filter(code__in=["fcr", "aht"])}
    for code, title, baseline, target, stretch, weight in objectives:
        objective = services.objective_create(
            user=director, owner=center, period_start=start, period_end=end, due_date=end, title=title,
            result=title, kind="kpi", kpi=kpis[code], baseline=baseline, target=target, stretch=stretch,
            weight=weight, resources="Coaching hours and quality calibration sessions.",
        )
        for action in TO_ACTIVE:
            services.objective_transition(user=director, objective=objective, action=action)
        cascades.cascade_apply(user=director, objective=objective, depth="agents", method="same")
    for objective in (
        Objective.objects.filter(period_start=start, status="draft")
        .select_related("owner_unit__parent", "owner_person__manager", "owner_person__unit", "kpi")
        .order_by("id")
    ):
        _advance(objective, TO_ACTIVE, director)
    return Objective.objects.filter(period_start=start).count()


def _build(center: OrgUnit, director: Person, start: dt.date, end: dt.date, today: dt.date, log) -> int:
    kpis = {k.code: k for k in Kpi.objects.all()}
    tops = []
    for code, title, result, baseline, target, stretch, weight, depth in CENTER_OBJECTIVES:
        objective = services.objective_create(
            user=director, owner=center, period_start=start, period_end=end, due_date=end, title=title,
            result=result, kind="kpi", kpi=kpis[code], baseline=baseline, target=target, stretch=stretch,
            weight=weight, resources="Coaching hours, quality calibration sessions, WFM support.",
        )
        services.objective_transition(user=director, objective=objective, action="propose")
        services.objective_transition(user=director, objective=objective, action="agree")
        services.objective_transition(user=director, objective=objective, action="activate")
        tops.append((objective, depth))
    for objective, depth in tops:
        if depth == "agents":
            cascades.cascade_apply(user=director, objective=objective, depth="agents", method="same")
        else:
            for child in cascades.cascade_apply(user=director, objective=objective, depth="children", method="same"):
                cascades.cascade_apply(user=director, objective=child, depth="children", method="same")
    children = list(
        Objective.objects.filter(period_start=start, status="draft", parent__isnull=False)
        .select_related("owner_unit__parent", "owner_person__manager", "owner_person__unit", "kpi")
        .order_by("owner_unit__path", "owner_person__employee_code", "id")
    )
    waiting = {"CO-02"}  # this team's agents proposed, their manager has not agreed yet
    for objective in children:
        team = objective.owner_person.unit.code if objective.owner_person_id else None
        if team in waiting:
            _advance(objective, ("propose",), director)
        elif not (team == "SA-04" and objective.kpi.code == "training_completion"):  # left as drafts
            _advance(objective, TO_ACTIVE, director)
    # One team's FCR target revised down: its department no longer adds up to the center's target.
    weak = Objective.objects.filter(owner_unit__code="IN-03", period_start=start, kpi__code="fcr").first()
    if weak is not None:
        services.objective_revise(
            user=_manager_of(weak.owner) or director, objective=weak, target=73, baseline=68, stretch=77,
            reason="Two experienced agents moved to the VIP line; the team is rebuilding its knowledge.",
        )
    _milestone_and_factors(center, director, start, end, tops)
    _contracts_and_checkins(start, end, director)
    return Objective.objects.filter(period_start=start).count()


def _milestone_and_factors(center, director, start, end, tops) -> None:
    team = OrgUnit.objects.filter(code="IN-01").first()
    if team is not None:
        manager = _manager_of(team) or director
        milestone = services.objective_create(
            user=manager, owner=team, period_start=start, period_end=end, due_date=end - dt.timedelta(days=14),
            title="Roll out the new knowledge base", kind="milestone", weight=10,
            result="Every agent of the team answers from the new knowledge base.",
            completion_criterion="All 120 top articles migrated and every agent trained.",
            verification="Knowledge-base audit report signed by the QA lead.",
            resources="Two days of a knowledge engineer; an hour of training per agent.",
        )
        _advance(milestone, TO_ACTIVE, director)
        checkins.checkin_create(
            user=Person.objects.filter(unit=team, role="manager").first() or manager, objective=milestone,
            progress_note="Articles for billing and delivery migrated; training booked.", progress=40,
            obstacles="Product team slow to review articles.", help_needed="A reviewer from the product team.",
            next_steps="Migrate the returns articles; first training session.",
        )
    fcr = next((o for o, _depth in tops if o.kpi.code == "fcr"), None)
    if fcr is not None:
        for name, controllable, influenceable, kpi, category in [
            ("Knowledge-base accuracy", True, True, "qa_score", "information"),
            ("Agent product knowledge", True, True, "training_completion", "people"),
            ("Back-office turnaround", False, True, None, "method"),
            ("CRM search speed", False, True, "aht", "system"),
            ("Product launches and promotions", False, False, None, "environment"),
            ("Resolution tagging by agents", True, True, "fcr", "measurement"),
        ]:
            checkins.factor_create(
                user=director, objective=fcr, name=name, controllable=controllable, influenceable=influenceable,
                kpi=Kpi.objects.filter(code=kpi).first() if kpi else None, category=category, note="",
            )


def _contracts_and_checkins(start, end, director) -> None:
    for team_code, sign in (("IN-01", "both"), ("IN-02", "employee"), ("SA-01", "none")):
        agents = Person.objects.filter(unit__code=team_code, role="agent").select_related("manager").order_by("employee_code")
        for agent in agents:
            objectives = list(Objective.objects.filter(owner_person=agent, period_start=start, status="active").order_by("id"))
            if not objectives or agent.manager is None:
                continue
            weights = contracts.contract_weights(objectives)
            contract = contracts.contract_create(
                user=agent.manager, person=agent, period_start=start, period_end=end,
                objectives=list(zip(objectives, weights)),
                support="Weekly coaching session; a QA calibration every month; priority on training seats.",
                reward_terms=contracts.default_reward_terms(), terms_text="Quarterly bonus by grade as in the table above.",
            )
            if sign in ("both", "employee"):
                contracts.contract_sign(user=agent, contract=contract)
            if sign == "both":
                contracts.contract_sign(user=agent.manager, contract=contract)
            if team_code == "IN-01":
                checkin = checkins.checkin_create(
                    user=agent, objective=objectives[0],
                    progress_note="Using the new resolution checklist on every billing call.",
                    obstacles="Refund questions still need the back office.", help_needed="Side-by-side coaching on refunds.",
                    next_steps="Shadow a senior agent on refund calls.",
                )
                checkins.checkin_reply(user=agent.manager, checkin=checkin, reply="Booked you with Lily on Thursday.")
