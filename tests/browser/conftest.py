"""The browser suite: journeys through the pages in Debian's Chromium, driven by Playwright.

Each pytest-xdist process starts its own site once: a database of its own
(an SQLite file, or a PostgreSQL database when DATABASE_URL names one), the
demo center loaded by `load_demo`, gunicorn serving it as in production and a
real Celery worker on the filesystem broker. Journeys share that site, so each
one works with people and objects no other journey changes.

On failure the page's screenshot and HTML are saved under var/browser-artifacts/.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from .journey import Journey

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "var" / "browser-artifacts"
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps calling hosts this network does not reach.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]
DEMO_AGENTS = 40
DEMO_DAYS = 120
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _database_url(name: str, var: Path) -> str:
    """A database of the site's own: a PostgreSQL database beside DATABASE_URL's, or an SQLite file."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return f"sqlite:///{var / 'site.sqlite3'}"
    import psycopg

    name = f"scorecard_browser_{name}"
    parts = urlsplit(url)
    with psycopg.connect(urlunsplit(parts._replace(scheme="postgresql")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}"))


@dataclass
class Site:
    url: str
    env: dict
    var: Path
    processes: list = field(default_factory=list)

    def manage(self, *args: str, timeout: int = 300) -> str:
        """Run a management command against the site's database; return what it printed."""
        done = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True,
            timeout=timeout,
        )
        if done.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def python(self, code: str) -> str:
        """Run Python in the site's Django (what time or the beat does between two steps of a journey)."""
        return self.manage("shell", "-c", code)

    def emails_to(self, address: str, *, seconds: float = 60) -> list[EmailMessage]:
        """The e-mails the site sent to `address` (oldest first); waits for the first one (the worker sends them)."""
        deadline = time.monotonic() + seconds
        while True:
            found = []
            for path in sorted((self.var / "mail").glob("*.log"), key=lambda p: (p.stat().st_mtime, p.name)):
                # The file-based backend writes each message followed by a line of 79 dashes.
                for raw in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
                    if raw.strip():
                        message = BytesParser(policy=policy.default).parsebytes(raw.lstrip())
                        if address.lower() in str(message["To"] or "").lower():
                            found.append(message)
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.5)

    def log(self, name: str) -> str:
        path = self.var / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _wait_for(url: str, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {seconds} s")


def _site(tmp_path_factory, name: str):
    """Start a site: its database with the demo center, gunicorn and a Celery worker; stop it afterwards."""
    name = f"{name}_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    var = tmp_path_factory.mktemp(f"site_{name}")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "scorecard.settings",
        "DJANGO_SECRET_KEY": "browser-suite",
        "DJANGO_DEBUG": "0",
        "SCORECARD_VAR_DIR": str(var),
        "DATABASE_URL": _database_url(name, var),
        "CELERY_BROKER_URL": "filesystem://",
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "SITE_URL": url,
        "PORT": str(port),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        # Each e-mail the worker sends is a file in var/mail/: a journey reads it as its recipient would.
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(var / "mail"),
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    s = Site(url=url, env=env, var=var)
    s.manage("migrate", "--noinput", "-v", "0")
    s.manage("collectstatic", "--noinput", "-v", "0")
    s.manage("load_demo", "--agents", str(DEMO_AGENTS), "--days", str(DEMO_DAYS), "-v", "0")
    bin_dir = Path(sys.executable).parent
    commands = {
        "web": [str(bin_dir / "gunicorn"), "scorecard.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2",
                "--threads", "2", "--timeout", "120", "--no-control-socket"],
        "worker": [str(bin_dir / "celery"), "-A", "scorecard", "worker", "--loglevel=warning", "--concurrency=1",
                   "--without-gossip", "--without-mingle", "--without-heartbeat"],
    }
    try:
        for name, command in commands.items():
            out = open(var / f"{name}.log", "w")  # noqa: SIM115 - closed with the process below
            s.processes.append((subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                                 start_new_session=True), out))
        _wait_for(f"{url}/accounts/login/", s.processes[0][0])
        yield s
    finally:
        for process, out in s.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process, out in s.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
            out.close()


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    """The site the journeys share (each journey works with people no other one changes)."""
    yield from _site(tmp_path_factory, "shared")


@pytest.fixture(scope="module")
def own_site(tmp_path_factory):
    """A site for one module alone: for a journey that moves time (phases) for everyone on it."""
    yield from _site(tmp_path_factory, "own")


@pytest.fixture(scope="session")
def chromium():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: `make install` installs Debian's chromium package.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def journey(request, chromium):
    """A factory of journeys: journey(viewport="phone") is a new browser context (its own cookies), on the
    shared site unless `on` names another."""
    made: list[Journey] = []

    def start(viewport: str = "desktop", *, on: Site | None = None) -> Journey:
        site = on or request.getfixturevalue("site")
        size = PHONE if viewport == "phone" else DESKTOP
        context = chromium.new_context(
            viewport=size, locale="en-US", timezone_id="Asia/Shanghai", accept_downloads=True,
            has_touch=viewport == "phone", is_mobile=viewport == "phone",
            device_scale_factor=1,
        )
        context.set_default_timeout(20_000)
        j = Journey(site=site, page=context.new_page(), name=f"{request.node.name}-{len(made)}")
        made.append(j)
        return j

    yield start
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for j in made:
        if failed:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in j.name)
            try:
                j.page.screenshot(path=str(ARTIFACTS / f"{safe}.png"), full_page=True)
                (ARTIFACTS / f"{safe}.html").write_text(j.page.content())
            except Exception as exc:  # a crashed page still lets the others be saved
                print(f"could not save the artefacts of {j.name}: {exc}")
        j.page.context.close()
