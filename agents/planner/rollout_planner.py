"""The rollout planner: one-step lookahead over base policies, from root states drawn from a belief.

See the package docstring (:mod:`massbargain.agents.planner`) for the algorithm and docs/PLANNER.md for
its figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from typing import Any

import numpy as np

from massbargain import core
from massbargain.actions import Action
from massbargain.agents.planner.belief import Belief
from massbargain.agents.planner.rules import ScriptedRule, select_base_policies
from massbargain.agents.planner.simulator import rollout_returns, simulate, take
from massbargain.core import OBS_INDEX, State
from massbargain.policy import Policy
from massbargain.scenario import Scenario
from massbargain.superior import Superior

__all__ = ["KINDS", "RolloutPlanner", "default_base_policies", "make_planner"]

KINDS = ("honest", "clairvoyant")
_I = OBS_INDEX
_N_ACTIONS = len(Action)


def default_base_policies(scenario: Scenario, n_base: int = 2) -> list[Policy]:
    """The planner's default continuations: the best ``n_base`` rules of the scripted grid on ``scenario``
    (:func:`~massbargain.agents.planner.select_base_policies`), plus ``accept`` (give in tomorrow)."""
    return [*select_base_policies(scenario, k=n_base)[0], ScriptedRule(accept=True)]


def _checked_policies(policies: Sequence[Any]) -> list[Any]:
    if isinstance(policies, (str, bytes)) or not isinstance(policies, Sequence) or len(policies) == 0:
        raise ValueError(f"base_policies must be a non-empty list of policies with act(obs), got {policies!r}")
    for i, policy in enumerate(policies):
        if not callable(getattr(policy, "act", None)):
            raise ValueError(f"base_policies[{i}] must be a policy with act(obs), got {type(policy).__name__}")
    return list(policies)


def _significant(diff: np.ndarray, z: float) -> np.ndarray:
    """Rows of ``diff`` (R, P) whose mean exceeds ``z`` standard errors (a one-sided paired test)."""
    P = diff.shape[1]
    se = diff.std(axis=1, ddof=1) / np.sqrt(P) if P > 1 else np.zeros(diff.shape[0])
    return diff.mean(axis=1) > z * se


class RolloutPlanner:
    """Rollout planner over the batched core; ``kind`` is ``"honest"`` or ``"clairvoyant"``.

    Args:
        scenario: the scenario it plans in (it must be the one played).
        kind: ``honest`` (observations only) or ``clairvoyant`` (also the true state).
        particles: root states per episode and decision (P).
        base_policies: continuation policies: any objects with ``act(obs)`` ((B, F) float32 -> (B,) ints)
            that decide from the observation alone (rollout rows are filtered and regrouped every day, so a
            policy cannot keep per-episode memory). Default: :func:`default_base_policies` (the best
            ``n_base`` scripted rules on the scenario, plus ``accept``). The planner's default action is
            the best of their actions, so it is at least as good as the best of them, up to sampling noise.
        n_base: how many scripted rules to keep when ``base_policies`` is not given.
        actions: candidate first actions (default: all eight).
        seed: seed of the planner's own random numbers (its simulations), independent of the episodes'.
        superior: the superior the simulations use (the core's scripted one by default). The honest
            belief's resolve filter assumes :class:`~massbargain.superior.ScriptedSuperior`; with another it
            keeps the prior.
        state_source: for ``clairvoyant``, a callable returning the true State when ``act(obs)`` is called
            (e.g. ``lambda: env.unwrapped.state``); otherwise use :meth:`act_with_state`.
        confidence: how many standard errors an action must gain over the base policies' best action
            before the planner plays it instead (0: plain argmax).
        confirm_particles: fresh particles on which a proposed departure from the base policies must be
            confirmed (0: decide on the screening particles alone, at ``confidence``).
        screen_confidence: the (looser) threshold in standard errors on the screening particles for a
            departure to be put to confirmation (0: confirm whenever the best estimate is not the default).
    """

    def __init__(
        self,
        scenario: Scenario,
        kind: str = "honest",
        *,
        particles: int = 32,
        base_policies: Sequence[Any] | None = None,
        n_base: int = 2,
        actions: list[int] | None = None,
        seed: int = 0,
        superior: Superior | None = None,
        state_source: Any = None,
        confidence: float = 2.0,
        confirm_particles: int = 256,
        screen_confidence: float = 0.0,
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
        if particles < 1:
            raise ValueError(f"particles must be >= 1, got {particles}")
        self.scenario, self.kind, self.particles = scenario, kind, int(particles)
        if base_policies is None:
            base_policies = default_base_policies(scenario, n_base)
        self.base_policies = _checked_policies(base_policies)
        self.actions = np.array(list(range(_N_ACTIONS)) if actions is None else list(actions), dtype=np.int64)
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.superior = superior if superior is not None else core._DEFAULT_SUPERIOR
        self.state_source = state_source
        self.confidence = float(confidence)
        self.confirm_particles = int(confirm_particles)
        self.screen_confidence = float(screen_confidence)
        self.name = f"planner-{kind}"
        self._belief: Belief | None = None
        self.decisions = 0  # episode-days decided
        self.proposed = 0  # decisions where screening proposed to depart from the base policies
        self.departures = 0  # decisions that departed (after confirmation)
        self.simulated_steps = 0  # row-days simulated by core.step
        self.last_q: np.ndarray | None = None  # (rows, actions) of the last call

    def __repr__(self) -> str:
        return f"RolloutPlanner({self.scenario.name!r}, kind={self.kind!r}, particles={self.particles})"

    @property
    def belief(self) -> Belief | None:
        """The honest planner's belief about the current batch (None before the first call, or clairvoyant)."""
        return self._belief

    def reset(self) -> None:
        """Forget every episode's history and restart the random stream (the next call starts afresh)."""
        self._belief = None
        self.rng = np.random.default_rng(self.seed)
        self.decisions = self.simulated_steps = self.proposed = self.departures = 0

    # --- the policy protocol -------------------------------------------------------------------------
    def act(self, obs: np.ndarray, active: np.ndarray | None = None) -> np.ndarray | int:
        """Actions for observations (F,) or (B, F); row i of successive calls is one episode.

        ``active`` (bool, (B,)) restricts planning to those rows (others get WAIT), for callers that keep
        finished episodes in the batch. A row whose deadline has passed always gets WAIT.
        """
        if self.kind == "clairvoyant":
            if self.state_source is None:
                raise RuntimeError(
                    "the clairvoyant planner needs the true state: use act_with_state(obs, state), pass "
                    "state_source=..., or evaluate it with evaluate_planner()"
                )
            return self.act_with_state(obs, self.state_source(), active)
        return self._act(obs, None, active)

    def act_with_state(self, obs: np.ndarray, state: State, active: np.ndarray | None = None) -> np.ndarray | int:
        """Like :meth:`act`, with the true simulator state (batched, or one environment's state).

        The clairvoyant planner plans from the state; the honest one ignores it.
        """
        return self._act(obs, state, active)

    # --- internals -------------------------------------------------------------------------------
    def _act(self, obs: np.ndarray, state: State | None, active: np.ndarray | None) -> np.ndarray | int:
        obs = np.asarray(obs, dtype=np.float64)
        single = obs.ndim == 1
        obs2 = obs[None] if single else obs
        B = obs2.shape[0]
        if state is not None and not state.batched:
            state = State(**{f.name: np.atleast_1d(np.asarray(getattr(state, f.name))) for f in fields(State)})
        mask = np.ones(B, dtype=bool) if active is None else np.asarray(active, dtype=bool).reshape(B)
        days = self.scenario.horizon.days
        day = np.rint(obs2[:, _I["time_used"]] * days).astype(np.int64)
        mask &= day < days
        actions = np.full(B, int(Action.WAIT), dtype=np.int64)
        if self.kind == "honest":
            self._observe(obs2, day, mask)
        rows = np.flatnonzero(mask)
        if rows.size:
            if self.kind == "clairvoyant" and state is None:
                raise RuntimeError("the clairvoyant planner needs the true state")
            actions[rows] = self._decide(rows, obs2[rows], state)
            self.decisions += rows.size
        if self.kind == "honest" and self._belief is not None:
            self._belief.prev_action[rows] = actions[rows]
        return int(actions[0]) if single else actions

    def _roots(self, rows: np.ndarray, obs: np.ndarray, state: State | None, particles: int) -> State:
        """``particles`` root states per row (row-major): the true state, or draws from the belief."""
        if self.kind == "clairvoyant":
            assert state is not None
            return take(state, np.repeat(rows, particles))
        assert self._belief is not None
        return self._belief.roots(rows, obs, particles, self.rng)

    def _decide(self, rows: np.ndarray, obs: np.ndarray, state: State | None) -> np.ndarray:
        """Actions for ``rows``: screen every action, then confirm a departure from the base policies.

        Q(a) = max_k mean over particles. The default is the best action a base policy would take here;
        the planner plays another action only if it beats the default by more than ``confidence``
        standard errors of their paired difference, first on the screening particles and then, if
        ``confirm_particles`` > 0, on that many fresh ones. With eight candidates the largest estimate is
        biased upward (the winner's curse), most for risky actions such as MOBILIZE, whose rare disasters
        (a demotion in 1-3% of continuations) a few dozen particles often miss.
        """
        A, K, R, P = self.actions.size, len(self.base_policies), rows.size, self.particles
        sim = (self.scenario, self.rng, self.superior)
        returns, steps = rollout_returns(self._roots(rows, obs, state, P), self.actions, self.base_policies, *sim)
        self.simulated_steps += steps
        g = returns.reshape(A, K, R, P)
        best_k = g.mean(axis=3).argmax(axis=1)  # (A, R)
        g = np.take_along_axis(g, best_k[:, None, :, None], axis=1)[:, 0]  # (A, R, P)
        q = g.mean(axis=2)  # (A, R)
        self.last_q = q.T
        r = np.arange(R)
        top = q.argmax(axis=0)
        # The base policies' own actions here (every particle of a row shares its observation).
        slot = np.full(_N_ACTIONS, -1)
        slot[self.actions] = np.arange(A)
        obs32 = obs.astype(np.float32)  # what the environment gives a policy
        base = np.stack([slot[np.asarray(pi.act(obs32), dtype=np.int64).reshape(R)] for pi in self.base_policies])
        base_q = np.where(base >= 0, q[np.maximum(base, 0), r], -np.inf)
        default = np.where(base_q.max(axis=0) > -np.inf, base[base_q.argmax(axis=0), r], top)
        P2 = self.confirm_particles
        screen = min(self.screen_confidence, self.confidence) if P2 > 0 else self.confidence
        propose = (top != default) & _significant(g[top, r] - g[default, r], screen)
        choice = default.copy()
        sel = np.flatnonzero(propose)
        if P2 > 0 and sel.size:
            M = sel.size * P2
            roots = self._roots(rows[sel], obs[sel], state, P2)
            stream = np.tile(np.arange(M), 2)
            first = np.concatenate([np.repeat(self.actions[top[sel]], P2), np.repeat(self.actions[default[sel]], P2)])
            policy_of = np.concatenate([np.repeat(best_k[top[sel], sel], P2), np.repeat(best_k[default[sel], sel], P2)])
            out, steps = simulate(take(roots, stream), first, policy_of, stream, self.base_policies, *sim)
            self.simulated_steps += steps
            confirmed = _significant((out[:M] - out[M:]).reshape(sel.size, P2), self.confidence)
            choice[sel[confirmed]] = top[sel[confirmed]]
        else:
            choice[sel] = top[sel]
        self.proposed += sel.size
        self.departures += int((choice != default).sum())
        return self.actions[choice]

    def _observe(self, obs: np.ndarray, day: np.ndarray, mask: np.ndarray) -> None:
        """Fold the new observations of the rows in ``mask`` into the belief."""
        B = obs.shape[0]
        if self._belief is None or self._belief.size != B:
            self._belief = Belief(self.scenario, B, self.superior)
        b = self._belief
        prev_day = np.rint(b.prev[:, _I["time_used"]] * self.scenario.horizon.days).astype(np.int64)
        fresh = mask & ((day == 0) | ~b.started | (day != prev_day + 1))
        cont = mask & ~fresh
        if fresh.any():
            b.start(np.flatnonzero(fresh), obs[fresh])
        if cont.any():
            rows = np.flatnonzero(cont)
            b.update(rows, obs[rows])
            b.prev[rows] = obs[rows]


def make_planner(
    kind: str, scenario: Scenario | str, base_policies: Sequence[Any] | None = None, **kwargs: Any
) -> RolloutPlanner:
    """A planner of ``kind`` (``honest`` or ``clairvoyant``) for a scenario (or preset name).

    ``base_policies`` replaces the default continuations (:func:`default_base_policies`) by any policies with
    ``act(obs)`` that decide from the observation alone, e.g. the best members of a scripted family; include
    ``ScriptedRule(accept=True)`` to keep "give in tomorrow" among them. Other keyword arguments go to
    :class:`RolloutPlanner` (particles, n_base, seed, state_source, ...).
    """
    return RolloutPlanner(Scenario.resolve(scenario), kind, base_policies=base_policies, **kwargs)
