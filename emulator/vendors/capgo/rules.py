"""Capgo's pure request rules: id patterns, JavaScript truthiness, key modes, the plugin
request schemas and semver handling. No I/O, no SQL."""
from __future__ import annotations

import re
from typing import Any

#: ``utils.ts isValidAppId`` / ``reverseDomainRegex``
REVERSE_DOMAIN = re.compile(r"[a-z0-9]+(\.[\w-]+)+", re.IGNORECASE)

READ_MODES = {"documented": {"all", "write", "read"}, "live": {"all", "write", "read", "upload"}}
#: pre-2026 modes that may POST/DELETE; live maps them to roles with the same split (§1 matrix)
MANAGE_MODES = {"all", "write"}


def js_truthy(value: Any) -> bool:
    """JavaScript truthiness, for the live service's ``if (body.x)`` checks."""
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str):
        return value != ""
    return True


def is_reverse_domain(app_id: str) -> bool:
    return REVERSE_DOMAIN.fullmatch(app_id) is not None


def key_covers_app(key: dict[str, Any], app_id: str) -> bool:
    return key["app_ids"] is None or app_id in key["app_ids"]


def can_read(key: dict[str, Any], profile: str) -> bool:
    return key["mode"] in READ_MODES[profile]


def can_manage(key: dict[str, Any]) -> bool:
    return key["mode"] in MANAGE_MODES


UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
SEMVER = re.compile(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:[-+][0-9A-Za-z.+-]*)?")
#: node-semver's COERCE: components of at most 16 digits (MAX_SAFE_COMPONENT_LENGTH), not
#: inside a longer run of digits, so a 5,000-digit "version" coerces to nothing
COERCIBLE = re.compile(r"(?<!\d)(\d{1,16})(?:\.(\d{1,16}))?(?:\.(\d{1,16}))?(?!\d)")
PLATFORMS = ("ios", "android", "electron")
#: ``plugins/stats_actions.ts`` (the common ones; the real list is longer)
STATS_ACTIONS = frozenset({
    "ping", "delete", "reset", "set", "get", "set_fail", "update_fail", "download_fail", "windows_path_fail",
    "canonical_path_fail", "directory_path_fail", "unzip_fail", "low_mem_fail", "download_10", "download_20",
    "download_30", "download_40", "download_50", "download_60", "download_70", "download_80", "download_90",
    "download_complete", "decrypt_fail", "app_moved_to_foreground", "app_moved_to_background", "uninstall",
    "needPlanUpgrade", "missingBundle", "noNew", "disablePlatformIos", "disablePlatformAndroid",
    "disableAutoUpdateToMajor", "cannotUpdateViaPrivateChannel", "disableAutoUpdateToMinor",
    "disableAutoUpdateToPatch", "channelMisconfigured", "disableAutoUpdateMetadata",
    "disableAutoUpdateUnderNative", "disableDevBuild", "disableEmulator", "cannotGetBundle",
    "checksum_fail", "NoChannelOrOverride", "setChannel", "getChannel", "rateLimited", "blocked_by_server_url",
})
#: where a bundle is said to live when the fixture gives no ``url`` (never fetched by the emulator)
DEFAULT_BUNDLE_URL = "https://bundles.capgo.emulator.invalid/{app_id}/{name}.zip"

Issues = list[dict[str, str]]


def _require_str(body: dict[str, Any], name: str, label: str, issues: Issues, *, allow_empty: bool = True) -> None:
    value = body.get(name)
    if value is None:
        issues.append({"path": name, "message": f"{label} is required"})
    elif not isinstance(value, str):
        issues.append({"path": name, "message": f"{label} must be a string"})
    elif not allow_empty and value == "":
        issues.append({"path": name, "message": f"{label} is required"})


def _optional_str(body: dict[str, Any], name: str, issues: Issues, max_len: int | None = None) -> None:
    value = body.get(name)
    if value is None:
        return
    if not isinstance(value, str):
        issues.append({"path": name, "message": f"{name} must be a string"})
    elif max_len is not None and len(value) > max_len:
        issues.append({"path": name, "message": f"String must contain at most {max_len} character(s)"})


def _common_issues(body: dict[str, Any], issues: Issues) -> None:
    """``validateRequiredAppId``, ``validateRequiredDeviceId`` and the two booleans."""
    app_id = body.get("app_id")
    if not isinstance(app_id, str):
        issues.append({"path": "app_id", "message": "App ID must be a string"})
    elif not is_reverse_domain(app_id):
        issues.append({"path": "app_id", "message": "App ID must be a reverse domain string"})
    device_id = body.get("device_id")
    if not isinstance(device_id, str):
        issues.append({"path": "device_id", "message": "Device ID must be a string"})
    elif not UUID.fullmatch(device_id):
        issues.append({"path": "device_id", "message": "Device ID must be a valid UUID string"})
    for flag in ("is_emulator", "is_prod"):
        if not isinstance(body.get(flag), bool):
            issues.append({"path": flag, "message": f"{flag} must be a boolean"})
    _optional_str(body, "defaultChannel", issues)
    _optional_str(body, "install_source", issues, 64)
    _optional_str(body, "key_id", issues, 20)
    _optional_str(body, "custom_id", issues, 36)


def update_issues(body: dict[str, Any]) -> Issues:
    """``updateRequestSchema``."""
    issues: Issues = []
    _common_issues(body, issues)
    _require_str(body, "version_name", "Version name", issues, allow_empty=False)
    _require_str(body, "version_build", "Version build", issues, allow_empty=False)
    if body.get("platform") not in PLATFORMS:
        issues.append({"path": "platform", "message": "Platform is required" if body.get("platform") is None
                       else "Platform is not supported or invalid"})
    plugin_version = body.get("plugin_version")
    if not isinstance(plugin_version, str) or not SEMVER.fullmatch(plugin_version):
        issues.append({"path": "plugin_version", "message": "Plugin version is required" if plugin_version is None
                       else "Plugin version is invalid"})
    _optional_str(body, "version_os", issues, 20)
    return issues


def stats_issues(body: dict[str, Any]) -> Issues:
    """``statsRequestSchema``."""
    issues: Issues = []
    _common_issues(body, issues)
    _require_str(body, "platform", "Platform", issues)
    _require_str(body, "version_name", "Version name", issues)
    _require_str(body, "version_os", "Version OS", issues)
    _optional_str(body, "plugin_version", issues)
    _optional_str(body, "version_build", issues)
    action = body.get("action")
    if action is not None and (not isinstance(action, str) or action not in STATS_ACTIONS):
        issues.append({"path": "action", "message": "action must be one of: " + ", ".join(sorted(STATS_ACTIONS))})
    return issues


def coerce_semver(text: str) -> str | None:
    """``semver.coerce``: the first ``X[.Y[.Z]]`` in the text, padded with zeros."""
    match = COERCIBLE.search(text)
    if match is None:
        return None
    return ".".join(str(int(part or 0)) for part in match.groups())


def semver_at_least(version: str, minimum: tuple[int, int, int]) -> bool:
    coerced = coerce_semver(version)
    return coerced is not None and tuple(int(p) for p in coerced.split(".")) >= minimum


