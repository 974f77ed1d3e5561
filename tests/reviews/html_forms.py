"""Read a page's forms as a browser does: what it would send, and what a screen reader would call each field.

The test client posts what a test writes; a browser posts every control the
page holds, in order, and Django keeps the last value of a repeated name. A
field rendered twice (its empty copy last) loses what the user typed: these
helpers post the page's own form, so such a page fails its test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

TEXT_INPUTS = {"text", "number", "date", "datetime-local", "email", "search", "tel", "url", "password", "time", ""}


@dataclass
class Control:
    tag: str  # input, textarea, select
    type: str
    name: str
    id: str
    value: str
    checked: bool = False
    aria_label: str = ""
    options: list[tuple[str, bool]] = field(default_factory=list)  # (value, selected) of a select


@dataclass
class Form:
    action: str
    method: str
    controls: list[Control] = field(default_factory=list)

    def names(self) -> list[str]:
        """Every control's name, once per element (radio buttons of one group count once)."""
        seen_radio: set[str] = set()
        names = []
        for c in self.controls:
            if c.type == "radio":
                if c.name in seen_radio:
                    continue
                seen_radio.add(c.name)
            names.append(c.name)
        return names

    def data(self, **typed) -> dict[str, list[str]]:
        """What a browser sends (successful controls in document order), after typing `typed` into the
        *first* control of each name — where a user would type. Buttons are not included."""
        typed = {k: str(v) for k, v in typed.items()}
        out: dict[str, list[str]] = {}
        used: set[str] = set()
        for c in self.controls:
            if not c.name or c.type in ("submit", "button", "reset", "image", "file"):
                continue
            value = None
            if c.type in ("checkbox", "radio"):
                if c.name in typed and c.name not in used and c.type == "radio":
                    value = typed[c.name] if c.value == typed[c.name] else None
                    if value is None:
                        continue
                elif c.checked:
                    value = c.value or "on"
                else:
                    continue
            elif c.tag == "select":
                if c.name in typed and c.name not in used:
                    value = typed[c.name]
                else:
                    chosen = [v for v, sel in c.options if sel] or [v for v, _sel in c.options[:1]]
                    for v in chosen:
                        out.setdefault(c.name, []).append(v)
                    continue
            elif c.name in typed and c.name not in used:
                value = typed[c.name]
            else:
                value = c.value
            if c.name in typed and c.type != "radio":
                used.add(c.name)
            out.setdefault(c.name, []).append(value)
        return out


class _Parser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.labels_for: set[str] = set()
        self._form: Form | None = None
        self._textarea: Control | None = None
        self._select: Control | None = None
        self._option: list | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self._form = Form(a.get("action", ""), a.get("method", "get").lower())
            self.forms.append(self._form)
        elif tag == "label" and a.get("for"):
            self.labels_for.add(a["for"])
        elif tag in ("input", "textarea", "select", "button") and self._form is not None:
            kind = a.get("type", "text" if tag == "input" else tag).lower()
            control = Control(tag, kind, a.get("name", ""), a.get("id", ""), a.get("value", ""),
                              "checked" in a, a.get("aria-label", ""))
            if tag == "button":
                return  # buttons are sent only when pressed: the test says which
            self._form.controls.append(control)
            if tag == "textarea":
                self._textarea = control
            elif tag == "select":
                self._select = control
        elif tag == "option" and self._select is not None:
            self._option = [a.get("value"), "selected" in a, ""]
            self._select.options.append(("", False))

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None
        elif tag == "option" and self._option is not None:
            self._finish_option()

    def _finish_option(self):
        value, selected, text = self._option
        self._select.options[-1] = (value if value is not None else text.strip(), selected)
        self._option = None

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea.value += data
        elif self._option is not None:
            self._option[2] += data


def parse(html: str) -> tuple[list[Form], set[str]]:
    parser = _Parser()
    parser.feed(html)
    for form in parser.forms:
        for c in form.controls:
            if c.tag == "textarea" and c.value.startswith("\n"):
                c.value = c.value[1:]  # the HTML parser's rule: a newline right after <textarea> is dropped
    return parser.forms, parser.labels_for


def form_posting_to(html: str, action: str) -> Form:
    forms = [f for f in parse(html)[0] if f.action == action]
    assert len(forms) == 1, f"{len(forms)} forms post to {action}"
    return forms[0]


def repeated_names(form: Form) -> list[str]:
    names = form.names()
    return sorted({n for n in names if names.count(n) > 1})


def unlabelled_controls(html: str) -> list[str]:
    """The names of the visible fields with neither a <label for> nor an aria-label."""
    forms, labels_for = parse(html)
    return [
        c.name for f in forms for c in f.controls
        if c.type not in ("hidden", "submit", "button") and not c.aria_label and c.id not in labels_for
    ]
