"""``jitctl init``: a new access repository, as files (pure plan) and a first commit (adapter).

:func:`plan` says what the repository holds for the options given (path -> text), from the
templates shipped in the package; :func:`write` lays it down in a folder and commits it. Nothing
of jitctl's own source, tests or tooling goes into the scaffold.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources

from controller import __version__
from controller.core.errors import JitError

CLOUDS = ("aws", "gcp", "azure")
TEAM_RE = re.compile(r"@[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass(frozen=True)
class Options:
    clouds: tuple[str, ...] = ("aws",)
    platform_team: str = "@example/platform"

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


def _template(name: str) -> str:
    return resources.files("controller.scaffold").joinpath("templates", name).read_text("utf-8")


def plan(opts: Options) -> Mapping[str, str]:
    """Every file of the new repository: repository-relative path -> text."""
    clouds = [c for c in CLOUDS if c in opts.clouds]  # a fixed order, whatever was asked
    catalog = _template("catalog/head.yaml") + "".join(
        ("\n" if i else "") + _template(f"catalog/{c}.yaml") for i, c in enumerate(clouds)
    )
    files = {
        "README.md": _template("README.md").replace("{version}", __version__),
        "catalog.yaml": catalog,
        "grants/.gitkeep": "",
        ".gitignore": _template("gitignore"),
        ".github/CODEOWNERS": _template("github/CODEOWNERS").replace(
            "{platform_team}", opts.platform_team
        ),
        ".github/pull_request_template.md": _template("github/pull_request_template.md"),
    }
    return dict(sorted(files.items()))
