"""GitHub App authentication: RS256 JWTs signed with the app's private key."""

from __future__ import annotations

import jwt

from .routing import ApiError
from .state import RepoState


def verify_jwt(state: RepoState, token: str, now: float) -> str:
    """The identity ``app:<id>`` for a valid app JWT; 401 otherwise.

    The signature is checked against the app's registered public key (when one was given).
    """
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
        app = state.apps.get(int(claims["iss"]))
    except (jwt.PyJWTError, KeyError, TypeError, ValueError):
        raise ApiError(401, "A JSON web token could not be decoded") from None
    if app is None:
        raise ApiError(401, "Integration not found")
    if app.public_key_pem is not None:
        try:
            jwt.decode(
                token,
                app.public_key_pem,
                algorithms=["RS256"],
                options={"require": ["iat", "exp", "iss"], "verify_iat": False},
                leeway=60,
            )
        except jwt.ExpiredSignatureError:
            raise ApiError(401, "'Expiration time' claim ('exp') is too far in the past") from None
        except jwt.PyJWTError:
            raise ApiError(401, "A JSON web token could not be decoded") from None
    return f"app:{app.id}"
