"""HTML pages. The URL names are fixed: the navigation and other areas link to them."""

from django.urls import include, path

from . import document_views, home, views

urlpatterns = [
    path("", home.home_page, name="home"),
    path("todo/count/", home.todo_count_view, name="todo-count"),
    # Before Django's own: the reset e-mail's link is built on settings.SITE_URL, not the request's host.
    path("accounts/password_reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("scorecards/<str:code>/", views.scorecard_page, name="scorecard"),
    path("scorecards/<str:code>/ranking/", views.ranking_page, name="ranking"),
    path("scorecards/<str:code>/pdf/", document_views.scorecard_pdf_view, name="scorecard-pdf"),
    path("scorecards/<str:code>/kpis/<slug:kpi_code>/why/", views.kpi_why_page, name="kpi-why"),
    path("kpis/", views.kpi_list_page, name="kpi-list"),
    path("kpis/new/", views.kpi_create_page, name="kpi-create"),
    path("kpis/weights/", views.kpi_weights_page, name="kpi-weights"),
    path("kpis/<slug:code>/", views.kpi_detail_page, name="kpi-detail"),
    path("kpis/<slug:code>/edit/", views.kpi_edit_page, name="kpi-edit"),
    path("measures/new/", views.measure_create_page, name="measure-create"),
    path("measures/<slug:code>/edit/", views.measure_edit_page, name="measure-edit"),
    path("org/", views.org_tree_page, name="org-tree"),
]
