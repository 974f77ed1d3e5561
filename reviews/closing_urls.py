"""Closing pages and API routes (reviews app): HR's Close button and the close's progress."""

from django.urls import path

from . import closing_views

urlpatterns = [
    path("cycles/<int:pk>/close/", closing_views.cycle_close_page, name="cycle-close"),
    path("cycles/<int:pk>/close/progress/", closing_views.cycle_close_progress_page, name="cycle-close-progress"),
]
api_urlpatterns = [
    path("cycles/<int:pk>/close/", closing_views.CycleCloseApi.as_view(), name="api-cycle-close"),
    path(
        "cycles/<int:pk>/close/progress/",
        closing_views.CycleCloseProgressApi.as_view(),
        name="api-cycle-close-progress",
    ),
]
