"""Registration of the environment ids with Gymnasium, idempotent, done on ``import massbargain``."""

from __future__ import annotations

import gymnasium as gym

__all__ = ["ENV_IDS", "ENV_VERSIONS", "SUPERIOR_ENV_IDS", "register_envs"]

#: Registered id -> preset it is built on. Each preset exists once per model version (Gymnasium's convention:
#: a change that alters results bumps the version; old versions stay registered and behave as they did).
ENV_IDS: dict[str, str] = {
    "MassBargain-v1": "baseline",
    "MassBargain-Changxing-v1": "changxing",
    "MassBargain-Daye-v1": "daye",
    "MassBargain-v0": "baseline",
    "MassBargain-Changxing-v0": "changxing",
    "MassBargain-Daye-v0": "daye",
}
#: Registered id -> model version (docs/MODEL.md, "Model versions").
ENV_VERSIONS: dict[str, int] = {env_id: int(env_id.rsplit("-v", 1)[1]) for env_id in ENV_IDS}
#: The superior's side (massbargain.superior_env.SuperiorEnv), model v1 only: id -> preset. Pass the official
#: policy (or pool) as ``official=``; the default official waits every day.
SUPERIOR_ENV_IDS: dict[str, str] = {
    "MassBargainSuperior-v1": "baseline",
    "MassBargainSuperior-Changxing-v1": "changxing",
    "MassBargainSuperior-Daye-v1": "daye",
}


def register_envs() -> None:
    """Register every id in :data:`ENV_IDS`; a second call changes nothing."""
    for env_id, preset in ENV_IDS.items():
        if env_id in gym.registry:
            continue
        gym.register(
            id=env_id,
            entry_point="massbargain.env:MassBargainEnv",
            # gym.make_vec(id, num_envs=n) builds the native vector env over the same dynamics core.
            vector_entry_point="massbargain.vector:MassBargainVectorEnv",
            kwargs={"preset": preset, "version": ENV_VERSIONS[env_id]},
            # The deadline is part of the model and terminates the episode; no TimeLimit wrapper.
            max_episode_steps=None,
        )
    for env_id, preset in SUPERIOR_ENV_IDS.items():
        if env_id in gym.registry:
            continue
        gym.register(
            id=env_id,
            entry_point="massbargain.superior_env:SuperiorEnv",
            vector_entry_point="massbargain.superior_env:SuperiorVectorEnv",
            kwargs={"preset": preset, "version": 1},
            max_episode_steps=None,
        )
