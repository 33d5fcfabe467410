"""Publish a branch from a developer's checkout as a pull request on GitHub, leaving nothing
behind when anything fails (``request --open-pr``, ``extend --open-pr``, ``revoke``).

1. Where: the repository is inferred from the remote's URL (https, ``ssh://`` or scp-like
   ``git@host:owner/name.git``) on the GitHub host of ``GITHUB_API_URL`` (github.com by
   default), unless ``JITCTL_REPOSITORY`` (or, in Actions, ``GITHUB_REPOSITORY``) names it.
2. Who: the GitHub App (``JITCTL_APP_ID`` + key, as ``ForgeConfig.from_env``), else
   ``GITHUB_TOKEN`` / ``GH_TOKEN``, else ``gh auth token --hostname HOST`` when ``gh`` is on
   PATH (no shell, a timeout), else an error naming both ways.
3. Check before push: one authenticated read of the repository (readable, and the token may
   push), the base branch exists there and the new branch does not.
4. Push the one branch (``--force-with-lease=<ref>:``: only if it does not exist yet), open the
   pull request (an unclear answer: look for it), label it. Any failure from the push on: close
   the pull request if one was opened, delete the pushed branch from the remote (only while it
   still is our commit) and the local branch, and say so.

Nothing here decides policy: the caller judged the change before calling.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from controller.core.errors import JitError
from controller.git.repo import GitRepo
from controller.github.forge import DEFAULT_API, Forge, ForgeConfig, PullRequest
from controller.github.retry import Uncertain

GH_TIMEOUT = 15.0  # seconds for `gh auth token`
REPO_RULE = "github.repository"
TOKEN_RULE = "github.token"
PREFLIGHT_RULE = "github.preflight"
PUSH_RULE = "github.push"

# GitHub's own limits: an owner is 1-39 of [A-Za-z0-9-]; a repository name 1-100 of
# [A-Za-z0-9._-], not "." or ".."
_OWNER = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})"
_NAME = r"[A-Za-z0-9._-]{1,100}"
_HOST = r"[A-Za-z0-9.-]+"
_PATH = rf"(?P<owner>{_OWNER})/(?P<name>{_NAME})/?"
_URL_FORMS = (
    # https://[user[:password]@]host[:port]/owner/name[.git][/]
    re.compile(rf"^https?://(?:[^@/]+@)?(?P<host>{_HOST})(?::\d+)?/+{_PATH}$"),
    # ssh://[user@]host[:port]/owner/name[.git]
    re.compile(rf"^ssh://(?:[^@/]+@)?(?P<host>{_HOST})(?::\d+)?/+{_PATH}$"),
    # [user@]host:owner/name[.git] (scp-like: no slash before the colon)
    re.compile(rf"^(?:[^@/:]+@)?(?P<host>{_HOST}):{_PATH}$"),
)
_FULL_NAME = re.compile(rf"^{_OWNER}/{_NAME}$")


def parse_remote_url(url: str) -> tuple[str, str, str] | None:
    """(host, owner, name) of a GitHub-shaped repository URL, else None (a path, file://,
    a URL with more or fewer path segments)."""
    for form in _URL_FORMS:
        m = form.match(url.strip())
        if m is not None:
            name = m.group("name")
            if name.endswith(".git"):
                name = name[: -len(".git")]
            if name in ("", ".", ".."):
                return None
            return m.group("host").lower(), m.group("owner"), name
    return None


def web_host(api_url: str) -> str:
    """The host repositories live on for an API URL: api.github.com -> github.com, a GitHub
    Enterprise Server's https://ghe.example.com/api/v3 -> ghe.example.com, GHE.com's
    https://api.acme.ghe.com -> acme.ghe.com."""
    host = (urllib.parse.urlsplit(api_url).hostname or "").lower()
    return host.removeprefix("api.")


def remote_url(repo: GitRepo, remote: str) -> str | None:
    """The remote's URL as configured (``remote.<name>.url``, before any ``insteadOf``), ""
    when it has none. A name that is not one of ``git remote``'s is refused: it would reach
    ``git push`` as an argument."""
    if remote not in repo.git("remote").splitlines():
        raise JitError(f"no git remote {remote!r} in {repo.path}", rule="usage")
    try:
        return repo.git("config", "--get", f"remote.{remote}.url").strip()
    except JitError:
        return ""


def infer_repository(url: str | None, remote: str, env: Mapping[str, str]) -> str:
    """owner/name to open the pull request on. An explicit name (JITCTL_REPOSITORY, else
    GITHUB_REPOSITORY) wins over the remote, but never contradicts a GitHub URL of the remote:
    the branch would be pushed to one repository and the pull request opened on another."""
    host = web_host(env.get("GITHUB_API_URL") or DEFAULT_API)
    named_by = next((k for k in ("JITCTL_REPOSITORY", "GITHUB_REPOSITORY") if env.get(k)), None)
    explicit = env.get(named_by, "").strip() if named_by else ""
    if named_by and not _FULL_NAME.match(explicit):
        raise JitError(f"{named_by}={explicit!r} is not owner/name", rule=REPO_RULE)
    parsed = parse_remote_url(url) if url else None
    if parsed is not None and parsed[0] == host:
        inferred = f"{parsed[1]}/{parsed[2]}"
        if explicit and explicit.lower() != inferred.lower():
            raise JitError(
                f"{named_by} names {explicit} but remote {remote!r} is {url} ({inferred}); "
                f"the branch would go to one and the pull request to the other",
                rule=REPO_RULE,
            )
        return inferred
    if explicit:
        return explicit
    where = f"is {url}" if url else "has no URL"
    if parsed is not None:
        why = f"is on {parsed[0]}, not on {host} (the host of GITHUB_API_URL)"
    else:
        why = f"{where}: not a GitHub repository URL"
    raise JitError(
        f"remote {remote!r} {why}; set JITCTL_REPOSITORY=owner/name (and GITHUB_API_URL for "
        "GitHub Enterprise)",
        rule=REPO_RULE,
    )


def resolve_token(
    env: Mapping[str, str], host: str, *, which: Callable[[str], str | None] = shutil.which
) -> str:
    """GITHUB_TOKEN, GH_TOKEN, else what ``gh auth token --hostname HOST`` prints."""
    token = (env.get("GITHUB_TOKEN") or env.get("GH_TOKEN") or "").strip()
    if token:
        return token
    advice = "set GITHUB_TOKEN (or GH_TOKEN), or log in with `gh auth login`"
    gh = which("gh")
    if gh is None:
        raise JitError(f"no GitHub token: {advice} (gh is not on PATH)", rule=TOKEN_RULE)
    try:
        proc = subprocess.run(
            [gh, "auth", "token", "--hostname", host],
            capture_output=True,
            text=True,
            timeout=GH_TIMEOUT,
            check=False,
            env={k: v for k, v in os.environ.items() if k not in ("GITHUB_TOKEN", "GH_TOKEN")},
        )
    except subprocess.TimeoutExpired:
        raise JitError(
            f"no GitHub token: `gh auth token` gave no answer in {GH_TIMEOUT:g} s; {advice}",
            rule=TOKEN_RULE,
        ) from None
    except OSError as exc:
        raise JitError(
            f"no GitHub token: cannot run {gh}: {exc.strerror}", rule=TOKEN_RULE
        ) from None
    token = proc.stdout.strip()
    if proc.returncode != 0 or not token or any(c.isspace() for c in token):
        said = (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[0]
        raise JitError(
            f"no GitHub token: `gh auth token --hostname {host}` failed ({said[:200]}); {advice}",
            rule=TOKEN_RULE,
        )
    return token


def forge_config(repo: GitRepo, remote: str, env: Mapping[str, str] | None = None) -> ForgeConfig:
    """Where and who, resolved before anything is pushed (errors: exit 2, a rule id)."""
    e = os.environ if env is None else env
    name = infer_repository(remote_url(repo, remote), remote, e)
    if e.get("JITCTL_APP_ID") and (
        e.get("JITCTL_APP_PRIVATE_KEY") or e.get("JITCTL_APP_PRIVATE_KEY_FILE")
    ):
        return ForgeConfig.from_env(e, repo=name)
    api = (e.get("GITHUB_API_URL") or DEFAULT_API).rstrip("/")
    token = resolve_token(e, web_host(api))
    try:
        timeout = int(e.get("JITCTL_HTTP_TIMEOUT") or 30)
    except ValueError:
        raise JitError(
            "JITCTL_HTTP_TIMEOUT is not a whole number of seconds", rule="usage"
        ) from None
    return ForgeConfig(repo=name, api_url=api, token=token, timeout=timeout)


@dataclass(frozen=True)
class Publication:
    """A local branch to publish as a pull request into ``base``."""

    branch: str
    sha: str
    base: str
    title: str
    body: str
    labels: tuple[str, ...] = ()


def preflight(forge: Forge, pub: Publication) -> None:
    """Everything that can be known before the push: the token reads the repository and may
    push to it, the base branch exists, the branch does not."""
    access = forge.repository_access()
    if access.push is False:
        raise JitError(
            f"the token may not push to {forge.repo} (read access only); nothing pushed",
            rule=PREFLIGHT_RULE,
        )
    if forge.get_ref(pub.base) is None:
        raise JitError(
            f"{forge.repo} has no branch {pub.base!r} to open the pull request into; "
            "nothing pushed",
            rule=PREFLIGHT_RULE,
        )
    if forge.get_ref(pub.branch) is not None:
        raise JitError(
            f"branch {pub.branch} exists on {forge.repo} already; nothing pushed",
            rule=PREFLIGHT_RULE,
        )


def publish(repo: GitRepo, forge: Forge, pub: Publication, *, remote: str) -> PullRequest:
    """Preflight, push, open (and label) the pull request. On any failure after the preflight,
    nothing stays behind: not the pull request, not the remote branch, not the local branch."""
    try:
        preflight(forge, pub)
    except BaseException:
        drop_local(repo, pub)
        raise
    opened: PullRequest | None = None
    try:
        _push(repo, remote, pub)
        opened = _open(forge, pub)
        if pub.labels:
            forge.add_labels(opened.number, pub.labels)
        return opened
    except BaseException as exc:
        notes = _rollback(repo, forge, pub, remote, opened)
        if isinstance(exc, Exception):
            reason = _plain(exc) if isinstance(exc, JitError) else f"{type(exc).__name__}: {exc}"
            raise JitError(f"{reason}; {notes}", rule=_rule(exc)) from None
        raise


def _plain(exc: JitError) -> str:
    """The message without its ``[rule]``: the error it becomes carries its own."""
    return str(exc.args[0]) if exc.args else ""


def _rule(exc: BaseException) -> str:
    return exc.rule if isinstance(exc, JitError) and exc.rule else "github"


def _open(forge: Forge, pub: Publication) -> PullRequest:
    try:
        return forge.create_pull(pub.branch, pub.base, pub.title, pub.body)
    except Uncertain as exc:  # created or not? look before saying
        found = forge.find_pull(pub.branch, pub.base)
        if found is None:
            raise JitError(
                f"GitHub did not answer opening the pull request ({exc.cause}) and none is open",
                rule="github",
            ) from None
        return found


def _push(repo: GitRepo, remote: str, pub: Publication) -> None:
    ref = f"refs/heads/{pub.branch}"
    try:
        # only when the branch does not exist on the remote: never move someone else's branch
        repo.git("push", "--quiet", "--porcelain", f"--force-with-lease={ref}:", remote,
                 f"{pub.sha}:{ref}")  # fmt: skip
    except JitError as exc:
        raise JitError(
            f"{remote} refused the push of {pub.branch}: {_plain(exc)}", rule=PUSH_RULE
        ) from None


def _remote_sha(repo: GitRepo, remote: str, ref: str) -> str | None:
    out = repo.git("ls-remote", remote, ref).split()
    return out[0] if out else None


def _rollback(
    repo: GitRepo,
    forge: Forge,
    pub: Publication,
    remote: str,
    opened: PullRequest | None,
) -> str:
    """Undo what was done, best effort, and say what was undone and what is left."""
    notes: list[str] = []
    ref = f"refs/heads/{pub.branch}"
    if opened is not None:
        try:
            forge.update_pull(opened.number, state="closed")
            notes.append(f"closed PR #{opened.number}")
        except Exception as exc:  # the branch deletion below closes it on GitHub too
            notes.append(f"could not close PR #{opened.number} ({exc})")
    try:
        # a refused or interrupted push may still have landed: look rather than trust it
        on_remote = _remote_sha(repo, remote, ref)
    except JitError as exc:
        on_remote = None
        notes.append(f"could not read {remote} ({exc}); check for branch {pub.branch} there")
    if on_remote == pub.sha:
        try:
            repo.git("push", "--quiet", f"--force-with-lease={ref}:{pub.sha}", remote, f":{ref}")
            notes.append(f"deleted branch {pub.branch} from {remote} again")
        except JitError as exc:
            notes.append(
                f"could not delete branch {pub.branch} from {remote} ({exc}); delete it: "
                f"git push {remote} --delete {pub.branch}"
            )
    elif on_remote is not None:
        notes.append(f"branch {pub.branch} on {remote} is not ours (left alone)")
    else:
        notes.append(f"no branch left on {remote}")
    drop_local(repo, pub)
    return "; ".join(notes)


def drop_local(repo: GitRepo, pub: Publication) -> None:
    """The local branch was made for this publication alone: a failed run leaves none, so the
    same command can simply run again."""
    with contextlib.suppress(JitError):
        repo.git("update-ref", "-d", f"refs/heads/{pub.branch}", pub.sha)
