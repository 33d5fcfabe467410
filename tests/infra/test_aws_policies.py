"""The AWS policies as AWS reads them: modules/aws-iam-role/window planned for real principals and
windows, then (a) every value checked against IAM's documented limits, (b) the policies linted
by parliament (a maintained IAM policy linter, PyPI), (c) the time and revocation conditions
evaluated at the instants around starts_at and expires_at (tests/infra/iam_eval.py)."""

from __future__ import annotations

import json
import os
import unicodedata
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from .conftest import ROOT, find_tool, run, tool_env
from .iam_eval import decide

BASE = {
    "account_id": "123456789012",
    "policy_arns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
    "saml_provider_arn": "arn:aws:iam::123456789012:saml-provider/acme-idp",
    "starts_at": None,
    "expires_at": "2026-11-25T00:00:00Z",
    "partition": "aws",
}
CASES = {
    "plain": {"principal": "alice@example.com"},
    "apostrophe": {"principal": "o'brien@example.com"},
    "polish": {"principal": "łukasz@example.pl"},
    "accented": {"principal": "zoë.müller@example.de"},
    "cjk": {"principal": "山田太郎@example.jp"},
    "long": {"principal": "ł" * 120 + "@example.pl"},
    "dollar": {"principal": "a${aws:username}@example.com"},
    "bounded": {
        "principal": "carol@example.com",
        "starts_at": "2026-11-24T18:00:00Z",
        "expires_at": "2026-11-24T19:00:00Z",
    },
    "govcloud": {
        "principal": "dave@example.com",
        "partition": "aws-us-gov",
        "saml_provider_arn": "arn:aws-us-gov:iam::123456789012:saml-provider/acme-idp",
    },
}

HARNESS = """
variable "cases" { type = any }
module "w" {
  source            = "%s"
  for_each          = var.cases
  grant_id          = "g-${each.key}"
  principal         = each.value.principal
  account_id        = each.value.account_id
  policy_arns       = each.value.policy_arns
  saml_provider_arn = each.value.saml_provider_arn
  starts_at         = each.value.starts_at
  expires_at        = each.value.expires_at
  partition         = each.value.partition
}
output "w" {
  value = { for k, m in module.w : k => {
    trust = m.trust_policy_json, window = m.window_policy_json, tags = m.tags,
    description = m.description, role_name = m.role_name, role_arn = m.role_arn,
    max_session_duration = m.max_session_duration
  } }
}
"""


@pytest.fixture(scope="module")
def planned(terraform: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    work = tmp_path_factory.mktemp("awswindow")
    source = Path(os.path.relpath(ROOT / "modules" / "aws-iam-role" / "window", work)).as_posix()
    (work / "main.tf").write_text(HARNESS % source)
    cases = {k: {**BASE, **v} for k, v in CASES.items()}
    (work / "cases.tfvars.json").write_text(json.dumps({"cases": cases}))
    env = {**tool_env(), "TF_DATA_DIR": str(work / ".tfdata")}
    init = run([terraform, "init", "-input=false", "-no-color"], cwd=work, env=env)
    assert init.returncode == 0, init.stdout + init.stderr
    plan = run(
        [terraform, "plan", "-input=false", "-no-color", "-var-file=cases.tfvars.json", "-out=p"],
        cwd=work,
        env=env,
    )
    assert plan.returncode == 0, plan.stdout + plan.stderr
    shown = run([terraform, "show", "-json", "p"], cwd=work, env=env)
    out = json.loads(shown.stdout)["planned_values"]["outputs"]["w"]["value"]
    return {k: {**v, "case": cases[k]} for k, v in out.items()}


# --- IAM's documented limits (IAM API Reference: Tag, CreateRole) -------------------------------


def _tag_char_ok(c: str) -> bool:
    # Tag keys and values: [\p{L}\p{Z}\p{N}_.:/=+\-@]*
    return unicodedata.category(c)[0] in "LZN" or c in "_.:/=+-@"


def _description_char_ok(c: str) -> bool:
    # CreateRole Description: [\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]*, at most 1000
    o = ord(c)
    return o in (9, 10, 13) or 0x20 <= o <= 0x7E or 0xA1 <= o <= 0xFF


def test_defect6_iam_accepts_every_tag_and_description(planned: dict) -> None:
    for name, got in planned.items():
        for key, value in got["tags"].items():
            assert 1 <= len(key) <= 128 and all(map(_tag_char_ok, key)), (name, key)
            assert len(value) <= 256 and all(map(_tag_char_ok, value)), (name, key, value)
        assert len(got["description"]) <= 1000
        assert all(map(_description_char_ok, got["description"])), (name, got["description"])
        assert len(got["role_name"]) <= 64


def test_defect6_the_principal_is_carried_exactly_where_it_matters(planned: dict) -> None:
    """saml:sub is compared with the IdP's NameID: it must be the principal itself ('$' escaped
    as IAM's ${$}); the tag is the principal, or b64:<base64> that decodes back to it."""
    import base64

    for name, got in planned.items():
        principal = got["case"]["principal"]
        trust = json.loads(got["trust"])
        sub = trust["Statement"][0]["Condition"]["StringEquals"]["saml:sub"]
        assert sub.replace("${$}", "$") == principal, name
        label = got["tags"]["jitctl:principal"]
        if label.startswith("b64:"):
            assert base64.b64decode(label[4:]).decode() == principal, name
        elif label.startswith("sha256:"):
            import hashlib

            assert label[7:] == hashlib.sha256(principal.encode()).hexdigest(), name
        else:
            assert label == principal, name
    assert planned["plain"]["tags"]["jitctl:principal"] == "alice@example.com"
    assert planned["apostrophe"]["tags"]["jitctl:principal"].startswith("b64:")


def test_policy_sizes_fit_iams_quotas(planned: dict) -> None:
    # Role trust policy: 2,048 characters by default; inline role policies: 10,240 in total.
    # IAM does not count whitespace.
    for name, got in planned.items():
        assert len("".join(got["trust"].split())) <= 2048, name
        assert len("".join(got["window"].split())) <= 10240, name


def test_defect5_max_session_duration_is_awss_minimum(planned: dict) -> None:
    assert {g["max_session_duration"] for g in planned.values()} == {3600}


def test_defect4_govcloud_arns_use_their_partition(planned: dict) -> None:
    gov = planned["govcloud"]
    assert gov["role_arn"].startswith("arn:aws-us-gov:iam::123456789012:role/")
    selfmod = [
        s
        for s in json.loads(gov["window"])["Statement"]
        if s["Sid"] == "JitctlDenySelfModification"
    ]
    assert selfmod[0]["Resource"] == gov["role_arn"]
    for name, got in planned.items():
        if name != "govcloud":
            assert got["role_arn"].startswith("arn:aws:iam::")


# --- parliament ---------------------------------------------------------------------------------


def _parliament(policies: dict[str, dict], work: Path) -> dict[str, list[dict]]:
    """Lint every policy in one parliament run (it loads AWS's service reference once)."""
    tool = find_tool("parliament")
    work.mkdir(parents=True, exist_ok=True)
    for name, policy in policies.items():
        (work / f"{name}.json").write_text(json.dumps(policy, indent=1))
    result = run([tool, "--json", "--directory", str(work)], timeout=300)
    assert result.returncode in (0, 1), result.stderr
    found: dict[str, list[dict]] = {name: [] for name in policies}
    for line in result.stdout.splitlines():
        if line.strip():
            finding = json.loads(line)
            found[Path(finding["location"]["filepath"]).stem].append(finding)
    return found


def _trust_as_identity(trust: str, action: object = None) -> dict:
    (st,) = json.loads(trust)["Statement"]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": action or st["Action"],
                "Resource": "*",
                "Condition": st["Condition"],
            }
        ],
    }


IC_HARNESS = """
module "ic" {
  source       = "%s"
  grant_id     = "alice-sso-1"
  principal    = "o'brien@example.com"
  account_id   = "123456789012"
  instance_arn = "arn:aws:sso:::instance/ssoins-1234567890abcdef"
  policy_arns  = ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
  starts_at    = "2026-11-24T18:00:00Z"
  expires_at   = "2026-11-24T20:00:00Z"
}
output "ic" {
  value = { policy = module.ic.inline_policy_json, name = module.ic.name,
            description = module.ic.description, tags = module.ic.tags }
}
"""


@pytest.fixture(scope="module")
def identity_center(terraform: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    work = tmp_path_factory.mktemp("awsic")
    source = Path(
        os.path.relpath(ROOT / "modules" / "aws-identity-center" / "window", work)
    ).as_posix()
    (work / "main.tf").write_text(IC_HARNESS % source)
    env = {**tool_env(), "TF_DATA_DIR": str(work / ".tfdata")}
    assert run([terraform, "init", "-input=false", "-no-color"], cwd=work, env=env).returncode == 0
    plan = run([terraform, "plan", "-input=false", "-no-color", "-out=p"], cwd=work, env=env)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    shown = run([terraform, "show", "-json", "p"], cwd=work, env=env)
    return json.loads(shown.stdout)["planned_values"]["outputs"]["ic"]["value"]


def test_identity_center_permission_set_fits_its_limits(identity_center: dict) -> None:
    # CreatePermissionSet: Name [\w+=,.@-]{1,32}; Description <= 700, printable Latin-1
    import re

    assert re.fullmatch(r"[\w+=,.@-]{1,32}", identity_center["name"], re.A)
    assert len(identity_center["description"]) <= 700
    assert all(map(_description_char_ok, identity_center["description"]))
    for key, value in identity_center["tags"].items():
        assert all(map(_tag_char_ok, key)) and all(map(_tag_char_ok, value))


def test_identity_center_window_at_the_instants_that_matter(identity_center: dict) -> None:
    policy = json.loads(identity_center["policy"])
    start, end = "2026-11-24T18:00:00Z", "2026-11-24T20:00:00Z"
    assert _request(policy, "s3:GetObject", _at(start, -1), _at(start, -1)) == "deny"
    assert _request(policy, "s3:GetObject", _at(start, 60), _at(start, 1)) != "deny"
    assert _request(policy, "s3:GetObject", _at(end, -1), _at(end, -60)) != "deny"
    assert _request(policy, "s3:GetObject", end, _at(end, -60)) == "deny"
    assert _request(policy, "sts:AssumeRole", _at(end, -3600), _at(start, 1)) == "deny"
    assert _request(policy, "sts:AssumeRole", _at(end, -3601), _at(start, 1)) != "deny"


@pytest.fixture(scope="module")
def linted(
    planned: dict, identity_center: dict, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, list[dict]]:
    policies: dict[str, dict] = {
        "misspelt": {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Deny", "Action": "iam:PutRolePolicyy", "Resource": "*"}],
        }
    }
    policies["identity-center"] = json.loads(identity_center["policy"])
    for name, got in planned.items():
        policies[f"window-{name}"] = json.loads(got["window"])
        policies[f"trust-{name}"] = _trust_as_identity(got["trust"])
        policies[f"trustsaml-{name}"] = _trust_as_identity(got["trust"], "sts:AssumeRoleWithSAML")
    return _parliament(policies, tmp_path_factory.mktemp("parliament"))


def test_parliament_finds_nothing_in_the_window_policies(linted: dict, planned: dict) -> None:
    for name in planned:
        assert linted[f"window-{name}"] == [], name
    assert linted["identity-center"] == []


def test_parliament_runner_reports_a_misspelt_action(linted: dict) -> None:
    assert [f["issue"] for f in linted["misspelt"]] == ["UNKNOWN_ACTION"]


def test_parliament_trust_policy_actions_and_condition_keys(linted: dict, planned: dict) -> None:
    """parliament lints identity policies; the trust statement is linted as one (Resource "*",
    no Principal). The SAML keys are documented for sts:AssumeRoleWithSAML; for sts:TagSession
    and sts:SetSourceIdentity the same request's SAML context applies (AWS's own example trust
    policy for SAML session tags puts SAML:aud on a statement with both actions), which
    parliament, reading the service reference per action, reports; those findings are expected,
    and anything else (a misspelt key or action) fails."""
    expected = {
        ("UNKNOWN_CONDITION_FOR_ACTION", f"Unknown condition {key} for action {action}")
        for key in ("saml:sub", "SAML:aud")
        for action in ("sts:TagSession", "sts:SetSourceIdentity")
    } | {("RESOURCE_STAR", None)}
    for name in planned:
        found = {
            (f["issue"], f["detail"] if isinstance(f["detail"], str) else None)
            for f in linted[f"trust-{name}"]
        }
        assert found <= expected, (name, found - expected)
        # the documented action: every key is known for sts:AssumeRoleWithSAML
        assert {f["issue"] for f in linted[f"trustsaml-{name}"]} <= {"RESOURCE_STAR"}, name


# --- the conditions at the instants that matter ---------------------------------------------------


def _at(stamp: str, seconds: int = 0) -> str:
    t = datetime.fromisoformat(stamp.replace("Z", "+00:00")) + timedelta(seconds=seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _request(window: dict, action: str, now: str, issued: str) -> str:
    return decide(window, action, {"aws:CurrentTime": now, "aws:TokenIssueTime": issued})


@pytest.mark.parametrize("case", ["plain", "bounded"])
def test_defect5_a_session_issued_a_minute_before_expiry_dies_at_expiry(
    planned: dict, case: str
) -> None:
    got = planned[case]
    window = json.loads(got["window"])
    end = got["case"]["expires_at"]
    issued = _at(end, -60)
    assert _request(window, "s3:GetObject", _at(end, -1), issued) != "deny"
    assert _request(window, "s3:GetObject", end, issued) == "deny"
    assert _request(window, "s3:GetObject", _at(end, 3540), issued) == "deny"  # session's own end


def test_defect5_sessions_outside_the_window_are_denied_by_issue_time(planned: dict) -> None:
    got = planned["bounded"]
    window = json.loads(got["window"])
    start, end = got["case"]["starts_at"], got["case"]["expires_at"]
    inside = _at(start, 600)
    # a token issued before starts_at is worthless even inside the window
    assert _request(window, "ec2:DescribeInstances", inside, _at(start, -1)) == "deny"
    assert _request(window, "ec2:DescribeInstances", inside, start) != "deny"
    # before starts_at, every request is denied
    assert _request(window, "ec2:DescribeInstances", _at(start, -1), _at(start, -1)) == "deny"
    assert _request(window, "ec2:DescribeInstances", _at(end, -1), _at(end, -1)) != "deny"


def test_defect5_role_chaining_stops_an_hour_before_expiry(planned: dict) -> None:
    got = planned["plain"]
    window = json.loads(got["window"])
    end = got["case"]["expires_at"]
    issued = _at(end, -7200)
    assert _request(window, "sts:AssumeRole", _at(end, -3601), issued) != "deny"
    # from here a chained session (at most 1 h) could outlive the window: denied
    assert _request(window, "sts:AssumeRole", _at(end, -3600), issued) == "deny"
    assert _request(window, "sts:AssumeRole", _at(end, -60), issued) == "deny"
    # other actions are still allowed then
    assert _request(window, "s3:ListBucket", _at(end, -60), issued) != "deny"


def test_self_modification_is_always_denied(planned: dict) -> None:
    got = planned["plain"]
    window = json.loads(got["window"])
    now = _at(got["case"]["expires_at"], -3700)
    for action in ("iam:DeleteRolePolicy", "iam:UpdateAssumeRolePolicy", "iam:PutRolePolicy"):
        assert _request(window, action, now, now) == "deny"


@pytest.mark.parametrize(
    ("aud", "allowed"),
    [
        ("https://signin.aws.amazon.com/saml", True),
        ("https://eu-west-1.signin.aws.amazon.com/saml", True),
        ("https://us-east-2.signin.aws.amazon.com/saml", True),
        ("https://signin.aws.amazon.com.evil.example/saml", False),
        ("https://evil.example/saml", False),
    ],
)
def test_defect6_trust_accepts_regional_signin_endpoints(
    planned: dict, aud: str, allowed: bool
) -> None:
    trust = json.loads(planned["plain"]["trust"])
    ctx = {
        "saml:sub": "alice@example.com",
        "SAML:aud": aud,
        "aws:CurrentTime": "2026-11-24T12:00:00Z",
    }
    got = decide(trust, "sts:AssumeRoleWithSAML", ctx)
    assert got == ("allow" if allowed else "implicit-deny")
    assert decide(trust, "sts:TagSession", ctx) == got
    assert decide(trust, "sts:SetSourceIdentity", ctx) == got


def test_defect6_govcloud_trust_accepts_the_govcloud_endpoint(planned: dict) -> None:
    trust = json.loads(planned["govcloud"]["trust"])
    ctx = {
        "saml:sub": "dave@example.com",
        "SAML:aud": "https://signin.amazonaws-us-gov.com/saml",
        "aws:CurrentTime": "2026-11-24T12:00:00Z",
    }
    assert decide(trust, "sts:AssumeRoleWithSAML", ctx) == "allow"


def test_trust_starts_sessions_only_inside_the_window(planned: dict) -> None:
    got = planned["bounded"]
    trust = json.loads(got["trust"])
    start, end = got["case"]["starts_at"], got["case"]["expires_at"]

    def assume(now: str, sub: str = "carol@example.com") -> str:
        ctx = {
            "saml:sub": sub,
            "SAML:aud": "https://signin.aws.amazon.com/saml",
            "aws:CurrentTime": now,
        }
        return decide(trust, "sts:AssumeRoleWithSAML", ctx)

    assert assume(_at(start, -1)) == "implicit-deny"
    assert assume(start) == "allow"
    assert assume(_at(end, -1)) == "allow"
    assert assume(end) == "implicit-deny"
    assert assume(start, "mallory@example.com") == "implicit-deny"
    assert assume(start, "CAROL@example.com") == "implicit-deny"  # StringEquals is exact
