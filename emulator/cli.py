"""``device-api-emulator serve``: flags over ``DEVICE_EMULATOR_*`` env vars over defaults."""
from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from . import __version__
from .config import AUTH_MODES, LOG_LEVELS, Config, merge_options, parse_options, parse_profiles
from .fixtures import FixtureError
from .storage import DatabaseOpenError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="device-api-emulator",
        description="Local emulator of the Capgo, MoEngage, Pusher Beams, JPush and AppLovin device APIs.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the emulator (flags override DEVICE_EMULATOR_* env vars)")
    serve.add_argument("--host", help="bind address [DEVICE_EMULATOR_HOST, default 127.0.0.1]")
    serve.add_argument("--port", type=int, help="port; 0 picks a free one [DEVICE_EMULATOR_PORT, default 8780]")
    serve.add_argument("--db", help="SQLite file, or :memory: [DEVICE_EMULATOR_DB, default ./device-emulator.db]")
    serve.add_argument("--fixtures", action="append", metavar="FILE",
                       help="fixture document loaded when the database is new and on reset; repeatable "
                            "[DEVICE_EMULATOR_FIXTURES, ':'-separated; default the shipped "
                            "emulator/fixtures/default.json]")
    serve.add_argument("--no-default-fixtures", action="store_true", help="start empty")
    serve.add_argument("--auth", choices=AUTH_MODES,
                       help="strict: only known credentials; open: unknown tenants are created on first use "
                            "[DEVICE_EMULATOR_AUTH, default strict]")
    serve.add_argument("--profile", action="append", metavar="VENDOR=PROFILE",
                       help="per-vendor behaviour profile, e.g. capgo=live; repeatable [DEVICE_EMULATOR_PROFILE]")
    serve.add_argument("--option", action="append", metavar="VENDOR.NAME=VALUE",
                       help="vendor switch, e.g. jpush.rate_limit=on; repeatable [DEVICE_EMULATOR_OPTIONS]")
    serve.add_argument("--log-level", choices=LOG_LEVELS,
                       help="info prints one access line per request [DEVICE_EMULATOR_LOG_LEVEL, default info]")
    serve.add_argument("--journal-size", type=int, metavar="N",
                       help="request journal capacity [DEVICE_EMULATOR_JOURNAL_SIZE, default 1000]")
    serve.add_argument("--allowed-host", action="append", metavar="NAME",
                       help="a domain name the control plane answers under (besides IP addresses, localhost and "
                            "single-label names); *.example.com allows subdomains; repeatable "
                            "[DEVICE_EMULATOR_ALLOWED_HOSTS, comma- or space-separated]")
    return parser


def config_from_args(args: argparse.Namespace) -> Config:
    cfg = Config.from_env()
    for name in ("host", "port", "db", "auth", "log_level", "journal_size"):
        value = getattr(args, name)
        if value is not None:
            setattr(cfg, name, value)
    if args.fixtures:
        cfg.fixtures = list(args.fixtures)
    if args.no_default_fixtures:
        cfg.fixtures = list(args.fixtures or [])
    if args.profile:
        cfg.profiles.update(parse_profiles(args.profile))
    if args.option:
        merge_options(cfg.options, parse_options(args.option))
    if args.allowed_host:
        cfg.allowed_hosts = [*cfg.allowed_hosts, *args.allowed_host]
    cfg.check()
    if cfg.auth not in AUTH_MODES:
        raise ValueError(f"auth: expected one of {', '.join(AUTH_MODES)}, got {cfg.auth!r}")
    if cfg.log_level not in LOG_LEVELS:
        raise ValueError(f"log level: expected one of {', '.join(LOG_LEVELS)}, got {cfg.log_level!r}")
    return cfg


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
    except ValueError as exc:
        print(f"device-api-emulator: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=getattr(logging, config.log_level.upper()),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    from .server import serve_forever

    try:
        asyncio.run(serve_forever(config))
    except FixtureError as exc:
        file = getattr(exc, "file", "fixtures")
        print(f"device-api-emulator: invalid fixture {file}: {exc.path}: {exc.message}", file=sys.stderr)
        return 2
    except DatabaseOpenError as exc:  # missing directory, read-only, not a database, in use...
        print(f"device-api-emulator: {exc}", file=sys.stderr)
        return exc.exit_code
    except ValueError as exc:  # a bad --profile/--option value
        print(f"device-api-emulator: {exc}", file=sys.stderr)
        return 2
    except (OSError, OverflowError) as exc:
        print(f"device-api-emulator: cannot serve: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # pragma: no cover - signal arrived before handlers were set
        return 0
    return 0
