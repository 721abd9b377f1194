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
