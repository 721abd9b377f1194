"""The Beams user JWT, checked the way the real server does.

HS256 over the instance secret key's UTF-8 bytes; claims ``exp``, ``sub`` and ``iss`` are
required, ``iss`` must be ``https://<instance>.pushnotifications.pusher.com``. Time claims
are compared with the emulator's clock (so tests can expire a token by moving the clock).
The 401 texts follow the one recorded answer (``Invalid JWT claims: Token used before
issued``, the wording of Go's jwt-go library), extended to jwt-go's other messages.

Verification is done here rather than with PyJWT's ``decode`` because every claim problem
needs its own status and text, in the server's order, against a movable clock.
"""
from __future__ import annotations

import hashlib
import hmac
from typing import Any

from ...httputil import BodyError, parse_json
from . import errors
from .storage import b64url_decode

MAX_USER_ID = 164


class _Malformed(Exception):
    pass


def _segment_json(segment: str) -> dict[str, Any]:
    """A JWT part as a JSON object. Parsed like request bodies, so what Go's decoder refuses
    (NaN, Infinity, 1e400, lone surrogates, absurd nesting) is a malformed token here too."""
    try:
        return parse_json(b64url_decode(segment), require_object=True)
    except (BodyError, ValueError):
        raise _Malformed() from None


def go_duration(seconds: int) -> str:
    """Go's time.Duration String() for whole seconds: ``5s``, ``1m30s``, ``1h0m0s``."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def _number(claims: dict[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value


def user_id_from_header(header: str | None, instance_id: str, secret_key: str, now: float) -> str:
    """The user id (``sub``) of a valid ``Authorization: Bearer <JWT>``; raises the Beams error."""
    if header is None or not header.strip():
        raise errors.auth_header_missing()
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme != "Bearer" or not token:
        raise errors.auth_header_malformed()
    parts = token.split(".")
    if len(parts) != 3:
        raise errors.auth_header_malformed()
    try:
        head = _segment_json(parts[0])
        claims = _segment_json(parts[1])
        signature = b64url_decode(parts[2])
    except (_Malformed, ValueError):
        raise errors.auth_header_malformed() from None
    if head.get("alg") != "HS256":
        raise errors.jwt_unauthorized(f"Invalid JWT: signing method {head.get('alg')} is invalid")
    expected = hmac.new(secret_key.encode("utf-8"), f"{parts[0]}.{parts[1]}".encode("ascii"),
                        hashlib.sha256).digest()
    if not hmac.compare_digest(expected, signature):
        raise errors.jwt_unauthorized("Invalid JWT: signature is invalid")

    exp = _number(claims, "exp")
    if exp is None:
        raise errors.jwt_bad_request("Missing expiration (exp) field in JWT")
    if int(now) > exp:
        raise errors.jwt_unauthorized(f"Invalid JWT claims: token is expired by {go_duration(int(now) - int(exp))}")
    iat = _number(claims, "iat")
    if iat is not None and int(now) < iat:
        raise errors.jwt_unauthorized("Invalid JWT claims: Token used before issued")
    nbf = _number(claims, "nbf")
    if nbf is not None and int(now) < nbf:
        raise errors.jwt_unauthorized("Invalid JWT claims: Token is not valid yet")

    sub = claims.get("sub")
    if not isinstance(sub, str):
        raise errors.jwt_bad_request("Missing subject (sub) field in JWT")
    if not 1 <= len(sub) <= MAX_USER_ID:
        raise errors.jwt_bad_request("JWT subject (sub) must be between 1-164 characters long")
    iss = claims.get("iss")
    if not isinstance(iss, str):
        raise errors.jwt_bad_request("Missing issuer (iss) field in JWT")
    if iss != f"https://{instance_id}.pushnotifications.pusher.com":
        raise errors.jwt_bad_issuer()
    return sub
