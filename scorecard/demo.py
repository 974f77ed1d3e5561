"""A realistic demo center, generated as CSV and loaded through the real imports.

`manage.py load_demo` and the benchmark (tests/bench/) both use this module.
Everything is drawn from `random.Random` seeded by the seed and the day or
the person, so a day's figures are the same whichever run generates them:
a second run loads only the days that are missing (none, usually) and
changes nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import random
from dataclasses import dataclass, field
from typing import Callable

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX, make_password
from django.db.models import Q
from django.utils import timezone

from . import imports
from .models import Measurement, Person
from .periods import quarter_of

DEMO_PASSWORD = "demo-scorecard"
# The demo's password before the password validators came in (issue 11): a demo loaded with it is moved on.
OLD_DEMO_PASSWORD = "demo1234"
CENTER_CODE = "CC"
CENTER_NAME = "Shanghai Contact Center 上海客户联络中心"

# The agent-level measures of METRICS.md, one column each in the agents' file.
AGENT_MEASURES = (
    "contacts_handled",
    "handle_seconds",
    "first_contact_resolved",
    "csat_responses",
    "csat_satisfied",
    "qa_evaluations",
    "qa_points",
    "qa_max_points",
    "qa_fatal_errors",
    "scheduled_minutes",
    "adherent_minutes",
    "training_assigned",
    "training_completed",
    "esat_responses",
    "esat_satisfied",
    "sales_opportunities",
    "sales_closed",
    "cost",
)
# Queue-level figures, loaded on the team's code.
QUEUE_MEASURES = ("contacts_offered", "answered_in_sl", "abandoned")


# ------------------------------------------------------------------ the plan


@dataclass(frozen=True)
class Profile:
    """Typical figures of one kind of team (per agent and working day)."""

    contacts: float  # contacts handled per agent-day
    aht: float  # seconds
    fcr: float  # share of contacts handled
    csat: float  # share of survey answers rating 4-5
    qa: float  # share of QA points
    fatal: float  # fatal errors per evaluation
    adherence: float
    training: float  # share of assigned items completed
    esat: float
    wage: float  # cost of an agent-day, CNY
    service_level: float  # answered within 20 s, share of offered
    abandon: float  # share of offered
    conversion: float = 0.0  # sales closed per opportunity; 0: not a sales team
    opportunities: float = 0.0  # opportunities per contact handled

    def but(self, **changes) -> Profile:
        values = {**self.__dict__}
        for name, delta in changes.items():
            values[name] += delta
        return Profile(**values)


PROFILES = {
    "inbound": Profile(58, 335, 0.745, 0.865, 0.89, 0.012, 0.905, 0.93, 0.71, 205, 0.83, 0.042),
    "sales": Profile(44, 368, 0.75, 0.845, 0.875, 0.015, 0.895, 0.89, 0.68, 215, 0.80, 0.05, 0.125, 0.45),
    "complaints": Profile(38, 392, 0.69, 0.79, 0.885, 0.02, 0.91, 0.93, 0.64, 190, 0.78, 0.058),
}


@dataclass(frozen=True)
class TeamSpec:
    code: str
    name: str
    # Deltas on the department's profile: a few teams are visibly worse (or better).
    deltas: dict = field(default_factory=dict)


@dataclass(frozen=True)
class DepartmentSpec:
    code: str
    name: str
    kind: str  # a key of PROFILES
    teams: tuple[TeamSpec, ...]


DEMO_DEPARTMENTS = (
    DepartmentSpec(
        "IN",
        "Inbound Service 呼入服务部",
        "inbound",
        (
            TeamSpec("IN-01", "Inbound Team 1 呼入一组", {"fcr": 0.03, "csat": 0.03, "aht": -15}),
            TeamSpec("IN-02", "Inbound Team 2 呼入二组"),
            # Newly formed team: long calls, many call-backs.
            TeamSpec("IN-03", "Inbound Team 3 呼入三组", {"aht": 95, "fcr": -0.11, "csat": -0.05, "qa": -0.03, "contacts": -9}),
            TeamSpec("IN-04", "Inbound Team 4 呼入四组", {"adherence": 0.03}),
            TeamSpec("IN-05", "VIP Hotline 贵宾专线", {"csat": 0.04, "service_level": 0.06, "abandon": -0.025, "wage": 30}),
        ),
    ),
    DepartmentSpec(
        "SA",
        "Sales 销售部",
        "sales",
        (
            TeamSpec("SA-01", "Broadband Sales 宽带销售组", {"conversion": 0.05}),
            TeamSpec("SA-02", "Upgrade Sales 升级销售组"),
            TeamSpec("SA-03", "Retention 客户挽留组", {"conversion": -0.045, "aht": 30}),
            TeamSpec("SA-04", "Outbound Campaigns 外呼营销组", {"adherence": -0.05, "training": -0.12}),
        ),
    ),
    DepartmentSpec(
        "CO",
        "Complaints & Back Office 投诉与后台部",
        "complaints",
        (
            TeamSpec("CO-01", "Complaints Team 1 投诉一组"),
            # Understaffed queue: bad service level and abandon rate.
            TeamSpec("CO-02", "Complaints Team 2 投诉二组", {"service_level": -0.19, "abandon": 0.06, "esat": -0.12}),
            TeamSpec("CO-03", "Back Office 后台处理组", {"fcr": 0.05, "qa": 0.03, "fatal": -0.01}),
        ),
    ),
)


def generic_departments(departments: int, teams_per_department: int) -> tuple[DepartmentSpec, ...]:
    """A larger center (the benchmark's): departments cycling through the three kinds."""
    kinds = ("inbound", "sales", "complaints")
    result = []
    for d in range(1, departments + 1):
        kind = kinds[(d - 1) % len(kinds)]
        code = f"D{d}"
        teams = tuple(TeamSpec(f"{code}-T{t:02d}", f"{kind.title()} {d}.{t}") for t in range(1, teams_per_department + 1))
        result.append(DepartmentSpec(code, f"Department {d} ({kind})", kind, teams))
    return tuple(result)


SURNAMES = [
    ("王", "Wang"), ("李", "Li"), ("张", "Zhang"), ("刘", "Liu"), ("陈", "Chen"), ("杨", "Yang"),
    ("黄", "Huang"), ("赵", "Zhao"), ("吴", "Wu"), ("周", "Zhou"), ("徐", "Xu"), ("孙", "Sun"),
    ("马", "Ma"), ("朱", "Zhu"), ("胡", "Hu"), ("郭", "Guo"), ("何", "He"), ("林", "Lin"),
    ("高", "Gao"), ("罗", "Luo"), ("郑", "Zheng"), ("梁", "Liang"), ("谢", "Xie"), ("宋", "Song"),
    ("唐", "Tang"), ("许", "Xu"), ("韩", "Han"), ("冯", "Feng"), ("邓", "Deng"), ("曹", "Cao"),
    ("彭", "Peng"), ("曾", "Zeng"), ("肖", "Xiao"), ("田", "Tian"), ("董", "Dong"), ("潘", "Pan"),
    ("袁", "Yuan"), ("蒋", "Jiang"), ("蔡", "Cai"), ("余", "Yu"), ("杜", "Du"), ("叶", "Ye"),
    ("程", "Cheng"), ("魏", "Wei"), ("苏", "Su"), ("吕", "Lyu"), ("丁", "Ding"), ("沈", "Shen"),
]
GIVEN_NAMES = [
    ("芳", "Fang"), ("伟", "Wei"), ("娜", "Na"), ("敏", "Min"), ("静", "Jing"), ("丽", "Li"),
    ("强", "Qiang"), ("磊", "Lei"), ("军", "Jun"), ("洋", "Yang"), ("勇", "Yong"), ("艳", "Yan"),
    ("杰", "Jie"), ("娟", "Juan"), ("涛", "Tao"), ("明", "Ming"), ("超", "Chao"), ("秀英", "Xiuying"),
    ("霞", "Xia"), ("平", "Ping"), ("刚", "Gang"), ("桂英", "Guiying"), ("晓燕", "Xiaoyan"), ("婷", "Ting"),
    ("雪", "Xue"), ("慧", "Hui"), ("建华", "Jianhua"), ("海燕", "Haiyan"), ("志强", "Zhiqiang"), ("佳怡", "Jiayi"),
    ("子涵", "Zihan"), ("欣怡", "Xinyi"), ("宇轩", "Yuxuan"), ("浩然", "Haoran"), ("梓萱", "Zixuan"), ("一诺", "Yinuo"),
    ("思远", "Siyuan"), ("雨桐", "Yutong"), ("俊杰", "Junjie"), ("晨曦", "Chenxi"), ("文博", "Wenbo"), ("诗琪", "Shiqi"),
    ("嘉豪", "Jiahao"), ("梦瑶", "Mengyao"), ("天宇", "Tianyu"), ("晓明", "Xiaoming"), ("丹", "Dan"), ("琳", "Lin"),
    ("鹏", "Peng"), ("飞", "Fei"), ("斌", "Bin"), ("颖", "Ying"), ("倩", "Qian"), ("宁", "Ning"),
    ("凯", "Kai"), ("璐", "Lu"), ("昊", "Hao"), ("悦", "Yue"), ("思雨", "Siyu"), ("家乐", "Jiale"),
]
ENGLISH_NAMES = ["Lily", "Kevin", "Grace", "Jason", "Amy", "Eric", "Vivian", "Tony", "Cindy", "Leo", "Sunny", "Jack"]


@dataclass
class Member:
    code: str
    name: str
    email: str
    unit: str
    role: str
    manager: str = ""


@dataclass
class Agent:
    code: str
    team: str
    index: int  # position in the team: decides weekend shifts
    skill: float  # ~N(0, 1): better FCR, CSAT, QA, adherence
    speed: float  # ~N(0, 1): longer handle times
    wage: float


@dataclass
class Team:
    code: str
    profile: Profile
    kind: str
    phase: float  # of the slow wave that gives each team a trend over the quarter
    wave: float
    outage: int  # the CSAT survey tool fails on days whose ordinal % 41 equals this


@dataclass
class Plan:
    seed: int
    units: list[tuple[str, str, str]]  # code, name, parent
    people: list[Member]
    teams: dict[str, Team]
    agents: list[Agent]
    logins: list[tuple[str, str, str]]  # role label, employee code, name


def _names(rng: random.Random):
    used_emails: set[str] = set()
    while True:
        surname, surname_py = rng.choice(SURNAMES)
        given, given_py = rng.choice(GIVEN_NAMES)
        name = surname + given
        if rng.random() < 0.12:
            name = f"{rng.choice(ENGLISH_NAMES)} {surname_py} {name}"
        local = f"{given_py}.{surname_py}".lower()
        email, n = local, 1
        while email in used_emails:
            n += 1
            email = f"{local}{n}"
        used_emails.add(email)
        yield name, f"{email}@demo-cc.example.cn"


def plan_center(
    seed: int = 7,
    agents: int = 150,
    departments: tuple[DepartmentSpec, ...] = DEMO_DEPARTMENTS,
) -> Plan:
    """The org chart and the people of a center, with each agent's traits."""
    rng = random.Random(f"{seed}:people")
    names = _names(rng)
    units = [(CENTER_CODE, CENTER_NAME, "")]
    people: list[Member] = []

    def member(code: str, unit: str, role: str, manager: str = "") -> Member:
        name, email = next(names)
        m = Member(code, name, email, unit, role, manager)
        people.append(m)
        return m

    director = member("E0001", CENTER_CODE, "director")
    hr = [member("E0002", CENTER_CODE, "hr", director.code), member("E0003", CENTER_CODE, "hr", director.code)]
    all_teams = [(d, t) for d in departments for t in d.teams]
    per_team, extra = divmod(agents, len(all_teams))
    teams: dict[str, Team] = {}
    agent_list: list[Agent] = []
    dept_managers = {}
    for d_index, dept in enumerate(departments):
        units.append((dept.code, dept.name, CENTER_CODE))
        dept_managers[dept.code] = member(f"E{10 + d_index:04d}", dept.code, "manager", director.code)
    number = 1000
    for t_index, (dept, spec) in enumerate(all_teams):
        units.append((spec.code, spec.name, dept.code))
        manager = member(f"E{100 + t_index:04d}", spec.code, "manager", dept_managers[dept.code].code)
        team_rng = random.Random(f"{seed}:team:{spec.code}")
        profile = PROFILES[dept.kind].but(**spec.deltas)
        # Small differences between otherwise similar teams.
        profile = profile.but(
            fcr=team_rng.gauss(0, 0.012), csat=team_rng.gauss(0, 0.012), aht=team_rng.gauss(0, 10),
            qa=team_rng.gauss(0, 0.01), adherence=team_rng.gauss(0, 0.01), esat=team_rng.gauss(0, 0.04),
        )
        teams[spec.code] = Team(
            spec.code, profile, dept.kind, team_rng.uniform(0, 2 * math.pi), team_rng.uniform(0.3, 1.0), team_rng.randrange(41)
        )
        for i in range(per_team + (1 if t_index < extra else 0)):
            number += 1
            a = member(f"E{number:04d}", spec.code, "agent", manager.code)
            a_rng = random.Random(f"{seed}:agent:{a.code}")
            agent_list.append(
                Agent(
                    a.code,
                    spec.code,
                    i,
                    max(-2.2, min(2.2, a_rng.gauss(0, 1))),
                    max(-2.2, min(2.2, a_rng.gauss(0, 1))),
                    profile.wage * a_rng.uniform(0.9, 1.15),
                )
            )
    first_dept = departments[0]
    first_team = first_dept.teams[0].code
    by_code = {p.code: p for p in people}
    team_manager = next(p for p in people if p.unit == first_team and p.role == "manager")
    first_agent = next((p for p in people if p.unit == first_team and p.role == "agent"), None)
    logins = [
        ("Director 中心总监", director.code),
        ("HR 人力资源", hr[0].code),
        (f"Department manager 部门经理 ({first_dept.code})", dept_managers[first_dept.code].code),
        (f"Team manager 组长 ({first_team})", team_manager.code),
    ]
    if first_agent:
        logins.append((f"Agent 坐席代表 ({first_team})", first_agent.code))
    return Plan(seed, units, people, teams, agent_list, [(label, code, by_code[code].name) for label, code in logins])


# --------------------------------------------------------------------- CSV


def _csv(header, rows) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def org_csv(plan: Plan) -> str:
    return _csv(imports.ORG_COLUMNS, plan.units)


def people_csv(plan: Plan) -> str:
    return _csv(imports.PEOPLE_COLUMNS, [(p.code, p.name, p.email, p.unit, p.role, p.manager) for p in plan.people])


def _clamp(x: float, low: float = 0.0, high: float = 1.0) -> float:
    return low if x < low else high if x > high else x


def _binom(rng: random.Random, n: int, p: float) -> int:
    """A binomial draw by its normal approximation: fast, and good enough for demo figures."""
    if n <= 0 or p <= 0:
        return 0
    if p >= 1:
        return n
    k = round(n * p + rng.gauss(0, 1) * math.sqrt(n * p * (1 - p)))
    return 0 if k < 0 else n if k > n else k


# Agents' load by weekday (Monday first): Mondays are busy, weekends light.
_WEEKDAY_LOAD = (1.12, 1.05, 1.0, 0.98, 0.95, 0.8, 0.7)


def _works(agent: Agent, team: Team, day: dt.date, rng: random.Random) -> bool:
    weekday = day.weekday()
    rota = (agent.index + day.isocalendar().week) % (3 if team.kind == "inbound" else 4)
    if weekday == 5:
        return rota == 0
    if weekday == 6:
        return team.kind == "inbound" and rota == 1
    return rng.random() < 0.94  # leave, sickness, training days


def day_rows(plan: Plan, day: dt.date, *, dense: bool = False) -> tuple[list[list], list[list]]:
    """The agents' rows and the teams' queue rows of one day.

    `dense`: every agent works every day and every agent measure has a value
    (the benchmark's load); otherwise people have days off, weekends are
    lighter, non-sales teams leave the sales columns blank, the employee
    survey runs on the 20th of the month and the CSAT tool has outage days.
    """
    rng = random.Random(f"{plan.seed}:day:{day.isoformat()}")
    iso = day.isoformat()
    weekday = day.weekday()
    load = _WEEKDAY_LOAD[weekday]
    survey_day = dense or day.day == 20
    handled_by_team: dict[str, int] = {}
    agent_rows = []
    for agent in plan.agents:
        team = plan.teams[agent.team]
        p = team.profile
        works = dense or _works(agent, team, day, rng)
        row: list = [iso, agent.code] + [""] * len(AGENT_MEASURES)
        if works:
            trend = team.wave * math.sin(day.toordinal() / 45.0 + team.phase)  # -1..1, slow
            skill = agent.skill
            n = max(1, round(p.contacts * load * (1 + 0.12 * rng.gauss(0, 1))))
            aht = (p.aht + 22 * agent.speed - 8 * skill - 12 * trend) * (1 + 0.06 * rng.gauss(0, 1))
            handle = round(n * max(150.0, aht))
            fcr = _binom(rng, n, _clamp(p.fcr + 0.025 * skill + 0.02 * trend + 0.03 * rng.gauss(0, 1)))
            scheduled = 240 if rng.random() < 0.04 else 480
            adherent = round(scheduled * _clamp(p.adherence + 0.015 * skill + 0.025 * rng.gauss(0, 1)))
            evaluations = 2 if rng.random() < 0.06 else 1 if rng.random() < 0.35 else 0
            if dense:
                evaluations = max(evaluations, 1)
            qa_points = sum(round(100 * _clamp(rng.gauss(p.qa + 0.02 * skill + 0.01 * trend, 0.05))) for _ in range(evaluations))
            fatal = sum(1 for _ in range(evaluations) if rng.random() < max(0.0, p.fatal - 0.004 * skill))
            assigned = rng.choice((1, 2, 2, 3)) if weekday == 0 or dense else 0
            completed = _binom(rng, assigned, _clamp(p.training + 0.03 * skill + 0.05 * rng.gauss(0, 1)))
            cost = round(agent.wage * scheduled / 480 + 0.45 * n, 2)
            values = [n, handle, fcr, "", "", evaluations, qa_points, 100 * evaluations, fatal,
                      scheduled, adherent, assigned, completed, "", "", "", "", cost]
            if dense or day.toordinal() % 41 != team.outage:
                responses = _binom(rng, n, 0.14)
                values[3] = responses
                values[4] = _binom(rng, responses, _clamp(p.csat + 0.025 * skill + 0.02 * trend))
            if p.conversion or dense:
                opportunities = _binom(rng, n, p.opportunities or 0.05)
                values[15] = opportunities
                values[16] = _binom(rng, opportunities, _clamp((p.conversion or 0.1) + 0.02 * skill + 0.01 * trend + 0.02 * rng.gauss(0, 1)))
            row[2:] = values
            handled_by_team[agent.team] = handled_by_team.get(agent.team, 0) + n
        if survey_day:
            answers = 1 if dense else 10  # the monthly survey: ten statements
            row[2 + 13] = answers
            row[2 + 14] = _binom(rng, answers, _clamp(team.profile.esat + 0.04 * agent.skill))
        if works or survey_day:
            agent_rows.append(row)
    team_rows = []
    for code, handled in handled_by_team.items():
        team = plan.teams[code]
        p = team.profile
        trend = team.wave * math.sin(day.toordinal() / 45.0 + team.phase)
        monday = 1 if weekday == 0 else 0
        abandon = _clamp(p.abandon + 0.015 * monday - 0.006 * trend + 0.01 * rng.gauss(0, 1), 0.004, 0.4)
        offered = round(handled / (1 - abandon))
        in_sl = min(handled, round(offered * _clamp(p.service_level - 0.05 * monday + 0.02 * trend + 0.03 * rng.gauss(0, 1))))
        team_rows.append([iso, code, offered, in_sl, offered - handled])
    return agent_rows, team_rows


def measurement_csvs(plan: Plan, days: list[dt.date], *, dense: bool = False) -> tuple[str, str]:
    """The agents' file and the teams' queue file for `days`."""
    agent_rows, team_rows = [], []
    for day in days:
        a, t = day_rows(plan, day, dense=dense)
        agent_rows += a
        team_rows += t
    return (
        _csv(("date", "subject") + AGENT_MEASURES, agent_rows),
        _csv(("date", "subject") + QUEUE_MEASURES, team_rows),
    )


# -------------------------------------------------------------------- load


@dataclass
class LoadResult:
    plan: Plan
    start: dt.date
    end: dt.date
    days_loaded: int = 0
    values: int = 0
    created: int = 0


def demo_dates(days: int | None, end: dt.date | None = None) -> list[dt.date]:
    """The `days` days ending on `end` (default yesterday); with no `days`, from the first day of the
    quarter before last: the periods of both demo review cycles (the one in progress appraises last
    quarter, the closed one the quarter before) and this quarter so far."""
    end = end or timezone.localdate() - dt.timedelta(days=1)
    if days is None:
        this_quarter = quarter_of(end + dt.timedelta(days=1))[0]
        before_last = quarter_of(quarter_of(this_quarter - dt.timedelta(days=1))[0] - dt.timedelta(days=1))[0]
        days = (end - before_last).days + 1
    return [end - dt.timedelta(days=i) for i in range(days - 1, -1, -1)]


def _loaded_dates(plan: Plan, start: dt.date, end: dt.date) -> set[dt.date]:
    """Days already loaded: those with teams' queue rows, written by the last import of a day."""
    rows = Measurement.objects.filter(
        person__isnull=True, unit__code__in=list(plan.teams), date__range=(start, end)
    )
    return set(rows.values_list("date", flat=True).distinct())


def load_demo(
    *,
    seed: int = 7,
    agents: int = 150,
    days: int | None = None,
    end: dt.date | None = None,
    departments: tuple[DepartmentSpec, ...] = DEMO_DEPARTMENTS,
    reload: bool = False,
    password: str | None = DEMO_PASSWORD,
    log: Callable[[str], None] = lambda message: None,
) -> LoadResult:
    """Load (or complete) the demo center through import_org, import_people and import_measurements."""
    plan = plan_center(seed, agents, departments)
    dates = demo_dates(days, end)
    result = LoadResult(plan, dates[0], dates[-1])
    org = imports.import_org(org_csv(plan))
    people = imports.import_people(people_csv(plan))
    result.created = org.created + people.created
    log(f"Org units: {org.rows} ({org.created} new); people: {people.rows} ({people.created} new).")
    missing = dates if reload else sorted(set(dates) - _loaded_dates(plan, dates[0], dates[-1]))
    if missing:
        # A month at a time: files of a realistic size, and progress to show.
        for i in range(0, len(missing), 31):
            chunk = missing[i : i + 31]
            agent_file, team_file = measurement_csvs(plan, chunk)
            values = 0
            for file in (agent_file, team_file):
                if file.count("\n") > 1:  # a header and at least one line
                    values += imports.import_measurements(file).values
            result.values += values
            log(f"Measurements {chunk[0]} … {chunk[-1]}: {values} values.")
        result.days_loaded = len(missing)
    else:
        log(f"Measurements {dates[0]} … {dates[-1]}: already loaded.")
    if password:
        # Every demo person signs in (the printed logins are only the first of each role); one hash for all,
        # since hashing each of hundreds of people would take minutes.
        demo_people = Person.objects.filter(employee_code__in=[p.code for p in plan.people])
        unset = Q(password="") | Q(password__startswith=UNUSABLE_PASSWORD_PREFIX)
        # A demo loaded earlier shares one hash of the old password: one check finds it, and all move on.
        sample = demo_people.exclude(unset).first()
        if sample is not None and password != OLD_DEMO_PASSWORD and sample.check_password(OLD_DEMO_PASSWORD):
            unset |= Q(password=sample.password)
        demo_people.filter(unset).update(password=make_password(password))
    return result
