"""Content types, payload caps, malformed bodies, hostile input, unknown routes and the
generic error shape (faults) of the four Data API routes."""
from __future__ import annotations

import json

import pytest
import requests

from tests.credentials import MOENGAGE_APP, moengage_auth
from tests.moengage.moengage_client import CUSTOMER, device_body, error_of

KINDS = ("device", "customer", "event", "transition")
MALFORMED = {"message": "Could not decode the request body. The JSON was incorrect or not encoded as UTF-8.",
             "type": "Malformed JSON"}
MEDIA_415 = {
    "device": {"message": "Content type is not supported", "type": "Unsupported media type"},
    "customer": {"message": "Unsupported Media Type", "type": "MediaTypeError"},
    "event": {"message": "Content type is not supported", "type": "Unsupported media type"},
    "transition": {"message": "Content type is not supported", "type": "Unsupported media type"},
}


@pytest.mark.parametrize("kind", KINDS)
def test_missing_content_type_is_400(api, kind):
    resp = api.post(kind, device_body(), headers={"Content-Type": None})
    assert resp.status_code == 400
    assert error_of(resp) == {"message": "The Content-Type Header is required", "type": "Missing header value"}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "application/jsonx", "multipart/form-data; boundary=x"])
def test_non_json_content_type_is_415_in_each_endpoints_words(api, workspace, kind, content_type):
    before = workspace()
    resp = api.post(kind, device_body(), headers={"Content-Type": content_type})
    assert resp.status_code == 415
    assert error_of(resp) == MEDIA_415[kind]
    assert workspace() == before


def test_json_content_type_with_charset_is_fine(api):
    resp = api.post("device", device_body(), headers={"Content-Type": "application/json; charset=utf-8"})
    assert resp.status_code == 200


def padded(kind: str, size: int) -> bytes:
    """A valid body of ``kind`` padded with a long attribute to exactly ``size`` bytes."""
    body = {"type": kind, "customer_id": CUSTOMER, "device_id": "d", "attributes": {
        "platform": "ANDROID", "push_id": "t", "pad": ""}}
    if kind == "transition":
        body = {"type": "transition", "elements": [dict(body, type="customer")]}
    base = len(json.dumps(body).encode())
    if kind == "transition":
        body["elements"][0]["attributes"]["pad"] = "x" * (size - base)
    else:
        body["attributes"]["pad"] = "x" * (size - base)
    data = json.dumps(body).encode()
    assert len(data) == size
    return data


@pytest.mark.parametrize("kind,limit,message", [
    ("device", 131072, "Payload size exceeds 128 KB"),
    ("customer", 131072, "Payload size exceeds 128 KB"),
    ("event", 131072, "Payload size exceeds 128 KB"),
    ("transition", 102400, "Payload size exceeds 100 KB"),
])
def test_payload_cap_413(api, workspace, kind, limit, message):
    before = workspace()
    resp = api.post(kind, data=padded(kind, limit + 1))
    assert resp.status_code == 413
    assert error_of(resp) == {"message": message, "type": "PayloadTooLarge"}
    assert workspace() == before
    # exactly at the cap is not refused for size
    assert api.post(kind, data=padded(kind, limit)).status_code != 413


def test_huge_body_is_413_not_a_crash(api):
    resp = api.post("device", data=b"{" + b" " * (3 * 1024 * 1024) + b"}")
    assert resp.status_code == 413


def test_body_cap_is_an_option(api, device_emulator):
    device_emulator.set_options({"moengage": {"max_body_bytes": 300}})
    assert api.post("device", data=padded("device", 301)).status_code == 413
    assert api.post("device", data=padded("device", 300)).status_code == 200


HOSTILE = [
    # (raw body, expected status, expected error without request_id)
    (b"", 400, {"message": "A valid JSON document is required", "type": "Empty request body"}),
    (b"   \n", 400, {"message": "A valid JSON document is required", "type": "Empty request body"}),
    (b"{", 400, MALFORMED),
    (b"{'type': 'device'}", 400, MALFORMED),
    (b'{"type": "device",}', 400, MALFORMED),
    (b"\xff\xfe\x00{", 400, MALFORMED),
    ('{"type": "device", "customer_id": "\udcff"}'.encode("utf-8", "surrogatepass"), 400, MALFORMED),
    (b"[" * 50000 + b"]" * 50000, 400, MALFORMED),
    (b'{"type": NaN}', 400, MALFORMED),
    (b'{"type":"device","customer_id":"emulator-user-1","device_id":"\\udcff","attributes":'
     b'{"platform":"ANDROID","push_id":"t"}}', 400, MALFORMED),
    (b'{"type":"device","customer_id":"emulator-user-1","device_id":"d","attributes":'
     b'{"platform":"ANDROID","push_id":"t","\\ud800":1}}', 400, MALFORMED),
    (b'"a string"', 400, {"message": "A valid JSON document is required", "type": "Body type is not JSON"}),
    (b"[]", 400, {"message": "A valid JSON document is required", "type": "Body type is not JSON"}),
    (b"42", 400, {"message": "A valid JSON document is required", "type": "Body type is not JSON"}),
    (b"null", 400, {"message": "A valid JSON document is required", "type": "Body type is not JSON"}),
    (b"{}", 400, {"attribute": "type", "message": "'type' is not found in the payload",
                  "type": "MissingAttributeError"}),
    (b'{"type": ["device"]}', 400, {"attribute": "type", "message": "'type' is not a valid type",
                                     "type": "ValueError"}),
    (b'{"type": "device", "customer_id": {"a": 1}}', 400,
     {"attribute": "customer_id", "message": "'customer_id' is expected to be String or Unicode String.",
      "type": "MissingAttributeError"}),
    (b'{"type":"device","customer_id":"emulator-user-1","device_id":"d","attributes":[1]}', 400,
     {"attribute": "attributes", "message": "'attributes' is expected to be Dictionary.", "type": "ValueError"}),
    (b'{"type":"device","customer_id":"emulator-user-1","device_id":"d","attributes":'
     b'{"platform":{"x":1},"push_id":"t"}}', 400,
     {"attribute": "platform", "message": "'platform' is not a valid platform.", "type": "ValueError"}),
    (b'{"type":"device","customer_id":"emulator-user-1","device_id":"d","attributes":'
     b'{"platform":"ANDROID","push_id":"t","n":1e999}}', 400, MALFORMED),
    (b'{"type":"device","customer_id":"emulator-user-1","device_id":"d","attributes":'
     b'{"platform":"ANDROID","push_id":"t","n":1e308,"deep":[[[{"a":null}]]]}}', 200, None),
]


@pytest.mark.parametrize("raw,status,error", HOSTILE)
def test_hostile_bodies_get_moengage_errors_never_500(api, workspace, raw, status, error):
    before = workspace()
    resp = api.post("device", data=raw)
    assert resp.status_code == status, resp.text
    if error is not None:
        assert error_of(resp) == error
        assert workspace() == before


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("raw", [b"{", b"[]", b'{"type": 1}', b'{"type": null, "elements": "x"}',
                                 b'{"type":"%s","customer_id":[],"actions":{},"elements":[null]}'])
def test_hostile_bodies_on_every_route_are_400(api, kind, raw):
    resp = api.post(kind, data=raw.replace(b"%s", kind.encode()))
    assert resp.status_code == 400, resp.text
    error_of(resp)


def test_unknown_query_parameters_are_ignored(api):
    assert api.post("device", device_body(), query="?foo=bar&app_id=" + MOENGAGE_APP).status_code == 200


def test_unknown_path_under_v1_is_moengage_404(device_emulator):
    resp = requests.post(device_emulator.url + f"/v1/device/{MOENGAGE_APP}/extra", json={},
                         headers=moengage_auth())
    assert resp.status_code == 404
    assert resp.json() == {"status": "fail", "message": "Resource not found"}
    resp = requests.get(device_emulator.url + "/v1/nothing-here")
    assert resp.status_code == 404 and resp.json() == {"status": "fail", "message": "Resource not found"}


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_wrong_method_is_moengage_405(device_emulator, method):
    resp = requests.request(method, device_emulator.url + f"/v1/device/{MOENGAGE_APP}")
    assert resp.status_code == 405
    assert resp.json() == {"status": "fail", "message": "Method not allowed"}


@pytest.mark.parametrize("status,error", [
    (500, {"message": "An unexpected error was encountered while processing this request. "
                      "Please contact MoEngage Team", "type": "ServerError"}),
    (503, {"message": "An unexpected error was encountered while processing this request. "
                      "Please contact MoEngage Team", "type": "ServerError"}),
    (429, {"message": "Rate limit exceeded", "type": "RateLimitError"}),
    (413, {"message": "Payload size exceeds 128 KB", "type": "PayloadTooLarge"}),
    (401, {"message": "App Secret key mismatch. Please login to the dashboard to verify key",
           "type": "Authentication required"}),
])
def test_injected_faults_use_the_moengage_envelope(api, device_emulator, status, error):
    device_emulator.fault(vendor="moengage", path="/v1/customer/*", status=status, times=1)
    resp = api.post("customer", {"type": "customer", "customer_id": "u"})
    assert resp.status_code == status
    assert error_of(resp) == error
