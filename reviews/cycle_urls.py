"""Cycle pages and API routes (reviews app): list, create, edit, launch, the cycle page and its appraisals."""

from django.urls import path

from . import apis, calibration_views, views

urlpatterns = [
    path("cycles/", views.cycle_list_page, name="cycle-list"),
    path("cycles/new/", views.cycle_create_page, name="cycle-create"),
    path("cycles/<int:pk>/", views.cycle_detail_page, name="cycle-detail"),
    path("cycles/<int:pk>/edit/", views.cycle_edit_page, name="cycle-edit"),
    path("cycles/<int:pk>/launch/", views.cycle_launch_page, name="cycle-launch"),
    path("cycles/<int:pk>/remind-late/", views.cycle_remind_late_page, name="cycle-remind-late"),
    path("cycles/<int:pk>/appraisals/", views.cycle_appraisals_page, name="appraisal-list"),
    path("cycles/<int:pk>/calibration/", calibration_views.cycle_calibration_page, name="cycle-calibration"),
]
api_urlpatterns = [
    path("cycles/", apis.CycleListCreateApi.as_view(), name="api-cycle-list"),
    path("cycles/<int:pk>/", apis.CycleDetailApi.as_view(), name="api-cycle-detail"),
    path("cycles/<int:pk>/launch/", apis.CycleLaunchApi.as_view(), name="api-cycle-launch"),
    path("cycles/<int:pk>/completion/", apis.CycleCompletionApi.as_view(), name="api-cycle-completion"),
    path("cycles/<int:pk>/remind-late/", apis.CycleRemindLateApi.as_view(), name="api-cycle-remind-late"),
    path("cycles/<int:pk>/appraisals/", apis.CycleAppraisalListApi.as_view(), name="api-cycle-appraisals"),
    path("cycles/<int:pk>/calibration/", calibration_views.CycleCalibrationApi.as_view(), name="api-cycle-calibration"),
    path(
        "appraisals/<int:pk>/calibrate/", calibration_views.AppraisalCalibrateApi.as_view(),
        name="api-appraisal-calibrate",
    ),
]
