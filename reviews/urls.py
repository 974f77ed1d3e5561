"""Pages of the reviews app, one module per area."""

from . import appraisal_urls, closing_urls, cycle_urls, export_urls, feedback_urls

urlpatterns = cycle_urls.urlpatterns + closing_urls.urlpatterns + appraisal_urls.urlpatterns + feedback_urls.urlpatterns + export_urls.urlpatterns
