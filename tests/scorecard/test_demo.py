import datetime as dt

import pytest
from django.core.management import call_command

from scorecard import demo
from scorecard.models import Measurement, OrgUnit, Person

END = dt.date(2026, 3, 31)


def counts() -> tuple[int, int, int, float]:
    values = sorted(Measurement.objects.values_list("date", "unit_id", "person_id", "measure_id", "value"), key=repr)
    return OrgUnit.objects.count(), Person.objects.count(), len(values), hash(tuple(values))


@pytest.mark.django_db
def test_load_demo_builds_the_center_and_a_second_run_changes_nothing(capsys):
    call_command("load_demo", agents=24, days=10, end=END)

    center = OrgUnit.objects.get(code=demo.CENTER_CODE)
    assert center.parent is None
    assert OrgUnit.objects.filter(parent=center).count() == 3
    assert OrgUnit.objects.filter(depth=2).count() == 12
    assert Person.objects.filter(role="agent").count() == 24
    assert Person.objects.filter(role="director").count() == 1
    assert Person.objects.filter(role="hr").count() == 2
    assert Person.objects.filter(role="manager").count() == 3 + 12
    dates = set(Measurement.objects.values_list("date", flat=True))
    assert min(dates) == END - dt.timedelta(days=9) and max(dates) == END
    agent_measures = set(Measurement.objects.filter(person__role="agent").values_list("measure__code", flat=True))
    assert set(demo.AGENT_MEASURES) <= agent_measures | {"esat_responses", "esat_satisfied"}
    queue = set(Measurement.objects.filter(person__isnull=True).values_list("measure__code", flat=True))
    assert queue == set(demo.QUEUE_MEASURES)
    agent = Person.objects.get(employee_code="E1001")
    assert agent.check_password(demo.DEMO_PASSWORD)
    assert "http://127.0.0.1:" in capsys.readouterr().out

    before = counts()
    call_command("load_demo", agents=24, days=10, end=END)
    assert counts() == before
    # Even regenerating every day replaces values by the same values.
    call_command("load_demo", agents=24, days=10, end=END, reload=True)
    assert counts() == before


def test_generation_is_deterministic_per_day():
    plan = demo.plan_center(seed=3, agents=30)
    day = dt.date(2026, 2, 2)
    assert demo.day_rows(plan, day) == demo.day_rows(demo.plan_center(seed=3, agents=30), day)
    agent_file, team_file = demo.measurement_csvs(plan, [day, day + dt.timedelta(days=1)])
    assert agent_file.splitlines()[0] == ",".join(("date", "subject") + demo.AGENT_MEASURES)
    assert team_file.splitlines()[0] == "date,subject,contacts_offered,answered_in_sl,abandoned"
