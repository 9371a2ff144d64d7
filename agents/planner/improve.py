"""One rollout improvement of a policy, fitted to the observation: the planner's gain as a memoryless policy.

The honest planner (:class:`~massbargain.agents.planner.RolloutPlanner`) improves on its base policy at every
decision by simulating each first action from its belief. A memoryless policy does not copy it action by
action: on model v1 a network cloned from the planner's actions in a consent cell (ρ̄ 0.3, μ 0, S 0.6) agrees
with it on 70% of the days and earns less than the base policy (docs/MODE_MAP.md); most of the planner's
departures there are WAIT for PETITION once the crowd is out, often near-ties.

What a memoryless policy might copy instead is the planner's *values*. :func:`rollout_improvement` plays the
planner on ``episodes`` episodes, records at every decision the observation and each action's estimated value
Q(a) (a first action, then the better of the base policies), and regresses the advantage of each action over
the base policy's action on the observation (one gradient-boosted regressor per action: the values turn on
thresholds of the observation, such as the informed share or the police posture). The fitted policy plays the
base policy's action unless the regression says another gains more than ``margin``. Regression pools the
simulation noise of neighbouring states, which the planner's own argmax cannot. This is one step of
approximate policy iteration with the base policy as the rollout policy (Bertsekas & Tsitsiklis 1996, ch. 6;
Lagoudakis & Parr 2003): not an improvement by construction (the regression can be wrong), so whoever uses it
measures it. Measured (``python -m massbargain.experiments.measures.planner_values``, docs/MODE_MAP.md): on
300 planner episodes its gain over the member depends on the episodes' seed, from below zero to about the
planner's own, so it is a research tool, not part of the mode map.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from massbargain import core
from massbargain.agents.planner.rules import ScriptedRule
from massbargain.scenario import Scenario

__all__ = ["RolloutImprovement", "rollout_improvement"]


@dataclass(frozen=True, eq=False)
class RolloutImprovement:
    """A memoryless policy: ``base``'s action unless a fitted advantage of another action exceeds ``margin``.

    Follows the policy protocol (``act(obs)``: (F,) -> int, (B, F) -> (B,) ints).
    """

    base: Any
    regressors: tuple[Any, ...]  # one per action: observation -> advantage over the base policy's action
    margin: float
    states: int  # decisions the regressions were fitted on

    @property
    def name(self) -> str:
        return f"improved({getattr(self.base, 'name', type(self.base).__name__)})"

    def advantages(self, obs: np.ndarray) -> np.ndarray:
        """(B, A) fitted advantage of each action over the base policy's action (0 for that action)."""
        obs2 = np.atleast_2d(np.asarray(obs, dtype=np.float32))
        return self._advantages(obs2, self._base_actions(obs2))

    def act(self, obs: np.ndarray) -> np.ndarray | int:
        obs = np.asarray(obs, dtype=np.float32)
        obs2 = np.atleast_2d(obs)
        base = self._base_actions(obs2)
        adv = self._advantages(obs2, base)
        out = np.where(adv.max(axis=1) > self.margin, adv.argmax(axis=1), base)
        return int(out[0]) if obs.ndim == 1 else out

    def _base_actions(self, obs2: np.ndarray) -> np.ndarray:
        return np.asarray(self.base.act(obs2), dtype=np.int64).reshape(-1)

    def _advantages(self, obs2: np.ndarray, base: np.ndarray) -> np.ndarray:
        adv = np.column_stack([r.predict(obs2) for r in self.regressors])
        adv[np.arange(len(obs2)), base] = 0.0
        return adv


def rollout_improvement(
    scenario: Scenario,
    base: Any,
    episodes: int,
    seed: int,
    margin: float = 0.0,
    **planner_kwargs: Any,
) -> RolloutImprovement:
    """Fit one rollout improvement of ``base`` (a memoryless policy) on ``episodes`` episodes of ``seed``.

    The planner is the honest one built on ``base`` and giving in (:func:`make_planner`, its simulations
    seeded by ``seed``); ``planner_kwargs`` go to it. Same arguments, same policy.
    """
    from massbargain.agents.planner.rollout_planner import make_planner
    from massbargain.extras import require

    require("explain", what="the rollout improvement (massbargain.agents.planner.improve)")
    from sklearn.ensemble import HistGradientBoostingRegressor

    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    planner = make_planner(
        "honest", scenario, base_policies=[base, ScriptedRule(accept=True)], seed=seed, **planner_kwargs
    )
    rng = np.random.default_rng(seed)
    state = core.initial_state(scenario, rng, episodes)
    alive = np.ones(episodes, dtype=bool)
    seen, values = [], []
    for _ in range(scenario.horizon.days):
        obs = core.observe(state, scenario)
        actions = np.asarray(planner.act(obs, alive), dtype=np.int64)
        if planner.last_q is not None and alive.any():
            seen.append(obs[alive].astype(np.float32))
            values.append(planner.last_q)
        alive &= ~core.step(state, actions, scenario, rng).terminated
        if not alive.any():
            break
    obs = np.concatenate(seen)
    q = np.concatenate(values)
    base_q = q[np.arange(len(q)), np.asarray(base.act(obs), dtype=np.int64)]
    adv = q - base_q[:, None]
    regressors = tuple(
        HistGradientBoostingRegressor(max_iter=200, random_state=0).fit(obs, adv[:, a]) for a in range(q.shape[1])
    )
    return RolloutImprovement(base=base, regressors=regressors, margin=float(margin), states=len(obs))
