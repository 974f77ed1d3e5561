"""Issue 11, finding 6: `limit`/`offset` on every API list, and the 401 of a bad or missing login."""

import base64

import pytest
from django.urls import URLResolver, get_resolver
from rest_framework.mixins import ListModelMixin
from rest_framework.test import APIClient

from scorecard.api_base import LIMIT_INVALID, MAX_LIMIT, MAX_OFFSET, OFFSET_INVALID
from scorecard.models import OrgUnit, Person
from tests.base import PASSWORD


def _list_routes(resolver=None, prefix=""):
    """Every API route whose view is a paginated list, its path parameters left as written."""
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            yield from _list_routes(entry, prefix + str(entry.pattern))
            continue
        cls = getattr(entry.callback, "cls", None)
        route = prefix + str(entry.pattern)
        if cls and route.startswith("api/") and issubclass(cls, ListModelMixin):
            yield route


LIST_ROUTES = sorted(_list_routes())
NO_PARAMETER_ROUTES = ["/" + r for r in LIST_ROUTES if "<" not in r]


def test_the_walk_finds_the_lists():
    assert "api/v1/people/" in LIST_ROUTES
    assert "api/v1/goals/objectives/<int:pk>/checkins/" in LIST_ROUTES
    assert len(NO_PARAMETER_ROUTES) >= 9


@pytest.fixture
def hr_api(org):
    api = APIClient()
    api.force_authenticate(Person.objects.get(pk=org.hana.pk))
    return api


@pytest.mark.parametrize("url", NO_PARAMETER_ROUTES)
@pytest.mark.parametrize("limit", [str(2**63), str(2**64), "9" * 5000])
def test_a_huge_limit_is_cut_to_the_maximum_on_every_list(hr_api, url, limit):
    response = hr_api.get(url, {"limit": limit})
    assert response.status_code == 200, response.content
    assert len(response.json()["results"]) <= MAX_LIMIT


@pytest.mark.parametrize("url", NO_PARAMETER_ROUTES)
@pytest.mark.parametrize("limit", ["-1", "0", "ten", "1.5", "1e3", "", " 5", "+5", "٣"])
def test_a_limit_that_is_not_a_whole_number_from_1_is_400_on_every_list(hr_api, url, limit):
    response = hr_api.get(url, {"limit": limit})
    assert response.status_code == 400, response.content
    assert response.json() == {"limit": [str(LIMIT_INVALID % {"max": MAX_LIMIT})]}


@pytest.mark.parametrize("url", NO_PARAMETER_ROUTES)
@pytest.mark.parametrize("offset", ["-1", str(2**63), "9" * 5000, "x"])
def test_an_offset_out_of_range_is_400_on_every_list(hr_api, url, offset):
    response = hr_api.get(url, {"offset": offset})
    assert response.status_code == 400, response.content
    assert response.json() == {"offset": [str(OFFSET_INVALID % {"max": MAX_OFFSET})]}


def test_the_largest_offset_is_an_empty_page(hr_api):
    response = hr_api.get("/api/v1/people/", {"offset": str(MAX_OFFSET), "limit": str(2**63)})
    assert response.status_code == 200
    assert response.json()["results"] == []


def test_a_clamped_page_links_on_from_the_maximum(hr_api, org):
    OrgUnit.objects.bulk_create(
        OrgUnit(code=f"U{i:04}", name=f"Unit {i}", parent=org.t3, path=f"{org.t3.path}9{i:04}/", depth=org.t3.depth + 1)
        for i in range(MAX_LIMIT + 5 - OrgUnit.objects.count())
    )
    response = hr_api.get("/api/v1/org-units/", {"limit": str(10**30)})
    data = response.json()
    assert response.status_code == 200
    assert data["count"] == MAX_LIMIT + 5
    assert len(data["results"]) == MAX_LIMIT
    assert f"limit={MAX_LIMIT}" in data["next"] and f"offset={MAX_LIMIT}" in data["next"]


def test_the_schema_states_the_bounds(hr_api):
    schema = hr_api.get("/api/schema/", {"format": "json"}).json()
    params = {p["name"]: p["schema"] for p in schema["paths"]["/api/v1/people/"]["get"]["parameters"]}
    assert params["limit"]["minimum"] == 1
    assert (params["offset"]["minimum"], params["offset"]["maximum"]) == (0, MAX_OFFSET)


# ------------------------------------------------------------------ 401


def _basic(code, password):
    return "Basic " + base64.b64encode(f"{code}:{password}".encode()).decode()


def test_bad_basic_credentials_are_401_with_a_basic_challenge(org):
    response = APIClient().get("/api/v1/people/", HTTP_AUTHORIZATION=_basic("ALICE", "wrong"))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Basic realm="api"'


def test_no_credentials_are_401_with_a_basic_challenge(org):
    response = APIClient().get("/api/v1/people/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Basic realm="api"'


def test_a_browser_without_a_session_gets_a_challenge_that_pops_no_dialog(org):
    """A page's fetch (or a visit to an API address) must not open the browser's basic-auth password dialog."""
    for mode in ("cors", "same-origin", "navigate"):
        response = APIClient().get("/api/v1/people/", HTTP_SEC_FETCH_MODE=mode)
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == 'Session realm="api"'


def test_a_signed_in_browser_still_reads_and_still_needs_its_csrf_token(org):
    api = APIClient(enforce_csrf_checks=True)
    api.login(username="HANA", password=PASSWORD)
    assert api.get("/api/v1/people/", HTTP_SEC_FETCH_MODE="cors").status_code == 200
    response = api.post("/api/v1/measures/", {"code": "x", "name": "X"}, HTTP_SEC_FETCH_MODE="cors")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_good_basic_credentials_still_work(org):
    response = APIClient().get("/api/v1/people/", HTTP_AUTHORIZATION=_basic("ALICE", PASSWORD))
    assert response.status_code == 200
    assert [p["employee_code"] for p in response.json()["results"]] == ["ALICE"]


def test_a_signed_in_caller_refused_by_role_is_still_403(org):
    api = APIClient()
    api.force_authenticate(Person.objects.get(pk=org.alice.pk))
    response = api.post("/api/v1/measures/", {"code": "x", "name": "X"})
    assert response.status_code == 403



# ------------------------------------------------------------------ 404 and the schema's error answers


@pytest.mark.parametrize("url", ["/api/v1/goals/objectives/abc/", "/api/v1/no-such-endpoint/", "/api/v1/imports/-3/"])
def test_an_api_address_no_route_matches_answers_json(hr_api, url):
    response = hr_api.get(url)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


def test_a_page_address_no_route_matches_is_still_the_404_page(client, org):
    client.force_login(org.hana)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_the_schema_declares_the_error_answers_views_leave_out(hr_api):
    schema = hr_api.get("/api/schema/", {"format": "json"}).json()
    people = schema["paths"]["/api/v1/people/"]["get"]["responses"]
    assert {"200", "400", "401", "403", "404"} <= set(people)
    assert "429" not in people
    person = schema["paths"]["/api/v1/people/{employee_code}/"]["get"]["responses"]
    assert "400" not in person, "no query parameter, no body: nothing to refuse"
    token = schema["paths"]["/api/v1/reviews/feedback/token/{token}/"]["post"]["responses"]
    assert "401" not in token and "429" in token, "the customer's link needs no login and is throttled"
