"""What a journey does with a page: sign in, follow links, fill forms, and check every page it reaches.

Every page a journey lands on is checked once per language with axe-core
(no critical or serious violation), for a server error, for anything the
Content-Security-Policy refused, and, at phone width, for a page wider than the screen.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe

PASSWORD = "demo-scorecard"
SCREENS = os.environ.get("BROWSER_SCREENSHOTS")  # a folder: save a screenshot of every checked page there
_axe = Axe()
BLOCKING = {"critical", "serious"}
# The page's width, and the outermost elements whose right edge passes the screen's (none when it fits).
WIDER_THAN = """(width) => {
  const page = document.documentElement.scrollWidth;
  if (page <= width) return [];
  const out = [];
  const clipped = (el) => {
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      if (getComputedStyle(a).overflowX !== "visible") return true;
    }
    return false;
  };
  for (const el of document.querySelectorAll("body *")) {
    const r = el.getBoundingClientRect();
    if (r.right <= width + 1 || clipped(el)) continue;
    if (r.right > width + 1 && !(el.parentElement && el.parentElement.getBoundingClientRect().right > width + 1)) {
      out.push({page, el: el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
                (el.className && typeof el.className === "string" ? "." + el.className.split(" ").join(".") : ""),
                right: Math.round(r.right)});
      if (out.length >= 6) break;
    }
  }
  return out.length ? out : [{page, el: "?", right: page}];
}"""


def _shape(path: str) -> str:
    """/goals/objectives/14/ and /goals/objectives/15/ are one page to check."""
    return re.sub(r"/\d+(?=/|$)|/[0-9a-f]{8}-[0-9a-f-]{27}(?=/|$)", "/N", path.split("?")[0])


@dataclass
class Journey:
    site: object
    page: object
    name: str
    checked: set = field(default_factory=set)
    # What the browser refused under the Content-Security-Policy (an inline script, a handler attribute…).
    csp_violations: list = field(default_factory=list)

    def __post_init__(self):
        def on_console(message):
            if message.type == "error" and "Content Security Policy" in message.text:
                self.csp_violations.append(f"{self.path}: {message.text}")

        self.page.on("console", on_console)

    # ------------------------------------------------------------ moving
    @property
    def url(self) -> str:
        return self.page.url

    @property
    def path(self) -> str:
        return self.page.url.removeprefix(self.site.url)

    def open(self, path: str) -> "Journey":
        response = self.page.goto(self.site.url + path)
        assert response is not None and response.status < 500, f"{path} answered {response and response.status}"
        return self.check()

    def login(self, code: str, password: str = PASSWORD) -> "Journey":
        self.page.goto(self.site.url + "/accounts/login/")
        self.page.get_by_label(re.compile("Employee code|Username|工号|用户名", re.I)).fill(code)
        self.page.get_by_label(re.compile("Password|密码", re.I)).fill(password)
        self.page.locator("form button[type=submit], form input[type=submit]").last.click()
        self.page.wait_for_load_state()
        assert "/accounts/login/" not in self.page.url, f"{code} could not sign in"
        return self.check()

    def link(self, name, *, within: str | None = None, exact: bool = False) -> "Journey":
        """Follow the first link with this accessible name (a string or a compiled pattern)."""
        scope = self.page.locator(within) if within else self.page
        target = scope.get_by_role("link", name=name, exact=exact, include_hidden=True).first
        self._reveal(target)
        target.click()
        self.page.wait_for_load_state()
        return self.check()

    def _reveal(self, target) -> None:
        """Open what hides a link as a person would: the phone's menu button, then its group in the navigation."""
        if target.is_visible():
            return
        if self.page.locator("#nav-toggle").is_visible() and target.evaluate("e => !!e.closest('nav.top')"):
            self.page.locator("#nav-toggle").click()
        if not target.is_visible() and target.evaluate("e => !!e.closest('details')"):
            target.locator("xpath=ancestor::details[1]/summary").click()

    def nav(self, name) -> "Journey":
        return self.link(name, within="nav.top")

    def press(self, name, *, within: str | None = None, exact: bool = False) -> "Journey":
        """Click a button that submits or moves to another page, then check the page it leads to."""
        scope = self.page.locator(within) if within else self.page
        scope.get_by_role("button", name=name, exact=exact).first.click()
        self.page.wait_for_load_state()
        return self.check()

    def field(self, label: str, *, within: str | None = None):
        """The form field labelled exactly `label` (a required field's label ends in " *")."""
        scope = self.page.locator(within) if within else self.page
        return scope.get_by_label(re.compile(rf"^\s*{re.escape(label)}(\s*\*)?\s*$")).first

    def fill(self, label: str, value: str, *, within: str | None = None) -> "Journey":
        self.field(label, within=within).fill(value)
        return self

    def language(self, code: str) -> "Journey":
        """Switch the interface language with the selector in the navigation."""
        select = self.page.locator("nav.top select[name=language]")
        if not select.is_visible() and self.page.locator("#nav-toggle").is_visible():
            self.page.locator("#nav-toggle").click()
        with self.page.expect_navigation():
            select.select_option(code)
        return self.check()

    # ------------------------------------------------------------ reading
    def text(self, selector: str = "main") -> str:
        return self.page.locator(selector).inner_text()

    def sees(self, *texts: str, selector: str = "main") -> "Journey":
        body = self.text(selector)
        for t in texts:
            assert t in body, f"{t!r} is not on {self.path}"
        return self

    def messages(self) -> str:
        box = self.page.locator("ul.messages")
        return box.inner_text() if box.count() else ""

    # ------------------------------------------------------------ checking
    def check(self) -> "Journey":
        """axe-core on each page shape once per language; the phone width must not scroll sideways; nothing
        refused by the Content-Security-Policy."""
        assert not self.csp_violations, "refused by the Content-Security-Policy:\n" + "\n".join(self.csp_violations)
        lang = self.page.locator("html").get_attribute("lang") or ""
        key = (_shape(self.path), lang, self.viewport_width)
        if self.viewport_width < 600:
            self.fits_width()
        if key in self.checked:
            return self
        self.checked.add(key)
        results = _axe.run(self.page)
        bad = [v for v in results.response["violations"] if v.get("impact") in BLOCKING]
        assert not bad, f"accessibility on {self.path} ({lang}):\n" + "\n".join(
            f"- {v['id']} ({v['impact']}): {v['help']} — " + "; ".join(n["target"][0] for n in v["nodes"][:5])
            for v in bad
        )
        if SCREENS:
            folder = Path(SCREENS)
            folder.mkdir(parents=True, exist_ok=True)
            shot = re.sub(r"[^A-Za-z0-9]+", "_", _shape(self.path)).strip("_") or "home"
            self.page.screenshot(path=str(folder / f"{self.name}_{shot}_{lang}_{self.viewport_width}.png"),
                                 full_page=True)
        return self

    @property
    def viewport_width(self) -> int:
        return self.page.viewport_size["width"]

    def fits_width(self) -> None:
        """Nothing sticks out of the screen: the page's scroll width is the viewport's (a phone browser would
        otherwise zoom the page out to the widest element); names the elements that stick out."""
        width = self.viewport_width
        wide = self.page.evaluate(WIDER_THAN, width)
        assert not wide, f"{self.path} is {wide[0]['page']} px wide on a {width} px screen: " + "; ".join(
            f"{w['el']} ({w['right']} px)" for w in wide)
