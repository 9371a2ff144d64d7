"""The ``massbargain`` command: train, evaluate, play, baselines, families, bench, facts, sweep, mode-map, tune.
Each subcommand is a thin call into the API.

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
``massbargain duel``      :mod:`massbargain.experiments.duel` (the learning superior; also ``duel-report``)
``massbargain explain``   :mod:`massbargain.experiments.explain` (agents distilled into readable rules)
``massbargain sensitivity`` :mod:`massbargain.experiments.measures.global_sensitivity` (Morris, Sobol)
======================  ==========================================================================

One error boundary, in :func:`main`: every expected failure prints ``massbargain: error: <message>`` (one
line) on stderr, without a traceback, and exits with

* status 2 for the user's input: a bad option or value, an unknown key, a missing or foreign file (a
  corrupt model, a folder made by another command), an output folder of another configuration, an
  unwritable folder, a missing extra (:class:`massbargain.agents.config.UserError`,
  :class:`massbargain.ScenarioError`, :class:`massbargain.extras.MissingExtra`);
* status 1 for a failure while the work runs: an I/O error (a disk full, a run directory removed during
  training), a lost or refused connection (a Ray cluster) (:class:`massbargain.agents.config.RunError`,
  ``OSError``);
* status 130 on Ctrl-C (training first saves a loadable model).

Anything else is a bug and shows its traceback. ``--debug`` (or ``MASSBARGAIN_DEBUG=1``) shows the
traceback of expected failures too. Torch and Stable-Baselines3 are imported only by the commands that
train or load agents; the commands that need an extra say which one when it is missing.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import threading
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

from massbargain.agents.config import (
    RUN_KIND,
    RunError,
    TrainConfig,
    UserError,
    fitting_batch_size,
    read_config_file,
)
from massbargain.agents.families import MODES
from massbargain.extras import MissingExtra, installed, require
from massbargain.scenario import PRESETS, Scenario, ScenarioError

__all__ = ["build_parser", "expected_failure", "main", "positive_int", "seed_int", "whole_number"]

PROG = "massbargain"
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
#: Environment variable that, set to anything but 0, shows tracebacks (as ``--debug`` does).
DEBUG_ENV = "MASSBARGAIN_DEBUG"

_TRAIN_EXAMPLES = """\
examples:
  massbargain train --scenario changxing --out runs/changxing
  massbargain train --scenario daye --set brokers.recklessness=0.5 --seed 1 --out runs/daye-rho05
  massbargain train --scenario my_county.yaml --timesteps 200000 --out runs/mine
  massbargain train --out runs/changxing --resume --timesteps 2000000  # continue to 2M in total
  massbargain train --scenario daye --n-envs 10 --timesteps 2e5 --out runs/daye-small
  massbargain train --scenario changxing --warm-start best --timesteps 50000 --out runs/changxing-warm

The run directory gets config.yaml (resolved configuration, package versions, seed), model.zip (last),
best_model.zip, checkpoints/, metrics.json, tb/ (TensorBoard: tensorboard --logdir RUN_DIR/tb) and
made_by.yaml. A folder holding another run is refused: choose another --out, or --overwrite moves the old
contents aside (never deletes). Default hyperparameters: experiments/configs/ppo_default.yaml (--config
replaces them); --n-envs that does not fit the default batch size gets the nearest one that does.
Ctrl-C saves model.zip first; --resume continues from it. The run ends with a verdict against the best
scripted baseline.
"""

_EVALUATE_EXAMPLES = """\
examples:
  massbargain evaluate runs/changxing
  massbargain evaluate runs/changxing --episodes 5000 --json
  massbargain evaluate runs/daye --scenario daye --set superior.monitoring=0.9
  massbargain evaluate runs/daye --model final --seed 7 --deterministic
  massbargain evaluate runs/daye/checkpoints/model_200000_steps.zip         # one model file of a run
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


def _set_arg(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` of ``--set``; a number is kept as a number (so config.yaml stores 0.9, not '0.9')."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE (e.g. brokers.recklessness=0.9), got {text!r}")
    value = value.strip()
    for kind in (int, float):
        try:
            number = kind(value)
        except ValueError:
            continue
        return key.strip(), number if math.isfinite(number) else value
    return key.strip(), value


def whole_number(text: str) -> int | None:
    """``text`` as a whole number, or None: ``100000``, ``100_000``, ``1e5`` and ``2.0e6`` all count."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        x = float(text)
    except ValueError:
        return None
    return int(x) if math.isfinite(x) and x.is_integer() else None


def positive_int(text: str) -> int:
    """argparse type of the subcommands' counts (--episodes, --timesteps, --workers, ...): a whole number
    >= 1, also written as ``1e5``."""
    n = whole_number(text)
    if n is None or n < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number (e.g. 1000 or 1e5), got {text!r}")
    return n


def seed_int(text: str) -> int:
    """argparse type of seeds: a whole number >= 0, also written as ``1e3``."""
    n = whole_number(text)
    if n is None or n < 0:
        raise argparse.ArgumentTypeError(f"expected a seed (a whole number >= 0), got {text!r}")
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


class _Parser(argparse.ArgumentParser):
    """argparse with its errors in the command line's one-line form (its subcommands' parsers too)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{PROG}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Train, evaluate and play the massbargain environment: a county official bargaining with "
        "the superior government by borrowing the power of the masses.",
        epilog="Run 'massbargain <command> --help' for a command's options and examples.",
    )
    parser.add_argument("--version", action=_Version, help="print the version and the installed extras, then exit")
    parser.add_argument("--debug", action="store_true", help=f"show the traceback of an error (or set {DEBUG_ENV}=1)")
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
    p.add_argument("--seed", type=seed_int, help="random seed (default: from the config)")
    p.add_argument("--n-envs", type=positive_int, help="parallel environments (default: from the config)")
    p.add_argument("--out", required=True, metavar="DIR", help="run directory to write (or to continue)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out up to --timesteps in total")
    p.add_argument(
        "--overwrite", action="store_true", help="move what --out holds aside (DIR.old-<time>) and start afresh"
    )
    p.add_argument(
        "--config", metavar="FILE.yaml", help="YAML of config fields overriding ppo_default.yaml (learning_rate: ...)"
    )
    p.add_argument(
        "--warm-start",
        metavar="MEMBER|best",
        help="start PPO as a behaviour-cloned copy of a scripted family member, or of the scenario's best one "
        "('best'); sets accept_warmup to 0 (docs/TRAINING.md)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser(
        "evaluate",
        help="evaluate a trained agent beside every scripted baseline",
        description="Evaluate a trained agent and every scripted baseline on the same seeds: mean return "
        "with a 95% confidence interval, outcome rates, punishment rate and mode shares; and the agent's mean "
        "return as a fraction of the honest reference planner's.",
        epilog=_EVALUATE_EXAMPLES,
        formatter_class=fmt,
    )
    p.add_argument(
        "run_dir", metavar="RUN_DIR", help="a run directory written by 'massbargain train' (or one model .zip in it)"
    )
    p.add_argument("--episodes", type=positive_int, default=1000, help="episodes per policy (default: 1000)")
    _scenario_args(p, "default: the scenario the agent was trained on")
    p.add_argument("--seed", type=seed_int, default=0, help="seed of the episodes (default: 0)")
    p.add_argument("--model", choices=("best", "final"), help="which model of the run (default: best)")
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
    p.add_argument("--seed", type=seed_int, help="seed of the episode (default: random)")
    p.set_defaults(func=_cmd_play)

    p = sub.add_parser(
        "baselines",
        help="outcome table of every scripted baseline on each preset",
        description="Play every scripted baseline on each preset (or on one scenario) with the same seeds "
        "and print concession rate, punishment rate and mean return with its 95% interval.",
        epilog=_BASELINES_EXAMPLES,
        formatter_class=fmt,
    )
    _scenario_args(p, "default: every preset")
    p.add_argument("--episodes", type=positive_int, default=1000, help="episodes per baseline (default: 1000)")
    p.add_argument("--seed", type=seed_int, default=0, help="seed of the episodes (default: 0)")
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
        "--seed", type=seed_int, default=0, help="report seed (default: 0); members are chosen on seed + 1000000"
    )
    p.add_argument("--mode", choices=MODES, help="choose among the families of this mode only")
    p.add_argument("--json", action="store_true", help="print one JSON line with the same figures")
    p.set_defaults(func=_cmd_families)

    # Subcommands whose parsers live beside their code (each module: add_parser(subparsers) and run(args)).
    from massbargain.experiments.duel import cli as duel_cli
    from massbargain.experiments.explain import cli as explain
    from massbargain.experiments.maps import mode_map, sweep, tune
    from massbargain.experiments.measures import bench, facts, global_sensitivity

    bench.add_parser(sub)
    facts.add_parser(sub)
    sweep.add_parser(sub)
    mode_map.add_parser(sub)
    tune.add_parser(sub)
    duel_cli.add_parser(sub)
    explain.add_parser(sub)
    global_sensitivity.add_parser(sub)
    for command in sub.choices.values():  # --debug also after the command (massbargain train ... --debug)
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return parser


class _Version(argparse.Action):
    """``--version``: massbargain's version, Python's, and the extras installed (massbargain.extras)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest=dest, default=argparse.SUPPRESS, nargs=0, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        import massbargain

        extras = ", ".join(installed()) or "none"
        print(f"massbargain {massbargain.__version__} (Python {platform.python_version()}; extras installed: {extras})")
        parser.exit()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 failure while running, 2 the user's input,
    130 interrupted). The one error boundary of the command line: see the module docstring."""
    args = build_parser().parse_args(argv)
    debug = bool(getattr(args, "debug", False)) or os.environ.get(DEBUG_ENV, "").strip() not in ("", "0")
    hook = threading.excepthook
    if not debug:
        threading.excepthook = _thread_failure  # a library's background thread (TensorBoard's writer)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        # Training has already said where it saved the model (TrainingInterrupted).
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `massbargain baselines | head`
        return 0
    except Exception as exc:
        failure = expected_failure(exc)
        if failure is None:
            raise  # a bug: its traceback
        if debug:
            traceback.print_exc()
        status, message = failure
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return status
    finally:
        threading.excepthook = hook


def _thread_failure(args: threading.ExceptHookArgs) -> None:
    """An expected failure in a background thread: one warning line (the main thread reports the error it
    causes, if any); anything else: the usual traceback."""
    failure = expected_failure(args.exc_value) if args.exc_value is not None else None
    if failure is None:
        threading.__excepthook__(args)
    else:
        print(f"{PROG}: warning: in a background thread: {failure[1]}", file=sys.stderr)


def expected_failure(exc: BaseException) -> tuple[int, str] | None:
    """The exit status and one-line message of a failure that is not a bug, or None for a bug.

    The user's input (status 2): UserError, ScenarioError, MissingExtra, and an OSError that massbargain
    raised with a message of its own (no errno: e.g. a run directory that does not exist). While running
    (status 1): RunError, a connection error, and an OSError of the system (errno set: a disk full, a file
    removed under the command's feet), shown as ``<reason>: '<file>'``.
    """
    if isinstance(exc, (UserError, ScenarioError, MissingExtra)):
        return EXIT_USAGE, _one_line(str(exc))
    if isinstance(exc, RunError):
        return EXIT_FAILURE, _one_line(str(exc))
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return EXIT_FAILURE, _one_line(f"connection failed: {exc}")
    if isinstance(exc, OSError):
        if exc.errno is None and exc.args:
            return EXIT_USAGE, _one_line(str(exc.args[0]))
        where = f": {os.fsdecode(exc.filename)!r}" if exc.filename is not None else ""
        return EXIT_FAILURE, _one_line(f"{exc.strerror or exc}{where}")
    return None


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


# --- scenario helpers --------------------------------------------------------------------------------


def _resolve(spec: str | None, overrides: list[tuple[str, Any]], base: Scenario | None = None) -> Scenario:
    """``--scenario`` (or ``base``, or the baseline preset) with the ``--set`` overrides applied."""
    if spec is not None:
        scenario = Scenario.resolve(spec)
    else:
        scenario = base if base is not None else Scenario.preset("baseline")
    return scenario.with_overrides(dict(overrides)) if overrides else scenario


def _label(spec: str, overrides: Mapping[str, Any]) -> str:
    """How a scenario was asked for, for headers: ``daye``, ``my_county.yaml``, ``daye with utility.stakes=0.5``."""
    changes = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in overrides.items())
    return f"{spec} with {changes}" if changes else str(spec)


# --- train ---------------------------------------------------------------------------------------------


def _cmd_train(args: argparse.Namespace) -> int:
    require("train", what="massbargain train")
    if args.resume:
        given = [
            flag
            for flag, v in (
                ("--scenario", args.scenario),
                ("--set", args.overrides),
                ("--seed", args.seed),
                ("--n-envs", args.n_envs),
                ("--config", args.config),
                ("--warm-start", args.warm_start),
                ("--overwrite", args.overwrite),
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

    # The defaults, then --config's fields, then the options; validated once, all together (a --config that
    # fits only with --n-envs is fine).
    default = TrainConfig.default()
    fields: dict[str, Any] = read_config_file(args.config) if args.config else {}
    if args.scenario is not None:
        fields["scenario"] = args.scenario
    if args.overrides:
        fields["overrides"] = {**(fields.get("overrides") or default.overrides), **dict(args.overrides)}
    for field, value in (("timesteps", args.timesteps), ("seed", args.seed), ("n_envs", args.n_envs)):
        if value is not None:
            fields[field] = value
    if args.warm_start is not None:
        fields.update(warm_start=args.warm_start, accept_warmup=0)
    n_steps, batch = fields.get("n_steps", default.n_steps), fields.get("batch_size", default.batch_size)
    fits = not (_whole(n_steps) and _whole(batch)) or (n_steps * (args.n_envs or 1)) % batch == 0
    if args.n_envs is not None and "batch_size" not in fields and not fits:
        # --n-envs that the default minibatch does not divide: the nearest minibatch that does.
        rollout = n_steps * args.n_envs
        fields["batch_size"] = fitting_batch_size(rollout, batch)
        print(
            f"note: batch_size {batch} does not divide the rollout ({n_steps} steps x {args.n_envs} envs = "
            f"{rollout}); using batch_size {fields['batch_size']}"
        )
    fields.update(out=args.out, progress_bar=not args.no_progress)
    config = TrainConfig.from_dict(fields, base=default, source=Path(args.config).name if args.config else "")
    # The scenario and the output folder are checked before torch is imported, so that a mistake fails at once.
    from massbargain.agents.outdir import check_output_dir

    scenario = Scenario.resolve(config.scenario).with_overrides(config.overrides)
    check_output_dir(args.out, config.run_identity(scenario), resume=False, overwrite=args.overwrite, what=RUN_KIND)
    from massbargain.agents.train import train

    train(config, overwrite=args.overwrite)
    _print_next_steps(args.out)
    return 0


def _whole(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x >= 1


def _print_next_steps(out: str) -> None:
    print(f"run directory: {out}\n  evaluate: massbargain evaluate {out}\n  curves:   tensorboard --logdir {out}/tb")


# --- evaluate ------------------------------------------------------------------------------------------


def _run_and_model(given: str, model: str | None) -> tuple[Path, str]:
    """The run directory and the model (``best``, ``final`` or a file) of ``evaluate``'s argument: a run
    directory, or one model .zip inside one (e.g. a checkpoint)."""
    path = Path(given)
    if not path.is_file():
        return path, model or "best"
    if path.suffix != ".zip":
        raise UserError(f"{given!r} is a file; pass a run directory written by 'massbargain train' or a model .zip")
    if model is not None:
        raise UserError(f"{given!r} is one model file; --model picks a model of a run directory: drop it")
    for run_dir in (path.parent, path.parent.parent):
        if (run_dir / "config.yaml").is_file():
            return run_dir, str(path)
    raise UserError(f"{given!r} is not inside a run directory (no config.yaml beside it or one folder up)")


def _cmd_evaluate(args: argparse.Namespace) -> int:
    require("train", what="massbargain evaluate")
    from massbargain.agents.loading import read_run_config

    run_dir, which = _run_and_model(args.run_dir, args.model)
    # Resolve the scenario (the run's own unless --scenario) before torch is imported, so a typo fails at once.
    stored = read_run_config(run_dir)
    trained_on = Scenario.from_dict(stored["scenario"])
    scenario = _resolve(args.scenario, args.overrides, base=trained_on)
    if args.scenario is None:
        run = stored["config"]
        label = _label(run.get("scenario", trained_on.name), {**run.get("overrides", {}), **dict(args.overrides)})
    else:
        label = _label(args.scenario, dict(args.overrides))
    import torch

    from massbargain.agents.evaluation import BEST_MEMBER, compare, format_planner_ratio, format_table, planner_ratio
    from massbargain.agents.loading import load_agent

    torch.set_num_threads(1)
    agent = load_agent(run_dir, which=which, deterministic=args.deterministic)
    results = compare(agent, scenario, args.episodes, args.seed, name="agent", families=True)
    vs_planner = None if args.no_planner else planner_ratio(agent, scenario, args.planner_episodes, args.seed)
    mine = results["agent"]
    best = mine["best_baseline"]
    member = results[BEST_MEMBER]
    model = which if which in ("best", "final") else Path(which).name
    if args.json:
        record = {
            "run_dir": str(run_dir),
            "model": model,
            "deterministic": args.deterministic,
            "scenario": label,
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
        f"{run_dir} ({model} model, {'greedy' if args.deterministic else 'sampled'} actions) "
        f"on {label}: {args.episodes} episodes per policy, seed {args.seed}; '{BEST_MEMBER}' is "
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
        label = _label(args.scenario or "baseline", dict(args.overrides))
        scenarios = {label: _resolve(args.scenario, args.overrides)}
    else:
        scenarios = dict(PRESETS)
    tables = {name: compare(None, s, args.episodes, args.seed) for name, s in scenarios.items()}
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
