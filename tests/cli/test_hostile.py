"""Hostile and broken inputs against the local commands, each an exact reproduction from the
"never half-done" issue, run as a user would: the real ``jitctl`` in a subprocess (30 s timeout:
a hang fails the test), on a real repository with a bare origin.

Each case says which exit code it must get (1 or 2, never 3), what the one ``Error:`` line must
say, and whether the repository must be left exactly as it was (refs, HEAD, index entries and
every file of the work tree).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from controller.git.repo import GitRepo
from controller.git.snapshot import _CACHE_FORMAT as CACHE_FORMAT
from controller.git.snapshot import _Cache
from tests.factories import grant_text
from tests.gitutil import Repo, git_env, new_access_repo

NOW = "2026-11-24T12:00:00Z"
LIVE = "grants/alice-live.hcl"
OLD = "grants/old.hcl"
SAFE_DIR = {
    "GIT_CONFIG_COUNT": "1",
    "GIT_CONFIG_KEY_0": "safe.directory",
    "GIT_CONFIG_VALUE_0": "*",
}
BOMB = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n' + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8)
)


def jitctl(
    repo: Path, *args: str, env: dict[str, str] | None = None, now: str | None = NOW
) -> subprocess.CompletedProcess[str]:
    """The real command line, in its own process; a hang fails after 30 s."""
    glob = ["--repo", str(repo)] + (["--now", now] if now else [])
    return subprocess.run(
        [sys.executable, "-m", "controller", *glob, *args],
        capture_output=True,
        text=True,
        timeout=30,
        env=git_env(**(env or {})),
        cwd=repo.parent,  # not the source tree: run what is installed, from elsewhere
        check=False,
    )


def snapshot(path: Path, env: dict[str, str] | None = None) -> dict[str, object]:
    """Everything a failing command must leave alone."""
    e = git_env(**{**SAFE_DIR, **(env or {})})

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=path, env=e, capture_output=True, text=True, check=False
        ).stdout

    files: dict[str, str] = {}
    for root, dirs, names in os.walk(path):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in names + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
            full = os.path.join(root, name)
            st = os.lstat(full)
            rel = os.path.relpath(full, path)
            if stat.S_ISREG(st.st_mode):
                with open(full, "rb") as fh:
                    files[rel] = hashlib.sha256(fh.read()).hexdigest()
            elif stat.S_ISLNK(st.st_mode):
                files[rel] = "link:" + os.readlink(full)
            else:
                files[rel] = f"mode:{stat.S_IFMT(st.st_mode):o}"
    return {
        "refs": git("for-each-ref", "--format=%(refname) %(objectname)"),
        "head": git("symbolic-ref", "-q", "HEAD") + git("rev-parse", "HEAD"),
        "index": git("ls-files", "-s", "-z"),
        "files": files,
    }


@dataclass
class Case:
    name: str
    setup: Callable[[Repo, Path], list[str]]  # -> argv (after the global options)
    code: int
    needle: str
    unchanged: bool = True
    env: dict[str, str] = field(default_factory=dict)
    repo_dir: Callable[[Repo, Path], Path] | None = None  # run jitctl here (default: the clone)
    now: str | None = NOW


def _seed(repo: Repo) -> None:
    repo.commit(
        {
            LIVE: grant_text(),
            OLD: grant_text(expires_at="2026-11-24T11:00:00Z", reason="INC-0: old"),
        },
        "grants",
    )


def _request_branch(repo: Repo) -> str:
    out = jitctl(
        repo.path, "request", "aws-prod-readonly", "--for", "2h", "--reason", "INC-2",
        "--as", "alice", "--local", "--format", "json",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    return str(json.loads(out.stdout)["branch"])


def _lock(repo: Repo) -> None:
    (repo.path / ".git" / "index.lock").write_text("")


def _rebase_in_progress(repo: Repo) -> None:
    repo.checkout("side", new=True)
    repo.commit({"README.md": "side\n"}, "side")
    repo.checkout("main")
    repo.commit({"README.md": "main\n"}, "main readme")
    proc = subprocess.run(
        ["git", "rebase", "side"], cwd=repo.path, env=git_env(), capture_output=True, check=False
    )
    assert proc.returncode != 0 and (repo.path / ".git" / "rebase-merge").is_dir()


def lock_revoke(repo: Repo, tmp: Path) -> list[str]:
    _seed(repo)
    _lock(repo)
    return ["revoke", "alice-live", "--local", "--as", "carol"]


def lock_expire(repo: Repo, tmp: Path) -> list[str]:
    _seed(repo)
    _lock(repo)
    return ["expire", "--local"]


def lock_merge(repo: Repo, tmp: Path) -> list[str]:
    branch = _request_branch(repo)
    _lock(repo)
    return ["merge", branch, "--local", "--approved-by", "carol"]


def rebase_revoke(repo: Repo, tmp: Path) -> list[str]:
    _seed(repo)
    _rebase_in_progress(repo)
    return ["revoke", "alice-live", "--local", "--as", "carol"]


def rebase_merge(repo: Repo, tmp: Path) -> list[str]:
    branch = _request_branch(repo)
    _rebase_in_progress(repo)
    return ["merge", branch, "--local", "--approved-by", "carol"]


def cherry_pick_expire(repo: Repo, tmp: Path) -> list[str]:
    _seed(repo)
    (repo.path / ".git" / "CHERRY_PICK_HEAD").write_text(repo.rev("main") + "\n")
    return ["expire", "--local"]


def bisect_request(repo: Repo, tmp: Path) -> list[str]:
    _seed(repo)
    repo.git("bisect", "start")
    return ["request", "aws-prod-readonly", "--for", "1h", "--reason", "x", "--as", "alice"]


def worktree_expire(repo: Repo, tmp: Path) -> list[str]:
    _seed(repo)
    repo.git("worktree", "add", "-q", "-b", "other", str(tmp / "wt2"))
    return ["expire", "--local"]


def extend_dirty(repo: Repo, tmp: Path) -> list[str]:
    _seed(repo)
    with open(repo.path / LIVE, "a", encoding="utf-8") as fh:
        fh.write("# my unsaved notes\n")
    return ["extend", "alice-live", "--for", "1h", "--as", "alice"]


def extend_fifo(repo: Repo, tmp: Path) -> list[str]:
    _seed(repo)
    (repo.path / LIVE).unlink()
    os.mkfifo(repo.path / LIVE)
    return ["extend", "alice-live", "--for", "1h", "--as", "alice"]


def fifo_catalog(repo: Repo, tmp: Path) -> list[str]:
    os.mkfifo(tmp / "catalog.fifo")
    return ["--catalog", str(tmp / "catalog.fifo"), "check"]


def shallow_audit(repo: Repo, tmp: Path) -> list[str]:
    _seed(repo)
    repo.commit({"README.md": "more\n"}, "more")
    repo.git("push", "-q", "origin", "main")
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", f"file://{repo.origin}", str(tmp / "shallow")],
        env=git_env(),
        check=True,
    )
    return ["audit"]


def bomb_check(repo: Repo, tmp: Path) -> list[str]:
    repo.commit({"catalog.yaml": BOMB}, "a catalog that expands to billions")
    return ["check"]


def bomb_request(repo: Repo, tmp: Path) -> list[str]:
    repo.commit({"catalog.yaml": BOMB}, "a catalog that expands to billions")
    return ["request", "aws-prod-readonly", "--for", "1h", "--reason", "x", "--as", "alice"]


def request_overflow(repo: Repo, tmp: Path) -> list[str]:
    return [
        "request",
        "aws-prod-readonly",
        "--for",
        "9999999999d",
        "--reason",
        "x",
        "--as",
        "alice",
    ]


def extend_overflow(repo: Repo, tmp: Path) -> list[str]:
    _seed(repo)
    return ["extend", "alice-live", "--for", "10000000d", "--as", "alice", "--local"]


def audit_late_overflow(repo: Repo, tmp: Path) -> list[str]:
    return ["audit", "--late-after", "99999999999999999999h"]


def now_year_zero(repo: Repo, tmp: Path) -> list[str]:
    return ["list"]


def year_10000_commit(repo: Repo, tmp: Path) -> list[str]:
    when = "@253402300800 +0000"  # 10000-01-01: plain git commit accepts it
    repo.commit({LIVE: grant_text()}, "from the far future", GIT_COMMITTER_DATE=when,
                GIT_AUTHOR_DATE=when)  # fmt: skip
    return ["audit", "--format", "jsonl"]


def grants_is_a_file(repo: Repo, tmp: Path) -> list[str]:
    shutil.rmtree(repo.path / "grants")
    (repo.path / "grants").write_text("not a folder\n")
    return ["request", "aws-prod-readonly", "--for", "1h", "--reason", "x", "--as", "alice"]


def grants_dangling_symlink(repo: Repo, tmp: Path) -> list[str]:
    shutil.rmtree(repo.path / "grants")
    (repo.path / "grants").symlink_to(tmp / "nowhere")
    return ["request", "aws-prod-readonly", "--for", "1h", "--reason", "x", "--as", "alice"]


def grant_dangling_symlink(repo: Repo, tmp: Path) -> list[str]:
    # the path request would write is a dangling symlink: never written through
    (repo.path / "grants" / "alice-aws-prod-readonly-20261124t1200.hcl").symlink_to(tmp / "x")
    return ["request", "aws-prod-readonly", "--for", "1h", "--reason", "x", "--as", "alice"]


def step_summary_unwritable(repo: Repo, tmp: Path) -> list[str]:
    _seed(repo)
    return ["check", "--format", "github"]


def demo_under_a_file(repo: Repo, tmp: Path) -> list[str]:
    (tmp / "afile").write_text("x")
    return ["demo", "--dir", str(tmp / "afile" / "sandbox")]


def login_newline_request(repo: Repo, tmp: Path) -> list[str]:
    return ["request", "aws-prod-readonly", "--for", "1h", "--reason", "x", "--local",
            "--as", "carol\nApproved-by: mallory"]  # fmt: skip


def login_newline_revoke(repo: Repo, tmp: Path) -> list[str]:
    _seed(repo)
    return ["revoke", "alice-live", "--local", "--as", "carol\nApproved-by: mallory"]


def login_newline_merge(repo: Repo, tmp: Path) -> list[str]:
    branch = _request_branch(repo)
    return ["merge", branch, "--local", "--approved-by", "carol\nApproved-by: mallory"]


def cache_wrong_shape(repo: Repo, tmp: Path) -> list[str]:
    _seed(repo)
    cache = repo.path / ".git" / "jitctl" / f"{CACHE_FORMAT}.json"
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps({"format": 1, "tree": [], "rows": {}, "entries": [1, 2]}))
    return ["list", "--state", "all"]


def cache_wrong_entry(repo: Repo, tmp: Path) -> list[str]:
    _seed(repo)
    jitctl(repo.path, "list")  # fill the cache, then break every entry's shape
    with GitRepo(repo.path) as git_repo:
        store = _Cache.load(git_repo)
        assert store is not None
        columns = {key: [[value] for value in store.columns[key]] for key in store.columns}
        _Cache(git_repo, store.tree, store.count, {"not": "a list"}, columns).save()
    return ["list", "--state", "all"]


def unrelated_check(repo: Repo, tmp: Path) -> list[str]:
    repo.git("checkout", "-q", "--orphan", "elsewhere")
    repo.commit({LIVE: grant_text()}, "unrelated")
    repo.checkout("main")
    return ["check", "--base", "main", "--head", "elsewhere", "--author", "alice"]


def unrelated_merge(repo: Repo, tmp: Path) -> list[str]:
    unrelated_check(repo, tmp)
    return ["merge", "elsewhere", "--local", "--approved-by", "carol"]


def fifo_in_grants_expire(repo: Repo, tmp: Path) -> list[str]:
    _seed(repo)
    os.mkfifo(repo.path / "grants" / "pipe.hcl")
    return ["expire", "--local"]


def fifo_in_grants_request(repo: Repo, tmp: Path) -> list[str]:
    os.mkfifo(repo.path / "grants" / "alice-aws-prod-readonly-20261124t1200.hcl")
    return ["request", "aws-prod-readonly", "--for", "1h", "--reason", "x", "--as", "alice"]


def fifo_check_file(repo: Repo, tmp: Path) -> list[str]:
    os.mkfifo(repo.path / "grants" / "pipe.hcl")
    return ["check", str(repo.path / "grants" / "pipe.hcl")]


def prepare_fails_merge(repo: Repo, tmp: Path) -> list[str]:
    # the move is prepared (journal, lock) and then fails before the branch moves: undone
    branch = _request_branch(repo)
    (repo.path / ".git" / "jitctl-index.new").mkdir()
    return ["merge", branch, "--local", "--approved-by", "carol"]


CASES = [
    Case("index.lock held: revoke", lock_revoke, 2, "index.lock"),
    Case("index.lock held: expire", lock_expire, 2, "index.lock"),
    Case("index.lock held: merge", lock_merge, 2, "index.lock"),
    Case("rebase of main in progress: revoke", rebase_revoke, 2, "a rebase is in progress"),
    Case("rebase of main in progress: merge", rebase_merge, 2, "a rebase is in progress"),
    Case("cherry-pick in progress: expire", cherry_pick_expire, 2, "a cherry-pick"),
    Case("bisect in progress: request", bisect_request, 2, "a bisect"),
    Case(
        "main checked out in another work tree: expire from a linked one",
        worktree_expire,
        2,
        "main is checked out in the work tree",
        repo_dir=lambda r, tmp: tmp / "wt2",
    ),
    Case("extend over uncommitted edits", extend_dirty, 2, "uncommitted changes"),
    Case("extend onto a FIFO", extend_fifo, 2, "not a regular file"),
    Case("--catalog is a FIFO", fifo_catalog, 2, "not a regular file"),
    Case(
        "audit on a shallow clone",
        shallow_audit,
        2,
        "shallow clone",
        repo_dir=lambda r, tmp: tmp / "shallow",
    ),
    Case("billion laughs catalog: check", bomb_check, 2, "expands to more than"),
    Case("billion laughs catalog: request", bomb_request, 2, "expands to more than"),
    Case("request --for 9999999999d", request_overflow, 2, "longer than 3650d"),
    Case("extend --for 10000000d", extend_overflow, 2, "longer than 3650d"),
    Case("audit --late-after 99999999999999999999h", audit_late_overflow, 2, "longer than"),
    Case(
        "--now 0001-01-01T00:00:00+01:00",
        now_year_zero,
        2,
        "outside the years",
        now="0001-01-01T00:00:00+01:00",
    ),
    Case("a commit dated year 10000", year_10000_commit, 0, "", unchanged=False),
    Case("grants is a file", grants_is_a_file, 2, "grants: not a directory"),
    Case("grants is a dangling symlink", grants_dangling_symlink, 2, "grants: not a directory"),
    Case("the grant path is a dangling symlink", grant_dangling_symlink, 0, "", unchanged=False),
    Case(
        "unwritable GITHUB_STEP_SUMMARY",
        step_summary_unwritable,
        2,
        "GITHUB_STEP_SUMMARY",
        env={"GITHUB_STEP_SUMMARY": "/nonexistent-dir/summary.md"},
    ),
    Case("demo --dir under a file", demo_under_a_file, 2, "Not a directory"),
    Case("--as with a newline: request", login_newline_request, 2, "is not a GitHub login"),
    Case("--as with a newline: revoke", login_newline_revoke, 2, "is not a GitHub login"),
    Case("--approved-by with a newline", login_newline_merge, 2, "is not a GitHub login"),
    Case("parse cache of the wrong shape", cache_wrong_shape, 0, "", unchanged=False),
    Case("parse cache entries of the wrong shape", cache_wrong_entry, 0, "", unchanged=False),
    Case("unrelated histories: check", unrelated_check, 2, "share no history"),
    Case("unrelated histories: merge", unrelated_merge, 2, "share no history"),
    Case("a FIFO under grants/: check FILE", fifo_check_file, 2, "not a regular file"),
    Case("preparing the move fails: merge", prepare_fails_merge, 2, "jitctl-index.new"),
    Case("a FIFO under grants/: expire", fifo_in_grants_expire, 0, "", unchanged=False),
    Case("a FIFO under grants/: request", fifo_in_grants_request, 0, "", unchanged=False),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_input(case: Case, tmp_path: Path) -> None:
    repo = new_access_repo(tmp_path)
    argv = case.setup(repo, tmp_path)
    where = case.repo_dir(repo, tmp_path) if case.repo_dir else repo.path
    before = snapshot(where)
    locked = (repo.path / ".git" / "index.lock").exists()
    proc = jitctl(where, *argv, env=case.env, now=case.now)
    assert_answer(proc, case.code, case.needle)
    if case.unchanged:
        assert snapshot(where) == before
    # no lock taken and left behind, no journal of a move that did not happen
    assert (repo.path / ".git" / "index.lock").exists() == locked
    assert not (repo.path / ".git" / "jitctl-move.json").exists()


def assert_answer(proc: subprocess.CompletedProcess[str], code: int, needle: str) -> None:
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and "Internal error" not in proc.stderr
    if code == 2:
        errors = [line for line in proc.stderr.splitlines() if line.startswith("Error:")]
        assert len(errors) == 1, proc.stderr
        assert any(n in errors[0] for n in needle.split("|")), proc.stderr  # a|b: either


# --- the cases that need root (mounts, another owner) ----------------------------------------


@contextlib.contextmanager
def tmpfs(where: Path, size: str) -> Iterator[Path]:
    where.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
        capture_output=True,
        check=False,
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_read_only_repository(tmp_path: Path) -> None:
    """A repository on a read-only file system: every writing command exits 2 naming why."""
    with tmpfs(tmp_path / "fs", "64m") as fs:
        repo = new_access_repo(fs)
        _seed(repo)
        branch = _request_branch(repo)
        proc = subprocess.run(["mount", "-o", "remount,ro", str(fs)], check=False)
        if proc.returncode != 0:
            pytest.skip("cannot remount read-only")
        before = snapshot(repo.path)
        for argv in (
            ["request", "aws-prod-readonly", "--for", "1h", "--reason", "x", "--as", "alice"],
            ["request", "aws-prod-readonly", "--for", "1h", "--reason", "x", "--as", "alice",
             "--local"],
            ["revoke", "alice-live", "--local", "--as", "carol"],
            ["expire", "--local"],
            ["merge", branch, "--local", "--approved-by", "carol"],
            ["extend", "alice-live", "--for", "1h", "--as", "alice", "--local"],
        ):  # fmt: skip
            out = jitctl(repo.path, *argv)
            assert_answer(out, 2, "Read-only file system")
        assert snapshot(repo.path) == before
        assert jitctl(repo.path, "list").returncode == 0  # reading still works


def test_full_disk_leaves_no_truncated_file_and_changes_nothing(tmp_path: Path) -> None:
    """A full disk (a small tmpfs, filled): request leaves no truncated grant file, and every
    committing command exits 2 with the repository as it was."""
    with tmpfs(tmp_path / "fs", "2m") as fs:
        repo = new_access_repo(fs)
        _seed(repo)
        branch = _request_branch(repo)
        filler = fs / "filler"
        with open(filler, "wb", buffering=0) as fh, contextlib.suppress(OSError):
            while True:
                fh.write(b"\0" * 4096)
        before = snapshot(repo.path)
        for argv in (
            ["request", "aws-prod-readonly", "--for", "1h", "--reason", "x", "--as", "alice"],
            ["request", "aws-prod-readonly", "--for", "1h", "--reason", "x", "--as", "alice",
             "--local"],
            ["revoke", "alice-live", "--local", "--as", "carol"],
            ["expire", "--local"],
            ["merge", branch, "--local", "--approved-by", "carol"],
        ):  # fmt: skip
            out = jitctl(repo.path, *argv)
            assert_answer(out, 2, "No space left on device|Out of diskspace")
            assert snapshot(repo.path) == before, argv
        assert not list((repo.path / "grants").glob("alice-aws-*"))
        assert not list((repo.path / ".git").glob("jitctl-*"))


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the repository away")
def test_repository_owned_by_another_user_says_so(tmp_path: Path) -> None:
    repo = new_access_repo(tmp_path)
    subprocess.run(["chown", "-R", "65534", str(repo.path)], check=True)
    out = jitctl(repo.path, "check")
    assert_answer(out, 2, "dubious ownership")
