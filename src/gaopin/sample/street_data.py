"""The fictional 丰台区新村街道: communities, places, leaders, categories and units.

Everything here is invented but shaped like a real Fengtai street: old estates named
after work units, a few courtyard addresses (`南大园120号院3号楼`), numbered roads and
one village. The planted cases (see `cases.py`) reserve some points; the background
never uses them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DISTRICT = "丰台区"
STREET = "新村街道"
STREET_SHORT = "新村"
CITY = "北京市"
POINT_PREFIXES = (STREET, STREET_SHORT)  # as written to gaopin.toml [point] prefixes

# Leading parts an export may put before an address; all are stripped by the point rule.
ADDRESS_PREFIXES = (
    f"{CITY}{DISTRICT}{STREET}",
    f"{DISTRICT}{STREET}",
    STREET,
    f"{CITY}{DISTRICT}",
    DISTRICT,
    f"{DISTRICT}{STREET_SHORT}",
)

CENTER_HEAD = "赵立群"  # head of the 市民诉求处置中心
LEADERS = ("李志强", "张红梅", "王建平", "刘晓东", "陈淑华", "杨国庆", "周海燕", "吴振宇", "孙丽娟")

# Point kinds: building (小区N号楼), courtyard (路N号院M号楼), road (路N号), house (村N号), place (named spot), yard (路N号院).
BUILDING, COURTYARD, ROAD, HOUSE, PLACE = "building", "courtyard", "road", "house", "place"
YARD = "yard"  # 路N号院 without a building: only planted points use it
ALL_KINDS = (BUILDING, COURTYARD, ROAD, HOUSE, PLACE)


@dataclass(frozen=True)
class Community:
    name: str
    population: int
    leader: int  # index into LEADERS (包片领导)
    estates: tuple[tuple[str, int], ...] = ()  # (estate, number of buildings)
    courtyards: tuple[tuple[str, tuple[int, ...], int], ...] = ()  # (road, yard numbers, buildings per yard)
    roads: tuple[tuple[str, int], ...] = ()  # (road, highest door number)
    houses: tuple[str, int] | None = None  # (village, highest house number)
    places: tuple[str, ...] = field(default=())

    @property
    def unit(self) -> str:
        return f"{self.name}村委会" if self.name.endswith("村") and not self.name.endswith("社区") else f"{self.name}居委会"


COMMUNITIES: tuple[Community, ...] = (
    Community("恰海社区", 7300, 0, estates=(("恰海小区", 14), ("恰海花园", 8)), places=("恰海小区南门", "恰海花园地下车库", "恰海社区卫生服务站")),
    Community("桥一社区", 6900, 0, estates=(("桥一小区", 12),), places=("桥一小区东侧绿地", "桥一菜市场")),
    Community("优筑社区", 6200, 1, estates=(("优筑小区", 10),), places=("优筑小区北门", "优筑小区快递柜")),
    Community(
        "南大园社区", 7400, 1,
        courtyards=(("南大园", (100, 120, 150, 210, 260), 6),),
        places=("南大园菜市场", "南大园公交站"),
    ),
    Community("樊羊路社区", 5900, 2, estates=(("樊羊里", 9),), roads=(("樊羊路", 60),), places=("樊羊路公交站", "樊羊路农贸市场")),
    Community("育仁里社区", 6300, 2, estates=(("育仁里小区", 12),), places=("育仁里小区西门", "育仁里幼儿园")),
    Community("电三社区", 4600, 3, estates=(("电三宿舍", 16),), places=("电三宿舍锅炉房", "电三宿舍自行车棚")),
    Community("电建社区", 5200, 3, estates=(("电建大院", 10),), places=("电建大院篮球场", "电建大院东门")),
    Community("新华里社区", 6100, 4, estates=(("新华里", 15),), places=("新华里便民市场", "新华里养老驿站")),
    Community("铁路大院社区", 6200, 4, estates=(("铁路大院", 20),), places=("铁路大院北门", "铁路大院活动中心")),
    Community("西营街社区", 5400, 5, estates=(("西营街小区", 8),), roads=(("西营街", 40),), places=("西营街早市",)),
    Community("靛厂社区", 6000, 5, estates=(("靛厂小区", 12),), places=("靛厂小区停车场", "靛厂公园")),
    Community("东安街社区", 5500, 6, estates=(("东安街小区", 10),), roads=(("东安街", 36),), places=("东安街小区养老驿站",)),
    Community("丰西社区", 6600, 6, estates=(("丰西小区", 14),), places=("丰西小区南侧空地", "丰西菜市场")),
    Community("兴隆坡社区", 5800, 7, estates=(("兴隆坡小区", 9),), places=("兴隆坡公园", "兴隆坡小区垃圾站")),
    Community("金家村社区", 6400, 7, estates=(("金家村小区", 12),), places=("金家村小区北侧商铺", "金家村小区地下车库")),
    Community("三路居社区", 6200, 8, estates=(("三路居小区", 11),), places=("三路居小区东门", "三路居菜市场")),
    Community("晓月苑社区", 6800, 8, estates=(("晓月苑小区", 16),), places=("晓月苑小区南门", "晓月苑小区地下车库", "晓月苑小区丰巢快递柜")),
    Community("造甲村", 2900, 8, houses=("造甲村", 180), places=("造甲村村口", "造甲村菜地")),
)  # fmt: skip

COMMUNITY_BY_NAME = {c.name: c for c in COMMUNITIES}

# --- units (主办单位) -------------------------------------------------------------------------

UNITS = {
    "chengguan": f"{STREET}城管执法队",
    "wuye": f"{STREET}物业办",
    "pingan": f"{STREET}平安办",
    "minsheng": f"{STREET}民生保障办",
    "huanjing": f"{STREET}城市管理办",
    "zhujian": f"{DISTRICT}住建委",
    "chengguanwei": f"{DISTRICT}城管委",
    "laodong": f"{DISTRICT}劳动监察大队",
    "shichang": f"{DISTRICT}市场监管局新村所",
    "jiaotong": "丰台交通支队",
    "yuanlin": f"{DISTRICT}园林绿化局",
    "shuiwu": f"{DISTRICT}水务局",
    "gongdian": "国网北京丰台供电公司",
    "ranqi": "北京燃气丰台分公司",
    "weijian": f"{DISTRICT}卫健委",
    "jiaowei": f"{DISTRICT}教委",
    "shebao": f"{DISTRICT}人力社保局",
    "shengtai": f"{DISTRICT}生态环境局",
    "youzheng": f"{DISTRICT}邮政管理局",
}
COMMUNITY_UNIT = "community"  # the community's own 居委会/村委会

# --- categories -------------------------------------------------------------------------


@dataclass(frozen=True)
class Category:
    path: str
    weight: float
    units: tuple[str, ...]  # unit keys; the first is the usual one
    kinds: tuple[str, ...]  # point kinds the problem happens at
    titles: tuple[str, ...]  # "{where}" is the point
    details: tuple[str, ...]
    season: dict[int, float] = field(default_factory=dict)  # month → weight multiplier

    def weight_in(self, month: int) -> float:
        return self.weight * self.season.get(month, 1.0)

    @property
    def leaf(self) -> str:
        return self.path.rsplit("->", 1)[-1]


_HOMES = (BUILDING, COURTYARD)
_SUMMER = {5: 1.5, 6: 2.0, 7: 2.5, 8: 2.5, 9: 1.5}
_HEATING = {1: 10.0, 2: 8.0, 3: 3.0, 4: 0.0, 5: 0.0, 6: 0.0, 7: 0.0, 8: 0.0, 9: 0.0, 10: 0.0}

CATEGORIES: tuple[Category, ...] = (
    Category("住房管理->物业管理->物业服务", 8, ("community", "wuye"), _HOMES,
             ("{where}物业服务不到位", "反映{where}物业不作为"),
             ("楼道长期无人打扫，垃圾堆积，找物业多次无人处理", "单元门禁损坏半个多月，物业一直未修，外来人员随意进出",
              "楼道声控灯坏了很久，老人晚上上下楼很不方便")),
    Category("住房管理->物业管理->电梯故障", 4, ("wuye", "community"), _HOMES,
             ("{where}电梯故障", "{where}电梯经常停运"),
             ("电梯频繁故障停运，楼里老人多，上下楼非常困难", "电梯运行时有异响，多次困人，存在安全隐患",
              "电梯停运三天仍未修复，物业称在等配件")),
    Category("住房管理->物业管理->公共设施维修", 5, ("community", "wuye"), _HOMES,
             ("{where}公共设施损坏", "{where}单元门损坏无人修"),
             ("楼前路面塌陷，雨后积水严重，行走不便", "楼道窗户玻璃破碎，冬天漏风，担心伤人",
              "楼内消防栓锈蚀漏水，物业一直未处理")),
    Category("住房管理->物业管理->物业收费", 2, ("wuye", "community"), _HOMES,
             ("{where}物业费收费问题", "咨询{where}物业费标准"),
             ("物业要求一次性缴纳两年物业费，否则不给办理门禁卡", "物业费上涨未经业主同意，也未公示收费依据")),
    Category("住房管理->物业管理->停车管理", 3, ("wuye", "community"), (BUILDING, PLACE),
             ("{where}停车管理混乱", "{where}外来车辆占用车位"),
             ("小区内车辆乱停乱放，消防通道被堵，物业不管", "外来车辆长期占用小区车位，业主下班回来无处停车")),
    Category("住房管理->房屋安全->房屋漏雨", 3, ("zhujian", "community"), (BUILDING, COURTYARD, HOUSE),
             ("{where}顶层漏雨", "{where}房屋漏水"),
             ("顶层住户家中屋顶漏雨，墙面发霉，家具被泡", "外墙渗水，家中墙皮大面积脱落，担心漏电"),
             {6: 2.5, 7: 4.0, 8: 3.5, 9: 1.5}),
    Category("住房管理->房屋租赁->群租房", 2, ("pingan", "community"), (BUILDING,),
             ("{where}疑似群租房", "反映{where}群租问题"),
             ("楼内一套房屋住了十几个人，进出人员复杂，噪声大，存在安全隐患", "房屋被隔成多个小间出租，楼道堆满杂物")),
    Category("住房管理->老旧小区改造->改造进度", 3, ("zhujian", "community"), _HOMES,
             ("{where}老旧小区改造进度", "询问{where}何时改造"),
             ("楼房建成三十多年，管线老化，想了解是否列入老旧小区综合整治计划", "改造工程停工一个多月，脚手架一直未拆，影响出行")),
    Category("住房管理->老旧小区改造->加装电梯", 2, ("zhujian", "community"), _HOMES,
             ("{where}加装电梯", "{where}加装电梯进展"),
             ("楼里多数居民同意加装电梯，希望社区协调一层住户并推进审批", "加装电梯施工占用绿地，部分居民有意见")),
    Category("城市管理->市容环境->占道经营", 6, ("chengguan",), (ROAD, PLACE),
             ("{where}占道经营", "{where}商贩占道摆摊"),
             ("早晚有商贩在路边摆摊，占用人行道，行人只能走机动车道", "商户将货物摆到门外，占用盲道和人行道")),
    Category("城市管理->市容环境->乱堆乱放", 5, ("community", "chengguan"), ALL_KINDS,
             ("{where}乱堆乱放", "{where}杂物堆积"),
             ("有人在楼道和楼前堆放大量纸箱杂物，存在消防隐患", "路边长期堆放建筑垃圾，无人清理，影响环境")),
    Category("城市管理->市容环境->垃圾清运", 5, ("huanjing", "community"), ALL_KINDS,
             ("{where}垃圾清运不及时", "{where}垃圾桶满溢"),
             ("垃圾桶已经满溢两天无人清运，气味很大", "垃圾分类驿站清运不及时，周边蚊蝇很多")),
    Category("城市管理->噪声扰民->施工噪声", 4, ("chengguan",), (ROAD, BUILDING, PLACE),
             ("{where}夜间施工扰民", "{where}施工噪声"),
             ("附近工地夜间十点以后仍在施工，噪声很大，影响休息", "装修施工中午和周末也不停，电钻声持续一整天"),
             {4: 1.3, 5: 1.5, 6: 1.5, 7: 1.5, 8: 1.3, 9: 1.2}),
    Category("城市管理->噪声扰民->生活噪声", 3, ("community", "pingan"), (BUILDING,),
             ("{where}邻居噪声扰民", "{where}楼上噪声"),
             ("楼上住户深夜经常发出拖动家具的声音，沟通无果", "邻居家狗每天夜里叫个不停，影响休息")),
    Category("城市管理->噪声扰民->商业噪声", 2, ("chengguan", "shichang"), (ROAD, PLACE),
             ("{where}商铺噪声扰民", "{where}商户外放音响"),
             ("临街商铺用大音箱循环播放促销广告，声音很大", "烧烤店营业到凌晨，顾客喧哗声很大")),
    Category("城市管理->违法建设->私搭乱建", 3, ("chengguan", "community"), (BUILDING, COURTYARD, HOUSE),
             ("{where}私搭乱建", "{where}违建"),
             ("一层住户在楼前私自搭建彩钢房，占用公共绿地", "有人在院内加盖房屋用于出租，影响邻居采光")),
    Category("城市管理->市政设施->路灯不亮", 2, ("chengguanwei",), (ROAD, PLACE),
             ("{where}路灯不亮", "{where}路灯损坏"),
             ("路段路灯连续多日不亮，晚上漆黑一片，行人不安全", "路灯杆倾斜，灯罩脱落，担心砸伤行人")),
    Category("城市管理->市政设施->井盖破损", 1.5, ("chengguanwei",), (ROAD,),
             ("{where}井盖破损", "{where}井盖缺失"),
             ("路边井盖破损下陷，车辆经过声音很大，容易绊倒行人", "雨水井盖缺失，只用树枝围着，夜里非常危险")),
    Category("城市管理->市政设施->下水道堵塞", 2, ("shuiwu", "community"), (BUILDING, COURTYARD, ROAD),
             ("{where}下水道堵塞", "{where}污水外溢"),
             ("楼前下水道堵塞，污水从井口冒出，气味难闻", "化粪池满溢，污水流到路面"),
             {7: 2.0, 8: 2.0}),
    Category("城市管理->园林绿化->树木修剪", 2, ("yuanlin", "community"), (BUILDING, ROAD, PLACE),
             ("{where}树木遮挡", "{where}树枝需要修剪"),
             ("楼前大树枝叶遮挡窗户，屋里白天也要开灯，还招虫子", "树枝压到电线上，刮风时火花四溅"),
             {5: 2.0, 6: 2.0, 7: 2.0, 8: 2.0}),
    Category("城市管理->动物管理->流浪动物", 1, ("community",), (BUILDING, PLACE),
             ("{where}流浪猫狗", "{where}流浪狗伤人隐患"),
             ("小区内流浪狗越来越多，晚上追咬路人，孩子不敢出门", "有人在楼道里长期投喂流浪猫，楼道卫生很差")),
    Category("城市管理->烟花爆竹->违规燃放", 1, ("pingan",), (BUILDING, PLACE, HOUSE),
             ("{where}违规燃放烟花爆竹", "{where}有人放鞭炮"),
             ("禁放区域内有人燃放鞭炮，声音很大，还有火灾隐患", "深夜有人在楼下燃放烟花，纸屑满地"),
             {1: 3.0, 2: 25.0, 3: 0.0, 4: 0.0, 5: 0.0, 6: 0.0, 7: 0.0, 8: 0.0, 9: 0.0, 10: 0.0}),
    Category("交通管理->道路设施->道路破损", 2.5, ("chengguanwei",), (ROAD,),
             ("{where}路面破损", "{where}道路坑洼"),
             ("路面坑洼不平，下雨后积水，电动车经过容易摔倒", "人行道砖松动翘起，老人孩子容易绊倒")),
    Category("交通管理->道路设施->施工占道", 1.5, ("jiaotong", "chengguanwei"), (ROAD,),
             ("{where}施工占道", "{where}施工围挡影响通行"),
             ("施工围挡占用大半条路，早晚高峰严重拥堵", "施工结束后围挡一直不拆，影响通行")),
    Category("交通管理->停车管理->乱停车", 4, ("jiaotong", "community"), (ROAD, PLACE, BUILDING),
             ("{where}车辆乱停", "{where}违停堵路"),
             ("路边车辆双排停放，公交车和救护车都过不去", "有车辆长期停在消防通道上，联系不上车主")),
    Category("公共服务->供暖->室温不达标", 1, ("community", "zhujian"), (BUILDING, COURTYARD, HOUSE),
             ("{where}暖气不热", "{where}室温不达标"),
             ("家中暖气不热，室温只有十四五度，老人孩子受不了", "供暖后暖气片上热下凉，找热力公司未解决"),
             _HEATING),
    Category("公共服务->供水->停水", 2, ("shuiwu", "community"), (BUILDING, COURTYARD, HOUSE),
             ("{where}停水", "{where}突然停水"),
             ("家中突然停水，没有提前通知，不知道何时恢复", "水管爆裂后停水一天，仍未恢复供水")),
    Category("公共服务->供水->水压不足", 1.5, ("shuiwu", "wuye"), (BUILDING,),
             ("{where}水压低", "{where}高层水压不足"),
             ("高层住户水压很低，热水器打不着火", "早晚用水高峰时家中基本没水")),
    Category("公共服务->供电->停电", 2, ("gongdian", "community"), (BUILDING, HOUSE),
             ("{where}停电", "{where}频繁跳闸停电"),
             ("楼里频繁停电，冰箱里的东西都坏了", "天气炎热用电量大，楼内线路跳闸多次"),
             {7: 2.0, 8: 2.0}),
    Category("公共服务->燃气->燃气安全", 1, ("ranqi", "community"), (BUILDING, COURTYARD),
             ("{where}燃气异味", "{where}燃气管道问题"),
             ("楼道内闻到燃气味，担心泄漏", "燃气管道锈蚀严重，希望尽快更换")),
    Category("劳动和社会保障->劳动关系->拖欠工资", 1.5, ("laodong",), (ROAD, PLACE),
             ("{where}拖欠工资", "反映{where}欠薪"),
             ("在附近商户打工，老板拖欠两个月工资不发", "离职后单位拒绝结算最后一个月工资"),
             {1: 2.5, 2: 1.5}),
    Category("劳动和社会保障->社会保险->社保缴纳", 1, ("shebao",), (PLACE, BUILDING),
             ("社保缴纳问题", "咨询社保补缴"),
             ("单位未给缴纳社会保险，想了解如何维权", "想咨询灵活就业人员社保补缴的办理流程")),
    Category("商业服务->快递物流->派送问题", 2, ("youzheng", "community"), (BUILDING, PLACE),
             ("{where}快递不送货上门", "{where}快递派送问题"),
             ("快递员不送货上门，未经同意就放到驿站，还要收费", "快递显示已签收但没有收到")),
    Category("商业服务->消费纠纷->预付卡退费", 2, ("shichang",), (ROAD, PLACE),
             ("{where}预付卡退费难", "{where}商家关门无法退卡"),
             ("办理的健身卡还剩一万多元，商家突然关门，无法退费", "理发店办的储值卡，商家拒绝退还余额")),
    Category("民政->养老服务->养老驿站", 1, ("minsheng",), (PLACE,),
             ("{where}养老服务", "咨询{where}助餐服务"),
             ("想了解养老驿站助餐服务如何办理，老人行动不便", "养老驿站饭菜价格上涨，老人吃不起")),
    Category("民政->社会救助->低保申请", 1, ("minsheng",), (BUILDING, HOUSE),
             ("咨询低保申请", "低保申请进度"),
             ("家中老人无收入，想了解低保申请条件和材料", "低保申请已提交两个月，没有任何答复")),
    Category("卫生健康->公共卫生->蚊虫消杀", 1.5, ("community", "weijian"), (BUILDING, PLACE),
             ("{where}蚊虫多", "{where}需要消杀"),
             ("小区内蚊虫很多，希望尽快安排消杀", "楼道里发现老鼠，希望组织灭鼠"),
             {6: 2.5, 7: 3.0, 8: 3.0, 9: 2.0}),
    Category("教育->学前教育->入园问题", 0.8, ("jiaowei",), (PLACE, BUILDING),
             ("咨询幼儿入园", "孩子入园难"),
             ("孩子今年满三岁，附近公办幼儿园报不上名", "想咨询普惠园入园的报名时间和条件"),
             {4: 2.0, 5: 2.5, 6: 2.5, 7: 2.0, 8: 1.5}),
    Category("环境保护->大气污染->餐饮油烟", 2, ("shengtai", "chengguan"), (ROAD, PLACE, BUILDING),
             ("{where}餐饮油烟扰民", "{where}油烟直排"),
             ("楼下饭馆油烟直排，家里不敢开窗", "烧烤店露天烧烤，烟味很大")),
    Category("平安建设->安全隐患->电动车充电", 2, ("pingan", "community"), (BUILDING,),
             ("{where}电动车楼道充电", "{where}飞线充电"),
             ("有人把电动车推进楼道充电，存在火灾隐患", "有住户从窗户拉电线给电动车充电，劝说不听")),
)  # fmt: skip

CATEGORY_BY_PATH = {c.path: c for c in CATEGORIES}

# --- text pieces ------------------------------------------------------------------------

OPENERS = ("市民来电反映：", "来电人反映，", "来电人称，", "市民反映：", "来电人表示，", "市民来电称，")
DURATIONS = (
    "该问题已持续一周左右，", "近半个月来反复出现，", "已向物业和社区反映多次未果，", "今天上午发现，",
    "已经持续一个多月，", "昨天晚上开始，", "",
)  # fmt: skip
DEMANDS = (
    "希望相关部门尽快处理。", "请属地核实处置。", "要求尽快解决并给予答复。", "希望能够彻底解决此问题。",
    "请尽快派人到现场查看。", "希望有关部门加强管理。",
)  # fmt: skip
# Optional middle sentences: real contents run from one line to a short paragraph.
EXTRAS = (
    "来电人称已多次向物业和社区反映，一直没有得到解决", "附近居民意见很大，不少老人和孩子受到影响",
    "来电人表示如果再不处理将继续反映", "来电人希望处理结果能够电话告知", "据来电人描述，周边还有多户居民有同样的问题",
    "来电人担心存在安全隐患，一旦出事后果严重", "来电人称之前的工单答复已处理，但实际情况没有任何改变",
    "来电人已经拍照留存，可以配合工作人员现场核实", "来电人情绪比较激动，希望尽快给个说法",
    "来电人称此前拨打过相关单位电话，对方让其找属地街道",
)  # fmt: skip
PADDING = "来电人表示愿意配合现场核实，联系时请提前电话沟通。"
MIN_CONTENT, MAX_CONTENT = 37, 149

# --- people -----------------------------------------------------------------------------

SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
)
# Weights roughly follow the frequency order of the list (王李张刘陈 are the commonest).
GIVEN_TWO = (
    "建国", "建华", "国强", "秀英", "桂兰", "淑珍", "玉兰", "凤英", "秀兰", "志强", "永刚", "海涛", "丽华", "建军",
    "红梅", "秀珍", "文华", "德明", "春生", "淑华", "桂芝", "宝山", "振华", "玉珍", "金凤", "国华", "明亮", "晓燕",
    "海燕", "立伟", "雪梅", "志刚", "建平", "玉梅", "淑英", "长青", "爱华", "秀芳", "俊杰", "子涵", "思远", "雨桐",
)  # fmt: skip
GIVEN_ONE = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玲斌浩鹏"
ANONYMOUS_NAMES = ("匿名", "市民", "匿名用户")
RARE_NAME = "王䶮"  # U+4DAE is in GB18030 but not in GBK: the CSV must be written as GB18030

MOBILE_PREFIXES = (
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "150", "151", "152", "153", "155",
    "156", "157", "158", "159", "166", "176", "177", "178", "180", "181", "182", "183", "185", "186", "187",
    "188", "189", "191", "193", "195", "198", "199",
)  # fmt: skip

TICKET_TYPES = (("投诉", 44), ("诉求", 37), ("求助", 7), ("咨询", 7), ("建议", 5))
CITY_DISPATCH, DISTRICT_DISPATCH = "市级派单（直派）", "区级派单"
STATUS_DONE = "已办结"
