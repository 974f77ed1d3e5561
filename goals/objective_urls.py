"""objective pages and API routes (goals app)."""

from django.urls import path

from . import apis, views

urlpatterns = [
    path("objectives/", views.objective_list_page, name="objective-list"),
    path("objectives/new/", views.objective_create_page, name="objective-create"),
    path("objectives/smart/", views.objective_smart_fragment, name="objective-smart"),
    path("objectives/parents/", views.objective_parent_options_fragment, name="objective-parent-options"),
    path("objectives/<int:pk>/", views.objective_detail_page, name="objective-detail"),
    path("objectives/<int:pk>/edit/", views.objective_edit_page, name="objective-edit"),
    path("objectives/<int:pk>/transition/", views.objective_transition_page, name="objective-transition"),
    path("objectives/<int:pk>/revise/", views.objective_revise_page, name="objective-revise"),
]
api_urlpatterns = [
    path("objectives/", apis.ObjectiveListApi.as_view(), name="api-objective-list"),
    path("objectives/smart-check/", apis.ObjectiveSmartCheckApi.as_view(), name="api-objective-smart-check"),
    path("objectives/<int:pk>/", apis.ObjectiveDetailApi.as_view(), name="api-objective-detail"),
    path("objectives/<int:pk>/transition/", apis.ObjectiveTransitionApi.as_view(), name="api-objective-transition"),
    path("objectives/<int:pk>/revise/", apis.ObjectiveReviseApi.as_view(), name="api-objective-revise"),
]
