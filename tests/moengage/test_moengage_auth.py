"""Basic auth (workspace id : Data API key), app_id matching, account states, isolation."""
from __future__ import annotations

import base64

import pytest

from tests.credentials import MOENGAGE_APP, MOENGAGE_KEY, moengage_auth
from tests.moengage.moengage_client import CUSTOMER, SUCCESS, device_body, error_of

AUTH = "Authentication required"
OTHER_APP, OTHER_KEY = "OTHERWORKSPACE0000000002", "other-data-api-key"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


AUTH_HEADER_ERRORS = [
    (None, "Authentication Header Required"),
    ("", "No identity information found"),
    ("Basic", "No identity information found"),
    ("Basic    ", "No identity information found"),
    ("Bearer abc", "Invalid authorization used. MoEngage only supports 'Basic Auth' authorization."),
    ("Digest username=x", "Invalid authorization used. MoEngage only supports 'Basic Auth' authorization."),
    ("Basic !!!notbase64", "Invalid identity information found"),
    ("Basic " + b64("no-colon-here"), "Invalid identity information found"),
    ("Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(), "Invalid identity information found"),
    ("Basic " + b64(f":{MOENGAGE_KEY}"), "APP_KEY missing in the authentication header"),
    ("Basic " + b64(f"{MOENGAGE_APP}:"), "APP_SECRET missing in the authentication header"),
    ("Basic " + b64(f"UNKNOWNWORKSPACE:{MOENGAGE_KEY}"), "Invalid APP_ID used in Authentication Header"),
    ("Basic " + b64(f"{MOENGAGE_APP}:wrong-key"), "App Secret key mismatch. Please login to the dashboard to verify key"),
]


@pytest.mark.parametrize("header,message", AUTH_HEADER_ERRORS)
def test_every_401_variant(api, workspace, header, message):
    before = workspace()
    resp = api.post("device", device_body(), headers={"Authorization": header})
    assert resp.status_code == 401
    assert error_of(resp) == {"message": message, "type": AUTH}
    assert resp.headers["Content-Type"] == "application/json"
    assert workspace() == before


def test_moe_appkey_header_must_match_the_username(api):
    resp = api.post("device", device_body(), headers={"MOE-APPKEY": "SOMETHINGELSE"})
    assert resp.status_code == 401
    assert error_of(resp) == {
        "message": "MOE_APPKEY doesn't match the Username (APP_KEY) used in Basic Auth authorization.",
        "type": AUTH}
    assert api.post("device", device_body(), headers={"MOE-APPKEY": MOENGAGE_APP}).json() == SUCCESS


@pytest.fixture
def two_workspaces(device_emulator):
    device_emulator.load({"moengage": {"workspaces": [
        {"app_id": OTHER_APP, "api_key": OTHER_KEY, "customers": [{"customer_id": "other-user"}]}]}})


def test_path_app_id_must_equal_the_username_409(api, two_workspaces, workspace):
    resp = api.post("device", device_body(), app_id=OTHER_APP)  # credentials of the default workspace
    assert resp.status_code == 409
    assert error_of(resp) == {"message": "App key mismatch in params and authentication",
                              "type": "Authentication Mismatch"}
    assert workspace(OTHER_APP)["devices"] == [] and workspace()["devices"] == []


def test_query_app_id_must_equal_the_username_409(api, two_workspaces):
    resp = api.post("device", device_body(), query=f"?app_id={OTHER_APP}")
    assert resp.status_code == 409
    assert error_of(resp)["message"] == "App key mismatch in params and authentication"
    assert api.post("device", device_body(), query=f"?app_id={MOENGAGE_APP}").status_code == 200


def test_app_id_only_in_the_query_is_accepted(api, workspace):
    resp = api.post("device", device_body(), app_id=None, query=f"?app_id={MOENGAGE_APP}")
    assert resp.status_code == 200
    assert len(workspace()["devices"]) == 1


@pytest.mark.parametrize("app_id,query", [(None, ""), ("", ""), (None, "?app_id=")])
def test_missing_app_id_is_400_params_required(api, app_id, query):
    resp = api.post("device", device_body(), app_id=app_id, query=query)
    assert resp.status_code == 400
    assert error_of(resp) == {"message": "app_id is required in path/query params.", "type": "ParamsRequired"}


def test_unknown_workspace_in_path_is_400_invalid_params(api):
    resp = api.post("device", device_body(), app_id="NOSUCHWORKSPACE")
    assert resp.status_code == 400
    assert error_of(resp) == {"message": "Given app_id is invalid.", "type": "InvalidParams"}


def test_credentials_of_one_workspace_cannot_touch_another(api, two_workspaces, workspace):
    """Tenant isolation: B's key with A's id fails; A's data stays A's."""
    resp = api.post("device", device_body(), user=MOENGAGE_APP, password=OTHER_KEY)
    assert resp.status_code == 401
    resp = api.post("device", device_body(customer_id="other-user"), user=OTHER_APP, password=OTHER_KEY,
                    app_id=OTHER_APP)
    assert resp.status_code == 200
    # a device for A's customer sent to B is dropped in B, never stored in A
    resp = api.post("device", device_body(customer_id=CUSTOMER), user=OTHER_APP, password=OTHER_KEY,
                    app_id=OTHER_APP)
    assert resp.status_code == 200
    assert workspace()["devices"] == [] and workspace()["dropped"] == []
    other = workspace(OTHER_APP)
    assert [d["customer_id"] for d in other["devices"]] == ["other-user"]
    assert [d["reason"] for d in other["dropped"]] == [f"User doesn't exists with customer id {CUSTOMER}"]


@pytest.mark.parametrize("status,code,type_,message", [
    ("blocked", 403, "BlockedClient", "Your account is suspended. Please contact MoEngage team."),
    ("suspended", 403, "Account Suspended", "Your account is suspended. Please contact MoEngage team."),
    ("temporarily_suspended", 403, "Account Temporarily Suspended",
     "Your account is temporarily suspended. Please contact MoEngage team."),
    ("blacklisted", 400, "Blacklisted", "Your account is blacklisted, Please contact MoEngage."),
])
def test_account_states(api, device_emulator, workspace, status, code, type_, message):
    device_emulator.load({"moengage": {"workspaces": [{"app_id": MOENGAGE_APP, "api_key": MOENGAGE_KEY, "status": status}]}})
    resp = api.post("device", device_body())
    assert resp.status_code == code
    assert error_of(resp) == {"message": message, "type": type_}
    assert workspace()["devices"] == []


def test_workspace_without_data_api_key_is_409(api, device_emulator):
    device_emulator.load({"moengage": {"workspaces": [{"app_id": MOENGAGE_APP, "api_key": None}]}})
    resp = api.post("device", device_body())
    assert resp.status_code == 409
    assert error_of(resp) == {"message": "App Secret key is not set. Please login to the dashboard to set a key",
                              "type": AUTH}


def test_order_auth_before_app_id_before_body(api):
    """M5: a request wrong in every way reports the auth header first, then the app_id."""
    resp = api.post("device", data=b"{", app_id=None, headers={"Authorization": None, "Content-Type": None})
    assert error_of(resp)["message"] == "Authentication Header Required"
    resp = api.post("device", data=b"{", app_id=None, headers={"Content-Type": None})
    assert error_of(resp)["message"] == "app_id is required in path/query params."
    resp = api.post("device", data=b"{", app_id="NOSUCH", user="NOSUCH")
    assert error_of(resp)["message"] == "Invalid APP_ID used in Authentication Header"
    resp = api.post("device", data=b"{", password="wrong", headers={"Content-Type": None})
    assert resp.status_code == 401
    resp = api.post("device", data=b"{", headers={"Content-Type": None})
    assert error_of(resp)["message"] == "The Content-Type Header is required"


def test_open_auth_creates_an_unknown_workspace_on_first_use(api, device_emulator, workspace):
    device_emulator.set_options({"auth": "open"})
    resp = api.post("customer", {"type": "customer", "customer_id": "u1"}, app_id="NEWWORKSPACE",
                    user="NEWWORKSPACE", password="new-key")
    assert resp.status_code == 200
    ws = workspace("NEWWORKSPACE")
    assert ws["api_key"] == "new-key" and ws["customers"] == [{"customer_id": "u1", "attributes": {}}]
    # from then on the key is checked like any other
    resp = api.post("customer", {"type": "customer", "customer_id": "u1"}, app_id="NEWWORKSPACE",
                    user="NEWWORKSPACE", password="another-key")
    assert resp.status_code == 401


def test_basic_auth_header_is_accepted_with_any_scheme_case(api):
    header = moengage_auth()["Authorization"].replace("Basic", "basic")
    assert api.post("device", device_body(), headers={"Authorization": header}).status_code == 200


def test_open_auth_does_not_create_a_workspace_for_a_mismatched_request(api, device_emulator):
    device_emulator.set_options({"auth": "open"})
    resp = api.post("customer", {"type": "customer", "customer_id": "u1"}, app_id=MOENGAGE_APP,
                    user="NEWWORKSPACE", password="new-key")
    assert resp.status_code == 401
    assert error_of(resp)["message"] == "Invalid APP_ID used in Authentication Header"
    assert "NEWWORKSPACE" not in {w["app_id"] for w in device_emulator.state("moengage")["workspaces"]}


def test_routes_are_in_the_openapi_document(device_emulator):
    import requests
    paths = requests.get(device_emulator.url + "/_emulator/openapi.json", timeout=10).json()["paths"]
    for kind in ("device", "customer", "event", "transition"):
        assert "post" in paths[f"/v1/{kind}/{{app_id}}"]


def test_a_repeated_query_app_id_is_checked_in_full(api, two_workspaces):
    resp = api.post("device", device_body(), query=f"?app_id={MOENGAGE_APP}&app_id={OTHER_APP}")
    assert resp.status_code == 409
