"""Pages of the reviews app, one module per area."""

from . import closing_urls, cycle_urls

urlpatterns = cycle_urls.urlpatterns + closing_urls.urlpatterns
