"""The README stays true: every rule id the code can emit is documented, and the two set-up
commands it shows exist."""

from __future__ import annotations

import re

from controller import audit, doctor, grantfile, policy
from tests.factories import ROOT

README = (ROOT / "README.md").read_text("utf-8")
DOCUMENTED = set(re.findall(r"^\| `([a-z][a-z.-]+)` \|", README, re.M))


def test_every_rule_id_is_documented() -> None:
    emitted = set(grantfile.RULES) | set(policy.RULES) | set(audit.RULES) | set(doctor.RULES)
    emitted |= {"catalog.invalid", "catalog.syntax"}
    assert emitted - DOCUMENTED == set()


def test_no_documented_rule_is_stale() -> None:
    emitted = set(grantfile.RULES) | set(policy.RULES) | set(audit.RULES) | set(doctor.RULES)
    emitted |= {"catalog.invalid", "catalog.syntax"}
    assert DOCUMENTED - emitted == set()


def test_quick_start_commands_exist() -> None:
    block = README.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["scripts/demo", "scripts/test"]
    for cmd in commands:
        assert (ROOT / cmd).stat().st_mode & 0o111
    assert "jitctl demo" in (ROOT / "scripts/demo").read_text()


def test_root_catalog_is_the_shipped_example() -> None:
    assert (ROOT / "catalog.yaml").read_bytes() == (
        ROOT / "controller/examples/catalog.yaml"
    ).read_bytes()
