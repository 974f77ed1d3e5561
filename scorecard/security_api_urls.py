"""HR's security API (mounted at /api/v1/): the audit log (read-only) and the sign-in locks."""

from django.urls import path

from . import audit_views, lock_views

urlpatterns = [
    path("audit/", audit_views.AuditEventListApi.as_view(), name="api-audit-list"),
    path("sign-in-locks/", lock_views.SignInLockListApi.as_view(), name="api-sign-in-lock-list"),
    path("sign-in-locks/unlock/", lock_views.SignInUnlockApi.as_view(), name="api-sign-in-unlock"),
]
