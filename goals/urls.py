"""Pages of the goals app, one module per area: objectives, cascades, check-ins, contracts."""

from . import cascade_urls, checkin_urls, contract_urls, objective_urls

urlpatterns = (
    objective_urls.urlpatterns + cascade_urls.urlpatterns + checkin_urls.urlpatterns + contract_urls.urlpatterns
)
