"""`estatewatch rules`: raise alarms on the live stream."""

from __future__ import annotations

import argparse
import sys


def _run(args: argparse.Namespace) -> int:
    print("estatewatch rules: not built yet (see the open issues)", file=sys.stderr)
    return 2


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("rules", help="raise alarms on the live stream")
    parser.set_defaults(run=_run)
