"""pytest fixtures: a fresh emulator with a seeded repository, users, teams and an app."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .server import GitHubEmulator

OWNER = "acme"
REPO = "access"
USERS = ("alice", "bob", "carol", "dave", "erin")
TEAMS = {
    "sre": ["carol", "dave"],
    "security": ["erin"],
    "engineering": ["alice", "bob", "carol", "dave"],
}
APP_ID = 123456
INSTALLATION_ID = 4242
SEED_FILES = {
    "README.md": "# access\n",
    "catalog.yaml": "version: 1\nentitlements: {}\n",
    "grants/.keep": "",
}


@dataclass(frozen=True)
class EmulatedGitHub:
    """What tests get from the ``github_emulator`` fixture."""

    emu: GitHubEmulator
    tokens: dict[str, str]  # login -> token
    app_id: int
    installation_id: int
    app_private_key_pem: str
    seed_sha: str
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return self.emu.base_url

    @property
    def bare_path(self) -> Path:
        return self.emu.bare_path

    def token(self, login: str) -> str:
        return self.tokens[login]


_KEY: rsa.RSAPrivateKey | None = None


def app_key() -> rsa.RSAPrivateKey:
    """One RSA key per test session (generating one costs ~50 ms)."""
    global _KEY
    if _KEY is None:
        _KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return _KEY


def build_emulator(root: Path) -> EmulatedGitHub:
    emu = GitHubEmulator(root, owner=OWNER, repo=REPO, default_branch="main")
    tokens = {login: f"ghp_test_{login}" for login in USERS}
    for login in USERS:
        emu.add_user(login, tokens[login])
    emu.add_user("rita", "ghp_test_rita", permission="read")
    tokens["rita"] = "ghp_test_rita"
    for slug, members in TEAMS.items():
        emu.add_team(OWNER, slug, members)
    key = app_key()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    emu.add_app(APP_ID, "jitctl-app", public, INSTALLATION_ID)
    seed = emu.commit_files("main", SEED_FILES, "Initial commit", author="alice")
    return EmulatedGitHub(emu, tokens, APP_ID, INSTALLATION_ID, private, seed)


@pytest.fixture
def github_emulator(tmp_path: Path) -> Iterator[EmulatedGitHub]:
    """A started emulator for ``acme/access`` (seeded ``main``), stopped at teardown."""
    gh = build_emulator(tmp_path / "github")
    gh.emu.start()
    try:
        yield gh
    finally:
        gh.emu.stop()
