"""``lakesmith deploy-scope`` on real temporary git repositories shaped like the monorepo."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lakesmith.cli.main import app
from lakesmith.deploy.scope import deploy_scope
from lakesmith.errors import LakesmithError

SCOPES = ("sales/crm", "sales/erp", "finance/gl")
FILES = {
    "databricks.yml": "bundle: {name: lakehouse}\n",
    "targets/prod.yml": "targets: {prod: {mode: production}}\n",
    "pyproject.toml": "[project]\nname = 'lakehouse'\n",
    "resources/__init__.py": "",
    "README.md": "# lakehouse\n",
    "src/common/__init__.py": "",
    "src/common/dates.py": "EPOCH = 0\n",
}
for _scope in SCOPES:
    _domain, _source = _scope.split("/")
    FILES |= {
        f"src/{_domain}/__init__.py": "",
        f"src/{_domain}/lakesmith.yaml": f"name: {_domain}\n",
        f"src/{_domain}/config/dev.yaml": f"catalog: dev_{_domain}\n",
        f"src/{_domain}/pipelines/{_source}.yaml": f"name: {_source}\n",
        f"src/{_domain}/{_source}/__init__.py": "",
        f"src/{_domain}/{_source}/raw/orders.py": "X = 1\n",
        f"resources/{_domain}/__init__.py": "",
        f"resources/{_domain}/{_source}/__init__.py": "",
        f"resources/{_domain}/{_source}/jobs/__init__.py": "",
        f"resources/{_domain}/{_source}/jobs/{_domain}_{_source}_final_x.py": "x = 1\n",
        f"specs/jobs/{_domain}_{_source}_final_x.yaml": f"domain: {_domain}\n",
    }


def git(root: Path, *args: str) -> str:
    ident = ["-c", "user.name=t", "-c", "user.email=t@example.com"]
    done = subprocess.run(
        ["git", *ident, *args], cwd=root, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for rel, text in FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    git(root, "tag", "base")
    return root


def commit(root: Path, message: str = "change") -> None:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)


def edit(root: Path, rel: str, text: str = "changed\n") -> None:
    (root / rel).write_text(text)


def test_one_domain(repo: Path) -> None:
    edit(repo, "src/sales/crm/raw/orders.py", "X = 2\n")
    commit(repo)
    scope = deploy_scope(repo, "base").as_dict()
    assert scope["scopes"] == ["sales/crm"] and scope["domains"] == ["sales"]
    assert scope["units"] == ["."] and scope["deploy"] and not scope["full"]


def test_two_domains_through_resources_specs_and_pipelines(repo: Path) -> None:
    edit(repo, "specs/jobs/finance_gl_final_x.yaml", "domain: finance\nsource: gl\n")
    edit(repo, "src/sales/pipelines/erp.yaml", "name: erp\ndescription: x\n")
    commit(repo)
    scope = deploy_scope(repo, "base").as_dict()
    assert scope["scopes"] == ["finance/gl", "sales/erp"]
    assert scope["domains"] == ["finance", "sales"] and not scope["full"]


def test_a_domain_wide_file_touches_all_its_sources(repo: Path) -> None:
    edit(repo, "src/sales/config/dev.yaml", "catalog: dev_sales_v2\n")
    commit(repo)
    assert deploy_scope(repo, "base").scopes == ["sales/crm", "sales/erp"]


@pytest.mark.parametrize(
    "rel", ["databricks.yml", "targets/prod.yml", "pyproject.toml", "src/common/dates.py"]
)
def test_a_global_change_means_a_full_deploy(repo: Path, rel: str) -> None:
    edit(repo, rel, (repo / rel).read_text() + "\n# touched\n")
    commit(repo)
    scope = deploy_scope(repo, "base")
    assert scope.full and scope.units == ["."]
    assert scope.scopes == sorted(SCOPES)
    assert any(rel in reason for reason in scope.reasons)


def test_a_rename_counts_both_the_old_and_the_new_scope(repo: Path) -> None:
    (repo / "src/finance/gl/raw").mkdir(exist_ok=True)
    git(repo, "mv", "src/sales/crm/raw/orders.py", "src/finance/gl/raw/moved.py")
    commit(repo, "move")
    scope = deploy_scope(repo, "base")
    assert scope.scopes == ["finance/gl", "sales/crm"]
    assert "src/sales/crm/raw/orders.py" in scope.changed


def test_a_deleted_resource_still_deploys_its_unit(repo: Path) -> None:
    """Deleting a job only takes effect when the whole bundle deploys without it."""
    git(repo, "rm", "-q", "resources/sales/erp/jobs/sales_erp_final_x.py")
    commit(repo, "delete job")
    scope = deploy_scope(repo, "base")
    assert scope.scopes == ["sales/erp"] and scope.units == ["."]


def test_docs_and_tests_run_checks_but_deploy_nothing(repo: Path) -> None:
    edit(repo, "README.md", "# lakehouse v2\n")
    commit(repo)
    scope = deploy_scope(repo, "base").as_dict()
    assert scope["units"] == [] and not scope["deploy"] and scope["checks_only"]


def test_a_domain_with_its_own_bundle_is_its_own_deploy_unit(repo: Path) -> None:
    (repo / "bundles/finance").mkdir(parents=True)
    edit(repo, "bundles/finance/databricks.yml", "bundle: {name: lakehouse-finance}\n")
    commit(repo, "finance bundle")
    git(repo, "tag", "split")
    edit(repo, "src/finance/gl/raw/orders.py", "X = 3\n")
    edit(repo, "src/sales/crm/raw/orders.py", "X = 3\n")
    commit(repo)
    scope = deploy_scope(repo, "split")
    assert scope.units == [".", "bundles/finance"]
    only_finance = deploy_scope(repo, "HEAD~0")
    assert only_finance.units == [] and only_finance.changed == []


def test_cli_prints_json_and_refuses_a_bad_base(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    edit(repo, "src/sales/crm/raw/orders.py", "X = 5\n")  # uncommitted changes count too
    monkeypatch.chdir(repo)
    result = CliRunner().invoke(app, ["deploy-scope", "--base", "base"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["scopes"] == ["sales/crm"]
    full = json.loads(CliRunner().invoke(app, ["deploy-scope", "--all"]).output)
    assert full["full"] and full["units"] == ["."]
    bad = CliRunner().invoke(app, ["deploy-scope", "--base", "no-such-rev"])
    assert bad.exit_code == 2
    with pytest.raises(LakesmithError):
        deploy_scope(repo, "no-such-rev")


def test_a_change_to_a_domain_bundles_own_files_deploys_only_that_unit(repo: Path) -> None:
    """bundle_per_domain: bundles/<domain>/ holds the domain's bundle, resources and specs."""
    unit = "bundles/finance"
    for rel, text in {
        f"{unit}/databricks.yml": "bundle: {name: lakehouse-finance}\n",
        f"{unit}/resources/__init__.py": "",
        f"{unit}/resources/finance/__init__.py": "",
        f"{unit}/resources/finance/gl/__init__.py": "",
        f"{unit}/resources/finance/gl/jobs/__init__.py": "",
        f"{unit}/resources/finance/gl/jobs/finance_gl_final_y.py": "y = 1\n",
        f"{unit}/specs/jobs/finance_gl_final_y.yaml": "domain: finance\n",
    }.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        edit(repo, rel, text)
    commit(repo, "finance bundle")
    git(repo, "tag", "split")
    edit(repo, f"{unit}/databricks.yml", "bundle: {name: lakehouse-finance}\n# touched\n")
    commit(repo)
    scope = deploy_scope(repo, "split")
    assert not scope.full and scope.units == [unit]
    assert scope.scopes == ["finance/gl"]
    assert any("bundle-wide file of unit bundles/finance" in r for r in scope.reasons)
    git(repo, "tag", "bundle-edit")
    edit(repo, f"{unit}/specs/jobs/finance_gl_final_y.yaml", "domain: finance\nsource: gl\n")
    commit(repo)
    spec = deploy_scope(repo, "bundle-edit")
    assert spec.units == [unit] and spec.scopes == ["finance/gl"] and not spec.full
    full = deploy_scope(repo, None)
    assert "finance/gl" in full.scopes and full.units == [".", unit]
