"""The dashboard: the cooperation's figures (registered, recommended, interviewed, hired, still
employed at 3 and 6 months) by county, pairing city and month, as server-side SVG charts with
their tables, each county's progress against its yearly target (admins edit the targets here),
and the same figures as an XLSX download. A bureau sees its own region only."""

from __future__ import annotations

from flask import Blueprint, Response, flash, g, redirect, render_template, request, url_for

from api.dashboard import FIGURES, dashboard, to_xlsx
from api.service import begin_write, commit, get_session, rollback_session
from api.storage.errors import Invalid
from api.storage.outcomes import today_in_china
from api.storage.targets import YEARS, set_target
from api.web import charts
from api.web.guard import nav_item, page
from api.web.labels import county_options

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")

VIEWERS = ("admin", "bureau", "organiser")
nav_item("统计看板", "web.dashboard.index", VIEWERS, order=80)

#: The series each chart draws (every figure is in the tables and the download).
COUNTY_SERIES = ("registered", "hired", "retained_6m")
CITY_SERIES = ("recommended", "hired", "retained_6m")
MONTH_SERIES = ("registered", "hired", "retained_3m")
TARGET_LABELS = {"county_code": "县区", "year": "年份", "hired_target": "年度录用目标"}


def _region() -> str | None:
    return g.principal.region_prefix if g.principal.role == "bureau" else None


def _year() -> int:
    this_year = today_in_china().year
    try:
        year = int(request.args.get("year") or this_year)
    except ValueError:
        year = this_year
    return year if year in YEARS else this_year


def _page(year: int, *, errors: dict[str, str] | None = None, values=None, status: int = 200):
    board = dashboard(get_session(), year=year, region_prefix=_region())
    this_year = today_in_china().year
    context = {
        "board": board,
        "figures": FIGURES,
        "years": list(range(this_year, this_year - 5, -1)),
        "charts": {
            "funnel": charts.hbars(
                [{"label": name, "value": board.totals[k]} for k, name in FIGURES.items()],
                [("value", "人数", charts.PALETTE["recommended"])],
                title=f"{year}年各环节人数",
            ),
            "county": charts.hbars(
                board.by_county, charts.series_of(COUNTY_SERIES), title=f"{year}年按县区"
            ),
            "city": charts.hbars(
                board.by_city, charts.series_of(CITY_SERIES), title=f"{year}年按结对城市"
            ),
            "month": charts.columns(
                board.by_month, charts.series_of(MONTH_SERIES), title=f"{year}年按月份"
            ),
        },
        "legends": {
            "county": charts.series_of(COUNTY_SERIES),
            "city": charts.series_of(CITY_SERIES),
            "month": charts.series_of(MONTH_SERIES),
        },
        "counties": county_options(_region()),
        "errors": errors or {},
        "values": values or {"year": year},
        "can_edit": g.principal.role == "admin",
    }
    return render_template("web/dashboard/index.html", **context), status


@bp.route("")
@page(*VIEWERS)
def index():
    return _page(_year())


@bp.route("/figures.xlsx")
@page(*VIEWERS)
def download():
    year = _year()
    board = dashboard(get_session(), year=year, region_prefix=_region())
    filename = f"dashboard-{year}.xlsx"
    return Response(
        to_xlsx(board),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f"attachment; filename={filename}"},
    )


@bp.route("/targets", methods=["POST"])
@page("admin")
def edit_target():
    values = {k: request.form.get(k, "").strip() for k in TARGET_LABELS}
    begin_write()
    try:
        row = set_target(
            get_session(),
            county_code=values["county_code"],
            year=values["year"],
            hired_target=values["hired_target"],
            actor=g.principal.name,
        )
        commit(sync_engine=False)
    except Invalid as exc:
        rollback_session()
        errors = {e["field"]: e["message"] for e in exc.errors}
        try:
            year = int(values["year"])
        except ValueError:
            year = _year()
        return _page(year if year in YEARS else _year(), errors=errors, values=values, status=422)
    from api.web.labels import county_label

    flash(
        f"已将{county_label(row.county_code)} {row.year} 年的录用目标设为 {row.hired_target} 人。",
        "success",
    )
    return redirect(url_for("web.dashboard.index", year=row.year) + "#targets")


__all__ = ["bp"]
