"""The planner's simulator: batched rollouts over :func:`massbargain.core.step` with common random numbers.

:func:`simulate` plays many continuations at once, one ``core.step`` per simulated day, and rows that share a
*stream* id share their luck:

- :class:`CommonStreams` stands in for the ``numpy.random.Generator`` that ``core.step`` draws from and hands
  rows of one stream the same uniforms and normals day by day, including the normals behind the binomial
  draws of information and crowds (a binomial with at least ``exact_below`` expected successes and failures
  is drawn as the rounded normal with its mean and variance; smaller ones exactly);
- :class:`ClockSuperior` draws the scripted superior's choices by an exponential clock: each stream draws
  one threshold and one concession kind, and the superior concedes on the first day its cumulative hazard
  passes the threshold. That is the scripted superior's law (given no concession so far, it concedes today
  with probability p_t), but two continuations whose pressure differs by a day concede at nearly the same
  moment and in the same kind.

The superior's probabilities come from :meth:`massbargain.superior.ScriptedSuperior.utilities`, the one
place of its rules (:func:`response_log_probabilities`).
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import numpy as np

from massbargain import core
from massbargain.actions import Response
from massbargain.core import State
from massbargain.scenario import Scenario, SuperiorParams
from massbargain.superior import ScriptedSuperior, Superior, SuperiorView, concession_shares

__all__ = [
    "ClockSuperior",
    "CommonStreams",
    "response_log_probabilities",
    "rollout_returns",
    "simulate",
    "take",
]

#: Response codes in the order of :func:`response_log_probabilities`' leading axis.
RESPONSES = (Response.HOLD, Response.WARN, Response.REPRESS, Response.SUSPEND, Response.PARTIAL, Response.WITHDRAW)
_CONCESSIONS = slice(3, 6)


def _logsumexp(x: np.ndarray) -> np.ndarray:
    """log(sum(exp(x), axis=0)), shifted by the maximum so that nothing overflows or underflows to zero."""
    top = x.max(axis=0)
    return top + np.log(np.exp(x - top).sum(axis=0))


def response_log_probabilities(view: SuperiorView, params: SuperiorParams) -> np.ndarray:
    """Log-probabilities of the scripted superior's six responses (:data:`RESPONSES`), shape (6, ...).

    The utilities are :meth:`ScriptedSuperior.utilities` (view fields broadcast together), divided by the
    temperature; a concession's weight is split by :func:`~massbargain.superior.concession_shares`, and the
    weight of shelving the plan (v1, stability first) goes to SUSPEND, as
    :func:`~massbargain.superior.sample_softmax` does. Computed in logs, so no probability underflows to zero.
    """
    utility = np.stack(np.broadcast_arrays(*ScriptedSuperior.utilities(view, params))).astype(float)
    u = utility / params.temperature
    log_total = _logsumexp(u)
    shares = np.log(np.asarray(concession_shares(params)))
    concede = u[3][None] + shares.reshape(3, *([1] * (u.ndim - 1)))
    if u.shape[0] > 4:  # shelving is a SUSPEND
        concede[0] = np.logaddexp(concede[0], u[4])
    return np.concatenate([u[:3], concede]) - log_total


class CommonStreams:
    """A stand-in for ``numpy.random.Generator`` inside :func:`core.step` that shares random numbers.

    Each row of the simulated batch belongs to a stream (an episode's particle); rows of one stream get the
    same numbers on the same simulated day, whatever their first action or base policy. ``core.step``'s
    uniform blocks (``random((k, B))``) take the day's uniform slots in order, and its normals
    (``standard_normal(B)``) and the binomials behind information and crowds take the day's normal slots in
    order. A binomial with at least ``exact_below`` expected successes and failures is drawn as the rounded
    normal with its mean and variance and the stream's normal (indistinguishable at such counts, and common
    across actions); smaller ones are drawn exactly from the real generator.
    """

    UNIFORMS, NORMALS = 6, 4  # slots per day: core.step draws at most 4 + 2 uniforms and 2 normals + 2 binomials

    def __init__(self, rng: np.random.Generator, streams: int, days: int, exact_below: float = 20.0) -> None:
        self.rng = rng
        self.uniform = rng.random((days, self.UNIFORMS, streams))
        self.normal = rng.standard_normal((days, self.NORMALS, streams))
        self.exact_below = exact_below
        self.stream: np.ndarray = np.zeros(0, dtype=np.int64)
        self.set_day(0)

    def set_day(self, day: int) -> None:
        """Start simulated day ``day``: the next draws take that day's first slots."""
        self.day, self._u, self._z = day, 0, 0

    def random(self, size: tuple[int, int]) -> np.ndarray:
        k, b = size
        if b != self.stream.size or self._u + k > self.UNIFORMS:
            raise RuntimeError(f"core.step drew more uniforms than CommonStreams holds ({size})")
        self._u += k
        return self.uniform[self.day, self._u - k : self._u][:, self.stream]

    def _next_normal(self) -> np.ndarray | None:
        if self._z >= self.NORMALS:
            return None
        self._z += 1
        return self.normal[self.day, self._z - 1, self.stream]

    def standard_normal(self, size: int) -> np.ndarray:
        z = self._next_normal()
        if size != self.stream.size or z is None:
            raise RuntimeError(f"core.step drew more normals than CommonStreams holds ({size})")
        return z

    def binomial(self, n: Any, p: Any) -> np.ndarray:
        n = np.asarray(n)
        p = np.asarray(p, dtype=float)
        z = self._next_normal() if n.shape == self.stream.shape else None
        if z is None:
            return self.rng.binomial(n, p)
        mean = n * p
        var = mean * (1.0 - p)
        x = np.clip(np.rint(mean + np.sqrt(var) * z), 0, n).astype(np.int64)
        small = (mean < self.exact_below) | (n - mean < self.exact_below)
        if small.any():
            x[small] = self.rng.binomial(n[small], p[small])
        return x


class ClockSuperior:
    """The scripted superior's law, drawn so that actions compared on one stream share their luck.

    The scripted superior concedes on a day with probability p_t (any concession, shelving included), by a
    fresh uniform each day. Here each stream (an episode's particle) draws once an exponential threshold and
    a uniform for the concession's kind, and the superior concedes on the first day its cumulative hazard
    ``sum(-log(1 - p_t))`` passes the threshold, in the kind that uniform picks from that day's shares of
    SUSPEND, PARTIAL and WITHDRAW: the same law (a concession on day t given none before has probability
    p_t, and its kind the day's shares), but two continuations whose pressure differs by a day concede at
    nearly the same moment and in the same kind, instead of on unrelated lottery draws. Given no
    concession, HOLD, WARN and REPRESS are drawn by the day's uniform in proportion to their probabilities.

    Set ``stream`` (the stream id of each row) and ``hazard`` (zeros, one per row) before the first day.
    """

    def __init__(self, rng: np.random.Generator, streams: int) -> None:
        self.threshold = rng.standard_exponential(streams)
        self.kind = rng.random(streams)
        self.stream: np.ndarray = np.zeros(0, dtype=np.int64)
        self.hazard: np.ndarray = np.zeros(0)

    def respond(self, view: SuperiorView, params: SuperiorParams, uniform: np.ndarray) -> np.ndarray:
        logp = response_log_probabilities(view, params)
        stay = _logsumexp(logp[:3])  # log P(no concession today)
        self.hazard = self.hazard - stay
        concede = self.hazard >= self.threshold[self.stream]
        p = np.exp(logp[:3] - stay)  # HOLD, WARN, REPRESS given no concession
        response = (uniform >= p[0]).astype(np.int64) + (uniform >= p[0] + p[1])
        kinds = np.cumsum(np.exp(logp[_CONCESSIONS] - _logsumexp(logp[_CONCESSIONS])), axis=0)
        kind = 3 + (self.kind[self.stream] >= kinds[0]) + (self.kind[self.stream] >= kinds[1])
        return np.where(concede, kind, response)


class EpisodeStreams(np.random.Generator):
    """The generator of a common-luck evaluation: episode ``i`` meets the same daily lotteries whatever the
    policy, as its own stream of uniforms and normals.

    Pass it as the seed of :func:`~massbargain.rollout.run_episodes` (which hands it to
    ``numpy.random.default_rng``, and that returns a ``Generator`` unchanged). The episodes' starts
    (:func:`core.initial_state`) are drawn from ``PCG64(seed)``, exactly as ``run_episodes(..., seed)`` draws
    them. From the first uniform block on (core.step's first draw; ``initial_state`` draws none), the uniform
    blocks ``random((k, B))`` and the normals ``standard_normal(B)`` of ``core.step`` come from per-episode
    tables: the j-th uniform (normal) that episode ``i`` receives is the same in every evaluation with this
    seed, since ``core.step`` draws as many each day whatever happened. So the trigger, the investigations,
    the verdicts, the disorder noise and the brokers' conduct are paired episode by episode, not only the
    superior's concession (:class:`ClockSuperior`). Binomials (information, crowds) are drawn from the
    generator as usual: exact, but not paired. Every draw keeps the model's law.
    """

    def __init__(self, seed: int, episodes: int, days: int, uniforms: int = 8, normals: int = 4) -> None:
        super().__init__(np.random.PCG64(seed))
        tables = np.random.default_rng([seed, 2])  # row i depends on (seed, i, days) only
        self.episodes = episodes
        self._uniform = tables.random((episodes, days * uniforms))
        self._normal = tables.standard_normal((episodes, days * normals))
        self._u = self._z = 0
        self._stepping = False

    def random(self, size: Any = None, dtype: Any = np.float64, out: Any = None) -> Any:
        if isinstance(size, tuple) and len(size) == 2 and size[1] == self.episodes and out is None:
            k = size[0]
            if self._u + k > self._uniform.shape[1]:
                raise RuntimeError("core.step drew more uniforms than EpisodeStreams holds; raise `uniforms`")
            self._stepping = True
            self._u += k
            return self._uniform[:, self._u - k : self._u].T.astype(dtype)
        return super().random(size, dtype, out)

    def standard_normal(self, size: Any = None, dtype: Any = np.float64, out: Any = None) -> Any:
        if self._stepping and size == self.episodes and out is None:
            if self._z >= self._normal.shape[1]:
                raise RuntimeError("core.step drew more normals than EpisodeStreams holds; raise `normals`")
            self._z += 1
            return self._normal[:, self._z - 1].astype(dtype)
        return super().standard_normal(size, dtype, out)


def take(state: State, index: np.ndarray) -> State:
    """The rows ``index`` of a batched state (a copy)."""
    return State(**{f.name: getattr(state, f.name)[index] for f in fields(State)})


def simulate(
    roots: State,
    first: np.ndarray,
    policy_of: np.ndarray,
    stream: np.ndarray,
    policies: list[Any],
    scenario: Scenario,
    rng: np.random.Generator,
    superior: Superior = core._DEFAULT_SUPERIOR,
) -> tuple[np.ndarray, int]:
    """Return of each row of ``roots``: play ``first[i]`` today, then ``policies[policy_of[i]]`` to the end.

    Rows with the same ``stream`` id share their random numbers (:class:`CommonStreams`,
    :class:`ClockSuperior`). All rows advance together, one :func:`core.step` per day, and leave the batch as
    they end; a policy sees only the observations of its own running rows, so base policies must decide from
    the observation alone. Also returns the number of simulated row-days.
    """
    m = roots.batch_size
    n_streams = int(stream.max()) + 1
    state, stream, policy_of = roots.copy(), stream.copy(), policy_of.copy()
    origin = np.arange(m)
    actions = np.asarray(first, dtype=np.int64)
    out = np.zeros(m)
    days = max(1, scenario.horizon.days - int(roots.day.min()))
    streams = CommonStreams(rng, n_streams, days)
    clock = ClockSuperior(rng, n_streams) if isinstance(superior, ScriptedSuperior) else None
    if clock is not None:
        clock.hazard = np.zeros(m)
        superior = clock
    steps = 0
    for day in range(days):
        streams.set_day(day)
        streams.stream = stream
        if clock is not None:
            clock.stream = stream
        result = core.step(state, actions, scenario, streams, superior)  # type: ignore[arg-type]
        steps += stream.size
        out[origin] += result.reward
        alive = ~result.terminated
        if not alive.any():
            break
        if not alive.all():
            keep = np.flatnonzero(alive)
            state, stream, origin, policy_of = take(state, keep), stream[keep], origin[keep], policy_of[keep]
            if clock is not None:
                clock.hazard = clock.hazard[keep]
        obs = core.observe(state, scenario)
        actions = np.empty(stream.size, dtype=np.int64)
        for k, policy in enumerate(policies):
            rows = policy_of == k
            if rows.any():
                actions[rows] = np.asarray(policy.act(obs[rows]), dtype=np.int64).reshape(-1)
    return out, steps


def rollout_returns(
    roots: State,
    first_actions: np.ndarray,
    policies: list[Any],
    scenario: Scenario,
    rng: np.random.Generator,
    superior: Superior = core._DEFAULT_SUPERIOR,
) -> tuple[np.ndarray, int]:
    """Returns of "play ``a`` today, then follow policy ``k``" from every root state.

    Returns an array (A, K, N) for A first actions, K policies and N roots (root i is stream i, shared
    by all A·K continuations), and the number of simulated row-days.
    """
    n = roots.batch_size
    A, K = len(first_actions), len(policies)
    stream = np.tile(np.arange(n), A * K)
    policy_of = np.tile(np.repeat(np.arange(K), n), A)
    first = np.repeat(np.asarray(first_actions, dtype=np.int64), K * n)
    out, steps = simulate(take(roots, stream), first, policy_of, stream, policies, scenario, rng, superior)
    return out.reshape(A, K, n), steps
