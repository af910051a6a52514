"""`estatewatch up`: the whole estate in one command on embedded defaults."""

from __future__ import annotations

import argparse
import sys


def _run(args: argparse.Namespace) -> int:
    print("estatewatch up: not built yet", file=sys.stderr)
    return 2


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("up", help="run the whole system on embedded defaults")
    parser.set_defaults(run=_run)
