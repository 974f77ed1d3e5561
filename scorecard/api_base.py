"""What every API v1 endpoint shares: its pagination, the challenge of its 401 answers, its 404 for unknown addresses.

The first two are defaults in settings.REST_FRAMEWORK (no view names them),
the third is the root URLconf's handler404. The schema class is in api_schema.
"""

from __future__ import annotations

from django.http import JsonResponse
from django.utils.translation import gettext_lazy as _
from django.views import defaults
from rest_framework import authentication, exceptions, pagination, serializers

MAX_LIMIT = 1000
# Databases hold LIMIT, OFFSET and ids in a signed 64-bit integer: anything
# larger would reach the database and fail there (a 500), so it is refused first.
MAX_OFFSET = MAX_ID = 2**63 - 1

LIMIT_INVALID = _("Give the number of results per page as a whole number from 1 (at most %(max)s are returned).")
OFFSET_INVALID = _("Give the offset as a whole number from 0 to %(max)s.")


def _whole_number(value: str) -> int | None:
    """The integer a query parameter holds ("-3", "42"), or None: "+1", " 1", "1.0", "1e3" and "" are not.

    A number longer than 19 digits (past any 64-bit integer) reads as MAX_OFFSET + 1,
    so that Python's limit on converting very long strings never comes into play.
    """
    negative = value.startswith("-")
    digits = value[1:] if negative else value
    if not (digits.isascii() and digits.isdigit()):
        return None
    number = int(digits) if len(digits) <= 19 else MAX_OFFSET + 1
    return -number if negative else number


class Pagination(pagination.LimitOffsetPagination):
    """Limit/offset pages of at most MAX_LIMIT rows.

    A larger `limit` is cut down to MAX_LIMIT (the page's `next` link goes on
    from there); a `limit` or `offset` that is not a whole number in range
    answers 400 with a message by field instead of being silently ignored.
    """

    max_limit = MAX_LIMIT

    def get_limit(self, request):
        raw = request.query_params.get(self.limit_query_param)
        if raw is None:
            return self.default_limit
        limit = _whole_number(raw)
        if limit is None or limit < 1:
            raise serializers.ValidationError({self.limit_query_param: [str(LIMIT_INVALID % {"max": MAX_LIMIT})]})
        return min(limit, self.max_limit)

    def get_offset(self, request):
        raw = request.query_params.get(self.offset_query_param)
        if raw is None:
            return 0
        offset = _whole_number(raw)
        if offset is None or not 0 <= offset <= MAX_OFFSET:
            raise serializers.ValidationError({self.offset_query_param: [str(OFFSET_INVALID % {"max": MAX_OFFSET})]})
        return offset

    def paginate_queryset(self, queryset, request, view=None):
        # Both parameters are checked before the count query, so a bad offset costs no query.
        self.get_offset(request)
        return super().paginate_queryset(queryset, request, view)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.limit_query_param:
                parameter["schema"].update(minimum=1, default=self.default_limit)
                parameter["description"] = f"Number of results per page: 1 to {MAX_LIMIT} (more is cut to {MAX_LIMIT})."
            elif parameter["name"] == self.offset_query_param:
                parameter["schema"].update(minimum=0, maximum=MAX_OFFSET, default=0)
        return parameters


def sent_by_browser(request) -> bool:
    """Whether a browser sent the request: every current browser adds Sec-Fetch-Mode (navigate, cors, same-origin…)."""
    return "HTTP_SEC_FETCH_MODE" in request.META


class SessionAuthentication(authentication.SessionAuthentication):
    """Session authentication (checked first, so a signed-in browser keeps its CSRF check) with a 401 challenge.

    DRF answers 401 only when the first authentication class names a
    challenge for the WWW-Authenticate header, else 403. A client (curl, a
    script, a report tool) is told to use basic auth. A browser is given a
    challenge it does not act on, `Session`: answering a page's fetch (or a
    visit to an API address) with `Basic` would pop the browser's own
    password dialog, and a browser that keeps basic credentials sends them
    with every request to the site, cross-site form posts included, where
    no CSRF check applies. People in a browser sign in on the login page.
    """

    def authenticate_header(self, request):
        if sent_by_browser(request):
            return 'Session realm="api"'
        return 'Basic realm="api"'


def not_found(request, exception):
    """Django's 404 handler: an API address no route matches answers as the API does, in JSON; pages as pages."""
    if request.path_info.startswith("/api/"):
        return JsonResponse({"detail": str(exceptions.NotFound.default_detail)}, status=404)
    return defaults.page_not_found(request, exception)
