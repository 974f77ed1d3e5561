"""HTML forms of the appraisal page. They only parse; the rules live in reviews.appraisals.

Field names match the services' error keys ("o<id>_self_rating",
"c_<code>_score", "n<index>_title", …), so scorecard.forms.form_errors_from
puts each message next to its field.
"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from scorecard.models import Kpi

from .appraisals import MAX_NEXT_OBJECTIVES
from .models import Appraisal, Competency, ObjectiveRating

BLANK_DRAFT_ROWS = 3


def _text(label, rows=3, required=False, **kwargs):
    return forms.CharField(label=label, required=required, widget=forms.Textarea(attrs={"rows": rows}), **kwargs)


def _rating_field(label) -> forms.CharField:
    return forms.CharField(
        label=label, required=False, max_length=16,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 5}),
        help_text=_("0–100, or a grade of the scale."),
    )


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _fmt_score(value: float | None) -> str:
    """A score as the page shows it: one decimal at most (88.6848 → "88.7")."""
    return "" if value is None else f"{round(value, 1):g}"


def _fmt_actual(value: float | None) -> str:
    """An actual result as a person reads it: at most two decimals (75.3529 → "75.35")."""
    return "" if value is None else f"{round(value, 2):g}"


class SelfAssessmentForm(forms.Form):
    """Per objective: actual result, self-rating, comment; then the written report (书面报告)."""

    achievements = _text(_("Main achievements"), rows=5)
    difficulties = _text(_("Difficulties"))
    help_wanted = _text(_("Help and development wanted"))

    def __init__(self, *args, appraisal: Appraisal, ratings: list[ObjectiveRating], **kwargs):
        kwargs.setdefault("initial", {}).update({
            "achievements": appraisal.achievements, "difficulties": appraisal.difficulties,
            "help_wanted": appraisal.help_wanted,
        })
        super().__init__(*args, **kwargs)
        self.ratings = ratings
        for r in ratings:
            self.fields[f"o{r.objective_id}_actual"] = forms.CharField(
                label=_("Actual result"), required=False, max_length=32, initial=_fmt_actual(r.actual),
                widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 7}),
            )
            self.fields[f"o{r.objective_id}_self_rating"] = _rating_field(_("Self-rating"))
            self.fields[f"o{r.objective_id}_self_rating"].initial = _fmt(r.self_rating)
            self.fields[f"o{r.objective_id}_self_comment"] = _text(_("Comment"), rows=2, initial=r.self_comment)

    REPORT_FIELDS = ("achievements", "difficulties", "help_wanted")

    def report_fields(self):
        """The written report, below the objectives' table (each field is rendered once: a browser sends
        every input it finds, and a second empty copy of a rating would replace the one typed)."""
        return [self[n] for n in self.REPORT_FIELDS]

    def rows(self):
        return [
            {"r": r, "actual": self[f"o{r.objective_id}_actual"], "rating": self[f"o{r.objective_id}_self_rating"],
             "comment": self[f"o{r.objective_id}_self_comment"]}
            for r in self.ratings
        ]

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        objectives = {}
        for r in self.ratings:
            values = {"self_rating": data[f"o{r.objective_id}_self_rating"],
                      "self_comment": data[f"o{r.objective_id}_self_comment"]}
            # The actual as shown (rounded) and left as it was keeps its stored precision.
            if data[f"o{r.objective_id}_actual"].strip() != _fmt_actual(r.actual):
                values["actual"] = data[f"o{r.objective_id}_actual"]
            objectives[r.objective_id] = values
        return {
            "objectives": objectives,
            "achievements": data["achievements"], "difficulties": data["difficulties"],
            "help_wanted": data["help_wanted"],
        }


class ManagerAppraisalForm(forms.Form):
    """Per objective a rating (prefilled from the system score), competencies 1–5, comments."""

    manager_comments = _text(_("Manager's comments"), rows=4)

    def __init__(self, *args, appraisal: Appraisal, ratings: list[ObjectiveRating],
                 competencies: list[tuple[Competency, object]], **kwargs):
        kwargs.setdefault("initial", {})["manager_comments"] = appraisal.manager_comments
        super().__init__(*args, **kwargs)
        self.ratings = ratings
        self.competencies = competencies
        for r in ratings:
            field = _rating_field(_("Manager's rating"))
            field.initial = self._shown_rating(r)
            self.fields[f"o{r.objective_id}_manager_rating"] = field
            self.fields[f"o{r.objective_id}_manager_comment"] = _text(_("Comment"), rows=2, initial=r.manager_comment)
        choices = [("", "—")] + [(str(i), str(i)) for i in range(1, 6)]
        for c, rating in competencies:
            self.fields[f"c_{c.code}_score"] = forms.ChoiceField(
                label=_("Rating"), choices=choices, required=False, initial=str(rating.score) if rating else "",
            )
            self.fields[f"c_{c.code}_comment"] = _text(_("Comment"), rows=1, initial=rating.comment if rating else "")

    @staticmethod
    def _shown_rating(r: ObjectiveRating) -> str:
        """The rating box's prefill: the manager's rating, else the system score, as the page shows scores."""
        return _fmt_score(r.manager_rating if r.manager_rating is not None else r.system_score)

    def rows(self):
        return [
            {"r": r, "rating": self[f"o{r.objective_id}_manager_rating"],
             "comment": self[f"o{r.objective_id}_manager_comment"]}
            for r in self.ratings
        ]

    def competency_rows(self):
        return [
            {"c": c, "score": self[f"c_{c.code}_score"], "comment": self[f"c_{c.code}_comment"]}
            for c, _rating in self.competencies
        ]

    def _objective_values(self, r: ObjectiveRating) -> dict:
        data = self.cleaned_data
        values = {"manager_comment": data[f"o{r.objective_id}_manager_comment"]}
        typed = data[f"o{r.objective_id}_manager_rating"]
        # The prefill left as shown (rounded) changes nothing: an unrated objective keeps counting its precise
        # system score, a rated one keeps its rating.
        if typed.strip() != self._shown_rating(r):
            values["manager_rating"] = typed
        elif r.manager_rating is None:
            values["manager_rating"] = ""
        return values

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "objectives": {r.objective_id: self._objective_values(r) for r in self.ratings},
            "competencies": {
                c.code: {"score": data[f"c_{c.code}_score"], "comment": data[f"c_{c.code}_comment"]}
                for c, _rating in self.competencies
            },
            "manager_comments": data["manager_comments"],
        }


class InterviewForm(forms.Form):
    """The appraisal interview (面谈) and the draft objectives for the next period (rows left empty are ignored)."""

    interview_at = forms.DateTimeField(
        label=_("Interview date"), required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    interview_notes = _text(_("Interview notes"), rows=4)
    improvement_actions = _text(_("Agreed improvement actions"), rows=3)

    def __init__(self, *args, appraisal: Appraisal, **kwargs):
        initial = kwargs.setdefault("initial", {})
        initial.update({"interview_at": appraisal.interview_at, "interview_notes": appraisal.interview_notes,
                        "improvement_actions": appraisal.improvement_actions})
        super().__init__(*args, **kwargs)
        self.drafts = list(appraisal.next_objectives or [])
        count = min(len(self.drafts) + BLANK_DRAFT_ROWS, MAX_NEXT_OBJECTIVES)
        kpi_choices = [("", "—")] + [(k.code, k.label) for k in Kpi.objects.order_by("order", "code")]
        for i in range(count):
            d = self.drafts[i] if i < len(self.drafts) else {}
            self.fields[f"n{i}_title"] = forms.CharField(label=_("Title"), required=False, max_length=200,
                                                         initial=d.get("title", ""))
            self.fields[f"n{i}_kpi"] = forms.ChoiceField(label=_("KPI"), required=False, choices=kpi_choices,
                                                         initial=d.get("kpi") or "")
            for name, label in (("baseline", _("Baseline")), ("target", _("Target")), ("stretch", _("Stretch"))):
                self.fields[f"n{i}_{name}"] = forms.CharField(
                    label=label, required=False, max_length=32, initial=_fmt(d.get(name)),
                    widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 6}),
                )
            self.fields[f"n{i}_completion_criterion"] = forms.CharField(
                label=_("Completion criterion"), required=False, max_length=500, initial=d.get("completion_criterion", ""))
            self.fields[f"n{i}_verification"] = forms.CharField(
                label=_("Verification"), required=False, max_length=500, initial=d.get("verification", ""))
        self.count = count

    def draft_rows(self):
        names = ("title", "kpi", "baseline", "target", "stretch", "completion_criterion", "verification")
        return [
            {"i": i, "fields": [self[f"n{i}_{n}"] for n in names],
             "objective_id": self.drafts[i].get("objective_id") if i < len(self.drafts) else None}
            for i in range(self.count)
        ]

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        drafts = []
        self.row_of = {}  # the service's draft index → this form's row, for its error keys
        for i in range(self.count):
            row = {n: data[f"n{i}_{n}"] for n in ("title", "kpi", "baseline", "target", "stretch",
                                                  "completion_criterion", "verification")}
            if not any((v or "").strip() for v in row.values()):
                continue  # an empty row
            if i < len(self.drafts) and self.drafts[i].get("objective_id"):
                row["objective_id"] = self.drafts[i]["objective_id"]
            self.row_of[len(drafts)] = i
            drafts.append(row)
        return {
            "interview_at": data["interview_at"], "interview_notes": data["interview_notes"],
            "improvement_actions": data["improvement_actions"], "next_objectives": drafts,
        }


    def add_service_errors(self, exc) -> None:
        """Put the service's "n<index>_<field>" messages on this form's rows."""
        if not hasattr(exc, "error_dict"):
            self.add_error(None, exc)
            return
        for key, messages in exc.message_dict.items():
            if key.startswith("n") and "_" in key and key[1:key.index("_")].isdigit():
                index, field = int(key[1:key.index("_")]), key[key.index("_") + 1:]
                key = f"n{getattr(self, 'row_of', {}).get(index, index)}_{field}"
            self.add_error(key if key in self.fields else None, messages)


class AcknowledgeForm(forms.Form):
    disagreement = _text(
        _("Written disagreement (optional)"), rows=3,
        help_text=_("If you disagree with the appraisal, say so here: HR and your manager will see it."),
    )
