"""The headline experiment (work in progress)."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``mode-map`` subcommand."""
    p = subparsers.add_parser("mode-map", help="the headline experiment: where learned policies favour each mode")
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument("--quick", action="store_true")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    raise NotImplementedError
