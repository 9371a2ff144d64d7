"""Warm starts: PPO begins as a behaviour-cloned copy of a scripted policy, then improves on it.

On model v1 a cold PPO run of the mode map's budget often settles on doing nothing where a consent policy
pays (docs/MODE_MAP.md): the gain of leaking and petitioning comes late and is noisy, and an early passive
policy rarely samples the long sequences that reveal it. Starting PPO from the best scripted family member
of its cell (chosen on other episodes than those it is judged on) removes that exploration problem without
deciding the answer: PPO keeps optimising the model's own reward from there and may leave the script's mode
(the map reports how often it does).

The clone is plain supervised learning on the script's own episodes: the policy network is fitted to the
script's actions (cross-entropy) and the value network to the discounted returns that followed each state
(squared error), so that PPO's first advantages are not those of an untrained critic.

Any policy can be the teacher: :func:`demonstrations` plays a scripted member, a trained agent or the rollout
planner alike. Demonstrations that are expensive to make (the planner's) can be saved once with
:func:`save_demonstrations` and cloned by many runs (``TrainConfig.warm_start`` takes the ``.npz`` file;
the mode map does this, docs/MODE_MAP.md); :meth:`Demonstrations.digest` names their content.
"""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from massbargain import core
from massbargain.scenario import Scenario

__all__ = ["Demonstrations", "clone_policy", "demonstrations", "load_demonstrations", "save_demonstrations"]


@dataclass(frozen=True)
class Demonstrations:
    """States a policy visited, the actions it took there and the discounted returns that followed."""

    obs: np.ndarray  # (N, F) float32
    actions: np.ndarray  # (N,) int64
    returns: np.ndarray  # (N,) float32, discounted by gamma from that day on

    def __len__(self) -> int:
        return len(self.actions)

    def digest(self) -> str:
        """A short hash of the content (observations, actions, returns): equal demonstrations, equal digest."""
        h = hashlib.sha256()
        for a in (self.obs, self.actions, self.returns):
            h.update(np.ascontiguousarray(a).tobytes())
        return h.hexdigest()[:16]


def save_demonstrations(demos: Demonstrations, path: str | os.PathLike) -> Path:
    """Write ``demos`` to ``path`` (``.npz``) atomically: a reader finds the whole file or none."""
    from massbargain.agents.outdir import atomic_write_bytes

    buffer = io.BytesIO()
    np.savez_compressed(buffer, obs=demos.obs, actions=demos.actions, returns=demos.returns)
    return atomic_write_bytes(path, buffer.getvalue())


def load_demonstrations(path: str | os.PathLike) -> Demonstrations:
    """Read demonstrations written by :func:`save_demonstrations`; a ValueError names the file and what is
    wrong with it (missing, not such a file, inconsistent arrays)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"demonstrations file {str(path)!r} does not exist")
    try:
        with np.load(path) as data:
            obs, actions, returns = data["obs"], data["actions"], data["returns"]
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise ValueError(
            f"{str(path)!r} is not a demonstrations file (an .npz with obs, actions and returns): {exc}"
        ) from None
    if obs.ndim != 2 or actions.shape != (len(obs),) or returns.shape != (len(obs),) or len(obs) == 0:
        raise ValueError(
            f"{str(path)!r}: obs must be (N, F) and actions and returns (N,) with N >= 1; "
            f"got {obs.shape}, {actions.shape}, {returns.shape}"
        )
    return Demonstrations(obs.astype(np.float32), actions.astype(np.int64), returns.astype(np.float32))


def demonstrations(policy: Any, scenario: Scenario, episodes: int, seed: int, gamma: float) -> Demonstrations:
    """Play ``episodes`` episodes of ``policy`` (``act(obs_batch)``) on ``scenario`` with ``seed`` and record
    every running day's observation, action and discounted return-to-go."""
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    rng = np.random.default_rng(seed)
    state = core.initial_state(scenario, rng, episodes)
    alive = np.ones(episodes, dtype=bool)
    obs_days, action_days, reward_days, alive_days = [], [], [], []
    planner = _plans(policy)
    if planner:
        policy.reset()
    for _ in range(scenario.horizon.days):
        obs = core.observe(state, scenario)
        chosen = policy.act(obs, alive) if planner else policy.act(obs)
        actions = np.asarray(chosen, dtype=np.int64).reshape(episodes)
        result = core.step(state, actions, scenario, rng)
        obs_days.append(obs)
        action_days.append(actions)
        reward_days.append(np.asarray(result.reward, dtype=np.float64) * alive)
        alive_days.append(alive.copy())
        alive &= ~result.terminated
        if not alive.any():
            break
    rewards, mask = np.array(reward_days), np.array(alive_days)  # (T, B)
    to_go = np.zeros_like(rewards)
    running = np.zeros(episodes)
    for t in range(len(rewards) - 1, -1, -1):
        running = rewards[t] + gamma * running * mask[t]
        to_go[t] = running
    keep = mask.reshape(-1)
    return Demonstrations(
        obs=np.array(obs_days, dtype=np.float32).reshape(-1, obs_days[0].shape[-1])[keep],
        actions=np.array(action_days).reshape(-1)[keep],
        returns=to_go.reshape(-1)[keep].astype(np.float32),
    )


def _plans(policy: Any) -> bool:
    """Whether ``policy`` is a planner (``act(obs, active)``: it plans only the running episodes)."""
    import inspect

    try:
        return "active" in inspect.signature(policy.act).parameters
    except (TypeError, ValueError):
        return False


def clone_policy(
    model: Any,
    demos: Demonstrations,
    epochs: int = 20,
    batch_size: int = 1024,
    learning_rate: float = 1e-3,
    seed: int = 0,
) -> dict[str, float]:
    """Fit ``model``'s (an SB3 ``PPO``) policy to ``demos``' actions and its value network to their returns.

    Returns the final mean cross-entropy, the share of demonstrated actions the policy's most likely action
    matches, and the value loss. The optimizer is a fresh Adam; PPO's own is left untouched.
    """
    import torch

    policy = model.policy
    obs = torch.as_tensor(demos.obs)
    actions = torch.as_tensor(demos.actions)
    returns = torch.as_tensor(demos.returns)
    optimizer = torch.optim.Adam(policy.parameters(), lr=learning_rate)
    generator = torch.Generator().manual_seed(seed)
    n = len(demos)
    policy.set_training_mode(True)
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator)
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            values, log_prob, _ = policy.evaluate_actions(obs[idx], actions[idx])
            loss = -log_prob.mean() + 0.5 * torch.nn.functional.mse_loss(values.flatten(), returns[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    policy.set_training_mode(False)
    with torch.no_grad():
        values, log_prob, _ = policy.evaluate_actions(obs, actions)
        greedy = policy.get_distribution(obs).distribution.probs.argmax(dim=1)
    return {
        "cross_entropy": float(-log_prob.mean()),
        "agreement": float((greedy == actions).float().mean()),
        "value_loss": float(torch.nn.functional.mse_loss(values.flatten(), returns)),
    }
