"""Evaluating planners and other policies on the same episodes: common luck, speed, paired comparisons."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from massbargain import core
from massbargain.agents.planner.rollout_planner import RolloutPlanner, make_planner
from massbargain.agents.planner.simulator import ClockSuperior, EpisodeStreams
from massbargain.core import State
from massbargain.rollout import EpisodeBatch, run_episodes
from massbargain.scenario import Scenario
from massbargain.superior import ScriptedSuperior, Superior

__all__ = ["compare_returns", "evaluate_planner", "evaluate_policy", "planner_speed"]

#: Called each day of :func:`evaluate_policy` with the observations (B, F), the actions (B,) and the mask of
#: episodes still running (B,).
Watcher = Callable[[np.ndarray, np.ndarray, np.ndarray], None]


def evaluate_planner(
    planner: RolloutPlanner,
    scenario: Scenario | None = None,
    episodes: int = 200,
    seed: int = 0,
    common_luck: bool = False,
    watch: Watcher | None = None,
) -> EpisodeBatch:
    """Play ``episodes`` episodes of the planner at once over the core; same figures as ``run_episodes``.

    The clairvoyant planner receives the true state; only unfinished episodes are planned. See
    :func:`evaluate_policy` for ``seed``, ``common_luck`` and ``watch``.
    """
    scenario = planner.scenario if scenario is None else scenario
    if scenario != planner.scenario:
        raise ValueError("the planner plans in another scenario than the one evaluated")
    return evaluate_policy(planner, scenario, episodes, seed, common_luck=common_luck, watch=watch)


def evaluate_policy(
    policy: Any,
    scenario: Scenario,
    episodes: int = 200,
    seed: int = 0,
    common_luck: bool = False,
    superior: Superior | None = None,
    watch: Watcher | None = None,
) -> EpisodeBatch:
    """Play ``episodes`` episodes of any policy (a planner, a scripted rule, a trained agent) at once.

    The episodes' starts (hidden recklessness, resolve, mood) are those ``run_episodes`` draws with the
    same ``seed``, so policies can be compared episode by episode. A :class:`RolloutPlanner` is reset,
    given the true state (the clairvoyant needs it) and asked only about unfinished episodes; any other
    policy gets ``act(obs)`` on the whole batch, as in ``run_episodes``.

    ``common_luck=True`` pairs the episodes' luck across policies evaluated with this seed, keeping the
    model's law: the scripted superior's choices are drawn as :class:`ClockSuperior` does (episode ``i`` has
    the same concession threshold and kind for every policy), and the day's other lotteries (trigger,
    investigations, verdicts, noise) come from episode ``i``'s own stream (:class:`EpisodeStreams`).
    Comparisons of two policies on the same seed then pair their luck, which shrinks the interval of their
    difference several-fold (the kind of concession alone has an SD of ~0.15 of return; in v1 the
    evidence-driven investigations add as much). Use it on both sides of a comparison; means are unbiased
    either way.

    ``watch(obs, actions, running)``, if given, sees every day's observations and actions (e.g. to count
    the days a policy plays an action in some situation).
    """
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    superior = getattr(policy, "superior", None) if superior is None else superior
    superior = core._DEFAULT_SUPERIOR if superior is None else superior
    rng: Any = seed
    if common_luck:
        if not isinstance(superior, ScriptedSuperior):
            raise ValueError("common_luck needs the scripted superior")
        clock = ClockSuperior(np.random.default_rng([seed, 1]), episodes)
        clock.stream, clock.hazard = np.arange(episodes), np.zeros(episodes)
        superior = clock
        rng = EpisodeStreams(seed, episodes, scenario.horizon.days)
    planner = policy if isinstance(policy, RolloutPlanner) else None
    if planner is not None:
        planner.reset()
    if planner is None and watch is None:
        return run_episodes(policy, scenario, episodes, rng, superior=superior)

    def act(obs: np.ndarray, state: State, running: np.ndarray) -> np.ndarray:
        if planner is not None:
            actions = planner.act_with_state(obs, state, running)
        else:
            actions = np.asarray(policy.act(obs), dtype=np.int64).reshape(-1)
        if watch is not None:
            watch(obs, actions, running)
        return actions

    return run_episodes(policy, scenario, episodes, rng, superior=superior, act=act)


def planner_speed(
    kind: str = "honest", scenario: Scenario | str = "baseline", episodes: int = 200, seed: int = 0, **kwargs: Any
) -> dict[str, Any]:
    """Time the planner on ``episodes`` episodes (construction included): plain figures for a bench table.

    Returns ``kind``, ``scenario``, ``episodes``, ``seconds`` (wall clock, construction + play),
    ``cpu_seconds`` (CPU time of this process over the same span: what a quiet machine would take),
    ``setup_seconds`` (choosing the base policies; cached afterwards), ``episodes_per_second``,
    ``decisions`` (episode-days planned), ``ms_per_decision``, ``simulated_steps`` (row-days through
    core.step), ``simulated_steps_per_second`` and ``mean_return``.
    """
    scenario = Scenario.resolve(scenario)
    c0, t0 = time.process_time(), time.perf_counter()
    planner = make_planner(kind, scenario, seed=seed, **kwargs)
    t1 = time.perf_counter()
    batch = evaluate_planner(planner, scenario, episodes, seed)
    c2, t2 = time.process_time(), time.perf_counter()
    seconds = t2 - t0
    return {
        "kind": kind,
        "scenario": scenario.name,
        "episodes": episodes,
        "seconds": seconds,
        "cpu_seconds": c2 - c0,
        "setup_seconds": t1 - t0,
        "episodes_per_second": episodes / seconds,
        "decisions": planner.decisions,
        "ms_per_decision": 1e3 * (t2 - t1) / max(planner.decisions, 1),
        "simulated_steps": planner.simulated_steps,
        "simulated_steps_per_second": planner.simulated_steps / max(t2 - t1, 1e-9),
        "mean_return": float(batch.returns.mean()),
    }


def compare_returns(
    returns: np.ndarray,
    reference: np.ndarray,
    near_zero: float = 0.05,
    resamples: int = 2000,
    seed: int = 0,
    paired: bool = False,
) -> dict[str, Any]:
    """A policy's mean return against a reference's (e.g. PPO against the honest planner).

    Gives ``ratio`` = mean(returns) / mean(reference) with a 95% percentile-bootstrap interval, and the
    ``difference`` mean(returns) − mean(reference) with its interval. When |mean(reference)| < ``near_zero``
    the ratio is meaningless: ``ratio`` and its interval are None and ``use`` says ``"difference"``.
    ``paired=True`` resamples episodes jointly (same seeds on both sides, equal lengths).
    """
    x, y = np.asarray(returns, dtype=float), np.asarray(reference, dtype=float)
    rng = np.random.default_rng(seed)
    if paired and x.size != y.size:
        raise ValueError("paired comparison needs as many episodes on both sides")
    ix = rng.integers(0, x.size, size=(resamples, x.size))
    iy = ix if paired else rng.integers(0, y.size, size=(resamples, y.size))
    mx, my = x[ix].mean(axis=1), y[iy].mean(axis=1)
    diff = mx - my
    out: dict[str, Any] = {
        "mean": float(x.mean()),
        "reference_mean": float(y.mean()),
        "difference": float(x.mean() - y.mean()),
        "difference_ci95": [float(np.quantile(diff, 0.025)), float(np.quantile(diff, 0.975))],
    }
    if abs(y.mean()) < near_zero:
        out.update(ratio=None, ratio_ci95=None, use="difference")
    else:
        ratio = mx / my
        out.update(
            ratio=float(x.mean() / y.mean()),
            ratio_ci95=[float(np.quantile(ratio, 0.025)), float(np.quantile(ratio, 0.975))],
            use="ratio",
        )
    return out
