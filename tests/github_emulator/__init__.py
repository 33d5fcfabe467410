"""A local GitHub REST API emulator for tests, backed by a real bare git repository."""

from __future__ import annotations

from .server import GitHubEmulator

__all__ = ["GitHubEmulator"]
