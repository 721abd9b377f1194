"""Hostile or broken input at the proxy: an answer (or a clean close), never a hang, and nothing
reaches a vendor. Runs against the pytest plugin's in-process server."""
from __future__ import annotations

import socket
import ssl
import time
from pathlib import Path

import requests

import emulator.ca
import emulator.proxy
from emulator.ca import CertificateAuthority
from tests.credentials import APPLOVIN_KEY


def _port(device_emulator) -> int:
    return int(device_emulator.proxy_url.rsplit(":", 1)[1])


def _exchange(device_emulator, data: bytes, timeout: float = 10) -> bytes:
    with socket.create_connection(("127.0.0.1", _port(device_emulator)), timeout=timeout) as sock:
        sock.sendall(data)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def _text(status: str, text: str) -> bytes:
    return (f"HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {len(text)}\r\n"
            f"Connection: close\r\n\r\n{text}").encode()


def test_a_slow_head_is_closed_with_408(device_emulator, monkeypatch):
    monkeypatch.setattr(emulator.proxy, "HEAD_TIMEOUT_SECONDS", 0.3)
    started = time.monotonic()
    assert _exchange(device_emulator, b"CONNECT api.applovin.com:443 HTTP/1.1\r\n") == _text(
        "408 Request Timeout", "device-api-emulator proxy: no complete request head in time\n")
    assert time.monotonic() - started < 5
    assert device_emulator.requests() == []


def test_an_oversized_head_is_refused_with_431(device_emulator):
    assert _exchange(device_emulator, b"GET / HTTP/1.1\r\nX: " + b"a" * (300 * 1024)) == _text(
        "431 Request Header Fields Too Large", "device-api-emulator proxy: request head too large\n")


def test_odd_connect_authorities(device_emulator):
    assert _exchange(device_emulator, b"CONNECT HTTP/1.1\r\n\r\n") == _text(
        "400 Bad Request", "device-api-emulator proxy: malformed request line\n")
    answer = _exchange(device_emulator, b"CONNECT :443 HTTP/1.1\r\n\r\n")
    assert _exchange(device_emulator, b"CONNECT  HTTP/1.1\r\n\r\n") == answer
    assert answer.startswith(b"HTTP/1.1 403 Forbidden\r\n")
    assert answer.endswith(b"\r\n\r\ndevice-api-emulator proxy: (no host) is not a vendor host; only api.capgo.app, "
                           b"plugin.capgo.app, api-0*.moengage.com, *.pushnotifications.pusher.com, device.jpush.cn, "
                           b"api.jpush.cn, api.applovin.com are served and nothing is forwarded off this machine\n")
    for authority in (b"[::1]:443", b"api.applovin.com:99999", b"api.applovin.com", b"\xff\xfe:443"):
        answer = _exchange(device_emulator, b"CONNECT " + authority + b" HTTP/1.1\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 403 Forbidden\r\n"), authority
    assert device_emulator.requests() == []


def test_the_absolute_form_target_decides_not_the_host_header(device_emulator):
    answer = _exchange(device_emulator, f"GET http://example.com/devices/list?api_key={APPLOVIN_KEY} HTTP/1.1\r\n"
                                        "Host: api.applovin.com\r\nConnection: close\r\n\r\n".encode())
    assert answer.startswith(b"HTTP/1.1 403 Forbidden\r\n")
    assert b"\r\n\r\ndevice-api-emulator proxy: example.com is not a vendor host;" in answer
    assert device_emulator.requests() == []


def test_a_client_that_does_not_trust_the_ca_fails_cleanly_and_the_proxy_serves_on(device_emulator):
    with socket.create_connection(("127.0.0.1", _port(device_emulator)), timeout=10) as sock:
        sock.sendall(b"CONNECT api.applovin.com:443 HTTP/1.1\r\n\r\n")
        assert sock.recv(100) == b"HTTP/1.1 200 Connection Established\r\n\r\n"
        context = ssl.create_default_context(cafile="/etc/ssl/certs/ca-certificates.crt")  # no emulator CA
        try:
            context.wrap_socket(sock, server_hostname="api.applovin.com")
            raise AssertionError("the handshake must fail")
        except ssl.SSLCertVerificationError as exc:
            assert exc.verify_message == "self-signed certificate in certificate chain"  # the CA is sent along
    with device_emulator.proxy_env():
        ok = requests.get(f"https://api.applovin.com/devices/list?api_key={APPLOVIN_KEY}", timeout=10)
    assert ok.status_code == 200
    assert [e["path"] for e in device_emulator.requests()] == ["/devices/list"]


def test_leaf_contexts_are_cached_and_bounded(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(emulator.ca, "LEAF_CACHE_SIZE", 3)
    ca = CertificateAuthority.load_or_create(tmp_path / "ca")
    first = ca.server_context("api.jpush.cn")
    assert ca.server_context("API.JPUSH.CN") is first
    for n in range(4):
        ca.server_context(f"api-0{n + 1}.moengage.com")
    assert list(ca._contexts) == ["api-02.moengage.com", "api-03.moengage.com", "api-04.moengage.com"]
    assert ca.server_context("api.jpush.cn") is not first  # minted again after being dropped
    again = CertificateAuthority.load_or_create(tmp_path / "ca")
    assert again.cert_pem == ca.cert_pem
