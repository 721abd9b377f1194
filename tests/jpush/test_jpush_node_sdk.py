"""JPush's Node client (npm ``jpush-async`` 4.2.0, the promise flavour ``JPushAsync``) against
the emulator: update a device, list tags, query an alias, check tag membership and more.

The package is installed by this test into a cache directory (reused across runs); the client
is pointed at the emulator with the ``https.request`` wrapper of the vendor notes."""
from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.jpush.jpush_support import APP_A, device

PACKAGE = "jpush-async@4.2.0"
SCENARIO = Path(__file__).with_name("jpush_node_scenario.js")
RID_1 = "1a0018970a8e1b2c3d4"
RID_2 = "0a04ad7d8b4"


@pytest.fixture(scope="session")
def node_modules() -> Path:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.fail("node and npm are needed to run the JPush Node client (they are on every machine of this project)")
    prefix = Path(tempfile.gettempdir()) / "device-emulator-npm" / PACKAGE.replace("@", "-")
    modules = prefix / "node_modules"
    if not (modules / "jpush-async" / "package.json").exists():
        prefix.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "--loglevel=error",
                        PACKAGE], check=True, timeout=600, capture_output=True)
    return modules


def _run_scenario(node_modules: Path, url: str) -> dict:
    done = subprocess.run(["node", str(SCENARIO), str(node_modules), url, *APP_A, RID_1, RID_2],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_node_client_device_tag_alias_scenario(node_modules, device_emulator):
    device_emulator.load({"jpush": {"apps": [{"app_key": APP_A[0], "master_secret": APP_A[1], "devices": [
        device(RID_1, "android", tags=["tag3"], online=True),
        device(RID_2, "ios", alias="alias2"),
    ]}]}})
    out = _run_scenario(node_modules, device_emulator.url)
    assert out["update"] == {} and out["mobile"] == {}
    assert out["tagList"] == {"tags": ["tag1", "tag2"]}
    assert out["alias"] == {"registration_ids": [RID_1]}
    assert out["inTag"] == {"result": True}
    assert out["notInTag"] == {"result": False}
    assert out["tagAdd"] == {} and out["inTag4"] == {"result": True}
    assert out["deleteTag"] == {} and out["deleteAlias"] == {}
    assert out["device"] == {"tags": ["tag1", "tag2"], "alias": "alias1", "mobile": "13012345678"}
    assert out["status"] == {"res": {RID_1: {"online": True}}}
    assert out["error"]["name"] == "APIRequestError"
    assert '{"code":7002,"message":"The registration_id does not belong to this appkey!"}' in out["error"]["message"]

    # what the client sent: no query string (the client drops it), trailing and double slashes
    paths = {(r["method"], r["path"]) for r in device_emulator.requests("jpush")}
    assert ("GET", "/v3/aliases/alias1/") in paths
    assert ("GET", f"/v3/tags//tag1/registration_ids/{RID_1}") in paths
    assert ("DELETE", "/v3/tags//tag4/") in paths
    assert ("POST", "/v3/devices/status/") in paths
    state = device_emulator.state("jpush")
    rid2 = next(d for a in state["apps"] if a["app_key"] == APP_A[0] for d in a["devices"]
                if d["registration_id"] == RID_2)
    assert rid2["tags"] == [] and rid2["alias"] == ""


PUSH_SCENARIO = Path(__file__).with_name("jpush_node_push_scenario.js")


def test_node_client_push_validate_and_1011(node_modules, device_emulator):
    device_emulator.load({"jpush": {"apps": [{"app_key": APP_A[0], "master_secret": APP_A[1], "devices": [
        device(RID_1, "android", tags=["tag1"]),
        device(RID_2, "ios", tags=["tag2", "tag3"]),
    ]}]}})
    done = subprocess.run(["node", str(PUSH_SCENARIO), str(node_modules), device_emulator.url, *APP_A],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["push"]["sendno"] == "42" and out["push"]["msg_id"].isdigit() and set(out["push"]) == {"sendno", "msg_id"}
    assert out["validate"]["msg_id"] == "0" and set(out["validate"]) == {"sendno", "msg_id"}
    assert out["error"]["name"] == "APIRequestError"
    assert ('{"code":1011,"message":"cannot find user by this audience or has been inactive for more than '
            '255 days"}') in out["error"]["message"]
    rows = device_emulator.deliveries(vendor="jpush", publish_id=out["push"]["msg_id"])
    assert [(r["device_id"], r["matched_by"]) for r in rows] == [(RID_1, {"tag": "tag1"})]
    assert rows[0]["payload"] == {"notification": {"alert": "droid", "title": "Title", "builder_id": 1},
                                  "message": {"msg_content": "msg content"}}
    [push] = next(a for a in device_emulator.state("jpush")["apps"] if a["app_key"] == APP_A[0])["pushes"]
    assert push["options"]["sendno"] == 42 and push["options"]["time_to_live"] == 60
    # the client's own paths: no trailing slash on send, /validate appended
    paths = [(r["method"], r["path"]) for r in device_emulator.requests("jpush")]
    assert ("POST", "/v3/push") in paths and ("POST", "/v3/push/validate") in paths
