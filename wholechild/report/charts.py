"""Inline SVG charts, written as text: no JavaScript, no external file, no library.

Accessibility: every chart is ``role="img"`` with a ``<title>`` and a ``<desc>`` that
lists every value it draws; values are written beside (or inside) the bars, so colour is
never the only cue. Colours are the Okabe-Ito palette (distinguishable with the common
colour-vision deficiencies); "no data" and suppressed cells are hatched, never a bar of
zero. Bars are drawn from the *published* (coded) text of a value, never a finer number.
Every text that enters the SVG goes through :func:`esc`.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

from wholechild.report.data import display_value

#: Okabe & Ito (2008), "Color Universal Design".
BLUE = "#0072B2"
ORANGE = "#E69F00"
SKY = "#56B4E9"
GREEN = "#009E73"
YELLOW = "#F0E442"
VERMILLION = "#D55E00"
PURPLE = "#CC79A7"
GREY = "#8C8C8C"
INK = "#1A1A1A"
MUTED = "#555555"

STATUS_COLORS = {"on_track": GREEN, "watch": YELLOW, "off_track": VERMILLION, "no_data": None}
STATUS_LABELS = {
    "on_track": "On track",
    "watch": "Watch",
    "off_track": "Off track",
    "no_data": "No data",
}
COVERAGE_COLORS = {"fresh": GREEN, "stale": ORANGE, "never": None}
COVERAGE_LABELS = {
    "fresh": "connected, fresh",
    "stale": "connected, stale",
    "never": "not connected",
}

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"


def esc(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def tint(color: str, amount: float = 0.72) -> str:
    """``color`` mixed with white (``amount`` of white)."""
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    mix = [round(c + (255 - c) * amount) for c in (r, g, b)]
    return "#" + "".join(f"{c:02X}" for c in mix)


def _hatch(pid: str, line: str = "#B5B5B5", bg: str = "#FFFFFF") -> str:
    return (
        f'<pattern id="{pid}" patternUnits="userSpaceOnUse" width="7" height="7" '
        f'patternTransform="rotate(45)"><rect width="7" height="7" fill="{bg}"/>'
        f'<line x1="0" y1="0" x2="0" y2="7" stroke="{line}" stroke-width="2.5"/></pattern>'
    )


def _svg_open(cid: str, width: int, height: int, title: str, desc: str) -> str:
    return (
        f'<svg id="{esc(cid)}" class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" preserveAspectRatio="xMinYMin meet" '
        f'aria-labelledby="{esc(cid)}-title {esc(cid)}-desc" font-family="{esc(FONT)}" '
        f'font-size="12">'
        f'<title id="{esc(cid)}-title">{esc(title)}</title>'
        f'<desc id="{esc(cid)}-desc">{esc(desc)}</desc>'
    )


#: Axis maxima and their tick steps (percent).
_AXES = ((5, 1), (10, 2), (20, 5), (25, 5), (40, 10), (50, 10), (60, 20), (80, 20), (100, 20))

#: A white outline behind text drawn over lines or bars, so it stays legible.
HALO = 'paint-order="stroke" stroke="#FFFFFF" stroke-width="3" stroke-linejoin="round"'


def _axis(value: float) -> tuple[float, float]:
    """The axis maximum (at least ``value``) and its tick step."""
    for top, step in _AXES:
        if value <= top:
            return float(top), float(step)
    return 100.0, 20.0


def _pct(v: float) -> str:
    return f"{v:g}%"


# --------------------------------------------------------------------------- bars
@dataclass
class Bar:
    label: str
    #: the published text (``'37%'``, ``'>=95%'``); None when suppressed
    display: str | None
    #: what a suppressed row says instead of a value
    suppressed_text: str = "suppressed"
    #: a heading row drawn before this bar when it changes (e.g. the dimension)
    group: str | None = None
    #: more text after the value (e.g. "+8 pp vs all students")
    note: str = ""


#: Average width of a character of the labels' font, in pixels (13px system-ui).
CHAR_PX = 7.0


def fit(label: str, width: float) -> str:
    """The label shortened with an ellipsis to fit ``width`` pixels; the bar's tooltip
    keeps it whole (a long school name would otherwise run off the chart's left edge)."""
    most = max(4, int(width / CHAR_PX))
    return label if len(label) <= most else label[: most - 1].rstrip() + "\u2026"


def bar_chart(
    cid: str,
    title: str,
    bars: Sequence[Bar],
    *,
    reference: tuple[str, str | None] | None = None,
    color: str = BLUE,
    label_width: int = 250,
    width: int = 900,
) -> str:
    """Horizontal bars of coded rates (0-100%), a dashed reference line (e.g. all
    students), value texts beside the bars and hatched rows for suppressed values."""
    row_h, bar_h, head_h, top, bottom = 22, 14, 22, 34, 30
    x0 = label_width + 10
    plot_w = width - x0 - 170
    ref_value = display_value(reference[1]) if reference else None
    values = [v for v in (display_value(b.display) for b in bars) if v is not None]
    vmax, step = _axis(max([*values, ref_value or 0.0, 1.0]))

    def x(v: float) -> float:
        return x0 + plot_w * min(v, vmax) / vmax

    layout: list[tuple[str, object, float]] = []
    y = top
    last_group = None
    for b in bars:
        if b.group is not None and b.group != last_group:
            layout.append(("group", b.group, y))
            y += head_h
            last_group = b.group
        layout.append(("bar", b, y))
        y += row_h
    height = int(y + bottom)

    summary = []
    for b in bars:
        prefix = f"{b.group}, " if b.group else ""
        summary.append(f"{prefix}{b.label}: {b.display if b.display else b.suppressed_text}")
    desc = "; ".join(summary)
    if reference:
        desc = f"{reference[0]}: {reference[1] or 'suppressed'}. " + desc

    out = [_svg_open(cid, width, height, title, desc)]
    out.append(f"<defs>{_hatch(f'{cid}-hatch', line='#D0D0D0')}</defs>")
    # gridlines and axis
    for i in range(int(round(vmax / step)) + 1):
        v = step * i
        gx = x(v)
        out.append(
            f'<line x1="{gx:.1f}" y1="{top - 6}" x2="{gx:.1f}" y2="{y:.1f}" '
            f'stroke="#E3E3E3" stroke-width="1"/>'
            f'<text x="{gx:.1f}" y="{y + 16:.1f}" text-anchor="middle" fill="{MUTED}" '
            f'font-size="11">{esc(_pct(round(v, 1)))}</text>'
        )
    # Marks first, then the reference line over them, then every text on top (with a
    # white halo), so the line never hides a value.
    marks: list[str] = []
    texts: list[str] = []
    for kind, item, ry in layout:
        if kind == "group":
            texts.append(
                f'<text x="4" y="{ry + 15:.1f}" font-weight="700" fill="{INK}">{esc(item)}</text>'
            )
            continue
        assert isinstance(item, Bar)
        b = item
        by = ry + (row_h - bar_h) / 2
        ty = ry + row_h / 2 + 4
        texts.append(
            f'<text x="{label_width:.1f}" y="{ty:.1f}" text-anchor="end" fill="{INK}">'
            f"{esc(fit(b.label, label_width))}</text>"
        )
        v = display_value(b.display)
        if v is None:
            marks.append(
                f'<rect class="suppressed" x="{x0}" y="{by:.1f}" width="{plot_w}" '
                f'height="{bar_h}" fill="url(#{cid}-hatch)" stroke="#BDBDBD" '
                f'stroke-dasharray="3 2"><title>{esc(b.label)}: {esc(b.suppressed_text)}'
                f"</title></rect>"
            )
            texts.append(
                f'<text class="suppressed" x="{x0 + 6}" y="{ty:.1f}" fill="{MUTED}" '
                f'font-style="italic" {HALO}>{esc(b.suppressed_text)}</text>'
            )
            continue
        w = max(x(v) - x0, 1.5)
        marks.append(
            f'<rect x="{x0}" y="{by:.1f}" width="{w:.1f}" height="{bar_h}" fill="{color}">'
            f"<title>{esc(b.label)}: {esc(b.display)}</title></rect>"
        )
        texts.append(
            f'<text x="{x0 + w + 6:.1f}" y="{ty:.1f}" fill="{INK}" font-weight="600" {HALO}>'
            f"{esc(b.display)}"
            + (
                f'<tspan dx="5" fill="{MUTED}" font-weight="400">{esc(b.note)}</tspan>'
                if b.note
                else ""
            )
            + "</text>"
        )
    out += marks
    if reference and ref_value is not None:
        rx = x(ref_value)
        out.append(
            f'<line x1="{rx:.1f}" y1="{top - 8}" x2="{rx:.1f}" y2="{y:.1f}" stroke="{INK}" '
            f'stroke-width="1.5" stroke-dasharray="5 3"/>'
            f'<text x="{rx:.1f}" y="{top - 12}" text-anchor="middle" fill="{INK}" '
            f'font-size="11" font-weight="600">{esc(reference[0])} {esc(reference[1])}</text>'
        )
    out += texts
    out.append("</svg>")
    return "".join(out)


# --------------------------------------------------------------------------- stacked
@dataclass
class Stack:
    label: str
    #: (status, published share text) in drawing order; None: the row is suppressed
    segments: list[tuple[str, str | None]] | None
    suppressed_text: str = "suppressed"


def stacked_bar_chart(
    cid: str,
    title: str,
    stacks: Sequence[Stack],
    *,
    colors: dict[str, str | None] = STATUS_COLORS,
    labels: dict[str, str] = STATUS_LABELS,
    label_width: int = 200,
    width: int = 900,
) -> str:
    """100% stacked bars (one per row) of published shares, normalized to the row's
    drawn total; ``None`` colours are hatched (no data)."""
    row_h, bar_h, top, bottom = 30, 20, 40, 10
    x0 = label_width + 10
    plot_w = width - x0 - 10
    height = top + row_h * len(stacks) + bottom
    desc_parts = []
    for s in stacks:
        if s.segments is None:
            desc_parts.append(f"{s.label}: {s.suppressed_text}")
        else:
            desc_parts.append(
                f"{s.label}: "
                + ", ".join(f"{labels.get(k, k)} {v or 'suppressed'}" for k, v in s.segments)
            )
    out = [_svg_open(cid, width, height, title, "; ".join(desc_parts))]
    out.append(
        f"<defs>{_hatch(f'{cid}-nodata', line='#9E9E9E', bg='#EFEFEF')}"
        f"{_hatch(f'{cid}-supp', line='#D0D0D0')}</defs>"
    )
    # legend
    lx = x0
    for key in colors:
        fill = colors[key] or f"url(#{cid}-nodata)"
        out.append(
            f'<rect x="{lx}" y="8" width="14" height="14" fill="{fill}" stroke="#666" '
            f'stroke-width="0.5"/><text x="{lx + 19}" y="19" fill="{INK}">'
            f"{esc(labels.get(key, key))}</text>"
        )
        lx += 30 + 7 * len(labels.get(key, key))
    for i, s in enumerate(stacks):
        ry = top + i * row_h
        by = ry + (row_h - bar_h) / 2
        ty = ry + row_h / 2 + 4
        out.append(
            f'<text x="{label_width}" y="{ty:.1f}" text-anchor="end" fill="{INK}">'
            f"{esc(s.label)}</text>"
        )
        if s.segments is None:
            out.append(
                f'<g class="suppressed"><rect x="{x0}" y="{by:.1f}" width="{plot_w}" '
                f'height="{bar_h}" fill="url(#{cid}-supp)" stroke="#BDBDBD" '
                f'stroke-dasharray="3 2"><title>{esc(s.label)}: {esc(s.suppressed_text)}'
                f'</title></rect><text x="{x0 + 6}" y="{ty:.1f}" fill="{MUTED}" '
                f'font-style="italic">{esc(s.suppressed_text)}</text></g>'
            )
            continue
        vals = [(k, t, display_value(t) or 0.0) for k, t in s.segments]
        total = sum(v for _, _, v in vals) or 1.0
        sx = float(x0)
        for k, text, v in vals:
            w = plot_w * v / total
            if w <= 0:
                continue
            fill = colors.get(k) or f"url(#{cid}-nodata)"
            out.append(
                f'<rect x="{sx:.1f}" y="{by:.1f}" width="{w:.1f}" height="{bar_h}" '
                f'fill="{fill}" stroke="#FFFFFF" stroke-width="1">'
                f"<title>{esc(s.label)}, {esc(labels.get(k, k))}: {esc(text)}</title></rect>"
            )
            if w >= 38:
                out.append(
                    f'<text x="{sx + w / 2:.1f}" y="{ty:.1f}" text-anchor="middle" '
                    f'fill="{INK}" font-weight="600">{esc(text)}</text>'
                )
            sx += w
    out.append("</svg>")
    return "".join(out)


# --------------------------------------------------------------------------- grid
@dataclass
class Tile:
    domain: str
    #: fresh, stale or never
    state: str
    detail: str = ""
    contract_failed: bool = False


def coverage_grid(cid: str, title: str, tiles: Sequence[Tile], *, columns: int = 4) -> str:
    """The whole-child domains as tiles coloured by connected-and-fresh, stale or never
    (hatched), each with its state in words; a failed contract gets a vermillion border."""
    tw, th, gap, top = 178, 76, 10, 8
    rows = (len(tiles) + columns - 1) // columns
    width = columns * tw + (columns - 1) * gap + 2
    legend_y = top + rows * (th + gap) + 6
    height = legend_y + 26
    desc = "; ".join(
        f"{t.domain}: {COVERAGE_LABELS.get(t.state, t.state)}"
        + (", latest delivery rejected" if t.contract_failed else "")
        for t in tiles
    )
    out = [_svg_open(cid, width, height, title, desc)]
    out.append(f"<defs>{_hatch(f'{cid}-never', line='#C8C8C8', bg='#F4F4F4')}</defs>")
    for i, t in enumerate(tiles):
        cx = 1 + (i % columns) * (tw + gap)
        cy = top + (i // columns) * (th + gap)
        color = COVERAGE_COLORS.get(t.state)
        fill = tint(color) if color else f"url(#{cid}-never)"
        stroke, sw = (VERMILLION, 3) if t.contract_failed else (color or "#AAAAAA", 1)
        out.append(
            f'<g class="tile tile-{esc(t.state)}"><rect x="{cx}" y="{cy}" width="{tw}" '
            f'height="{th}" rx="6" fill="{fill}" stroke="{stroke}" stroke-width="{sw}">'
            f"<title>{esc(t.domain)}: {esc(COVERAGE_LABELS.get(t.state, t.state))}</title>"
            f"</rect>"
        )
        if color:
            out.append(f'<rect x="{cx}" y="{cy}" width="8" height="{th}" rx="3" fill="{color}"/>')
        out.append(
            f'<text x="{cx + 16}" y="{cy + 22}" font-weight="700" font-size="14" '
            f'fill="{INK}">{esc(t.domain)}</text>'
            f'<text x="{cx + 16}" y="{cy + 41}" fill="{INK}">'
            f"{esc(COVERAGE_LABELS.get(t.state, t.state))}</text>"
        )
        detail = "contract failed" if t.contract_failed else t.detail
        if len(detail) > 26:
            detail = detail[:25] + "…"
        out.append(
            f'<text x="{cx + 16}" y="{cy + 60}" fill="{MUTED}" font-size="11">'
            f"{esc(detail)}</text></g>"
        )
    lx = 1
    for state, label in COVERAGE_LABELS.items():
        color = COVERAGE_COLORS[state]
        fill = tint(color) if color else f"url(#{cid}-never)"
        out.append(
            f'<rect x="{lx}" y="{legend_y}" width="14" height="14" fill="{fill}" '
            f'stroke="{color or "#AAAAAA"}"/><text x="{lx + 19}" y="{legend_y + 11}" '
            f'fill="{INK}">{esc(label)}</text>'
        )
        lx += 36 + 7 * len(label)
    out.append(
        f'<rect x="{lx}" y="{legend_y}" width="14" height="14" fill="#FFFFFF" '
        f'stroke="{VERMILLION}" stroke-width="3"/><text x="{lx + 19}" y="{legend_y + 11}" '
        f'fill="{INK}">latest delivery rejected</text>'
    )
    out.append("</svg>")
    return "".join(out)
