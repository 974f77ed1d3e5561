"""Root URLs: pages, the API (v1) with its schema and docs, admin, i18n."""

from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    # For signed-in users only (SPECTACULAR_SETTINGS["SERVE_PERMISSIONS"]); the docs page sends
    # others to the login page. The split view serves Swagger UI's set-up script from a URL, not
    # inline, so the Content-Security-Policy needs no 'unsafe-inline' for scripts.
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", login_required(SpectacularSwaggerSplitView.as_view(url_name="api-schema")), name="api-docs"),
    path("api/v1/", include("scorecard.security_api_urls")),
    path("security/", include("scorecard.security_urls")),
    path("api/v1/goals/", include("goals.api_urls")),
    path("api/v1/reviews/", include("reviews.api_urls")),
    path("api/v1/", include("scorecard.api_urls")),
    path("imports/", include("scorecard.import_urls")),
    path("goals/", include("goals.urls")),
    path("reviews/", include("reviews.urls")),
    path("", include("scorecard.page_urls")),
]

# An API address that matches no route (GET /api/v1/goals/objectives/abc/) answers JSON, as the API's own 404s do.
handler404 = "scorecard.api_base.not_found"
