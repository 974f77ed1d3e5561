"""The size limit of imported files (settings.IMPORT_MAX_UPLOAD_MB), checked before the body is read.

A request to an import URL that declares a larger body is answered 413 by
UploadLimitMiddleware before anything reads it (the CSRF check would parse a
multipart body in full, to disk, before the view ran). A body that declares
no length, or lies about it, is cut off while it streams (the API's CSV
parser) or refused after parsing (the page's form), with the same message.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, resolve
from django.utils.translation import gettext_lazy as _

UPLOAD_TOO_LARGE = _(
    "The file is too large: an import takes at most %(limit)s MB. Split it into smaller files "
    "(by dates, for example) and import them one after another."
)
REQUEST_TOO_LARGE = _("The request is too large.")

# The routes that take an import file: the upload page and the three import APIs (api_urls.py).
IMPORT_PAGE = "import-create"
IMPORT_APIS = frozenset({"api-org-unit-import", "api-person-import", "api-measurement-import"})


def upload_limit_bytes() -> int:
    return settings.IMPORT_MAX_UPLOAD_MB * 1024 * 1024


def too_large_message() -> str:
    return str(UPLOAD_TOO_LARGE % {"limit": settings.IMPORT_MAX_UPLOAD_MB})


def declared_length(request: HttpRequest) -> int:
    """The body's length as the client declared it; 0 if it did not (or not as a number)."""
    try:
        return max(0, int(request.META.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0


def declares_too_much(request: HttpRequest) -> bool:
    """True if the body is declared larger than the limit (multipart framing aside: a few KB of slack)."""
    return declared_length(request) > upload_limit_bytes() + 64 * 1024


class UploadLimitMiddleware:
    """Answer 413 to an import whose declared body is over the limit, without reading it.

    Placed after the authentication and messages middleware (the page is
    rendered for the signed-in importer); it acts before any view-phase
    middleware, CSRF's included, touches the body.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and declares_too_much(request):
            try:
                name = resolve(request.path_info).url_name
            except Resolver404:
                name = None
            if name in IMPORT_APIS:
                return JsonResponse({"detail": too_large_message()}, status=413)
            if name == IMPORT_PAGE:
                from .import_views import import_too_large_page  # the views import this module

                return import_too_large_page(request)
        return self.get_response(request)
