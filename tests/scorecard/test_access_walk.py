"""Every URL pattern, walked as each role: nothing outside the role's view answers 200.

The center of tests/base.py, plus an agent on Olga's team (Tina, T3), and in
it one object of every kind a URL names — objectives, check-ins, factors,
templates, contracts, an import, two launched review cycles (the whole
center; D2 only), their appraisals, 360 requests and an export. Each role —
agent (Alice), team manager (Mike), department manager (Dana), HR (Hana),
director (Dirk), anonymous — GETs every pattern of the root URLconf with
every object that lies outside its view filled in, and any 200 fails.

What is "outside" is written here from the org chart (the sets below), not
read from scorecard.access: the walk checks the rule, it does not restate it.

A pattern's parameters are filled by FILLERS (route, parameter → kind of
object); a pattern that cannot be filled is in SKIPPED with the reason. A new
pattern with neither fails test_every_pattern_is_filled_or_skipped, so no URL
escapes the walk silently. The pages without parameters are walked too: the
names and titles of the other branch's objects must not appear in them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass, field

import pytest
from django.contrib.admindocs.views import extract_views_from_urlpatterns
from django.test import Client
from django.urls import get_resolver

from goals.models import CheckIn, Contract, InfluencingFactor, Objective, ObjectiveTemplate
from reviews import services as review_services
from reviews.models import Appraisal, ExportJob, FeedbackRequest, FeedbackTemplate
from scorecard.models import ImportJob, Kpi, Person
from tests.base import make_person
from tests.reviews.test_cycles import cycle_kwargs

pytestmark = pytest.mark.django_db

Q3 = (dt.date(2026, 7, 1), dt.date(2026, 9, 30))
ROLES = ("agent", "team manager", "department manager", "hr", "director", "anonymous")

# Filled from the route and the parameter's name: (route pattern, parameter) → kind of object. First match wins.
FILLERS: list[tuple[str, str, str]] = [
    (r"objectives/<int:pk>/", "pk", "objective"),
    (r"checkins/<int:pk>/", "pk", "checkin"),
    (r"factors/<int:pk>/", "pk", "factor"),
    (r"templates/<int:pk>/", "pk", "template"),
    (r"contracts/<int:pk>/", "pk", "contract"),
    (r"imports/<int:job_id>/", "job_id", "import"),
    (r"imports/samples/<slug:kind>", "kind", "sample"),
    (r"kpis/<slug:code>/", "code", "kpi"),
    (r"kpis/<slug:kpi_code>/", "kpi_code", "kpi"),
    (r"measures/<slug:code>/", "code", "measure"),
    (r"org-units/<str:code>/", "code", "unit"),
    (r"people/<str:employee_code>/", "employee_code", "person"),
    (r"scorecards/<str:code>/ranking/", "code", "unit"),
    (r"scorecards/<str:code>/", "code", "subject"),
    (r"appraisals/<int:pk>/", "pk", "appraisal"),
    (r"cycles/<int:pk>/", "pk", "cycle"),
    (r"exports/<int:pk>/", "pk", "export"),
    (r"feedback/requests/<int:pk>/", "pk", "feedback"),
    (r"feedback/<int:pk>/", "pk", "feedback"),
    (r"questionnaires/<int:pk>/", "pk", "questionnaire"),
]

# Patterns that are not walked, each with its reason (matched against the start of the route).
SKIPPED: dict[str, str] = {
    "admin/": "Django admin: staff only, and no walking role is staff (test_admin_answers_no_walking_role)",
    "accounts/reset/<uidb64>/<token>/": "Django's password-reset link: public by design, its one-time token is the "
                                        "credential",
    "reviews/feedback/t/<str:token>/": "a customer's 360 link: public by design, its token is the credential "
                                       "(tests/reviews/test_feedback*.py)",
    "api/v1/reviews/feedback/token/<str:token>/": "a customer's 360 link through the API: as the page",
}

# The org chart: who each role sees (codes). HR and the director see everything; anonymous nothing.
EVERYONE = None
SEEN_UNITS = {"agent": set(), "team manager": {"T1"}, "department manager": {"D1", "T1", "T2"},
              "hr": EVERYONE, "director": EVERYONE, "anonymous": set()}
SEEN_PEOPLE = {"agent": {"ALICE"}, "team manager": {"MIKE", "ALICE", "BOB"},
               "department manager": {"DANA", "MIKE", "ALICE", "BOB", "CARL"},
               "hr": EVERYONE, "director": EVERYONE, "anonymous": set()}
USER_CODE = {"agent": "ALICE", "team manager": "MIKE", "department manager": "DANA", "hr": "HANA", "director": "DIRK",
             "anonymous": None}
# Objects of another branch (never on the role's chain upward, never its own): their names must not show in lists.
OTHER_BRANCH = {"agent": {"BOB", "CARL", "TINA", "OLGA", "T2", "T3"}, "team manager": {"CARL", "TINA", "OLGA", "T2", "T3"},
                "department manager": {"TINA", "OLGA", "T3", "D2"}}
NAMES = {"BOB": "Bob Peer", "CARL": "Carl Two", "TINA": "Tina Three", "OLGA": "Olga Other"}


def sees_unit(role: str, code: str | None) -> bool:
    seen = SEEN_UNITS[role]
    return code is not None and (seen is EVERYONE or code in seen)


def sees_person(role: str, code: str | None) -> bool:
    seen = SEEN_PEOPLE[role]
    return code is not None and (seen is EVERYONE or code in seen)


@dataclass
class Center:
    # kind → [(value in the URL, roles it is outside for)]
    objects: dict[str, list[tuple[str, set[str]]]] = field(default_factory=lambda: defaultdict(list))

    def add(self, kind: str, value, outside: set[str]) -> None:
        self.objects[kind].append((str(value), outside))


def outside_for(predicate) -> set[str]:
    """The roles for which `predicate(role)` (does the role see it?) is false."""
    return {role for role in ROLES if not predicate(role)}


def _objective(owner, creator: Person) -> Objective:
    owner_field = "owner_person" if isinstance(owner, Person) else "owner_unit"
    return Objective.objects.create(
        **{owner_field: owner}, period_start=Q3[0], period_end=Q3[1], due_date=Q3[1], title=f"WALK-OBJ-{owner.code}",
        result="A result", kind="kpi", kpi=Kpi.objects.get(code="fcr"), baseline=70, target=74, stretch=78,
        weight=25, status=Objective.Status.ACTIVE, resources="Coaching", created_by=creator,
    )


def build_center(org) -> Center:
    """One object of each kind inside and outside each role's view (about 60 rows)."""
    c = Center()
    tina = make_person("TINA", "Tina Three", org.t3, "agent", org.olga)
    people = {p.code: p for p in (org.alice, org.bob, org.carl, org.mike, org.dana, org.olga, org.hana, org.dirk, tina)}
    units = {u.code: u for u in (org.center, org.d1, org.d2, org.t1, org.t2, org.t3)}
    for code in units:
        c.add("unit", code, outside_for(lambda r, code=code: sees_unit(r, code)))
        c.add("subject", code, outside_for(lambda r, code=code: sees_unit(r, code)))
    for code in people:
        c.add("person", code, outside_for(lambda r, code=code: sees_person(r, code)))
        c.add("subject", code, outside_for(lambda r, code=code: sees_person(r, code)))

    # Goals: objectives of units and people, their check-ins and factors, templates, contracts.
    for owner in (org.center, org.d1, org.t1, org.t3, org.alice, org.bob, org.carl, tina, org.olga):
        objective = _objective(owner, org.dirk)
        if isinstance(owner, Person):
            seen = lambda r, code=owner.code: sees_person(r, code)  # noqa: E731
        else:
            seen = lambda r, code=owner.code: sees_unit(r, code)  # noqa: E731
        c.add("objective", objective.pk, outside_for(seen))
        if owner.code in ("ALICE", "BOB", "TINA", "T3"):
            checkin = CheckIn.objects.create(objective=objective, author=org.dirk, progress_note="On track")
            factor = InfluencingFactor.objects.create(objective=objective, name="Staffing", category="people")
            c.add("checkin", checkin.pk, outside_for(seen))
            c.add("factor", factor.pk, outside_for(seen))
    for unit in (org.t1, org.t2, org.t3, org.d2):
        template = ObjectiveTemplate.objects.create(name=f"WALK-TPL-{unit.code}", unit=unit, title=f"WALK-TPL-{unit.code}",
                                                    created_by=org.dirk)
        c.add("template", template.pk, outside_for(lambda r, code=unit.code: sees_unit(r, code)))
    for person, manager in ((org.alice, org.mike), (org.bob, org.mike), (org.carl, org.dana), (tina, org.olga)):
        contract = Contract.objects.create(person=person, manager=manager, period_start=Q3[0], period_end=Q3[1],
                                           reward_terms=[], created_by=manager)
        c.add("contract", contract.pk, outside_for(
            lambda r, p=person.code, m=manager.code: sees_person(r, p) or USER_CODE[r] == m))
    job = ImportJob.objects.create(kind="measurements", filename="walk.csv", created_by=org.hana)
    c.add("import", job.pk, outside_for(lambda r: r in ("hr", "director")))

    # Reviews: the whole center's cycle and D2's, launched; their appraisals, 360 requests, an export.
    cycles = []
    for name, cycle_units in (("Walk center", [org.d1, org.d2]), ("Walk D2", [org.d2])):
        cycle = review_services.cycle_create(user=org.hana, **cycle_kwargs(org, name=name, units=cycle_units))
        review_services.cycle_launch(user=org.hana, cycle=cycle)
        cycles.append(cycle)

    def appraisal_seen(role: str, a: Appraisal) -> bool:
        return (sees_person(role, a.person.employee_code) or sees_unit(role, a.unit.code)
                or (a.manager_id is not None and USER_CODE[role] == a.manager.employee_code))

    appraisals = list(Appraisal.objects.select_related("person", "unit", "manager", "cycle"))
    assert appraisals, "the launches made appraisals"
    for a in appraisals:
        if a.person.employee_code in ("ALICE", "BOB", "CARL", "TINA", "OLGA"):
            c.add("appraisal", a.pk, outside_for(lambda r, a=a: appraisal_seen(r, a)))
    for cycle in cycles:
        mine = [a for a in appraisals if a.cycle_id == cycle.pk]
        c.add("cycle", cycle.pk, outside_for(lambda r, mine=mine: any(appraisal_seen(r, a) for a in mine)))
    per_appraisee: dict[int, int] = defaultdict(int)
    for request in FeedbackRequest.objects.select_related("appraisal__person", "appraisal__unit", "appraisal__manager",
                                                          "rater").order_by("pk"):
        per_appraisee[request.appraisal.person_id] += 1
        if per_appraisee[request.appraisal.person_id] > 2:
            continue  # two requests about each appraisee are enough
        if request.status == FeedbackRequest.Status.PROPOSED:
            request.status = FeedbackRequest.Status.OPEN  # approved: its rater may open it
            request.save(update_fields=["status"])
        rater = request.rater.employee_code if request.rater_id else None
        c.add("feedback", request.pk, outside_for(
            lambda r, a=request.appraisal, rater=rater: appraisal_seen(r, a) or USER_CODE[r] == rater))
    export = ExportJob.objects.create(cycle=cycles[0], requested_by=org.hana, language="en", key="walk")
    c.add("export", export.pk, outside_for(lambda r: r == "hr"))

    # The library and the questionnaires are the center's, read by everyone signed in.
    signed_in = outside_for(lambda r: r != "anonymous")
    c.add("kpi", "fcr", signed_in)
    c.add("measure", "contacts_handled", signed_in)
    c.add("sample", "measurements", signed_in)
    template = FeedbackTemplate.objects.create(name="Walk questionnaire")
    c.add("questionnaire", template.pk, signed_in)
    return c


# ----------------------------------------------------------------- patterns


def all_patterns() -> list[str]:
    """Every route of the root URLconf, as written (Django's route syntax, or a regex for re_path)."""
    routes = [regex for _view, regex, _ns, _name in extract_views_from_urlpatterns(get_resolver().url_patterns)]
    return sorted(set(routes))


def params_of(route: str) -> list[tuple[str, str]]:
    """The (converter, name) of each parameter: <int:pk> → ("int", "pk"); (?P<x>…) → ("re", "x")."""
    return [(conv or "str", name) for conv, name in re.findall(r"<(?:(\w+):)?(\w+)>", route.replace("(?P<", "(?P"))] + [
        ("re", name) for name in re.findall(r"\(\?P<(\w+)>", route)
    ]


def skip_reason(route: str) -> str | None:
    return next((reason for prefix, reason in SKIPPED.items() if route.startswith(prefix)), None)


def kind_for(route: str, name: str) -> str | None:
    return next((kind for pattern, param, kind in FILLERS if param == name and pattern in route), None)


def fill(route: str, values: dict[str, str]) -> str:
    def one(match: re.Match) -> str:
        return values[match.group(2)]

    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", one, route)


def test_every_pattern_is_filled_or_skipped():
    """A new URL with a parameter needs a filler (FILLERS) or a reason to be skipped (SKIPPED)."""
    unfilled = []
    for route in all_patterns():
        if skip_reason(route):
            continue
        for _conv, name in params_of(route):
            if kind_for(route, name) is None:
                unfilled.append(f"{route} ({name})")
    assert not unfilled, "Give these parameters a filler or a reason to skip them: " + ", ".join(unfilled)
    assert len(all_patterns()) > 150, "the walk reads the whole URLconf"


def _clients(org) -> dict[str, Client]:
    users = {"agent": org.alice, "team manager": org.mike, "department manager": org.dana, "hr": org.hana,
             "director": org.dirk}
    clients = {}
    for role in ROLES:
        client = Client(raise_request_exception=True)
        if role in users:
            client.force_login(users[role])
        clients[role] = client
    return clients


def test_no_role_gets_a_200_for_anything_outside_its_view(org, settings):
    settings.DEBUG = False
    center = build_center(org)
    clients = _clients(org)
    leaks, errors, walked, opened = [], [], 0, set()
    for route in all_patterns():
        params = params_of(route)
        if not params or skip_reason(route):
            continue
        kinds = {name: kind_for(route, name) for _conv, name in params}
        # The first parameter names the object; any other is filled with the first value of its kind.
        primary, *rest = list(kinds)
        fixed = {name: center.objects[kinds[name]][0][0] for name in rest}
        # A 200 for someone who does see the object, on some pattern of each kind: the fillers name real objects.
        for value, outside in center.objects[kinds[primary]][:3]:
            if kinds[primary] in opened:
                break
            url = fill(route, {primary: value, **fixed})
            if any(clients[r].get(url).status_code == 200 for r in ROLES if r not in outside):
                opened.add(kinds[primary])
        for value, outside in center.objects[kinds[primary]]:
            url = fill(route, {primary: value, **fixed})
            for role in sorted(outside):
                status = clients[role].get(url).status_code
                walked += 1
                if status == 200:
                    leaks.append(f"{role}: GET {url}")
                elif status >= 500:
                    errors.append(f"{role}: GET {url} → {status}")
    assert not leaks, "Outside the role's view, yet 200:\n" + "\n".join(leaks)
    assert not errors, "\n".join(errors)
    assert walked > 1000, walked  # every kind has objects outside several roles' views
    assert opened == set(center.objects), set(center.objects) - opened


def test_pages_without_parameters_name_nothing_of_another_branch(org, settings):
    """Lists, dashboards, the tree, API lists: the other branch's objectives, templates and people are absent."""
    settings.DEBUG = False
    build_center(org)
    clients = _clients(org)
    leaks, shown_to_hr = [], set()
    for route in all_patterns():
        if params_of(route) or skip_reason(route) or route.startswith(("accounts/logout", "i18n/")):
            continue
        url = "/" + route + ("?period=2026-Q3" if route.endswith("tree/") else "")
        for role in ("agent", "team manager", "department manager", "hr"):
            response = clients[role].get(url)
            assert response.status_code < 500, (role, url, response.status_code)
            body = b"".join(response) if response.streaming else response.content
            text = body.decode(errors="replace")
            if role == "hr":
                shown_to_hr |= {m for m in ("WALK-OBJ-TINA", "WALK-TPL-T3", "Tina Three") if m in text}
                continue
            for code in OTHER_BRANCH[role]:
                for marker in (f"WALK-OBJ-{code}", f"WALK-TPL-{code}", NAMES.get(code)):
                    if marker and marker in text:
                        leaks.append(f"{role}: {url} shows {marker}")
    assert not leaks, "\n".join(leaks)
    # The markers are real: HR, who sees the whole center, finds each of them on some page.
    assert shown_to_hr == {"WALK-OBJ-TINA", "WALK-TPL-T3", "Tina Three"}, shown_to_hr


def test_admin_answers_no_walking_role(org):
    """The admin is for staff; none of the walking roles is staff: every admin page sends them to its login."""
    build_center(org)
    clients = _clients(org)
    for route in ("admin/", "admin/goals/objective/", "admin/reviews/appraisal/", "admin/scorecard/person/"):
        for role in ROLES:
            response = clients[role].get("/" + route)
            assert response.status_code == 302 and "/admin/login/" in response["Location"], (role, route)
