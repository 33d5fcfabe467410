"""GCP's IAM Condition evaluated by a CEL engine (cel-python, PyPI), and the provider and
Terraform settings the cloud review found wrong (defects 2, 3 and 7), read from the files
Terraform reads (python-hcl2)."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from pathlib import Path

import celpy
import hcl2
import pytest
from celpy import celtypes

from .conftest import ROOT, run, tool_env
from .provider_schema import admits, required_providers

WINDOWS = {
    "open": (None, "2026-11-24T19:30:00Z"),
    "bounded": ("2026-11-24T11:00:00Z", "2026-11-24T19:30:00Z"),
    "leap": ("2028-02-28T23:59:59Z", "2028-02-29T00:00:01Z"),
}
HARNESS = """
variable "windows" { type = any }
module "c" {
  source     = "%s"
  for_each   = var.windows
  grant_id   = "g-${each.key}"
  principal  = "bob@example.com"
  project    = "acme-prod"
  role       = "roles/logging.viewer"
  starts_at  = each.value.starts_at
  expires_at = each.value.expires_at
}
output "expressions" { value = { for k, m in module.c : k => m.condition.expression } }
"""


@pytest.fixture(scope="module")
def expressions(terraform: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    work = tmp_path_factory.mktemp("gcpcond")
    source = Path(os.path.relpath(ROOT / "modules" / "gcp-iam" / "condition", work)).as_posix()
    (work / "main.tf").write_text(HARNESS % source)
    windows = {k: {"starts_at": s, "expires_at": e} for k, (s, e) in WINDOWS.items()}
    (work / "w.tfvars.json").write_text(json.dumps({"windows": windows}))
    env = {**tool_env(), "TF_DATA_DIR": str(work / ".tfdata")}
    assert run([terraform, "init", "-input=false", "-no-color"], cwd=work, env=env).returncode == 0
    plan = run(
        [terraform, "plan", "-input=false", "-no-color", "-var-file=w.tfvars.json", "-out=p"],
        cwd=work,
        env=env,
    )
    assert plan.returncode == 0, plan.stdout + plan.stderr
    shown = json.loads(run([terraform, "show", "-json", "p"], cwd=work, env=env).stdout)
    return shown["planned_values"]["outputs"]["expressions"]["value"]


def _grants_access(expression: str, at: datetime) -> bool:
    env = celpy.Environment()
    program = env.program(env.compile(expression))
    stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    activation = {
        "request": celtypes.MapType({celtypes.StringType("time"): celtypes.TimestampType(stamp)})
    }
    result = program.evaluate(activation)
    assert isinstance(result, celtypes.BoolType), result
    return bool(result)


def _t(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


@pytest.mark.parametrize("name", sorted(WINDOWS))
def test_gcp_condition_under_cel_around_start_and_expiry(
    expressions: dict[str, str], name: str
) -> None:
    start, end = WINDOWS[name]
    expression = expressions[name]
    second = timedelta(seconds=1)
    assert _grants_access(expression, _t(end) - second)
    assert not _grants_access(expression, _t(end))  # expired at expires_at (exclusive)
    assert not _grants_access(expression, _t(end) + second)
    if start is None:
        assert _grants_access(expression, _t("2000-01-01T00:00:00Z"))
    else:
        assert not _grants_access(expression, _t(start) - second)
        assert _grants_access(expression, _t(start))
        assert _grants_access(expression, _t(start) + second) or _t(start) + second >= _t(end)


# --- defect 2: azurerm versions --------------------------------------------------------------


def test_defect2_azurerm_versions_with_the_expired_schedule_defect_are_not_admitted() -> None:
    for path in (ROOT / "modules/azure-pim/versions.tf", ROOT / "terraform/versions.tf"):
        constraint = required_providers(path)["azurerm"]
        for broken in ("3.90.0", "3.103.0", "3.104.0", "3.117.1"):
            assert not admits(constraint, broken), (path, constraint, broken)
        assert admits(constraint, "4.0.0") and admits(constraint, "4.55.0")
        assert "#23432" in path.read_text(), "versions.tf must say why"


# --- defect 3: an extension never opens a gap ------------------------------------------------


def _resource(path: str, rtype: str) -> dict:
    doc = hcl2.loads((ROOT / path).read_text())
    for entry in doc["resource"]:
        for t, instances in entry.items():
            if t.strip('"') == rtype:
                return next(iter(instances.values()))
    raise AssertionError(f"{path} has no {rtype}")


def test_defect3_gcp_binding_is_created_before_the_old_one_is_destroyed() -> None:
    body = _resource("modules/gcp-iam/main.tf", "google_project_iam_member")
    assert body["lifecycle"][0].get("create_before_destroy") is True


def test_defect3_azure_assignment_is_never_recreated_for_informational_fields() -> None:
    body = _resource("modules/azure-pim/main.tf", "azurerm_pim_active_role_assignment")
    assert set(body["lifecycle"][0]["ignore_changes"]) == {"justification", "ticket"}
    # create_before_destroy on one PIM identity would collide with itself (README)
    assert "create_before_destroy" not in body["lifecycle"][0]


# --- defect 7: Terraform and provider settings -----------------------------------------------


def test_defect7_required_version_admits_only_terraform_with_the_s3_lockfile() -> None:
    backend = (ROOT / "terraform" / "backend.hcl.example").read_text()
    assert "use_lockfile" in backend  # S3 native locking: Terraform 1.10 and later
    for path in [*sorted(ROOT.glob("modules/**/versions.tf")), ROOT / "terraform/versions.tf"]:
        doc = hcl2.loads(path.read_text())
        constraint = doc["terraform"][0]["required_version"].strip('"')
        assert not admits(constraint, "1.9.8"), (path, constraint)
        assert admits(constraint, "1.10.0") and admits(constraint, "1.11.4"), (path, constraint)


def test_defect7_azurerm_provider_needs_no_registration_rights() -> None:
    doc = hcl2.loads((ROOT / "terraform" / "providers.tf").read_text())
    [azurerm] = [e['"azurerm"'] for e in doc["provider"] if '"azurerm"' in e]
    assert azurerm.get("resource_provider_registrations") == '"none"'
    assert "skip_provider_registration" not in azurerm  # the 3.x name, removed in 4.0
