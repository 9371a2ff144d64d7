"""One PPO policy for a whole grid of scenarios: the cell is drawn per episode and given to the agent.

The mode map's *fast mode* (:mod:`massbargain.experiments.maps.mode_map`): instead of one PPO agent per cell of
the grid of broker recklessness × monitoring × stakes, train one *context-conditioned* policy:

* :class:`ContextEnv` wraps ``MassBargain-v1``: at each reset it draws one cell of the grid (uniformly, from
  its own seeded generator) and appends the cell's context to the observation (:class:`ContextEncoder`). The
  context is what an official knows before the dispute starts: the brokers' reputation (the *mean*
  recklessness ``brokers.recklessness``; each episode's actual ρ stays hidden, drawn around it) and how
  closely the superior watches (``superior.monitoring``), raw and as one-hot codes of the grid's values,
  with a one-hot code of the stakes (whose raw value is already observation field 1).
* :func:`train_context_policy` trains PPO on it with the project's training recipe (the hyperparameters of
  :class:`~massbargain.agents.config.TrainConfig`, the ACCEPT warm-up and the entropy schedule of
  :mod:`massbargain.agents.train`) and returns the model.
* :class:`ContextPolicy` feeds a fixed context to the trained policy, so that it plays one cell through the
  policy protocol (``act(obs)``) of :func:`massbargain.rollout.run_episodes`.

Measured (docs/MODE_MAP.md): on this model such a policy learns one strategy (consent) for the whole grid,
where per-cell training finds all three regions, so the mode map uses it as a comparison, not as the map.
Scenarios are built once per cell and reused, so the dynamics core's per-scenario constants stay cached.

This module imports torch and Stable-Baselines3.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import CallbackList
from stable_baselines3.common.env_util import make_vec_env

import massbargain  # noqa: F401  (registers the environment ids)
from massbargain.agents.config import TrainConfig
from massbargain.agents.loading import TrainedAgent
from massbargain.agents.train import make_ppo, save_model, schedule_callbacks, torch_settings
from massbargain.scenario import Scenario

__all__ = [
    "CONTEXT_KEYS",
    "ContextEncoder",
    "ContextEnv",
    "ContextPolicy",
    "context_of",
    "save_model",
    "train_context_policy",
]

#: Scenario keys appended to the observation, in this order (each already lies in [0, 1]).
CONTEXT_KEYS = ("brokers.recklessness", "superior.monitoring")


def context_of(scenario: Scenario) -> np.ndarray:
    """The raw context of a scenario: its values of :data:`CONTEXT_KEYS`, float32, each in [0, 1]."""
    return np.array([scenario.brokers.recklessness, scenario.superior.monitoring], dtype=np.float32)


def _axes(scenario: Scenario) -> tuple[float, float, float]:
    return (scenario.brokers.recklessness, scenario.superior.monitoring, scenario.utility.stakes)


class ContextEncoder:
    """The context a policy sees: the raw values of :data:`CONTEXT_KEYS` followed by a one-hot code of the
    cell's recklessness, monitoring and stakes among the grid's values.

    The one-hot part gives the network a feature per grid value, so that it can learn cell-specific
    behaviour (with the raw values alone, a small MLP tends to learn one strategy for the whole grid).

    Args:
        scenarios: the grid's cells (the axis values are read from them).
    """

    def __init__(self, scenarios: Sequence[Scenario]) -> None:
        cells = [_axes(s) for s in scenarios]
        self.values = [sorted({c[k] for c in cells}) for k in range(3)]
        self.size = len(CONTEXT_KEYS) + sum(len(v) for v in self.values)

    def __call__(self, scenario: Scenario) -> np.ndarray:
        """The context vector of ``scenario`` (ValueError if a value is not on the grid)."""
        parts = [context_of(scenario)]
        for value, grid in zip(_axes(scenario), self.values, strict=True):
            if value not in grid:
                raise ValueError(f"context value {value} is not on the grid {grid}")
            code = np.zeros(len(grid), dtype=np.float32)
            code[grid.index(value)] = 1.0
            parts.append(code)
        return np.concatenate(parts)


class ContextEnv(gym.Wrapper):
    """``MassBargain-v1`` whose scenario is drawn per episode from a finite set, its context observed.

    Observation: the environment's 19 fields followed by the context (:class:`ContextEncoder`: the raw
    values of :data:`CONTEXT_KEYS`, then one-hot codes of the cell's grid values), all in [0, 1].
    Actions, rewards and episode ends are the environment's.

    Args:
        scenarios: the cells to draw from (at least one); each episode plays one, drawn uniformly.
        seed: seed of the draws of cells (the environment's own draws follow ``reset(seed=...)``).
    """

    def __init__(self, scenarios: Sequence[Scenario], seed: int = 0) -> None:
        if not scenarios:
            raise ValueError("ContextEnv needs at least one scenario")
        super().__init__(gym.make("MassBargain-v1", scenario=scenarios[0], disable_env_checker=True))
        self.scenarios = list(scenarios)
        encoder = ContextEncoder(self.scenarios)
        self.contexts = [encoder(s) for s in self.scenarios]
        n = self.env.observation_space.shape[0] + encoder.size
        self.observation_space = spaces.Box(0.0, 1.0, shape=(n,), dtype=np.float32)
        self.cell_rng = np.random.default_rng(seed)
        self.cell = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        if seed is not None:
            self.cell_rng = np.random.default_rng([seed, 1])
        self.cell = int(self.cell_rng.integers(len(self.scenarios)))
        obs, _info = self.env.reset(seed=seed, options={"scenario": self.scenarios[self.cell]})
        return np.concatenate([obs, self.contexts[self.cell]]), {}

    def step(self, action: Any) -> tuple:
        obs, reward, terminated, truncated, _info = self.env.step(action)
        # The info dict is dropped: PPO does not read it, and DummyVecEnv would deep-copy it every step.
        return np.concatenate([obs, self.contexts[self.cell]]), reward, terminated, truncated, {}


class ContextPolicy:
    """A context-conditioned agent playing one cell: ``act(obs)`` appends the cell's context first.

    Args:
        agent: a :class:`~massbargain.agents.loading.TrainedAgent` over a model trained on :class:`ContextEnv`.
        context: the context to feed (:class:`ContextEncoder` of the training grid, applied to the cell).
    """

    def __init__(self, agent: TrainedAgent, context: np.ndarray) -> None:
        self.agent = agent
        self.context = np.asarray(context, dtype=np.float32)

    def reset(self, seed: int | None = None) -> None:
        """Restart the agent's sampling generator (evaluation passes its seed)."""
        self.agent.reset(seed=seed)

    def _full(self, obs: np.ndarray) -> np.ndarray:
        obs = np.asarray(obs, dtype=np.float32)
        if obs.ndim == 1:
            return np.concatenate([obs, self.context])
        return np.hstack([obs, np.broadcast_to(self.context, (obs.shape[0], self.context.size))])

    def act(self, obs: np.ndarray) -> np.ndarray | int:
        return self.agent.act(self._full(obs))

    def probs(self, obs: np.ndarray) -> np.ndarray:
        return self.agent.probs(self._full(obs))


def train_context_policy(scenarios: Sequence[Scenario], config: TrainConfig) -> PPO:
    """Train PPO on :class:`ContextEnv` over ``scenarios`` with ``config``'s recipe; return the model.

    Uses ``config``'s seed, timesteps, environments and PPO hyperparameters, the ACCEPT warm-up and the
    entropy schedule of :func:`massbargain.agents.train.train`; ignores its scenario, output, evaluation and
    checkpoint fields. Runs with ``config.torch_threads`` torch threads (restored afterwards). The same
    config and scenarios give the same model.
    """
    with torch_settings(config):
        env = make_vec_env(lambda: ContextEnv(scenarios), n_envs=config.n_envs, seed=config.seed)
        try:
            model = make_ppo(config, env)
            model.learn(total_timesteps=config.timesteps, callback=CallbackList(schedule_callbacks(config)))
        finally:
            env.close()
    return model
