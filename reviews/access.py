"""Who may see and act on an appraisal, its parts and its cycle: the core's scope (scorecard.access) applied
to reviews, in one module that the appraisal, 360 and cycle modules all import (and that imports none of them).

- see an appraisal: the appraisee, whoever sees the appraisee (scope), whoever sees the unit the
  appraisal was made in (the person may have moved since), and the appraisal's manager; 404 for anyone else;
- appraise (write the manager appraisal, the interview): the appraisal's manager, a manager whose subtree
  holds the appraisee, a director or a superuser — never the appraisee, and not HR, who run the cycle;
- arrange the 360 raters: the appraisers and HR — never the appraisee;
- see a cycle: whoever sees one of its appraisals; HR and directors see every cycle, drafts too.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from scorecard.access import scope_for
from scorecard.models import Person

from .models import Appraisal, ReviewCycle

P = Appraisal.Part


def appraisals_visible(user) -> QuerySet[Appraisal]:
    """The appraisals the user may read, as a queryset (no query until evaluated)."""
    scope = scope_for(user)
    if not scope.signed_in:
        return Appraisal.objects.none()
    return Appraisal.objects.filter(scope.owner_q(unit="unit", person="person") | Q(manager_id=user.pk))


def appraisal_visible(user, appraisal: Appraisal) -> bool:
    """The object form of appraisals_visible, for one appraisal loaded with person__unit and unit."""
    scope = scope_for(user)
    if not scope.signed_in:
        return False
    return appraisal.manager_id == user.pk or scope.sees_person(appraisal.person) or scope.sees_unit(appraisal.unit)


def cycles_visible(user) -> QuerySet[ReviewCycle]:
    scope = scope_for(user)
    if scope.is_all:
        return ReviewCycle.objects.all()
    return ReviewCycle.objects.filter(pk__in=appraisals_visible(user).values("cycle_id"))


def is_appraisee(user, appraisal: Appraisal) -> bool:
    return user.is_authenticated and appraisal.person_id == user.pk


def is_appraiser(user, appraisal: Appraisal) -> bool:
    """The appraisal's manager, a manager whose subtree holds the appraisee, or a director; never the appraisee."""
    if not user.is_authenticated or appraisal.person_id == user.pk:
        return False
    if appraisal.manager_id == user.pk:
        return True
    if user.role == Person.Role.HR and not user.is_superuser:
        return False  # HR sees every appraisal and runs the cycle; the line appraises
    return scope_for(user).sees_person(appraisal.person)


def can_arrange(user, appraisal: Appraisal) -> bool:
    """The appraisal's manager, a manager above the appraisee, a director, HR; never the appraisee."""
    if is_appraisee(user, appraisal):
        return False
    return scope_for(user).is_all or is_appraiser(user, appraisal)


def self_visible(user, appraisal: Appraisal) -> bool:
    """The self-assessment is the appraisee's draft until submitted."""
    return is_appraisee(user, appraisal) or appraisal.self_status in (P.SUBMITTED, P.NOT_SUBMITTED)


def manager_visible(user, appraisal: Appraisal) -> bool:
    """The manager appraisal is the appraisers' (and HR's) draft until submitted."""
    return (
        appraisal.manager_status in (P.SUBMITTED, P.NOT_SUBMITTED)
        or is_appraiser(user, appraisal)
        or scope_for(user).is_all
    )
