"""Batched rollouts over the dynamics core: many episodes of one policy at numpy speed.

Used by the outcome tables, the stylized-fact tests, evaluation and analysis. Episode ``i`` of a call with
``seed`` is reproducible: the same seed, policy and scenario give the same figures.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from massbargain import core
from massbargain.actions import ESCALATION_OF_ACTION, Action, Mode, Outcome, Severity
from massbargain.scenario import Scenario

__all__ = ["EpisodeBatch", "run_episodes"]


@dataclass(frozen=True)
class EpisodeBatch:
    """Per-episode results of :func:`run_episodes`; every array has shape (episodes,)."""

    returns: np.ndarray
    outcome: np.ndarray  # Outcome
    end_reason: np.ndarray  # EndReason
    severity: np.ndarray  # Severity at the end
    mode: np.ndarray  # Mode: most escalated of passive, official channel, consent, mobilized
    length: np.ndarray  # days
    peak_crowd: np.ndarray
    peak_disorder: np.ndarray
    action_counts: np.ndarray  # (episodes, 8)
    triggers: np.ndarray  # trigger events per episode
    recklessness: np.ndarray
    evidence: np.ndarray  # at the end
    superior_returns: np.ndarray | None = None  # the learning superior's returns, if asked for (superior_reward=)

    @property
    def conceded(self) -> np.ndarray:
        """Per episode: the plan was withdrawn, suspended or partly conceded."""
        return np.isin(self.outcome, [Outcome.WITHDRAWN, Outcome.SUSPENDED, Outcome.PARTIAL])

    @property
    def punished(self) -> np.ndarray:
        """Per episode: the official ended punished (warning, demotion or dismissal)."""
        return self.severity > Severity.NONE

    @property
    def concession_rate(self) -> float:
        return float(self.conceded.mean())

    @property
    def punishment_rate(self) -> float:
        return float(self.punished.mean())

    def summary(self) -> dict[str, Any]:
        """Mean return with its 95% interval, outcome rates, punishment rate, mode shares."""
        n = self.returns.size
        half = 1.96 * self.returns.std(ddof=1) / np.sqrt(n) if n > 1 else float("nan")
        out: dict[str, Any] = {
            "episodes": n,
            "mean_return": float(self.returns.mean()),
            "return_ci95": float(half),
            "concession_rate": self.concession_rate,
            "punishment_rate": self.punishment_rate,
            "mean_length": float(self.length.mean()),
        }
        for o in (Outcome.WITHDRAWN, Outcome.SUSPENDED, Outcome.PARTIAL, Outcome.IMPOSED):
            out[f"{o.name.lower()}_rate"] = float((self.outcome == o).mean())
        for m in (Mode.PASSIVE, Mode.OFFICIAL_CHANNEL, Mode.CONSENT, Mode.MOBILIZED):
            out[f"{m.name.lower()}_share"] = float((self.mode == m).mean())
        return out


def run_episodes(
    policy: Any,
    scenario: Scenario,
    episodes: int,
    seed: int,
    max_days: int | None = None,
    *,
    superior: Any = None,
    act: Callable[[np.ndarray, core.State, np.ndarray], np.ndarray] | None = None,
    superior_reward: Any = None,
) -> EpisodeBatch:
    """Play ``episodes`` episodes of ``policy`` (anything with ``act(obs_batch)``) on ``scenario`` at once.

    ``superior`` replaces the scripted superior of the core; ``act(obs, state, alive)``, if given, chooses
    the actions instead of ``policy.act(obs)`` (a planner that needs the true state and the running rows).
    ``superior_reward`` (a :class:`massbargain.superior_env.SuperiorReward`) also sums the superior's reward
    into ``superior_returns``.
    """
    if superior_reward is not None:
        from massbargain.superior_env import superior_reward as _superior_reward
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    rng = np.random.default_rng(seed)
    state = core.initial_state(scenario, rng, episodes)
    alive = np.ones(episodes, dtype=bool)
    returns = np.zeros(episodes)
    superior_returns = np.zeros(episodes)
    outcome = np.zeros(episodes, dtype=np.int64)
    end_reason = np.zeros(episodes, dtype=np.int64)
    length = np.zeros(episodes, dtype=np.int64)
    escalation = np.zeros(episodes, dtype=np.int64)
    counts = np.zeros((episodes, len(Action)), dtype=np.int64)
    triggers = np.zeros(episodes, dtype=np.int64)
    rows = np.arange(episodes)
    final = {k: np.zeros(episodes) for k in ("severity", "peak_crowd", "peak_disorder", "evidence")}
    for _ in range(max_days or scenario.horizon.days):
        obs = core.observe(state, scenario)
        chosen = policy.act(obs) if act is None else act(obs, state, alive)
        actions = np.asarray(chosen, dtype=np.int64).reshape(episodes)
        result = core.step(state, actions, scenario, rng, *(() if superior is None else (superior,)))
        returns += result.reward * alive
        if superior_reward is not None:
            superior_returns += _superior_reward(result, state, scenario, superior_reward) * alive
        counts[rows[alive], actions[alive]] += 1
        escalation = np.maximum(escalation, ESCALATION_OF_ACTION[actions] * alive)
        triggers += result.triggered & alive
        length += alive
        ended = result.terminated & alive
        outcome[ended] = result.outcome[ended]
        end_reason[ended] = result.end_reason[ended]
        for key, values in final.items():
            values[ended] = getattr(state, key)[ended]
        alive &= ~result.terminated
        if not alive.any():
            break
    for key, values in final.items():  # episodes cut short by max_days
        values[alive] = getattr(state, key)[alive]
    modes = np.array([Mode.PASSIVE, Mode.OFFICIAL_CHANNEL, Mode.CONSENT, Mode.MOBILIZED])[escalation]
    return EpisodeBatch(
        returns=returns,
        outcome=outcome,
        end_reason=end_reason,
        severity=final["severity"].astype(np.int64),
        mode=modes,
        length=length,
        peak_crowd=final["peak_crowd"],
        peak_disorder=final["peak_disorder"],
        action_counts=counts,
        triggers=triggers,
        recklessness=state.recklessness.copy(),
        evidence=final["evidence"],
        superior_returns=superior_returns if superior_reward is not None else None,
    )
