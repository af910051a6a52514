"""`estatewatch api`: serve the duty room, technicians and guards.

    estatewatch api [--site FILE ...] [--database URL] [--mqtt URL] [--readings URL]
                    [--host H] [--port P]
    estatewatch api migrate                 bring the database schema up to date
    estatewatch api add-user NAME --role R  create a user (password from EW_NEW_PASSWORD
        [--estate ID ...] [--site FILE ...]  or a prompt), limited to the estates given

Everything else comes from `EW_*` environment variables (see `api.settings.Settings`).
"""

from __future__ import annotations

import argparse
import gc
import getpass
import os
import sys
from typing import Any


def _settings(args: argparse.Namespace) -> Any:
    from api.settings import Settings
    from estatewatch.errors import ConfigError
    from estatewatch.settings import from_args

    fixed: dict[str, Any] = {"environment": "development"} if getattr(args, "dev", False) else {}
    given = argparse.Namespace(**{k: v for k, v in vars(args).items() if v is not None})
    if not getattr(given, "sites", None):
        vars(given).pop("sites", None)
    try:
        return from_args(Settings, given, **fixed)
    except ConfigError as exc:
        for issue in exc.issues:
            print(f"estatewatch api: {issue}", file=sys.stderr)
        return None


def _freeze() -> None:
    """What start-up built (modules, site files, schemas, services: ~200k objects) lives as
    long as the process: out of the collector's sight, a full collection walks only what
    requests left behind. At 200k objects each one took 100-300 ms on a shared machine —
    the tail of every endpoint's latency (bench/api.py's queue p99). Young collections run
    every 20 000 allocations instead of 700: a storm of 1 000 alarms allocates millions of
    short-lived objects, and the collector's passes over them (and the full collections they
    led to) took ~40 ms of a burst's ~700; ~10 ms now (bench/notify.py)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


def _serve(args: argparse.Namespace) -> int:
    import socket

    import uvicorn

    from api.app import create_app
    from estatewatch.ready import announce

    settings = _settings(args)
    if settings is None:
        return 1
    app = create_app(settings, on_started=_freeze)
    # Bound here, not by uvicorn, so the port the OS gave for port 0 is known and announced.
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((settings.host, settings.port))
    except OSError as exc:
        sock.close()
        print(f"estatewatch api: cannot listen on {settings.host}:{settings.port}: {exc}",
              file=sys.stderr)  # fmt: skip
        return 1
    announce("api", sock.getsockname()[1])
    config = uvicorn.Config(app, log_level=args.log_level.lower())
    uvicorn.Server(config).run(sockets=[sock])
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from api.db import Database

    settings = _settings(args)
    if settings is None:
        return 1
    db = Database(settings.database_url)
    try:
        db.migrate()
    finally:
        db.dispose()
    print(f"database {db.url.render_as_string(hide_password=True)} is up to date")
    return 0


def _add_user(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from api.db import Database
    from api.domain.errors import DomainError
    from api.schemas.user import UserCreate
    from api.workflows import users as user_flows
    from estatewatch.clock import SystemClock

    settings = _settings(args)
    if settings is None:
        return 1
    password = os.environ.get("EW_NEW_PASSWORD") or getpass.getpass(f"password for {args.name}: ")
    try:
        data = UserCreate(
            username=args.name,
            password=password,
            role=args.role,
            full_name=args.full_name,
            contact=args.contact,
            guard_id=args.guard_id,
            estates=args.estates or [],
            trade=args.trade,
        )
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            print(f"{'.'.join(map(str, error['loc']))}: {error['msg']}", file=sys.stderr)
        return 1
    db = Database(settings.database_url)
    try:
        known = _site_ids(settings) if data.estates else None
        db.migrate()
        with db.write() as session:
            user_flows.create(
                session,
                data=data,
                cost=settings.password_cost,
                now=SystemClock().now(),
                known_sites=known,
            )
    except DomainError as exc:
        print(f"estatewatch api: {exc.detail}", file=sys.stderr)
        return 1
    finally:
        db.dispose()
    print(f"created {args.role} {args.name}")
    return 0


def _site_ids(settings: Any) -> list[str]:
    """The loaded sites' ids, which `--estate` must name (the site files of `--site`,
    `EW_SITES` or the settings file)."""
    from api.domain.errors import InvalidInput
    from api.sites import Sites

    if not settings.sites:
        raise InvalidInput("--estate needs the site files: give --site FILE", field="estates")
    return list(Sites.load(settings.sites, settings.dispatch_policy).ids)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database", dest="database_url", help="SQLite path or postgresql:// URL")
    parser.add_argument("--dev", action="store_true", help="development mode (EW_ENVIRONMENT)")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("api", help="serve the duty room, technicians and guards")
    _common(parser)
    parser.add_argument(
        "--settings", metavar="FILE", help="a YAML file of settings (or $EW_SETTINGS_FILE)"
    )
    parser.add_argument("--site", dest="sites", action="append", metavar="FILE")
    parser.add_argument("--dispatch-policy", dest="dispatch_policy", metavar="FILE")
    parser.add_argument("--mqtt", dest="mqtt_url", metavar="URL", help="e.g. mqtt://127.0.0.1:1883")
    parser.add_argument(
        "--readings",
        dest="readings_url",
        metavar="URL",
        help="stored readings: sqlite:PATH (as `ingest --sqlite PATH` writes) or an InfluxDB "
        "http(s):// URL (EW_READINGS_*)",
    )
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    parser.set_defaults(run=_serve)
    actions = parser.add_subparsers(dest="api_command", metavar="ACTION")

    migrate = actions.add_parser("migrate", help="bring the database schema up to date")
    _common(migrate)
    migrate.set_defaults(run=_migrate)

    add_user = actions.add_parser("add-user", help="create a user")
    _common(add_user)
    add_user.add_argument("name")
    add_user.add_argument(
        "--role",
        required=True,
        choices=["admin", "supervisor", "duty_engineer", "technician", "guard", "customer_service"],
    )
    add_user.add_argument("--full-name", default="")
    add_user.add_argument("--contact", default="")
    add_user.add_argument("--guard-id")
    add_user.add_argument(
        "--estate",
        dest="estates",
        action="append",
        metavar="SITE_ID",
        help="an estate (site id) the user may see; repeat for several; none: every estate",
    )
    add_user.add_argument("--site", dest="sites", action="append", metavar="FILE")
    add_user.add_argument("--trade", help="a technician's trade (elevator, water_electric, ...)")
    add_user.set_defaults(run=_add_user)
