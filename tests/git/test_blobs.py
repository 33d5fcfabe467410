"""``GitRepo.stream_blobs``: one ``git cat-file --batch`` process, fed by a thread, read as it
writes; on real repositories, with more input and output than a pipe holds."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from controller.core.errors import JitError
from controller.git.repo import GitRepo
from tests.gitutil import Repo, git_env


def _cat_file_children() -> list[int]:
    """The ``git cat-file`` processes whose parent is this test process."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == os.getpid() and b"cat-file" in cmd:
            found.append(int(pid))
    return found


@pytest.fixture
def many(tmp_path: Path) -> tuple[Repo, list[tuple[str, bytes]]]:
    """3,000 blobs of up to 2 KB (6 MB out, 120 KB of ids in: both beyond a pipe's 64 KB)."""
    repo = Repo(tmp_path)
    blobs = []
    for i in range(3000):
        data = (b"blob %d\n" % i) * (i % 250) + b"\x00\xff %d" % i  # binary, any length
        blobs.append(data)
    # one process for all: `hash-object --stdin-paths` over files
    files = tmp_path / "blobs"
    files.mkdir()
    for i, data in enumerate(blobs):
        (files / str(i)).write_bytes(data)
    out = subprocess.run(
        ["git", "hash-object", "-w", "--stdin-paths"],
        cwd=repo.path, env=git_env(), check=True, capture_output=True,
        input="".join(f"{files / str(i)}\n" for i in range(len(blobs))).encode(),
    )  # fmt: skip
    shas = out.stdout.decode().split()
    return repo, list(zip(shas, blobs, strict=True))


def test_every_blob_in_the_order_asked_each_once(
    many: tuple[Repo, list[tuple[str, bytes]]],
) -> None:
    repo, blobs = many
    asked = [sha for sha, _ in reversed(blobs)] + [blobs[0][0], blobs[5][0]]  # two asked twice
    with GitRepo(repo.path) as g:
        got = list(g.stream_blobs(asked))
        assert got == list(reversed(blobs))  # each id once, in the order first asked
        assert g.blobs(asked) == dict(blobs)
    assert _cat_file_children() == []


def test_stopping_early_stops_git(many: tuple[Repo, list[tuple[str, bytes]]]) -> None:
    repo, blobs = many
    with GitRepo(repo.path) as g:
        stream = g.stream_blobs(sha for sha, _ in blobs)
        assert next(stream) == blobs[0]
        assert len(_cat_file_children()) == 1  # git is running, blocked on a full pipe
        stream.close()
        assert _cat_file_children() == []  # killed and reaped: no zombie left


@pytest.mark.parametrize("what", ["missing", "tree"])
def test_an_id_that_is_not_a_blob_is_an_error(
    many: tuple[Repo, list[tuple[str, bytes]]], what: str
) -> None:
    repo, blobs = many
    if what == "missing":
        bad = "0" * 40
    else:
        repo.write({"grants/a.hcl": "x"})
        repo.git("commit", "-q", "-m", "a")
        bad = repo.git("rev-parse", "HEAD:grants").strip()
    asked = [blobs[0][0], bad, blobs[1][0]]
    with GitRepo(repo.path) as g:
        with pytest.raises(JitError) as err:
            list(g.stream_blobs(asked))
        assert err.value.rule == "git"
        assert bad in str(err.value)
        assert ("is missing" if what == "missing" else "is not a blob") in str(err.value)
    assert _cat_file_children() == []
