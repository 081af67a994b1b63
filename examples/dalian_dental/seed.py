"""Synthetic sample data for the Dalian dental workspace: one year, ending today.

`seed(ws, rng=random.Random(1), scale=1.0)` fills the three bases with about 20,000 visits
(≈8,000 patients), a few hundred complaints and follow-up calls (≈10% negative, each negative
call with its complaint linked back) and a few dozen directives split into department tasks.
Everything comes from `rng`, so the same seed on the same day (`ws.now()`) gives the same data. No real
person's data: names are drawn from pools of common surnames and given-name characters, phones
are random 13x numbers and ID numbers only have the right shape (Dalian area code, birth date,
sequence and a correct check digit).

Words: a *centre* is one of the six clinical departments; a *course* is the run of visits one
patient makes to one centre (first visit, follow-ups, sometimes a referral on).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

CENTERS = {
    "implant": "口腔种植中心",
    "ortho": "口腔正畸中心",
    "prosth": "口腔修复中心",
    "pediatric": "儿童口腔中心",
    "endo_perio": "牙体牙髓牙周中心",
    "oral_surgery": "口腔颌面外科中心",
}
DEPARTMENTS = {**CENTERS, "service": "客服中心", "medical_affairs": "医务部", "office": "院办", "qc": "质控部"}
# The fictional second campus (开发区院区) and its centres, as paths of the organisation tree.
KFQ_CENTERS = {"kfq_general": "开发区院区 / 口腔综合中心", "kfq_ortho": "开发区院区 / 正畸儿牙中心"}

# share of courses, visits per course (min, max), days between visits (min, max)
COURSE = {
    "implant": (0.17, (2, 6), (7, 60)),
    "ortho": (0.11, (4, 10), (25, 45)),
    "prosth": (0.14, (2, 4), (5, 21)),
    "pediatric": (0.16, (1, 4), (14, 90)),
    "endo_perio": (0.28, (1, 5), (5, 30)),
    "oral_surgery": (0.14, (1, 2), (7, 10)),
}
# chance that a first consultation turns into a treatment plan
CONVERSION = {"implant": 0.42, "ortho": 0.38, "prosth": 0.55, "pediatric": 0.78, "endo_perio": 0.86, "oral_surgery": 0.9}
# where a finished course is sometimes referred on
REFERRAL = {"endo_perio": "prosth", "oral_surgery": "implant", "pediatric": "ortho", "implant": "prosth"}

SURNAMES = ("王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
            "苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史"
            "顾侯邵孟龙万段钱汤尹黎易常武乔贺赖龚文于单刁隋丛初栾")
MALE = "伟强磊军洋勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林峰博文彬晨阳东亮志"
FEMALE = "芳娜敏静丽艳娟霞秀玲桂英华慧巧美婷雪琳晶颖倩欣悦怡佳彤琪萱妍雯璐楠月红梅兰莉"
KIDS = "子涵梓轩一诺浩然宇轩欣怡梓涵诗涵可馨雨桐沐宸若汐俊熙安琪"

DALIAN_AREAS = ("210202", "210203", "210204", "210211", "210212", "210213", "210214", "210281", "210283")
SOURCES = (("自然到院", 22), ("老客转介", 24), ("网络咨询", 14), ("美团/大众点评", 16), ("抖音", 12),
           ("社区活动", 7), ("企业团检", 5))

TREATMENTS = {
    "implant": [("种植", 1.0), ("拔牙", 0.25), ("全瓷冠", 0.35)],
    "ortho": [("正畸", 1.0), ("洁治", 0.2)],
    "prosth": [("全瓷冠", 0.6), ("贴面", 0.25), ("活动义齿", 0.2)],
    "pediatric": [("窝沟封闭", 0.4), ("涂氟", 0.45), ("补牙", 0.45), ("拔牙", 0.15)],
    "endo_perio": [("根管治疗", 0.45), ("补牙", 0.4), ("洁治", 0.35), ("牙周治疗", 0.3)],
    "oral_surgery": [("拔牙", 1.0)],
}
FEES = {"种植": (6800, 22000), "正畸": (12000, 38000), "全瓷冠": (1800, 4800), "贴面": (2200, 4500),
        "根管治疗": (800, 2600), "洁治": (200, 420), "拔牙": (150, 1500), "补牙": (200, 800),
        "窝沟封闭": (100, 220), "涂氟": (80, 160), "牙周治疗": (500, 3200), "活动义齿": (1500, 6500)}
FOLLOW_UP_FEES = {"implant": (0, 9000), "ortho": (0, 600), "prosth": (0, 3000), "pediatric": (0, 300),
                  "endo_perio": (0, 1200), "oral_surgery": (0, 200)}

COMPLAINTS = {
    "implant": ["{side}后牙缺失{n}个月，要求种植修复", "{side}前牙外伤后缺失，要求种植", "活动假牙戴不住，咨询种植牙",
                "种植体二期复查", "种植牙上部修复"],
    "ortho": ["牙齿不齐，要求矫正", "地包天，家长要求矫正", "前牙前突，要求改善", "隐形矫治复诊", "矫治器托槽脱落"],
    "prosth": ["{side}后牙根管治疗后要求做牙冠", "前牙颜色发黄，要求美学修复", "旧烤瓷牙边缘发黑，要求更换",
               "全口牙缺失多年，要求镶牙"],
    "pediatric": ["孩子牙齿上有黑点", "孩子{side}后牙疼痛两天", "乳牙未掉恒牙已长出", "定期涂氟", "窝沟封闭"],
    "endo_perio": ["{side}后牙冷热刺激痛{n}天", "{side}后牙夜间自发痛", "刷牙出血、口臭", "牙齿松动", "洁牙",
                   "{side}后牙食物嵌塞"],
    "oral_surgery": ["智齿反复肿痛", "{side}智齿阻生，要求拔除", "残根要求拔除", "正畸前要求拔牙"],
}
DIAGNOSES = {
    "implant": ["{t}缺失", "{t}、{t2}缺失", "{t}残根，拟拔除后种植", "{t}种植术后"],
    "ortho": ["安氏I类错颌畸形，牙列拥挤", "安氏II类错颌畸形", "安氏III类错颌畸形", "前牙深覆颌深覆盖", "正畸治疗中"],
    "prosth": ["{t}牙体缺损", "{t}根管治疗后", "{t}、{t2}氟斑牙", "上下颌牙列缺损", "上下颌牙列缺失"],
    "pediatric": ["{d}龋齿", "{d}慢性牙髓炎", "{d}滞留", "恒牙窝沟较深", "乳牙列，龋风险高"],
    "endo_perio": ["{t}深龋", "{t}慢性牙髓炎", "{t}急性牙髓炎", "{t}慢性根尖周炎", "慢性牙周炎", "牙龈炎"],
    "oral_surgery": ["{w}近中阻生", "{w}垂直阻生", "{t}残根", "{w}冠周炎"],
}

COMPLAINT_TEXTS = {
    "服务态度": ["前台接待态度冷淡，询问问题不耐烦", "咨询师反复推销高价项目", "电话预约时客服语气生硬",
                 "护士操作前没有解释，患者感觉不被尊重"],
    "医疗质量": ["补牙后一周内充填物脱落", "种植术后疼痛持续，复诊未得到明确解释", "牙冠戴入后咬合不适",
                 "根管治疗后仍然疼痛", "矫治器频繁脱落"],
    "收费问题": ["实际收费与咨询时报价不一致", "对种植牙收费明细有疑问，要求解释", "医保结算金额有误",
                 "发票开具延迟"],
    "等候时间": ["预约后仍等候超过一小时", "周末候诊人数多，等候时间长", "取模后修复体迟迟未到"],
    "环境设施": ["候诊区空调温度过低", "停车位不足", "卫生间清洁不及时", "儿童诊区玩具损坏"],
    "其他": ["希望增加晚间门诊时段", "短信提醒未收到", "希望提供线上查看检查结果"],
}
RESULTS = {
    "服务态度": ["已与患者当面沟通并致歉，患者表示理解。", "已对相关人员进行批评教育并纳入绩效考核。"],
    "医疗质量": ["已安排主任复诊并免费处理，患者满意。", "经医务部讨论，属正常治疗反应，已向患者解释并随访。"],
    "收费问题": ["已核对费用明细并退还差额。", "已向患者逐项解释收费明细，患者无异议。"],
    "等候时间": ["已调整排班，增加周末出诊医生。", "已联系技工室加急制作并致歉。"],
    "环境设施": ["已联系后勤维修，问题已解决。", "已加强保洁巡查频次。"],
    "其他": ["已将建议转交院办研究。", "已向患者说明情况。"],
}
FEEDBACK_GOOD = ["医生很耐心，讲解清楚", "治疗不疼，体验很好", "护士很细心", "环境干净整洁", "整体满意，会推荐朋友",
                 "预约方便，基本不用等"]
FEEDBACK_BAD = ["治疗后仍然疼痛，没人跟进", "等候时间太长", "收费比咨询时说的高", "医生态度不耐烦",
                "修复体戴着不舒服，复诊很难约", "前台服务态度差", "孩子补的牙掉了"]
FEEDBACK_MIXED = ["治疗还可以，就是等得久", "价格偏高", "停车不方便"]

ISSUERS = {  # issuer -> (weight, document-number prefix)
    "国家卫健委": (3, "国卫办医政函"), "省卫健委": (6, "辽卫办发"), "市卫健委": (12, "大卫健发"),
    "区卫健局": (7, "沙卫健发"), "医保局": (6, "大医保发"), "其他": (3, "大市监函"),
}
DOCUMENTS = [  # (title template, departments responsible)
    ("关于开展{y}年口腔医疗质量安全专项检查的通知", ["qc", "medical_affairs"]),
    ("关于做好医保基金使用自查自纠工作的通知", ["office", "medical_affairs", "qc"]),
    ("关于进一步加强医疗机构院内感染防控工作的通知", ["qc", "implant", "oral_surgery"]),
    ("关于开展{y}年儿童口腔健康公益活动的通知", ["pediatric", "service"]),
    ("关于报送{q}医疗服务数据的通知", ["office", "medical_affairs"]),
    ("关于落实口腔种植医疗服务价格专项治理的通知", ["implant", "prosth", "office"]),
    ("关于开展医疗行业作风建设专项整治的通知", ["office", "medical_affairs"]),
    ("关于做好{h}期间医疗安全工作的通知", ["medical_affairs", "qc", "service"]),
    ("关于开展医疗机构消防安全检查的通知", ["office"]),
    ("关于做好放射诊疗许可校验工作的通知", ["medical_affairs", "oral_surgery"]),
    ("关于开展医疗废物管理专项检查的通知", ["qc", "office"]),
    ("关于开展{y}年患者满意度调查的通知", ["service", "qc"]),
    ("关于开展病历书写质量评查的通知", ["medical_affairs", "qc", "endo_perio"]),
    ("关于规范口腔正畸诊疗服务的通知", ["ortho", "medical_affairs"]),
    ("关于开展爱牙日宣传活动的通知", ["service", "pediatric", "endo_perio"]),
    ("关于加强医疗广告和互联网营销管理的通知", ["office", "service"]),
]
TASK_TEXTS = ["按通知要求开展自查并提交自查报告", "组织本部门人员学习文件精神", "整改发现的问题并上传整改材料",
              "报送本部门相关数据", "落实责任人并制定工作方案"]
HOLIDAYS = ["春节", "清明", "劳动节", "端午", "国庆"]
QUARTERS = ["第一季度", "第二季度", "第三季度", "第四季度"]


def pick(rng: random.Random, weighted: Sequence[tuple[Any, float]]) -> Any:
    return rng.choices([v for v, _ in weighted], weights=[w for _, w in weighted])[0]


def person_name(rng: random.Random, gender: str, child: bool = False) -> str:
    surname = rng.choice(SURNAMES)
    if child and rng.random() < 0.6:
        i = rng.randrange(0, len(KIDS) - 1, 2)
        return surname + KIDS[i:i + 2]
    pool = MALE if gender == "男" else FEMALE
    given = rng.choice(pool) + (rng.choice(pool) if rng.random() < 0.7 else "")
    return surname + given


def phone(rng: random.Random) -> str:
    return f"13{rng.randrange(10)}{rng.randrange(10**8):08d}"


def id_number(rng: random.Random, birth: date, gender: str) -> str:
    """An 18-character ID with the right shape and check digit (GB 11643); not a real person's."""
    seq = rng.randrange(0, 500) * 2 + (1 if gender == "男" else 0)
    body = f"{rng.choice(DALIAN_AREAS)}{birth:%Y%m%d}{seq:03d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    check = "10X98765432"[sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11]
    return body + check


def teeth(rng: random.Random, text: str) -> str:
    def perm() -> str:  # a permanent tooth in FDI notation, e.g. 36
        return f"{rng.choice('1234')}{rng.randint(1, 7)}"

    def decid() -> str:  # a primary (baby) tooth, e.g. 75
        return f"{rng.choice('5678')}{rng.randint(1, 5)}"

    side = rng.choice(["左上", "右上", "左下", "右下"])
    return text.format(t=perm(), t2=perm(), d=decid(), w=rng.choice(["18", "28", "38", "48"]), side=side,
                       n=rng.randint(2, 10))


def visit_day(rng: random.Random, start: date, days: int) -> date:
    """A day in the window; weekends are busier at a dental clinic, Spring Festival is quiet."""
    while True:
        day = start + timedelta(days=rng.randrange(days))
        weight = 1.35 if day.weekday() >= 5 else 1.0
        if day.month == 2 and day.day <= 14:
            weight *= 0.4
        if rng.random() < weight / 1.35:
            return day


def stamp(day: date, rng: random.Random, first: int = 8, last: int = 17) -> str:
    return f"{day.isoformat()}T{rng.randint(first, last):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}+08:00"


class Staff:
    """The workspace's people, grouped the way the generator needs them."""

    def __init__(self, people: dict[str, Any]) -> None:
        self.people = people

        def having(role: str, dept: str | None = None) -> list[str]:
            return [k for k, p in people.items() if role in p.roles and (dept is None or p.department == dept)]

        self.all_doctors, self.all_nurses, self.all_consultants = having("doctor"), having("nurse"), having("consultant")
        self.doctors = {c: having("doctor", c) or self.all_doctors for c in CENTERS}
        self.nurses = {c: having("nurse", c) or self.all_nurses for c in CENTERS}
        self.consultants = {c: having("consultant", c) or self.all_consultants for c in CENTERS}
        self.service = having("service") or list(people)
        # (not the HIS's service account his_bot: it signs in nowhere and is given no work)
        self.everyone = [k for k, p in people.items() if "admin" not in p.roles and "his" not in p.roles] or list(people)
        self.heads: dict[str, str] = {}
        for dept in DEPARTMENTS:
            members = [k for k, p in people.items() if p.department == dept]
            head = [k for k in members if "dept_head" in people[k].roles]
            if head or members:
                self.heads[dept] = (head or members)[0]
        self.director = having("director")
        self.clerks = having("clerk")

    def head(self, dept: str) -> str | None:
        return self.heads.get(dept)


def seed(ws: Any, *, rng: random.Random, scale: float = 1.0) -> dict[str, int]:
    """Fill the workspace with a year of synthetic data; return the number of rows per table."""
    tz = ZoneInfo(getattr(ws.config, "timezone", None) or "Asia/Shanghai")
    # The workspace clock (`ws.now()`, replaceable in tests) decides "today"; plain now() otherwise.
    now = ws.now() if callable(getattr(ws, "now", None)) else datetime.now(tz)
    today = now.astimezone(tz).date()
    staff = Staff(ws.config.people)
    counts: dict[str, int] = {}
    patients, visits = make_patients_and_visits(rng, staff, today, scale)
    patient_ids = ws.base("patients").table("patients").insert_many(p["row"] for p in patients)
    counts["patients"] = len(patient_ids)
    owners = [visit.pop("_patient") for visit in visits]
    for visit, index in zip(visits, owners, strict=True):
        visit["patient"] = [patient_ids[index]]
    counts["visits"] = len(ws.base("patients").table("visits").insert_many(visits))
    seen = [(v["visit_date"], patients[i]) for v, i in zip(visits, owners, strict=True)]
    counts.update(seed_complaints(ws, rng, staff, today, scale, patients, seen))
    counts.update(seed_directives(ws, rng, staff, today, scale))
    counts["appointments"] = seed_appointments(ws, rng, staff, today, scale, patient_ids)
    return counts


def seed_appointments(ws: Any, rng: random.Random, staff: Staff, today: date, scale: float,
                      patient_ids: Sequence[str]) -> int:
    """Appointments of the next two weeks, as the HIS would have sent them (HL7 SIU^S12)."""
    rows = []
    for n in range(max(1, round(60 * scale)) if patient_ids else 0):
        day = today + timedelta(days=rng.randint(1, 14))
        doctor = rng.choice(staff.all_doctors) if staff.all_doctors else None
        rows.append({"appointment_id": f"A{31000 + n}", "patient": [rng.choice(patient_ids)],
                     "start": f"{day.isoformat()} {rng.randint(8, 16):02d}:{rng.choice((0, 30)):02d}",
                     "minutes": rng.choice((30, 45, 60)), "reason": rng.choice(("复诊", "洁治", "种植复查", "根管治疗", "正畸复诊")),
                     "doctor_name": staff.people[doctor].name if doctor else ""})
    return len(ws.base("patients").table("appointments").insert_many(rows))


# -- patients and visits ------------------------------------------------------------------
def make_patients_and_visits(rng: random.Random, staff: Staff, today: date,
                             scale: float) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    target = max(1, round(20000 * scale))
    start = today - timedelta(days=364)
    patients: list[dict[str, Any]] = []
    visits: list[dict[str, Any]] = []
    centers = [(c, share) for c, (share, _, _) in COURSE.items()]
    while len(visits) < target:
        index = len(patients)
        center = pick(rng, centers)
        gender = "女" if rng.random() < 0.56 else "男"
        child = center == "pediatric" or (center == "ortho" and rng.random() < 0.5)
        age = rng.randint(3, 13) if child else min(85, max(16, round(rng.gauss(42, 15))))
        birth = today - timedelta(days=age * 365 + rng.randrange(365))
        returning = rng.random() < 0.3  # patients who came before this year
        first_day = visit_day(rng, start, 365)
        first_visit = first_day - timedelta(days=rng.randint(60, 5 * 365)) if returning else first_day
        name = person_name(rng, gender, child)
        patient = {"row": {"name": name, "gender": gender, "birth_date": birth.isoformat(), "phone": phone(rng),
                           "id_number": id_number(rng, birth, gender), "source": pick(rng, SOURCES),
                           "first_visit": first_visit.isoformat()},
                   "name": name, "center": center}
        patients.append(patient)
        consultant = rng.choice(staff.consultants[center])
        day, kind = first_day, ("复诊" if returning else "初诊")
        while center and day <= today and len(visits) < target:
            course = course_visits(rng, staff, center, day, today, kind, consultant)
            for v in course:
                v["_patient"] = index
            visits.extend(course)
            nxt = REFERRAL.get(center)
            if not nxt or rng.random() > 0.12 or not course or not course[0]["converted"]:
                break
            center, kind = nxt, "转诊"
            day = date.fromisoformat(course[-1]["visit_date"]) + timedelta(days=rng.randint(3, 30))
    return patients, visits[:target]


def course_visits(rng: random.Random, staff: Staff, center: str, day: date, today: date, kind: str,
                  consultant: str) -> list[dict[str, Any]]:
    _, (low, high), (gap_low, gap_high) = COURSE[center]
    doctor, nurse = rng.choice(staff.doctors[center]), rng.choice(staff.nurses[center])
    converted = rng.random() < (CONVERSION[center] if kind != "复诊" else 0.92)
    planned = rng.randint(low, high) if converted else 1
    chosen = [t for t, p in TREATMENTS[center] if rng.random() < p] or [TREATMENTS[center][0][0]]
    complaint = teeth(rng, rng.choice(COMPLAINTS[center]))
    diagnosis = teeth(rng, rng.choice(DIAGNOSES[center]))
    out: list[dict[str, Any]] = []
    for n in range(planned):
        if day > today:
            break
        first = n == 0
        if first and converted:
            fee = sum(rng.uniform(*FEES[t]) for t in chosen)
        elif converted:
            fee = rng.uniform(*FOLLOW_UP_FEES[center])
        else:
            fee = 0.0
        fee = round(fee / 10) * 10.0
        out.append({
            "visit_date": day.isoformat(),
            "visit_type": kind if first else "复诊",
            "doctor": doctor if rng.random() < 0.9 else rng.choice(staff.doctors[center]),
            "nurse": nurse if rng.random() < 0.8 else rng.choice(staff.nurses[center]),
            "consultant": consultant if first or rng.random() < 0.3 else None,
            "center": CENTERS[center],
            "complaint": complaint if first else f"{CENTERS[center][2:-2]}复诊",
            "diagnosis": diagnosis,
            "treatments": chosen if converted else [],
            "converted": bool(converted and first),
            "fee": fee if fee else None,
        })
        day += timedelta(days=rng.randint(gap_low, gap_high))
    return out


# -- complaints and follow-ups ------------------------------------------------------------
def seed_complaints(ws: Any, rng: random.Random, staff: Staff, today: date, scale: float,
                    patients: list[dict[str, Any]], seen: list[tuple[str, dict[str, Any]]]) -> dict[str, int]:
    """`seen` pairs each visit's date with its patient; follow-up calls are made after visits."""
    base = ws.base("complaints")
    n_calls = max(1, round(900 * scale))
    sample = sorted(rng.sample(seen, min(n_calls, len(seen))), key=lambda pair: pair[0])
    calls: list[dict[str, Any]] = []
    for visit_date, patient in sample:
        day = date.fromisoformat(visit_date) + timedelta(days=rng.randint(1, 3))
        if day > today:
            continue
        negative = rng.random() < 0.1
        if negative:
            sat, text = pick(rng, [("不满意", 7), ("非常不满意", 2), ("一般", 1)]), rng.choice(FEEDBACK_BAD)
        else:
            sat = pick(rng, [("非常满意", 55), ("满意", 35), ("一般", 10)])
            text = rng.choice(FEEDBACK_MIXED if sat == "一般" else FEEDBACK_GOOD)
        calls.append({"followup_date": day.isoformat(), "caller": rng.choice(staff.service),
                      "patient_name": patient["name"], "patient_phone": patient["row"]["phone"],
                      "satisfaction": sat, "feedback": text, "negative": negative})
    call_ids = base.table("followups").insert_many(calls)
    rows: list[dict[str, Any]] = []
    for call, cid in zip(calls, call_ids, strict=True):
        if call["negative"]:
            day = date.fromisoformat(call["followup_date"])
            rows.append(complaint_row(rng, staff, today, day, "回访", call["caller"], call["patient_name"],
                                      call["patient_phone"], feedback=call["feedback"], followup=cid))
    for _ in range(max(1, round(260 * scale))):
        day = visit_day(rng, today - timedelta(days=364), 365)
        p = rng.choice(patients)
        channel = pick(rng, [("线下", 30), ("电话", 25), ("扫码表单", 25), ("邮箱", 10)])
        reporter = rng.choice(staff.service if channel in ("电话", "邮箱") else staff.everyone)
        has_patient = rng.random() < 0.8
        rows.append(complaint_row(rng, staff, today, day, channel, reporter, p["name"] if has_patient else None,
                                  p["row"]["phone"] if has_patient else None))
    rows += campus_complaints(ws, staff, today, scale)
    rows.sort(key=lambda r: r["received_at"])
    ids = base.table("complaints").insert_many(rows)
    return {"followups": len(call_ids), "complaints": len(ids)}


def campus_complaints(ws: Any, staff: Staff, today: date, scale: float) -> list[dict[str, Any]]:
    """Complaints about the second campus's centres (a random stream of their own, so the first
    campus's data stays as it was), reported by its people and handled by its centres' heads."""
    rng = random.Random(20261207)
    people = ws.config.people
    centres = [k for k in KFQ_CENTERS if k in ws.config.departments]
    local = [k for k, p in people.items() if p.department in centres or p.department == "kaifaqu"]
    if not centres or not local:
        return []
    rows = []
    for _ in range(max(1, round(60 * scale))):
        day = visit_day(rng, today - timedelta(days=364), 365)
        row = complaint_row(rng, staff, today, day, pick(rng, [("线下", 40), ("扫码表单", 40), ("电话", 20)]),
                            rng.choice(local), None, None)
        centre = rng.choice(centres)
        heads = [k for k, p in people.items() if p.department == centre and "dept_head" in p.roles]
        row.update(department=KFQ_CENTERS[centre], owner=heads[0] if row["owner"] and heads else None)
        rows.append(row)
    return rows


def complaint_row(rng: random.Random, staff: Staff, today: date, day: date, channel: str, reporter: str,
                  patient_name: str | None, patient_phone: str | None, *, feedback: str | None = None,
                  followup: str | None = None) -> dict[str, Any]:
    category = pick(rng, [("服务态度", 28), ("医疗质量", 22), ("收费问题", 15), ("等候时间", 18), ("环境设施", 9), ("其他", 8)])
    if category == "医疗质量":
        dept = rng.choice(list(CENTERS))
    elif category in ("服务态度", "等候时间"):
        dept = pick(rng, [("service", 4)] + [(c, 1) for c in CENTERS])
    elif category == "收费问题":
        dept = pick(rng, [("office", 2), ("service", 1), ("implant", 1), ("ortho", 1)])
    elif category == "环境设施":
        dept = "office"
    else:
        dept = pick(rng, [("service", 2), ("medical_affairs", 1), ("office", 1)])
    text = feedback or rng.choice(COMPLAINT_TEXTS[category])
    age = (today - day).days
    if age > 20:
        status = pick(rng, [("已办结", 94), ("待回访", 3), ("处理中", 3)])
    elif age > 3:
        status = pick(rng, [("已办结", 60), ("待回访", 20), ("处理中", 15), ("待受理", 5)])
    else:
        status = pick(rng, [("待受理", 45), ("处理中", 40), ("待回访", 10), ("已办结", 5)])
    row: dict[str, Any] = {
        "title": (f"回访负面反馈：{patient_name}" if followup else text[:20]),
        "channel": channel,
        "reporter": reporter,
        "patient_name": patient_name,
        "patient_phone": patient_phone,
        "category": category,
        "description": text,
        "severity": pick(rng, [("一般", 70), ("较重", 25), ("严重", 5)]),
        "department": DEPARTMENTS[dept],
        "owner": staff.head(dept) if status != "待受理" else None,
        "status": status,
        "received_at": stamp(day, rng),
    }
    if status in ("待回访", "已办结"):
        row["result"] = rng.choice(RESULTS[category])
    if status == "已办结":
        row["satisfaction"] = pick(rng, [(5, 35), (4, 40), (3, 15), (2, 7), (1, 3)])
    if followup:
        row["followup"] = [followup]
    return {k: v for k, v in row.items() if v is not None}


# -- directives ---------------------------------------------------------------------------
def seed_directives(ws: Any, rng: random.Random, staff: Staff, today: date, scale: float) -> dict[str, int]:
    base = ws.base("directives")
    n_docs = max(3, round(48 * scale))
    start = today - timedelta(days=364)
    docs: list[dict[str, Any]] = []
    plans: list[list[str]] = []
    numbers: dict[str, int] = {}
    for _ in range(n_docs):
        received = start + timedelta(days=rng.randrange(365))
        title, depts = rng.choice(DOCUMENTS)
        issuer = pick(rng, [(k, w) for k, (w, _) in ISSUERS.items()])
        prefix = ISSUERS[issuer][1]
        numbers[prefix] = numbers.get(prefix, 0) + rng.randint(1, 9)
        depts = [d for d in depts if staff.head(d)] or [d for d in DEPARTMENTS if staff.head(d)][:1]
        heads = [h for d in depts if (h := staff.head(d))]
        owners = sorted({heads[0], *rng.sample(staff.clerks, min(1, len(staff.clerks)))})
        docs.append({
            "title": title.format(y=received.year, q=QUARTERS[(received.month - 1) // 3], h=rng.choice(HOLIDAYS)),
            "doc_no": f"{prefix}〔{received.year}〕{numbers[prefix]}号",
            "issuer": issuer,
            "received": received.isoformat(),
            "deadline": (received + timedelta(days=rng.choice([7, 10, 14, 15, 20, 30, 30, 45]))).isoformat(),
            "summary": "请各单位高度重视，按要求完成相关工作并按时报送材料。",
            "departments": heads,
            "owners": owners,
        })
        plans.append(depts)
    order = sorted(range(n_docs), key=lambda i: docs[i]["received"])
    docs, plans = [docs[i] for i in order], [plans[i] for i in order]
    doc_ids = base.table("documents").insert_many(docs)
    tasks: list[dict[str, Any]] = []
    for doc, depts, did in zip(docs, plans, doc_ids, strict=True):
        received, deadline = date.fromisoformat(doc["received"]), date.fromisoformat(doc["deadline"])
        for dept in depts:
            task: dict[str, Any] = {"task": rng.choice(TASK_TEXTS), "document": [did], "department": DEPARTMENTS[dept],
                                    "assignee": staff.head(dept)}
            if deadline < today:
                task["status"] = pick(rng, [("已完成", 92), ("逾期", 8)])
            elif received + timedelta(days=2) > today:
                task["status"] = "未开始"
            else:
                task["status"] = pick(rng, [("未开始", 2), ("执行中", 5), ("已完成", 3)])
            if task["status"] == "已完成":
                late = rng.random() < 0.12
                span = max(1, (min(deadline, today) - received).days)
                done = deadline + timedelta(days=rng.randint(1, 5)) if late else received + timedelta(days=rng.randint(1, span))
                task["done_date"] = min(done, today).isoformat()
                task["note"] = "已按要求完成并报送。"
            elif task["status"] == "执行中":
                task["note"] = "正在组织落实。"
            tasks.append(task)
    task_ids = base.table("tasks").insert_many(tasks)
    return {"documents": len(doc_ids), "tasks": len(task_ids)}
