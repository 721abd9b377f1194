"""Auth (7001/7004/7008), tenant isolation, rate limit (2002), routing (7010, slashes),
generic statuses (7000...), hostile bodies and parallel writes."""
from __future__ import annotations

import base64
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.jpush.jpush_support import (APP_A, APP_B, RID_HMOS, RID_IOS, RID_NOT_IN_APP, Client,
                                       assert_error, assert_illegal, assert_ok, device)

# One representative call per route: (method, path, body).
ROUTES = [
    ("GET", f"/v3/devices/{RID_IOS}", None),
    ("POST", f"/v3/devices/{RID_IOS}", {"alias": "zed", "tags": ""}),
    ("POST", "/v3/devices/status", {"registration_ids": [RID_IOS]}),
    ("GET", "/v3/aliases/bob", None),
    ("POST", "/v3/aliases/bob", {"registration_ids": {"remove": [RID_IOS]}}),
    ("DELETE", "/v3/aliases/bob", None),
    ("GET", "/v3/tags/", None),
    ("GET", f"/v3/tags/news/registration_ids/{RID_IOS}", None),
    ("POST", "/v3/tags/news", {"registration_ids": {"remove": [RID_IOS]}}),
    ("DELETE", "/v3/tags/news", None),
]


def _basic(raw: str) -> str:
    return "Basic " + base64.b64encode(raw.encode()).decode()


AUTH_CASES = [
    (None, 401, 7001),
    ("Bearer abc", 401, 7001),
    ("Basic ", 401, 7001),
    (_basic(f":{APP_A[1]}"), 401, 7001),
    (_basic(f"{APP_A[0]}:"), 401, 7001),
    ("Basic !!!not-base64!!!", 401, 7004),
    (_basic(APP_A[0]), 401, 7004),
    (_basic(f"{APP_A[0]}:{APP_B[1]}"), 401, 7004),
    (_basic(f"unknownAppKey00000000000:{APP_A[1]}"), 400, 7008),
]


@pytest.mark.parametrize("method,path,body", ROUTES)
@pytest.mark.parametrize("header,status,code", AUTH_CASES)
def test_every_route_refuses_bad_credentials_and_changes_nothing(jp, method, path, body, header, status, code):
    before = jp.state()
    headers = {} if header is None else {"Authorization": header}
    resp = jp.anon.call(method, path, body, headers=headers)
    assert_error(resp, status, code)
    assert jp.state() == before


def test_auth_error_messages(jp):
    assert_error(jp.anon.get("/v3/tags/"), 401, 7001, "Authorization information is empty")
    assert_error(Client(jp.emu.url, (APP_A[0], "wrongSecret0000000000000")).get("/v3/tags/"), 401, 7004,
                 "Basic authentication failed")
    assert_error(Client(jp.emu.url, ("missingAppKey00000000000", APP_A[1])).get("/v3/tags/"), 400, 7008,
                 "Appkey does not exist")


def test_open_auth_creates_an_unknown_app_on_first_use(jp):
    jp.emu.set_options({"auth": "open"})
    new = Client(jp.emu.url, ("brandNewAppKey0000000001", "brandNewMasterSecret0001"))
    assert_ok(new.get("/v3/tags/"), {"tags": []})
    apps = {a["app_key"]: a for a in jp.state()["apps"]}
    assert apps["brandNewAppKey0000000001"] == {"app_key": "brandNewAppKey0000000001",
                                                "master_secret": "brandNewMasterSecret0001", "devices": []}
    # the secret is now fixed; a known app still refuses a wrong secret
    assert_error(Client(jp.emu.url, ("brandNewAppKey0000000001", "otherSecret0000000000000")).get("/v3/tags/"), 401, 7004)
    assert_error(Client(jp.emu.url, (APP_A[0], "otherSecret0000000000000")).get("/v3/tags/"), 401, 7004)
    # an app key that cannot exist (not 24 alphanumerics) is still unknown
    assert_error(Client(jp.emu.url, ("short", "brandNewMasterSecret0001")).get("/v3/tags/"), 400, 7008)


def test_tenant_b_can_neither_read_nor_change_tenant_a(jp):
    before = jp.state()
    assert_illegal(jp.b.get(f"/v3/devices/{RID_IOS}"), RID_NOT_IN_APP)
    assert_illegal(jp.b.post(f"/v3/devices/{RID_IOS}", {"tags": ""}), RID_NOT_IN_APP)
    assert_illegal(jp.b.post("/v3/tags/news", {"registration_ids": {"remove": [RID_IOS]}}), RID_NOT_IN_APP)
    assert_illegal(jp.b.get(f"/v3/tags/news/registration_ids/{RID_IOS}"), RID_NOT_IN_APP)
    assert_ok(jp.b.post("/v3/devices/status", {"registration_ids": [RID_IOS]}), {RID_IOS: None})
    assert_ok(jp.b.delete("/v3/aliases/bob"))
    assert_ok(jp.b.delete("/v3/tags/sport"))
    assert jp.state() == before


# -- rate limit -------------------------------------------------------------------------------

def test_rate_limit_is_off_by_default(jp):
    resp = jp.a.get("/v3/tags/")
    assert not [h for h in resp.headers if h.lower().startswith("x-rate-limit")]


def test_rate_limit_600_per_minute_per_app_key(jp):
    jp.emu.set_options({"jpush": {"rate_limit": True}})
    session = requests.Session()
    session.auth = APP_A
    for i in range(600):
        resp = session.get(jp.emu.url + "/v3/tags/")
        assert resp.status_code == 200, (i, resp.text)
    assert resp.headers["X-Rate-Limit-Limit"] == "600"
    assert resp.headers["X-Rate-Limit-Quota"] == "600"
    assert resp.headers["X-Rate-Limit-Remaining"] == "0"
    before = jp.state()
    refused = session.post(jp.emu.url + f"/v3/devices/{RID_IOS}", json={"tags": ""})
    assert_error(refused, 429, 2002, "Rate limit exceeded")
    assert refused.headers["X-Rate-Limit-Remaining"] == "0"
    assert 1 <= int(refused.headers["X-Rate-Limit-Reset"]) <= 60
    assert jp.state() == before
    assert_ok(jp.b.get("/v3/tags/"), {"tags": ["news"]})  # another app key has its own quota
    jp.emu.advance_clock(61)
    resp = session.get(jp.emu.url + "/v3/tags/")
    assert resp.status_code == 200
    assert resp.headers["X-Rate-Limit-Remaining"] == "599"


def test_rate_limit_headers_count_down(jp):
    jp.emu.set_options({"jpush": {"rate_limit": True, "rate_limit_per_minute": 3}})
    remaining = [jp.a.get("/v3/tags/").headers["X-Rate-Limit-Remaining"] for _ in range(3)]
    assert remaining == ["2", "1", "0"]
    assert_error(jp.a.get(f"/v3/devices/{RID_IOS}"), 429, 2002)


# -- routing ----------------------------------------------------------------------------------

@pytest.mark.parametrize("method,path", [
    ("GET", "/v3/devices"), ("GET", "/v3/push/nothing"), ("GET", "/v3/tags/a/b"), ("PUT", "/v3/tags/news"),
    ("PATCH", f"/v3/devices/{RID_IOS}"), ("GET", "/v3/devices/status/x"), ("DELETE", f"/v3/devices/{RID_IOS}"),
])
def test_unknown_route_is_7010(jp, method, path):
    assert_error(jp.a.call(method, path), 404, 7010, "request api doesn't exist")


@pytest.mark.parametrize("variant", ["{p}/", "/{p}", "{p}//"])
@pytest.mark.parametrize("method,path,body", ROUTES)
def test_every_route_tolerates_double_and_trailing_slashes(jp, variant, method, path, body):
    odd = variant.format(p=path).replace("/v3/", "/v3//", 1)
    resp = jp.a.call(method, odd, body)
    assert resp.status_code == 200, (odd, resp.text)


@pytest.mark.parametrize("status,code", [(500, 7000), (503, 7030), (429, 2002), (401, 7004), (404, 7010)])
def test_injected_faults_answer_in_jpush_shape(jp, status, code):
    jp.emu.fault(vendor="jpush", path="/v3/tags/*", status=status, times=1)
    assert_error(jp.a.get("/v3/tags/"), status, code)
    assert_ok(jp.a.get("/v3/tags/"), {"tags": ["news", "sport"]})


# -- hostile input ----------------------------------------------------------------------------

HOSTILE = [
    (b"", "request body is empty"),
    (b"   ", "request body is empty"),
    (b"{", "request body is not valid JSON"),
    (b"{'a': 1}", "request body is not valid JSON"),
    (b"\xff\xfe{}", "request body is not valid UTF-8"),
    (b"[]", "request body must be a JSON object"),
    (b'"tags"', "request body must be a JSON object"),
    (b"null", "request body must be a JSON object"),
    (b"[" * 100000 + b"]" * 100000, "request body is not valid JSON"),
    (b'{"a":"' + b"x" * (300 * 1024) + b'"}', f"request body is larger than {256 * 1024} bytes"),
    (b'{"registration_ids":["\\ud800"]}', "request body is not valid JSON"),
    (b'{"tags":{"add":["ok"]},"\\udfff":1}', "request body is not valid JSON"),
]


@pytest.mark.parametrize("path", [f"/v3/devices/{RID_IOS}", "/v3/devices/status", "/v3/aliases/bob", "/v3/tags/news"])
@pytest.mark.parametrize("data,message", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_bodies_get_7002_and_change_nothing(jp, path, data, message):
    before = jp.state()
    resp = jp.a.post(path, data=data, headers={"Content-Type": "application/json"})
    assert_illegal(resp, message)
    assert jp.state() == before


@pytest.mark.parametrize("content_type", ["application/json;charset:utf-8", "text/plain", None])
def test_bodies_are_json_whatever_the_content_type(jp, content_type):
    headers = {} if content_type is None else {"Content-Type": content_type}
    assert_ok(jp.a.post(f"/v3/devices/{RID_IOS}", data=b'{"mobile": "1"}', headers=headers))
    assert jp.a.device(RID_IOS)["mobile"] == "1"


def test_chunked_upload_like_the_node_client(jp):
    def chunks():
        yield b'{"tags": {"add": '
        yield b'["chunked"]}}'
    assert_ok(jp.a.post(f"/v3/devices/{RID_IOS}", data=chunks()))
    assert "chunked" in jp.a.device(RID_IOS)["tags"]


def test_unicode_paths(jp):
    assert_ok(jp.a.post(f"/v3/devices/{RID_IOS}", {"tags": {"add": ["体育"]}, "alias": "张三"}))
    assert_ok(jp.a.get("/v3/aliases/张三"), {"registration_ids": [RID_IOS]})
    assert_ok(jp.a.get(f"/v3/tags/%E4%BD%93%E8%82%B2/registration_ids/{RID_IOS}"), {"result": True})


# -- concurrency ------------------------------------------------------------------------------

def _parallel(calls):
    with ThreadPoolExecutor(max_workers=16) as pool:
        return list(pool.map(lambda f: f(), calls))


def test_parallel_tag_adds_on_one_device_lose_nothing(jp):
    results = _parallel([lambda i=i: jp.a.post(f"/v3/devices/{RID_HMOS}", {"tags": {"add": [f"p{i}"]}})
                         for i in range(40)])
    assert all(r.status_code == 200 for r in results)
    assert jp.a.device(RID_HMOS)["tags"] == sorted(f"p{i}" for i in range(40))


def test_parallel_alias_binds_stop_at_exactly_10(jp):
    rids = [f"race{i:07d}" for i in range(15)]
    jp.emu.load({"jpush": {"apps": [{"app_key": APP_A[0], "master_secret": APP_A[1],
                                     "devices": [device(r, "android") for r in rids]}]}})
    results = _parallel([lambda r=r: jp.a.post(f"/v3/devices/{r}", {"alias": "race"}) for r in rids])
    codes = sorted(r.status_code for r in results)
    assert codes == [200] * 10 + [400] * 5
    for r in results:
        if r.status_code == 400:
            assert_error(r, 400, 7015)
    assert len(jp.a.get("/v3/aliases/race").json()["registration_ids"]) == 10
