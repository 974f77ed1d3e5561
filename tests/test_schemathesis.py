"""Schemathesis against the live OpenAPI schema, as an agent and as HR: no answer may be a 5xx.

Every operation of /api/schema/ (the schema fetched signed in, as the docs
page would) is called in-process through the WSGI application with a fixed
number of generated requests: valid ones (positive) and invalid ones
(negative: wrong types, missing fields, out-of-range numbers), reads and
writes alike. Path parameters are mostly drawn from the small center built
below (generated ones too), so the operations reach real objectives,
contracts, appraisals and feedback requests and not only 404s; the test
checks that they did, so that a run refused everywhere (a broken login)
cannot pass. Each request runs in a
savepoint that is rolled back afterwards: every request sees the same
center, whatever ran before it, and the run is deterministic (Hypothesis
derandomized, no example database).

Checks: no 5xx (`not_a_server_error`), and every answer is one the schema
declares — its status code, content type, headers and body (the error
answers views leave out are declared by scorecard.api_schema). The run is
bounded: EXAMPLES requests per operation and generation mode, and a time
budget per role that fails the test (rather than letting `make test` run
on) when it is exceeded. Any failure is reported with a curl command that
reproduces it.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import time
import traceback

import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from goals import contracts
from reviews import exports
from reviews import services as review_services
from reviews.models import Appraisal, FeedbackRequest, FeedbackTemplate
from scorecard.models import Kpi
from tests.base import PASSWORD
from tests.factories import (
    CheckInFactory,
    ContractFactory,
    InfluencingFactorFactory,
    ObjectiveFactory,
    ObjectiveTemplateFactory,
    ReviewCycleFactory,
)

# Requests per operation for each generation mode: 3 valid + 2 invalid over
# ~100 operations, ~500 requests a role, ~45 s on one idle core (generating
# the requests costs more than answering them).
# SCHEMATHESIS_SCALE=10 multiplies both (and the budget) for a deeper run by hand.
SCALE = int(os.environ.get("SCHEMATHESIS_SCALE", "1"))
EXAMPLES = {GenerationMode.POSITIVE: 3 * SCALE, GenerationMode.NEGATIVE: 2 * SCALE}
# Seconds each role may take: about three times the figure on an idle core, for a loaded machine.
BUDGET = 150 * SCALE
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]


def _basic(code: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{code}:{PASSWORD}".encode()).decode()}


@pytest.fixture
def center(org):
    """Alice's objectives, check-in, factors and contract; Bob's contract signed and amended; a launched D1 cycle."""
    alice_kpi = ObjectiveFactory(owner_person=org.alice, title="Raise first-contact resolution", weight=60)
    alice_milestone = ObjectiveFactory(owner_person=org.alice, milestone=True, title="Publish the FAQ", weight=40)
    team = ObjectiveFactory(owner_person=None, owner_unit=org.t1, title="Team FCR", created_by=org.dana)
    bob_objective = ObjectiveFactory(owner_person=org.bob, weight=100)
    olga_objective = ObjectiveFactory(owner_person=org.olga, weight=100, created_by=org.dirk)
    checkin = CheckInFactory(objective=alice_kpi)
    factor = InfluencingFactorFactory(objective=alice_kpi, kpi=Kpi.objects.get(code="fcr"))
    template = ObjectiveTemplateFactory(unit=org.t1)

    alice_contract = ContractFactory(person=org.alice, objectives=[alice_kpi, alice_milestone])
    bob_contract = ContractFactory(person=org.bob, objectives=[bob_objective])
    contracts.contract_sign(user=org.bob, contract=bob_contract)
    contracts.contract_sign(user=org.mike, contract=bob_contract)
    amendment = contracts.contract_amend(user=org.mike, contract=bob_contract, reason="New product line")

    cycle = ReviewCycleFactory(user=org.hana, units=[org.d1], first_due=dt.datetime.now(dt.UTC) + dt.timedelta(days=2))
    review_services.cycle_launch(user=org.hana, cycle=cycle)
    draft_cycle = ReviewCycleFactory(user=org.hana, units=[org.d2])
    export, _ = exports.export_start(user=org.hana, cycle=cycle, unit_codes=["T1"], language="en")
    appraisals = list(Appraisal.objects.filter(cycle=cycle).order_by("person__employee_code"))
    requests = list(FeedbackRequest.objects.filter(cycle=cycle).order_by("pk"))
    return {
        "/api/v1/goals/objectives/{id}": [
            alice_kpi.pk, alice_milestone.pk, team.pk, bob_objective.pk, olga_objective.pk,
        ],
        "/api/v1/goals/checkins/{id}": [checkin.pk],
        "/api/v1/goals/factors/{id}": [factor.pk],
        "/api/v1/goals/templates/{id}": [template.pk],
        "/api/v1/goals/contracts/{id}": [alice_contract.pk, bob_contract.pk, amendment.pk],
        "/api/v1/reviews/cycles/{id}": [cycle.pk, draft_cycle.pk],
        "/api/v1/reviews/appraisals/{id}": [a.pk for a in appraisals],
        "/api/v1/reviews/feedback/requests/{id}": [r.pk for r in requests],
        "/api/v1/reviews/exports/{id}": [export.pk],
        "/api/v1/reviews/questionnaires/{id}": list(FeedbackTemplate.objects.values_list("pk", flat=True)[:2]),
        "/api/v1/kpis/{code}": ["fcr", "aht"],
        "/api/v1/measures/{code}": ["contacts_handled", "first_contact_resolved"],
        "/api/v1/org-units/{code}": ["T1", "C"],
        "/api/v1/people/{employee_code}": ["ALICE", "BOB"],
        "/api/v1/scorecards/{code}": ["T1", "D1", "ALICE"],
    }


@pytest.fixture
def wsgi_app(settings):
    """Django's WSGI application, kept inside the test's transaction.

    Django's own test client does the same: a request would otherwise close
    the connection at its end (close_old_connections), and the test's
    transaction with it.
    """
    settings.DEBUG_PROPAGATE_EXCEPTIONS = False  # an exception is answered as the 500 it would be, and checked
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    cache.clear()  # the customer link's throttle counts in the cache
    try:
        yield get_wsgi_application()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _real_path_parameters(operation, center) -> list[dict]:
    """The center's objects this operation's path can name, as path-parameter sets."""
    for prefix, values in center.items():
        if operation.path.startswith(prefix):
            name = prefix.rsplit("{", 1)[1].rstrip("}")
            return [{name: value} for value in values]
    return []


def _run_operation(operation, center, headers, failures: list[str], answered: set[str]) -> None:
    """Send the operation's requests; add failures to `failures` and the operation to `answered` on any 2xx."""
    strategies = []
    for mode, count in EXAMPLES.items():
        generated = operation.as_strategy(generation_mode=mode)
        real = [operation.as_strategy(generation_mode=mode, path_parameters=p)
                for p in _real_path_parameters(operation, center)]
        strategies.append((count, st.one_of(generated, *real) if real else generated))

    for count, strategy in strategies:
        @given(case=strategy)
        @settings(
            max_examples=count, derandomize=True, database=None, deadline=None, phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def run(case):
            with transaction.atomic():
                try:
                    response = case.call_and_validate(headers=headers, checks=CHECKS)
                    if response.status_code < 300:
                        answered.add(f"{operation.method.upper()} {operation.path}")
                finally:
                    transaction.set_rollback(True)

        try:
            run()
        except Unsatisfiable:
            pass  # no request of this mode exists (a free-text path parameter has no invalid value)
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 — every failure is reported at the end
            failures.append(f"{operation.method.upper()} {operation.path}:\n{''.join(traceback.format_exception(exc))}")


# Who calls, and how many operations at least answer them 2xx (of ~100; the rest refuse them, or got no valid body).
ROLES = {"ALICE": 30, "HANA": 45}


@pytest.mark.parametrize("who", ROLES)
def test_no_operation_answers_a_server_error_or_off_its_schema(db, center, wsgi_app, who):
    headers = _basic(who)
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", wsgi_app, headers=headers)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 60, "the schema lists every operation"

    failures: list[str] = []
    answered: set[str] = set()
    started = time.monotonic()
    for done, operation in enumerate(operations):
        elapsed = time.monotonic() - started
        if elapsed > BUDGET:
            left = ", ".join(f"{o.method.upper()} {o.path}" for o in operations[done:])
            pytest.fail(f"over the time budget ({BUDGET} s) after {done} operations; not run: {left}")
        _run_operation(operation, center, headers, failures, answered)
    assert not failures, f"{len(failures)} operations failed as {who}:\n\n" + "\n\n".join(failures)
    print(f"{who}: {len(answered)} of {len(operations)} operations answered 2xx")
    assert len(answered) >= ROLES[who], f"only {len(answered)} operations answered {who} 2xx: {sorted(answered)}"
