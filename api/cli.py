"""`estatewatch api`: serve the duty room, technicians and guards."""

from __future__ import annotations

import argparse
import sys


def _run(args: argparse.Namespace) -> int:
    print("estatewatch api: not built yet (see the open issues)", file=sys.stderr)
    return 2


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("api", help="serve the duty room, technicians and guards")
    parser.set_defaults(run=_run)
