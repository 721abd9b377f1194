"""Beams' pure rules: id and name patterns, limits, the token-shape checks that stand in for
APNs / FCM / web push, interest-page cursors, publish-body schema checks, VAPID keys, and the
user JWT.

The user JWT is checked the way the real server does:

HS256 over the instance secret key's UTF-8 bytes; claims ``exp``, ``sub`` and ``iss`` are
required, ``iss`` must be ``https://<instance>.pushnotifications.pusher.com``. Time claims
are compared with the emulator's clock (so tests can expire a token by moving the clock).
The 401 texts follow the one recorded answer (``Invalid JWT claims: Token used before
issued``, the wording of Go's jwt-go library), extended to jwt-go's other messages.

Verification is done here rather than with PyJWT's ``decode`` because every claim problem
needs its own status and text, in the server's order, against a movable clock.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from typing import Any

from ...httputil import BodyError, bounded_int, parse_json
from . import errors

# -- patterns and limits ------------------------------------------------------------------------
UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
INTEREST_RE = re.compile(r"[a-zA-Z0-9_\-=@,.;]{1,164}")
PUBLISH_INTEREST_PATTERN = r"^[a-zA-Z0-9_\-=@,.;]+$"
DEVICE_ID_RE = re.compile(r"[A-Za-z0-9_\-.:=@]{1,200}")
APNS_TOKEN_RE = re.compile(r"(?:[0-9a-fA-F]{2})+")
FCM_TOKEN_RE = re.compile(r"[A-Za-z0-9_\-:.]{1,4096}")

PLATFORMS = ("apns", "fcm", "web")
METADATA_FIELDS = {
    "apns": ("sdkVersion", "iosVersion", "macosVersion"),
    "fcm": ("sdkVersion", "androidVersion"),
    "web": ("sdkVersion",),
}
MAX_USER_ID = 164
MAX_INTERESTS = 5000
MAX_DEVICES_PER_USER = 100
MAX_INTERESTS_PAGE = 100
KIB = 1024
DEVICE_BODY_LIMIT = (64 * KIB, "64KiB")
INTERESTS_BODY_LIMIT = (1024 * KIB, "1MiB")
REPORTING_BODY_LIMIT = (16 * KIB, "16KiB")
PUBLISH_LIMITS = {  # target -> (max targets, max body bytes, text)
    "interests": (100, 10 * KIB, "10KiB"),
    "users": (1000, 200 * KIB, "200KiB"),
}
JSON_TYPE_NAMES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer",
                   float: "number", type(None): "null"}


# -- base64url and VAPID keys -----------------------------------------------------------------
def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_vapid_private_key() -> str:
    """A fresh P-256 private key as base64url of its 32-byte scalar (how VAPID keys are shared)."""
    from cryptography.hazmat.primitives.asymmetric import ec  # imported on use: ~20 ms of start-up

    key = ec.generate_private_key(ec.SECP256R1())
    return b64url(key.private_numbers().private_value.to_bytes(32, "big"))


def vapid_public_key(private_b64: str) -> str:
    """base64url of the 65-byte uncompressed public point, what ``pushManager.subscribe`` takes.
    Raises ValueError for a key that is not a P-256 scalar."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    raw = b64url_decode(private_b64)
    if len(raw) != 32:
        raise ValueError("a P-256 private key is 32 bytes")
    key = ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
    return b64url(key.public_key().public_bytes(serialization.Encoding.X962,
                                                serialization.PublicFormat.UncompressedPoint))


# -- device bodies ------------------------------------------------------------------------------
def optional_str(body: dict[str, Any], key: str) -> str | None:
    """A string field or None; another JSON type cannot decode into the Go struct."""
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise errors.bad_body()
    return value


def clean_metadata(platform: str, raw: Any) -> dict[str, str]:
    """Only the platform's metadata fields survive (the server decodes into a struct)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise errors.bad_body()
    out = {}
    for key in METADATA_FIELDS[platform]:
        value = optional_str(raw, key)
        if value is not None:
            out[key] = value
    return out


def token_is_valid(platform: str, token: str) -> bool:
    """Stand-in for the real check against APNs / FCM / the web push service: the token has
    the shape the platform's SDK produces."""
    if platform == "apns":
        return APNS_TOKEN_RE.fullmatch(token) is not None
    if platform == "fcm":
        return FCM_TOKEN_RE.fullmatch(token) is not None
    try:
        subscription = parse_json(base64.b64decode(token, validate=True), require_object=True)
    except (binascii.Error, ValueError, BodyError):
        return False
    endpoint, keys = subscription.get("endpoint"), subscription.get("keys")
    return (isinstance(endpoint, str) and endpoint.startswith(("https://", "http://"))
            and isinstance(keys, dict) and isinstance(keys.get("p256dh"), str) and isinstance(keys.get("auth"), str))


# -- interest pages -----------------------------------------------------------------------------
def encode_cursor(last: str) -> str:
    return b64url(f"i:{last}".encode())


def decode_cursor(cursor: str) -> str:
    try:
        text = b64url_decode(cursor).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise errors.bad_cursor() from None
    if not text.startswith("i:") or not INTEREST_RE.fullmatch(text[2:]):
        raise errors.bad_cursor()
    return text[2:]


def page_limit(raw: str | None) -> int:
    """Default and maximum 100; larger values are clamped, non-positive or non-numeric refused."""
    if not raw:
        return MAX_INTERESTS_PAGE
    limit = bounded_int(raw, MAX_INTERESTS_PAGE)
    if limit is None or limit < 1:
        raise errors.bad_limit()
    return limit


# -- publish bodies -----------------------------------------------------------------------------
def json_type(value: Any) -> str:
    return JSON_TYPE_NAMES.get(type(value), "unknown")


def validate_targets(body: dict[str, Any], target: str) -> list[str]:
    """The publish body's ``interests`` / ``users``, checked like the server's JSON schema."""
    max_items = PUBLISH_LIMITS[target][0]
    names = body.get(target)
    if target not in body:
        raise errors.schema_error(target, f"{target} is required")
    if not isinstance(names, list):
        raise errors.schema_error(target, f"Invalid type. Expected: array, given: {json_type(names)}")
    if not names:
        raise errors.schema_error(target, "Array must have at least 1 items")
    if len(names) > max_items:
        raise errors.schema_error(target, f"Array must have at most {max_items} items")
    for index, name in enumerate(names):
        field = f"{target}.{index}"
        if not isinstance(name, str):
            raise errors.schema_error(field, f"Invalid type. Expected: string, given: {json_type(name)}")
        if target == "interests" and not re.fullmatch(PUBLISH_INTEREST_PATTERN, name):
            raise errors.schema_error(field, f"Does not match pattern '{PUBLISH_INTEREST_PATTERN}'")
        if not name:
            raise errors.schema_error(field, "String length must be greater than or equal to 1")
        if len(name) > MAX_USER_ID:
            raise errors.schema_error(field, f"String length must be less than or equal to {MAX_USER_ID}")
    return list(dict.fromkeys(names))


def payload_platforms(body: dict[str, Any]) -> list[str]:
    platforms = [p for p in PLATFORMS if p in body]
    if not platforms:
        raise errors.schema_error("(root)", "Must validate at least one schema (anyOf)")
    for platform in platforms:
        if not isinstance(body[platform], dict):
            raise errors.schema_error(platform, f"Invalid type. Expected: object, given: {json_type(body[platform])}")
    if "webhookUrl" in body and not isinstance(body["webhookUrl"], str):
        given = json_type(body["webhookUrl"])
        raise errors.schema_error("webhookUrl", f"Invalid type. Expected: string, given: {given}")
    return platforms


# -- the user JWT -------------------------------------------------------------------------------


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
