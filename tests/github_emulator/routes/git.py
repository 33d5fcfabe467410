"""Git data, branches, commits, compare and contents: straight from the bare repository."""

from __future__ import annotations

import base64
from typing import Any

from ..gitstore import ZERO_SHA, GitError, Signature
from ..routing import ApiError, Ctx, Response, not_found
from . import ROUTER
from .common import resolve
from .meta import check_repo

route = ROUTER.add


def full_ref(ref: str) -> str:
    return ref if ref.startswith("refs/") else f"refs/{ref}"


# -- refs ------------------------------------------------------------------------------


@route("GET", "/repos/{owner}/{repo}/git/ref/{ref}")
def get_ref(ctx: Ctx) -> Response:
    check_repo(ctx)
    name = full_ref(ctx.params["ref"])
    sha = ctx.emu.git.ref_sha(name) if name in ctx.emu.refs() else None
    if sha is None:
        raise not_found()
    return Response(200, ctx.emu.shapes.ref(name, sha))


@route("GET", "/repos/{owner}/{repo}/git/matching-refs/{ref}")
def matching_refs(ctx: Ctx) -> Response:
    check_repo(ctx)
    prefix = full_ref(ctx.params["ref"])
    refs = [(n, s) for n, s in ctx.emu.git.list_refs() if n.startswith(prefix)]
    return Response(200, [ctx.emu.shapes.ref(n, s) for n, s in refs])


@route("POST", "/repos/{owner}/{repo}/git/refs", write=True)
def create_ref(ctx: Ctx) -> Response:
    check_repo(ctx)
    name, sha = ctx.require("ref"), ctx.require("sha")
    if not name.startswith("refs/") or name.count("/") < 2:
        raise ApiError(422, "Reference name must start with 'refs/' and have at least two slashes.")
    if ctx.emu.git.resolve(sha, "object") is None:
        raise ApiError(422, "Object does not exist")
    if name in ctx.emu.refs():
        raise ApiError(422, "Reference already exists")
    ctx.emu.git.update_ref(name, sha, ZERO_SHA)
    return Response(201, ctx.emu.shapes.ref(name, sha), {"Location": f"/git/{name}"})


@route("PATCH", "/repos/{owner}/{repo}/git/refs/{ref}", write=True)
def update_ref(ctx: Ctx) -> Response:
    check_repo(ctx)
    name = full_ref(ctx.params["ref"])
    old = ctx.emu.refs().get(name)
    if old is None:
        raise ApiError(422, "Reference does not exist")
    sha = ctx.require("sha")
    if ctx.emu.git.resolve(sha, "object") is None:
        raise ApiError(422, "Object does not exist")
    if not ctx.json("force", False) and not ctx.emu.git.is_ancestor(old, sha):
        raise ApiError(422, "Update is not a fast forward")
    ctx.emu.git.update_ref(name, sha, old)
    return Response(200, ctx.emu.shapes.ref(name, sha))


@route("DELETE", "/repos/{owner}/{repo}/git/refs/{ref}", write=True)
def delete_ref(ctx: Ctx) -> Response:
    check_repo(ctx)
    name = full_ref(ctx.params["ref"])
    if name not in ctx.emu.refs():
        raise ApiError(422, "Reference does not exist")
    ctx.emu.git.delete_ref(name)
    return Response(204)


# -- commits, trees, blobs ---------------------------------------------------------------


def commit_sha(ctx: Ctx, sha: str) -> str:
    if ctx.emu.git.object_type(sha) != "commit":
        raise not_found()
    return ctx.emu.git.resolve(sha) or sha


@route("GET", "/repos/{owner}/{repo}/git/commits/{commit_sha}")
def get_git_commit(ctx: Ctx) -> Response:
    check_repo(ctx)
    sha = commit_sha(ctx, ctx.params["commit_sha"])
    return Response(200, ctx.emu.shapes.git_commit(ctx.emu.git.commit_info(sha)))


def signature(ctx: Ctx, given: Any) -> Signature:
    default = ctx.emu.signature(ctx.login)
    if not isinstance(given, dict):
        return default
    return Signature(
        given.get("name", default.name),
        given.get("email", default.email),
        given.get("date", default.date),
    )


@route("POST", "/repos/{owner}/{repo}/git/commits", write=True)
def create_git_commit(ctx: Ctx) -> Response:
    check_repo(ctx)
    message, tree = ctx.require("message"), ctx.require("tree")
    parents = ctx.json("parents", [])
    if ctx.emu.git.object_type(tree) != "tree":
        raise ApiError(422, "Tree SHA does not exist")
    for p in parents:
        if ctx.emu.git.object_type(p) != "commit":
            raise ApiError(422, "Parent SHA does not exist or is not a commit object")
    author = signature(ctx, ctx.json("author"))
    committer = signature(ctx, ctx.json("committer")) if ctx.json("committer") else author
    sha = ctx.emu.git.commit_tree(tree, parents, message, author, committer)
    info = ctx.emu.git.commit_info(sha)
    return Response(201, ctx.emu.shapes.git_commit(info))


@route("GET", "/repos/{owner}/{repo}/git/trees/{tree_sha}")
def get_tree(ctx: Ctx) -> Response:
    check_repo(ctx)
    sha = ctx.emu.git.resolve(ctx.params["tree_sha"], "tree")
    if sha is None:
        raise not_found()
    recursive = ctx.query.get("recursive") not in (None, "", "0", "false")
    api = ctx.emu.shapes.repo_api
    entries = []
    for e in ctx.emu.git.ls_tree(sha, recursive=recursive):
        kind = "trees" if e.type == "tree" else "blobs"
        entry = {"path": e.path, "mode": e.mode, "type": e.type, "sha": e.sha}
        if e.size is not None:
            entry["size"] = e.size
        entry["url"] = f"{api}/git/{kind}/{e.sha}"
        entries.append(entry)
    return Response(
        200, {"sha": sha, "url": f"{api}/git/trees/{sha}", "tree": entries, "truncated": False}
    )


@route("POST", "/repos/{owner}/{repo}/git/trees", write=True)
def create_tree(ctx: Ctx) -> Response:
    check_repo(ctx)
    base = ctx.json("base_tree")
    if base and ctx.emu.git.resolve(base, "tree") is None:
        raise ApiError(422, "base_tree is not a valid tree oid")
    changes: list[tuple[str, str, str | None]] = []
    entries = ctx.require("tree")
    if isinstance(entries, list) and len(entries) > ctx.emu.tree_entries_limit:
        raise ApiError(
            422,
            "Sorry, your request timed out.  It's likely that your input was too large to "
            "process.  Consider building the tree incrementally, or building the commits you "
            "need in a local clone of the repository and then pushing them to GitHub.",
        )
    for item in entries:
        path, mode = item.get("path"), item.get("mode", "100644")
        if not path:
            raise ApiError(422, "Invalid tree info", ["tree.path is missing"])
        if "content" in item and item["content"] is not None:
            changes.append((path, mode, ctx.emu.git.write_blob(item["content"].encode())))
        elif item.get("sha") is None:
            changes.append((path, mode, None))
        else:
            if ctx.emu.git.object_type(item["sha"]) not in ("blob", "tree", "commit"):
                raise ApiError(422, "Invalid tree info", [f"{item['sha']} is not a valid object"])
            changes.append((path, "040000" if item.get("type") == "tree" else mode, item["sha"]))
    try:
        sha = ctx.emu.git.build_tree(base, changes)
    except GitError as err:
        raise ApiError(422, "Invalid tree info", [str(err)]) from None
    body = get_tree(ctx_with(ctx, tree_sha=sha)).body
    return Response(201, body)


def ctx_with(ctx: Ctx, **params: str) -> Ctx:
    return Ctx(ctx.emu, "GET", ctx.path, {}, ctx.params | params, None, ctx.login)


@route("GET", "/repos/{owner}/{repo}/git/blobs/{file_sha}")
def get_blob(ctx: Ctx) -> Response:
    check_repo(ctx)
    sha = ctx.params["file_sha"]
    if ctx.emu.git.object_type(sha) != "blob":
        raise not_found()
    data = ctx.emu.git.blob(sha)
    return Response(
        200,
        {
            "sha": sha,
            "node_id": f"B_{sha[:16]}",
            "size": len(data),
            "url": f"{ctx.emu.shapes.repo_api}/git/blobs/{sha}",
            "content": base64.encodebytes(data).decode(),
            "encoding": "base64",
        },
    )


@route("POST", "/repos/{owner}/{repo}/git/blobs", write=True)
def create_blob(ctx: Ctx) -> Response:
    check_repo(ctx)
    content = ctx.require("content")
    if ctx.json("encoding", "utf-8") == "base64":
        data = base64.b64decode(content)
    else:
        data = content.encode()
    sha = ctx.emu.git.write_blob(data)
    return Response(201, {"url": f"{ctx.emu.shapes.repo_api}/git/blobs/{sha}", "sha": sha})


# -- branches, commits, compare ------------------------------------------------------------


@route("GET", "/repos/{owner}/{repo}/branches/{branch}")
def get_branch(ctx: Ctx) -> Response:
    check_repo(ctx)
    name = ctx.params["branch"]
    sha = ctx.emu.ref(name)
    if sha is None:
        raise ApiError(404, "Branch not found")
    shapes = ctx.emu.shapes
    protected = name in ctx.emu.state.protections
    commit = shapes.commit(ctx.emu.git.commit_info(sha))
    return Response(
        200,
        {
            "name": name,
            "commit": commit,
            "_links": {
                "self": f"{shapes.repo_api}/branches/{name}",
                "html": f"{shapes.repo_html}/tree/{name}",
            },
            "protected": protected,
            "protection": protection_summary(ctx, name),
            "protection_url": f"{shapes.repo_api}/branches/{name}/protection",
        },
    )


def protection_summary(ctx: Ctx, branch: str) -> dict[str, Any]:
    protection = ctx.emu.state.protections.get(branch)
    checks = (protection or {}).get("required_status_checks") or {}
    return {
        "enabled": protection is not None,
        "required_status_checks": {
            "enforcement_level": "everyone" if checks else "off",
            "contexts": list(checks.get("contexts", [])),
            "checks": list(checks.get("checks", [])),
        },
    }


@route("GET", "/repos/{owner}/{repo}/branches")
def list_branches(ctx: Ctx) -> Response:
    check_repo(ctx)
    shapes = ctx.emu.shapes
    items = [
        {
            "name": n.removeprefix("refs/heads/"),
            "commit": shapes.short_branch_commit(s),
            "protected": n.removeprefix("refs/heads/") in ctx.emu.state.protections,
        }
        for n, s in ctx.emu.git.list_refs("refs/heads/")
    ]
    return ctx.paginate(items)


@route("GET", "/repos/{owner}/{repo}/commits/{ref}")
def get_commit(ctx: Ctx) -> Response:
    check_repo(ctx)
    sha = resolve(ctx.emu, ctx.params["ref"])
    info = ctx.emu.git.commit_info(sha)
    parent = info.parents[0] if info.parents else None
    files = ctx.emu.git.diff_files(parent or EMPTY_TREE, sha)
    return Response(200, ctx.emu.shapes.commit(info, files))


EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


@route("GET", "/repos/{owner}/{repo}/commits")
def list_commits(ctx: Ctx) -> Response:
    check_repo(ctx)
    head = resolve(ctx.emu, ctx.query.get("sha", ctx.emu.state.default_branch))
    shas = list(reversed(ctx.emu.git.rev_list(None, head)))
    path = ctx.query.get("path")
    if path:
        out = ctx.emu.git.git("log", "--format=%H", head, "--", path)
        keep = set(out.split())
        shas = [s for s in shas if s in keep]
    return ctx.paginate([ctx.emu.shapes.commit(ctx.emu.git.commit_info(s)) for s in shas])


@route("GET", "/repos/{owner}/{repo}/compare/{basehead}")
def compare(ctx: Ctx) -> Response:
    check_repo(ctx)
    basehead = ctx.params["basehead"]
    if "..." not in basehead:
        raise not_found()
    base_ref, head_ref = basehead.split("...", 1)
    git, shapes = ctx.emu.git, ctx.emu.shapes
    base, head = resolve(ctx.emu, base_ref), resolve(ctx.emu, head_ref)
    mb = git.merge_base(base, head)
    ahead = git.rev_list(mb or base, head)
    behind = git.rev_list(head, base)
    status = (
        "identical"
        if base == head
        else "ahead"
        if not behind
        else "behind"
        if not ahead
        else "diverged"
    )
    html = f"{shapes.repo_html}/compare/{basehead}"
    files = git.diff_files(mb or base, head)
    return Response(
        200,
        {
            "url": f"{shapes.repo_api}/compare/{basehead}",
            "html_url": html,
            "permalink_url": f"{shapes.repo_html}/compare/{base}...{head}",
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "base_commit": shapes.commit(git.commit_info(base)),
            "merge_base_commit": shapes.commit(git.commit_info(mb or base)),
            "status": status,
            "ahead_by": len(ahead),
            "behind_by": len(behind),
            "total_commits": len(ahead),
            "commits": [shapes.commit(git.commit_info(s)) for s in ahead],
            "files": [shapes.diff_entry(f, head) for f in files],
        },
    )


# -- contents --------------------------------------------------------------------------


@route("GET", "/repos/{owner}/{repo}/contents/{path}")
def get_contents(ctx: Ctx) -> Response:
    return contents(ctx, ctx.params["path"])


@route("GET", "/repos/{owner}/{repo}/contents")
def get_root_contents(ctx: Ctx) -> Response:
    return contents(ctx, "")


def contents(ctx: Ctx, path: str) -> Response:
    check_repo(ctx)
    ref = ctx.query.get("ref", ctx.emu.state.default_branch)
    sha = resolve(ctx.emu, ref)
    path = path.strip("/")
    entry = ctx.emu.git.entry_at(sha, path)
    if entry is None:
        raise not_found()
    if entry.type == "tree":
        items = ctx.emu.git.ls_tree(entry.sha)
        return Response(
            200,
            [
                content_item(ctx, f"{path}/{e.path}".lstrip("/"), e.sha, e.type, e.size, ref)
                for e in items
            ],
        )
    data = ctx.emu.git.blob(entry.sha)
    body = content_item(ctx, path, entry.sha, "blob", len(data), ref)
    body["content"] = base64.encodebytes(data).decode()
    body["encoding"] = "base64"
    return Response(200, body)


def content_item(
    ctx: Ctx, path: str, sha: str, kind: str, size: int | None, ref: str
) -> dict[str, Any]:
    shapes = ctx.emu.shapes
    typ = {"tree": "dir", "blob": "file", "commit": "submodule"}[kind]
    url = f"{shapes.repo_api}/contents/{path}?ref={ref}"
    git_url = f"{shapes.repo_api}/git/{'trees' if kind == 'tree' else 'blobs'}/{sha}"
    html = f"{shapes.repo_html}/{'tree' if kind == 'tree' else 'blob'}/{ref}/{path}"
    download = f"{shapes.repo_html}/raw/{ref}/{path}" if kind == "blob" else None
    return {
        "type": typ,
        "size": size or 0,
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "sha": sha,
        "url": url,
        "git_url": git_url,
        "html_url": html,
        "download_url": download,
        "_links": {"self": url, "git": git_url, "html": html},
    }
