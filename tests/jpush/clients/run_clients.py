"""Run JPush's Ruby and PHP clients against a fresh emulator, by hand (their packages are not
installed by the test suite): device, tag and alias calls, validate, push, cid and errors, then the
checks below. Usage, from the repository root:

    RUBYLIB=<ruby client>/lib python -m tests.jpush.clients.run_clients ruby
    JPUSH_PHP_SRC=<php client>/src python -m tests.jpush.clients.run_clients php

Exits non-zero when the client's view differs from what the emulator should give it."""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from emulator.config import Config
from emulator.pytest_plugin import DeviceEmulator
from emulator.server import BackgroundServer
from tests.jpush.jpush_support import APP_A

HERE = Path(__file__).parent
RID1, RID2 = "1a0018970a8e1b2c3d4", "0a04ad7d8b4"
NO_AUDIENCE = "cannot find user by this audience or has been inactive for more than 255 days"


def body(result):
    return result["body"]


CHECKS = {
    "ruby": [
        ("show", lambda o: body(o["show"]) == {"tags": ["vip"], "alias": "a1", "mobile": "13012345678"}),
        ("empty device update is 200 {}", lambda o: o["empty_update"] == {"http": 200, "body": {}}),
        ("empty tag update is an error", lambda o: "(error code: 7002)" in o["empty_tag_update"]),
        ("validate", lambda o: body(o["validate"]) == {"sendno": "0", "msg_id": "0"}),
        ("push after the cid fetch", lambda o: body(o["push"])["msg_id"].isdigit()),
        ("push_full", lambda o: o["push_full"]["http"] == 200),
        ("cid", lambda o: len(body(o["cid"])["cidlist"]) == 2),
        ("1011", lambda o: o["nobody"].endswith(f"{NO_AUDIENCE} (error code: 1011) ")),
        ("7002", lambda o: "(error code: 7002)" in o["bad_rid"]),
    ],
    "php": [
        ("get", lambda o: body(o["get"]) == {"tags": ["vip"], "alias": "a1", "mobile": "13012345678"}),
        ("7002", lambda o: o["bad_rid"].endswith("7002 The registration_id does not belong to this appkey!")),
        ("validate at /v3//push/validate", lambda o: body(o["validate"])["msg_id"] == "0"),
        ("push answers exactly sendno and msg_id", lambda o: set(body(o["push"])) == {"sendno", "msg_id"}
         and body(o["push"])["sendno"] == "100"),
        ("1011", lambda o: o["nobody"].endswith(f"1011 {NO_AUDIENCE}")),
        ("deletes", lambda o: o["delete_tag"]["http_code"] == 200 and o["delete_alias"]["http_code"] == 200),
    ],
}


def main(client: str) -> int:
    command = {"ruby": ["ruby", str(HERE / "ruby_scenario.rb")], "php": ["php", str(HERE / "php_scenario.php")]}[client]
    with tempfile.TemporaryDirectory() as tmp:
        server = BackgroundServer(Config(host="127.0.0.1", port=0, db=str(Path(tmp) / "e.db"), fixtures=[],
                                         log_level="warning")).start()
        try:
            emu = DeviceEmulator(server.url)
            emu.load({"jpush": {"apps": [{"app_key": APP_A[0], "master_secret": APP_A[1], "devices": [
                {"registration_id": RID1, "platform": "android", "online": True},
                {"registration_id": RID2, "platform": "ios", "tags": ["beta"]}]}]}})
            done = subprocess.run([*command, server.url, *APP_A, RID1, RID2], capture_output=True, text=True,
                                  timeout=120)
            if done.returncode != 0:
                print(done.stderr)
                return 1
            out = json.loads(done.stdout)
            paths = sorted({(r["method"], r["path"]) for r in emu.requests("jpush")})
        finally:
            server.stop()
    failed = [name for name, check in CHECKS[client] if not check(out)]
    print(json.dumps(out, indent=1, ensure_ascii=False))
    print("paths:", paths)
    print("FAILED: " + ", ".join(failed) if failed else f"{client}: all {len(CHECKS[client])} checks passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
