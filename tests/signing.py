"""SSH commit signing for tests: a real key made with ssh-keygen, git's own signing and
verification, an allowed-signers file committed in the repository (the audit's trust root)."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.factories import EXAMPLE_CATALOG_TEXT
from tests.gitutil import Repo

SIGNERS_PATH = ".github/jitctl/allowed_signers"
AUDIT_SECTION = f"\naudit:\n  signers: {SIGNERS_PATH}\n"
SIGNED_CATALOG = EXAMPLE_CATALOG_TEXT + AUDIT_SECTION


@dataclass(frozen=True)
class Signer:
    principal: str
    key: Path  # private key file (git's user.signingKey)

    @property
    def public(self) -> str:
        return Path(str(self.key) + ".pub").read_text().strip()

    def allowed(self) -> str:
        """This key's line in an allowed-signers file."""
        return f'{self.principal} namespaces="git" {self.public}\n'

    def env(self) -> dict[str, str]:
        """Environment that makes ``git commit``/``git merge`` sign with this key."""
        return {
            "GIT_CONFIG_COUNT": "3",
            "GIT_CONFIG_KEY_0": "commit.gpgSign",
            "GIT_CONFIG_VALUE_0": "true",
            "GIT_CONFIG_KEY_1": "gpg.format",
            "GIT_CONFIG_VALUE_1": "ssh",
            "GIT_CONFIG_KEY_2": "user.signingKey",
            "GIT_CONFIG_VALUE_2": str(self.key),
        }

    def configure(self, repo: Repo) -> None:
        """Make this key the repository's signing key (what ``jitctl merge --local`` uses)."""
        repo.git("config", "gpg.format", "ssh")
        repo.git("config", "user.signingKey", str(self.key))


def make_signer(root: Path, principal: str, name: str = "jitctl") -> Signer:
    if shutil.which("ssh-keygen") is None:
        raise AssertionError("ssh-keygen is missing: install openssh-client (scripts/bootstrap)")
    root.mkdir(parents=True, exist_ok=True)
    key = root / f"{name}_ed25519"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", principal, "-f", str(key)],
        check=True,
        capture_output=True,
    )
    return Signer(principal, key)


def new_signed_repo(root: Path, signer: Signer, catalog: str = SIGNED_CATALOG) -> Repo:
    """An access repository whose catalog trusts ``signer`` (allowed-signers file committed)."""
    root.mkdir(parents=True, exist_ok=True)
    repo = Repo(root)
    repo.commit(
        {"catalog.yaml": catalog, "grants/.gitkeep": "", SIGNERS_PATH: signer.allowed()},
        "initial catalog",
    )
    repo.git("push", "-q", "-u", "origin", "main")
    return repo
