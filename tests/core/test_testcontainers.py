"""The testcontainers module against a real container engine: Debian's podman, its Docker-compatible
API socket, and this repository's image built from its own Dockerfile.

These machines reach no image registry, so the Dockerfile's ``FROM`` image is replaced (podman
``--from``) by a local Debian base made with debootstrap from Debian's own packages; everything else
in the Dockerfile runs as written. Set-up installs podman, runc and debootstrap when running as root.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.credentials import JPUSH_KEY, JPUSH_RID, jpush_auth

pytestmark = [pytest.mark.slow, pytest.mark.container]

ROOT = Path(__file__).resolve().parent.parent.parent
PODMAN = ["podman", "--runtime", "runc", "--cgroup-manager=cgroupfs"]
BASE = "localhost/device-api-emulator-base:bookworm"
IMAGE = "localhost/device-api-emulator:test"
CA = "/etc/ssl/certs/ca-certificates.crt"


def _run(*cmd: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run(list(cmd), check=True, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


def _ensure_tools() -> None:
    missing = [tool for tool in ("podman", "runc", "debootstrap") if not shutil.which(tool)]
    if not missing:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip(f"needs {', '.join(missing)} (Debian packages) and root to install them")
    _run("apt-get", "update", "-qq")
    _run("apt-get", "install", "-y", "-qq", *missing)
    Path("/etc/containers").mkdir(parents=True, exist_ok=True)
    conf = Path("/etc/containers/containers.conf")
    if not conf.exists():
        conf.write_text("[containers]\ndefault_ulimits = []\n")


def _ensure_base(tmp: Path) -> None:
    if subprocess.run([*PODMAN, "image", "exists", BASE]).returncode == 0:
        return
    root = tmp / "base-root"
    _run("debootstrap", "--variant=minbase", "--include=python3,python3-pip,python3-venv,ca-certificates",
         "bookworm", str(root), timeout=1800)
    for marker in root.glob("usr/lib/python3*/EXTERNALLY-MANAGED"):
        marker.unlink()
    (root / "usr/bin/python").symlink_to("python3")
    archive = tmp / "base.tar"
    _run("tar", "-C", str(root), "-cf", str(archive), ".")
    _run(*PODMAN, "import", str(archive), BASE)


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    """An image of this repository and a Docker-compatible API socket; the environment
    testcontainers reads."""
    tmp = tmp_path_factory.mktemp("container-engine")
    _ensure_tools()
    _ensure_base(tmp)
    _run(*PODMAN, "build", "--network", "host", "--from", BASE, "-v", f"{CA}:{CA}:ro", "--env", f"PIP_CERT={CA}",
         "-t", IMAGE, str(ROOT), timeout=1800)
    sock = tmp / "podman.sock"
    service = subprocess.Popen([*PODMAN, "system", "service", "--time=0", f"unix://{sock}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not sock.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    env = {"DOCKER_HOST": f"unix://{sock}", "TESTCONTAINERS_RYUK_DISABLED": "true",  # no registry for ryuk
           "TESTCONTAINERS_CONNECTION_MODE": "docker_host", "TC_HOST": "127.0.0.1"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield IMAGE
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        service.terminate()
        service.wait(30)


def test_the_image_runs_under_testcontainers_and_the_handle_works(engine):
    from emulator.testcontainers import DeviceApiEmulatorContainer

    with DeviceApiEmulatorContainer(engine) as emulator:
        health = requests.get(emulator.url + "/_emulator/health", timeout=10).json()
        assert (health["status"], health["db"]) == ("ok", "/data/emulator.db")
        r = requests.post(f"{emulator.url}/v3/devices/{JPUSH_RID}", json={"tags": {"add": ["vip"]}},
                          headers=jpush_auth(), timeout=10)
        assert r.status_code == 200
        app = emulator.state("jpush")["apps"][0]
        assert app["app_key"] == JPUSH_KEY
        assert next(d["tags"] for d in app["devices"] if d["registration_id"] == JPUSH_RID) == ["vip"]
        assert [e["path"] for e in emulator.requests("jpush")] == [f"/v3/devices/{JPUSH_RID}"]
        assert emulator.deliveries() == []
        emulator.reset()
        app = emulator.state("jpush")["apps"][0]
        assert next(d["tags"] for d in app["devices"] if d["registration_id"] == JPUSH_RID) == []


def test_image_carries_oci_labels_and_runs_as_a_non_root_user(engine):
    labels = subprocess.run([*PODMAN, "image", "inspect", "--format",
                             "{{json .Labels}}|{{.Config.User}}|{{json .Config.ExposedPorts}}", engine],
                            check=True, capture_output=True, text=True).stdout.strip()
    label_json, user, ports = labels.split("|")
    found = json.loads(label_json)
    assert found["org.opencontainers.image.title"] == "device-api-emulator"
    assert found["org.opencontainers.image.licenses"] == "MIT"
    assert found["org.opencontainers.image.version"] == "0.1.0"
    assert user == "emulator"
    assert "8780/tcp" in json.loads(ports)
