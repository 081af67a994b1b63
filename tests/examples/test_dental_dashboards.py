"""Every figure of the three example dashboards against hand-written SQL on the same data.

The sample data is seeded at a small scale with the clock fixed at 2026-06-15 10:00
Asia/Shanghai. Number cards are read from the dashboard page, charts from their Vega-Lite
JSON. The SQL below reads the tables directly (`"{base}__{table}"`, live rows only; on SQLite
or PostgreSQL, the few spellings they do not share chosen per store) and recomputes computed fields (overdue, 总体状态, 按时完成) from their inputs, so it does not
trust the engine's stored formula values. One restricted person is checked too: a staff
member who may only read the complaints they reported.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, timedelta
from typing import Any

import pytest
from pg_server import on_postgres

from engine import Workspace
from engine.org import tree_of
from gridbase.app import create_app
from tests.examples.conftest import (
    Browser,
    Clock,
    chart_values,
    copy_example,
    dashboard_numbers,
    local,
    sign_in,
)
from tests.examples.conftest import TestClient as _TestClient

NOW = local(2026, 6, 15, 10, 0)
NOW_UTC = "2026-06-15T02:00:00Z"
TODAY = "2026-06-15"
MONTH = "2026-06"
# The few spellings SQLite and PostgreSQL do not share: a stored UTC moment's local day, and a
# moment three days on (Asia/Shanghai has no DST).
LOCAL_DAY = ("to_char(CAST({col} AS timestamptz) AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD')" if on_postgres()
             else "date({col}, '+8 hours')")
THREE_DAYS_BEFORE = ("CAST({col} AS timestamptz) + interval '3 days' < CAST(? AS timestamptz)" if on_postgres()
                     else "julianday({col}, '+3 days') < julianday(?)")


@pytest.fixture(scope="module")
def seeded(dental_seeded: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp("dashboards")
    root = copy_example(tmp / "dalian_dental")
    # Let staff open the complaints dashboard too: they read only the complaints they reported.
    yaml = root / "bases" / "complaints.yaml"
    text = yaml.read_text(encoding="utf-8")
    assert "roles: [qc, director, dept_head, admin]" in text
    yaml.write_text(text.replace("roles: [qc, director, dept_head, admin]", "roles: [qc, director, dept_head, admin, staff]"),
                    encoding="utf-8")
    template = dental_seeded(seed_value=7, scale=0.1, at=NOW)
    db = template.copy(tmp, "dash")
    ws = Workspace.open(root, db=db)
    ws.clock = Clock(NOW)
    ws.apply()
    counts = {t: one(ws, f"SELECT count(*) FROM {t} WHERE _deleted_at IS NULL")
              for t in ("complaints__complaints", "directives__documents")}
    assert counts["complaints__complaints"] > 20 and counts["directives__documents"] >= 5
    app = create_app(ws, automations=False)
    clients = []

    def browser(person: str) -> Browser:
        client = _TestClient(app, base_url="http://testserver")
        client.__enter__()
        clients.append(client)
        assert sign_in(client, person).status_code == 303
        return Browser(client, person)

    yield ws, browser
    for c in clients:
        c.__exit__(None, None, None)
    ws.close()
    template.drop(db)


def q(ws: Workspace, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    return ws.storage.conn.execute(sql, params).fetchall()


def one(ws: Workspace, sql: str, params: tuple[Any, ...] = ()) -> Any:
    return q(ws, sql, params)[0][0]


def count_text(n: Any) -> str:
    return f"{int(n):,}"


def pct_text(part: Any, whole: Any) -> str:
    return f"{100.0 * (part or 0) / max(whole or 0, 1):.1f}%"


def grouped(ws: Workspace, sql: str, params: tuple[Any, ...] = (), names: dict[str, str] | None = None) -> dict[str, float]:
    """{label: value} from `SELECT key, value`; empty keys are left out (the chart calls them 'Empty')."""
    out: dict[str, float] = {}
    for key, value in q(ws, sql, params):
        if key is None or key == "":
            continue
        label = (names or {}).get(key, key)
        out[label] = out.get(label, 0) + float(value)
    return out


def chart(browser: Browser, path: str, index: int) -> dict[str, float]:
    response = browser.get(f"{path}/w/{index}.json")
    assert response.status_code == 200, (index, response.text)
    return chart_values(response.json())


def same_groups(got: dict[str, float], expected: dict[str, float], empty: float = 0) -> None:
    """The chart's groups equal the SQL's; an 'Empty' group is allowed only for the null rows, and
    zeros only for the date buckets a trend fills in between the first and the last."""
    nonempty = {k: v for k, v in got.items() if k in expected or (k not in ("Empty", "空", "（空）", "(空)", "空白") and v)}
    assert nonempty == pytest.approx(expected)
    assert sum(got.values()) == pytest.approx(sum(expected.values()) + empty)


def people_names(ws: Workspace) -> dict[str, str]:
    return {k: p.name for k, p in ws.config.people.items()}


# -- complaints -----------------------------------------------------------------------------------
def complaint_expectations(ws: Workspace, reporter: str | None = None) -> tuple[dict[str, str], dict[int, dict[str, float]]]:
    rule = "AND reporter = ?" if reporter else ""
    params: tuple[Any, ...] = (reporter,) if reporter else ()
    c = f"FROM complaints__complaints WHERE _deleted_at IS NULL {rule}"
    f = "FROM complaints__followups WHERE _deleted_at IS NULL"
    day = LOCAL_DAY.format(col="received_at")
    numbers = {
        "本月投诉": count_text(one(ws, f"SELECT count(*) {c} AND substr({day}, 1, 7) = ?", (*params, MONTH))),
        "未办结": count_text(one(ws, f"SELECT count(*) {c} AND (status IS NULL OR status != '已办结')", params)),
        "超时未办结": count_text(one(ws, f"SELECT count(*) {c} AND (status IS NULL OR status != '已办结') "
                                         f"AND {THREE_DAYS_BEFORE.format(col='received_at')}", (*params, NOW_UTC))),
    }
    avg = one(ws, f"SELECT avg(satisfaction) {c} AND status = '已办结'", params)
    numbers["平均满意度"] = f"{avg or 0:,.1f}"
    if reporter is None:
        numbers["负面回访率"] = pct_text(one(ws, f"SELECT sum(CASE WHEN negative != 0 THEN 1 ELSE 0 END) {f}"), one(ws, f"SELECT count(*) {f}"))
    charts = {
        5: grouped(ws, f"SELECT substr({day}, 1, 7), count(*) {c} GROUP BY 1", params),
        6: grouped(ws, f"SELECT channel, count(*) {c} GROUP BY 1", params),
        7: grouped(ws, f"SELECT category, count(*) {c} GROUP BY 1", params),
        8: grouped(ws, f"SELECT status, count(*) {c} GROUP BY 1", params),
        9: {tree_of(ws.config).path(k) if k else k: n  # a department is shown by its path in the tree
            for k, n in grouped(ws, f"SELECT department, count(*) {c} GROUP BY 1", params).items()},
    }
    if reporter is None:
        charts[10] = grouped(ws, f"SELECT satisfaction, count(*) {f} GROUP BY 1")
    return numbers, charts


def null_count(ws: Workspace, table: str, col: str, extra: str = "", params: tuple[Any, ...] = ()) -> int:
    return int(one(ws, f'SELECT count(*) FROM "{table}" WHERE _deleted_at IS NULL AND ("{col}" IS NULL OR "{col}" = \'\') '
                       f"{extra}", params))


def test_complaints_dashboard_matches_sql(seeded):
    ws, browser = seeded
    admin = browser("admin")
    path = "/b/complaints/d/overview"
    page = admin.get(path)
    assert page.status_code == 200
    numbers, charts = complaint_expectations(ws)
    assert dashboard_numbers(page.text) == numbers
    assert int(numbers["未办结"]) > 0 and int(numbers["超时未办结"]) > 0
    for index, expected in charts.items():
        col = {5: "received_at", 6: "channel", 7: "category", 8: "status", 9: "department"}.get(index)
        empty = null_count(ws, "complaints__complaints", col) if col else \
            null_count(ws, "complaints__followups", "satisfaction")
        same_groups(chart(admin, path, index), expected, empty)


def test_complaints_dashboard_for_a_staff_member_counts_only_their_reports(seeded):
    ws, browser = seeded
    plain_staff = [k for k, p in ws.config.people.items()
                   if set(p.roles) <= {"staff", "nurse", "doctor", "consultant"} and "staff" in p.roles]
    reports = Counter(r[0] for r in q(ws, "SELECT reporter FROM complaints__complaints WHERE _deleted_at IS NULL"))
    person = max(plain_staff, key=lambda k: (reports[k], k))
    assert reports[person] >= 1, "the seed should give some staff member a report"
    assert reports[person] < sum(reports.values())
    staff = browser(person)
    path = "/b/complaints/d/overview"
    page = staff.get(path)
    assert page.status_code == 200
    numbers, charts = complaint_expectations(ws, reporter=person)
    assert dashboard_numbers(page.text) == numbers  # 负面回访率 is left out: staff cannot read follow-ups
    assert staff.get(f"{path}/w/10.json").status_code == 404
    for index, expected in charts.items():
        col = {5: "received_at", 6: "channel", 7: "category", 8: "status", 9: "department"}[index]
        empty = null_count(ws, "complaints__complaints", col, "AND reporter = ?", (person,))
        same_groups(chart(staff, path, index), expected, empty)


# -- directives ------------------------------------------------------------------------------------
def document_states(ws: Workspace) -> dict[str, str]:
    """总体状态 of each document, recomputed from its tasks and the fixed clock."""
    tasks = q(ws, "SELECT j.value, t.status FROM directives__tasks t, json_each(t.document) j WHERE t._deleted_at IS NULL")
    total: Counter[str] = Counter(doc for doc, _ in tasks)
    done: Counter[str] = Counter(doc for doc, status in tasks if status == "已完成")
    out = {}
    for rid, deadline in q(ws, "SELECT _id, deadline FROM directives__documents WHERE _deleted_at IS NULL"):
        if total[rid] == 0:
            out[rid] = "未分派"
        elif done[rid] == total[rid]:
            out[rid] = "已完成"
        elif deadline < TODAY:
            out[rid] = "已逾期"
        else:
            out[rid] = "执行中"
    return out


def test_directives_dashboard_matches_sql(seeded):
    ws, browser = seeded
    viewer = browser("he_jianguo")  # the director
    path = "/b/directives/d/overview"
    page = viewer.get(path)
    assert page.status_code == 200
    states = document_states(ws)
    docs = "FROM directives__documents WHERE _deleted_at IS NULL"
    tasks = "FROM directives__tasks WHERE _deleted_at IS NULL"
    on_time = one(ws, "SELECT count(*) FROM directives__tasks t, json_each(t.document) j "
                      "JOIN directives__documents d ON d._id = j.value "
                      "WHERE t._deleted_at IS NULL AND t.status = '已完成' AND t.done_date <= d.deadline")
    numbers = {
        "本月收文": count_text(one(ws, f"SELECT count(*) {docs} AND substr(received, 1, 7) = ?", (MONTH,))),
        "未完成文件": count_text(sum(1 for s in states.values() if s != "已完成")),
        "逾期任务": count_text(one(ws, f"SELECT count(*) {tasks} AND status = '逾期'")),
        "任务按时完成率": pct_text(on_time, one(ws, f"SELECT count(*) {tasks} AND status = '已完成'")),
    }
    assert dashboard_numbers(page.text) == numbers
    same_groups(chart(viewer, path, 4), dict(Counter(states.values())))
    same_groups(chart(viewer, path, 5), grouped(ws, f"SELECT department, count(*) {tasks} GROUP BY 1"),
                null_count(ws, "directives__tasks", "department"))
    same_groups(chart(viewer, path, 6), grouped(ws, f"SELECT assignee, count(*) {tasks} GROUP BY 1", names=people_names(ws)),
                null_count(ws, "directives__tasks", "assignee"))
    same_groups(chart(viewer, path, 7), grouped(ws, f"SELECT issuer, count(*) {docs} GROUP BY 1"),
                null_count(ws, "directives__documents", "issuer"))
    same_groups(chart(viewer, path, 8), grouped(ws, f"SELECT substr(received, 1, 7), count(*) {docs} GROUP BY 1"),
                null_count(ws, "directives__documents", "received"))


# -- patients --------------------------------------------------------------------------------------
def test_patients_dashboard_matches_sql(seeded):
    ws, browser = seeded
    viewer = browser("gao_yue")  # a consultant
    path = "/b/patients/d/overview"
    page = viewer.get(path)
    assert page.status_code == 200
    v = "FROM patients__visits WHERE _deleted_at IS NULL"
    p = "FROM patients__patients WHERE _deleted_at IS NULL"
    fee = one(ws, f"SELECT sum(fee) {v} AND substr(visit_date, 1, 7) = ?", (MONTH,)) or 0
    numbers = {
        "今日就诊": count_text(one(ws, f"SELECT count(*) {v} AND visit_date = ?", (TODAY,))),
        "本月就诊": count_text(one(ws, f"SELECT count(*) {v} AND substr(visit_date, 1, 7) = ?", (MONTH,))),
        "本月新患者": count_text(one(ws, f"SELECT count(*) {p} AND substr(first_visit, 1, 7) = ?", (MONTH,))),
        "成交率": pct_text(one(ws, f"SELECT sum(CASE WHEN converted != 0 THEN 1 ELSE 0 END) {v}"), one(ws, f"SELECT count(*) {v}")),
        "初诊成交率": pct_text(one(ws, f"SELECT sum(CASE WHEN converted != 0 THEN 1 ELSE 0 END) {v} AND visit_type = '初诊'"),
                            one(ws, f"SELECT count(*) {v} AND visit_type = '初诊'")),
        "本月收费": f"¥{fee:,.2f}",
    }
    assert int(numbers["本月就诊"].replace(",", "")) > 0
    assert dashboard_numbers(page.text) == numbers
    conv = "AND converted != 0"
    same_groups(chart(viewer, path, 6), grouped(ws, f"SELECT center, count(*) {v} {conv} GROUP BY 1"),
                null_count(ws, "patients__visits", "center", conv))
    same_groups(chart(viewer, path, 7),
                grouped(ws, f"SELECT consultant, count(*) {v} {conv} GROUP BY 1", names=people_names(ws)),
                null_count(ws, "patients__visits", "consultant", conv))
    same_groups(chart(viewer, path, 8), grouped(ws, "SELECT j.value, count(*) FROM patients__visits t, "
                                                    "json_each(t.treatments) j WHERE t._deleted_at IS NULL GROUP BY 1"))
    same_groups(chart(viewer, path, 9), grouped(ws, f"SELECT visit_type, count(*) {v} GROUP BY 1"),
                null_count(ws, "patients__visits", "visit_type"))
    same_groups(chart(viewer, path, 10), grouped(ws, f"SELECT source, count(*) {p} GROUP BY 1"),
                null_count(ws, "patients__patients", "source"))
    weeks: Counter[str] = Counter()
    for (day,) in q(ws, f"SELECT visit_date {v}"):
        d = date.fromisoformat(day)
        weeks[(d - timedelta(days=d.weekday())).isoformat()] += 1
    same_groups(chart(viewer, path, 11), dict(weeks))


# -- the monthly dashboards: period filters, pivots, the previous month ------------------------------
def pivot_of(html: str, title: str) -> dict[str, dict[str, str]]:
    """{row label: {column label: cell}} of the pivot card titled `title`, totals included as 总计."""
    card = re.search(rf"<h2 id=\"dw-\d+\">{re.escape(title)}</h2>(.*?)</section>", html, re.S)
    assert card, title
    heads = re.findall(r'<th scope="col">([^<]*)</th>', card.group(1))[1:]
    out = {}
    for label, cells in re.findall(r'<tr><th scope="row">([^<]+)</th>(.*?)</tr>', card.group(1), re.S):
        out[label] = dict(zip(heads, re.findall(r"<td[^>]*>([^<]*)</td>", cells), strict=True))
    return out


def test_complaints_monthly_pivot_follows_the_period_and_department(seeded):
    ws, browser = seeded
    director = browser("he_jianguo")
    day = LOCAL_DAY.format(col="received_at")
    c = "FROM complaints__complaints WHERE _deleted_at IS NULL"
    for query, month in (("", MONTH), ("?period=last_month", "2026-05")):
        page = director.get(f"/b/complaints/d/monthly{query}")
        assert page.status_code == 200
        pivot = pivot_of(page.text, "投诉类别 × 责任科室")
        cells = q(ws, f"SELECT category, department, count(*) {c} AND substr({day}, 1, 7) = ? GROUP BY 1, 2", (month,))
        assert cells, "the seed should have complaints in June and May"
        paths = {k: tree_of(ws.config).path(k) for k in {d for _c, d, _n in cells if d}}  # columns named by the tree's paths
        for category, department, n in cells:
            assert pivot[category or "空"][paths.get(department) or "空"] == str(n)
        total = sum(n for _c, _d, n in cells)
        assert pivot["总计"]["总计"] == str(total)
        assert dashboard_numbers(page.text)["投诉数"] == str(total)
    # A department narrows the pivot to its column; the link keeps it in the form.
    page = director.get("/b/complaints/d/monthly?period=this_quarter&department=ortho")
    pivot = pivot_of(page.text, "投诉类别 × 责任科室")
    quarter = one(ws, f"SELECT count(*) {c} AND department = 'ortho' AND {day} BETWEEN '2026-04-01' AND '2026-06-30'")
    assert pivot.get("总计", {}).get("总计", "0") == str(quarter)
    assert re.search(r'<option value="ortho" selected>[^<]*口腔正畸中心</option>', page.text)


def test_visits_this_month_compared_with_last_month(seeded):
    ws, browser = seeded
    page = browser("gao_yue").get("/b/patients/d/monthly")  # a consultant
    assert page.status_code == 200
    v = "FROM patients__visits WHERE _deleted_at IS NULL"
    june = one(ws, f"SELECT count(*) {v} AND substr(visit_date, 1, 7) = '2026-06'")
    may = one(ws, f"SELECT count(*) {v} AND substr(visit_date, 1, 7) = '2026-05'")
    assert dashboard_numbers(page.text)["就诊数"] == count_text(june)
    card = re.search(r"<h2>就诊数</h2>.*?</section>", page.text, re.S)
    assert card
    change = june - may
    words = "增加" if change > 0 else "减少" if change < 0 else "持平"
    assert f"比上一周期（2026-05-01 – 2026-05-31：{may:,}）{words}" in card.group(0)
    assert f"上期 {may:,}" in card.group(0)
