from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScorecardConfig(AppConfig):
    name = "scorecard"
    verbose_name = _("Scorecard")

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from .models import Kpi, KpiTerm, LibraryVersion, Measure, Perspective

        def bump(sender, **kwargs):
            LibraryVersion.bump()

        for model in (Perspective, Measure, Kpi, KpiTerm):
            post_save.connect(bump, sender=model, dispatch_uid=f"library-version-{model.__name__}-save", weak=False)
            post_delete.connect(bump, sender=model, dispatch_uid=f"library-version-{model.__name__}-delete", weak=False)
