"""The result page's charts: aggregates read from the generated tables, drawn as inline SVG.

The aggregates are computed once when a job finishes (a few group-bys over the Delta tables)
and kept with the job's result, so the page renders without touching the data again. The SVG
is plain markup: no chart library, nothing fetched by the browser.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from .models import ChartData


def chart_data(root: Path) -> ChartData:
    """Household size mix, income brackets, engagements per day, response rate by channel."""
    import polars as pl

    def scan(name: str) -> pl.LazyFrame:
        return pl.scan_delta(str(root / name))

    households = scan("households")
    sizes, brackets, days, exposures, responses = pl.collect_all(
        [
            households.group_by("size").len().sort("size"),
            households.group_by("income_bracket")
            .agg(pl.len(), pl.col("annual_income").min().alias("low"))
            .sort("low"),
            scan("content_engagements")
            .group_by(pl.col("timestamp").dt.date().alias("day"))
            .len()
            .sort("day"),
            scan("campaign_exposures").group_by("channel").len(),
            scan("response_events")
            .join(scan("campaign_exposures"), on="exposure_id")
            .group_by("channel")
            .len(),
        ]
    )
    responded = dict(zip(responses["channel"], responses["len"], strict=True))
    return ChartData(
        household_sizes=[(str(s), n) for s, n in zip(sizes["size"], sizes["len"], strict=True)],
        income_brackets=list(zip(brackets["income_bracket"], brackets["len"], strict=True)),
        engagements_per_day=[
            (d.isoformat(), n) for d, n in zip(days["day"], days["len"], strict=True)
        ],
        response_rate_by_channel=sorted(
            (ch, round(responded.get(ch, 0) / n, 5) if n else 0.0)
            for ch, n in zip(exposures["channel"], exposures["len"], strict=True)
        ),
    )


def bar_chart(
    title: str,
    points: list[tuple[str, int]] | list[tuple[str, float]],
    *,
    percent: bool = False,
    width: int = 420,
    height: int = 220,
) -> str:
    """Vertical bars with a label under each (every n-th label when there are many)."""
    pad_left, pad_bottom, pad_top = 48, 34, 26
    plot_w, plot_h = width - pad_left - 8, height - pad_bottom - pad_top
    top = max((v for _, v in points), default=0) or 1
    step = plot_w / max(len(points), 1)
    every = max(1, round(len(points) / 8))
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'xmlns="http://www.w3.org/2000/svg" aria-label="{escape(title)}">',
        f'<text x="{width / 2}" y="16" text-anchor="middle" class="chart-title">'
        f"{escape(title)}</text>",
        f'<text x="{pad_left - 4}" y="{pad_top + 4}" text-anchor="end" class="chart-axis">'
        f"{_fmt(top, percent)}</text>",
        f'<line x1="{pad_left}" y1="{pad_top + plot_h}" x2="{width - 8}" '
        f'y2="{pad_top + plot_h}" class="chart-base"/>',
    ]
    for i, (label, value) in enumerate(points):
        h = plot_h * value / top
        x = pad_left + i * step
        parts.append(
            f'<rect x="{x + step * 0.1:.1f}" y="{pad_top + plot_h - h:.1f}" '
            f'width="{max(step * 0.8, 0.5):.1f}" height="{h:.1f}" class="chart-bar">'
            f"<title>{escape(label)}: {_fmt(value, percent)}</title></rect>"
        )
        if i % every == 0:
            parts.append(
                f'<text x="{x + step / 2:.1f}" y="{height - pad_bottom + 14}" '
                f'text-anchor="middle" class="chart-label">{escape(_short(label))}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _fmt(value: float, percent: bool) -> str:
    return f"{value:.2%}" if percent else f"{value:,.0f}"


def _short(label: str) -> str:
    return label[5:] if len(label) == 10 and label[4] == "-" else label  # 2025-03-01 -> 03-01


def charts_svg(data: ChartData) -> list[str]:
    """The four charts of the result page."""
    return [
        bar_chart("Household size mix", data.household_sizes),
        bar_chart("Households by income bracket", data.income_brackets),
        bar_chart("Engagements per day", data.engagements_per_day),
        bar_chart("Response rate by channel", data.response_rate_by_channel, percent=True),
    ]
