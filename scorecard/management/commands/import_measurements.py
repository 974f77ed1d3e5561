"""Load measurements from `date,subject,<measure code>,…` (METRICS.md, "Measurements")."""

from scorecard.imports import import_measurements

from .import_org import ImportCommand


class Command(ImportCommand):
    help = (
        "Load measurements from a CSV file with the columns date,subject,<measure code>,…; "
        "a re-imported (date, subject, measure) replaces its value."
    )
    importer = staticmethod(import_measurements)
