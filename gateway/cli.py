"""`estatewatch gateway`: poll devices, take patrol scans, forward to the central broker."""

from __future__ import annotations

import argparse
import sys


def _run(args: argparse.Namespace) -> int:
    print("estatewatch gateway: not built yet (see the open issues)", file=sys.stderr)
    return 2


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "gateway", help="poll devices, take patrol scans, forward to the central broker"
    )
    parser.set_defaults(run=_run)
