from django.urls import path

from . import import_views

urlpatterns = [
    path("", import_views.import_list, name="import-list"),
    path("new/", import_views.import_create, name="import-create"),
    path("<int:job_id>/", import_views.import_detail, name="import-detail"),
    path("samples/<slug:kind>.csv", import_views.import_sample, name="import-sample"),
]
