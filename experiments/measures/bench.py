"""``massbargain bench``: throughput figures, each measured against a reference in the same run.

Every figure is a ratio: massbargain's steps per second over a reference's, both timed in the same
process, interleaved, so that the machine's speed and load cancel out. The figures (``FIGURES``):

| figure           | massbargain                                   | reference                               | target |
|------------------|-----------------------------------------------|-----------------------------------------|--------|
| ``single``       | ``gym.make("MassBargain-v1")``                | ``gym.make("CartPole-v1")``             | ≥ 0.1  |
| ``vector_64``    | native vector env, 64 copies                  | CartPole's native vector env, 64        | —      |
| ``vector_1024``  | native vector env, 1024 copies                | CartPole's native vector env, 1024      | ≥ 0.05 |
| ``native_sync``  | native vector env, 64 copies                  | ``SyncVectorEnv`` of MassBargain, 64    | ≥ 10   |
| ``ppo``          | SB3 PPO on the native env via the adapter     | the same PPO on CartPole, same adapter  | ≥ 0.85 |

The reference planner's speed is reported beside the ratios (it has no reference to divide by): the
honest planner (:func:`massbargain.agents.planner.planner_speed`) plays episodes of the ``baseline``
preset, construction included; the full run plays 200 episodes (issue 8 asks for 200 in under 2 minutes),
``--quick`` plays 20 and scales the time up to 200 (an upper bound: the planner batches its episodes, so
more of them cost less each). Wall-clock and CPU seconds are both given; on a shared machine the CPU
seconds are the machine-independent figure.

And, in the full run only, two figures for information: ``ppo_dummy`` (the same PPO on massbargain
against CartPole on SB3's usual ``DummyVecEnv``) and ``ppo_native_vs_dummy`` (massbargain's PPO
through the native env against a ``DummyVecEnv`` of single envs).

Method. A machine shared with other work is noisy. Time is CPU time of the measuring thread
(``time.thread_time``), so the time other processes take from this one does not count; each throughput
is measured in several short windows (``--quick``: 3 of 0.1 s; full: 5 of 0.25 s), alternating
massbargain and its reference, and the best window of each is kept (the least disturbed one: caches and
memory bandwidth are still shared); the JSON also carries the median of the paired per-window ratios.
Environment steps count copies: one step of a 1024-copy vector env is 1024 steps.
Actions are drawn uniformly at random beforehand (massbargain's exclude ACCEPT, as the random baseline
does, so episodes have their usual length); finished episodes are reset as a user would (the vector envs
autoreset in their default ``NEXT_STEP`` mode). PPO runs with the project's default hyperparameters
(``experiments/configs/ppo_default.yaml`` through :class:`massbargain.agents.config.TrainConfig`, or the
same values from ``FALLBACK_PPO`` if that module is missing): its ``n_envs`` copies, ``n_steps``,
``batch_size``, ``n_epochs``, network, one torch thread and no argument validation, for both
environments; PPO iterations (collect a rollout, then train on it) alternate between the two, each phase
is timed apart, and a throughput is the rollout's steps over the best collection plus the best training.

Use from Python: ``run_bench(quick=True)`` returns the figures as a dict; ``format_table`` renders them.
From the command line (``experiments/cli/main.py`` wires ``add_parser`` and ``run``)::

    massbargain bench              # the full run, under 3 minutes
    massbargain bench --quick      # under a minute
    massbargain bench --json       # one JSON line instead of the table
    massbargain bench --check      # exit status 1 if a figure misses its target

This module imports torch and Stable-Baselines3 only for the PPO figures.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import statistics
import sys
import textwrap
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

import massbargain  # noqa: F401  (registers the environment ids)

__all__ = [
    "FALLBACK_PPO",
    "FIGURES",
    "Figure",
    "add_parser",
    "format_table",
    "main_bench",
    "run",
    "run_bench",
]

#: The clock of every window: CPU time of the measuring thread. On a shared machine, time other processes
#: take from this one does not count (wall-clock windows were seen to swing by 1.5x under load); the work
#: measured runs on this thread (numpy, Gymnasium, and torch set to one thread).
_clock = time.thread_time

ENV_ID = "MassBargain-v1"
REFERENCE_ID = "CartPole-v1"

#: PPO hyperparameters used when ``massbargain.agents.config`` is unavailable: the values of
#: ``experiments/configs/ppo_default.yaml`` at the time of writing. ``ppo`` holds keyword arguments of
#: ``stable_baselines3.PPO``; the other keys say how the environments, network and torch are set up.
FALLBACK_PPO: dict[str, Any] = {
    "ppo": {
        "learning_rate": 3e-4,
        "n_steps": 16,
        "batch_size": 256,
        "n_epochs": 5,
        "gamma": 0.995,
        "gae_lambda": 0.95,
        "clip_range": 0.2,
        "ent_coef": 0.05,
        "normalize_advantage": True,
        "vf_coef": 0.5,
        "max_grad_norm": 0.5,
    },
    "n_envs": 64,
    "net_arch": [64, 64],
    "activation": "tanh",
    "torch_threads": 1,
    "validate_args": False,
}

#: name -> (what is measured, reference, target ratio or None, goal ratio or None)
FIGURES: dict[str, tuple[str, str, float | None, float | None]] = {
    "single": ("gym.make MassBargain-v1", "gym.make CartPole-v1", 0.1, None),
    "vector_64": ("native vector env, 64 copies", "CartPole native vector env, 64", None, None),
    "vector_1024": ("native vector env, 1024 copies", "CartPole native vector env, 1024", 0.05, 0.25),
    "native_sync": ("native vector env, 64 copies", "SyncVectorEnv of MassBargain, 64", 10.0, None),
    "ppo": ("PPO, native env + SB3 adapter", "PPO on CartPole, same adapter (Sync)", 0.85, None),
    "ppo_dummy": ("PPO, native env + SB3 adapter", "PPO on CartPole, SB3 DummyVecEnv", None, None),
    "ppo_native_vs_dummy": ("PPO, native env + SB3 adapter", "PPO, DummyVecEnv of MassBargain", None, None),
}


@dataclass
class Figure:
    """One measured ratio: ``steps_per_s / reference_steps_per_s`` (best windows), and its context."""

    name: str
    subject: str
    reference: str
    steps_per_s: float
    reference_steps_per_s: float
    ratio: float
    ratio_median: float  # median over the paired (adjacent) windows
    windows: int
    target: float | None = None
    goal: float | None = None
    ok: bool | None = None  # None when the figure has no target
    notes: dict[str, Any] = field(default_factory=dict)


# --- timing ------------------------------------------------------------------------------------------------


def _rate(tick: Callable[[], int], window: float, chunk: int = 1) -> float:
    """Steps per CPU second of ``tick`` (one call returns the steps it took) over at least ``window`` CPU
    seconds of this thread, reading the clock every ``chunk`` calls."""
    steps, start = 0, _clock()
    while True:
        for _ in range(chunk):
            steps += tick()
        elapsed = _clock() - start
        if elapsed >= window:
            return steps / elapsed


def _chunk(tick: Callable[[], int], target: float = 0.002) -> int:
    """Calls of ``tick`` per clock reading so that a reading comes every ~``target`` CPU seconds (and also
    warms the workload up: caches, lazily built tables)."""
    start, calls = _clock(), 0
    while _clock() - start < 4 * target or calls < 4:
        tick()
        calls += 1
    return max(1, int(target * calls / (_clock() - start)))


def _compare(
    subject: Callable[[], int], reference: Callable[[], int], window: float, reps: int
) -> tuple[float, float, float]:
    """Best steps/s of subject and reference over ``reps`` alternating windows, and the median paired ratio."""
    chunks = _chunk(subject), _chunk(reference)
    a, b = [], []
    for _ in range(reps):
        a.append(_rate(subject, window, chunks[0]))
        b.append(_rate(reference, window, chunks[1]))
    return max(a), max(b), statistics.median(x / y for x, y in zip(a, b, strict=True))


# --- workloads: each returns tick() -> steps taken ---------------------------------------------------------


def _random_actions(n_actions: int, shape: tuple[int, ...], count: int, seed: int) -> list:
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n_actions, size=(count, *shape))
    return [int(x) for x in draws] if not shape else list(draws)


def _single(env_id: str, n_actions: int, seed: int) -> Callable[[], int]:
    env = gym.make(env_id)
    env.reset(seed=seed)
    actions = _random_actions(n_actions, (), 4096, seed)
    i = 0

    def tick() -> int:
        nonlocal i
        i += 1
        _, _, terminated, truncated, _ = env.step(actions[i & 4095])
        if terminated or truncated:
            env.reset()
        return 1

    return tick


def _vector(envs: gym.vector.VectorEnv, n_actions: int, seed: int) -> Callable[[], int]:
    envs.reset(seed=seed)
    n = envs.num_envs
    actions = _random_actions(n_actions, (n,), 64, seed)
    i = 0

    def tick() -> int:
        nonlocal i
        i += 1
        envs.step(actions[i & 63])
        return n

    return tick


# Actions of the random baseline: every action but ACCEPT (7), so that episodes last their usual length.
_MB_ACTIONS, _CP_ACTIONS = 7, 2


def _ppo_config(changes: dict[str, Any] | None = None) -> tuple[dict[str, Any], str]:
    """The project's default PPO hyperparameters, with ``changes`` (TrainConfig fields) applied, and where
    they came from. A bad field or value raises ``ConfigError`` naming it."""
    try:
        from massbargain.agents.config import TrainConfig

        cfg = TrainConfig.default()
    except Exception as exc:  # the config module or its YAML is missing or invalid
        if changes:
            raise
        return copy.deepcopy(FALLBACK_PPO), f"FALLBACK_PPO in bench.py ({type(exc).__name__})"
    source = "experiments/configs/ppo_default.yaml"
    if changes:
        cfg = cfg.replace(**changes)
        source += " with " + ", ".join(f"{k}={v}" for k, v in changes.items())
    values = {
        "ppo": cfg.ppo_kwargs(),
        "n_envs": cfg.n_envs,
        "net_arch": list(cfg.net_arch),
        "activation": cfg.activation,
        "torch_threads": cfg.torch_threads,
        "validate_args": cfg.validate_args,
    }
    return values, source


def _ppo(kind: str, hp: dict[str, Any], seed: int) -> tuple[Callable[[], tuple[float, float]], Callable[[], None]]:
    """A PPO model on one of the environments. Returns (iterate, close); ``iterate()`` runs one PPO iteration
    and returns its CPU seconds collecting and training."""
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecMonitor

    from massbargain.agents.sb3_vec import SB3VecEnv

    n = hp["n_envs"]
    same_step = gym.vector.AutoresetMode.SAME_STEP
    if kind == "massbargain":
        env = _training_env(n, seed)
    elif kind == "massbargain_dummy":
        env = make_vec_env(lambda: _SlimInfo(gym.make(ENV_ID, disable_env_checker=True)), n_envs=n)
    elif kind == "cartpole":
        venv = gym.make_vec(
            REFERENCE_ID, num_envs=n, vectorization_mode="sync", vector_kwargs={"autoreset_mode": same_step}
        )
        env = VecMonitor(SB3VecEnv(venv))
    elif kind == "cartpole_dummy":
        env = make_vec_env(REFERENCE_ID, n_envs=n)
    else:  # pragma: no cover
        raise ValueError(kind)
    activation = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU}[hp["activation"]]
    model = PPO(
        "MlpPolicy",
        env,
        **hp["ppo"],
        policy_kwargs={"net_arch": {"pi": hp["net_arch"], "vf": hp["net_arch"]}, "activation_fn": activation},
        seed=seed,
        device="cpu",
        verbose=0,
    )
    rollout = hp["ppo"]["n_steps"] * n
    marks: dict[str, float] = {}

    class Clock(BaseCallback):
        def _on_rollout_start(self) -> None:
            marks["start"] = _clock()

        def _on_rollout_end(self) -> None:
            marks["collected"] = _clock()

        def _on_step(self) -> bool:
            return True

    clock = Clock()

    def iterate() -> tuple[float, float]:
        """One PPO iteration: (CPU seconds collecting the rollout, CPU seconds training on it)."""
        model.learn(rollout, reset_num_timesteps=False, callback=clock)
        end = _clock()
        return marks["collected"] - marks["start"], end - marks["collected"]

    return iterate, env.close


def _training_env(n: int, seed: int) -> Any:
    """The environment training uses (``massbargain.agents.train.make_training_env``: the native vector env
    behind the SB3 adapter, with VecMonitor), or the adapter's defaults if that module is missing."""
    try:
        from massbargain.agents.train import make_training_env
    except ImportError:
        from massbargain.agents.sb3_vec import make_sb3_vec_env

        return make_sb3_vec_env(ENV_ID, n, seed=seed)
    from massbargain.scenario import Scenario

    return make_training_env(Scenario.preset("baseline"), n, seed)


class _SlimInfo(gym.Wrapper):
    """Drop the single env's info (as ``massbargain.agents.train`` does before a DummyVecEnv)."""

    def step(self, action: Any) -> tuple:
        obs, reward, terminated, truncated, _ = self.env.step(action)
        return obs, reward, terminated, truncated, {}

    def reset(self, **kwargs: Any) -> tuple:
        return self.env.reset(**kwargs)[0], {}


# --- the bench ---------------------------------------------------------------------------------------------


def run_bench(
    quick: bool = False,
    seed: int = 0,
    log: Callable[[str], None] | None = None,
    ppo_changes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Measure every figure of ``FIGURES`` (the PPO information figures only when not ``quick``).

    ``ppo_changes`` are TrainConfig fields changed for both PPO runs (e.g. ``{"n_envs": 16, "n_steps": 64}``);
    they are checked before anything is timed.

    Returns a JSON-ready dict: ``figures`` (name -> :class:`Figure` as a dict), ``ok`` (every target
    met), ``quick``, ``elapsed_s``, the PPO hyperparameters and their source, and the machine.
    """
    say = log or (lambda _msg: None)
    hp, source = _ppo_config(ppo_changes)  # first: a bad change fails before any timing
    window, reps = (0.1, 3) if quick else (0.25, 5)
    ppo_windows = 6 if quick else 12
    t0 = time.perf_counter()
    figures: dict[str, Figure] = {}

    def record(name: str, a: float, b: float, median: float, windows: int, **notes: Any) -> None:
        subject, reference, target, goal = FIGURES[name]
        ratio = a / b
        figures[name] = Figure(
            name, subject, reference, a, b, ratio, median, windows, target, goal,
            None if target is None else ratio >= target, notes,
        )  # fmt: skip
        say(f"{name}: {ratio:.3g}x ({a:,.0f} vs {b:,.0f} steps/s)")

    say("single env vs CartPole-v1")
    record(
        "single",
        *_compare(_single(ENV_ID, _MB_ACTIONS, seed), _single(REFERENCE_ID, _CP_ACTIONS, seed), window, reps),
        reps,
    )
    for n in (64, 1024):
        say(f"native vector env vs CartPole's, {n} copies")
        ours = _vector(gym.make_vec(ENV_ID, num_envs=n), _MB_ACTIONS, seed)
        ref = _vector(gym.make_vec(REFERENCE_ID, num_envs=n), _CP_ACTIONS, seed)
        record(f"vector_{n}", *_compare(ours, ref, window, reps), reps)
        if n == 64:
            say("native vector env vs SyncVectorEnv, 64 copies")
            sync = _vector(gym.make_vec(ENV_ID, num_envs=n, vectorization_mode="sync"), _MB_ACTIONS, seed)
            record("native_sync", *_compare(ours, sync, window, reps), reps)

    import torch

    threads, validate = torch.get_num_threads(), torch.distributions.Distribution._validate_args
    torch.set_num_threads(hp["torch_threads"])
    torch.distributions.Distribution.set_default_validate_args(hp["validate_args"])
    try:
        pairs = [("ppo", "massbargain", "cartpole")]
        if not quick:
            pairs += [
                ("ppo_dummy", "massbargain", "cartpole_dummy"),
                ("ppo_native_vs_dummy", "massbargain", "massbargain_dummy"),
            ]
        models: dict[str, tuple[Callable[[], tuple[float, float]], Callable[[], None]]] = {}
        rollout = hp["ppo"]["n_steps"] * hp["n_envs"]
        for name, a_kind, b_kind in pairs:
            say(f"PPO: {FIGURES[name][0]} vs {FIGURES[name][1]}")
            for kind in (a_kind, b_kind):
                if kind not in models:
                    models[kind] = _ppo(kind, hp, seed)
                    models[kind][0]()  # warm up: the first iteration builds buffers and resets
            a, b = [], []
            for _ in range(ppo_windows):  # alternating iterations
                a.append(models[a_kind][0]())
                b.append(models[b_kind][0]())
            # The least disturbed collection plus the least disturbed training: each phase is timed apart.
            rate_a = rollout / (min(c for c, _ in a) + min(u for _, u in a))
            rate_b = rollout / (min(c for c, _ in b) + min(u for _, u in b))
            median = statistics.median(sum(y) / sum(x) for x, y in zip(a, b, strict=True))
            record(
                name,
                rate_a,
                rate_b,
                median,
                ppo_windows,
                rollout_steps=rollout,
                collect_s=[round(min(c for c, _ in a), 6), round(min(c for c, _ in b), 6)],
                train_s=[round(min(u for _, u in a), 6), round(min(u for _, u in b), 6)],
            )
        for _, close in models.values():
            close()
    finally:
        torch.set_num_threads(threads)
        torch.distributions.Distribution.set_default_validate_args(validate)

    planner = _planner_speed(20 if quick else PLANNER_EPISODES, seed)
    say(
        f"planner: {planner['episodes_per_second']:.2f} episodes/s, {planner['seconds_200']:.0f} s for 200 episodes"
        f"{' (scaled from 20)' if quick else ''}"
    )

    targets = [f.ok for f in figures.values() if f.ok is not None]
    targets.append(planner["ok"])
    return {
        "figures": {name: asdict(f) for name, f in figures.items()},
        "planner": planner,
        "ok": all(targets),
        "quick": quick,
        "elapsed_s": round(time.perf_counter() - t0, 2),
        "method": (
            f"best of {reps} alternating windows of {window} CPU s; PPO: best collection + best training of "
            f"{ppo_windows} alternating iterations; "
            "clock: CPU time of the measuring thread"
        ),
        "ppo_hyperparameters": hp,
        "ppo_hyperparameters_source": source,
        "machine": _machine(),
    }


#: Episodes of the planner's speed figure in the full run, and the most seconds they may take (issue 8).
PLANNER_EPISODES, PLANNER_TARGET_S = 200, 120.0


def _planner_speed(episodes: int, seed: int) -> dict[str, Any]:
    """The honest planner on ``episodes`` episodes of ``baseline``: its speed and the time for 200 episodes."""
    from massbargain.agents.planner import planner_speed

    cpu = _clock()
    figures = planner_speed("honest", "baseline", episodes=episodes, seed=seed)
    cpu = _clock() - cpu
    scale = PLANNER_EPISODES / episodes
    seconds_200 = figures["seconds"] * scale
    return {
        **figures,
        "cpu_seconds": cpu,
        "seconds_200": seconds_200,
        "cpu_seconds_200": cpu * scale,
        "scaled": episodes != PLANNER_EPISODES,
        "target_s": PLANNER_TARGET_S,
        "ok": seconds_200 <= PLANNER_TARGET_S,
    }


def _machine() -> dict[str, Any]:
    from importlib import metadata

    versions = {}
    for dist in ("massbargain", "gymnasium", "stable-baselines3", "torch", "numpy"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:  # pragma: no cover
            versions[dist] = None
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {"python": platform.python_version(), "cpus": os.cpu_count(), "load_1min": load, **versions}


def format_table(result: dict[str, Any]) -> str:
    """The figures as a fixed-width text table, one row per figure, with the run's method below."""
    head = ("figure", "massbargain", "steps/s", "reference", "steps/s", "ratio", "target", "status")
    rows = [head]
    for f in result["figures"].values():
        target = "" if f["target"] is None else f">= {f['target']:g}"
        if f["goal"] is not None:
            target += f" (goal {f['goal']:g})"
        mark = "" if f["ok"] is None else ("ok" if f["ok"] else "MISSED")
        rows.append(
            (
                f["name"],
                f["subject"],
                f"{f['steps_per_s']:,.0f}",
                f["reference"],
                f"{f['reference_steps_per_s']:,.0f}",
                f"{f['ratio']:.3g}x",
                target,
                mark,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    right = {2, 4, 5}
    lines = []
    for k, r in enumerate(rows):
        cells = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))]
        lines.append("  ".join(cells).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    m = result["machine"]
    load = "" if m["load_1min"] is None else f", load {m['load_1min']:.2f}"
    p = result.get("planner")
    if p is not None:
        scaled = f" (scaled from {p['episodes']})" if p["scaled"] else ""
        lines.append("")
        lines.append(
            f"planner (honest, {p['scenario']}): {p['episodes_per_second']:.2f} episodes/s, "
            f"{p['ms_per_decision']:.1f} ms per episode-day; 200 episodes in {p['seconds_200']:.0f} s wall, "
            f"{p['cpu_seconds_200']:.0f} s CPU{scaled}; target <= {p['target_s']:.0f} s: "
            f"{'ok' if p['ok'] else 'MISSED'}"
        )
    lines.append("")
    lines.append(
        f"{'quick' if result['quick'] else 'full'} run, {result['elapsed_s']:.0f} s; {result['method']}; "
        f"PPO hyperparameters from {result['ppo_hyperparameters_source']}; {m['cpus']} CPUs{load}"
    )
    return "\n".join(lines)


# --- command line ------------------------------------------------------------------------------------------

HELP = "measure throughput against CartPole and Gymnasium's SyncVectorEnv (ratios), and the planner's speed"
EXAMPLES = """\
examples:
  massbargain bench --quick                  # under a minute
  massbargain bench                          # the full run, under 3 minutes (the README's table)
  massbargain bench --json > bench.json      # one JSON line
  massbargain bench --check                  # exit status 1 if a figure misses its target
  massbargain bench --set n_envs=16 --set n_steps=64   # time PPO under another layout

Every figure is a ratio to a reference timed in the same run, so the machine's speed and load cancel out.
"""
DESCRIPTION = (
    "Measure massbargain's steps per second, each as a ratio to a reference timed in the same run: the single "
    "env vs CartPole-v1, the native vector env (64 and 1024 copies) vs CartPole's native vector env, the native "
    "vector env vs a SyncVectorEnv of MassBargain (64 copies), and SB3 PPO training through the native env vs "
    "CartPole under identical settings; and the reference planner's episodes per second and time for 200 "
    "episodes. Progress goes to stderr, the table (or --json line) to stdout."
)


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``bench`` subcommand to an ``argparse`` subparsers object; its handler is :func:`run`."""
    parser = subparsers.add_parser(
        "bench",
        help=HELP,
        description=textwrap.fill(DESCRIPTION, 100),
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_arguments(parser)
    parser.set_defaults(func=run)
    return parser


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    from massbargain.agents.config import parse_assignment
    from massbargain.experiments.cli.main import seed_int

    parser.add_argument("--quick", action="store_true", help="shorter windows, fewer repeats: under a minute")
    parser.add_argument("--json", action="store_true", help="print one JSON line instead of the table")
    parser.add_argument("--check", action="store_true", help="exit with status 1 if a figure misses its target")
    parser.add_argument("--seed", type=seed_int, default=0, help="seed of environments, actions and PPO (default 0)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    parser.add_argument(
        "--set",
        dest="ppo_changes",
        action="append",
        type=parse_assignment,
        default=[],
        metavar="FIELD=VALUE",
        help="change a TrainConfig field for both PPO runs, e.g. --set n_envs=16 --set n_steps=64 (the "
        "default layout before 64 x 16); repeatable",
    )


def run(args: argparse.Namespace) -> int:
    """Run the bench for parsed arguments; prints the table (or JSON line) to stdout, returns the exit status."""
    from massbargain.extras import require

    require("train", what="massbargain bench")
    log = None if args.quiet else (lambda msg: print(f"bench: {msg}", file=sys.stderr, flush=True))
    result = run_bench(quick=args.quick, seed=args.seed, log=log, ppo_changes=dict(args.ppo_changes))
    print(json.dumps(result) if args.json else format_table(result), flush=True)
    return 1 if args.check and not result["ok"] else 0


def main_bench(argv: Sequence[str] | None = None) -> int:
    """``massbargain bench`` as a standalone entry point: ``main_bench(["--quick", "--json"])``."""
    parser = argparse.ArgumentParser(
        prog="massbargain bench",
        description=textwrap.fill(DESCRIPTION, 100),
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_arguments(parser)
    args = parser.parse_args(argv)
    from massbargain.agents.config import UserError

    try:
        return run(args)
    except UserError as exc:
        parser.error(str(exc))  # one line on stderr, exit status 2


if __name__ == "__main__":
    raise SystemExit(main_bench())
