"""The timeline page for a reader with masks, hidden fields and row rules (a small base of its own).

王芳 (handler) reads the jobs she owns; on them 患者 (the primary: bar titles) is masked in full,
电话 masked as a phone, 机密 and 类型 (the colour of bars) hidden. The timeline must draw her
bars with masked titles, no hidden value in a card, lane or colour, and no bar of another's job;
a lane of a linked 地点 she may not read is not named by its title.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from datetime import date, timedelta

import pytest

from engine import Workspace
from gridbase.app import create_app
from tests.views.conftest import PASSWORD, WORKSPACE
from tests_support import sign_in

pytestmark = pytest.mark.stores  # runs on SQLite and on PostgreSQL (tests/conftest.py)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

BASE = """\
base: sched
name: Sched
tables:
  sites:
    name: Sites
    primary: name
    fields:
      name: {type: text, name: 地点}
      manager: {type: person, name: 管理人}
  jobs:
    name: Jobs
    primary: patient
    fields:
      patient: {type: text, name: 患者}
      phone: {type: phone, name: 电话}
      secret: {type: text, name: 机密}
      kind: {type: single_select, name: 类型, options: [{name: KindAlpha, color: red}, {name: KindBeta, color: blue}]}
      owner: {type: person, name: 负责人}
      starts: {type: date, name: 开始}
      ends: {type: date, name: 结束}
      site: {type: link, name: 地点, table: sites, multiple: false}
    views:
      by_secret:
        type: timeline
        name: 按机密
        date_field: starts
        group_by: secret
        fields: [phone, secret, kind, owner]
        options: {end: ends, color_by: kind}
      by_owner:
        type: timeline
        name: 按负责人
        date_field: starts
        group_by: owner
        options: {end: ends, color_by: kind}
      by_site:
        type: timeline
        name: 按地点
        date_field: starts
        group_by: site
        options: {end: ends}
roles:
  handler:
    sites:
      access: read
      rows: {manager: $me}
    jobs:
      access: read
      rows: {owner: $me}
      fields:
        patient: {access: read, mask: full}
        phone: {access: read, mask: phone}
        secret: none
        kind: none
      other_fields: read
"""
BAR = re.compile(r'data-record="(rec[0-9A-Za-z]+)"')


def test_timeline_masks_titles_and_hides_fields_lanes_and_colours(make_workspace: Callable[..., Workspace]) -> None:
    ws = make_workspace({"sched": BASE}, WORKSPACE)
    jobs = ws.base("sched").table("jobs")
    site = ws.base("sched").table("sites").create({"name": "MKRTLSITE", "manager": "admin"}, actor="admin")["id"]
    today = date.today()
    mine = jobs.create({"site": [site], "patient": "MKRTLPATIENT", "phone": "17112345678", "secret": "MKRTLSECRET", "kind": "KindAlpha",
                        "owner": "wang", "starts": today.isoformat(), "ends": (today + timedelta(days=3)).isoformat()},
                       actor="admin")["id"]
    other = jobs.create({"patient": "MKRTLOTHER", "secret": "MKRTLOTHERSECRET", "owner": "admin",
                         "starts": today.isoformat()}, actor="admin")["id"]
    with TestClient(create_app(ws, automations=False), base_url="http://testserver") as client:
        assert sign_in(client, "wang", PASSWORD).status_code == 303
        for view in ("by_secret", "by_owner", "by_site"):
            page = client.get(f"/b/sched/t/jobs/timeline/{view}", params={"zoom": "month"})
            # a view grouped by a field she may not read is not offered to her at all
            assert page.status_code == (404 if view == "by_secret" else 200), (view, page.status_code)
            assert set(BAR.findall(page.text)) == (set() if view == "by_secret" else {mine}), view
            for needle in ("MKRTLPATIENT", "17112345678", "1711234", "MKRTLSECRET", "KindAlpha", "MKRTLOTHER", other,
                           "MKRTLSITE"):
                assert needle not in page.text, (view, needle)
            assert "opt-red" not in page.text, view  # the colour of a hidden option tells the option
        # a bar of a job she may not read cannot be moved either (and the answer names nothing)
        token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/").text)
        moved = client.post("/b/sched/t/jobs/timeline/by_owner/move",
                            data={"record": other, "days": "1", "csrf_token": token.group(1) if token else ""})
        assert moved.status_code in (403, 404) and "MKRTLOTHER" not in moved.text
    with TestClient(create_app(ws, automations=False), base_url="http://testserver") as admin:
        assert sign_in(admin, "admin", PASSWORD).status_code == 303
        # what the checks above look for is there for someone who may read it
        page = admin.get("/b/sched/t/jobs/timeline/by_site", params={"zoom": "month"}).text
        assert "MKRTLSITE" in page and "MKRTLPATIENT" in page
        assert "opt-red" in admin.get("/b/sched/t/jobs/timeline/by_owner", params={"zoom": "month"}).text
    assert jobs.get(other, actor="admin")["fields"]["starts"] == today.isoformat()
