"""Root URLs: pages, the API (v1) with its schema and docs, admin, i18n."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/goals/", include("goals.api_urls")),
    path("api/v1/reviews/", include("reviews.api_urls")),
    path("api/v1/", include("scorecard.api_urls")),
    path("imports/", include("scorecard.import_urls")),
    path("goals/", include("goals.urls")),
    path("reviews/", include("reviews.urls")),
    path("", include("scorecard.page_urls")),
]
