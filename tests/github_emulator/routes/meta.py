"""Repository, users, rate limit, teams, GitHub App auth and repository settings."""

from __future__ import annotations

import fnmatch
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from ..payloads import organization
from ..routing import ApiError, Ctx, Response, not_found
from ..state import App
from . import ROUTER

route = ROUTER.add


def check_repo(ctx: Ctx) -> None:
    s = ctx.emu.state
    if (ctx.params.get("owner"), ctx.params.get("repo")) != (s.owner, s.name):
        raise not_found()


@route("GET", "/repos/{owner}/{repo}")
def get_repo(ctx: Ctx) -> Response:
    check_repo(ctx)
    return Response(200, ctx.emu.shapes.repository(ctx.login))


@route("GET", "/user")
def get_user(ctx: Ctx) -> Response:
    return Response(200, ctx.emu.shapes.full_user(ctx.login, private=True))


@route("GET", "/users/{username}")
def get_users(ctx: Ctx) -> Response:
    login = ctx.params["username"]
    if login not in ctx.emu.state.users and login != ctx.emu.state.owner:
        raise not_found()
    return Response(200, ctx.emu.shapes.full_user(login, private=False))


@route("GET", "/rate_limit")
def rate_limit(ctx: Ctx) -> Response:
    headers = ctx.emu.rate_headers(ctx.login)
    ctx.emu.rate_used[ctx.login] -= 1  # /rate_limit does not count
    core = {
        "limit": int(headers["X-RateLimit-Limit"]),
        "remaining": int(headers["X-RateLimit-Remaining"]),
        "reset": int(headers["X-RateLimit-Reset"]),
        "used": int(headers["X-RateLimit-Used"]),
    }
    others = {
        name: {"limit": lim, "remaining": lim, "reset": core["reset"], "used": 0}
        for name, lim in (("search", 30), ("graphql", 5000), ("integration_manifest", 5000))
    }
    return Response(200, {"resources": {"core": core, **others}, "rate": core})


# -- teams -----------------------------------------------------------------------------


def get_team(ctx: Ctx) -> Any:
    team = ctx.emu.state.teams.get((ctx.params["org"], ctx.params["team_slug"]))
    if team is None:
        raise not_found()
    return team


@route("GET", "/orgs/{org}")
def get_org(ctx: Ctx) -> Response:
    org = ctx.params["org"]
    if org not in {t.org for t in ctx.emu.state.teams.values()} | {ctx.emu.state.owner}:
        raise not_found()
    return Response(200, organization(ctx.emu.shapes, org))


@route("GET", "/orgs/{org}/teams/{team_slug}")
def get_team_route(ctx: Ctx) -> Response:
    team = get_team(ctx)
    body = ctx.emu.shapes.team(team) | {
        "created_at": "2020-01-01T00:00:00Z",
        "updated_at": "2020-01-01T00:00:00Z",
        "members_count": len(team.members),
        "repos_count": 1,
        "organization": organization(ctx.emu.shapes, team.org),
    }
    return Response(200, body)


@route("GET", "/orgs/{org}/teams/{team_slug}/members")
def team_members(ctx: Ctx) -> Response:
    team = get_team(ctx)
    return ctx.paginate([ctx.emu.shapes.simple_user(login) for login in team.members])


@route("GET", "/orgs/{org}/teams/{team_slug}/memberships/{username}")
def team_membership(ctx: Ctx) -> Response:
    team = get_team(ctx)
    login = ctx.params["username"]
    if login not in team.members:
        raise not_found()
    url = f"{ctx.emu.shapes.team(team)['url']}/memberships/{login}"
    return Response(200, {"url": url, "role": "member", "state": "active"})


# -- GitHub App ------------------------------------------------------------------------


def the_app(ctx: Ctx) -> App:
    app_id = int(ctx.login.removeprefix("app:"))
    return ctx.emu.state.apps[app_id]


def installation(ctx: Ctx, app: App) -> dict[str, Any]:
    api = ctx.emu.base_url
    owner = ctx.emu.shapes.simple_user(ctx.emu.state.owner)
    return {
        "id": app.installation_id,
        "account": owner,
        "repository_selection": "selected",
        "access_tokens_url": f"{api}/app/installations/{app.installation_id}/access_tokens",
        "repositories_url": f"{api}/installation/repositories",
        "html_url": f"{ctx.emu.html_base}/settings/installations/{app.installation_id}",
        "app_id": app.id,
        "client_id": f"Iv1.{app.id:016x}",
        "target_id": owner["id"],
        "target_type": "Organization",
        "permissions": PERMISSIONS,
        "events": ["pull_request", "pull_request_review", "push"],
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
        "single_file_name": None,
        "has_multiple_single_files": False,
        "single_file_paths": [],
        "app_slug": app.slug,
        "suspended_by": None,
        "suspended_at": None,
        "contact_email": None,
    }


PERMISSIONS = {
    "contents": "write",
    "pull_requests": "write",
    "statuses": "write",
    "issues": "write",
    "members": "read",
    "metadata": "read",
}


@route("GET", "/repos/{owner}/{repo}/installation", auth="jwt")
def repo_installation(ctx: Ctx) -> Response:
    check_repo(ctx)
    return Response(200, installation(ctx, the_app(ctx)))


@route("GET", "/app/installations/{installation_id}", auth="jwt")
def get_installation(ctx: Ctx) -> Response:
    app = the_app(ctx)
    if ctx.params["installation_id"] != str(app.installation_id):
        raise not_found()
    return Response(200, installation(ctx, app))


@route("POST", "/app/installations/{installation_id}/access_tokens", auth="jwt")
def access_token(ctx: Ctx) -> Response:
    app = the_app(ctx)
    if ctx.params["installation_id"] != str(app.installation_id):
        raise not_found()
    token = "ghs_" + secrets.token_hex(18)
    ctx.emu.add_token(token, app.bot_login)
    # Real time: pygithub compares it with the wall clock to decide when to refresh.
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    return Response(
        201,
        {
            "token": token,
            "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "permissions": PERMISSIONS,
            "repository_selection": "selected",
        },
    )


# -- settings, for `jitctl doctor` -----------------------------------------------------------


@route("GET", "/repos/{owner}/{repo}/branches/{branch}/protection")
def branch_protection(ctx: Ctx) -> Response:
    check_repo(ctx)
    branch = ctx.params["branch"]
    if ctx.emu.ref(branch) is None:
        raise ApiError(404, "Branch not found")
    protection = ctx.emu.state.protections.get(branch)
    if protection is None:
        raise ApiError(404, "Branch not protected")
    url = f"{ctx.emu.shapes.repo_api}/branches/{branch}/protection"
    return Response(200, {"url": url, **protection})


@route("GET", "/repos/{owner}/{repo}/rulesets")
def rulesets(ctx: Ctx) -> Response:
    check_repo(ctx)
    return ctx.paginate([summary(ctx, r) for r in ctx.emu.state.rulesets])


def summary(ctx: Ctx, ruleset: dict[str, Any]) -> dict[str, Any]:
    rid = ruleset["id"]
    return {
        "id": rid,
        "name": ruleset["name"],
        "target": ruleset.get("target", "branch"),
        "source_type": "Repository",
        "source": ctx.emu.state.full_name,
        "enforcement": ruleset.get("enforcement", "active"),
        "node_id": f"RRS_{rid}",
        "_links": {"self": {"href": f"{ctx.emu.shapes.repo_api}/rulesets/{rid}"}},
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
    }


@route("GET", "/repos/{owner}/{repo}/rulesets/{ruleset_id}")
def get_ruleset(ctx: Ctx) -> Response:
    """One ruleset in full: its conditions, rules and bypass actors (for `jitctl doctor`)."""
    check_repo(ctx)
    rid = ctx.int_param("ruleset_id")
    for r in ctx.emu.state.rulesets:
        if r["id"] == rid:
            return Response(
                200,
                summary(ctx, r)
                | {
                    "bypass_actors": list(r.get("bypass_actors", [])),
                    "conditions": r.get(
                        "conditions", {"ref_name": {"include": ["~DEFAULT_BRANCH"], "exclude": []}}
                    ),
                    "rules": list(r.get("rules", [])),
                },
            )
    raise not_found()


def targets(ctx: Ctx, ruleset: dict[str, Any], branch: str) -> bool:
    """Whether a ruleset's ref_name condition covers ``branch`` (~DEFAULT_BRANCH, ~ALL,
    refs/heads/<glob>; exclude wins)."""
    cond = (ruleset.get("conditions") or {}).get("ref_name") or {
        "include": ["~DEFAULT_BRANCH"],
        "exclude": [],
    }

    def hit(pattern: str) -> bool:
        if pattern == "~ALL":
            return True
        if pattern == "~DEFAULT_BRANCH":
            return branch == ctx.emu.state.default_branch
        return fnmatch.fnmatchcase(f"refs/heads/{branch}", pattern)

    return any(hit(p) for p in cond.get("include", [])) and not any(
        hit(p) for p in cond.get("exclude", [])
    )


@route("GET", "/repos/{owner}/{repo}/rules/branches/{branch}")
def branch_rules(ctx: Ctx) -> Response:
    """The rules that apply to a branch (GitHub answers for a branch that does not exist yet)."""
    check_repo(ctx)
    branch = ctx.params["branch"]
    rules = [
        rule
        | {
            "ruleset_source_type": "Repository",
            "ruleset_source": ctx.emu.state.full_name,
            "ruleset_id": r["id"],
        }
        for r in ctx.emu.state.rulesets
        if r.get("enforcement", "active") == "active" and targets(ctx, r, branch)
        for rule in r.get("rules", [])
    ]
    return ctx.paginate(rules)
