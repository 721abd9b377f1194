"""AppLovin's input rules, shared by the HTTP routes and the fixture validator so a list
the API would refuse cannot be loaded either."""
from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass

#: ``create``'s name: "alphanumeric, _-+, or URL-encoded space" (AppLovin's API page); ``+`` is literal.
NAME_PATTERN = r"[A-Za-z0-9_+\- ]*[A-Za-z0-9_+\-][A-Za-z0-9_+\- ]*"
NAME_RE = re.compile(NAME_PATTERN)
#: ids the emulator issues and fixtures must use: ``uuid4().hex``.
LIST_ID_PATTERN = r"[0-9a-f]{32}"
#: the longest device model name accepted (our choice: AppLovin documents no format).
MAX_DEVICE_CHARS = 64
#: Unicode categories that make a device line invalid: control, format, line/paragraph separators.
FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})


def new_list_id() -> str:
    return uuid.uuid4().hex


def is_valid_name(name: str) -> bool:
    return NAME_RE.fullmatch(name) is not None


def device_problem(device: str) -> str | None:
    """Why a (trimmed) device model name is invalid, or None if it is valid."""
    if not device:
        return "is empty"
    if device != device.strip():
        return "has surrounding whitespace"
    if len(device) > MAX_DEVICE_CHARS:
        return f"is longer than {MAX_DEVICE_CHARS} characters"
    if any(unicodedata.category(ch) in FORBIDDEN_CATEGORIES for ch in device):
        return "contains a control character"
    return None


@dataclass
class DeviceLines:
    """A parsed device body: the valid model names in order (repeats kept, so each line
    counts) and how many non-blank lines were invalid."""

    valid: list[str]
    invalid: int

    @property
    def total(self) -> int:
        return len(self.valid) + self.invalid


def parse_device_lines(body: bytes) -> DeviceLines:
    """Split a newline-separated body (``\\n`` or ``\\r\\n``); trim each line; ignore blank
    lines; a line that is not UTF-8 or breaks :func:`device_problem` is invalid."""
    valid: list[str] = []
    invalid = 0
    for raw in body.split(b"\n"):
        try:
            line = raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            if raw.strip():
                invalid += 1
            continue
        if not line:
            continue
        if device_problem(line) is None:
            valid.append(line)
        else:
            invalid += 1
    return DeviceLines(valid, invalid)
