"""API v1 of the goals app (under /api/v1/goals/), one module per area."""

from . import cascade_urls, checkin_urls, contract_urls, objective_urls

urlpatterns = (
    objective_urls.api_urlpatterns
    + cascade_urls.api_urlpatterns
    + checkin_urls.api_urlpatterns
    + contract_urls.api_urlpatterns
)
