"""Record reference trajectories of the v0 ids (single and vector env) into ``v0_trajectories.npz``.

Run once, with the model as it was when v0 was frozen (commit 656bb4a); ``tests/test_versions.py`` replays
the same seeds and actions and asserts the same bits. Rerunning it now must reproduce the stored file
exactly (that is what the test checks), so there is no reason to regenerate it.

    python tests/data/make_v0_trajectories.py
"""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np

import massbargain  # noqa: F401  (registers the ids)

IDS = ("MassBargain-v0", "MassBargain-Changxing-v0", "MassBargain-Daye-v0")
SEEDS = (0, 1, 2)
STEPS = 40  # single env: steps across episode ends (reset with seed + 1000·k after the k-th end)
VECTOR_COPIES, VECTOR_STEPS = 8, 40


def single(env_id: str, seed: int) -> dict[str, np.ndarray]:
    env = gym.make(env_id)
    rng = np.random.default_rng(10_000 + seed)
    obs, _ = env.reset(seed=seed)
    rows = {"obs": [obs], "action": [], "reward": [], "terminated": [], "response": [], "outcome": []}
    episode = 0
    for _ in range(STEPS):
        a = int(rng.integers(0, 7))  # every action but ACCEPT
        obs, r, term, _, info = env.step(a)
        rows["action"].append(a)
        rows["reward"].append(r)
        rows["terminated"].append(term)
        rows["response"].append(int(info["superior_response"]))
        rows["outcome"].append(int(info["outcome"]))
        if term:
            episode += 1
            obs, _ = env.reset(seed=seed + 1000 * episode)
        rows["obs"].append(obs)
    return {k: np.asarray(v) for k, v in rows.items()}


def vector(env_id: str, seed: int) -> dict[str, np.ndarray]:
    envs = gym.make_vec(env_id, num_envs=VECTOR_COPIES)
    rng = np.random.default_rng(20_000 + seed)
    obs, _ = envs.reset(seed=seed)
    rows = {"obs": [obs], "action": [], "reward": [], "terminated": []}
    for _ in range(VECTOR_STEPS):
        a = rng.integers(0, 7, size=VECTOR_COPIES)
        obs, r, term, _, _ = envs.step(a)
        rows["action"].append(a)
        rows["reward"].append(r)
        rows["terminated"].append(term)
        rows["obs"].append(obs)
    return {k: np.asarray(v) for k, v in rows.items()}


def record() -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for env_id in IDS:
        for seed in SEEDS:
            for kind, play in (("single", single), ("vector", vector)):
                for key, value in play(env_id, seed).items():
                    out[f"{env_id}/{kind}/{seed}/{key}"] = value
    return out


if __name__ == "__main__":
    path = Path(__file__).with_name("v0_trajectories.npz")
    np.savez_compressed(path, **record())
    print(f"wrote {path}")
