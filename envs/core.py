"""The dynamics core: every rule of the model, once, as functions over batched numpy arrays.

The leading axis of every array is the batch of B independent environments. :func:`initial_state` draws
an episode's start and its hidden variables; :func:`step` advances every environment by one day;
:func:`observe` gives the official's observation. All randomness comes from the
``numpy.random.Generator`` passed in. The single environment, the vector environment, the rollouts, the
planner and the analysis code all call these three functions.

Two number types, one set of rules. ``initial_state(..., batch_size=B)`` holds each per-environment
variable as an array of shape (B,); ``batch_size=None`` holds it as a plain Python number (one
environment, the single Env's case). The rules below are written once with arithmetic operators and
the few functions of ``_Batch`` / ``_One`` (exp, minimum, where, ...), which both number types
understand. The reason is speed: on a (1,)-shaped array every numpy call costs about a microsecond and
a day needs ~215 of them, while Python arithmetic on floats costs ~50 ns. Transcendental functions go
through numpy's ufuncs in both modes, so one environment of a batch and a lone environment produce the
same bits from the same random stream.

Order within a day (docs/MODEL.md, "One day"): the official acts; residents learn and decide
(information, activation, brokers, radicalization, disorder, trigger events); the superior responds;
evidence and investigations update; the reward is paid; termination is checked.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from types import SimpleNamespace
from typing import Any

import numpy as np

from massbargain.actions import Action, EndReason, Outcome, Response, Severity
from massbargain.population import ResidentTypes, resident_types
from massbargain.scenario import Scenario
from massbargain.superior import ScriptedSuperior, Superior, SuperiorView

__all__ = [
    "OBSERVATION_FIELDS",
    "OBS_INDEX",
    "Constants",
    "Posture",
    "State",
    "StepResult",
    "Day",
    "begin_day",
    "crowd_draw",
    "constants",
    "end_day",
    "initial_state",
    "observe",
    "step",
]

FIRM, NORMAL, TOLERANT = 0, 1, 2
#: v1: a CRACKDOWN makes the police firm only if yesterday's crowd was at least this share of
#: ``police.crackdown_crowd_scale`` (a tenth: 0.003 of residents by default, about 30 people).
FIRM_MIN_SHARE = 0.1
Posture = {"firm": FIRM, "normal": NORMAL, "tolerant": TOLERANT}

OBSERVATION_FIELDS: tuple[str, ...] = (
    "time_used",  # day / T
    "stakes",  # S
    "informed",  # informed share I
    "crowd",  # active share A
    "peak_crowd",  # largest A so far
    "radical_share",  # R
    "disorder",  # D
    "police_firm",  # posture, one-hot
    "police_normal",
    "police_tolerant",
    "broker_activity",  # M
    "elite_opposition",  # U
    "legitimacy",  # L
    "last_hold",  # superior's last response, one-hot over the non-terminal responses
    "last_warn",
    "last_repress",
    "warnings",  # warnings received so far / 5, capped at 1 (a noisy reading of suspicion)
    "investigation",  # 1 while a discipline investigation is open
    "incident",  # days of trigger-driven recruitment left / trigger_days
)
OBS_INDEX: dict[str, int] = {name: i for i, name in enumerate(OBSERVATION_FIELDS)}
WARNINGS_SCALE = 5.0

_DEFAULT_SUPERIOR = ScriptedSuperior()

# Plain-int codes for the hot path: comparing numpy arrays with IntEnum members is ~10x slower.
_HOLD, _WARN, _REPRESS = int(Response.HOLD), int(Response.WARN), int(Response.REPRESS)
_INVESTIGATE = int(Response.INVESTIGATE)
_IMPOSED, _SUSPENDED = int(Outcome.IMPOSED), int(Outcome.SUSPENDED)
_DEMOTION, _DISMISSAL = int(Severity.DEMOTION), int(Severity.DISMISSAL)
_CONCESSION, _ACCEPTED, _DEADLINE = int(EndReason.CONCESSION), int(EndReason.ACCEPTED), int(EndReason.DEADLINE)
_DISMISSED, _TAKEOVER = int(EndReason.DISMISSED), int(EndReason.TAKEOVER)


@dataclass
class State:
    """The full state of B environments (or of one, with plain numbers; see the module docstring).

    Each field is an array of shape (B,) (or a Python number) unless noted; K = resident types.
    """

    day: Any  # int, days elapsed
    informed: Any  # int, residents who know the plan's details (of every type alike: information is type-blind)
    crowd: Any  # A, active share after today's dispersals (who is active is drawn afresh each day)
    peak_crowd: Any
    radical: Any  # R
    disorder: Any  # D
    peak_disorder: Any
    posture: Any  # int: FIRM, NORMAL, TOLERANT
    brokers: Any  # M
    elite: Any  # U
    legitimacy: Any  # L
    last_response: Any  # int: HOLD, WARN, REPRESS
    warnings: Any  # int
    evidence: Any  # E (hidden)
    stock: Any  # sustained pressure S, units of Π_ref
    incident_left: Any  # int, days of trigger-driven recruitment left
    street_days: Any  # int, consecutive days a standoff-sized crowd has been on the street (v1; stays 0 in v0)
    investigation_left: Any  # int, days until an open investigation resolves; -1 if none
    severity: Any  # int Severity, the heaviest punishment so far
    recklessness: Any  # ρ (hidden)
    resolve: Any  # superior's resolve (hidden)
    mood: Any  # shift of mean hardship (hidden)

    @property
    def batched(self) -> bool:
        return isinstance(self.day, np.ndarray)

    @property
    def batch_size(self) -> int | None:
        """B, or None for a single environment held as plain numbers."""
        return self.day.shape[0] if self.batched else None

    def copy(self) -> State:
        return State(
            **{f.name: np.copy(v) if isinstance(v := getattr(self, f.name), np.ndarray) else v for f in fields(self)}
        )

    def assign(self, mask: np.ndarray, other: State) -> None:
        """Overwrite the environments selected by ``mask`` with ``other``'s (batched, same B)."""
        for f in fields(self):
            getattr(self, f.name)[mask] = getattr(other, f.name)[mask]

    def row(self, i: int) -> State:
        """Environment ``i`` of a batch as a single state of plain numbers."""
        values = {f.name: getattr(self, f.name)[i] for f in fields(self)}
        return State(**{k: v.copy() if v.ndim else v.item() for k, v in values.items()})


@dataclass
class StepResult:
    """What one day produced, per environment (shape (B,), or plain numbers for one environment)."""

    reward: Any
    terminated: Any  # bool
    response: Any  # int Response
    outcome: Any  # int Outcome (NONE while running)
    end_reason: Any  # int EndReason
    triggered: Any  # bool, a trigger event happened today
    punished: Any  # int Severity decided today (NONE if none)


# Columns of the action-effect table: what today's action does, one row per action.
(
    _ELITE_MUL,
    _ELITE_ADD,
    _BROKER_MUL,
    _BROKER_ADD,
    _LEGIT_MUL,
    _LEGIT_ADD,
    _LEAK_MISS,
    _PERSUASION,
    _CROWD_KEEP,
    _CRACK_RADICAL,
    _CALM,
    _FORCE,
    _LEAK_TRACE,
    _COST,
    _PLAYING,
    _CRACK_LEGIT,
) = range(16)


def _action_effects(scenario: Scenario) -> np.ndarray:
    """The immediate effect of each action (rows) on the state, as coefficients (columns).

    Each action's effect is affine in the variable it touches, so one table lookup applies it:
    U ← U·(1 − g·[petition] − decay) + g·[petition] with g = cohesion·petition_gain;
    M ← (M + b·[mobilize]·(1 − M))·(1 − cut·[pacify]);
    L ← (L + r·(L₀ − L))·(1 − leak_drop·[leak] − crackdown_drop·[crackdown]) in v0; in v1 the crackdown's
    factor (1 − crackdown_drop·[crackdown]·min(A/A_c, 1)) depends on the crowd and is applied in ``step``.
    """
    info, pol, bro, eli, sup, uti = (
        scenario.information,
        scenario.police,
        scenario.brokers,
        scenario.elite,
        scenario.superior,
        scenario.utility,
    )
    cost = {
        Action.WAIT: uti.cost_wait,
        Action.PETITION: uti.cost_petition,
        Action.LEAK: uti.cost_leak,
        Action.TOLERATE: uti.cost_tolerate,
        Action.MOBILIZE: uti.cost_mobilize,
        Action.PACIFY: uti.cost_pacify,
        Action.CRACKDOWN: uti.cost_crackdown,
        Action.ACCEPT: uti.cost_accept,
    }
    e = np.zeros((len(Action), 16))
    scaled = pol.crackdown_crowd_scale > 0.0  # v1: a crackdown's legitimacy cost is applied by the crowd struck
    for a in Action:
        petition, leak, mobilize = a == Action.PETITION, a == Action.LEAK, a == Action.MOBILIZE
        pacify, crackdown, accept = a == Action.PACIFY, a == Action.CRACKDOWN, a == Action.ACCEPT
        g = eli.cohesion * eli.petition_gain * petition
        e[a, _ELITE_MUL], e[a, _ELITE_ADD] = 1.0 - g - eli.decay, g
        keep = 1.0 - pol.pacify_broker_cut * pacify
        boost = bro.mobilize_boost * mobilize
        e[a, _BROKER_MUL], e[a, _BROKER_ADD] = (1.0 - boost) * keep, boost * keep
        k = 1.0 - info.leak_legitimacy_drop * leak - pol.crackdown_legitimacy_drop * crackdown * (not scaled)
        e[a, _CRACK_LEGIT] = pol.crackdown_legitimacy_drop * crackdown * scaled
        r = info.legitimacy_recovery
        e[a, _LEGIT_MUL], e[a, _LEGIT_ADD] = (1.0 - r) * k, r * info.legitimacy * k
        e[a, _LEAK_MISS] = 1.0 - info.leak_reach * leak
        e[a, _PERSUASION] = pol.pacify_persuasion * pacify
        e[a, _CROWD_KEEP] = 1.0 - pol.crackdown_dispersal * crackdown
        e[a, _CRACK_RADICAL] = bro.crackdown_radicalization * crackdown
        e[a, _CALM] = 1.0 - bro.radical_decay - pol.pacify_radical_cut * pacify
        e[a, _FORCE] = float(crackdown)
        e[a, _LEAK_TRACE] = sup.monitoring * sup.evidence_leak * leak
        e[a, _COST] = cost[a]
        e[a, _PLAYING] = 1.0 - accept
    return e


@dataclass(frozen=True, eq=False)
class Constants:
    """Tables derived once from a scenario (see :func:`constants`), as arrays and as tuples.

    ``batch`` holds numpy arrays indexed by arrays of codes; ``one`` holds the same tables as tuples of
    Python numbers, indexed by one code.
    """

    types: ResidentTypes  # K quadrature nodes of the residents' activation argument
    batch: SimpleNamespace
    one: SimpleNamespace
    v1: SimpleNamespace  # which v1 mechanisms are on (each is off at its v0 value: scenario.V0_VALUES)


def constants(scenario: Scenario) -> Constants:
    """The scenario's derived tables, computed once and kept on the (frozen, immutable) scenario."""
    c = scenario.__dict__.get("_core_constants")
    if c is None:
        u, pol = scenario.utility, scenario.police
        tables = {
            "effects": _action_effects(scenario),  # (8, 15), by action
            "outcome_value": u.stakes * np.array([0.0, 1.0, u.value_suspend, u.value_partial, 0.0]),  # by Outcome
            "severity_cost": u.punishment_cost * np.array([0.0, u.severity_warning, u.severity_demotion, 1.0]),
            # Epstein's k times the effective police capacity, by posture (FIRM, NORMAL, TOLERANT).
            "arrest_pressure": pol.arrest_constant
            * pol.capacity
            * np.array([pol.firm_factor, 1.0, pol.tolerant_factor]),
            "firm_force": np.array([pol.firm_incident_share, 0.0, 0.0]),  # trigger force of a posture alone
            "tolerant": np.array([0.0, 0.0, 1.0]),
            # Outcome of each Response: the three concessions end the episode.
            "concession_outcome": np.array([0, 0, 0, Outcome.SUSPENDED, Outcome.PARTIAL, Outcome.WITHDRAWN, 0]),
            "posture_after": np.array([-1, -1, -1, TOLERANT, -1, NORMAL, FIRM, -1]),  # -1: unchanged
        }
        one = {k: tuple(map(tuple, v.tolist())) if v.ndim == 2 else tuple(v.tolist()) for k, v in tables.items()}
        sup, bro = scenario.superior, scenario.brokers
        v1 = SimpleNamespace(
            standoff=scenario.population.self_radicalization > 0.0 or scenario.population.standoff_incidents > 0.0,
            crackdown_scaled=pol.crackdown_crowd_scale > 0.0,
            reckless_noise=bro.recklessness_noise > 0.0,
            attribution=sup.attribution_discount > 0.0,
            evidence_investigation=sup.investigate_evidence > 0.0,
            takeover_shelve=sup.takeover_shelve > 0.0,
        )
        # v1's extra random numbers are drawn only when a mechanism needs them, so that v0 scenarios consume
        # exactly v0's stream.
        v1.extra_draws = v1.reckless_noise or v1.evidence_investigation or v1.takeover_shelve
        c = Constants(
            resident_types(scenario.population.quadrature_nodes),
            SimpleNamespace(**tables),
            SimpleNamespace(**one),
            v1,
        )
        scenario.__dict__["_core_constants"] = c  # a cache beside the fields; eq and hash ignore it
    return c


class _Batch:
    """The functions the rules use, for arrays of shape (B,)."""

    exp, expm1, tanh = np.exp, np.expm1, np.tanh
    minimum, maximum, where = np.minimum, np.maximum, np.where

    @staticmethod
    def col(x: np.ndarray) -> np.ndarray:
        """A per-environment variable against the (B, K) per-type arrays."""
        return x[:, None]

    @staticmethod
    def dot(per_type: np.ndarray, share: np.ndarray) -> np.ndarray:
        """Share-weighted sum over resident types of a (B, K) array (multiply and sum, not BLAS, so that
        one environment of a batch sums in the same order as a lone one)."""
        return np.add.reduce(per_type * share, axis=-1)

    rint = np.rint

    @staticmethod
    def effects(table: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """Rows of the action-effect table for each environment, as (15, B)."""
        return table[actions].T


class _One:
    """The same functions for one environment held as plain Python numbers.

    exp, expm1 and tanh call numpy's ufuncs (not ``math``) so that the results match the batched path
    bit for bit.
    """

    @staticmethod
    def exp(x: float) -> float:
        return float(np.exp(x))

    @staticmethod
    def expm1(x: float) -> float:
        return float(np.expm1(x))

    tanh = np.tanh  # only applied to per-type arrays
    minimum, maximum = min, max

    @staticmethod
    def where(condition: bool, a: Any, b: Any) -> Any:
        return a if condition else b

    @staticmethod
    def col(x: float) -> float:
        return x

    @staticmethod
    def dot(per_type: np.ndarray, share: np.ndarray) -> float:
        return float(np.add.reduce(per_type * share, axis=-1))

    rint = round

    @staticmethod
    def effects(table: tuple, action: int) -> tuple:
        return table[action]


def _sigmoid(x: Any, xp: Any) -> Any:
    return 0.5 + 0.5 * xp.tanh(0.5 * x)


def crowd_draw(rng: np.random.Generator, informed: Any, share: np.ndarray, p_active: np.ndarray, xp: Any) -> Any:
    """How many informed residents are active today: the sum over types of Binomial(I·share_k, p_k).

    The sum of binomials with unequal p is drawn as one binomial with the same mean m and variance v
    (p* = 1 − v/m, n* = m/p*): exact in the first two moments, Poisson-like when every p_k is small and
    binomial-like when they are equal, and one draw per environment instead of K. numpy's exact sampler
    costs ~0.4 µs per count, so this is what makes 1024 environments a day cheap.
    """
    mean = informed * xp.dot(p_active, share)
    variance = informed * xp.dot(p_active * (1.0 - p_active), share)
    p_star = xp.where(mean > 0.0, 1.0 - variance / xp.maximum(mean, 1e-300), 0.0)
    n_star = xp.minimum(xp.rint(mean / xp.maximum(p_star, 1e-12)), informed)
    return rng.binomial(n_star.astype(np.int64) if xp is _Batch else int(n_star), p_star)


def initial_state(scenario: Scenario, rng: np.random.Generator, batch_size: int | None = 1) -> State:
    """Draw fresh episodes: informed residents, and the hidden recklessness, resolve and mood.

    ``batch_size=B`` gives arrays of shape (B,); ``None`` gives one environment of plain numbers. Both
    consume the same random numbers, so a batch of one and a single environment start alike.
    """
    B = batch_size
    n = scenario.population.n_residents
    b, sup = scenario.brokers, scenario.superior
    mean, conc = b.recklessness, b.recklessness_concentration
    # ρ ~ Beta(mean·c, (1 − mean)·c), with the degenerate means 0 and 1 kept exact.
    rho = rng.beta(mean * conc, (1.0 - mean) * conc, size=B) if 0.0 < mean < 1.0 else mean * np.ones(B or ())
    resolve = sup.resolve + sup.resolve_sd * rng.standard_normal(B)
    mood = scenario.population.mood_sd * rng.standard_normal(B)
    informed = rng.binomial(n, scenario.information.initial_informed, size=B)
    if B is None:
        zero, izero, full = 0.0, 0, (lambda v: v)
        rho, resolve, mood, informed = float(rho), float(resolve), float(mood), int(informed)
    else:
        zero, izero, full = np.zeros(B), np.zeros(B, dtype=np.int64), (lambda v: np.full(B, v))
    copy = np.copy if B is not None else (lambda v: v)
    return State(
        day=copy(izero),
        informed=informed,
        crowd=copy(zero),
        peak_crowd=copy(zero),
        radical=copy(zero),
        disorder=copy(zero),
        peak_disorder=copy(zero),
        posture=full(NORMAL),
        brokers=copy(zero),
        elite=copy(zero),
        legitimacy=full(scenario.information.legitimacy),
        last_response=full(_HOLD),
        warnings=copy(izero),
        evidence=copy(zero),
        stock=copy(zero),
        incident_left=copy(izero),
        street_days=copy(izero),
        investigation_left=full(-1),
        severity=copy(izero),
        recklessness=rho,
        resolve=resolve,
        mood=mood,
    )


def _observation(s: State, scenario: Scenario, xp: Any) -> list:
    """The values of OBSERVATION_FIELDS, in order, each in [0, 1]."""
    return [
        s.day / scenario.horizon.days,
        scenario.utility.stakes,
        s.informed / scenario.population.n_residents,
        s.crowd,
        s.peak_crowd,
        s.radical,
        s.disorder,
        s.posture == FIRM,
        s.posture == NORMAL,
        s.posture == TOLERANT,
        s.brokers,
        s.elite,
        s.legitimacy,
        s.last_response == _HOLD,
        s.last_response == _WARN,
        s.last_response == _REPRESS,
        xp.minimum(s.warnings / WARNINGS_SCALE, 1.0),
        s.investigation_left >= 0,
        s.incident_left / scenario.police.trigger_days,
    ]


def observe(state: State, scenario: Scenario) -> np.ndarray:
    """The official's observation: float32 of shape (B, F), or (F,) for one environment; F = 19.

    Every field lies in [0, 1] by construction (shares, one-hots, capped counts), so nothing is clipped;
    the property tests hold the dynamics to that.
    """
    if state.batched:
        columns = _observation(state, scenario, _Batch)
        obs = np.empty((state.day.shape[0], len(columns)), dtype=np.float32)
        for j, column in enumerate(columns):
            obs[:, j] = column
    else:
        obs = np.array(_observation(state, scenario, _One), dtype=np.float32)
    return obs


def step(
    state: State,
    actions: Any,
    scenario: Scenario,
    rng: np.random.Generator,
    superior: Superior = _DEFAULT_SUPERIOR,
) -> StepResult:
    """Advance every environment by one day, in place.

    ``actions`` is an int array of shape (B,) for a batched state, or one int for a single one.
    Environments that terminate are left in their terminal state; the caller resets them.

    The day is :func:`begin_day` (the official acts and the residents answer, up to what the superior
    sees), ``superior.respond`` on that view with the day's own uniform number, and :func:`end_day` (the
    response and its consequences). A two-sided game calls the two halves itself, with a learning
    superior's response in between (``massbargain.duel``).
    """
    day = begin_day(state, actions, scenario, rng)
    return end_day(state, day, superior.respond(day.view, scenario.superior, day.uniform), scenario)


@dataclass
class Day:
    """A day in progress between :func:`begin_day` and :func:`end_day`: what the superior sees (``view``),
    the uniform number its own draw uses (``uniform``), and the day's intermediate values the second half
    needs. Arrays of shape (B,), or plain numbers for one environment."""

    view: SuperiorView
    uniform: Any
    effects: Any  # today's rows of the action-effect table
    u: Any  # the day's uniforms (see begin_day)
    reckless: Any  # the brokers' conduct today
    crowd: Any  # the crowd after the official's dispersal, before the superior's
    facing: Any  # the crowd the police faced, before any dispersal
    disorder: Any
    triggered: Any  # a trigger event happened today


def begin_day(state: State, actions: Any, scenario: Scenario, rng: np.random.Generator) -> Day:
    """The first half of :func:`step`: draw the day's random numbers, apply the official's action and the
    residents' answer (information, activation, radicalization, disorder, triggers) and the superior's
    pressure stock, in place; return the superior's view of the day. Every random number of the day is
    drawn here, in :func:`step`'s order, so that a day split in two draws exactly what one call draws."""
    s = state
    batched = s.batched
    xp = _Batch if batched else _One
    pop, info, pol, bro, sup = (
        scenario.population,
        scenario.information,
        scenario.police,
        scenario.brokers,
        scenario.superior,
    )
    c = constants(scenario)
    t = c.batch if batched else c.one
    types, n = c.types, pop.n_residents
    e = xp.effects(t.effects, actions)  # today's action's effects, indexed by _ELITE_MUL ...
    playing = e[_PLAYING]  # 0 on ACCEPT: residents gather as on any day; no disorder, trigger or reaction
    # Uniforms: trigger, superior, investigation after repression, punishment; with v1's mechanisms also
    # investigation on evidence and shelving at a takeover (u[4], u[5]). Normals: disorder noise; with v1 also
    # the brokers' conduct today. v0 scenarios draw exactly v0's numbers; one environment of a batch and a
    # lone environment draw the same ones.
    v1 = c.v1
    n_uniform, n_normal = (6, 2) if v1.extra_draws else (4, 1)
    if batched:
        B = s.day.shape[0]
        u = rng.random((n_uniform, B))
        # Normals one (B,) row per call (the planner's common-random streams serve them row by row).
        zs = [rng.standard_normal(B) for _ in range(n_normal)]
        z = zs[0]
    else:
        u = rng.random(n_uniform).tolist()
        zs = rng.standard_normal(n_normal).tolist() if v1.extra_draws else rng.standard_normal()
        z = zs[0] if v1.extra_draws else zs

    # --- the official acts (each effect affine in its variable; see _action_effects) -------------
    posture = t.posture_after[actions]
    if v1.crackdown_scaled:  # no crowd, no show of force: a crackdown on (nearly) nobody leaves the posture
        struck = s.crowd >= FIRM_MIN_SHARE * pol.crackdown_crowd_scale
        posture = xp.where((posture != FIRM) | struck, posture, -1)
    s.posture = xp.where(posture >= 0, posture, s.posture)
    s.elite = s.elite * e[_ELITE_MUL] + e[_ELITE_ADD]
    s.brokers = s.brokers * e[_BROKER_MUL] + e[_BROKER_ADD]
    s.legitimacy = s.legitimacy * e[_LEGIT_MUL] + e[_LEGIT_ADD]
    if v1.crackdown_scaled:  # no crowd, no show of force to resent: the cost scales with the crowd struck
        s.legitimacy = s.legitimacy * (
            1.0 - e[_CRACK_LEGIT] * xp.minimum(s.crowd * (1.0 / pol.crackdown_crowd_scale), 1.0)
        )

    # --- information: leaks, word of mouth, the visible crowd, brokers; a trigger multiplies it --
    multiplier = 1.0 + (pol.trigger_recruitment - 1.0) * (s.incident_left > 0)
    hazard = (info.word_of_mouth / n) * s.informed + info.crowd_visibility * s.crowd
    broker_miss = 1.0 - bro.recruit_rate * s.brokers  # chance brokers do not reach a resident today
    p_inform = 1.0 - (e[_LEAK_MISS] * broker_miss * xp.exp(-hazard)) ** multiplier
    s.informed = s.informed + rng.binomial(n - s.informed, p_inform)

    # --- activation: Epstein's rule with Granovetter's social term, brokers, triggers ----------
    arrest_risk = -xp.expm1(-t.arrest_pressure[s.posture] / (s.crowd + 0.01))
    grievance_scale = 1.0 - s.legitimacy
    hardship = pop.hardship_mean + s.mood
    # The activation argument h·(1 − L) − r·P − θ + w·A − persuasion is normal across residents
    # (population.py); type k sits at mean + sd·z_k.
    mean_argument = (
        hardship * grievance_scale
        - pop.risk_aversion_mean * arrest_risk
        - pop.threshold_mean
        + pop.social_weight * s.crowd
        - e[_PERSUASION]
    )
    sd_argument = (
        (pop.hardship_sd * grievance_scale) ** 2 + (pop.risk_aversion_sd * arrest_risk) ** 2 + pop.threshold_sd**2
    ) ** 0.5
    argument = xp.col(mean_argument) + xp.col(sd_argument) * types.node
    p_stay_out = (0.5 - 0.5 * xp.tanh((0.5 * pop.activation_slope) * argument)) * xp.col(broker_miss)
    active = crowd_draw(rng, s.informed, types.share, 1.0 - p_stay_out ** xp.col(multiplier), xp)
    facing = active * (1.0 / n)  # the crowd the police face today, before any dispersal

    # --- radicalization, disorder, trigger events ---------------------------------------------
    # The brokers' conduct today: ρ itself in v0; in v1 ρ_t = σ(logit ρ + s·z_t), written without the logit.
    reckless = s.recklessness
    if v1.reckless_noise:
        reckless = reckless / (reckless + (1.0 - reckless) * xp.exp(-bro.recklessness_noise * zs[1]))
    push = bro.radicalization * reckless * s.brokers + e[_CRACK_RADICAL] * facing
    if v1.standoff:  # a standoff radicalizes by itself: crowd × grievance × time on the street
        s.street_days = xp.where(facing >= pop.street_crowd, s.street_days + 1, 0)
        standoff = xp.minimum(s.street_days * (1.0 / pop.standoff_days), 1.0)
        grievance = xp.maximum(hardship, 0.0) * grievance_scale
        push = push + pop.self_radicalization * facing * grievance * standoff
    radical = xp.minimum(xp.maximum(s.radical * e[_CALM] + push * (1.0 - s.radical), 0.0), 1.0)
    crowd = facing * e[_CROWD_KEEP]  # a crackdown disperses a share of the crowd
    noise = xp.exp(pop.disorder_noise * z - 0.5 * pop.disorder_noise**2)  # mean one
    disorder = xp.minimum(crowd * radical * noise, 1.0) * playing
    relative = facing * (1.0 / pol.trigger_crowd_scale)
    hump = relative * xp.exp(1.0 - relative)  # zero on an empty square, largest for a small crowd
    force = xp.maximum(e[_FORCE], t.firm_force[s.posture])
    trigger_hazard = pol.trigger_radical_hazard * radical * xp.minimum(relative, 1.0) + (
        pol.heavy_handedness * force * hardship * grievance_scale * hump
    )
    if v1.standoff:  # ... and carries incidents (a rumour, a clash) whether or not it is radical
        trigger_hazard = trigger_hazard + pop.standoff_incidents * facing * standoff
    triggered = u[0] < -xp.expm1(-trigger_hazard) * playing
    s.legitimacy = s.legitimacy * (1.0 - pol.trigger_legitimacy_drop * triggered)
    s.radical = radical + (pol.trigger_radicalization * triggered) * (1.0 - radical)
    s.incident_left = xp.where(triggered, pol.trigger_days, xp.maximum(s.incident_left - 1, 0))

    # --- the superior responds ------------------------------------------------------------------
    pressure = crowd * (1.0 - s.radical) ** sup.radical_discount * (1.0 + sup.elite_weight * s.elite)
    pressure = pressure * (1.0 / sup.pressure_ref)
    if v1.attribution:  # a crowd the superior believes staged counts for less
        pressure = pressure * (1.0 - s.evidence) ** sup.attribution_discount
    s.stock = sup.pressure_memory * s.stock + (1.0 - sup.pressure_memory) * pressure
    view = SuperiorView(
        pressure,
        s.stock,
        disorder,
        s.evidence,
        s.elite,
        s.resolve,
        s.peak_disorder,
        crowd,
        s.radical,
        xp.minimum(s.warnings / WARNINGS_SCALE, 1.0),
        s.day / scenario.horizon.days,
        s.investigation_left >= 0,
    )
    return Day(view, u[1], e, u, reckless, crowd, facing, disorder, triggered)


def end_day(state: State, day: Day, response: Any, scenario: Scenario) -> StepResult:
    """The second half of :func:`step`: apply the superior's ``response`` (``Response`` codes, shape (B,)
    or one int) to the day begun by :func:`begin_day` (its consequences, evidence, investigations,
    termination and the official's reward), in place. Draws no random number."""
    s = state
    batched = s.batched
    xp = _Batch if batched else _One
    sup, bro = scenario.superior, scenario.brokers
    c = constants(scenario)
    t = c.batch if batched else c.one
    v1 = c.v1
    e, u, reckless, crowd, facing, disorder = day.effects, day.u, day.reckless, day.crowd, day.facing, day.disorder
    triggered = day.triggered
    playing = e[_PLAYING]
    response = response * (playing > 0)  # HOLD (0) on the day of ACCEPT
    repress = response == _REPRESS
    crowd = crowd * (1.0 - sup.repress_dispersal * repress)
    s.warnings = s.warnings + (response == _WARN)
    s.last_response = xp.where(response <= _REPRESS, response, s.last_response)

    # --- evidence and investigation -------------------------------------------------------------
    mu = sup.monitoring
    trace = (
        e[_LEAK_TRACE]
        + (mu * sup.evidence_tolerate) * t.tolerant[s.posture] * crowd
        + (mu * sup.evidence_mobilize + (mu * sup.evidence_arrest) * repress) * s.brokers
        + (mu * sup.evidence_disorder) * disorder
    )
    s.evidence = s.evidence + xp.minimum(trace, 1.0) * (1.0 - s.evidence)
    s.brokers = s.brokers * (1.0 - sup.repress_broker_arrest * repress) * (1.0 - bro.decay * (1.0 - reckless))
    s.crowd = crowd
    s.peak_crowd = xp.maximum(s.peak_crowd, facing)  # residents still gather on the day of ACCEPT
    s.disorder = disorder
    s.peak_disorder = xp.maximum(s.peak_disorder, disorder)
    pending = s.investigation_left
    serious = (disorder >= sup.investigation_disorder) & (disorder > 0.0)
    opens = (pending < 0) & (
        serious | (repress & (u[2] < sup.investigation_after_repress)) | (response == _INVESTIGATE)
    )
    if v1.evidence_investigation:  # the evidence alone can open an inquiry into collusion
        opens = opens | ((pending < 0) & (u[4] < -xp.expm1(-sup.investigate_evidence * s.evidence * s.evidence)))
    pending = xp.where(opens, sup.investigation_days, pending - (pending > 0))

    # --- termination ----------------------------------------------------------------------------
    s.day = s.day + 1
    outcome = t.concession_outcome[response]
    conceded = outcome > 0
    accepted = playing == 0.0
    takeover = disorder >= sup.takeover_disorder
    ending = conceded | accepted | takeover | (s.day >= scenario.horizon.days)
    # An open investigation resolves when due, or when the episode ends for any other reason.
    due = (pending == 0) | ((pending > 0) & ending)
    veto = s.peak_disorder >= sup.veto_disorder
    guilty = due & (veto | (u[3] < _sigmoid(sup.punish_bias + sup.punish_evidence * s.evidence, xp)))
    level = xp.maximum(
        1 + (s.evidence >= 1.0 / 3.0) + (s.evidence >= 2.0 / 3.0),
        xp.maximum(_DEMOTION * veto, _DISMISSAL * (s.peak_disorder >= sup.takeover_disorder)),
    )
    punished = level * guilty
    s.investigation_left = xp.where(due, -1, pending)
    severity = xp.maximum(s.severity, punished)
    dismissed = severity == _DISMISSAL
    terminated = ending | dismissed
    if v1.takeover_shelve:  # the province may shelve the plan to restore order instead of imposing it
        shelved = takeover & (outcome == 0) & (u[5] < sup.takeover_shelve)
        outcome = xp.where(conceded, outcome, xp.where(shelved, _SUSPENDED, _IMPOSED * terminated))
    else:
        outcome = xp.where(conceded, outcome, _IMPOSED * terminated)
    end_reason = xp.where(
        conceded,
        _CONCESSION,
        xp.where(
            accepted,
            _ACCEPTED,
            xp.where(takeover, _TAKEOVER, xp.where(dismissed, _DISMISSED, _DEADLINE * terminated)),
        ),
    )

    # --- reward ---------------------------------------------------------------------------------
    reward = (
        t.outcome_value[outcome]
        - e[_COST]
        - (scenario.utility.disorder_cost / scenario.horizon.days) * disorder
        - (t.severity_cost[severity] - t.severity_cost[s.severity])
    )
    s.severity = severity
    return StepResult(reward, terminated, response, outcome, end_reason, triggered, punished)
