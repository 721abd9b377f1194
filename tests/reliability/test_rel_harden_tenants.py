"""``--auth open``: a refused request changes nothing, tenants included (issue: on main a request
refused with a 4xx still created its tenant, on all five vendors). Every vendor finds or creates
its tenants through ``Vendor.tenant``; this drives that mechanism through a minimal vendor in a
real server process."""
from __future__ import annotations

import threading

import pytest
import requests

from tests.support import ServerProcess


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with ServerProcess("--db", str(tmp_path_factory.mktemp("tenants") / "t.db"), "--auth", "open",
                       module="tests.reliability.tenant_toy") as proc:
        yield proc


def _tenants(url: str) -> dict:
    return {t["name"]: t for t in requests.get(f"{url}/_emulator/state", timeout=10).json()["tentoy"]["tenants"]}


@pytest.mark.parametrize("body, status, answer", [
    (b"{not json", 400, {"tenant_toy_error": "bad body"}),
    (b'{"value": 5}', 422, {"tenant_toy_error": "value must be a string"}),
])
def test_refused_request_creates_no_tenant(server, body, status, answer):
    before = _tenants(server.url)
    name = f"refused{status}"
    r = requests.post(f"{server.url}/tentoy/{name}/items", data=body, timeout=10)
    assert (r.status_code, r.json()) == (status, answer)
    assert _tenants(server.url) == before


def test_accepted_request_creates_its_tenant(server):
    r = requests.post(f"{server.url}/tentoy/newone/items", json={"value": "v1"}, timeout=10)
    assert (r.status_code, r.json()) == (201, {"tenant": "newone", "value": "v1"})
    assert _tenants(server.url)["newone"] == {"name": "newone", "settings": ["created"], "items": ["v1"]}
    r = requests.post(f"{server.url}/tentoy/newone/items", data=b"{", timeout=10)  # an existing tenant stays
    assert r.status_code == 400
    assert _tenants(server.url)["newone"] == {"name": "newone", "settings": ["created"], "items": ["v1"]}


def test_uncreatable_name_is_refused_and_nothing_created(server):
    before = _tenants(server.url)
    r = requests.post(f"{server.url}/tentoy/not-alnum/items", json={"value": "v"}, timeout=10)
    assert (r.status_code, r.json()) == (401, {"tenant_toy_error": "unknown tenant"})
    assert _tenants(server.url) == before


def test_refusal_racing_a_success_on_a_new_tenant_keeps_it_whole(server):
    """Refused and accepted requests for the same new tenant at once: the tenant exists exactly when
    an accepted request used it, and holds exactly the accepted items."""
    for round_ in range(10):
        name = f"race{round_}"
        barrier = threading.Barrier(6)
        results: list[int] = []

        def send(body: bytes) -> None:
            barrier.wait()
            results.append(requests.post(f"{server.url}/tentoy/{name}/items", data=body, timeout=10).status_code)

        bodies = [b'{"value": "ok"}'] * 2 + [b"{bad"] * 4
        threads = [threading.Thread(target=send, args=(b,)) for b in bodies]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results) == [201, 201, 400, 400, 400, 400]
        tenant = _tenants(server.url)[name]
        assert tenant["items"] == ["ok", "ok"]
    assert not any(name.startswith("refused") for name in _tenants(server.url))


# -- the five real vendors: a refused request in open mode leaves no tenant behind --------------

NEW_JPUSH = ("openmode0appkey000000001", "openmode0secret000000001")
NEW_BEAMS = "0f0f0f0f-1111-4222-8333-444455556666"


def _basic(user: str, password: str) -> dict[str, str]:
    import base64

    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


REAL_VENDOR_REFUSALS = [
    # (vendor, method, path, headers, body, expected status)
    ("jpush", "POST", "/v3/devices/1507bfd3f7c466c355c", _basic(*NEW_JPUSH), b"{bad", 400),
    ("beams", "POST", f"/device_api/v1/instances/{NEW_BEAMS}/devices/fcm", {"Content-Type": "application/json"},
     b"{bad", 400),
    ("moengage", "POST", "/v1/device/OPENMODEWORKSPACE0000001", _basic("OPENMODEWORKSPACE0000001", "k"), b"{bad",
     400),
    ("capgo", "POST", "/device", {"authorization": "open-mode-new-capgo-key", "Content-Type": "application/json"},
     b"{bad", 400),
    ("applovin", "GET", "/devices/list?api_key=open-mode-new-applovin-key&device_list_id=0123456789abcdef0123456789abcdef",
     {}, None, 404),
]


@pytest.fixture(scope="module")
def open_server(tmp_path_factory):
    with ServerProcess("--db", str(tmp_path_factory.mktemp("open") / "o.db"), "--auth", "open") as proc:
        yield proc


@pytest.mark.parametrize("vendor, method, path, headers, body, status", REAL_VENDOR_REFUSALS,
                         ids=[r[0] for r in REAL_VENDOR_REFUSALS])
def test_real_vendor_refusal_in_open_mode_creates_no_tenant(open_server, vendor, method, path, headers, body,
                                                             status):
    before = requests.get(f"{open_server.url}/_emulator/state", timeout=10).json()
    r = requests.request(method, open_server.url + path, headers=headers, data=body, timeout=10)
    assert r.status_code == status, r.text
    assert requests.get(f"{open_server.url}/_emulator/state", timeout=10).json() == before


def test_real_vendor_acceptance_in_open_mode_creates_its_tenant(open_server):
    r = requests.get(f"{open_server.url}/v3/tags/", headers=_basic(*NEW_JPUSH), timeout=10)
    assert (r.status_code, r.json()) == (200, {"tags": []})
    apps = requests.get(f"{open_server.url}/_emulator/state?vendor=jpush", timeout=10).json()["jpush"]["apps"]
    assert NEW_JPUSH[0] in [a["app_key"] for a in apps]


def test_a_tenant_found_between_its_commit_and_its_acknowledgement_outlives_its_creators_refusal(tmp_path):
    """The writer thread commits a write before the serving loop hears of it: a request reading in
    that window finds a tenant open mode is still making. It must hold that tenant like any request
    using it, or the creator's refusal removes it under a request that is about to be accepted
    (CI saw that as a 401 among the racing requests above)."""
    import asyncio

    from aiohttp.test_utils import make_mocked_request

    from emulator.app import build_context, _settle_new_tenants
    from emulator.config import Config
    from emulator.httputil import request_state
    from tests.reliability.tenant_toy import TenantToy, create, lookup

    async def scenario() -> None:
        ctx = build_context(Config(db=str(tmp_path / "window.db"), auth="open", fixtures=[]), vendor_classes=[TenantToy])
        store, vendor = ctx.store, ctx.vendors["tentoy"]
        store.start(asyncio.get_running_loop())
        try:
            held: list = []
            real_resolve = store._resolve_all
            store._resolve_all = held.append  # committed; the loop is not told yet
            creator, finder = (make_mocked_request("POST", "/tentoy/w/items") for _ in range(2))
            creating = asyncio.ensure_future(vendor.tenant(creator, lookup, create, "w", refusal=lambda: None))
            while not held:
                await asyncio.sleep(0.001)
            store._end_snapshot()
            found = await vendor.tenant(finder, lookup, create, "w", refusal=lambda: None)
            assert found == store.read(lookup, "w") is not None  # the committed row, seen in the window
            store._resolve_all = real_resolve
            real_resolve(held.pop())
            assert await creating == found
            await _settle_new_tenants(creator, request_state(creator), False)  # the creator is refused
            assert store.read(lookup, "w") == found  # the finder is not answered yet: the tenant stays
            await _settle_new_tenants(finder, request_state(finder), True)
            assert store.read(lookup, "w") == found and not vendor._new_tenants
        finally:
            store.close()

    asyncio.run(scenario())
