"""The ``massbargain`` command line: one entry point, one subcommand per job."""

from massbargain.experiments.cli.main import build_parser, main, positive_int

__all__ = ["build_parser", "main", "positive_int"]
