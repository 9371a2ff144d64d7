"""The honest planner's belief: a simulator state rebuilt from the official's observations, day by day.

:class:`Belief` keeps, for each row of the planner's batch (one episode each), what the official can know
of the hidden parts of :class:`massbargain.core.State`, and draws root states for the rollouts from it:

- **observed** (float32, so to ~1e-7): day, informed count, crowd, peak crowd, radical share, disorder,
  police posture, brokers, elite opposition, legitimacy, last response, incident days;
- **tracked exactly** from the observations and the planner's own actions: attribution evidence E, the
  pressure stock (with v1's attribution discount), peak disorder, warnings, the standoff clock
  ``street_days`` (v1), days left of an open investigation (opened by disorder, repression or, in v1,
  evidence: read off the ``investigation`` field);
- **filtered on grids** (exact Bayesian updates of a discretized prior): the county's mood, from each
  day's crowd count (its likelihood is the core's own crowd draw, replayed, see below); the superior's
  resolve, from its non-conceding responses (probabilities from :meth:`ScriptedSuperior.utilities`);
  the brokers' recklessness ρ, from their conduct ρ_t recovered each day they are active
  (:class:`RecklessnessPosterior`; exact after one day when the conduct carries no noise, as in v0);
- **a distribution** over the four severities of punishment so far, updated whenever an investigation
  is decided during the episode.

Where the belief needs a rule of :func:`massbargain.core.step`, it calls the core or reads its tables:
the crowd's law under each mood is obtained by replaying ``core.step`` on candidate states with a
generator that reproduces the observed information draw and records the crowd draw's parameters
(:class:`_CrowdReplay`), so activation, legitimacy (including v1's crowd-scaled crackdown cost), triggers'
recruitment and brokers' reach are the core's own; the action effects come from ``core.constants``; the
superior's probabilities from ``ScriptedSuperior.utilities``. Four short rules have no callable form and
are mirrored here with the core's constants (each marked *mirrors core.step* below): the pressure the
superior weighs, the evidence trace, the brokers' decay (inverted to recover ρ_t) and the verdict of an
investigation. The test ``test_belief_rebuilds_the_hidden_state_from_observations`` checks every tracked
quantity against the true state on v0 and v1, so a change of the core that these mirrors miss fails it.

The belief assumes that the planner's actions are the ones played and that it sees every day of an
episode; rows that start mid-episode are joined from the observation alone (evidence, stock and the
standoff clock then start from guesses). It ignores two weak sources of information: trigger events (a
little information on mood), and in v1 the radical share, which during a standoff also depends on mood.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from massbargain import core
from massbargain.actions import Response, Severity
from massbargain.agents.planner.simulator import response_log_probabilities
from massbargain.core import OBS_INDEX, State
from massbargain.scenario import BrokerParams, Scenario
from massbargain.superior import ScriptedSuperior, Superior, SuperiorView

__all__ = ["Belief", "RecklessnessPosterior", "state_from_observation"]

_I = OBS_INDEX
_HOLD, _WARN, _REPRESS = int(Response.HOLD), int(Response.WARN), int(Response.REPRESS)
_POSTURE = [_I["police_firm"], _I["police_normal"], _I["police_tolerant"]]
#: Absolute error of a ratio of two float32 observations near one (a few units in the last place): the
#: measurement error of the brokers' conduct ρ_t, times 1 / decay.
_RATIO_ERROR = 4e-7


def state_from_observation(obs: np.ndarray, scenario: Scenario, **hidden: Any) -> State:
    """A batched simulator state whose observed fields are read off ``obs`` (N, F) and the rest given.

    ``hidden`` holds the fields the observation does not show (peak_disorder, warnings, evidence, stock,
    street_days, investigation_left, severity, recklessness, resolve, mood), arrays of shape (N,).
    """
    o = np.asarray(obs, dtype=np.float64)
    n, days = scenario.population.n_residents, scenario.horizon.days
    return State(
        day=np.rint(o[:, _I["time_used"]] * days).astype(np.int64),
        informed=np.rint(o[:, _I["informed"]] * n).astype(np.int64),
        crowd=o[:, _I["crowd"]],
        peak_crowd=o[:, _I["peak_crowd"]],
        radical=o[:, _I["radical_share"]],
        disorder=o[:, _I["disorder"]],
        posture=np.argmax(o[:, _POSTURE], axis=1),
        brokers=o[:, _I["broker_activity"]],
        elite=o[:, _I["elite_opposition"]],
        legitimacy=o[:, _I["legitimacy"]],
        last_response=_last_response(o),
        incident_left=np.rint(o[:, _I["incident"]] * scenario.police.trigger_days).astype(np.int64),
        **hidden,
    )


def _last_response(obs: np.ndarray) -> np.ndarray:
    return np.select([obs[:, _I["last_warn"]] > 0.5, obs[:, _I["last_repress"]] > 0.5], [_WARN, _REPRESS], _HOLD)


def _normal_grid(mean: float, sd: float, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Grid nodes over mean ± 4 sd and their prior log-weights (one node if sd == 0)."""
    if sd <= 0.0 or size <= 1:
        return np.array([mean]), np.zeros(1)
    z = np.linspace(-4.0, 4.0, size)
    return mean + sd * z, -0.5 * z**2


def _draw_from_grid(nodes: np.ndarray, logw: np.ndarray, particles: int, rng: np.random.Generator) -> np.ndarray:
    """``particles`` draws per row of ``logw`` (R, G) from an evenly spaced grid posterior, row-major.

    Stratified over the posterior's cumulative weights, shuffled within a row (so that pairings with the
    other hidden variables are independent), and spread uniformly over each node's cell.
    """
    R, P = logw.shape[0], particles
    if nodes.size == 1:
        return np.full(R * P, nodes[0])
    w = np.exp(logw - logw.max(axis=1, keepdims=True))
    cdf = np.cumsum(w, axis=1)
    cdf /= cdf[:, -1:]
    u = (np.arange(P)[None, :] + rng.random((R, 1))) / P
    idx = np.minimum((cdf[:, None, :] < u[:, :, None]).sum(-1), nodes.size - 1)
    idx = rng.permuted(idx, axis=1)
    half = 0.5 * (nodes[1] - nodes[0])
    return (nodes[idx] + rng.uniform(-half, half, size=idx.shape)).reshape(-1)


def _grid_mean(nodes: np.ndarray, logw: np.ndarray) -> np.ndarray:
    w = np.exp(logw - logw.max(axis=1, keepdims=True))
    return (w * nodes).sum(axis=1) / w.sum(axis=1)


class RecklessnessPosterior:
    """The belief about each row's hidden recklessness ρ, from the brokers' daily conduct ρ_t.

    The prior is the scenario's Beta(ρ̄·c, (1 − ρ̄)·c). On each day brokers are active, their decay
    reveals that day's conduct ρ_t (:meth:`Belief.update`). In v1, ρ_t = σ(logit ρ + s·z_t) with z_t standard
    normal, so logit ρ_t is a normal observation of logit ρ with SD s: the posterior is kept on a grid over
    logit ρ (the Beta prior's density there is ρ^a·(1 − ρ)^b), and each day multiplies it by that normal
    likelihood (its variance also counts the float32 rounding of the observations). With s = 0 (v0) one
    day reveals ρ exactly, and the posterior is that point.

    Args:
        params: the scenario's broker parameters.
        size: rows (episodes).
        spacing: grid step in logit ρ; the grid spans ±``bound`` (prior mass beyond sits on the ends).
    """

    def __init__(self, params: BrokerParams, size: int, spacing: float = 0.05, bound: float = 16.0) -> None:
        mean, conc = params.recklessness, params.recklessness_concentration
        self.a, self.b = mean * conc, (1.0 - mean) * conc
        self.point = None if 0.0 < mean < 1.0 else float(mean)  # a degenerate prior: ρ is known
        self.noise = params.recklessness_noise
        self.decay = params.decay
        self.exact = self.noise <= 0.0
        self.days = np.zeros(size, dtype=np.int64)  # days of conduct observed
        self.known = np.zeros(size, dtype=bool)  # exact case: ρ revealed
        self.value = np.zeros(size)
        self.nodes = np.arange(-bound, bound + 0.5 * spacing, spacing)  # logit ρ
        log_rho, log_rest = -np.logaddexp(0.0, -self.nodes), -np.logaddexp(0.0, self.nodes)
        self.prior = self.a * log_rho + self.b * log_rest
        self.logw = np.tile(self.prior, (size, 1)) if not self.exact else np.zeros((size, 1))

    def start(self, rows: np.ndarray) -> None:
        """Forget what was learned about ``rows`` (new episodes)."""
        self.days[rows] = 0
        self.known[rows] = False
        if not self.exact:
            self.logw[rows] = self.prior

    def observe(self, rows: np.ndarray, conduct: np.ndarray, visible: np.ndarray) -> None:
        """Fold in the day's conduct ρ_t of ``rows`` where ``visible`` (brokers were active)."""
        idx, r = rows[visible], conduct[visible]
        self.days[idx] += 1
        if self.exact:
            new = ~self.known[idx]
            self.value[idx[new]] = r[new]
            self.known[idx] = True
            return
        r = np.clip(r, 1e-12, 1.0 - 1e-12)
        y = np.log(r) - np.log1p(-r)
        rounding = _RATIO_ERROR / max(self.decay, 1e-12) / (r * (1.0 - r))
        var = self.noise**2 + rounding**2
        logw = self.logw[idx] - 0.5 * (y[:, None] - self.nodes[None, :]) ** 2 / var[:, None]
        self.logw[idx] = logw - logw.max(axis=1, keepdims=True)

    def draw(self, rows: np.ndarray, particles: int, rng: np.random.Generator) -> np.ndarray:
        """``particles`` draws of ρ per row, row-major."""
        R, P = rows.size, particles
        if self.point is not None:
            return np.full(R * P, self.point)
        if self.exact:
            prior = rng.beta(self.a, self.b, size=R * P)
            return np.where(np.repeat(self.known[rows], P), np.repeat(self.value[rows], P), prior)
        x = _draw_from_grid(self.nodes, self.logw[rows], P, rng)
        return 1.0 / (1.0 + np.exp(-x))

    def cdf(self, rows: np.ndarray, rho: np.ndarray) -> np.ndarray:
        """The posterior CDF at ``rho`` for ``rows`` (noisy conduct only): of the distribution :meth:`draw`
        samples, each node's mass spread evenly over its cell in logit ρ. Uniform over episodes when the
        posterior is calibrated."""
        if self.exact or self.point is not None:
            raise ValueError("cdf needs a grid posterior (brokers.recklessness_noise > 0 and a Beta prior)")
        r = np.clip(rho, 1e-300, 1.0 - 1e-16)
        x = np.log(r) - np.log1p(-r)
        w = np.exp(self.logw[rows] - self.logw[rows].max(axis=1, keepdims=True))
        half = 0.5 * (self.nodes[1] - self.nodes[0])
        inside = np.clip((x[:, None] - self.nodes[None, :] + half) / (2.0 * half), 0.0, 1.0)
        return (w * inside).sum(axis=1) / w.sum(axis=1)

    def mean(self, rows: np.ndarray) -> np.ndarray:
        """The posterior mean of ρ for ``rows``."""
        if self.point is not None:
            return np.full(rows.size, self.point)
        if self.exact:
            return np.where(self.known[rows], self.value[rows], self.a / (self.a + self.b))
        w = np.exp(self.logw[rows] - self.logw[rows].max(axis=1, keepdims=True))
        rho = 1.0 / (1.0 + np.exp(-self.nodes))
        return (w * rho).sum(axis=1) / w.sum(axis=1)


class _CrowdReplay:
    """A generator for replaying :func:`core.step`: it returns the observed information draw and records
    the parameters (n*, p*) of the crowd draw (:func:`core.crowd_draw`). Every other draw is a constant: the
    replay is used only up to the crowd draw, and its resulting state is discarded."""

    def __init__(self, informed_gain: np.ndarray) -> None:
        self.informed_gain = informed_gain
        self.calls = 0
        self.crowd: tuple[np.ndarray, np.ndarray] | None = None

    def random(self, size: tuple[int, int]) -> np.ndarray:
        return np.full(size, 0.5)

    def standard_normal(self, size: int) -> np.ndarray:
        return np.zeros(size)

    def binomial(self, n: Any, p: Any) -> np.ndarray:
        self.calls += 1
        if self.calls == 1:  # information: today's newly informed residents, as observed
            return np.minimum(self.informed_gain, n)
        if self.calls == 2:  # the crowd
            self.crowd = (np.asarray(n, dtype=float), np.asarray(p, dtype=float))
        return np.zeros(np.shape(n), dtype=np.int64)


class _Holds:
    """A superior that always holds (the replay stops mattering after the crowd draw)."""

    def respond(self, view: SuperiorView, params: Any, uniform: np.ndarray) -> np.ndarray:
        return np.zeros(np.shape(uniform), dtype=np.int64)


class Belief:
    """What the honest planner knows of each row's episode (module docstring), rebuilt from observations.

    Arrays have one entry (or row) per slot of the planner's batch. :meth:`start` begins a row,
    :meth:`update` folds in one day (the previous observation and action are kept in ``prev`` and
    ``prev_action``), and :meth:`roots` draws simulator states from the belief.
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
        self.size = B = size
        pop, sup = scenario.population, scenario.superior
        self.mood, self.mood_prior = _normal_grid(0.0, pop.mood_sd, mood_nodes)
        self.resolve, self.resolve_prior = _normal_grid(sup.resolve, sup.resolve_sd, resolve_nodes)
        self.constants = core.constants(scenario)
        self.started = np.zeros(B, dtype=bool)
        self.prev = np.zeros((B, len(core.OBSERVATION_FIELDS)))
        self.prev_action = np.zeros(B, dtype=np.int64)
        self.evidence = np.zeros(B)
        self.stock = np.zeros(B)
        self.peak_disorder = np.zeros(B)
        self.warnings = np.zeros(B, dtype=np.int64)
        self.street_days = np.zeros(B, dtype=np.int64)
        self.investigation_left = np.full(B, -1, dtype=np.int64)
        self.severity = np.zeros((B, 4))
        self.severity[:, 0] = 1.0
        self.mood_logw = np.tile(self.mood_prior, (B, 1))
        self.resolve_logw = np.tile(self.resolve_prior, (B, 1))
        self.rho = RecklessnessPosterior(scenario.brokers, B)

    # --- bookkeeping ------------------------------------------------------------------------------
    def start(self, rows: np.ndarray, obs: np.ndarray) -> None:
        """New episodes (day 0), or rows joined mid-episode: start from the observation alone."""
        s = self.scenario
        self.started[rows] = True
        self.prev[rows] = obs
        self.evidence[rows] = 0.0  # exact at day 0; a guess for a row joined mid-episode
        crowd = obs[:, _I["crowd"]]
        self.stock[rows] = self._pressure(obs, crowd, self.evidence[rows])  # exact at day 0 (no crowd)
        self.peak_disorder[rows] = obs[:, _I["disorder"]]
        self.warnings[rows] = np.rint(obs[:, _I["warnings"]] * core.WARNINGS_SCALE).astype(np.int64)
        standoff = self.constants.v1.standoff & (crowd >= s.population.street_crowd)
        self.street_days[rows] = standoff  # exact at day 0 (no crowd); a guess later
        days = s.superior.investigation_days
        self.investigation_left[rows] = np.where(obs[:, _I["investigation"]] > 0.5, max(days - 1, 0), -1)
        self.severity[rows] = 0.0
        self.severity[rows, 0] = 1.0
        self.mood_logw[rows] = self.mood_prior
        self.resolve_logw[rows] = self.resolve_prior
        self.rho.start(rows)

    def _pressure(self, obs: np.ndarray, crowd: np.ndarray, evidence: np.ndarray) -> np.ndarray:
        """The pressure Π the superior weighs (*mirrors core.step*: its crowd, discounted for radicals, raised
        by elite opposition, in units of Π_ref, and in v1 discounted by (1 − E)^ψ for staging)."""
        sup = self.scenario.superior
        radical, elite = obs[:, _I["radical_share"]], obs[:, _I["elite_opposition"]]
        pressure = crowd * (1.0 - radical) ** sup.radical_discount * (1.0 + sup.elite_weight * elite)
        pressure = pressure * (1.0 / sup.pressure_ref)
        if self.constants.v1.attribution:
            pressure = pressure * (1.0 - evidence) ** sup.attribution_discount
        return pressure

    def update(self, rows: np.ndarray, obs: np.ndarray) -> None:
        """Fold one day into the belief of ``rows``: yesterday's observation and action, today's observation.

        Follows the order of :func:`massbargain.core.step`.
        """
        s, c = self.scenario, self.constants
        pop, bro, sup = s.population, s.brokers, s.superior
        prev, a = self.prev[rows], self.prev_action[rows]
        e = c.batch.effects[a].T  # (columns, R): yesterday's action's effects
        repress = obs[:, _I["last_repress"]] > 0.5  # a non-terminal day's response is the last response
        response = _last_response(obs)
        # Today's crowd as the core drew it: an exact count, undoing the crackdown's and the superior's
        # dispersals of the observed crowd.
        n = pop.n_residents
        kept = e[core._CROWD_KEEP] * (1.0 - sup.repress_dispersal * repress)
        active = np.rint(obs[:, _I["crowd"]] / np.maximum(kept, 1e-12) * n)
        facing = active * (1.0 / n)
        crowd_pre = facing * e[core._CROWD_KEEP]  # before the superior's dispersal
        crowd = crowd_pre * (1.0 - sup.repress_dispersal * repress)
        disorder = obs[:, _I["disorder"]]
        posture = np.argmax(obs[:, _POSTURE], axis=1)
        brokers_mid = prev[:, _I["broker_activity"]] * e[core._BROKER_MUL] + e[core._BROKER_ADD]

        # Mood: the day's crowd count under each mood, by the core's own crowd draw.
        if self.mood.size > 1:
            self.mood_logw[rows] += self._crowd_log_likelihood(rows, prev, a, obs, active)

        # Sustained pressure as the superior saw it, and resolve from its (non-conceding) response.
        evidence, peak = self.evidence[rows], self.peak_disorder[rows]
        pressure = self._pressure(obs, crowd_pre, evidence)
        stock = sup.pressure_memory * self.stock[rows] + (1.0 - sup.pressure_memory) * pressure
        if self.filter_resolve and self.resolve.size > 1:
            col = lambda x: x[:, None]  # noqa: E731
            view = SuperiorView(
                col(pressure), col(stock), col(disorder), col(evidence), col(obs[:, _I["elite_opposition"]]),
                self.resolve[None, :], col(peak),
            )  # fmt: skip
            logp = response_log_probabilities(view, sup)  # (6, R, G)
            self.resolve_logw[rows] += np.take_along_axis(logp, response[None, :, None], axis=0)[0]
        self.stock[rows] = stock

        # Evidence (*mirrors core.step*): the trace of leaks, tolerated crowds, brokers, arrests, disorder.
        mu = sup.monitoring
        trace = (
            e[core._LEAK_TRACE]
            + (mu * sup.evidence_tolerate) * c.batch.tolerant[posture] * crowd
            + (mu * sup.evidence_mobilize + (mu * sup.evidence_arrest) * repress) * brokers_mid
            + (mu * sup.evidence_disorder) * disorder
        )
        evidence = evidence + np.minimum(trace, 1.0) * (1.0 - evidence)
        self.evidence[rows] = evidence

        # The standoff clock (v1): consecutive days with a crowd of at least street_crowd.
        if c.v1.standoff:
            self.street_days[rows] = np.where(facing >= pop.street_crowd, self.street_days[rows] + 1, 0)

        # The brokers' conduct today, from their decay (*mirrors core.step*:
        # M' = M·(1 − arrest·[repress])·(1 − decay·(1 − ρ_t))), on days they are active.
        left = brokers_mid * (1.0 - sup.repress_broker_arrest * repress)
        visible = (left > 1e-6) & (bro.decay > 0)
        ratio = obs[:, _I["broker_activity"]] / np.maximum(left, 1e-300)
        conduct = np.clip(1.0 - (1.0 - ratio) / max(bro.decay, 1e-12), 0.0, 1.0)
        self.rho.observe(rows, conduct, visible)

        # Peak disorder, warnings, investigations and the punishment they may have brought.
        peak = np.maximum(peak, disorder)
        self.peak_disorder[rows] = peak
        self.warnings[rows] += response == _WARN
        pending = self.investigation_left[rows]
        days = sup.investigation_days
        if days > 0:  # an open investigation is observed: it opens, counts down, and is decided at zero
            opened = (pending < 0) & (obs[:, _I["investigation"]] > 0.5)
            pending = np.where(opened, days, pending - (pending > 0))
            p_decided = (pending == 0).astype(float)
            self.investigation_left[rows] = np.where(pending == 0, -1, pending)
        else:  # opened and decided the same day, unseen: weigh by the chance that it opened (mirrors core.step)
            serious = (disorder >= sup.investigation_disorder) & (disorder > 0.0)
            closed = (1.0 - repress * sup.investigation_after_repress) * np.exp(-sup.investigate_evidence * evidence**2)
            p_decided = np.where(serious, 1.0, 1.0 - closed)
        if (p_decided > 0).any():
            self._verdict(rows, p_decided, evidence, peak)

        for logw in (self.mood_logw, self.resolve_logw):  # keep the log-weights finite over long episodes
            logw[rows] -= logw[rows].max(axis=1, keepdims=True)

    def _verdict(self, rows: np.ndarray, p_decided: np.ndarray, evidence: np.ndarray, peak: np.ndarray) -> None:
        """Update the severity distribution of ``rows`` whose investigation was decided with probability
        ``p_decided`` (*mirrors core.step*: the veto, else guilty with probability σ(bias + k·E); the level
        by evidence, at least a demotion under the veto). A dismissal would have ended the episode."""
        sup = self.scenario.superior
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
            np.add.at(new, (np.arange(rows.size), np.maximum(lvl, level)), old[:, lvl] * guilty)
        self.severity[rows] = new

    def _crowd_log_likelihood(
        self, rows: np.ndarray, prev: np.ndarray, actions: np.ndarray, obs: np.ndarray, active: np.ndarray
    ) -> np.ndarray:
        """Log-likelihood (R, G) of the day's crowd count under each mood node.

        Replays ``core.step`` from yesterday's state once per (row, mood node), with the observed information
        draw (:class:`_CrowdReplay`), and reads the crowd draw's Binomial(n*, p*); the count's likelihood is
        the normal with its mean and variance (variance at least 1/4, for counts near zero).
        """
        G, R = self.mood.size, rows.size
        n = self.scenario.population.n_residents
        rep = lambda x: np.repeat(x, G)  # noqa: E731
        state = state_from_observation(
            np.repeat(prev, G, axis=0),
            self.scenario,
            peak_disorder=rep(self.peak_disorder[rows]),
            warnings=rep(self.warnings[rows]),
            evidence=rep(self.evidence[rows]),
            stock=rep(self.stock[rows]),
            street_days=rep(self.street_days[rows]),
            investigation_left=rep(self.investigation_left[rows]),
            severity=np.zeros(R * G, dtype=np.int64),
            recklessness=np.full(R * G, 0.5),
            resolve=np.zeros(R * G),
            mood=np.tile(self.mood, R),
        )
        gain = np.rint(obs[:, _I["informed"]] * n) - np.rint(prev[:, _I["informed"]] * n)
        replay = _CrowdReplay(rep(np.maximum(gain, 0).astype(np.int64)))
        core.step(state, rep(actions), self.scenario, replay, _Holds())  # type: ignore[arg-type]
        assert replay.crowd is not None, "core.step no longer draws the crowd as the belief expects"
        n_star, p_star = replay.crowd
        mean = (n_star * p_star).reshape(R, G)
        var = np.maximum(mean * (1.0 - p_star.reshape(R, G)), 0.25)
        return -0.5 * (active[:, None] - mean) ** 2 / var - 0.5 * np.log(var)

    # --- particles ----------------------------------------------------------------------------------
    def roots(self, rows: np.ndarray, obs: np.ndarray, particles: int, rng: np.random.Generator) -> State:
        """``particles`` simulator states per row, drawn from the belief; rows are grouped (row-major)."""
        R, P = rows.size, particles
        rep = lambda x: np.repeat(x, P)  # noqa: E731
        mood = _draw_from_grid(self.mood, self.mood_logw[rows], P, rng)
        resolve = _draw_from_grid(self.resolve, self.resolve_logw[rows], P, rng)
        rho = self.rho.draw(rows, P, rng)
        sev_p = self.severity[rows]
        cdf = np.cumsum(sev_p / sev_p.sum(axis=1, keepdims=True), axis=1)
        severity = np.minimum((cdf[:, None, :] < rng.random((R, P))[:, :, None]).sum(-1), 3).reshape(-1)
        return state_from_observation(
            np.repeat(obs, P, axis=0),
            self.scenario,
            peak_disorder=rep(self.peak_disorder[rows]),
            warnings=rep(self.warnings[rows]),
            evidence=rep(self.evidence[rows]),
            stock=rep(self.stock[rows]),
            street_days=rep(self.street_days[rows]),
            investigation_left=rep(self.investigation_left[rows]),
            severity=severity.astype(np.int64),
            recklessness=rho,
            resolve=resolve,
            mood=mood,
        )

    # --- summaries (for tests and figures) --------------------------------------------------------
    def mood_mean(self, rows: np.ndarray) -> np.ndarray:
        """Posterior mean of the mood of ``rows``."""
        return _grid_mean(self.mood, self.mood_logw[rows])

    def resolve_mean(self, rows: np.ndarray) -> np.ndarray:
        """Posterior mean of the superior's resolve in ``rows``."""
        return _grid_mean(self.resolve, self.resolve_logw[rows])
