"""Text augmentations that imitate how firms and workers really write an occupation.

The occupation coder (:class:`matcher.occupations.OccupationCoder`) learns from the public
classification's names and aliases, which are clean (``缝纫工``, ``叉车司机``). Job boards and
registration forms are not: firms wrap the job in pay, perks, urgency and their own name
(``【急招】汕头市鸿图机械配件招聘车工 包吃住 月入过万``); workers describe what they did, where and
for how long (``在老家踩过几年缝纫机``, ``2019-2022年在苏州电子厂干过质检``), sometimes with a
typo or in traditional characters. Each function here turns one clean text into one such variant,
and
:func:`augment_examples` makes several variants of every labelled text.

Everything is seeded: the same ``seed`` gives the same variants, so a model built twice from
the same data is the same model. Nothing here reads ``data/templates.py`` (the demo-world
generator's phrasing): what the coder learns must not be the demo world's own words.

Examples
--------
>>> import random
>>> rng = random.Random(0)
>>> v = firm_title("焊工", rng)
>>> "焊工" in v
True
>>> augment_examples([("缝纫工", "6-05-01-03")], n_variants=3, seed=1)[0]
('缝纫工', '6-05-01-03')
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache

__all__ = [
    "COLLOQUIAL",
    "augment_examples",
    "colloquial_examples",
    "firm_title",
    "noise_titles",
    "to_traditional",
    "typo",
    "worker_text",
]

# -- firms: urgency, pay, perks, hours, who may apply ----------------------------------------

_URGENCY = [
    "急招",
    "急聘",
    "高薪诚聘",
    "诚聘",
    "直招",
    "高薪急招",
    "【急招】",
    "【直招】",
    "长期招",
    "大量招",
]
_PAY = [
    "月入过万",
    "月薪6000-8000",
    "（月7000）",
    "月入8k",
    "保底5000",
    "底薪+提成",
    "日结200",
    "时薪22元",
    "计件多劳多得",
    "综合工资6-9K",
    "高薪",
    "(保7000)",
]
_PERKS = [
    "包吃住",
    "包吃包住",
    "五险一金",
    "六险一金",
    "提供宿舍",
    "有餐补",
    "入职缴社保",
    "免费住宿",
    "节日福利",
    "年底双薪",
]
_HOURS = ["长白班", "两班倒", "做六休一", "做五休二", "双休", "不加班", "早九晚五", "可兼职"]
_WHO = ["18-45岁", "男女不限", "可接受应届", "无经验可学", "有经验优先", "夫妻工优先", "学徒可带"]
_COUNT = ["3名", "10人", "若干", "1名"]

# -- places and employers ---------------------------------------------------------------------

_PREFECTURES = [
    "苏州",
    "无锡",
    "常州",
    "南京",
    "南通",
    "扬州",
    "镇江",
    "泰州",
    "徐州",
    "盐城",
    "淮安",
    "宿迁",
    "连云港",
    "昆山",
    "江阴",
    "张家港",
    "西安",
    "宝鸡",
    "汉中",
    "安康",
    "商洛",
    "延安",
    "榆林",
    "西宁",
    "海东",
    "铜仁",
    "贵阳",
    "上海",
    "杭州",
    "宁波",
    "深圳",
    "东莞",
    "广州",
    "青岛",
]
_DISTRICTS = ["工业园区", "高新区", "开发区", "吴中区", "新区", "城区", "经开区", "滨湖区", "江宁"]
_BRAND_SYLLABLES = list("鸿图华泰鑫源恒达宏盛金辉瑞丰永康天成博远嘉禾鼎新润达信诚亿")
_INDUSTRY = [
    "电子",
    "机械",
    "服饰",
    "纺织",
    "物流",
    "建设",
    "食品",
    "包装",
    "塑业",
    "五金",
    "汽配",
    "科技",
    "家政",
    "物业",
    "餐饮",
]
_FIRM_SUFFIX = ["有限公司", "厂", "集团", "股份有限公司", "工厂", "公司"]


def _pick(rng: random.Random, items: Sequence[str]) -> str:
    return items[rng.randrange(len(items))]


def _brand(rng: random.Random) -> str:
    return "".join(rng.sample(_BRAND_SYLLABLES, 2))


def _employer(rng: random.Random) -> str:
    form = rng.randrange(3)
    if form == 0:
        return _brand(rng) + _pick(rng, _INDUSTRY) + _pick(rng, _FIRM_SUFFIX)
    if form == 1:
        return _pick(rng, _PREFECTURES) + _brand(rng) + _pick(rng, _INDUSTRY)
    return _pick(rng, _PREFECTURES) + "某" + _pick(rng, _INDUSTRY) + "厂"


def _place(rng: random.Random) -> str:
    form = rng.randrange(4)
    city = _pick(rng, _PREFECTURES)
    if form == 0:
        return city
    if form == 1:
        return f"（{city}{_pick(rng, _DISTRICTS)}）"
    if form == 2:
        return f"(上班地点：{city})"
    return f"{city}市"


def firm_title(text: str, rng: random.Random) -> str:
    """``text`` as a firm's job-board title: urgency, employer, place, pay, perks, hours.

    Every variant keeps ``text`` whole; one to three noise parts are put around it.
    """
    before: list[str] = []
    after: list[str] = []
    if rng.random() < 0.45:
        before.append(_pick(rng, _URGENCY))
    r = rng.random()
    if r < 0.25:
        before.append(_employer(rng) + "招聘")
    elif r < 0.45:
        place = _place(rng)
        (before if place[0] not in "（(" else after).append(place)
    pools = [_PAY, _PERKS, _HOURS, _WHO, _COUNT]
    for pool in rng.sample(pools, rng.randrange(1, 3)):
        after.append(_pick(rng, pool))
    sep = _pick(rng, [" ", "+", "/", "，", "", " "])
    head = "".join(before)
    tail = sep.join(after)
    return f"{head}{text}{sep if tail and sep.strip() else ' ' if tail else ''}{tail}".strip()


def noise_titles(n: int, seed: int = 0) -> list[str]:
    """``n`` distinct titles made of nothing but urgency, pay, perks, hours and who may apply.

    Job boards carry such titles (``无责5000/五险一金/月入过万``, ``急招 包吃住 日结200``); the
    classification has a code for them, 8-00-00-00 不便分类的其他从业人员.
    """
    rng = random.Random(seed)
    pools = [_URGENCY, _PAY, _PERKS, _HOURS, _WHO]
    out: dict[str, None] = {}
    for _ in range(n * 5):
        if len(out) >= n:
            break
        parts = [_pick(rng, pool) for pool in rng.sample(pools, rng.randrange(2, 5))]
        if rng.random() < 0.3:
            parts.insert(
                0,
                _pick(rng, ["招聘", "诚聘", "招人", "直招", "招"])
                + _pick(rng, ["兼职", "学员", "暑假工", "小白", "合伙人", "人员"]),
            )
        out[_pick(rng, ["/", "+", " ", "，", ""]).join(parts)] = None
    return list(out)


# -- workers: what they did, where, how long --------------------------------------------------

_YEARS = ["三年", "两年", "5年", "几年", "一年多", "十来年", "半年", "2年", "七八年"]
_SPANS = ["2019-2022年", "2016年到2020年", "18年到21年", "2021年起", "前年", "去年"]
_DID = ["干过", "做过", "当过", "搞过", "干了", "做了"]
_WORKER_FRAMES: list[Callable[[str, random.Random], str]] = [
    lambda x, r: f"{_pick(r, _DID)}{_pick(r, _YEARS)}{x}",
    lambda x, r: f"在{_pick(r, _PREFECTURES)}{_pick(r, _DID)}{x}",
    lambda x, r: f"{_pick(r, _SPANS)}在{_employer(r)}{_pick(r, ['做', '干', '当'])}{x}",
    lambda x, r: f"在厂里{_pick(r, _DID)}{x}",
    lambda x, r: f"跟师傅学过{x}",
    lambda x, r: f"会{x}，{_pick(r, _YEARS)}经验",
    lambda x, r: f"在老家{_pick(r, _DID)}{_pick(r, _YEARS)}{x}",
    lambda x, r: f"{x}{_pick(r, _YEARS)}",
    lambda x, r: f"以前在{_pick(r, _PREFECTURES)}{_employer(r)}{_pick(r, ['做', '干'])}{x}",
    lambda x, r: f"想找{x}的活",
]


def worker_text(text: str, rng: random.Random) -> str:
    """``text`` (a trade or what one does in it) as a worker or clerk writes experience."""
    return _pick(rng, _WORKER_FRAMES)(text, rng)


# -- what workers say instead of the classification's name ------------------------------------

# How workers and clerks name the common trades of the cooperation, as verb phrases (踩缝纫机)
# and shop-floor words (车位, 挡车). Written from the trades' own vocabulary for this table —
# not from the demo generator — and kept apart for the near trades that the coder confused:
# parcel sorting (快件处理) vs courier delivery (快递派送), machine tending in a mill (挡车, 纺纱)
# vs sewing (车缝), masonry (砌墙) vs rebar work (扎钢筋).
COLLOQUIAL: dict[str, tuple[str, ...]] = {
    "6-05-01-03": (
        "踩缝纫机",
        "踩衣车",
        "车位",
        "车缝",
        "做衣服",
        "服装厂车工",
        "平车工",
        "缝纫",
        "缝衣服",
        "制衣",
    ),
    "6-04-03-03": ("挡车", "看织机", "纺织厂挡车工", "织布", "看布机", "喷气织机挡车", "织袜"),
    "6-04-02-01": ("纺纱", "细纱挡车", "看纱机", "纺织厂纺纱", "络筒"),
    "6-30-05-01": ("开叉车", "叉车", "开铲车", "叉车工", "开电瓶叉车", "仓库开叉车"),
    "4-02-07-08": ("送快递", "快递派送", "跑快递", "派件", "快递小哥", "收派件"),
    "4-02-07-09": (
        "分拣快递",
        "快递分拣",
        "快件分拣",
        "中转场分拣",
        "扫件",
        "快递装车卸车分拣",
        "分拣包裹",
        "包裹分拣",
        "快递仓库分拣包裹",
    ),
    "4-02-06-02": ("仓库分拣", "拣货", "理货", "配货", "打包发货", "仓库拣货"),
    "4-02-06-01": ("管仓库", "仓管", "仓库管理", "仓库记账"),
    "4-02-05-01": ("搬货", "装卸货", "卸货", "搬运", "扛包"),
    "6-29-01-01": ("砌墙", "砌砖", "瓦工", "泥瓦匠", "贴砖", "抹灰", "泥水工"),
    "6-29-01-04": ("扎钢筋", "绑钢筋", "钢筋绑扎", "弯钢筋", "钢筋班组"),
    "6-29-01-03": ("打混凝土", "浇混凝土", "打灰", "振捣"),
    "6-29-01-05": ("搭架子", "搭脚手架", "架子工"),
    "6-06-03-02": ("木工", "做木工", "支模", "木匠"),
    "6-18-02-04": ("电焊", "烧电焊", "氩弧焊", "二保焊", "气保焊", "焊接"),
    "6-31-01-03": ("电工", "接电线", "装电路", "水电安装", "维修电工"),
    "6-18-01-01": ("开车床", "车床", "普通车床"),
    # People who code real titles put 数控车工 and CNC operators under 6-18-01-07 (its aliases
    # are CNC/数控操机), not under 车工.
    "6-18-01-07": ("数控车床", "CNC", "开数控", "操机"),
    "6-25-04-07": ("电子厂插件", "焊锡", "插件", "电子厂流水线", "贴片"),
    # A food factory's line work names no detailed occupation: the residual group 其他食品、
    # 饮料生产加工人员 (without these, 食品厂流水线 read as the electronics line above).
    "6-02-99-00": ("食品厂流水线", "食品厂普工", "食品厂操作工", "食品加工", "食品车间", "做食品"),
    "6-31-03-05": ("质检", "查货", "品检", "QC", "挑货检验"),
    "6-31-05-00": ("打包", "包装", "装箱", "贴标签"),
    # Injection moulding is 塑料制品成型制作工 in the real titles (招聘注塑工 → 6-14-02-00); the
    # classification lists 注塑工 among 模具工's aliases too, which taught the coder wrong.
    "6-14-02-00": ("注塑", "看注塑机", "开注塑机", "注塑车间", "吹塑"),
    "6-18-03-03": ("喷漆", "刷油漆", "喷涂"),
    "4-07-05-01": ("看大门", "当保安", "门卫", "巡逻", "站岗"),
    "4-09-08-01": ("搞卫生", "打扫卫生", "保洁", "做保洁"),
    "4-10-01-06": ("做家政", "当保姆", "带小孩做饭", "做钟点工", "月嫂"),
    "4-10-01-05": ("照顾老人", "养老院护工", "护理老人"),
    "4-14-01-02": ("医院护工", "陪护病人", "护工"),
    "4-03-02-01": ("炒菜", "当厨师", "掌勺", "配菜", "切配", "帮厨"),
    "4-03-02-02": ("做面点", "蒸馒头", "包包子", "白案"),
    "4-03-02-05": ("端盘子", "饭店服务员", "传菜", "洗碗"),
    "4-10-08-01": ("送外卖", "跑外卖", "外卖骑手", "美团骑手", "送餐"),
    "4-02-02-02": ("开货车", "跑运输", "开大车", "货车司机"),
    "4-02-02-01": ("开出租", "跑滴滴", "开网约车", "开班车"),
    "4-01-02-04": ("收银", "超市收银"),
    "4-01-02-03": ("卖货", "站柜台", "导购", "卖衣服"),
    "4-12-01-01": ("修车", "汽修", "洗车", "补胎"),
    "6-20-01-01": ("装配", "钳工", "流水线装配"),
    "5-01-02-01": ("种地", "种菜", "种大棚"),
}


def colloquial_examples() -> list[tuple[str, str]]:
    """The ``COLLOQUIAL`` table as ``(text, code)`` pairs."""
    return [(text, code) for code, texts in COLLOQUIAL.items() for text in texts]


# -- spelling ---------------------------------------------------------------------------------

# Same-sound or same-shape characters that people type by mistake (pinyin input picks the
# neighbour, handwriting is read wrong).
_CONFUSABLE = {
    "缝": "逢",
    "纫": "韧",
    "焊": "悍",
    "员": "原",
    "师": "狮",
    "装": "妆",
    "配": "陪",
    "检": "捡",
    "验": "检",
    "库": "裤",
    "管": "馆",
    "厨": "橱",
    "保": "宝",
    "洁": "结",
    "递": "第",
    "件": "键",
    "钢": "刚",
    "筋": "斤",
    "砌": "切",
    "架": "驾",
    "叉": "差",
    "车": "东",
    "搬": "班",
    "运": "云",
    "护": "户",
    "营": "赢",
    "销": "消",
    "售": "兽",
    "客": "课",
    "服": "福",
    "务": "物",
    "技": "计",
    "工": "公",
    "维": "围",
    "修": "休",
    "电": "点",
    "机": "鸡",
    "操": "糙",
    "作": "做",
    "普": "谱",
}


def typo(text: str, rng: random.Random) -> str:
    """One slip of the keyboard: a confusable character, a dropped, doubled or swapped one."""
    if len(text) < 2:
        return text
    options = [i for i, c in enumerate(text) if c in _CONFUSABLE]
    kind = rng.randrange(4)
    if kind == 0 and options:
        i = _pick(rng, options)  # type: ignore[arg-type]
        return text[:i] + _CONFUSABLE[text[i]] + text[i + 1 :]
    i = rng.randrange(len(text))
    if kind == 1 and len(text) > 2:
        return text[:i] + text[i + 1 :]
    if kind == 2:
        return text[: i + 1] + text[i:]
    j = min(i + 1, len(text) - 1)
    chars = list(text)
    chars[i], chars[j] = chars[j], chars[i]
    return "".join(chars)


@lru_cache(maxsize=1)
def _s2t():
    from opencc import OpenCC

    return OpenCC("s2t")


def to_traditional(text: str) -> str:
    """Traditional characters, as written in Hong Kong and Taiwan and by some older clerks."""
    return _s2t().convert(text)


# -- putting it together ---------------------------------------------------------------------


def _variant(text: str, rng: random.Random) -> str:
    r = rng.random()
    out = firm_title(text, rng) if r < 0.55 else worker_text(text, rng)
    r = rng.random()
    if r < 0.12:
        out = typo(out, rng)
    elif r < 0.2:
        out = to_traditional(out)
    return out


def augment_examples(
    examples: Iterable[tuple[str, str]],
    n_variants: int = 3,
    seed: int = 0,
    keep_original: bool = True,
) -> list[tuple[str, str]]:
    """Each ``(text, code)`` and ``n_variants`` noisy variants of it with the same code.

    Parameters
    ----------
    examples : iterable of (str, str)
        Clean texts (a name, an alias, a colloquial phrase) and their occupation code.
    n_variants : int, default=3
        Variants per example: a firm's job title (noise, employer, place) or a worker's
        sentence (verbs, years, places, employers), now and then with a typo or in
        traditional characters.
    seed : int, default=0
    keep_original : bool, default=True
        Put each clean example first, before its variants.

    Returns
    -------
    list of (str, str)
        Variants are distinct from each other and from the original; fewer than
        ``n_variants`` only when the draws kept repeating.
    """
    if not (isinstance(n_variants, int) and n_variants >= 0):
        raise ValueError(f"n_variants must be a non-negative int, got {n_variants!r}")
    rng = random.Random(seed)
    out: list[tuple[str, str]] = []
    for text, code in examples:
        text = str(text).strip()
        if not text:
            continue
        if keep_original:
            out.append((text, code))
        seen = {text}
        for _ in range(n_variants * 3):
            if len(seen) > n_variants:
                break
            v = _variant(text, rng)
            if v not in seen:
                seen.add(v)
                out.append((v, code))
    return out
