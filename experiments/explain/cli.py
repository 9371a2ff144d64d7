"""``massbargain explain RUN_DIR [RUN_DIR ...]``: distil trained agents into decision trees and print the rules."""

from __future__ import annotations

import argparse
import json
from typing import Any

_EXAMPLES = """examples:
  massbargain explain runs/changxing-s0
  massbargain explain runs/changxing-s0 runs/changxing-s1 runs/changxing-s2 --out runs/explain-changxing
  massbargain explain runs/daye-s0 --depth 3 --episodes 5000

For each run: the tree (depth: the shallowest within 2% of the agent's validation return, unless --depth),
its rules with each rule's coverage and agreement, and tree and agent on the same held-out episodes (paired
95% interval of the difference; ratio of mean returns). With several runs: a table side by side, the rules in
columns, and how often their trees act alike. --out writes summary.csv, explain.json and rules.txt."""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``explain`` subcommand; :func:`run` executes it."""
    from massbargain.experiments.cli.main import positive_int, seed_int

    p = subparsers.add_parser(
        "explain",
        help="distil trained agents into small decision trees and print their rules",
        description="Distil each trained agent into a small decision tree (DAgger on the tree's own visits, "
        "states weighted by how decided the agent is) and print its rules in the model's units, with coverage, "
        "agreement and the tree's return beside the agent's on held-out episodes.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="run directories written by massbargain train")
    p.add_argument("--depth", type=positive_int, help="tree depth (default: the shallowest within --tolerance)")
    p.add_argument("--max-depth", type=positive_int, default=6, help="deepest tree tried (default: 6)")
    p.add_argument("--tolerance", type=float, default=0.02, help="relative shortfall accepted (default: 0.02)")
    p.add_argument("--iterations", type=int, default=6, help="DAgger iterations (default: 6)")
    p.add_argument("--rollouts", type=positive_int, default=300, help="episodes per DAgger iteration (default: 300)")
    p.add_argument("--weight", choices=("max_prob", "certainty", "none"), default="max_prob", help="state weight")
    p.add_argument("--episodes", type=positive_int, default=2000, help="held-out episodes (default: 2000)")
    p.add_argument("--eval-seed", type=seed_int, default=10_000, help="seed of the held-out episodes (10000)")
    p.add_argument("--seed", type=seed_int, default=0, help="seed of the distillation (default: 0)")
    p.add_argument("--model", default="best", help="best (default), final, or a model .zip of the run")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--out", metavar="DIR", help="also write summary.csv, explain.json and rules.txt here")
    p.add_argument("--overwrite", action="store_true", help="move what --out holds aside first")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from massbargain.agents.config import UserError
    from massbargain.extras import require

    require("train", "explain", what="massbargain explain")
    from massbargain.agents.loading import read_run_config
    from massbargain.experiments.explain import DistilConfig, explain_runs, format_explanations, summary_rows

    for run_dir in args.run_dirs:
        read_run_config(run_dir)  # a missing or foreign folder fails before any work
    if not 0.0 <= args.tolerance < 1.0:
        raise UserError(f"--tolerance must be in [0, 1), got {args.tolerance}")
    if args.iterations < 0:
        raise UserError(f"--iterations must be >= 0, got {args.iterations}")
    config = DistilConfig(
        depth=args.depth,
        max_depth=args.max_depth,
        tolerance=args.tolerance,
        iterations=args.iterations,
        episodes=args.rollouts,
        weight=args.weight,
        seed=args.seed,
    )
    settings = {
        "runs": [str(r) for r in args.run_dirs],
        "model": args.model,
        "distil": {k: getattr(config, k) for k in config.__dataclass_fields__},
        "episodes": args.episodes,
        "eval_seed": args.eval_seed,
    }
    out = None
    if args.out:
        from massbargain.agents.outdir import prepare_output_dir

        out = prepare_output_dir(args.out, settings, resume=True, overwrite=args.overwrite, what="explanation")
    try:
        explanations = explain_runs(
            args.run_dirs, config, which=args.model, episodes=args.episodes, eval_seed=args.eval_seed
        )
    except ValueError as exc:
        raise UserError(str(exc)) from None
    text = format_explanations(explanations)
    record = {**settings, "explanations": [e.to_dict() for e in explanations]}
    if out is not None:
        import csv
        import io

        from massbargain.agents.outdir import atomic_write_text

        rows = summary_rows(explanations)
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
        atomic_write_text(out / "summary.csv", buf.getvalue())
        atomic_write_text(out / "explain.json", json.dumps(_finite(record), indent=1, allow_nan=False))
        atomic_write_text(out / "rules.txt", text + "\n")
    print(json.dumps(_finite(record), allow_nan=False) if args.json else text)
    return 0


def _finite(obj: Any) -> Any:
    from massbargain.experiments.cli.main import _finite as finite

    return finite(obj)
