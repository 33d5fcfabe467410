"""Commit statuses, issue comments and labels (a PR is an issue)."""

from __future__ import annotations

from ..routing import ApiError, Ctx, Response, not_found
from ..state import Comment, Label, Status
from . import ROUTER
from .common import latest_statuses, resolve
from .meta import check_repo

route = ROUTER.add
STATES = ("error", "failure", "pending", "success")


@route("POST", "/repos/{owner}/{repo}/statuses/{sha}", write=True)
def create_status(ctx: Ctx) -> Response:
    check_repo(ctx)
    sha = ctx.emu.git.resolve(ctx.params["sha"])
    if sha is None:
        raise ApiError(422, "No commit found for SHA: " + ctx.params["sha"])
    state = ctx.require("state")
    if state not in STATES:
        raise ApiError(422, "Validation Failed", [{"field": "state", "code": "invalid"}])
    now = ctx.emu.clock.tick()
    status = Status(
        id=ctx.emu.state.new_id(),
        sha=sha,
        state=state,
        context=ctx.json("context") or "default",
        description=ctx.json("description"),
        target_url=ctx.json("target_url"),
        creator=ctx.login,
        created_at=now,
        updated_at=now,
    )
    ctx.emu.state.statuses.append(status)
    return Response(201, ctx.emu.shapes.status(status))


# pygithub's Commit.get_statuses() uses the legacy GET /repos/{o}/{r}/statuses/{sha}.
@route("GET", "/repos/{owner}/{repo}/statuses/{sha}")
@route("GET", "/repos/{owner}/{repo}/commits/{ref}/statuses")
def list_statuses(ctx: Ctx) -> Response:
    check_repo(ctx)
    sha = resolve(ctx.emu, ctx.params.get("ref") or ctx.params["sha"])
    mine = [s for s in reversed(ctx.emu.state.statuses) if s.sha == sha]
    return ctx.paginate([ctx.emu.shapes.status(s) for s in mine])


@route("GET", "/repos/{owner}/{repo}/commits/{ref}/status")
def combined_status(ctx: Ctx) -> Response:
    check_repo(ctx)
    sha = resolve(ctx.emu, ctx.params["ref"])
    latest = latest_statuses(ctx.emu, sha)
    states = {s.state for s in latest}
    if not latest or "pending" in states:
        state = "pending"
    elif states & {"error", "failure"}:
        state = "failure"
    else:
        state = "success"
    shapes = ctx.emu.shapes
    repo = shapes.repository()
    minimal = {k: v for k, v in repo.items() if k not in ("permissions",)}
    return Response(
        200,
        {
            "state": state,
            "statuses": [shapes.status(s) for s in latest],
            "sha": sha,
            "total_count": len(latest),
            "repository": minimal,
            "commit_url": f"{shapes.repo_api}/commits/{sha}",
            "url": f"{shapes.repo_api}/commits/{sha}/status",
        },
    )


# -- comments --------------------------------------------------------------------------


def issue_number(ctx: Ctx) -> int:
    n = ctx.int_param("issue_number")
    if n not in ctx.emu.state.pulls:
        raise not_found()
    return n


@route("GET", "/repos/{owner}/{repo}/issues/comments/{comment_id}")
def get_comment(ctx: Ctx) -> Response:
    check_repo(ctx)
    return Response(200, ctx.emu.shapes.comment(find_comment(ctx)))


def find_comment(ctx: Ctx) -> Comment:
    cid = ctx.int_param("comment_id")
    for c in ctx.emu.state.comments:
        if c.id == cid:
            return c
    raise not_found()


@route("PATCH", "/repos/{owner}/{repo}/issues/comments/{comment_id}", write=True)
def edit_comment(ctx: Ctx) -> Response:
    check_repo(ctx)
    comment = find_comment(ctx)
    comment.body = ctx.require("body")
    comment.updated_at = ctx.emu.clock.tick()
    return Response(200, ctx.emu.shapes.comment(comment))


@route("GET", "/repos/{owner}/{repo}/issues/{issue_number}/comments")
def list_comments(ctx: Ctx) -> Response:
    check_repo(ctx)
    n = issue_number(ctx)
    mine = [c for c in ctx.emu.state.comments if c.issue_number == n]
    return ctx.paginate([ctx.emu.shapes.comment(c) for c in mine])


@route("POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments", write=True)
def create_comment(ctx: Ctx) -> Response:
    check_repo(ctx)
    n = issue_number(ctx)
    now = ctx.emu.clock.tick()
    comment = Comment(ctx.emu.state.new_id(), n, ctx.login, ctx.require("body"), now, now)
    ctx.emu.state.comments.append(comment)
    return Response(201, ctx.emu.shapes.comment(comment))


# -- labels ----------------------------------------------------------------------------


@route("GET", "/repos/{owner}/{repo}/issues/{issue_number}/labels")
def list_labels(ctx: Ctx) -> Response:
    check_repo(ctx)
    pr = ctx.emu.state.pulls[issue_number(ctx)]
    return ctx.paginate([ctx.emu.shapes.label(ctx.emu.state.labels[n]) for n in pr.labels])


@route("POST", "/repos/{owner}/{repo}/issues/{issue_number}/labels", write=True)
def add_labels(ctx: Ctx) -> Response:
    check_repo(ctx)
    pr = ctx.emu.state.pulls[issue_number(ctx)]
    body = ctx.body
    names = body.get("labels", []) if isinstance(body, dict) else body
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ApiError(422, "Invalid request.", ["labels must be a list of strings"])
    for name in names:
        if name not in ctx.emu.state.labels:
            ctx.emu.state.labels[name] = Label(ctx.emu.state.new_id(), name)
        if name not in pr.labels:
            pr.labels.append(name)
    return Response(200, [ctx.emu.shapes.label(ctx.emu.state.labels[n]) for n in pr.labels])
