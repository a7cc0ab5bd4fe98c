"""An evaluation world written apart from the demo world: its own trades, phrasing, firms.

The demo world (``data/demo.py`` with ``data/templates.py``) is what the engine's models are
trained on, so a score measured on it says how well the engine learned that generator. This
module is a second, independent process for measuring the engine: it imports no phrasing,
firm or place table of the demo generator. Its tables below were written once, for this
purpose, before the engine was tuned, and are not to be edited to suit the engine:

* worker texts in the way county clerks write down what people say (``在老家踩过几年缝纫机，
  会开叉车，有叉车证``), with a main trade, sometimes second trades, and sometimes the
  longest-held trade named last (``学过半年电焊，后来在工地砌了十来年墙``);
* job-board titles as Jiangsu firms post them, with marketing noise (``急招``, ``月入过万``,
  ``包吃住``), typos, traditional characters and full-width digits;
* firms of its own (names built from its own syllables) and districts of its own choosing.

Only reference facts are shared with the rest of the project: the CSCO 2022 codes of the
trades, the certificate ids of ``data/reference/certificates.csv``, the Jiangsu prefectures
and the programme's western counties.

Relevance is plain labour-bureau sense (:func:`relevance`), independent of any outcome model:

* 3 for a job in the worker's main trade; 2 for one of the worker's second trades or a
  related trade of the same family; 1 for a job that takes novices;
* one less when the worker named cities and the job is in none of them, one less when the
  job's best wage is under the worker's floor (never below 0);
* 0 whenever a hard rule breaks (:func:`hard_rules_ok`: age, education, every required
  certificate, a halal canteen or a dormitory the worker needs), checked here with this
  module's own code, not with :mod:`matcher.rules`.

>>> w = generate_eval_world(n_jobs=60, n_workers=8, seed=1)
>>> len(w.jobs), len(w.workers)
(60, 8)
>>> one = w.workers["worker_id"].iloc[:1].repeat(60).to_numpy()
>>> r = relevance(w, one, w.jobs["job_id"].to_numpy())
>>> bool(((r >= 0) & (r <= 3)).all())
True
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from data.schema import EDUCATION_LEVELS

#: The day ages are computed at in the evaluation world.
EVAL_AS_OF = dt.date(2025, 3, 1)
EVAL_SEED = 20_250_301


@dataclass(frozen=True)
class Trade:
    """One trade of the evaluation world.

    ``worker_says`` are what a worker of this trade tells the clerk; ``{y}`` is a number of
    years in words (``三``, ``5``, ``十来``) and ``{p}`` a place. ``ads`` are the words firms put
    in their titles. ``cert`` is a certificate id that some postings require (with
    probability ``cert_share``) and that most workers of the trade hold.
    """

    key: str
    code: str
    family: str
    worker_says: tuple[str, ...]
    ads: tuple[str, ...]
    wage: tuple[int, int]
    novice: float
    cert: str | None = None
    cert_share: float = 0.0
    age_max: int = 55
    weight: float = 1.0


TRADES: tuple[Trade, ...] = (
    Trade(
        "sewing",
        "6-05-01-03",
        "garment",
        (
            "在老家踩过{y}年缝纫机",
            "{p}制衣厂干车位{y}年",
            "会踩平车，做过衬衫裤子",
            "服装厂做过{y}年车工，高车平车都会",
            "缝衣服的活干了{y}年",
            "在{p}的服装加工点踩机子",
        ),
        ("平车工", "服装车位", "熟练车工", "缝纫工", "制衣车工", "针车工", "縫紉工", "缝纫车工"),
        (5200, 8500),
        0.25,
        weight=1.6,
    ),
    Trade(
        "cutting",
        "6-05-01-02",
        "garment",
        ("在服装厂拉过布、裁过片", "裁床干了{y}年", "做过{y}年裁剪，会排料"),
        ("裁床工", "服装裁剪", "裁剪工", "电剪工"),
        (5000, 7500),
        0.3,
        weight=0.6,
    ),
    Trade(
        "spinning",
        "6-04-02-01",
        "textile",
        ("纺纱厂看车{y}年", "在{p}纱厂做挡车工", "细纱车间接头、落纱都干过", "纺织厂挡车{y}年"),
        ("细纱挡车工", "纺纱工", "纱厂挡车工", "络筒工"),
        (4800, 7000),
        0.5,
        weight=0.8,
    ),
    Trade(
        "weaving",
        "6-04-03-03",
        "textile",
        ("织布厂看喷气织机{y}年", "在织造厂当挡车工", "织机挡车，一个人看十几台"),
        ("织布挡车工", "喷水织机挡车", "织造工", "剑杆织机挡车工"),
        (5000, 7500),
        0.45,
        weight=0.7,
    ),
    Trade(
        "electronics",
        "6-25-04-07",
        "factory",
        (
            "在{p}电子厂流水线干了{y}年",
            "电子厂插件焊锡都会",
            "手机厂装配、测试干过",
            "电子厂做过{y}年，戴静电手环的那种",
        ),
        ("电子装配工", "电子厂操作员", "SMT操作员", "手机组装工", "线束装配"),
        (4800, 7000),
        0.85,
        weight=1.6,
    ),
    Trade(
        "moulding",
        "6-14-02-00",
        "factory",
        ("注塑机上干过{y}年", "在塑料厂看注塑机、修毛边", "会调注塑机，换过模具"),
        ("注塑工", "注塑机操作工", "注塑技工", "吹塑工"),
        (5000, 7500),
        0.6,
        weight=0.8,
    ),
    Trade(
        "packing",
        "6-31-05-00",
        "factory",
        ("在{p}食品厂打包装箱", "包装车间干了{y}年", "贴标、封箱、打包都做过"),
        ("包装工", "包装普工", "打包员", "封箱工"),
        (4200, 6000),
        0.9,
        weight=0.9,
    ),
    Trade(
        "inspection",
        "6-31-03-05",
        "factory",
        ("在厂里做过{y}年品检", "QC检验干过，会用卡尺", "做过来料检验和全检"),
        ("品检员", "QC检验员", "质检员", "全检员", "外观检验"),
        (4800, 6800),
        0.5,
        weight=0.8,
    ),
    Trade(
        "parcel_sorting",
        "4-02-07-09",
        "warehouse",
        ("在快递中转场分拣{y}年", "{p}物流园扫件、分拨", "在仓库里分快递、上架"),
        ("分拣员", "快递分拣", "中转场分拨员", "仓库分拣工", "夜班分拣"),
        (4500, 7000),
        0.9,
        weight=1.1,
    ),
    Trade(
        "loading",
        "4-02-05-01",
        "warehouse",
        ("在货站装卸车{y}年", "码头扛过包，卸过货", "在{p}搬运公司干装卸"),
        ("装卸工", "搬运工", "卸货工", "装车工"),
        (5000, 8000),
        0.9,
        age_max=50,
        weight=0.8,
    ),
    Trade(
        "storekeeping",
        "4-02-06-01",
        "warehouse",
        ("在仓库管过账，会用ERP出入库", "做过{y}年仓管", "管过工地材料库"),
        ("仓管员", "仓库管理员", "物料员", "库管"),
        (4500, 6500),
        0.3,
        weight=0.7,
    ),
    Trade(
        "forklift",
        "6-30-05-01",
        "warehouse",
        ("会开叉车，有叉车证", "开了{y}年叉车", "在{p}物流园开电动叉车", "仓库里开叉车装货{y}年"),
        ("叉车司机", "叉车工", "电瓶叉车司机", "插车司机", "叉車工"),
        (5500, 8000),
        0.1,
        cert="special_equipment.forklift",
        cert_share=0.8,
        weight=1.1,
    ),
    Trade(
        "courier",
        "4-02-07-08",
        "delivery",
        ("在{p}送了{y}年快递", "跑快递，片区派件揽件", "骑三轮车送件"),
        ("快递员", "派件员", "快递小哥", "揽投员"),
        (6000, 10000),
        0.9,
        weight=1.0,
    ),
    Trade(
        "rider",
        "4-10-08-01",
        "delivery",
        ("在{p}送过外卖", "跑了{y}年外卖，熟悉路", "骑电动车送餐"),
        ("外卖骑手", "配送员", "送餐员", "骑手月入过万"),
        (6000, 11000),
        0.95,
        weight=0.9,
    ),
    Trade(
        "truck",
        "4-02-02-02",
        "driving",
        ("开大货车{y}年，有B2本", "跑过长途货运", "在{p}开渣土车"),
        ("货车司机", "B2司机", "重卡司机", "厢式货车司机"),
        (7000, 11000),
        0.0,
        cert="driving.B2",
        cert_share=0.95,
        age_max=55,
        weight=0.7,
    ),
    Trade(
        "welding",
        "6-18-02-04",
        "metal",
        ("在{p}工地烧了{y}年电焊", "会二保焊、氩弧焊", "钢结构厂焊工{y}年", "干过电焊，有焊工证"),
        ("电焊工", "二保焊工", "氩弧焊工", "焊工", "电悍工", "銲工"),
        (6500, 10000),
        0.1,
        cert="special_work.welding",
        cert_share=0.7,
        weight=1.2,
    ),
    Trade(
        "lathe",
        "6-18-01-01",
        "metal",
        ("机加工厂开过车床", "数控车床干了{y}年，会编程", "在{p}开普车、数控车"),
        ("数控车工", "CNC操机", "车床工", "数控车床操作工"),
        (6000, 9000),
        0.2,
        weight=0.9,
    ),
    Trade(
        "fitter",
        "6-20-01-01",
        "metal",
        ("设备厂做过{y}年装配钳工", "会看图纸装机器", "在机械厂干钳工"),
        ("装配钳工", "机械装配工", "钳工", "设备装配"),
        (5500, 8500),
        0.3,
        weight=0.7,
    ),
    Trade(
        "electrician",
        "6-31-01-03",
        "metal",
        ("在厂里做过{y}年维修电工", "会接线、修电机，有电工证", "小区物业当电工"),
        ("电工", "维修电工", "设备电工", "低压电工"),
        (6000, 9000),
        0.05,
        cert="special_work.electrician_low_voltage",
        cert_share=0.9,
        weight=0.8,
    ),
    Trade(
        "rebar",
        "6-29-01-04",
        "construction",
        ("工地上绑钢筋{y}年", "在{p}做钢筋工", "钢筋翻样、绑扎都会"),
        ("钢筋工", "钢筋班组", "扎钢筋工人", "钢筋绑扎"),
        (7000, 11000),
        0.3,
        age_max=58,
        weight=0.8,
    ),
    Trade(
        "masonry",
        "6-29-01-01",
        "construction",
        ("在老家盖房子砌墙{y}年", "瓦工干了{y}年，砌砖抹灰", "工地砌墙的大工"),
        ("瓦工", "砌筑工", "砖工", "抹灰瓦工"),
        (7000, 11000),
        0.2,
        age_max=58,
        weight=0.8,
    ),
    Trade(
        "carpentry",
        "6-06-03-01",
        "construction",
        ("木工{y}年，支模板", "在家具厂做过木工", "装修队里做木工活"),
        ("木工", "模板木工", "家具木工", "装修木工"),
        (6500, 10000),
        0.2,
        age_max=58,
        weight=0.7,
    ),
    Trade(
        "painting",
        "6-29-04-01",
        "construction",
        ("刷过{y}年墙，刮腻子", "装修队干油漆", "做过外墙涂料"),
        ("油漆工", "腻子工", "装修油工", "墙面涂刷"),
        (6000, 9000),
        0.4,
        weight=0.6,
    ),
    Trade(
        "security",
        "4-07-05-01",
        "property",
        ("在{p}小区当过{y}年保安", "工厂门卫、巡逻", "商场保安干过"),
        ("保安员", "门岗保安", "巡逻保安", "保安"),
        (3800, 5500),
        0.9,
        age_max=55,
        weight=0.9,
    ),
    Trade(
        "cleaning",
        "4-09-08-01",
        "property",
        ("在写字楼做保洁", "医院里搞卫生{y}年", "商场保洁员"),
        ("保洁员", "保洁阿姨", "清洁工", "物业保洁"),
        (3200, 4800),
        0.95,
        age_max=60,
        weight=0.8,
    ),
    Trade(
        "eldercare",
        "4-10-01-05",
        "care",
        ("在养老院护理老人{y}年", "照顾过瘫痪老人，会翻身喂饭", "护工做过{y}年"),
        ("养老护理员", "护工", "养老院护理员", "护理员"),
        (4500, 7000),
        0.5,
        age_max=58,
        weight=0.8,
    ),
    Trade(
        "housekeeping",
        "4-10-01-06",
        "care",
        ("在{p}做过{y}年住家保姆", "给人家做饭打扫卫生", "家政公司干过钟点工"),
        ("家政服务员", "住家保姆", "家政阿姨", "钟点工"),
        (5000, 8000),
        0.8,
        age_max=58,
        weight=0.8,
    ),
    Trade(
        "cooking",
        "4-03-02-01",
        "catering",
        ("在饭店掌勺{y}年", "会炒川菜、湘菜", "工地食堂做过大锅饭", "{p}饭馆当厨师"),
        ("厨师", "炒锅师傅", "食堂厨师", "中餐厨师", "廚師"),
        (6000, 9000),
        0.15,
        cert="health",
        cert_share=0.6,
        weight=0.9,
    ),
    Trade(
        "noodles",
        "4-03-02-02",
        "catering",
        ("会拉面，在{p}拉面馆干了{y}年", "做馒头包子花卷", "面点学过，会擀面"),
        ("面点师", "拉面师傅", "白案师傅", "包子师傅"),
        (5500, 8500),
        0.3,
        cert="health",
        cert_share=0.6,
        weight=0.7,
    ),
    Trade(
        "waiting",
        "4-03-02-05",
        "catering",
        ("饭店端盘子、点菜", "在酒店做过{y}年服务员", "火锅店传菜"),
        ("服务员", "餐厅服务员", "传菜员", "前厅服务员"),
        (4000, 6000),
        0.95,
        weight=0.9,
    ),
    Trade(
        "room_service",
        "4-03-01-02",
        "hotel",
        ("酒店客房打扫{y}年", "宾馆铺床、做房", "在{p}的酒店做客房"),
        ("客房服务员", "酒店客房员", "做房阿姨", "宾馆服务员"),
        (4000, 5800),
        0.9,
        weight=0.6,
    ),
    Trade(
        "meat",
        "6-01-04-03",
        "food",
        ("屠宰场分割{y}年", "在肉联厂剔骨、分割", "冻品厂处理鸡肉"),
        ("肉类分割工", "屠宰分割", "肉制品加工", "剔骨工"),
        (5500, 8000),
        0.6,
        cert="health",
        cert_share=0.7,
        weight=0.6,
    ),
)
TRADE_BY_KEY = {t.key: t for t in TRADES}

#: Ways a county clerk writes "years": digits, full-width digits, words, vague words.
YEAR_WORDS: tuple[tuple[str, float], ...] = (
    ("两", 2),
    ("三", 3),
    ("四", 4),
    ("五", 5),
    ("六", 6),
    ("七", 7),
    ("八", 8),
    ("十来", 11),
    ("好几", 4),
    ("几", 3),
    ("2", 2),
    ("3", 3),
    ("5", 5),
    ("８", 8),
    ("一两", 1.5),
    ("三四", 3.5),
)
SHORT_SPANS: tuple[str, ...] = ("半年", "几个月", "一个夏天", "三个月")
WORKER_PLACES: tuple[str, ...] = (
    "义乌",
    "宁波",
    "佛山",
    "中山",
    "石狮",
    "晋江",
    "温州",
    "郑州",
    "成都",
    "兰州",
    "银川",
    "西安",
    "昆山",
    "常熟",
    "厦门",
    "惠州",
)
SECOND_JOINERS: tuple[str, ...] = ("，", "，也", "；另外", "，以前还", "，闲的时候", "，还")
LONG_FIRST_JOINERS: tuple[str, ...] = ("，后来", "，之后", "，这些年主要")
NOVICE_SAYS: tuple[str, ...] = (
    "一直在家种地，没出过远门",
    "刚毕业，没干过啥",
    "在家带孩子，孩子大了想出去",
    "放过羊，种过洋芋",
    "",
)
TRAITS: tuple[str, ...] = ("人踏实", "能吃苦", "身体好", "能倒班", "想多挣点")
WISH_VAGUE: tuple[str, ...] = ("啥都行", "进厂", "轻松点的", "工资高的", "包住的活")

#: Job-title decoration: what firms put around the trade words.
AD_PREFIXES: tuple[str, ...] = ("急招", "高薪诚聘", "【直招】", "大量招", "★热招★", "长期招", "")
AD_SUFFIXES: tuple[str, ...] = (
    "包吃住",
    "月入过万",
    "月薪{w}+",
    "底薪+计件",
    "长白班",
    "两班倒",
    "可预支",
    "男女不限",
    "{a}岁以下",
    "五险",
    "！！",
    "",
)
FULLWIDTH = str.maketrans("0123456789+", "０１２３４５６７８９＋")
DESCRIPTIONS: tuple[str, ...] = (
    "工作内容：{ad}，有经验优先，{novice}。",
    "本厂长期招{ad}，{perk}，{novice}。",
    "岗位：{ad}；要求：{novice}；待遇：{perk}。",
    "",
    "",
)

FIRM_SYLLABLES = "沪锦越澄晟帆旭岚沐桦朗泓曜衡舜邦禾瀚淳钧珂璟"
FIRM_KINDS: dict[str, tuple[str, ...]] = {
    "garment": ("服饰有限公司", "制衣厂", "时装有限公司"),
    "textile": ("纺织有限公司", "纱厂", "织造有限公司"),
    "factory": ("电子科技有限公司", "精密制造有限公司", "塑胶制品有限公司", "食品有限公司"),
    "warehouse": ("供应链管理有限公司", "仓储物流有限公司"),
    "delivery": ("速运有限公司", "同城配送服务有限公司"),
    "driving": ("运输有限公司", "物流车队"),
    "metal": ("机械有限公司", "钢构有限公司", "重工有限公司"),
    "construction": ("建设工程有限公司", "建筑劳务有限公司", "装饰工程有限公司"),
    "property": ("物业服务有限公司", "保安服务有限公司"),
    "care": ("养老服务中心", "家政服务有限公司", "护理院"),
    "catering": ("餐饮管理有限公司", "酒楼", "团餐服务有限公司"),
    "hotel": ("大酒店", "酒店管理有限公司"),
    "food": ("肉类食品有限公司", "冷冻食品有限公司"),
}
#: The Jiangsu prefectures jobs are posted in, with weights (more jobs in the south).
JOB_CITIES: dict[str, float] = {
    "苏州市": 0.22,
    "无锡市": 0.14,
    "常州市": 0.1,
    "南京市": 0.12,
    "南通市": 0.08,
    "扬州市": 0.05,
    "镇江市": 0.05,
    "泰州市": 0.05,
    "盐城市": 0.04,
    "淮安市": 0.04,
    "徐州市": 0.05,
    "宿迁市": 0.03,
    "连云港市": 0.03,
}
#: Western counties the workers come from (6-digit codes of the programme's counties) and
#: whether many of their people keep halal.
HOME_COUNTIES: tuple[tuple[str, float], ...] = (
    ("610621", 0.0),  # 延长县
    ("611025", 0.0),  # 镇安县
    ("611022", 0.0),  # 丹凤县
    ("520623", 0.0),  # 石阡县
    ("520627", 0.0),  # 沿河县
    ("630222", 0.6),  # 民和县
    ("630224", 0.5),  # 化隆县
    ("630225", 0.85),  # 循化县
    ("630121", 0.3),  # 大通县
)
EDUCATION_DRAW: tuple[tuple[str, float], ...] = (
    ("小学", 0.15),
    ("初中", 0.52),
    ("高中", 0.12),
    ("中专", 0.12),
    ("大专", 0.09),
)
EDUCATION_MIN_DRAW: tuple[tuple[str | None, float], ...] = (
    (None, 0.6),
    ("初中", 0.3),
    ("高中", 0.1),
)


@dataclass
class EvalWorld:
    """Jobs and workers in the shape of :mod:`data.schema`, plus the truth that grades them.

    ``truth_jobs``: ``job_id, trade``; ``truth_workers``: ``worker_id, main_trade,
    second_trades`` (tuple; ``main_trade`` is ``""`` for a novice).
    """

    jobs: pd.DataFrame
    workers: pd.DataFrame
    truth_jobs: pd.DataFrame
    truth_workers: pd.DataFrame
    as_of: dt.date
    seed: int


def _pick(rng: np.random.Generator, options: tuple | list) -> object:
    return options[int(rng.integers(len(options)))]


def _weighted(rng: np.random.Generator, pairs: tuple | list) -> object:
    values = [v for v, _ in pairs]
    w = np.array([p for _, p in pairs], dtype=float)
    return values[int(rng.choice(len(values), p=w / w.sum()))]


def _say(
    trade: Trade, rng: np.random.Generator, years: str | None = None, below: float = 99.0
) -> tuple[str, float]:
    """One thing the worker says about a trade, and the years it states (1 when none).

    ``years`` replaces the span (``半年``); otherwise a number of years under ``below``.
    """
    text = str(_pick(rng, trade.worker_says))
    if "{y}" not in text:
        stated = 1.0
    elif years is not None:
        text, stated = text.replace("{y}年", years).replace("{y}", years), 0.5
    else:
        options = [(w, v) for w, v in YEAR_WORDS if v < below] or [("一", 1.0)]
        word, stated = options[int(rng.integers(len(options)))]
        text = text.replace("{y}", word)
    return text.replace("{p}", str(_pick(rng, WORKER_PLACES))), float(stated)


def _worker_text(
    main: Trade | None, seconds: list[Trade], rng: np.random.Generator
) -> tuple[str, list[str]]:
    """(skills text, desired jobs) of one worker."""
    if main is None:
        text = str(_pick(rng, NOVICE_SAYS))
        wishes = [str(_pick(rng, WISH_VAGUE))] if rng.random() < 0.6 else []
        return text, wishes
    if seconds and rng.random() < 0.2:
        # The longest-held trade named last: a short second trade first, then the main one.
        span = str(_pick(rng, SHORT_SPANS))
        first, _ = _say(seconds[0], rng, span)
        if span not in first:
            first = f"{span}{first}"
        last, _ = _say(main, rng, "十几年")
        if "十几年" not in last:
            last = f"{last}十几年"
        text = f"{first}{_pick(rng, LONG_FIRST_JOINERS)}{last}"
        main_years, rest = 12.0, seconds[1:]
    else:
        text, main_years = _say(main, rng)
        rest = seconds
    for s in rest:
        # Held no longer than the main trade, or it would be the main trade.
        said, _ = _say(s, rng, below=main_years if main_years > 1 else 1.01)
        text += f"{_pick(rng, SECOND_JOINERS)}{said}"
    if rng.random() < 0.3:
        text += f"，{_pick(rng, TRAITS)}"
    wishes: list[str] = []
    r = rng.random()
    if r < 0.55:
        wishes.append(str(_pick(rng, main.ads)))
    elif r < 0.7:
        wishes.append(str(_pick(rng, WISH_VAGUE)))
    if seconds and rng.random() < 0.3:
        wishes.append(str(_pick(rng, seconds[0].ads)))
    return text, wishes


def _noisy_title(trade: Trade, wage_max: int, age_max: int, rng: np.random.Generator) -> str:
    words = str(_pick(rng, trade.ads))
    pre = str(_pick(rng, AD_PREFIXES))
    n_suffix = int(rng.integers(0, 3))
    suffixes = [str(_pick(rng, AD_SUFFIXES)) for _ in range(n_suffix)]
    suffixes = [
        s.replace("{w}", str(wage_max - wage_max % 500)).replace("{a}", str(age_max))
        for s in suffixes
    ]
    sep = str(_pick(rng, (" ", "+", "/", "，", "")))
    title = sep.join(p for p in [pre + words, *suffixes] if p)
    if rng.random() < 0.25:
        title = title.translate(FULLWIDTH)
    return title


def _firms(rng: np.random.Generator) -> list[tuple[int, str, str, str]]:
    """(firm_id, name, family, city) — a few firms per family and city."""
    firms: list[tuple[int, str, str, str]] = []
    cities = list(JOB_CITIES)
    weights = np.array(list(JOB_CITIES.values()))
    fid = 500
    for family, kinds in FIRM_KINDS.items():
        for _ in range(6):
            city = cities[int(rng.choice(len(cities), p=weights / weights.sum()))]
            brand = "".join(rng.choice(list(FIRM_SYLLABLES), size=2, replace=False))
            name = f"{city[:-1]}{brand}{_pick(rng, kinds)}"
            firms.append((fid, name, family, city))
            fid += 1
    return firms


def generate_eval_world(
    n_jobs: int = 600, n_workers: int = 60, seed: int = EVAL_SEED, as_of: dt.date = EVAL_AS_OF
) -> EvalWorld:
    """The independent evaluation world (seeded, a fraction of a second)."""
    if n_jobs < 1 or n_workers < 1:
        raise ValueError(f"n_jobs and n_workers must be positive, got {n_jobs} and {n_workers}")
    rng = np.random.default_rng(seed)
    trade_w = np.array([t.weight for t in TRADES])
    trade_p = trade_w / trade_w.sum()
    firms = _firms(rng)
    by_family: dict[str, list[tuple[int, str, str, str]]] = {}
    for f in firms:
        by_family.setdefault(f[2], []).append(f)

    job_rows, job_truth = [], []
    for j in range(n_jobs):
        trade = TRADES[int(rng.choice(len(TRADES), p=trade_p))]
        fid, fname, _, city = _pick(rng, by_family[trade.family])
        if rng.random() < 0.3:  # a firm also posts in a second city
            city = str(_pick(rng, list(JOB_CITIES)))
        lo, hi = trade.wage
        wage_min = int(rng.integers(lo, (lo + hi) // 2) // 100 * 100)
        wage_max = int(max(wage_min + 500, rng.integers((lo + hi) // 2, hi + 1) // 100 * 100))
        age_max = int(min(trade.age_max, _pick(rng, (40, 45, 50, 55, 60))))
        novice = bool(rng.random() < trade.novice)
        certs = [trade.cert] if trade.cert and rng.random() < trade.cert_share else []
        title = _noisy_title(trade, wage_max, age_max, rng)
        perk = str(_pick(rng, ("包吃住", "提供宿舍", "有食堂", "缴纳社保")))
        description = (
            str(_pick(rng, DESCRIPTIONS))
            .replace("{ad}", str(_pick(rng, trade.ads)))
            .replace("{perk}", perk)
            .replace("{novice}", "无经验可带教" if novice else "需相关经验")
        )
        headcount = int(rng.integers(1, 25))
        job_rows.append(
            {
                "job_id": 90_000 + j,
                "firm_id": fid,
                "firm_name": fname,
                "title": title,
                "description": description,
                "occupation_code": "",
                "city": city,
                "district": "",
                "wage_min": wage_min,
                "wage_max": wage_max,
                "headcount": headcount,
                "hired_count": int(rng.integers(0, headcount)),
                "age_min": 18,
                "age_max": age_max,
                "education_min": _weighted(rng, EDUCATION_MIN_DRAW),
                "certificates_required": certs,
                "certificates_unrecognised": [],
                "dormitory": bool(rng.random() < 0.75),
                "meals": bool(rng.random() < 0.6),
                "halal_canteen": bool(rng.random() < 0.12),
                "novice_ok": novice,
                "status": "open",
                "posted_at": as_of - dt.timedelta(days=int(rng.integers(1, 60))),
            }
        )
        job_truth.append({"job_id": 90_000 + j, "trade": trade.key})

    worker_rows, worker_truth = [], []
    cities = list(JOB_CITIES)
    for i in range(n_workers):
        novice = rng.random() < 0.1
        main = None if novice else TRADES[int(rng.choice(len(TRADES), p=trade_p))]
        seconds: list[Trade] = []
        if main is not None:
            n_second = int(_weighted(rng, ((0, 0.45), (1, 0.42), (2, 0.13))))
            while len(seconds) < n_second:
                s = TRADES[int(rng.choice(len(TRADES), p=trade_p))]
                if s.key != main.key and s not in seconds:
                    seconds.append(s)
        skills, wishes = _worker_text(main, seconds, rng)
        county, halal_share = _weighted(rng, [(c, 1.0) for c in HOME_COUNTIES])
        age = int(rng.integers(19, 56))
        certs: set[str] = set()
        for t, share in ((main, 0.85), *((s, 0.7) for s in seconds)):
            if t is not None and t.cert and rng.random() < share:
                certs.add(t.cert)
        if rng.random() < 0.2:
            certs.add("health")
        r = rng.random()
        n_prefs = 0 if r < 0.4 else (1 if r < 0.75 else 2)
        prefs = [str(c) for c in rng.choice(cities, size=n_prefs, replace=False)]
        # A floor near what the main trade pays, sometimes above it; novices ask less.
        base = main.wage[0] if main is not None else 4000
        floor = 0 if rng.random() < 0.15 else int(base * rng.uniform(0.7, 1.15) // 500 * 500)
        worker_rows.append(
            {
                "worker_id": 70_000 + i,
                "name": f"评估{i:03d}",
                "gender": str(_pick(rng, ("男", "女"))),
                "ethnicity": "回族" if rng.random() < halal_share else "汉族",
                "birth_date": dt.date(as_of.year - age, int(rng.integers(1, 13)), 15),
                "county_code": county,
                "education": _weighted(rng, EDUCATION_DRAW),
                "skills_text": skills,
                "desired_jobs": wishes,
                "certificates": sorted(certs),
                "certificates_unrecognised": [],
                "preferred_cities": prefs,
                "min_wage": floor,
                "needs_dormitory": bool(rng.random() < 0.7),
                "needs_halal": bool(rng.random() < halal_share),
                "poverty_registered": True,
                "group_id": "",
                "registered_at": as_of - dt.timedelta(days=int(rng.integers(1, 200))),
            }
        )
        worker_truth.append(
            {
                "worker_id": 70_000 + i,
                "main_trade": main.key if main else "",
                "second_trades": tuple(s.key for s in seconds),
            }
        )
    jobs = pd.DataFrame(job_rows)
    # None, not NaN, is "no requirement" (data.schema).
    jobs["education_min"] = jobs["education_min"].astype(object)
    jobs.loc[jobs["education_min"].isna(), "education_min"] = None
    return EvalWorld(
        jobs=jobs,
        workers=pd.DataFrame(worker_rows),
        truth_jobs=pd.DataFrame(job_truth),
        truth_workers=pd.DataFrame(worker_truth),
        as_of=as_of,
        seed=seed,
    )


def _age(birth: dt.date, as_of: dt.date) -> int:
    return as_of.year - birth.year - ((as_of.month, as_of.day) < (birth.month, birth.day))


def _pair_ok(w: dict, j: dict, as_of: dt.date) -> bool:
    age = _age(w["birth_date"], as_of)
    if not j["age_min"] <= age <= j["age_max"]:
        return False
    need = j["education_min"]
    if isinstance(need, str) and EDUCATION_LEVELS[w["education"]] < EDUCATION_LEVELS[need]:
        return False
    if not set(j["certificates_required"]) <= set(w["certificates"]):
        return False
    if w["needs_halal"] and not j["halal_canteen"]:
        return False
    if w["needs_dormitory"] and not j["dormitory"]:
        return False
    return j["status"] == "open" and j["headcount"] > j["hired_count"]


def _grade(w: dict, tw: dict, j: dict, trade: Trade) -> int:
    main, seconds = tw["main_trade"], tw["second_trades"]
    families = {TRADE_BY_KEY[k].family for k in (main, *seconds) if k}
    if trade.key == main:
        grade = 3
    elif trade.key in seconds or trade.family in families:
        grade = 2
    else:
        grade = 0
    if j["novice_ok"]:
        grade = max(grade, 1)
    if grade == 0:
        return 0
    if len(w["preferred_cities"]) and j["city"] not in w["preferred_cities"]:
        grade -= 1
    if w["min_wage"] > 0 and j["wage_max"] < w["min_wage"]:
        grade -= 1
    return max(grade, 0)


def _matrices(world: EvalWorld) -> tuple[np.ndarray, np.ndarray, dict[int, int], dict[int, int]]:
    """(rules-ok matrix, relevance matrix, worker row, job row), workers × jobs, cached."""
    cached = getattr(world, "_cache", None)
    if cached is not None:
        return cached
    workers = world.workers.to_dict("records")
    jobs = world.jobs.to_dict("records")
    truth_w = world.truth_workers.set_index("worker_id").to_dict("index")
    trade_of = dict(zip(world.truth_jobs["job_id"], world.truth_jobs["trade"], strict=True))
    ok = np.zeros((len(workers), len(jobs)), dtype=bool)
    rel = np.zeros((len(workers), len(jobs)), dtype=np.float64)
    for a, w in enumerate(workers):
        tw = truth_w[w["worker_id"]]
        for b, j in enumerate(jobs):
            if _pair_ok(w, j, world.as_of):
                ok[a, b] = True
                rel[a, b] = _grade(w, tw, j, TRADE_BY_KEY[trade_of[j["job_id"]]])
    rows_w = {int(w["worker_id"]): a for a, w in enumerate(workers)}
    rows_j = {int(j["job_id"]): b for b, j in enumerate(jobs)}
    world._cache = (ok, rel, rows_w, rows_j)  # type: ignore[attr-defined]
    return world._cache  # type: ignore[attr-defined]


def _lookup(
    world: EvalWorld, matrix: int, worker_ids: np.ndarray, job_ids: np.ndarray
) -> np.ndarray:
    m = _matrices(world)
    rows_w, rows_j = m[2], m[3]
    a = np.array([rows_w[int(i)] for i in np.asarray(worker_ids)], dtype=np.int64)
    b = np.array([rows_j[int(i)] for i in np.asarray(job_ids)], dtype=np.int64)
    return m[matrix][a, b] if len(a) else m[matrix][:0, 0]


def hard_rules_ok(world: EvalWorld, worker_ids: np.ndarray, job_ids: np.ndarray) -> np.ndarray:
    """Whether each (worker, job) pair breaks no hard rule, by this module's own reading."""
    return _lookup(world, 0, worker_ids, job_ids)


def relevance(world: EvalWorld, worker_ids: np.ndarray, job_ids: np.ndarray) -> np.ndarray:
    """Graded relevance 0–3 of each (worker, job) pair (see the module docstring)."""
    return _lookup(world, 1, worker_ids, job_ids)


__all__ = [
    "EVAL_AS_OF",
    "EVAL_SEED",
    "TRADES",
    "EvalWorld",
    "Trade",
    "generate_eval_world",
    "hard_rules_ok",
    "relevance",
]
