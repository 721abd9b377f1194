"""``device-api-emulator env``: the shell environment that sends unmodified SDKs to the
emulator's HTTPS proxy (``eval "$(device-api-emulator env)"``).

It asks the running emulator for its proxy port and CA, writes a CA bundle (the system's CAs
plus the emulator's) and the Node preload module into a directory, and prints ``export`` lines.
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shlex
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from importlib import resources
from pathlib import Path
from typing import Any
from collections.abc import Iterator

from .config import Config, parse_proxy_port

DEFAULT_URL = "http://127.0.0.1:8780"
NODE_PRELOAD = "node_proxy_preload.cjs"
PYTHON_PRELOAD = "sitecustomize.py"
#: variables whose earlier value is kept after the emulator's: name -> separator
PREPENDED = {"PYTHONPATH": ":", "NODE_OPTIONS": " "}
#: where Linux distributions, macOS and Alpine keep the system CA bundle
SYSTEM_BUNDLES = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Alpine
    "/etc/pki/tls/certs/ca-bundle.crt",  # Fedora, RHEL
    "/etc/ssl/ca-bundle.pem",  # openSUSE
    "/etc/ssl/cert.pem",  # macOS, Alpine
)
LOOPBACK = ("localhost", "127.0.0.1", "::1")


class EnvError(RuntimeError):
    pass


def default_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "device-api-emulator"


def _get(url: str) -> bytes:
    try:
        with urllib.request.urlopen(urllib.request.Request(url), timeout=10) as resp:
            return resp.read()
    except urllib.error.HTTPError as exc:
        raise EnvError(f"{url} answered {exc.code}: {exc.read()[:200].decode('utf-8', 'replace')}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise EnvError(f"cannot reach the emulator at {url} ({exc}); is `device-api-emulator serve` "
                       "running? (--url names another address)") from None


def system_ca_bundle() -> bytes:
    """The system's trusted CAs (read from the distribution's bundle, never from SSL_CERT_FILE,
    which may already name a bundle this command wrote), else certifi's, else nothing."""
    for path in SYSTEM_BUNDLES:
        try:
            return Path(path).read_bytes()
        except OSError:
            continue
    try:
        import certifi  # requests' own bundle, where the system has none

        return Path(certifi.where()).read_bytes()
    except (ImportError, OSError):
        print("device-api-emulator env: no system CA bundle found; the bundle trusts the emulator only",
              file=sys.stderr)
        return b""


def _write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def build_env(url: str = DEFAULT_URL, *, proxy: str | None = None, directory: Path | None = None) -> dict[str, str]:
    """The variables, in print order. Writes the CA bundle and the Node preload."""
    url = url.rstrip("/")
    health = json.loads(_get(f"{url}/_emulator/health"))
    served = health.get("proxy")
    if not served and not proxy:
        raise EnvError(f"the emulator at {url} runs without its HTTPS proxy (--proxy-port off)")
    if proxy is None:
        # the emulator reports its own view (127.0.0.1 in a container): keep the host this
        # command reached it at, take the proxy's port
        parts = urllib.parse.urlsplit(url)
        proxy_port = urllib.parse.urlsplit(served).port
        host = parts.hostname or "127.0.0.1"
        proxy = f"http://{'[' + host + ']' if ':' in host else host}:{proxy_port}"
    ca = _get(f"{url}/_emulator/ca.pem")
    if b"BEGIN CERTIFICATE" not in ca:
        raise EnvError(f"{url}/_emulator/ca.pem is not a PEM certificate")
    directory = (directory or default_dir()).expanduser().resolve()
    directory.mkdir(parents=True, exist_ok=True)
    tag = hashlib.sha256(ca).hexdigest()[:12]
    bundle = directory / f"ca-bundle-{tag}.pem"
    system = system_ca_bundle()
    _write(bundle, system + (b"" if not system or system.endswith(b"\n") else b"\n")
           + b"# device-api-emulator local CA\n" + ca)
    _write(directory / f"ca-{tag}.pem", ca)
    preload = directory / NODE_PRELOAD
    shipped = resources.files("emulator").joinpath("preload")
    _write(preload, shipped.joinpath(NODE_PRELOAD).read_bytes())
    python_dir = directory / "python"
    python_dir.mkdir(exist_ok=True)
    _write(python_dir / PYTHON_PRELOAD, shipped.joinpath(PYTHON_PRELOAD).read_bytes())
    no_proxy = list(LOOPBACK)
    emulator_host = urllib.parse.urlsplit(url).hostname
    if emulator_host and emulator_host not in no_proxy:
        no_proxy.append(emulator_host)  # the control plane is reached directly
    env = {
        "HTTPS_PROXY": proxy, "https_proxy": proxy,
        "HTTP_PROXY": proxy, "http_proxy": proxy,
        "NO_PROXY": ",".join(no_proxy), "no_proxy": ",".join(no_proxy),
        "REQUESTS_CA_BUNDLE": str(bundle),
        "SSL_CERT_FILE": str(bundle),
        "CURL_CA_BUNDLE": str(bundle),
        "NODE_EXTRA_CA_CERTS": str(directory / f"ca-{tag}.pem"),
        # requests ignores REQUESTS_CA_BUNDLE in Session.send: this sitecustomize points certifi at it
        "PYTHONPATH": str(python_dir),
        # Node 20 ignores the proxy variables: this preload makes http/https honour them
        "NODE_OPTIONS": f'--require "{preload}"' if " " in str(preload) else f"--require {preload}",
    }
    return env


def render(env: dict[str, str]) -> str:
    """``export`` lines; PYTHONPATH and NODE_OPTIONS keep what the shell had after ours."""
    lines = []
    for name, value in env.items():
        keep = f'"${{{name}:+{PREPENDED[name]}${name}}}"' if name in PREPENDED else ""
        lines.append(f"export {name}={shlex.quote(value)}{keep}\n")
    return "".join(lines)


def main(url: str, proxy: str | None, directory: str | None) -> int:
    try:
        env = build_env(url, proxy=proxy, directory=Path(directory) if directory else None)
    except EnvError as exc:
        print(f"device-api-emulator env: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(render(env))
    return 0


# -- the CLI's part (emulator.cli calls these: the proxy's flags, and the env command) ------------
def add_serve_flags(parser: argparse.ArgumentParser) -> None:
    """``--proxy-port`` and ``--ca-dir`` on a server command."""
    parser.add_argument("--proxy-port", metavar="PORT|off",
                        help="HTTPS proxy for SDKs with hard-coded vendor hosts; 0 picks a free one, off disables "
                             "it [DEVICE_EMULATOR_PROXY_PORT, default 8781, or a free one when --port is 0]")
    parser.add_argument("--ca-dir", metavar="DIR",
                        help="where the proxy's CA is kept [DEVICE_EMULATOR_CA_DIR, default "
                             "device-emulator-ca/ beside the database]")


def apply_serve_flags(args: argparse.Namespace, cfg: Config) -> None:
    """The flags over what :meth:`Config.from_env` read (ValueError for a bad port)."""
    if getattr(args, "proxy_port", None) is not None:
        cfg.proxy_port = parse_proxy_port(args.proxy_port)
    if getattr(args, "ca_dir", None):
        cfg.ca_dir = args.ca_dir


def add_env_command(sub: Any) -> None:
    env = sub.add_parser("env", help="print export lines that send unmodified SDKs through the HTTPS proxy: "
                                     'eval "$(device-api-emulator env)"')
    env.add_argument("--url", default=None,
                     help=f"the running emulator [DEVICE_EMULATOR_URL, default {DEFAULT_URL}]")
    env.add_argument("--proxy", metavar="URL",
                     help="the proxy as this shell reaches it, when a port mapping differs "
                          "(default: the --url host and the emulator's proxy port)")
    env.add_argument("--dir", metavar="DIR",
                     help="where the CA bundle and the Node and Python preloads are written "
                          "[default $XDG_CACHE_HOME/device-api-emulator]")


def run_env_command(args: argparse.Namespace) -> int:
    return main(args.url or os.environ.get("DEVICE_EMULATOR_URL") or DEFAULT_URL, args.proxy, args.dir)


# -- the pytest plugin's handle (emulator.pytest_plugin.DeviceEmulator mixes this in) -------------
class ProxyEnvMixin:
    """The HTTPS proxy for a handle that has ``url``: its address, its CA file, and the
    environment ``device-api-emulator env`` would print."""

    url: str
    _proxy_env: dict[str, str] | None = None

    def proxy_environ(self) -> dict[str, str]:
        """What ``device-api-emulator env`` would export (CA bundle and preloads written once
        into a temporary directory): give it to a subprocess running an unmodified SDK.
        Raises EnvError when the emulator cannot be reached or runs without its proxy."""
        if self._proxy_env is None:
            self._proxy_env = build_env(self.url, directory=Path(tempfile.mkdtemp(prefix="device-emulator-env-")))
        return dict(self._proxy_env)

    @property
    def proxy_url(self) -> str:
        """The HTTPS proxy, e.g. ``http://127.0.0.1:8781``."""
        return self.proxy_environ()["HTTPS_PROXY"]

    @property
    def ca_path(self) -> str:
        """A file holding the emulator's CA certificate (PEM)."""
        return self.proxy_environ()["NODE_EXTRA_CA_CERTS"]

    @contextlib.contextmanager
    def proxy_env(self) -> Iterator[dict[str, str]]:
        """Within the block, this process's environment sends clients through the proxy (as
        ``eval "$(device-api-emulator env)"`` would); the previous values come back after.
        Subprocesses started inside inherit it; in this process, clients that read the
        environment per request (requests' ``Session.request``, curl) follow it."""
        env = self.proxy_environ()
        saved = {name: os.environ.get(name) for name in env}
        for name, value in env.items():
            before = saved[name]
            os.environ[name] = value + PREPENDED[name] + before if before and name in PREPENDED else value
        try:
            yield env
        finally:
            for name, old in saved.items():
                if old is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = old
