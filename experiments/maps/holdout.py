"""Best vs default on held-out seeds: train two recipes again on training seeds a search never used, evaluate
both on the same fresh episodes, and compare them paired.

:func:`holdout_runs` lists the runs (a sweep's :class:`~massbargain.experiments.maps.sweep.Run` objects, so
they run on the local pool or Ray, resumably, through :func:`~massbargain.experiments.maps.sweep.run_sweep`
with ``fn=holdout_task``); :func:`holdout_task` is one run; :func:`compare_holdout` turns their episode
returns into the comparison: for each training seed, best − default episode by episode (averaged over cells),
with a paired 95% bootstrap interval over episodes; over seeds, the mean difference with a 95% t-interval
(the seeds' spread is what varies most between training runs).
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from massbargain.agents.config import TrainConfig
from massbargain.scenario import Scenario

__all__ = ["compare_holdout", "holdout_runs", "holdout_task"]


def holdout_task(config: Mapping[str, Any], seed: int, workdir: str | None = None) -> dict[str, Any]:
    """One held-out run (a sweep ``fn``): train ``config["recipe"]`` (on top of ``config["base"]``) with
    ``seed`` on the scenario ``config["scenario"]`` with ``config["overrides"]``, and evaluate its final model
    on ``config["episodes"]`` episodes of seed ``config["eval_seed"]`` with common luck. Returns
    ``mean_return`` and every episode's return (``returns``, for paired comparisons)."""
    from massbargain.agents.loading import load_agent
    from massbargain.agents.planner import evaluate_policy
    from massbargain.agents.train import train

    tc = TrainConfig.default().replace(
        **{
            **dict(config["base"]),
            **dict(config["recipe"]),
            "scenario": config["scenario"],
            "overrides": dict(config["overrides"]),
            "seed": seed,
            "eval_freq": 10**10,  # the final evaluation only
            "checkpoint_freq": 10**10,
            "progress_bar": False,
        }
    )
    scenario = Scenario.resolve(tc.scenario).with_overrides(tc.overrides)
    with tempfile.TemporaryDirectory(prefix="massbargain-holdout-") as tmp:
        run_dir = Path(workdir) if workdir is not None else Path(tmp) / "run"
        train(tc.replace(out=str(run_dir)), log=None)
        agent = load_agent(run_dir, which="final", seed=config["eval_seed"])
        agent.reset(seed=config["eval_seed"])
        returns = evaluate_policy(agent, scenario, config["episodes"], config["eval_seed"], common_luck=True).returns
    return {"mean_return": float(returns.mean()), "returns": [float(r) for r in returns]}


def holdout_runs(
    recipes: Mapping[str, Mapping[str, Any]],
    *,
    cells: Sequence[tuple[str, Mapping[str, Any]]],
    base: Mapping[str, Any],
    seeds: Sequence[int],
    episodes: int,
    eval_seed: int,
) -> dict[tuple[str, int, int], Any]:
    """(label, cell index, seed) -> the sweep Run that trains ``recipes[label]`` (over the TrainConfig fields
    ``base``) with ``seed`` on a cell, given as (scenario, dotted-key overrides), and evaluates it
    (:func:`holdout_task`). Two labels with the same recipe share their runs (the same run ids)."""
    from massbargain.experiments.maps.sweep import Run

    runs = {}
    for label, recipe in recipes.items():
        for c, (scenario, overrides) in enumerate(cells):
            for seed in seeds:
                config = {
                    "recipe": dict(recipe),
                    "base": dict(base),
                    "scenario": scenario,
                    "overrides": dict(overrides),
                    "episodes": episodes,
                    "eval_seed": eval_seed,
                }
                runs[(label, c, seed)] = Run(config, seed)
    return runs


def compare_holdout(
    returns: Mapping[tuple[str, int, int], Sequence[float]], seeds: Sequence[int], n_cells: int
) -> dict[str, Any]:
    """Best vs default from the held-out runs' episode returns ((label, cell, seed) -> returns).

    For each seed, the episode-by-episode difference best − default (averaged over cells) with a paired
    95% bootstrap interval; over seeds, the mean difference with a 95% t-interval (None with one seed).
    """
    from massbargain.agents.planner import compare_returns
    from massbargain.experiments.maps.mode_map import _tcrit

    per_seed = []
    for seed in seeds:
        best = np.mean([np.asarray(returns[("best", c, seed)]) for c in range(n_cells)], axis=0)
        default = np.mean([np.asarray(returns[("default", c, seed)]) for c in range(n_cells)], axis=0)
        cmp = compare_returns(best, default, paired=True, seed=seed)
        per_seed.append(
            {
                "seed": seed,
                "best": cmp["mean"],
                "default": cmp["reference_mean"],
                "difference": cmp["difference"],
                "difference_ci95": cmp["difference_ci95"],
            }
        )
    diffs = np.array([r["difference"] for r in per_seed])
    half = float(_tcrit(len(diffs)) * diffs.std(ddof=1) / math.sqrt(len(diffs))) if len(diffs) > 1 else None
    mean = float(diffs.mean())
    return {
        "seeds": list(seeds),
        "cells": n_cells,
        "best": float(np.mean([r["best"] for r in per_seed])),
        "default": float(np.mean([r["default"] for r in per_seed])),
        "difference": mean,
        "difference_ci95": None if half is None else [mean - half, mean + half],
        "per_seed": per_seed,
    }
