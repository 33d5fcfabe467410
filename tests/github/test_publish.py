"""The GitHub flow from a developer's checkout (github/publish.py): the repository from the
remote, a token from the environment or `gh auth token`, everything checked before the push,
and no branch left behind on any failure; revoke and extend on GitHub. Against the emulator
over HTTP, with a real bare git repository as the remote."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from controller.cli import main
from controller.core.errors import JitError
from controller.formats.trailers import parse_trailers
from controller.github.publish import infer_repository, parse_remote_url, resolve_token, web_host
from tests.factories import grant_text
from tests.ghworld import NOW, REPO, World, git, world

__all__ = ["world"]

RO = "alice-ro"  # a live grant of alice's on main (until 16:00), for extend and revoke


def no_gh_path() -> str:
    """PATH without any `gh`, so that only what a test puts there is found."""
    dirs = os.environ.get("PATH", "").split(os.pathsep)
    return os.pathsep.join(d for d in dirs if d and not (Path(d) / "gh").exists())


def fake_gh(tmp_path: Path, body: str) -> Path:
    """A `gh` executable on a fresh folder (the real interface: a process on PATH)."""
    folder = tmp_path / "fake-bin"
    folder.mkdir(exist_ok=True)
    gh = folder / "gh"
    gh.write_text("#!/bin/sh\n" + body)
    gh.chmod(gh.stat().st_mode | stat.S_IXUSR)
    return folder


def run(w: World, *args: str, login: str | None = "alice", **env: str | None) -> Result:
    """jitctl as ``login`` (its token in GITHUB_TOKEN; None: no token at all), no `gh` on PATH
    unless ``env`` puts one there."""
    base: dict[str, str | None] = {**w.env("alice"), "GH_TOKEN": "", "PATH": no_gh_path()}
    base["GITHUB_TOKEN"] = w.gh.token(login) if login else ""
    base["JITCTL_REPOSITORY"] = None
    return CliRunner().invoke(
        main, ["--repo", str(w.clone), "--now", NOW, *args], env={**base, **env}
    )


def request(w: World, *extra: str, login: str | None = "alice", **env: str | None) -> Result:
    return run(
        w, "request", "aws-prod-readonly", "--for", "2h", "--reason", "INC-7", "--as", "alice",
        "--open-pr", *extra, login=login, **env,
    )  # fmt: skip


def remote_branches(w: World) -> list[str]:
    out = git(w.gh.bare_path, "for-each-ref", "--format=%(refname:short)", "refs/heads/")
    return sorted(out.splitlines())


def local_branches(w: World) -> list[str]:
    out = git(w.clone, "for-each-ref", "--format=%(refname:short)", "refs/heads/")
    return sorted(out.splitlines())


def seed_grant(w: World) -> None:
    w.gh.emu.commit_files(
        "main", {f"grants/{RO}.hcl": grant_text(expires_at="2026-11-24T16:00:00Z")}, "grant",
        author="alice",
    )  # fmt: skip
    git(w.clone, "pull", "-q", "--ff-only")


# --- where and who ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "want"),
    [
        ("https://github.com/acme/access.git", ("github.com", "acme", "access")),
        ("https://github.com/acme/access", ("github.com", "acme", "access")),
        ("https://x-access-token:t@github.com/acme/access/", ("github.com", "acme", "access")),
        ("http://127.0.0.1:8080/acme/my.repo.git", ("127.0.0.1", "acme", "my.repo")),
        ("ssh://git@github.com/acme/access.git", ("github.com", "acme", "access")),
        ("ssh://git@ghe.example.com:2222/acme/access", ("ghe.example.com", "acme", "access")),
        ("git@github.com:acme/access.git", ("github.com", "acme", "access")),
        ("GitHub.com:acme/access", ("github.com", "acme", "access")),
        ("/srv/git/access.git", None),
        ("file:///srv/git/acme/access.git", None),
        ("https://github.com/acme", None),
        ("https://github.com/acme/access/tree/main", None),
        ("https://github.com/acme/.git", None),
        ("ext::sh -c touch% /tmp/x", None),
        ("git@github.com:-acme/access.git", None),
    ],
)
def test_remote_urls(url: str, want: tuple[str, str, str] | None) -> None:
    assert parse_remote_url(url) == want


def test_web_hosts() -> None:
    assert web_host("https://api.github.com") == "github.com"
    assert web_host("https://ghe.example.com/api/v3") == "ghe.example.com"
    assert web_host("https://api.acme.ghe.com") == "acme.ghe.com"


def test_repository_inference() -> None:
    ghe = {"GITHUB_API_URL": "https://ghe.example.com/api/v3"}
    assert infer_repository("git@github.com:acme/access.git", "origin", {}) == "acme/access"
    assert infer_repository("https://ghe.example.com/acme/a.git", "origin", ghe) == "acme/a"
    # the name given wins over a remote that is no GitHub URL...
    assert infer_repository("/srv/a.git", "origin", {"JITCTL_REPOSITORY": "acme/a"}) == "acme/a"
    refusals = [
        ("/srv/a.git", {}, "not a GitHub repository URL"),
        ("", {}, "has no URL"),
        # GitHub Enterprise is named by its API URL; a github.com remote then is another host
        ("git@github.com:acme/access.git", ghe, "is on github.com, not on ghe.example.com"),
        ("https://gitlab.com/acme/access.git", {}, "is on gitlab.com, not on github.com"),
        # ...but never contradicts the remote: the push and the PR would go to different places
        ("git@github.com:acme/access.git", {"JITCTL_REPOSITORY": "evil/access"}, "evil/access"),
        ("/srv/a.git", {"JITCTL_REPOSITORY": "acme/a/b"}, "is not owner/name"),
    ]
    for url, env, words in refusals:
        with pytest.raises(JitError) as exc:
            infer_repository(url, "origin", env)
        assert exc.value.rule == "github.repository" and words in str(exc.value), (url, env)


def test_token_from_the_environment_then_gh(tmp_path: Path) -> None:
    assert resolve_token({"GITHUB_TOKEN": "t1", "GH_TOKEN": "t2"}, "github.com") == "t1"
    assert resolve_token({"GH_TOKEN": "t2"}, "github.com") == "t2"
    log = tmp_path / "args"
    folder = fake_gh(tmp_path, f'echo "$@" > {log}\necho gho_fromgh\n')
    assert resolve_token({}, "ghe.example.com", which=lambda n: str(folder / n)) == "gho_fromgh"
    assert log.read_text().split() == ["auth", "token", "--hostname", "ghe.example.com"]
    with pytest.raises(JitError) as exc:
        resolve_token({}, "github.com", which=lambda n: None)
    assert exc.value.rule == "github.token"
    assert "GITHUB_TOKEN" in str(exc.value) and "gh auth login" in str(exc.value)
    failing = fake_gh(tmp_path, "echo 'not logged in to any hosts' >&2\nexit 1\n")
    with pytest.raises(JitError) as exc:
        resolve_token({}, "github.com", which=lambda n: str(failing / n))
    assert "not logged in to any hosts" in str(exc.value) and "GITHUB_TOKEN" in str(exc.value)


# --- request --open-pr: nothing left behind ----------------------------------------------------


def test_missing_token_leaves_no_branch(world: World) -> None:
    w = world
    r = request(w, login=None)
    assert r.exit_code == 2, r.output
    assert "no GitHub token" in r.output and "[github.token]" in r.output
    assert "GITHUB_TOKEN" in r.output and "gh auth login" in r.output
    assert remote_branches(w) == ["main"]
    assert local_branches(w) == ["main"]  # the local branch is gone too: run it again
    assert w.pulls() == []


def test_refused_push_leaves_no_branch(world: World) -> None:
    w = world
    hook = w.gh.bare_path / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'pushes are frozen' >&2\nexit 1\n")
    hook.chmod(0o755)
    r = request(w)
    assert r.exit_code == 2, r.output
    assert "refused the push" in r.output and "[github.push]" in r.output
    assert "no branch left on origin" in r.output
    assert remote_branches(w) == ["main"] and local_branches(w) == ["main"]
    assert w.pulls() == []
    # once the remote takes pushes again, the same command works (nothing in the way)
    hook.unlink()
    r = request(w)
    assert r.exit_code == 0, r.output
    assert len(w.pulls()) == 1


def test_read_only_token_is_refused_before_the_push(world: World) -> None:
    w = world
    r = request(w, login="rita")  # rita may read acme/access, not push
    assert r.exit_code == 2, r.output
    assert "may not push to acme/access" in r.output and "[github.preflight]" in r.output
    assert remote_branches(w) == ["main"] and local_branches(w) == ["main"]
    assert not w.gh.emu.requests("POST", r"/pulls")


def test_unknown_token_is_refused_before_the_push(world: World) -> None:
    w = world
    r = request(w, GITHUB_TOKEN="ghp_not_a_token")
    assert r.exit_code == 2, r.output
    assert "read the repository" in r.output
    assert remote_branches(w) == ["main"] and local_branches(w) == ["main"]


def test_pr_creation_failing_deletes_the_pushed_branch(world: World) -> None:
    w = world
    w.gh.emu.inject("POST", r"/pulls$", "5xx", status=502)
    r = request(w)
    assert r.exit_code == 2, r.output
    assert "deleted branch jit/request/" in r.output and "from origin again" in r.output
    assert remote_branches(w) == ["main"] and local_branches(w) == ["main"]
    assert w.pulls() == []
    # it was pushed first: the rollback is real
    assert w.gh.emu.requests("POST", r"/pulls$")


def test_labelling_failing_closes_the_pr_and_deletes_the_branch(world: World) -> None:
    """A break-glass request whose label cannot be set is not left open without it."""
    w = world
    w.gh.emu.inject("POST", r"/issues/\d+/labels$", "5xx", times=20, status=503)
    r = run(
        w, "request", "aws-prod-admin", "--for", "30m", "--reason", "INC-9", "--as", "dave",
        "--open-pr", "--break-glass", login="dave",
    )  # fmt: skip
    assert r.exit_code == 2, r.output
    [number] = w.pulls()
    assert w.gh.emu.pull(number).state == "closed"
    assert f"closed PR #{number}" in r.output
    assert remote_branches(w) == ["main"] and local_branches(w) == ["main"]


def test_a_branch_already_on_the_remote_is_left_alone(world: World) -> None:
    """Same id, same minute: someone's branch of that name is never moved or deleted."""
    w = world
    r = request(w, "--format", "json")
    assert r.exit_code == 0, r.output
    branch = json.loads(r.stdout)["branch"]
    theirs = w.gh.emu.ref(branch)
    git(w.clone, "branch", "-D", branch)
    r = request(w)
    assert r.exit_code == 2, r.output
    assert f"branch {branch} exists on acme/access already" in r.output
    assert w.gh.emu.ref(branch) == theirs and len(w.pulls()) == 1


def test_token_from_gh_and_repository_from_origin(world: World, tmp_path: Path) -> None:
    """No GITHUB_TOKEN, no GITHUB_REPOSITORY: `gh auth token` and origin's URL (the emulator's
    host, as GITHUB_API_URL names it; git reaches the bare repository through insteadOf)."""
    w = world
    url = f"{w.gh.base_url.rstrip('/')}/acme/access.git"
    git(w.clone, "remote", "set-url", "origin", url)
    git(w.clone, "config", f"url.{w.gh.bare_path}.insteadOf", url)
    log = tmp_path / "gh-args"
    folder = fake_gh(tmp_path, f'echo "$@" > {log}\necho {w.gh.token("alice")}\n')
    path = f"{folder}{os.pathsep}{no_gh_path()}"
    r = request(w, "--format", "json", login=None, PATH=path, GITHUB_REPOSITORY=None)
    assert r.exit_code == 0, r.output
    [number] = w.pulls()
    pr = w.gh.emu.pull(number)
    assert (pr.user, pr.base_ref, pr.head_ref) == ("alice", "main", json.loads(r.stdout)["branch"])
    assert log.read_text().split() == ["auth", "token", "--hostname", "127.0.0.1"]


def test_a_remote_that_is_not_github_is_refused(world: World) -> None:
    w = world  # origin is a path to the bare repository
    r = request(w, GITHUB_REPOSITORY=None)
    assert r.exit_code == 2, r.output
    assert "not a GitHub repository URL" in r.output and "JITCTL_REPOSITORY" in r.output
    assert "[github.repository]" in r.output
    assert remote_branches(w) == ["main"] and local_branches(w) == ["main"]
    r = request(w, "--remote", "--upload-pack=touch /tmp/x")
    assert r.exit_code == 2 and "no git remote" in r.output, r.output


# --- revoke and extend on GitHub ------------------------------------------------------------


def test_revoke_on_github_merges_without_approval(world: World) -> None:
    w = world
    seed_grant(w)
    r = run(w, "revoke", RO, "--as", "carol", "--reason", "incident over", login="carol")
    assert r.exit_code == 0, r.output
    [number] = w.pulls()
    pr = w.gh.emu.pull(number)
    assert pr.user == "carol" and pr.head_ref.startswith(f"jit/revoke/{RO}-")
    assert "revocation" in pr.labels
    assert f"grants/{RO}.hcl" in w.main_files()
    # the merge workflow: no review at all, merged because it only deletes a live grant
    r = w.jitctl("approvals", "--pr", str(number), "--merge", "--format", "json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert (out["kind"], out["needs_approval"], out["merged"]) == ("revocation", False, True)
    assert not [rv for rv in w.gh.emu.state.reviews if rv.pr_number == number]
    assert f"grants/{RO}.hcl" not in w.main_files()
    trailers = parse_trailers(w.message())
    assert ("Jit-Kind", "revocation") in trailers and ("Jit-Grant", RO) in trailers
    head_message = git(w.gh.bare_path, "log", "-1", "--format=%B", pr.head_sha)
    assert ("Revoked-by", "carol") in parse_trailers(head_message)


@pytest.mark.parametrize(
    "extra",
    [
        {"grants/carol-new.hcl": grant_text(principal="carol@example.com")},  # + a request
        {"grants/other.hcl": grant_text(expires_at="2026-11-24T20:00:00Z")},  # + an extension
        {"modules/aws-iam-role/main.tf": "# nothing to see\n"},  # + a file outside grants/
    ],
    ids=["adds-a-grant", "extends-a-grant", "adds-a-module-file"],
)
def test_a_revocation_that_also_adds_or_edits_never_merges_unapproved(
    world: World, extra: dict[str, str]
) -> None:
    """A PR named, described and labelled like jitctl's revocation, from a jit/revoke/ branch,
    that also changes something else: judged by its diff, it needs approval."""
    w = world
    seed_grant(w)
    w.gh.emu.commit_files(
        "main", {"grants/other.hcl": grant_text(expires_at="2026-11-24T16:00:00Z")}, "other",
        author="alice",
    )  # fmt: skip
    branch = f"jit/revoke/{RO}-20261124t120000"
    w.gh.emu.commit_files(branch, {f"grants/{RO}.hcl": None, **extra}, "revoke", author="carol")
    with w.client("carol") as g:
        pull = g.get_repo(REPO).create_pull(
            base="main", head=branch, title=f"jitctl: revoke {RO} (aws-prod-readonly)",
            body="<!-- jitctl:revocation -->\nDeletes one grant only.",
        )  # fmt: skip
        pull.add_to_labels("revocation")
    r = w.jitctl("approvals", "--pr", str(pull.number), "--merge", "--format", "json")
    out = json.loads(r.stdout)
    assert r.exit_code == 1, r.output
    assert out["kind"] != "revocation" and not out["merged"], out
    assert w.gh.emu.pull(pull.number).merged_at is None
    assert f"grants/{RO}.hcl" in w.main_files()


def test_extend_on_github_needs_approval(world: World) -> None:
    w = world
    seed_grant(w)
    r = run(w, "extend", RO, "--for", "2h", "--as", "alice", "--open-pr", "--format", "json")
    assert r.exit_code == 0, r.output
    [number] = w.pulls()
    pr = w.gh.emu.pull(number)
    assert pr.head_ref == json.loads(r.stdout)["branch"] and pr.head_ref.startswith("jit/extend/")
    r = w.jitctl("approvals", "--pr", str(number), "--merge", "--format", "json")
    out = json.loads(r.stdout)
    assert r.exit_code == 1 and (out["kind"], out["merged"]) == ("extension", False), r.output
    assert out["state"] == "pending"
    w.approve(number, "carol")
    r = w.jitctl("approvals", "--pr", str(number), "--merge", "--format", "json")
    assert r.exit_code == 0 and json.loads(r.stdout)["merged"], r.output
    text = git(w.gh.bare_path, "show", f"main:grants/{RO}.hcl")
    assert 'expires_at = "2026-11-24T18:00:00Z"' in text


def test_revoke_and_extend_on_github_leave_nothing_on_failure(world: World) -> None:
    w = world
    seed_grant(w)
    r = run(w, "revoke", RO, "--as", "carol", login=None)
    assert r.exit_code == 2 and "[github.token]" in r.output, r.output
    w.gh.emu.inject("POST", r"/pulls$", "5xx", status=502)
    r = run(w, "extend", RO, "--for", "1h", "--as", "alice", "--open-pr")
    assert r.exit_code == 2 and "deleted branch jit/extend/" in r.output, r.output
    assert remote_branches(w) == ["main"] and local_branches(w) == ["main"]
    assert w.pulls() == []


def test_no_command_says_not_available() -> None:
    runner = CliRunner()
    for args in (["merge", "b"], ["review", "x", "--approved-by", "carol"]):
        r = runner.invoke(main, args)
        assert r.exit_code == 2 and "--local" in r.output, r.output
        assert "not available" not in r.output
    r = runner.invoke(main, ["revoke", "x", "--local", "--open-pr"])
    assert r.exit_code == 2 and "exclude each other" in r.output, r.output
    root = Path(__file__).resolve().parents[2] / "controller"
    assert not [p for p in root.rglob("*.py") if "not available in this build" in p.read_text()]


def test_someone_elses_revocation_needs_the_grants_approvers(world: World) -> None:
    """bob (an engineer, neither holding alice's grant nor approving aws-prod-readonly) cannot
    take her access away by opening a pull request; alice can, and so can an approver."""
    w = world
    seed_grant(w)
    r = run(w, "revoke", RO, "--as", "bob", login="bob")
    assert r.exit_code == 0, r.output
    assert "needs approval (1 of @acme/sre, carol)" in r.output
    [number] = w.pulls()
    r = w.jitctl("approvals", "--pr", str(number), "--merge", "--format", "json")
    out = json.loads(r.stdout)
    assert r.exit_code == 1, r.output
    assert (out["kind"], out["needs_approval"], out["merged"]) == ("revocation", True, False)
    assert out["state"] == "pending" and f"grants/{RO}.hcl" in w.main_files()
    w.approve(number, "dave")  # @acme/sre
    r = w.jitctl("approvals", "--pr", str(number), "--merge", "--format", "json")
    assert r.exit_code == 0 and json.loads(r.stdout)["merged"], r.output
    assert f"grants/{RO}.hcl" not in w.main_files()
    assert ("Approved-by", "dave") in parse_trailers(w.message())


def test_the_holder_revokes_without_approval(world: World) -> None:
    w = world
    seed_grant(w)
    r = run(w, "revoke", RO, "--as", "alice")
    assert r.exit_code == 0 and "needs no approval" in r.output, r.output
    [number] = w.pulls()
    r = w.jitctl("approvals", "--pr", str(number), "--merge", "--format", "json")
    assert r.exit_code == 0 and json.loads(r.stdout)["merged"], r.output
    assert f"grants/{RO}.hcl" not in w.main_files()
