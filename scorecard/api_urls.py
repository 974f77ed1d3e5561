"""API v1 routes (mounted at /api/v1/). The import routes come before the detail routes they would shadow."""

from django.urls import path

from . import apis, home

urlpatterns = [
    path("scorecards/", apis.ScorecardApi.as_view(), name="api-scorecard"),
    path("scorecards/<str:code>/ranking/", apis.RankingApi.as_view(), name="api-ranking"),
    path("org-units/", apis.OrgUnitListApi.as_view(), name="api-org-unit-list"),
    path("org-units/import/", apis.OrgUnitImportApi.as_view(), name="api-org-unit-import"),
    path("org-units/<str:code>/", apis.OrgUnitDetailApi.as_view(), name="api-org-unit-detail"),
    path("people/", apis.PersonListApi.as_view(), name="api-person-list"),
    path("people/import/", apis.PersonImportApi.as_view(), name="api-person-import"),
    path("people/<str:employee_code>/", apis.PersonDetailApi.as_view(), name="api-person-detail"),
    path("measurements/import/", apis.MeasurementImportApi.as_view(), name="api-measurement-import"),
    path("imports/", apis.ImportJobListApi.as_view(), name="api-import-list"),
    path("imports/<int:job_id>/", apis.ImportJobDetailApi.as_view(), name="api-import-detail"),
    path("perspectives/", apis.PerspectiveListApi.as_view(), name="api-perspective-list"),
    path("measures/", apis.MeasureListApi.as_view(), name="api-measure-list"),
    path("measures/<slug:code>/", apis.MeasureDetailApi.as_view(), name="api-measure-detail"),
    path("kpis/", apis.KpiListApi.as_view(), name="api-kpi-list"),
    path("kpis/<slug:code>/", apis.KpiDetailApi.as_view(), name="api-kpi-detail"),
    path("weights/", apis.WeightsApi.as_view(), name="api-weights"),
    path("todo/", home.TodoListApi.as_view(), name="api-todo-list"),
]
