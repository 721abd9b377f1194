"""Runtime options: each vendor's declared switches (its ``profile`` among them) plus the
global auth mode. Start-up values come from the CLI; tests may change them at run time
through ``/_emulator/options``; reset restores the start-up values."""
from __future__ import annotations

import copy
from typing import Any
from collections.abc import Mapping

from .config import AUTH_MODES
from .vendor import Option, Vendor

AUTH_OPTION = Option("strict", "strict: only known credentials work; open: unknown ones are created on first use",
                     choices=AUTH_MODES)


class Options:
    def __init__(self, vendors: Mapping[str, type[Vendor] | Vendor]) -> None:
        self.defs: dict[str, dict[str, Option]] = {name: dict(v.options) for name, v in vendors.items()}
        self._startup: dict[str, Any] = {"auth": AUTH_OPTION.default}
        for name, defs in self.defs.items():
            self._startup[name] = {key: opt.default for key, opt in defs.items()}
        self.values: dict[str, Any] = copy.deepcopy(self._startup)

    # Hot path: vendors read options on every request.
    def get(self, vendor: str, key: str) -> Any:
        return self.values[vendor][key]

    @property
    def auth(self) -> str:
        return self.values["auth"]

    @property
    def auth_open(self) -> bool:
        return self.values["auth"] == "open"

    def set_startup(self, doc: Mapping[str, Any]) -> None:
        """Apply CLI values and make them what reset restores."""
        self.update(doc)
        self._startup = copy.deepcopy(self.values)

    def update(self, doc: Mapping[str, Any]) -> None:
        """Validate everything first, then apply: a bad document changes nothing.
        Raises ValueError naming the offending key."""
        if not isinstance(doc, Mapping):
            raise ValueError("options: expected an object")
        staged = copy.deepcopy(self.values)
        for key, value in doc.items():
            if key == "auth":
                try:
                    staged["auth"] = AUTH_OPTION.parse(value)
                except ValueError as exc:
                    raise ValueError(f"auth: {exc}") from None
                continue
            defs = self.defs.get(key)
            if defs is None:
                raise ValueError(f"{key}: unknown vendor or option")
            if not isinstance(value, Mapping):
                raise ValueError(f"{key}: expected an object of options")
            for opt_key, raw in value.items():
                opt = defs.get(opt_key)
                if opt is None:
                    known = ", ".join(sorted(defs)) or "none"
                    raise ValueError(f"{key}.{opt_key}: unknown option (known: {known})")
                try:
                    staged[key][opt_key] = opt.parse(raw)
                except ValueError as exc:
                    raise ValueError(f"{key}.{opt_key}: {exc}") from None
        self.values = staged

    def reset(self, vendor: str | None = None) -> None:
        if vendor is None:
            if self.values != self._startup:  # nearly every per-test reset: nothing was set
                self.values = copy.deepcopy(self._startup)
        elif self.values[vendor] != self._startup[vendor]:
            self.values[vendor] = copy.deepcopy(self._startup[vendor])

    def describe(self) -> dict[str, Any]:
        """Current values and, per option, its default, choices and help."""
        out: dict[str, Any] = {"values": copy.deepcopy(self.values), "options": {}}
        out["options"]["auth"] = {"default": AUTH_OPTION.default, "choices": list(AUTH_MODES), "help": AUTH_OPTION.help}
        for vendor, defs in self.defs.items():
            out["options"][vendor] = {
                key: {
                    "default": opt.default,
                    "type": opt.kind.__name__,
                    **({"choices": list(opt.choices)} if opt.choices else {}),
                    "help": opt.help,
                }
                for key, opt in defs.items()
            }
        return out
