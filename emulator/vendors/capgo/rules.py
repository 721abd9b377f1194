"""Capgo's pure request rules: id patterns, JavaScript truthiness, key modes, the plugin
request schemas and semver handling. No I/O, no SQL."""
from __future__ import annotations

import re
from typing import Any

#: ``utils.ts isValidAppId`` / ``reverseDomainRegex``
REVERSE_DOMAIN = re.compile(r"[a-z0-9]+(\.[\w-]+)+", re.IGNORECASE | re.ASCII)

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



def js_length(text: str) -> int:
    """A JavaScript string's ``length`` (UTF-16 code units)."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


# == the plugin endpoints (Cap-go/capgo@4bc7d83f supabase/functions/_backend/plugin_runtime/) ==========

#: ``utils/utils.ts deviceIdRegex``
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE | re.ASCII)
#: ``plugin_parser.ts commonSemverRegex``
PLAIN_SEMVER = re.compile(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)", re.ASCII)
#: ``@std/semver`` FULL_REGEXP (a leading ``v`` is allowed; no leading zeros)
_NUM = r"0|[1-9]\d*"
_PRE_ID = rf"(?:{_NUM}|\d*[a-zA-Z-][a-zA-Z0-9-]*)"
_BUILD_ID = r"[0-9A-Za-z-]+"
STD_SEMVER = re.compile(rf"v?({_NUM})\.({_NUM})\.({_NUM})(?:-({_PRE_ID}(?:\.{_PRE_ID})*))?"
                        rf"(?:\+({_BUILD_ID}(?:\.{_BUILD_ID})*))?", re.ASCII)
#: ``@std/semver`` MAX_LENGTH
SEMVER_MAX_LENGTH = 256
PLATFORMS = ("ios", "android", "electron")

#: ``plugins/stats_actions.ts ALLOWED_STATS_ACTIONS``, in its order (the order of the error message)
STATS_ACTIONS = (
    "ping", "delete", "reset", "set", "get", "set_fail", "update_fail", "download_fail", "windows_path_fail",
    "canonical_path_fail", "directory_path_fail", "unzip_fail", "low_mem_fail", "download_0", "download_10",
    "download_20", "download_30", "download_40", "download_50", "download_60", "download_70", "download_80",
    "download_90", "download_complete", "download_manifest_start", "download_manifest_complete",
    "download_zip_start", "download_zip_complete", "download_manifest_file_fail", "download_manifest_checksum_fail",
    "download_manifest_brotli_fail", "finish_download_fail", "manifest_path_fail", "decrypt_fail",
    "checksum_required", "insufficient_disk_space", "app_moved_to_foreground", "app_moved_to_background",
    "app_launch_start", "app_launch_ready", "app_launch_timeout", "uninstall", "needPlanUpgrade", "missingBundle",
    "noNew", "disablePlatformIos", "disablePlatformAndroid", "disableAutoUpdateToMajor",
    "cannotUpdateViaPrivateChannel", "disableAutoUpdateToMinor", "disableAutoUpdateToPatch",
    "channelMisconfigured", "disableAutoUpdateMetadata", "disableAutoUpdateUnderNative", "disableDevBuild",
    "disableProdBuild", "disableEmulator", "disableDevice", "cannotGetBundle", "checksum_fail",
    "NoChannelOrOverride", "setChannel", "getChannel", "rateLimited", "rate_limit_reached", "disableAutoUpdate",
    "keyMismatch", "InvalidIp", "blocked_by_server_url", "backend_refusal", "disablePlatformElectron",
    "customIdBlocked", "app_crash", "app_crash_native", "app_anr", "app_killed_low_memory",
    "app_killed_excessive_resource_usage", "app_initialization_failure", "app_memory_warning",
    "webview_javascript_error", "webview_unhandled_rejection", "webview_resource_error",
    "webview_security_policy_violation", "webview_unclean_restart", "webview_render_process_gone",
    "webview_content_process_terminated", "webview_dom_content_loaded", "webview_page_loaded", "set_next",
    "os_version_changed", "native_app_version_changed",
)
_STATS_ACTION_SET = frozenset(STATS_ACTIONS)
METADATA_MAX_FIELDS = 30
METADATA_MAX_KEY = 64
METADATA_MAX_VALUE = 2048

Issues = list[dict[str, Any]]
#: a missing JSON key (JavaScript ``undefined``), distinct from ``null``
MISSING: Any = object()


def issue(message: str, path: list[str]) -> dict[str, Any]:
    """``schema_validation.ts makeIssue``."""
    return {"message": message, "path": path, "code": "custom"}


# -- semver ---------------------------------------------------------------------------------------

def std_semver(text: str) -> tuple[int, int, int, str | None] | None:
    """``@std/semver tryParse``: (major, minor, patch, prerelease) or None."""
    if len(text) > SEMVER_MAX_LENGTH:
        return None
    match = STD_SEMVER.fullmatch(text)
    if match is None:
        return None
    return int(match[1]), int(match[2]), int(match[3]), match[4]


def std_format(text: str) -> str:
    """``@std/semver format(parse(text))``: the version without a leading ``v``."""
    return text[1:] if text.startswith("v") else text


def fix_semver(text: str) -> str:
    """``utils.ts fixSemver``: ``builtin``/``unknown`` are 0.0.0; missing parts become ``.0``."""
    if text in ("builtin", "unknown"):
        return "0.0.0"
    dots = text.count(".")
    return f"{text}.0.0" if dots == 0 else f"{text}.0" if dots == 1 else text


def semver_key(text: str) -> tuple[Any, ...] | None:
    """A sort key with semver precedence (a prerelease sorts before its release)."""
    parsed = std_semver(text)
    if parsed is None:
        return None
    major, minor, patch, pre = parsed
    if pre is None:
        return (major, minor, patch, 1, ())
    parts = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))
    return (major, minor, patch, 0, parts)


def plugin_at_least(version: str | None, minimum: tuple[int, int, int]) -> bool:
    """``greaterOrEqual(parse(plugin_version), minimum)``; an unparsable version is old."""
    parsed = std_semver(fix_semver(version)) if isinstance(version, str) else None
    return parsed is not None and parsed[:3] >= minimum and (parsed[3] is None or parsed[:3] > minimum)


def is_local_channel_plugin(plugin_version: Any) -> bool:
    """``isChannelSelfLocalChannelStorageVersion``: plugins that keep their channel on the device.
    Old = a 5.x/6.x/7.x below 5.34.0/6.34.0/7.34.0 (``isDeprecatedPluginVersion`` looks only at
    majors 5-8); a missing version counts as 0.0.0 and so as new, an unparsable one as old."""
    text = plugin_version if isinstance(plugin_version, str) and plugin_version else "0.0.0"
    parsed = std_semver(text)
    if parsed is None:
        return False
    major = parsed[0]
    minimum = {5: (5, 34, 0), 6: (6, 34, 0), 7: (7, 34, 0), 8: (8, 0, 0)}.get(major)
    return minimum is None or plugin_at_least(text, minimum)


# -- parsePluginBody -------------------------------------------------------------------------------

def normalise_plugin_body(body: dict[str, Any]) -> None:
    """Steps 4-6 of ``plugin_parser.ts parsePluginBody`` (the caller did 1-3): ``version_build``
    padded to semver (``semver_error`` when it cannot be), the two booleans defaulted,
    ``version_name: "builtin"`` replaced by the native version. Raises ValueError(raw build)."""
    build = body.get("version_build")
    if isinstance(build, str) and build and not PLAIN_SEMVER.fullmatch(build):
        fixed = fix_semver(build)
        if std_semver(fixed) is None:
            raise ValueError(build)
        body["version_build"] = std_format(fixed)
    if body.get("is_emulator") is None:
        body["is_emulator"] = False
    if body.get("is_prod") is None:
        body["is_prod"] = True
    if js_truthy(body.get("version_name")) and body["version_name"] == "builtin":
        if "version_build" in body:
            body["version_name"] = body["version_build"]
        else:
            body.pop("version_name")


# -- the request schemas (``utils/plugin_validation.ts``) -----------------------------------------

def _required_string(body: dict[str, Any], key: str, label: str, issues: Issues, *,
                     allow_empty: bool = True) -> str | None:
    value = body.get(key, MISSING)
    if value is MISSING:
        issues.append(issue(f"{label} is required", [key]))
    elif not isinstance(value, str):
        issues.append(issue(f"{label} must be a string", [key]))
    elif not allow_empty and value == "":
        issues.append(issue(f"{label} is required", [key]))
    else:
        return value
    return None


def _optional_string(body: dict[str, Any], key: str, issues: Issues, max_len: int | None = None) -> None:
    value = body.get(key, MISSING)
    if value is MISSING:
        return
    if not isinstance(value, str):
        issues.append(issue(f"{key} must be a string", [key]))
    elif max_len is not None and js_length(value) > max_len:
        issues.append(issue(f"String must contain at most {max_len} character(s)", [key]))


def _install_source(body: dict[str, Any], issues: Issues) -> None:
    value = body.get("install_source", MISSING)
    if value is MISSING:
        return
    if not isinstance(value, str):
        issues.append(issue("install_source must be a string", ["install_source"]))
    elif js_length(value) > 64:
        issues.append(issue("String must contain at most 64 character(s)", ["install_source"]))


def _app_id(body: dict[str, Any], issues: Issues) -> None:
    value = _required_string(body, "app_id", "App ID", issues)
    if value is not None and not is_reverse_domain(value):
        issues.append(issue("App ID must be a reverse domain string", ["app_id"]))


def _device_id(body: dict[str, Any], issues: Issues) -> None:
    value = _required_string(body, "device_id", "Device ID", issues)
    if value is None:
        return
    if js_length(value) > 36:
        issues.append(issue("String must contain at most 36 character(s)", ["device_id"]))
    elif not UUID.fullmatch(value):
        issues.append(issue("Device ID must be a valid UUID string", ["device_id"]))


def _booleans(body: dict[str, Any], issues: Issues) -> None:
    for key in ("is_emulator", "is_prod"):
        if not isinstance(body.get(key), bool):
            issues.append(issue(f"{key} must be a boolean", [key]))


def _platform_enum(body: dict[str, Any], issues: Issues) -> None:
    value = body.get("platform", MISSING)
    if value is MISSING:
        issues.append(issue("Platform is required", ["platform"]))
    elif value not in PLATFORMS:
        issues.append(issue("Platform is not supported or invalid", ["platform"]))


def _plugin_version(body: dict[str, Any], issues: Issues) -> None:
    value = body.get("plugin_version", MISSING)
    if value is MISSING:
        issues.append(issue("plugin_version is required", ["plugin_version"]))
    elif not isinstance(value, str) or (not PLAIN_SEMVER.fullmatch(value) and std_semver(value) is None):
        issues.append(issue("Plugin version is invalid", ["plugin_version"]))


def _action(body: dict[str, Any], issues: Issues) -> None:
    value = body.get("action", MISSING)
    if value is MISSING:
        return
    if not isinstance(value, str):
        issues.append(issue("action must be a string", ["action"]))
    elif value not in _STATS_ACTION_SET:
        issues.append(issue("action must be one of: " + ", ".join(STATS_ACTIONS), ["action"]))


def _metadata(body: dict[str, Any], issues: Issues) -> None:
    value = body.get("metadata", MISSING)
    if value is MISSING:
        return
    if not isinstance(value, dict):
        issues.append(issue("metadata must be an object with string values", ["metadata"]))
        return
    if len(value) > METADATA_MAX_FIELDS:
        issues.append(issue(f"metadata must contain at most {METADATA_MAX_FIELDS} fields", ["metadata"]))
        return
    for key, item in value.items():
        path = [f"metadata.{key}"]
        if js_length(key) > METADATA_MAX_KEY:
            issues.append(issue(f"metadata keys must contain at most {METADATA_MAX_KEY} characters", path))
        elif not isinstance(item, str):
            issues.append(issue("metadata values must be strings", path))
        elif js_length(item) > METADATA_MAX_VALUE:
            issues.append(issue(f"metadata values must contain at most {METADATA_MAX_VALUE} characters", path))


def update_issues(body: dict[str, Any]) -> Issues:
    """``updateRequestSchema`` (``custom_id`` and ``version_os`` are not checked)."""
    issues: Issues = []
    _app_id(body, issues)
    _device_id(body, issues)
    _required_string(body, "version_name", "Version name", issues, allow_empty=False)
    _required_string(body, "version_build", "Version build", issues, allow_empty=False)
    _booleans(body, issues)
    _platform_enum(body, issues)
    _plugin_version(body, issues)
    _optional_string(body, "defaultChannel", issues)
    _install_source(body, issues)
    _optional_string(body, "key_id", issues, 20)
    return issues


def stats_issues(body: dict[str, Any]) -> Issues:
    """``statsRequestSchema``."""
    issues: Issues = []
    _app_id(body, issues)
    _device_id(body, issues)
    _required_string(body, "platform", "Platform", issues)
    _required_string(body, "version_name", "Version name", issues)
    _required_string(body, "version_os", "Version OS", issues)
    _booleans(body, issues)
    for key in ("defaultChannel", "channel", "old_version_name", "version_code", "plugin_version"):
        _optional_string(body, key, issues)
    _install_source(body, issues)
    _optional_string(body, "custom_id", issues, 36)
    _optional_string(body, "key_id", issues, 20)
    _action(body, issues)
    _metadata(body, issues)
    _optional_string(body, "version_build", issues)
    return issues


def channel_self_issues(body: dict[str, Any]) -> Issues:
    """``channelSelfRequestSchema`` (POST, PUT and DELETE /channel_self)."""
    issues: Issues = []
    _app_id(body, issues)
    _device_id(body, issues)
    _required_string(body, "version_name", "Version name", issues)
    _required_string(body, "version_build", "Version build", issues)
    _booleans(body, issues)
    _platform_enum(body, issues)
    for key in ("defaultChannel", "channel", "plugin_version"):
        _optional_string(body, key, issues)
    _install_source(body, issues)
    _optional_string(body, "key_id", issues, 20)
    return issues


def channel_list_issues(body: dict[str, Any]) -> Issues:
    """``channelSelfGetRequestSchema`` (GET /channel_self)."""
    issues: Issues = []
    _app_id(body, issues)
    _booleans(body, issues)
    _platform_enum(body, issues)
    _optional_string(body, "key_id", issues, 20)
    return issues


def query_to_body(query: dict[str, str]) -> dict[str, Any]:
    """``plugin_parser.ts convertQueryToBody``: the fields GET/DELETE /channel_self read from the
    query string (absent ones stay absent, as JavaScript drops ``undefined``)."""
    if not query:
        return {}
    body: dict[str, Any] = {}
    for key in ("version_name", "version_build", "platform", "app_id", "device_id", "plugin_version",
                "defaultChannel", "channel", "custom_id", "is_emulator", "is_prod", "install_source", "version_os",
                "key_id"):
        if key in ("is_emulator", "is_prod"):
            body[key] = query.get(key, "false" if key == "is_emulator" else "true") == "true"
        elif key == "device_id" and key in query:
            body[key] = query[key].lower()
        elif key in query:
            body[key] = query[key]
    return body


# -- the update decision (``utils/update.ts``) -----------------------------------------------------

#: ``getUpdateResponseKind``: the ``kind`` the plugin reads from every refusal
UP_TO_DATE = frozenset({"no_new_version_available", "already_on_builtin"})
BLOCKED = frozenset({
    "cannot_update_via_private_channel", "disabled_platform_ios", "disabled_platform_android",
    "disabled_platform_electron", "disable_auto_update_to_major", "disable_auto_update_to_minor",
    "disable_auto_update_to_patch", "disable_auto_update_to_metadata", "disable_auto_update_under_native",
    "disable_prod_build", "disable_dev_build", "disable_device", "disable_emulator", "key_id_mismatch",
    "provider_infrastructure_request_blocked",
})
AUTO_UPDATE_POLICIES = ("none", "patch", "minor", "major", "version_number")


#: every ``kind`` a refusal carries
REFUSAL_KINDS = ("up_to_date", "blocked", "failed")


def refusal_kind(code: str) -> str:
    return REFUSAL_KINDS[0] if code in UP_TO_DATE else REFUSAL_KINDS[1] if code in BLOCKED else REFUSAL_KINDS[2]

INTERNAL_BUNDLES = ("builtin", "unknown")
PLATFORM_REFUSALS = {
    "ios": ("disabled_platform_ios", "Cannot update, ios it's disabled", "disablePlatformIos"),
    "android": ("disabled_platform_android", "Cannot update, android is disabled", "disablePlatformAndroid"),
    "electron": ("disabled_platform_electron", "Cannot update, electron is disabled", "disablePlatformElectron"),
}
KEY_MISMATCH = ("Device encryption key does not match bundle encryption key. The device may have a different "
                "public key than the one used to encrypt this bundle.")


class Refusal:
    """One 200 refusal of ``POST /updates``: its body (``kind`` last) and the stat it records
    (None: nothing recorded and the device row is not written)."""

    def __init__(self, code: str, message: str, stat: str | None, **extra: Any) -> None:
        self.code, self.stat = code, stat
        self.body = {"error": code, "message": message, **extra, "kind": refusal_kind(code)}


def _parts(name: str) -> tuple[int, int, int] | None:
    parsed = std_semver(name)
    return None if parsed is None else parsed[:3]


def channel_refusal(channel: dict[str, Any], bundle: str, body: dict[str, Any], *, overridden: bool,
                    min_update_version: str | None) -> Refusal | None:
    """``update.ts updateWithPG`` checks 5-17, in the source's order: platform, major policy,
    private channel, minor/patch/version_number policies, under-native, prod, dev, device,
    emulator. ``bundle`` is the channel's bundle name (``builtin`` when it has none).
    Version rules compare the bundle with the NATIVE version (``version_build``); a bundle
    name that is not semver skips them (the real service fails with a 500 there)."""
    platform, build, current = body["platform"], body["version_build"], body["version_name"]
    if not channel[platform]:
        code, message, stat = PLATFORM_REFUSALS[platform]
        return Refusal(code, message, stat, version=bundle, old=current)
    internal = bundle in INTERNAL_BUNDLES
    new, native = _parts(bundle), _parts(build)
    policy = channel["disable_auto_update"]
    versioned = not internal and new is not None and native is not None
    if versioned and policy == "major" and new[0] > native[0]:  # type: ignore[index]
        return Refusal("disable_auto_update_to_major", "Cannot upgrade major version", "disableAutoUpdateToMajor",
                       major=True, version=bundle, old=build)
    if not channel["allow_device_self_set"] and not channel["public"] and not overridden:
        default = body.get("defaultChannel")
        tail = (f'Please ensure your defaultChannel "{default}" has "Allow devices to self dissociate/associate" '
                "set to true." if default else
                'Please set a defaultChannel with "Allow devices to self dissociate/associate" enabled.')
        return Refusal("cannot_update_via_private_channel",
                       f'Cannot update via a private channel. The channel "{channel["name"]}" does not allow '
                       f"device self-assignment. {tail}", "cannotUpdateViaPrivateChannel")
    if versioned:
        assert new is not None and native is not None
        if policy == "minor" and new[:2] != native[:2]:
            return Refusal("disable_auto_update_to_minor", "Cannot upgrade minor version", "disableAutoUpdateToMinor",
                           major=True, version=bundle, old=build)
        if policy == "patch" and new != native:
            return Refusal("disable_auto_update_to_patch", "Cannot upgrade patch version", "disableAutoUpdateToPatch",
                           major=True, version=bundle, old=build)
    if not internal and policy == "version_number":
        if min_update_version is None:
            return Refusal("misconfigured_channel", f"Channel {channel['name']} is misconfigured",
                           "channelMisconfigured", version=bundle, old=build)
        minimum, native_key = semver_key(min_update_version), semver_key(build)
        if minimum is not None and native_key is not None and minimum > native_key:
            return Refusal("disable_auto_update_to_metadata",
                           "Cannot upgrade version, min update version > current version",
                           "disableAutoUpdateMetadata", major=True, version=bundle, old=build)
    if versioned and channel["disable_auto_update_under_native"]:
        bundle_key, native_key = semver_key(bundle), semver_key(build)
        if bundle_key is not None and native_key is not None and bundle_key < native_key:
            return Refusal("disable_auto_update_under_native", "Cannot revert under native version",
                           "disableAutoUpdateUnderNative", version=bundle, old=current)
    if not channel["allow_prod"] and body["is_prod"]:
        return Refusal("disable_prod_build", "Cannot update, prod build is disabled", "disableProdBuild",
                       version=bundle, old=current)
    if not channel["allow_dev"] and not body["is_prod"]:
        return Refusal("disable_dev_build", "Cannot update, dev build is disabled", "disableDevBuild",
                       version=bundle, old=current)
    if not channel["allow_device"] and not body["is_emulator"]:
        return Refusal("disable_device", "Cannot update, device is disabled", "disableDevice",
                       version=bundle, old=current)
    if not channel["allow_emulator"] and body["is_emulator"]:
        return Refusal("disable_emulator", "Cannot update, emulator is disabled", "disableEmulator",
                       version=bundle, old=current)
    return None


def should_record_download_fail(plugin_version: Any) -> bool:
    """``stats.ts shouldRecordStatsAction``: ``download_fail`` counts from plugins >= 7.17.0 (or a
    6.x >= 6.14.25); older plugins sent it when there was nothing to download."""
    if not isinstance(plugin_version, str) or std_semver(plugin_version) is None:
        return False
    return plugin_at_least(plugin_version, (7, 17, 0)) or (
        plugin_version.startswith("6.") and plugin_at_least(plugin_version, (6, 14, 25)))


# -- JavaScript ``Number(string)`` (public/device/get.ts reads ``limit`` with it) ---------------------

#: what ``String.prototype.trim`` removes (WhiteSpace and LineTerminator)
JS_SPACE = "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a" \
           "\u2028\u2029\u202f\u205f\u3000\ufeff"
_JS_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_JS_RADIX = re.compile(r"0([xX][0-9a-fA-F]+|[oO][0-7]+|[bB][01]+)", re.ASCII)


def js_number(text: str) -> float:
    """``Number(text)``: NaN for anything JavaScript would not read as a number."""
    text = text.strip(JS_SPACE)
    if text == "":
        return 0.0
    if text in ("Infinity", "+Infinity", "-Infinity"):
        return float(text.lstrip("+").replace("Infinity", "inf"))
    radix = _JS_RADIX.fullmatch(text)
    if radix is not None:
        base = {"x": 16, "o": 8, "b": 2}[radix[1][0].lower()]
        return float(int(radix[1][1:], base)) if len(radix[1]) < 1100 else float("inf")
    if _JS_DECIMAL.fullmatch(text) and len(text) < 1100:
        return float(text)
    return float("nan")
