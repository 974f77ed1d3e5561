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
