"""`estatewatch ingest`: write telemetry from MQTT into InfluxDB."""

from __future__ import annotations

import argparse
import sys


def _run(args: argparse.Namespace) -> int:
    print("estatewatch ingest: not built yet (see the open issues)", file=sys.stderr)
    return 2


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("ingest", help="write telemetry from MQTT into InfluxDB")
    parser.set_defaults(run=_run)
