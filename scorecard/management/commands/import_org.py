"""Load org units from `code,name,parent` (METRICS.md, "Org units")."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from scorecard.imports import ImportFailed, import_org


class ImportCommand(BaseCommand):
    """Run one of scorecard.imports on a CSV file; every problem goes to stderr with its line and column."""

    importer = None  # set by subclasses: one of scorecard.imports.import_*

    def add_arguments(self, parser):
        parser.add_argument("file", help=_("a UTF-8 CSV file with a header row"))

    def handle(self, *args, **options):
        path = Path(options["file"])
        try:
            source = path.open("rb")
        except OSError as exc:
            raise CommandError(_("Cannot read %(file)s: %(error)s") % {"file": path, "error": exc.strerror}) from None
        try:
            with source:
                result = type(self).importer(source)
        except ImportFailed as exc:
            for error in exc.errors:
                self.stderr.write(str(error))
            if exc.total > len(exc.errors):
                self.stderr.write(
                    _("… and %(count)s more problems.") % {"count": exc.total - len(exc.errors)}
                )
            raise CommandError(
                _("%(file)s was refused (%(count)s problems): nothing from it was saved.")
                % {"file": path, "count": exc.total}
            ) from None
        self.stdout.write(
            self.style.SUCCESS(
                _("%(file)s loaded: rows %(rows)s, values %(values)s, created %(created)s, updated %(updated)s.")
                % {
                    "file": path,
                    "rows": result.rows,
                    "values": result.values,
                    "created": result.created,
                    "updated": result.updated,
                }
            )
        )


class Command(ImportCommand):
    help = "Create or update org units from a CSV file with the columns code,name,parent."
    importer = staticmethod(import_org)
