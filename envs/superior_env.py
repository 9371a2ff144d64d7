"""The superior as an agent: its reward, learned and pooled superiors for the official's env, and the
superior's own Gymnasium environments (single and vector) against a fixed official policy or pool.

Everything here runs the ONE dynamics core: a day is :func:`massbargain.core.begin_day` (the official's
action and the residents' answer), the superior's response, and :func:`massbargain.core.end_day`. Official
policies are arguments (anything with ``act(obs)``), so this module imports nothing from
``massbargain.agents``.

* :class:`SuperiorReward` and :func:`superior_reward`: the prefecture's payoff (docs/MODEL.md, "The
  superior as an agent").
* :class:`PolicySuperior`: a learned superior (anything with ``probs(obs) -> (B, 7)``) behind the core's
  :class:`~massbargain.superior.Superior` interface, so ``MassBargainEnv(superior=...)`` and
  ``run_episodes(..., superior=...)`` play the official against it; it samples with the core's own
  uniform number, so the official's env stays reproducible from its seed.
* :class:`PoolSuperior`: a mixture of superiors, one member per episode (fictitious play's mixed strategy).
* :class:`SuperiorEnv` / :class:`SuperiorVectorEnv`: the superior's side, ids ``MassBargainSuperior-v1``,
  ``MassBargainSuperior-Changxing-v1`` and ``MassBargainSuperior-Daye-v1``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from massbargain import core
from massbargain.actions import Action, EndReason, Outcome, Response
from massbargain.env import ScenarioSpec
from massbargain.policy import Policy
from massbargain.scenario import LATEST_VERSION, Scenario, SuperiorParams
from massbargain.superior import SUPERIOR_OBSERVATION_FIELDS, Superior, SuperiorView, observe_view

__all__ = [
    "DEFAULT_REWARD",
    "N_RESPONSES",
    "PolicySuperior",
    "PoolSuperior",
    "SuperiorEnv",
    "SuperiorReward",
    "SuperiorVectorEnv",
    "superior_reward",
]

N_RESPONSES = len(Response)
_REPRESS, _INVESTIGATE, _TAKEOVER = int(Response.REPRESS), int(Response.INVESTIGATE), int(EndReason.TAKEOVER)


@dataclass(frozen=True)
class SuperiorReward:
    """Weights of the learning superior's reward (docs/MODEL.md, "The superior as an agent").

    Each day: ``−disorder_cost·D/T − repression_cost·[REPRESS] − investigation_cost·[INVESTIGATE]``. At the
    end: ``+plan_weight·S·plan_value(outcome) − takeover_cost·[provincial takeover]``, with plan_value 1 if
    imposed, ``1 − v_partial`` if partly conceded, ``1 − v_suspend`` if suspended, 0 if withdrawn (the
    official's values mirrored: the plan is what the two bargain over).
    """

    plan_weight: float = 1.0
    disorder_cost: float = 1.0
    repression_cost: float = 0.02
    takeover_cost: float = 1.0
    investigation_cost: float = 0.01

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not (isinstance(value, (int, float)) and 0.0 <= value <= 10.0):
                raise ValueError(f"SuperiorReward.{name} must be a number in [0, 10], got {value!r}")


#: The default weights (an immutable instance, shared).
DEFAULT_REWARD = SuperiorReward()


def _plan_value(scenario: Scenario) -> np.ndarray:
    """The plan's value to the prefecture by Outcome code (NONE, WITHDRAWN, SUSPENDED, PARTIAL, IMPOSED)."""
    u = scenario.utility
    return u.stakes * np.array([0.0, 0.0, 1.0 - u.value_suspend, 1.0 - u.value_partial, 1.0])


def superior_reward(
    result: core.StepResult, state: core.State, scenario: Scenario, weights: SuperiorReward = DEFAULT_REWARD
) -> Any:
    """The superior's reward for the day :func:`massbargain.core.end_day` just closed (``result``; ``state``
    after it): shape (B,), or a float for one environment."""
    value = _plan_value(scenario)
    outcome = result.outcome
    plan = value[outcome] if state.batched else float(value[int(outcome)])
    return (
        weights.plan_weight * plan
        - (weights.disorder_cost / scenario.horizon.days) * state.disorder
        - weights.repression_cost * (result.response == _REPRESS)
        - weights.investigation_cost * (result.response == _INVESTIGATE)
        - weights.takeover_cost * (result.end_reason == _TAKEOVER)
    )


def _sample(probs: np.ndarray, uniform: Any) -> np.ndarray:
    """Inverse-CDF draws from rows of ``probs`` (B, k) with one uniform per row."""
    cumulative = np.cumsum(probs, axis=-1)
    threshold = np.asarray(uniform, dtype=np.float64).reshape(-1, 1) * cumulative[:, -1:]
    return np.minimum((threshold >= cumulative[:, :-1]).sum(axis=-1), probs.shape[-1] - 1).astype(np.int64)


class PolicySuperior:
    """A learned superior behind the core's ``Superior`` interface.

    ``policy`` is anything with ``probs(obs) -> (B, 7)`` over :class:`~massbargain.Response` (e.g.
    ``massbargain.agents.loading.TrainedAgent`` over a superior's PPO model) and sees
    :func:`~massbargain.superior.observe_view`. It draws its response from those probabilities with the
    core's own uniform number (``deterministic=True``: the most probable), so it holds no random state.
    """

    def __init__(self, policy: Any, name: str = "learned", *, deterministic: bool = False) -> None:
        if not callable(getattr(policy, "probs", None)):
            raise TypeError(f"PolicySuperior needs a policy with probs(obs); got {type(policy).__name__}")
        self.policy, self.name, self.deterministic = policy, name, deterministic

    def probs(self, view: SuperiorView) -> np.ndarray:
        obs = observe_view(view)
        return np.asarray(self.policy.probs(obs if obs.ndim == 2 else obs[None]), dtype=np.float64)

    def respond(self, view: SuperiorView, params: SuperiorParams, uniform: Any) -> Any:
        p = self.probs(view)
        code = p.argmax(axis=-1) if self.deterministic else _sample(p, uniform)
        return code if isinstance(view.pressure, np.ndarray) else int(code[0])

    def __repr__(self) -> str:
        return f"PolicySuperior({self.name!r})"


class PoolSuperior:
    """A mixture of superiors: each episode plays one member, drawn on its first day with ``weights``.

    The draw uses the day's uniform number u (member ``k`` where u falls in the k-th slice of the cumulative
    weights; the rescaled position inside that slice is the member's own uniform), so the pool holds no
    generator; it remembers each row's member between days (rows are a batch's copies, or 0 alone).
    """

    def __init__(self, members: Sequence[Superior], weights: Sequence[float] | None = None, name: str = "pool"):
        if not members:
            raise ValueError("PoolSuperior needs at least one member")
        w = np.ones(len(members)) if weights is None else np.asarray(weights, dtype=np.float64)
        if w.shape != (len(members),) or (w < 0).any() or w.sum() <= 0:
            raise ValueError(f"weights must be {len(members)} non-negative numbers with a positive sum, got {weights}")
        self.members, self.name = list(members), name
        self.cumulative = np.cumsum(w / w.sum())
        self._member: np.ndarray | None = None

    def respond(self, view: SuperiorView, params: SuperiorParams, uniform: Any) -> Any:
        single = not isinstance(view.pressure, np.ndarray)
        u = np.atleast_1d(np.asarray(uniform, dtype=np.float64))
        first = np.atleast_1d(np.asarray(view.time_used)) == 0.0
        drawn = np.minimum(np.searchsorted(self.cumulative, u, side="right"), len(self.members) - 1)
        if self._member is None or self._member.shape != u.shape:
            self._member = drawn.copy()
        self._member[first] = drawn[first]
        low = np.concatenate([[0.0], self.cumulative])[drawn]
        rescaled = np.where(first, (u - low) / np.maximum(self.cumulative[drawn] - low, 1e-300), u)
        rescaled = np.clip(rescaled, 0.0, np.nextafter(1.0, 0.0))
        out = np.zeros(u.shape, dtype=np.int64)
        for k, member in enumerate(self.members):
            rows = self._member == k
            if rows.any():
                if single:
                    return int(member.respond(view, params, float(rescaled[0])))
                out[rows] = np.asarray(member.respond(view, params, rescaled), dtype=np.int64)[rows]
        return out

    def __repr__(self) -> str:
        return f"PoolSuperior({self.name!r}, {len(self.members)} members)"


def _passive_official(obs: np.ndarray) -> Any:
    return np.zeros(obs.shape[0], dtype=np.int64) if obs.ndim == 2 else 0


class _Passive:
    """The default official of the superior's env: WAIT every day (pass a real policy or pool instead)."""

    name = "passive"

    def act(self, obs: np.ndarray) -> Any:
        return _passive_official(np.asarray(obs))


def _as_pool(official: Policy | Sequence[Policy] | None) -> list[Any]:
    if official is None:
        return [_Passive()]
    pool = list(official) if isinstance(official, (list, tuple)) else [official]
    for p in pool:
        if not callable(getattr(p, "act", None)):
            raise TypeError(f"an official policy needs act(obs); got {type(p).__name__}")
    if not pool:
        raise ValueError("official: the pool of official policies is empty")
    return pool


class SuperiorEnv(gym.Env[np.ndarray, np.int64]):
    """The prefecture's side of the bargain against a fixed official policy (or a pool of them).

    ## Description

    Each step is one day. The official (``official``: anything with ``act(obs)``, or a list of them, one
    drawn per episode) acts on its own observation; the residents answer (:func:`massbargain.core.begin_day`);
    the agent sees the day as a prefecture does and responds; the core applies the response
    (:func:`massbargain.core.end_day`). Same dynamics, parameters and episode ends as
    :class:`massbargain.MassBargainEnv`.

    ## Action Space

    ``Discrete(7)``, :class:`massbargain.Response`: HOLD, WARN, REPRESS, SUSPEND, PARTIAL, WITHDRAW,
    INVESTIGATE. The three concessions end the episode.

    ## Observation Space

    ``Box(0, 1, (11,), float32)``, :data:`massbargain.superior.SUPERIOR_OBSERVATION_FIELDS`: days used,
    crowd, radical share, disorder, peak disorder, pressure and its stock (squashed), elite opposition, its
    evidence about the county's role, warnings given, an open investigation. Never the brokers'
    recklessness or the official's intent.

    ## Rewards

    :class:`SuperiorReward` (``reward=``): the plan's value to the prefecture at the end, minus disorder,
    repression, investigations and a provincial takeover.

    ## Arguments

    ``scenario``, ``preset``, ``version`` as for :class:`massbargain.MassBargainEnv`; ``official`` (default:
    a passive official); ``reward`` (:class:`SuperiorReward`).
    """

    metadata = {"render_modes": []}

    def __init__(
        self,
        scenario: ScenarioSpec = None,
        *,
        preset: str = "baseline",
        version: int = LATEST_VERSION,
        official: Policy | Sequence[Policy] | None = None,
        reward: SuperiorReward = DEFAULT_REWARD,
    ) -> None:
        self.scenario = Scenario.resolve(scenario, base=preset, version=version)
        self.officials, self.weights = _as_pool(official), reward
        self.action_space = spaces.Discrete(N_RESPONSES)
        self.observation_space = spaces.Box(0.0, 1.0, shape=(len(SUPERIOR_OBSERVATION_FIELDS),), dtype=np.float32)
        self.state: core.State | None = None
        self._day: core.Day | None = None
        self._member = 0

    def _begin(self) -> np.ndarray:
        assert self.state is not None
        official = self.officials[self._member]
        self._official_action = int(official.act(core.observe(self.state, self.scenario)))
        self._day = core.begin_day(self.state, self._official_action, self.scenario, self.np_random)
        return observe_view(self._day.view)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        if options:
            raise ValueError(f"SuperiorEnv.reset takes no options, got {sorted(options)}")
        self.state = core.initial_state(self.scenario, self.np_random, None)
        self._member = int(self.np_random.integers(len(self.officials))) if len(self.officials) > 1 else 0
        return self._begin(), {"official": self._member}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self.state is None or self._day is None:
            raise RuntimeError("the episode has ended (or not started): call reset() before step()")
        a = int(action)
        if not (0 <= a < N_RESPONSES and a == action):
            raise ValueError(
                f"invalid response {action!r}; allowed: {', '.join(f'{r.value}={r.name}' for r in Response)}"
            )
        obs = observe_view(self._day.view)
        r = core.end_day(self.state, self._day, a, self.scenario)
        reward = float(superior_reward(r, self.state, self.scenario, self.weights))
        info = {
            "official_action": Action(self._official_action),
            "official_reward": float(r.reward),
            "response": Response(int(r.response)),
            "outcome": Outcome(int(r.outcome)),
            "end_reason": EndReason(int(r.end_reason)),
        }
        terminated = bool(r.terminated)
        if terminated:
            self._day = None
        else:
            obs = self._begin()
        return obs, reward, terminated, False, info


class SuperiorVectorEnv(VectorEnv):
    """``num_envs`` copies of :class:`SuperiorEnv` stepped together in the core (autoreset ``SAME_STEP``, the
    mode Stable-Baselines3 needs; :class:`massbargain.agents.sb3_vec.SB3VecEnv` adapts it).

    A finished copy restarts inside the step that ends it: the returned observation is the new episode's
    first, the terminal one (the last day's view) is in ``info["final_obs"]``. Each new episode draws its
    official from the pool with the env's generator. ``info`` holds ``official_reward``, ``outcome`` and
    ``end_reason`` (arrays over every copy; the latter two NONE while running).
    """

    metadata: dict[str, Any] = {"render_modes": [], "autoreset_mode": AutoresetMode.SAME_STEP}

    def __init__(
        self,
        num_envs: int = 1,
        scenario: ScenarioSpec = None,
        *,
        preset: str = "baseline",
        version: int = LATEST_VERSION,
        official: Policy | Sequence[Policy] | None = None,
        reward: SuperiorReward = DEFAULT_REWARD,
        autoreset_mode: AutoresetMode | str = AutoresetMode.SAME_STEP,
        render_mode: str | None = None,
    ) -> None:
        if AutoresetMode(autoreset_mode) is not AutoresetMode.SAME_STEP:
            raise ValueError(f"SuperiorVectorEnv supports autoreset_mode SameStep only, got {autoreset_mode!r}")
        if render_mode is not None:
            raise ValueError(f"SuperiorVectorEnv does not render, got render_mode={render_mode!r}")
        self.num_envs = int(num_envs)
        self.render_mode = None
        self.scenario = Scenario.resolve(scenario, base=preset, version=version)
        self.officials, self.weights = _as_pool(official), reward
        self.single_action_space = spaces.Discrete(N_RESPONSES)
        self.single_observation_space = spaces.Box(
            0.0, 1.0, shape=(len(SUPERIOR_OBSERVATION_FIELDS),), dtype=np.float32
        )
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.state: core.State | None = None
        self._day: core.Day | None = None
        self._member = np.zeros(self.num_envs, dtype=np.int64)

    def _draw_members(self, rows: np.ndarray) -> None:
        if len(self.officials) > 1:
            self._member[rows] = self.np_random.integers(len(self.officials), size=rows.size)

    def _begin(self) -> np.ndarray:
        s = self.state
        assert s is not None
        obs = core.observe(s, self.scenario)
        actions = np.zeros(self.num_envs, dtype=np.int64)
        for k, official in enumerate(self.officials):
            rows = np.flatnonzero(self._member == k)
            if rows.size:
                actions[rows] = np.asarray(official.act(obs[rows]), dtype=np.int64).reshape(rows.size)
        self._official_actions = actions
        self._day = core.begin_day(s, actions, self.scenario, self.np_random)
        return observe_view(self._day.view)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        if options:
            raise ValueError(f"SuperiorVectorEnv.reset takes no options, got {sorted(options)}")
        self.state = core.initial_state(self.scenario, self.np_random, self.num_envs)
        self._draw_members(np.arange(self.num_envs))
        return self._begin(), {}

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        if self.state is None or self._day is None:
            raise RuntimeError("call reset() before step()")
        a = np.asarray(actions).astype(np.int64).reshape(self.num_envs)
        if ((a < 0) | (a >= N_RESPONSES)).any():
            raise ValueError(f"responses must be integers in [0, {N_RESPONSES - 1}], got {actions!r}")
        last_obs = observe_view(self._day.view)
        s = self.state
        r = core.end_day(s, self._day, a, self.scenario)
        reward = np.asarray(superior_reward(r, s, self.scenario, self.weights), dtype=np.float64)
        terminated = np.asarray(r.terminated, dtype=bool)
        info: dict[str, Any] = {
            "official_action": self._official_actions.copy(),
            "official_reward": np.asarray(r.reward, dtype=np.float64),
            "outcome": np.asarray(r.outcome),
            "end_reason": np.asarray(r.end_reason),
        }
        done = np.flatnonzero(terminated)
        if done.size:
            fresh = core.initial_state(self.scenario, self.np_random, done.size)
            for name in core.State.__dataclass_fields__:
                getattr(s, name)[done] = getattr(fresh, name)
            self._draw_members(done)
            final_obs = np.full(self.num_envs, None, dtype=object)
            for i in done.tolist():
                final_obs[i] = last_obs[i]
            mask = terminated.copy()
            info.update(final_obs=final_obs, _final_obs=mask, final_info={}, _final_info=mask)
        obs = self._begin()
        return obs, reward, terminated, np.zeros(self.num_envs, dtype=bool), info
