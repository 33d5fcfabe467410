"""Fault matrix: every API call that ``expire`` and ``approvals --merge`` make fails once in
turn (5xx, secondary rate limit, timeout, handled-then-500), each on a fresh emulator. After at
most one more run the repository has converged: one expiry PR, one merge, no grant removed
before its time."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from controller.cli import github as cli_github
from controller.core.times import parse_rfc3339
from controller.formats.trailers import parse_trailers
from controller.git.repo import GitRepo
from controller.github.expire import expire_on_github
from controller.github.forge import ForgeConfig, GitHubForge
from controller.github.retry import RetryPolicy
from tests.factories import grant_text
from tests.ghworld import REPO, World, git, make_world, no_sleep
from tests.github_emulator.fixtures import build_emulator

LATER = "2026-11-24T17:00:00Z"
EXPIRED = ("g-old-1", "g-old-2")
LIVE = "g-live"
SHA = re.compile(r"[0-9a-f]{40}")


@pytest.fixture(autouse=True)
def _fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_github, "retry_policy", RetryPolicy(sleep=no_sleep))


@contextmanager
def fresh(root: Path) -> Iterator[World]:
    gh = build_emulator(root / "github")
    gh.emu.start()
    try:
        files: dict[str, str | None] = {
            f"grants/{gid}.hcl": grant_text(expires_at="2026-11-24T16:00:00Z") for gid in EXPIRED
        }
        files[f"grants/{LIVE}.hcl"] = grant_text(expires_at="2026-11-24T20:00:00Z")
        root.mkdir(parents=True, exist_ok=True)
        w = make_world(gh, root, files)
        w.timeout = 1
        yield w
    finally:
        gh.emu.stop()


# --- the two scenarios ---------------------------------------------------------------------


def setup_approved_pr(w: World) -> int:
    w.gh.emu.commit_files(
        "jit/request/x",
        {"grants/alice-x.hcl": grant_text(expires_at="2026-11-24T15:00:00Z")},
        "request",
        author="alice",
    )
    with w.client("alice") as g:
        number = (
            g.get_repo(REPO)
            .create_pull(title="request", body="", head="jit/request/x", base="main")
            .number
        )
    w.approve(number, "carol")
    return number


def run_approvals(w: World, number: int) -> int:
    return w.jitctl("approvals", "--pr", str(number), "--merge", login="erin").exit_code


def converged_approvals(w: World, number: int) -> None:
    assert w.gh.emu.pull(number).merged_at is not None
    log = git(w.gh.bare_path, "log", "--format=%B%x00", "main")
    merges = [m for m in log.split("\0") if ("Jit-PR", str(number)) in parse_trailers(m)]
    assert len(merges) == 1, "merged once"
    assert ("Approved-by", "carol") in parse_trailers(merges[0])
    assert "grants/alice-x.hcl" in w.main_files()


def run_expire(w: World) -> int:
    return w.jitctl("expire", now=LATER, login="erin").exit_code


def converged_expire(w: World) -> None:
    assert len(w.pulls("jit/expire")) == 1, "exactly one expiry PR"
    files = w.main_files()
    assert f"grants/{LIVE}.hcl" in files, "a live grant was removed"
    assert not any(f"grants/{gid}.hcl" in files for gid in EXPIRED)
    log = git(w.gh.bare_path, "log", "--format=%B%x00", "main")
    assert sum(("Jit-Kind", "expiry") in parse_trailers(m) for m in log.split("\0")) == 1


Scenario = tuple[
    Callable[[World], int | None],
    Callable[[World, int | None], int],
    Callable[[World, int | None], None],
]

SCENARIOS: dict[str, Scenario] = {
    "approvals": (
        setup_approved_pr,
        lambda w, n: run_approvals(w, n or 0),
        lambda w, n: converged_approvals(w, n or 0),
    ),
    "expire": (lambda w: None, lambda w, n: run_expire(w), lambda w, n: converged_expire(w)),
}


def clean_calls(root: Path, name: str) -> list[tuple[str, str]]:
    setup, run, check = SCENARIOS[name]
    with fresh(root) as w:
        arg = setup(w)
        w.gh.emu.clear_log()
        assert run(w, arg) == 0
        check(w, arg)
        calls = [(e.method, e.path) for e in w.gh.emu.requests()]
    out: list[tuple[str, str]] = []
    for call in calls:
        if call not in out:
            out.append(call)
    return out


KINDS = ("5xx", "rate_limit", "timeout", "merge_500_after_merge")


@pytest.mark.parametrize("name", sorted(SCENARIOS))
@pytest.mark.parametrize("kind", KINDS)
def test_every_call_fails_once(name: str, kind: str, tmp_path: Path) -> None:
    setup, run, check = SCENARIOS[name]
    calls = clean_calls(tmp_path / "clean", name)
    assert len(calls) >= 5
    if kind == "merge_500_after_merge":
        calls = [c for c in calls if c[0] != "GET"]  # handled-then-500: meaningful for writes
    for i, (method, path) in enumerate(calls):
        with fresh(tmp_path / f"case-{i}") as w:
            arg = setup(w)
            pattern = "^" + SHA.sub("[0-9a-f]{40}", re.escape(path)) + "$"
            w.gh.emu.inject(method, pattern, kind, hold=0.3)
            first = run(w, arg)
            assert w.gh.emu.faults.pending() == [], f"{method} {path} was not called"
            if first != 0:
                assert run(w, arg) == 0, f"no convergence after {kind} on {method} {path}"
            check(w, arg)
            assert not w.gh.emu.errors


def test_moved_head_at_merge_is_not_merged(tmp_path: Path) -> None:
    with fresh(tmp_path) as w:
        number = setup_approved_pr(w)
        w.gh.emu.inject("PUT", r"/pulls/\d+/merge$", "move_head")
        assert run_approvals(w, number) == 1
        pr = w.gh.emu.pull(number)
        assert pr.merged_at is None
        assert w.status(pr.head_sha) is not None
        assert w.status(pr.head_sha)[0] == "pending"  # type: ignore[index]
        assert run_approvals(w, number) == 1  # still needs a new approval


def test_five_expire_runs_at_once(tmp_path: Path) -> None:
    with fresh(tmp_path) as w:
        w.timeout = 10
        codes: list[int] = []
        # each thread runs in its own clone (each run's checkout); CliRunner is per thread
        clones = []
        for i in range(5):
            clone = tmp_path / f"clone-{i}"
            git(tmp_path, "clone", "-q", str(w.gh.bare_path), str(clone))
            clones.append(clone)

        def one(clone: Path) -> None:
            # the library, not CliRunner (which swaps sys.stdout and is not thread-safe)
            config = ForgeConfig(REPO, w.gh.base_url, token=w.gh.token("erin"), timeout=10)
            with GitHubForge(config, RetryPolicy(sleep=no_sleep)) as forge, GitRepo(clone) as repo:
                r = expire_on_github(forge, repo, now=parse_rfc3339(LATER), base="main")
            codes.append(0 if r.merged or r.action == "none" else 1)

        threads = [threading.Thread(target=one, args=(c,)) for c in clones]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(codes) == 5
        if any(codes):  # a loser may stop short; one more run converges
            assert run_expire(w) == 0
        converged_expire(w)
        assert not w.gh.emu.errors
