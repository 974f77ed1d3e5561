"""CSV imports of METRICS.md: org units, people, measurements.

Each import validates every line, reports each problem with its line and
column, and saves nothing from a file that has any problem.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import math
import re
from dataclasses import dataclass, field
from typing import IO, Iterable, Iterator

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import CacheVersion, Measure, Measurement, OrgUnit, Person

ORG_COLUMNS = ("code", "name", "parent")
PEOPLE_COLUMNS = ("employee_code", "name", "email", "unit", "role", "manager")
MAX_REPORTED_ERRORS = 200
# METRICS.md "Plausible values": no measurement before this day, none after tomorrow.
FIRST_DATE = dt.date(2000, 1, 1)
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CODE_RE = re.compile(r"^[A-Za-z0-9_.\-]+$")
_CHUNK = 5000


@dataclass
class LineError:
    line: int
    column: str
    message: str

    def as_dict(self) -> dict:
        return {"line": self.line, "column": self.column, "message": self.message}

    def __str__(self) -> str:
        if self.column:
            return _("line %(line)s, column %(column)s: %(message)s") % self.as_dict()
        return _("line %(line)s: %(message)s") % self.as_dict()


@dataclass
class ImportResult:
    rows: int = 0
    values: int = 0
    created: int = 0
    updated: int = 0


class ImportFailed(Exception):
    """The file has problems; nothing from it was saved."""

    def __init__(self, errors: list[LineError], total: int | None = None):
        self.errors = errors[:MAX_REPORTED_ERRORS]
        self.total = total if total is not None else len(errors)
        super().__init__("; ".join(str(e) for e in self.errors[:5]))


@dataclass
class _Errors:
    items: list[LineError] = field(default_factory=list)
    total: int = 0

    def add(self, line: int, column: str, message: str) -> None:
        self.total += 1
        if len(self.items) < MAX_REPORTED_ERRORS:
            self.items.append(LineError(line, column, message))

    def raise_if_any(self) -> None:
        if self.total:
            raise ImportFailed(self.items, self.total)


def _text_stream(source: IO | str | bytes) -> IO[str]:
    """A text stream of UTF-8 CSV; a UTF-8 BOM is accepted and dropped."""
    if isinstance(source, bytes):
        return io.StringIO(source.decode("utf-8-sig"))
    if isinstance(source, str):
        return io.StringIO(source.removeprefix("\ufeff"))
    sample = source.read(0)
    if isinstance(sample, bytes):
        return codecs.getreader("utf-8-sig")(source)
    return source


def _oversized_cell(text: str, limit: int) -> int | None:
    """The 1-based number of the first cell of `text` (CSV) longer than `limit` characters, if any."""
    column, length, quoted, i = 1, 0, False, 0
    while i < len(text):
        char = text[i]
        if quoted:
            if char == '"' and text[i + 1:i + 2] == '"':
                i += 1
            elif char == '"':
                quoted = False
                i += 1
                continue
        elif char == '"':
            quoted = True
            i += 1
            continue
        elif char == ",":
            column, length = column + 1, 0
            i += 1
            continue
        elif char in "\r\n":
            return None
        length += 1
        if length > limit:
            return column
        i += 1
    return None


def _csv_error(errors: _Errors, line: int, text: str, exc: csv.Error) -> None:
    """Report a line the csv module refused, naming the column of a cell over its size limit."""
    column = _oversized_cell(text, csv.field_size_limit())
    if column is not None:
        errors.add(line, str(column), _("The cell is longer than %(limit)s characters.") % {"limit": f"{csv.field_size_limit():,}"})
    else:
        errors.add(line, "", _("The line cannot be read as CSV: %(error)s") % {"error": exc})


class _LastLines:
    """The stream's lines, keeping those of the CSV record being read (to locate a cell csv refuses)."""

    def __init__(self, stream: IO[str]):
        self.stream = stream
        self.kept: list[str] = []

    def __iter__(self):
        return self

    def __next__(self) -> str:
        line = next(self.stream)
        self.kept.append(line)
        return line

    def text(self) -> str:
        return "".join(self.kept)


def _rows(source, errors: _Errors) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    lines = _LastLines(_text_stream(source))
    reader = csv.reader(lines)
    try:
        header = next(reader)
    except StopIteration:
        errors.add(1, "", _("The file is empty: a header row is required."))
        errors.raise_if_any()
    except UnicodeDecodeError:
        errors.add(1, "", _("The file is not UTF-8 text."))
        errors.raise_if_any()
    except csv.Error as exc:
        # A header cell over csv.field_size_limit(), or a stray NUL: the header is unusable.
        _csv_error(errors, 1, lines.text(), exc)
        errors.raise_if_any()
    header = [h.strip() for h in header]
    if header and header[0].startswith("\ufeff"):
        header[0] = header[0][1:]

    def body() -> Iterator[tuple[int, list[str]]]:
        try:
            while True:
                lines.kept.clear()
                row = next(reader)
                if not any(cell.strip() for cell in row):
                    continue
                yield reader.line_num, row
        except StopIteration:
            return
        except UnicodeDecodeError:
            errors.add(reader.line_num + 1, "", _("The file is not UTF-8 text."))
        except csv.Error as exc:
            _csv_error(errors, reader.line_num, lines.text(), exc)

    return header, body()


def _check_header(header: list[str], expected: Iterable[str], errors: _Errors) -> dict[str, int]:
    """Report the header's problems and map each known column to its index.

    Nothing is raised here: the lines are checked too, as far as the columns
    found allow, so that one upload reports the header's problems and the
    lines' together.
    """
    expected = tuple(expected)
    seen: dict[str, int] = {}
    for index, name in enumerate(header):
        if name not in expected:
            errors.add(1, name or str(index + 1), _("Unknown column “%(name)s”.") % {"name": name})
        elif name in seen:
            errors.add(1, name, _("Column “%(name)s” appears twice.") % {"name": name})
        else:
            seen[name] = index
    for name in expected:
        if name not in seen:
            errors.add(1, name, _("Required column “%(name)s” is missing.") % {"name": name})
    return seen


def _cell(row: list[str], index: int | None) -> str | None:
    """The cell's text, stripped; None when the header lacks the column (already reported)."""
    if index is None:
        return None
    return row[index].strip() if index < len(row) else ""


def _check_width(line: int, row: list[str], header: list[str], errors: _Errors) -> None:
    if len(row) > len(header):
        errors.add(line, "", _("The line has %(n)s cells but the header has %(h)s.") % {"n": len(row), "h": len(header)})


# ----------------------------------------------------------------- org units


def _compute_paths() -> None:
    """Rewrite every unit's materialised path and depth from the parent links."""
    units = list(OrgUnit.objects.only("pk", "parent_id", "path", "depth"))
    by_id = {u.pk: u for u in units}
    changed = []

    def path_of(unit: OrgUnit) -> str:
        parts = []
        node = unit
        while node is not None:
            parts.append(str(node.pk))
            node = by_id.get(node.parent_id)
        return "/" + "/".join(reversed(parts)) + "/"

    for unit in units:
        path = path_of(unit)
        depth = path.count("/") - 2
        if unit.path != path or unit.depth != depth:
            unit.path, unit.depth = path, depth
            changed.append(unit)
    OrgUnit.objects.bulk_update(changed, ["path", "depth"], batch_size=500)
    CacheVersion.bump("org")  # bulk_update sends no signal


@transaction.atomic
def import_org(source) -> ImportResult:
    """Create or update org units from `code,name,parent`."""
    errors = _Errors()
    header, body = _rows(source, errors)
    cols = _check_header(header, ORG_COLUMNS, errors)
    existing = {u.code: u for u in OrgUnit.objects.all()}
    person_codes = set(Person.objects.values_list("employee_code", flat=True))
    in_file: dict[str, tuple[int, str, str]] = {}
    for line, row in body:
        _check_width(line, row, header, errors)
        code, name, parent = (_cell(row, cols.get(c)) for c in ORG_COLUMNS)
        if code is None:
            continue  # without the code column no line can be told apart; the header's error says why
        if not code:
            errors.add(line, "code", _("The code is empty."))
            continue
        if not _CODE_RE.match(code):
            errors.add(line, "code", _("A code may hold only letters, digits, “_”, “-” and “.”."))
        if code in in_file:
            errors.add(line, "code", _("Unit %(code)s appears twice in the file (first on line %(first)s).") % {"code": code, "first": in_file[code][0]})
            continue
        if code in person_codes:
            errors.add(line, "code", _("%(code)s is already an employee code.") % {"code": code})
        if name is not None and not name:
            errors.add(line, "name", _("The name is empty."))
        in_file[code] = (line, name or "", parent or "")
    if "parent" not in cols:
        errors.raise_if_any()  # the parent column is missing: the tree cannot be checked
    # Parents and the single root, over the tree as it will be.
    ids = {u.pk: code for code, u in existing.items()}
    parent_of = {code: ids.get(u.parent_id, "") for code, u in existing.items()}
    for code, (line, _name, parent) in in_file.items():
        if parent and parent not in in_file and parent not in existing:
            errors.add(line, "parent", _("Parent unit %(parent)s is neither in the file nor already loaded.") % {"parent": parent})
        parent_of[code] = parent
    roots = sorted(code for code, parent in parent_of.items() if not parent)
    if len(roots) > 1:
        for code in roots:
            if code in in_file:
                errors.add(in_file[code][0], "parent", _("Only one unit, the center, may have no parent; roots would be: %(roots)s.") % {"roots": ", ".join(roots)})
    for code, (line, _name, _parent) in in_file.items():
        seen = {code}
        node = parent_of.get(code)
        while node:
            if node in seen:
                errors.add(line, "parent", _("Unit %(code)s would be its own ancestor (a cycle in the org tree).") % {"code": code})
                break
            seen.add(node)
            node = parent_of.get(node)
    errors.raise_if_any()

    result = ImportResult(rows=len(in_file))
    created, updated = set(), set()
    for code, (_line, name, _parent) in in_file.items():
        unit = existing.get(code)
        if unit is None:
            existing[code] = OrgUnit.objects.create(code=code, name=name)
            created.add(code)
        elif unit.name != name:
            unit.name = name
            unit.save(update_fields=["name"])
            updated.add(code)
    for code, (_line, _name, parent) in in_file.items():
        unit = existing[code]
        parent_id = existing[parent].pk if parent else None
        if unit.parent_id != parent_id:
            unit.parent_id = parent_id
            unit.save(update_fields=["parent"])
            if code not in created:
                updated.add(code)
    result.created, result.updated = len(created), len(updated)
    _compute_paths()
    return result


# -------------------------------------------------------------------- people


@transaction.atomic
def import_people(source) -> ImportResult:
    """Create or update people from `employee_code,name,email,unit,role,manager`."""
    errors = _Errors()
    header, body = _rows(source, errors)
    cols = _check_header(header, PEOPLE_COLUMNS, errors)
    units = dict(OrgUnit.objects.values_list("code", "pk"))
    existing = {p.employee_code: p for p in Person.objects.all()}
    roles = set(Person.Role.values)
    in_file: dict[str, dict] = {}
    for line, row in body:
        _check_width(line, row, header, errors)
        rec = {c: _cell(row, cols.get(c)) for c in PEOPLE_COLUMNS}
        rec["line"] = line
        code = rec["employee_code"]
        if code is None:
            continue  # without the employee_code column no line can be told apart
        if not code:
            errors.add(line, "employee_code", _("The employee code is empty."))
            continue
        if not _CODE_RE.match(code):
            errors.add(line, "employee_code", _("A code may hold only letters, digits, “_”, “-” and “.”."))
        if code in in_file:
            errors.add(line, "employee_code", _("Employee %(code)s appears twice in the file (first on line %(first)s).") % {"code": code, "first": in_file[code]["line"]})
            continue
        if code in units:
            errors.add(line, "employee_code", _("%(code)s is already an org-unit code.") % {"code": code})
        if rec["name"] is not None and not rec["name"]:
            errors.add(line, "name", _("The name is empty."))
        if rec["email"]:
            try:
                validate_email(rec["email"])
            except ValidationError:
                errors.add(line, "email", _("“%(email)s” is not an email address.") % {"email": rec["email"]})
        if rec["unit"] is not None and rec["unit"] not in units:
            errors.add(line, "unit", _("Unknown org unit “%(unit)s”.") % {"unit": rec["unit"]})
        if rec["role"] is not None and rec["role"] not in roles:
            errors.add(line, "role", _("Unknown role “%(role)s”: use agent, manager, hr or director.") % {"role": rec["role"]})
        in_file[code] = rec
    if "manager" not in cols:
        errors.raise_if_any()  # the manager column is missing: the chain of managers cannot be checked
    ids = {p.pk: code for code, p in existing.items()}
    manager_of = {code: ids.get(p.manager_id, "") for code, p in existing.items()}
    for code, rec in in_file.items():
        manager = rec["manager"]
        if manager and manager not in in_file and manager not in existing:
            errors.add(rec["line"], "manager", _("Manager %(code)s is neither in the file nor already loaded.") % {"code": manager})
        manager_of[code] = manager
    for code, rec in in_file.items():
        seen = {code}
        node = manager_of.get(code)
        while node:
            if node in seen:
                errors.add(rec["line"], "manager", _("%(code)s would be their own manager (a cycle of managers).") % {"code": code})
                break
            seen.add(node)
            node = manager_of.get(node)
    errors.raise_if_any()

    result = ImportResult(rows=len(in_file))
    created, updated = set(), set()
    for code, rec in in_file.items():
        person = existing.get(code)
        unit_id = units[rec["unit"]]
        if person is None:
            person = Person(employee_code=code, name=rec["name"], email=rec["email"], unit_id=unit_id, role=rec["role"])
            person.set_unusable_password()
            person.save()
            existing[code] = person
            created.add(code)
            continue
        wanted = {"name": rec["name"], "email": rec["email"], "role": rec["role"], "unit_id": unit_id}
        changed = [f for f, v in wanted.items() if getattr(person, f) != v]
        if changed:
            for f in changed:
                setattr(person, f, wanted[f])
            person.save(update_fields=[f.removesuffix("_id") for f in changed])
            updated.add(code)
    for code, rec in in_file.items():
        person = existing[code]
        manager_id = existing[rec["manager"]].pk if rec["manager"] else None
        if person.manager_id != manager_id:
            person.manager_id = manager_id
            person.save(update_fields=["manager"])
            if code not in created:
                updated.add(code)
    result.created, result.updated = len(created), len(updated)
    return result


# -------------------------------------------------------------- measurements

_UPSERT_PERSON = (
    "INSERT INTO scorecard_measurement (date, unit_id, person_id, measure_id, value) "
    "VALUES (%s, %s, %s, %s, %s) "
    "ON CONFLICT (person_id, date, measure_id) WHERE person_id IS NOT NULL "
    "DO UPDATE SET value = excluded.value, unit_id = excluded.unit_id"
)
_UPSERT_UNIT = (
    "INSERT INTO scorecard_measurement (date, unit_id, person_id, measure_id, value) "
    "VALUES (%s, %s, NULL, %s, %s) "
    "ON CONFLICT (unit_id, date, measure_id) WHERE person_id IS NULL "
    "DO UPDATE SET value = excluded.value"
)


def _flush(cursor, person_rows: list, unit_rows: list) -> None:
    if person_rows:
        cursor.executemany(_UPSERT_PERSON, person_rows)
        person_rows.clear()
    if unit_rows:
        cursor.executemany(_UPSERT_UNIT, unit_rows)
        unit_rows.clear()


VALUE_ABOVE_MAXIMUM = gettext_lazy(
    "%(value)s is above the maximum of %(maximum)s per row for %(measure)s: check the file, or raise the "
    "measure's maximum in the KPI library."
)
DATE_NOT_A_DATE = gettext_lazy("“%(value)s” is not a date (YYYY-MM-DD).")
DATE_TOO_EARLY = gettext_lazy("%(value)s is before %(first)s: not a plausible date.")
DATE_TOO_LATE = gettext_lazy("%(value)s is more than one day after today (%(today)s): not a plausible date.")


def _check_date(text: str, last: dt.date) -> dt.date | str:
    """The day `text` names, or the message refusing it (METRICS.md: from 2000-01-01 to tomorrow)."""
    day = None
    if _DATE_RE.match(text):
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            pass
    if day is None:
        return str(DATE_NOT_A_DATE % {"value": text[:40]})
    if day < FIRST_DATE:
        return str(DATE_TOO_EARLY % {"value": text, "first": FIRST_DATE.isoformat()})
    if day > last:
        return str(DATE_TOO_LATE % {"value": text, "today": (last - dt.timedelta(days=1)).isoformat()})
    return day


def import_measurements(source, progress=None) -> ImportResult:
    """Load `date,subject,<measure>,…`; a re-imported (date, subject, measure) replaces its value.

    Rows are written in chunks inside one transaction while the file is
    read, and the transaction is rolled back if any line has a problem:
    the whole file is checked, memory stays flat, nothing is half-saved.
    """
    errors = _Errors()
    header, body = _rows(source, errors)
    measures = {m.code: m for m in Measure.objects.only("pk", "code", "kind", "max_value")}
    measure_cols: list[tuple[int, str, int, float]] = []
    seen = set()
    for index, name in enumerate(header):
        if index == 0 and name != "date":
            errors.add(1, name or "1", _("The first column must be “date”."))
        elif index == 1 and name != "subject":
            errors.add(1, name or "2", _("The second column must be “subject”."))
        elif index > 1:
            if name in seen:
                errors.add(1, name, _("Column “%(name)s” appears twice.") % {"name": name})
            elif name not in measures:
                errors.add(1, name or str(index + 1), _("Unknown column “%(name)s”: not a measure code.") % {"name": name})
            else:
                measure_cols.append((index, name, measures[name].pk, measures[name].maximum))
            seen.add(name)
    if len(header) < 2:
        errors.add(1, "", _("The header needs “date”, “subject” and at least one measure code."))
        errors.raise_if_any()
    # Other header problems do not stop here: the lines are checked too (the first two
    # columns as date and subject, the known measure columns), and reported together.

    subjects: dict[str, tuple[int | None, int | None]] = {code: (pk, None) for code, pk in OrgUnit.objects.values_list("code", "pk")}
    for code, pk, unit_id in Person.objects.values_list("employee_code", "pk", "unit_id"):
        subjects[code] = (unit_id, pk)
    dates: dict[str, dt.date | str] = {}  # each date's text → the day, or why it is refused
    last_date = timezone.localdate() + dt.timedelta(days=1)
    result = ImportResult()
    person_rows: list[tuple] = []
    unit_rows: list[tuple] = []
    width = len(header)
    with transaction.atomic():
        # Counted inside the transaction: the rows the file adds are created, the other values it writes update.
        before = Measurement.objects.count()
        with connection.cursor() as cursor:
            for line, row in body:
                result.rows += 1
                if len(row) > width:
                    errors.add(line, "", _("The line has %(n)s cells but the header has %(h)s.") % {"n": len(row), "h": width})
                raw_date = row[0].strip() if row else ""
                day = dates.get(raw_date)
                if day is None:
                    day = dates[raw_date] = _check_date(raw_date, last_date)
                if isinstance(day, str):
                    errors.add(line, "date", day)
                    day = None
                code = row[1].strip() if len(row) > 1 else ""
                target = subjects.get(code)
                if target is None:
                    errors.add(line, "subject", _("Unknown subject “%(code)s”: not an employee or org-unit code.") % {"code": code})
                elif target[0] is None:
                    errors.add(line, "subject", _("%(code)s belongs to no org unit, so the value would count nowhere.") % {"code": code})
                    target = None
                for index, name, measure_id, maximum in measure_cols:
                    cell = row[index].strip() if index < len(row) else ""
                    if not cell:
                        continue  # blank: no data, not zero
                    try:
                        value = float(cell) if "_" not in cell else math.nan  # float() would read "1_000"
                    except ValueError:
                        value = math.nan
                    if not math.isfinite(value):  # text, "inf", "nan", or beyond a float ("1e400")
                        errors.add(line, name, _("“%(value)s” is not a number.") % {"value": cell[:40]})
                    elif value < 0:
                        errors.add(line, name, _("%(value)s is negative: measures are counts and amounts.") % {"value": cell})
                    elif value > maximum:
                        errors.add(line, name, VALUE_ABOVE_MAXIMUM % {"value": cell[:40], "maximum": _number(maximum), "measure": name})
                    elif target is not None and day is not None and not errors.total:
                        unit_id, person_id = target
                        if person_id is None:
                            unit_rows.append((day, unit_id, measure_id, value))
                        else:
                            person_rows.append((day, unit_id, person_id, measure_id, value))
                        result.values += 1
                if len(person_rows) + len(unit_rows) >= _CHUNK:
                    _flush(cursor, person_rows, unit_rows)
                    if progress:
                        progress(result)
            if not errors.total:
                _flush(cursor, person_rows, unit_rows)
        errors.raise_if_any()  # rolls the transaction back
        result.created = Measurement.objects.count() - before
        result.updated = result.values - result.created
    if result.rows == 0:
        raise ImportFailed([LineError(2, "", _("The file has a header but no data lines."))])
    return result


# ------------------------------------------------------------------- samples
# A sample file per kind, built from this installation's own codes so that it
# imports cleanly as it is: existing units and people are written as they
# stand (re-importing them changes nothing), and the measurements are the
# latest day's values of a few subjects. A fresh installation gets a small
# made-up center instead; its three samples load in order: org, people,
# measurements.

_SAMPLE_UNITS = (("CENTER", "Contact center", ""), ("D1", "Inbound", "CENTER"),
                 ("T1", "Inbound team 1", "D1"), ("T2", "Inbound team 2", "D1"))
_SAMPLE_PEOPLE = (("M001", "Wang Fang", "m001@example.com", "T1", "manager", ""),
                  ("A001", "Li Na", "a001@example.com", "T1", "agent", "M001"),
                  ("A002", "Zhang Wei", "a002@example.com", "T1", "agent", "M001"))
_SAMPLE_AGENT_VALUES = {"contacts_handled": 62, "first_contact_resolved": 47, "handle_seconds": 21700,
                        "csat_responses": 9, "csat_satisfied": 8}
_SAMPLE_TEAM_VALUES = {"contacts_offered": 410, "answered_in_sl": 338, "abandoned": 17}


def _csv_text(header: Iterable[str], rows: Iterable[Iterable]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _number(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))


def sample_org_csv() -> str:
    units = list(OrgUnit.objects.select_related("parent").order_by("depth", "code")[:200])
    if not units:
        return _csv_text(ORG_COLUMNS, _SAMPLE_UNITS)
    root = units[0]
    first = next((u for u in units if u.parent_id == root.pk), None)
    chosen = [root] + [u for u in units if u.parent_id == root.pk][:2]
    if first is not None:
        chosen += [u for u in units if u.parent_id == first.pk][:3]
    return _csv_text(ORG_COLUMNS, [(u.code, u.name, u.parent.code if u.parent else "") for u in chosen])


def _sample_team() -> OrgUnit | None:
    """A unit with agents in it, or else any unit with no unit below it."""
    team = OrgUnit.objects.filter(people__role=Person.Role.AGENT, people__is_active=True).order_by("code").first()
    return team or OrgUnit.objects.filter(children__isnull=True).order_by("code").first()


def sample_people_csv() -> str:
    team = _sample_team()
    if team is None:
        return _csv_text(PEOPLE_COLUMNS, _SAMPLE_PEOPLE)
    people = list(Person.objects.select_related("unit", "manager").filter(unit=team, is_active=True)
                  .order_by("-role", "employee_code")[:4])
    if not people:
        rows = [(code, name, email, team.code, role, manager) for code, name, email, _unit, role, manager in _SAMPLE_PEOPLE]
        return _csv_text(PEOPLE_COLUMNS, rows)
    rows = [(p.employee_code, p.name, p.email, team.code, p.role, p.manager.employee_code if p.manager else "")
            for p in people]
    return _csv_text(PEOPLE_COLUMNS, rows)


def sample_measurements_csv(today: dt.date | None = None) -> str:
    measures = dict(Measure.objects.values_list("code", "pk"))
    latest = Measurement.objects.order_by("-date").values_list("date", flat=True).first()
    if latest is not None:
        rows = list(
            Measurement.objects.filter(date=latest)
            .order_by("person_id", "unit_id", "measure__code")
            .values_list("person__employee_code", "unit__code", "measure__code", "value")[:300]
        )
        by_subject: dict[str, dict[str, float]] = {}
        for person_code, unit_code, measure_code, value in rows:
            subject = person_code or unit_code
            if subject not in by_subject and len(by_subject) == 3:
                continue
            by_subject.setdefault(subject, {})[measure_code] = value
        columns = sorted({code for values in by_subject.values() for code in values})
        lines = [[latest.isoformat(), subject] + [_number(values[c]) if c in values else "" for c in columns]
                 for subject, values in by_subject.items()]
        return _csv_text(["date", "subject", *columns], lines)
    day = (today or timezone.localdate()) - dt.timedelta(days=1)
    team = _sample_team()
    agents = []
    if team is not None:
        agents = list(Person.objects.filter(unit=team, role=Person.Role.AGENT, is_active=True)
                      .order_by("employee_code").values_list("employee_code", flat=True)[:2])
    if not agents:  # a fresh installation: the people sample's agents and team
        agents = [code for code, _name, _email, _unit, role, _manager in _SAMPLE_PEOPLE if role == "agent"]
        team_code = _SAMPLE_PEOPLE[0][3]
    else:
        team_code = team.code
    agent_values = {c: v for c, v in _SAMPLE_AGENT_VALUES.items() if c in measures}
    team_values = {c: v for c, v in _SAMPLE_TEAM_VALUES.items() if c in measures}
    columns = list(agent_values) + list(team_values)
    lines = []
    for i, code in enumerate(agents):
        lines.append([day.isoformat(), code] + [str(agent_values[c] + 3 * i) if c in agent_values else "" for c in columns])
    lines.append([day.isoformat(), team_code] + [str(team_values[c]) if c in team_values else "" for c in columns])
    return _csv_text(["date", "subject", *columns], lines)


SAMPLES = {"org": sample_org_csv, "people": sample_people_csv, "measurements": sample_measurements_csv}
