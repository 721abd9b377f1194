"""A small client of the control plane (``/_emulator/*``), with no dependency beyond the
standard library and the emulator's own config: the pytest plugin's handle, the testcontainers
module and the CLI's ``reset``/``export``/``import`` use it."""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from .envsetup import ProxyEnvMixin


class EmulatorError(RuntimeError):
    """A control-plane call was refused; ``status`` and ``body`` say why."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"device-api-emulator answered {status}: {body}")
        self.status = status
        self.body = body


class EmulatorUnreachable(OSError):
    """The emulator at the URL does not answer; ``reason`` says why (as ``URLError.reason``)."""

    def __init__(self, message: str, reason: object = None) -> None:
        super().__init__(message)
        self.reason = reason if reason is not None else message


class DeviceEmulator(ProxyEnvMixin):
    """What a test gets: the base URL and the control plane as plain methods (and the HTTPS
    proxy: ``proxy_url``, ``ca_path``, ``proxy_environ()``, ``proxy_env()``)."""

    def __init__(self, url: str, server: Any = None) -> None:
        self.url = url.rstrip("/")
        #: the plugin's own in-process server, when it started one (not with --device-emulator-url)
        self._server = server

    def _call(self, method: str, path: str, body: Any = None, query: dict[str, Any] | None = None) -> Any:
        url = f"{self.url}/_emulator/{path}"
        if query:
            clean = {k: v for k, v in query.items() if v is not None}
            if clean:
                url += "?" + urllib.parse.urlencode(clean)
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = raw.decode("utf-8", "replace")
            raise EmulatorError(exc.code, parsed) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise EmulatorUnreachable(f"cannot reach the emulator at {self.url}: {reason}", reason) from None
        return json.loads(raw) if raw else None

    def wait_healthy(self, timeout: float) -> None:
        """Wait until ``/_emulator/health`` answers ``ok`` (a container may still be starting);
        raise :class:`EmulatorUnreachable` with the last reason after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.health()
                return
            except EmulatorError as exc:
                problem = f"the emulator at {self.url} is not healthy: {exc.status} {exc.body}"
            except EmulatorUnreachable as exc:
                problem = str(exc)
            if time.monotonic() >= deadline:
                raise EmulatorUnreachable(f"{problem} (waited {timeout:g} s)")
            time.sleep(0.25)

    def health(self) -> dict[str, Any]:
        return self._call("GET", "health")

    def reset(self, vendor: str | None = None) -> None:
        """Back to the start-up fixtures (all vendors, or one)."""
        if vendor is None and self._server is not None:
            # the same Context.reset the control plane runs, without an HTTP round trip
            # (a new connection per call with urllib: ~1-3 ms of every test)
            self._server.run(self._server.context.reset())
            return
        self._call("POST", "reset", query={"vendor": vendor})

    def load(self, doc: dict[str, Any]) -> None:
        """Merge a fixture document into the state."""
        self._call("POST", "fixtures", doc)

    def replace_state(self, doc: dict[str, Any]) -> None:
        """Replace the whole state with ``doc`` (atomic)."""
        self._call("PUT", "state", doc)

    def state(self, vendor: str | None = None) -> dict[str, Any]:
        """The state as a fixture document; with ``vendor``, that vendor's part only."""
        doc = self._call("GET", "state", query={"vendor": vendor})
        return doc[vendor] if vendor is not None else doc

    def requests(self, vendor: str | None = None, **filters: Any) -> list[dict[str, Any]]:
        """Journal entries, newest first (filters: method, path, status, limit)."""
        return self._call("GET", "requests", query={"vendor": vendor, **filters})["requests"]

    def clear_requests(self) -> None:
        self._call("DELETE", "requests")

    def set_options(self, doc: dict[str, Any]) -> dict[str, Any]:
        """e.g. ``{"capgo": {"profile": "live"}, "auth": "open"}``; reset restores them."""
        return self._call("PATCH", "options", doc)["values"]

    def options(self) -> dict[str, Any]:
        return self._call("GET", "options")["values"]

    def advance_clock(self, seconds: float) -> float:
        """Move the emulator's clock forward (rate-limit windows, token expiry)."""
        return self._call("POST", "clock", {"advance": seconds})["now"]

    def freeze_clock(self, frozen: bool = True) -> float:
        """Stop the emulator's clock (or let it run again); reset thaws it."""
        return self._call("POST", "clock", {"freeze": frozen})["now"]

    def fault(self, **rule: Any) -> dict[str, Any]:
        """Add a fault rule, e.g. ``fault(vendor="beams", path="/device_api/*", status=500, times=1)``;
        returns it with its ``id``. Reset removes every rule."""
        return self._call("POST", "faults", rule)

    def faults(self) -> list[dict[str, Any]]:
        return self._call("GET", "faults")["faults"]

    def clear_faults(self, rule_id: int | None = None) -> None:
        self._call("DELETE", "faults" if rule_id is None else f"faults/{rule_id}")

    def seed_faults(self, seed: int) -> None:
        """Make ``probability`` draws repeatable."""
        self._call("POST", "faults/seed", {"seed": seed})

    def deliveries(self, **filters: Any) -> list[dict[str, Any]]:
        """Delivery ledger rows, newest first (filters: vendor, tenant, publish_id, device_id,
        status, limit)."""
        return self._call("GET", "deliveries", query=filters)["deliveries"]

    def explain(self, publish_id: str, device_id: str, *, vendor: str, tenant: str | None = None) -> dict[str, Any]:
        """``{"delivered", "reason", "delivery"}``: did that publish reach that device, and why (not)."""
        return self._call("GET", "deliveries/explain", query={
            "vendor": vendor, "publish_id": publish_id, "device_id": device_id, "tenant": tenant})

    def invalidate_token(self, vendor: str, tenant: str, device_id: str,
                         reason: str = "Unregistered") -> dict[str, Any]:
        """Mark a device's push token dead, as APNs or FCM would report it; later deliveries fail."""
        return self._call("POST", "tokens/invalidate", {"vendor": vendor, "tenant": tenant,
                                                        "device_id": device_id, "reason": reason})
