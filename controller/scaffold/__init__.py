"""``jitctl init``: a new access repository, as files (pure plan) and a first commit (adapter).

:func:`plan` says what the repository holds for the options given (path -> text), from the
templates and the upstream files shipped in the package (``upstream/`` links to this
repository's own workflows, Terraform root, modules and rulesets, so there is one copy of each:
:mod:`controller.scaffold.workflows` and :mod:`controller.scaffold.terraform` derive the access
repository's versions); ``repository.create`` lays it down in a folder and commits it. Nothing
of jitctl's own source, tests or tooling goes into the scaffold.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

from controller import __version__
from controller.core.errors import JitError
from controller.scaffold import terraform, workflows

CLOUDS = ("aws", "gcp", "azure")
TEAM_RE = re.compile(r"@[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9][A-Za-z0-9._-]*")
# the versioned action the workflows use; an organisation names its own copy of jitctl
DEFAULT_ACTION_REPO = "example/jitctl"
TARGET_RE = {
    "aws": (re.compile(r"[0-9]{12}"), "an AWS account id (12 digits)"),
    "gcp": (re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]"), "a GCP project id"),
    "azure": (
        re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"),
        "an Azure subscription id (a lower-case GUID)",
    ),
}
TARGET_OPTION = {"aws": "--aws-accounts", "gcp": "--gcp-projects", "azure": "--azure-subscriptions"}


@dataclass(frozen=True)
class Options:
    clouds: tuple[str, ...] = ("aws",)
    platform_team: str = "@example/platform"
    action_repo: str = DEFAULT_ACTION_REPO
    action_ref: str = f"v{__version__}"
    # cloud -> its targets (AWS accounts, GCP projects, Azure subscriptions); none: an example
    targets: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # where Terraform keeps its state; None: S3 with AWS, else GCS with GCP, else Azure storage
    state_backend: str | None = None

    def __post_init__(self) -> None:
        if not self.clouds:
            raise JitError("--clouds: name at least one of aws, gcp, azure", rule="usage")
        unknown = [c for c in self.clouds if c not in CLOUDS]
        if unknown:
            raise JitError(
                f"--clouds: unknown cloud(s) {', '.join(unknown)}; choose from aws, gcp, azure",
                rule="usage",
            )
        if not TEAM_RE.fullmatch(self.platform_team):
            raise JitError(
                f"--platform-team: {self.platform_team!r} is not a team written as @org/team",
                rule="usage",
            )
        if not workflows.ACTION_REPO_RE.fullmatch(self.action_repo):
            raise JitError(
                f"--action-repo: {self.action_repo!r} is not a repository written as owner/name",
                rule="usage",
            )
        if not workflows.REF_RE.fullmatch(self.action_ref):
            raise JitError(
                f"--action-ref: {self.action_ref!r} is neither a version tag (v1.2.3) nor a full "
                "commit sha",
                rule="usage",
            )
        if self.state_backend is not None and self.state_backend not in workflows.BACKENDS:
            raise JitError(
                f"--state-backend: {self.state_backend!r} is not one of "
                f"{', '.join(workflows.BACKENDS)}",
                rule="usage",
            )
        for cloud, ids in self.targets:
            pattern, what = TARGET_RE[cloud]
            if ids and cloud not in self.clouds:
                raise JitError(
                    f"{TARGET_OPTION[cloud]}: {cloud} is not among --clouds", rule="usage"
                )
            for target in ids:
                if not pattern.fullmatch(target):
                    raise JitError(
                        f"{TARGET_OPTION[cloud]}: {target!r} is not {what}", rule="usage"
                    )
            if len(set(ids)) != len(ids):
                raise JitError(f"{TARGET_OPTION[cloud]}: a target is named twice", rule="usage")

    @property
    def backend(self) -> str:
        if self.state_backend:
            return self.state_backend
        return "s3" if "aws" in self.clouds else "gcs" if "gcp" in self.clouds else "azurerm"

    def targets_of(self, cloud: str) -> tuple[str, ...]:
        return next((ids for c, ids in self.targets if c == cloud), ())


def _template(name: str) -> str:
    return resources.files("controller.scaffold").joinpath("templates", name).read_text("utf-8")


def owned(path: str) -> bool:
    """The files ``jitctl init --upgrade`` rewrites: jitctl's own, derived from this version.
    Everything else (catalog.yaml, CODEOWNERS, the rulesets, README) is the organisation's once
    written."""
    return (
        path.startswith(("modules/", ".github/workflows/jit-"))
        or path == ".github/zizmor.yml"
        or (path.startswith("terraform/") and path.count("/") == 1)
    )


def vendored_modules(files: Mapping[str, str]) -> list[str]:
    """What ``--upgrade`` removes when this version no longer writes it (git pathspecs): the
    files of the module folders the scaffold vendors, a jit-* workflow, the zizmor settings
    (not written when the action is pinned by sha)."""
    folders = {"/".join(p.split("/")[:2]) + "/" for p in files if p.startswith("modules/")}
    return [*sorted(folders), ":(glob).github/workflows/jit-*.yml", ".github/zizmor.yml"]


def _upstream(*parts: str) -> Traversable:
    return resources.files("controller.scaffold").joinpath("upstream", *parts)


def _tree(top: Traversable, prefix: str = "") -> Iterator[tuple[str, Traversable]]:
    """Every shipped file under ``top`` (the suffixes pyproject.toml packages), relative path."""
    for entry in sorted(top.iterdir(), key=lambda e: e.name):
        if entry.name.startswith("."):
            continue  # .terraform/ and other local state of a source checkout
        rel = f"{prefix}{entry.name}"
        if entry.is_dir():
            yield from _tree(entry, rel + "/")
        elif entry.name.endswith((".tf", ".hcl", ".md")):
            yield rel, entry


# the example entitlement of each cloud's catalog template, and what names a target in it
_EXAMPLE = {
    "aws": ("aws-prod-readonly", "Read-only access to the prod AWS account", "123456789012"),
    "gcp": ("gcp-prod-logs-viewer", "Read logs in the prod GCP project", "example-prod"),
    "azure": (
        "azure-prod-reader",
        "Reader on the prod Azure subscription, through PIM",
        "00000000-0000-4000-8000-000000000000",
    ),
}
_PER_TARGET = {
    "aws": ("aws-readonly-{t}", "Read-only access to AWS account {t}"),
    "gcp": ("gcp-logs-viewer-{t}", "Read logs in GCP project {t}"),
    "azure": ("azure-reader-{t}", "Reader on Azure subscription {t}, through PIM"),
}


def _catalog_entries(cloud: str, targets: tuple[str, ...]) -> str:
    text = _template(f"catalog/{cloud}.yaml")
    if not targets:
        return text
    name, description, example = _EXAMPLE[cloud]
    new_name, new_description = _PER_TARGET[cloud]
    for needle in (f"  {name}:", description, example):
        if needle not in text:
            raise RuntimeError(f"templates/catalog/{cloud}.yaml: no {needle!r} to replace")
    return "".join(
        text.replace(f"  {name}:", "  " + new_name.format(t=t) + ":")
        .replace(description, new_description.format(t=t))
        .replace(example, t)
        for t in targets
    )


def plan(opts: Options) -> Mapping[str, str]:
    """Every file of the new repository: repository-relative path -> text."""
    clouds = [c for c in CLOUDS if c in opts.clouds]  # a fixed order, whatever was asked
    catalog = _template("catalog/head.yaml") + "".join(
        ("\n" if i else "") + _catalog_entries(c, opts.targets_of(c)) for i, c in enumerate(clouds)
    )
    files = {
        "README.md": _template("README.md")
        .replace("{version}", __version__)
        .replace("{action}", f"{opts.action_repo}@{opts.action_ref}"),
        "catalog.yaml": catalog,
        "grants/.gitkeep": "",
        ".gitignore": _template("gitignore"),
        ".github/CODEOWNERS": _template("github/CODEOWNERS").replace(
            "{platform_team}", opts.platform_team
        ),
        ".github/pull_request_template.md": _template("github/pull_request_template.md"),
        ".github/jitctl/ruleset.json": _upstream("ruleset.json").read_text("utf-8"),
        ".github/jitctl/ruleset-expire.json": _upstream("ruleset-expire.json").read_text("utf-8"),
    }
    for name in workflows.WORKFLOWS:
        files[f".github/workflows/{name}"] = workflows.derive(
            name,
            _upstream("workflows", name).read_text("utf-8"),
            clouds=clouds,
            action_repo=opts.action_repo,
            action_ref=opts.action_ref,
            backend=opts.backend,
        )
    if not workflows.SHA_RE.fullmatch(opts.action_ref):
        files[".github/zizmor.yml"] = workflows.zizmor_config(opts.action_repo)
    root = {
        name: entry.read_text("utf-8")
        for name, entry in _tree(_upstream("terraform"))
        if name.endswith(".tf") and "/" not in name
    }
    for name, text in terraform.root(root, clouds, opts.backend).items():
        files[f"terraform/{name}"] = text
    files["terraform/backend.hcl.example"] = terraform.BACKEND_EXAMPLES.get(
        opts.backend
    ) or _upstream("terraform", "backend.hcl.example").read_text("utf-8")
    modules = dict(_tree(_upstream("modules")))
    for rel in terraform.module_files(modules, clouds):
        files[f"modules/{rel}"] = modules[rel].read_text("utf-8")
    return dict(sorted(files.items()))
