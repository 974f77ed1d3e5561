"""The one helper that renders and sends the app's emails (templates/emails/<name>-{subject,body}.txt)."""

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import translation


def email_send(name: str, ctx: dict, recipients: list[str], *, language: str | None = None) -> None:
    """Render templates/emails/<name>-{subject,body}.txt in `language` and send them."""
    with translation.override(language or settings.LANGUAGE_CODE):
        subject = " ".join(render_to_string(f"emails/{name}-subject.txt", ctx).split())
        body = render_to_string(f"emails/{name}-body.txt", ctx)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
