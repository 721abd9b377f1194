"""JPush's value rules, shared by the API handlers and the fixture validator.

Each check returns ``None`` when the value is fine, else a message saying why; callers turn
the message into a 7002 answer or a FixtureError at a JSON path.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

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
