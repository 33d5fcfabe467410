"""pytest fixtures: a fresh emulator with a seeded repository, users, teams and an app."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
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


@dataclass(frozen=True)
class WebFlowKey:
    """The emulator's stand-in for GitHub's web-flow OpenPGP key (GitHub signs the commits it
    makes, e.g. merges, with its own key; its public half is published as web-flow.gpg)."""

    gnupg_home: Path
    fingerprint: str
    public: str  # ASCII-armoured public key


_WEB_FLOW: WebFlowKey | None = None


def web_flow_key() -> WebFlowKey:
    """One OpenPGP key per test session (ed25519, made with gpg; ~0.3 s)."""
    global _WEB_FLOW
    if _WEB_FLOW is None:
        gpg = shutil.which("gpg")
        if gpg is None:
            raise AssertionError("gpg is missing: install gnupg (scripts/bootstrap)")
        home = Path(tempfile.mkdtemp(prefix="emu-web-flow-"))
        home.chmod(0o700)
        env = {**os.environ, "GNUPGHOME": str(home)}
        uid = "GitHub (web-flow commit signing) <noreply@github.com>"
        subprocess.run(
            [gpg, "--batch", "--quiet", "--pinentry-mode", "loopback", "--passphrase", "",
             "--quick-gen-key", uid, "ed25519", "sign", "never"],
            env=env, check=True, capture_output=True,
        )  # fmt: skip
        listing = subprocess.run(
            [gpg, "--batch", "--with-colons", "--list-keys"],
            env=env, check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
        fpr = next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr"))
        public = subprocess.run(
            [gpg, "--batch", "--armor", "--export", fpr],
            env=env, check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
        _WEB_FLOW = WebFlowKey(home, fpr, public)
    return _WEB_FLOW


def stop_web_flow_agent() -> None:
    """End the gpg-agent that signing started for the session key (at session end)."""
    if _WEB_FLOW is not None and shutil.which("gpgconf"):
        subprocess.run(
            ["gpgconf", "--kill", "gpg-agent"],
            env={**os.environ, "GNUPGHOME": str(_WEB_FLOW.gnupg_home)},
            check=False,
            capture_output=True,
        )


def build_emulator(root: Path) -> EmulatedGitHub:
    emu = GitHubEmulator(root, owner=OWNER, repo=REPO, default_branch="main")
    key = web_flow_key()
    emu.git.signing = (key.gnupg_home, key.fingerprint)
    tokens = {login: f"ghp_test_{login}" for login in USERS}
    for login in USERS:
        emu.add_user(login, tokens[login])
    emu.add_user("rita", "ghp_test_rita", permission="read")
    tokens["rita"] = "ghp_test_rita"
    for slug, members in TEAMS.items():
        emu.add_team(OWNER, slug, members)
    app = app_key()
    public = app.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    private = app.private_bytes(
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


@pytest.fixture(scope="session", autouse=True)
def _web_flow_agent() -> Iterator[None]:
    yield
    stop_web_flow_agent()
