"""``lakesmith export lakeflow|sdp PIPELINE``: declarative pipeline code from a pipeline."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Literal

import typer

from .output import EXIT_CONFIG, console, print_error

app = typer.Typer(no_args_is_help=True, help="Export a pipeline to Lakeflow or Spark SDP.")

ProjectOpt = Annotated[Path, typer.Option("--project", "-p", help="project folder")]
EnvOpt = Annotated[
    str, typer.Option("--env", "-e", help="environment whose folders and catalog to use")
]


def _report(write: Callable[[], list[Path]]) -> None:
    """Run an export; a lakesmith error becomes a message and exit code 2."""
    from lakesmith.errors import LakesmithError

    try:
        written = write()
    except LakesmithError as exc:
        print_error(exc)
        raise typer.Exit(EXIT_CONFIG) from None
    for path in written:
        console.print(f"wrote {path}")


def _model(project: Path, env: str, pipeline: str):
    from lakesmith.config import load_project
    from lakesmith.export.model import build

    cfg = load_project(project, env)
    return cfg, build(cfg, pipeline)


@app.command()
def lakeflow(
    pipeline: Annotated[str, typer.Argument(help="pipeline name")],
    project: ProjectOpt = Path(),
    env: EnvOpt = "dev",
    bundle: Annotated[
        Path | None, typer.Option(help="bundle root (default: the bundle the project is in)")
    ] = None,
    domain: Annotated[str | None, typer.Option(help="policy domain (the catalog)")] = None,
    source: Annotated[str | None, typer.Option(help="policy source (the schema)")] = None,
    layer: Annotated[str | None, typer.Option(help="policy layer, e.g. silver")] = None,
    asset: Annotated[str | None, typer.Option(help="policy asset; default the pipeline")] = None,
) -> None:
    """A Lakeflow Declarative Pipeline module plus its bundle pipelines: resource."""
    from dataclasses import replace

    from lakesmith.deploy.generate import bundle_root
    from lakesmith.export import lakeflow as export

    def write() -> list[Path]:
        cfg, model = _model(project, env, pipeline)
        root = bundle.resolve() if bundle else bundle_root(cfg.root)
        name = (
            export.default_naming(model, cfg.project.catalog)
            if not (domain and source)
            else (export.Naming(domain, source, layer or "silver", asset or model.name))
        )
        given = {"domain": domain, "source": source, "layer": layer, "asset": asset}
        name = replace(name, **{k: v for k, v in given.items() if v})
        return export.write(model, name, root)

    _report(write)


@app.command()
def sdp(
    pipeline: Annotated[str, typer.Argument(help="pipeline name")],
    project: ProjectOpt = Path(),
    env: EnvOpt = "local",
    out: Annotated[
        Path | None, typer.Option(help="output folder (default: <project>/build/sdp/<pipeline>)")
    ] = None,
    auto_cdc: Annotated[
        Literal["snapshot", "flow"],
        typer.Option(
            help="auto_cdc nodes as a snapshot (materialized view of each key's newest change, "
            "any table format) or a flow (create_auto_cdc_flow: tables must support MERGE, "
            "e.g. Delta)"
        ),
    ] = "snapshot",
) -> None:
    """An open-source Spark Declarative Pipelines project (spark-pipeline.yml + module)."""
    from lakesmith.export import sdp as export

    def write() -> list[Path]:
        cfg, model = _model(project, env, pipeline)
        return export.write(model, out or cfg.root / "build" / "sdp" / model.name, auto_cdc)

    _report(write)
