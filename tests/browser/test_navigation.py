"""Every page a role may use is reachable by links from its home.

The crawl signs in as each demo role and follows the links of every page it
reaches (GET only; no form is sent), at most a few pages per kind, and fails
on any page of that role's list that no link reaches.
"""

from __future__ import annotations

import re
from collections import defaultdict, deque
from html import unescape
from urllib.parse import urldefrag, urlsplit

import pytest
from django.urls import Resolver404, resolve

HREF = re.compile(r'<a\b[^>]*\bhref="([^"#][^"]*)"', re.I)
# Not pages to reach: downloads, the API and its docs, the admin, the customers' token links, static files.
SKIP = re.compile(r"^/(api|admin|static|media|i18n)/|/pdf/|/download/|\.svg$|/feedback/t/|/todo/count/")
PER_KIND = 3  # pages of one kind (URL name) to open: their links are alike
LIMIT = 400  # pages opened at most

AGENT = {
    "home", "scorecard", "kpi-why", "kpi-list", "kpi-detail", "objective-list", "objective-detail",
    "objective-create", "objective-checkins", "contract-list", "contract-detail", "my-appraisals",
    "appraisal-detail", "feedback-inbox", "feedback-answer", "appraisal-feedback", "password_change",
}
MANAGER = AGENT | {
    "ranking", "org-tree", "cascade-tree", "objective-cascade", "template-list", "cycle-list", "cycle-detail",
    "appraisal-list", "contract-create",
}
HR = (MANAGER - {"feedback-answer"}) | {"cycle-create", "cycle-calibration", "cycle-export", "questionnaire-list", "questionnaire-create",
                                        "audit-log", "sign-in-locks"}
DIRECTOR = MANAGER | {"kpi-create", "kpi-edit", "kpi-weights", "measure-create", "import-list", "import-create",
                      "questionnaire-list", "audit-log", "sign-in-locks"}
ROLES = {"E1001": AGENT, "E0100": MANAGER, "E0010": MANAGER, "E0002": HR, "E0001": DIRECTOR}


def crawl(request, base: str) -> dict[str, str]:
    """URL name → the first path found for it, by following links breadth-first from the home page."""
    seen_paths: set[str] = {"/"}
    per_kind: dict[str, int] = defaultdict(int)
    found: dict[str, str] = {"home": "/"}
    queue = deque(["/"])
    visited = 0
    while queue and visited < LIMIT:
        path = queue.popleft()
        visited += 1
        response = request.get(base + path, max_redirects=0)
        assert response.status < 500, f"{path} answered {response.status}"
        if response.status != 200 or "text/html" not in response.headers.get("content-type", ""):
            continue
        for href in HREF.findall(response.text()):
            href = urldefrag(unescape(href))[0]
            parts = urlsplit(href)
            if parts.netloc and base.split("//", 1)[1] != parts.netloc:
                continue
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            if not parts.path.startswith("/") or SKIP.search(parts.path) or target in seen_paths:
                continue
            try:
                name = resolve(parts.path).url_name
            except Resolver404:
                raise AssertionError(f"{path} links to {target}, which is no page") from None
            seen_paths.add(target)
            found.setdefault(name, target)
            if per_kind[name] < PER_KIND and name not in ("logout", "set_language"):
                per_kind[name] += 1
                queue.append(target)
    return found


@pytest.mark.parametrize("login", list(ROLES))
def test_every_page_of_the_role_is_reachable_by_links_from_home(journey, login):
    j = journey().login(login)
    found = crawl(j.page.context.request, j.site.url)

    missing = sorted(ROLES[login] - set(found))
    assert not missing, f"{login}: no link reaches {missing}"
