"""Settings for the test suite: the environment's settings with a fixed key and eager Celery.

The real-worker tests start their own worker and switch eager mode off there.
"""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "tests-only-secret-key")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")

from .settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Django's test client logs in with authenticate() and no request, which django-axes refuses;
# the lockout tests sign in through the login page and the API, which pass the request.
AUTHENTICATION_BACKENDS = ["scorecard.security.TestClientLockoutBackend", "django.contrib.auth.backends.ModelBackend"]
