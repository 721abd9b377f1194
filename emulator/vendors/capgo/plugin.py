"""The device side: ``POST /stats`` and ``POST /updates``, what the capacitor-updater plugin
calls with no API key. They create and update device records, and ``/updates`` answers with
the bundle the device should run (version pin, else channel link, else ``defaultChannel``,
else the app's public channel for the platform). Both profiles serve them the same way.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from collections.abc import Callable

from aiohttp import web

from ...errors import json_response
from . import errors, storage
from .request_parsing import body_bytes, is_reverse_domain, try_json

if TYPE_CHECKING:  # pragma: no cover
    from . import Capgo

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


def _invalid(issues: Issues) -> errors.ApiError:
    return errors.live(400, "invalid_json_body", "Invalid JSON body", {"issues": issues})


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


class PluginApi:
    def __init__(self, vendor: Capgo) -> None:
        self.vendor = vendor

    async def _parse(self, request: web.Request, validate: Callable[[dict[str, Any]], Issues]) -> dict[str, Any]:
        """``parsePluginBody`` then the schema: the first failing check answers."""
        data = await body_bytes(request, errors.live(413, "payload_too_large", "Payload too large"))
        parsed, body = try_json(data)
        if not parsed:
            raise errors.live(400, "invalid_json_parse_body", "Invalid JSON body", {"e": {}})
        if not isinstance(body, dict) or not body:
            raise errors.live(400, "invalid_json_body", "Cannot parse body", {"body": body})
        if not body.get("device_id"):
            raise errors.live(400, "missing_device_id", "Cannot find device_id", {"body": body})
        if not body.get("app_id"):
            raise errors.live(400, "missing_app_id", "Cannot find app_id", {"body": body})
        build = body.get("version_build")
        if isinstance(build, str) and build and coerce_semver(build) is None:
            raise errors.live(400, "semver_error",
                              "Native version doesn't follow semver convention, please check "
                              "https://capgo.app/semver_tester/ to learn more about semver usage in Capgo",
                              {"version_build": build})
        issues = validate(body)
        if issues:
            raise _invalid(issues)
        return body

    @staticmethod
    def device_report(body: dict[str, Any]) -> dict[str, Any]:
        """The device columns a check-in sets (``makeDevice``)."""
        build = body.get("version_build")
        build = coerce_semver(build) if build else None
        name = body.get("version_name")
        if not name or name == "builtin":
            name = build
        install_source = body.get("install_source")
        return {
            "platform": body.get("platform"),
            "plugin_version": body.get("plugin_version"),
            "version_build": build,
            "os_version": body.get("version_os"),
            "version_name": name,
            "is_emulator": body.get("is_emulator"),
            "is_prod": body.get("is_prod"),
            "custom_id": body.get("custom_id"),
            "default_channel": body.get("defaultChannel"),
            "key_id": body.get("key_id"),
            "install_source": install_source.lower() if isinstance(install_source, str) else None,
        }

    def _check_in(self, conn, body: dict[str, Any]) -> str | None:
        """Record the device; the app id, or None when the app is unknown (and not created)."""
        app_id = body["app_id"]
        if not storage.app_exists(conn, app_id):
            if not self.vendor.ctx.options.auth_open:
                return None
            storage.create_app(conn, app_id)
        storage.upsert_device(conn, app_id, body["device_id"].lower(), self.device_report(body),
                              self.vendor.ctx.clock.iso())
        return app_id

    async def stats(self, request: web.Request) -> web.Response:
        body = await self._parse(request, stats_issues)
        known = await self.vendor.ctx.store.write(self._check_in, body)
        if known is None:
            return json_response({"error": "app_not_found", "message": "App not found"})
        return json_response({"status": "ok"})

    async def updates(self, request: web.Request) -> web.Response:
        body = await self._parse(request, update_issues)

        def write(conn):
            if self._check_in(conn, body) is None:
                return {"error": "app_not_found", "message": "App not found"}
            return self.decide(conn, body)

        return json_response(await self.vendor.ctx.store.write(write))

    @staticmethod
    def decide(conn, body: dict[str, Any]) -> dict[str, Any]:
        """The ``/updates`` answer (``update.ts``): always HTTP 200, an ``error`` code when
        there is nothing to install."""
        app_id, device_id = body["app_id"], body["device_id"].lower()
        platform, plugin_version = body["platform"], body["plugin_version"]
        current = PluginApi.device_report(body)["version_name"]
        overrides = storage.overrides_of(conn, app_id, device_id)
        version, channel, linked = overrides["pin"], overrides["channel"], overrides["channel"] is not None
        if version is None:
            if channel is None:
                channel = storage.default_channel_for(conn, app_id, platform, body.get("defaultChannel"))
            if channel is None:
                return {"error": "no_channel", "message": "no default channel or override"}
            version = storage.version_by_id(conn, channel["version_id"]) if channel["version_id"] else None
            if version is None:
                return {"error": "no_bundle", "message": "Cannot get bundle"}
        if version["name"] == current:
            return {"error": "no_new_version_available", "message": "No new version available"}
        if channel is not None and overrides["pin"] is None:
            refusal = PluginApi.channel_refusal(channel, body, linked)
            if refusal is not None:
                return {**refusal, "version": version["name"], "old": current}
        answer: dict[str, Any] = {
            "version": version["name"],
            "url": version["url"] or DEFAULT_BUNDLE_URL.format(app_id=app_id, name=version["name"]),
        }
        if semver_at_least(plugin_version, (4, 13, 0)):
            answer["session_key"] = version["session_key"] or ""
        if semver_at_least(plugin_version, (4, 4, 0)):
            answer["checksum"] = version["checksum"]
        return answer

    @staticmethod
    def channel_refusal(channel: dict[str, Any], body: dict[str, Any], linked: bool) -> dict[str, str] | None:
        """The channel's own rules: platform flags, self-association (only for a channel the
        device picked itself), dev/prod builds and emulators."""
        platform = body["platform"]
        if not channel[platform]:
            names = {"ios": "ios it's disabled", "android": "android is disabled", "electron": "electron is disabled"}
            return {"error": f"disabled_platform_{platform}", "message": f"Cannot update, {names[platform]}"}
        if not linked and not channel["public"] and not channel["allow_device_self_set"]:
            return {"error": "cannot_update_via_private_channel",
                    "message": "Cannot update via a private channel. Please ensure your defaultChannel has "
                               "\"Allow devices to self associate\" set to true"}
        if not channel["allow_dev"] and not body["is_prod"]:
            return {"error": "disable_dev_build", "message": "Cannot update, dev build is disabled"}
        if not channel["allow_prod"] and body["is_prod"]:
            return {"error": "disable_prod_build", "message": "Cannot update, prod build is disabled"}
        if not channel["allow_emulator"] and body["is_emulator"]:
            return {"error": "disable_emulator", "message": "Cannot update, emulator is disabled"}
        return None
