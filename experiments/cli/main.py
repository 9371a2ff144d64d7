"""The ``massbargain`` command: train, evaluate, play, baselines, families, bench, facts. Each subcommand is a thin
call into the API.

======================  ==========================================================================
``massbargain train``     :func:`massbargain.agents.train.train` (PPO on Stable-Baselines3)
``massbargain evaluate``  :func:`massbargain.agents.loading.load_agent` +
                          :func:`massbargain.agents.evaluation.compare`
``massbargain play``      :func:`massbargain.experiments.cli.play.play`
``massbargain baselines`` :func:`massbargain.agents.evaluation.compare` on each preset
``massbargain families``  :func:`massbargain.agents.families.best_out_of_sample` (the best scripted
                          family member per mode and family, chosen on one seed, reported on another)
``massbargain bench``     :func:`massbargain.experiments.measures.bench.run_bench` (speed ratios)
``massbargain facts``     :mod:`massbargain.experiments.measures.facts` (the ten stylized facts, measured)
``massbargain sweep``     :mod:`massbargain.experiments.maps.sweep` (a grid x seeds, local or Ray)
``massbargain mode-map``  :mod:`massbargain.experiments.maps.mode_map` (the headline experiment)
``massbargain tune``      :mod:`massbargain.experiments.maps.tune` (Optuna search of the PPO recipe)
======================  ==========================================================================

User errors (an unknown preset, a bad ``--set`` key or value, a missing run directory, a bad config) print
``massbargain: error: <message>`` on stderr and exit with status 2, without a traceback. Ctrl-C exits with
status 130; during training it first saves a loadable model. Torch and Stable-Baselines3 are imported only
by ``train`` and ``evaluate``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from massbargain.agents.config import TrainConfig, UserError
from massbargain.agents.families import MODES
from massbargain.scenario import PRESETS, Scenario, ScenarioError

__all__ = ["build_parser", "main"]

PROG = "massbargain"
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

_TRAIN_EXAMPLES = """\
examples:
  massbargain train --scenario changxing --out runs/changxing
  massbargain train --scenario daye --set brokers.recklessness=0.5 --seed 1 --out runs/daye-rho05
  massbargain train --scenario my_county.yaml --timesteps 200000 --out runs/mine
  massbargain train --out runs/changxing --resume --timesteps 2000000  # continue to 2M in total

The run directory gets config.yaml (resolved configuration, package versions, seed), model.zip (last),
best_model.zip, checkpoints/, metrics.json and tb/ (TensorBoard: tensorboard --logdir RUN_DIR/tb).
Default hyperparameters: experiments/configs/ppo_default.yaml (--config replaces them).
Ctrl-C saves model.zip first; --resume continues from it.
"""

_EVALUATE_EXAMPLES = """\
examples:
  massbargain evaluate runs/changxing
  massbargain evaluate runs/changxing --episodes 5000 --json
  massbargain evaluate runs/daye --scenario daye --set superior.monitoring=0.9
  massbargain evaluate runs/daye --model final --seed 7 --deterministic
  massbargain evaluate runs/changxing --no-planner                      # skip the planner (~0.2 s an episode)

Every scripted baseline plays the same seeds, and so does the best scripted family member (docs/FAMILIES.md),
chosen among every member on other episodes (seed SEED + 1000000, as many of them): the yardstick the
agent is measured against. The agent is also compared with the honest reference planner on
--planner-episodes episodes (default 200, fewer than the baselines because the planner is slower), both
sides on the same episodes and superior luck: its mean return as a fraction of the planner's, with a 95%
paired bootstrap interval (the difference instead where the planner's return is near zero).
return: mean with 95% confidence interval; outcomes and
punishment: share of episodes; passive..mobilized: share of episodes by most escalated mode (they sum to
1); control: share of days spent on PACIFY or CRACKDOWN.
"""

_PLAY_EXAMPLES = """\
examples:
  massbargain play
  massbargain play --scenario changxing --seed 3
  massbargain play --scenario daye --set brokers.recklessness=0.2

Each day type a number 0-7 or an action name (a unique prefix will do), ? for help, q to quit.
"""

_BASELINES_EXAMPLES = """\
examples:
  massbargain baselines
  massbargain baselines --scenario changxing --episodes 5000
  massbargain baselines --json
"""

_FAMILIES_EXAMPLES = """\
examples:
  massbargain families --scenario daye
  massbargain families --scenario baseline --set superior.monitoring=1 --mode consent
  massbargain families --scenario changxing --episodes 2000 --seed 3 --json

Every member of the scripted families (docs/FAMILIES.md) plays the same episodes of seed SEED + 1000000;
the best member overall, of each mode and of each family is chosen there, then only the chosen members and
the old scripted baselines play the episodes of seed SEED, where their figures are reported: a return
chosen on the same episodes it is reported on would be biased upward by the choice.
"""


def _set_arg(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE (e.g. brokers.recklessness=0.9), got {text!r}")
    return key.strip(), value.strip()


def positive_int(text: str) -> int:
    """argparse type of the subcommands' counts (--episodes, --workers, ...): an integer >= 1."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return n


def _seed(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a seed (an integer >= 0), got {text!r}") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"expected a seed (an integer >= 0), got {text!r}")
    return n


def _scenario_args(p: argparse.ArgumentParser, default_help: str) -> None:
    p.add_argument(
        "--scenario",
        metavar="PRESET|FILE.yaml",
        help=f"a preset ({', '.join(PRESETS)}) or a scenario YAML file; {default_help}",
    )
    p.add_argument(
        "--set",
        dest="overrides",
        metavar="KEY=VALUE",
        type=_set_arg,
        action="append",
        default=[],
        help="override a scenario parameter by its dotted key, e.g. brokers.recklessness=0.9 (repeatable)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Train, evaluate and play the massbargain environment: a county official bargaining with "
        "the superior government by borrowing the power of the masses.",
        epilog="Run 'massbargain <command> --help' for a command's options and examples.",
    )
    sub = parser.add_subparsers(dest="command", metavar="command", required=True)
    fmt = argparse.RawDescriptionHelpFormatter

    p = sub.add_parser(
        "train",
        help="train a PPO agent into a run directory",
        description="Train PPO (Stable-Baselines3, CPU) on a scenario, with a progress bar, periodic "
        "evaluation, checkpoints and TensorBoard logs.",
        epilog=_TRAIN_EXAMPLES,
        formatter_class=fmt,
    )
    _scenario_args(p, "default: baseline")
    p.add_argument("--timesteps", type=positive_int, help="total environment steps (default: from the config)")
    p.add_argument("--seed", type=_seed, help="random seed (default: from the config)")
    p.add_argument("--n-envs", type=positive_int, help="parallel environments (default: from the config)")
    p.add_argument("--out", required=True, metavar="DIR", help="run directory to write (or to continue)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out up to --timesteps in total")
    p.add_argument(
        "--config", metavar="FILE.yaml", help="YAML of config fields overriding ppo_default.yaml (learning_rate: ...)"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser(
        "evaluate",
        help="evaluate a trained agent beside every scripted baseline",
        description="Evaluate a trained agent and every scripted baseline on the same seeds: mean return "
        "with a 95%% confidence interval, outcome rates, punishment rate and mode shares; and the agent's mean "
        "return as a fraction of the honest reference planner's.",
        epilog=_EVALUATE_EXAMPLES,
        formatter_class=fmt,
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory written by 'massbargain train'")
    p.add_argument("--episodes", type=positive_int, default=1000, help="episodes per policy (default: 1000)")
    _scenario_args(p, "default: the scenario the agent was trained on")
    p.add_argument("--seed", type=_seed, default=0, help="seed of the episodes (default: 0)")
    p.add_argument("--model", choices=("best", "final"), default="best", help="which model of the run (default: best)")
    p.add_argument(
        "--deterministic",
        action="store_true",
        help="the agent plays its most probable action (default: it samples, as it was trained)",
    )
    p.add_argument(
        "--planner-episodes",
        type=positive_int,
        default=200,
        help="episodes of the planner comparison (default: 200; the planner takes ~0.2 s an episode)",
    )
    p.add_argument("--no-planner", action="store_true", help="skip the comparison with the honest planner")
    p.add_argument("--json", action="store_true", help="print one JSON line with the same figures")
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser(
        "play",
        help="play the official yourself, day by day",
        description="Play the official in the terminal: each day choose an action, then see the county's "
        "state and the superior's reaction.",
        epilog=_PLAY_EXAMPLES,
        formatter_class=fmt,
    )
    _scenario_args(p, "default: baseline")
    p.add_argument("--seed", type=_seed, help="seed of the episode (default: random)")
    p.set_defaults(func=_cmd_play)

    p = sub.add_parser(
        "baselines",
        help="outcome table of every scripted baseline on each preset",
        description="Play every scripted baseline on each preset (or on one scenario) with the same seeds "
        "and print concession rate, punishment rate and mean return with its 95%% interval.",
        epilog=_BASELINES_EXAMPLES,
        formatter_class=fmt,
    )
    _scenario_args(p, "default: every preset")
    p.add_argument("--episodes", type=positive_int, default=1000, help="episodes per baseline (default: 1000)")
    p.add_argument("--seed", type=_seed, default=0, help="seed of the episodes (default: 0)")
    p.add_argument("--json", action="store_true", help="print one JSON line with the same figures")
    p.set_defaults(func=_cmd_baselines)

    p = sub.add_parser(
        "families",
        help="the strongest scripted policy: best family member per mode, chosen out of sample",
        description="Play every member of the scripted policy families on one seed, choose the best member "
        "overall, per mode and per family, and report the chosen members beside the old scripted baselines on "
        "another seed: mean return with its 95%% interval, concession, punishment, riot and Pyrrhic rates.",
        epilog=_FAMILIES_EXAMPLES,
        formatter_class=fmt,
    )
    _scenario_args(p, "default: baseline")
    p.add_argument("--episodes", type=positive_int, default=1000, help="episodes per member (default: 1000)")
    p.add_argument(
        "--seed", type=_seed, default=0, help="report seed (default: 0); members are chosen on seed + 1000000"
    )
    p.add_argument("--mode", choices=MODES, help="choose among the families of this mode only")
    p.add_argument("--json", action="store_true", help="print one JSON line with the same figures")
    p.set_defaults(func=_cmd_families)

    # Subcommands whose parsers live beside their code (each module: add_parser(subparsers) and run(args)).
    from massbargain.experiments.maps import mode_map, sweep, tune
    from massbargain.experiments.measures import bench, facts

    bench.add_parser(sub)
    facts.add_parser(sub)
    sweep.add_parser(sub)
    mode_map.add_parser(sub)
    tune.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 2 user error, 130 interrupted)."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        # Training has already said where it saved the model (TrainingInterrupted).
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (UserError, ScenarioError, FileNotFoundError) as exc:
        message = exc.args[0] if isinstance(exc, FileNotFoundError) and exc.args else exc
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # e.g. `massbargain baselines | head`
        return 0


# --- scenario helpers --------------------------------------------------------------------------------


def _resolve(spec: str | None, overrides: list[tuple[str, str]], base: Scenario | None = None) -> Scenario:
    """``--scenario`` (or ``base``, or the baseline preset) with the ``--set`` overrides applied."""
    if spec is not None:
        scenario = Scenario.resolve(spec)
    else:
        scenario = base if base is not None else Scenario.preset("baseline")
    return scenario.with_overrides(dict(overrides)) if overrides else scenario


# --- train ---------------------------------------------------------------------------------------------


def _cmd_train(args: argparse.Namespace) -> int:
    if args.resume:
        given = [
            flag
            for flag, v in (
                ("--scenario", args.scenario),
                ("--set", args.overrides),
                ("--seed", args.seed),
                ("--n-envs", args.n_envs),
                ("--config", args.config),
            )
            if v
        ]
        if given:
            raise UserError(f"--resume continues the run with its own configuration; drop {', '.join(given)}")
        if args.timesteps is None:
            raise UserError("--resume needs --timesteps: the new total of timesteps to train to")
        if not (Path(args.out) / "config.yaml").is_file():
            raise FileNotFoundError(
                f"no run to resume in {args.out!r} (no config.yaml); train it first without --resume"
            )
        from massbargain.agents.train import resume_config, train

        config = resume_config(args.out, timesteps=args.timesteps, progress_bar=not args.no_progress)
        train(config, resume=True)
        _print_next_steps(args.out)
        return 0

    config = TrainConfig.default()
    if args.config:
        config = TrainConfig.from_yaml(args.config, base=config)
    changes: dict[str, Any] = {"out": args.out, "progress_bar": not args.no_progress}
    if args.scenario is not None:
        changes["scenario"] = args.scenario
    if args.overrides:
        changes["overrides"] = {**config.overrides, **dict(args.overrides)}
    for field, value in (("timesteps", args.timesteps), ("seed", args.seed), ("n_envs", args.n_envs)):
        if value is not None:
            changes[field] = value
    config = config.replace(**changes)
    # Check the scenario before torch is imported, so that a typo fails at once.
    Scenario.resolve(config.scenario).with_overrides(config.overrides)
    out = Path(args.out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError(
            f"run directory {args.out!r} already exists and is not empty; pass --resume to continue it, "
            "or choose another --out"
        )
    from massbargain.agents.train import train

    train(config)
    _print_next_steps(args.out)
    return 0


def _print_next_steps(out: str) -> None:
    print(f"run directory: {out}\n  evaluate: massbargain evaluate {out}\n  curves:   tensorboard --logdir {out}/tb")


# --- evaluate ------------------------------------------------------------------------------------------


def _cmd_evaluate(args: argparse.Namespace) -> int:
    import yaml

    run_dir = Path(args.run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"run directory {args.run_dir!r} does not exist; train one with 'massbargain train'")
    if not (run_dir / "config.yaml").is_file():
        raise FileNotFoundError(f"{args.run_dir!r} is not a run directory (no config.yaml)")
    # Resolve the scenario (the run's own unless --scenario) before torch is imported, so a typo fails at once.
    stored = yaml.safe_load((run_dir / "config.yaml").read_text()) or {}
    trained_on = Scenario.from_dict(stored["scenario"]) if isinstance(stored.get("scenario"), dict) else None
    scenario = _resolve(args.scenario, args.overrides, base=trained_on)
    import torch

    from massbargain.agents.evaluation import BEST_MEMBER, compare, format_planner_ratio, format_table, planner_ratio
    from massbargain.agents.loading import load_agent

    torch.set_num_threads(1)
    agent = load_agent(run_dir, which=args.model, deterministic=args.deterministic)
    results = compare(agent, scenario, args.episodes, args.seed, name="agent", families=True)
    vs_planner = None if args.no_planner else planner_ratio(agent, scenario, args.planner_episodes, args.seed)
    mine = results["agent"]
    best = mine["best_baseline"]
    member = results[BEST_MEMBER]
    if args.json:
        record = {
            "run_dir": str(run_dir),
            "model": args.model,
            "deterministic": args.deterministic,
            "scenario": scenario.name,
            "episodes": args.episodes,
            "seed": args.seed,
            "agent": mine,
            "baselines": {k: v for k, v in results.items() if k not in ("agent", BEST_MEMBER)},
            "best_baseline": best,
            "advantage": mine["advantage"],
            "advantage_ci95": mine["advantage_ci95"],
            "best_member": member,
            "member_advantage": mine["member_advantage"],
            "member_advantage_ci95": mine["member_advantage_ci95"],
            "planner_ratio": None if vs_planner is None else vs_planner["planner_ratio"],
            "planner_ratio_ci95": None if vs_planner is None else vs_planner["planner_ratio_ci95"],
            "planner": vs_planner,
        }
        print(json.dumps(_finite(record), allow_nan=False))
        return 0
    title = (
        f"{run_dir} ({args.model} model, {'greedy' if args.deterministic else 'sampled'} actions) "
        f"on scenario {scenario.name!r}: {args.episodes} episodes per policy, seed {args.seed}; '{BEST_MEMBER}' is "
        f"the best of {member['candidates']} scripted family members, chosen on other episodes (seed "
        f"{member['choice_seed']}) and played here on seed {args.seed}"
    )
    print(format_table(results, title=title))
    print(f"{BEST_MEMBER}: {member['member']} (mode {member['mode']})")
    low, high = mine["member_advantage_ci95"]
    verdict = "beats" if low > 0 else "is below" if high < 0 else "is level with"
    print(
        f"agent {verdict} the best scripted family member: difference in mean return "
        f"{mine['member_advantage']:+.3f} [{low:+.3f}, {high:+.3f}] (95% CI, paired over the episodes)"
    )
    low, high = mine["advantage"] - mine["advantage_ci95"], mine["advantage"] + mine["advantage_ci95"]
    verdict = "beats" if low > 0 else "is below" if high < 0 else "is level with"
    print(
        f"agent {verdict} the best baseline ({best}, an old script chosen on these episodes): difference in mean "
        f"return {mine['advantage']:+.3f} ± {mine['advantage_ci95']:.3f} (95% CI)"
    )
    if vs_planner is not None:
        print(format_planner_ratio(vs_planner))
    return 0


def _finite(obj: Any) -> Any:
    """``obj`` with NaN and infinities replaced by None (JSON has no NaN; one episode has no interval)."""
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


# --- play ------------------------------------------------------------------------------------------------


def _cmd_play(args: argparse.Namespace) -> int:
    from massbargain.experiments.cli.play import play

    scenario = _resolve(args.scenario, args.overrides)
    play(scenario, seed=args.seed)
    return 0


# --- baselines -------------------------------------------------------------------------------------------


def _cmd_baselines(args: argparse.Namespace) -> int:
    from massbargain.agents.evaluation import compare

    if args.scenario is not None or args.overrides:
        scenarios = [_resolve(args.scenario, args.overrides)]
    else:
        scenarios = list(PRESETS.values())
    tables = {s.name: compare(None, s, args.episodes, args.seed) for s in scenarios}
    if args.json:
        record = {"episodes": args.episodes, "seed": args.seed, "scenarios": tables}
        print(json.dumps(_finite(record), allow_nan=False))
        return 0
    for name, results in tables.items():
        print(f"{name}: {args.episodes} episodes per baseline, seed {args.seed}")
        rows = [("baseline", "concession", "punishment", "return (95% CI)")]
        for policy, r in results.items():
            mark = "  <- best" if r["best_baseline"] == policy else ""
            rows.append(
                (
                    policy,
                    f"{100 * r['concession_rate']:.0f}%",
                    f"{100 * r['punishment_rate']:.0f}%",
                    f"{r['mean_return']:+.3f} ± {r['return_ci95']:.3f}{mark}",
                )
            )
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        for row in rows:
            print(f"  {row[0]:<{widths[0]}}  {row[1]:>{widths[1]}}  {row[2]:>{widths[2]}}  {row[3]}")
        print()
    return 0


# --- families --------------------------------------------------------------------------------------------


def _cmd_families(args: argparse.Namespace) -> int:
    from massbargain.agents.families import (
        BASELINE_MEMBERS,
        best_out_of_sample,
        choice_seed,
        format_out_of_sample,
        parse_member,
    )

    scenario = _resolve(args.scenario, args.overrides)
    days = scenario.horizon.days
    against = {name: parse_member(text, days) for name, text in BASELINE_MEMBERS.items()}
    report = best_out_of_sample(
        scenario,
        choice_seed(args.seed),
        args.seed,
        args.episodes,
        against=against,
        modes=None if args.mode is None else [args.mode],
    )
    if args.json:
        print(json.dumps(_finite(report.to_dict()), allow_nan=False))
        return 0
    print(format_out_of_sample(report))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
