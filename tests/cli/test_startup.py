"""Start-up: a command imports only what it needs (issue 13), and the lazily loaded commands
still behave as the eager ones did (help, completion, unknown commands, global options).

Each case runs jitctl in a fresh interpreter and looks at ``sys.modules`` as it exits: what a
run imported is what it paid for at start-up. No wall-clock time is asserted (see bench/).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from controller.cli import main
from controller.cli.app import COMMANDS, JitGroup, Lazy
from tests.factories import ROOT, grant_text
from tests.gitutil import Repo

# Run jitctl as the console script does and print, at exit, every module it imported.
PROBE = """
import atexit, json, sys
atexit.register(lambda: print("MODULES " + json.dumps(sorted(sys.modules)), file=sys.stderr))
from controller.cli import main
main(sys.argv[1:], prog_name="jitctl")
"""

# What no read-only local command should pay for unless it uses it
HEAVY = ("git", "gitdb", "sshsig", "cryptography", "github", "apprise", "jinja2", "requests")
COMMAND_MODULES = {c.target.partition(":")[0] for c in COMMANDS.values()}


def jitctl(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str, set[str]]:
    """Exit code, stdout, stderr (without the probe's line) and the modules imported."""
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )
    lines = proc.stderr.splitlines()
    assert lines and lines[-1].startswith("MODULES "), proc.stderr
    modules = set(json.loads(lines[-1].removeprefix("MODULES ")))
    return proc.returncode, proc.stdout, "\n".join(lines[:-1]), modules


def libraries(modules: set[str]) -> set[str]:
    return {m for m in modules if m.split(".")[0] in HEAVY}


def test_help_lists_every_command_and_imports_none_of_them() -> None:
    code, out, _, modules = jitctl("--help")
    assert code == 0
    listed = out.split("Commands:\n", 1)[1].split()
    for name in COMMANDS:
        assert name in listed
    assert not modules & COMMAND_MODULES, sorted(modules & COMMAND_MODULES)
    assert not libraries(modules)
    assert "yaml" not in modules


@pytest.mark.parametrize("columns", ["40", "80", "200"])
def test_help_is_what_the_loaded_commands_would_say(columns: str) -> None:
    """``COMMANDS``' summaries stand in for the commands in ``--help``: the text is the same as
    when every command is loaded (a docstring changed without its summary fails here)."""
    _, lazy, _, _ = jitctl("--help", env={"COLUMNS": columns})
    eager = subprocess.run(
        [
            sys.executable,
            "-c",
            "from controller.cli.app import COMMANDS, main\n"
            "for name in COMMANDS: main.command_named(name)\n"
            "assert set(main.commands) == set(COMMANDS), 'some command was not loaded'\n"
            "main(['--help'], prog_name='jitctl')",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": columns},
        check=True,
    ).stdout
    assert lazy == eager


def test_commands_is_complete_and_true() -> None:
    """Every command a module under controller/cli registers is in ``COMMANDS``, and every entry
    loads a command of that name whose help begins with the summary."""
    for path in sorted((ROOT / "controller" / "cli").glob("*.py")):
        __import__(f"controller.cli.{path.stem}")
    assert sorted(main.commands) == sorted(COMMANDS)
    for name, lazy in COMMANDS.items():
        command = main.command_named(name)
        assert command is not None and command.name == name
        assert command.help is not None
        assert " ".join(command.help.split("\n\n")[0].split()) == lazy.summary, name


def test_list_imports_no_other_command_and_no_heavy_library(access_repo: Repo) -> None:
    access_repo.commit({"grants/alice-ro.hcl": grant_text()})
    for run in ("cold", "warm"):  # the first list writes the parse cache, the second reads it
        code, out, err, modules = jitctl(
            "--repo", str(access_repo.path), "--now", "2026-11-24T12:00:00Z", "list"
        )
        assert code == 0, err
        assert "alice-ro" in out, run
        assert modules & COMMAND_MODULES == {"controller.cli.grants"}, run
        assert not {m for m in modules if m.startswith("controller.audit")}, run
        assert not libraries(modules), (run, sorted(libraries(modules)))
        assert "yaml" not in modules, run  # list reads no catalog


def test_a_command_is_loaded_when_it_runs(access_repo: Repo) -> None:
    access_repo.commit({"grants/alice-ro.hcl": grant_text()})
    code, out, err, modules = jitctl("--repo", str(access_repo.path), "audit")
    assert code == 1 and "audit.no-approval: 1" in err  # committed straight to main
    assert "alice-ro" in out
    assert "controller.cli.audit" in modules and "controller.audit.history" in modules


def test_a_command_help_loads_only_that_command() -> None:
    code, out, _, modules = jitctl("request", "--help")
    assert code == 0 and "Example:" in out and "--reason" in out
    assert modules & COMMAND_MODULES == {"controller.cli.lifecycle"}


def test_unknown_command_still_suggests_from_every_command() -> None:
    code, _, err, modules = jitctl("requst")
    assert code == 2
    assert "No such command 'requst'. Did you mean 'request'?" in err
    assert not modules & COMMAND_MODULES
    code, _, err, _ = jitctl("help")  # there is no help command (as before): -h/--help
    assert code == 2 and "No such command 'help'." in err


def test_global_options_after_a_lazily_loaded_command(access_repo: Repo) -> None:
    """`jitctl list --repo X` hoists --repo although list is not loaded when args are parsed."""
    access_repo.commit({"grants/alice-ro.hcl": grant_text()})
    code, out, err, _ = jitctl("list", "--format", "json", "--repo", str(access_repo.path))
    assert code == 0, err
    assert [g["id"] for g in json.loads(out)["grants"]] == ["alice-ro"]
    code, _, err, _ = jitctl("--repo", "/nonexistent", "list", "--repo", str(access_repo.path))
    assert code == 2 and "--repo is given twice" in err


@pytest.mark.parametrize(
    ("words", "cword", "expected"),
    [("jitctl li", "1", {"lint", "list"}), ("jitctl list --st", "2", {"--state"})],
)
def test_shell_completion(words: str, cword: str, expected: set[str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", "from controller.cli import main; main(prog_name='jitctl')"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "_JITCTL_COMPLETE": "bash_complete",
            "COMP_WORDS": words,
            "COMP_CWORD": cword,
        },
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert {line.split(",", 1)[1] for line in proc.stdout.splitlines()} == expected


def test_a_wrong_commands_entry_is_a_bug_not_a_silent_other_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An entry naming a command of another name must not run that command under this one."""
    group = JitGroup(name="jitctl")
    monkeypatch.setitem(COMMANDS, "frobnicate", Lazy("controller.cli.grants:list_", "Frob."))
    with pytest.raises(RuntimeError, match="frobnicate"):
        group.command_named("frobnicate")
    assert "frobnicate" not in group.commands


def test_a_write_imports_no_gitpython_either(access_repo: Repo) -> None:
    """expire --local checks the work tree is clean and moves the branch: still no GitPython."""
    access_repo.commit({"grants/old.hcl": grant_text(expires_at="2026-11-24T11:00:00Z")})
    code, _, err, modules = jitctl(
        "--repo", str(access_repo.path), "--now", "2026-11-24T12:00:00Z", "expire", "--local"
    )
    assert code == 0, err
    assert "grants/old.hcl" not in access_repo.files()
    assert not libraries(modules), sorted(libraries(modules))
