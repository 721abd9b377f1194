"""The HTTPS proxy: unmodified SDKs that hard-code a vendor's host reach the emulator.

A client told ``HTTPS_PROXY=http://127.0.0.1:8781`` sends ``CONNECT api.jpush.cn:443``. For a
host some vendor declares (:attr:`emulator.vendor.Vendor.hosts`) the proxy answers
``200 Connection Established``, terminates TLS with a certificate for that host signed by the
emulator's CA (:mod:`emulator.ca`), and hands the decrypted connection to the SAME aiohttp
application as the main port: journal, faults, options and state are shared. Plain-HTTP
absolute-form requests (``GET http://api.applovin.com/... HTTP/1.1``) are served the same way.

Nothing is ever forwarded: any other host is refused with ``403`` and a one-line reason, so no
request leaves the machine (no DNS lookup either: the host name is only compared).
"""
from __future__ import annotations

import asyncio
import logging
import ssl
import weakref
from fnmatch import fnmatchcase
from collections.abc import Iterable
from typing import cast, Any

from aiohttp import web
from .ca import CertificateAuthority
from .context import Context
from .vendor import Vendor

log = logging.getLogger("emulator.proxy")

#: the largest request head the proxy reads before deciding (a CONNECT line is tiny)
MAX_HEAD_BYTES = 256 * 1024
TLS_HANDSHAKE_TIMEOUT = 30.0
#: a connection that has not sent a whole request head by then is closed (the main port's
#: aiohttp has its own timeouts once a connection is handed over)
HEAD_TIMEOUT_SECONDS = 60.0
#: after a refusal, how long the client's remaining bytes are read and dropped
DRAIN_SECONDS = 5.0
HTTPS_PORT = 443


def host_matches(pattern: str, host: str) -> bool:
    """``*`` stands for one DNS label or part of one (``api-0*.moengage.com``), never a dot."""
    p_labels, h_labels = pattern.lower().split("."), host.lower().split(".")
    return len(p_labels) == len(h_labels) and all(
        fnmatchcase(h, p) for p, h in zip(p_labels, h_labels, strict=True))


def vendor_for_host(vendors: Iterable[Vendor], host: str) -> Vendor | None:
    """The vendor that declares ``host`` (case-insensitive, trailing dot ignored)."""
    host = host.lower().rstrip(".")
    if not host:
        return None
    for vendor in vendors:
        if any(host_matches(pattern, host) for pattern in vendor.hosts):
            return vendor
    return None


def refusal_text(host: str, vendors: Iterable[Vendor]) -> str:
    served = ", ".join(p for v in vendors for p in v.hosts)
    return (f"device-api-emulator proxy: {host or '(no host)'} is not a vendor host; only {served} are served "
            "and nothing is forwarded off this machine\n")


def split_authority(authority: str) -> tuple[str, int | None]:
    """``host:port`` (``[v6]:port``) -> (host, port); port None when absent or not a number."""
    if authority.startswith("["):
        host, _, rest = authority[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port = authority.rpartition(":") if ":" in authority else (authority, "", "")
    return host.lower().rstrip("."), int(port) if port.isdigit() and len(port) <= 5 else None


def _plain_response(status: int, reason: str, text: str) -> bytes:
    body = text.encode()
    return (f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body


class ProxyServer:
    """The proxy port. ``app_server`` is the main runner's :class:`aiohttp.web.Server`: its
    request factory and handler serve every request that passes the host checks."""

    def __init__(self, ctx: Context, app_server: web.Server, ca: CertificateAuthority, **server_kwargs: Any) -> None:
        self.ctx = ctx
        self.ca = ca
        self._app_server = app_server
        self.http = web.Server(self._handle, request_factory=app_server.request_factory, **server_kwargs)
        #: TLS transport -> the host its tunnel was opened for (absent: plain HTTP)
        #: the host each TLS tunnel was opened for, by the connection's SSL object (uvloop's
        #: transports take no weak references; SSL objects do, and both loops expose them)
        self.tunnels: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
        self._heads: set[_ProxyHead] = set()
        self._listener: asyncio.Server | None = None
        self.port = 0

    async def start(self, host: str, port: int) -> int:
        loop = asyncio.get_running_loop()
        self._listener = await loop.create_server(lambda: _ProxyHead(self), host, port,
                                                reuse_address=True, backlog=1024)
        self.port = self._listener.sockets[0].getsockname()[1]
        return self.port

    async def close(self, timeout: float) -> None:
        if self._listener is not None:
            self._listener.close()
        for head in list(self._heads):
            head.abort()
        self.http.pre_shutdown()
        await self.http.shutdown(timeout)

    # -- per request ----------------------------------------------------------------------
    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        assert isinstance(request, web.Request)  # made by the app's own request factory
        ssl_object = request.transport.get_extra_info("ssl_object") if request.transport is not None else None
        tunnel = self.tunnels.get(ssl_object) if ssl_object is not None else None
        host = (request.url.host or "").lower().rstrip(".")
        if tunnel is not None and host != tunnel:
            return web.Response(status=403, text=f"device-api-emulator proxy: the Host {host or '(none)'} "
                                                 f"is not the host of this tunnel, {tunnel}\n")
        vendor = vendor_for_host(self.ctx.vendors.values(), host)
        if vendor is None:
            return web.Response(status=403, text=refusal_text(host, self.ctx.vendors.values()))
        if self.ctx.vendor_for_path(request.path) is not vendor:
            # the real host serves only its own vendor's routes (and no /_emulator)
            return vendor.unknown_route(request, 404).response()
        refused = vendor.check_proxied_host(host, request)
        if refused is not None:
            return refused.response()
        return await self._app_server.request_handler(request)  # the app's own request, envelope and all

    # -- per connection -------------------------------------------------------------------
    def _connect(self, authority: str) -> bytes | str:
        """The answer to ``CONNECT authority``: refusal bytes, or the host to terminate TLS for."""
        host, port = split_authority(authority)
        vendor = vendor_for_host(self.ctx.vendors.values(), host)
        if vendor is None:
            return _plain_response(403, "Forbidden", refusal_text(host, self.ctx.vendors.values()))
        if port != HTTPS_PORT:
            return _plain_response(403, "Forbidden", f"device-api-emulator proxy: {host} is served on port "
                                                     f"{HTTPS_PORT} only, not {authority}\n")
        return host

    def hand_over(self, transport: asyncio.BaseTransport, data: bytes, tunnel: str | None) -> None:
        handler = self.http()
        if tunnel is not None:
            self.tunnels[transport.get_extra_info("ssl_object")] = tunnel
        transport.set_protocol(handler)
        handler.connection_made(transport)
        if data:
            handler.data_received(data)


class _ProxyHead(asyncio.Protocol):
    """Reads one request head, then answers CONNECT (TLS) or passes the bytes to aiohttp."""

    def __init__(self, proxy: ProxyServer) -> None:
        self.proxy = proxy
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.tls_pending = False
        self.draining = False
        self._task: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport; they have its methods
        self.transport = cast(asyncio.Transport, transport)
        self.proxy._heads.add(self)
        self._timer: asyncio.TimerHandle | None = asyncio.get_running_loop().call_later(
            HEAD_TIMEOUT_SECONDS, self._too_slow)

    def _too_slow(self) -> None:
        self._timer = None
        if self.transport is not None and not self.tls_pending and not self.transport.is_closing():
            self._refuse(_plain_response(408, "Request Timeout",
                                         "device-api-emulator proxy: no complete request head in time\n"))

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_timer()
        self.proxy._heads.discard(self)

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()
        if self._task is not None:
            self._task.cancel()

    def eof_received(self) -> bool | None:
        return None  # close

    def data_received(self, data: bytes) -> None:
        if self.draining:
            return
        self.buffer += data
        if self.tls_pending:  # decrypted bytes that arrived before aiohttp took over
            return
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self.buffer) > MAX_HEAD_BYTES:
                self._refuse(_plain_response(431, "Request Header Fields Too Large",
                                             "device-api-emulator proxy: request head too large\n"))
            return
        self._stop_timer()
        line = bytes(self.buffer[:self.buffer.find(b"\r\n")])
        parts = line.split(b" ")
        if len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
            self._refuse(_plain_response(400, "Bad Request", "device-api-emulator proxy: malformed request line\n"))
            return
        if parts[0] != b"CONNECT":
            assert self.transport is not None
            self.proxy._heads.discard(self)
            self.proxy.hand_over(self.transport, bytes(self.buffer), None)
            return
        answer = self.proxy._connect(parts[1].decode("latin-1"))
        if isinstance(answer, bytes):
            self._refuse(answer)
            return
        # bytes after the CONNECT head would be the client's TLS hello sent before our answer:
        # no client does that; the handshake then fails cleanly
        self.buffer = bytearray()
        self.tls_pending = True
        assert self.transport is not None
        # the client's TLS hello may follow the answer at once: it must stay in the socket until
        # start_tls reads it (start_tls resumes reading itself)
        self.transport.pause_reading()
        self.transport.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        self._task = asyncio.ensure_future(self._start_tls(answer))

    async def _start_tls(self, host: str) -> None:
        transport = self.transport
        assert transport is not None
        loop = asyncio.get_running_loop()
        try:
            context = self.proxy.ca.server_context(host)
            tls = await loop.start_tls(transport, self, context, server_side=True,
                                       ssl_handshake_timeout=TLS_HANDSHAKE_TIMEOUT)
        except (TimeoutError, ssl.SSLError, OSError, ConnectionError) as exc:
            # typically a client that does not trust the emulator's CA
            log.info("TLS handshake for %s failed: %s", host, exc)
            transport.abort()
            return
        except Exception:  # never leave a connection hanging
            log.exception("TLS for %s failed", host)
            transport.abort()
            return
        finally:
            self.proxy._heads.discard(self)
        if tls is None or tls.is_closing():
            return
        data, self.buffer = bytes(self.buffer), bytearray()
        try:
            self.proxy.hand_over(tls, data, host)
        except Exception:  # never leave a connection hanging
            log.exception("handing the TLS connection for %s to the app failed", host)
            tls.abort()

    def _refuse(self, response: bytes) -> None:
        """Answer, then read and drop what the client still sends until it closes (closing with
        unread bytes would reset the connection and lose the answer), at most DRAIN_SECONDS."""
        assert self.transport is not None
        self._stop_timer()
        self.draining = True
        self.buffer = bytearray()
        self.transport.write(response)
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self._timer = asyncio.get_running_loop().call_later(DRAIN_SECONDS, self.transport.close)
        else:  # pragma: no cover - TCP transports can always half-close
            self.transport.close()


__all__ = ["ProxyServer", "host_matches", "refusal_text", "split_authority", "vendor_for_host"]
