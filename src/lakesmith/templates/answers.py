"""The answers ``lakesmith init`` gives copier, validated all at once before anything renders.

copier validates one question at a time and stops at the first bad answer; checking the whole
set here first lets ``lakesmith init`` report every mistake in one go. The patterns come from
:mod:`lakesmith.deploy.naming`, and ``copier.yml`` repeats them for people who run copier
directly (a test keeps the two in step).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from lakesmith.deploy import naming
from lakesmith.errors import ConfigError, ConfigIssue

TemplateName = Literal["batch-medallion", "streaming", "ml-feature", "monorepo"]
TEMPLATES: tuple[str, ...] = get_args(TemplateName)
Cloud = Literal["azure", "aws", "gcp"]

TEMPLATE_HELP: dict[str, str] = {
    "batch-medallion": "bronze/silver/gold batch pipeline, one bundle, a daily wheel job",
    "streaming": "incremental bronze/silver, gold refreshed every 15 minutes",
    "ml-feature": "bronze/silver and a gold feature table keyed by entity",
    "monorepo": "many domains/sources in one repo (pydabs shape): raw/base/staging/final",
}


class InitAnswers(BaseModel):
    """What a new project is called and where its data lives."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    template: TemplateName = "batch-medallion"
    project_name: str = Field(pattern=naming.PROJECT, description="distribution and bundle name")
    package_name: str | None = Field(
        default=None, pattern=naming.PACKAGE, description="import name; default from project_name"
    )
    domain: str = Field(pattern=naming.WORD, description="business domain = catalog")
    source: str = Field(pattern=naming.WORD, description="source system = schema")
    cloud: Cloud = "azure"
    default_catalog: str | None = Field(
        default=None, pattern=naming.CATALOG, description="base catalog; default: the domain"
    )
    bundle_per_domain: bool = Field(
        default=False,
        description="monorepo: one bundle per domain (bundles/<domain>/databricks.yml)",
    )
    lakesmith_path: str = Field(
        default="", description="use lakesmith from this checkout (development, tests)"
    )

    def copier_data(self) -> dict[str, str | bool]:
        """Answers as copier questions; defaults filled so the answers file is complete."""
        data = self.model_dump()
        data["bundle_per_domain"] = self.bundle_per_domain and self.template == "monorepo"
        data["package_name"] = self.package_name or self.project_name.replace("-", "_")
        data["default_catalog"] = self.default_catalog or self.domain
        if self.lakesmith_path:
            data["lakesmith_path"] = Path(self.lakesmith_path).resolve().as_posix()
        return data


# How each answer is given on the command line, and what a valid value looks like.
OPTIONS = {
    "template": "TEMPLATE",
    "project_name": "--name",
    "package_name": "--package",
    "domain": "--domain",
    "source": "--source",
    "cloud": "--cloud",
    "default_catalog": "--catalog",
    "lakesmith_path": "--lakesmith-path",
    "bundle_per_domain": "--bundle-per-domain",
}
_HINTS = {
    "project_name": "lower-case letters, digits and '-', e.g. sales-crm",
    "package_name": "lower-case letters, digits and '_', e.g. sales_crm",
    "domain": naming.WORD_HINT + ", e.g. sales",
    "source": naming.WORD_HINT + ", e.g. crm",
    "default_catalog": "lower-case letters, digits and '_', e.g. sales",
}


def validate_answers(raw: Mapping[str, object]) -> InitAnswers:
    """Every bad or missing answer at once, named by its command-line option.

    Empty values count as not given, so a missing ``--domain`` reads as missing, not invalid.

    Raises:
        ConfigError: one issue per bad answer, keyed by option, with an example of a good one.
    """
    from lakesmith.config.model_errors import validate_model
    from lakesmith.config.yaml_loader import SourceMap

    given = {k: v for k, v in raw.items() if v not in (None, "")}
    answers, issues = validate_model(InitAnswers, given, SourceMap())
    if issues:
        raise ConfigError(
            [
                ConfigIssue(
                    i.message,
                    key=OPTIONS.get(i.key, i.key),
                    hint=_HINTS.get(i.key, i.hint),
                )
                for i in issues
            ]
        )
    return answers
