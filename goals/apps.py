from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GoalsConfig(AppConfig):
    name = "goals"
    verbose_name = _("Objectives and contracts")

    def ready(self):
        from scorecard.selectors import OVERRIDE_PROVIDERS

        from .selectors import objective_overrides

        if objective_overrides not in OVERRIDE_PROVIDERS:
            OVERRIDE_PROVIDERS.append(objective_overrides)

        from scorecard.todos import TODO_PROVIDERS

        from .todos import goals_todos

        if goals_todos not in TODO_PROVIDERS:
            TODO_PROVIDERS.append(goals_todos)
