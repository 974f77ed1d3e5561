"""HR's security pages (mounted at /security/): the audit log and the sign-in locks."""

from django.urls import path

from . import audit_views, lock_views

urlpatterns = [
    path("audit/", audit_views.audit_log_page, name="audit-log"),
    path("locks/", lock_views.sign_in_lock_page, name="sign-in-locks"),
    path("locks/unlock/", lock_views.sign_in_unlock_page, name="sign-in-unlock"),
]
