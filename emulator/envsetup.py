"""``device-api-emulator env``: the shell environment that sends unmodified SDKs to the
emulator's HTTPS proxy (``eval "$(device-api-emulator env)"``).

It asks the running emulator for its proxy port and CA, writes a CA bundle (the system's CAs
plus the emulator's) and the Node preload module into a directory, and prints ``export`` lines.
"""
from __future__ import annotations

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
