"""``jitctl doctor`` against the emulator: a well-configured repository has no findings; an
unprotected one has each finding, with stable rule ids."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from controller.github.doctor import RULES, owners_of, parse_codeowners
from tests.ghworld import World, world

__all__ = ["world"]

ROOT = Path(__file__).resolve().parents[2]
CODEOWNERS = """\
# platform team owns everything that is not a grant
*                 @acme/platform
/grants/
/catalog.yaml     @acme/platform
/modules/         @acme/platform
/.github/         @acme/platform
/controller/      @acme/platform
"""


def protect(w: World, **overrides: Any) -> None:
    prot = f"{w.gh.base_url}/repos/acme/access/branches/main/protection"
    body: dict[str, Any] = {
        "url": prot,
        "required_status_checks": {
            "strict": False,
            "contexts": ["jitctl"],
            "checks": [{"context": "jitctl", "app_id": w.gh.app_id}],
        },
        "required_pull_request_reviews": {
            "require_code_owner_reviews": True,
            "required_approving_review_count": 0,
        },
        "enforce_admins": {"url": f"{prot}/enforce_admins", "enabled": True},
        "allow_force_pushes": {"enabled": False},
        "allow_deletions": {"enabled": False},
    }
    body.update(overrides)
    w.gh.emu.protect_branch("main", body)


def protect_expire_branch(w: World) -> None:
    """docs/ruleset-expire.json, with the App's id; and no rebase merging (docs/github-setup.md)."""
    w.gh.emu.state.allow_rebase_merge = False
    ruleset = json.loads((ROOT / "docs" / "ruleset-expire.json").read_text()) | {"id": 9}
    ruleset["bypass_actors"][0]["actor_id"] = w.gh.app_id
    w.gh.emu.add_ruleset(ruleset)


def doctor(w: World) -> tuple[int, list[str]]:
    r = w.jitctl("doctor", "--format", "json", login="erin")
    assert r.exit_code in (0, 1), r.output
    return r.exit_code, sorted(f["rule"] for f in json.loads(r.stdout)["findings"])


def test_well_configured_branch_protection(world: World) -> None:
    world.gh.emu.commit_files("main", {".github/CODEOWNERS": CODEOWNERS}, "owners")
    protect(world)
    protect_expire_branch(world)
    assert doctor(world) == (0, [])


def test_well_configured_ruleset(world: World) -> None:
    world.gh.emu.commit_files("main", {"CODEOWNERS": CODEOWNERS}, "owners")
    world.gh.emu.add_ruleset(
        {
            "id": 1,
            "name": "jitctl",
            "bypass_actors": [],
            "rules": [
                {"type": "deletion"},
                {"type": "non_fast_forward"},
                {"type": "pull_request", "parameters": {"require_code_owner_review": True}},
                {
                    "type": "required_status_checks",
                    "parameters": {
                        "required_status_checks": [
                            {"context": "jitctl", "integration_id": world.gh.app_id}
                        ]
                    },
                },
            ],
        }
    )
    protect_expire_branch(world)
    assert doctor(world) == (0, [])


def test_unprotected_repository(world: World) -> None:
    code, rules = doctor(world)
    assert code == 1
    assert rules == [
        "doctor.code-owner-review-not-required",
        "doctor.codeowners-missing",
        "doctor.deletion-allowed",
        "doctor.expire-branch-writable",
        "doctor.force-push-allowed",
        "doctor.rebase-merge-allowed",
        "doctor.status-not-required",
    ]
    r = world.jitctl("doctor", login="erin")
    assert r.exit_code == 1 and "[doctor.status-not-required]" in r.output


def test_weak_settings(world: World) -> None:
    world.gh.emu.commit_files(
        "main", {".github/CODEOWNERS": "/grants/ @acme/sre\n/modules/ @acme/platform\n"}, "owners"
    )
    protect(
        world,
        required_status_checks={"strict": False, "contexts": ["jitctl"], "checks": []},
        enforce_admins={"enabled": False},
        allow_force_pushes={"enabled": True},
    )
    world.gh.emu.add_ruleset(
        {
            "id": 2,
            "name": "loose",
            "bypass_actors": [{"actor_id": 1, "actor_type": "RepositoryRole"}],
            "rules": [],
        }
    )
    code, rules = doctor(world)
    assert code == 1
    assert rules == [
        "doctor.admin-bypass",
        "doctor.bypass-actors",
        "doctor.codeowners-uncovered",
        "doctor.expire-branch-writable",
        "doctor.force-push-allowed",
        "doctor.rebase-merge-allowed",
        "doctor.status-not-from-app",
    ]
    assert set(rules) <= set(RULES)


@pytest.mark.parametrize(
    ("text", "path", "owners"),
    [
        ("* @a\n", "catalog.yaml", ("@a",)),
        ("* @a\n/catalog.yaml\n", "catalog.yaml", ()),
        ("/modules/ @b\n", "modules/x/main.tf", ("@b",)),
        ("modules/ @b\n", "modules/x/main.tf", ("@b",)),
        ("/modules/** @b\n", "modules/x/main.tf", ("@b",)),
        ("/grants/ @s\n", "controller/x.py", ()),
        ("*.yaml @y\n", "catalog.yaml", ("@y",)),
        ("/.github/ @p # comment\n", ".github/workflows/a.yml", ("@p",)),
    ],
)
def test_codeowners_matching(text: str, path: str, owners: tuple[str, ...]) -> None:
    assert owners_of(parse_codeowners(text), path) == owners


def test_shipped_settings_pass_and_each_unsafe_one_is_flagged(world: World) -> None:
    """The shipped CODEOWNERS, ruleset and expiry-branch ruleset: no finding. Then each unsafe
    setting the issue lists, one at a time, is flagged by its rule id."""
    w = world
    app = w.gh.app_id
    ruleset = json.loads((ROOT / "docs" / "ruleset.json").read_text()) | {"id": 1}
    ruleset["rules"][-1]["parameters"]["required_status_checks"][0]["integration_id"] = app
    w.gh.emu.add_ruleset(ruleset)
    protect_expire_branch(w)
    shipped = (ROOT / ".github" / "CODEOWNERS").read_text()
    w.gh.emu.commit_files("main", {".github/CODEOWNERS": shipped}, "owners")
    assert doctor(w) == (0, [])

    # a root file (shlex.py) without owner: CODEOWNERS without its catch-all
    no_catch_all = shipped.replace("*               @acme/platform", "/catalog.yaml @acme/platform")
    w.gh.emu.commit_files("main", {".github/CODEOWNERS": no_catch_all}, "owners")
    code, rules = doctor(w)
    assert (code, rules) == (1, ["doctor.codeowners-uncovered"])
    r = w.jitctl("doctor", login="erin")
    assert "shlex.py" in r.output and "venv/" in r.output
    w.gh.emu.commit_files("main", {".github/CODEOWNERS": shipped}, "owners")

    # code-owner review not required
    rule = ruleset["rules"][2]
    rule["parameters"]["require_code_owner_review"] = False
    assert doctor(w) == (1, ["doctor.code-owner-review-not-required"])
    rule["parameters"]["require_code_owner_review"] = True

    # jit/expire writable by others: no ruleset, or one a person may bypass
    expire = w.gh.emu.state.rulesets.pop()
    assert doctor(w) == (1, ["doctor.expire-branch-writable"])
    expire["bypass_actors"] = [{"actor_id": 5, "actor_type": "RepositoryRole"}]
    w.gh.emu.add_ruleset(expire)
    assert doctor(w) == (1, ["doctor.bypass-actors", "doctor.expire-branch-writable"])
    expire["bypass_actors"] = [{"actor_id": app, "actor_type": "Integration"}]

    # rebase merging: a rebase can land a tree other than the judged merge
    w.gh.emu.state.allow_rebase_merge = True
    assert doctor(w) == (1, ["doctor.rebase-merge-allowed"])
