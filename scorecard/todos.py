"""What waits for a user, by when: the to-do list of the home page and the count in the navigation.

The core owns the registry; each app adds a provider (goals and reviews in
their AppConfig.ready), so the core never imports them. A provider takes the
user and returns its Todo rows, each with a few of its objects and the page
where all of them are. Providers count with a fixed number of queries
whatever the data size: tests/scorecard/test_home.py pins the total.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.utils import timezone

TODO_PROVIDERS: list = []
SHOWN_ITEMS = 5  # objects listed under a to-do; the rest are on its page


@dataclass
class TodoItem:
    label: str
    url: str
    due: dt.datetime | dt.date | None = None
    note: str = ""


@dataclass
class Todo:
    """One kind of work waiting for the user: how many, by when, and where to do it."""

    key: str
    label: str
    count: int
    url: str
    due: dt.datetime | dt.date | None = None
    items: list[TodoItem] = field(default_factory=list)
    hint: str = ""

    @property
    def late(self) -> bool:
        if self.due is None:
            return False
        if isinstance(self.due, dt.datetime):
            return self.due < timezone.now()
        return self.due < timezone.localdate()


def todos_for(user) -> list[Todo]:
    """Every provider's rows with something to do, soonest deadline first, undated last."""
    rows: list[Todo] = []
    for provider in TODO_PROVIDERS:
        rows.extend(t for t in provider(user) if t.count)

    def when(t: Todo):
        if t.due is None:
            return (1, 0.0)
        moment = t.due if isinstance(t.due, dt.datetime) else timezone.make_aware(
            dt.datetime.combine(t.due, dt.time.max))
        return (0, moment.timestamp())

    return sorted(rows, key=when)


def todo_count(user) -> int:
    return sum(t.count for t in todos_for(user))
