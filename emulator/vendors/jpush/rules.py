"""JPush's value rules, shared by the API handlers and the fixture validator.

Each check returns ``None`` when the value is fine, else a message saying why; callers turn
the message into a 7002 answer or a FixtureError at a JSON path.
"""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any

# Values from notes §7 (client SDK rules; the emulator enforces them on the server side).
MAX_TAG_ALIAS_BYTES = 40
MAX_TAGS_PER_CALL = 100          # added, and separately removed, by one device update
MAX_TAG_BYTES_PER_CALL = 1000    # total UTF-8 bytes of the added (or removed) tags of one call
MAX_TAGS_PER_DEVICE = 1000
MAX_RIDS_PER_CALL = 1000         # tag add/remove, alias unbind, status
MAX_DEVICES_PER_ALIAS = 10
MAX_ALIAS_IDS = 10               # GET alias lists at most this many ids
MAX_TAGS_PER_PLATFORM = 100      # GET tags lists at most this many per platform
MAX_MOBILE_CHARS = 20

PLATFORMS = ("android", "ios", "hmos", "quickapp", "winphone")
ALL_PLATFORMS = "all"

APP_CREDENTIAL_RE = re.compile(r"[A-Za-z0-9]{24}")
RID_RE = re.compile(r"[0-9A-Za-z]{1,64}")
# Tag and alias characters: letters, digits, '_', Chinese characters and @!#$&*+=.| (Android
# client API doc, setAlias/setTags) plus the fullwidth yen sign (Push API v3 doc, audience table,
# jpush/jpush-docs zh/jpush/server/push/rest_api_v3_push.md).
NAME_RE = re.compile(r"[A-Za-z0-9_\u3400-\u4dbf\u4e00-\u9fff@!#$&*+=.|\uffe5]+")
NAME_CHARS = "letters, digits, '_', Chinese characters and @!#$&*+=.|\uffe5"
#: values of the ``tag_alias_chars`` option
DOCUMENTED_CHARS = "documented"
ANY_CHARS = "any"
MOBILE_RE = re.compile(r"[+0-9][0-9-]*")
LAST_ONLINE_FORMAT = "%Y-%m-%d %H:%M:%S"
# JPush is a Beijing service: its timestamps are China Standard Time.
BEIJING = timezone(timedelta(hours=8))


def name_problem(value: str, what: str, chars: str = DOCUMENTED_CHARS) -> str | None:
    """A tag or alias: 1..40 bytes of UTF-8, from the documented character set unless
    ``chars`` is ``any``."""
    if value == "":
        return f"{what} must not be empty"
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        return f"{what} contains an unpaired UTF-16 surrogate"
    if size > MAX_TAG_ALIAS_BYTES:
        return f"{what} {value!r} is longer than {MAX_TAG_ALIAS_BYTES} bytes"
    if chars == DOCUMENTED_CHARS and not NAME_RE.fullmatch(value):
        return f"{what} {value!r} may only contain {NAME_CHARS}"
    return None


def mobile_problem(value: str) -> str | None:
    if len(value) > MAX_MOBILE_CHARS or not MOBILE_RE.fullmatch(value):
        return (f"mobile {value!r} must start with '+' or a digit, then digits and '-' only, "
                f"at most {MAX_MOBILE_CHARS} characters")
    return None


def parse_last_online(value: str) -> datetime | None:
    """``yyyy-MM-dd HH:mm:ss`` in Beijing time, or None if malformed."""
    try:
        return datetime.strptime(value, LAST_ONLINE_FORMAT).replace(tzinfo=BEIJING)
    except ValueError:
        return None


def format_date(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=BEIJING).strftime("%Y-%m-%d")


# -- Push API v3 (POST /v3/push and /v3/push/validate) ------------------------------------
# Codes and limits: jpush/jpush-docs zh/jpush/server/push/rest_api_v3_push.md (the "调用返回"
# table) and the Java client's remote tests (cn/jpush/api/push/remote/ExceptionTest.java,
# AudienceTest.java), which show which code the real service gives for which mistake.
MISSING = 1002          # a required parameter is missing (400)
INVALID = 1003          # a parameter value is invalid (400)
TOO_BIG = 1005          # the message is too big (400)
UNSUPPORTED_KEY = 1009  # a key the push object does not support (400)

PUSH_PLATFORMS = ("android", "ios", "winphone", "hmos", "quickapp")
PUSH_KEYS = ("platform", "audience", "notification", "message", "sms_message", "options", "cid",
             "inapp_message", "notification_3rd", "callback", "live_activity", "target")
AUDIENCE_KEYS = ("tag", "tag_and", "tag_not", "alias", "registration_id", "segment", "abtest")
AUDIENCE_LIMITS = {"tag": 20, "tag_and": 20, "tag_not": 20, "alias": 1000, "registration_id": 1000,
                   "segment": 1, "abtest": 1}
NOTIFICATION_KEYS = ("alert", *PUSH_PLATFORMS, "voip")
#: platform sections whose alert is required (unless the notification has its own ``alert``)
ALERT_SECTIONS = ("android", "ios", "winphone", "hmos")
MAX_TTL = 864000            # options.time_to_live: 10 days
MAX_BIG_PUSH_MINUTES = 1400
MAX_COLLAPSE_ID_BYTES = 64
# payload sizes (bytes of compact UTF-8 JSON)
MAX_ANDROID_BYTES = 4000    # android notification + message
MAX_IOS_BYTES = 2000        # the "ios":{...} notification
MAX_MESSAGE_BYTES = 4000
MAX_WINPHONE_BYTES = 1000
MAX_CID_COUNT = 1000

PushProblem = tuple[int, str]


def json_bytes(value: object) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int_problem(section: dict, key: str, where: str, low: int | None = None,
                 high: int | None = None) -> PushProblem | None:
    if key not in section or section[key] is None:
        return None
    value = section[key]
    if not _is_int(value) or (low is not None and value < low) or (high is not None and value > high):
        span = "" if low is None else f" from {low} to {high}" if high is not None else f" >= {low}"
        return INVALID, f"{where}.{key} must be an integer{span}"
    return None


def _type_problem(section: dict, key: str, where: str, kind: type | tuple[type, ...], what: str) -> PushProblem | None:
    value = section.get(key)
    if value is None or (isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))):
        return None
    return INVALID, f"{where}.{key} must be {what}"


def platforms_problem(platform: object) -> PushProblem | None:
    if platform is None:
        return MISSING, "Missing parameter: platform"
    if platform == "all":
        return None
    if isinstance(platform, list) and platform and all(p in PUSH_PLATFORMS for p in platform):
        return None
    return INVALID, f'platform must be "all" or an array of {", ".join(PUSH_PLATFORMS)}'


def audience_problem(audience: object, chars: str) -> PushProblem | None:
    if audience is None:
        return MISSING, "Missing parameter: audience"
    if audience == "all":
        return None
    if not isinstance(audience, dict):
        return INVALID, 'audience must be "all" or an object'
    for key in audience:
        if key not in AUDIENCE_KEYS:
            return INVALID, f"audience key {key!r} is not one of {', '.join(AUDIENCE_KEYS)}"
    present = 0
    for key, values in audience.items():
        if not isinstance(values, list):
            return INVALID, "Audience value must be JSON Array format!"
        if not all(isinstance(v, str) for v in values):
            return INVALID, f"audience.{key} must be an array of strings"
        if any(v == "" for v in values):
            return INVALID, f"audience.{key} contains an empty value"
        limit = AUDIENCE_LIMITS[key]
        if len(values) > limit:
            return INVALID, f"audience.{key} has {len(values)} values, at most {limit} are allowed"
        if key in ("tag", "tag_and", "tag_not", "alias"):
            for v in values:
                problem = name_problem(v, "alias" if key == "alias" else "tag", chars)
                if problem is not None:
                    return INVALID, f"audience.{key}: {problem}"
        present += bool(values)
    if not present:
        return MISSING, "audience must name at least one non-empty target"
    return None


def _notification_problem(notification: object) -> PushProblem | None:
    if not isinstance(notification, dict):
        return INVALID, "notification must be an object"
    for key in notification:
        if key not in NOTIFICATION_KEYS:
            return UNSUPPORTED_KEY, f"notification.{key} is not supported"
    alert = notification.get("alert")
    if alert is not None and not isinstance(alert, (str, dict)):
        return INVALID, "notification.alert must be a string"
    if alert is None and all(notification.get(name) is None for name in (*PUSH_PLATFORMS, "voip")):
        return INVALID, "notification must have an alert or a platform section"
    for name in (*PUSH_PLATFORMS, "voip"):
        if name not in notification or notification[name] is None:
            continue
        section = notification[name]
        where = f"notification.{name}"
        if not isinstance(section, dict):
            return INVALID, f"{where} must be an object"
        if name == "hmos" and not section and alert is None:
            return MISSING, f"Missing parameter: {where}.alert"
        if name in ALERT_SECTIONS and section.get("alert") is None and alert is None:
            return INVALID, f"{where}.alert is required (or a notification.alert to inherit)"
        if name == "ios":
            if not isinstance(section.get("alert", ""), (str, dict)):
                return INVALID, f"{where}.alert must be a string or an object"
        elif section.get("alert") is not None and not isinstance(section["alert"], str):
            return INVALID, f"{where}.alert must be a string"
        problem = _section_problem(name, section, where)
        if problem is not None:
            return problem
    return None


def _section_problem(name: str, section: dict, where: str) -> PushProblem | None:
    """Types of the documented fields of one platform section; other fields pass (the official
    clients send many newer ones, e.g. the Ruby tests' badge_set_num, display_foreground)."""
    checks: list[PushProblem | None] = [
        _type_problem(section, "extras", where, dict, "an object"),
        _type_problem(section, "title", where, str, "a string"),
    ]
    if name == "android":
        checks += [_int_problem(section, "builder_id", where),
                   _int_problem(section, "priority", where, -2, 2),
                   _int_problem(section, "style", where, 0, 3),
                   _int_problem(section, "alert_type", where, -1, 7),
                   _type_problem(section, "intent", where, dict, "an object"),
                   _type_problem(section, "inbox", where, dict, "an object")]
    elif name == "ios":
        badge = section.get("badge")
        if badge is not None and not _is_int(badge) \
                and not (isinstance(badge, str) and re.fullmatch(r"[+-]?\d+", badge)):
            return INVALID, f"{where}.badge must be an integer or a '+N'/'-N' string"
        checks += [_type_problem(section, "sound", where, (str, dict), "a string or an object"),
                   _type_problem(section, "content-available", where, (bool, int), "a boolean"),
                   _type_problem(section, "mutable-content", where, (bool, int), "a boolean"),
                   _type_problem(section, "category", where, str, "a string"),
                   _type_problem(section, "thread-id", where, str, "a string")]
    elif name == "hmos":
        checks += [_type_problem(section, "intent", where, dict, "an object")]
    return next((c for c in checks if c is not None), None)


def _message_problem(message: object) -> PushProblem | None:
    if not isinstance(message, dict):
        return INVALID, "message must be an object"
    if message.get("msg_content") is None:
        return MISSING, "Missing parameter: message.msg_content"
    if not isinstance(message["msg_content"], str):
        return INVALID, "message.msg_content must be a string"
    for key in ("title", "content_type"):
        problem = _type_problem(message, key, "message", str, "a string")
        if problem is not None:
            return problem
    return _type_problem(message, "extras", "message", dict, "an object")


def _options_problem(options: object) -> PushProblem | None:
    if not isinstance(options, dict):
        return INVALID, "options must be an object"
    checks = [_int_problem(options, "sendno", "options", 0, 2**63 - 1),
              _int_problem(options, "time_to_live", "options", 0, MAX_TTL),
              _int_problem(options, "override_msg_id", "options", 1, 2**63 - 1),
              _int_problem(options, "big_push_duration", "options", 0, MAX_BIG_PUSH_MINUTES),
              _type_problem(options, "apns_production", "options", bool, "a boolean"),
              _type_problem(options, "apns_collapse_id", "options", str, "a string")]
    problem = next((c for c in checks if c is not None), None)
    if problem is None and isinstance(options.get("apns_collapse_id"), str) \
            and len(options["apns_collapse_id"].encode("utf-8")) > MAX_COLLAPSE_ID_BYTES:
        problem = INVALID, f"options.apns_collapse_id is longer than {MAX_COLLAPSE_ID_BYTES} bytes"
    return problem


def _size_problem(notification: dict | None, message: dict | None) -> PushProblem | None:
    notification = notification or {}
    message_bytes = json_bytes(message) if message is not None else 0
    if message_bytes > MAX_MESSAGE_BYTES:
        return TOO_BIG, f"message is {message_bytes} bytes, more than {MAX_MESSAGE_BYTES}"
    if isinstance(notification.get("android"), dict):
        size = json_bytes(notification["android"]) + message_bytes
        if size > MAX_ANDROID_BYTES:
            return TOO_BIG, f"the android notification and message are {size} bytes, more than {MAX_ANDROID_BYTES}"
    if isinstance(notification.get("ios"), dict):
        size = len(b'"ios":') + json_bytes(notification["ios"])
        if size > MAX_IOS_BYTES:
            return TOO_BIG, f"the ios notification is {size} bytes, more than {MAX_IOS_BYTES}"
    if isinstance(notification.get("winphone"), dict):
        size = json_bytes(notification["winphone"])
        if size > MAX_WINPHONE_BYTES:
            return TOO_BIG, f"the winphone notification is {size} bytes, more than {MAX_WINPHONE_BYTES}"
    return None


def push_problem(body: dict, chars: str = DOCUMENTED_CHARS) -> PushProblem | None:
    """The first problem of a push object, as (JPush code, message); None when it is valid."""
    for key in body:
        if key not in PUSH_KEYS:
            return UNSUPPORTED_KEY, f"{key} is not supported in the push object"
    problem = platforms_problem(body.get("platform")) or audience_problem(body.get("audience"), chars)
    if problem is not None:
        return problem
    notification, message = body.get("notification"), body.get("message")
    if notification is None and message is None:
        return MISSING, "Missing parameter: notification or message"
    checks = [
        _notification_problem(notification) if notification is not None else None,
        _message_problem(message) if message is not None else None,
        _options_problem(body["options"]) if body.get("options") is not None else None,
        _type_problem(body, "sms_message", "push", dict, "an object"),
        _type_problem(body, "cid", "push", str, "a string"),
    ]
    problem = next((c for c in checks if c is not None), None)
    return problem or _size_problem(notification, message)


def platform_payload(notification: dict | None, message: dict | None, platform: str) -> dict | None:
    """What a device of ``platform`` receives: its notification section (the notification's
    ``alert`` filled in when the section has none) and the message; None when neither applies."""
    payload: dict = {}
    if notification is not None:
        section = notification.get(platform)
        alert = notification.get("alert")
        if isinstance(section, dict):
            payload["notification"] = section if section.get("alert") is not None or alert is None \
                else {"alert": alert, **section}
        elif alert is not None:
            payload["notification"] = {"alert": alert}
    if message is not None:
        payload["message"] = message
    return payload or None


def _names(values: list[str]) -> str:
    return ", ".join(dict.fromkeys(values))


def miss_reason(audience: Any, platforms: list[str] | None, payload: dict | None, rid: str, platform: str,
                alias: str | None, tags: set[str]) -> str:
    """Why a device (as it is now) got nothing from a push: the first condition it fails."""
    if platforms is not None and platform not in platforms:
        return f"platform {platform} not targeted (the push targets {_names(platforms)})"
    if audience != "all":
        if audience.get("registration_id") and rid not in audience["registration_id"]:
            return "registration_id not in the push's registration_id list"
        wanted = audience.get("alias") or []
        if wanted and alias not in wanted:
            return (f"has no alias (the push targets aliases {_names(wanted)})" if not alias
                    else f"alias {alias} is not one of {_names(wanted)}")
        if audience.get("tag") and not tags & set(audience["tag"]):
            return f"has none of the tags {_names(audience['tag'])}"
        missing = [t for t in dict.fromkeys(audience.get("tag_and") or []) if t not in tags]
        if missing:
            return f"lacks the tags {_names(missing)} (tag_and {_names(audience['tag_and'])})"
        excluded = [t for t in dict.fromkeys(audience.get("tag_not") or []) if t in tags]
        if excluded:
            return f"has the excluded tags {_names(excluded)} (tag_not)"
        if audience.get("segment") or audience.get("abtest"):
            return "the emulator keeps no segments or A/B tests, so no device is in one"
    if payload is None:
        return f"the push has no notification for {platform} and no message"
    return ("matches the audience now but did not when the push was sent "
            "(its platform, tags or alias changed since)")
