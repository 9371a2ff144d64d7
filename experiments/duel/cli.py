"""``massbargain duel`` (fictitious play of the official and the learning superior) and ``massbargain
duel-report`` (what consent is worth against it, across duel directories)."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_parser", "run", "run_report"]

_EXAMPLES = """examples:
  massbargain duel --scenario daye --out runs/duel-daye
  massbargain duel --scenario daye --rounds 2 --official-steps 20000 --out runs/duel-quick
  massbargain duel --scenario baseline --set brokers.recklessness=0.8 --set superior.monitoring=0.8 --out runs/duel-cell
  massbargain duel-report runs/duel-daye runs/duel-cell --out runs/duel-report

A rerun of the same command continues from the last finished phase; another configuration in the same
--out is refused unless --overwrite (which moves the old contents aside)."""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``duel`` and ``duel-report``; :func:`run` and :func:`run_report` execute them."""
    from massbargain.experiments.cli.main import _scenario_args, positive_int, seed_int
    from massbargain.experiments.duel.train import DuelConfig

    d = DuelConfig()
    p = subparsers.add_parser(
        "duel",
        help="train the official and a learning superior against each other's pools (fictitious play)",
        description="Alternate PPO best responses of the county official and the prefecture, each against the "
        "uniform mixture of the other side's past policies (the scripted superior starts the superiors' pool); "
        "write every round's policies, the payoff table officials x superiors on the same episodes with 95%% "
        "intervals, and each side's gain from its last best response. Resumable.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _scenario_args(p, f"default: {d.scenario}")
    p.add_argument("--rounds", type=positive_int, default=d.rounds, help=f"rounds (default: {d.rounds})")
    p.add_argument(
        "--official-steps", type=positive_int, default=d.official_steps, help="PPO steps per official best response"
    )
    p.add_argument(
        "--superior-steps", type=positive_int, default=d.superior_steps, help="PPO steps per superior best response"
    )
    p.add_argument("--n-envs", type=positive_int, default=d.n_envs, help=f"parallel copies (default: {d.n_envs})")
    p.add_argument(
        "--episodes", type=positive_int, default=d.eval_episodes, help="episodes per pair of the payoff table"
    )
    p.add_argument("--seed", type=seed_int, default=d.seed, help=f"seed (default: {d.seed})")
    p.add_argument("--out", required=True, metavar="DIR", help="the duel directory")
    p.add_argument("--overwrite", action="store_true", help="move another configuration's contents aside first")
    p.set_defaults(func=run)

    r = subparsers.add_parser(
        "duel-report",
        help="officials' modes and rates against the scripted and the learned superior, across duel directories",
        description="For each duel directory: the officials' mode shares, concession, punishment and Pyrrhic "
        "rates against the scripted superior and against the last learned one, and the best consent and best "
        "mobilized scripted members against each (chosen on other episodes); a markdown report and a figure.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    r.add_argument("duels", nargs="+", metavar="DUEL_DIR", help="duel directories (massbargain duel --out)")
    r.add_argument("--episodes", type=positive_int, default=1000, help="episodes per measurement (default: 1000)")
    r.add_argument("--seed", type=seed_int, default=0, help="report seed; members are chosen on seed + 1000000")
    r.add_argument("--out", required=True, metavar="DIR", help="where report.md, report.json and report.png go")
    r.add_argument("--overwrite", action="store_true", help="move another configuration's contents aside first")
    r.set_defaults(func=run_report)
    return p


def config_from_args(args: argparse.Namespace) -> Any:
    from massbargain.experiments.duel.train import DuelConfig

    return DuelConfig(
        scenario=args.scenario or DuelConfig().scenario,
        overrides=dict(args.overrides),
        rounds=args.rounds,
        official_steps=args.official_steps,
        superior_steps=args.superior_steps,
        n_envs=args.n_envs,
        eval_episodes=args.episodes,
        seed=args.seed,
    )


def run(args: argparse.Namespace) -> int:
    """Execute ``massbargain duel``."""
    from massbargain.extras import require

    require("train", "duel", what="massbargain duel")
    from massbargain.agents.outdir import prepare_output_dir
    from massbargain.experiments.duel.train import WHAT, payoff_markdown, run_duel

    cfg = config_from_args(args)
    out = prepare_output_dir(args.out, cfg.record(), resume=True, overwrite=args.overwrite, what=WHAT)
    table = run_duel(cfg, out)
    print(payoff_markdown(table))
    return 0


def run_report(args: argparse.Namespace) -> int:
    """Execute ``massbargain duel-report``."""
    from massbargain.extras import require

    require("train", "analysis", what="massbargain duel-report")
    from pathlib import Path

    from massbargain.agents.config import UserError
    from massbargain.agents.outdir import prepare_output_dir
    from massbargain.experiments.duel.report import WHAT, write_report

    for d in args.duels:
        if not (Path(d) / "payoff.json").exists():
            raise UserError(f"{d!r} is not a finished duel directory (no payoff.json); run massbargain duel first")
    config = {"duels": [str(Path(d).resolve()) for d in args.duels], "episodes": args.episodes, "seed": args.seed}
    out = prepare_output_dir(args.out, config, resume=True, overwrite=args.overwrite, what=WHAT)
    text = write_report(args.duels, out, episodes=args.episodes, seed=args.seed)
    print(text)
    return 0
