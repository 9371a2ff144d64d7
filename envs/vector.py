"""MassBargainVectorEnv: the native vector environment, the dynamics core at batch size ``num_envs``.

The same three core functions as :class:`massbargain.MassBargainEnv` (``initial_state``, ``step``,
``observe``), called once per step for every copy at once; no rule of the model lives here. This module
adds only what a Gymnasium vector environment needs around the core: seeding, autoreset of finished
copies, action checks and the dict-of-arrays ``info``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from massbargain import core
from massbargain.actions import ACTION_MODE, Action
from massbargain.core import OBSERVATION_FIELDS
from massbargain.env import ScenarioSpec, check_action
from massbargain.scenario import LATEST_VERSION, Scenario
from massbargain.suggest import unknown
from massbargain.superior import Superior

__all__ = ["DEFAULT_AUTORESET_MODE", "MassBargainVectorEnv"]

#: Gymnasium's own default (``SyncVectorEnv``, ``AsyncVectorEnv``, ``CartPoleVectorEnv``), so that
#: ``gym.make_vec(..., vectorization_mode="vector_entry_point")`` and ``"sync"`` behave alike. SB3 needs
#: ``SAME_STEP``; :mod:`massbargain.agents.sb3_vec` asks for it.
DEFAULT_AUTORESET_MODE = AutoresetMode.NEXT_STEP

_N_ACTIONS = len(Action)
_MODE_OF_ACTION = np.array([int(ACTION_MODE[a]) for a in Action], dtype=np.int64)
_STATE_FIELDS = tuple(f.name for f in dataclasses.fields(core.State))
#: Keys of ``info`` that describe the day just played (the single env's step ``info`` minus the hidden ones).
STEP_KEYS = ("action", "mode", "superior_response", "triggered", "punished", "outcome", "end_reason")
#: Keys of ``info`` that describe the episode's hidden variables (the single env's reset ``info``).
HIDDEN_KEYS = ("recklessness", "resolve", "evidence", "mood", "severity")


class MassBargainVectorEnv(VectorEnv):
    """``num_envs`` independent copies of :class:`massbargain.MassBargainEnv`, stepped together in numpy.

    ## Description

    The model, spaces, rewards and episode ends are those of :class:`massbargain.MassBargainEnv` (its
    docstring is the manual); this class runs them for a batch of copies in one call of the dynamics
    core, about 10 times as many steps per second as a :class:`gymnasium.vector.SyncVectorEnv` of single
    environments at 64 copies and about 50 times at 1024 (``massbargain bench``). It is the
    ``vector_entry_point`` of every registered id::

        import gymnasium as gym
        import massbargain

        envs = gym.make_vec("MassBargain-v1", num_envs=1024)
        envs = gym.make_vec("MassBargain-Daye-v1", num_envs=64, autoreset_mode="SameStep")
        obs, info = envs.reset(seed=0)
        obs, reward, terminated, truncated, info = envs.step(envs.action_space.sample())

    ## Spaces

    ``single_observation_space`` is ``Box(0, 1, (19,), float32)`` and ``single_action_space``
    ``Discrete(8)``, as in the single environment; observations come as float32 ``(num_envs, 19)``,
    actions as ints ``(num_envs,)``, rewards float64 ``(num_envs,)``. ``truncated`` is always false: the
    deadline is part of the model and terminates.

    ## Autoreset

    Finished copies never keep evolving; they restart with a fresh episode. ``autoreset_mode`` (declared
    in ``metadata["autoreset_mode"]``, see https://farama.org/Vector-Autoreset-Mode):

    * ``NEXT_STEP`` (default, Gymnasium's own default): a copy that terminates returns its terminal
      observation; on the next ``step`` its action is ignored and it returns the first observation of a
      new episode with reward 0 and ``terminated`` false. The default, so that code written against
      Gymnasium's vector envs (and ``vectorization_mode="sync"`` of the same id) works unchanged.
    * ``SAME_STEP``: a copy that terminates restarts within the same ``step``; the observation returned is
      the new episode's first one, the terminal one is in ``info["final_obs"]`` and the finishing day's
      ``info`` in ``info["final_info"]`` (each with its ``_final_obs`` / ``_final_info`` mask). No step is
      spent on resets. Stable-Baselines3 needs this mode (:class:`massbargain.agents.sb3_vec.SB3VecEnv`).
    * ``DISABLED``: finished copies must be restarted with ``reset(options={"reset_mask": mask})``;
      stepping them raises an error.

    ## Info

    A dict of arrays of shape ``(num_envs,)``, each key ``k`` with a boolean mask ``_k`` saying which
    copies it holds, laid out exactly as a ``SyncVectorEnv`` of single environments lays out theirs. The
    keys are the single environment's: the day's ``action``, ``mode``, ``superior_response``,
    ``triggered``, ``punished``, ``outcome`` and ``end_reason`` (masked out for copies that restarted in
    this step), and the hidden ``recklessness``, ``resolve``, ``evidence``, ``mood`` and ``severity``
    (every copy). Enum-valued keys hold the enum's integer codes (compare them with the members:
    ``info["outcome"] == Outcome.WITHDRAWN``). The masks are read-only arrays, shared by the keys that the
    same copies hold; the values are fresh arrays that later steps never change.

    ## Seeding

    One generator drives the whole batch. ``reset(seed=s)`` creates it exactly as the single
    environment's ``reset(seed=s)`` does (``gymnasium.utils.seeding.np_random(s)``), and a batch of one
    draws the same numbers in the same order, so ``num_envs=1`` reproduces ``MassBargainEnv``
    step for step (observations, rewards, terminations and infos), across autoresets too. With more
    copies, the starts of autoreset episodes are drawn ahead in blocks of ``max(64, num_envs // 4)`` by one
    ``initial_state`` call (same distribution, same generator; one call costs about as much for 4 starts
    as for 256). A list of seeds is accepted only with one element (or all ``None``): the copies of a
    batch share one stream.

    ## Arguments

    * ``num_envs``: number of copies.
    * ``scenario``, ``preset``, ``superior``: as for :class:`massbargain.MassBargainEnv`; one scenario for
      every copy. Also accepted as ``reset(options={"scenario": ...})``, which restarts all copies under it
      until the next ``reset()``: a reset of every copy without the option goes back to the constructor's
      scenario (``default_scenario``); see :meth:`reset`.
    * ``autoreset_mode``: an :class:`gymnasium.vector.AutoresetMode` or its value (``"NextStep"``,
      ``"SameStep"``, ``"Disabled"``); default ``NEXT_STEP``.
    * ``render_mode``: only ``None``; render one copy with ``gym.make(id, render_mode=...)``.

    ## Version History

    The model's versions are the single environment's (:class:`massbargain.MassBargainEnv`, "Version
    History"); this class has had no change of its own that alters results.
    """

    metadata: dict[str, Any] = {"render_modes": [], "autoreset_mode": DEFAULT_AUTORESET_MODE}

    def __init__(
        self,
        num_envs: int = 1,
        scenario: ScenarioSpec = None,
        *,
        preset: str = "baseline",
        version: int = LATEST_VERSION,
        autoreset_mode: AutoresetMode | str = DEFAULT_AUTORESET_MODE,
        render_mode: str | None = None,
        superior: Superior | None = None,
    ) -> None:
        if isinstance(num_envs, bool) or not isinstance(num_envs, (int, np.integer)) or num_envs < 1:
            raise ValueError(f"num_envs must be a positive integer, got {num_envs!r}")
        if render_mode is not None:
            raise ValueError(
                f"MassBargainVectorEnv does not render (render_mode={render_mode!r}); render one copy with "
                "gym.make(id, render_mode='ansi' or 'rgb_array'), or use gym.make_vec(..., vectorization_mode='sync')"
            )
        try:
            mode = autoreset_mode if isinstance(autoreset_mode, AutoresetMode) else AutoresetMode(autoreset_mode)
        except ValueError:
            allowed = ", ".join(f"{m.name} ({m.value!r})" for m in AutoresetMode)
            raise ValueError(f"autoreset_mode must be one of {allowed}, got {autoreset_mode!r}") from None
        self.num_envs = int(num_envs)
        self.autoreset_mode = mode
        self.metadata = {**type(self).metadata, "autoreset_mode": mode}
        self.render_mode = None
        self.preset, self.version = preset, version
        self.scenario = Scenario.resolve(scenario, base=preset, version=version)
        self.default_scenario = self.scenario  # what a reset() of every copy without options["scenario"] plays
        self.superior = superior if superior is not None else core._DEFAULT_SUPERIOR
        self.single_action_space = spaces.Discrete(_N_ACTIONS)
        self.single_observation_space = spaces.Box(0.0, 1.0, shape=(len(OBSERVATION_FIELDS),), dtype=np.float32)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.state: core.State | None = None
        # Copies whose episode ended on the previous step and restart on this one (NEXT_STEP), or that
        # wait for a masked reset (DISABLED).
        self._finished = np.zeros(self.num_envs, dtype=bool)
        self._everyone = _read_only(np.ones(self.num_envs, dtype=bool))  # the mask of keys every copy holds
        # Fresh episode starts drawn ahead for autoresets of many copies (see _restart).
        self._block: core.State | None = None
        self._block_obs: np.ndarray | None = None  # their observations (a start's depends on it alone)
        self._block_used = 0
        self._block_size = max(64, self.num_envs // 4)
        self._block_scenario: Scenario | None = None  # the scenario the block was drawn for

    # --- the Gymnasium API ------------------------------------------------------------------------------

    def reset(
        self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start new episodes in every copy (or in those of ``options["reset_mask"]``).

        Options (another key raises ValueError):

        * ``scenario``: a scenario spec, as at construction. Every copy restarts under it, and it holds
          until the next ``reset()``, autoresets included. A later reset of every copy without it goes back
          to the constructor's scenario (``default_scenario``), as the single env does.
        * ``reset_mask``: a bool array of shape ``(num_envs,)``: restart only those copies, the others keep
          their episode. A partial reset keeps the scenario in force (the other copies still play under it),
          so it cannot carry ``scenario``.

        Returns the observations of every copy and the hidden variables of the restarted ones in ``info``.
        """
        super().reset(seed=self._one_seed(seed))
        options = dict(options or {})
        for key in options:
            if key not in ("scenario", "reset_mask"):
                raise ValueError(unknown("reset option", key, ["scenario", "reset_mask"]))
        mask = options.pop("reset_mask", None)
        if mask is not None:
            mask = self._check_mask(mask)
        partial = mask is not None and not mask.all()
        spec = options.get("scenario")
        if partial and spec is not None:
            raise ValueError("options['scenario'] changes every copy; it cannot be combined with a partial reset_mask")
        if not partial:
            self.scenario = (
                self.default_scenario
                if spec is None
                else Scenario.resolve(spec, base=self.preset, version=self.version)
            )
        if mask is None or self.state is None or self.state.batch_size != self.num_envs:
            mask = np.ones(self.num_envs, dtype=bool)
            self._block = None  # starts drawn ahead belong to the old stream (or scenario)
            self.state = core.initial_state(self.scenario, self.np_random, self.num_envs)
        else:
            self._restart(np.flatnonzero(mask))
        self._finished &= ~mask
        info = self._info({}, None, mask)
        return core.observe(self.state, self.scenario), info

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Play one day in every copy; finished copies restart as ``autoreset_mode`` says."""
        s = self.state
        if s is None:
            raise RuntimeError("call reset() before step()")
        a = self._check_actions(actions)
        n, mode = self.num_envs, self.autoreset_mode
        restart = self._finished
        restarting = bool(restart.any())
        if restarting and mode is AutoresetMode.DISABLED:
            raise RuntimeError(
                f"copies {np.flatnonzero(restart).tolist()} have finished and autoreset_mode is DISABLED: restart "
                "them with reset(options={'reset_mask': mask}) before the next step"
            )
        if restarting and restart.all():
            # NEXT_STEP with every copy finished: no day is played, only restarts (so one copy draws exactly
            # what the single env's reset() draws).
            reward, terminated, day = np.zeros(n), np.zeros(n, dtype=bool), {}
        else:
            r = core.step(s, a, self.scenario, self.np_random, self.superior)
            reward, terminated = np.asarray(r.reward, dtype=np.float64), r.terminated
            day = {
                "action": a,
                "mode": _MODE_OF_ACTION[a],
                "superior_response": r.response,
                "triggered": r.triggered,
                "punished": r.punished,
                "outcome": r.outcome,
                "end_reason": r.end_reason,
            }
        truncated = np.zeros(n, dtype=bool)

        if mode is AutoresetMode.SAME_STEP:
            obs = core.observe(s, self.scenario)
            done = terminated.nonzero()[0]
            if done.size == 0:
                return obs, reward, terminated, truncated, self._info(day, None, None)
            ended = terminated.copy()
            final_info = self._info(day, ended, ended)  # the finishing day, the ended episodes' hidden variables
            final_obs = np.full(n, None, dtype=object)
            for i, row in zip(done.tolist(), obs[done], strict=True):
                final_obs[i] = row
            obs[done] = self._restart(done, observe=True)
            info = self._info(day, ~ended, None)
            ended = _read_only(ended)
            info.update(final_obs=final_obs, _final_obs=ended, final_info=final_info, _final_info=ended)
            return obs, reward, terminated, truncated, info

        # NEXT_STEP and DISABLED: copies that finished on the previous step restart now.
        if restarting:
            self._restart(np.flatnonzero(restart))
            reward[restart] = 0.0
            terminated = terminated.copy()
            terminated[restart] = False
            info = self._info(day, ~restart, None)
        else:
            info = self._info(day, None, None)
        self._finished = terminated.copy()
        return core.observe(s, self.scenario), reward, terminated, truncated, info

    # --- helpers ----------------------------------------------------------------------------------------

    def _restart(self, rows: np.ndarray, observe: bool = False) -> np.ndarray | None:
        """Start fresh episodes in ``rows`` (indices) and write them into the state; with ``observe``, return
        their observations.

        One copy draws each start when it is needed, exactly as the single env's ``reset()`` does. Many
        copies take their starts from a block drawn ahead by one ``initial_state`` call (the same draws of
        the same generator, in another order), because a call costs about the same for 4 starts as for 256.
        """
        k, s = rows.size, self.state
        if self.num_envs == 1:
            fresh = core.initial_state(self.scenario, self.np_random, k)
            for name in _STATE_FIELDS:
                getattr(s, name)[rows] = getattr(fresh, name)
            return core.observe(fresh, self.scenario) if observe else None
        block, used = self._block, self._block_used
        if block is None or block.day.shape[0] - used < k or self._block_scenario is not self.scenario:
            size = max(k, self._block_size)
            block, used = core.initial_state(self.scenario, self.np_random, size), 0
            self._block, self._block_obs = block, core.observe(block, self.scenario)
            self._block_scenario = self.scenario
        self._block_used = used + k
        for name in _STATE_FIELDS:
            getattr(s, name)[rows] = getattr(block, name)[used : used + k]
        return self._block_obs[used : used + k] if observe else None

    def _info(self, day: dict[str, np.ndarray], day_mask: np.ndarray | None, hidden_mask: np.ndarray | None) -> dict:
        """``day``'s keys masked by ``day_mask``, then the hidden variables masked by ``hidden_mask``.

        A mask of None means every copy. The keys of one group share one read-only mask array (cheaper than
        an array per key; writing to it raises). The hidden variables are copied: restarts overwrite the
        state in place, and an ``info`` already returned must not change.
        """
        s = self.state
        out: dict[str, Any] = {}
        if day_mask is None:
            day_mask = self._everyone
        elif day_mask.any():
            day_mask = _read_only(day_mask.copy())
        else:
            day = {}  # as in a SyncVectorEnv: a key no copy holds is absent
        for key, value in day.items():
            out[key] = value
            out[f"_{key}"] = day_mask
        hidden_mask = self._everyone if hidden_mask is None else _read_only(hidden_mask.copy())
        for key in HIDDEN_KEYS:
            out[key] = getattr(s, key).copy()
            out[f"_{key}"] = hidden_mask
        return out

    def _check_actions(self, actions: Any) -> np.ndarray:
        """The actions as a fresh int64 array of shape (num_envs,), or a ValueError naming the bad copy."""
        raw = np.asarray(actions)
        if raw.shape != (self.num_envs,):
            raise ValueError(
                f"actions must have shape ({self.num_envs},) (one per copy), got shape {raw.shape}: {actions!r}"
            )
        if raw.dtype.kind in "iu":
            a = raw.astype(np.int64)  # a copy: the caller may reuse its array
            if a.view(np.uint64).max() < _N_ACTIONS:  # negative ints are huge as uint64
                return a
            bad = (a < 0) | (a >= _N_ACTIONS)
        else:
            try:
                a = raw.astype(np.int64)
                bad = (a != raw) | (a < 0) | (a >= _N_ACTIONS)
            except (TypeError, ValueError):
                a, bad = None, np.ones(self.num_envs, dtype=bool)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            value = raw[i].item() if isinstance(raw[i], np.generic) else raw[i]
            try:
                check_action(value)
            except ValueError as exc:
                raise ValueError(f"copy {i}: {exc}") from None
            raise ValueError(f"copy {i}: invalid action {value!r}")  # pragma: no cover (check_action raised)
        return a

    def _check_mask(self, mask: Any) -> np.ndarray:
        if not isinstance(mask, np.ndarray) or mask.dtype != np.bool_ or mask.shape != (self.num_envs,):
            raise ValueError(
                f"options['reset_mask'] must be a numpy bool array of shape ({self.num_envs},), got {mask!r}"
            )
        if not mask.any():
            raise ValueError("options['reset_mask'] must select at least one copy")
        return mask

    def _one_seed(self, seed: Any) -> int | None:
        """The batch's one seed from what ``reset`` accepts."""
        if seed is None or isinstance(seed, (int, np.integer)):
            return None if seed is None else int(seed)
        seeds = list(seed)
        if len(seeds) != self.num_envs:
            raise ValueError(f"a list of seeds must have num_envs={self.num_envs} entries, got {len(seeds)}")
        if all(x is None for x in seeds):
            return None
        if len(seeds) == 1:
            return int(seeds[0])
        raise ValueError(
            "MassBargainVectorEnv draws every copy from one generator: pass one int seed (or None), not a list "
            f"of {len(seeds)} seeds"
        )


def _read_only(mask: np.ndarray) -> np.ndarray:
    mask.flags.writeable = False
    return mask
