"""Phrase and parameter tables of the demo world (see ``data/DEMO_WORLD.md``).

Everything here is small, hand-written data: the occupations that really hire workers from
the western counties in Jiangsu, with their CSCO 2022 code, wage level, limits, certificates
and the words HR departments and county clerks use for them; the industries of the firms;
the ethnic mix of the counties. ``data/demo.py`` draws template *indices* with numpy and
only formats strings from these tables, which keeps a million-row world fast.

Certificate spellings are taken from ``data/reference/certificates.csv`` where a catalogue
entry exists, so that the normaliser recognises them; a few spellings that people write but
the catalogue does not hold (挖掘机证, 电脑一级…) are here on purpose: they must end up in
``certificates_unrecognised``.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Occupation:
    """One occupation of the demo world.

    ``wage`` is the monthly pay range (yuan, overtime included) in 苏州; other cities are
    scaled by :data:`CITY_WAGE_FACTOR`. ``job_certs`` lists alternatives of one requirement
    as ``(probability, (spelling, ...))``: with that probability the posting requires the
    certificate and writes it with one of the spellings. ``worker_certs`` is the same for
    the workers whose latent occupation this is. ``family`` groups occupations whose skills
    transfer (an electronics line worker can work an auto-parts line).
    """

    key: str
    code: str
    family: str
    titles: tuple[str, ...]
    tasks: tuple[str, ...]
    wage: tuple[int, int]
    age: tuple[int, int]
    male_share: float
    job_weight: float
    worker_weight: float
    skills: tuple[str, ...]
    desired: tuple[str, ...]
    education_min: tuple[tuple[str | None, float], ...] = ((None, 0.55), ("初中", 0.45))
    job_certs: tuple[tuple[float, tuple[str, ...]], ...] = ()
    worker_certs: tuple[tuple[float, tuple[str, ...]], ...] = ()
    novice_ok: float = 0.6
    dormitory: float = 0.8
    meals: float = 0.7
    headcount: tuple[int, int] = (2, 30)
    title_perks: tuple[str, ...] = field(default=("包吃住", "五险一金", "长白班"))


# Skill phrases use {n} for a number of years (written 3, ３ or 三) and {place} for a
# place the worker has worked (西安, 东莞…). They are colloquial on purpose.
OCCUPATIONS: tuple[Occupation, ...] = (
    Occupation(
        key="electronics_assembly", code="6-25-04-07", family="factory_line",
        titles=("普工", "电子厂普工", "操作工", "电子装配工", "组装工", "流水线操作工", "插件工"),
        tasks=("流水线电子产品组装、插件、测试", "按作业指导书完成装配和目检", "手机配件组装及外观检查"),
        wage=(5000, 7000), age=(18, 45), male_share=0.45, job_weight=14, worker_weight=12,
        skills=("在{place}电子厂干过{n}年流水线", "电子厂普工{n}年", "在厂里插件、组装都干过",
                "进过电子厂，做手机壳组装", "在{place}富士康干过{n}年", "流水线上干过，会看作业指导书",
                "厂里打过螺丝，干过装配"),
        desired=("普工", "进厂", "电子厂", "流水线", "操作工"),
        novice_ok=0.85, headcount=(5, 120),
    ),
    Occupation(
        key="smt", code="6-25-01-13", family="factory_line",
        titles=("SMT操作工", "SMT贴片操作员", "贴片机操作工", "SMT技术员", "SMT炉后目检"),
        tasks=("SMT贴片机上料、换线、炉后目检", "操作贴片机和回流焊，做首件确认", "电路板贴片、AOI检测"),
        wage=(5500, 7500), age=(18, 40), male_share=0.55, job_weight=5, worker_weight=3,
        skills=("在{place}干过{n}年SMT，会上料换线", "做过贴片机操作", "电路板厂干过，炉后目检",
                "SMT车间待过{n}年", "在线路板厂上过班"),
        desired=("SMT", "贴片", "电子厂"),
        education_min=((None, 0.3), ("初中", 0.6), ("高中", 0.1)),
        novice_ok=0.5, headcount=(3, 40),
    ),
    Occupation(
        key="auto_parts", code="6-22-01-01", family="factory_line",
        titles=("汽车零部件操作工", "汽配厂普工", "汽车生产线操作工", "装配工（汽车零部件）", "总装线操作工"),
        tasks=("汽车零部件装配和检验", "生产线设备操作、上下料", "汽车座椅/线束装配"),
        wage=(5500, 7500), age=(18, 45), male_share=0.7, job_weight=9, worker_weight=6,
        skills=("在汽配厂干过{n}年", "在{place}汽车厂流水线上干过", "做过汽车线束装配", "汽车配件厂上下料干过{n}年",
                "在车厂总装线干过"),
        desired=("汽配厂", "普工", "汽车厂", "装配工"),
        novice_ok=0.7, headcount=(5, 80),
    ),
    Occupation(
        key="photovoltaic", code="6-24-02-04", family="factory_line",
        titles=("光伏组件操作工", "新能源普工", "电池片操作工", "光伏厂普工"),
        tasks=("光伏组件串焊、层压、装框", "电池片分选和包装", "设备看护和上下料"),
        wage=(5500, 7200), age=(18, 42), male_share=0.6, job_weight=5, worker_weight=3,
        skills=("在光伏厂做过{n}年组件", "新能源厂干过层压", "在{place}电池厂干过", "做过光伏板串焊"),
        desired=("光伏", "新能源", "普工"),
        novice_ok=0.8, headcount=(10, 100),
    ),
    Occupation(
        key="packer", code="6-31-05-00", family="factory_line",
        titles=("包装工", "包装普工", "打包员", "包装工（计件）", "后道包装"),
        tasks=("产品装箱、贴标、打包", "成品包装和入库前整理", "按订单包装、封箱"),
        wage=(4500, 6000), age=(18, 50), male_share=0.35, job_weight=5, worker_weight=5,
        skills=("在厂里做过包装", "打包、贴标都干过", "在{place}食品厂包装车间干过{n}年", "做过快递打包"),
        desired=("包装", "打包", "普工", "轻松点的活"),
        novice_ok=0.95, headcount=(2, 30),
    ),
    Occupation(
        key="quality_inspector", code="6-31-03-05", family="factory_line",
        titles=("质检员", "QC检验员", "品检", "外观检验员", "IPQC"),
        tasks=("产品外观和尺寸检验", "来料检验、过程巡检并记录", "按检验标准挑出不良品"),
        wage=(5000, 6800), age=(18, 40), male_share=0.35, job_weight=3, worker_weight=2,
        skills=("在厂里当过{n}年品检", "做过QC，会用卡尺", "干过质检，挑不良品", "电子厂检验员干过"),
        desired=("质检", "品检", "QC"),
        education_min=(("初中", 0.6), ("高中", 0.4)),
        novice_ok=0.4, headcount=(1, 10),
    ),
    Occupation(
        key="sewing", code="6-05-01-03", family="garment",
        titles=("缝纫工", "车位", "平车工", "熟练车工（服装）", "缝纫工（计件）", "服装车位"),
        tasks=("服装缝制，平车、拷边", "按工艺要求车缝成衣", "流水线车缝，计件工资"),
        wage=(6000, 9000), age=(18, 50), male_share=0.15, job_weight=8, worker_weight=9,
        skills=("在服装厂踩过{n}年缝纫机", "会踩缝纫机，平车拷边都行", "在{place}服装厂干过车位",
                "做过{n}年衣服", "制衣厂干过，会平车", "在家做过缝纫活"),
        desired=("缝纫", "服装厂", "车位", "制衣"),
        novice_ok=0.35, headcount=(3, 50), title_perks=("计件", "包吃住", "多劳多得"),
    ),
    Occupation(
        key="garment_cutter", code="6-05-01-02", family="garment",
        titles=("裁剪工", "裁床工", "服装裁剪", "电剪工"),
        tasks=("按样板铺布、裁剪", "裁床排料和电剪操作", "裁片清点、打号"),
        wage=(5500, 7500), age=(20, 50), male_share=0.55, job_weight=2, worker_weight=2,
        skills=("在服装厂干过裁床", "做过{n}年裁剪", "会用电剪，铺布裁片都会"),
        desired=("裁剪", "服装厂"),
        novice_ok=0.4, headcount=(1, 8),
    ),
    Occupation(
        key="weaver", code="6-04-03-03", family="textile",
        titles=("挡车工", "织布工", "纺织挡车工", "喷气织机挡车工", "纺织普工"),
        tasks=("看管织机、接头、处理断纱", "纺织车间挡车和巡回", "喷水织机看台"),
        wage=(5500, 8000), age=(18, 48), male_share=0.35, job_weight=4, worker_weight=3,
        skills=("在纺织厂挡过{n}年车", "织布厂干过，会接头", "在{place}纺织厂上过班", "看过织机"),
        desired=("纺织", "织布", "挡车"),
        novice_ok=0.6, headcount=(3, 40), title_perks=("两班倒", "包吃住", "计件"),
    ),
    Occupation(
        key="food_processing", code="6-02-03-02", family="food",
        titles=("食品厂普工", "速冻食品操作工", "食品加工工", "包子/水饺生产线普工", "食品生产操作工"),
        tasks=("速冻食品成型、包装", "食品生产线操作和清洁", "原料处理、称量、装盘"),
        wage=(4800, 6500), age=(18, 50), male_share=0.4, job_weight=5, worker_weight=4,
        skills=("在食品厂干过{n}年", "包过速冻饺子", "在{place}食品厂流水线上干过", "做过面点加工"),
        desired=("食品厂", "普工", "食品加工"),
        job_certs=((0.65, ("健康证", "健康证明")),),
        worker_certs=((0.4, ("健康证",)),),
        novice_ok=0.9, headcount=(5, 60),
    ),
    Occupation(
        key="meat_processing", code="6-01-04-03", family="food",
        titles=("肉制品加工工", "分割工", "肉食品厂操作工", "屠宰分割工"),
        tasks=("禽肉分割、修整、包装", "肉制品腌制、蒸煮和包装", "冷库分拣和称重"),
        wage=(5500, 7500), age=(18, 50), male_share=0.6, job_weight=2, worker_weight=2,
        skills=("在肉联厂干过分割", "屠宰场干过{n}年", "在{place}牛羊肉加工厂干过"),
        desired=("肉食厂", "分割", "普工"),
        job_certs=((0.7, ("健康证",)),),
        worker_certs=((0.5, ("健康证",)),),
        novice_ok=0.7, headcount=(3, 40),
    ),
    Occupation(
        key="courier", code="4-02-07-08", family="logistics",
        titles=("快递员", "快递派送员", "快递小哥", "片区快递员（多劳多得）", "驿站派件员"),
        tasks=("负责片区快件派送和揽收", "三轮车派件，按单结算", "快件派送、客户沟通"),
        wage=(6000, 10000), age=(18, 45), male_share=0.9, job_weight=5, worker_weight=4,
        skills=("送过{n}年快递", "在{place}干过快递员", "跑过外卖和快递", "会骑电动三轮，送过件"),
        desired=("快递", "送货", "外卖"),
        worker_certs=((0.5, ("C1驾照", "驾照", "C1")),),
        novice_ok=0.8, dormitory=0.5, meals=0.3, headcount=(2, 20),
        title_perks=("多劳多得", "底薪+提成", "包住"),
    ),
    Occupation(
        key="sorter", code="4-02-07-09", family="logistics",
        titles=("分拣员", "快递分拣员", "仓库分拣", "物流分拣员（夜班）", "包裹分拣"),
        tasks=("快递中转场包裹分拣、扫描、装车", "按线路分拣包裹", "夜班分拣，上下货"),
        wage=(5000, 7000), age=(18, 50), male_share=0.6, job_weight=6, worker_weight=4,
        skills=("在快递中转场分拣过{n}年", "干过分拣、扫件", "在{place}物流园上过夜班", "仓库里分过货"),
        desired=("分拣", "仓库", "物流"),
        novice_ok=0.95, headcount=(5, 80), title_perks=("日结", "包住", "长白班"),
    ),
    Occupation(
        key="loader", code="4-02-05-01", family="logistics",
        titles=("装卸工", "搬运工", "装卸搬运工", "仓库装卸", "物流装卸工（计件）"),
        tasks=("货物装卸和搬运", "仓库货物上下架、装车", "按件计酬装卸货物"),
        wage=(6000, 9000), age=(18, 50), male_share=0.97, job_weight=3, worker_weight=5,
        skills=("在{place}物流园装过车", "干过{n}年搬运", "卸货、装车都干过", "有力气，干过装卸"),
        desired=("装卸", "搬运", "力气活"),
        novice_ok=0.98, dormitory=0.6, headcount=(2, 30), title_perks=("计件", "日结", "多劳多得"),
    ),
    Occupation(
        key="forklift", code="6-30-05-01", family="logistics",
        titles=("叉车司机", "叉车工", "叉车司机（持证）", "仓库叉车工", "电动叉车司机"),
        tasks=("驾驶叉车装卸、转运货物", "仓库叉车作业和货物堆放", "厂内叉车转运物料"),
        wage=(6000, 8000), age=(20, 50), male_share=0.97, job_weight=4, worker_weight=3,
        skills=("会开叉车有证", "开过{n}年叉车", "在{place}仓库开叉车", "叉车工干过，有N1证", "厂里开过铲车"),
        desired=("叉车", "开叉车", "叉车司机"),
        job_certs=((0.92, ("叉车证", "叉车操作证", "N1证", "叉车司机证")),),
        worker_certs=((0.75, ("叉车证", "叉车操作证", "N1证", "铲车证")),),
        novice_ok=0.1, headcount=(1, 6), title_perks=("持证", "长白班", "五险一金"),
    ),
    Occupation(
        key="truck_driver", code="4-02-02-02", family="logistics",
        titles=("货车司机", "B2货车司机", "A2半挂司机", "物流司机", "厢式货车司机"),
        tasks=("城际货物运输", "厢式货车配送门店", "长途干线运输，两人一车"),
        wage=(8000, 12000), age=(23, 55), male_share=0.99, job_weight=3, worker_weight=3,
        skills=("开过{n}年大车", "跑过长途货运", "在{place}开货车拉货", "有B2，开过厢货", "开半挂的，A2本"),
        desired=("货车司机", "开车", "司机"),
        education_min=((None, 0.7), ("初中", 0.3)),
        job_certs=((1.0, ("B2驾驶证", "B2驾照", "A2驾照")), (0.4, ("货运从业资格证",))),
        worker_certs=((0.85, ("B2驾照", "A2驾照", "B2", "A2")), (0.4, ("货运资格证", "从业资格证"))),
        novice_ok=0.05, dormitory=0.4, meals=0.3, headcount=(1, 8), title_perks=("五险一金", "包住", "月休4天"),
    ),
    Occupation(
        key="welder", code="6-18-02-04", family="metal",
        titles=("焊工", "电焊工", "二保焊工", "氩弧焊工", "持证焊工"),
        tasks=("二氧化碳保护焊焊接钢结构件", "按图纸焊接、打磨", "氩弧焊焊接不锈钢件"),
        wage=(7000, 11000), age=(20, 50), male_share=0.98, job_weight=4, worker_weight=4,
        skills=("干过{n}年电焊", "在{place}钢结构厂烧电焊", "会二保焊，有证", "焊工，氩弧焊也会", "在工地烧过焊"),
        desired=("电焊", "焊工"),
        job_certs=((0.75, ("焊工证", "电焊证", "特种作业焊工证")),),
        worker_certs=((0.6, ("电焊证", "焊工证", "焊接证")),),
        novice_ok=0.1, headcount=(1, 10), title_perks=("持证", "包吃住", "五险一金"),
    ),
    Occupation(
        key="electrician", code="6-31-01-03", family="metal",
        titles=("电工", "维修电工", "持证电工", "设备电工", "水电工"),
        tasks=("厂区设备电气维修和保养", "配电线路检修、照明维护", "设备电气故障排查"),
        wage=(6500, 9500), age=(20, 50), male_share=0.98, job_weight=3, worker_weight=2,
        skills=("当过{n}年电工", "会接线，懂配电", "在{place}工地干过水电", "厂里修过设备，有电工证"),
        desired=("电工", "水电工", "维修"),
        education_min=(("初中", 0.7), ("高中", 0.3)),
        job_certs=((0.85, ("低压电工证", "电工证", "电工操作证")),),
        worker_certs=((0.65, ("电工证", "低压电工证", "维修电工", "电工上岗证")),),
        novice_ok=0.05, headcount=(1, 4), title_perks=("持证", "五险一金", "长白班"),
    ),
    Occupation(
        key="cnc", code="6-18-01-07", family="metal",
        titles=("CNC操作工", "数控车床操作工", "加工中心操作工", "数控学徒", "CNC普工"),
        tasks=("数控机床上下料、测量", "加工中心操作，首件检验", "看图调机，按程序加工零件"),
        wage=(6000, 8500), age=(18, 40), male_share=0.9, job_weight=4, worker_weight=2,
        skills=("开过{n}年数控车床", "在{place}机加工厂干过CNC", "会看图，上下料、对刀都会", "机械厂干过车床"),
        desired=("数控", "CNC", "机加工"),
        novice_ok=0.5, headcount=(1, 15),
    ),
    Occupation(
        key="rebar", code="6-29-01-04", family="construction",
        titles=("钢筋工", "钢筋工（点工）", "钢筋班组招人", "工地钢筋工"),
        tasks=("钢筋下料、绑扎", "按图纸绑扎钢筋", "工地钢筋制作安装"),
        wage=(8000, 12000), age=(20, 58), male_share=0.99, job_weight=3, worker_weight=6,
        skills=("在{place}工地干过{n}年钢筋", "绑过钢筋", "工地上干过钢筋，点工包工都干", "跟班组干钢筋"),
        desired=("工地", "钢筋工", "建筑"),
        education_min=((None, 0.95), ("小学", 0.05)),
        novice_ok=0.3, meals=0.5, headcount=(3, 30), title_perks=("日结", "包住", "按月结清"),
    ),
    Occupation(
        key="carpenter", code="6-06-03-01", family="construction",
        titles=("木工", "建筑木工", "模板工", "支模木工"),
        tasks=("建筑模板支设和拆除", "按图纸支模、加固", "工地木工活"),
        wage=(8000, 12500), age=(20, 58), male_share=0.99, job_weight=2, worker_weight=4,
        skills=("干过{n}年木工", "在工地支模板", "在{place}跟班组干木工", "会木工活"),
        desired=("木工", "工地", "建筑"),
        education_min=((None, 0.95), ("小学", 0.05)),
        novice_ok=0.2, meals=0.5, headcount=(3, 20), title_perks=("日结", "包住", "按月结清"),
    ),
    Occupation(
        key="mason", code="6-29-01-01", family="construction",
        titles=("瓦工", "砌筑工", "泥瓦工", "大工（瓦工）"),
        tasks=("砌墙、抹灰", "砌块砌筑和找平", "工地瓦工活"),
        wage=(8000, 12000), age=(20, 58), male_share=0.97, job_weight=2, worker_weight=4,
        skills=("当过{n}年瓦工", "砌墙抹灰都会", "在{place}盖过房子", "在老家给人盖房"),
        desired=("瓦工", "工地", "泥瓦工"),
        education_min=((None, 0.95), ("小学", 0.05)),
        novice_ok=0.2, meals=0.5, headcount=(2, 20), title_perks=("日结", "包住", "按月结清"),
    ),
    Occupation(
        key="decorator", code="6-29-04-01", family="construction",
        titles=("装修工", "油漆工", "贴砖师傅", "腻子工", "装修小工"),
        tasks=("室内刮腻子、刷漆", "地砖墙砖铺贴", "装修辅助和清理"),
        wage=(7000, 11000), age=(20, 55), male_share=0.9, job_weight=2, worker_weight=3,
        skills=("干过{n}年装修", "刮腻子、刷漆都会", "在{place}贴过瓷砖", "跟人干过装修小工"),
        desired=("装修", "油漆工", "贴砖"),
        education_min=((None, 0.9), ("小学", 0.1)),
        novice_ok=0.4, dormitory=0.5, meals=0.4, headcount=(1, 10), title_perks=("日结", "包住", "长期"),
    ),
    Occupation(
        key="security", code="4-07-05-01", family="property",
        titles=("保安", "保安员", "小区保安", "门卫", "工厂保安", "物业秩序维护员"),
        tasks=("小区门岗值守和巡逻", "厂区门卫、来访登记", "商场秩序维护"),
        wage=(3800, 5000), age=(18, 60), male_share=0.9, job_weight=6, worker_weight=5,
        skills=("当过小区门卫", "在{place}干过{n}年保安", "做过厂里门卫", "部队退伍，干过保安"),
        desired=("保安", "门卫", "看大门"),
        job_certs=((0.45, ("保安员证", "保安证")),),
        worker_certs=((0.45, ("保安证", "保安员证")),),
        novice_ok=0.9, headcount=(1, 12), title_perks=("包吃住", "做一休一", "长白班"),
    ),
    Occupation(
        key="cleaner", code="4-09-08-01", family="property",
        titles=("保洁", "保洁员", "保洁阿姨", "物业保洁", "商场保洁"),
        tasks=("公共区域清洁", "写字楼卫生打扫", "小区楼道、垃圾桶清洁"),
        wage=(3000, 4200), age=(25, 60), male_share=0.2, job_weight=5, worker_weight=6,
        skills=("在{place}做过保洁", "打扫卫生干过{n}年", "在医院搞过卫生", "在学校当过保洁"),
        desired=("保洁", "打扫卫生", "轻松点的活"),
        novice_ok=0.98, dormitory=0.5, meals=0.6, headcount=(1, 10), title_perks=("包住", "做六休一", "长白班"),
    ),
    Occupation(
        key="gardener", code="4-09-10-01", family="property",
        titles=("绿化工", "园林绿化工", "绿化养护工"),
        tasks=("绿化养护、浇水修剪", "园区花木养护", "草坪修剪和除草"),
        wage=(3800, 5000), age=(25, 60), male_share=0.6, job_weight=1, worker_weight=2,
        skills=("在{place}干过绿化", "修剪过草坪", "种过树，干过园林", "在苗圃干过{n}年"),
        desired=("绿化", "园林"),
        novice_ok=0.9, dormitory=0.5, headcount=(1, 8), title_perks=("包住", "长白班"),
    ),
    Occupation(
        key="elder_care", code="4-10-01-05", family="care",
        titles=("养老护理员", "护工", "养老院护理员", "护理员（长期）"),
        tasks=("照顾老人起居、喂饭、翻身", "养老院老人生活照料", "协助老人康复活动"),
        wage=(4500, 6500), age=(20, 55), male_share=0.15, job_weight=3, worker_weight=3,
        skills=("在养老院当过护工", "照顾过瘫痪老人{n}年", "在{place}医院做过陪护", "在家伺候过老人"),
        desired=("护工", "养老院", "护理"),
        job_certs=((0.3, ("养老护理员证", "养老护理证")), (0.3, ("健康证",))),
        worker_certs=((0.35, ("养老护理证", "养老护理员证", "护工证")), (0.3, ("健康证",))),
        novice_ok=0.6, headcount=(1, 10), title_perks=("包吃住", "五险一金", "可培训"),
    ),
    Occupation(
        key="domestic", code="4-10-01-06", family="care",
        titles=("家政服务员", "住家保姆", "月嫂", "钟点工", "家政阿姨"),
        tasks=("家庭保洁、做饭、照看老人", "住家做饭和家务", "产妇和新生儿护理"),
        wage=(5000, 8500), age=(25, 55), male_share=0.05, job_weight=2, worker_weight=3,
        skills=("做过{n}年保姆", "在{place}当过住家阿姨", "会做饭，带过孩子", "当过月嫂"),
        desired=("保姆", "家政", "月嫂"),
        job_certs=((0.4, ("健康证",)),),
        worker_certs=((0.35, ("健康证",)), (0.2, ("家政证", "月嫂证"))),
        novice_ok=0.6, dormitory=0.9, meals=0.9, headcount=(1, 5), title_perks=("住家", "包吃住"),
    ),
    Occupation(
        key="childcare", code="4-10-01-03", family="care",
        titles=("育婴员", "育婴师", "保育员", "早教保育员"),
        tasks=("婴幼儿生活照料和喂养", "托育机构保育工作", "照看婴儿、辅食制作"),
        wage=(5000, 8000), age=(20, 50), male_share=0.02, job_weight=1, worker_weight=1,
        skills=("带过{n}年孩子", "在托儿所干过", "有育婴师证，带过宝宝"),
        desired=("育婴", "带孩子", "保育"),
        education_min=(("初中", 0.7), ("高中", 0.3)),
        job_certs=((0.45, ("育婴员证", "育婴师证")), (0.35, ("健康证",))),
        worker_certs=((0.45, ("育婴师证", "育婴员证")), (0.4, ("健康证",))),
        novice_ok=0.4, dormitory=0.7, meals=0.8, headcount=(1, 4), title_perks=("包吃住", "五险"),
    ),
    Occupation(
        key="cook", code="4-03-02-01", family="catering",
        titles=("厨师", "炒锅厨师", "食堂厨师", "帮厨", "大锅菜厨师"),
        tasks=("食堂大锅菜烹饪", "炒锅、配菜", "员工食堂做饭"),
        wage=(6000, 9000), age=(20, 55), male_share=0.75, job_weight=3, worker_weight=3,
        skills=("在饭店炒过{n}年菜", "在{place}食堂当过厨师", "会做家常菜，当过帮厨", "开过面馆", "在工地食堂做饭"),
        desired=("厨师", "帮厨", "做饭"),
        job_certs=((0.75, ("健康证",)), (0.1, ("厨师证", "中式烹调师证"))),
        worker_certs=((0.5, ("健康证",)), (0.25, ("厨师证",))),
        novice_ok=0.25, headcount=(1, 4), title_perks=("包吃住", "月休4天"),
    ),
    Occupation(
        key="pastry", code="4-03-02-02", family="catering",
        titles=("面点师", "白案", "面点师傅", "包子师傅"),
        tasks=("包子、馒头等面点制作", "食堂白案", "早餐面点"),
        wage=(5500, 7500), age=(20, 55), male_share=0.5, job_weight=1, worker_weight=2,
        skills=("会做面食，拉面、包子都会", "在{place}拉面馆干过{n}年", "开过早餐店，蒸包子", "当过白案师傅"),
        desired=("面点", "拉面", "白案"),
        job_certs=((0.7, ("健康证",)),),
        worker_certs=((0.45, ("健康证",)), (0.2, ("面点师证",))),
        novice_ok=0.3, headcount=(1, 3), title_perks=("包吃住", "月休4天"),
    ),
    Occupation(
        key="waiter", code="4-03-02-05", family="catering",
        titles=("服务员", "餐厅服务员", "传菜员", "前厅服务员", "服务员（长期）"),
        tasks=("餐厅点菜、传菜、收台", "迎宾和餐前准备", "包厢服务"),
        wage=(4000, 5500), age=(18, 40), male_share=0.35, job_weight=4, worker_weight=3,
        skills=("在饭店当过服务员", "在{place}火锅店干过{n}年", "传过菜，端过盘子", "在酒店餐厅干过"),
        desired=("服务员", "饭店", "餐厅"),
        job_certs=((0.5, ("健康证",)),),
        worker_certs=((0.3, ("健康证",)),),
        novice_ok=0.95, headcount=(2, 15), title_perks=("包吃住", "月休4天", "可培训"),
    ),
    Occupation(
        key="housekeeping", code="4-03-01-02", family="catering",
        titles=("客房服务员", "酒店客房阿姨", "客房保洁", "做房阿姨"),
        tasks=("酒店客房清扫和布草更换", "客房整理、补充用品", "楼层清洁"),
        wage=(4000, 5500), age=(20, 55), male_share=0.1, job_weight=2, worker_weight=2,
        skills=("在酒店做过客房", "在{place}宾馆干过{n}年", "做房、换床单都干过"),
        desired=("客房", "酒店", "保洁"),
        job_certs=((0.3, ("健康证",)),),
        worker_certs=((0.3, ("健康证",)),),
        novice_ok=0.9, headcount=(1, 10), title_perks=("包吃住", "计件", "月休4天"),
    ),
)

#: Skill phrases of workers with no work experience outside the village.
NO_EXPERIENCE_SKILLS: tuple[str, ...] = (
    "在家务农，没出过门", "种地", "在家种地养羊", "在家带孩子，没上过班", "务农", "放过羊",
    "没出去打过工", "刚毕业", "在县城打过零工", "农闲时打点零工", "在家照顾老人",
)
NO_EXPERIENCE_DESIRED: tuple[str, ...] = (
    "普工", "进厂", "什么都行", "工资高的", "包吃住的", "力气活", "轻松点的活", "学门手艺", "",
)
#: Places a worker may have worked before (西部 and coastal cities).
WORK_PLACES: tuple[str, ...] = (
    "西安", "东莞", "深圳", "苏州", "昆山", "宁波", "温州", "义乌", "广州", "无锡", "上海",
    "县城", "咸阳", "西宁", "贵阳", "杭州", "南京", "常州", "兰州", "新疆", "福建", "浙江",
)
#: Extra sentences clerks add, about anything but the job.
NOISE_PHRASES: tuple[str, ...] = (
    "身体好", "能吃苦", "能加班", "家里有老人要照顾", "想和老乡一起", "听从安排", "年底要回家",
    "想学技术", "不怕累", "会说普通话", "有孩子上学", "希望离家近点", "人老实",
)
#: Certificates people write that the catalogue does not know (must stay unrecognised).
UNRECOGNISED_CERTS: tuple[str, ...] = (
    "挖掘机证", "电脑一级", "农机证", "摩托车驾照", "拖拉机证", "厨艺培训结业证", "茶艺结业证",
)
#: Certificates anybody may hold regardless of occupation: (probability, spellings).
COMMON_WORKER_CERTS: tuple[tuple[float, tuple[str, ...]], ...] = (
    (0.14, ("C1驾照", "驾照C1", "C1", "小车驾照")),
    (0.05, ("健康证",)),
)

#: Industries of firms: (key, weight, name words, occupation weights).
INDUSTRIES: tuple[tuple[str, float, tuple[str, ...], dict[str, float]], ...] = (
    ("电子", 18, ("电子科技", "精密电子", "光电科技", "电子"), {
        "electronics_assembly": 6, "smt": 3, "packer": 1, "quality_inspector": 1,
        "forklift": 0.4, "electrician": 0.3, "security": 0.2, "cleaner": 0.2, "cook": 0.2}),
    ("汽车零部件", 12, ("汽车零部件", "汽车部件", "汽车配件", "车业科技"), {
        "auto_parts": 6, "cnc": 2, "welder": 1.5, "quality_inspector": 1, "forklift": 1,
        "packer": 0.5, "electrician": 0.4}),
    ("新能源", 6, ("新能源科技", "光伏科技", "能源科技"), {
        "photovoltaic": 6, "electronics_assembly": 1, "quality_inspector": 1, "forklift": 0.5,
        "electrician": 0.5}),
    ("服装", 9, ("服饰", "制衣", "服装"), {
        "sewing": 6, "garment_cutter": 2, "quality_inspector": 0.8, "packer": 1}),
    ("纺织", 6, ("纺织", "织造", "纺织科技"), {
        "weaver": 6, "sewing": 1, "packer": 1, "forklift": 0.3, "electrician": 0.3}),
    ("食品", 7, ("食品", "食品科技", "清真食品"), {
        "food_processing": 4, "meat_processing": 2, "packer": 2, "quality_inspector": 0.5,
        "forklift": 0.5, "loader": 0.5}),
    ("物流", 10, ("物流", "供应链管理", "速递", "快运"), {
        "courier": 3, "sorter": 4, "loader": 2, "forklift": 2, "truck_driver": 2}),
    ("机械", 9, ("机械制造", "精密机械", "重工", "钢结构"), {
        "cnc": 3, "welder": 3, "electrician": 1, "forklift": 0.5, "quality_inspector": 0.5}),
    ("建筑", 7, ("建设工程", "建筑劳务", "建筑安装工程", "装饰工程"), {
        "rebar": 3, "carpenter": 2.5, "mason": 2.5, "decorator": 2, "welder": 1, "electrician": 1}),
    ("物业", 7, ("物业管理", "物业服务", "保安服务"), {
        "security": 4, "cleaner": 4, "electrician": 0.5, "gardener": 1}),
    ("养老家政", 4, ("养老服务", "家政服务", "健康管理"), {
        "elder_care": 4, "domestic": 3, "childcare": 2, "cleaner": 1}),
    ("餐饮酒店", 5, ("餐饮管理", "酒店管理", "餐饮"), {
        "cook": 3, "pastry": 1, "waiter": 4, "housekeeping": 2, "cleaner": 1}),
)

FIRM_BRAND_CHARS = "华通瑞恒鑫达泰昌盛宏嘉润丰源科德信联宇新晶博立康安远海金力天永兴隆创捷奥美佳和"
FIRM_SUFFIXES: tuple[tuple[str, float], ...] = (("有限公司", 0.8), ("股份有限公司", 0.12), ("有限责任公司", 0.08))

#: Share of firms per Jiangsu prefecture (the south employs most migrant workers).
CITY_FIRM_WEIGHT: dict[str, float] = {
    "苏州市": 25, "无锡市": 12, "南京市": 11, "常州市": 9, "南通市": 8, "徐州市": 6, "泰州市": 5,
    "盐城市": 5, "扬州市": 4, "镇江市": 4, "宿迁市": 4, "淮安市": 3.5, "连云港市": 3.5,
}
#: Wage level of each prefecture relative to 苏州 (苏南 above 苏北).
CITY_WAGE_FACTOR: dict[str, float] = {
    "苏州市": 1.0, "无锡市": 0.97, "南京市": 0.98, "常州市": 0.93, "南通市": 0.9, "镇江市": 0.88,
    "扬州市": 0.87, "泰州市": 0.87, "徐州市": 0.83, "盐城市": 0.83, "淮安市": 0.81,
    "连云港市": 0.8, "宿迁市": 0.79,
}

#: Ethnic mix by county name (rounded public census shares); counties not listed are
#: 汉族 with a trace of others. Only the mix matters to the demo.
ETHNIC_MIX: dict[str, dict[str, float]] = {
    "化隆回族自治县": {"回族": 0.51, "藏族": 0.24, "汉族": 0.21, "撒拉族": 0.04},
    "循化撒拉族自治县": {"撒拉族": 0.62, "藏族": 0.25, "回族": 0.05, "汉族": 0.08},
    "民和回族土族自治县": {"汉族": 0.53, "回族": 0.33, "土族": 0.12, "藏族": 0.02},
    "大通回族土族自治县": {"汉族": 0.6, "回族": 0.3, "土族": 0.06, "藏族": 0.04},
    "互助土族自治县": {"汉族": 0.73, "土族": 0.18, "藏族": 0.05, "回族": 0.04},
    "平安区": {"汉族": 0.7, "回族": 0.2, "藏族": 0.08, "土族": 0.02},
    "乐都区": {"汉族": 0.87, "藏族": 0.06, "回族": 0.04, "土族": 0.03},
    "湟中区": {"汉族": 0.76, "回族": 0.12, "藏族": 0.1, "土族": 0.02},
    "湟源县": {"汉族": 0.86, "藏族": 0.08, "回族": 0.06},
    "松桃苗族自治县": {"苗族": 0.55, "汉族": 0.35, "土家族": 0.1},
    "印江土家族苗族自治县": {"土家族": 0.7, "汉族": 0.2, "苗族": 0.1},
    "沿河土家族自治县": {"土家族": 0.65, "汉族": 0.33, "苗族": 0.02},
    "玉屏侗族自治县": {"侗族": 0.55, "汉族": 0.4, "苗族": 0.05},
    "江口县": {"土家族": 0.5, "汉族": 0.35, "苗族": 0.1, "侗族": 0.05},
    "石阡县": {"汉族": 0.5, "仡佬族": 0.25, "侗族": 0.15, "苗族": 0.1},
    "思南县": {"土家族": 0.6, "汉族": 0.38, "苗族": 0.02},
    "德江县": {"土家族": 0.6, "汉族": 0.38, "仡佬族": 0.02},
    "碧江区": {"汉族": 0.35, "侗族": 0.3, "土家族": 0.2, "苗族": 0.15},
    "万山区": {"侗族": 0.5, "汉族": 0.35, "苗族": 0.1, "土家族": 0.05},
}
DEFAULT_ETHNIC_MIX: dict[str, float] = {"汉族": 0.996, "回族": 0.004}
#: Probability that a worker of this ethnicity asks for halal food.
HALAL_SHARE: dict[str, float] = {"回族": 0.88, "撒拉族": 0.92}

#: Surnames by ethnicity; 藏族 workers often carry a two-part Tibetan name instead.
SURNAMES_HAN = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
SURNAMES_BY_ETHNICITY: dict[str, str] = {
    "回族": "马马马韩冶何丁杨白沙海穆马马",
    "撒拉族": "韩韩马马冶沈何",
    "土族": "李祁鲁吕星秦胡",
    "苗族": "龙吴石麻杨田滕",
    "土家族": "田向彭冉覃杨张",
    "侗族": "杨吴龙姚石张",
    "仡佬族": "王韦罗陈",
}
GIVEN_CHARS_MALE = "伟强军平刚勇杰涛斌明辉鹏华飞兵超磊建国福文海林峰亮成志永红春东生宝兴贵德发喜全旺有才龙"
GIVEN_CHARS_FEMALE = "芳娟敏静丽艳娜秀英霞玲萍红梅兰花琴燕凤翠云芬桂玉莲菊青雪慧小晓丹"
TIBETAN_NAMES_MALE = ("才让", "多杰", "扎西", "索南", "尼玛", "旦增", "更登", "昂秀", "拉加", "公保")
TIBETAN_NAMES_FEMALE = ("卓玛", "拉毛", "措吉", "央金", "才措", "德吉", "拉姆", "吉毛")
TIBETAN_NAMES_TAIL = ("才让", "加", "太", "东智", "本", "措", "杰", "吉", "卓玛", "草")

#: Syllables for township and village names (plausible, not real).
PLACE_CHARS = "东西南北上下前后大小马杨王李张河沟坪湾川坝岭山峪塬梁峁寨堡庄桥林泉石水花柳桃杏新安宁丰平和兴隆太石青红白黄龙凤"
TOWNSHIP_SUFFIXES = ("镇", "镇", "镇", "乡")
VILLAGE_SUFFIXES = ("村", "村", "村", "村", "社区")

#: Mobile number prefixes (China Mobile, Unicom, Telecom).
PHONE_PREFIXES = ("134", "135", "136", "137", "138", "139", "147", "150", "151", "152", "157",
                  "158", "159", "178", "182", "183", "187", "188", "130", "131", "132", "155",
                  "156", "166", "176", "185", "186", "133", "153", "173", "177", "180", "181",
                  "189", "199")

#: Marketing shapes of job titles. {t}=base title, {w}=wage, {lo}/{hi}=wage range,
#: {perk}=a perk the job really has, {city}=short city name, {district}=district.
TITLE_SHAPES: tuple[tuple[str, float], ...] = (
    ("{t}", 30), ("{t}+{perk}+月入{w}", 8), ("急招！{t} {perk} 五险一金", 6), ("{t}（{perk}）", 8),
    ("{city}{t}", 6), ("高薪招聘{t}，月薪{lo}-{hi}", 5), ("{t} 综合薪资{lok}-{hik}k", 5),
    ("【{city}】{t} {perk}", 5), ("直招{t}，无中介费", 4), ("{t} {w}+ {perk}", 5),
    ("诚聘{t}数名", 4), ("{t}/{t2}", 6), ("{city}{district}招{t}", 3),
)
#: Job description sentences; {task}, {age_min}, {age_max}, {edu}, {cert}, {lo}, {hi}, {perks}.
DESCRIPTION_SENTENCES: dict[str, tuple[str, ...]] = {
    "task": ("工作内容：{task}。", "主要负责{task}。", "岗位职责：{task}。"),
    "req": ("要求{age_min}-{age_max}岁，身体健康，{edu}。", "年龄{age_min}-{age_max}周岁，{edu}，能适应加班。",
            "{age_min}至{age_max}岁，{edu}，服从安排。"),
    "pay": ("综合工资{lo}-{hi}元/月，{perks}。", "薪资{lo}-{hi}，{perks}，按时发放。", "月薪{lo}-{hi}元，{perks}。"),
    "cert": ("须持{cert}上岗。", "要求持有{cert}。", "持{cert}。"),
    "novice": ("无经验可培训，有师傅带。", "可接受新手，岗前培训。", "零基础可学。"),
}
EDUCATION_PHRASES: dict[str | None, str] = {None: "学历不限", "小学": "小学以上", "初中": "初中及以上学历",
                                            "高中": "高中及以上学历", "中专": "中专以上"}

FULLWIDTH_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")
CHINESE_NUMERALS = ("零", "一", "两", "三", "四", "五", "六", "七", "八", "九", "十",
                    "十一", "十二", "十三", "十四", "十五")

#: Driving licence classes that include others (准驾车型): A2 may drive what B2 and C1 may.
DRIVING_IMPLIES: dict[str, tuple[str, ...]] = {
    "driving.A1": ("driving.B1", "driving.C1"),
    "driving.A2": ("driving.B2", "driving.C1"),
    "driving.B1": ("driving.C1",),
    "driving.B2": ("driving.C1",),
    "driving.C1": ("driving.C2",),
}

__all__ = [
    "CITY_FIRM_WEIGHT", "CITY_WAGE_FACTOR", "DEFAULT_ETHNIC_MIX", "DESCRIPTION_SENTENCES",
    "DRIVING_IMPLIES", "ETHNIC_MIX", "HALAL_SHARE", "INDUSTRIES", "NO_EXPERIENCE_SKILLS",
    "OCCUPATIONS", "Occupation", "TITLE_SHAPES",
]
