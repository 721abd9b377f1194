"""What the four Data API bodies mean: pure validation rules, raising :class:`Invalid` with
MoEngage's own texts (the write functions that apply a validated body are in storage.py)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import FAMILIES, Family, Invalid

#: canonical spellings of the device platforms (Track Device's enum)
PLATFORMS = ("ANDROID", "iOS", "web", "TV")
_PLATFORM_BY_LOWER = {p.lower(): p for p in PLATFORMS}
#: element types the bulk endpoint accepts
ELEMENT_TYPES = ("customer", "event", "device")
ARRAY_ADD, ARRAY_REMOVE = "addValueToArrayField", "removeValueFromArrayField"
UNSET_MATCHES = ("equals", "prefix", "suffix", "contains")


@dataclass(frozen=True)
class Rules:
    """The switches that change validation (vendor options, read once per request)."""

    device_id_fallback: bool = False
    strict_platform_case: bool = False


# -- generic field checks ---------------------------------------------------------------------

def check_type(body: dict, expected: str, family: Family) -> None:
    if "type" not in body or body["type"] is None:
        raise Invalid("type", family.missing("type"))
    if body["type"] != expected:
        raise Invalid("type", f"{family.quote('type')} is not a valid type", "ValueError")


def required_string(body: dict, key: str, family: Family, missing: str | None = None) -> str:
    """A non-empty string field; MoEngage's wording for absent, empty and non-string."""
    if key not in body or body[key] is None:
        raise Invalid(key, missing or family.missing(key))
    value = body[key]
    if not isinstance(value, str):
        raise Invalid(key, f"{family.quote(key)} is expected to be String or Unicode String.")
    if not value:
        raise Invalid(key, f"{family.quote(key)} can not be empty Unicode String")
    return value


def optional_object(body: dict, key: str, family: Family) -> dict:
    value = body.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Invalid(key, f"{family.quote(key)} is expected to be Dictionary.", "ValueError")
    return value


# -- customers --------------------------------------------------------------------------------

@dataclass
class CustomerUpdate:
    customer_id: str
    attributes: dict[str, Any]
    add: dict[str, list]
    remove: dict[str, list]
    unset: list[dict[str, Any]]
    update_existing_only: bool
    payload: dict[str, Any]


def parse_customer(body: dict, family: Family, *, check_body_type: bool = True) -> CustomerUpdate:
    if check_body_type:
        check_type(body, "customer", family)
    customer_id = required_string(body, "customer_id", family)
    attributes = dict(optional_object(body, "attributes", family))
    add = _array_operator(attributes.pop(ARRAY_ADD, None), ARRAY_ADD)
    remove = _array_operator(attributes.pop(ARRAY_REMOVE, None), ARRAY_REMOVE)
    for name in add:
        if name in remove:
            raise Invalid(ARRAY_ADD, f"Cannot add and remove '{name}' at the same time", "ArrayFieldError")
    platforms = body.get("platforms")
    if platforms is not None:
        if not isinstance(platforms, list):
            raise Invalid("platforms", f"{family.quote('platforms')} is expected to be List.", "ValueError")
        attributes["platforms"] = platforms
    update_existing_only = body.get("update_existing_only", False)
    if not isinstance(update_existing_only, bool):
        raise Invalid("update_existing_only", "update_existing_only is expected to be Boolean.", "ValueError")
    return CustomerUpdate(customer_id, attributes, add, remove, _unset_rules(body.get("unset_attributes")),
                          update_existing_only, body)


def _array_operator(value: Any, name: str) -> dict[str, list]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, list) for v in value.values()):
        raise Invalid(name, f"{name} is expected to be a Dictionary of Lists.", "ArrayFieldError")
    return value


def _unset_rules(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    problem = Invalid("unset_attributes",
                      "unset_attributes is expected to be a List of {type, attr, case_sensitive} rules.",
                      "ValueError")
    if not isinstance(value, list):
        raise problem
    for rule in value:
        if (not isinstance(rule, dict) or rule.get("type") not in UNSET_MATCHES
                or not isinstance(rule.get("attr"), str)
                or not isinstance(rule.get("case_sensitive", True), bool)):
            raise problem
    return value


def _unset_matches(rule: dict[str, Any], name: str) -> bool:
    attr = rule["attr"]
    if not rule.get("case_sensitive", True):
        attr, name = attr.lower(), name.lower()
    kind = rule["type"]
    if kind == "equals":
        return name == attr
    if kind == "prefix":
        return name.startswith(attr)
    if kind == "suffix":
        return name.endswith(attr)
    return attr in name


def merged_customer_attributes(current: dict, update: CustomerUpdate) -> dict:
    """Unset rules first, then plain attributes (new values win), then array add/remove."""
    result = {k: v for k, v in current.items() if not any(_unset_matches(r, k) for r in update.unset)}
    result.update(update.attributes)
    for name, values in update.add.items():
        existing = result.get(name)
        items = list(existing) if isinstance(existing, list) else ([] if existing is None else [existing])
        items.extend(v for v in values if v not in items)
        result[name] = items
    for name, values in update.remove.items():
        if isinstance(result.get(name), list):
            result[name] = [v for v in result[name] if v not in values]
    return result


# -- devices ----------------------------------------------------------------------------------

@dataclass
class DeviceUpdate:
    customer_id: str
    device_id: str
    attributes: dict[str, Any]
    payload: dict[str, Any]


def parse_device(body: dict, family: Family, rules: Rules, *, check_body_type: bool = True) -> DeviceUpdate:
    """Track Device's checks in MoEngage's order of fields: type, customer_id, device_id,
    attributes, platform, push_id."""
    if check_body_type:
        check_type(body, "device", family)
    customer_id = required_string(body, "customer_id", family)
    if rules.device_id_fallback and body.get("device_id") is None:
        device_id = customer_id
    else:
        device_id = required_string(body, "device_id", family)
    if "attributes" not in body or body["attributes"] is None:
        raise Invalid("attributes", family.missing("attributes"))
    attributes = optional_object(body, "attributes", family)
    platform = attributes.get("platform")
    if platform is None:
        raise Invalid("platform", f"{family.quote('platform')} is not found in payload")
    canonical = _canonical_platform(platform, rules)
    if canonical is None:
        raise Invalid("platform", f"{family.quote('platform')} is not a valid platform.", "ValueError")
    push_id = attributes.get("push_id")
    if push_id is None or push_id == "":
        raise Invalid("push_id", f"{family.quote('push_id')} is not found in payload")
    if not isinstance(push_id, str):
        raise Invalid("push_id", f"{family.quote('push_id')} is expected to be String or Unicode String.")
    return DeviceUpdate(customer_id, device_id, {**attributes, "platform": canonical}, body)


def _canonical_platform(value: Any, rules: Rules) -> str | None:
    if not isinstance(value, str):
        return None
    if rules.strict_platform_case:
        return value if value in PLATFORMS else None
    return _PLATFORM_BY_LOWER.get(value.lower())


# -- events -----------------------------------------------------------------------------------

@dataclass
class EventBatch:
    customer_id: str
    actions: list[dict[str, Any]]
    payload: dict[str, Any]


def parse_event(body: dict, family: Family) -> EventBatch:
    check_type(body, "event", family)
    customer_id = required_string(body, "customer_id", family)
    if "actions" not in body or body["actions"] is None:
        raise Invalid("actions", family.missing("actions"))
    actions = body["actions"]
    if not isinstance(actions, list) or not actions:
        raise Invalid("actions", "actions can not be empty Array")
    for action in actions:
        if not isinstance(action, dict) or not isinstance(action.get("action"), str) or not action["action"]:
            raise Invalid("action", family.missing("action"))
        optional_object(action, "attributes", family)
    return EventBatch(customer_id, actions, body)


def event_count(body: Any) -> int:
    """How many events a Track Event body carries (its rate-limit cost)."""
    actions = body.get("actions") if isinstance(body, dict) else None
    return len(actions) if isinstance(actions, list) and actions else 1


# -- bulk -------------------------------------------------------------------------------------

BULK = FAMILIES["transition"]


def parse_bulk(body: dict) -> list[dict[str, Any]]:
    """The request-level checks of /transition (answered 400); per-element problems are
    left for :func:`apply_bulk`, which drops those elements (the real API answers 200)."""
    check_type(body, "transition", BULK)
    elements = body.get("elements")
    if not isinstance(elements, list) or not elements:
        raise Invalid("elements", "'elements cannot be empty array")
    for element in elements:
        if not isinstance(element, dict) or element.get("type") not in ELEMENT_TYPES:
            raise Invalid("type", "'type in elements should be customer/event/device", "AttributeError")
        customer_id = element.get("customer_id")
        if not isinstance(customer_id, str) or not customer_id:
            raise Invalid("customer_id", BULK.missing("customer_id"))
        if element["type"] == "event" and isinstance(element.get("actions"), list):
            for action in element["actions"]:
                if isinstance(action, dict) and not (isinstance(action.get("action"), str) and action["action"]):
                    raise Invalid("action", "'action cannot be empty Unicode string")
    return elements


def bulk_costs(body: Any) -> tuple[int, int]:
    """(users, events) a bulk body carries: customer and device elements count as users,
    each action of an event element as one event."""
    elements = body.get("elements") if isinstance(body, dict) else None
    if not isinstance(elements, list):
        return 0, 0
    users = events = 0
    for element in elements:
        if not isinstance(element, dict):
            continue
        if element.get("type") in ("customer", "device"):
            users += 1
        elif element.get("type") == "event":
            actions = element.get("actions")
            events += len(actions) if isinstance(actions, list) else 1
    return users, events
