"""``device-api-emulator serve|exec|reset|export|import``: flags over ``DEVICE_EMULATOR_*`` env vars over
defaults; the client subcommands live in :mod:`emulator.commands`."""
from __future__ import annotations

import argparse
import logging
import sys

from . import __version__, envsetup
from .config import AUTH_MODES, LOG_LEVELS, Config, merge_options, parse_options, parse_profiles
from . import commands
from .commands import CommandError
from .fixtures import FixtureError
from .storage import DatabaseOpenError


def _add_server_flags(parser: argparse.ArgumentParser, *, listen: bool) -> None:
    """The flags that configure a server (``serve``; ``exec`` has all but the address)."""
    if listen:
        parser.add_argument("--allowed-host", action="append", metavar="NAME",
                            help="a domain name the control plane answers under (besides IP addresses, localhost "
                                 "and single-label names); *.example.com allows subdomains; repeatable "
                                 "[DEVICE_EMULATOR_ALLOWED_HOSTS, comma- or space-separated]")
        parser.add_argument("--host", help="bind address [DEVICE_EMULATOR_HOST, default 127.0.0.1]")
        parser.add_argument("--port", type=int,
                            help="port; 0 picks a free one [DEVICE_EMULATOR_PORT, default 8780]")
    parser.add_argument("--db", help="SQLite file, or :memory: [DEVICE_EMULATOR_DB, default ./device-emulator.db"
                                     + ("" if listen else "; exec: a temporary file") + "]")
    parser.add_argument("--fixtures", action="append", metavar="FILE",
                        help="fixture document loaded when the database is new and on reset; repeatable; "
                             "replaces the shipped defaults (add emulator/fixtures/default.json to keep them) "
                             "[DEVICE_EMULATOR_FIXTURES, ':'-separated]")
    parser.add_argument("--no-default-fixtures", action="store_true", help="start empty")
    parser.add_argument("--auth", choices=AUTH_MODES,
                        help="strict: only known credentials; open: unknown tenants are created on first use "
                             "[DEVICE_EMULATOR_AUTH, default strict]")
    parser.add_argument("--profile", action="append", metavar="VENDOR=PROFILE",
                        help="per-vendor behaviour profile, e.g. capgo=live; repeatable [DEVICE_EMULATOR_PROFILE]")
    parser.add_argument("--option", action="append", metavar="VENDOR.NAME=VALUE",
                        help="vendor switch, e.g. jpush.rate_limit=on; repeatable [DEVICE_EMULATOR_OPTIONS]")
    parser.add_argument("--log-level", choices=LOG_LEVELS,
                        help="info prints one access line per request [DEVICE_EMULATOR_LOG_LEVEL, default info]")
    parser.add_argument("--journal-size", type=int, metavar="N",
                        help="request journal capacity [DEVICE_EMULATOR_JOURNAL_SIZE, default 1000]")
    parser.add_argument("--deliveries-size", type=int, metavar="N",
                        help="delivery ledger bound: the newest N deliveries are kept, 0 keeps none "
                             "[DEVICE_EMULATOR_DELIVERIES_SIZE, default 100000]")
    envsetup.add_serve_flags(parser)


def _add_url_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", help="the running emulator [DEVICE_EMULATOR_URL, default http://127.0.0.1:8780]")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="device-api-emulator",
        description="Local emulator of the Capgo, MoEngage, Pusher Beams, JPush and AppLovin device APIs.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    envsetup.add_env_command(sub)  # the HTTPS proxy's shell setup
    serve = sub.add_parser("serve", help="run the emulator (flags override DEVICE_EMULATOR_* env vars)")
    _add_server_flags(serve, listen=True)
    run = sub.add_parser(
        "exec", help="start on a free port with a temporary database, run CMD with DEVICE_EMULATOR_URL set, "
                     "stop, and exit with CMD's status",
        usage="%(prog)s [server flags] -- CMD [ARG ...]")
    _add_server_flags(run, listen=False)
    run.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- CMD", help="the command to run")
    reset = sub.add_parser("reset", help="reset a running emulator to its start-up fixtures")
    _add_url_flag(reset)
    reset.add_argument("--vendor", help="reset one vendor only")
    export = sub.add_parser("export", help="write a running emulator's state as a fixture document")
    _add_url_flag(export)
    export.add_argument("file", nargs="?", help="where to write it (default: standard output)")
    export.add_argument("--vendor", help="one vendor's part only")
    imp = sub.add_parser("import", help="replace a running emulator's state with a fixture document")
    _add_url_flag(imp)
    imp.add_argument("file", help="the document (- for standard input)")
    imp.add_argument("--merge", action="store_true", help="merge into the state instead of replacing it")
    return parser


def config_from_args(args: argparse.Namespace) -> Config:
    cfg = Config.from_env()
    for name in ("host", "port", "db", "auth", "log_level", "journal_size", "deliveries_size"):
        value = getattr(args, name, None)
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
    envsetup.apply_serve_flags(args, cfg)
    if getattr(args, "allowed_host", None):
        cfg.allowed_hosts = [*cfg.allowed_hosts, *args.allowed_host]
    cfg.check()
    if cfg.auth not in AUTH_MODES:
        raise ValueError(f"auth: expected one of {', '.join(AUTH_MODES)}, got {cfg.auth!r}")
    if cfg.deliveries_size < 0:
        raise ValueError(f"deliveries size: expected a non-negative integer, got {cfg.deliveries_size}")
    if cfg.log_level not in LOG_LEVELS:
        raise ValueError(f"log level: expected one of {', '.join(LOG_LEVELS)}, got {cfg.log_level!r}")
    return cfg


def _client_command(args: argparse.Namespace) -> int:
    url = commands.target_url(args.url)
    done: str | None
    try:
        if args.command == "reset":
            done = commands.reset(url, args.vendor)
        elif args.command == "export":
            done = commands.export(url, args.file, args.vendor)
        else:
            done = commands.import_(url, args.file, args.merge)
    except commands.CommandError as exc:
        print(f"device-api-emulator {args.command}: {exc}", file=sys.stderr)
        return exc.code
    if done:
        print(done, file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command in ("reset", "export", "import"):
        return _client_command(args)
    if args.command == "env":
        return envsetup.run_env_command(args)
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
    from .server import run, serve_forever

    try:
        if args.command == "exec":
            cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
            return commands.exec_(config, cmd)
        run(serve_forever(config))
    except CommandError as exc:
        print(f"device-api-emulator {args.command}: {exc}", file=sys.stderr)
        return exc.code
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
