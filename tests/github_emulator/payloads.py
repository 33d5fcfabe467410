"""JSON shapes of GitHub's REST API responses, built from the emulator's state."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from .gitstore import CommitInfo, FileChange, GitStore, Signature
from .state import Comment, Label, PullRequest, RepoState, Review, Status, Team, User

JSON = dict[str, Any]

UNSIGNED = {
    "verified": False,
    "reason": "unsigned",
    "signature": None,
    "payload": None,
    "verified_at": None,
}


def iso(when: datetime | None) -> str | None:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ") if when else None


def node_id(kind: str, ident: int | str) -> str:
    return base64.b64encode(f"0:{kind}{ident}".encode()).decode().rstrip("=")


class Shapes:
    """Builds response bodies; ``api`` is the emulator's base URL."""

    def __init__(self, api: str, html: str, state: RepoState, git: GitStore) -> None:
        self.api = api
        self.html = html
        self.state = state
        self.git = git

    @property
    def repo_api(self) -> str:
        return f"{self.api}/repos/{self.state.full_name}"

    @property
    def repo_html(self) -> str:
        return f"{self.html}/{self.state.full_name}"

    # -- users ----------------------------------------------------------------------------

    def user_by_login(self, login: str) -> User:
        user = self.state.users.get(login)
        if user is None:  # an owner or a login we only know by name
            kind = "Organization" if login == self.state.owner else "User"
            user = User(login=login, id=_stable_id(login), type=kind)
        return user

    def simple_user(self, login: str) -> JSON:
        u = self.user_by_login(login)
        base = f"{self.api}/users/{u.login}"
        return {
            "login": u.login,
            "id": u.id,
            "node_id": node_id("User", u.id),
            "avatar_url": f"https://avatars.githubusercontent.com/u/{u.id}?v=4",
            "gravatar_id": "",
            "url": base,
            "html_url": f"{self.html}/{u.login}",
            "followers_url": f"{base}/followers",
            "following_url": f"{base}/following{{/other_user}}",
            "gists_url": f"{base}/gists{{/gist_id}}",
            "starred_url": f"{base}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{base}/subscriptions",
            "organizations_url": f"{base}/orgs",
            "repos_url": f"{base}/repos",
            "events_url": f"{base}/events{{/privacy}}",
            "received_events_url": f"{base}/received_events",
            "type": u.type,
            "user_view_type": "public",
            "site_admin": False,
        }

    def full_user(self, login: str, private: bool) -> JSON:
        u = self.user_by_login(login)
        body = self.simple_user(login) | {
            "name": u.name,
            "company": None,
            "blog": "",
            "location": None,
            "email": u.email,
            "hireable": None,
            "bio": None,
            "twitter_username": None,
            "public_repos": 0,
            "public_gists": 0,
            "followers": 0,
            "following": 0,
            "created_at": "2020-01-01T00:00:00Z",
            "updated_at": "2020-01-01T00:00:00Z",
        }
        if private:
            body |= {
                "user_view_type": "private",
                "private_gists": 0,
                "total_private_repos": 0,
                "owned_private_repos": 0,
                "disk_usage": 0,
                "collaborators": 0,
                "two_factor_authentication": True,
            }
        return body

    def login_for_email(self, email: str) -> str | None:
        if email == "noreply@github.com":
            return "web-flow"  # GitHub's own commits (merges) show this committer
        for u in self.state.users.values():
            if u.email and u.email.lower() == email.lower():
                return u.login
        return None

    # -- repository -----------------------------------------------------------------------

    def repository(self, login: str | None = None) -> JSON:
        s = self.state
        r = self.repo_api
        perm = self.state.users[login].permission if login in self.state.users else "read"
        body: JSON = {
            "id": s.id,
            "node_id": node_id("Repository", s.id),
            "name": s.name,
            "full_name": s.full_name,
            "private": True,
            "owner": self.simple_user(s.owner),
            "html_url": self.repo_html,
            "description": None,
            "fork": False,
            "url": r,
            "archive_url": f"{r}/{{archive_format}}{{/ref}}",
            "assignees_url": f"{r}/assignees{{/user}}",
            "blobs_url": f"{r}/git/blobs{{/sha}}",
            "branches_url": f"{r}/branches{{/branch}}",
            "collaborators_url": f"{r}/collaborators{{/collaborator}}",
            "comments_url": f"{r}/comments{{/number}}",
            "commits_url": f"{r}/commits{{/sha}}",
            "compare_url": f"{r}/compare/{{base}}...{{head}}",
            "contents_url": f"{r}/contents/{{+path}}",
            "contributors_url": f"{r}/contributors",
            "deployments_url": f"{r}/deployments",
            "downloads_url": f"{r}/downloads",
            "events_url": f"{r}/events",
            "forks_url": f"{r}/forks",
            "git_commits_url": f"{r}/git/commits{{/sha}}",
            "git_refs_url": f"{r}/git/refs{{/sha}}",
            "git_tags_url": f"{r}/git/tags{{/sha}}",
            "git_url": f"git://127.0.0.1/{s.full_name}.git",
            "hooks_url": f"{r}/hooks",
            "issue_comment_url": f"{r}/issues/comments{{/number}}",
            "issue_events_url": f"{r}/issues/events{{/number}}",
            "issues_url": f"{r}/issues{{/number}}",
            "keys_url": f"{r}/keys{{/key_id}}",
            "labels_url": f"{r}/labels{{/name}}",
            "languages_url": f"{r}/languages",
            "merges_url": f"{r}/merges",
            "milestones_url": f"{r}/milestones{{/number}}",
            "notifications_url": f"{r}/notifications{{?since,all,participating}}",
            "pulls_url": f"{r}/pulls{{/number}}",
            "releases_url": f"{r}/releases{{/id}}",
            "ssh_url": f"git@127.0.0.1:{s.full_name}.git",
            "stargazers_url": f"{r}/stargazers",
            "statuses_url": f"{r}/statuses/{{sha}}",
            "subscribers_url": f"{r}/subscribers",
            "subscription_url": f"{r}/subscription",
            "tags_url": f"{r}/tags",
            "teams_url": f"{r}/teams",
            "trees_url": f"{r}/git/trees{{/sha}}",
            "clone_url": self.git.path.as_uri(),
            "mirror_url": None,
            "svn_url": self.repo_html,
            "homepage": None,
            "language": "Python",
            "forks_count": 0,
            "forks": 0,
            "stargazers_count": 0,
            "watchers_count": 0,
            "watchers": 0,
            "size": 1,
            "default_branch": s.default_branch,
            "open_issues_count": sum(1 for p in s.pulls.values() if p.state == "open"),
            "open_issues": sum(1 for p in s.pulls.values() if p.state == "open"),
            "is_template": False,
            "topics": [],
            "has_issues": True,
            "has_projects": False,
            "has_wiki": False,
            "has_pages": False,
            "has_downloads": True,
            "has_discussions": False,
            "archived": False,
            "disabled": False,
            "visibility": "private",
            "pushed_at": "2026-01-01T00:00:00Z",
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z",
            "permissions": {
                "admin": perm == "admin",
                "maintain": perm == "admin",
                "push": perm in ("write", "admin"),
                "triage": perm in ("write", "admin"),
                "pull": True,
            },
            "allow_rebase_merge": self.state.allow_rebase_merge,
            "allow_squash_merge": self.state.allow_squash_merge,
            "allow_merge_commit": self.state.allow_merge_commit,
            "allow_auto_merge": False,
            "delete_branch_on_merge": False,
            "allow_forking": False,
            "web_commit_signoff_required": False,
            "license": None,
            "network_count": 0,
            "subscribers_count": 0,
        }
        return body

    # -- git data -------------------------------------------------------------------------

    def signature(self, sig: Signature) -> JSON:
        return {"name": sig.name, "email": sig.email, "date": sig.date}

    def parent(self, sha: str) -> JSON:
        return {
            "sha": sha,
            "url": f"{self.repo_api}/commits/{sha}",
            "html_url": f"{self.repo_html}/commit/{sha}",
        }

    def git_commit(self, info: CommitInfo) -> JSON:
        return {
            "sha": info.sha,
            "node_id": node_id("Commit", info.sha),
            "url": f"{self.repo_api}/git/commits/{info.sha}",
            "html_url": f"{self.repo_html}/commit/{info.sha}",
            "author": self.signature(info.author),
            "committer": self.signature(info.committer),
            "tree": {"sha": info.tree, "url": f"{self.repo_api}/git/trees/{info.tree}"},
            "message": info.message,
            "parents": [
                {
                    "sha": p,
                    "url": f"{self.repo_api}/git/commits/{p}",
                    "html_url": f"{self.repo_html}/commit/{p}",
                }
                for p in info.parents
            ],
            "verification": self.verification(info.sha),
        }

    def verification(self, sha: str) -> JSON:
        """GitHub's verdict on a commit's signature (only GitHub's own key is known here)."""
        if not self.git.verified(sha):
            return dict(UNSIGNED)
        raw = self.git.git("cat-file", "commit", sha)
        return {"verified": True, "reason": "valid", "signature": None, "payload": raw,
                "verified_at": None}  # fmt: skip

    def commit(self, info: CommitInfo, files: list[FileChange] | None = None) -> JSON:
        author = self.login_for_email(info.author.email)
        committer = self.login_for_email(info.committer.email)
        body: JSON = {
            "url": f"{self.repo_api}/commits/{info.sha}",
            "sha": info.sha,
            "node_id": node_id("Commit", info.sha),
            "html_url": f"{self.repo_html}/commit/{info.sha}",
            "comments_url": f"{self.repo_api}/commits/{info.sha}/comments",
            "commit": {
                "url": f"{self.repo_api}/git/commits/{info.sha}",
                "author": self.signature(info.author),
                "committer": self.signature(info.committer),
                "message": info.message,
                "tree": {"sha": info.tree, "url": f"{self.repo_api}/git/trees/{info.tree}"},
                "comment_count": 0,
                "verification": self.verification(info.sha),
            },
            "author": self.simple_user(author) if author else None,
            "committer": self.simple_user(committer) if committer else None,
            "parents": [self.parent(p) for p in info.parents],
        }
        if files is not None:
            adds = sum(f.additions for f in files)
            dels = sum(f.deletions for f in files)
            body["stats"] = {"additions": adds, "deletions": dels, "total": adds + dels}
            body["files"] = [self.diff_entry(f, info.sha) for f in files]
        return body

    def diff_entry(self, change: FileChange, ref: str) -> JSON:
        entry: JSON = {
            "sha": change.sha,
            "filename": change.filename,
            "status": change.status,
            "additions": change.additions,
            "deletions": change.deletions,
            "changes": change.additions + change.deletions,
            "blob_url": f"{self.repo_html}/blob/{ref}/{change.filename}",
            "raw_url": f"{self.repo_html}/raw/{ref}/{change.filename}",
            "contents_url": f"{self.repo_api}/contents/{change.filename}?ref={ref}",
        }
        if change.patch:
            entry["patch"] = change.patch
        if change.previous_filename:
            entry["previous_filename"] = change.previous_filename
        return entry

    def ref(self, name: str, sha: str) -> JSON:
        return {
            "ref": name,
            "node_id": node_id("Ref", name),
            "url": f"{self.repo_api}/git/{name}",
            "object": {
                "type": self.git.object_type(sha) or "commit",
                "sha": sha,
                "url": f"{self.repo_api}/git/commits/{sha}",
            },
        }

    def short_branch_commit(self, sha: str) -> JSON:
        return {"sha": sha, "url": f"{self.repo_api}/commits/{sha}"}

    # -- pull requests --------------------------------------------------------------------

    def label(self, label: Label) -> JSON:
        return {
            "id": label.id,
            "node_id": node_id("Label", label.id),
            "url": f"{self.repo_api}/labels/{label.name}",
            "name": label.name,
            "description": label.description,
            "color": label.color,
            "default": False,
        }

    def pr_side(self, branch: str, sha: str) -> JSON:
        return {
            "label": f"{self.state.owner}:{branch}",
            "ref": branch,
            "sha": sha,
            "user": self.simple_user(self.state.owner),
            "repo": self.repository(),
        }

    def pull(self, pr: PullRequest, full: bool, mergeable: bool | None, mstate: str) -> JSON:
        n = pr.number
        pr_api = f"{self.repo_api}/pulls/{n}"
        issue_api = f"{self.repo_api}/issues/{n}"
        html = f"{self.repo_html}/pull/{n}"

        def link(href: str) -> JSON:
            return {"href": href}

        body: JSON = {
            "url": pr_api,
            "id": pr.id,
            "node_id": node_id("PullRequest", pr.id),
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "issue_url": issue_api,
            "commits_url": f"{pr_api}/commits",
            "review_comments_url": f"{pr_api}/comments",
            "review_comment_url": f"{self.repo_api}/pulls/comments{{/number}}",
            "comments_url": f"{issue_api}/comments",
            "statuses_url": f"{self.repo_api}/statuses/{pr.head_sha}",
            "number": n,
            "state": pr.state,
            "locked": False,
            "title": pr.title,
            "user": self.simple_user(pr.user),
            "body": pr.body,
            "labels": [self.label(self.state.labels[name]) for name in pr.labels],
            "milestone": None,
            "active_lock_reason": None,
            "created_at": iso(pr.created_at),
            "updated_at": iso(pr.updated_at),
            "closed_at": iso(pr.closed_at),
            "merged_at": iso(pr.merged_at),
            "merge_commit_sha": pr.merge_commit_sha,
            "assignee": None,
            "assignees": [],
            "requested_reviewers": [self.simple_user(u) for u in pr.requested_users],
            "requested_teams": [
                self.team(self.state.teams[(self.state.owner, slug)])
                for slug in pr.requested_teams
                if (self.state.owner, slug) in self.state.teams
            ],
            "head": self.pr_side(pr.head_ref, pr.head_sha),
            "base": self.pr_side(pr.base_ref, pr.reported_base_sha or pr.base_sha),
            "_links": {
                "self": link(pr_api),
                "html": link(html),
                "issue": link(issue_api),
                "comments": link(f"{issue_api}/comments"),
                "review_comments": link(f"{pr_api}/comments"),
                "review_comment": link(f"{self.repo_api}/pulls/comments{{/number}}"),
                "commits": link(f"{pr_api}/commits"),
                "statuses": link(f"{self.repo_api}/statuses/{pr.head_sha}"),
            },
            "author_association": self.association(pr.user),
            "auto_merge": None,
            "draft": pr.draft,
        }
        if full:
            base = self.git.merge_base(pr.base_sha, pr.head_sha) if pr.state == "open" else None
            commits = self.git.rev_list(base or pr.base_sha, pr.head_sha)
            files = self.git.diff_files(base or pr.base_sha, pr.head_sha, renames=True)
            body |= {
                "merged": pr.merged_at is not None,
                "mergeable": mergeable,
                "rebaseable": mergeable,
                "mergeable_state": mstate,
                "merged_by": self.simple_user(pr.merged_by) if pr.merged_by else None,
                "comments": sum(1 for c in self.state.comments if c.issue_number == n),
                "review_comments": 0,
                "maintainer_can_modify": False,
                "commits": len(commits),
                "additions": sum(f.additions for f in files),
                "deletions": sum(f.deletions for f in files),
                "changed_files": len(files),
            }
        return body

    def association(self, login: str) -> str:
        if login == self.state.owner:
            return "OWNER"
        user = self.state.users.get(login)
        if user and user.permission in ("write", "admin") and user.type == "User":
            return "MEMBER"
        return "CONTRIBUTOR" if user else "NONE"

    def review(self, review: Review) -> JSON:
        pr_api = f"{self.repo_api}/pulls/{review.pr_number}"
        html = f"{self.repo_html}/pull/{review.pr_number}#pullrequestreview-{review.id}"
        return {
            "id": review.id,
            "node_id": node_id("PullRequestReview", review.id),
            "user": self.simple_user(review.user),
            "body": review.body,
            "state": review.state,
            "html_url": html,
            "pull_request_url": pr_api,
            "author_association": self.association(review.user),
            "_links": {"html": {"href": html}, "pull_request": {"href": pr_api}},
            "submitted_at": iso(review.submitted_at),
            "commit_id": review.commit_id,
        }

    def status(self, status: Status) -> JSON:
        creator = self.simple_user(status.creator)
        return {
            "url": f"{self.repo_api}/statuses/{status.sha}",
            "avatar_url": creator["avatar_url"],
            "id": status.id,
            "node_id": node_id("StatusContext", status.id),
            "state": status.state,
            "description": status.description,
            "target_url": status.target_url,
            "context": status.context,
            "created_at": iso(status.created_at),
            "updated_at": iso(status.updated_at),
            "creator": creator,
        }

    def comment(self, comment: Comment) -> JSON:
        return {
            "id": comment.id,
            "node_id": node_id("IssueComment", comment.id),
            "url": f"{self.repo_api}/issues/comments/{comment.id}",
            "html_url": (f"{self.repo_html}/pull/{comment.issue_number}#issuecomment-{comment.id}"),
            "body": comment.body,
            "user": self.simple_user(comment.user),
            "created_at": iso(comment.created_at),
            "updated_at": iso(comment.updated_at),
            "issue_url": f"{self.repo_api}/issues/{comment.issue_number}",
            "author_association": self.association(comment.user),
        }

    def team(self, team: Team) -> JSON:
        # pygithub follows ``url``: point it at the /orgs/{org}/teams/{slug} routes.
        org_api = f"{self.api}/orgs/{team.org}/teams/{team.slug}"
        return {
            "id": team.id,
            "node_id": node_id("Team", team.id),
            "url": org_api,
            "html_url": f"{self.html}/orgs/{team.org}/teams/{team.slug}",
            "name": team.name or team.slug,
            "slug": team.slug,
            "description": None,
            "privacy": "closed",
            "notification_setting": "notifications_enabled",
            "permission": "pull",
            "members_url": f"{org_api}/members{{/member}}",
            "repositories_url": f"{org_api}/repos",
            "type": "organization",
            "parent": None,
        }


def _stable_id(text: str) -> int:
    """A deterministic id for a name the emulator was not told about."""
    value = 0
    for ch in text.encode():
        value = (value * 131 + ch) % 9_000_000
    return 1_000_000 + value


def organization(shapes: Shapes, login: str) -> JSON:
    api = f"{shapes.api}/orgs/{login}"
    oid = _stable_id(login)
    return {
        "login": login,
        "id": oid,
        "node_id": node_id("Organization", oid),
        "url": api,
        "repos_url": f"{api}/repos",
        "events_url": f"{api}/events",
        "hooks_url": f"{api}/hooks",
        "issues_url": f"{api}/issues",
        "members_url": f"{api}/members{{/member}}",
        "public_members_url": f"{api}/public_members{{/member}}",
        "avatar_url": f"https://avatars.githubusercontent.com/u/{oid}?v=4",
        "description": None,
        "html_url": f"{shapes.html}/{login}",
        "has_organization_projects": False,
        "has_repository_projects": False,
        "public_repos": 1,
        "public_gists": 0,
        "followers": 0,
        "following": 0,
        "type": "Organization",
        "created_at": "2020-01-01T00:00:00Z",
        "updated_at": "2020-01-01T00:00:00Z",
        "archived_at": None,
    }
