"""Cascade, cascade-tree and objective-template pages (under /goals/) and API routes (under /api/v1/goals/)."""

from django.urls import path

from . import cascade_apis, cascade_views

urlpatterns = [
    path("objectives/<int:pk>/cascade/", cascade_views.objective_cascade_page, name="objective-cascade"),
    path("tree/", cascade_views.cascade_tree_page, name="cascade-tree"),
    path("templates/", cascade_views.template_list_page, name="template-list"),
    path("templates/new/", cascade_views.template_create_page, name="template-create"),
    path("templates/<int:pk>/edit/", cascade_views.template_edit_page, name="template-edit"),
    path("templates/<int:pk>/assign/", cascade_views.template_assign_page, name="template-assign"),
]

api_urlpatterns = [
    path("objectives/<int:pk>/cascade/preview/", cascade_apis.CascadePreviewApi.as_view(), name="api-objective-cascade-preview"),
    path("objectives/<int:pk>/cascade/", cascade_apis.CascadeApplyApi.as_view(), name="api-objective-cascade"),
    path("tree/", cascade_apis.CascadeTreeApi.as_view(), name="api-cascade-tree"),
    path("templates/", cascade_apis.TemplateListApi.as_view(), name="api-template-list"),
    path("templates/<int:pk>/", cascade_apis.TemplateDetailApi.as_view(), name="api-template-detail"),
    path("templates/<int:pk>/assign/", cascade_apis.TemplateAssignApi.as_view(), name="api-template-assign"),
]
