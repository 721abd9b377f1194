"""The CLI beyond ``serve``: ``exec``, ``reset``, ``export`` and ``import``, run as a user runs them
(a real process) against a real server process with a real SQLite file."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import requests

from tests.credentials import JPUSH_KEY, JPUSH_RID, jpush_auth
from tests.support import ROOT, ServerProcess, run_cli


def _tag(url: str, tag: str) -> None:
    r = requests.post(f"{url}/v3/devices/{JPUSH_RID}", json={"tags": {"add": [tag]}}, headers=jpush_auth(),
                      timeout=10)
    assert r.status_code == 200, r.text


def _tags(url: str) -> list[str]:
    app = requests.get(f"{url}/_emulator/state?vendor=jpush", timeout=10).json()["jpush"]["apps"][0]
    assert app["app_key"] == JPUSH_KEY
    return next(d["tags"] for d in app["devices"] if d["registration_id"] == JPUSH_RID)


def test_exec_runs_the_command_against_a_fresh_emulator_and_exits_with_its_status(tmp_path):
    script = ("import os, sys, urllib.request, json; url = os.environ['DEVICE_EMULATOR_URL']; "
              "h = json.load(urllib.request.urlopen(url + '/_emulator/health')); "
              "print(h['status'], h['db'].endswith('emulator.db'), len(h['vendors'])); sys.exit(7)")
    proc = run_cli("exec", "--log-level", "warning", "--", sys.executable, "-c", script, timeout=60)
    assert proc.returncode == 7, proc.stderr
    assert proc.stdout.strip() == "ok True 5"


def test_exec_uses_a_temporary_database_each_time(tmp_path):
    script = ("import os, urllib.request, json; url = os.environ['DEVICE_EMULATOR_URL']; "
              "print(json.load(urllib.request.urlopen(url + '/_emulator/health'))['db'])")
    first = run_cli("exec", "--log-level", "warning", "--", sys.executable, "-c", script, timeout=60)
    second = run_cli("exec", "--log-level", "warning", "--", sys.executable, "-c", script, timeout=60)
    assert first.returncode == second.returncode == 0
    assert first.stdout != second.stdout
    for out in (first.stdout, second.stdout):
        assert not (ROOT / out.strip()).exists()  # removed when exec ends


def test_exec_passes_server_flags_on(tmp_path):
    script = ("import os, urllib.request, json; url = os.environ['DEVICE_EMULATOR_URL']; "
              "print(json.load(urllib.request.urlopen(url + '/_emulator/health'))['profiles']['capgo'])")
    proc = run_cli("exec", "--log-level", "warning", "--profile", "capgo=live", "--", sys.executable, "-c", script,
                   timeout=60)
    assert (proc.returncode, proc.stdout.strip()) == (0, "live")


def test_exec_without_a_command_or_with_a_missing_one_is_one_line():
    proc = run_cli("exec", "--log-level", "warning", timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("device-api-emulator exec: exec needs a command after --, "
                                   "e.g. device-api-emulator exec -- pytest")
    proc = run_cli("exec", "--log-level", "warning", "--", "no-such-program-here", timeout=60)
    assert proc.returncode == 127
    assert proc.stderr.strip() == ("device-api-emulator exec: cannot run no-such-program-here: "
                                   "No such file or directory")


def test_reset_export_import_against_a_running_emulator(tmp_path):
    with ServerProcess("--db", str(tmp_path / "e.db")) as server:
        _tag(server.url, "vip")
        assert _tags(server.url) == ["vip"]

        exported = tmp_path / "state.json"
        proc = run_cli("export", "--url", server.url, str(exported))
        assert proc.returncode == 0, proc.stderr
        assert proc.stderr.strip() == f"exported the state of {server.url} to {exported}"
        doc = json.loads(exported.read_text())
        assert doc == requests.get(server.url + "/_emulator/state", timeout=10).json()

        proc = run_cli("reset", "--url", server.url)
        assert (proc.returncode, proc.stderr.strip()) == (0, f"reset all vendors at {server.url}")
        assert _tags(server.url) == []

        proc = run_cli("import", "--url", server.url, str(exported))
        assert (proc.returncode, proc.stderr.strip()) == (0, f"imported {exported} into {server.url}")
        assert _tags(server.url) == ["vip"]

        one = run_cli("export", "--url", server.url, "--vendor", "jpush")
        assert one.returncode == 0
        assert json.loads(one.stdout) == {"jpush": doc["jpush"]}


def test_import_merge_and_refusals_change_nothing(tmp_path):
    with ServerProcess("--db", str(tmp_path / "e.db")) as server:
        before = requests.get(server.url + "/_emulator/state", timeout=10).json()
        bad = tmp_path / "bad.json"
        bad.write_text('{"jpush": []}')
        proc = run_cli("import", "--url", server.url, str(bad))
        assert proc.returncode == 1
        assert proc.stderr.strip() == (f"device-api-emulator import: the emulator at {server.url} refused it "
                                       "at $.jpush: expected an object, got an array")
        broken = tmp_path / "broken.json"
        broken.write_text('{"jpush": ')
        proc = run_cli("import", "--url", server.url, str(broken))
        assert proc.returncode == 2
        assert proc.stderr.strip() == (f"device-api-emulator import: {broken}: invalid JSON at line 1 column 11: "
                                       "Expecting value")
        proc = run_cli("import", "--url", server.url, str(tmp_path / "missing.json"))
        assert proc.returncode == 2
        assert proc.stderr.strip() == (f"device-api-emulator import: cannot read {tmp_path / 'missing.json'}: "
                                       "No such file or directory")
        assert requests.get(server.url + "/_emulator/state", timeout=10).json() == before

        extra = tmp_path / "extra.json"
        extra.write_text(json.dumps({"moengage": {"workspaces": [{"app_id": "SECONDWORKSPACE", "api_key": "k2"}]}}))
        proc = run_cli("import", "--merge", "--url", server.url, str(extra))
        assert (proc.returncode, proc.stderr.strip()) == (0, f"merged {extra} into {server.url}")
        after = requests.get(server.url + "/_emulator/state", timeout=10).json()
        assert [w["app_id"] for w in after["moengage"]["workspaces"]] == [
            w["app_id"] for w in before["moengage"]["workspaces"]] + ["SECONDWORKSPACE"]
        assert after["jpush"] == before["jpush"]


def test_client_commands_say_in_one_line_when_nothing_listens():
    for args in (["reset"], ["export"], ["import", "-"]):
        proc = subprocess.run([sys.executable, "-m", "emulator", *args, "--url", "http://127.0.0.1:9"],
                              capture_output=True, text=True, input="{}", timeout=30, cwd=ROOT)
        assert proc.returncode == 1, args
        lines = proc.stderr.strip().splitlines()
        assert lines == [f"device-api-emulator {args[0]}: cannot reach the emulator at http://127.0.0.1:9 "
                         "([Errno 111] Connection refused)"]
        assert proc.stdout == ""


def test_url_comes_from_the_environment(tmp_path):
    with ServerProcess("--db", str(tmp_path / "e.db")) as server:
        proc = subprocess.run([sys.executable, "-m", "emulator", "reset"], capture_output=True, text=True,
                              timeout=30, cwd=ROOT, env={**os.environ, "DEVICE_EMULATOR_URL": server.url})
        assert (proc.returncode, proc.stderr.strip()) == (0, f"reset all vendors at {server.url}")
