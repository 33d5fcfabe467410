"""The local lifecycle on a plain git repository: request, merge, expire, revoke, extend.

Imperative shell: gather a snapshot from git, ask the pure core, then act. Every write builds
its commit in a temporary index and moves the branch with a compare-and-swap
(``git update-ref <ref> <new> <old>``); the index and work tree that have the branch checked out
follow through :mod:`controller.git.txn`, so a failure at any step leaves the repository as it
was and a kill at any instant leaves it old, new, or completed by the next run.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from controller.core.errors import JitError
from controller.core.model import (
    GRANT_SUFFIX,
    GRANTS_DIR,
    Catalog,
    ChangeKind,
    FileChange,
    Grant,
    GrantFile,
    Review,
    ReviewState,
)
from controller.core.policy import (
    ApprovalOutcome,
    ChangeSet,
    Decision,
    check_change,
    evaluate_approvals,
    plan_expiry,
    team_members,
)
from controller.core.times import format_rfc3339, shift
from controller.formats.catalog import LOGIN_RE
from controller.formats.grantfile import (
    GRANT_ID_RE,
    format_grant,
    materialise_text,
    parse_grant_file,
)
from controller.formats.trailers import (
    REQUESTED_BY,
    expiry_message,
    merge_message,
    parse_trailers,
    request_message,
    revocation_message,
    values,
)
from controller.git import breakglass, txn
from controller.git.repo import GitRepo
from controller.git.snapshot import gather_change, read_catalog, read_grant_files, related_grants


@dataclass(frozen=True)
class Ctx:
    """What every local operation needs: the repo, its default branch, the time, commit env."""

    repo: GitRepo
    branch: str
    now: datetime
    catalog_path: str | None
    pin_dates: bool  # date commits at ``now`` (replays, tests, the demo)

    @property
    def env(self) -> dict[str, str]:
        if not self.pin_dates:
            return {}
        stamp = format_rfc3339(self.now)
        return {"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}

    def catalog(self) -> Catalog:
        return read_catalog(self.repo, self.branch, self.catalog_path)


def signs(catalog: Catalog) -> bool:
    """jitctl signs its own commits on the default branch (merge, expire, revoke) when the
    catalog names an allowed-signers file for the audit to verify them against."""
    return catalog.audit.signers is not None


def grant_path(grant_id: str) -> str:
    return f"{GRANTS_DIR}/{grant_id}{GRANT_SUFFIX}"


def begin(repo: GitRepo, *, writes: bool = True) -> str | None:
    """Before a command writes: finish or undo a run that was killed half-way (returns a note
    saying which), then refuse to write while git is mid-rebase, merge, cherry-pick or bisect."""
    note = txn.recover(repo)
    if writes:
        txn.ensure_safe_state(repo)
    return note


# --- who is asking ------------------------------------------------------------------------


def whoami(repo: GitRepo, catalog: Catalog, login: str | None) -> str:
    """The requester's GitHub login: --as, else git config jitctl.login, else the git email
    mapped through the catalog's identities (exactly one match). Otherwise a clear error."""
    if login:
        return valid_login(login, "--as")
    configured = repo.config_value("jitctl.login")
    if configured:
        return valid_login(configured, "git config jitctl.login")
    email = repo.config_value("user.email")
    if email:
        matches = [who for who, ps in catalog.identities.items() if email in ps]
        if len(matches) == 1:
            return matches[0]
    raise JitError(
        "cannot tell who you are: pass --as LOGIN, set `git config jitctl.login LOGIN`, or use "
        "a git user.email listed under identities in the catalog",
        rule="usage",
    )


def valid_login(login: str, source: str) -> str:
    """A GitHub login, as it will be written into a commit trailer: nothing else gets in (no
    newline, no control character: ``carol\nApproved-by: mallory`` is refused)."""
    if not LOGIN_RE.fullmatch(login):
        raise JitError(f"{source}: {login!r} is not a GitHub login", rule="usage")
    return login


def _later(start: datetime, duration: timedelta, what: str) -> datetime:
    try:
        return shift(start, duration)
    except ValueError as exc:
        raise JitError(f"{what}: {exc}", rule="usage") from None


def _message(build: Callable[[], str]) -> str:
    try:
        return build()
    except ValueError as exc:
        raise JitError(f"cannot write the commit message: {exc}", rule="usage") from None


def new_grant_id(
    login: str, entitlement: str, start: datetime, taken: Callable[[str], bool]
) -> str:
    stamp = start.astimezone(UTC).strftime("%Y%m%dt%H%M")  # ids read the same in every zone
    base = f"{login}-{entitlement}-{stamp}".lower()
    base = re.sub(r"[^a-z0-9._-]", "-", base)[:96].strip("-._") or "grant"
    if not GRANT_ID_RE.fullmatch(base):
        base = "g-" + base
    candidate, n = base, 1
    while taken(candidate):
        n += 1
        candidate = f"{base}-{n}"
    return candidate


# --- request and extend --------------------------------------------------------------------


@dataclass(frozen=True)
class Proposal:
    """A grant file a requester proposes, judged before anything is written."""

    grant: Grant | None
    path: str
    text: str
    decision: Decision
    branch: str | None = None
    commit: str | None = None
    # the clock starts at approval: ``grant`` is the request as judged if merged now, and its
    # expires_at is written when it merges
    from_approval: bool = False


def _judge_new_text(
    ctx: Ctx,
    catalog: Catalog,
    path: str,
    text: str,
    before: Grant | None,
    login: str,
    break_glass: bool = False,
) -> tuple[GrantFile, Decision]:
    gf = parse_grant_file(path, text.encode("utf-8"))
    change = FileChange.MODIFIED if before is not None else FileChange.ADDED
    related, related_counts = related_grants(ctx.repo, ctx.branch, [gf], ctx.now, catalog)
    cs = ChangeSet(
        catalog=catalog,
        changed={path: change},
        base={path: GrantFile(path, before)} if before is not None else {},
        head={path: gf},
        author=login,
        now=ctx.now,
        related=related,
        related_counts=related_counts,
        break_glass=break_glass,
    )
    return gf, check_change(cs)


def request(
    ctx: Ctx,
    *,
    entitlement: str,
    duration: timedelta,
    reason: str,
    login: str | None,
    principal: str | None = None,
    starts_at: datetime | None = None,
    ticket: str | None = None,
    commit: bool = False,
    from_approval: bool = True,
    break_glass: bool = False,
) -> Proposal:
    """Write grants/<id>.hcl (work tree), or with ``commit`` a branch jit/request/<id>.

    With ``from_approval`` the file asks for ``duration`` and the clock starts when it is
    approved and merged; otherwise expires_at = (starts_at or now) + duration, fixed now.
    Judged by the catalog at the default branch first; refused proposals write nothing.
    ``break_glass`` marks the request commit (``Jit-Break-Glass: yes``): it then merges without
    approval if the entitlement allows break-glass, and must be reviewed after the fact."""
    catalog = ctx.catalog()
    who = whoami(ctx.repo, catalog, login)
    if principal is None:
        mine = next(
            (ps for name, ps in catalog.identities.items() if name.lower() == who.lower()), ()
        )
        if not mine:
            raise JitError(
                f"{who} has no identity in the catalog; pass --principal or ask the platform "
                "team to add one under identities",
                rule="requester.principal",
            )
        principal = mine[0]
    start = starts_at if starts_at is not None and starts_at > ctx.now else ctx.now
    expires_at = _later(starts_at or ctx.now, duration, "--for")
    existing = {e.path for e in ctx.repo.entries(ctx.branch)}

    def taken(gid: str) -> bool:
        return (
            grant_path(gid) in existing
            or ctx.repo.branch_exists(f"jit/request/{gid}")
            or os.path.lexists(ctx.repo.path / grant_path(gid))
        )

    gid = new_grant_id(who, entitlement, start, taken)
    try:
        text = format_grant(
            principal=principal,
            entitlement=entitlement,
            expires_at=None if from_approval else expires_at,
            reason=reason,
            starts_at=starts_at,
            ticket=ticket,
            comment=f"Requested by {who} with jitctl.",
            duration=duration if from_approval else None,
        )
    except ValueError as exc:
        raise JitError(f"cannot write the grant: {exc}", rule="usage") from None
    path = grant_path(gid)
    gf, decision = _judge_new_text(ctx, catalog, path, text, None, who, break_glass)
    # an open request is judged as the grant it becomes if merged now
    grant = gf.grant or next((c.after for c in decision.changes if c.path == path), None)
    opened = path in decision.materialise
    if not decision.ok or grant is None:
        return Proposal(grant, path, text, decision, from_approval=opened)
    if break_glass and not commit:
        raise JitError("a break-glass request is committed: add --local or --open-pr", rule="usage")
    if not commit:
        txn.write_new_file(ctx.repo, path, text.encode("utf-8"))
        return Proposal(grant, path, text, decision, from_approval=opened)
    branch = f"jit/request/{gid}"
    asked = grant
    msg = _message(
        lambda: request_message(
            asked, who, ChangeKind.REQUEST, open_request=opened, break_glass=break_glass
        ).text()
    )
    parent = ctx.repo.rev(ctx.branch)
    sha = ctx.repo.commit_tree(parent, {path: text.encode("utf-8")}, msg, env=ctx.env)
    ctx.repo.update_ref(f"refs/heads/{branch}", sha, None)
    return Proposal(grant, path, text, decision, branch, sha, from_approval=opened)


def extend(
    ctx: Ctx,
    *,
    grant_id: str,
    duration: timedelta,
    login: str | None,
    reason: str | None = None,
    commit: bool = False,
) -> Proposal:
    """Move a grant's expires_at later by ``duration`` (a change needing approval again)."""
    catalog = ctx.catalog()
    who = whoami(ctx.repo, catalog, login)
    path = grant_path(grant_id)
    current = read_grant_files(ctx.repo, ctx.branch, [path]).get(path)
    if current is None or current.grant is None:
        raise JitError(f"no valid grant {grant_id!r} on {ctx.branch}", rule="usage")
    g = current.grant
    new_expiry = _later(max(g.expires_at, ctx.now), duration, "--for")
    original = ctx.repo.read(ctx.branch, path) or b""
    text = _edit_values(
        original.decode("utf-8"), g, {"expires_at": format_rfc3339(new_expiry), "reason": reason}
    )
    gf, decision = _judge_new_text(ctx, catalog, path, text, g, who)
    if not decision.ok or gf.grant is None:
        return Proposal(gf.grant, path, text, decision)
    if not commit:
        committed = ctx.repo.read("HEAD", path) if ctx.repo.has_commit("HEAD") else None
        if committed is None and (ctx.repo.path / path).exists():
            raise JitError(f"{path}: an untracked file is in the way; nothing written", rule="git")
        txn.replace_file(ctx.repo, path, committed or b"", text.encode("utf-8"))
        return Proposal(gf.grant, path, text, decision)
    branch = f"jit/extend/{grant_id}-{ctx.now.strftime('%Y%m%dt%H%M%S')}"
    grant = gf.grant
    msg = _message(lambda: request_message(grant, who, ChangeKind.EXTENSION).text())
    parent = ctx.repo.rev(ctx.branch)
    sha = ctx.repo.commit_tree(parent, {path: text.encode("utf-8")}, msg, env=ctx.env)
    ctx.repo.update_ref(f"refs/heads/{branch}", sha, None)
    return Proposal(gf.grant, path, text, decision, branch, sha)


def _edit_values(text: str, grant: Grant, new: dict[str, str | None]) -> str:
    """Change attribute values in place, keeping every other byte, so the diff a reviewer
    reads is exactly the changed lines. Values are re-quoted with format_grant's escaping."""
    lines = text.splitlines(keepends=True)
    for attr, value in new.items():
        if value is None:
            continue
        if "\n" in value or any(ord(c) < 32 for c in value) or "${" in value or "%{" in value:
            raise JitError(f"cannot write {attr}: control characters or templates", rule="usage")
        n = grant.lines.get(attr)
        if n is None or n > len(lines):
            raise JitError(f"cannot find {attr} in {grant.path}", rule="usage")
        quoted = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        pattern = re.compile(rf'^(\s*{attr}\s*=\s*)"(?:[^"\\]|\\.)*"')
        match = pattern.match(lines[n - 1])
        if match is None:
            raise JitError(f"cannot edit {attr} on line {n} of {grant.path}", rule="usage")
        rest = lines[n - 1][match.end() :]
        lines[n - 1] = match.group(1) + quoted + rest
    return "".join(lines)


# --- merge ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MergeResult:
    decision: Decision
    approval: ApprovalOutcome | None
    requester: str | None
    merged: bool
    refusal: str | None = None
    commit: str | None = None
    review_by: datetime | None = None  # break-glass: approve after the fact before this


def requester_of(repo: GitRepo, base: str, branch: str) -> str | None:
    """The newest ``Requested-by`` trailer on the branch's own commits."""
    log = repo.git("log", "--format=%B%x00", f"{repo.rev(base)}..{repo.rev(branch)}")
    for message in log.split("\0"):
        found = values(parse_trailers(message), REQUESTED_BY)
        if found:
            return found[-1]
    return None


def merge(
    ctx: Ctx, *, branch: str, approvers: Sequence[str], author: str | None = None
) -> MergeResult:
    """Merge ``branch`` into the default branch if, and only if, policy allows it now."""
    repo = ctx.repo
    if branch == ctx.branch:
        raise JitError(f"{branch} is the default branch; name the branch to merge", rule="usage")
    for login in approvers:
        valid_login(login, "--approved-by")
    if author is not None:
        valid_login(author, "--author")
    base_sha = repo.rev(ctx.branch)
    head_sha = repo.rev(branch)
    requester = author or requester_of(repo, ctx.branch, branch)
    cs = gather_change(
        repo,
        base=base_sha,
        head=head_sha,
        author=requester,
        now=ctx.now,
        catalog_path=ctx.catalog_path,
    )
    break_glass = breakglass.requested_on(repo, ctx.branch, branch)
    decision = check_change(replace(cs, break_glass=break_glass))

    def refused(why: str, approval: ApprovalOutcome | None = None) -> MergeResult:
        return MergeResult(decision, approval, requester, False, why)

    if not decision.ok:
        return refused("the change breaks policy")
    if decision.kind is ChangeKind.NONE:
        if head_sha != base_sha and repo.is_ancestor(head_sha, base_sha):
            # merged already (e.g. by a run that was interrupted and then completed): done
            return MergeResult(decision, None, requester, True, None, None)
        return refused("the branch changes no grant; jitctl merges grant changes only")
    if decision.kind is ChangeKind.MIXED:
        return refused(
            "the branch mixes grant changes with other changes; those need a person's code "
            "review and a merge by hand"
        )
    approval = None
    counted: tuple[str, ...] = ()
    review_by = None
    if decision.break_glass:
        review_by = breakglass.review_deadline(cs.catalog, decision, ctx.now)
    if decision.needs_approval:
        reviews = [
            Review(login=a, state=ReviewState.APPROVED, commit=head_sha, id=i)
            for i, a in enumerate(approvers)
        ]
        approval = evaluate_approvals(
            decision.approval_rules,
            reviews,
            head=head_sha,
            author=requester,
            members=team_members(cs.catalog),
        )
        if not approval.satisfied:
            return refused("not enough approvals: " + "; ".join(approval.missing), approval)
        counted = approval.approvers
    txn.checked_out_here(repo, ctx.branch)  # refuse early what advance() would refuse
    judged = head_sha
    if decision.materialise:
        # the clock starts now: write expires_at into each open request (a commit on top of
        # the approved head, as on GitHub), then judge that materialised change again; the
        # merge commit takes its tree and keeps the request commit as its second parent
        judged = materialise_commit(ctx, decision, head_sha)
        cs = gather_change(
            repo,
            base=base_sha,
            head=judged,
            author=requester,
            now=ctx.now,
            catalog_path=ctx.catalog_path,
        )
        decision = check_change(replace(cs, break_glass=break_glass))
        if not decision.ok or decision.materialise:
            return refused("the materialised request breaks policy")
    tree = _merge_tree(repo, base_sha, judged)
    ids = [c.grant.id for c in decision.changes if c.grant is not None]
    kind = decision.kind
    bg = [(gid, review_by) for gid in ids] if review_by is not None else []
    msg = _message(
        lambda: merge_message(branch, kind, ids, requester, counted, break_glass=bg).text()
    )
    sha = repo.commit_with_tree(tree, (base_sha, head_sha), msg, ctx.env, signs(cs.catalog))
    txn.advance(repo, ctx.branch, base_sha, sha)
    return MergeResult(decision, approval, requester, True, None, sha, review_by)


def materialise_commit(ctx: Ctx, decision: Decision, head_sha: str) -> str:
    """A commit on ``head_sha`` that writes expires_at (as judged now) into every open request
    of ``decision`` and changes nothing else. No ref moves: it is what the merge is judged on.
    """

    def read(path: str) -> bytes:
        data = ctx.repo.read(head_sha, path)
        if data is None:
            raise JitError(f"{path}: not found at {head_sha[:12]}", rule="git")
        return data

    files, msg = materialised(decision, read, ctx.now, rule="git")
    return ctx.repo.commit_tree(head_sha, files, msg, env=ctx.env)


def materialised(
    decision: Decision, read: Callable[[str], bytes], now: datetime, *, rule: str
) -> tuple[dict[str, bytes], str]:
    """Each open request of ``decision`` with expires_at (as judged) written in, and the commit
    message that says so. ``read(path)``: the file's bytes at the judged head (it raises its
    own error when it cannot); a file that cannot be written raises JitError(rule)."""
    files: dict[str, bytes] = {}
    summary: list[str] = []
    for c in decision.changes:
        if c.path not in decision.materialise or c.after is None:
            continue
        try:
            files[c.path] = materialise_text(c.path, read(c.path), c.after.expires_at)
        except ValueError as exc:
            raise JitError(f"cannot start the clock: {exc}", rule=rule) from None
        summary.append(f"{c.after.id} until {format_rfc3339(c.after.expires_at)}")
    return files, materialise_message(summary, now)


def materialise_message(summary: Sequence[str], now: datetime) -> str:
    return (
        f"jitctl: start the clock at {format_rfc3339(now.replace(microsecond=0))}\n\n"
        + "\n".join(f"- {line}" for line in summary)
        + "\n"
    )


def _merge_tree(repo: GitRepo, base: str, head: str) -> str:
    try:
        out = repo.git("merge-tree", "--write-tree", "--no-messages", base, head)
    except JitError as exc:
        raise JitError(f"the branch does not merge cleanly: {exc}", rule="git") from None
    return out.splitlines()[0].strip()


# --- expire and revoke ---------------------------------------------------------------------


@dataclass(frozen=True)
class ExpireResult:
    expired: tuple[Grant, ...]
    commit: str | None
    dry_run: bool
    invalid: tuple[str, ...] = field(default=())


def expire(ctx: Ctx, *, dry_run: bool = False) -> ExpireResult:
    """One commit on the default branch deleting exactly the grants with expires_at <= now."""
    repo = ctx.repo
    base_sha = repo.rev(ctx.branch)
    files = read_grant_files(repo, base_sha)
    grants = [gf.grant for gf in files.values() if gf.grant is not None]
    invalid = tuple(sorted(p for p, gf in files.items() if gf.grant is None))
    expired = plan_expiry(grants, ctx.now)
    if dry_run or not expired:
        return ExpireResult(expired, None, dry_run, invalid)
    txn.checked_out_here(repo, ctx.branch)  # refuse early what advance() would refuse
    msg = _message(lambda: expiry_message(expired).text())
    sign = signs(ctx.catalog())
    sha = repo.commit_tree(base_sha, {g.path: None for g in expired}, msg, env=ctx.env, sign=sign)
    txn.advance(repo, ctx.branch, base_sha, sha)
    return ExpireResult(expired, sha, False, invalid)


def revoke(
    ctx: Ctx, *, grant_id: str, login: str | None, reason: str | None = None
) -> tuple[Grant, str]:
    """Delete a grant now, on the default branch (lowers privilege: no approval needed)."""
    repo = ctx.repo
    catalog = ctx.catalog()
    who, base_sha, grant = _to_revoke(ctx, catalog, grant_id, login)
    txn.checked_out_here(repo, ctx.branch)  # refuse early what advance() would refuse
    msg = _message(lambda: revocation_message(grant, who, reason).text())
    sha = repo.commit_tree(base_sha, {grant.path: None}, msg, env=ctx.env, sign=signs(catalog))
    txn.advance(repo, ctx.branch, base_sha, sha)
    return grant, sha


def revoke_branch(
    ctx: Ctx, *, grant_id: str, login: str | None, reason: str | None = None
) -> tuple[Grant, str, str, Decision]:
    """The revocation as a branch ``jit/revoke/<id>-<time>`` off the default branch (for a
    pull request): one commit deleting the grant file, with the revocation trailers.
    Returns the grant, the branch, its commit, and how it is judged here (with the catalog's
    own teams: whether it needs approval, see ``policy.may_revoke``)."""
    repo = ctx.repo
    who, base_sha, grant = _to_revoke(ctx, ctx.catalog(), grant_id, login)
    branch = f"jit/revoke/{grant_id}-{ctx.now.strftime('%Y%m%dt%H%M%S')}"
    msg = _message(lambda: revocation_message(grant, who, reason).text())
    sha = repo.commit_tree(base_sha, {grant.path: None}, msg, env=ctx.env)
    cs = gather_change(
        repo, base=base_sha, head=sha, author=who, now=ctx.now, catalog_path=ctx.catalog_path
    )
    decision = check_change(cs)
    repo.update_ref(f"refs/heads/{branch}", sha, None)
    return grant, branch, sha, decision


def _to_revoke(
    ctx: Ctx, catalog: Catalog, grant_id: str, login: str | None
) -> tuple[str, str, Grant]:
    """Who revokes, the default branch's commit, and the grant ``grant_id`` there (a file that
    is no valid grant is still revoked, under a placeholder: deleting lowers privilege)."""
    who = whoami(ctx.repo, catalog, login)
    base_sha = ctx.repo.rev(ctx.branch)
    path = grant_path(grant_id)
    gf = read_grant_files(ctx.repo, base_sha, [path]).get(path)
    if gf is None:
        raise JitError(f"no grant {grant_id!r} on {ctx.branch}", rule="usage")
    grant = gf.grant or Grant(
        id=grant_id, path=path, principal="?", entitlement="?", expires_at=ctx.now, reason=""
    )
    return who, base_sha, grant
