"""Charts drawn on the server as inline SVG: nothing to download but the numbers, readable on
a 360-px phone (the drawing is 360 units wide and scales with the page), printable, and with
the figures as text for screen readers (``role="img"`` and an ``aria-label``; each chart's
table is on the page as well).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from markupsafe import Markup, escape

#: (figure key, Chinese name, colour): colours told apart in print and by most colour-blind readers.
Series = Sequence[tuple[str, str, str]]
PALETTE = {
    "registered": "#8c959f",
    "recommended": "#0b5394",
    "interviewed": "#6f42c1",
    "hired": "#1a7f37",
    "retained_3m": "#bf8700",
    "retained_6m": "#b3261e",
}
WIDTH = 360
LABEL_W = 118
FONT = 11


def _text(x: float, y: float, text: Any, *, anchor: str = "start", size: int = FONT, **kw) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{escape(v)}"' for k, v in kw.items())
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}"{extra}>'
        f"{escape(text)}</text>"
    )


def _svg(height: float, body: list[str], label: str) -> Markup:
    return Markup(
        f'<svg viewBox="0 0 {WIDTH} {height:.0f}" role="img" aria-label="{escape(label)}" '
        f'xmlns="http://www.w3.org/2000/svg" font-family="Noto Sans CJK SC, sans-serif">'
        f"<title>{escape(label)}</title>{''.join(body)}</svg>"
    )


def _describe(rows: Sequence[dict[str, Any]], series: Series, title: str) -> str:
    parts = [
        f"{r['label']}：" + "，".join(f"{name} {r[key]}" for key, name, _ in series) for r in rows
    ]
    return f"{title}。" + "；".join(parts)


def hbars(rows: Sequence[dict[str, Any]], series: Series, *, title: str) -> Markup:
    """Horizontal grouped bars: one group per row (its label on the left), one bar per series."""
    bar, gap, pad = 9, 2, 8
    group = len(series) * (bar + gap) + pad
    top = 4
    height = top + max(1, len(rows)) * group + 2
    peak = max([1, *(int(r[k]) for r in rows for k, _, _ in series)])
    span = WIDTH - LABEL_W - 34
    body = []
    for i, row in enumerate(rows):
        y0 = top + i * group
        label = str(row["label"])
        short = label if len(label) <= 9 else label[:8] + "…"
        body.append(_text(LABEL_W - 6, y0 + group / 2, short, anchor="end"))
        for j, (key, name, colour) in enumerate(series):
            value = int(row[key])
            y = y0 + j * (bar + gap)
            w = span * value / peak
            body.append(
                f'<rect x="{LABEL_W}" y="{y:.1f}" width="{max(w, 0.5):.1f}" height="{bar}" '
                f'fill="{colour}"><title>{escape(label)} {escape(name)} {value}</title></rect>'
            )
            body.append(_text(LABEL_W + w + 3, y + bar - 1, value, size=9))
    if not rows:
        body.append(_text(WIDTH / 2, 14, "暂无数据", anchor="middle"))
    return _svg(height, body, _describe(rows, series, title))


def columns(rows: Sequence[dict[str, Any]], series: Series, *, title: str) -> Markup:
    """Vertical grouped columns over a short axis (the twelve months)."""
    height, bottom, left, top = 190, 22, 28, 8
    plot_h = height - bottom - top
    plot_w = WIDTH - left - 4
    peak = max([1, *(int(r[k]) for r in rows for k, _, _ in series)])
    slot = plot_w / max(1, len(rows))
    bar = max(1.5, (slot - 3) / max(1, len(series)))
    body = [
        f'<line x1="{left}" y1="{top + plot_h}" x2="{WIDTH - 4}" y2="{top + plot_h}" '
        f'stroke="#57606a" stroke-width="0.6"/>'
    ]
    for frac in (0.5, 1.0):
        y = top + plot_h * (1 - frac)
        body.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{WIDTH - 4}" y2="{y:.1f}" stroke="#d0d7de" '
            f'stroke-width="0.5"/>'
        )
        body.append(_text(left - 3, y + 3, round(peak * frac), anchor="end", size=9))
    for i, row in enumerate(rows):
        x0 = left + i * slot + 1.5
        for j, (key, name, colour) in enumerate(series):
            value = int(row[key])
            h = plot_h * value / peak
            body.append(
                f'<rect x="{x0 + j * bar:.1f}" y="{top + plot_h - h:.1f}" width="{bar:.1f}" '
                f'height="{max(h, 0.3):.1f}" fill="{colour}"><title>{escape(row["label"])} '
                f"{escape(name)} {value}</title></rect>"
            )
        body.append(
            _text(left + i * slot + slot / 2, height - 8, row["label"], anchor="middle", size=9)
        )
    return _svg(height, body, _describe(rows, series, title))


def series_of(keys: Sequence[str]) -> list[tuple[str, str, str]]:
    from api.dashboard import FIGURES

    return [(k, FIGURES[k], PALETTE[k]) for k in keys]


__all__ = ["PALETTE", "columns", "hbars", "series_of"]
