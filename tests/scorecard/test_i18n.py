"""The zh-Hans translation: complete, compiled, and actually shown.

(a) locale/zh_Hans/LC_MESSAGES/django.po has no untranslated or fuzzy entry,
    keeps every placeholder, and covers every string marked in the source
    (a string added without running makemessages and translating fails here);
(b) the key pages, an API error and an import error come out in Chinese;
(c) the same in English carry no Chinese, apart from data and the two
    deliberate exceptions (the language's own name in the switcher, and the
    Chinese metric-format terms on the KPI page).

The pages need the compiled catalogue: a session fixture compiles it when the
.mo is missing or older than the .po, so the suite runs without `make`.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation

from scorecard.imports import ImportFailed, import_measurements
from tests.factories import put

BASE_DIR = Path(settings.BASE_DIR)
PO = BASE_DIR / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
Q3 = {"start": "2026-07-01", "end": "2026-09-30"}
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]")
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%%|\{\w*\}")
# Chinese that English pages show on purpose: the switcher's "简体中文", and
# the metric-format terms (指标名称 …) next to the English labels on the KPI page.
DELIBERATE_CJK = [re.compile(r"<option[^>]*>简体中文</option>"), re.compile(r'<span class="term">[^<]*</span>')]


# ------------------------------------------------------------------ catalogue


def _clear_translation_caches() -> None:
    """Forget catalogues loaded before the .mo was (re)built, as Django does when LOCALE_PATHS changes."""
    from django.utils.translation import trans_real

    trans_real._translations = {}
    trans_real._default = None


@pytest.fixture(scope="session", autouse=True)
def compiled_catalogue():
    """Compile the zh_Hans catalogue when its .mo is missing or older than the .po (once, under a lock)."""
    if not PO.exists():
        pytest.fail(f"{PO} is missing: run makemessages -l zh_Hans")
    if not MO.exists() or MO.stat().st_mtime < PO.stat().st_mtime:
        if shutil.which("msgfmt") is None:
            pytest.skip("msgfmt (gettext) is not installed: cannot compile the translations")
        lock_path = Path(tempfile.gettempdir()) / "scorecard-compilemessages.lock"
        with open(lock_path, "w") as lock:  # xdist workers may get here together
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not MO.exists() or MO.stat().st_mtime < PO.stat().st_mtime:
                cwd = os.getcwd()
                os.chdir(BASE_DIR)
                try:
                    call_command(
                        "compilemessages", locale=["zh_Hans"], verbosity=0,
                        ignore_patterns=[".venv", "var", "node_modules", ".git"],
                    )
                finally:
                    os.chdir(cwd)
    # Another test in this process may have loaded the catalogue before the .mo was built.
    _clear_translation_caches()


def _unquote(text: str) -> str:
    return bytes(text.strip()[1:-1], "utf-8").decode("unicode_escape").encode("latin-1").decode("utf-8")


def parse_po(path: Path) -> list[dict]:
    """A small .po reader: entries with ctxt, id, id_plural, strs (list), flags; obsolete (#~) ones left out."""
    entries: list[dict] = []
    entry: dict | None = None
    key = None

    def new():
        return {"ctxt": None, "id": None, "id_plural": None, "strs": {}, "flags": set()}

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#~"):
            continue
        if line.startswith("#,"):
            if entry is None or entry["id"] is not None:
                entry = new()
                entries.append(entry)
            entry["flags"].update(f.strip() for f in line[2:].split(","))
            continue
        if line.startswith("#"):
            if entry is not None and entry["id"] is not None:
                entry = None
            continue
        match = re.match(r"(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(\".*\")$", line)
        if match:
            word, index, text = match.groups()
            if word in ("msgctxt", "msgid") and (entry is None or entry["id"] is not None):
                entry = new()
                entries.append(entry)
            if word == "msgctxt":
                key = ("ctxt", None)
            elif word == "msgid":
                key = ("id", None)
            elif word == "msgid_plural":
                key = ("id_plural", None)
            else:
                key = ("strs", int(index or 0))
            value = _unquote(text)
        elif line.startswith('"') and key is not None:
            value = _unquote(line)
        else:
            raise AssertionError(f"cannot read this .po line: {raw!r}")
        name, index = key
        if name == "strs":
            entry["strs"][index] = entry["strs"].get(index, "") + value
        else:
            entry[name] = (entry[name] or "") + value if match is None else value
    return entries


def _messages(entries):
    return [e for e in entries if e["id"]]


def test_po_header_is_filled_for_simplified_chinese():
    header = next(e for e in parse_po(PO) if e["id"] == "")
    text = header["strs"][0]
    assert "fuzzy" not in header["flags"]
    assert "Language: zh_Hans\n" in text
    assert "charset=UTF-8" in text
    assert "Plural-Forms: nplurals=1; plural=0;" in text


def test_po_has_no_untranslated_or_fuzzy_entry():
    entries = _messages(parse_po(PO))
    assert len(entries) > 300
    fuzzy = [e["id"] for e in entries if "fuzzy" in e["flags"]]
    untranslated = [e["id"] for e in entries if not e["strs"] or not all(e["strs"].values())]
    assert fuzzy == [], f"fuzzy entries: {fuzzy}"
    assert untranslated == [], f"untranslated entries: {untranslated}"
    plural_forms = [e["id"] for e in entries if e["id_plural"] and sorted(e["strs"]) != [0]]
    assert plural_forms == [], f"plural entries need exactly msgstr[0] (nplurals=1): {plural_forms}"


def test_po_translations_keep_every_placeholder():
    wrong = []
    for e in _messages(parse_po(PO)):
        expected = sorted(PLACEHOLDER.findall(e["id"]))
        for text in e["strs"].values():
            if sorted(PLACEHOLDER.findall(text)) != expected:
                wrong.append((e["id"], text))
    assert wrong == []


def test_msgfmt_statistics_say_all_translated():
    if shutil.which("msgfmt") is None:
        pytest.skip("msgfmt (gettext) is not installed")
    run = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", os.devnull, str(PO)],
        capture_output=True, text=True, env={**os.environ, "LC_ALL": "C"},
    )
    assert run.returncode == 0, run.stderr
    assert "untranslated" not in run.stderr and "fuzzy" not in run.stderr, run.stderr


def _source_folders() -> list[str]:
    """The top-level folders makemessages must see: every app (a package with an apps.py) and the templates."""
    apps = sorted(
        path.name for path in BASE_DIR.iterdir()
        if path.is_dir() and (path / "__init__.py").exists() and (path / "apps.py").exists()
    )
    folders = [*apps, "templates"]
    assert {"scorecard", "goals"} <= set(folders), folders
    return folders


def test_po_covers_every_string_marked_in_the_source(tmp_path):
    """Extract the strings afresh (makemessages on a copy of the code): each one must be in the .po."""
    if shutil.which("xgettext") is None:
        pytest.skip("xgettext (gettext) is not installed")
    for name in _source_folders():
        shutil.copytree(BASE_DIR / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(BASE_DIR / "manage.py", tmp_path / "manage.py")
    (tmp_path / "locale").mkdir()
    run = subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", "-v", "0"],
        cwd=tmp_path, capture_output=True, text=True,
        env={**os.environ, "DJANGO_SECRET_KEY": "i18n-test", "DJANGO_SETTINGS_MODULE": "scorecard.settings"},
    )
    assert run.returncode == 0, run.stderr
    fresh = {(e["ctxt"], e["id"]) for e in _messages(parse_po(tmp_path / "locale/zh_Hans/LC_MESSAGES/django.po"))}
    known = {(e["ctxt"], e["id"]) for e in _messages(parse_po(PO))}
    missing = sorted(fresh - known, key=str)
    assert missing == [], (
        "strings marked in the source but not in locale/zh_Hans/LC_MESSAGES/django.po — run "
        "`manage.py makemessages -l zh_Hans --ignore=.venv --ignore=var --ignore=tests` and translate them: "
        f"{missing}"
    )


# ------------------------------------------------------------- pages in Chinese


def _page(client, user, url, data=None, **extra):
    if user is not None:
        client.force_login(user)
    response = client.get(url, data or {}, **extra)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def _cjk_outside_deliberate(html: str) -> list[str]:
    for pattern in DELIBERATE_CJK:
        html = pattern.sub("", html)
    return sorted(set(CJK.findall(html)))


def test_login_page_in_chinese(client, db):
    html = _page(client, None, reverse("login"), **ZH)
    for text in ("登录", "工号", "密码", "忘记密码？", "记分卡"):
        assert text in html
    assert "Log in" not in html and "Password" not in html


def test_language_switch_then_login_page_in_chinese(client, db):
    client.post("/i18n/setlang/", {"language": "zh-hans"})
    html = _page(client, None, reverse("login"))
    assert '<html lang="zh-hans">' in html and "工号" in html


def test_center_scorecard_in_chinese(client, org):
    put(org.alice, "2026-07-02", first_contact_resolved=739, contacts_handled=1000)
    html = _page(client, org.dirk, reverse("scorecard", args=["C"]), Q3, **ZH)
    for text in ("财务", "客户", "内部流程", "学习与发展", "一次解决率", "平均处理时长", "服务水平", "客户满意度",
                 "致命错误率", "综合得分", "基准值", "典型值", "卓越值", "无数据", "得分说明", "组织单元", "统计期间", "本季度"):
        assert text in html, text
    for english in ("Overall score", "Weekly trend", "Why this score", "no data", "Financial", "This quarter"):
        assert english not in html, english


def test_kpi_detail_in_chinese(client, org):
    html = _page(client, org.alice, reverse("kpi-detail", args=["fcr"]), **ZH)
    for text in ("指标名称", "定义", "计算公式", "基准值", "典型值", "卓越值", "一次解决率", "越高越好", "维度内权重", "修改记录"):
        assert text in html, text
    for english in ("Definition", "Formula", "Baseline", "Higher is better", "Change history"):
        assert english not in html, english


def test_why_page_in_chinese(client, org):
    put(org.alice, "2026-07-02", first_contact_resolved=739, contacts_handled=1000)
    html = _page(client, org.alice, reverse("kpi-why", args=["ALICE", "fcr"]), Q3, **ZH)
    for text in ("得分说明", "分子", "分母", "阈值与得分", "介于典型值与卓越值之间", "综合得分"):
        assert text in html, text


def test_api_date_error_in_chinese(client, org):
    client.force_login(org.dirk)
    response = client.get("/api/v1/scorecards/", {"subject": "C", "start": "bad", "end": "2026-09-30"}, **ZH)
    assert response.status_code == 400
    assert response.json() == {"start": ["请按 YYYY-MM-DD 格式输入日期。"]}


def test_import_error_in_chinese(org):
    bad = "date,subject,contacts_handled\n2026-07-32,ALICE,5\n2026-07-01,NOBODY,-1\n"
    with translation.override("zh-hans"):
        with pytest.raises(ImportFailed) as exc:
            import_measurements(bad)
        messages = [str(error) for error in exc.value.errors]
    assert any("“2026-07-32”不是有效日期" in m and m.startswith("第 2 行") for m in messages), messages
    assert any("未知的考核对象“NOBODY”" in m for m in messages), messages
    assert all(CJK.search(m) for m in messages), messages


# ------------------------------------------------------- goals pages in Chinese


GOALS_Q3 = {"period": "2026-Q3"}


@pytest.fixture
def goals_q3(org):
    """The center's FCR objective cascaded to every agent, and Alice's draft performance contract, Q3 2026."""
    import datetime as dt

    from goals import cascades, contracts
    from goals.models import Objective
    from scorecard.models import Kpi

    start, end = dt.date(2026, 7, 1), dt.date(2026, 9, 30)
    fcr = Kpi.objects.get(code="fcr")
    common = dict(period_start=start, period_end=end, due_date=end, status=Objective.Status.AGREED, weight=50,
                  resources="Coaching", created_by=org.dirk)
    center = Objective.objects.create(owner_unit=org.center, title="Center FCR", result="Resolve more at first contact",
                                      kind=Objective.Kind.KPI, kpi=fcr, baseline=70, target=74, stretch=78, **common)
    cascades.cascade_apply(user=org.dirk, objective=center, depth="agents", method="same")
    course = Objective.objects.create(owner_person=org.alice, title="Complaint-handling course",
                                      result="Course completed", kind=Objective.Kind.MILESTONE,
                                      completion_criterion="Certificate uploaded", verification="HR checks it",
                                      **common)
    alice_fcr = Objective.objects.get(owner_person=org.alice, kpi=fcr)  # a draft, as cascading leaves it
    Objective.objects.filter(pk=alice_fcr.pk).update(status=Objective.Status.AGREED)
    alice_fcr.refresh_from_db()
    contract = contracts.contract_create(
        user=org.mike, person=org.alice, period_start=start, period_end=end,
        objectives=[(alice_fcr, 60), (course, 40)], support="Two coaching sessions a month.",
        reward_terms=[{"grade": "A", "outcome": "Bonus 150%"}, {"grade": "E", "outcome": "Improvement plan"}],
    )
    return center, alice_fcr, contract


def test_objective_list_in_chinese(client, org, goals_q3):
    html = _page(client, org.dirk, reverse("objective-list"), **ZH)
    for text in ("目标", "负责人", "目标值", "权重", "截止日期", "已确认", "里程碑", "一次解决率", "Center FCR"):
        assert text in html, text
    for english in ("Objectives", "Owner", "Due date", "Agreed", "Filter"):
        assert f">{english}<" not in html, english


def test_objective_detail_with_smart_check_in_chinese(client, org, goals_q3):
    center, _, _ = goals_q3
    html = _page(client, org.dirk, reverse("objective-detail", args=[center.pk]), **ZH)
    for text in ("SMART 原则检查", "具体", "可测量", "可达到", "现实", "时限", "基准值", "目标值", "挑战值",
                 "下级支撑目标", "进度检查", "影响因素"):
        assert text in html, text
    for english in ("SMART check", "Specific", "Measurable", "Time-based", "Contributing objectives"):
        assert english not in html, english


def test_cascade_tree_in_chinese(client, org, goals_q3):
    html = _page(client, org.dirk, reverse("cascade-tree"), GOALS_Q3, **ZH)
    for text in ("目标分解树", "目标与负责人", "目标值", "当前值", "进度", "季度", "Center FCR", "Alice Agent"):
        assert text in html, text
    for english in ("Cascade tree", "Objective and owner", "Current value", "Flags"):
        assert english not in html, english


def test_contract_pages_in_chinese(client, org, goals_q3):
    _, _, contract = goals_q3
    html = _page(client, org.dirk, reverse("contract-list"), **ZH)
    for text in ("业绩合同", "员工", "员工签名", "主管签名", "未签署", "草稿", "Alice Agent"):
        assert text in html, text
    assert "Performance contracts" not in html and "not signed" not in html
    html = _page(client, org.mike, reverse("contract-detail", args=[contract.pk]), **ZH)
    for text in ("业绩合同", "一、目标与权重", "三、奖惩", "评分等级", "以主管身份签署", "尚未签署", "完成标准："):
        assert text in html, text
    assert "Performance contract" not in html and "Rewards and penalties" not in html


def test_goals_pages_in_english_have_no_chinese(client, org, goals_q3):
    center, _, contract = goals_q3
    for user, url, data in (
        (org.dirk, reverse("objective-list"), None),
        (org.dirk, reverse("objective-detail", args=[center.pk]), None),
        (org.dirk, reverse("cascade-tree"), GOALS_Q3),
        (org.mike, reverse("contract-detail", args=[contract.pk]), None),
    ):
        html = _page(client, user, url, data, **EN)
        assert _cjk_outside_deliberate(html) == [], url


# ----------------------------------------------------- reviews pages in Chinese


@pytest.fixture
def review_cycle(org):
    """A Q3 2026 review cycle over the Inbound department (Alice's), launched: everyone in it has an appraisal."""
    import datetime as dt

    from reviews import services
    from reviews.models import default_scale

    first = dt.datetime(2026, 10, 7, 18, 0, tzinfo=dt.timezone.utc)
    step = dt.timedelta(days=7)
    cycle = services.cycle_create(
        user=org.hana, name="Q3 2026 appraisal", period_start=dt.date(2026, 7, 1), period_end=dt.date(2026, 9, 30),
        units=[org.d1], scale=default_scale(), weight_objectives=70, weight_competencies=30, weight_feedback=0,
        self_assessment_due=first, feedback_due=first + step, appraisal_due=first + 2 * step,
        calibration_due=first + 3 * step,
    )
    services.cycle_launch(user=org.hana, cycle=cycle)
    cycle.refresh_from_db()
    return cycle


def test_cycle_list_in_chinese(client, org, review_cycle):
    html = _page(client, org.hana, reverse("cycle-list"), **ZH)
    for text in ("考核周期", "新建考核周期", "统计期间", "阶段", "自我评估", "绩效考核", "Q3 2026 appraisal"):
        assert text in html, text
    for english in ("Review cycles", "New review cycle", "Phase", "Self-assessment", "Appraisals"):
        assert f">{english}<" not in html, english


def test_my_appraisals_in_chinese(client, org, review_cycle):
    html = _page(client, org.alice, reverse("my-appraisals"), **ZH)
    for text in ("我的绩效考核", "本人的绩效考核", "考核周期", "自我评估", "主管考核", "未开始", "尚未提交", "Q3 2026 appraisal"):
        assert text in html, text
    for english in ("My appraisals", "My own appraisals", "Cycle", "Not started", "Not yet submitted"):
        assert f">{english}<" not in html, english


def test_reviews_pages_in_english_have_no_chinese(client, org, review_cycle):
    for user, url in ((org.hana, reverse("cycle-list")), (org.alice, reverse("my-appraisals"))):
        html = _page(client, user, url, **EN)
        assert _cjk_outside_deliberate(html) == [], url


# ------------------------------------------------------------- the same in English


def test_login_page_in_english_has_no_chinese(client, db):
    html = _page(client, None, reverse("login"), **EN)
    assert "Log in" in html and "Employee code" in html
    assert _cjk_outside_deliberate(html) == []


def test_center_scorecard_in_english_has_no_chinese(client, org):
    put(org.alice, "2026-07-02", first_contact_resolved=739, contacts_handled=1000)
    html = _page(client, org.dirk, reverse("scorecard", args=["C"]), Q3, **EN)
    for text in ("Financial", "Customer", "Internal process", "Learning and growth", "First-contact resolution",
                 "Overall score"):
        assert text in html, text
    assert _cjk_outside_deliberate(html) == []


def test_kpi_detail_in_english_has_no_chinese_but_the_metric_terms(client, org):
    html = _page(client, org.alice, reverse("kpi-detail", args=["fcr"]), **EN)
    assert "First-contact resolution" in html and "Definition" in html
    assert _cjk_outside_deliberate(html) == []


def test_api_date_error_in_english(client, org):
    client.force_login(org.dirk)
    response = client.get("/api/v1/scorecards/", {"subject": "C", "start": "bad", "end": "2026-09-30"}, **EN)
    assert response.status_code == 400
    assert response.json() == {"start": ["Enter a date as YYYY-MM-DD."]}


def test_import_error_in_english(org):
    with translation.override("en"):
        with pytest.raises(ImportFailed) as exc:
            import_measurements("date,subject,contacts_handled\n2026-07-32,ALICE,5\n")
        messages = [str(error) for error in exc.value.errors]
    assert messages and not any(CJK.search(m) for m in messages), messages
