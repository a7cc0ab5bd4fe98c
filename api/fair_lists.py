"""Printable lists of a planned job fair (专场招聘): xlsx, csv and an A4 HTML page, in Chinese.

From a :class:`matcher.fairs.FairPlan` (or its ``to_dict()``) and the worker, firm and job
details, :func:`build_lists` makes four tables:

* ``企业展位表`` — firm and booth list (booth, firm, desks, jobs, interviews booked);
* ``展位面试时间表`` — each booth's interview timetable (time, desk, worker, job);
* ``求职者面试单`` — each worker's slip (姓名、时间、展位、企业、岗位、需携带材料);
* ``邀约名单`` — the invitation list by township and village, with phone numbers, for the
  bureau's calls.

:func:`render_xlsx` writes one sheet per list, :func:`render_csv` one UTF-8 (with BOM, so that
Excel opens it) table with a ``清单`` column naming the list of each row — or one list with
``which=`` — and :func:`render_html` a page that prints on A4: a page per booth timetable,
slips four to a page with cut lines, every user-typed text escaped.

Pure functions with no Flask or SQLAlchemy, so the service's view only fetches the data and
returns the bytes.
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pandas as pd

from matcher.fairs import FairPlan

__all__ = [
    "LIST_NAMES",
    "MATERIALS_BASE",
    "build_lists",
    "render_csv",
    "render_html",
    "render_xlsx",
]

LIST_FIRMS = "企业展位表"
LIST_TIMETABLE = "展位面试时间表"
LIST_SLIPS = "求职者面试单"
LIST_INVITATIONS = "邀约名单"
#: The lists, in the order they are printed.
LIST_NAMES = (LIST_FIRMS, LIST_TIMETABLE, LIST_SLIPS, LIST_INVITATIONS)

#: What every invited worker brings; certificates and 建档立卡 papers are added per worker.
MATERIALS_BASE = ("身份证原件", "近期一寸免冠照片2张")
MATERIAL_POVERTY = "建档立卡相关证明（如有）"
SLIPS_PER_PAGE = 4


def _plan(plan: FairPlan | Mapping[str, Any]) -> FairPlan:
    if isinstance(plan, FairPlan):
        return plan
    if isinstance(plan, Mapping):
        return FairPlan.from_dict(dict(plan))
    raise ValueError(f"plan must be a FairPlan or its dict, got {type(plan).__name__}.")


def _lookup(table: pd.DataFrame, name: str, key: str, ids: set, columns: tuple[str, ...]):
    """Rows of ``table`` by id as dicts, every column present (``""`` when absent)."""
    if not isinstance(table, pd.DataFrame) or key not in table.columns:
        raise ValueError(f"{name} must be a DataFrame with a {key!r} column.")
    missing = ids - set(table[key].tolist())
    if missing:
        raise ValueError(
            f"the plan names {name[:-1]}(s) {sorted(missing, key=str)[:5]} that are not in "
            f"the {name} table; the lists need their details."
        )
    rows = table[table[key].isin(list(ids))].drop_duplicates(key)
    out = {}
    for rec in rows.to_dict("records"):
        out[rec[key]] = {c: rec.get(c, "") for c in columns} | {key: rec[key]}
    return out


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and pd.isna(value):
        return ""
    if isinstance(value, (list, tuple)):
        return "、".join(_text(v) for v in value)
    return str(value)


def _hhmm(start: datetime, end: datetime) -> str:
    return f"{start:%H:%M}–{end:%H:%M}"


def _materials(
    job: dict[str, Any], worker: dict[str, Any], certificate_names: Mapping[str, str] | None
) -> str:
    items = list(MATERIALS_BASE)
    certs = job.get("certificates_required")
    if isinstance(certs, str):
        certs = [c for c in certs.replace("，", ",").split(",") if c.strip()]
    if isinstance(certs, (list, tuple)) and certs:
        names = [(certificate_names or {}).get(c, c) for c in certs]
        items.append("证书原件：" + "、".join(_text(n) for n in names))
    poor = worker.get("poverty_registered")
    if isinstance(poor, (bool, int)) and not isinstance(poor, str) and bool(poor):
        items.append(MATERIAL_POVERTY)
    return "；".join(items)


def build_lists(
    plan: FairPlan | Mapping[str, Any],
    workers: pd.DataFrame,
    firms: pd.DataFrame,
    jobs: pd.DataFrame,
    *,
    certificate_names: Mapping[str, str] | None = None,
) -> dict[str, pd.DataFrame]:
    """Make the four lists of a fair as tables with Chinese column names.

    Parameters
    ----------
    plan : FairPlan or dict
        The plan (``FairPlan.to_dict()`` as stored is accepted).
    workers : DataFrame
        ``worker_id, name, township, village, phone`` and optionally ``poverty_registered``.
    firms : DataFrame
        ``firm_id, firm_name``.
    jobs : DataFrame
        ``job_id, title`` and optionally ``certificates_required`` (certificate ids).
    certificate_names : mapping, optional
        Certificate id → name to print (e.g. from the certificate catalogue); ids without a
        name are printed as they are.

    Returns
    -------
    dict of str to DataFrame
        Keyed by :data:`LIST_NAMES`, in that order.

    Raises
    ------
    ValueError
        If the plan names a worker, firm or job the tables do not hold.
    """
    p = _plan(plan)
    w_ids = {i["worker_id"] for i in p.invitations} | {r["worker_id"] for r in p.requests}
    f_ids = {f["firm_id"] for f in p.firms}
    j_ids = {r["job_id"] for r in p.requests}
    W = _lookup(
        workers,
        "workers",
        "worker_id",
        w_ids,
        ("name", "township", "village", "phone", "poverty_registered"),
    )
    F = _lookup(firms, "firms", "firm_id", f_ids, ("firm_name",))
    J = _lookup(jobs, "jobs", "job_id", j_ids, ("title", "certificates_required"))

    def firm_name(fid: Any) -> str:
        return _text(F[fid]["firm_name"]) or _text(
            next((f["firm_name"] for f in p.firms if f["firm_id"] == fid), "")
        )

    desks = p.settings.get("desks_per_booth", 1)
    jobs_of_firm: dict[Any, list[str]] = {}
    for r in p.requests:
        title = _text(J[r["job_id"]]["title"])
        if title not in jobs_of_firm.setdefault(r["firm_id"], []):
            jobs_of_firm[r["firm_id"]].append(title)
    booked: dict[Any, int] = {}
    for iv in p.interviews:
        booked[iv["firm_id"]] = booked.get(iv["firm_id"], 0) + 1
    firms_rows = [
        {
            "展位号": f["booth"],
            "企业": firm_name(f["firm_id"]),
            "面试台数": desks,
            "招聘岗位": "、".join(jobs_of_firm.get(f["firm_id"], [])),
            "预约面试人数": booked.get(f["firm_id"], 0),
        }
        for f in sorted(p.firms, key=lambda f: f["booth"])
    ]
    interviews = sorted(p.interviews, key=lambda i: (i["booth"], i["start"], i["desk"]))
    timetable_rows = [
        {
            "展位号": iv["booth"],
            "企业": firm_name(iv["firm_id"]),
            "时间": _hhmm(iv["start"], iv["end"]),
            "面试台": iv["desk"],
            "姓名": _text(W[iv["worker_id"]]["name"]),
            "应聘岗位": _text(J[iv["job_id"]]["title"]),
            "乡镇": _text(W[iv["worker_id"]]["township"]),
        }
        for iv in interviews
    ]
    slip_rows = [
        {
            "姓名": _text(W[iv["worker_id"]]["name"]),
            "乡镇": _text(W[iv["worker_id"]]["township"]),
            "日期": f"{iv['start']:%Y-%m-%d}",
            "时间": _hhmm(iv["start"], iv["end"]),
            "展位号": iv["booth"],
            "面试台": iv["desk"],
            "企业": firm_name(iv["firm_id"]),
            "岗位": _text(J[iv["job_id"]]["title"]),
            "需携带材料": _materials(J[iv["job_id"]], W[iv["worker_id"]], certificate_names),
            "_worker_id": iv["worker_id"],
        }
        for iv in sorted(p.interviews, key=lambda i: (i["worker_id"], i["start"]))
    ]
    first: dict[Any, datetime] = {}
    count: dict[Any, int] = {}
    for iv in p.interviews:
        count[iv["worker_id"]] = count.get(iv["worker_id"], 0) + 1
        if iv["worker_id"] not in first or iv["start"] < first[iv["worker_id"]]:
            first[iv["worker_id"]] = iv["start"]
    invite_rows = []
    for inv in p.invitations:
        wid = inv["worker_id"]
        n = count.get(wid, 0)
        invite_rows.append(
            {
                "乡镇": _text(W[wid]["township"]),
                "村": _text(W[wid]["village"]),
                "姓名": _text(W[wid]["name"]),
                "联系电话": _text(W[wid]["phone"]),
                "面试场数": n,
                "首场时间": f"{first[wid]:%H:%M}" if n else "",
                "备注": "" if n else "本次未排上面试时段",
            }
        )
    invite_rows.sort(key=lambda r: (r["乡镇"], r["村"], r["姓名"]))
    return {
        LIST_FIRMS: pd.DataFrame(
            firms_rows, columns=["展位号", "企业", "面试台数", "招聘岗位", "预约面试人数"]
        ),
        LIST_TIMETABLE: pd.DataFrame(
            timetable_rows, columns=["展位号", "企业", "时间", "面试台", "姓名", "应聘岗位", "乡镇"]
        ),
        LIST_SLIPS: pd.DataFrame(
            slip_rows,
            columns=[
                "姓名",
                "乡镇",
                "日期",
                "时间",
                "展位号",
                "面试台",
                "企业",
                "岗位",
                "需携带材料",
                "_worker_id",
            ],
        ),
        LIST_INVITATIONS: pd.DataFrame(
            invite_rows, columns=["乡镇", "村", "姓名", "联系电话", "面试场数", "首场时间", "备注"]
        ),
    }


def _public_columns(df: pd.DataFrame) -> pd.DataFrame:
    return df[[c for c in df.columns if not c.startswith("_")]]


def render_xlsx(
    plan: FairPlan | Mapping[str, Any],
    workers: pd.DataFrame,
    firms: pd.DataFrame,
    jobs: pd.DataFrame,
    *,
    title: str = "专场招聘会",
    certificate_names: Mapping[str, str] | None = None,
) -> bytes:
    """The four lists as an Excel workbook, one sheet each, set to print on A4.

    Every cell is written as text or number, never as a formula, so a name typed as
    ``=1+1`` stays a name.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    lists = build_lists(plan, workers, firms, jobs, certificate_names=certificate_names)
    # Write-only mode streams rows (tens of thousands of interviews) several times faster.
    book = Workbook(write_only=True)
    bold, big = Font(bold=True), Font(bold=True, size=14)
    for name, df in lists.items():
        df = _public_columns(df)
        sheet = book.create_sheet(name)
        for i, col in enumerate(df.columns, start=1):
            width = max([len(str(col))] + [len(str(v)) for v in df[col].head(500)]) + 2
            sheet.column_dimensions[get_column_letter(i)].width = min(60, width * 1.6)
        sheet.freeze_panes = "A3"
        sheet.print_title_rows = "2:2"
        sheet.page_setup.paperSize = "9"  # A4 in the xlsx numbering
        sheet.page_setup.orientation = "landscape" if len(df.columns) > 6 else "portrait"
        sheet.page_setup.fitToWidth = 1
        sheet.page_setup.fitToHeight = 0
        sheet.sheet_properties.pageSetUpPr.fitToPage = True
        sheet.append([_styled(sheet, f"{title} — {name}", big)])
        sheet.append([_styled(sheet, str(c), bold) for c in df.columns])
        for row in df.itertuples(index=False):
            sheet.append([_xlsx_value(sheet, v, WriteOnlyCell) for v in row])
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def _styled(sheet: Any, value: str, font: Any) -> Any:
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"
    cell.font = font
    return cell


def _xlsx_value(sheet: Any, value: Any, cell_type: Any) -> Any:
    value = _cell(value)
    if isinstance(value, str) and value.startswith("="):
        cell = cell_type(sheet, value=value)
        cell.data_type = "s"  # text, never a formula
        return cell
    return value


def _cell(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalar
        value = value.item()
    return value


def render_csv(
    plan: FairPlan | Mapping[str, Any],
    workers: pd.DataFrame,
    firms: pd.DataFrame,
    jobs: pd.DataFrame,
    *,
    which: str | None = None,
    certificate_names: Mapping[str, str] | None = None,
) -> bytes:
    """The lists as one CSV table (UTF-8 with BOM), a ``清单`` column naming each row's list.

    Parameters
    ----------
    which : str, optional
        One of :data:`LIST_NAMES` to get that list alone (without the ``清单`` column).

    Cells that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``)
    get a leading apostrophe.
    """
    if which is not None and which not in LIST_NAMES:
        raise ValueError(f"which {which!r} is not a list of a fair; use one of {list(LIST_NAMES)}.")
    lists = build_lists(plan, workers, firms, jobs, certificate_names=certificate_names)
    if which is not None:
        table = _public_columns(lists[which])
    else:
        parts = [_public_columns(df).assign(清单=name) for name, df in lists.items()]
        columns = ["清单"]
        for df in parts:
            columns += [c for c in df.columns if c not in columns]
        table = pd.concat(parts, ignore_index=True)[columns]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(table.columns)
    for row in table.itertuples(index=False):
        writer.writerow([_csv_cell(v) for v in row])
    return buf.getvalue().encode("utf-8-sig")


def _csv_cell(value: Any) -> str:
    text = _text(value)
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))  # the union table makes int columns float
    if text[:1] in ("=", "+", "-", "@"):
        return "'" + text
    return text


_CSS = """
@page { size: A4; margin: 15mm 12mm; }
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "SimSun",
       sans-serif; font-size: 11pt; color: #000; }
h1 { font-size: 18pt; margin: 0 0 4mm; }
h2 { font-size: 14pt; margin: 0 0 3mm; }
h3 { font-size: 12pt; margin: 4mm 0 2mm; }
table { border-collapse: collapse; width: 100%; margin-bottom: 4mm; }
th, td { border: 1px solid #333; padding: 1.5mm 2mm; text-align: left; vertical-align: top; }
th { background: #eee; }
thead { display: table-header-group; }
tr, .slip, .township { break-inside: avoid; page-break-inside: avoid; }
.page { break-after: page; page-break-after: always; }
.slip { border: 1px dashed #000; padding: 5mm 6mm; margin: 0 0 6mm; min-height: 56mm;
        box-sizing: border-box; }
.slip dl { display: grid; grid-template-columns: 22mm 1fr; gap: 1mm 3mm; margin: 0; }
.slip dt { font-weight: bold; }
.slip dd { margin: 0; }
.meta { color: #333; margin-bottom: 4mm; }
@media screen { body { max-width: 210mm; margin: 10mm auto; } .page { margin-bottom: 15mm; } }
.toolbar { display: flex; gap: 4mm; align-items: center; margin-bottom: 8mm; }
.toolbar a, .toolbar button { font: inherit; padding: 2mm 4mm; border: 1px solid #333;
        background: #fff; color: #000; text-decoration: none; cursor: pointer; }
@media print { .toolbar { display: none; } }
"""


def _e(value: Any) -> str:
    return html.escape(_text(value), quote=True)


def _table(df: pd.DataFrame) -> str:
    df = _public_columns(df)
    head = "".join(f"<th>{_e(c)}</th>" for c in df.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_e(v)}</td>" for v in row) + "</tr>"
        for row in df.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(
    plan: FairPlan | Mapping[str, Any],
    workers: pd.DataFrame,
    firms: pd.DataFrame,
    jobs: pd.DataFrame,
    *,
    title: str = "专场招聘会",
    venue: str = "",
    certificate_names: Mapping[str, str] | None = None,
    back_url: str | None = None,
) -> str:
    """The lists as one HTML page in Chinese that prints cleanly on A4.

    The firm list, then one page per booth timetable, then the workers' slips four to a page
    (with dashed cut lines), then the invitation list grouped by township. All text from
    users (names, titles, the fair's title and venue) is HTML-escaped. With ``back_url`` (the
    organiser's page) a toolbar on screen links back there and offers a print button; print
    CSS hides it.
    """
    p = _plan(plan)
    lists = build_lists(p, workers, firms, jobs, certificate_names=certificate_names)
    day = f"{p.slots[0][0]:%Y年%m月%d日}" if p.slots else ""
    hours = f"{p.slots[0][0]:%H:%M}–{p.slots[-1][1]:%H:%M}" if p.slots else ""
    meta = f'<p class="meta">{_e(day)} {_e(hours)}' + (f"　地点：{_e(venue)}" if venue else "")
    meta += "</p>"
    toolbar = ""
    if back_url is not None:
        toolbar = (
            f'<nav class="toolbar" aria-label="操作"><a href="{_e(back_url)}">← 返回招聘会</a>'
            '<button type="button" onclick="window.print()">打印</button>'
            "<span>（也可按 Ctrl+P 打印）</span></nav>"
        )
    parts = [
        f'<section class="page">{toolbar}<h1>{_e(title)}</h1>{meta}'
        f"<h2>{LIST_FIRMS}</h2>{_table(lists[LIST_FIRMS])}</section>"
    ]
    timetable = lists[LIST_TIMETABLE]
    for booth, rows in timetable.groupby("展位号", sort=True):
        firm = rows["企业"].iloc[0]
        parts.append(
            f'<section class="page"><h2>{LIST_TIMETABLE}　{_e(booth)} 号展位　{_e(firm)}</h2>'
            f"{meta}{_table(rows.drop(columns=['展位号', '企业']))}</section>"
        )
    desks = p.settings.get("desks_per_booth", 1)
    by_worker: dict[Any, list[dict[str, Any]]] = {}
    for r in lists[LIST_SLIPS].to_dict("records"):  # dicts: far faster than groupby frames
        by_worker.setdefault(r["_worker_id"], []).append(r)
    slips = list(by_worker.values())
    for start in range(0, len(slips), SLIPS_PER_PAGE):
        cards = []
        for rows in slips[start : start + SLIPS_PER_PAGE]:
            first = rows[0]
            times = "<br>".join(
                f"{_e(r['时间'])}　{_e(r['展位号'])} 号展位"
                + (f"（{_e(r['面试台'])} 号台）" if desks > 1 else "")
                + f"　{_e(r['企业'])}　{_e(r['岗位'])}"
                for r in rows
            )
            town = f"（{_e(first['乡镇'])}）" if first["乡镇"] else ""
            materials = "；".join(
                dict.fromkeys("；".join(r["需携带材料"] for r in rows).split("；"))
            )
            cards.append(
                f'<div class="slip"><h3>{_e(title)} · {LIST_SLIPS}</h3><dl>'
                f"<dt>姓名</dt><dd>{_e(first['姓名'])}{town}</dd>"
                f"<dt>日期</dt><dd>{_e(first['日期'])}</dd>"
                f"<dt>面试安排</dt><dd>{times}</dd>"
                f"<dt>需携带材料</dt><dd>{_e(materials)}</dd>"
                "</dl></div>"
            )
        parts.append('<section class="page">' + "".join(cards) + "</section>")
    invites = lists[LIST_INVITATIONS]
    towns = []
    for town, rows in invites.groupby("乡镇", sort=True):
        towns.append(
            f'<div class="township"><h3>{_e(town) or "（未填乡镇）"}　{len(rows)} 人</h3>'
            f"{_table(rows.drop(columns=['乡镇']))}</div>"
        )
    parts.append(f"<section><h2>{LIST_INVITATIONS}（按乡镇）</h2>{meta}{''.join(towns)}</section>")
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
        + "".join(parts)
        + "</body></html>\n"
    )
