"""`estatewatch simulate`: run simulated devices, sensors and guards."""

from __future__ import annotations

import argparse
import sys


def _run(args: argparse.Namespace) -> int:
    print("estatewatch simulate: not built yet (see the open issues)", file=sys.stderr)
    return 2


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("simulate", help="run simulated devices, sensors and guards")
    parser.set_defaults(run=_run)
