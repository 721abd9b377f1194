"""Pusher's web SDK (@pusher/push-notifications-web 2.1.0) in a real headless Chromium against the
emulator, offline and end to end.

Nothing of the browser is stubbed. Chromium's own push stack talks to a local fake of Google's
device check-in and registration endpoints (the switches ``--gcm-checkin-url`` and
``--gcm-registration-url``), so ``pushManager.subscribe()`` returns a real subscription with
browser-generated P-256 and auth keys for the instance's VAPID key. The page is served from
``http://127.0.0.1:<port>`` (loopback is a secure context) and calls the emulator on another port
of 127.0.0.1 (another origin, so CORS is exercised too). The npm package's ``service-worker.js`` imports
``/dist/service-worker.js``, which the 2.1.0 tarball does not contain, so the page registers a
module service worker that imports the package's ``src/service-worker.js`` and hands that
registration to the SDK. A push is delivered to it with the Chrome DevTools Protocol
(``ServiceWorker.deliverPushMessage``) and the SDK's own code reports the ``delivery`` event.
"""
from __future__ import annotations

import asyncio
import base64
import json
import re
import secrets
import struct
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from aiohttp import web

from tests.beams.beams_helpers import INSTANCE, make_jwt, npm_packages, server_post
from tests.core.test_dashboard import ensure_chromium

pytestmark = [pytest.mark.browser, pytest.mark.sdk]

SDK_VERSION = "2.1.0"
DEVICE_API = f"/device_api/v1/instances/{INSTANCE}"
WEB_ID = re.compile(r"web-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
NOT_FOUND = "Unexpected status code 404: Device not found, Could not find the device."


@pytest.fixture(scope="module")
def sdk_package() -> Path:
    root = npm_packages(f"web-sdk-{SDK_VERSION}", [f"@pusher/push-notifications-web@{SDK_VERSION}"])
    return root / "node_modules" / "@pusher" / "push-notifications-web"


# -- the fake of Google's GCM endpoints ----------------------------------------------------------
def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | (0x80 if n else 0))
        if not n:
            return bytes(out)


#: an AndroidCheckinResponse protobuf: stats_ok (1) = true, time_msec (3), android_id (7, fixed64),
#: security_token (8, fixed64): the fields Chromium's CheckinRequest requires
ANDROID_ID, SECURITY_TOKEN = 0x1234567890ABCDE, 0x0FEDCBA987654321
CHECKIN_RESPONSE = (b"\x08\x01" + b"\x18" + _varint(1_700_000_000_000) + b"\x39" + struct.pack("<Q", ANDROID_ID)
                    + b"\x41" + struct.pack("<Q", SECURITY_TOKEN))


class LocalSite:
    """One aiohttp server on 127.0.0.1 (in its own thread) for everything that is not Beams: the
    GCM check-in and registration fake, the page, the SDK's files and the app's token provider."""

    def __init__(self, sdk: Path, emulator_url: str) -> None:
        self.sdk = sdk.resolve()
        self.emulator_url = emulator_url
        self.checkins = 0
        self.registrations: list[dict[str, str]] = []
        self.gcm_tokens: list[str] = []
        self.token_requests: list[dict[str, str]] = []
        app = web.Application()
        app.router.add_post("/gcm/checkin", self.checkin)
        app.router.add_post("/gcm/register", self.register)
        app.router.add_get("/", self.page)
        app.router.add_get("/service-worker.js", self.service_worker)
        app.router.add_get("/sdk/{path:.+}", self.sdk_file)
        app.router.add_get("/beams-auth", self.beams_auth)
        self.runner = web.AppRunner(app, access_log=None)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> LocalSite:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(30)
        return self

    async def _start(self) -> None:
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        self.port = self.runner.addresses[0][1]

    def __exit__(self, *exc: Any) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)
        self.loop.close()

    @property
    def gcm(self) -> str:
        return f"http://127.0.0.1:{self.port}/gcm"

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def checkin(self, request: web.Request) -> web.Response:
        await request.read()
        self.checkins += 1
        return web.Response(body=CHECKIN_RESPONSE, content_type="application/x-protobuf")

    async def register(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        self.registrations.append(form)
        if form.get("delete") == "true":  # unsubscribe
            return web.Response(text=f"deleted={form.get('app', '')}")
        token = secrets.token_urlsafe(32)
        if form.get("X-subtype", "").startswith("wp:"):  # a web push subscription (Chromium registers
            self.gcm_tokens.append(token)               # an app of its own first)
        return web.Response(text=f"token={token}")

    async def page(self, request: web.Request) -> web.Response:
        config = json.dumps({"instanceId": INSTANCE, "endpointOverride": self.emulator_url})
        return web.Response(content_type="text/html", text=f"""<!doctype html>
<meta charset="utf-8"><title>Beams web SDK</title>
<script type="module">
import * as PusherPushNotifications from '/sdk/dist/push-notifications-esm.js';
const config = {config};
window.PusherPushNotifications = PusherPushNotifications;
window.beams = (async () => {{
  const registration = await navigator.serviceWorker.register('/service-worker.js', {{type: 'module'}});
  await navigator.serviceWorker.ready;
  return new PusherPushNotifications.Client({{...config, serviceWorkerRegistration: registration}});
}})();
window.tokenProvider = (mode) => new PusherPushNotifications.TokenProvider(
  {{url: location.origin + '/beams-auth', queryParams: {{mode}}}});
</script>""")

    async def service_worker(self, request: web.Request) -> web.Response:
        text = (f"import '/sdk/src/service-worker.js';\n"
                f"self.PusherPushNotifications.endpointOverride = {json.dumps(self.emulator_url)};\n")
        return web.Response(text=text, content_type="text/javascript")

    async def sdk_file(self, request: web.Request) -> web.Response:
        """The package's files; ``src/`` imports name modules without ``.js`` (a bundler's habit)."""
        path = (self.sdk / request.match_info["path"]).resolve()
        if not path.is_file():
            path = path.with_name(path.name + ".js")
        if not path.is_relative_to(self.sdk) or not path.is_file():
            raise web.HTTPNotFound()
        return web.Response(body=path.read_bytes(), content_type="text/javascript")

    async def beams_auth(self, request: web.Request) -> web.Response:
        """The app's token provider: a good token, one with a bad signature, one issued later."""
        query = dict(request.query)
        self.token_requests.append(query)
        user, mode = query["user_id"], query.get("mode")
        if mode == "bad-signature":
            token = make_jwt(user, secret="not-the-instance-secret-but-as-long-as-one")
        elif mode == "future-iat":
            token = make_jwt(user, iat=int(time.time()) + 3600)
        else:
            token = make_jwt(user)
        return web.json_response({"token": token})


# -- the browser ---------------------------------------------------------------------------------
class Browser:
    """A persistent Chromium profile (push is refused in incognito contexts) with its push stack
    pointed at the GCM fake, on the page that loads the SDK."""

    def __init__(self, pw, site: LocalSite, profile: str) -> None:
        self.site = site
        gcm_switches = [f"--gcm-checkin-url={site.gcm}/checkin", f"--gcm-registration-url={site.gcm}/register",
                        "--gcm-mcs-endpoint=https://127.0.0.1:9"]  # nothing listens: delivery goes through CDP
        self.context = pw.chromium.launch_persistent_context(
            profile, executable_path=ensure_chromium(), headless=True,
            args=["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync", *gcm_switches])
        self.context.grant_permissions(["notifications"], origin=site.origin)
        self.page = self.context.pages[0] if self.context.pages else self.context.new_page()
        self.console: list[str] = []
        self.page.on("console", lambda msg: self.console.append(f"{msg.type}: {msg.text}"))
        self.page.on("pageerror", lambda exc: self.console.append(f"page error: {exc}"))
        self.page.goto(site.origin + "/")

    def call(self, body: str, arg: Any = None) -> Any:
        """Run ``body`` (JavaScript, with ``client`` and ``arg`` in scope) in the page; a thrown
        error comes back as ``{"error": message}``."""
        return self.page.evaluate(
            "async ([body, arg]) => { const client = await window.beams;"
            " try { return await (new Function('client', 'arg', 'tokenProvider',"
            " `return (async () => { ${body} })()`))(client, arg, window.tokenProvider); }"
            " catch (e) { return {error: e.message}; } }", [body, arg])

    def reload(self) -> None:
        self.page.reload()

    def deliver_push(self, payload: dict[str, Any]) -> None:
        cdp = self.context.new_cdp_session(self.page)
        registrations: list[dict[str, Any]] = []
        cdp.on("ServiceWorker.workerRegistrationUpdated", lambda e: registrations.extend(e["registrations"]))
        cdp.send("ServiceWorker.enable")
        for _ in range(100):
            found = [r for r in registrations if r["scopeURL"] == self.site.origin + "/" and not r["isDeleted"]]
            if found:
                break
            self.page.wait_for_timeout(50)
        assert found, registrations
        cdp.send("ServiceWorker.deliverPushMessage", {"origin": self.site.origin,
                                                      "registrationId": found[0]["registrationId"],
                                                      "data": json.dumps(payload)})
        cdp.detach()

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def browser(beams, sdk_package):
    from playwright.sync_api import sync_playwright

    with LocalSite(sdk_package, beams.url) as site, tempfile.TemporaryDirectory(prefix="beams-chromium-") as profile, \
            sync_playwright() as pw:
        opened = Browser(pw, site, profile)
        try:
            yield opened
        finally:
            opened.close()


def device_calls(beams, since: int = 0) -> list[tuple[str, str, str | None]]:
    """(method, path after the instance with device ids as ``{id}``, Content-Type) of the
    browser's Beams calls after journal entry ``since``, oldest first; CORS preflights left out."""
    entries = [e for e in reversed(beams.emulator.requests("beams", limit=1000))
               if e["id"] > since and e["method"] != "OPTIONS"]
    return [(e["method"], WEB_ID.sub("{id}", e["path"].replace(DEVICE_API, "")) + (f"?{e['query']}" if e["query"] else ""),
             {k.lower(): v for k, v in e["request_headers"].items()}.get("content-type")) for e in entries]


def last_journal_id(beams) -> int:
    entries = beams.emulator.requests("beams", limit=1)
    return entries[0]["id"] if entries else 0


def wait_for(check, what: str, tries: int = 200) -> Any:
    """Poll ``check`` until it returns something truthy (the service worker reports on its own)."""
    for _ in range(tries):
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"gave up waiting for {what}")


def b64url_len(text: str) -> int:
    return len(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


def test_web_sdk_lifecycle_in_chromium(beams, browser):
    site = browser.site
    vapid = requests.get(f"{beams.url}{DEVICE_API}/web-vapid-public-key", timeout=30).json()["vapidPublicKey"]
    mark = last_journal_id(beams)

    # start(): VAPID key, a real browser push subscription through the GCM fake, register
    device = browser.call("await client.start(); return await client.getDeviceId();")
    assert isinstance(device, str) and device.startswith("web-"), (device, browser.console)
    assert site.checkins == 1
    # Chromium subscribed to the web push service with the emulator's VAPID key
    assert [r["sender"] for r in site.registrations if r.get("X-subtype", "").startswith("wp:")] == [vapid]
    [stored] = beams.state()["devices"]
    subscription = json.loads(base64.b64decode(stored["token"]))
    assert set(subscription) == {"endpoint", "expirationTime", "keys"}
    assert subscription["endpoint"].endswith("/" + site.gcm_tokens[-1])
    assert b64url_len(subscription["keys"]["p256dh"]) == 65 and b64url_len(subscription["keys"]["auth"]) == 16
    assert stored == {"id": device, "platform": "web", "token": stored["token"], "user_id": None,
                      "interests": [], "metadata": {"sdkVersion": SDK_VERSION}, "bundle_identifier": None}
    assert device_calls(beams, mark) == [("GET", "/web-vapid-public-key", None),
                                   ("POST", "/devices/web", "application/json")]

    # interests: add, set, get in pages of 2, remove, clear
    mark = last_journal_id(beams)
    pages = browser.call("""
        await client.addDeviceInterest('zeta');
        await client.setDeviceInterests(['a', 'b', 'c', 'd', 'e', 'a']);
        await client.addDeviceInterest('f');
        const pages = [];
        let page = await client.getDeviceInterests(2);
        pages.push(page);
        while (page.nextCursor) { page = await client.getDeviceInterests(2, page.nextCursor); pages.push(page); }
        return pages;""")
    assert [p["interests"] for p in pages] == [["a", "b"], ["c", "d"], ["e", "f"]], pages
    assert [("nextCursor" in p) for p in pages] == [True, True, False]
    assert browser.call("await client.removeDeviceInterest('c'); await client.removeDeviceInterest('nope');"
                        " return await client.getDeviceInterests();") == {"interests": ["a", "b", "d", "e", "f"]}
    assert beams.device_state(device)["interests"] == ["a", "b", "d", "e", "f"]
    assert browser.call("await client.clearDeviceInterests(); return await client.getDeviceInterests();") \
        == {"interests": []}
    assert device_calls(beams, mark) == [
        ("POST", "/devices/web/{id}/interests/zeta", None),
        ("PUT", "/devices/web/{id}/interests", "application/json"),
        ("POST", "/devices/web/{id}/interests/f", None),
        ("GET", "/devices/web/{id}/interests?limit=2", None),
        ("GET", f"/devices/web/{{id}}/interests?limit=2&cursor={pages[0]['nextCursor']}", None),
        ("GET", f"/devices/web/{{id}}/interests?limit=2&cursor={pages[1]['nextCursor']}", None),
        ("DELETE", "/devices/web/{id}/interests/c", None),
        ("DELETE", "/devices/web/{id}/interests/nope", None),
        ("GET", "/devices/web/{id}/interests?limit=100", None),
        ("PUT", "/devices/web/{id}/interests", "application/json"),
        ("GET", "/devices/web/{id}/interests?limit=100", None),
    ]

    # setUserId with the app's token provider: bad signature, token issued in the future, good
    set_user = "return await client.setUserId('alice', tokenProvider(arg)) ?? 'ok';"
    assert browser.call(set_user, "bad-signature") == {
        "error": "Unexpected status code 401: Unauthorized, Invalid JWT: signature is invalid"}
    assert browser.call(set_user, "future-iat") == {
        "error": "Unexpected status code 401: Unauthorized, Invalid JWT claims: Token used before issued"}
    assert beams.device_state(device)["user_id"] is None
    assert browser.call(set_user, "good") == "ok"
    assert [q["user_id"] for q in site.token_requests] == ["alice"] * 3
    assert beams.device_state(device)["user_id"] == "alice"
    assert browser.call("return await client.getUserId();") == "alice"

    # a reload: same device, same user, no new registration; setUserId again re-sends PUT user
    mark = last_journal_id(beams)
    browser.reload()
    assert browser.call("await client.start(); return [await client.getDeviceId(), await client.getUserId(),"
                        " await client.getRegistrationState()];") == [device, "alice",
                                                                       "PERMISSION_GRANTED_REGISTERED_WITH_BEAMS"]
    assert browser.call(set_user, "good") == "ok"
    assert browser.call("try { await client.setUserId('bob', tokenProvider('good')); } catch (e) { return e.message; }")\
        == "Changing the `userId` is not allowed."
    assert device_calls(beams, mark) == [("PUT", "/devices/web/{id}/user", None)]
    assert site.checkins == 1 and len(site.gcm_tokens) == 1

    # a push delivered to the service worker: the SDK's own code reports the delivery
    published = server_post(beams.emulator, "/publishes/users", {"users": ["alice"], "web": {"notification": {
        "title": "Hello", "body": "from the emulator"}}})
    assert published.status_code == 200
    publish_id = json.loads(published.content)["publishId"]
    [delivery] = beams.emulator.deliveries(vendor="beams", publish_id=publish_id)
    assert {k: delivery[k] for k in ("device_id", "platform", "status", "matched_by", "payload")} == {
        "device_id": device, "platform": "web", "status": "delivered", "matched_by": {"user": "alice"},
        "payload": {"notification": {"title": "Hello", "body": "from the emulator"}}}
    browser.deliver_push({"notification": {"title": "Hello", "body": "from the emulator"},
                          "data": {"pusher": {"instanceId": INSTANCE, "publishId": publish_id,
                                              "hasDisplayableContent": True, "hasData": False}}})
    [event] = wait_for(lambda: beams.state()["events"], "the delivery event")
    body = event["body"]
    assert isinstance(body["timestampSecs"], int) and abs(body["timestampSecs"] - time.time()) < 600
    assert body == {"publishId": publish_id, "event": "delivery", "deviceId": device, "userId": "alice",
                    "timestampSecs": body["timestampSecs"], "appInBackground": False,  # the page is visible
                    "hasDisplayableContent": True, "hasData": False}
    [report] = [e for e in beams.emulator.requests("beams", method="POST") if "/reporting_api/" in e["path"]]
    assert report["path"] == f"/reporting_api/v2/instances/{INSTANCE}/events" and report["status"] == 200

    # clearAllState: the device is deleted, a new subscription and a new device are made
    mark = last_journal_id(beams)
    fresh = browser.call("await client.clearAllState(); return await client.getDeviceId();")
    assert isinstance(fresh, str) and fresh.startswith("web-") and fresh != device
    assert [d["id"] for d in beams.state()["devices"]] == [fresh]
    assert beams.device_state(fresh)["user_id"] is None and beams.device_state(fresh)["interests"] == []
    assert browser.call("return await client.getUserId();") is None
    assert [(m, p) for m, p, _ in device_calls(beams, mark)] == [
        ("DELETE", "/devices/web/{id}"), ("GET", "/web-vapid-public-key"), ("POST", "/devices/web")]
    assert len(site.gcm_tokens) == 2
    assert json.loads(base64.b64decode(beams.device_state(fresh)["token"]))["endpoint"].endswith(site.gcm_tokens[-1])

    # stop: the device is deleted and the SDK forgets it
    assert browser.call("await client.stop(); return [await client.getDeviceId(),"
                        " await client.getRegistrationState()];") == [None,
                                                                     "PERMISSION_GRANTED_NOT_REGISTERED_WITH_BEAMS"]
    assert beams.state()["devices"] == []
    # the page is another origin: Chromium sent CORS preflights (PUT, DELETE, JSON POST, Authorization)
    preflights = beams.emulator.requests("beams", method="OPTIONS", limit=1000)
    assert preflights and {e["status"] for e in preflights} == {204}
    assert not [c for c in browser.console if c.startswith("page error")], browser.console


def test_web_sdk_device_deleted_on_the_server(beams, browser):
    """The web SDK has no "device gone" recovery: every device call rejects with the 404 until the
    app calls stop() (whose DELETE is 200 for an unknown device) and start() again."""
    device = browser.call("await client.start(); await client.addDeviceInterest('news');"
                          " return await client.getDeviceId();")
    assert isinstance(device, str) and device.startswith("web-"), (device, browser.console)
    assert requests.delete(f"{beams.url}{DEVICE_API}/devices/web/{device}", timeout=30).status_code == 200
    assert beams.state()["devices"] == []

    assert browser.call("return await client.getDeviceId();") == device  # the page keeps its id
    for call in ("await client.addDeviceInterest('sport');", "await client.removeDeviceInterest('news');",
                 "await client.getDeviceInterests();", "await client.setDeviceInterests(['x']);",
                 "await client.setUserId('alice', tokenProvider('good'));"):
        assert browser.call(call) == {"error": NOT_FOUND}, call
    assert beams.state()["devices"] == []

    again = browser.call("await client.stop(); await client.start(); await client.addDeviceInterest('sport');"
                         " return await client.getDeviceId();")
    assert isinstance(again, str) and again.startswith("web-") and again != device
    assert [(d["id"], d["interests"]) for d in beams.state()["devices"]] == [(again, ["sport"])]
