"""In-process SSH signature verification, held against git's own (``%G?`` with ssh-keygen) on
real signed commits: trusted, unknown key, out of its validity window, tampered, unsigned."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from controller.audit.signatures import (
    parse_allowed_signers,
    split_signed_commit,
    verify_ssh,
)
from tests.gitutil import Repo
from tests.signing import make_signer


def test_same_verdict_as_git(tmp_path: Path) -> None:
    good = make_signer(tmp_path / "k1", "jitctl@example.com")
    other = make_signer(tmp_path / "k2", "mallory@example.com", name="other")
    old = make_signer(tmp_path / "k3", "retired@example.com", name="old")
    allowed = good.allowed() + old.allowed().replace(
        'namespaces="git"', 'namespaces="git",valid-before="20260101"'
    )
    signers = tmp_path / "allowed_signers"
    signers.write_text(allowed)
    (tmp_path / "r").mkdir()
    repo = Repo(tmp_path / "r")
    shas = {
        "trusted": repo.commit({"a": "1"}, "trusted", **good.env()),
        "unknown-key": repo.commit({"a": "2"}, "other", **other.env()),
        "retired-key": repo.commit({"a": "3"}, "old", **old.env()),
        "unsigned": repo.commit({"a": "4"}, "plain"),
    }
    # tampered: the trusted commit's object with another message, same signature
    raw = repo.git("cat-file", "commit", shas["trusted"]).replace("trusted", "tampered")
    shas["tampered"] = (
        repo._run(["git", "hash-object", "-t", "commit", "-w", "--stdin"], repo.path).strip()
        if False
        else _hash(repo, raw)
    )
    keys, problems = parse_allowed_signers(allowed)
    assert problems == [] and len(keys) == 2
    when = datetime(2026, 11, 24, 10, tzinfo=UTC)  # tests.gitutil pins commit dates here
    for name, sha in shas.items():
        git_says = repo.git(
            "log", "-1", "--format=%G?", sha,
            GIT_CONFIG_COUNT="1", GIT_CONFIG_KEY_0="gpg.ssh.allowedSignersFile",
            GIT_CONFIG_VALUE_0=str(signers),
        ).strip()  # fmt: skip
        payload, sig = split_signed_commit(
            repo.git("cat-file", "commit", sha).encode() if name != "tampered" else raw.encode()
        )
        ours = "N" if sig is None else verify_ssh(payload, sig, keys, when).status
        assert (ours == "G") == (git_says == "G"), (name, ours, git_says)
        assert ours == {"trusted": "G", "unsigned": "N", "tampered": "B"}.get(name, "U"), name


def _hash(repo: Repo, raw: str) -> str:
    import subprocess

    from tests.gitutil import git_env

    return subprocess.run(
        ["git", "hash-object", "-t", "commit", "-w", "--stdin"],
        cwd=repo.path, input=raw, text=True, capture_output=True, check=True, env=git_env(),
    ).stdout.strip()  # fmt: skip


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("", None),
        ("# comment", None),
        ("x cert-authority ssh-ed25519 AAAA", "cert-authority lines are not supported"),
        ("x ssh-ed25519", "Not space-separated"),
        (
            'x valid-after="2026" ssh-ed25519 '
            "AAAAC3NzaC1lZDI1NTE5AAAAICuUjCrbmvaPuN3MEPH7/YMyqMP9EYKzea0AGQYSu51c",
            "bad time",
        ),
    ],
)
def test_allowed_signers_lines_that_trust_no_one(line: str, problem: str | None) -> None:
    keys, problems = parse_allowed_signers(line)
    assert keys == []
    if problem is None:
        assert problems == []
    else:
        assert len(problems) == 1 and problem in problems[0]
