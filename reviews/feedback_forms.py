"""HTML forms of the 360 feedback pages. They only parse; the rules live in reviews.feedback and reviews.questionnaires.

Field names match the services' error keys ("<code>_score", "<code>_comment",
"comment"; "relationship", "rater", "external_name", "external_email";
"name", "is_default"), so scorecard.forms.form_errors_from puts each message
next to its field.
"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from goals.forms import owner_code_of
from scorecard.forms import form_errors_from

from .feedback import ADDABLE, NOMINABLE, question_description, question_label
from .models import Competency, FeedbackRequest, FeedbackTemplate

R = FeedbackRequest.Relationship

# The meaning of each rating, shown above the choices (the same 1–5 as the manager's competency ratings).
SCALE = [
    (1, _("Needs improvement")),
    (2, _("Below expectations")),
    (3, _("Meets expectations")),
    (4, _("Exceeds expectations")),
    (5, _("Outstanding")),
]


COMMENT_PLACEHOLDER = _("Comment (optional)")


def _text(label, rows=2):
    return forms.CharField(label=label, required=False, widget=forms.Textarea(attrs={"rows": rows}))


class FeedbackAnswerForm(forms.Form):
    """The cycle's questionnaire: per competency a rating 1–5 and a comment, then an overall comment.

    The rating is parsed as text: whether it is a whole number from 1 to 5
    (and present when submitting) is the service's rule and message.
    """

    comment = _text(_("Overall comment"), rows=4)

    def __init__(self, *args, questionnaire: list[dict], draft: dict | None = None, **kwargs):
        draft = draft or {}
        answers = draft.get("answers") or {}
        initial = kwargs.setdefault("initial", {})
        initial["comment"] = draft.get("comment", "")
        super().__init__(*args, **kwargs)
        self.questionnaire = questionnaire
        choices = [(str(value), str(value)) for value, _label in SCALE]
        for q in questionnaire:
            code, given = q["code"], answers.get(q["code"]) or {}
            self.fields[f"{code}_score"] = forms.CharField(
                label=_("Rating of %(competency)s") % {"competency": question_label(q)}, required=False,
                widget=forms.RadioSelect(choices=choices),
                initial=str(given["score"]) if given.get("score") is not None else "",
            )
            self.fields[f"{code}_comment"] = _text(
                _("Comment on %(competency)s") % {"competency": question_label(q)}
            )
            self.fields[f"{code}_comment"].initial = given.get("comment", "")
            # Its label is for screen readers (the table's column says it); on a phone the box needs a word of its own.
            self.fields[f"{code}_comment"].widget.attrs["placeholder"] = COMMENT_PLACEHOLDER
        # Comment last: after the questions, in the order the page shows them.
        self.order_fields([f for f in self.fields if f != "comment"] + ["comment"])

    def rows(self) -> list[dict]:
        return [
            {"q": q, "label": question_label(q), "description": question_description(q),
             "score": self[f"{q['code']}_score"], "comment": self[f"{q['code']}_comment"]}
            for q in self.questionnaire
        ]

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "answers": {
                q["code"]: {"score": data[f"{q['code']}_score"] or None, "comment": data[f"{q['code']}_comment"]}
                for q in self.questionnaire
            },
            "comment": data["comment"],
        }

    def add_service_errors(self, exc) -> None:
        form_errors_from(self, exc)


class RaterForm(forms.Form):
    """Ask someone for feedback: a colleague by employee code, or a customer by name (and email)."""

    relationship = forms.ChoiceField(label=_("Relationship"))
    rater = forms.CharField(
        label=_("Colleague"), required=False, max_length=250,
        help_text=_("For a colleague: start typing a name or an employee code and pick from the list."),
        widget=forms.TextInput(attrs={"list": "rater-options", "autocomplete": "off", "data-unless": "customer"}),
    )
    # data-when / data-unless: static/scorecard.js shows only the fields of the relationship chosen
    # (all are shown without scripts; the service ignores those that do not apply).
    external_name = forms.CharField(
        label=_("Customer's name"), required=False, max_length=200,
        widget=forms.TextInput(attrs={"data-when": "customer"}),
    )
    external_email = forms.CharField(
        label=_("Customer's email"), required=False, max_length=254,
        help_text=_("Required for a customer, outside the company: their personal link is sent there, and only there."),
        widget=forms.EmailInput(attrs={"data-when": "customer"}),
    )

    def __init__(self, *args, arranger: bool, **kwargs):
        super().__init__(*args, **kwargs)
        allowed = ADDABLE if arranger else NOMINABLE
        self.fields["relationship"].choices = [(r, R(r).label) for r in allowed]
        self.fields["relationship"].initial = R.PEER

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            # The picker fills "name (code)"; a bare code typed in works too.
            "relationship": data["relationship"], "rater_code": owner_code_of(data["rater"]),
            "external_name": data["external_name"], "external_email": data["external_email"],
        }

    def add_service_errors(self, exc) -> None:
        form_errors_from(self, exc)


class QuestionnaireForm(forms.Form):
    """A 360 questionnaire: names, description, and which competencies in which order (checkbox + order number)."""

    name = forms.CharField(label=_("Name"), max_length=200, required=False)
    name_zh = forms.CharField(label=_("Name (Chinese)"), max_length=200, required=False)
    description = _text(_("Description"), rows=3)
    is_default = forms.BooleanField(
        label=_("Default for new cycles"), required=False,
        help_text=_("Cycles that do not choose a questionnaire use this one when they are launched."),
    )
    active = forms.BooleanField(label=_("In use"), required=False, initial=True,
                                help_text=_("A questionnaire not in use cannot be chosen for a cycle."))

    def __init__(self, *args, template: FeedbackTemplate | None = None, competencies: list[Competency], **kwargs):
        initial = kwargs.setdefault("initial", {})
        chosen: dict[int, int] = {}
        if template is not None:
            initial.update(name=template.name, name_zh=template.name_zh, description=template.description,
                           is_default=template.is_default, active=template.active)
            chosen = {item.competency_id: i + 1 for i, item in enumerate(template.items.all())}
        super().__init__(*args, **kwargs)
        self.competencies = competencies
        self.competency_errors: list[str] = []
        for c in competencies:
            self.fields[f"use_{c.code}"] = forms.BooleanField(
                label=_("Ask about %(competency)s") % {"competency": c.label}, required=False,
                initial=c.pk in chosen,
            )
            self.fields[f"order_{c.code}"] = forms.IntegerField(
                label=_("Order of %(competency)s") % {"competency": c.label}, required=False,
                initial=chosen.get(c.pk), widget=forms.NumberInput(attrs={"size": 3, "class": "order"}),
            )

    def head_fields(self):
        return [self[n] for n in ("name", "name_zh", "description")]

    def flag_fields(self):
        return [self[n] for n in ("is_default", "active")]

    def competency_rows(self) -> list[dict]:
        return [{"c": c, "use": self[f"use_{c.code}"], "order": self[f"order_{c.code}"]} for c in self.competencies]

    def competency_codes(self) -> list[str]:
        """The ticked competencies by their order number (blank last), then as listed."""
        data = self.cleaned_data
        ticked = [(i, c) for i, c in enumerate(self.competencies) if data.get(f"use_{c.code}")]
        ticked.sort(key=lambda t: (data.get(f"order_{t[1].code}") is None, data.get(f"order_{t[1].code}") or 0, t[0]))
        return [c.code for _i, c in ticked]

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "name": data["name"], "name_zh": data["name_zh"], "description": data["description"],
            "competency_codes": self.competency_codes(), "is_default": data["is_default"], "active": data["active"],
        }

    def add_service_errors(self, exc) -> None:
        """The competencies' messages go next to the competency table, the others by field."""
        if not hasattr(exc, "error_dict"):
            self.add_error(None, exc)
            return
        for key, messages in exc.message_dict.items():
            if key == "competencies":
                self.competency_errors.extend(messages)
            else:
                self.add_error(key if key in self.fields else None, messages)
