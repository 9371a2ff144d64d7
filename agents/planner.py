"""A reference planner over the dynamics core: rollout with a few scripted base policies (Bertsekas).

How close to optimal is a learned policy? This module gives the yardstick: a model-based planner that uses
the dynamics core (:mod:`massbargain.core`) as its simulator. It follows the policy protocol
(``act(obs)``: (F,) -> int, (B, F) -> (B,) ints), so evaluation, sweeps and analysis accept it.

The algorithm (one decision)
----------------------------
At each day and for each unfinished episode of the batch, the planner

1. builds ``P`` *root states* (particles, 32 by default): simulator states consistent with what it knows;
2. *screens*: for every candidate action ``a`` (all eight) and every base policy ``k`` (two scripted rules
   and ``accept``, see below), plays ``a`` today and then follows ``k`` to the end of the episode, from
   every root, in **one** batched call of :func:`massbargain.core.step` per simulated day
   (episodes × actions × base policies × particles rows; rows leave the batch as they end), and scores
   ``Q(a) = max_k mean_particles(return)``;
3. *confirms*: the default is the best action a base policy itself would take here. If the best ``Q`` is
   another action, that action and the default are both re-simulated from ``confirm_particles`` (256)
   fresh roots, and the planner departs from the default only if the paired difference exceeds
   ``confidence`` (2) standard errors. With eight candidates the largest estimate is biased upward (the
   winner's curse), most for risky actions such as MOBILIZE, whose rare disasters (a demotion in 1-3% of
   continuations) a few dozen particles often miss; without this step the planner mobilized on luck.

This is Bertsekas' rollout algorithm with several base heuristics: with exact evaluation it is never
worse than the best of its base policies, and it re-decides every day from the current state.

Variance reduction (what makes a few dozen particles enough). All candidate continuations of one root
share its random numbers: the day's uniforms and normals, and the normals behind the binomial draws of
information and crowds (drawn as rounded normals with the binomial's mean and variance when at least 20
successes and failures are expected; exactly otherwise) (:class:`_CommonStreams`). And the superior's
lottery, which dominates the variance of a return, is drawn by an exponential clock
(:class:`_ClockSuperior`): each root draws one threshold and one concession kind, and the superior concedes
on the first day its cumulative hazard ``sum(-log(1 - p_t))`` passes the threshold. That is the scripted
superior's law exactly (given no concession so far, it concedes today with probability p_t), but two
continuations whose pressure differs by a day now concede at nearly the same moment and in the same kind.
Together they cut the SD of the difference of two actions' returns on one root from ~0.15 to ~0.014.

Base policies. :class:`ScriptedRule` is a small parametric family of readable rules (in order of
priority: pacify a radical crowd, make the police tolerant, leak until a share is informed, keep the
brokers active, petition until elite opposition reaches a target, else wait). At construction the planner
scores a grid of 90 of them on the scenario in one batched run (~1-2 s, cached per scenario) and keeps the
best and the best that spends differently once set up (waits instead of petitioning, or conversely),
plus ``accept`` (give in tomorrow), which costs nothing to simulate and shows when cutting losses is best.

Two variants
------------
* ``honest``: sees only the observations, exactly what a learning agent sees. Its mean return is a fair
  target for PPO. It must rebuild a simulator state from the observation history
  (:class:`_Belief`):

  - observed directly (float32, so to ~1e-7): day, informed count (share·n), crowd, peak crowd, radical
    share, disorder, police posture, brokers, elite opposition, legitimacy, last response, incident days;
  - tracked exactly from the history of observations and its own actions, with the core's update rules:
    attribution evidence E (leaks, tolerant days × crowd, brokers, arrests on repression, disorder), the
    stock of sustained pressure, peak disorder (the veto), warnings, days left of an open investigation;
  - recklessness ρ: has no effect until brokers are active; on the first day they are, their decay
    reveals ρ exactly (M' = M·(1 − arrest·[repress])·(1 − decay·(1 − ρ))); before that, particles draw
    ρ from the scenario's Beta prior;
  - mood (the hidden shift of hardship) and the superior's resolve: a Bayesian filter on a grid of each.
    The posterior factorizes: the day's crowd count depends on mood only (its likelihood: a normal with
    the mean and variance of the core's crowd draw), and the superior's non-conceding response (hold,
    warn, repress) on resolve only (its softmax probability). Trigger events, which carry a little
    information on mood, are not used;
  - severity of punishment so far: a distribution over the four levels, updated each time an
    investigation is decided while the episode goes on (the probability of a verdict is known from E and
    the peak disorder; a dismissal would have ended the episode).

  Particles draw mood and resolve from their grid posteriors (stratified) and severity from its
  distribution. This is exact Bayesian conditioning on the data it uses, and it assumes that the planner's
  actions are the ones played and that ``act`` is called every day of an episode; rows that start or
  resume mid-episode are joined from the observation alone (evidence and stock then start from guesses).
* ``clairvoyant``: also receives the true simulator state (hidden recklessness, resolve, mood, evidence,
  severity), so the only uncertainty left is the future randomness. Its return is an upper bound of
  sorts for this planner family; the gap honest → clairvoyant is the value of information. Give it the
  state with :meth:`RolloutPlanner.act_with_state`, a ``state_source`` callable (e.g.
  ``lambda: env.unwrapped.state``), or run it through :func:`evaluate_planner`.

Neither variant is the optimal policy: both are one-step lookahead on top of scripted continuations. The
clairvoyant is a bound on what information buys *this* planner, and not a strict one: one-step rollout is
not monotone in information, and on some presets the clairvoyant trails the honest planner by a few
thousandths of return (docs/PLANNER.md has the figures).

Entry points for the CLI and evaluation: :func:`make_planner`; :func:`evaluate_planner` and
:func:`evaluate_policy` (an :class:`~massbargain.rollout.EpisodeBatch`, as
:func:`~massbargain.rollout.run_episodes` gives; ``common_luck=True`` pairs the superior's luck across
policies evaluated on one seed); :func:`planner_speed` (seconds for a number of episodes, plain figures);
:func:`compare_returns` (ratio or difference with a bootstrap interval). See docs/PLANNER.md.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from massbargain import core
from massbargain.actions import Action, Response, Severity
from massbargain.core import OBS_INDEX, State
from massbargain.rollout import EpisodeBatch, run_episodes
from massbargain.scenario import Scenario
from massbargain.superior import ScriptedSuperior, Superior

__all__ = [
    "KINDS",
    "RolloutPlanner",
    "ScriptedRule",
    "compare_returns",
    "evaluate_planner",
    "evaluate_policy",
    "make_planner",
    "planner_speed",
    "select_base_policies",
]

KINDS = ("honest", "clairvoyant")
_I = OBS_INDEX
_HOLD, _WARN, _REPRESS = int(Response.HOLD), int(Response.WARN), int(Response.REPRESS)
_N_ACTIONS = len(Action)


# ------------------------------------------------------------------------------------------------
# Base policies: a parametric family of scripted rules
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScriptedRule:
    """A readable scripted policy; the first rule that applies decides the day's action.

    1. PACIFY if the radical share exceeds ``pacify_above``;
    2. TOLERATE if ``tolerate`` and the police are not yet tolerant;
    3. LEAK while the informed share is below ``leak_until``;
    4. MOBILIZE while broker activity is below ``mobilize_below``;
    5. PETITION while elite opposition is below ``petition_until``;
    6. otherwise WAIT. ``accept=True`` replaces the whole rule by ACCEPT.
    """

    tolerate: bool = True
    leak_until: float = 0.9
    mobilize_below: float = 0.0
    pacify_above: float = 2.0
    petition_until: float = 0.0
    accept: bool = False

    @property
    def name(self) -> str:
        if self.accept:
            return "accept"
        parts = ["tolerate" if self.tolerate else "no-tolerate", f"leak<{self.leak_until:g}"]
        if self.mobilize_below > 0:
            parts.append(f"mobilize<{self.mobilize_below:g}")
        if self.pacify_above <= 1:
            parts.append(f"pacify>{self.pacify_above:g}")
        if self.petition_until > 0:
            parts.append(f"petition<{self.petition_until:g}")
        return " ".join(parts)

    def rule(self, obs: np.ndarray) -> np.ndarray:
        """Actions for a batch of observations (B, F)."""
        if self.accept:
            return np.full(obs.shape[0], int(Action.ACCEPT), dtype=np.int64)
        a = np.where(obs[:, _I["elite_opposition"]] < self.petition_until, int(Action.PETITION), int(Action.WAIT))
        a = np.where(obs[:, _I["broker_activity"]] < self.mobilize_below, int(Action.MOBILIZE), a)
        a = np.where(obs[:, _I["informed"]] < self.leak_until, int(Action.LEAK), a)
        if self.tolerate:
            a = np.where(obs[:, _I["police_tolerant"]] < 0.5, int(Action.TOLERATE), a)
        return np.where(obs[:, _I["radical_share"]] > self.pacify_above, int(Action.PACIFY), a).astype(np.int64)

    def act(self, obs: np.ndarray) -> np.ndarray | int:
        obs = np.asarray(obs, dtype=np.float32)
        if obs.ndim == 1:
            return int(self.rule(obs[None])[0])
        return self.rule(obs)


def rule_grid() -> list[ScriptedRule]:
    """The 90 rules scored at construction: tolerate × leak target × petition target × brokers."""
    brokers = [(0.0, 2.0), (0.3, 0.3), (0.6, 0.3)]  # (mobilize_below, pacify_above)
    return [
        ScriptedRule(tolerate=t, leak_until=leak, petition_until=pet, mobilize_below=m, pacify_above=pac)
        for t, leak, pet, (m, pac) in itertools.product(
            [True, False], [0.0, 0.5, 0.75, 0.9, 1.01], [0.0, 0.5, 1.01], brokers
        )
    ]


class _GridPolicy:
    """Many rules at once: row block ``i`` of the batch follows ``rules[i]`` (to score a grid in one run)."""

    def __init__(self, rules: list[ScriptedRule], episodes: int) -> None:
        self.rules, self.episodes = rules, episodes

    def act(self, obs: np.ndarray) -> np.ndarray:
        out = np.empty(obs.shape[0], dtype=np.int64)
        e = self.episodes
        for i, r in enumerate(self.rules):
            out[i * e : (i + 1) * e] = r.rule(obs[i * e : (i + 1) * e])
        return out


_SELECTION_CACHE: dict[tuple, tuple[list[ScriptedRule], np.ndarray]] = {}


def select_base_policies(
    scenario: Scenario, k: int = 3, episodes: int = 200, seed: int = 12345
) -> tuple[list[ScriptedRule], np.ndarray]:
    """``k`` good rules of :func:`rule_grid` on ``scenario`` and their mean returns (cached).

    All rules are scored in one batched rollout, on the same ``episodes`` starts each. The first is the
    best; the second the best of those that spend differently once set up (that end by waiting if the
    best ends by petitioning, and conversely), because the rollout values today's action by what its
    continuation goes on to spend; the rest follow by rank.
    """
    key = (scenario, k, episodes, seed)
    if key not in _SELECTION_CACHE:
        rules = rule_grid()
        batch = run_episodes(_GridPolicy(rules, episodes), scenario, len(rules) * episodes, seed)
        means = batch.returns.reshape(len(rules), episodes).mean(axis=1)
        ranked = [int(i) for i in np.argsort(-means, kind="stable")]
        # The best rule, then the best one that ends by waiting (or by petitioning, if the best waits):
        # continuations that differ in what they spend each day once set up; then by rank.
        waits = rules[ranked[0]].petition_until == 0
        other = next((i for i in ranked if (rules[i].petition_until == 0) != waits), ranked[1 % len(ranked)])
        order = list(dict.fromkeys([ranked[0], other, *ranked]))[:k]
        _SELECTION_CACHE[key] = ([rules[i] for i in order], means[order])
    rules, means = _SELECTION_CACHE[key]
    return list(rules), means.copy()


# ------------------------------------------------------------------------------------------------
# Batched rollouts with common random numbers
# ------------------------------------------------------------------------------------------------


class _CommonStreams:
    """A stand-in for ``numpy.random.Generator`` inside :func:`core.step` that shares random numbers.

    Each row of the simulated batch belongs to a stream (an episode's particle); rows of one stream get the
    same numbers on the same simulated day, whatever their first action or base policy: the uniforms and
    normals of the day, and the normals behind the day's binomial draws (information, crowd). A binomial
    with at least ``exact_below`` expected successes and failures is drawn as the rounded normal with its
    mean and variance and the stream's normal (numerically indistinguishable at such counts, and
    common across actions); smaller ones are drawn exactly from the real generator.
    """

    def __init__(self, rng: np.random.Generator, streams: int, days: int, exact_below: float = 20.0) -> None:
        self.rng = rng
        self.uniform = rng.random((days, 4, streams))
        self.normal = rng.standard_normal((days, 3, streams))
        self.exact_below = exact_below
        self.day = 0
        self.calls = 0
        self.stream: np.ndarray = np.zeros(0, dtype=np.int64)

    def random(self, size: tuple[int, int]) -> np.ndarray:
        assert size == (4, self.stream.size), size
        self.calls = 0  # core.step draws its uniforms first
        return self.uniform[self.day][:, self.stream]

    def standard_normal(self, size: int) -> np.ndarray:
        assert size == self.stream.size, size
        return self.normal[self.day, 0, self.stream]

    def binomial(self, n: Any, p: Any) -> np.ndarray:
        self.calls += 1
        n = np.asarray(n)
        p = np.asarray(p, dtype=float)
        if self.calls > 2 or n.shape != self.stream.shape:
            return self.rng.binomial(n, p)
        mean = n * p
        var = mean * (1.0 - p)
        z = self.normal[self.day, self.calls, self.stream]
        x = np.clip(np.rint(mean + np.sqrt(var) * z), 0, n).astype(np.int64)
        small = (mean < self.exact_below) | (n - mean < self.exact_below)
        if small.any():
            x[small] = self.rng.binomial(n[small], p[small])
        return x


def _take(state: State, index: np.ndarray) -> State:
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

    Rows with the same ``stream`` id share their random numbers (:class:`_CommonStreams`,
    :class:`_ClockSuperior`). All rows advance together, one :func:`core.step` per day, and leave the
    batch as they end. Also returns the number of simulated row-days.
    """
    m = roots.batch_size
    n_streams = int(stream.max()) + 1
    state, stream, policy_of = roots.copy(), stream.copy(), policy_of.copy()
    origin = np.arange(m)
    actions = np.asarray(first, dtype=np.int64)
    out = np.zeros(m)
    days = max(1, scenario.horizon.days - int(roots.day.min()))
    streams = _CommonStreams(rng, n_streams, days)
    clock = _ClockSuperior(rng, n_streams) if isinstance(superior, ScriptedSuperior) else None
    if clock is not None:
        clock.hazard = np.zeros(m)
        superior = clock
    steps = 0
    for day in range(days):
        streams.day, streams.stream = day, stream
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
            state, stream, origin, policy_of = _take(state, keep), stream[keep], origin[keep], policy_of[keep]
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
    out, steps = simulate(_take(roots, stream), first, policy_of, stream, policies, scenario, rng, superior)
    return out.reshape(A, K, n), steps


# ------------------------------------------------------------------------------------------------
# The honest planner's belief: a simulator state rebuilt from observations
# ------------------------------------------------------------------------------------------------


def _significant(diff: np.ndarray, z: float) -> np.ndarray:
    """Rows of ``diff`` (R, P) whose mean exceeds ``z`` standard errors (a one-sided paired test)."""
    P = diff.shape[1]
    se = diff.std(axis=1, ddof=1) / np.sqrt(P) if P > 1 else np.zeros(diff.shape[0])
    return diff.mean(axis=1) > z * se


def _normal_grid(mean: float, sd: float, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Grid nodes over mean ± 4 sd and their prior log-weights (one node if sd == 0)."""
    if sd <= 0.0 or size <= 1:
        return np.array([mean]), np.zeros(1)
    z = np.linspace(-4.0, 4.0, size)
    return mean + sd * z, -0.5 * z**2


def _superior_logits(
    params: Any, pressure: Any, stock: Any, disorder: Any, evidence: Any, elite: Any, resolve: Any
) -> np.ndarray:
    """Log-probabilities of HOLD, WARN, REPRESS and of conceding (any kind) under :class:`ScriptedSuperior`.

    The utilities of ``ScriptedSuperior.respond``, over its temperature; arguments broadcast together,
    the result has a leading axis of 4. Kept in step with the scripted superior by a test.
    """
    p = params
    warn = p.warn_bias + p.warn_suspicion * evidence
    repress = p.repress_bias + p.disorder_aversion * disorder - p.repress_peaceful * pressure
    concede = (
        p.concede_bias
        + p.concede_pressure * pressure
        + p.concede_stock * stock
        + p.concede_elite * elite
        - p.suspicion_weight * evidence
        - resolve
    )
    hold, warn, repress, concede = np.broadcast_arrays(0.0, warn, repress, concede)
    u = np.stack([hold, warn, repress, concede]).astype(float) / p.temperature
    top = u.max(axis=0)
    return u - (top + np.log(np.exp(u - top).sum(axis=0)))


class _ClockSuperior:
    """The scripted superior's law, drawn so that actions compared on one stream share their luck.

    The scripted superior concedes on a day with probability p_t, by a fresh uniform each day. Here each
    stream (an episode's particle) draws once an exponential threshold and a concession kind, and the
    superior concedes on the first day its cumulative hazard sum(-log(1 - p_t)) passes the threshold: the
    same law (a concession on day t given none before has probability p_t), but two continuations whose
    pressure differs by a day concede at nearly the same moment and in the same kind, instead of on
    unrelated lottery draws. Given no concession, HOLD, WARN and REPRESS are drawn by the day's uniform.
    """

    def __init__(self, rng: np.random.Generator, streams: int) -> None:
        self.threshold = rng.standard_exponential(streams)
        self.kind = rng.random(streams)
        self.stream: np.ndarray = np.zeros(0, dtype=np.int64)
        self.hazard: np.ndarray = np.zeros(0)

    def respond(self, view: Any, params: Any, uniform: np.ndarray) -> np.ndarray:
        logp = _superior_logits(
            params, view.pressure, view.stock, view.disorder, view.evidence, view.elite, view.resolve
        )
        self.hazard = self.hazard - np.log1p(-np.minimum(np.exp(logp[3]), 1.0 - 1e-12))
        concede = self.hazard >= self.threshold[self.stream]
        p = np.exp(logp[:3])
        cumulative = np.cumsum(p, axis=0)
        response = (uniform * cumulative[2] >= cumulative[:2]).sum(axis=0)
        q = params
        total = q.share_suspend + q.share_partial + q.share_withdraw
        v = self.kind[self.stream] * total
        kind = np.where(v < q.share_suspend, 3, np.where(v < q.share_suspend + q.share_partial, 4, 5))
        return np.where(concede, kind, response)


class _Belief:
    """What the honest planner knows of each row's episode, rebuilt from its observations.

    Arrays have one entry (or row) per slot of the act() batch. See the module docstring for what is
    observed, tracked and filtered.
    """

    def __init__(
        self,
        scenario: Scenario,
        size: int,
        superior: Superior = core._DEFAULT_SUPERIOR,
        mood_nodes: int = 81,
        resolve_nodes: int = 81,
    ) -> None:
        self.scenario = scenario
        self.filter_resolve = isinstance(superior, ScriptedSuperior)  # its response probabilities are known
        self.size = size
        pop, sup = scenario.population, scenario.superior
        self.mood, self.mood_prior = _normal_grid(0.0, pop.mood_sd, mood_nodes)
        self.resolve, self.resolve_prior = _normal_grid(sup.resolve, sup.resolve_sd, resolve_nodes)
        self.effects = core.constants(scenario).batch.effects  # (8, 15) action-effect table
        self.types = core.constants(scenario).types
        B = size
        self.started = np.zeros(B, dtype=bool)
        self.prev = np.zeros((B, len(core.OBSERVATION_FIELDS)))
        self.prev_action = np.zeros(B, dtype=np.int64)
        self.evidence = np.zeros(B)
        self.stock = np.zeros(B)
        self.peak_disorder = np.zeros(B)
        self.warnings = np.zeros(B, dtype=np.int64)
        self.investigation_left = np.full(B, -1, dtype=np.int64)
        self.severity = np.zeros((B, 4))
        self.severity[:, 0] = 1.0
        self.mood_logw = np.tile(self.mood_prior, (B, 1))
        self.resolve_logw = np.tile(self.resolve_prior, (B, 1))
        self.rho_known = np.zeros(B, dtype=bool)
        self.rho = np.zeros(B)

    # --- bookkeeping ------------------------------------------------------------------------------
    def start(self, rows: np.ndarray, obs: np.ndarray) -> None:
        """New episodes (day 0), or rows joined mid-episode: start from the observation alone."""
        s = self.scenario
        self.started[rows] = True
        self.prev[rows] = obs
        self.evidence[rows] = 0.0  # exact at day 0; a guess for a row joined mid-episode
        self.stock[rows] = self._pressure(obs, obs[:, _I["crowd"]])  # exact at day 0 (no crowd)
        self.peak_disorder[rows] = obs[:, _I["disorder"]]
        self.warnings[rows] = np.rint(obs[:, _I["warnings"]] * core.WARNINGS_SCALE).astype(np.int64)
        days = s.superior.investigation_days
        self.investigation_left[rows] = np.where(obs[:, _I["investigation"]] > 0.5, max(days - 1, 0), -1)
        self.severity[rows] = 0.0
        self.severity[rows, 0] = 1.0
        self.mood_logw[rows] = self.mood_prior
        self.resolve_logw[rows] = self.resolve_prior
        self.rho_known[rows] = False

    def _pressure(self, obs: np.ndarray, crowd: np.ndarray) -> np.ndarray:
        sup = self.scenario.superior
        radical, elite = obs[:, _I["radical_share"]], obs[:, _I["elite_opposition"]]
        return crowd * (1.0 - radical) ** sup.radical_discount * (1.0 + sup.elite_weight * elite) / sup.pressure_ref

    def update(self, rows: np.ndarray, obs: np.ndarray) -> None:
        """Fold one day into the belief of ``rows``: yesterday's observation and action, today's observation.

        Mirrors the order of :func:`massbargain.core.step`.
        """
        s = self.scenario
        pop, pol, bro, sup = s.population, s.police, s.brokers, s.superior
        prev, a = self.prev[rows], self.prev_action[rows]
        e = self.effects[a].T  # (15, R)
        M_prev, L_prev = prev[:, _I["broker_activity"]], prev[:, _I["legitimacy"]]
        brokers_mid = M_prev * e[core._BROKER_MUL] + e[core._BROKER_ADD]
        legit_mid = L_prev * e[core._LEGIT_MUL] + e[core._LEGIT_ADD]
        repress = obs[:, _I["last_repress"]] > 0.5  # a non-terminal day's response is the last response
        response = np.select([obs[:, _I["last_warn"]] > 0.5, repress], [_WARN, _REPRESS], _HOLD)
        crowd = obs[:, _I["crowd"]]
        before_repress = 1.0 - sup.repress_dispersal * repress
        crowd_pre = np.where(before_repress > 0, crowd / np.maximum(before_repress, 1e-12), 0.0)
        keep = e[core._CROWD_KEEP]
        facing = np.where(keep > 0, crowd_pre / np.maximum(keep, 1e-12), crowd_pre)
        disorder = obs[:, _I["disorder"]]
        n = pop.n_residents
        informed = np.rint(obs[:, _I["informed"]] * n)
        posture = np.argmax(obs[:, [_I["police_firm"], _I["police_normal"], _I["police_tolerant"]]], axis=1)

        # Mood: the day's crowd count, against the mean and variance of the core's crowd draw.
        multiplier = 1.0 + (pol.trigger_recruitment - 1.0) * (prev[:, _I["incident"]] > 1e-6)
        crowd_prev = prev[:, _I["crowd"]]
        arrest = -np.expm1(-core.constants(s).batch.arrest_pressure[posture] / (crowd_prev + 0.01))
        grievance = 1.0 - legit_mid
        broker_miss = 1.0 - bro.recruit_rate * brokers_mid
        hardship = pop.hardship_mean + self.mood[None, :]  # (1, G)
        mean_arg = (
            hardship * grievance[:, None]
            - pop.risk_aversion_mean * arrest[:, None]
            - pop.threshold_mean
            + pop.social_weight * crowd_prev[:, None]
            - e[core._PERSUASION][:, None]
        )  # (R, G)
        sd_arg = np.sqrt(
            (pop.hardship_sd * grievance) ** 2 + (pop.risk_aversion_sd * arrest) ** 2 + pop.threshold_sd**2
        )
        argument = mean_arg[:, :, None] + sd_arg[:, None, None] * self.types.node  # (R, G, K)
        stay_out = (0.5 - 0.5 * np.tanh(0.5 * pop.activation_slope * argument)) * broker_miss[:, None, None]
        p_active = 1.0 - stay_out ** multiplier[:, None, None]
        share = self.types.share
        mean = informed[:, None] * (p_active * share).sum(-1)
        var = informed[:, None] * (p_active * (1.0 - p_active) * share).sum(-1)
        var = np.maximum(var, 0.25)
        active = np.rint(facing * n)
        self.mood_logw[rows] += -0.5 * (active[:, None] - mean) ** 2 / var - 0.5 * np.log(var)

        # Sustained pressure, as the superior saw it; resolve from its (non-conceding) response.
        pressure = self._pressure(obs, crowd_pre)
        stock = sup.pressure_memory * self.stock[rows] + (1.0 - sup.pressure_memory) * pressure
        elite = obs[:, _I["elite_opposition"]]
        evidence = self.evidence[rows]
        if self.filter_resolve:
            logp = _superior_logits(
                sup, pressure[:, None], stock[:, None], disorder[:, None], evidence[:, None], elite[:, None],
                self.resolve[None, :],
            )  # fmt: skip
            self.resolve_logw[rows] += np.take_along_axis(logp, response[None, :, None], axis=0)[0]
        self.stock[rows] = stock

        # Evidence: the core's trace, from the action, posture, crowd, brokers, repression and disorder.
        mu = sup.monitoring
        trace = (
            e[core._LEAK_TRACE]
            + (mu * sup.evidence_tolerate) * (posture == core.TOLERANT) * crowd
            + (mu * sup.evidence_mobilize + (mu * sup.evidence_arrest) * repress) * brokers_mid
            + (mu * sup.evidence_disorder) * disorder
        )
        evidence = evidence + np.minimum(trace, 1.0) * (1.0 - evidence)
        self.evidence[rows] = evidence

        # Recklessness: revealed by the brokers' decay on the first day they are active.
        left = brokers_mid * (1.0 - sup.repress_broker_arrest * repress)
        visible = (left > 1e-3) & (bro.decay > 0) & ~self.rho_known[rows]
        if visible.any():
            ratio = obs[:, _I["broker_activity"]] / np.maximum(left, 1e-12)
            rho = np.clip(1.0 - (1.0 - ratio) / max(bro.decay, 1e-12), 0.0, 1.0)
            idx = rows[visible]
            self.rho[idx] = rho[visible]
            self.rho_known[idx] = True

        # Peak disorder, warnings, investigations and the punishment they may have brought.
        peak = np.maximum(self.peak_disorder[rows], disorder)
        self.peak_disorder[rows] = peak
        self.warnings[rows] += response == _WARN
        pending = self.investigation_left[rows]
        days = sup.investigation_days
        if days > 0:  # an open investigation is observed: it opens, counts down, and is decided at zero
            opened = (pending < 0) & (obs[:, _I["investigation"]] > 0.5)
            pending = np.where(opened, days, pending - (pending > 0))
            p_decided = (pending == 0).astype(float)
            self.investigation_left[rows] = np.where(pending == 0, -1, pending)
        else:  # opened and decided the same day, unobserved: weigh by the chance that it opened
            serious = (disorder >= sup.investigation_disorder) & (disorder > 0.0)
            p_decided = np.where(serious, 1.0, repress * sup.investigation_after_repress)
        if (p_decided > 0).any():
            veto = peak >= sup.veto_disorder
            level = np.maximum(
                1 + (evidence >= 1.0 / 3.0) + (evidence >= 2.0 / 3.0),
                np.maximum(int(Severity.DEMOTION) * veto, int(Severity.DISMISSAL) * (peak >= sup.takeover_disorder)),
            )
            guilty = np.where(veto, 1.0, 1.0 / (1.0 + np.exp(-(sup.punish_bias + sup.punish_evidence * evidence))))
            guilty = np.where(level >= int(Severity.DISMISSAL), 0.0, guilty * p_decided)  # still in office
            old = self.severity[rows]
            new = old * (1.0 - guilty[:, None])
            for lvl in range(4):
                target = np.maximum(lvl, level)
                np.add.at(new, (np.arange(rows.size), target), old[:, lvl] * guilty)
            self.severity[rows] = new

        # Normalize the log-weights (keeps them finite over long episodes).
        for logw in (self.mood_logw, self.resolve_logw):
            logw[rows] -= logw[rows].max(axis=1, keepdims=True)

    # --- particles ----------------------------------------------------------------------------------
    def roots(self, rows: np.ndarray, obs: np.ndarray, particles: int, rng: np.random.Generator) -> State:
        """``particles`` simulator states per row, drawn from the belief; rows are grouped (row-major)."""
        s = self.scenario
        R, P = rows.size, particles
        rep = lambda x: np.repeat(x, P)  # noqa: E731

        def draw(nodes: np.ndarray, logw: np.ndarray) -> np.ndarray:
            if nodes.size == 1:
                return np.full(R * P, nodes[0])
            w = np.exp(logw - logw.max(axis=1, keepdims=True))
            cdf = np.cumsum(w, axis=1)
            cdf /= cdf[:, -1:]
            u = (np.arange(P)[None, :] + rng.random((R, 1))) / P  # stratified
            idx = np.minimum((cdf[:, None, :] < u[:, :, None]).sum(-1), nodes.size - 1)
            idx = rng.permuted(idx, axis=1)  # independent pairing with the other hidden variables
            half = 0.5 * (nodes[1] - nodes[0])
            return (nodes[idx] + rng.uniform(-half, half, size=idx.shape)).reshape(-1)

        mood = draw(self.mood, self.mood_logw[rows])
        resolve = draw(self.resolve, self.resolve_logw[rows])
        b = s.brokers
        mean, conc = b.recklessness, b.recklessness_concentration
        prior = rng.beta(mean * conc, (1.0 - mean) * conc, size=R * P) if 0.0 < mean < 1.0 else np.full(R * P, mean)
        rho = np.where(rep(self.rho_known[rows]), rep(self.rho[rows]), prior)
        sev_p = self.severity[rows]
        cdf = np.cumsum(sev_p / sev_p.sum(axis=1, keepdims=True), axis=1)
        u = rng.random((R, P))
        severity = np.minimum((cdf[:, None, :] < u[:, :, None]).sum(-1), 3).reshape(-1)
        o = np.repeat(obs.astype(np.float64), P, axis=0)
        n = s.population.n_residents
        return State(
            day=np.rint(o[:, _I["time_used"]] * s.horizon.days).astype(np.int64),
            informed=np.rint(o[:, _I["informed"]] * n).astype(np.int64),
            crowd=o[:, _I["crowd"]],
            peak_crowd=o[:, _I["peak_crowd"]],
            radical=o[:, _I["radical_share"]],
            disorder=o[:, _I["disorder"]],
            peak_disorder=rep(self.peak_disorder[rows]),
            posture=np.argmax(o[:, [_I["police_firm"], _I["police_normal"], _I["police_tolerant"]]], axis=1),
            brokers=o[:, _I["broker_activity"]],
            elite=o[:, _I["elite_opposition"]],
            legitimacy=o[:, _I["legitimacy"]],
            last_response=np.select(
                [o[:, _I["last_warn"]] > 0.5, o[:, _I["last_repress"]] > 0.5], [_WARN, _REPRESS], _HOLD
            ),
            warnings=rep(self.warnings[rows]),
            evidence=rep(self.evidence[rows]),
            stock=rep(self.stock[rows]),
            incident_left=np.rint(o[:, _I["incident"]] * s.police.trigger_days).astype(np.int64),
            investigation_left=rep(self.investigation_left[rows]),
            severity=severity.astype(np.int64),
            recklessness=rho,
            resolve=resolve,
            mood=mood,
        )  # fmt: skip


# ------------------------------------------------------------------------------------------------
# The planner
# ------------------------------------------------------------------------------------------------


class RolloutPlanner:
    """Rollout planner over the batched core; ``kind`` is ``"honest"`` or ``"clairvoyant"``.

    Args:
        scenario: the scenario it plans in (it must be the one played).
        kind: ``honest`` (observations only) or ``clairvoyant`` (also the true state).
        particles: root states per episode and decision (P).
        base_policies: continuation policies (objects with ``act``); default: the best ``n_base`` rules
            of :func:`rule_grid` on the scenario, plus ``accept``.
        n_base: how many scripted rules to keep when ``base_policies`` is not given.
        actions: candidate first actions (default: all eight).
        seed: seed of the planner's own random numbers (its simulations), independent of the episodes'.
        superior: the superior the simulations use (the core's scripted one by default). The honest
            belief's resolve filter assumes :class:`ScriptedSuperior`; with another it keeps the prior.
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
        base_policies: list[Any] | None = None,
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
            base_policies = [*select_base_policies(scenario, k=n_base)[0], ScriptedRule(accept=True)]
        self.base_policies = list(base_policies)
        self.actions = np.array(list(range(_N_ACTIONS)) if actions is None else list(actions), dtype=np.int64)
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.superior = superior if superior is not None else core._DEFAULT_SUPERIOR
        self.state_source = state_source
        self.confidence = float(confidence)
        self.confirm_particles = int(confirm_particles)
        self.screen_confidence = float(screen_confidence)
        self.name = f"planner-{kind}"
        self._belief: _Belief | None = None
        self.decisions = 0  # episode-days decided
        self.proposed = 0  # decisions where screening proposed to depart from the base policies
        self.departures = 0  # decisions that departed (after confirmation)
        self.simulated_steps = 0  # row-days simulated by core.step
        self.last_q: np.ndarray | None = None  # (rows, actions) of the last call

    def __repr__(self) -> str:
        return f"RolloutPlanner({self.scenario.name!r}, kind={self.kind!r}, particles={self.particles})"

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
            return _take(state, np.repeat(rows, particles))
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
        base = np.stack([slot[np.asarray(pi.act(obs), dtype=np.int64).reshape(R)] for pi in self.base_policies])
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
            out, steps = simulate(_take(roots, stream), first, policy_of, stream, self.base_policies, *sim)
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
            self._belief = _Belief(self.scenario, B, self.superior)
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


def make_planner(kind: str, scenario: Scenario | str, **kwargs: Any) -> RolloutPlanner:
    """A planner of ``kind`` (``honest`` or ``clairvoyant``) for a scenario (or preset name).

    Keyword arguments go to :class:`RolloutPlanner` (particles, n_base, seed, state_source, ...).
    """
    return RolloutPlanner(Scenario.resolve(scenario), kind, **kwargs)


# ------------------------------------------------------------------------------------------------
# Evaluation helpers
# ------------------------------------------------------------------------------------------------


def evaluate_planner(
    planner: RolloutPlanner,
    scenario: Scenario | None = None,
    episodes: int = 200,
    seed: int = 0,
    common_luck: bool = False,
) -> EpisodeBatch:
    """Play ``episodes`` episodes of the planner at once over the core; same figures as ``run_episodes``.

    The clairvoyant planner receives the true state; only unfinished episodes are planned. See
    :func:`evaluate_policy` for ``seed`` and ``common_luck``.
    """
    scenario = planner.scenario if scenario is None else scenario
    if scenario != planner.scenario:
        raise ValueError("the planner plans in another scenario than the one evaluated")
    return evaluate_policy(planner, scenario, episodes, seed, common_luck=common_luck)


def evaluate_policy(
    policy: Any,
    scenario: Scenario,
    episodes: int = 200,
    seed: int = 0,
    common_luck: bool = False,
    superior: Superior | None = None,
) -> EpisodeBatch:
    """Play ``episodes`` episodes of any policy (a planner, a scripted rule, a trained agent) at once.

    The episodes' starts (hidden recklessness, resolve, mood) are those ``run_episodes`` draws with the
    same ``seed``, so policies can be compared episode by episode. A :class:`RolloutPlanner` is reset,
    given the true state (the clairvoyant needs it) and asked only about unfinished episodes; any other
    policy gets ``act(obs)`` on the whole batch, as in ``run_episodes``.

    ``common_luck=True`` draws the scripted superior's choices as :class:`_ClockSuperior` does: the same
    law, but episode ``i`` has the same concession threshold and kind for every policy evaluated with this
    seed. Comparisons of two policies on the same seed then pair their luck, which shrinks the interval
    of their difference several-fold (the kind of concession alone has an SD of ~0.15 of return). Use it
    on both sides of a comparison; means are unbiased either way.
    """
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    superior = getattr(policy, "superior", None) if superior is None else superior
    superior = core._DEFAULT_SUPERIOR if superior is None else superior
    if common_luck:
        if not isinstance(superior, ScriptedSuperior):
            raise ValueError("common_luck needs the scripted superior")
        clock = _ClockSuperior(np.random.default_rng([seed, 1]), episodes)
        clock.stream, clock.hazard = np.arange(episodes), np.zeros(episodes)
        superior = clock
    planner = policy if isinstance(policy, RolloutPlanner) else None
    if planner is None:
        return run_episodes(policy, scenario, episodes, seed, superior=superior)
    planner.reset()
    return run_episodes(policy, scenario, episodes, seed, superior=superior, act=planner.act_with_state)


def planner_speed(
    kind: str = "honest", scenario: Scenario | str = "baseline", episodes: int = 200, seed: int = 0, **kwargs: Any
) -> dict[str, Any]:
    """Time the planner on ``episodes`` episodes (construction included): plain figures for a bench table.

    Returns ``kind``, ``scenario``, ``episodes``, ``seconds`` (wall clock, construction + play),
    ``setup_seconds`` (choosing the base policies; cached afterwards), ``episodes_per_second``,
    ``decisions`` (episode-days planned), ``ms_per_decision``, ``simulated_steps`` (row-days through
    core.step), ``simulated_steps_per_second`` and ``mean_return``.
    """
    scenario = Scenario.resolve(scenario)
    t0 = time.perf_counter()
    planner = make_planner(kind, scenario, seed=seed, **kwargs)
    t1 = time.perf_counter()
    batch = evaluate_planner(planner, scenario, episodes, seed)
    t2 = time.perf_counter()
    seconds = t2 - t0
    return {
        "kind": kind,
        "scenario": scenario.name,
        "episodes": episodes,
        "seconds": seconds,
        "setup_seconds": t1 - t0,
        "episodes_per_second": episodes / seconds,
        "decisions": planner.decisions,
        "ms_per_decision": 1e3 * (t2 - t1) / max(planner.decisions, 1),
        "simulated_steps": planner.simulated_steps,
        "simulated_steps_per_second": planner.simulated_steps / max(t2 - t1, 1e-9),
        "mean_return": float(batch.returns.mean()),
    }


def compare_returns(
    returns: np.ndarray,
    reference: np.ndarray,
    near_zero: float = 0.05,
    resamples: int = 2000,
    seed: int = 0,
    paired: bool = False,
) -> dict[str, Any]:
    """A policy's mean return against a reference's (e.g. PPO against the honest planner).

    Gives ``ratio`` = mean(returns) / mean(reference) with a 95% percentile-bootstrap interval, and the
    ``difference`` mean(returns) − mean(reference) with its interval. When |mean(reference)| < ``near_zero``
    the ratio is meaningless: ``ratio`` and its interval are None and ``use`` says ``"difference"``.
    ``paired=True`` resamples episodes jointly (same seeds on both sides, equal lengths).
    """
    x, y = np.asarray(returns, dtype=float), np.asarray(reference, dtype=float)
    rng = np.random.default_rng(seed)
    ix = rng.integers(0, x.size, size=(resamples, x.size))
    iy = ix if paired else rng.integers(0, y.size, size=(resamples, y.size))
    if paired and x.size != y.size:
        raise ValueError("paired comparison needs as many episodes on both sides")
    mx, my = x[ix].mean(axis=1), y[iy].mean(axis=1)
    diff = mx - my
    out: dict[str, Any] = {
        "mean": float(x.mean()),
        "reference_mean": float(y.mean()),
        "difference": float(x.mean() - y.mean()),
        "difference_ci95": [float(np.quantile(diff, 0.025)), float(np.quantile(diff, 0.975))],
    }
    if abs(y.mean()) < near_zero:
        out.update(ratio=None, ratio_ci95=None, use="difference")
    else:
        ratio = mx / my
        out.update(
            ratio=float(x.mean() / y.mean()),
            ratio_ci95=[float(np.quantile(ratio, 0.025)), float(np.quantile(ratio, 0.975))],
            use="ratio",
        )
    return out
