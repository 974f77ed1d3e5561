"""API v1 of the reviews app (under /api/v1/reviews/), one module per area."""

from . import closing_urls, cycle_urls

urlpatterns = cycle_urls.api_urlpatterns + closing_urls.api_urlpatterns
