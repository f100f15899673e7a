"""Render a `ValidationReport` for people: Markdown, or one self-contained HTML page.

Both renderers share one layout (`sections`): a header with the dataset, seed, spec hash and
row counts, a summary, then one table per section with a pass/fail mark on every row.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from typing import Literal

from lakesmith.synth.validation import DistributionCheck, ValidationReport

Mark = Literal["pass", "fail", "skip", ""]

_MD_MARK = {"pass": "✓ pass", "fail": "✗ FAIL", "skip": "– skip", "": ""}
_HTML_MARK = {"pass": "✓ pass", "fail": "✗ fail", "skip": "– skip", "": ""}


@dataclass
class Section:
    """One rendered table: a title, a note, column headers and rows with a mark each."""

    key: str
    title: str
    note: str
    columns: list[str]
    rows: list[tuple[list[str], Mark]] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return sum(1 for _, mark in self.rows if mark == "fail")

    @property
    def mark(self) -> Mark:
        return "fail" if self.failed else "pass"


def _mark(passed: bool) -> Mark:
    return "pass" if passed else "fail"


def _int(value: int) -> str:
    return f"{value:,}"


def _num(value: float | None) -> str:
    """Compact, readable numbers: thousands separators for big ones, 4 significant digits else."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.4g}"


def _target(c: DistributionCheck) -> tuple[str, str]:
    if c.comparison == "greater":
        return f"> {_num(c.target)}", "–"
    if c.comparison == "rel":
        return _num(c.target), f"± {c.tolerance * 100:g} %"
    return _num(c.target), f"± {_num(c.tolerance)}"


def sections(report: ValidationReport) -> list[Section]:
    """The report's layout, shared by the Markdown and HTML renderers."""
    out: list[Section] = []

    s = Section(
        "schema",
        "Schema",
        "Every table present with the contract's columns and types (schema.py).",
        ["table", "present", "missing columns", "type mismatches", "extra columns"],
    )
    for c in report.schema_checks:
        s.rows.append(
            (
                [
                    c.table,
                    "yes" if c.present else "no",
                    ", ".join(c.missing_columns) or "–",
                    "; ".join(c.type_mismatches) or "–",
                    ", ".join(c.extra_columns) or "–",
                ],
                _mark(c.passed),
            )
        )
    out.append(s)

    s = Section(
        "keys",
        "Primary keys",
        "Keys must be unique and not null; duplicates count the rows beyond the first.",
        ["table", "key", "rows", "null keys", "duplicate keys"],
    )
    for k in report.keys:
        s.rows.append(
            (
                [k.table, k.column, _int(k.rows), _int(k.null_keys), _int(k.duplicate_keys)],
                _mark(k.passed),
            )
        )
    out.append(s)

    s = Section(
        "orphans",
        "Foreign keys",
        "Rows whose reference is null or points at no parent row (anti-join).",
        ["table.column", "parent", "rows", "null references", "orphans"],
    )
    for o in report.orphans:
        s.rows.append(
            (
                [
                    f"{o.table}.{o.column}",
                    f"{o.parent}.{o.parent_column}",
                    _int(o.rows),
                    _int(o.null_refs),
                    _int(o.orphans),
                ],
                _mark(o.passed),
            )
        )
    out.append(s)

    s = Section(
        "identifiers",
        "Duplicate identifiers",
        "Every identifier value is unique across the dataset, except ip: one value per "
        "household, shared by its members, never seen in another household.",
        ["type", "scope", "rows", "null values", "duplicated values", "rows affected"],
    )
    for i in report.identifiers:
        s.rows.append(
            (
                [
                    i.identifier_type,
                    i.scope,
                    _int(i.rows),
                    _int(i.null_values),
                    _int(i.duplicated_values),
                    _int(i.affected_rows),
                ],
                _mark(i.passed),
            )
        )
    out.append(s)

    s = Section(
        "temporal",
        "Temporal rules",
        "Each rule counted on its own; the window is [start_date, end_date + 1 day) in UTC.",
        ["rule", "table", "what must hold", "rows checked", "violations"],
    )
    for t in report.temporal:
        s.rows.append(
            (
                [t.rule, t.table, t.description, _int(t.rows_checked), _int(t.violations)],
                _mark(t.passed),
            )
        )
    out.append(s)

    s = Section(
        "consistency",
        "Derived tables and conventions",
        "Derived values recomputed from their sources, and the generator's ID conventions.",
        ["rule", "table", "what must hold", "rows checked", "mismatches"],
    )
    for c in report.consistency:
        s.rows.append(
            (
                [c.rule, c.table, c.description, _int(c.rows_checked), _int(c.mismatches)],
                _mark(c.passed),
            )
        )
    out.append(s)

    s = Section(
        "distributions",
        "Distributions against the spec",
        "Sampled shares and means allow 4 standard errors; the median income 10 %. "
        "'skip' means too few observations to judge.",
        ["group", "check", "n", "observed", "target", "tolerance", "detail"],
    )
    for d in report.distributions:
        target, tolerance = _target(d)
        s.rows.append(
            (
                [
                    d.group,
                    d.name,
                    _int(d.n),
                    _num(d.observed),
                    target,
                    tolerance,
                    f"{d.description}; {d.detail}" if d.detail else d.description,
                ],
                d.status,
            )
        )
    out.append(s)
    return out


def _header(report: ValidationReport) -> list[tuple[str, str]]:
    failed = len(report.failures())
    verdict = "passed" if report.passed else f"FAILED ({failed} failed check(s))"
    return [
        ("Dataset", report.dataset),
        ("Result", verdict),
        ("Seed", str(report.seed)),
        ("Spec hash", report.spec_hash),
        ("Households (spec)", _int(report.spec_households)),
        ("Rows (all tables)", _int(sum(report.row_counts.values()))),
        ("Validated in", f"{report.elapsed_seconds:.2f} s"),
    ]


# --------------------------------------------------------------------------- Markdown


def _md(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _md_table(columns: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(_md(c) for c in columns) + " |"]
    lines.append("|" + "|".join("---" for _ in columns) + "|")
    lines += ["| " + " | ".join(_md(c) for c in row) + " |" for row in rows]
    return lines


def to_markdown(report: ValidationReport) -> str:
    """The report as GitHub-flavoured Markdown.

    Example:
        >>> print(to_markdown(validate_dataset(spec, tables)))  # doctest: +SKIP
    """
    verdict = "✓ passed" if report.passed else "✗ FAILED"
    lines = [f"# Validation report: {_md(report.dataset)} — {verdict}", ""]
    lines += _md_table(["", ""], [[f"**{k}**", v] for k, v in _header(report)])
    lines += ["", "## Row counts", ""]
    lines += _md_table(["table", "rows"], [[t, _int(n)] for t, n in report.row_counts.items()])
    layout = sections(report)
    lines += ["", "## Summary", ""]
    lines += _md_table(
        ["section", "checks", "failed", "status"],
        [[s.title, str(len(s.rows)), str(s.failed), _MD_MARK[s.mark]] for s in layout],
    )
    for number, s in enumerate(layout, 1):
        lines += ["", f"## {number}. {s.title}", "", _md(s.note), ""]
        lines += _md_table([*s.columns, "status"], [[*cells, _MD_MARK[m]] for cells, m in s.rows])
    failures = report.failures()
    if failures:
        lines += ["", "## Failed checks", ""]
        lines += [f"- {_md(f)}" for f in failures]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- HTML

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;
max-width:1200px;padding:0 1rem;color:#1f2328}
h1{font-size:1.5rem;margin-bottom:.5rem}h2{font-size:1.15rem;margin-top:2rem}
p.note{color:#59636e;margin:.25rem 0 .75rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{border:1px solid #d1d9e0;padding:.3rem .55rem;text-align:left;vertical-align:top}
th{background:#f6f8fa;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.head{width:auto}table.head th{background:none;border:none;padding:.15rem 1rem .15rem 0}
table.head td{border:none;padding:.15rem 0}
tr.fail td{background:#ffebe9}
.mark{font-weight:600;white-space:nowrap}
.mark.pass{color:#1a7f37}.mark.fail{color:#cf222e}.mark.skip{color:#9a6700}
.badge{display:inline-block;padding:.1rem .6rem;border-radius:1rem;color:#fff;font-size:.95rem}
.badge.pass{background:#1a7f37}.badge.fail{background:#cf222e}
ul.failures li{color:#cf222e}
"""


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _is_num(text: str) -> bool:
    stripped = text.replace(",", "").replace(".", "").replace("-", "").replace("–", "")
    return bool(text) and (stripped.isdigit() or text == "–") and len(text) < 24


def _html_table(columns: list[str], rows: list[tuple[list[str], Mark]]) -> list[str]:
    out = ["<table>", "<thead><tr>" + "".join(f"<th>{_e(c)}</th>" for c in columns)]
    out[-1] += "<th>status</th></tr></thead>"
    out.append("<tbody>")
    for cells, mark in rows:
        tds = "".join(
            f'<td class="num">{_e(c)}</td>' if _is_num(c) else f"<td>{_e(c)}</td>" for c in cells
        )
        status = f'<td class="mark {mark}">{_e(_HTML_MARK[mark])}</td>'
        out.append(f'<tr class="{mark}">{tds}{status}</tr>')
    out += ["</tbody>", "</table>"]
    return out


def to_html(report: ValidationReport) -> str:
    """The report as one self-contained HTML page (inline CSS, no scripts, text escaped).

    Example:
        >>> Path("report.html").write_text(to_html(report))  # doctest: +SKIP
    """
    verdict = "pass" if report.passed else "fail"
    title = f"Validation report: {report.dataset}"
    body = [
        f"<h1>{_e(title)} <span class='badge {verdict}'>"
        f"{'passed' if report.passed else 'failed'}</span></h1>",
        '<table class="head">',
    ]
    body += [f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in _header(report)]
    body.append("</table>")
    body += ["<h2>Row counts</h2>", "<table><thead><tr><th>table</th><th>rows</th></tr></thead>"]
    body += [
        f'<tr><td>{_e(t)}</td><td class="num">{_e(_int(n))}</td></tr>'
        for t, n in report.row_counts.items()
    ]
    body.append("</table>")
    layout = sections(report)
    body += ["<h2>Summary</h2>", "<table><thead><tr><th>section</th><th>checks</th>"]
    body[-1] += "<th>failed</th><th>status</th></tr></thead><tbody>"
    for s in layout:
        body.append(
            f'<tr class="{s.mark}"><td><a href="#{s.key}">{_e(s.title)}</a></td>'
            f'<td class="num">{len(s.rows)}</td><td class="num">{s.failed}</td>'
            f'<td class="mark {s.mark}">{_e(_HTML_MARK[s.mark])}</td></tr>'
        )
    body.append("</tbody></table>")
    for number, s in enumerate(layout, 1):
        body.append(f'<h2 id="{s.key}">{number}. {_e(s.title)}</h2>')
        body.append(f'<p class="note">{_e(s.note)}</p>')
        body += _html_table(s.columns, s.rows)
    failures = report.failures()
    if failures:
        body += ["<h2>Failed checks</h2>", '<ul class="failures">']
        body += [f"<li>{_e(f)}</li>" for f in failures]
        body.append("</ul>")
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head>\n<body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )
