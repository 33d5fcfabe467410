"""The README stays true: every rule id the code can emit is documented, and the two set-up
commands it shows exist."""

from __future__ import annotations

import re

from controller.audit import lifecycles as audit
from controller.core import lint, policy
from controller.formats import grantfile
from controller.github import doctor
from tests.factories import ROOT

README = (ROOT / "README.md").read_text("utf-8")
DOCUMENTED = set(re.findall(r"^\| `([a-z][a-z.-]+)` \|", README, re.M))


def test_every_rule_id_is_documented() -> None:
    emitted = set(grantfile.RULES) | set(policy.RULES) | set(audit.RULES) | set(doctor.RULES)
    emitted |= set(lint.RULES)
    emitted |= {"catalog.invalid", "catalog.syntax"}
    assert emitted - DOCUMENTED == set()


def test_no_documented_rule_is_stale() -> None:
    emitted = set(grantfile.RULES) | set(policy.RULES) | set(audit.RULES) | set(doctor.RULES)
    emitted |= set(lint.RULES)
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


def test_readme_map_names_every_package() -> None:
    """README's "How it is built" table lists exactly the packages under controller/, and the
    import rules it states are the ones tests/test_layout.py enforces."""
    from tests.test_layout import ALLOWED

    text = (ROOT / "README.md").read_text()
    section = text.split("## How it is built", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `controller/(\w+)/` \|.*\| (.*) \|$", section, re.M)
    on_disk = sorted(p.parent.name for p in (ROOT / "controller").glob("*/__init__.py"))
    assert sorted(name for name, _ in rows) == on_disk
    for name, may in rows:
        stated = set(re.findall(r"`(\w+)`", may)) if may != "everything" else set(ALLOWED)
        assert stated | {name} == ALLOWED[name], name


def test_ships_the_license_it_declares() -> None:
    import tomllib

    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert meta["license"] == "Apache-2.0" and meta["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text


def test_changelog_top_entry_is_this_version() -> None:
    from controller import __version__

    text = (ROOT / "CHANGELOG.md").read_text()
    [top] = re.findall(r"^## (\S+)", text, re.M)[:1]
    assert top == __version__
    assert "### Upgrading from" in text.split("\n## ", 2)[1]
