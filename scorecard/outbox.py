"""Hand work to the background so that it is never lost, whether or not the job system is reachable.

`enqueue(task, *args)` writes an OutboxMessage in the caller's transaction, so
the act (a close, an export, an upload, an e-mail) and the work it needs are
committed together or not at all. Once committed, the message is handed to the
broker at once, over a connection that gives up within about a second; the row
is deleted when the broker has accepted it. When the broker is unreachable the
row stays, a warning is logged, and the page says the work is queued: the beat
task `drain_outbox_task` (every minute) and every worker when it starts send
what is left, so the work starts by itself when the job system is back.

Each row is claimed (a conditional UPDATE of `claimed_until`) before it is
sent, so the sender after the commit and a drain, or two drains, do not send
it together. A message may still reach the broker twice (sent, then the
process dies before deleting the row): every task sent this way is idempotent.

    with outbox.watch() as dispatch:
        closing.cycle_close_start(...)
    if dispatch.queued:  # the broker did not take it: say so, it starts later
        ...
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import logging
from dataclasses import dataclass, field

from celery.utils.imports import symbol_by_name
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from .models import OutboxMessage

logger = logging.getLogger(__name__)

# A row being sent is left alone by other senders this long (its sender may have died); then a drain takes it.
CLAIM_SECONDS = 30
# How long a web request waits for the broker before it keeps the work for later.
CONNECT_TIMEOUT = 1.0
# Rows one drain sends at most (the next minute's drain takes the rest).
DRAIN_BATCH = 500


@dataclass
class Dispatch:
    """What happened to the messages enqueued inside one `watch()` block (once their transaction committed)."""

    sent: list[str] = field(default_factory=list)  # task names the broker took
    queued: list[str] = field(default_factory=list)  # task names kept for the drain (broker unreachable)

    def __bool__(self) -> bool:
        return bool(self.sent or self.queued)


_watchers: contextvars.ContextVar[tuple[Dispatch, ...]] = contextvars.ContextVar("outbox_watchers", default=())


@contextlib.contextmanager
def watch():
    """Collect what happens to the messages enqueued (and committed) inside the block."""
    dispatch = Dispatch()
    token = _watchers.set(_watchers.get() + (dispatch,))
    try:
        yield dispatch
    finally:
        _watchers.reset(token)


def _task_name(task) -> str:
    return task if isinstance(task, str) else task.name


def enqueue(task, *args, **kwargs) -> OutboxMessage:
    """Record `task(*args, **kwargs)` in the current transaction and send it to the broker once committed.

    Arguments must be JSON values (ids, strings, lists). Outside a transaction
    the row is written and sent at once.
    """
    message = OutboxMessage.objects.create(task=_task_name(task), args=list(args), kwargs=kwargs)
    transaction.on_commit(lambda: deliver([message.pk]), robust=True)
    return message


def enqueue_or_run(task, *args) -> OutboxMessage | None:
    """As `enqueue`; but in eager mode (tests, a machine without a worker) run the task at once, in the
    caller's transaction, and keep it in the outbox only if it fails.

    For e-mails: eager mode has no broker that could lose them, and their
    callers send them where the act's transaction already decides (inside
    the reminder's savepoint, or in an on_commit callback).
    """
    from .celery import app

    if not app.conf.task_always_eager:
        return enqueue(task, *args)
    try:
        _task(_task_name(task)).apply(args=list(args), throw=True)
    except Exception as exc:  # noqa: BLE001 — kept for the drain, as a broker failure would be
        logger.warning("outbox: %s kept for later: %s: %s", _task_name(task), type(exc).__name__, exc)
        message = OutboxMessage.objects.create(task=_task_name(task), args=list(args),
                                               last_error=f"{type(exc).__name__}: {exc}"[:2000])
        for watcher in _watchers.get():
            watcher.queued.append(message.task)
        return message
    for watcher in _watchers.get():
        watcher.sent.append(_task_name(task))
    return None


def enqueue_many(task, calls: list[tuple]) -> list[OutboxMessage]:
    """Record one message per argument tuple in `calls` (one INSERT), sent together once committed."""
    name = _task_name(task)
    messages = OutboxMessage.objects.bulk_create([OutboxMessage(task=name, args=list(args)) for args in calls])
    pks = [m.pk for m in messages]
    if None in pks:  # a database that does not return ids from a bulk INSERT: the drain sends them
        return messages
    transaction.on_commit(lambda: deliver(pks), robust=True)
    return messages


def _free(now: dt.datetime) -> Q:
    """Rows nobody is sending: never claimed, released after a failure, or held past the claim's time."""
    return Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)


def _claim(pks: list[int], now: dt.datetime) -> list[OutboxMessage]:
    """Claim the rows no other sender holds; return them (2 queries: the UPDATE, the read)."""
    until = now + dt.timedelta(seconds=CLAIM_SECONDS)
    OutboxMessage.objects.filter(_free(now), pk__in=pks).update(
        claimed_until=until, last_attempt_at=now, attempts=F("attempts") + 1
    )
    return list(OutboxMessage.objects.filter(pk__in=pks, claimed_until=until, last_attempt_at=now).order_by("pk"))


def _connection():
    """A broker connection of its own that fails fast: no retries, short connect and socket timeouts."""
    from .celery import app

    options = {
        **(app.conf.broker_transport_options or {}),
        "socket_connect_timeout": CONNECT_TIMEOUT,
        "socket_timeout": CONNECT_TIMEOUT * 2,
        "max_retries": 0,
    }
    return app.connection_for_write(connect_timeout=CONNECT_TIMEOUT, transport_options=options)


def _task(name: str):
    """The registered task of this name, importing its module if needed; None if unknown here."""
    from .celery import app

    task = app.tasks.get(name)
    if task is None:  # its module not imported yet in this process
        try:
            task = symbol_by_name(name)
        except (ImportError, AttributeError, ValueError):
            task = None
    return task


def _publish(message: OutboxMessage, connection) -> None:
    from .celery import app

    task = _task(message.task)
    if task is None:  # unknown here (another process's task): publish by name, never eager
        app.send_task(message.task, args=message.args, kwargs=message.kwargs, connection=connection, retry=False)
    else:
        task.apply_async(args=message.args, kwargs=message.kwargs, connection=connection, retry=False)


def deliver(pks: list[int]) -> tuple[int, int]:
    """Send these rows to the broker (those no other sender holds); return (sent, kept).

    A row the broker accepted is deleted; on any error (broker unreachable,
    a timeout; in eager mode the task itself failing) the row is kept with
    the error, for the drain.
    """
    now = timezone.now()
    messages = _claim(pks, now)
    sent = kept = 0
    if not messages:
        return 0, 0
    from .celery import app

    eager = app.conf.task_always_eager
    watchers = _watchers.get()
    with _connection() as connection:
        for i, message in enumerate(messages):
            try:
                _publish(message, connection)
            except Exception as exc:  # noqa: BLE001 — whatever the broker or transport raises, keep the work
                logger.warning("outbox: %s (#%s) kept for later: %s: %s",
                               message.task, message.pk, type(exc).__name__, exc)
                error = f"{type(exc).__name__}: {exc}"[:2000]
                if eager:  # the task itself failed (there is no broker): the others may still run
                    OutboxMessage.objects.filter(pk=message.pk).update(last_error=error, claimed_until=None)
                    kept += 1
                    for watcher in watchers:
                        watcher.queued.append(message.task)
                    continue
                # The broker is down: the rest would fail the same way, each after its timeout.
                OutboxMessage.objects.filter(pk__in=[m.pk for m in messages[i:]]).update(
                    last_error=error, claimed_until=None  # released: the next drain tries again
                )
                for rest in messages[i:]:
                    kept += 1
                    for watcher in watchers:
                        watcher.queued.append(rest.task)
                break
            sent += 1
            OutboxMessage.objects.filter(pk=message.pk).delete()
            for watcher in watchers:
                watcher.sent.append(message.task)
    return sent, kept


def drain(*, batch: int = DRAIN_BATCH) -> int:
    """Send the rows left behind (oldest first, those nobody holds); return how many the broker took."""
    pks = list(
        OutboxMessage.objects.filter(_free(timezone.now()))
        .order_by("created_at", "pk").values_list("pk", flat=True)[:batch]
    )
    if not pks:
        return 0
    sent, kept = deliver(pks)
    if kept:
        logger.warning("outbox: %s message(s) still waiting for the broker", kept)
    return sent


def pending_count() -> int:
    """How many messages wait for the broker (for the admin and the health of the job system)."""
    return OutboxMessage.objects.count()
