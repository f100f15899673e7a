"""The wizard: five steps, each a named view onto fields of the synth spec, plus a review.

A step is only a list of ``(field, spec path)`` pairs. Its request model is derived from the
spec's own annotations (types only; every constraint stays in ``SynthSpec``, bar the wizard's
tighter household count in ``WIZARD_MAX``), and validating a step means merging it into the
session's spec and validating the whole spec, so cross-field rules (date range vs. campaign
length, response rates per channel, a custom daily pattern's hour weights) apply exactly as
they do for ``lakesmith synth generate``. Errors come back with the spec path and the step's
field.
"""

from __future__ import annotations

import copy
import uuid
from functools import cache
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from lakesmith.synth.spec import SynthSpec

from .models import IfExists, StepValidation, WizardSession
from .problems import FieldIssue, ProblemError, issues_from
from .store import Store

Step = Literal["households", "demographics", "engagement", "campaigns", "output"]
STEP_NAMES: tuple[Step, ...] = get_args(Step)

STEPS: dict[Step, dict[str, str]] = {
    "households": {
        "households": "households",
        "seed": "seed",
        "regions": "household.regions",
        "block_households": "block_households",
    },
    "demographics": {
        "size_weights": "household.size_weights",
        "householder_age_weights": "household.householder_age_weights",
        "income_median_by_age": "household.income_median_by_age",
        "income_sigma": "household.income_sigma",
        "gender_weights": "individual.gender_weights",
    },
    "engagement": {
        "categories": "engagement.categories",
        "median_events_per_person": "engagement.median_events_per_person",
        "events_sigma": "engagement.events_sigma",
        "max_events_per_person": "engagement.max_events_per_person",
        "device_types": "engagement.device_types",
        "daily_pattern": "engagement.daily_pattern",
        "hour_weights": "engagement.hour_weights",
    },
    "campaigns": {
        "count": "campaigns.count",
        "channels": "campaigns.channels",
        "start_date": "start_date",
        "end_date": "end_date",
        "min_days": "campaigns.min_days",
        "max_days": "campaigns.max_days",
        "budget_min": "campaigns.budget_min",
        "budget_max": "campaigns.budget_max",
        "exposures_per_person": "campaigns.exposures_per_person",
        "response_rates": "campaigns.response_rates",
        "conversion_rate": "campaigns.conversion_rate",
    },
    "output": {"catalog": "catalog", "schema": "schema"},
}
"""Each step's fields and where they live in the spec (dotted, by alias)."""

WIZARD_MAX: dict[str, int] = {"households": 100_000_000}
"""The wizard's own upper bounds by spec path, tighter than the spec's (a spec file or
``POST /api/generate/start`` may ask for more)."""

TITLES: dict[Step, str] = {
    "households": "Households",
    "demographics": "Demographics",
    "engagement": "Engagement",
    "campaigns": "Campaigns",
    "output": "Output",
}


def _spec_field(path: str) -> tuple[Any, str]:
    """The annotation and description of the spec field at ``path``."""
    model: type[BaseModel] = SynthSpec
    *parents, leaf = path.split(".")
    for part in parents:
        annotation = model.model_fields[part].annotation
        assert isinstance(annotation, type) and issubclass(annotation, BaseModel)
        model = annotation
    name = next(n for n, f in model.model_fields.items() if (f.alias or n) == leaf)
    info = model.model_fields[name]
    return info.annotation, info.description or ""


@cache
def step_model(step: Step) -> type[BaseModel]:
    """The request model of one step: every field optional, typed like the spec, no limits."""
    fields: dict[str, Any] = {}
    for name, path in STEPS[step].items():
        annotation, description = _spec_field(path)
        key = "schema_" if name == "schema" else name
        fields[key] = (annotation | None, Field(None, alias=name, description=description))
    if step == "output":
        fields["if_exists"] = (
            IfExists | None,
            Field(None, description="an existing dataset in that schema: overwrite it or fail"),
        )
    return create_model(
        f"{step.title()}Step",
        __config__=ConfigDict(extra="forbid", populate_by_name=True),
        **fields,
    )


def _get(values: dict[str, Any], path: str) -> Any:
    node: Any = values
    for part in path.split("."):
        node = node[part]
    return node


def _set(values: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    node = values
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value


def step_values(spec: dict[str, Any], step: Step) -> dict[str, Any]:
    return {name: _get(spec, path) for name, path in STEPS[step].items()}


class Wizard:
    """Wizard sessions kept in the job store (so a restart keeps half-filled wizards)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def create(self) -> WizardSession:
        session_id = uuid.uuid4().hex
        data = {
            "spec": SynthSpec().model_dump(mode="json", by_alias=True),
            "if_exists": "fail",
            "completed": [],
            "job_id": None,
        }
        self.store.put_session(session_id, data)
        return self.get(session_id)

    def _data(self, session_id: str) -> tuple[dict[str, Any], Any]:
        found = self.store.get_session(session_id)
        if found is None:
            raise ProblemError(404, f"no wizard session {session_id}", title="Unknown session")
        return found

    def get(self, session_id: str) -> WizardSession:
        """Raises: ProblemError 404 for an unknown session."""
        data, created = self._data(session_id)
        base = f"/api/wizard/sessions/{session_id}"
        steps: dict[str, dict[str, Any]] = {s: step_values(data["spec"], s) for s in STEP_NAMES}
        steps["output"]["if_exists"] = data["if_exists"]
        return WizardSession(
            session_id=session_id,
            created_at=created,
            steps=steps,
            completed_steps=data["completed"],
            if_exists=data["if_exists"],
            spec=data["spec"],
            job_id=data["job_id"],
            links={
                "self": base,
                "submit": f"{base}/submit",
                **{f"validate_{s}": f"{base}/steps/{s}/validate" for s in STEP_NAMES},
                "page": f"/wizard/{session_id}/households",
            },
        )

    def validate(self, session_id: str, step: Step, body: dict[str, Any]) -> StepValidation:
        """Check one step against the whole spec; keep it in the session when it is valid.

        Unknown fields, wrong types and broken spec rules all come back as field issues,
        with paths as the step names them (``response_rates.display``).
        """
        data, _ = self._data(session_id)
        try:
            given = step_model(step).model_validate(body)
        except ValidationError as exc:
            issues = issues_from(exc.errors(include_url=False, include_input=False))
            return StepValidation(valid=False, step=step, errors=issues, values=body)
        values = given.model_dump(by_alias=True, exclude_none=True, mode="json")
        if_exists = values.pop("if_exists", data["if_exists"])
        candidate = copy.deepcopy(data["spec"])
        for name, value in values.items():
            _set(candidate, STEPS[step][name], value)
        spec: SynthSpec | None = None
        issues: list[FieldIssue] = []
        try:
            spec = SynthSpec.model_validate(candidate)
        except ValidationError as exc:
            issues = [
                FieldIssue(path=_step_path(step, issue.path), message=issue.message)
                for issue in issues_from(exc.errors(include_url=False, include_input=False))
            ]
        issues += _over_wizard_max(step, candidate, {i.path for i in issues})
        if spec is None or issues:
            merged = step_values(candidate, step)
            return StepValidation(valid=False, step=step, errors=issues, values=merged)
        data["spec"] = spec.model_dump(mode="json", by_alias=True)
        data["if_exists"] = if_exists
        data["completed"] = [s for s in STEP_NAMES if s in {*data["completed"], step}]
        self.store.put_session(session_id, data)
        return StepValidation(
            valid=True, step=step, errors=[], values=step_values(data["spec"], step)
        )

    def spec(self, session_id: str) -> tuple[SynthSpec, IfExists]:
        data, _ = self._data(session_id)
        return SynthSpec.model_validate(data["spec"]), data["if_exists"]

    def attach_job(self, session_id: str, job_id: str) -> None:
        data, _ = self._data(session_id)
        data["job_id"] = job_id
        self.store.put_session(session_id, data)


def _over_wizard_max(step: Step, spec: dict[str, Any], reported: set[str]) -> list[FieldIssue]:
    """The step's fields above the wizard's own maximum (unless already reported)."""
    out = []
    for name, path in STEPS[step].items():
        most = WIZARD_MAX.get(path)
        value = _get(spec, path)
        if most is not None and name not in reported and isinstance(value, int) and value > most:
            out.append(
                FieldIssue(
                    path=name,
                    message=f"the wizard makes at most {most:,} {name}; "
                    "larger datasets: lakesmith synth generate or POST /api/generate/start",
                )
            )
    return out


def _step_path(step: Step, spec_path: str) -> str:
    """A spec error path as the step names it; other paths (cross-field rules) stay as they are.

    ``campaigns.response_rates.display`` -> ``response_rates.display`` in the campaigns step;
    ``""`` (a rule over the whole spec) stays ``""``.
    """
    for name, path in STEPS[step].items():
        if spec_path == path or spec_path.startswith(path + "."):
            return name + spec_path[len(path) :]
    return spec_path
