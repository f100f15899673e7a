"""``lakesmith quality``: check a table against a rules file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .output import EXIT_CONFIG, EXIT_FAILED, console, err_console, print_error

app = typer.Typer(help="Data quality rules.", no_args_is_help=True)


@app.command()
def check(
    rules_file: Annotated[Path, typer.Argument(help="rules YAML")],
    table: Annotated[str | None, typer.Option(help="table (default: the file's dataset)")] = None,
    project: Annotated[Path, typer.Option("--project", "-p")] = Path(),
    env: Annotated[str, typer.Option("--env", "-e")] = "local",
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Evaluate every rule in one scan; exit 1 when an error-severity rule fails."""
    from rich.table import Table

    from lakesmith.config import load_project
    from lakesmith.engines import default_engine
    from lakesmith.errors import LakesmithError
    from lakesmith.quality.evaluate import evaluate
    from lakesmith.quality.rules import load_rules

    try:
        cfg = load_project(project, env)
        rules = load_rules(rules_file)
        name = table or rules.dataset
        if not name:
            raise LakesmithError(
                "no table to check", hint="pass --table NAME or set 'dataset' in the rules file"
            )
        engine = default_engine(cfg)
        result = evaluate(
            rules,
            engine.read_table(cfg.table(name)),
            resolve_table=lambda t: engine.read_table(cfg.table(t)),
        )
    except LakesmithError as exc:
        print_error(exc)
        raise typer.Exit(EXIT_CONFIG) from None
    if as_json:
        console.print_json(result.model_dump_json())
    else:
        view = Table(title=f"{cfg.table(name).full_name} · {result.rows:,} rows")
        for col in ("rule", "severity", "result", "failing", "ratio", "expected", "actual"):
            view.add_column(col, justify="right" if col in ("failing", "ratio") else "left")
        for x in result.rules:
            mark = "[green]pass[/]" if x.success else "[red]FAIL[/]"
            view.add_row(
                x.name,
                x.severity,
                mark,
                f"{x.fail_count:,}",
                f"{x.fail_ratio:.2%}",
                x.expected,
                x.actual,
            )
        console.print(view)
        for x in result.rules:
            if x.sample and not x.success:
                err_console.print(f"{x.name}: failing values e.g. {x.sample}")
    if not result.passed:
        raise typer.Exit(EXIT_FAILED)
