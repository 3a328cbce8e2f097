"""The planted cases, after the street's own case write-up.

Each builder returns a `Case`: its tickets (with outcomes already decided), the people
behind them, and what the rules and ledgers are meant to make of them. Warnings are
stated here from the plan itself (which tickets were put on which day); no rule is run.

Thresholds assumed (gaopin's defaults): point_day ≥3 same point+category in a day;
two_day ≥5 in days d-1..d from ≥2 persons; ledger caller ≥5 in 30 days, point ≥10 in
30 days, issue ≥8 from ≥3 persons in 90 days. Every schedule below keeps a margin from
the thresholds it must not reach.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time

from gaopin.sample import street_data as sd
from gaopin.sample.factory import Factory, Person, at, days_between, max_in_window, pick_days
from gaopin.sample.model import (
    BASIC,
    PARTIAL,
    RESOLVED,
    SATISFIED,
    SECRET,
    UNRATED,
    UNRESOLVED,
    UNSATISFIED,
    PointSpec,
    Ticket,
    building,
)

POINT_DAY, TWO_DAY = "point_day", "two_day"
CALLER, POINT, ISSUE = "caller", "point", "issue"


@dataclass
class PlannedWarning:
    rule: str
    point: str
    category: str
    tickets: list[Ticket]


@dataclass
class PlannedLedger:
    kind: str  # caller | point | issue
    tickets: list[Ticket]
    point: str | None = None
    category: str | None = None
    person: Person | None = None


@dataclass
class Case:
    name: str
    description: str
    effect: str  # what the rules and ledgers should make of it, in Chinese
    tickets: list[Ticket]
    persons: list[Person]
    warnings: list[PlannedWarning] = field(default_factory=list)
    ledger: list[PlannedLedger] = field(default_factory=list)
    extra: dict = field(default_factory=dict)


def set_outcome(t: Ticket, valid: bool, contacted: bool = True, resolved: str = RESOLVED, satisfied: str = SATISFIED) -> None:
    t.valid = valid
    if valid:
        t.contacted, t.resolved, t.satisfied = contacted, resolved, satisfied


def mixed_outcome(rng: random.Random, t: Ticket, p_valid: float, resolved: dict[str, float], satisfied: dict[str, float]) -> None:
    if rng.random() >= p_valid:
        set_outcome(t, False)
        return
    res = rng.choices(list(resolved), weights=list(resolved.values()))[0]
    sat = rng.choices(list(satisfied), weights=list(satisfied.values()))[0]
    set_outcome(t, True, rng.random() < 0.97, res, sat)


# --- 1. cat_vent ------------------------------------------------------------------------------


def cat_vent(f: Factory) -> Case:
    rng = f.rng("cat_vent")
    spec = building("恰海社区", "恰海小区", 3)
    category = "城市管理->动物管理->流浪动物"
    day = date(2024, 5, 14)
    calls = (
        ("刘女士", "恰海小区３号楼", time(7, 42, 13)),
        ("陈先生", "恰海小区三号楼", time(7, 46, 51)),
        ("赵桂兰", "北京市丰台区新村街道恰海小区3栋402室", time(7, 53, 8)),
    )
    persons, tickets = [], []
    for name, address, clock in calls:
        person = f.person(name)
        persons.append(person)
        t = f.planted(
            rng, "cat_vent", datetime.combine(day, clock), person, spec, category,
            address=address, unit="恰海社区居委会", ticket_type="求助",
            title="恰海小区3号楼通风口内有猫被困",
            content="来电人反映，恰海小区3号楼一层外墙通风口前几天被封堵，里面有一只猫被困，从昨天夜里一直在叫，"
            "已经很虚弱，希望尽快派人打开通风口救助。",
        )  # fmt: skip
        set_outcome(t, True)
        tickets.append(t)
    return Case(
        "cat_vent",
        "恰海小区3号楼封堵的通风口里困住一只流浪猫，几分钟内三位居民分别来电，地址写法各不相同（全角数字、三号楼、3栋402室）。",
        "同一点位、同一问题一天 3 件：触发一次单日同点位预警（point_day）。",
        tickets,
        persons,
        warnings=[PlannedWarning(POINT_DAY, spec.point, category, tickets)],
    )


# --- 2. tunnel --------------------------------------------------------------------------------


def tunnel(f: Factory) -> Case:
    rng = f.rng("tunnel")
    spec = building("优筑社区", "优筑小区", 6)
    category = "住房管理->房屋安全->私挖地下空间"
    residents = [f.person(n) for n in ("孙女士", "马先生", "高淑芬", "罗先生", "梁女士", "宋建民", "谢女士")]
    first, second = date(2024, 6, 17), date(2024, 6, 18)
    plan = [(first, residents[i]) for i in (0, 1, 2, 3)] + [(second, residents[i]) for i in (4, 5, 6, 0, 1)]
    texts = (
        "一层住户私自在房屋下方挖掘地下空间，说是要挖“地道”通到楼外，连续几天往外运土，楼体墙面已经出现裂缝，担心房屋安全",
        "一楼住户在家里往下挖洞，晚上一直有电镐声，楼道里都是土，单元墙上有了新裂缝",
        "有住户私挖地下室，挖出的渣土堆在楼前绿地上，居民非常担心楼会塌",
    )
    tickets = []
    for day, person in plan:
        when = at(rng, day, time(7, 30), time(21, 30))
        t = f.planted(
            rng, "tunnel", when, person, spec, category,
            unit=sd.UNITS["chengguan"], title=rng.choice(("优筑小区6号楼住户私挖地下空间", "优筑小区6号楼有人挖地道")),
            content=f"{rng.choice(sd.OPENERS)}优筑小区6号楼{rng.choice(texts)}，希望有关部门立即制止。",
        )  # fmt: skip
        set_outcome(t, True, True, RESOLVED, SATISFIED if rng.random() < 0.8 else BASIC)
        tickets.append(t)
    day1 = [t for t in tickets if t.day == first]
    day2 = [t for t in tickets if t.day == second]
    return Case(
        "tunnel",
        "优筑小区6号楼一层住户私挖“地道”（地下空间），两天内 7 位居民来电 9 次。",
        "每天都达到 3 件：各触发一次单日同点位预警；两天合计 9 件、7 人：触发一次两日多人预警（two_day）；"
        "同一问题 90 天内 9 件、7 人：列入高频问题台账（issue）。",
        tickets,
        residents,
        warnings=[
            PlannedWarning(POINT_DAY, spec.point, category, day1),
            PlannedWarning(POINT_DAY, spec.point, category, day2),
            PlannedWarning(TWO_DAY, spec.point, category, tickets),
        ],
        ledger=[PlannedLedger(ISSUE, tickets, point=spec.point, category=category)],
    )


# --- 3. nandayuan -----------------------------------------------------------------------------

NANDAYUAN = PointSpec(sd.ROAD, "南大园社区", "南大园", 300)
NANDAYUAN_ADDRESSES = (
    "南大园300号", "南大园300号", "南大园３００号", "北京市丰台区南大园300号", "南大园300号2单元", "南大园 300号",
    "丰台区新村街道南大园300号", "南大园300号（老楼）",
)  # fmt: skip
NANDAYUAN_CATEGORIES = {
    "住房管理->老旧小区改造->改造进度": (4, "楼房是上世纪六十年代建的老楼，墙体开裂、管线老化，居民盼望列入老旧小区改造，想知道什么时候能改"),
    "住房管理->老旧小区改造->加装电梯": (3, "楼里老人多，住五六层的老人下不了楼，希望改造时能加装电梯"),
    "住房管理->房屋安全->房屋漏雨": (2, "老楼屋顶防水层老化，下雨就漏，顶层住户家里接了好几个盆"),
    "城市管理->市政设施->下水道堵塞": (1, "老楼下水管道经常堵塞，一楼住户家里返水"),
}
NANDAYUAN_HEATING = ("公共服务->供暖->室温不达标", "老楼暖气管线老化，家里暖气不热，室温只有十三四度")


def nandayuan(f: Factory) -> Case:
    rng = f.rng("nandayuan")
    residents = [f.person() for _ in range(14)]
    _distinct_names(f, residents, NANDAYUAN.point)
    spells = ((date(2024, 3, 4), date(2024, 3, 29), 11), (date(2024, 9, 2), date(2024, 9, 27), 11))
    background = {1: 2, 2: 1, 4: 2, 5: 2, 6: 2, 7: 3, 8: 2, 10: 2}  # between the spells: at most 3 a month
    days: list[date] = []
    for first, last, n in spells:
        days += pick_days(rng, days_between(first, last), n, days)
    for month, n in background.items():
        first = date(2024, month, 3)
        last = date(2024, month + 1, 1) if month < 10 else date(2024, 10, 31)
        candidates = [d for d in days_between(first, last) if d.month == month]
        # Away from the spells no 30 days may reach 10 tickets; a month next to a spell may add to
        # that spell's count (it is one ledger entry either way), so only there the cap is relaxed.
        days += pick_days(rng, candidates, n, days, caps=((30, 9),) if month not in (2, 4, 8, 10) else ((30, 12),))
    tickets = []
    uses: dict[int, list[date]] = {}
    for day in sorted(days):
        category, detail = _nandayuan_category(rng, day, tickets)
        if rng.random() < 0.06:
            person, phone = Person(rng.choice(sd.ANONYMOUS_NAMES), [SECRET]), SECRET
        else:
            person = _pick_resident(rng, residents, uses, day)
            phone = person.phone
        t = f.planted(
            rng, "nandayuan", at(rng, day, time(8, 0), time(20, 30)), person, NANDAYUAN, category,
            phone=phone, address=rng.choice(NANDAYUAN_ADDRESSES), title=f"南大园300号{category.rsplit('->', 1)[-1]}",
            content=f"{rng.choice(sd.OPENERS)}南大园300号{detail}，{rng.choice(sd.DEMANDS)}",
        )  # fmt: skip
        mixed_outcome(rng, t, 0.85, {RESOLVED: 0.6, PARTIAL: 0.15, UNRESOLVED: 0.25}, {SATISFIED: 0.4, BASIC: 0.35, UNSATISFIED: 0.2, UNRATED: 0.05})
        tickets.append(t)
    spell_tickets = [[t for t in tickets if first <= t.day <= last] for first, last, _ in spells]
    return Case(
        "nandayuan",
        "南大园300号是上世纪六十年代的老楼，居民全年反复来电盼改造（改造进度、加装电梯、漏雨、下水道、供暖），三月和九月各有一波集中来电。",
        "同一点位 30 天内 10 件以上（两波）：列入高频点位台账（point）；每个问题每天至多 1 件，不触发预警。",
        tickets,
        [p for p in residents if p.name in {t.caller for t in tickets}],
        ledger=[PlannedLedger(POINT, tickets, point=NANDAYUAN.point)],
        extra={"spells": spell_tickets},
    )


def _nandayuan_category(rng: random.Random, day: date, earlier: list[Ticket]) -> tuple[str, str]:
    options = dict(NANDAYUAN_CATEGORIES)
    if day.month <= 3:
        options[NANDAYUAN_HEATING[0]] = (3, NANDAYUAN_HEATING[1])
    paths = list(options)
    for _ in range(50):
        path = rng.choices(paths, weights=[options[p][0] for p in paths])[0]
        same = [t.day for t in earlier if t.category == path] + [day]
        # Far below the issue ledger (8 in 90 days): this case is about the point, not one issue.
        if max_in_window(same, 90) <= 6:
            return path, options[path][1]
    raise RuntimeError("nandayuan: no category fits")  # pragma: no cover - a plan bug


# --- 4. road_repair ---------------------------------------------------------------------------

ROAD_REPAIR = PointSpec(sd.ROAD, "樊羊路社区", "樊羊路", 12)


def road_repair(f: Factory) -> Case:
    rng = f.rng("road_repair")
    categories = {
        "交通管理->道路设施->道路破损": (7, "路面被雨水冲出大坑，修了一半就停工了，电动车经过容易摔倒"),
        "交通管理->道路设施->施工占道": (7, "道路抢修的围挡占了大半条路，早晚高峰堵得走不动"),
        "城市管理->市政设施->路面积水": (6, "雨后路面积水没过脚踝，施工挖开的沟槽里全是水，行人只能绕行"),
        "城市管理->噪声扰民->施工噪声": (6, "道路抢修夜里十二点还在用破碎锤，附近居民无法休息"),
    }
    paths = [p for p, (n, _) in categories.items() for _ in range(n)]
    rng.shuffle(paths)
    days = pick_days(rng, days_between(date(2024, 7, 8), date(2024, 8, 23)), len(paths))
    people = [f.person() for _ in range(20)]
    _distinct_names(f, people, ROAD_REPAIR.point)
    callers: list[Person | None] = people[:] + people[:4] + [None, None]
    rng.shuffle(callers)
    addresses = ("樊羊路12号", "樊羊路12号门前", "樊羊路１２号", "丰台区樊羊路12号附近", "樊羊路12号路段", "樊羊路 12号对面")
    tickets = []
    for day, path, person in zip(days, paths, callers):
        if person is None:
            person = Person("市民", [SECRET])
        detail = categories[path][1]
        start = time(21, 0) if "噪声" in path else time(7, 0)
        t = f.planted(
            rng, "road_repair", at(rng, day, start, time(23, 50)), person, ROAD_REPAIR, path,
            address=rng.choice(addresses), title=f"樊羊路12号附近{path.rsplit('->', 1)[-1]}",
            content=f"{rng.choice(sd.OPENERS)}樊羊路12号附近汛期道路抢修，{detail}，{rng.choice(sd.DEMANDS)}",
            unit=sd.UNITS["chengguanwei"] if "噪声" not in path else sd.UNITS["chengguan"],
        )  # fmt: skip
        mixed_outcome(rng, t, 0.8, {RESOLVED: 0.7, PARTIAL: 0.1, UNRESOLVED: 0.2}, {SATISFIED: 0.5, BASIC: 0.35, UNSATISFIED: 0.1, UNRATED: 0.05})
        tickets.append(t)
    return Case(
        "road_repair",
        "七八月汛期樊羊路12号一带道路抢修，过往居民和路人陆续来电：路面破损、施工占道、积水、夜间施工噪声。",
        "同一点位 30 天内 10 件以上：列入高频点位台账（point）；每个问题每天至多 1 件，不触发预警。",
        tickets,
        [p for p in people if p.name in {t.caller for t in tickets}],
        ledger=[PlannedLedger(POINT, tickets, point=ROAD_REPAIR.point)],
    )


# --- 5. unpaid_wages --------------------------------------------------------------------------

WAGE_SITE = PointSpec(sd.YARD, "西营街社区", "西营街", 6)


def unpaid_wages(f: Factory) -> Case:
    rng = f.rng("unpaid_wages")
    category = "劳动和社会保障->劳动关系->拖欠工资"
    day = date(2024, 8, 6)
    workers = [f.person(n) for n in ("张建军", "李国强", "王海涛", "刘永刚", "陈大伟", "杨志勇", "赵东升")]
    clocks = (time(15, 12, 40), time(15, 31, 5), time(16, 2, 48), time(16, 40, 17), time(17, 25, 33), time(18, 58, 2), time(20, 47, 26))
    addresses = ("西营街6号院在建工地", "西营街６号院", "丰台区新村街道西营街6号院工地", "西营街6号院（项目部）", "西营街6号院", "西营街6号院在建工地", "西营街 6号院")
    tickets = []
    for person, clock, address in zip(workers, clocks, addresses):
        t = f.planted(
            rng, "unpaid_wages", datetime.combine(day, clock), person, WAGE_SITE, category,
            address=address, unit=sd.UNITS["laodong"], ticket_type=rng.choice(("求助", "投诉")),
            title="西营街6号院工地拖欠农民工工资",
            content="来电人称在西营街6号院在建工地干活，和十五名工友被拖欠三个月工资共二十多万元，包工头联系不上，"
            "工友们情绪激动，希望尽快帮助讨要工资。",
        )  # fmt: skip
        set_outcome(t, True)
        t.closed = datetime.combine(date(2024, 8, 7), time(9, 30))  # paid the same evening, closed next morning
        tickets.append(t)
    return Case(
        "unpaid_wages",
        "西营街6号院在建工地约十五名农民工被拖欠工资，一个下午到晚上 7 名工人先后来电，当晚协调支付。",
        "一天 7 件：触发单日同点位预警；两日窗口 7 件、7 人：触发两日多人预警（开始、结束同一天）。",
        tickets,
        workers,
        warnings=[
            PlannedWarning(POINT_DAY, WAGE_SITE.point, category, tickets),
            PlannedWarning(TWO_DAY, WAGE_SITE.point, category, tickets),
        ],
    )


# --- 6. claimant ------------------------------------------------------------------------------

CLAIMANT_NAME = "韩立新"
CLAIMANT_FLAT = building("晓月苑社区", "晓月苑小区", 8)
CLAIMANT_STATION = PointSpec(sd.PLACE, "晓月苑社区", "晓月苑小区菜鸟驿站")
FLAT_CATEGORIES = {
    "住房管理->房屋租赁->租赁纠纷": (5, "房东拒不退还押金，还以各种理由扣钱"),
    "住房管理->物业管理->公共设施维修": (2, "房东和物业互相推诿，楼道窗户坏了没人修"),
    "住房管理->物业管理->物业服务": (1, "物业不给租户办理门禁卡"),
}
STATION_CATEGORIES = {
    "商业服务->快递物流->派送问题": (5, "邮政和圆通的快递员不送货上门，直接放到菜鸟驿站"),
    "商业服务->快递物流->快递驿站": (3, "菜鸟驿站取件要收保管费，还不给开收据"),
    "商业服务->快递物流->快递丢失": (1, "菜鸟驿站把快递弄丢了，不予赔偿"),
}
DECOY_CATEGORY = "商业服务->快递物流->派送问题"
DECOY_DAYS = (date(2024, 6, 4), date(2024, 6, 5))


def claimant(f: Factory) -> Case:
    rng = f.rng("claimant")
    phones = [f.phones.mobile() for _ in range(9)]
    person = Person(CLAIMANT_NAME, phones)
    all_days = days_between(date(2024, 1, 8), date(2024, 10, 28))
    decoy_plan = [(DECOY_DAYS[0], 1), (DECOY_DAYS[0], 4), (DECOY_DAYS[0], 6), (DECOY_DAYS[1], 1), (DECOY_DAYS[1], 7)]
    # ≤9 tickets per point in any 30 days keeps him off the point ledger; the decoy days count.
    station_days = pick_days(
        rng, [d for d in all_days if abs((d - DECOY_DAYS[0]).days) > 3], 61,
        existing=[d for d, _ in decoy_plan], caps=((30, 9),),
    )  # fmt: skip
    flat_days = pick_days(rng, all_days, 55, caps=((30, 9),))
    flat_phones = list(range(9)) + [rng.randrange(9) for _ in range(55 - 9)]  # every number used at the flat
    rng.shuffle(flat_phones)
    plan: list[tuple[date, PointSpec, str, int, bool]] = []
    plan += [(d, CLAIMANT_FLAT, _weighted_key(rng, FLAT_CATEGORIES), k, False) for d, k in zip(flat_days, flat_phones)]
    plan += [(d, CLAIMANT_STATION, _weighted_key(rng, STATION_CATEGORIES), rng.randrange(9), False) for d in station_days]
    plan += [(d, CLAIMANT_STATION, DECOY_CATEGORY, k, True) for d, k in decoy_plan]
    tickets, decoy = [], []
    for day, spec, path, k, in_decoy in sorted(plan, key=lambda p: (p[0], p[1].point, p[3])):
        detail = (FLAT_CATEGORIES | STATION_CATEGORIES)[path][1]
        if spec is CLAIMANT_FLAT:
            address = rng.choice(("晓月苑小区8号楼3单元502", "晓月苑小区8栋502", "晓月苑小区８号楼", "晓月苑小区8号楼", "北京市丰台区晓月苑小区8号楼3单元502室"))
            where = "晓月苑小区8号楼"
        else:
            address = rng.choice(("晓月苑小区菜鸟驿站", "晓月苑小区 菜鸟驿站", "北京市丰台区新村街道晓月苑小区菜鸟驿站", "晓月苑小区菜鸟驿站"))
            where = "晓月苑小区菜鸟驿站"
        t = f.planted(
            rng, "claimant", at(rng, day, time(8, 0), time(22, 0)), person, spec, path,
            phone=phones[k], address=address, ticket_type="投诉", title=f"{where}{path.rsplit('->', 1)[-1]}",
            content=f"{rng.choice(sd.OPENERS)}{where}{detail}，要求相关部门依法查处并书面答复。",
        )  # fmt: skip
        mixed_outcome(rng, t, 0.7, {UNRESOLVED: 0.6, PARTIAL: 0.1, RESOLVED: 0.3}, {UNSATISFIED: 0.6, BASIC: 0.2, UNRATED: 0.2})
        if in_decoy:
            decoy.append(t)
        tickets.append(t)
    decoy_day1 = [t for t in decoy if t.day == DECOY_DAYS[0]]
    return Case(
        "claimant",
        "职业索赔人韩立新先后用 9 个电话号码、同一个姓名投诉 121 次，对象是房东（租住的晓月苑小区8号楼）和快递（邮政、圆通、小区菜鸟驿站）。",
        "9 个号码都在同一点位以同一姓名出现过，归并为一人：列入高频诉求人台账（caller）。6 月 4 日菜鸟驿站派送问题一天 3 件，"
        "触发单日同点位预警；6 月 4—5 日两天 5 件、4 个号码，但只是一个人，不触发两日多人预警。",
        tickets,
        [person],
        warnings=[PlannedWarning(POINT_DAY, CLAIMANT_STATION.point, DECOY_CATEGORY, decoy_day1)],
        ledger=[PlannedLedger(CALLER, tickets, person=person)],
        extra={"decoy": decoy},
    )


def _weighted_key(rng: random.Random, table: dict[str, tuple[int, str]]) -> str:
    keys = list(table)
    return rng.choices(keys, weights=[table[k][0] for k in keys])[0]


# --- 7. knocking ------------------------------------------------------------------------------

KNOCKING = building("桥一社区", "桥一小区", 5)


def knocking(f: Factory) -> Case:
    rng = f.rng("knocking")
    category = "城市管理->噪声扰民->生活噪声"
    names = ("周女士", "吴先生", "郑秀英", "孙先生", "冯女士", "朱建华", "何先生")
    neighbours = [f.person(n, landline=(i == 4)) for i, n in enumerate(names)]
    days = pick_days(rng, days_between(date(2024, 3, 5), date(2024, 8, 25)), 42, caps=((30, 9),))
    shares = [8, 7, 6, 6, 5, 5, 5]  # the flat below calls most
    who = [i for i, n in enumerate(shares) for _ in range(n)]
    assignment = _assign_callers(rng, days, who, limit=4)
    addresses = ("桥一小区5号楼", "桥一小区五号楼", "桥一小区5号楼2单元", "桥一小区5栋", "北京市丰台区新村街道桥一小区5号楼", "桥一小区５号楼")
    texts = (
        "楼上独居老人每天夜里敲墙敲暖气管，一敲就是一两个小时，全楼都睡不好",
        "半夜总有人咚咚敲墙，声音从楼上老人家里传来，社区上门劝说过但没有效果",
        "楼上老人深夜敲打墙面和地面，家里孩子被吓醒，已经持续好几个月",
    )
    tickets = []
    for day, i in zip(days, assignment):
        person = neighbours[i]
        # Night calls, but never after midnight: a ticket stays on the day it was planned for.
        t = f.planted(
            rng, "knocking", at(rng, day, time(21, 30), time(23, 58)), person, KNOCKING, category,
            address=rng.choice(addresses), unit="桥一社区居委会", title="桥一小区5号楼夜间敲墙噪声扰民",
            content=f"{rng.choice(sd.OPENERS)}桥一小区5号楼{rng.choice(texts)}，希望社区和有关部门协调解决。",
        )  # fmt: skip
        late = day >= date(2024, 7, 15)  # the family moved the old man in with them in July
        mixed_outcome(
            rng, t, 0.85,
            {RESOLVED: 0.8, PARTIAL: 0.1, UNRESOLVED: 0.1} if late else {RESOLVED: 0.3, PARTIAL: 0.3, UNRESOLVED: 0.4},
            {SATISFIED: 0.6, BASIC: 0.3, UNSATISFIED: 0.1} if late else {SATISFIED: 0.2, BASIC: 0.4, UNSATISFIED: 0.4},
        )  # fmt: skip
        tickets.append(t)
    return Case(
        "knocking",
        "桥一小区5号楼一位独居老人夜里敲墙，三月到八月 7 位邻居先后来电 42 次。",
        "同一点位同一问题 90 天内 8 件以上、3 人以上：列入高频问题台账（issue）；每天至多 1 件、每人 30 天内不超过 4 件、"
        "点位 30 天内不超过 9 件，不触发预警，也不进高频诉求人和高频点位台账。",
        tickets,
        neighbours,
        ledger=[PlannedLedger(ISSUE, tickets, point=KNOCKING.point, category=category)],
    )


def _assign_callers(rng: random.Random, days: list[date], who: list[int], limit: int) -> list[int]:
    """Callers for sorted days so that nobody has more than `limit` tickets in 30 days."""
    for _ in range(200):
        order = who[:]
        rng.shuffle(order)
        per: dict[int, list[date]] = {}
        for day, i in zip(days, order):
            per.setdefault(i, []).append(day)
        if all(max_in_window(ds, 30) <= limit for ds in per.values()):
            return order
    raise RuntimeError("knocking: no caller assignment fits")  # pragma: no cover - a plan bug


# --- 8. nursing_home --------------------------------------------------------------------------

NURSING_HOME = PointSpec(sd.YARD, "东安街社区", "东安街", 15)


def nursing_home(f: Factory) -> Case:
    rng = f.rng("nursing_home")
    resident = Person("林秀珍", [f.phones.mobile(), f.phones.landline()])
    days = [date(2024, 2, 19), date(2024, 2, 29), date(2024, 3, 6), date(2024, 3, 11), date(2024, 3, 15), date(2024, 3, 20),
            date(2024, 3, 26), date(2024, 4, 9), date(2024, 4, 23), date(2024, 5, 8), date(2024, 5, 22)]  # fmt: skip
    categories = ("城市管理->违法建设->圈占公共用地", "民政->养老服务->养老机构")
    addresses = ("东安街15号院颐康养老院", "东安街15号院", "丰台区东安街15号院（颐康养老院）", "东安街１５号院", "东安街15号院养老院门口")
    tickets = []
    for n, day in enumerate(days):
        path = categories[0] if n % 3 != 2 else categories[1]
        t = f.planted(
            rng, "nursing_home", at(rng, day, time(8, 30), time(18, 0)), resident, NURSING_HOME, path,
            phone=resident.phones[0] if rng.random() < 0.6 else resident.phones[1], address=rng.choice(addresses),
            unit=sd.UNITS["chengguan"] if n % 3 != 2 else sd.UNITS["minsheng"], ticket_type="投诉",
            title="东安街15号院养老院圈占小区公共绿地",
            content="来电人反映，东安街15号院颐康养老院用铁栅栏把楼前的公共绿地和老人活动场地圈进院内，居民无处活动，"
            "要求拆除围栏、恢复公共用地。",
        )  # fmt: skip
        last = n == len(days) - 1
        if last:
            set_outcome(t, True, True, RESOLVED, SATISFIED)  # the fence came down: she never called again
        else:
            mixed_outcome(rng, t, 0.9, {UNRESOLVED: 0.5, PARTIAL: 0.3, RESOLVED: 0.2}, {UNSATISFIED: 0.5, BASIC: 0.4, SATISFIED: 0.1})
        tickets.append(t)
    return Case(
        "nursing_home",
        "林秀珍反映东安街15号院养老院圈占公共用地，二月到五月用手机和家里座机反复来电；五月底围栏拆除，此后再未来电。",
        "同一人 30 天内 5 件以上：列入高频诉求人台账（caller），之后可以办结关闭。",
        tickets,
        [resident],
        ledger=[PlannedLedger(CALLER, tickets, person=resident)],
    )


# --- 9. common_name ---------------------------------------------------------------------------


def common_name(f: Factory) -> Case:
    rng = f.rng("common_name")
    a = f.person("王女士")
    b = f.person("王女士")
    plans = (
        (a, building("育仁里社区", "育仁里小区", 4), "住房管理->物业管理->电梯故障",
         (date(2024, 4, 8), date(2024, 4, 11), date(2024, 4, 15), date(2024, 4, 19), date(2024, 4, 24), date(2024, 4, 29)),
         "育仁里小区4号楼电梯频繁故障停运，家中老人腿脚不好，已经好几天下不了楼"),
        (b, building("电建社区", "电建大院", 2), "公共服务->供水->水压不足",
         (date(2024, 7, 2), date(2024, 7, 6), date(2024, 7, 11), date(2024, 7, 16), date(2024, 7, 22), date(2024, 7, 27)),
         "电建大院2号楼六层以上水压很低，白天基本没水，热水器打不着火"),
    )  # fmt: skip
    tickets, ledger = [], []
    for person, spec, path, days, detail in plans:
        own = []
        for day in days:
            t = f.planted(
                rng, "common_name", at(rng, day, time(7, 30), time(21, 0)), person, spec, path,
                title=f"{spec.point}{path.rsplit('->', 1)[-1]}",
                content=f"{rng.choice(sd.OPENERS)}{detail}，{rng.choice(sd.DEMANDS)}",
            )  # fmt: skip
            mixed_outcome(rng, t, 0.9, {RESOLVED: 0.6, UNRESOLVED: 0.4}, {SATISFIED: 0.4, BASIC: 0.4, UNSATISFIED: 0.2})
            own.append(t)
        tickets += own
        ledger.append(PlannedLedger(CALLER, own, person=person))
    return Case(
        "common_name",
        "两位不同的“王女士”：一位住育仁里小区4号楼（电梯故障，四月），一位住电建大院2号楼（水压不足，七月），电话不同。",
        "各自 30 天内 6 件：高频诉求人台账中是两条记录，不能因为同名而合并。",
        tickets,
        [a, b],
        ledger=ledger,
    )


# --- helpers ----------------------------------------------------------------------------------


def _pick_resident(rng: random.Random, residents: list[Person], uses: dict[int, list[date]], day: date) -> Person:
    """A resident who has not called 4 times in the 30 days before: nobody becomes a frequent caller."""
    order = list(range(len(residents)))
    rng.shuffle(order)
    for i in order:
        seen = uses.setdefault(i, [])
        if max_in_window(seen + [day], 30) <= 3:
            seen.append(day)
            return residents[i]
    raise RuntimeError("no resident free")  # pragma: no cover - a plan bug


def _distinct_names(f: Factory, people: list[Person], point: str) -> None:
    """Residents of one point get distinct names: the person rule links same-name phones at a point."""
    seen: set[str] = set()
    for p in people:
        while p.name in seen or p.name in sd.ANONYMOUS_NAMES or p.name in ("先生", "女士"):
            p.name = f.names.caller()
        seen.add(p.name)


ALL_CASES = (cat_vent, tunnel, nandayuan, road_repair, unpaid_wages, claimant, knocking, nursing_home, common_name)


def build_cases(f: Factory) -> list[Case]:
    cases = [build(f) for build in ALL_CASES]
    _check_planted_points_distinct(cases)
    return cases


def planted_points(cases: list[Case]) -> set[str]:
    return {t.point for c in cases for t in c.tickets}


def _check_planted_points_distinct(cases: list[Case]) -> None:
    owner: dict[str, str] = {}
    for c in cases:
        for t in c.tickets:
            if owner.setdefault(t.point, c.name) != c.name:
                raise RuntimeError(f"point {t.point} planted by both {owner[t.point]} and {c.name}")  # a plan bug


__all__ = ["Case", "PlannedLedger", "PlannedWarning", "build_cases", "planted_points"]
