"""All routes; more specific templates are registered first."""

from __future__ import annotations

from ..routing import Router

ROUTER = Router()

from . import meta, issues, pulls, git  # noqa: E402, F401, I001  (order: specific first)

__all__ = ["ROUTER"]
