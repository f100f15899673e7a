"""Render a :class:`TableProfile` as a self-contained HTML page or as Markdown."""

from __future__ import annotations

import math
from html import escape

from lakesmith.quality.profile import ColumnProfile, Histogram, TableProfile, TopValue

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#f5f6f8;
color:#1f2933}
header{padding:24px 32px;background:#1f2933;color:#fff}
header h1{margin:0 0 6px;font-size:22px}
header p{margin:0;color:#cbd2d9;font-size:14px}
main{display:grid;grid-template-columns:repeat(auto-fill,minmax(360px,1fr));gap:16px;
padding:24px 32px}
.card{background:#fff;border-radius:10px;box-shadow:0 1px 3px rgba(0,0,0,.08);padding:16px 18px}
.card h2{margin:0;font-size:16px;word-break:break-all}
.type{display:inline-block;margin-top:4px;font:12px ui-monospace,monospace;color:#52606d;
background:#e4e7eb;border-radius:4px;padding:1px 6px}
dl{display:grid;grid-template-columns:auto 1fr;gap:2px 12px;margin:12px 0;font-size:13px}
dt{color:#7b8794}dd{margin:0;font-variant-numeric:tabular-nums;word-break:break-all}
.warn{color:#c0392b;font-weight:600}
svg{display:block;width:100%;height:auto}
.bar{fill:#3e7cb1}.bar:hover{fill:#1c5d99}
.axis{font:10px ui-monospace,monospace;fill:#7b8794}
.label{font:11px system-ui,sans-serif;fill:#1f2933}
table{border-collapse:collapse;font-size:12px;width:100%;margin-top:8px}
td{padding:2px 4px;border-top:1px solid #eef0f2}td.n{text-align:right;color:#52606d}
h3{font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:#7b8794;margin:14px 0 4px}
"""


def _fmt(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        if math.isfinite(value) and (value.is_integer() or abs(value) >= 1000):
            return f"{value:,.0f}"
        return f"{value:.4g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _pct(ratio: float | None) -> str:
    return "–" if ratio is None else f"{ratio:.1%}"


def _histogram_svg(h: Histogram) -> str:
    width, height, pad = 340, 120, 18
    peak = max(h.counts) or 1
    n = len(h.counts)
    bar_w = (width - 2) / max(n, 1)
    parts = [f'<svg viewBox="0 0 {width} {height + pad}" role="img" aria-label="histogram">']
    for k, count in enumerate(h.counts):
        bh = (height - 4) * count / peak
        x = 1 + k * bar_w
        tip = f"{h.labels[k]} – {h.labels[k + 1]}: {count:,}"
        parts.append(
            f'<rect class="bar" x="{x:.2f}" y="{height - bh:.2f}" '
            f'width="{max(bar_w - 1, 0.5):.2f}" '
            f'height="{bh:.2f}"><title>{escape(tip)}</title></rect>'
        )
    parts.append(
        f'<text class="axis" x="0" y="{height + 13}">{escape(h.labels[0])}</text>'
        f'<text class="axis" x="{width}" y="{height + 13}" text-anchor="end">'
        f"{escape(h.labels[-1])}</text></svg>"
    )
    return "".join(parts)


def _bars_svg(top: list[TopValue]) -> str:
    row, width, label_w = 18, 340, 120
    peak = max((t.count for t in top), default=1) or 1
    parts = [f'<svg viewBox="0 0 {width} {row * len(top) + 2}" role="img" aria-label="top values">']
    for k, t in enumerate(top):
        y = k * row
        text = _fmt(t.value) if t.value != "" else "(empty)"
        text = text if len(text) <= 18 else text[:17] + "…"
        bw = (width - label_w - 60) * t.count / peak
        parts.append(
            f'<text class="label" x="{label_w - 6}" y="{y + 13}" text-anchor="end">'
            f"{escape(text)}</text>"
            f'<rect class="bar" x="{label_w}" y="{y + 3}" '
            f'width="{max(bw, 1):.2f}" height="{row - 5}">'
            f"<title>{escape(_fmt(t.value))}: {t.count:,} ({t.share:.1%})</title></rect>"
            f'<text class="axis" x="{label_w + bw + 4:.2f}" y="{y + 13}">{t.share:.1%}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _facts(c: ColumnProfile) -> list[tuple[str, str]]:
    facts = [("nulls", f"{_fmt(c.null_count)} ({_pct(c.null_ratio)})")]
    if c.empty_ratio is not None:
        facts.append(("empty / blank", f"{_fmt(c.empty_count)} ({_pct(c.empty_ratio)})"))
    if c.nan_count:
        facts.append(("NaN", _fmt(c.nan_count)))
    if c.distinct_count is not None:
        approx = "" if c.distinct_exact else " (approx.)"
        facts.append(("distinct", _fmt(c.distinct_count) + approx))
    if c.min is not None or c.max is not None:
        facts += [("min", _fmt(c.min)), ("max", _fmt(c.max))]
    if c.mean is not None:
        facts += [("mean", _fmt(c.mean)), ("std", _fmt(c.std))]
    if c.quantiles:
        q = c.quantiles
        facts.append(("p05 · p50 · p95", f"{_fmt(q['p05'])} · {_fmt(q['p50'])} · {_fmt(q['p95'])}"))
    if c.string_length is not None:
        s = c.string_length
        facts.append(("length", f"{_fmt(s.min)} – {_fmt(s.max)}, mean {_fmt(s.mean)}"))
    if c.named_patterns:
        found = [f"{k} {v:.1%}" for k, v in c.named_patterns.items() if v > 0]
        if found:
            facts.append(("looks like", ", ".join(found)))
    return facts


def _card(c: ColumnProfile) -> str:
    out = [
        f'<section class="card"><h2>{escape(c.name)}</h2>'
        f'<span class="type">{escape(c.dtype)}</span>'
    ]
    out.append("<dl>")
    for key, value in _facts(c):
        cls = ' class="warn"' if key == "nulls" and c.null_ratio > 0.5 else ""
        out.append(f"<dt>{escape(key)}</dt><dd{cls}>{escape(value)}</dd>")
    out.append("</dl>")
    if c.histogram is not None and c.kind in ("numeric", "temporal"):
        out.append(_histogram_svg(c.histogram))
    elif c.top_values:
        out.append("<h3>top values</h3>" + _bars_svg(c.top_values))
    if c.pattern_families:
        sampled = (
            f" (from {c.patterns_sampled_rows:,} sampled rows)" if c.patterns_sampled_rows else ""
        )
        out.append(f"<h3>patterns{escape(sampled)}</h3><table>")
        for f in c.pattern_families[:5]:
            out.append(
                f"<tr><td><code>{escape(f.pattern) or '(empty)'}</code></td>"
                f'<td class="n">{f.share:.1%}</td></tr>'
            )
        out.append("</table>")
    out.append("</section>")
    return "".join(out)


def to_html(profile: TableProfile, *, title: str = "Data profile") -> str:
    """One self-contained page: inline CSS and SVG, no script, every text escaped."""
    summary = (
        f"{profile.row_count:,} rows · {profile.column_count} columns · every row profiled in "
        f"{profile.passes} passes, {profile.elapsed_seconds:.2f} s"
    )
    cards = "".join(_card(c) for c in profile.columns)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{escape(title)}</h1><p>{escape(summary)}</p></header>"
        f"<main>{cards}</main></body></html>"
    )


def _md(text: object) -> str:
    return _fmt(text).replace("|", "\\|").replace("\n", " ")


def to_markdown(profile: TableProfile) -> str:
    """A summary table, one row per column."""
    lines = [
        f"**{profile.row_count:,} rows, {profile.column_count} columns**",
        "",
        "| column | type | nulls | empty | distinct | min | max | mean | top / pattern |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for c in profile.columns:
        distinct = "–" if c.distinct_count is None else _fmt(c.distinct_count)
        if c.distinct_count is not None and not c.distinct_exact:
            distinct = "≈" + distinct
        hint = ""
        if c.top_values:
            hint = f"{_md(c.top_values[0].value)} ({c.top_values[0].share:.0%})"
        elif c.pattern_families:
            hint = f"`{_md(c.pattern_families[0].pattern)}` ({c.pattern_families[0].share:.0%})"
        cells = [
            _md(c.name),
            _md(c.dtype),
            _pct(c.null_ratio),
            _pct(c.empty_ratio),
            distinct,
            _md(c.min),
            _md(c.max),
            _md(c.mean),
            hint,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
