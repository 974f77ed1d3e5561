import datetime as dt

import factory

from scorecard.models import Measure, Measurement


class MeasurementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Measurement

    date = factory.Sequence(lambda n: dt.date(2026, 7, 1) + dt.timedelta(days=n % 90))
    value = 1.0


def put(subject, day, **values):
    """Store measurement rows for a person or a unit on one day: put(alice, "2026-07-01", fcr=…)."""
    from scorecard.models import OrgUnit

    if isinstance(day, str):
        day = dt.date.fromisoformat(day)
    measures = dict(Measure.objects.filter(code__in=values).values_list("code", "pk"))
    for code, value in values.items():
        if isinstance(subject, OrgUnit):
            Measurement.objects.update_or_create(
                person=None, unit=subject, date=day, measure_id=measures[code], defaults={"value": value}
            )
        else:
            Measurement.objects.update_or_create(
                person=subject, date=day, measure_id=measures[code], defaults={"unit_id": subject.unit_id, "value": value}
            )


# ------------------------------------------------------------------ goals and reviews
# Objects written directly in the state their services leave them; where a
# service builds more than one row (a contract's lines, a cycle's units), the
# factory calls the service.

Q3 = (dt.date(2026, 7, 1), dt.date(2026, 9, 30))


class ObjectiveFactory(factory.django.DjangoModelFactory):
    """An agreed KPI objective for a person over Q3 2026 (`milestone=True` for a milestone objective)."""

    class Meta:
        model = "goals.Objective"

    owner_person = None
    owner_unit = None
    period_start, period_end = Q3
    due_date = Q3[1]
    title = factory.Sequence(lambda n: f"Objective {n}")
    result = "Resolve more contacts at first touch"
    kind = "kpi"
    kpi = factory.LazyFunction(lambda: _kpi("fcr"))
    baseline, target, stretch = 70.0, 74.0, 78.0
    weight = 50.0
    status = "agreed"
    resources = "Coaching"
    created_by = factory.LazyAttribute(lambda o: (o.owner_person and o.owner_person.manager) or _director())

    class Params:
        milestone = factory.Trait(
            kind="milestone", kpi=None, baseline=None, target=None, stretch=None,
            completion_criterion="FAQ published", verification="Link in the knowledge base",
        )


class CheckInFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "goals.CheckIn"

    objective = factory.SubFactory(ObjectiveFactory)
    author = factory.LazyAttribute(lambda o: o.objective.owner_person)
    progress_note = "Half way there"
    progress = 50.0


class InfluencingFactorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "goals.InfluencingFactor"

    objective = factory.SubFactory(ObjectiveFactory)
    name = factory.Sequence(lambda n: f"Factor {n}")
    category = "method"
    controllable = True


class ObjectiveTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "goals.ObjectiveTemplate"

    name = factory.Sequence(lambda n: f"Standard objective {n}")
    kind = "kpi"
    title = "First-contact resolution"
    kpi = factory.LazyFunction(lambda: _kpi("fcr"))
    baseline, target, stretch = 70.0, 74.0, 78.0
    weight = 25.0
    created_by = factory.LazyFunction(lambda: _director())


class ContractFactory(factory.Factory):
    """A draft contract over the person's objectives, weighted as goals.contracts proposes, through the service."""

    class Meta:
        model = dict  # built by goals.contracts.contract_create in _create

    person = None
    user = factory.LazyAttribute(lambda o: o.person.manager)
    period_start, period_end = Q3
    objectives = ()
    support = "Weekly coaching"

    @classmethod
    def _create(cls, model_class, *, person, user, objectives, **kwargs):
        from goals import contracts

        objectives = list(objectives)
        lines = [(o, w) for o, w in zip(objectives, contracts.contract_weights(objectives))]
        return contracts.contract_create(
            user=user, person=person, objectives=lines, reward_terms=contracts.default_reward_terms(), **kwargs
        )


class ReviewCycleFactory(factory.Factory):
    """A draft review cycle over the given units, deadlines a week apart from `first_due`, through the service."""

    class Meta:
        model = dict  # built by reviews.services.cycle_create in _create

    user = None
    name = factory.Sequence(lambda n: f"Q3 2026 appraisal {n}")
    period_start, period_end = Q3
    units = ()
    weight_objectives, weight_competencies, weight_feedback = 60, 20, 20
    first_due = factory.LazyFunction(lambda: _now() + dt.timedelta(days=2))

    @classmethod
    def _create(cls, model_class, *, first_due, **kwargs):
        from reviews import services
        from reviews.models import default_scale

        week = dt.timedelta(days=7)
        return services.cycle_create(
            scale=default_scale(), self_assessment_due=first_due, feedback_due=first_due + week,
            appraisal_due=first_due + 2 * week, calibration_due=first_due + 3 * week, **kwargs,
        )


def _kpi(code):
    from scorecard.models import Kpi

    return Kpi.objects.get(code=code)


def _director():
    from scorecard.models import Person

    return Person.objects.filter(role="director").order_by("pk").first()


def _now():
    from django.utils import timezone

    return timezone.now()
