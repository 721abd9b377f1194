"""Configuration: one dataclass, filled from CLI flags over env vars over defaults."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Mapping

from .fixtures import DEFAULT_FIXTURES

AUTH_MODES = ("strict", "open")
DEFAULT_PROXY_PORT = 8781
LOG_LEVELS = ("debug", "info", "warning", "error")


@dataclass
class Config:
    host: str = "127.0.0.1"
    port: int = 8780
    db: str = "./device-emulator.db"
    #: fixture files loaded at start (when the database is new) and on reset
    fixtures: list[str] = field(default_factory=lambda: [str(DEFAULT_FIXTURES)])
    auth: str = "strict"
    #: vendor -> profile name (``capgo=live``)
    profiles: dict[str, str] = field(default_factory=dict)
    #: vendor -> option -> raw value (``--option jpush.rate_limit=on``)
    options: dict[str, dict[str, Any]] = field(default_factory=dict)
    log_level: str = "info"
    journal_size: int = 1000
    #: delivery ledger bound: the newest N deliveries always kept, never more than 2N; 0 keeps none
    deliveries_size: int = 100_000
    #: the largest request body the server reads at all (fixture documents of a million
    #: devices go through the control plane); vendors enforce their own, smaller caps
    max_body_bytes: int = 1024 * 1024 * 1024
    #: the HTTPS proxy's port: a number (0 = a free one), None = off, "auto" = 8781, or a
    #: free one when ``port`` is 0 (tests and parallel servers never collide on 8781)
    proxy_port: int | str | None = "auto"
    #: where the proxy's CA is kept; None = beside the database
    ca_dir: str | None = None

    def resolved_proxy_port(self) -> int | None:
        if self.proxy_port == "auto":
            return 0 if self.port == 0 else DEFAULT_PROXY_PORT
        assert self.proxy_port is None or isinstance(self.proxy_port, int)
        return self.proxy_port
    #: domain names the control plane answers besides IP literals, localhost and single-label
    #: names (``--allowed-host``; DNS-rebinding protection)
    allowed_hosts: list[str] = field(default_factory=list)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Config:
        """Defaults overridden by ``DEVICE_EMULATOR_*`` variables."""
        env = os.environ if env is None else env
        cfg = cls()
        if "DEVICE_EMULATOR_HOST" in env:
            cfg.host = env["DEVICE_EMULATOR_HOST"]
        if "DEVICE_EMULATOR_PORT" in env:
            cfg.port = _env_int(env, "DEVICE_EMULATOR_PORT")
        if "DEVICE_EMULATOR_DB" in env:
            cfg.db = env["DEVICE_EMULATOR_DB"]
        if env.get("DEVICE_EMULATOR_FIXTURES"):
            cfg.fixtures = [p for p in env["DEVICE_EMULATOR_FIXTURES"].split(":") if p]
        if "DEVICE_EMULATOR_AUTH" in env:
            cfg.auth = env["DEVICE_EMULATOR_AUTH"]
        if env.get("DEVICE_EMULATOR_PROFILE"):
            cfg.profiles.update(parse_profiles(env["DEVICE_EMULATOR_PROFILE"].replace(",", " ").split()))
        if env.get("DEVICE_EMULATOR_OPTIONS"):
            merge_options(cfg.options, parse_options(env["DEVICE_EMULATOR_OPTIONS"].replace(",", " ").split()))
        if "DEVICE_EMULATOR_LOG_LEVEL" in env:
            cfg.log_level = env["DEVICE_EMULATOR_LOG_LEVEL"]
        if "DEVICE_EMULATOR_PROXY_PORT" in env:
            cfg.proxy_port = parse_proxy_port(env["DEVICE_EMULATOR_PROXY_PORT"])
        if env.get("DEVICE_EMULATOR_CA_DIR"):
            cfg.ca_dir = env["DEVICE_EMULATOR_CA_DIR"]
        if "DEVICE_EMULATOR_JOURNAL_SIZE" in env:
            cfg.journal_size = _env_int(env, "DEVICE_EMULATOR_JOURNAL_SIZE")
        if "DEVICE_EMULATOR_DELIVERIES_SIZE" in env:
            cfg.deliveries_size = _env_int(env, "DEVICE_EMULATOR_DELIVERIES_SIZE")
        if env.get("DEVICE_EMULATOR_ALLOWED_HOSTS"):
            cfg.allowed_hosts = env["DEVICE_EMULATOR_ALLOWED_HOSTS"].replace(",", " ").split()
        return cfg

    def check(self) -> None:
        """Raise ValueError naming the setting when a value is out of range."""
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port: expected 0 to 65535, got {self.port}")
        if self.journal_size < 0:
            raise ValueError(f"journal size: expected 0 (off) or more, got {self.journal_size}")


def _env_int(env: Mapping[str, str], name: str) -> int:
    raw = env[name].strip()
    if not (raw.isascii() and raw.lstrip("-").isdigit()) or len(raw) > 12:
        raise ValueError(f"{name}: expected an integer, got {env[name][:40]!r}")
    return int(raw)


def parse_proxy_port(raw: str) -> int | None:
    """A port number (0 = a free one) or ``off``."""
    text = raw.strip().lower()
    if text == "off":
        return None
    if not text.isdigit() or int(text) > 65535:
        raise ValueError(f"proxy port: expected a port number, 0 or off, got {raw!r}")
    return int(text)


def parse_profiles(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        vendor, sep, profile = item.partition("=")
        if not sep or not vendor or not profile:
            raise ValueError(f"profile {item!r}: expected VENDOR=PROFILE, e.g. capgo=live")
        out[vendor.strip()] = profile.strip()
    return out


def parse_options(items: list[str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        vendor, dot, name = key.partition(".")
        if not sep or not dot or not vendor or not name:
            raise ValueError(f"option {item!r}: expected VENDOR.NAME=VALUE, e.g. jpush.rate_limit=on")
        out.setdefault(vendor.strip(), {})[name.strip()] = value.strip()
    return out


def merge_options(into: dict[str, dict[str, Any]], new: Mapping[str, Mapping[str, Any]]) -> None:
    for vendor, values in new.items():
        into.setdefault(vendor, {}).update(values)
