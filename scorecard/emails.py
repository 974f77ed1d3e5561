"""The one helper that renders and sends the app's emails (templates/emails/<name>-{subject,body}.txt).

Every link in an e-mail is absolute and built on settings.SITE_URL, through
`absolute_url`: e-mails are sent by background jobs too, and a worker knows
neither the request's host nor the web server's port.
"""

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import translation

from . import outbox


def site_url() -> str:
    """The configured site address, without a trailing slash: what every e-mail link starts with."""
    return settings.SITE_URL.rstrip("/")


def absolute_url(path_or_url: str) -> str:
    """`path_or_url` as an absolute link on the configured site address (settings.SITE_URL).

    A path ("/goals/objectives/14/", from reverse()) gets the site address in
    front; an absolute URL is returned as it is; an empty value stays empty.
    """
    if not path_or_url or "://" in path_or_url:
        return path_or_url
    return f"{site_url()}/{path_or_url.lstrip('/')}"


def _with_absolute_links(ctx: dict) -> dict:
    """The context with every value named `url` or `*_url` made absolute (a second guard for callers)."""
    return {key: absolute_url(value) if (key == "url" or key.endswith("_url")) and isinstance(value, str) else value
            for key, value in ctx.items()}


def email_send(name: str, ctx: dict, recipients: list[str], *, language: str | None = None) -> None:
    """Render templates/emails/<name>-{subject,body}.txt in `language` now, and have a worker send them.

    The rendered e-mail is written to the outbox in the caller's transaction
    (sent only if the act commits; kept while the job system is unreachable)
    and handed to `send_email_task`, which retries while the mail server is
    down: neither a broker nor an SMTP failure reaches the page, and no mail
    is lost. A body may hold a customer's 360 link: it stays in the outbox
    row only until the broker has taken the message. In eager mode (tests)
    the e-mail is sent at once and kept in the outbox only if sending fails.
    """
    ctx = _with_absolute_links(ctx)
    with translation.override(language or settings.LANGUAGE_CODE):
        subject = " ".join(render_to_string(f"emails/{name}-subject.txt", ctx).split())
        body = render_to_string(f"emails/{name}-body.txt", ctx)
    outbox.enqueue_or_run(SEND_TASK, subject, body, list(recipients))


SEND_TASK = "scorecard.tasks.send_email_task"


def email_deliver(subject: str, body: str, recipients: list[str]) -> None:
    """Send one rendered e-mail over SMTP now (the task's body; errors go to the caller)."""
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
