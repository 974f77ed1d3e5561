"""Adding KPIs and measures, changing thresholds and weights: validation and history."""

import pytest
from django.core.exceptions import ValidationError

from scorecard.models import Kpi, Measure, Perspective
from scorecard.services import kpi_create, kpi_update, measure_create, weights_update


def _new_kpi(org, **overrides):
    fields = dict(
        user=org.dirk, code="transfer_rate", name="Transfer rate", perspective=Perspective.objects.get(code="customer"),
        formula="100 × abandoned / contacts_offered", unit="%", direction="lower",
        baseline=10, typical=6, excellent=3, weight=20,
    )
    fields.update(overrides)
    return kpi_create(**fields)


def test_default_library_is_present_after_migrate(db):
    assert Kpi.objects.count() == 12
    assert Measure.objects.count() == 21
    assert [p.code for p in Perspective.objects.all()] == ["financial", "customer", "internal_process", "learning_growth"]
    fcr = Kpi.objects.get(code="fcr")
    assert (fcr.baseline, fcr.typical, fcr.excellent, fcr.direction) == (65, 72, 80, "higher")
    assert fcr.formula == "100 × first_contact_resolved / contacts_handled"
    for perspective in Perspective.objects.all():
        assert sum(k.weight for k in perspective.kpis.all()) == pytest.approx(100)
    assert sum(p.weight for p in Perspective.objects.all()) == 100


def test_new_kpi_rescales_its_siblings_and_keeps_history(org):
    kpi = _new_kpi(org)
    customer = Kpi.objects.filter(perspective__code="customer")
    assert sum(k.weight for k in customer) == pytest.approx(100)
    assert Kpi.objects.get(code="fcr").weight == pytest.approx(20)
    assert {(t.part, t.measure.code) for t in kpi.terms.all()} == {("num", "abandoned"), ("den", "contacts_offered")}
    history = Kpi.objects.get(code="fcr").history.order_by("history_date")
    assert history.last().weight == pytest.approx(20)
    assert history.last().history_user == org.dirk


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"formula": "100 × abandoned / nosuch"}, "formula"),
        ({"formula": "abandoned - contacts_offered"}, "formula"),
        ({"baseline": 3, "excellent": 10}, "typical"),  # ascending thresholds for a lower-is-better KPI
        ({"weight": 100}, "weight"),
        ({"weight": 0}, "weight"),
        ({"code": "fcr"}, "code"),
        ({"formula": "abandoned + contacts_offered", "min_sample": 20}, "min_sample"),
    ],
)
def test_bad_kpi_is_refused_with_a_field_message_and_nothing_saved(org, overrides, field):
    before = list(Kpi.objects.values_list("code", "weight"))
    with pytest.raises(ValidationError) as exc:
        _new_kpi(org, **overrides)
    assert field in exc.value.message_dict
    assert list(Kpi.objects.values_list("code", "weight")) == before


def test_threshold_change_is_validated_and_recorded(org):
    fcr = Kpi.objects.get(code="fcr")
    kpi_update(user=org.dirk, kpi=fcr, baseline=66, typical=73, excellent=81)
    fcr.refresh_from_db()
    assert (fcr.baseline, fcr.typical, fcr.excellent) == (66, 73, 81)
    latest = fcr.history.latest()
    assert latest.history_user == org.dirk and latest.baseline == 66
    with pytest.raises(ValidationError) as exc:
        kpi_update(user=org.dirk, kpi=fcr, baseline=90)
    assert "typical" in exc.value.message_dict
    fcr.refresh_from_db()
    assert fcr.baseline == 66


def test_formula_change_replaces_terms(org):
    kpi_update(user=org.dirk, kpi=Kpi.objects.get(code="aht"), formula="(handle_seconds) / (contacts_handled + abandoned)")
    aht = Kpi.objects.get(code="aht")
    assert aht.formula == "handle_seconds / (contacts_handled + abandoned)"
    assert {t.measure.code for t in aht.terms.filter(part="den")} == {"contacts_handled", "abandoned"}


def test_weights_must_sum_to_100_in_every_set(org):
    perspectives = {"financial": 40, "customer": 30, "internal_process": 20, "learning_growth": 10}
    weights_update(user=org.dirk, perspective_weights=perspectives, kpi_weights={"cost_per_contact": 70, "conversion_rate": 30})
    assert Perspective.objects.get(code="financial").weight == 40
    assert Kpi.objects.get(code="cost_per_contact").weight == 70
    assert Perspective.objects.get(code="financial").history.latest().history_user == org.dirk
    with pytest.raises(ValidationError) as exc:
        weights_update(user=org.dirk, perspective_weights={**perspectives, "financial": 50}, kpi_weights={})
    assert "perspectives" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        weights_update(user=org.dirk, perspective_weights={}, kpi_weights={"cost_per_contact": 70, "conversion_rate": 20})
    assert "financial" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        weights_update(user=org.dirk, perspective_weights={}, kpi_weights={"cost_per_contact": 100})
    assert "financial" in exc.value.message_dict
    assert Kpi.objects.get(code="cost_per_contact").weight == 70


def test_new_measure_can_be_used_in_a_new_kpi(org):
    measure_create(user=org.dirk, code="transfers", name="Transfers")
    kpi = _new_kpi(org, code="transfer_share", formula="100 × transfers / contacts_handled")
    assert kpi.factor == 100
    with pytest.raises(ValidationError):
        measure_create(user=org.dirk, code="transfers", name="Again")
