"""``jitctl fmt``: canonical layout for accepted files, nothing else touched."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from controller.cli import main
from controller.formats.grantfile import format_grant_file, parse_grant_file

ROOT = Path(__file__).resolve().parents[2]

MESSY = (
    "/* a grant */ # c\n"
    "grant /* x */ { # open\r\n"
    '  reason = "INC-1 caf\\u00e9" // why\n'
    "\n"
    "  # who\n"
    '  principal="alice@example.com"\n'
    '  expires_at = /* c */ "2026-11-25T18:00:00Z"\n'
    '\tentitlement   =   "aws-prod-readonly"\n'
    "  # end of body\n"
    "} # close\n"
    "# tail"
)
CANONICAL = (
    "/* a grant */ # c\n"
    "grant { /* x */ # open\n"
    "  # who\n"
    '  principal   = "alice@example.com"\n'
    '  entitlement = "aws-prod-readonly"\n'
    '  expires_at  = "2026-11-25T18:00:00Z" /* c */\n'
    '  reason      = "INC-1 café" // why\n'
    "  # end of body\n"
    "} # close\n"
    "# tail\n"
)
REFUSED = 'grant {\n  principal = "a" entitlement = "b"\n}\n'


def jitctl(repo: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--repo", str(repo), "fmt", *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "grants").mkdir()
    (tmp_path / "grants" / "messy.hcl").write_bytes(MESSY.encode())
    (tmp_path / "grants" / "bad.hcl").write_bytes(REFUSED.encode())
    (tmp_path / "grants" / "ok.hcl").write_bytes(CANONICAL.encode())
    return tmp_path


def test_fmt_rewrites_the_layout_and_keeps_values_and_comments(repo: Path) -> None:
    code, out, err = jitctl(repo)
    assert code == 1  # bad.hcl is refused
    assert "grants/messy.hcl: reformatted" in out and "grants/ok.hcl: canonical" in out
    assert "grants/bad.hcl:2: error [grant.syntax] line 2, column 19" in err
    assert (repo / "grants" / "messy.hcl").read_text() == CANONICAL
    assert (repo / "grants" / "bad.hcl").read_text() == REFUSED  # never touched
    before = parse_grant_file("grants/messy.hcl", MESSY.encode()).grant
    after = parse_grant_file("grants/messy.hcl", CANONICAL.encode()).grant
    assert before is not None and before == after
    files = [str(repo / "grants" / name) for name in ("messy.hcl", "ok.hcl")]
    assert jitctl(repo, *files) == (
        0,
        "grants/messy.hcl: canonical\ngrants/ok.hcl: canonical\n",
        "",
    )


def test_fmt_check_changes_nothing(repo: Path) -> None:
    code, out, _ = jitctl(repo, "--check", str(repo / "grants" / "messy.hcl"))
    assert (code, out) == (1, "grants/messy.hcl: would reformat\n")
    assert (repo / "grants" / "messy.hcl").read_bytes() == MESSY.encode()
    assert jitctl(repo, "--check", str(repo / "grants" / "ok.hcl"))[0] == 0


def test_fmt_never_follows_a_symlink(repo: Path) -> None:
    target = repo / "outside.hcl"
    target.write_bytes(MESSY.encode())
    os.symlink(target, repo / "grants" / "link.hcl")
    code, _, err = jitctl(repo, str(repo / "grants" / "link.hcl"))
    assert code == 1 and "[grant.symlink]" in err
    assert target.read_bytes() == MESSY.encode()


def test_fmt_refuses_a_trojan_source_file_and_leaves_it(repo: Path) -> None:
    path = repo / "grants" / "trojan.hcl"
    text = CANONICAL.replace("# who", '# \u202e"2099-01-01T00:00:00Z"')
    path.write_text(text)
    code, _, err = jitctl(repo, str(path))
    assert code == 1 and "[grant.text.invisible]" in err
    assert path.read_text() == text


def test_fmt_of_a_missing_file_is_an_io_error(repo: Path) -> None:
    code, _, err = jitctl(repo, str(repo / "grants" / "nope.hcl"))
    assert code == 2 and "nope.hcl: cannot read" in err


def test_fmt_of_a_file_outside_the_repository_is_a_usage_error(
    repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outside = tmp_path_factory.mktemp("elsewhere") / "a.hcl"
    outside.write_bytes(MESSY.encode())
    code, _, err = jitctl(repo, str(outside))
    assert code == 2 and "not inside the repository" in err
    assert outside.read_bytes() == MESSY.encode()


def legitimate_texts() -> list[tuple[str, str]]:
    """Every grant file this repository ships or documents: grants/, README, docs."""
    out = [(str(p.relative_to(ROOT)), p.read_text()) for p in sorted(ROOT.glob("grants/*.hcl"))]
    for doc in (ROOT / "README.md", ROOT / "docs" / "grant-file.md"):
        for i, block in enumerate(re.findall(r"```hcl\n(.*?)```", doc.read_text(), re.S)):
            out.append((f"{doc.name}#{i}", block))
    return out


@pytest.mark.parametrize(("where", "text"), legitimate_texts(), ids=lambda v: str(v)[:40])
def test_legitimate_files_pass_and_fmt_keeps_their_meaning(where: str, text: str) -> None:
    path = "grants/alice-aws-prod-readonly-20261124t1200.hcl"
    result = parse_grant_file(path, text.encode())
    assert result.findings == (), where
    formatted = format_grant_file(path, text.encode())
    assert formatted.text is not None
    assert parse_grant_file(path, formatted.text.encode()).grant == result.grant


def test_fmt_formats_an_open_request_and_still_refuses_a_broken_one(repo: Path) -> None:
    """What `jitctl request` writes (a duration, no expires_at yet) passes the jitctl-fmt
    pre-commit hook; a file with any other error is still refused and left alone."""
    path = repo / "grants" / "open.hcl"
    path.write_text(
        'grant {\n  reason="r"\n  duration = "4h"\n  entitlement="aws-prod-readonly"\n'
        '  principal = "alice@example.com"\n}\n'
    )
    code, out, _ = jitctl(repo, str(path))
    assert (code, out) == (0, "grants/open.hcl: reformatted\n")
    assert path.read_text() == (
        "grant {\n"
        '  principal   = "alice@example.com"\n'
        '  entitlement = "aws-prod-readonly"\n'
        '  duration    = "4h"\n'
        '  reason      = "r"\n'
        "}\n"
    )
    broken = repo / "grants" / "open-broken.hcl"
    text = 'grant {\n  principal = ""\n  entitlement = "x"\n  duration = "4h"\n  reason = "r"\n}\n'
    broken.write_text(text)
    code, _, err = jitctl(repo, str(broken))
    assert code == 1 and "grant.value.empty" in err
    assert broken.read_text() == text
