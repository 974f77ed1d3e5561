"""360 questionnaires (templates of competencies rated 1–5): HR and directors create and edit them.

A cycle freezes its questionnaire at launch (ReviewCycle.questionnaire), so
editing a template changes only cycles launched afterwards. Refusals:
PermissionDenied for who may, ValidationError by field; nothing is saved
when any rule fails.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from scorecard.access import scope_for

from .models import Competency, FeedbackTemplate, FeedbackTemplateItem
from .services import can_manage_cycles

NOT_ALLOWED = _("Only HR and directors edit the 360 questionnaires.")
NAME_REQUIRED = _("Give the questionnaire a name.")
NO_COMPETENCIES = _("Choose at least one competency.")
UNKNOWN_COMPETENCIES = _("Unknown or retired competencies: %(codes)s.")
DEFAULT_MUST_BE_ACTIVE = _("The default questionnaire must be in use.")


def questionnaires_visible(user) -> QuerySet[FeedbackTemplate]:
    """Everyone signed in may read the questionnaires (they are what raters answer); 1 query with their items."""
    if not scope_for(user).signed_in:
        return FeedbackTemplate.objects.none()
    return FeedbackTemplate.objects.prefetch_related("items__competency")


def questionnaire_get(user, pk: int) -> FeedbackTemplate:
    template = questionnaires_visible(user).filter(pk=pk).first()
    if template is None:
        raise Http404
    return template


@transaction.atomic
def questionnaire_save(
    *,
    user,
    template: FeedbackTemplate | None = None,
    name: str,
    name_zh: str = "",
    description: str = "",
    competency_codes: Sequence[str],
    is_default: bool = False,
    active: bool = True,
) -> FeedbackTemplate:
    """Create (template=None) or change a questionnaire; its competencies in the order given."""
    if not can_manage_cycles(user):
        raise PermissionDenied(NOT_ALLOWED)
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = [str(NAME_REQUIRED)]
    codes = []
    for code in competency_codes or []:
        code = str(code).strip()
        if code and code not in codes:
            codes.append(code)
    known = {c.code: c for c in Competency.objects.filter(code__in=codes, active=True)}
    if not codes:
        errors["competencies"] = [str(NO_COMPETENCIES)]
    elif unknown := [c for c in codes if c not in known]:
        errors["competencies"] = [str(UNKNOWN_COMPETENCIES % {"codes": ", ".join(unknown)})]
    if is_default and not active:
        errors["is_default"] = [str(DEFAULT_MUST_BE_ACTIVE)]
    if errors:
        raise ValidationError(errors)
    template = template if template is not None else FeedbackTemplate()
    if is_default:
        # One default: the others give it up first (the unique constraint holds at every step).
        FeedbackTemplate.objects.filter(is_default=True).exclude(pk=template.pk).update(is_default=False)
    template.name, template.name_zh, template.description = name, (name_zh or "").strip(), (description or "").strip()
    template.is_default, template.active = is_default, active
    template.save()
    FeedbackTemplateItem.objects.filter(template=template).delete()
    FeedbackTemplateItem.objects.bulk_create([
        FeedbackTemplateItem(template=template, competency=known[code], order=i) for i, code in enumerate(codes)
    ])
    return template
