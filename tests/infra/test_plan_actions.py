"""Plan actions from real Terraform talking to the stand-in provider (tests/infra/standin/) over
the plugin protocol: what an extension or a revocation does to the GCP binding and the Azure PIM
assignment, on copies of the real modules/gcp-iam and modules/azure-pim in tmp_path.

The schema the stand-in serves is the provider's (the cdktf jsii assembly); which arguments force
a new resource is our cited table (tests/infra/standin/provider.py, REPLACE)."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from .conftest import BOOTSTRAP_HINT, ROOT, run
from .standin.install import PACKAGES, install

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
    """A Terraform root in tmp_path, copied from the repository, planned and applied through the
    stand-in."""

    module: Path

    def __init__(self, terraform: str, tmp: Path, providers: list[str], root: Path) -> None:
        if importlib.util.find_spec("tf") is None:
            pytest.fail(f"the PyPI package tf is missing: {BOOTSTRAP_HINT}", pytrace=False)
        self.terraform = terraform
        self.dir = root
        self.env = install(tmp, {p: _package(PACKAGES[p]) for p in providers})
        self.env["TF_DATA_DIR"] = str(tmp / "tfdata")
        self.cloud = Path(self.env["STANDIN_CLOUD"])

    @classmethod
    def one_module(cls, terraform: str, tmp: Path, module: str, provider: str) -> Stack:
        """A root calling a copy of modules/<module> once per entry of var.grants."""
        root = tmp / "root"
        root.mkdir()
        shutil.copytree(ROOT / "modules" / module, root / module)
        (root / "main.tf").write_text(
            'variable "grants" {\n  type = map(any)\n}\n\n'
            f'module "grant" {{\n  for_each = var.grants\n  source   = "./{module}"\n'
            + "".join(f"  {k} = each.value.{k}\n" for k in (GCP if provider == "google" else AZ))
            + "}\n"
        )
        stack = cls(terraform, tmp, [provider], root)
        stack.module = root / module
        return stack

    @classmethod
    def dispatcher(cls, terraform: str, tmp: Path) -> Stack:
        """A copy of terraform/ (the root jitctl's workflows apply) with its GCP and Azure module
        blocks and the dispatcher, fed `jitctl render` output; the AWS blocks are left out (the
        stand-in serves no aws provider yet)."""
        shutil.copytree(ROOT / "modules", tmp / "modules")
        root = tmp / "terraform"
        root.mkdir()
        shutil.copy(ROOT / "terraform" / "variables.tf", root)
        main = (ROOT / "terraform" / "main.tf").read_text()
        for name in ("aws_iam_role", "aws_identity_center"):
            main, n = re.subn(rf'(?ms)^module "{name}" \{{.*?^\}}\n', "", main)
            assert n == 1, name
        (root / "main.tf").write_text(main)
        return cls(terraform, tmp, ["google", "azurerm"], root)

    def tf(self, *args: str) -> Any:
        result = run([self.terraform, *args, "-no-color"], cwd=self.dir, env=self.env, timeout=300)
        return result

    def init(self) -> None:
        # dev_overrides: Terraform needs no provider install, only the modules (`get`).
        r = self.tf("get")
        assert r.returncode == 0, r.stdout + r.stderr

    def grants(self, grants: dict[str, dict[str, Any]], **more: Any) -> None:
        (self.dir / "terraform.tfvars.json").write_text(json.dumps({"grants": grants, **more}))

    def apply(self) -> Any:
        return self.tf("apply", "-input=false", "-auto-approve")

    def actions(self) -> dict[str, list[str]]:
        """address -> the actions of its planned change (no-ops left out), from the saved plan."""
        r = self.tf("plan", "-input=false", "-out=plan.bin")
        assert r.returncode == 0, r.stdout + r.stderr
        r = self.tf("show", "-json", "plan.bin")
        assert r.returncode == 0, r.stdout + r.stderr
        plan = json.loads(r.stdout)
        return {
            c["address"]: c["change"]["actions"]
            for c in plan.get("resource_changes", [])
            if c["mode"] == "managed" and c["change"]["actions"] != ["no-op"]
        }

    def render(self, grants: dict[str, dict[str, Any]]) -> None:
        """`jitctl render`'s output (docs/render-schema.md) as the variables of terraform/."""
        self.grants(grants, now=NOW, jitctl_render_version=1)

    def world(self) -> dict[str, Any]:
        return json.loads(self.cloud.read_text())


@pytest.fixture
def gcp(terraform: str, tmp_path: Path) -> Stack:
    return Stack.one_module(terraform, tmp_path, "gcp-iam", "google")


@pytest.fixture
def azure(terraform: str, tmp_path: Path) -> Stack:
    return Stack.one_module(terraform, tmp_path, "azure-pim", "azurerm")


BINDING = 'module.grant["a"].google_project_iam_member.grant'
ASSIGNMENT = 'module.grant["a"].azurerm_pim_active_role_assignment.grant'


def test_gcp_first_apply_creates_the_binding(gcp: Stack) -> None:
    gcp.init()
    gcp.grants({"a": GCP})
    assert gcp.actions() == {BINDING: ["create"]}
    r = gcp.apply()
    assert r.returncode == 0, r.stdout + r.stderr
    assert gcp.actions() == {}
    [binding] = gcp.world()["objects"]["google_project_iam_member"].values()
    assert "2026-11-24T20:00:00Z" in binding["condition"][0]["expression"]


def _extended(grant: dict[str, Any]) -> dict[str, Any]:
    return {**grant, "expires_at": "2026-11-25T04:00:00Z"}


def _apply(stack: Stack) -> None:
    r = stack.apply()
    assert r.returncode == 0, r.stdout + r.stderr


def assert_gcp_extension_never_gaps(gcp: Stack) -> None:
    """Defect 3 on GCP: an extension creates the new binding before it deletes the old one."""
    gcp.init()
    gcp.grants({"a": GCP})
    _apply(gcp)
    gcp.grants({"a": _extended(GCP)})
    assert gcp.actions() == {BINDING: ["create", "delete"]}, "extension must create before delete"
    _apply(gcp)
    world = gcp.world()
    [binding] = world["objects"]["google_project_iam_member"].values()
    assert "2026-11-25T04:00:00Z" in binding["condition"][0]["expression"]
    # what the cloud saw, in order: the old binding, the new one, and only then the old one gone
    events = [(e[0], "2026-11-24T20:00:00Z" in e[2]) for e in world["events"]]
    assert events == [("create", True), ("create", False), ("delete", True)]


def test_defect_3_gcp_extension_creates_before_destroying(gcp: Stack) -> None:
    assert_gcp_extension_never_gaps(gcp)


def test_defect_3_gcp_check_fails_without_create_before_destroy(gcp: Stack) -> None:
    main = gcp.module / "main.tf"
    text = main.read_text()
    assert "create_before_destroy = true" in text
    main.write_text(text.replace("create_before_destroy = true", "create_before_destroy = false"))
    with pytest.raises(AssertionError, match="extension must create before delete"):
        assert_gcp_extension_never_gaps(gcp)
    assert gcp.actions() == {BINDING: ["delete", "create"]}


def test_gcp_revoke_deletes_the_binding(gcp: Stack) -> None:
    gcp.init()
    gcp.grants({"a": GCP, "b": {**GCP, "grant_id": "bob-2", "role": "roles/browser"}})
    _apply(gcp)
    gcp.grants({"b": {**GCP, "grant_id": "bob-2", "role": "roles/browser"}})
    assert gcp.actions() == {BINDING: ["delete"]}
    _apply(gcp)
    [left] = gcp.world()["objects"]["google_project_iam_member"].values()
    assert left["role"] == "roles/browser"


def test_azure_extension_recreates_the_assignment_as_documented(azure: Stack) -> None:
    """The documented Azure gap (modules/azure-pim/README.md, README "Known gap"): an extension
    is destroy-then-create, in one apply."""
    doc = (ROOT / "modules" / "azure-pim" / "README.md").read_text()
    assert "destroy-then-create" in doc
    azure.init()
    azure.grants({"a": AZ})
    assert azure.actions() == {ASSIGNMENT: ["create"]}
    _apply(azure)
    azure.grants({"a": _extended(AZ)})
    assert azure.actions() == {ASSIGNMENT: ["delete", "create"]}
    _apply(azure)
    [assignment] = azure.world()["objects"]["azurerm_pim_active_role_assignment"].values()
    assert assignment["schedule"][0]["expiration"][0]["end_date_time"] == "2026-11-25T04:00:00Z"
    assert [e[0] for e in azure.world()["events"]] == ["create", "delete", "create"]


def test_azure_justification_and_ticket_never_recreate(azure: Stack) -> None:
    azure.init()
    azure.grants({"a": AZ})
    _apply(azure)
    azure.grants({"a": {**AZ, "reason": "another reason", "ticket": "INC-43"}})
    assert azure.actions() == {}


def test_azure_create_before_destroy_would_collide(azure: Stack) -> None:
    """Why the module keeps destroy-then-create: with create_before_destroy the new assignment is
    created while the old one exists, and Azure refuses the same scope|role|principal."""
    main = azure.module / "main.tf"
    text = main.read_text()
    main.write_text(
        text.replace(
            "ignore_changes = [justification, ticket]",
            "ignore_changes        = [justification, ticket]\n    create_before_destroy = true",
        )
    )
    azure.init()
    azure.grants({"a": AZ})
    _apply(azure)
    azure.grants({"a": _extended(AZ)})
    assert azure.actions() == {ASSIGNMENT: ["create", "delete"]}
    r = azure.apply()
    assert r.returncode != 0
    assert "needs to be imported" in r.stdout + r.stderr


def test_defect_1_azure_two_assignments_of_one_identity_collide(azure: Stack) -> None:
    """Defect 1 at the provider: two assignments of one principal, role and scope (two grants
    rendered separately) cannot both exist; `jitctl check` (azure.disjoint) and the dispatcher's
    merge into one assignment are what prevent this (tests/core, tests/infra/test_dispatch.py)."""
    azure.init()
    second = {**AZ, "grant_ids": ["carol-azure-reader-2"], "expires_at": "2026-11-24T22:00:00Z"}
    azure.grants({"a": AZ, "b": second})
    r = azure.apply()
    assert r.returncode != 0
    assert "needs to be imported" in r.stdout + r.stderr
    assert len(azure.world()["objects"]["azurerm_pim_active_role_assignment"]) == 1


NOW = "2026-11-24T12:00:00Z"
AZ_TARGET = {"scope": AZ["scope"], "role_definition_name": "Contributor"}


def _render_grant(module: str, principal: str, target: dict[str, str], **kw: Any) -> dict:
    return {
        "principal": principal,
        "entitlement": f"e-{module}",
        "module": module,
        "target": target,
        "starts_at": None,
        "reason": "r",
        "ticket": None,
        **kw,
    }


def test_dispatcher_overlapping_azure_grants_share_one_assignment(
    terraform: str, tmp_path: Path
) -> None:
    """Through terraform/ and modules/grants: two overlapping grants of one principal, role and
    scope become ONE assignment (defect 1), revoking the earlier-ending one changes nothing in
    Azure, and revoking the one holding the latest end re-creates it (the documented gap)."""
    stack = Stack.dispatcher(terraform, tmp_path)
    stack.init()
    first = _render_grant(
        "azure-pim", AZ["principal"], AZ_TARGET, expires_at="2026-11-24T15:30:00Z"
    )
    second = _render_grant(
        "azure-pim", AZ["principal"], AZ_TARGET, expires_at="2026-11-24T18:00:00Z"
    )
    logs = _render_grant(
        "gcp-iam",
        "bob@example.com",
        {"project": "acme-prod", "role": "roles/logging.viewer"},
        expires_at="2026-11-24T19:30:00Z",
    )
    stack.render({"alice-1": first, "alice-2": second, "bob-1": logs})
    actions = stack.actions()
    assert sorted(actions.values()) == [["create"], ["create"]], actions
    _apply(stack)
    world = stack.world()["objects"]
    [assignment] = world["azurerm_pim_active_role_assignment"].values()
    assert assignment["schedule"][0]["expiration"][0]["end_date_time"] == "2026-11-24T18:00:00Z"
    assert len(world["google_project_iam_member"]) == 1

    # revoke the grant that ends first: the union is unchanged, so Azure is not touched
    stack.render({"alice-2": second, "bob-1": logs})
    assert stack.actions() == {}

    # extend the GCP grant through the dispatcher: create the new binding, then delete the old
    stack.render({"alice-2": second, "bob-1": {**logs, "expires_at": "2026-11-24T23:00:00Z"}})
    assert list(stack.actions().values()) == [["create", "delete"]]

    # revoke the grant holding the latest end: the union shrinks, destroy-then-create
    stack.render({"alice-1": first, "bob-1": logs})
    assert list(stack.actions().values()) == [["delete", "create"]]
