"""The PPO table: the default training run on every preset and seed, beside the best script and the planners.

For each preset (``baseline``, ``changxing``, ``daye``) and each seed (0, 1, 2) this script trains the
default configuration (``experiments/configs/ppo_default.yaml``, or it with ``--set`` changes) into
``OUT/<preset>/seed<k>``, then evaluates, on the same episodes:

* each trained agent (``load_agent`` defaults: the best model, sampled actions; ``--deterministic`` for
  greedy), ``--episodes`` episodes (default 2000) with evaluation seed ``--eval-seed`` (default 0);
* the best scripted family member (:mod:`massbargain.agents.families`), chosen out of sample: every member
  plays ``--episodes`` episodes of seed ``eval_seed + 1_000_000`` and the one with the highest mean return
  then plays the evaluation episodes (a script chosen on the episodes it is reported on would be flattered
  by the choice);
* the honest and the clairvoyant planner built on that member and on giving in (``ACCEPT``), as the mode
  map's, so that the planner is at least as good as the member by construction (up to sampling noise), on
  ``--planner-episodes`` episodes (default 500: the planner takes ~0.1-0.3 s per episode), with the same
  evaluation seed;
* each agent again on the planner's episodes, so that PPO/planner is a paired ratio.

Every evaluation uses common luck (:func:`massbargain.agents.planner.evaluate_policy`): episode ``i``
meets the same hidden draws and the same superior luck for every policy, which pairs the comparisons.

Usage::

    python -m massbargain.experiments.measures.ppo_table --out runs/table              # train, evaluate, print
    python -m massbargain.experiments.measures.ppo_table --out runs/table --json       # the figures as JSON
    python -m massbargain.experiments.measures.ppo_table --out runs/try --presets baseline --set n_epochs=5

It is resumable: finished run directories (``metrics.json`` with status ``complete``) are not trained
again, and every evaluation is cached in ``OUT`` as JSON (``<preset>/best_member.json``,
``<preset>/planner_<kind>.json``, ``<preset>/seed<k>/table_eval.json``); an interrupted run directory is
resumed to the configured total. Two processes run at once by default (``--jobs``), each with one torch
thread. The table goes to stdout and to ``OUT/table.md``.

Columns: PPO is the mean over seeds of each seed's mean return, ± the 95% interval of that mean from
the episodes (the seeds' episodes pooled), with the range of the seeds' means; the best member and
the planners are means ± 95% intervals over their episodes; PPO/planner is the mean over seeds of the
agent's return on the planner's episodes divided by the planner's return there, with a paired bootstrap
95% interval over episodes (where the planner's return is within 0.05 of zero, the difference is given
instead), and the range of the per-seed ratios; wall time is the training session's wall clock per run,
with the 1-minute load average when it ended.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from massbargain.agents.config import parse_assignment

PRESETS = ("baseline", "changxing", "daye")
SEEDS = (0, 1, 2)
PLANNERS = ("honest", "clairvoyant")

__all__ = ["PRESETS", "SEEDS", "build_table", "format_markdown", "main", "run_table"]


# --- work done in the worker processes ---------------------------------------------------------------------


def _one_thread() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)


def _train_run(config: dict[str, Any]) -> dict[str, Any]:
    """Train one run directory (or resume an interrupted one); return its timing."""
    _one_thread()
    from massbargain.agents.config import TrainConfig
    from massbargain.agents.train import train

    cfg = TrainConfig.from_dict(config)
    run_dir = Path(cfg.out)
    resume = (run_dir / "config.yaml").is_file()
    train(cfg, resume=resume)
    return _timing(run_dir)


def _timing(run_dir: Path) -> dict[str, Any]:
    metrics = json.loads((run_dir / "metrics.json").read_text())
    sessions = metrics.get("sessions", [])
    return {
        "seconds": sum(s["seconds"] for s in sessions),
        "timesteps": metrics["timesteps"],
        "steps_per_second": metrics["timesteps"] / max(sum(s["seconds"] for s in sessions), 1e-9),
        "load_1min": metrics.get("load_1min"),
    }


def _returns_summary(returns: Any) -> dict[str, Any]:
    import numpy as np

    r = np.asarray(returns, dtype=float)
    return {
        "mean": float(r.mean()),
        "ci95": float(1.96 * r.std(ddof=1) / math.sqrt(r.size)) if r.size > 1 else float("nan"),
        "episodes": int(r.size),
        "returns": [round(float(x), 6) for x in r],
    }


def _eval_agent(run_dir: str, preset: str, episodes: int, planner_episodes: int, seed: int, **load: Any) -> dict:
    """The agent's returns on the table's episodes and on the planner's episodes (common luck)."""
    _one_thread()
    from massbargain.agents.loading import load_agent
    from massbargain.agents.planner import evaluate_policy
    from massbargain.scenario import Scenario

    scenario = Scenario.preset(preset)
    agent = load_agent(run_dir, **load)
    out = {}
    for key, n in (("table", episodes), ("planner_episodes", planner_episodes)):
        agent.reset(seed=seed)
        out[key] = _returns_summary(evaluate_policy(agent, scenario, n, seed, common_luck=True).returns)
    return out


def _eval_best_member(preset: str, episodes: int, seed: int) -> dict[str, Any]:
    """The best scripted family member, chosen on seed ``choice_seed(seed)``, on the table's episodes (common luck)."""
    from massbargain.agents.families import best, choice_seed, select
    from massbargain.agents.planner import evaluate_policy
    from massbargain.scenario import Scenario

    scenario = Scenario.preset(preset)
    selection = select(scenario, episodes=episodes, seed=choice_seed(seed))
    member, chosen = best(selection)
    batch = evaluate_policy(member, scenario, episodes, seed, common_luck=True)
    return {
        "member": member.name,
        "mode": member.mode,
        "choice_seed": selection.seed,
        "choice_mean": chosen.mean_return,
        **_returns_summary(batch.returns),
    }


def _eval_planner(preset: str, kind: str, episodes: int, seed: int, member: str) -> dict[str, Any]:
    """A planner built on ``member`` (the best family member) and giving in, on the planner's episodes
    (common luck), with its wall time."""
    from massbargain.agents.families import parse_member
    from massbargain.agents.planner import evaluate_planner, make_planner
    from massbargain.agents.planner.rules import ScriptedRule
    from massbargain.scenario import Scenario

    scenario = Scenario.preset(preset)
    bases = [parse_member(member, days=scenario.horizon.days), ScriptedRule(accept=True)]
    t0 = time.perf_counter()
    planner = make_planner(kind, scenario, base_policies=bases, seed=seed)
    batch = evaluate_planner(planner, scenario, episodes, seed, common_luck=True)
    return {**_returns_summary(batch.returns), "seconds": time.perf_counter() - t0}


# --- orchestration -----------------------------------------------------------------------------------------


def run_table(
    out: str | Path,
    presets: Sequence[str] = PRESETS,
    seeds: Sequence[int] = SEEDS,
    *,
    changes: dict[str, Any] | None = None,
    jobs: int = 2,
    episodes: int = 2000,
    planner_episodes: int = 500,
    eval_seed: int = 0,
    deterministic: bool = False,
    which: str = "best",
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Train (where not done) and evaluate everything; return the figures of :func:`build_table`.

    ``changes`` are TrainConfig fields applied on top of the defaults (e.g. ``{"n_epochs": 5}``). The
    evaluation caches in ``out`` belong to one choice of episodes, seed and model; a cache written with
    other settings is recomputed.
    """
    from massbargain.agents.config import TrainConfig, UserError
    from massbargain.agents.families import digest as families_digest

    say = log or (lambda _m: None)
    out = Path(out)
    base = TrainConfig.default().replace(**(changes or {}), progress_bar=False)
    configs: dict[tuple[str, int], TrainConfig] = {}
    for preset in presets:
        for seed in seeds:
            cfg = base.replace(scenario=preset, seed=seed, out=str(out / preset / f"seed{seed}"))
            _check_stored(cfg)
            configs[preset, seed] = cfg
    load = {"which": which, "deterministic": deterministic}
    stamp = {"episodes": episodes, "planner_episodes": planner_episodes, "eval_seed": eval_seed, **load}

    ctx = get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_one_thread) as pool:
        # 1. Training (finished runs are skipped); the planners, which do not depend on it, run alongside.
        pending = {}
        for key, cfg in configs.items():
            if _complete(Path(cfg.out)):
                continue
            pending[pool.submit(_train_run, cfg.to_dict())] = ("train", key)
        cached: dict[Any, Any] = {}
        # The best members first (all presets at once): the planners build on them.
        stamp_m = {"episodes": episodes, "eval_seed": eval_seed, "families": families_digest()}
        members = {
            preset: pool.submit(_eval_best_member, preset, episodes, eval_seed)
            for preset in presets
            if not _cache_ok(out / preset / "best_member.json", stamp_m)
        }
        for preset in presets:
            path = out / preset / "best_member.json"
            if preset in members:
                result = members[preset].result()
                _write(path, {**stamp_m, **result})
                say(f"best scripted member on {preset}: {result['member']} {result['mean']:+.3f}")
            cached["best_member", preset] = _read(path)
        for preset in presets:
            member = cached["best_member", preset]["member"]
            for kind in PLANNERS:
                path = out / preset / f"planner_{kind}.json"
                stamp_p = {"planner_episodes": planner_episodes, "eval_seed": eval_seed, "base": member}
                if _cache_ok(path, stamp_p):
                    cached["planner", preset, kind] = _read(path)
                else:
                    fut = pool.submit(_eval_planner, preset, kind, planner_episodes, eval_seed, member)
                    pending[fut] = ("planner", preset, kind, path, stamp_p)
        for fut, what in pending.items():
            result = fut.result()
            if what[0] == "train":
                preset, seed = what[1]
                say(f"trained {preset} seed {seed}: {result['seconds']:.0f} s, {result['timesteps']} timesteps")
            else:
                _, preset, kind, path, stamp_p = what
                _write(path, {**stamp_p, **result})
                cached["planner", preset, kind] = _read(path)
                say(f"{kind} planner on {preset}: {result['mean']:+.3f} ({result['seconds']:.0f} s)")
        for cfg in configs.values():
            if not _complete(Path(cfg.out)):
                raise UserError(f"run {cfg.out!r} did not complete; run the script again to resume it")

        # 2. Each agent on the table's episodes and the planner's.
        evals = {}
        futures = {}
        for key, cfg in configs.items():
            path = Path(cfg.out) / "table_eval.json"
            if _cache_ok(path, stamp):
                evals[key] = _read(path)
            else:
                futures[key] = pool.submit(_eval_agent, cfg.out, key[0], episodes, planner_episodes, eval_seed, **load)
        for key, fut in futures.items():
            _write(Path(configs[key].out) / "table_eval.json", {**stamp, **fut.result()})
            evals[key] = _read(Path(configs[key].out) / "table_eval.json")
            say(f"evaluated {key[0]} seed {key[1]}: {evals[key]['table']['mean']:+.3f}")

    timing = {key: _timing(Path(cfg.out)) for key, cfg in configs.items()}
    return build_table(presets, seeds, evals, cached, timing, stamp, base)


def _check_stored(cfg: Any) -> None:
    """Refuse to mix configurations: a run directory that exists must hold this very configuration."""
    from massbargain.agents.config import UserError
    from massbargain.agents.loading import read_run_config
    from massbargain.agents.train import RESUMABLE

    run_dir = Path(cfg.out)
    if not (run_dir / "config.yaml").is_file():
        return
    stored = read_run_config(run_dir).get("config", {})
    mine = cfg.to_dict()
    differ = [k for k in mine if k not in RESUMABLE and stored.get(k) != mine[k]]
    if differ:
        raise UserError(
            f"{str(run_dir)!r} was trained with another configuration ({differ[0]}: stored {stored.get(differ[0])!r}, "
            f"asked {mine[differ[0]]!r}); choose another --out"
        )


def _complete(run_dir: Path) -> bool:
    try:
        return json.loads((run_dir / "metrics.json").read_text()).get("status") == "complete"
    except (OSError, ValueError):
        return False


def _read(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def _write(path: Path, data: dict[str, Any]) -> None:
    from massbargain.agents.outdir import atomic_write_text

    atomic_write_text(path, json.dumps(data) + "\n")


def _cache_ok(path: Path, stamp: dict[str, Any]) -> bool:
    try:
        data = _read(path)
    except (OSError, ValueError):
        return False
    return all(data.get(k) == v for k, v in stamp.items())


# --- the table ---------------------------------------------------------------------------------------------


def build_table(
    presets: Sequence[str],
    seeds: Sequence[int],
    evals: dict[tuple[str, int], dict[str, Any]],
    cached: dict[Any, Any],
    timing: dict[tuple[str, int], dict[str, Any]],
    stamp: dict[str, Any],
    config: Any,
) -> dict[str, Any]:
    """The figures of the table, per preset (JSON-ready; see the module docstring for their meaning)."""
    import numpy as np

    from massbargain.agents.planner import compare_returns

    rows = {}
    for preset in presets:
        per_seed = [np.asarray(evals[preset, s]["table"]["returns"]) for s in seeds]
        seed_means = [float(r.mean()) for r in per_seed]
        pooled = np.stack(per_seed)  # (seeds, episodes): the same episodes for every seed
        ppo_mean = float(pooled.mean())
        # The interval of the mean over seeds from the episodes: the per-episode average over seeds.
        ppo_ci = float(1.96 * pooled.mean(axis=0).std(ddof=1) / math.sqrt(pooled.shape[1]))
        member = cached["best_member", preset]
        advantage = compare_returns(pooled.mean(axis=0), np.asarray(member["returns"]), paired=True)
        planners = {k: cached["planner", preset, k] for k in PLANNERS}
        honest = np.asarray(planners["honest"]["returns"])
        on_planner = np.stack([np.asarray(evals[preset, s]["planner_episodes"]["returns"]) for s in seeds])
        ratio = compare_returns(on_planner.mean(axis=0), honest, paired=True)
        seed_ratios = [
            compare_returns(on_planner[i], honest, paired=True, resamples=200)[ratio["use"]] for i in range(len(seeds))
        ]
        times = [timing[preset, s]["seconds"] for s in seeds]
        loads = [timing[preset, s].get("load_1min") for s in seeds]
        rows[preset] = {
            "ppo_mean": ppo_mean,
            "ppo_ci95": ppo_ci,
            "ppo_seed_means": seed_means,
            "best_member": member["member"],
            "best_member_mode": member["mode"],
            "best_member_choice_seed": member["choice_seed"],
            "best_member_mean": member["mean"],
            "best_member_ci95": member["ci95"],
            "advantage": advantage["difference"],
            "advantage_ci95": advantage["difference_ci95"],
            "honest_mean": planners["honest"]["mean"],
            "honest_ci95": planners["honest"]["ci95"],
            "clairvoyant_mean": planners["clairvoyant"]["mean"],
            "clairvoyant_ci95": planners["clairvoyant"]["ci95"],
            "planner_ratio": ratio["ratio"],
            "planner_ratio_ci95": ratio["ratio_ci95"],
            "planner_difference": ratio["difference"],
            "planner_difference_ci95": ratio["difference_ci95"],
            "planner_use": ratio["use"],
            "seed_ratios": seed_ratios,
            "train_seconds": times,
            "train_timesteps": [timing[preset, s]["timesteps"] for s in seeds],
            "load_1min": loads,
        }
    return {"rows": rows, "seeds": list(seeds), **stamp, "config": config.to_dict()}


def format_markdown(table: dict[str, Any]) -> str:
    """The table as Markdown, with a line saying how it was measured."""
    from massbargain.agents.families import choice_seed

    head = (
        "| preset | PPO (seeds' range) | best scripted member | PPO − best member (paired) | honest planner | "
        "clairvoyant planner | PPO / honest planner (seeds' range) | wall time per run |"
    )
    lines = [head, "|" + "---|" * 8]
    for preset, r in table["rows"].items():
        lo, hi = min(r["ppo_seed_means"]), max(r["ppo_seed_means"])
        a_lo, a_hi = r["advantage_ci95"]
        if r["planner_use"] == "ratio":
            c_lo, c_hi = r["planner_ratio_ci95"]
            ratio = f"{r['planner_ratio']:.3f} [{c_lo:.3f}, {c_hi:.3f}] ({min(r['seed_ratios']):.3f}–"
            ratio += f"{max(r['seed_ratios']):.3f})"
        else:
            c_lo, c_hi = r["planner_difference_ci95"]
            ratio = f"difference {r['planner_difference']:+.3f} [{c_lo:+.3f}, {c_hi:+.3f}]"
        t = r["train_seconds"]
        loads = [x for x in r["load_1min"] if x is not None]
        load = f"; load {min(loads):.1f}–{max(loads):.1f}" if loads else ""
        lines.append(
            f"| {preset} | {r['ppo_mean']:.3f} ± {r['ppo_ci95']:.3f} ({lo:.3f}–{hi:.3f}) | "
            f"{r['best_member']}: {r['best_member_mean']:.3f} ± {r['best_member_ci95']:.3f} | "
            f"{r['advantage']:+.3f} [{a_lo:+.3f}, {a_hi:+.3f}] | "
            f"{r['honest_mean']:.3f} ± {r['honest_ci95']:.3f} | "
            f"{r['clairvoyant_mean']:.3f} ± {r['clairvoyant_ci95']:.3f} | {ratio} | "
            f"{sum(t) / len(t):.0f} s ({min(t):.0f}–{max(t):.0f}{load}) |"
        )
    cfg = table["config"]
    policy = "greedy" if table["deterministic"] else "sampled"
    lines.append("")
    lines.append(
        f"Seeds {', '.join(map(str, table['seeds']))}; {cfg['timesteps']:,} timesteps each; {table['which']} model, "
        f"{policy} actions; PPO and the best scripted member on {table['episodes']} episodes, planners (and PPO for "
        f"the ratio) on {table['planner_episodes']}, evaluation seed {table['eval_seed']}, common luck; the best "
        f"scripted member is the best of every scripted family member (docs/FAMILIES.md) on {table['episodes']} "
        f"other episodes (seed {choice_seed(table['eval_seed'])}), played on the evaluation episodes; ± is a 95% "
        "interval, "
        "[a, b] a 95% paired bootstrap interval; load: 1-minute load average of the 2-core machine when each run "
        "ended."
    )
    return "\n".join(lines)


# --- command line ------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m massbargain.experiments.measures.ppo_table --out DIR``: train, evaluate, print the table."""
    from massbargain.agents.config import UserError
    from massbargain.scenario import ScenarioError

    parser = argparse.ArgumentParser(
        prog="python -m massbargain.experiments.measures.ppo_table",
        description="Train the default PPO run on every preset and seed, evaluate it beside the scripted "
        "best scripted family member (chosen on other episodes) and the reference planners on the same "
        "episodes, and print the Markdown table.",
        epilog="example: python -m massbargain.experiments.measures.ppo_table --out runs/table",
    )
    parser.add_argument("--out", required=True, help="folder of the run directories and evaluation caches")
    parser.add_argument("--presets", nargs="+", default=list(PRESETS), choices=PRESETS, help="default: all three")
    parser.add_argument("--seeds", nargs="+", type=int, default=list(SEEDS), help="training seeds (default: 0 1 2)")
    parser.add_argument(
        "--set",
        dest="changes",
        action="append",
        type=parse_assignment,
        default=[],
        metavar="FIELD=VALUE",
        help="change a TrainConfig field of the defaults, e.g. --set n_epochs=5",
    )
    parser.add_argument("--jobs", type=int, default=2, help="processes at once (default: 2)")
    parser.add_argument("--episodes", type=int, default=2000, help="episodes for PPO and the scripts (default: 2000)")
    parser.add_argument("--planner-episodes", type=int, default=500, help="episodes for the planners (default: 500)")
    parser.add_argument("--eval-seed", type=int, default=0, help="seed of the evaluation episodes (default: 0)")
    parser.add_argument("--model", choices=("best", "final"), default="best", help="which model (default: best)")
    parser.add_argument("--deterministic", action="store_true", help="greedy actions (default: sampled)")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON line")
    args = parser.parse_args(argv)
    try:
        table = run_table(
            args.out,
            args.presets,
            args.seeds,
            changes=dict(args.changes),
            jobs=args.jobs,
            episodes=args.episodes,
            planner_episodes=args.planner_episodes,
            eval_seed=args.eval_seed,
            deterministic=args.deterministic,
            which=args.model,
            log=lambda m: print(f"ppo_table: {m}", file=sys.stderr, flush=True),
        )
    except (UserError, ScenarioError) as exc:
        print(f"ppo_table: error: {exc}", file=sys.stderr)
        return 2
    text = format_markdown(table)
    _write_text(Path(args.out) / "table.md", text + "\n")
    _write(Path(args.out) / "table.json", table)
    print(json.dumps(table) if args.json else text)
    return 0


def _write_text(path: Path, text: str) -> None:
    from massbargain.agents.outdir import atomic_write_text

    atomic_write_text(path, text)


if __name__ == "__main__":
    raise SystemExit(main())
