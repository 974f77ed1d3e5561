"""Bulk export pages and API routes (reviews app): HR exports a cycle's appraisal PDFs as one ZIP."""

from django.urls import path

from . import export_views as views

urlpatterns = [
    path("cycles/<int:pk>/export/", views.cycle_export_page, name="cycle-export"),
    path("exports/<int:pk>/progress/", views.export_progress_page, name="export-progress"),
    path("exports/<int:pk>/download/", views.export_download, name="export-download"),
]
api_urlpatterns = [
    path("cycles/<int:pk>/exports/", views.CycleExportListCreateApi.as_view(), name="api-cycle-exports"),
    path("exports/<int:pk>/", views.ExportDetailApi.as_view(), name="api-export-detail"),
    path("exports/<int:pk>/download/", views.ExportDownloadApi.as_view(), name="api-export-download"),
]
