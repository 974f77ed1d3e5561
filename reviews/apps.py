from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReviewsConfig(AppConfig):
    name = "reviews"
    verbose_name = _("Review cycles and appraisals")

    def ready(self):
        from scorecard.todos import TODO_PROVIDERS

        from .todos import reviews_todos

        if reviews_todos not in TODO_PROVIDERS:
            TODO_PROVIDERS.append(reviews_todos)
