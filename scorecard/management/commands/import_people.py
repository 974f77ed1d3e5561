"""Load people from `employee_code,name,email,unit,role,manager` (METRICS.md, "People")."""

from scorecard.imports import import_people

from .import_org import ImportCommand


class Command(ImportCommand):
    help = "Create or update people from a CSV file with the columns employee_code,name,email,unit,role,manager."
    importer = staticmethod(import_people)
