"""API v1 of the reviews app (under /api/v1/reviews/), one module per area."""

from . import appraisal_urls, closing_urls, cycle_urls, export_urls, feedback_urls

urlpatterns = cycle_urls.api_urlpatterns + closing_urls.api_urlpatterns + appraisal_urls.api_urlpatterns + feedback_urls.api_urlpatterns + export_urls.api_urlpatterns
