"""The `estatewatch` command: one subcommand per component, plus config checks.

Each component owns its options: its `cli` module has `add_parser(subparsers)`, which sets
the parser's `run` default to a function taking the parsed arguments and returning an exit
status. Heavy imports happen inside `run`, so `estatewatch config check` starts fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from estatewatch import __version__
from estatewatch.errors import ConfigError
from estatewatch.logs import configure_logging

COMPONENT_CLIS = (
    "gateway.cli",
    "ingest.cli",
    "rules.cli",
    "api.cli",
    "simulators.cli",
    "estatewatch.up",
)


def _config_check(args: argparse.Namespace) -> int:
    from estatewatch.config import load_site

    status = 0
    for path in args.files:
        try:
            site = load_site(path)
        except ConfigError as exc:
            for issue in exc.issues:
                print(issue, file=sys.stderr)
            status = 1
            continue
        print(
            f"{path}: ok — site {site.site.id}: {len(site.buildings)} buildings,"
            f" {len(site.devices)} devices, {len(site.checkpoints)} checkpoints,"
            f" {len(site.routes)} routes"
        )
    return status


def _mqtt_acl(args: argparse.Namespace) -> int:
    from estatewatch.config import load_site
    from estatewatch.config.acl import render_acl

    print(render_acl(load_site(path) for path in args.files), end="")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="estatewatch",
        description="Equipment monitoring and guard patrol for managed estates.",
    )
    parser.add_argument("--version", action="version", version=f"estatewatch {__version__}")
    parser.add_argument(
        "--log-level",
        default=os.environ.get("EW_LOG_LEVEL", "INFO"),
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
    )
    parser.add_argument(
        "--log-format",
        default=os.environ.get("EW_LOG_FORMAT", "text"),
        choices=["text", "json"],
        help="json: one object per line, for log shippers (env EW_LOG_FORMAT)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    config = sub.add_parser("config", help="work with site configuration files")
    config_sub = config.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    check = config_sub.add_parser("check", help="validate site files; name every bad field")
    check.add_argument("files", nargs="+", metavar="FILE")
    check.set_defaults(run=_config_check)
    acl = config_sub.add_parser(
        "mqtt-acl", help="print the Mosquitto ACL for the gateways and handhelds of these sites"
    )
    acl.add_argument("files", nargs="+", metavar="FILE")
    acl.set_defaults(run=_mqtt_acl)

    for module_name in COMPONENT_CLIS:
        module = importlib.import_module(module_name)
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.log_level, args.log_format)
    # Libraries that log every request at INFO would drown the component's own lines.
    for noisy in ("httpx", "httpcore", "pymodbus", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
    try:
        status: int = args.run(args)
    except ConfigError as exc:
        for issue in exc.issues:
            print(issue, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return status


if __name__ == "__main__":
    raise SystemExit(main())
