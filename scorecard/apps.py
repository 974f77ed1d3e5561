from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

# Saves that touch only these fields leave cached subjects valid (a login
# writes last_login on every sign-in).
_ORG_NEUTRAL_FIELDS = {"last_login", "password"}


class ScorecardConfig(AppConfig):
    name = "scorecard"
    verbose_name = _("Scorecard")

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from .models import CacheVersion, Kpi, KpiTerm, Measure, OrgUnit, Person, Perspective
        from .security import connect_receivers

        connect_receivers()  # the audit of sign-ins, password and role changes (issue 11)

        def library_changed(sender, **kwargs):
            CacheVersion.bump("library")

        def org_changed(sender, update_fields=None, **kwargs):
            if update_fields is not None and set(update_fields) <= _ORG_NEUTRAL_FIELDS:
                return
            CacheVersion.bump("org")

        for model in (Perspective, Measure, Kpi, KpiTerm):
            uid = f"cache-version-{model.__name__}"
            post_save.connect(library_changed, sender=model, dispatch_uid=f"{uid}-save", weak=False)
            post_delete.connect(library_changed, sender=model, dispatch_uid=f"{uid}-delete", weak=False)
        for model in (OrgUnit, Person):
            uid = f"cache-version-{model.__name__}"
            post_save.connect(org_changed, sender=model, dispatch_uid=f"{uid}-save", weak=False)
            post_delete.connect(org_changed, sender=model, dispatch_uid=f"{uid}-delete", weak=False)
