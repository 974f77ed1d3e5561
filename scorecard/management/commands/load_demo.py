"""Load the demo center: org, people and the measurements of the last two quarters and this one so far,
through the real imports."""

import datetime as dt
import os
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from scorecard import demo
from goals.demo import load_goals_demo
from reviews.demo import load_reviews_demo
from scorecard.imports import ImportFailed


class Command(BaseCommand):
    # A data command: it needs the models, not every URL and page being in order.
    requires_system_checks = []
    help = (
        "Load a realistic demo contact center (3 departments, 12 teams, ~150 agents, daily figures from the "
        "first day of the quarter before last to yesterday, the periods of its two review cycles). "
        "Running it again loads only missing days and changes nothing else."
    )

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=7, help="Random seed (default 7).")
        parser.add_argument("--agents", type=int, default=150, help="Number of agents (default 150).")
        parser.add_argument(
            "--days", type=int, default=None,
            help="Days of measurements (default: from the first day of the quarter before last).",
        )
        parser.add_argument("--end", type=dt.date.fromisoformat, help="Last day, YYYY-MM-DD (default yesterday).")
        parser.add_argument("--reload", action="store_true", help="Regenerate and re-import every day.")
        parser.add_argument("--password", default=demo.DEMO_PASSWORD, help="Password of the demo logins.")

    def handle(self, *args, seed, agents, days, end, reload, password, verbosity, **options):
        if agents < 1 or (days is not None and days < 1):
            raise CommandError("--agents and --days must be at least 1.")
        started = time.perf_counter()
        log = self.stdout.write if verbosity > 1 else (lambda message: None)
        try:
            with transaction.atomic():
                result = demo.load_demo(
                    seed=seed, agents=agents, days=days, end=end, reload=reload, password=password, log=log
                )
                # The quarter of objectives, contracts and check-ins (goals app), once per quarter.
                objectives = load_goals_demo(today=result.end + dt.timedelta(days=1), log=log)
                # A review cycle in progress and a closed one before it (reviews app), once.
                load_reviews_demo(today=result.end + dt.timedelta(days=1), log=log)
        except ImportFailed as exc:
            raise CommandError(f"The demo data was refused: {exc}") from exc
        elapsed = time.perf_counter() - started
        if result.days_loaded:
            summary = f"{result.values:,} values over {result.days_loaded} days loaded"
        else:
            summary = "already loaded, nothing to do"
        self.stdout.write(
            f"Demo center {demo.CENTER_CODE}: {len(result.plan.agents)} agents, "
            f"{result.start} … {result.end}: {summary}"
            + (f"; {objectives} objectives" if objectives else "")
            + f" ({elapsed:.1f} s)."
        )
        if verbosity:
            self.print_logins(result.plan, password)

    def print_logins(self, plan, password):
        port = os.environ.get("PORT", "8000")
        rows = [("Role", "Login", "Password", "Name")] + [(label, code, password, name) for label, code, name in plan.logins]
        widths = [max(_width(r[i]) for r in rows) for i in range(4)]
        rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
        self.stdout.write("")
        self.stdout.write(f"Open http://127.0.0.1:{port}/ and sign in as:")
        self.stdout.write(rule)
        for n, row in enumerate(rows):
            cells = [cell + " " * (w - _width(cell)) for cell, w in zip(row, widths)]
            self.stdout.write("| " + " | ".join(cells) + " |")
            if n == 0:
                self.stdout.write(rule)
        self.stdout.write(rule)


def _width(text: str) -> int:
    """Columns on a terminal: CJK characters take two."""
    return sum(2 if "\u2e80" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef" else 1 for ch in text)
