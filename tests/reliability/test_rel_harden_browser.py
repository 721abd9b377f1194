"""The control plane against browsers tricked by other sites (issue: control plane and
browsers): CSRF (a text/plain cross-origin POST needs no preflight) and DNS rebinding (a page
reaching the emulator under its own domain name). Vendor routes stay open to any Host/Origin."""
from __future__ import annotations

import pytest
import requests

from tests.credentials import JPUSH_RID, jpush_auth
from tests.reliability.rel_helpers import state
from tests.support import ServerProcess

FOREIGN = ["http://evil.example", "https://attacker.test:8443", "null", "http://127.0.0.1.evil.example"]
FAULT = '{"status": 503, "path": "/*"}'


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with ServerProcess("--db", str(tmp_path_factory.mktemp("browser") / "b.db"),
                       "--allowed-host", "emulator.corp.example", env={"DEVICE_EMULATOR_ALLOWED_HOSTS": "*.dev.test"}) as proc:
        yield proc


def _counts(url: str) -> tuple[int, dict]:
    return requests.get(f"{url}/_emulator/faults", timeout=10).json()["count"], state(url)


@pytest.mark.parametrize("origin", FOREIGN)
def test_cross_origin_control_requests_are_refused(server, origin):
    before = _counts(server.url)
    refused = 0
    for method, path, body in [("POST", "/_emulator/faults", FAULT), ("POST", "/_emulator/reset", ""),
                               ("POST", "/_emulator/fixtures", '{"jpush": {"apps": []}}'),
                               ("PUT", "/_emulator/state", "{}"), ("PATCH", "/_emulator/options", '{"auth": "open"}'),
                               ("POST", "/_emulator/clock", '{"advance": 86400}'), ("DELETE", "/_emulator/requests", "")]:
        r = requests.request(method, server.url + path, data=body, timeout=10,
                             headers={"Origin": origin, "Content-Type": "text/plain"})
        assert r.status_code == 403, (method, path, r.text)
        assert r.json() == {"error": f"cross-origin request from {origin!r} refused: the control plane answers "
                                     "only its own pages and loopback origins"}
        refused += 1
    assert _counts(server.url) == before
    assert requests.get(f"{server.url}/_emulator/options", timeout=10).json()["values"]["auth"] == "strict"
    assert refused == 7


@pytest.mark.parametrize("origin", ["own", "http://localhost:3000", "http://127.0.0.1:5173", "http://[::1]:8080",
                                    "http://app.localhost"])
def test_same_and_loopback_origins_are_served(server, origin):
    if origin == "own":
        origin = server.url
    r = requests.post(f"{server.url}/_emulator/faults", data=FAULT, timeout=10,
                      headers={"Origin": origin, "Content-Type": "application/json"})
    assert r.status_code == 201, r.text
    assert requests.delete(f"{server.url}/_emulator/faults", headers={"Origin": origin}, timeout=10).status_code == 200


@pytest.mark.parametrize("host", ["evil.example.com", "evil.example.com:8780", "attacker.test.", "rebind.127.0.0.1.nip.io"])
def test_foreign_host_names_are_refused(server, host):
    before = _counts(server.url)
    for method, path in [("GET", "/_emulator/state"), ("POST", "/_emulator/reset"), ("GET", "/_emulator/requests"),
                         ("GET", "/_emulator/")]:
        r = requests.request(method, server.url + path, headers={"Host": host}, timeout=10)
        assert r.status_code == 421, (host, path)
        assert r.json() == {"error": f"Host {host!r} is not allowed for the control plane; start the emulator "
                                     "with --allowed-host NAME to allow it"}
    assert _counts(server.url) == before


@pytest.mark.parametrize("host", ["127.0.0.1:8780", "localhost", "localhost:8780", "emulator:8780", "emulator",
                                  "10.1.2.3", "[::1]:8780", "app.localhost:8780", "emulator.corp.example",
                                  "api.dev.test:8780"])
def test_local_and_allowed_hosts_are_served(server, host):
    r = requests.get(f"{server.url}/_emulator/health", headers={"Host": host}, timeout=10)
    assert r.status_code == 200
    r = requests.get(f"{server.url}/_emulator/", headers={"Host": host}, timeout=10)  # the dashboard
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")


def test_vendor_routes_stay_open_to_any_host_and_origin(server):
    r = requests.get(f"{server.url}/v3/devices/{JPUSH_RID}", timeout=10,
                     headers={**jpush_auth(), "Host": "device.jpush.cn", "Origin": "http://evil.example"})
    assert r.status_code == 200
