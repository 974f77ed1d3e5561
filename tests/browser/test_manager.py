"""The team manager's journey: agree an agent's proposal, set and cascade a team objective, answer a check-in,
write an appraisal, record the interview and approve a 360 rater.

E0101 manages IN-02 (agents E1005–E1008) in English; E0106 manages SA-02 (agents E1023–E1025) in Chinese.
The agents' own steps (a proposal, a check-in, a nominated rater) are made in a second browser, as they would be.
What the pages say is read through the translation catalogue, so the Chinese journey asserts the Chinese texts
(and fails on one left in English)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pytest
from django.utils import translation

from goals.cascade_views import CASCADED
from goals.checkin_views import CHECKIN_SAVED, REPLY_SAVED
from goals.models import ObjectiveEvent
from goals.views import TRANSITION_DONE
from reviews.appraisal_views import INTERVIEW_SAVED, MANAGER_SAVED
from reviews.feedback_views import APPROVED, NOMINATED

CJK = re.compile(r"[\u4e00-\u9fff]")
SAME_IN_CHINESE = {"KPI"}


@dataclass(frozen=True)
class Team:
    lang: str  # the interface language the manager and the agent switch to
    manager: str
    manager_name: str
    unit: str  # the team as the owner box shows it
    agent: str  # proposes, checks in, nominates a rater
    agent_name: str
    appraised_name: str  # whose appraisal the manager writes
    agents: tuple[str, ...]  # every agent's name, as the cascade creates one child each
    peer: str  # the colleague the agent nominates, as the picker shows them
    peer_name: str
    fcr: str  # the KPIs' names in the language (the KPI library's, not the catalogue's)
    csat: str


ENGLISH = Team("en", "E0101", "吴天宇", "Inbound Team 2 呼入二组 (IN-02)", "E1005", "吕桂英", "林晓明",
               ("吕桂英", "林晓明", "张伟", "林军"), "宋晓明 (E1009)", "宋晓明",
               "First-contact resolution", "Customer satisfaction")
CHINESE = Team("zh-hans", "E0106", "黄璐", "Upgrade Sales 升级销售组 (SA-02)", "E1023", "潘家乐", "冯雪",
               ("潘家乐", "冯雪", "Eric Zhou 周雨桐"), "余梦瑶 (E1026)", "余梦瑶", "一次解决率", "客户满意度")


class Words:
    """The interface's words in the journey's language; a Chinese one must be translated (hold Chinese)."""

    def __init__(self, lang: str):
        self.lang = lang

    def __call__(self, text, **values) -> str:
        with translation.override(self.lang):
            out = translation.gettext(text) if isinstance(text, str) else str(text)  # a msgid, or a lazy constant
            if values:
                out = out % {k: str(v) for k, v in values.items()}
        if self.lang != "en" and text not in SAME_IN_CHINESE:
            assert CJK.search(out), f"{text!r} is not translated"
        return out


def quarter_bounds(today: dt.date) -> tuple[dt.date, dt.date]:
    start = dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    following = dt.date(start.year + start.month // 10, (start.month + 2) % 12 + 1, 1)
    return start, following - dt.timedelta(days=1)


def start(journey, code: str, lang: str):
    j = journey().login(code)
    if lang != "en":
        j.language(lang)
        assert j.page.locator("html").get_attribute("lang") == "zh-hans"
    return j


@pytest.mark.parametrize("team", [ENGLISH, CHINESE], ids=["english", "chinese"])
def test_team_manager_agrees_cascades_answers_appraises_and_approves_raters(journey, team):
    t = Words(team.lang)
    first_day, last_day = quarter_bounds(dt.date.today())
    proposal = {"en": "Resolve billing questions on the first call", "zh-hans": "首次来电解决账单问题"}[team.lang]
    team_title = {"en": "Delight billing callers", "zh-hans": "让账单来电客户满意"}[team.lang]

    # Given: an agent of the team proposes an objective of their own (owner prefilled, KPI by name).
    agent = start(journey, team.agent, team.lang)
    agent.nav(t("Objectives"))
    agent.link(t("New objective"))
    assert agent.field(t("Owner")).input_value().endswith(f"({team.agent})"), "the owner is prefilled"
    agent.fill(t("Period start"), f"{first_day:%Y-%m-%d}").fill(t("Period end"), f"{last_day:%Y-%m-%d}")
    agent.fill(t("Title"), proposal)
    agent.fill(t("Result"), "Fewer repeat calls from the customers whose first call I take.")
    agent.field(t("KPI")).select_option(label=team.fcr)
    agent.fill(t("Baseline"), "70").fill(t("Target"), "75").fill(t("Stretch"), "80")
    agent.fill(t("Resources and support needed"), "Two coaching sessions on the billing knowledge base.")
    agent.fill(t("Weight"), "10").fill(t("Due date"), f"{last_day:%Y-%m-%d}")
    agent.press(t("Save and propose"))
    agent.sees(proposal, t("Proposed"))

    # The manager's to-do lists the proposal; its objective page agrees it.
    j = start(journey, team.manager, team.lang)
    j.sees(t("Proposed objectives to agree"), proposal)
    j.link(re.compile(re.escape(f"{proposal} — {team.agent_name}")), within="main")
    j.sees(t("Proposed"), team.agent_name)
    j.press(t("Agree"), exact=True)
    assert t(TRANSITION_DONE, action=ObjectiveEvent.Action.AGREE.label) in j.messages()
    j.sees(t("Agreed"))
    j.nav(t("To do"))
    assert t("Proposed objectives to agree") not in j.text()

    # A team objective: the team is the owner (prefilled for a team manager), the KPI picked by name.
    j.nav(t("Objectives"))
    j.link(t("New objective"))
    assert j.field(t("Owner")).input_value() == team.unit
    j.fill(t("Period start"), f"{first_day:%Y-%m-%d}").fill(t("Period end"), f"{last_day:%Y-%m-%d}")
    j.fill(t("Title"), team_title)
    j.fill(t("Result"), "Callers with a billing question rate the call 4 or 5 out of 5.")
    j.field(t("KPI")).select_option(label=team.csat)
    j.fill(t("Baseline"), "80").fill(t("Target"), "85").fill(t("Stretch"), "90")
    j.fill(t("Resources and support needed"), "A weekly calibration of billing calls with the quality team.")
    j.fill(t("Weight"), "20").fill(t("Due date"), f"{last_day:%Y-%m-%d}")
    j.press(t("Save and propose"))
    j.sees(team_title, t("Proposed"), team.unit.split(" (")[0])

    # Its cascade, by a link of the objective's page: a preview first, nothing created until applied.
    j.link(t("Cascade to the level beneath"))
    j.sees(t("Cascade “%(title)s”", title=team_title), "85.0%")
    j.field(t("Cascade to")).select_option(label=t("Directly beneath (child units, or a team's agents)"))
    j.field(t("Method")).select_option(label=t("Same target for each child (ratio KPIs, milestones)"))
    j.press(t("Preview"))
    planned = j.page.locator("table.plan tbody tr")
    assert planned.count() == len(team.agents), "one child per agent of the team"
    for row in planned.all():
        assert re.search(r"80\.0%\s+85\.0%\s+90\.0%", row.inner_text()), "baseline, target, stretch with the unit"
    j.sees(*team.agents)
    assert j.page.locator("table.plan").count() == 1
    with translation.override(team.lang):
        create = translation.ngettext("Create %(counter)s child objective", "Create %(counter)s child objectives",
                                      len(team.agents)) % {"counter": len(team.agents)}
    j.press(create)
    assert t(CASCADED, count=len(team.agents)) in j.messages()

    # The tree (Goals → Cascade): the team objective, a child for each agent beneath it, with units and progress.
    j.nav(t("Cascade"))
    team_row = j.page.locator(f"li:has(> .crow:has-text('{team_title}'):has-text('{team.unit[-6:-1]}'))")
    children = team_row.locator(":scope > details > ul > li > .crow")
    assert children.count() == len(team.agents)
    for name, row in zip(team.agents, children.all(), strict=True):
        cells = row.inner_text()
        assert name in cells and team_title in cells and t("Draft") in cells
        assert "85.0%" in cells, "the target with the KPI's unit"
        assert re.search(r"\d+ %", cells), "the progress in percent"
        assert not re.search(r"-\d", cells), "no negative progress"

    # The agent checks in on the objective just agreed; the manager's to-do shows the check-in to answer.
    agent.nav(t("Objectives"))
    agent.link(proposal)
    agent.page.get_by_text(t("New check-in"), exact=True).click()
    agent.fill(t("Progress made"), "Billing calls now resolved with the new knowledge-base article.")
    agent.fill(t("Help needed"), "Ten minutes of side-by-side coaching on refunds.")
    agent.press(t("Record the check-in"))
    assert t(CHECKIN_SAVED) in agent.messages()

    j.nav(t("To do"))
    j.sees(t("Check-ins to answer"))
    j.link(re.compile(re.escape(f"{proposal} — {team.agent_name}")), within="main")
    j.sees("Billing calls now resolved with the new knowledge-base article.")
    j.fill(t("Reply"), "Good progress. Let us sit together on Thursday for the refunds.")
    j.press(t("Send reply"))
    assert t(REPLY_SAVED) in j.messages()
    j.nav(t("To do"))
    assert t("Check-ins to answer") not in j.text()

    # The agent reads the reply under their check-in, signed by the manager.
    agent.page.reload()
    agent.check().sees("Let us sit together on Thursday for the refunds.", team.manager_name)

    # The appraisal of one agent: ratings, competencies and comments saved as a draft, kept on reload.
    j.nav(t("My appraisals"))
    j.sees(t("Appraisals I must write"))
    j.link(team.appraised_name, within="#to-write")
    j.sees(t("Your appraisal"))
    appraisal_url = j.url
    form = j.page.locator("#manager-appraisal")
    objectives = [o.strip() for o in form.locator("table").nth(0).locator("tbody th").all_inner_texts()]
    assert len(objectives) >= 2
    rating = t("Manager's rating")
    prefilled = j.field(f"{rating} – {objectives[0]}").input_value()
    assert re.fullmatch(r"\d+(\.\d)?", prefilled), f"the system score as the page shows it, not {prefilled!r}"
    j.fill(f"{rating} – {objectives[0]}", "82")
    j.fill(f"{t('Comment')} – {objectives[0]}", "Above the target on most weeks.")
    j.fill(f"{t('Comment')} – {objectives[1]}", "Short calls without rushing the customer.")
    competencies = form.locator("table").nth(1).locator("tbody tr")
    scores = ["4", "4", "3", "3", "5"][: competencies.count()]
    for row, score in zip(competencies.all(), scores, strict=False):
        row.get_by_role("combobox").select_option(score)
    competencies.last.get_by_role("textbox").fill("Customers ask for this agent by name.")
    j.fill(t("Manager's comments"), "A strong quarter; coach the new joiners on billing calls.")
    j.press(t("Save draft"), within="#manager-appraisal")
    assert t(MANAGER_SAVED) in j.messages()
    j.page.goto(appraisal_url)
    j.check()
    assert j.field(f"{rating} – {objectives[0]}").input_value() == "82"
    assert j.field(f"{rating} – {objectives[1]}").input_value() != ""
    assert j.field(f"{t('Comment')} – {objectives[1]}").input_value() == "Short calls without rushing the customer."
    kept = [row.get_by_role("combobox").input_value() for row in competencies.all()]
    assert kept == scores
    assert competencies.last.get_by_role("textbox").input_value() == "Customers ask for this agent by name."
    assert j.field(t("Manager's comments")).input_value() == "A strong quarter; coach the new joiners on billing calls."
    # Submitting waits for the appraisal phase: the demo's cycle is in its self-assessment phase.
    assert form.get_by_role("button", name=t("Submit appraisal")).count() == 0
    j.sees(t("The appraisal can be submitted from the appraisal phase on."), selector="#manager-appraisal")

    # The appraisal interview: date, notes and improvement actions, saved and shown.
    held = dt.date.today() + dt.timedelta(days=3)
    j.fill(t("Interview date"), f"{held:%Y-%m-%d}T10:30")
    j.fill(t("Interview notes"), "Talked through the quarter: wants to mentor the new joiners.")
    j.fill(t("Agreed improvement actions"), "Shadow the quality lead on two billing calibrations.")
    j.press(t("Save interview"))
    assert t(INTERVIEW_SAVED) in j.messages()
    j.sees(f"{held:%Y-%m-%d} 10:30", "Talked through the quarter: wants to mentor the new joiners.",
           "Shadow the quality lead on two billing calibrations.", selector="#interview")

    # 360 raters: the agent nominates a colleague picked by name; the manager's to-do leads to the approval.
    agent.nav(t("My appraisals"))
    agent.page.locator("main section").first.get_by_role("link").first.click()  # the current cycle's, listed first
    agent.page.wait_for_load_state()
    agent.check().link(t("Raters and results"))
    agent.sees(t("Nominate a rater"))
    agent.field(t("Relationship")).select_option(label=t("Peer"))
    offered = agent.page.locator("#rater-options option").evaluate_all("os => os.map(o => o.value)")
    assert team.peer in offered and not any(o.endswith(f"({team.agent})") for o in offered)
    agent.fill(t("Colleague"), team.peer)
    agent.press(t("Nominate"))
    assert t(NOMINATED, name=team.peer_name) in agent.messages()
    agent.sees(t("Awaiting approval"))

    j.nav(t("To do"))
    waiting = t("%(rater)s for %(person)s", rater=team.peer_name, person=team.agent_name)
    j.sees(t("360 raters to approve"), waiting)
    j.link(waiting)
    j.sees(t("360 feedback on %(name)s", name=team.agent_name))
    nominated = j.page.locator("table.raters tr", has_text=team.peer_name)
    assert t("Nominated by the appraisee") in nominated.inner_text()
    assert t("Awaiting approval") in nominated.inner_text()
    nominated.get_by_role("button", name=t("Approve"), exact=True).click()
    j.page.wait_for_load_state()
    j.check()
    assert t(APPROVED, name=team.peer_name) in j.messages()
    assert t("Awaiting approval") not in nominated.inner_text()
    assert nominated.get_by_role("button", name=t("Approve"), exact=True).count() == 0
    j.nav(t("To do"))
    assert t("360 raters to approve") not in j.text()
