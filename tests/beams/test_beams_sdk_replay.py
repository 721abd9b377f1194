"""Every device-API call of Pusher's Android, Swift and web SDKs, replayed byte for byte.

Each row is one call as the SDK sends it: method, path (after the SDK's base URL), the headers the
SDK and its HTTP stack set, and the body exactly as its JSON encoder writes it. The test sends it to
the emulator with no header added (a bare ``requests`` session) and asserts what that SDK reads
back and what it needs from the status. A second test replays each device-scoped call on a device
that does not exist and asserts the status the SDK turns into "device gone" (register again and
replay) or, for deletes and reports, into success. docs/vendors/beams.md has the same table.

Sources (the SDKs' own code): push-notifications-android 1.9.2
(``pushnotifications/src/main/java/com/pusher/pushnotifications/api/PushNotificationService.kt``,
``PushNotificationsAPI.kt``, ``PusherLibraryHeaderInterceptor.kt``, ``reporting/api/ReportingService.kt``),
push-notifications-swift 4.0.0 (``Sources/Services/NetworkService.swift``,
``Sources/Extensions/URL+NetworkService.swift``, ``Sources/Protocols/ReportEventType.swift``),
push-notifications-web 2.1.0 (``src/push-notifications.js``, ``src/do-request.js``,
``src/service-worker.js``).
"""
from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from tests.beams.beams_helpers import INSTANCE, SECRET, BeamsClient, make_jwt

DEVICE = "{platform}-0b6c1d2e-3f40-4a51-8b62-7c83d94ea5f6"
GONE = "{platform}-99999999-9999-4999-8999-999999999999"
APNS_TOKEN = "6a1f" * 16                          # Swift sends the token as lowercase hex
FCM_TOKEN = "fT0kEn:APA91bH-replay_token"
WEB_SUBSCRIPTION = {"endpoint": "https://fcm.googleapis.com/fcm/send/replay", "expirationTime": None,
                    "keys": {"p256dh": "BEl62iUYgUivxIkv69yViEuiBIa-Ib9-SkvMeAtA3LFgDzkrxZJjSgSnfckjBJuBkr3qBUYIHBQFLXYp5Nksh8U",
                             "auth": "tBHItJI5svbpez7KI4CCXg"}}
WEB_TOKEN = base64.b64encode(json.dumps(WEB_SUBSCRIPTION, separators=(",", ":")).encode()).decode()
TOKENS = {"fcm": FCM_TOKEN, "apns": APNS_TOKEN, "web": WEB_TOKEN}
PUBLISH_ID = "pubid-5f0e6a2b-1c3d-4e5f-8a9b-0c1d2e3f4a5b"
TIMESTAMP = 1763870000

#: what each SDK's HTTP stack sends besides the call's own headers
ANDROID = {"x-pusher-library": "push-notifications-android 1.9.2", "Accept-Encoding": "gzip",
           "User-Agent": "okhttp/4.12.0"}
ANDROID_JSON = {"Content-Type": "application/json; charset=UTF-8"}  # Retrofit converter-gson
SWIFT = {"Content-Type": "application/json", "X-Pusher-Library": "push-notifications-swift 4.0.0",
         "Accept": "*/*", "Accept-Language": "en-GB,en;q=0.9", "Accept-Encoding": "gzip, deflate, br",
         "User-Agent": "Replay/1 CFNetwork/1494.0.7 Darwin/23.4.0"}
ORIGIN = "https://app.example.com"
WEB = {"Origin": ORIGIN, "Accept": "*/*", "Accept-Encoding": "gzip, deflate, br",
       "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126 Safari/537.36"}
WEB_JSON = {"Content-Type": "application/json"}

ANDROID_BASE = "/instances/{i}"              # manifest override-host-url replaces the whole base
SWIFT_BASE = WEB_BASE = "/device_api/v1/instances/{i}"


def gson(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def swift_json(body: dict[str, Any]) -> bytes:
    """JSONEncoder: compact, with ``/`` escaped."""
    return json.dumps(body, separators=(",", ":")).replace("/", "\\/").encode()


js_stringify = gson


@dataclass(frozen=True)
class Call:
    sdk: str
    name: str
    method: str
    path: str
    headers: dict[str, str]
    body: bytes | None = None
    #: the device the call works on: its user and interests before the call
    user: str | None = None
    interests: tuple[str, ...] = ()
    #: asserts what the SDK reads from the answer and that the call did what it says
    check: Callable[[requests.Response, BeamsClient, str], None] = lambda resp, beams, device: None
    #: status on a well-formed id of a device that does not exist (None: no device in the call)
    gone_status: int | None = 404
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def platform(self) -> str:
        return {"android": "fcm", "swift": "apns", "web": "web"}.get(self.sdk, "")


# -- what the SDKs read ------------------------------------------------------------------------------
def empty_2xx(resp: requests.Response) -> None:
    """Android's Call<Void> and Swift's Result<Void> need a 2xx; the web SDK reads the body with
    response.json() and takes a parse failure as null, so an empty body is fine."""
    assert (resp.status_code, resp.content) == (200, b"")


def registered(platform: str, interests: list[str]) -> Callable[[requests.Response, BeamsClient, str], None]:
    def check(resp: requests.Response, beams: BeamsClient, device: str) -> None:
        """Android: ``id`` and a non-null ``initialInterestSet`` (a missing one crashes its Kotlin
        Set); Swift: JSON it can decode into Device (else it retries forever); web: ``id``."""
        assert resp.status_code == 200 and resp.headers["Content-Type"] == "application/json"
        body = resp.json()
        assert set(body) == {"id", "initialInterestSet"}
        assert isinstance(body["id"], str) and body["id"].startswith(f"{platform}-")
        assert body["initialInterestSet"] == interests
        if device:  # the token is already registered: the same device comes back
            assert body["id"] == device
        assert beams.device_state(body["id"])["token"] == TOKENS[platform]
    return check


def interests_now(expected: list[str]):
    def check(resp: requests.Response, beams: BeamsClient, device: str) -> None:
        empty_2xx(resp)
        assert beams.device_state(device)["interests"] == expected
    return check


def metadata_now(expected: dict[str, str]):
    def check(resp: requests.Response, beams: BeamsClient, device: str) -> None:
        empty_2xx(resp)
        assert beams.device_state(device)["metadata"] == expected
    return check


def token_now(expected: str):
    def check(resp: requests.Response, beams: BeamsClient, device: str) -> None:
        empty_2xx(resp)
        assert beams.device_state(device)["token"] == expected
    return check


def user_now(expected: str):
    def check(resp: requests.Response, beams: BeamsClient, device: str) -> None:
        empty_2xx(resp)
        assert beams.device_state(device)["user_id"] == expected
    return check


def deleted(resp: requests.Response, beams: BeamsClient, device: str) -> None:
    empty_2xx(resp)
    assert beams.device_state(device) is None


def reported(event: dict[str, Any]):
    def check(resp: requests.Response, beams: BeamsClient, device: str) -> None:
        """Android drops a 4xx and retries a 5xx; Swift re-registers the device on a 404 and
        retries other failures forever; the web service worker ignores the answer."""
        empty_2xx(resp)
        assert [e["body"] for e in beams.state()["events"]] == [_fill_event(event, device)]
    return check


def interests_page(names: list[str], *, more: bool):
    def check(resp: requests.Response, beams: BeamsClient, device: str) -> None:
        """getDeviceInterests returns ``interests`` plus whatever ``responseMetadata`` holds."""
        assert resp.status_code == 200 and resp.headers["Content-Type"] == "application/json"
        body = resp.json()
        assert body["interests"] == names
        assert set(body["responseMetadata"]) == ({"nextCursor"} if more else set())
    return check


def vapid_key(resp: requests.Response, beams: BeamsClient, device: str) -> None:
    """urlBase64ToUInt8Array(vapidPublicKey) must be an uncompressed P-256 point for subscribe()."""
    assert resp.status_code == 200
    key = resp.json()["vapidPublicKey"]
    raw = base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))
    assert len(raw) == 65 and raw[0] == 4


def device_read(user: str):
    def check(resp: requests.Response, beams: BeamsClient, device: str) -> None:
        """The SDKs' test helpers read ``id`` and ``userId`` (Swift's TestDevice needs a string)."""
        assert resp.status_code == 200
        assert resp.json() == {"id": device, "userId": user, "metadata": {"sdkVersion": "4.0.0", "iosVersion": "17.4"}}
    return check


def jwt_header(user: str = "alice") -> dict[str, str]:
    return {"Authorization": f"Bearer {make_jwt(user)}"}


def delivery(sdk: str) -> dict[str, Any]:
    event = {"android": "Delivery", "swift": "Delivery", "web": "delivery"}[sdk]
    return {"event": event, "publishId": PUBLISH_ID, "deviceId": "{device}", "timestampSecs": TIMESTAMP,
            "appInBackground": True, "hasDisplayableContent": True, "hasData": False}


CALLS = [
    # -- Android (FCM) ---------------------------------------------------------------------------
    Call("android", "register (start)", "POST", f"{ANDROID_BASE}/devices/fcm", {**ANDROID, **ANDROID_JSON},
         gson({"token": FCM_TOKEN, "knownPreviousClientIds": [],
               "metadata": {"sdkVersion": "1.9.2", "androidVersion": "14"}}),
         check=registered("fcm", []), gone_status=None, extra={"no_device": True}),
    Call("android", "register again (app data wiped)", "POST", f"{ANDROID_BASE}/devices/fcm", {**ANDROID, **ANDROID_JSON},
         gson({"token": FCM_TOKEN, "knownPreviousClientIds": ["{device}"],
               "metadata": {"sdkVersion": "1.9.2", "androidVersion": "14"}}),
         interests=("hello",), check=registered("fcm", ["hello"]), gone_status=None),
    Call("android", "refreshToken", "PUT", f"{ANDROID_BASE}/devices/fcm/{{device}}/token", {**ANDROID, **ANDROID_JSON},
         gson({"token": "fNewT0ken:APA91b-refreshed"}), check=token_now("fNewT0ken:APA91b-refreshed")),
    Call("android", "setSubscriptions", "PUT", f"{ANDROID_BASE}/devices/fcm/{{device}}/interests",
         {**ANDROID, **ANDROID_JSON}, gson({"interests": ["hello", "potato"]}), interests=("old",),
         check=interests_now(["hello", "potato"])),
    Call("android", "subscribe", "POST", f"{ANDROID_BASE}/devices/fcm/{{device}}/interests/potato",
         {**ANDROID}, b"", interests=("hello",), check=interests_now(["hello", "potato"])),
    Call("android", "unsubscribe", "DELETE", f"{ANDROID_BASE}/devices/fcm/{{device}}/interests/hello",
         {**ANDROID}, interests=("hello", "potato"), check=interests_now(["potato"])),
    Call("android", "setMetadata (application start)", "PUT", f"{ANDROID_BASE}/devices/fcm/{{device}}/metadata",
         {**ANDROID, **ANDROID_JSON}, gson({"sdkVersion": "1.9.2", "androidVersion": "15"}),
         check=metadata_now({"sdkVersion": "1.9.2", "androidVersion": "15"})),
    Call("android", "setUserId", "PUT", f"{ANDROID_BASE}/devices/fcm/{{device}}/user",
         {**ANDROID, "Authorization": "{jwt}"}, b"", check=user_now("alice")),
    Call("android", "delete (stop)", "DELETE", f"{ANDROID_BASE}/devices/fcm/{{device}}", {**ANDROID},
         check=deleted, gone_status=200),  # Android retries anything but a 2xx forever
    Call("android", "report Delivery", "POST", "/reporting_api/v2/instances/{i}/events", {**ANDROID, **ANDROID_JSON},
         gson({"event": "Delivery", "instanceId": INSTANCE, "deviceId": "{device}", "publishId": PUBLISH_ID,
               "timestampSecs": TIMESTAMP, "appInBackground": True, "hasDisplayableContent": True, "hasData": False}),
         check=reported({"event": "Delivery", "instanceId": INSTANCE, "deviceId": "{device}", "publishId": PUBLISH_ID,
                         "timestampSecs": TIMESTAMP, "appInBackground": True, "hasDisplayableContent": True,
                         "hasData": False}), gone_status=200),
    Call("android", "report Open", "POST", "/reporting_api/v2/instances/{i}/events", {**ANDROID, **ANDROID_JSON},
         gson({"event": "Open", "instanceId": INSTANCE, "deviceId": "{device}", "userId": "alice",
               "publishId": PUBLISH_ID, "timestampSecs": TIMESTAMP}), user="alice",
         check=reported({"event": "Open", "instanceId": INSTANCE, "deviceId": "{device}", "userId": "alice",
                         "publishId": PUBLISH_ID, "timestampSecs": TIMESTAMP}), gone_status=200),
    # -- Swift (APNs) ----------------------------------------------------------------------------
    Call("swift", "register (start)", "POST", f"{SWIFT_BASE}/devices/apns", SWIFT,
         swift_json({"token": APNS_TOKEN, "bundleIdentifier": "com.example.ios",
                     "metadata": {"sdkVersion": "4.0.0", "iosVersion": "17.4"}}),
         check=registered("apns", []), gone_status=None, extra={"no_device": True}),
    Call("swift", "register again (local state wiped, device kept)", "POST", f"{SWIFT_BASE}/devices/apns", SWIFT,
         swift_json({"token": APNS_TOKEN, "bundleIdentifier": "com.example.ios",
                     "metadata": {"sdkVersion": "4.0.0", "iosVersion": "17.4"}}),
         interests=("panda", "zebra"), check=registered("apns", ["panda", "zebra"]), gone_status=None),
    Call("swift", "setSubscriptions", "PUT", f"{SWIFT_BASE}/devices/apns/{{device}}/interests", SWIFT,
         swift_json({"interests": ["lion", "zebra"]}), interests=("panda",), check=interests_now(["lion", "zebra"])),
    Call("swift", "subscribe", "POST", f"{SWIFT_BASE}/devices/apns/{{device}}/interests/lion", SWIFT, b"",
         interests=("zebra",), check=interests_now(["lion", "zebra"])),
    Call("swift", "unsubscribe", "DELETE", f"{SWIFT_BASE}/devices/apns/{{device}}/interests/panda", SWIFT,
         interests=("panda", "zebra"), check=interests_now(["zebra"])),
    Call("swift", "syncMetadata (application start)", "PUT", f"{SWIFT_BASE}/devices/apns/{{device}}/metadata", SWIFT,
         swift_json({"sdkVersion": "4.0.0", "iosVersion": "18.0"}),
         check=metadata_now({"sdkVersion": "4.0.0", "iosVersion": "18.0"})),
    Call("swift", "setUserId", "PUT", f"{SWIFT_BASE}/devices/apns/{{device}}/user", {**SWIFT, "Authorization": "{jwt}"},
         b"", check=user_now("alice")),
    Call("swift", "setUserId again (every launch)", "PUT", f"{SWIFT_BASE}/devices/apns/{{device}}/user",
         {**SWIFT, "Authorization": "{jwt}"}, b"", user="alice", check=user_now("alice")),
    Call("swift", "deleteDevice (stop)", "DELETE", f"{SWIFT_BASE}/devices/apns/{{device}}", SWIFT,
         check=deleted, gone_status=200),
    Call("swift", "getDevice (test helpers)", "GET", f"{SWIFT_BASE}/devices/apns/{{device}}", SWIFT, user="alice",
         check=device_read("alice")),
    Call("swift", "track Delivery", "POST", "/reporting_api/v2/instances/{i}/events", SWIFT,
         swift_json({"event": "Delivery", "instanceId": INSTANCE, "publishId": PUBLISH_ID, "deviceId": "{device}",
                     "timestampSecs": TIMESTAMP, "appInBackground": True, "hasDisplayableContent": True,
                     "hasData": False}),
         check=reported({"event": "Delivery", "instanceId": INSTANCE, "publishId": PUBLISH_ID, "deviceId": "{device}",
                         "timestampSecs": TIMESTAMP, "appInBackground": True, "hasDisplayableContent": True,
                         "hasData": False}), gone_status=200),  # a 404 here would make iOS re-register
    Call("swift", "track Open", "POST", "/reporting_api/v2/instances/{i}/events", SWIFT,
         swift_json({"event": "Open", "instanceId": INSTANCE, "publishId": PUBLISH_ID, "deviceId": "{device}",
                     "userId": "alice", "timestampSecs": TIMESTAMP}), user="alice",
         check=reported({"event": "Open", "instanceId": INSTANCE, "publishId": PUBLISH_ID, "deviceId": "{device}",
                         "userId": "alice", "timestampSecs": TIMESTAMP}), gone_status=200),
    # -- web (service-worker push) ---------------------------------------------------------------
    Call("web", "_getPublicKey (start)", "GET", f"{WEB_BASE}/web-vapid-public-key", WEB, check=vapid_key,
         gone_status=None, extra={"no_device": True}),
    Call("web", "_registerDevice (start)", "POST", f"{WEB_BASE}/devices/web", {**WEB, **WEB_JSON},
         js_stringify({"token": WEB_TOKEN, "metadata": {"sdkVersion": "2.1.0"}}), check=registered("web", []),
         gone_status=None, extra={"no_device": True}),
    Call("web", "addDeviceInterest", "POST", f"{WEB_BASE}/devices/web/{{device}}/interests/hello", WEB,
         interests=("a",), check=interests_now(["a", "hello"])),
    Call("web", "removeDeviceInterest", "DELETE", f"{WEB_BASE}/devices/web/{{device}}/interests/a", WEB,
         interests=("a", "hello"), check=interests_now(["hello"])),
    Call("web", "getDeviceInterests()", "GET", f"{WEB_BASE}/devices/web/{{device}}/interests?limit=100", WEB,
         interests=("a", "b", "c"), check=interests_page(["a", "b", "c"], more=False)),
    Call("web", "getDeviceInterests(2)", "GET", f"{WEB_BASE}/devices/web/{{device}}/interests?limit=2", WEB,
         interests=("a", "b", "c"), check=interests_page(["a", "b"], more=True)),
    Call("web", "getDeviceInterests(2, cursor)", "GET",
         f"{WEB_BASE}/devices/web/{{device}}/interests?limit=2&cursor={{cursor}}", WEB,
         interests=("a", "b", "c"), check=interests_page(["c"], more=False)),
    Call("web", "setDeviceInterests", "PUT", f"{WEB_BASE}/devices/web/{{device}}/interests", {**WEB, **WEB_JSON},
         js_stringify({"interests": ["x", "y"]}), interests=("a",), check=interests_now(["x", "y"])),
    Call("web", "clearDeviceInterests", "PUT", f"{WEB_BASE}/devices/web/{{device}}/interests", {**WEB, **WEB_JSON},
         js_stringify({"interests": []}), interests=("a", "b"), check=interests_now([])),
    Call("web", "setUserId", "PUT", f"{WEB_BASE}/devices/web/{{device}}/user", {**WEB, "Authorization": "{jwt}"},
         check=user_now("alice")),
    Call("web", "setUserId again (page load)", "PUT", f"{WEB_BASE}/devices/web/{{device}}/user",
         {**WEB, "Authorization": "{jwt}"}, user="alice", check=user_now("alice")),
    Call("web", "_deleteDevice (stop, clearAllState)", "DELETE", f"{WEB_BASE}/devices/web/{{device}}", WEB,
         check=deleted, gone_status=200),  # anything else makes stop() reject and keep its state
    Call("web", "service worker: delivery", "POST", "/reporting_api/v2/instances/{i}/events", {**WEB, **WEB_JSON},
         js_stringify({**delivery("web"), "userId": None}),
         check=reported({**delivery("web"), "userId": None}), gone_status=200),
    Call("web", "service worker: open", "POST", "/reporting_api/v2/instances/{i}/events", {**WEB, **WEB_JSON},
         js_stringify({"publishId": PUBLISH_ID, "event": "open", "deviceId": "{device}", "userId": "alice",
                       "timestampSecs": TIMESTAMP, "appInBackground": False, "hasDisplayableContent": True}),
         user="alice",
         check=reported({"publishId": PUBLISH_ID, "event": "open", "deviceId": "{device}", "userId": "alice",
                         "timestampSecs": TIMESTAMP, "appInBackground": False, "hasDisplayableContent": True}),
         gone_status=200),
]

#: the calls that name a device in their path (or body, for reports)
DEVICE_CALLS = [c for c in CALLS if c.gone_status is not None]


def _ids(calls: list[Call]) -> list[str]:
    return [f"{c.sdk}: {c.name}" for c in calls]


def _fill(text: str, device: str, cursor: str = "") -> str:
    return text.replace("{i}", INSTANCE).replace("{device}", device).replace("{cursor}", cursor)


def _fill_event(value: Any, device: str) -> Any:
    if isinstance(value, dict):
        return {k: _fill_event(v, device) for k, v in value.items()}
    return device if value == "{device}" else value


def replay(beams: BeamsClient, call: Call, device: str) -> requests.Response:
    """Send the call exactly: only its own headers (plus Host and Content-Length)."""
    cursor = ""
    if "{cursor}" in call.path:  # the cursor the first page of the loaded device handed out
        first = _fill(call.path.split("&")[0], DEVICE.format(platform=call.platform))
        cursor = requests.get(f"{beams.url}{first}", timeout=30).json()["responseMetadata"]["nextCursor"]
    headers = {k: (v.replace("{jwt}", f"Bearer {make_jwt('alice')}")) for k, v in call.headers.items()}
    body = _fill(call.body.decode(), device).encode() if call.body is not None else None
    session = requests.Session()
    session.headers.clear()
    prepared = requests.Request(call.method, f"{beams.url}{_fill(call.path, device, cursor)}", headers=headers,
                                data=body).prepare()
    if body is None:
        prepared.headers.pop("Content-Length", None)
    return session.send(prepared, timeout=30)


def load_device(beams: BeamsClient, call: Call) -> str:
    device = DEVICE.format(platform=call.platform)
    beams.emulator.load({"beams": {"instances": [{
        "instance_id": INSTANCE, "secret_key": SECRET,
        "devices": [{"id": device, "platform": call.platform, "token": TOKENS[call.platform], "user_id": call.user,
                     "interests": list(call.interests),
                     "metadata": {"sdkVersion": "4.0.0", "iosVersion": "17.4"} if call.sdk == "swift" else {},
                     "bundle_identifier": "com.example.ios" if call.sdk == "swift" else None}]}]}})
    return device


@pytest.mark.parametrize("call", CALLS, ids=_ids(CALLS))
def test_sdk_call_gets_what_the_sdk_reads(beams, call: Call):
    device = "" if call.extra.get("no_device") else load_device(beams, call)
    resp = replay(beams, call, device)
    if call.sdk == "web":  # a cross-origin fetch: the browser hands the answer over only with this
        assert resp.headers["Access-Control-Allow-Origin"] in (ORIGIN, "*")
    call.check(resp, beams, device)
    # the emulator saw the SDK's headers and nothing else but Host and Content-Length
    [entry] = [e for e in beams.emulator.requests("beams", method=call.method, limit=1)]
    seen = {k.lower(): v for k, v in entry["request_headers"].items()}
    sent = {k.lower(): v for k, v in call.headers.items()}
    assert seen.keys() - sent.keys() <= {"host", "content-length"}
    assert {k: v for k, v in seen.items() if k in sent and v != sent[k]}.keys() <= {"authorization"}
    assert seen.keys() >= sent.keys()


@pytest.mark.parametrize("call", DEVICE_CALLS, ids=_ids(DEVICE_CALLS))
def test_sdk_call_on_a_device_that_does_not_exist(beams, call: Call):
    """Android and Swift turn a 404 into "device gone": register again, re-send the interests and
    user, replay the call. A 400 would make them drop the call and keep the dead id. Deletes and
    reports must succeed (Android retries a failed delete forever; a 404 on a Swift report would
    make it re-register)."""
    other = load_device(beams, call)
    before = beams.state()
    gone = GONE.format(platform=call.platform)
    resp = replay(beams, call, gone)
    assert resp.status_code == call.gone_status, resp.content
    if call.gone_status == 404:
        assert resp.content == b'{"error":"Device not found","description":"Could not find the device."}\n'
        assert beams.state() == before
    else:
        assert resp.content == b""
        assert beams.device_state(other) == next(d for d in before["devices"] if d["id"] == other)


# -- whole flows the SDKs' own integration tests run against the real service ------------------------
def send(beams: BeamsClient, method: str, path: str, headers: dict[str, str],
         body: dict[str, Any] | bytes | None = None,
         encode: Callable[[dict[str, Any]], bytes] = gson) -> requests.Response:
    raw = body if body is None or isinstance(body, bytes) else encode(body)
    call = Call("flow", "step", method, path, headers, raw)
    return replay(beams, call, "")


def test_android_recovers_a_device_deleted_on_the_server(beams):
    """push-notifications-android's integration test
    startDoSomeOperationsWhileHandlingUnexpectedDeviceDeletionCorrectly: the device is deleted on the
    server, the app adds an interest, the SDK gets 404, registers again (knownPreviousClientIds),
    PUTs its local interests and replays the add; it expects a new id and {hello, potato}."""
    body = {"token": FCM_TOKEN, "knownPreviousClientIds": [], "metadata": {"sdkVersion": "1.9.2", "androidVersion": "14"}}
    first = send(beams, "POST", f"{ANDROID_BASE}/devices/fcm", {**ANDROID, **ANDROID_JSON}, body).json()
    assert first["initialInterestSet"] == []
    old = first["id"]
    assert send(beams, "PUT", f"{ANDROID_BASE}/devices/fcm/{old}/interests", {**ANDROID, **ANDROID_JSON},
                {"interests": ["hello"]}).status_code == 200
    assert requests.delete(f"{beams.url}/device_api/v1/instances/{INSTANCE}/devices/fcm/{old}", timeout=30).status_code == 200

    gone = send(beams, "POST", f"{ANDROID_BASE}/devices/fcm/{old}/interests/potato", ANDROID, b"")
    assert gone.status_code == 404  # PushNotificationsAPIDeviceNotFound: recreate the device
    again = send(beams, "POST", f"{ANDROID_BASE}/devices/fcm", {**ANDROID, **ANDROID_JSON},
                 {**body, "knownPreviousClientIds": [old]}).json()
    new = again["id"]
    assert new != old and again["initialInterestSet"] == []
    assert send(beams, "PUT", f"{ANDROID_BASE}/devices/fcm/{new}/interests", {**ANDROID, **ANDROID_JSON},
                {"interests": ["hello", "potato"]}).status_code == 200
    assert send(beams, "POST", f"{ANDROID_BASE}/devices/fcm/{new}/interests/potato", ANDROID, b"").status_code == 200
    assert [(d["id"], d["interests"]) for d in beams.state()["devices"]] == [(new, ["hello", "potato"])]


def test_swift_gets_its_device_back_when_it_registers_a_known_token(beams):
    """push-notifications-swift's integration test against production,
    testLocalInterestsSetShouldBeMergedAfterDeviceRegistration: a first install registers token T and
    sets {panda, zebra}; the app's local state is wiped without deleting the device; a second start
    queues -panda and +lion, registers T again, and must get the same id with the server's
    interests in initialInterestSet, so its merge ends at {lion, zebra}."""
    register = {"token": APNS_TOKEN, "bundleIdentifier": "com.example.ios",
                "metadata": {"sdkVersion": "4.0.0", "iosVersion": "17.4"}}
    first = send(beams, "POST", f"{SWIFT_BASE}/devices/apns", SWIFT, register, swift_json).json()
    device = first["id"]
    assert send(beams, "PUT", f"{SWIFT_BASE}/devices/apns/{device}/interests", SWIFT,
                {"interests": ["panda", "zebra"]}, swift_json).status_code == 200

    second = send(beams, "POST", f"{SWIFT_BASE}/devices/apns", SWIFT, register, swift_json).json()
    assert second == {"id": device, "initialInterestSet": ["panda", "zebra"]}
    merged = (set(second["initialInterestSet"]) - {"panda"}) | {"lion"}  # the SDK replays its queued jobs
    assert send(beams, "PUT", f"{SWIFT_BASE}/devices/apns/{device}/interests", SWIFT,
                {"interests": sorted(merged)}, swift_json).status_code == 200
    assert [(d["id"], d["interests"]) for d in beams.state()["devices"]] == [(device, ["lion", "zebra"])]
