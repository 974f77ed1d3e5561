"""Check-in, reply, influencing-factor and fishbone pages and API routes (goals app)."""

from django.urls import path

from . import checkin_apis, checkin_views

urlpatterns = [
    path("objectives/<int:pk>/checkins/", checkin_views.objective_checkins_page, name="objective-checkins"),
    path("objectives/<int:pk>/checkins/new/", checkin_views.checkin_create_page, name="checkin-create"),
    path("checkins/<int:pk>/reply/", checkin_views.checkin_reply_page, name="checkin-reply"),
    path("objectives/<int:pk>/factors/", checkin_views.objective_factors_page, name="objective-factors"),
    path("factors/<int:pk>/edit/", checkin_views.factor_edit_page, name="factor-edit"),
    path("factors/<int:pk>/delete/", checkin_views.factor_delete_page, name="factor-delete"),
    path("objectives/<int:pk>/fishbone.svg", checkin_views.objective_fishbone_svg, name="objective-fishbone"),
]
api_urlpatterns = [
    path("objectives/<int:pk>/checkins/", checkin_apis.CheckInListApi.as_view(), name="api-checkin-list"),
    path("checkins/<int:pk>/reply/", checkin_apis.CheckInReplyApi.as_view(), name="api-checkin-reply"),
    path("objectives/<int:pk>/factors/", checkin_apis.FactorListApi.as_view(), name="api-factor-list"),
    path("factors/<int:pk>/", checkin_apis.FactorDetailApi.as_view(), name="api-factor-detail"),
    path("objectives/<int:pk>/fishbone.svg", checkin_apis.ObjectiveFishboneApi.as_view(), name="api-objective-fishbone"),
]
