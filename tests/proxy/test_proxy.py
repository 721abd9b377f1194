"""The HTTPS proxy: vendors' own SDKs, unmodified, reach the emulator through nothing but the
environment ``device-api-emulator env`` prints; any other host is refused on the machine.

Every SDK run is a subprocess whose environment is PATH plus exactly the printed variables."""
from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import requests

from emulator.pytest_plugin import DeviceEmulator
from tests.beams.beams_helpers import BeamsClient, make_jwt, npm_packages
from tests.credentials import (APPLOVIN_KEY, APPLOVIN_LIST, BEAMS_INSTANCE, BEAMS_SECRET, JPUSH_KEY, JPUSH_RIDS,
                               JPUSH_SECRET)
from tests.support import ServerProcess, run_cli

OTHER_INSTANCE = "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d"
VENDOR_HOSTS = ("api.capgo.app, plugin.capgo.app, api-0*.moengage.com, *.pushnotifications.pusher.com, "
                "device.jpush.cn, api.jpush.cn, api.applovin.com")
ENV_NAMES = ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy", "REQUESTS_CA_BUNDLE",
             "SSL_CERT_FILE", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS", "PYTHONPATH", "NODE_OPTIONS"]


def refusal(host: str) -> str:
    return (f"device-api-emulator proxy: {host} is not a vendor host; only {VENDOR_HOSTS} are served and "
            "nothing is forwarded off this machine\n")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    db = tmp_path_factory.mktemp("proxy") / "emulator.db"
    with ServerProcess("--db", str(db), "--proxy-port", "0") as proc:
        yield proc


@pytest.fixture(scope="module")
def emulator(server) -> DeviceEmulator:
    return DeviceEmulator(server.url)


@pytest.fixture(autouse=True)
def _reset(emulator):
    emulator.reset()


@pytest.fixture(scope="module")
def env_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("env")


@pytest.fixture(scope="module")
def printed(server, env_dir) -> str:
    run = subprocess.run([sys.executable, "-m", "emulator", "env", "--url", server.url, "--dir", str(env_dir)],
                         capture_output=True, text=True, timeout=30, env={**os.environ, "SSL_CERT_FILE": "/nonexistent"})
    assert run.returncode == 0, run.stderr
    return run.stdout


@pytest.fixture(scope="module")
def sdk_env(printed) -> dict[str, str]:
    """PATH and exactly what ``eval "$(device-api-emulator env)"`` sets in a clean shell."""
    shell = subprocess.run(["bash", "-c", 'eval "$1" && env -0', "bash", printed], capture_output=True,
                           env={"PATH": os.environ["PATH"]}, timeout=30, check=True)
    env = dict(item.split("=", 1) for item in shell.stdout.decode().split("\0") if item)
    for name in ("PWD", "SHLVL", "_", "OLDPWD"):
        env.pop(name, None)
    return env


def run(args: list[str], env: dict[str, str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, timeout=60, env=env, **kw)


def python(script: str, env: dict[str, str]) -> dict:
    done = run([sys.executable, "-c", textwrap.dedent(script)], env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


# -- the environment --------------------------------------------------------------------------
def test_env_prints_the_proxy_and_a_bundle_of_the_system_cas_plus_the_emulators(server, emulator, printed,
                                                                                sdk_env, env_dir):
    health = emulator.health()
    proxy_port = int(health["proxy"].rsplit(":", 1)[1])
    assert health["proxy"] == f"http://127.0.0.1:{proxy_port}"
    proxy = f"http://127.0.0.1:{proxy_port}"
    assert [line.split("=", 1)[0].removeprefix("export ") for line in printed.splitlines()] == ENV_NAMES
    assert all(line.startswith("export ") for line in printed.splitlines())
    ca = requests.get(f"{server.url}/_emulator/ca.pem", timeout=10)
    assert ca.status_code == 200 and ca.headers["Content-Type"] == "text/plain"
    assert ca.content.startswith(b"-----BEGIN CERTIFICATE-----\n")
    bundle = Path(sdk_env["REQUESTS_CA_BUNDLE"])
    assert sdk_env == {"PATH": os.environ["PATH"],
        "HTTPS_PROXY": proxy, "https_proxy": proxy, "HTTP_PROXY": proxy, "http_proxy": proxy,
        "NO_PROXY": "localhost,127.0.0.1,::1", "no_proxy": "localhost,127.0.0.1,::1",
        "REQUESTS_CA_BUNDLE": str(bundle), "SSL_CERT_FILE": str(bundle), "CURL_CA_BUNDLE": str(bundle),
        "NODE_EXTRA_CA_CERTS": str(bundle.with_name(bundle.name.replace("ca-bundle-", "ca-"))),
        "PYTHONPATH": str(env_dir.resolve() / "python"),
        "NODE_OPTIONS": f"--require {env_dir.resolve() / 'node_proxy_preload.cjs'}"}
    # an earlier PYTHONPATH and NODE_OPTIONS are kept after the emulator's
    kept = subprocess.run(["bash", "-c", 'eval "$1" && echo "$PYTHONPATH|$NODE_OPTIONS"', "bash", printed],
                          capture_output=True, text=True, timeout=30, check=True,
                          env={"PATH": os.environ["PATH"], "PYTHONPATH": "/mine", "NODE_OPTIONS": "--no-warnings"})
    assert kept.stdout == f"{env_dir.resolve() / 'python'}:/mine|{sdk_env['NODE_OPTIONS']} --no-warnings\n"
    system = Path("/etc/ssl/certs/ca-certificates.crt").read_bytes()
    assert bundle.read_bytes() == system + b"# device-api-emulator local CA\n" + ca.content
    assert Path(sdk_env["NODE_EXTRA_CA_CERTS"]).read_bytes() == ca.content
    assert bundle.parent == env_dir.resolve()


def test_env_explains_an_emulator_it_cannot_reach(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    done = subprocess.run([sys.executable, "-m", "emulator", "env", "--url", f"http://127.0.0.1:{port}",
                           "--dir", str(tmp_path)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith(f"device-api-emulator env: cannot reach the emulator at "
                                  f"http://127.0.0.1:{port}/_emulator/health (")
    assert list(tmp_path.iterdir()) == []


# -- curl -------------------------------------------------------------------------------------
def test_curl_lists_and_creates_applovin_device_lists_over_tls(emulator, sdk_env):
    listed = run(["curl", "-sS", "-i", f"https://api.applovin.com/devices/list?api_key={APPLOVIN_KEY}"], sdk_env)
    assert listed.returncode == 0, listed.stderr
    tunnel, head, body = listed.stdout.split("\n\n")  # text mode: CRLF read as LF
    assert tunnel == "HTTP/1.1 200 Connection Established"
    assert head.startswith("HTTP/1.1 200 OK\nContent-Type: application/json\n")
    assert json.loads(body) == {"code": 200, "device_lists": [{
        "device_list_id": APPLOVIN_LIST, "name": "List Test", "description": "Test Custom Device List",
        "device_count": 3}], "count": 1}
    created = run(["curl", "-sS", "--fail", f"https://api.applovin.com/devices/create?name=Proxied&api_key={APPLOVIN_KEY}"],
                  sdk_env)
    assert created.returncode == 0, created.stderr
    new_id = json.loads(created.stdout)["device_list_id"]
    lists = emulator.state("applovin")["accounts"][0]["device_lists"]
    assert [(x["device_list_id"], x["name"]) for x in lists][-1] == (new_id, "Proxied")
    [entry, _] = emulator.requests("applovin")
    assert entry["path"] == "/devices/create" and entry["status"] == 200
    assert entry["request_headers"]["Host"] == "api.applovin.com"


def test_plain_http_absolute_form_is_served_too(emulator, sdk_env):
    done = run(["curl", "-sS", f"http://api.applovin.com/devices/list?api_key={APPLOVIN_KEY}"], sdk_env)
    assert json.loads(done.stdout)["count"] == 1
    assert emulator.requests("applovin")[0]["request_headers"]["Host"] == "api.applovin.com"


def test_a_non_vendor_host_is_refused_without_leaving_the_machine(emulator, sdk_env):
    before = emulator.state()
    done = run(["curl", "-sS", "-i", "https://example.com/"], sdk_env)
    assert done.returncode == 56  # CONNECT refused by the proxy
    assert done.stdout == ("HTTP/1.1 403 Forbidden\nContent-Type: text/plain; charset=utf-8\n"
                           f"Content-Length: {len(refusal('example.com'))}\nConnection: close\n\n")
    assert done.stderr == "curl: (56) CONNECT tunnel failed, response 403\n"
    plain = run(["curl", "-sS", "-o", "-", "-w", "%{http_code}", "http://example.com/"], sdk_env)
    assert plain.stdout == refusal("example.com") + "403"
    # lookalikes of vendor hosts are not vendor hosts
    for host in ("evil.api.applovin.com", "api.applovin.com.evil.net", "a.b.pushnotifications.pusher.com",
                 "api-1.moengage.com"):
        look = run(["curl", "-sS", "-o", "-", "-w", "%{http_code}", f"http://{host}/"], sdk_env)
        assert look.stdout == refusal(host) + "403", host
    assert emulator.requests() == [] and emulator.state() == before


def _raw_proxy(emulator, data: bytes) -> bytes:
    port = int(emulator.health()["proxy"].rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_connect_refusals_name_the_host_and_port(emulator):
    assert _raw_proxy(emulator, b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n") == (
        b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 253\r\n"
        b"Connection: close\r\n\r\n" + refusal("example.com").encode())
    text = "device-api-emulator proxy: api.jpush.cn is served on port 443 only, not api.jpush.cn:22\n"
    assert _raw_proxy(emulator, b"CONNECT api.jpush.cn:22 HTTP/1.1\r\n\r\n") == (
        b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain; charset=utf-8\r\n"
        + f"Content-Length: {len(text)}\r\nConnection: close\r\n\r\n{text}".encode())
    assert _raw_proxy(emulator, b"garbage\r\n\r\n") == (
        b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 50\r\n"
        b"Connection: close\r\n\r\ndevice-api-emulator proxy: malformed request line\n")
    assert emulator.requests() == []


def test_the_leaf_is_for_the_host_and_signed_by_the_served_ca(server, emulator):
    ca = requests.get(f"{server.url}/_emulator/ca.pem", timeout=10).text
    context = ssl.create_default_context(cadata=ca)  # the emulator's CA only
    port = int(emulator.health()["proxy"].rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"CONNECT device.jpush.cn:443 HTTP/1.1\r\n\r\n")
        assert sock.recv(100) == b"HTTP/1.1 200 Connection Established\r\n\r\n"
        with context.wrap_socket(sock, server_hostname="device.jpush.cn") as tls:
            cert = tls.getpeercert()
            assert cert["subjectAltName"] == (("DNS", "device.jpush.cn"),)
            assert tls.selected_alpn_protocol() in (None, "http/1.1")
            # another Host inside the tunnel is refused
            tls.sendall(b"GET /v3/tags/ HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n")
            answer = b""
            while chunk := tls.recv(65536):
                answer += chunk
    assert answer.startswith(b"HTTP/1.1 403 Forbidden\r\n")
    assert answer.endswith(b"\r\n\r\ndevice-api-emulator proxy: the Host example.com is not the host of this "
                           b"tunnel, device.jpush.cn\n")
    assert emulator.requests() == []


def test_a_vendor_host_serves_only_its_vendors_routes(emulator, sdk_env):
    done = run(["curl", "-sS", "-i", "https://api.applovin.com/_emulator/health"], sdk_env)
    assert done.stdout.endswith('\n\n{"code":404,"message":"Unknown command: /_emulator/health"}')
    done = run(["curl", "-sS", "-o", "-", "-w", " %{http_code}", "https://api.applovin.com/v3/push"], sdk_env)
    assert done.stdout == '{"code":404,"message":"Unknown command: /v3/push"} 404'


# -- Beams ------------------------------------------------------------------------------------
BEAMS_PY = """
import json
from pusher_push_notifications import PushNotifications
client = PushNotifications(instance_id={instance!r}, secret_key={secret!r})
out = {{"interests": client.publish_to_interests(["news"], {{"web": {{"notification": {{"title": "x"}}}}}}),
       "users": client.publish_to_users(["bob"], {{"fcm": {{"notification": {{"title": "y"}}}}}})}}
client.delete_user("bob")
print(json.dumps(out))
"""


def _beams_devices(emulator):
    beams = BeamsClient(emulator, BEAMS_INSTANCE)
    fcm, web = beams.register("fcm"), beams.register("web")
    beams.request("PUT", f"/devices/web/{web}/interests", json={"interests": ["news"]})
    assert beams.set_user("fcm", fcm, make_jwt("bob", secret=BEAMS_SECRET, instance=BEAMS_INSTANCE)).status_code == 200
    return beams, fcm, web


def test_beams_python_sdk_with_its_default_https_host(emulator, sdk_env):
    beams, fcm, web = _beams_devices(emulator)
    out = python(BEAMS_PY.format(instance=BEAMS_INSTANCE, secret=BEAMS_SECRET), sdk_env)
    state = beams.state()
    assert [(p.get("interests"), p.get("users"), p["device_ids"]) for p in state["publishes"]] == [
        (["news"], None, [web]), (None, ["bob"], [fcm])]
    assert [p["publish_id"] for p in state["publishes"]] == [out["interests"]["publishId"], out["users"]["publishId"]]
    assert state["deleted_users"][0]["user_id"] == "bob"
    hosts = {e["request_headers"]["Host"] for e in emulator.requests("beams", method="POST")
             if e["path"].startswith("/publish_api")}
    assert hosts == {f"{BEAMS_INSTANCE}.pushnotifications.pusher.com"}


def test_beams_host_must_name_the_instance_in_the_path(emulator, sdk_env):
    before = emulator.state("beams")
    url = (f"https://{OTHER_INSTANCE}.pushnotifications.pusher.com/publish_api/v1/instances/{BEAMS_INSTANCE}"
           "/publishes/interests")
    done = run(["curl", "-sS", "-o", "-", "-w", " %{http_code}", "-H", f"Authorization: Bearer {BEAMS_SECRET}",
                "-H", "Content-Type: application/json", "-d", '{"interests":["news"],"fcm":{}}', url], sdk_env)
    assert done.stdout == '{"error":"Instance not found","description":"Could not find the instance"}\n 404'
    assert emulator.state("beams") == before and emulator.requests() == []


@pytest.mark.sdk
def test_beams_node_sdk_with_its_default_host_through_the_preload(emulator, sdk_env):
    """@pusher/push-notifications-server uses Node's https module; NODE_OPTIONS loads the
    emulator's preload, which routes it through HTTPS_PROXY (Node 20 ignores that variable)."""
    beams, fcm, web = _beams_devices(emulator)
    sdk = npm_packages("server-sdk", ["@pusher/push-notifications-server@1"])
    script = sdk / "proxy_check.js"
    script.write_text(textwrap.dedent(f"""
        const PushNotifications = require('@pusher/push-notifications-server');
        const client = new PushNotifications({{instanceId: '{BEAMS_INSTANCE}', secretKey: '{BEAMS_SECRET}'}});
        (async () => {{
          const a = await client.publishToInterests(['news'], {{web: {{notification: {{title: 'hi'}}}}}});
          const b = await client.publishToUsers(['bob'], {{fcm: {{notification: {{title: 'hi'}}}}}});
          await client.deleteUser('bob');
          console.log(JSON.stringify([a.publishId, b.publishId]));
        }})().catch((e) => {{ console.error(e); process.exit(1); }});
    """))
    done = run(["node", str(script)], sdk_env, cwd=sdk)
    assert done.returncode == 0, done.stderr
    ids = json.loads(done.stdout)
    state = beams.state()
    assert [(p["publish_id"], p["device_ids"]) for p in state["publishes"]] == [(ids[0], [web]), (ids[1], [fcm])]
    assert state["deleted_users"][0]["user_id"] == "bob"
    [delete] = emulator.requests("beams", method="DELETE")
    assert delete["request_headers"]["Host"] == f"{BEAMS_INSTANCE}.pushnotifications.pusher.com"
    assert delete["request_headers"]["X-Pusher-Library"].startswith("pusher-push-notifications-node")
    # without the preload, Node 20 ignores HTTPS_PROXY and would go to the internet: the
    # variables stay in place so a user sees why the preload matters
    assert "--require" in sdk_env["NODE_OPTIONS"]


# -- JPush ------------------------------------------------------------------------------------
JPUSH_PY = """
import json, jpush
device = jpush.JPush({key!r}, {secret!r}).create_device()
rid, other = {rids!r}
out = {{}}
out["set"] = device.set_deviceinfo(rid, {{"tags": {{"add": ["vip"]}}, "alias": "alice"}}).status_code
out["info"] = device.get_deviceinfo(rid).payload
out["tags"] = device.get_taglist().payload
out["tag_users"] = device.update_tagusers("vip", jpush.device_regid(jpush.add(other))).status_code
out["member"] = device.check_taguserexist("vip", other).payload
out["alias"] = device.get_aliasuser("alice", "android,ios").payload
out["delete_alias"] = device.delete_alias("alice", "android,ios").status_code
print(json.dumps(out))
"""


def test_jpush_python_client_device_tag_and_alias_calls_with_its_default_hosts(emulator, sdk_env):
    rid, other = JPUSH_RIDS[0], JPUSH_RIDS[1]
    out = python(JPUSH_PY.format(key=JPUSH_KEY, secret=JPUSH_SECRET, rids=(rid, other)), sdk_env)
    assert out == {"set": 200, "info": {"tags": ["vip"], "alias": "alice", "mobile": None}, "tags": {"tags": ["vip"]},
                   "tag_users": 200, "member": {"result": True}, "alias": {"registration_ids": [rid]},
                   "delete_alias": 200}
    devices = {d["registration_id"]: d for d in emulator.state("jpush")["apps"][0]["devices"]}
    assert devices[rid]["tags"] == ["vip"] and devices[rid]["alias"] == ""  # the alias deleted
    assert devices[other]["tags"] == ["vip"]
    assert {e["request_headers"]["Host"] for e in emulator.requests("jpush")} == {"device.jpush.cn"}


# -- the CA's life ----------------------------------------------------------------------------
def test_the_ca_survives_a_restart_and_ca_dir_moves_it(tmp_path):
    db = tmp_path / "e.db"
    with ServerProcess("--db", str(db)) as first:
        pem = first.get("/_emulator/ca.pem").content
    assert (tmp_path / "device-emulator-ca" / "ca.pem").read_bytes() == pem
    assert oct((tmp_path / "device-emulator-ca" / "ca-key.pem").stat().st_mode & 0o777) == "0o600"
    with ServerProcess("--db", str(db)) as second:
        assert second.get("/_emulator/ca.pem").content == pem
    with ServerProcess("--db", str(db), "--ca-dir", str(tmp_path / "elsewhere")) as third:
        assert third.get("/_emulator/ca.pem").content != pem
        assert (tmp_path / "elsewhere" / "ca.pem").read_bytes() == third.get("/_emulator/ca.pem").content


def test_proxy_off(tmp_path):
    with ServerProcess("--db", str(tmp_path / "e.db"), "--proxy-port", "off") as proc:
        assert proc.get("/_emulator/health").json()["proxy"] is None
        resp = proc.get("/_emulator/ca.pem")
        assert resp.status_code == 404 and resp.json() == {"error": "the HTTPS proxy is off, so there is no CA"}
    assert not (tmp_path / "device-emulator-ca").exists()


def test_an_unusable_ca_directory_stops_the_start(tmp_path):
    ca_dir = tmp_path / "ca"
    ca_dir.mkdir()
    (ca_dir / "ca-key.pem").write_text("not a key")
    (ca_dir / "ca.pem").write_text("not a cert")
    with pytest.raises(RuntimeError, match=r"device-api-emulator: CA directory \S+: cannot read ca-key.pem/ca.pem"):
        ServerProcess("--db", str(tmp_path / "e.db"), "--ca-dir", str(ca_dir))


def test_a_first_start_makes_the_ca_before_the_ready_line(tmp_path):
    """On a first start the CA is made (in a worker thread) before the ready line: right after it,
    /_emulator/ca.pem serves it and a TLS tunnel works; the proxy's own line follows with the CA's
    file."""
    with ServerProcess("--db", str(tmp_path / "e.db"), "--proxy-port", "0") as proc:
        pem = proc.get("/_emulator/ca.pem")
        assert pem.status_code == 200 and pem.text.startswith("-----BEGIN CERTIFICATE-----")
        proxy = requests.get(proc.url + "/_emulator/health", timeout=10).json()["proxy"]
        ca_file = tmp_path / "ca.pem"
        ca_file.write_text(pem.text)
        session = requests.Session()
        session.trust_env = False
        r = session.get(f"https://api.jpush.cn/v3/devices/{JPUSH_RIDS[0]}", proxies={"https": proxy},
                        verify=str(ca_file), auth=(JPUSH_KEY, JPUSH_SECRET), timeout=10)
        assert r.status_code == 200 and set(r.json()) == {"tags", "alias", "mobile"}
        line = proc.proc.stdout.readline()
        ca_path = tmp_path / "device-emulator-ca" / "ca.pem"
        assert line.startswith(f"device-api-emulator HTTPS proxy on {proxy} (CA {ca_path})")
        assert ca_path.read_text() == pem.text


# -- every vendor's hosts ---------------------------------------------------------------------
HOST_CASES = [  # (host, a path of that vendor, the vendor the journal names)
    ("api.capgo.app", "/device", "capgo"),
    ("plugin.capgo.app", "/updates", "capgo"),
    *[(f"api-0{dc}.moengage.com", "/v1/device/EMULATORWORKSPACE0000001", "moengage") for dc in range(1, 7)],
    (f"{BEAMS_INSTANCE}.pushnotifications.pusher.com",
     f"/device_api/v1/instances/{BEAMS_INSTANCE}/devices/fcm/x", "beams"),
    ("device.jpush.cn", "/v3/tags/", "jpush"),
    ("api.jpush.cn", "/v3/tags/", "jpush"),
    ("API.AppLovin.com", "/devices/list", "applovin"),
]


def test_every_declared_host_reaches_its_vendor_over_tls(emulator, sdk_env):
    session = requests.Session()
    session.trust_env = False
    session.proxies = {"https": sdk_env["HTTPS_PROXY"]}
    session.verify = sdk_env["NODE_EXTRA_CA_CERTS"]  # the emulator's CA alone
    for host, path, vendor in HOST_CASES:
        emulator.clear_requests()
        direct = requests.get(f"{emulator.url}{path}", timeout=10)
        proxied = session.get(f"https://{host}{path}", timeout=10)
        assert (proxied.status_code, proxied.content) == (direct.status_code, direct.content), host
        [entry, _] = emulator.requests()
        assert (entry["vendor"], entry["request_headers"]["Host"]) == (vendor, host.lower()), host


@pytest.mark.sdk
def test_jpush_node_client_with_its_default_host_through_the_preload(emulator, sdk_env):
    """jpush-async has no host option (its own https.request to https://device.jpush.cn)."""
    sdk = npm_packages("jpush-async", ["jpush-async@4.2.0"])
    script = sdk / "proxy_check.js"
    rid = JPUSH_RIDS[0]
    script.write_text(textwrap.dedent(f"""
        const {{ JPushAsync }} = require('jpush-async');
        const client = JPushAsync.buildClient('{JPUSH_KEY}', '{JPUSH_SECRET}', null, false);
        (async () => {{
          await client.updateDeviceTagAlias('{rid}', 'node_alias', false, ['from_node'], []);
          console.log(JSON.stringify(await client.getDeviceTagAlias('{rid}')));
        }})().catch((e) => {{ console.error(e); process.exit(1); }});
    """))
    done = run(["node", str(script)], sdk_env, cwd=sdk)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"tags": ["from_node"], "alias": "node_alias", "mobile": None}
    device = next(d for d in emulator.state("jpush")["apps"][0]["devices"] if d["registration_id"] == rid)
    assert (device["tags"], device["alias"]) == (["from_node"], "node_alias")
    assert {e["request_headers"]["Host"] for e in emulator.requests("jpush")} == {"device.jpush.cn"}


# -- flags ------------------------------------------------------------------------------------
def test_bad_proxy_port_values_are_refused_at_start(tmp_path):
    for value in ("x", "-1", "70000"):
        done = run_cli("serve", "--port", "0", "--db", str(tmp_path / "e.db"), "--proxy-port", value)
        assert (done.returncode, done.stdout) == (2, ""), value
        assert done.stderr == f"device-api-emulator: proxy port: expected a port number, 0 or off, got {value!r}\n"
    assert not (tmp_path / "e.db").exists()


def test_proxy_off_from_the_environment_and_a_busy_proxy_port(tmp_path):
    with ServerProcess("--db", str(tmp_path / "e.db"), env={"DEVICE_EMULATOR_PROXY_PORT": "off"}) as proc:
        assert proc.get("/_emulator/health").json()["proxy"] is None
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = run_cli("serve", "--port", "0", "--db", str(tmp_path / "e.db"), "--proxy-port", str(port))
    assert done.returncode == 1 and "ready on" not in done.stdout
    assert done.stderr.startswith("device-api-emulator: cannot serve: [Errno 98] ")
