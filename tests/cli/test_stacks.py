"""`jitctl render --stacks-dir`: one Terraform input per stack (AWS account, GCP project, Azure
subscription), and the stacks a change touches, on real git repositories."""

from __future__ import annotations

import json
from pathlib import Path

from controller.core.render import changed_stacks, stack_of
from controller.formats.catalog import load_catalog
from tests.cli.test_commands import run
from tests.factories import EXAMPLE_CATALOG_TEXT, grant_text
from tests.gitutil import Repo

AWS, GCP, AZURE = "aws-123456789012", "gcp-acme-prod", "azure-00000000-0000-4000-8000-000000000000"
AZ = "11111111-1111-4111-8111-111111111111"


def test_stack_of_each_module() -> None:
    cat = load_catalog(EXAMPLE_CATALOG_TEXT)
    assert {stack_of(e) for e in cat.entitlements.values()} == {AWS, GCP, AZURE}
    mg = EXAMPLE_CATALOG_TEXT.replace(
        "/subscriptions/00000000-0000-4000-8000-000000000000",
        "/providers/Microsoft.Management/managementGroups/Acme Prod",
    )
    assert "azure-mg-acme-prod" in {stack_of(e) for e in load_catalog(mg).entitlements.values()}
    assert changed_stacks({"a": "1", "b": "2"}, {"b": "3", "c": "4"}) == ["a", "b", "c"]


def _grants() -> dict[str, str | bytes | None]:
    return {
        "grants/aws.hcl": grant_text(expires_at="2026-11-24T20:00:00Z"),
        "grants/aws-gone.hcl": grant_text(expires_at="2026-11-24T11:00:00Z"),
        "grants/gcp.hcl": grant_text(
            principal="bob@example.com", entitlement="gcp-prod-logs-viewer"
        ),
        "grants/az.hcl": grant_text(principal=AZ, entitlement="azure-prod-contributor"),
    }


def test_one_input_per_stack_and_their_union_is_the_render(
    access_repo: Repo, tmp_path: Path
) -> None:
    access_repo.commit(_grants(), "grants")
    code, _, err = run(access_repo, "render", "--stacks-dir", str(tmp_path / "s"))
    assert code == 0, err
    files = sorted(p.name for p in (tmp_path / "s").iterdir())
    assert files == [f"{s}.tfvars.json" for s in sorted([AWS, GCP, AZURE])]
    docs = {p.name: json.loads(p.read_text()) for p in (tmp_path / "s").iterdir()}
    assert list(docs[f"{AWS}.tfvars.json"]["grants"]) == ["aws"]  # the expired one left out
    assert list(docs[f"{GCP}.tfvars.json"]["grants"]) == ["gcp"]
    assert list(docs[f"{AZURE}.tfvars.json"]["grants"]) == ["az"]
    code, whole, _ = run(access_repo, "render")
    union = {k: v for d in docs.values() for k, v in d["grants"].items()}
    assert union == json.loads(whole)["grants"]


def test_a_stack_without_grants_still_gets_its_input(access_repo: Repo, tmp_path: Path) -> None:
    """So that applying it destroys what its last grant had."""
    access_repo.commit({"grants/aws.hcl": grant_text()}, "one grant")
    code, _, err = run(access_repo, "render", "--stacks-dir", str(tmp_path / "s"))
    assert code == 0, err
    assert json.loads((tmp_path / "s" / f"{GCP}.tfvars.json").read_text())["grants"] == {}


def test_changed_since_names_only_the_touched_stacks(access_repo: Repo, tmp_path: Path) -> None:
    access_repo.commit(_grants(), "grants")
    before = access_repo.rev("HEAD")

    def changed(name: str) -> list[str]:
        code, out, err = run(
            access_repo, "render", "--stacks-dir", str(tmp_path / name), "--changed-since", before
        )
        assert code == 0, err
        got = json.loads((tmp_path / name / "changed.json").read_text())
        assert json.loads(out) == got
        return got

    assert changed("none") == []
    # the expiry run deletes an expired grant (already out of the render): its stack changes
    access_repo.commit({"grants/aws-gone.hcl": None}, "expire")
    assert changed("expiry") == [AWS]
    # an extension in GCP touches GCP only
    access_repo.commit(
        {
            "grants/gcp.hcl": grant_text(
                principal="bob@example.com",
                entitlement="gcp-prod-logs-viewer",
                expires_at="2026-11-24T18:00:00Z",
            )
        },
        "extend",
    )
    assert changed("extension") == [AWS, GCP]  # since `before`: the expiry and the extension


def test_changed_since_needs_stacks_dir(access_repo: Repo) -> None:
    code, _, err = run(access_repo, "render", "--changed-since", "HEAD")
    assert code == 2 and "--stacks-dir" in err
