"""Pull requests, merges (real git merges) and reviews (kept per head sha)."""

from __future__ import annotations

import fnmatch
from typing import Any

from ..gitstore import Signature
from ..routing import ApiError, Ctx, Response, not_found
from ..server import GitHubEmulator
from ..state import PullRequest, Review
from . import ROUTER
from .common import get_pull, latest_statuses, mergeability, refresh, review_rules
from .meta import check_repo

route = ROUTER.add
MAX_PULL_FILES = 3000  # GitHub's list of a pull request's files stops here


def pull_body(emu: GitHubEmulator, pr: PullRequest, full: bool = True) -> dict[str, Any]:
    refresh(emu, pr)
    mergeable, mstate = mergeability(emu, pr) if full else (None, "unknown")
    return emu.shapes.pull(pr, full, mergeable, mstate)


def branch_of(emu: GitHubEmulator, spec: str) -> str:
    owner, sep, branch = spec.partition(":")
    if not sep:
        return spec
    if owner != emu.state.owner:
        raise ApiError(
            422,
            "Validation Failed",
            [{"resource": "PullRequest", "field": "head", "code": "invalid"}],
        )
    return branch


@route("GET", "/repos/{owner}/{repo}/pulls")
def list_pulls(ctx: Ctx) -> Response:
    check_repo(ctx)
    state = ctx.query.get("state", "open")
    head = ctx.query.get("head")
    base = ctx.query.get("base")
    pulls = sorted(ctx.emu.state.pulls.values(), key=lambda p: p.number, reverse=True)
    if ctx.query.get("direction") == "asc":
        pulls.reverse()
    selected = [
        p
        for p in pulls
        if (state == "all" or p.state == state)
        and (head is None or f"{ctx.emu.state.owner}:{p.head_ref}" == head or p.head_ref == head)
        and (base is None or p.base_ref == base)
    ]
    return ctx.paginate([pull_body(ctx.emu, p, full=False) for p in selected])


@route("POST", "/repos/{owner}/{repo}/pulls", write=True)
def create_pull(ctx: Ctx) -> Response:
    check_repo(ctx)
    emu = ctx.emu
    title, head_spec, base = ctx.require("title"), ctx.require("head"), ctx.require("base")
    head = branch_of(emu, head_spec)
    head_sha, base_sha = emu.ref(head), emu.ref(base)
    if head_sha is None or base_sha is None:
        field = "head" if head_sha is None else "base"
        raise ApiError(
            422,
            "Validation Failed",
            [{"resource": "PullRequest", "field": field, "code": "invalid"}],
        )
    for p in emu.state.pulls.values():
        if p.state == "open" and p.head_ref == head and p.base_ref == base:
            raise ApiError(
                422,
                "Validation Failed",
                [
                    {
                        "resource": "PullRequest",
                        "code": "custom",
                        "message": f"A pull request already exists for {emu.state.owner}:{head}.",
                    }
                ],
            )
    if not emu.git.rev_list(base_sha, head_sha):
        raise ApiError(
            422,
            "Validation Failed",
            [
                {
                    "resource": "PullRequest",
                    "code": "custom",
                    "message": f"No commits between {base} and {head}",
                }
            ],
        )
    check_body(emu, ctx.json("body"))
    now = emu.clock.tick()
    number = emu.state.next_issue_number
    emu.state.next_issue_number += 1
    pr = PullRequest(
        number=number,
        id=emu.state.new_id(),
        title=title,
        body=ctx.json("body"),
        user=ctx.login,
        head_ref=head,
        base_ref=base,
        head_sha=head_sha,
        base_sha=base_sha,
        reported_base_sha=base_sha,
        created_at=now,
        updated_at=now,
        draft=bool(ctx.json("draft", False)),
    )
    emu.state.pulls[number] = pr
    return Response(
        201, pull_body(emu, pr), {"Location": emu.shapes.pull(pr, False, None, "")["url"]}
    )


def check_body(emu: GitHubEmulator, body: Any) -> None:
    """GitHub refuses an issue or pull request body over 65,536 characters."""
    if isinstance(body, str) and len(body) > emu.body_limit:
        raise ApiError(
            422,
            "Validation Failed",
            [
                {
                    "resource": "Issue",
                    "code": "custom",
                    "field": "body",
                    "message": f"body is too long (maximum is {emu.body_limit} characters)",
                }
            ],
        )


@route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}")
def get_pull_route(ctx: Ctx) -> Response:
    check_repo(ctx)
    return Response(200, pull_body(ctx.emu, get_pull(ctx)))


@route("PATCH", "/repos/{owner}/{repo}/pulls/{pull_number}", write=True)
def update_pull(ctx: Ctx) -> Response:
    check_repo(ctx)
    pr = get_pull(ctx)
    emu = ctx.emu
    refresh(emu, pr)
    if "title" in (ctx.body or {}):
        pr.title = ctx.require("title")
    if "body" in (ctx.body or {}):
        check_body(emu, ctx.json("body"))
        pr.body = ctx.json("body")
    if "base" in (ctx.body or {}):
        base = ctx.require("base")
        if emu.ref(base) is None:
            raise ApiError(422, "Validation Failed", [{"field": "base", "code": "invalid"}])
        pr.base_ref = base
    state = ctx.json("state")
    if state is not None:
        if state not in ("open", "closed"):
            raise ApiError(422, "Validation Failed", [{"field": "state", "code": "invalid"}])
        if pr.merged_at is not None and state == "open":
            raise ApiError(422, "Validation Failed", [{"message": "merged PR can't be reopened"}])
        if state == "open" and pr.state == "closed":
            if emu.ref(pr.head_ref) is None:
                raise ApiError(422, "Validation Failed", [{"message": "head branch was deleted"}])
            pr.closed_at = None
        elif state == "closed" and pr.state == "open":
            pr.closed_at = emu.clock.tick()
        pr.state = state
    pr.updated_at = emu.clock.tick()
    return Response(200, pull_body(emu, pr))


def pr_range(emu: GitHubEmulator, pr: PullRequest) -> tuple[str, str]:
    refresh(emu, pr)
    if pr.merge_commit_sha and pr.merged_at:
        base = emu.git.commit_info(pr.merge_commit_sha).parents[0]
    else:
        base = emu.git.merge_base(pr.base_sha, pr.head_sha) or pr.base_sha
    return base, pr.head_sha


@route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/files")
def pull_files(ctx: Ctx) -> Response:
    check_repo(ctx)
    pr = get_pull(ctx)
    base, head = pr_range(ctx.emu, pr)
    # like GitHub: renames and copies detected, and at most 3,000 files listed (the PR's
    # changed_files still counts them all)
    files = ctx.emu.git.diff_files(base, head, renames=True)[:MAX_PULL_FILES]
    return ctx.paginate([ctx.emu.shapes.diff_entry(f, head) for f in files])


@route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/commits")
def pull_commits(ctx: Ctx) -> Response:
    check_repo(ctx)
    pr = get_pull(ctx)
    base, head = pr_range(ctx.emu, pr)
    shas = ctx.emu.git.rev_list(base, head)
    return ctx.paginate([ctx.emu.shapes.commit(ctx.emu.git.commit_info(s)) for s in shas])


# -- merge -----------------------------------------------------------------------------


@route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/merge")
def is_merged(ctx: Ctx) -> Response:
    check_repo(ctx)
    pr = get_pull(ctx)
    if pr.merged_at is None:
        raise not_found()
    return Response(204)


def approvals_on_head(emu: GitHubEmulator, pr: PullRequest) -> int:
    latest: dict[str, Review] = {}
    for r in emu.state.reviews:
        if r.pr_number == pr.number and r.state in ("APPROVED", "CHANGES_REQUESTED", "DISMISSED"):
            latest[r.user] = r
    return sum(1 for r in latest.values() if r.state == "APPROVED" and r.commit_id == pr.head_sha)


def check_protection(emu: GitHubEmulator, pr: PullRequest) -> None:
    rules = review_rules(emu, pr.base_ref)
    ok = {s.context for s in latest_statuses(emu, pr.head_sha) if s.state == "success"}
    for context in rules["contexts"]:
        if context not in ok:
            raise ApiError(405, f'Required status check "{context}" is expected.')
    if rules.get("strict") and not emu.git.is_ancestor(pr.base_sha, pr.head_sha):
        raise ApiError(405, "Head branch is out of date. Review and try the merge again.")
    need = rules["required_approving_review_count"]
    if approvals_on_head(emu, pr) < need:
        raise ApiError(
            405, f"At least {need} approving review is required by reviewers with write access."
        )
    if rules.get("require_code_owner_review"):
        missing = unowned_approval(emu, pr)
        if missing:
            raise ApiError(405, f"Waiting on code owner review from {', '.join(sorted(missing))}.")


def codeowners(emu: GitHubEmulator, sha: str) -> list[tuple[str, list[str]]]:
    for path in (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"):
        entry = emu.git.entry_at(sha, path)
        if entry is not None and entry.type == "blob":
            lines = emu.git.blob(entry.sha).decode(errors="replace").splitlines()
            out = []
            for raw in lines:
                line = raw.split("#", 1)[0].split()
                if line:
                    out.append((line[0], line[1:]))
            return out
    return []


def owners_match(pattern: str, path: str) -> bool:
    """CODEOWNERS matching (gitignore-like): anchored with a leading or inner slash, a trailing
    slash (or /**) for everything under a directory, * within a name."""
    anchored = pattern.startswith("/") or "/" in pattern.rstrip("/")
    pat = pattern.lstrip("/")
    if pat in ("*", "**"):
        return True
    directory = pat.endswith("/") or pat.endswith("/**")
    pat = pat.removesuffix("/**").rstrip("/")
    n = pat.count("/") + 1
    names = [path] if anchored else [path.split("/", i)[-1] for i in range(path.count("/") + 1)]
    for name in names:
        parts = name.split("/")
        under = len(parts) > n and fnmatch.fnmatchcase("/".join(parts[:n]), pat)
        if under or (not directory and fnmatch.fnmatchcase(name, pat)):
            return True
    return False


def unowned_approval(emu: GitHubEmulator, pr: PullRequest) -> set[str]:
    """The owners whose approval on the head is missing for some changed file."""
    entries = codeowners(emu, pr.base_sha)
    base = emu.git.merge_base(pr.base_sha, pr.head_sha) or pr.base_sha
    approvers = {
        r.user
        for r in latest_reviews(emu, pr).values()
        if r.state == "APPROVED" and r.commit_id == pr.head_sha
    }
    missing: set[str] = set()
    for f in emu.git.diff_files(base, pr.head_sha):
        owners: list[str] = []
        for pattern, names in entries:
            if owners_match(pattern, f.filename):
                owners = names
        if not owners:
            continue
        if not any(owner_approved(emu, o, approvers) for o in owners):
            missing.update(owners)
    return missing


def owner_approved(emu: GitHubEmulator, owner: str, approvers: set[str]) -> bool:
    name = owner.lstrip("@")
    if "/" in name:
        org, slug = name.split("/", 1)
        team = emu.state.teams.get((org, slug))
        return team is not None and bool(approvers & set(team.members))
    return name in approvers


def latest_reviews(emu: GitHubEmulator, pr: PullRequest) -> dict[str, Review]:
    latest: dict[str, Review] = {}
    for r in emu.state.reviews:
        if r.pr_number == pr.number and r.state in ("APPROVED", "CHANGES_REQUESTED", "DISMISSED"):
            latest[r.user] = r
    return latest


@route("PUT", "/repos/{owner}/{repo}/pulls/{pull_number}/merge", write=True)
def merge_pull(ctx: Ctx) -> Response:
    check_repo(ctx)
    emu = ctx.emu
    pr = get_pull(ctx)
    refresh(emu, pr)
    if pr.state != "open":
        raise ApiError(405, "Pull Request is not mergeable")
    expected = ctx.json("sha")
    if expected is not None and expected != pr.head_sha:
        raise ApiError(409, "Head branch was modified. Review and try the merge again.")
    mergeable, _ = mergeability(emu, pr)
    if not mergeable:
        raise ApiError(405, "Pull Request is not mergeable")
    check_protection(emu, pr)
    method = ctx.json("merge_method", "merge")
    if method not in ("merge", "squash", "rebase"):
        raise ApiError(422, "Validation Failed", [{"field": "merge_method", "code": "invalid"}])
    allowed = {
        "merge": emu.state.allow_merge_commit,
        "squash": emu.state.allow_squash_merge,
        "rebase": emu.state.allow_rebase_merge,
    }
    if not allowed[method]:
        raise ApiError(405, f"{method.title()} merges are not allowed on this repository.")
    new_sha = make_merge(ctx, pr, method)
    emu.git.update_ref(f"refs/heads/{pr.base_ref}", new_sha, pr.base_sha)
    now = emu.clock.tick()
    pr.base_sha = new_sha
    pr.state = "closed"
    pr.merged_at = pr.closed_at = pr.updated_at = now
    pr.merged_by = ctx.login
    pr.merge_commit_sha = new_sha
    return Response(
        200, {"sha": new_sha, "merged": True, "message": "Pull Request successfully merged"}
    )


def make_merge(ctx: Ctx, pr: PullRequest, method: str) -> str:
    emu, git = ctx.emu, ctx.emu.git
    committer = emu.signature(None)
    title, message = ctx.json("commit_title"), ctx.json("commit_message")
    if method == "rebase":
        onto = pr.base_sha
        base = git.merge_base(pr.base_sha, pr.head_sha) or pr.base_sha
        for sha in git.rev_list(base, pr.head_sha):
            info = git.commit_info(sha)
            tree = git.replay_tree(info.parents[0], onto, sha) if info.parents else info.tree
            if tree is None:
                raise ApiError(405, "This branch can't be rebased")
            onto = git.commit_tree(tree, [onto], info.message, info.author, committer)
        return onto
    tree = git.merge_tree(pr.base_sha, pr.head_sha)
    if tree is None:
        raise ApiError(405, "Pull Request is not mergeable")
    if method == "squash":
        commits = git.rev_list(git.merge_base(pr.base_sha, pr.head_sha), pr.head_sha)
        title = title or f"{pr.title} (#{pr.number})"
        if message is None:
            message = "\n\n".join(f"* {git.commit_info(s).message}" for s in commits)
        author = emu.signature(pr.user)
        author = Signature(author.name, author.email, committer.date)
        return git.commit_tree(
            tree, [pr.base_sha], f"{title}\n\n{message}".strip(), author, committer
        )
    title = title or f"Merge pull request #{pr.number} from {emu.state.owner}/{pr.head_ref}"
    message = pr.title if message is None else message
    author = emu.signature(ctx.login)
    author = Signature(author.name, author.email, committer.date)
    return git.commit_tree(
        tree, [pr.base_sha, pr.head_sha], f"{title}\n\n{message}".strip(), author, committer
    )


# -- reviews ---------------------------------------------------------------------------

EVENTS = {"APPROVE": "APPROVED", "REQUEST_CHANGES": "CHANGES_REQUESTED", "COMMENT": "COMMENTED"}


@route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews")
def list_reviews(ctx: Ctx) -> Response:
    check_repo(ctx)
    pr = get_pull(ctx)
    mine = [
        r
        for r in ctx.emu.state.reviews
        if r.pr_number == pr.number and (r.state != "PENDING" or r.user == ctx.login)
    ]
    return ctx.paginate([ctx.emu.shapes.review(r) for r in mine])


@route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}")
def get_review(ctx: Ctx) -> Response:
    check_repo(ctx)
    pr = get_pull(ctx)
    rid = ctx.int_param("review_id")
    for review in ctx.emu.state.reviews:
        if review.id == rid and review.pr_number == pr.number:
            return Response(200, ctx.emu.shapes.review(review))
    raise not_found()


# Reviewing needs only read access on GitHub (a reader's approval just does not count).
@route("POST", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews")
def create_review(ctx: Ctx) -> Response:
    check_repo(ctx)
    emu = ctx.emu
    pr = get_pull(ctx)
    refresh(emu, pr)
    event = ctx.json("event")
    body = ctx.json("body") or ""
    if event is not None and event not in EVENTS:
        raise ApiError(422, "Unprocessable Entity", [f"Unknown event {event!r}"])
    state = EVENTS[event] if event else "PENDING"
    if state in ("APPROVED", "CHANGES_REQUESTED") and pr.user == ctx.login:
        verb = "approve" if state == "APPROVED" else "request changes on"
        raise ApiError(422, "Unprocessable Entity", [f"Can not {verb} your own pull request"])
    if state in ("CHANGES_REQUESTED", "COMMENTED") and not body:
        raise ApiError(422, "Unprocessable Entity", ["Body is required for this event"])
    # a MERGED pull request can still be approved through the API (cli/cli#5038: "explicitly
    # allowed by the API"), which is how a break-glass grant is approved after the fact; a
    # pull request closed without merging cannot
    if pr.state != "open" and pr.merged_at is None and state != "COMMENTED":
        raise ApiError(422, "Unprocessable Entity", ["Pull request is closed"])
    commit_id = ctx.json("commit_id") or pr.head_sha
    if emu.git.resolve(commit_id) is None:
        raise ApiError(422, "Unprocessable Entity", ["commit_id is not part of the pull request"])
    review = Review(
        id=emu.state.new_id(),
        pr_number=pr.number,
        user=ctx.login,
        state=state,
        body=body,
        commit_id=commit_id,
        submitted_at=emu.clock.tick(),
    )
    emu.state.reviews.append(review)
    if state != "PENDING" and ctx.login in pr.requested_users:
        pr.requested_users.remove(ctx.login)  # GitHub: a review fulfils the request
    return Response(200, emu.shapes.review(review))


@route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers")
def list_requested_reviewers(ctx: Ctx) -> Response:
    check_repo(ctx)
    emu, pr = ctx.emu, get_pull(ctx)
    teams = [emu.state.teams[(emu.state.owner, s)] for s in pr.requested_teams]
    return Response(
        200,
        {
            "users": [emu.shapes.simple_user(u) for u in pr.requested_users],
            "teams": [emu.shapes.team(t) for t in teams],
        },
    )


@route("POST", "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers", write=True)
def request_reviewers(ctx: Ctx) -> Response:
    """Like GitHub: the author cannot be asked; users must be collaborators, teams must exist in
    the repository's organisation; asking again someone already asked changes nothing."""
    check_repo(ctx)
    emu, pr = ctx.emu, get_pull(ctx)
    users = ctx.json("reviewers") or []
    teams = ctx.json("team_reviewers") or []
    if not isinstance(users, list) or not isinstance(teams, list):
        raise ApiError(422, "Invalid request.")
    for login in users:
        if login == pr.user:
            raise ApiError(422, "Review cannot be requested from pull request author.", ["author"])
        user = emu.state.users.get(login)
        if user is None or user.permission not in ("write", "admin", "maintain", "triage"):
            raise ApiError(
                422,
                "Reviews may only be requested from collaborators. One or more of the users or "
                "teams you specified is not a collaborator of the "
                + emu.state.full_name
                + " repository.",
            )
    for slug in teams:
        if (emu.state.owner, slug) not in emu.state.teams:
            raise ApiError(
                422,
                "Reviews may only be requested from collaborators. One or more of the users or "
                "teams you specified is not a collaborator of the "
                + emu.state.full_name
                + " repository.",
            )
    emu.state.review_requests.append((pr.number, ctx.login, tuple(users), tuple(teams)))
    for login in users:
        if login not in pr.requested_users:
            pr.requested_users.append(login)
    for slug in teams:
        if slug not in pr.requested_teams:
            pr.requested_teams.append(slug)
    return Response(201, pull_body(emu, pr, full=False))


@route(
    "PUT", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}/dismissals", write=True
)
def dismiss_review(ctx: Ctx) -> Response:
    check_repo(ctx)
    pr = get_pull(ctx)
    rid = ctx.int_param("review_id")
    ctx.require("message")
    for review in ctx.emu.state.reviews:
        if review.id == rid and review.pr_number == pr.number:
            if review.state not in ("APPROVED", "CHANGES_REQUESTED"):
                raise ApiError(422, "Can not dismiss a commented pull request review")
            review.state = "DISMISSED"
            return Response(200, ctx.emu.shapes.review(review))
    raise not_found()
