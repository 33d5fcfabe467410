"""SIGKILL in the middle of a 2,000-grant ``expire --local``, and how many git processes a
commit costs.

Kill points come two ways, both seeded and bounded so the module runs in well under a minute:
at random instants of a run (delays drawn from a seeded generator over the time an
uninterrupted run takes: the clock picks where to kill, nothing asserts a duration), and just
before or after chosen git commands (a ``git`` wrapper first on the PATH kills jitctl, its
parent). After each kill: ``git fsck`` is clean, the branch is the old or the new commit, any
index that disagrees with the branch is locked (git refuses to commit it), and re-running the
same command leaves branch, index and work tree in agreement with nothing lost.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.factories import grant_text
from tests.gitutil import Repo, git_env, new_access_repo

NOW = "2026-11-24T12:00:00Z"
EXPIRED = 2000
LIVE = 5
SEED = 20261124
TIMED_KILLS = 4
REAL_GIT = shutil.which("git") or "git"

WRAPPER = """#!/bin/sh
# a git that kills its caller (jitctl) before or after the command named in JITCTL_TEST_KILL_ON
case " $* " in
  *" $JITCTL_TEST_KILL_ON "*)
    if [ "$JITCTL_TEST_KILL_WHEN" = before ]; then kill -9 $PPID; exit 137; fi
    "$JITCTL_TEST_REAL_GIT" "$@"; rc=$?; kill -9 $PPID; exit $rc ;;
esac
[ -n "$JITCTL_TEST_GIT_LOG" ] && echo "$*" >> "$JITCTL_TEST_GIT_LOG"
exec "$JITCTL_TEST_REAL_GIT" "$@"
"""


def _wrapper_dir(root: Path) -> Path:
    d = root / "bin"
    d.mkdir(exist_ok=True)
    (d / "git").write_text(WRAPPER)
    (d / "git").chmod(0o755)
    return d


def _run(cmd: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """jitctl in its own process, from outside the source tree (runs what is installed)."""
    return subprocess.run(
        cmd, env=env, capture_output=True, text=True, check=False, cwd=tempfile.gettempdir()
    )


def _env(bin_dir: Path | None = None, **extra: str) -> dict[str, str]:
    env = git_env(**extra)
    if bin_dir is not None:
        env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
        env["JITCTL_TEST_REAL_GIT"] = REAL_GIT
    return env


def _cmd(repo: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "controller",
        "--repo",
        str(repo),
        "--now",
        NOW,
        "expire",
        "--local",
    ]


def _git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        ["git", *args], cwd=repo, env=git_env(), capture_output=True, text=True, check=False
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)}: {proc.stderr}")
    return proc


def _seed_repo(root: Path, expired: int, live: int = LIVE) -> Repo:
    repo = new_access_repo(root)
    grants = repo.path / "grants"
    for i in range(expired):
        (grants / f"x{i:05d}.hcl").write_text(
            grant_text(expires_at="2026-11-24T11:00:00Z", reason=f"INC-{i}")
        )
    for i in range(live):
        (grants / f"live{i}.hcl").write_text(grant_text(reason=f"live {i}"))
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", f"{expired} expired, {live} live")
    return repo


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    """Where the copies go: a RAM file system when there is one (copying 2,000 files per kill
    point on a loaded disk would cost more than the runs themselves)."""
    shm = Path("/dev/shm")
    base = shm if shm.is_dir() and os.access(shm, os.W_OK) else None
    with tempfile.TemporaryDirectory(prefix="jitctl-kill-", dir=base) as d:
        yield Path(d)


def _copy(src: Path, dst: Path) -> None:
    subprocess.run(["cp", "-a", str(src), str(dst)], check=True)


@pytest.fixture(scope="module")
def template(scratch: Path) -> tuple[Path, str, str, float]:
    """The seeded repository (parse cache warm), its main before and after an uninterrupted
    expire, and how long that run took (only to spread the random kill instants over it)."""
    root = scratch / "template"
    root.mkdir()
    repo = _seed_repo(root, EXPIRED)
    repo.git("repack", "-adq")
    repo.git("prune")
    old = repo.rev("main")
    warm = _run([*_cmd(repo.path)[:-2], "list"], _env())  # each copy inherits the cache
    assert warm.returncode == 0, warm.stderr
    probe = root / "probe"
    _copy(repo.path, probe)
    start = time.monotonic()
    done = _run(_cmd(probe), _env())
    took = time.monotonic() - start
    assert done.returncode == 0, done.stderr
    new = _git(probe, "rev-parse", "main").stdout.strip()
    assert new != old
    return repo.path, old, new, took


def _check_after_kill(work: Path, old: str, new: str) -> str:
    """What a kill may leave: returns the branch's position ("old" or "new")."""
    assert _git(work, "fsck", "--no-dangling", "--no-progress").returncode == 0
    branch = _git(work, "rev-parse", "main").stdout.strip()
    assert branch in (old, new)
    lock = work / ".git" / "index.lock"
    index_agrees = _git(work, "diff", "--cached", "--quiet", check=False).returncode == 0
    if not index_agrees:
        # the index stages something else than the branch: it must not be committable
        assert lock.exists()
        assert _git(work, "commit", "-q", "-m", "undo", check=False).returncode != 0
        assert _git(work, "rev-parse", "main").stdout.strip() == branch
    return "old" if branch == old else "new"


def _check_converged(work: Path, old: str, new: str) -> None:
    """After a re-run: the branch removed exactly the expired grants, and the index and the
    work tree agree with it, with nothing left over and nothing lost."""
    assert _git(work, "rev-parse", "main").stdout.strip() == new
    assert _git(work, "diff", "--cached", "--quiet", check=False).returncode == 0
    assert _git(work, "status", "--porcelain", "--untracked-files=all").stdout == ""
    on_branch = sorted(_git(work, "ls-tree", "--name-only", "main", "grants/").stdout.split())
    assert on_branch == ["grants/.gitkeep"] + [f"grants/live{i}.hcl" for i in range(LIVE)]
    on_disk = sorted(f"grants/{p.name}" for p in (work / "grants").iterdir())
    assert on_disk == on_branch
    removed = _git(work, "ls-tree", "--name-only", old, "grants/").stdout.split()
    assert len(removed) == EXPIRED + LIVE + 1  # every expired grant is in main's history
    git_dir = work / ".git"
    leftovers = [p.name for p in git_dir.iterdir() if p.name.startswith(("jitctl-", "index."))]
    assert leftovers == []
    assert _git(work, "fsck", "--no-dangling", "--no-progress").returncode == 0


def _kill_points() -> list[tuple[str, str]]:
    # (git command to kill around, before|after); "--refresh" runs after the ref has moved
    return [
        ("update-ref", "before"),
        ("update-ref", "after"),
        ("--refresh", "before"),
        ("--refresh", "after"),
    ]


@pytest.mark.parametrize(("on", "when"), _kill_points())
def test_kill_around_a_git_command(
    template: tuple[Path, str, str, float], scratch: Path, tmp_path: Path, on: str, when: str
) -> None:
    src, old, new, _ = template
    work = scratch / f"work-{on}-{when}"
    _copy(src, work)
    env = _env(_wrapper_dir(tmp_path), JITCTL_TEST_KILL_ON=on, JITCTL_TEST_KILL_WHEN=when)
    killed = _run(_cmd(work), env)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    _check_after_kill(work, old, new)
    again = _run(_cmd(work), _env())
    assert again.returncode == 0, again.stderr
    _check_converged(work, old, new)
    shutil.rmtree(work)


def test_kill_at_random_instants(template: tuple[Path, str, str, float], scratch: Path) -> None:
    src, old, new, took = template
    rng = random.Random(SEED)
    delays = sorted(rng.uniform(0.05, took) for _ in range(TIMED_KILLS))
    outcomes = []
    for n, delay in enumerate(delays):
        work = scratch / f"random{n}"
        _copy(src, work)
        proc = subprocess.Popen(
            _cmd(work),
            env=_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=tempfile.gettempdir(),
        )
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        outcomes.append(_check_after_kill(work, old, new))
        again = _run(_cmd(work), _env())
        assert again.returncode == 0, again.stderr
        _check_converged(work, old, new)
        shutil.rmtree(work)
    print(f"random kills at {[round(d, 2) for d in delays]} s of {took:.2f} s: {outcomes}")


@pytest.mark.parametrize(("on", "when"), [("update-ref", "after"), ("--refresh", "after")])
def test_kill_a_merge_that_adds_a_file(tmp_path: Path, on: str, when: str) -> None:
    """A merge writes a new grant file into the work tree: killed after the branch moved, the
    re-run puts the file in place, and says the branch is merged."""
    repo = new_access_repo(tmp_path)
    base = [sys.executable, "-m", "controller", "--repo", str(repo.path), "--now", NOW]
    made = _run(
        [*base, "request", "aws-prod-readonly", "--for", "2h", "--reason", "INC-3", "--as",
         "alice", "--local"],
        _env(),
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    branch = "jit/request/alice-aws-prod-readonly-20261124t1200"
    merge = [*base, "merge", branch, "--local", "--approved-by", "carol"]
    old = repo.rev("main")
    env = _env(_wrapper_dir(tmp_path), JITCTL_TEST_KILL_ON=on, JITCTL_TEST_KILL_WHEN=when)
    killed = _run(merge, env)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    new = repo.rev("main")
    assert _check_after_kill(repo.path, old, new) == "new"
    again = _run(merge, _env())
    assert again.returncode == 0, again.stderr
    assert "completed an interrupted jitctl run" in again.stderr
    assert "already merged" in again.stdout
    assert repo.rev("main") == new
    assert repo.git("status", "--porcelain", "--untracked-files=all") == ""
    path = "grants/alice-aws-prod-readonly-20261124t1200.hcl"
    committed = subprocess.run(
        ["git", "cat-file", "blob", f"main:{path}"], cwd=repo.path, capture_output=True, check=True
    ).stdout
    assert (repo.path / path).read_bytes() == committed


# --- a fixed number of git processes per commit ----------------------------------------------


def _count_git(tmp_path: Path, expired: int) -> list[str]:
    (tmp_path / f"n{expired}").mkdir()
    repo = _seed_repo(tmp_path / f"n{expired}", expired, live=1)
    log = tmp_path / f"git-{expired}.log"
    env = _env(_wrapper_dir(tmp_path), JITCTL_TEST_GIT_LOG=str(log))
    done = _run(_cmd(repo.path), env)
    assert done.returncode == 0, done.stderr
    assert f"removed grants/x{expired - 1:05d}.hcl" in done.stdout
    return [line.split()[0] for line in log.read_text().splitlines()]


def test_an_expiry_of_1_or_500_grants_runs_the_same_git_processes(tmp_path: Path) -> None:
    one, many = _count_git(tmp_path, 1), _count_git(tmp_path, 500)
    print(f"git processes: 1 grant {len(one)}, 500 grants {len(many)}: {one}")
    assert len(one) == len(many)
    assert sorted(one) == sorted(many)
