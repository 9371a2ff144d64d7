"""The dynamics core: every rule of the model, once, as functions over batched numpy arrays.

The leading axis of every array is the batch of B independent environments. :func:`initial_state` draws
an episode's start and its hidden variables; :func:`step` advances every environment by one day. All
randomness comes from the ``numpy.random.Generator`` passed in. The single environment (B = 1), the
vector environment (B = num_envs), the planner and the analysis code all call these two functions.

Order within a day (docs/MODEL.md, "One day"): the official acts; residents learn and decide
(information, activation, brokers, radicalization, disorder, trigger events); the superior responds;
evidence and investigations update; the reward is paid; termination is checked.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from massbargain.actions import Action, EndReason, Outcome, Response, Severity
from massbargain.population import ResidentTypes, resident_types
from massbargain.scenario import Scenario
from massbargain.superior import ScriptedSuperior, Superior, SuperiorView

__all__ = [
    "Constants",
    "constants",
    "OBSERVATION_FIELDS",
    "OBS_INDEX",
    "Posture",
    "State",
    "StepResult",
    "initial_state",
    "observe",
    "step",
]

FIRM, NORMAL, TOLERANT = 0, 1, 2
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


@dataclass
class State:
    """The full state of B environments. Arrays of shape (B,) unless noted; K = resident types."""

    day: np.ndarray  # int, days elapsed
    informed: np.ndarray  # (B, K) int, informed residents per type
    active: np.ndarray  # (B, K) int, active residents per type (a subset of the informed)
    crowd: np.ndarray  # A, active share
    peak_crowd: np.ndarray
    radical: np.ndarray  # R
    disorder: np.ndarray  # D
    peak_disorder: np.ndarray
    posture: np.ndarray  # int: FIRM, NORMAL, TOLERANT
    brokers: np.ndarray  # M
    elite: np.ndarray  # U
    legitimacy: np.ndarray  # L
    last_response: np.ndarray  # int: HOLD, WARN, REPRESS
    warnings: np.ndarray  # int
    evidence: np.ndarray  # E (hidden)
    stock: np.ndarray  # sustained pressure S, units of Π_ref
    incident_left: np.ndarray  # int, days of trigger-driven recruitment left
    investigation_left: np.ndarray  # int, days until an open investigation resolves; -1 if none
    severity: np.ndarray  # int Severity, the heaviest punishment so far
    recklessness: np.ndarray  # ρ (hidden)
    resolve: np.ndarray  # superior's resolve (hidden)
    mood: np.ndarray  # shift of mean hardship (hidden)

    @property
    def batch_size(self) -> int:
        return self.day.shape[0]

    def copy(self) -> State:
        return State(**{f.name: getattr(self, f.name).copy() for f in fields(self)})

    def assign(self, mask: np.ndarray, other: State) -> None:
        """Overwrite the environments selected by ``mask`` with ``other``'s (same batch size)."""
        for f in fields(self):
            getattr(self, f.name)[mask] = getattr(other, f.name)[mask]


@dataclass
class StepResult:
    """What one day produced, per environment (shape (B,))."""

    reward: np.ndarray
    terminated: np.ndarray  # bool
    response: np.ndarray  # int Response
    outcome: np.ndarray  # int Outcome (NONE while running)
    end_reason: np.ndarray  # int EndReason
    triggered: np.ndarray  # bool, a trigger event happened today
    punished: np.ndarray  # int Severity decided today (NONE if none)


def initial_state(scenario: Scenario, rng: np.random.Generator, batch_size: int = 1) -> State:
    """Draw B fresh episodes: informed residents, and the hidden recklessness, resolve and mood."""
    B = batch_size
    types = resident_types(scenario.population)
    b = scenario.brokers
    mean, conc = b.recklessness, b.recklessness_concentration
    # Beta(mean·c, (1 − mean)·c), with the degenerate means 0 and 1 kept exact.
    a_, b_ = max(mean * conc, 1e-9), max((1.0 - mean) * conc, 1e-9)
    rho = rng.beta(a_, b_, size=B) if 0.0 < mean < 1.0 else np.full(B, mean)
    resolve = scenario.superior.resolve + scenario.superior.resolve_sd * rng.standard_normal(B)
    mood = scenario.population.mood_sd * rng.standard_normal(B)
    informed = rng.binomial(np.broadcast_to(types.count, (B, types.count.size)), scenario.information.initial_informed)
    zeros = np.zeros(B)
    return State(
        day=np.zeros(B, dtype=np.int64),
        informed=informed.astype(np.int64),
        active=np.zeros_like(informed, dtype=np.int64),
        crowd=zeros.copy(),
        peak_crowd=zeros.copy(),
        radical=zeros.copy(),
        disorder=zeros.copy(),
        peak_disorder=zeros.copy(),
        posture=np.full(B, NORMAL, dtype=np.int64),
        brokers=zeros.copy(),
        elite=zeros.copy(),
        legitimacy=np.full(B, scenario.information.legitimacy),
        last_response=np.full(B, Response.HOLD, dtype=np.int64),
        warnings=np.zeros(B, dtype=np.int64),
        evidence=zeros.copy(),
        stock=zeros.copy(),
        incident_left=np.zeros(B, dtype=np.int64),
        investigation_left=np.full(B, -1, dtype=np.int64),
        severity=np.zeros(B, dtype=np.int64),
        recklessness=rho,
        resolve=resolve,
        mood=mood,
    )


def observe(state: State, scenario: Scenario) -> np.ndarray:
    """The official's observation, float32 of shape (B, len(OBSERVATION_FIELDS)), every field in [0, 1]."""
    B = state.batch_size
    obs = np.empty((B, len(OBSERVATION_FIELDS)), dtype=np.float32)
    n = scenario.population.n_residents
    obs[:, 0] = state.day / scenario.horizon.days
    obs[:, 1] = scenario.utility.stakes
    obs[:, 2] = state.informed.sum(axis=1) / n
    obs[:, 3] = state.crowd
    obs[:, 4] = state.peak_crowd
    obs[:, 5] = state.radical
    obs[:, 6] = state.disorder
    obs[:, 7:10] = state.posture[:, None] == _POSTURES
    obs[:, 10] = state.brokers
    obs[:, 11] = state.elite
    obs[:, 12] = state.legitimacy
    obs[:, 13:16] = state.last_response[:, None] == _LAST_RESPONSES
    obs[:, 16] = np.minimum(state.warnings / WARNINGS_SCALE, 1.0)
    obs[:, 17] = state.investigation_left >= 0
    obs[:, 18] = state.incident_left / scenario.police.trigger_days
    np.clip(obs, 0.0, 1.0, out=obs)
    return obs


_POSTURES = np.array([FIRM, NORMAL, TOLERANT])
_LAST_RESPONSES = np.array([int(Response.HOLD), int(Response.WARN), int(Response.REPRESS)])

# Plain-int codes for the hot path: comparing numpy arrays with IntEnum members is ~10x slower.
_HOLD, _WARN, _REPRESS = int(Response.HOLD), int(Response.WARN), int(Response.REPRESS)
_IMPOSED = int(Outcome.IMPOSED)
_DEMOTION, _DISMISSAL = int(Severity.DEMOTION), int(Severity.DISMISSAL)
#: Outcome of each response code: the three concessions end the episode, the rest do not.
_CONCESSION_OUTCOME = np.array([0, 0, 0, Outcome.SUSPENDED, Outcome.PARTIAL, Outcome.WITHDRAWN], dtype=np.int64)
#: Row a of _ACTION_FLAGS is the one-hot indicator of action a, as floats (multiplies as 0/1).
_ACTION_FLAGS = np.eye(len(Action))
#: Police posture after each action, or -1 where the action leaves it unchanged.
_POSTURE_AFTER = np.array(
    [
        -1
        if a not in (Action.TOLERATE, Action.CRACKDOWN, Action.PACIFY)
        else {Action.TOLERATE: TOLERANT, Action.CRACKDOWN: FIRM, Action.PACIFY: NORMAL}[a]
        for a in Action
    ]
)


@dataclass(frozen=True, eq=False)
class Constants:
    """Arrays derived once from a scenario (see :func:`constants`)."""

    types: ResidentTypes
    action_cost: np.ndarray  # (8,), by action
    outcome_value: np.ndarray  # (5,), S·value by Outcome
    severity_cost: np.ndarray  # (4,), κ_P·cost by Severity
    capacity: np.ndarray  # (3,), effective police capacity by posture


def constants(scenario: Scenario) -> Constants:
    """The scenario's derived arrays, computed once and kept on the (frozen, immutable) scenario."""
    c = scenario.__dict__.get("_core_constants")
    if c is None:
        u, pol = scenario.utility, scenario.police
        c = Constants(
            types=resident_types(scenario.population),
            action_cost=np.array(
                [
                    u.cost_wait,
                    u.cost_petition,
                    u.cost_leak,
                    u.cost_tolerate,
                    u.cost_mobilize,
                    u.cost_pacify,
                    u.cost_crackdown,
                    u.cost_accept,
                ]
            ),
            outcome_value=u.stakes * np.array([0.0, 1.0, u.value_suspend, u.value_partial, 0.0]),
            severity_cost=u.punishment_cost * np.array([0.0, u.severity_warning, u.severity_demotion, 1.0]),
            capacity=pol.capacity * np.array([pol.firm_factor, 1.0, pol.tolerant_factor]),
        )
        scenario.__dict__["_core_constants"] = c  # a cache beside the fields; eq and hash ignore it
    return c


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def step(
    state: State,
    actions: np.ndarray,
    scenario: Scenario,
    rng: np.random.Generator,
    superior: Superior = _DEFAULT_SUPERIOR,
) -> StepResult:
    """Advance every environment by one day, in place. ``actions`` is an int array of shape (B,).

    Environments that terminate are left in their terminal state; the caller resets them.
    """
    s = state
    pop, info, pol, bro = scenario.population, scenario.information, scenario.police, scenario.brokers
    eli, sup, uti = scenario.elite, scenario.superior, scenario.utility
    c = constants(scenario)
    types, n = c.types, c.types.n
    B = s.day.shape[0]
    a = actions
    f = _ACTION_FLAGS[a]  # (B, 8) one-hot, floats
    petition, leak, mobilize = f[:, Action.PETITION], f[:, Action.LEAK], f[:, Action.MOBILIZE]
    pacify, crackdown, accept = f[:, Action.PACIFY], f[:, Action.CRACKDOWN], f[:, Action.ACCEPT]
    playing = 1.0 - accept  # ACCEPT ends the day before residents or the superior act
    u = rng.random((4, B))  # trigger, superior, investigation after repression, punishment

    # --- the official acts ----------------------------------------------------------------------
    posture = _POSTURE_AFTER[a]
    s.posture = np.where(posture >= 0, posture, s.posture)
    tolerant = s.posture == TOLERANT
    s.elite += (eli.cohesion * eli.petition_gain * petition) * (1.0 - s.elite) - eli.decay * s.elite
    s.brokers += bro.mobilize_boost * mobilize * (1.0 - s.brokers)
    s.brokers *= 1.0 - pol.pacify_broker_cut * pacify
    s.legitimacy += info.legitimacy_recovery * (info.legitimacy - s.legitimacy)
    s.legitimacy *= 1.0 - info.leak_legitimacy_drop * leak - pol.crackdown_legitimacy_drop * crackdown

    # --- information: leaks, word of mouth, the visible crowd, brokers; a trigger multiplies it --
    multiplier = np.where(s.incident_left > 0, pol.trigger_recruitment, 1.0)
    hazard = info.word_of_mouth * s.informed.sum(axis=1) / n + info.crowd_visibility * s.crowd
    broker_miss = 1.0 - bro.recruit_rate * s.brokers  # chance brokers do not reach a resident today
    p_inform = 1.0 - ((1.0 - info.leak_reach * leak) * broker_miss * np.exp(-hazard)) ** multiplier
    s.informed += rng.binomial(types.count - s.informed, p_inform[:, None])

    # --- activation: Epstein's rule with Granovetter's social term, brokers, triggers ----------
    arrest_risk = -np.expm1(-pol.arrest_constant * c.capacity[s.posture] / (s.crowd + 0.01))
    grievance_scale = 1.0 - s.legitimacy
    hardship = pop.hardship_mean + s.mood
    base = hardship * grievance_scale + pop.social_weight * s.crowd - pol.pacify_persuasion * pacify
    utility = (
        base[:, None]
        + types.hardship_offset * grievance_scale[:, None]
        - types.risk_aversion * arrest_risk[:, None]
        - types.threshold
    )
    p_stay_out = (1.0 - _sigmoid(pop.activation_slope * utility)) * broker_miss[:, None]
    active = rng.binomial(s.informed, 1.0 - p_stay_out ** multiplier[:, None])
    facing = active.sum(axis=1) / n  # the crowd the police face today, before any dispersal
    active -= (active * (pol.crackdown_dispersal * crackdown)[:, None]).astype(np.int64)

    # --- radicalization, disorder, trigger events ---------------------------------------------
    push = bro.radicalization * s.recklessness * s.brokers + bro.crackdown_radicalization * crackdown * facing
    radical = s.radical + push * (1.0 - s.radical) - (bro.radical_decay + pol.pacify_radical_cut * pacify) * s.radical
    radical = np.clip(radical, 0.0, 1.0)
    crowd = active.sum(axis=1) / n
    noise = np.exp(pop.disorder_noise * rng.standard_normal(B) - 0.5 * pop.disorder_noise**2)
    disorder = np.minimum(crowd * radical * noise, 1.0) * playing
    relative = facing / pol.trigger_crowd_scale
    hump = relative * np.exp(1.0 - relative)  # zero on an empty square, largest for a small crowd
    force = crackdown + pol.firm_incident_share * (s.posture == FIRM) * (1.0 - crackdown)
    trigger_hazard = pol.trigger_radical_hazard * radical * np.minimum(relative, 1.0) + (
        pol.heavy_handedness * force * hardship * grievance_scale * hump
    )
    triggered = (u[0] < -np.expm1(-trigger_hazard)) & (playing > 0)
    s.legitimacy *= 1.0 - pol.trigger_legitimacy_drop * triggered
    s.radical = radical + pol.trigger_radicalization * triggered * (1.0 - radical)
    s.incident_left = np.where(triggered, pol.trigger_days, np.maximum(s.incident_left - 1, 0))

    # --- the superior responds ------------------------------------------------------------------
    pressure = crowd * (1.0 - s.radical) ** sup.radical_discount * (1.0 + sup.elite_weight * s.elite)
    pressure /= sup.pressure_ref
    s.stock = sup.pressure_memory * s.stock + (1.0 - sup.pressure_memory) * pressure
    view = SuperiorView(pressure, s.stock, disorder, s.evidence, s.elite, s.resolve)
    response = np.where(playing > 0, superior.respond(view, sup, u[1]), _HOLD)
    repress = response == _REPRESS
    active -= (active * (sup.repress_dispersal * repress)[:, None]).astype(np.int64)
    s.warnings += response == _WARN
    s.last_response = np.where(response <= _REPRESS, response, s.last_response)

    # --- evidence and investigation -------------------------------------------------------------
    trace = (
        sup.evidence_leak * leak
        + sup.evidence_tolerate * tolerant * crowd
        + (sup.evidence_mobilize + sup.evidence_arrest * repress) * s.brokers
        + sup.evidence_disorder * disorder
    )
    s.evidence += np.minimum(sup.monitoring * trace, 1.0) * (1.0 - s.evidence)
    s.brokers *= (1.0 - sup.repress_broker_arrest * repress) * (1.0 - bro.decay * (1.0 - s.recklessness))
    s.active = active
    s.crowd = active.sum(axis=1) / n
    s.peak_crowd = np.maximum(s.peak_crowd, facing * playing)
    s.disorder = disorder
    s.peak_disorder = np.maximum(s.peak_disorder, disorder)
    serious = (disorder >= sup.investigation_disorder) & (disorder > 0)
    opens = (s.investigation_left < 0) & (serious | (repress & (u[2] < sup.investigation_after_repress)))
    s.investigation_left = np.where(opens, sup.investigation_days, s.investigation_left - (s.investigation_left > 0))

    # --- termination ----------------------------------------------------------------------------
    s.day += 1
    outcome = _CONCESSION_OUTCOME[response]
    conceded = outcome > 0
    takeover = disorder >= sup.takeover_disorder
    ending = conceded | (accept > 0) | takeover | (s.day >= scenario.horizon.days)
    # An open investigation resolves when due, or when the episode ends for any other reason.
    due = (s.investigation_left == 0) | ((s.investigation_left > 0) & ending)
    veto = s.peak_disorder >= sup.veto_disorder
    guilty = due & (veto | (u[3] < _sigmoid(sup.punish_bias + sup.punish_evidence * s.evidence)))
    level = 1 + (s.evidence >= 1.0 / 3.0) + (s.evidence >= 2.0 / 3.0)
    level = np.maximum(level, np.maximum(_DEMOTION * veto, _DISMISSAL * (s.peak_disorder >= sup.takeover_disorder)))
    punished = level * guilty
    s.investigation_left[due] = -1
    severity = np.maximum(s.severity, punished)
    dismissed = severity == _DISMISSAL
    terminated = ending | dismissed
    outcome = np.where(conceded, outcome, _IMPOSED * terminated)
    end_reason = np.where(
        conceded,
        EndReason.CONCESSION,
        np.where(
            accept > 0,
            EndReason.ACCEPTED,
            np.where(
                takeover, EndReason.TAKEOVER, np.where(dismissed, EndReason.DISMISSED, EndReason.DEADLINE * terminated)
            ),
        ),
    )

    # --- reward ---------------------------------------------------------------------------------
    reward = (
        c.outcome_value[outcome]
        - c.action_cost[a]
        - (uti.disorder_cost / scenario.horizon.days) * disorder
        - (c.severity_cost[severity] - c.severity_cost[s.severity])
    )
    s.severity = severity
    return StepResult(reward, terminated, response, outcome, end_reason, triggered, punished)
