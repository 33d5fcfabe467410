"""Schema oracle: every resource, data source, provider argument and nested block used in
modules/ and terraform/ exists in the real provider schemas of the lowest and the highest release
that versions.tf admits (as packaged by cdktf; see tests/infra/provider_schema.py). `jitctl`
writes no Terraform of its own (there is no `jitctl init`): the render output is a variables
file, checked against terraform/variables.tf by test_dispatch.py."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from .conftest import BOOTSTRAP_HINT, ROOT
from .provider_schema import Schema, admits, check_file, load, required_providers

PACKAGES = {
    "aws": ["provider-aws-5", "provider-aws-6"],
    "google": ["provider-google-5", "provider-google-6"],
    "azurerm": ["provider-azurerm-4.0", "provider-azurerm-4.55"],
}
CACHE = ROOT / ".tools" / "provider-schemas"
TF_FILES = sorted(ROOT.glob("modules/**/*.tf")) + sorted(ROOT.glob("terraform/*.tf"))
VERSIONS = [p for p in TF_FILES if p.name == "versions.tf"]


def _package(alias: str) -> Path:
    d = ROOT / "node_modules" / alias
    if not (d / ".jsii").is_file():
        pytest.fail(f"node_modules/{alias} is missing: {BOOTSTRAP_HINT}", pytrace=False)
    return d


@pytest.fixture(scope="module", params=[0, 1], ids=["lowest", "highest"])
def schemas(request: pytest.FixtureRequest) -> dict[str, Schema]:
    return {
        name: load(_package(aliases[request.param]), CACHE) for name, aliases in PACKAGES.items()
    }


def test_the_packaged_releases_are_admitted_by_every_versions_tf() -> None:
    for name, aliases in PACKAGES.items():
        packaged = [
            json.loads((_package(a) / "package.json").read_text())["cdktf"]["provider"]["version"]
            for a in aliases
        ]
        for path in VERSIONS:
            constraint = required_providers(path).get(name)
            if constraint is None:
                continue
            for version in packaged:
                assert admits(constraint, version), (path, name, constraint, version)


def test_every_used_resource_and_argument_exists(schemas: dict[str, Schema]) -> None:
    problems: list[str] = []
    used: set[str] = set()
    for path in TF_FILES:
        p, u = check_file(path, schemas)
        problems += p
        used |= u
    assert problems == [], "\n".join(problems)
    # the oracle saw what the modules use (a parser that silently read nothing would pass above)
    assert {
        "resource.aws_iam_role",
        "resource.aws_iam_role_policy",
        "resource.aws_iam_role_policy_attachment",
        "data.aws_caller_identity",
        "data.aws_partition",
        "resource.aws_ssoadmin_permission_set",
        "resource.aws_ssoadmin_permission_set_inline_policy",
        "resource.aws_ssoadmin_managed_policy_attachment",
        "resource.aws_ssoadmin_account_assignment",
        "data.aws_ssoadmin_instances",
        "data.aws_identitystore_user",
        "data.aws_identitystore_group",
        "resource.google_project_iam_member",
        "resource.azurerm_pim_active_role_assignment",
        "data.azurerm_role_definition",
        "provider.aws",
        "provider.azurerm",
        "provider.google",
    } <= used


@pytest.mark.parametrize(
    ("path", "old", "new", "expected"),
    [
        (
            "modules/azure-pim/main.tf",
            "principal_id       =",
            "principal_idd      =",
            "principal_idd",
        ),
        ("modules/azure-pim/main.tf", "end_date_time =", "end_datetime =", "end_datetime"),
        ("modules/gcp-iam/main.tf", "expression  =", "expresion   =", "expresion"),
        (
            "modules/aws-iam-role/main.tf",
            '"aws_iam_role_policy"',
            '"aws_iam_role_policies"',
            "aws_iam_role_policies",
        ),
        (
            "terraform/providers.tf",
            '  resource_provider_registrations = "none"',
            '  resource_providers_registrations = "none"',
            "resource_providers_registrations",
        ),
        (
            "modules/azure-pim/main.tf",
            "ignore_changes = [justification, ticket]",
            "ignore_changes = [justification, tickets]",
            "tickets",
        ),
    ],
)
def test_a_misspelt_copy_fails(
    schemas: dict[str, Schema], tmp_path: Path, path: str, old: str, new: str, expected: str
) -> None:
    copy = tmp_path / Path(path).name
    shutil.copy(ROOT / path, copy)
    text = copy.read_text()
    assert old in text, f"{path} no longer contains {old!r}: update this test"
    copy.write_text(text.replace(old, new, 1))
    problems, _ = check_file(copy, schemas)
    assert any(expected in p for p in problems), problems
    assert check_file(ROOT / path, schemas)[0] == []


def test_defect7_resource_provider_registrations_exists_in_every_admitted_azurerm(
    schemas: dict[str, Schema],
) -> None:
    assert "resource_provider_registrations" in schemas["azurerm"].config
