"""The agent's journey: the to-do list, the scorecard and why a score, proposing an objective, a check-in, the
self-assessment (kept across a reload), a 360 form and signing the contract — in English, and once in Chinese.

E1020 walks it in English and E1021 in Chinese (both SA-01: no self-assessment yet, open 360 forms and an unsigned
draft contract each). Acknowledging the appraisal and its PDF are in test_review_round.py.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

# What the agent reads and types, in each language (the Chinese is the interface's own translation).
TEXTS = {
    "en": {
        "todo": "To do", "todo_self": "Your self-assessment", "todo_feedback": "360 feedback forms to answer",
        "todo_contract": "Performance contracts to sign", "my_scorecard": "My scorecard",
        "perspectives": ("Financial", "Customer", "Internal process", "Learning and growth"),
        "why": "Why this score?", "why_title": "Why this score: First-contact resolution",
        "objectives": "Objectives", "new_objective": "New objective", "owner": "Owner", "title": "Title",
        "kpi": "KPI", "kpi_name": "Customer satisfaction", "baseline": "Baseline", "target": "Target",
        "stretch": "Stretch", "weight": "Weight", "period_start": "Period start", "period_end": "Period end",
        "due": "Due date", "result": "Result", "resources": "Resources and support needed",
        "smart": "SMART check", "propose": "Save and propose", "proposed": "Proposed",
        "active": "Active", "period_ended": "period ended", "progress_note": "Progress made",
        "obstacles": "Obstacles", "next_steps": "Next steps", "record_checkin": "Record the check-in",
        "my_appraisals": "My appraisals", "self_h": "Your self-assessment", "actual": "Actual result",
        "self_rating": "Self-rating", "comment": "Comment", "achievements": "Main achievements",
        "difficulties": "Difficulties", "help_wanted": "Help and development wanted", "save_draft": "Save draft",
        "submit_self": "Submit self-assessment", "submitted": "Submitted",
        "feedback_to_give": "Feedback to give", "answer": "Answer", "overall_comment": "Overall comment",
        "submit": "Submit", "contracts": "Contracts", "draft": "Draft", "sign_employee": "Sign as the employee",
        "read_version": "I have read this version", "signed": "Signed by",
    },
    "zh-hans": {
        "todo": "待办", "todo_self": "您的自我评估", "todo_feedback": "待填写的360度反馈表",
        "todo_contract": "待签署的业绩合同", "my_scorecard": "我的记分卡",
        "perspectives": ("财务", "客户", "内部流程", "学习与发展"),
        "why": "得分说明", "why_title": "得分说明：一次解决率",
        "objectives": "目标", "new_objective": "新建目标", "owner": "负责人", "title": "标题",
        "kpi": "KPI", "kpi_name": "客户满意度", "baseline": "基准值", "target": "目标值",
        "stretch": "挑战值", "weight": "权重", "period_start": "期间开始日期", "period_end": "期间结束日期",
        "due": "截止日期", "result": "预期结果", "resources": "所需资源与支持",
        "smart": "SMART 原则检查", "propose": "保存并提交", "proposed": "已提交",
        "active": "执行中", "period_ended": "周期已结束", "progress_note": "取得的进展", "obstacles": "遇到的障碍", "next_steps": "下一步",
        "record_checkin": "提交进度检查",
        "my_appraisals": "我的绩效考核", "self_h": "您的自我评估", "actual": "实际结果",
        "self_rating": "自评分", "comment": "意见", "achievements": "主要工作成绩",
        "difficulties": "遇到的困难", "help_wanted": "希望获得的帮助与发展", "save_draft": "保存草稿",
        "submit_self": "提交自我评估", "submitted": "已提交",
        "feedback_to_give": "我的评价任务", "answer": "填写", "overall_comment": "综合意见",
        "submit": "提交", "contracts": "业绩合同", "draft": "草稿", "sign_employee": "以员工身份签署",
        "read_version": "我已阅读此版本", "signed": "签署",
    },
}


TOUCH = 44  # px: the least height of a control a thumb taps on a phone


def tap(j, control) -> None:
    """Tap (click) a control; on a phone it must be big enough for a thumb."""
    control.scroll_into_view_if_needed()
    if j.viewport_width < 600:
        box = control.bounding_box()
        assert box and box["height"] >= TOUCH, f"{control} is {box and round(box['height'])} px high on a phone"
    control.click()


def press(j, name, *, within: str | None = None) -> None:
    """Press a button that leads to a page (exact name), checking its size on a phone."""
    scope = j.page.locator(within) if within else j.page
    tap(j, scope.get_by_role("button", name=name, exact=True).first)
    j.page.wait_for_load_state()
    j.check()


def follow(j, link) -> None:
    tap(j, link)
    j.page.wait_for_load_state()
    j.check()


def type_into(j, box, value: str) -> None:
    tap(j, box)
    box.fill(value)


# ---------------------------------------------------------------------- the steps of the journey


def sees_what_waits(j, t) -> None:
    j.sees(t["todo"])
    todo = j.text("#todo")
    for key in ("todo_self", "todo_feedback", "todo_contract"):
        assert t[key] in todo, f"the to-do list lacks {t[key]!r}:\n{todo}"


def reads_the_scorecard_and_why(j, t, code: str) -> None:
    j.nav(t["my_scorecard"])
    j.sees(code, *t["perspectives"])
    value_on_card = j.page.locator("#kpi-fcr td").first.inner_text().strip()
    assert re.match(r"^[\d.]+%$", value_on_card), f"the FCR value reads {value_on_card!r}"
    follow(j, j.page.locator("#kpi-fcr").get_by_role("link", name=t["why"]))
    assert f"/scorecards/{code}/kpis/fcr/why/" in j.path
    j.sees(t["why_title"], value_on_card)  # the value on the card is the one explained


def proposes_an_objective(j, t, code: str, title: str) -> None:
    j.nav(t["objectives"])
    j.link(t["new_objective"])
    owner = j.field(t["owner"]).input_value()
    assert code in owner, f"the owner box is prefilled with the agent themself, not {owner!r}"
    for label in (t["period_start"], t["period_end"], t["due"]):
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", j.field(label).input_value()), f"{label} is prefilled"
    kpi = j.field(t["kpi"])
    assert t["kpi_name"] in kpi.locator("option").all_inner_texts(), "KPIs are offered by name"
    kpi.select_option(label=t["kpi_name"])
    j.fill(t["title"], title)
    j.fill(t["result"], "CSAT 88 on the quarter's surveys")
    j.fill(t["baseline"], "84").fill(t["target"], "88").fill(t["stretch"], "91").fill(t["weight"], "10")
    j.fill(t["resources"], "Two coaching sessions")
    # The SMART panel follows the typing: five checks, none failing once the objective is complete.
    smart = j.page.locator("#smart-results")
    assert t["smart"] in smart.inner_text()
    expect(smart.locator("li")).to_have_count(5)
    expect(smart.locator("li.smart-fail")).to_have_count(0)
    j.check()
    press(j, t["propose"])
    assert re.search(r"/goals/objectives/\d+/$", j.path), "proposing leads to the objective's page"
    j.sees(title, t["proposed"])


def checks_in(j, t, code: str) -> str:
    """A check-in on one of the agent's active objectives; returns that objective's title."""
    j.nav(t["objectives"])
    active = j.page.locator("table tbody tr", has_text=t["active"]).filter(has_not_text=t["period_ended"])
    link = active.first.get_by_role("link").first
    objective_title = link.inner_text().strip()
    follow(j, link)
    j.sees(objective_title)
    j.page.locator("#checkins summary").click()
    note = f"{code}: coached on call wrap-up; FCR up two points this month"
    j.fill(t["progress_note"], note, within="#checkins")
    j.fill(t["obstacles"], "Billing system slow on Mondays", within="#checkins")
    j.fill(t["next_steps"], "Shadow a senior agent", within="#checkins")
    press(j, t["record_checkin"], within="#checkins")
    j.sees(note)  # the objective's check-ins
    j.link(objective_title, within="nav.breadcrumb")
    assert note in j.text("#checkins"), "the check-in is listed on the objective's page"
    return objective_title


def assesses_themself(j, t, code: str) -> None:
    """The self-assessment: fill the table and the report, save, reload and find every value, submit."""
    j.nav(t["my_appraisals"])
    follow(j, j.page.locator("table tbody tr").first.get_by_role("link").first)  # the current cycle, first
    form = "#self-assessment"
    j.sees(t["self_h"])
    rows = j.page.locator(f"{form} table tbody tr")
    assert rows.count() >= 2
    typed = {}
    for i in range(rows.count()):
        row_title = rows.nth(i).locator("th").inner_text().strip()
        for label, value in ((t["actual"], f"{80 + i}.5"), (t["self_rating"], str(70 + 5 * i)),
                             (t["comment"], f"{code} on {row_title}: steady progress, row {i + 1}")):
            type_into(j, j.page.get_by_label(f"{label} – {row_title}", exact=True), value)
            typed[(label, row_title)] = value
    report = {t["achievements"]: f"{code}: best FCR of the team in November",
              t["difficulties"]: "Long billing calls", t["help_wanted"]: "Coaching on upselling"}
    for label, value in report.items():
        type_into(j, j.field(label, within=form), value)
    press(j, t["save_draft"], within=form)
    assert j.messages(), "saving says so"
    j.page.reload()
    j.check()
    for (label, row_title), value in typed.items():
        kept = j.page.get_by_label(f"{label} – {row_title}", exact=True).input_value()
        assert kept == value, f"{label} of {row_title!r} reads {kept!r} after a reload, not {value!r}"
    for label, value in report.items():
        assert j.field(label, within=form).input_value() == value, f"{label} was not kept after a reload"
    press(j, t["submit_self"], within=form)
    assert j.page.locator(form).count() == 0, "a submitted self-assessment is no longer a form"
    j.sees(t["submitted"], report[t["achievements"]])


def answers_a_360_form(j, t) -> None:
    j.nav(t["feedback_to_give"])
    to_answer = j.page.get_by_role("link", name=t["answer"], exact=True)
    waiting = to_answer.count()
    assert waiting >= 1
    follow(j, to_answer.first)
    questions = j.page.locator("table.questionnaire tbody tr")
    assert questions.count() >= 3
    for i in range(questions.count()):
        row = questions.nth(i)
        choice = row.locator("td.choice label").nth(3 if i % 2 else 4)  # the label is what a finger taps
        tap(j, choice)
        assert choice.get_by_role("radio").is_checked()
        type_into(j, row.get_by_role("textbox"), f"Clear example {i + 1}")
    j.fill(t["overall_comment"], "Helpful on hard calls")
    press(j, t["submit"])
    j.nav(t["feedback_to_give"])
    left = j.page.get_by_role("link", name=t["answer"], exact=True).count()
    assert left == waiting - 1, "the answered form left the inbox"


def signs_the_contract(j, t, objective_title: str | None) -> None:
    name = j.page.locator("nav.top .who").text_content().split("(")[0].strip()
    j.nav(t["contracts"])
    follow(j, j.page.locator("table tbody tr", has_text=t["draft"]).first.get_by_role("link").first)
    follow(j, j.page.get_by_role("link", name=t["sign_employee"]))
    j.sees(t["read_version"])
    assert re.search(r"1", j.text("p.sub")), "the confirmation names the version signed"
    lines = j.page.locator(".sign-summary table").first.locator("tbody tr")
    assert lines.count() >= 2, "the confirmation shows the objectives being signed"
    if objective_title:
        assert objective_title in j.text(".sign-summary")
    press(j, t["sign_employee"], within="form.sign-confirm")
    assert j.path.endswith("/sign/"), "signing without ticking is refused"
    error = j.page.locator("#confirm-errors")
    assert t["read_version"] in error.inner_text(), "the refusal says why, next to the box"
    tap(j, j.page.locator("form.sign-confirm label").filter(has_text=t["read_version"]))
    press(j, t["sign_employee"], within="form.sign-confirm")
    assert not j.path.endswith("/sign/")
    signed = j.text(".signatures")
    assert t["signed"] in signed and name in signed, f"the page says who signed:\n{signed}"
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", signed), "the page says when it was signed"


@pytest.mark.parametrize("code, lang", [("E1020", "en"), ("E1021", "zh-hans")])
def test_agent_reads_why_proposes_checks_in_assesses_themself_answers_360_and_signs(journey, code, lang):
    t = TEXTS[lang]
    j = journey().login(code)
    if lang != "en":
        j.language(lang)
    sees_what_waits(j, t)
    reads_the_scorecard_and_why(j, t, code)
    proposes_an_objective(j, t, code, "客户满意度提升到 88" if lang != "en" else "Lift customer satisfaction to 88")
    objective_title = checks_in(j, t, code)
    assesses_themself(j, t, code)
    answers_a_360_form(j, t)
    signs_the_contract(j, t, objective_title)
    # Done: what was waiting is no longer on the to-do list.
    j.nav(t["todo"])
    todo = j.text("main")
    assert t["todo_self"] not in todo and t["todo_contract"] not in todo
