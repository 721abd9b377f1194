"""Running the app: in the foreground for the CLI, or in a background thread for the
pytest plugin. Both bind (port 0 allowed), report the real URL, and shut down cleanly."""
from __future__ import annotations

import asyncio
import asyncio.selector_events
import errno
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from aiohttp import web

from .accesslog import AccessLogger
from .app import build_context, create_app
from .ca import CertificateAuthority, default_ca_dir
from .config import Config

T = TypeVar("T")
#: aiohttp refuses request lines and headers over 8 KB with its own plain-text 400, before any
#: vendor code runs; raised so long paths and header values reach the vendors' own errors.
MAX_LINE_BYTES = 256 * 1024
#: on SIGTERM, requests in flight get this long to finish before they are cancelled. aiohttp
#: stops reading a connection once shutdown begins, so a request whose body is still arriving
#: could otherwise hold the exit for its 60 s default (docker stop waits only 10 s).
SHUTDOWN_GRACE_SECONDS = 3.0
#: a connection that has sent no complete request headers for this long -- new, idle between
#: keep-alive requests, or stuck half-way through a request line -- is closed (aiohttp's own
#: default is an hour, so a few hundred idle sockets could exhaust the file descriptors).
#: Request bodies have their own bound: :data:`emulator.httputil.BODY_IDLE_TIMEOUT`.
IDLE_TIMEOUT_SECONDS = 30.0
#: aiohttp would inflate gzip/deflate bodies itself, without regard to the vendors' limits;
#: :func:`emulator.httputil.read_body` decodes them as they stream in, bounded by each limit.

if TYPE_CHECKING:  # the HTTPS proxy's modules are imported where it starts
    from .context import Context
    from .proxy import ProxyServer


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    """uvloop's event loop when it is installed (it is a dependency: ~20-30% less CPU per
    request, measured in docs/benchmark.md), asyncio's otherwise or with
    ``DEVICE_EMULATOR_LOOP=asyncio``."""
    if os.environ.get("DEVICE_EMULATOR_LOOP", "").lower() != "asyncio":
        try:
            import uvloop
        except ImportError:
            pass
        else:
            return uvloop.new_event_loop
    return asyncio.new_event_loop


def run(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` on the loop :func:`loop_factory` picks."""
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(coro)


class _ProtocolErrorFilter(logging.Filter):
    """aiohttp answers malformed HTTP (bad framing, request line or headers over the limits)
    itself with a plain 400, before any vendor code — as the vendors' own front ends do — and
    logs it at ERROR with a traceback. It is the client's mistake: one INFO line, no traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        from aiohttp.http_exceptions import HttpProcessingError

        from aiohttp.web_protocol import RequestPayloadError

        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, (HttpProcessingError, RequestPayloadError)):
            detail = exc.message if isinstance(exc, HttpProcessingError) else str(exc).strip().splitlines()[-1]
            record.msg = f"{record.getMessage()}: malformed HTTP refused with 400 ({detail or exc})"
            record.args = ()
            record.exc_info = None
            record.exc_text = None
            record.levelno, record.levelname = logging.INFO, "INFO"
            return logging.getLogger().isEnabledFor(logging.INFO)
        return True


def _quiet_protocol_errors() -> None:
    logger = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, _ProtocolErrorFilter) for f in logger.filters):
        logger.addFilter(_ProtocolErrorFilter())


_ACCEPT_ERRNOS = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)


class _AcceptOnce:
    """The listening socket as asyncio's accept loop sees it: after one "out of resources"
    error every further ``accept()`` in that round says "nothing waiting". CPython 3.11's loop
    does not stop after such an error: it retries up to ``backlog`` times at once, each retry
    logging a traceback and scheduling another round (out of file descriptors, the server spun
    and wrote ~1 MB of log a second). With this it makes one attempt a second, as intended."""

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self._failed = False

    def accept(self) -> Any:
        if self._failed:
            raise BlockingIOError(errno.EAGAIN, "accept paused")
        try:
            return self._sock.accept()
        except OSError as exc:
            if exc.errno in _ACCEPT_ERRNOS:
                self._failed = True
            raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def _bounded_accept_errors() -> None:
    cls = asyncio.selector_events.BaseSelectorEventLoop
    original = getattr(cls, "_accept_connection", None)
    if original is None or getattr(original, "_emulator_patched", False):
        return

    def _accept_connection(self: Any, protocol_factory: Any, sock: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(sock, _AcceptOnce):
            sock = sock._sock
        return original(self, protocol_factory, _AcceptOnce(sock), *args, **kwargs)

    _accept_connection._emulator_patched = True  # type: ignore[attr-defined]
    cls._accept_connection = _accept_connection  # type: ignore[attr-defined]


def _loop_errors(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Out of file descriptors: one warning line a minute, not a traceback a second."""
    if context.get("message") == "socket.accept() out of system resource":
        now = loop.time()
        if now - _last_accept_warning[0] >= 60:
            _last_accept_warning[0] = now
            logging.getLogger("emulator").warning(
                "cannot accept new connections: %s (retrying every second; idle connections close after %g s)",
                context.get("exception"), IDLE_TIMEOUT_SECONDS)
        return
    loop.default_exception_handler(context)


_last_accept_warning = [-1e9]


async def start_site(app: web.Application, host: str, port: int, *, access_log: bool) -> tuple[web.AppRunner, int]:
    _quiet_protocol_errors()
    _bounded_accept_errors()
    asyncio.get_running_loop().set_exception_handler(_loop_errors)
    kwargs: dict[str, Any] = {"access_log_class": AccessLogger} if access_log else {"access_log": None}
    runner = web.AppRunner(app, handle_signals=False, max_line_size=MAX_LINE_BYTES,
                           max_field_size=MAX_LINE_BYTES, shutdown_timeout=SHUTDOWN_GRACE_SECONDS,
                           auto_decompress=False, keepalive_timeout=IDLE_TIMEOUT_SECONDS, **kwargs)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True, backlog=1024)
    await site.start()
    bound = runner.addresses[0][1] if runner.addresses else port
    return runner, bound


async def start_proxy(ctx: Context, runner: web.AppRunner) -> ProxyServer | None:
    """The HTTPS proxy beside the main port (:mod:`emulator.proxy`), unless it is off. Makes or
    loads the CA first, in a worker thread (CAError, a ValueError, for an unusable CA directory):
    before the ready line, so a CA that cannot be loaded stops the start and nothing later (a
    process out of file descriptors, say) can take the running server down with it. Its
    connections are configured as the main port's (line limits, access log): the runner's server
    settings."""
    from .proxy import ProxyServer

    config = ctx.config
    port = config.resolved_proxy_port()
    if port is None:
        return None
    ca_dir = Path(config.ca_dir).expanduser() if config.ca_dir else default_ca_dir(config.db)
    ca = await asyncio.get_running_loop().run_in_executor(None, CertificateAuthority.load_or_create, ca_dir)
    assert runner.server is not None
    proxy = ProxyServer(ctx, runner.server, ca, **getattr(runner, "_kwargs", {}))
    bound = await proxy.start(config.host, port)
    ctx.ca = ca
    ctx.proxy_url = url_for(config.host, bound)
    return proxy


def url_for(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


async def serve_forever(config: Config, *, vendor_classes: list | None = None, ready_stream=None) -> None:
    """Serve until SIGTERM/SIGINT; print the one-line ready message once listening."""
    ctx = build_context(config, vendor_classes)
    app = create_app(context=ctx)
    runner, port = await start_site(app, config.host, config.port,
                                    access_log=config.log_level in ("debug", "info"))
    try:
        proxy = await start_proxy(ctx, runner)
    except BaseException:
        await runner.cleanup()
        raise
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - non-main thread
            pass
    stream = ready_stream or sys.stdout
    n = len(ctx.vendors)
    print(
        f"device-api-emulator ready on {url_for(config.host, port)} "
        f"(db {config.db}, {n} vendor{'s' if n != 1 else ''})",
        file=stream,
        flush=True,
    )
    if proxy is not None and ctx.ca is not None:
        print(f"device-api-emulator HTTPS proxy on {ctx.proxy_url} (CA {ctx.ca.cert_path}); "
              "`device-api-emulator env` prints the shell setup", file=stream, flush=True)
    try:
        await stop.wait()
    finally:
        if proxy is not None:
            await proxy.close(SHUTDOWN_GRACE_SECONDS)
        await runner.cleanup()  # stops accepting, finishes in-flight requests, closes the store


class BackgroundServer:
    """The emulator in a daemon thread with its own event loop (pytest plugin, scripts)."""

    def __init__(self, config: Config, vendor_classes: list | None = None) -> None:
        self.config = config
        self.vendor_classes = vendor_classes
        self.url: str = ""
        self.port: int = 0
        self.context: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._proxy: ProxyServer | None = None
        #: the HTTPS proxy's URL and CA certificate file (None when the proxy is off)
        self.proxy_url: str | None = None
        self.ca_path: str | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def start(self, timeout: float = 30.0) -> BackgroundServer:
        self._thread = threading.Thread(target=self._main, name="device-api-emulator", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("device-api-emulator did not start in time")
        if self._error is not None:
            raise self._error
        return self

    def _main(self) -> None:
        loop = loop_factory()()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            self.context = build_context(self.config, self.vendor_classes)
            app = create_app(context=self.context)
            self._runner, self.port = loop.run_until_complete(
                start_site(app, self.config.host, self.config.port, access_log=False))
            self.url = url_for(self.config.host, self.port)
            self._proxy = loop.run_until_complete(start_proxy(self.context, self._runner))
            if self.context.ca is not None:
                self.proxy_url = self.context.proxy_url
                self.ca_path = str(self.context.ca.cert_path)
        except BaseException as exc:  # reported to the starting thread
            self._error = exc
            if self._runner is not None:  # the proxy could not start: release the main port too
                loop.run_until_complete(self._runner.cleanup())
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        loop.run_forever()
        if self._proxy is not None:
            loop.run_until_complete(self._proxy.close(SHUTDOWN_GRACE_SECONDS))
        loop.run_until_complete(self._runner.cleanup())
        loop.close()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
        """Run ``coro`` on the server's loop from another thread; its result or exception."""
        if self._loop is None:
            coro.close()
            raise RuntimeError("device-api-emulator is not running")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=30)

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


__all__ = ["BackgroundServer", "serve_forever", "start_site", "url_for"]
