"""Shared helpers for the MoEngage tests: a small client that speaks the Data API the way
real integrations do (Basic auth = workspace id : Data API key, JSON bodies)."""
from __future__ import annotations

import json
from typing import Any

import requests

from tests.credentials import DEFAULTS, MOENGAGE_APP, MOENGAGE_KEY, basic

#: the customer the shipped fixtures put in the default workspace
CUSTOMER = DEFAULTS["moengage"]["workspaces"][0]["customers"][0]["customer_id"]
SUCCESS = {"status": "success", "message": "Your request has been accepted and will be processed soon."}


def device_body(customer_id: str = CUSTOMER, device_id: str = "device-1", **attributes: Any) -> dict:
    attrs = {"platform": "ANDROID", "push_id": "fcm-token-1", **attributes}
    return {"type": "device", "customer_id": customer_id, "device_id": device_id, "attributes": attrs}


def error_of(resp: requests.Response) -> dict:
    """The error object without its random request_id (checked separately for shape)."""
    body = resp.json()
    assert body["status"] == "fail", body
    error = dict(body["error"])
    rid = error.pop("request_id")
    assert isinstance(rid, str) and len(rid) == 8 and rid.isalpha(), rid
    assert list(body) == ["status", "error"], body
    return error


class DataApi:
    """POSTs to one emulator; ``kind`` is device/customer/event/transition."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.session = requests.Session()

    def post(self, kind: str, body: Any = None, *, app_id: str | None = MOENGAGE_APP, user: str = MOENGAGE_APP,
             password: str = MOENGAGE_KEY, headers: dict[str, str] | None = None, data: bytes | str | None = None,
             query: str = "") -> requests.Response:
        path = f"/v1/{kind}" + (f"/{app_id}" if app_id is not None else "") + query
        all_headers = {"Authorization": basic(user, password), "Content-Type": "application/json"}
        all_headers.update(headers or {})
        all_headers = {k: v for k, v in all_headers.items() if v is not None}
        payload = data if data is not None else (json.dumps(body).encode() if body is not None else b"")
        return self.session.post(self.url + path, data=payload, headers=all_headers, timeout=30)


def pipelined_statuses(url: str, path: str, bodies: list[bytes], headers: dict[str, str]) -> list[int]:
    """POST every body over ONE keep-alive connection with HTTP/1.1 pipelining and return the
    statuses in order. Ten thousand requests this way take a couple of seconds, where a
    request-at-a-time client spends most of its time in its own overhead."""
    import socket
    import threading
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=60)
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    host = f"Host: {parts.hostname}:{parts.port}\r\n"

    def send_all() -> None:
        chunk = []
        for body in bodies:
            chunk.append(f"POST {path} HTTP/1.1\r\n{host}{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
            if len(chunk) == 200:
                sock.sendall(b"".join(chunk))
                chunk = []
        if chunk:
            sock.sendall(b"".join(chunk))

    writer = threading.Thread(target=send_all)
    writer.start()
    reader = sock.makefile("rb")
    statuses = []
    try:
        for _ in bodies:
            status_line = reader.readline()
            statuses.append(int(status_line.split()[1]))
            length = 0
            while (line := reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            reader.read(length)
    finally:
        writer.join()
        reader.close()
        sock.close()
    return statuses
