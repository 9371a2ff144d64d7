"""Stable-Baselines3 on Gymnasium's vector API: a thin adapter from a same-step ``VectorEnv`` to SB3's ``VecEnv``.

SB3 trains on its own ``VecEnv`` API (``DummyVecEnv``, ``SubprocVecEnv``), which steps one Python
environment at a time; it has no adapter for a native ``gymnasium.vector.VectorEnv`` that steps every copy
in one call. :class:`SB3VecEnv` is that adapter. It wraps any Gymnasium vector environment whose
``metadata["autoreset_mode"]`` is ``SAME_STEP`` (the mode whose semantics match SB3's: a finished copy
restarts inside the step that ends it) and converts each step:

* ``terminated | truncated`` become SB3's ``dones``;
* for each finished copy, ``info["final_obs"][i]`` becomes ``infos[i]["terminal_observation"]`` and
  ``truncated and not terminated`` becomes ``infos[i]["TimeLimit.truncated"]`` (what PPO's bootstrapping
  and ``VecMonitor`` read), together with that copy's ``info["final_info"]`` entries (e.g. ``outcome``,
  ``end_reason``: usable as ``VecMonitor(info_keywords=...)``; ``final_info=False`` leaves them out,
  which training does: PPO reads only the terminal observation and the truncation flag);
* the other copies get empty info dicts (``step_info=True`` copies the step's ``info`` entries into
  every copy's dict, at some cost per step).

Typical use, which :func:`make_sb3_vec_env` wraps::

    import gymnasium as gym
    import massbargain
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import VecMonitor
    from massbargain.agents.sb3_vec import SB3VecEnv

    venv = gym.make_vec("MassBargain-Changxing-v1", num_envs=16, autoreset_mode="SameStep")
    env = VecMonitor(SB3VecEnv(venv))
    PPO("MlpPolicy", env, seed=0).learn(100_000)

Seeding: SB3 calls :meth:`SB3VecEnv.seed` (``PPO(..., seed=s)`` does), and the next ``reset()`` passes
that one seed to the vector environment's ``reset(seed=...)``. The native massbargain vector env draws
every copy from one generator seeded by it; for other vector envs (e.g. a ``SyncVectorEnv``) the seed is
passed as Gymnasium does it (copy ``i`` gets ``seed + i``).

This module imports Stable-Baselines3 (and through it torch).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from stable_baselines3.common.vec_env import VecEnv, VecMonitor
from stable_baselines3.common.vec_env.base_vec_env import VecEnvIndices, VecEnvObs, VecEnvStepReturn

__all__ = ["SB3VecEnv", "make_sb3_vec_env"]


class SB3VecEnv(VecEnv):
    """SB3's ``VecEnv`` API over a Gymnasium ``VectorEnv`` in ``SAME_STEP`` autoreset mode.

    Args:
        venv: the vector environment, e.g. ``gym.make_vec("MassBargain-v1", num_envs=64,
            autoreset_mode="SameStep")``. Its copies share one Box or Discrete single space each.
        step_info: also copy every key of the step's ``info`` into each copy's info dict (off by default:
            SB3's algorithms read only the finished copies' dicts).
        final_info: copy the finishing day's ``info["final_info"]`` entries into a finished copy's dict
            (on by default; off saves splitting a dozen keys per finished episode where nobody reads them).

    Raises:
        ValueError: if ``venv`` is not a Gymnasium vector env in ``SAME_STEP`` mode (the message says how
            to build one).
    """

    def __init__(self, venv: VectorEnv, step_info: bool = False, final_info: bool = True) -> None:
        if not isinstance(venv, VectorEnv):
            raise TypeError(
                f"SB3VecEnv wraps a gymnasium.vector.VectorEnv, got {type(venv).__name__}; build one with "
                "gym.make_vec(env_id, num_envs=n, autoreset_mode='SameStep')"
            )
        mode = venv.metadata.get("autoreset_mode")
        if mode is not AutoresetMode.SAME_STEP:
            raise ValueError(
                f"SB3VecEnv needs a vector env in AutoresetMode.SAME_STEP (SB3 expects finished copies to restart "
                f"within the step that ends them), got metadata['autoreset_mode']={mode!r}; pass "
                "autoreset_mode='SameStep' to gym.make_vec (native env) or vector_kwargs={'autoreset_mode': "
                "'SameStep'} (sync/async)"
            )
        self.venv = venv
        self.step_info = step_info
        self.final_info = final_info
        self._actions: np.ndarray | None = None
        self._next_seed: int | None = None
        self._next_options: dict[str, Any] = {}
        super().__init__(venv.num_envs, venv.single_observation_space, venv.single_action_space)

    # --- the SB3 VecEnv API -----------------------------------------------------------------------------

    def reset(self) -> VecEnvObs:
        """Reset every copy (with the seed of the last :meth:`seed` and the options of ``set_options``)."""
        kwargs: dict[str, Any] = {"seed": self._next_seed}
        if self._next_options:
            kwargs["options"] = self._next_options
        obs, info = self.venv.reset(**kwargs)
        self._next_seed, self._next_options = None, {}  # used once, as SB3's own VecEnvs do
        self.reset_infos = [_row(info, i) for i in range(self.num_envs)]
        return obs

    @property
    def reset_infos(self) -> list[dict[str, Any]]:
        """The reset info of each copy's current episode (as SB3's ``DummyVecEnv`` keeps it).

        Autoresets only note which step's info holds a copy's reset info; it is split out when read, since
        SB3's algorithms never read it and splitting costs microseconds per finished episode.
        """
        for i, info in self._pending_resets.items():
            self._reset_infos[i] = _row(info, i)
        self._pending_resets.clear()
        return self._reset_infos

    @reset_infos.setter
    def reset_infos(self, value: list[dict[str, Any]]) -> None:
        self._reset_infos = value
        self._pending_resets: dict[int, dict[str, Any]] = {}

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self) -> VecEnvStepReturn:
        if self._actions is None:
            raise RuntimeError("step_wait() called without a pending step_async(actions)")
        actions, self._actions = self._actions, None
        obs, reward, terminated, truncated, info = self.venv.step(actions)
        dones = terminated | truncated
        n = self.num_envs
        if self.step_info:
            infos = [_row(info, i) for i in range(n)]
        else:
            infos = [{} for _ in range(n)]
        done = np.flatnonzero(dones)
        if done.size:
            final_obs = info["final_obs"]
            final_info = info.get("final_info", {}) if self.final_info else {}
            for i in done.tolist():
                entry = infos[i]
                if final_info:
                    entry.update(_row(final_info, i))
                entry["terminal_observation"] = final_obs[i]
                entry["TimeLimit.truncated"] = bool(truncated[i] and not terminated[i])
                self._pending_resets[i] = info  # the new episode's reset info, split when read
        return obs, np.asarray(reward, dtype=np.float32), dones, infos

    def seed(self, seed: int | None = None) -> Sequence[int | None]:
        """Seed the next ``reset()``; returns the seed of each copy (one generator: the same int for all)."""
        if seed is None:
            seed = int(np.random.default_rng().integers(0, 2**32 - 1))
        self._next_seed = int(seed)
        return [self._next_seed] * self.num_envs

    def set_options(self, options: list[dict] | dict | None = None) -> None:
        """Options for the next ``reset()``; one dict for every copy (a list must hold equal dicts)."""
        if isinstance(options, (list, tuple)):
            if any(o != options[0] for o in options):
                raise ValueError("the copies of a vector env reset with one options dict; got different ones")
            options = options[0] if options else None
        self._next_options = dict(options or {})

    def close(self) -> None:
        self.venv.close()

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        """The vector env's attribute, once per requested copy (the copies share it)."""
        value = getattr(self.venv, attr_name)
        return [value for _ in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        """Set an attribute of the vector env; the copies share it, so ``indices`` must cover all of them."""
        self._require_all(indices, "set_attr")
        setattr(self.venv, attr_name, value)

    def env_method(self, method_name: str, *method_args: Any, indices: VecEnvIndices = None, **method_kwargs: Any):
        """Call a method of the vector env once; its result is returned for each requested copy."""
        idx = list(self._get_indices(indices))
        result = getattr(self.venv, method_name)(*method_args, **method_kwargs)
        return [result for _ in idx]

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        """No copy is wrapped in a per-copy ``gym.Wrapper`` (there are no per-copy env objects)."""
        return [False for _ in self._get_indices(indices)]

    def get_images(self) -> Sequence[np.ndarray | None]:
        raise NotImplementedError("SB3VecEnv does not render; render one copy with gym.make(id, render_mode=...)")

    # --- helpers ----------------------------------------------------------------------------------------

    def _require_all(self, indices: VecEnvIndices, what: str) -> None:
        idx = sorted(set(self._get_indices(indices)))
        if idx != list(range(self.num_envs)):
            raise ValueError(f"{what}: the copies of a vector env share their attributes; pass indices=None")

    def __repr__(self) -> str:
        return f"SB3VecEnv({self.venv!r})"


def _row(info: dict[str, Any], i: int) -> dict[str, Any]:
    """Copy ``i``'s entries of Gymnasium's dict-of-arrays ``info``: each key ``k`` whose mask ``_k`` (when
    present) is set at ``i``; nested dicts (e.g. ``episode``) are split recursively, ``final_obs`` and
    ``final_info`` left out."""
    out: dict[str, Any] = {}
    for key, value in info.items():
        if key[0] == "_" or key == "final_obs" or key == "final_info":
            continue
        mask = info.get("_" + key)
        if mask is not None and not mask[i]:
            continue
        if isinstance(value, dict):
            part = _row(value, i)
            if part:
                out[key] = part
        else:
            out[key] = value[i]
    return out


def make_sb3_vec_env(
    env_id: str = "MassBargain-v1",
    n_envs: int = 16,
    *,
    seed: int | None = None,
    monitor: bool = True,
    info_keywords: tuple[str, ...] = (),
    final_info: bool = True,
    **env_kwargs: Any,
) -> VecEnv:
    """An SB3 ``VecEnv`` of ``n_envs`` copies of a registered id on its native vector env (same-step mode).

    ``env_kwargs`` go to ``gym.make_vec`` (e.g. ``scenario="daye"``); ``monitor`` wraps the result in
    ``VecMonitor`` (episode returns and lengths for SB3's logger; ``info_keywords`` adds final-info keys
    such as ``"outcome"``, which needs ``final_info``); ``seed`` seeds the first ``reset()``; ``final_info``
    as in :class:`SB3VecEnv`.
    """
    venv = gym.make_vec(env_id, num_envs=n_envs, autoreset_mode=AutoresetMode.SAME_STEP, **env_kwargs)
    if info_keywords and not final_info:
        raise ValueError(f"info_keywords {info_keywords!r} are read from the final info: keep final_info=True")
    env: VecEnv = SB3VecEnv(venv, final_info=final_info)
    if monitor:
        env = VecMonitor(env, info_keywords=info_keywords)
    if seed is not None:
        env.seed(seed)
    return env
