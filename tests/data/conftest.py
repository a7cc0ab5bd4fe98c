"""Shared fixtures for the data package tests: small valid job and worker tables."""

from __future__ import annotations

import datetime as dt

import pytest

from data.idcard import make_id_number


@pytest.fixture(scope="session")
def id_numbers() -> list[str]:
    """Ten valid, distinct ID numbers from the 75 counties (alternating 男/女)."""
    regions = ["630224", "610621", "520602", "611002", "610426"]
    return [
        make_id_number(
            regions[i % 5], dt.date(1985 + i, 1 + i, 10 + i), i, "男" if i % 2 == 0 else "女"
        )
        for i in range(10)
    ]


@pytest.fixture()
def job_rows() -> list[dict[str, str]]:
    """Rows of a job sheet as an HR department fills it in (Chinese headers)."""
    return [
        {"岗位名称": "普工+包吃住", "企业名称": "昆山华通电子有限公司",
         "工作城市": "江苏省苏州市昆山市", "月薪下限": "5000", "月薪上限": "7000",
         "招聘人数": "30", "最低学历": "初中及以上",
         "年龄下限": "18", "年龄上限": "45", "所需证书": "", "包住": "是", "包吃": "是",
         "清真食堂": "否"},
        {"岗位名称": "叉车司机", "企业名称": "无锡恒达物流", "工作城市": "无锡",
         "月薪下限": "６０００", "月薪上限": "8000", "招聘人数": "2", "最低学历": "不限",
         "年龄下限": "20", "年龄上限": "50", "所需证书": "叉车证、健康证明", "包住": "有",
         "包吃": "无", "清真食堂": "N"},
    ]  # fmt: skip


@pytest.fixture()
def worker_rows(id_numbers: list[str]) -> list[dict[str, str]]:
    """Rows of a worker sheet as a county labour bureau fills it in."""
    return [
        {"姓名": "马小军", "身份证号": id_numbers[0], "民族": "回族", "户籍县": "化隆县",
         "乡镇": "群科镇", "村": "上滩村", "手机号": "13800001111", "学历": "初中毕业",
         "技能/工作经历": "在拉面馆干过3年", "求职意向": "拉面、厨师", "证书": "健康证、挖掘机证",
         "意向城市": "苏州、无锡市", "期望月薪": "5000", "需要宿舍": "是", "清真饮食": "是",
         "建档立卡": "是"},
        {"姓名": "张丽", "身份证号": id_numbers[1], "民族": "汉族", "户籍县": "610621",
         "乡镇": "", "村": "", "手机号": "", "学历": "高中/中专", "技能/工作经历": "",
         "求职意向": "普工", "证书": "", "意向城市": "不限", "期望月薪": "", "需要宿舍": "否",
         "清真饮食": "否", "建档立卡": "1"},
    ]  # fmt: skip
