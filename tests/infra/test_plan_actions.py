"""Plan actions from real Terraform talking to the stand-in provider (tests/infra/standin/) over
the plugin protocol: what an extension or a revocation does to the GCP binding and the Azure PIM
assignment, on copies of the real modules/gcp-iam and modules/azure-pim in tmp_path.

The schema the stand-in serves is the provider's (the cdktf jsii assembly); which arguments force
a new resource is our cited table (tests/infra/standin/provider.py, REPLACE)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from .conftest import BOOTSTRAP_HINT, ROOT, run
from .standin.install import PACKAGES, install

pytest.importorskip("tf", reason=f"PyPI tf is missing: {BOOTSTRAP_HINT}")

GCP = {
    "grant_id": "bob-gcp-prod-logs-viewer-20261124t1200",
    "principal": "bob@example.com",
    "project": "acme-prod",
    "role": "roles/logging.viewer",
    "starts_at": "2026-11-24T12:00:00Z",
    "expires_at": "2026-11-24T20:00:00Z",
}
AZ = {
    "grant_ids": ["carol-azure-reader-20261124t1200"],
    "principal": "11111111-1111-4111-8111-111111111111",
    "scope": "/subscriptions/00000000-0000-4000-8000-000000000000",
    "role_definition_name": "Reader",
    "starts_at": "2026-11-24T12:00:00Z",
    "expires_at": "2026-11-24T20:00:00Z",
    "reason": "incident 42",
    "ticket": "INC-42",
}


def _package(alias: str) -> Path:
    d = ROOT / "node_modules" / alias
    if not (d / ".jsii").is_file():
        pytest.fail(f"node_modules/{alias} is missing: {BOOTSTRAP_HINT}", pytrace=False)
    return d


class Stack:
    """A root module in tmp_path calling one copied module once per entry of var.grants."""

    def __init__(self, terraform: str, tmp: Path, module: str, provider: str) -> None:
        self.terraform = terraform
        self.dir = tmp / "root"
        self.dir.mkdir()
        shutil.copytree(ROOT / "modules" / module, self.dir / module)
        self.module = self.dir / module
        self.env = install(tmp, {provider: _package(PACKAGES[provider])})
        self.env["TF_DATA_DIR"] = str(tmp / "tfdata")
        self.cloud = Path(self.env["STANDIN_CLOUD"])
        (self.dir / "main.tf").write_text(
            'variable "grants" {\n  type = map(any)\n}\n\n'
            f'module "grant" {{\n  for_each = var.grants\n  source   = "./{module}"\n'
            + "".join(f"  {k} = each.value.{k}\n" for k in (GCP if provider == "google" else AZ))
            + "}\n"
        )

    def tf(self, *args: str) -> Any:
        result = run([self.terraform, *args, "-no-color"], cwd=self.dir, env=self.env, timeout=300)
        return result

    def init(self) -> None:
        # dev_overrides: Terraform needs no provider install, only the modules (`get`).
        r = self.tf("get")
        assert r.returncode == 0, r.stdout + r.stderr

    def grants(self, grants: dict[str, dict[str, Any]]) -> None:
        (self.dir / "terraform.tfvars.json").write_text(json.dumps({"grants": grants}))

    def apply(self) -> Any:
        return self.tf("apply", "-input=false", "-auto-approve")

    def actions(self) -> dict[str, list[str]]:
        """address -> the actions of its planned change, from the saved plan as JSON."""
        r = self.tf("plan", "-input=false", "-out=plan.bin")
        assert r.returncode == 0, r.stdout + r.stderr
        r = self.tf("show", "-json", "plan.bin")
        assert r.returncode == 0, r.stdout + r.stderr
        plan = json.loads(r.stdout)
        return {
            c["address"]: c["change"]["actions"]
            for c in plan.get("resource_changes", [])
            if c["mode"] == "managed"
        }

    def world(self) -> dict[str, Any]:
        return json.loads(self.cloud.read_text())


@pytest.fixture
def gcp(terraform: str, tmp_path: Path) -> Stack:
    return Stack(terraform, tmp_path, "gcp-iam", "google")


@pytest.fixture
def azure(terraform: str, tmp_path: Path) -> Stack:
    return Stack(terraform, tmp_path, "azure-pim", "azurerm")


BINDING = 'module.grant["a"].google_project_iam_member.grant'
ASSIGNMENT = 'module.grant["a"].azurerm_pim_active_role_assignment.grant'


def test_gcp_first_apply_creates_the_binding(gcp: Stack) -> None:
    gcp.init()
    gcp.grants({"a": GCP})
    assert gcp.actions() == {BINDING: ["create"]}
    r = gcp.apply()
    assert r.returncode == 0, r.stdout + r.stderr
    assert gcp.actions() == {BINDING: ["no-op"]}
    [binding] = gcp.world()["objects"]["google_project_iam_member"].values()
    assert "2026-11-24T20:00:00Z" in binding["condition"][0]["expression"]
