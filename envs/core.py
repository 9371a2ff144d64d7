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
from massbargain.population import resident_types
from massbargain.scenario import Scenario
from massbargain.superior import ScriptedSuperior, Superior, SuperiorView

__all__ = ["OBSERVATION_FIELDS", "OBS_INDEX", "Posture", "State", "StepResult", "initial_state", "observe", "step"]

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
_LAST_RESPONSES = np.array([Response.HOLD, Response.WARN, Response.REPRESS])
_CONCESSION_OUTCOME = np.array(
    [Outcome.NONE, Outcome.NONE, Outcome.NONE, Outcome.SUSPENDED, Outcome.PARTIAL, Outcome.WITHDRAWN], dtype=np.int64
)


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
    pop, info, pol, bro, eli, sup, uti = (
        scenario.population,
        scenario.information,
        scenario.police,
        scenario.brokers,
        scenario.elite,
        scenario.superior,
        scenario.utility,
    )
    types = resident_types(pop)
    n = types.n
    a = actions
    petition, leak, tolerate, mobilize = (
        a == Action.PETITION,
        a == Action.LEAK,
        a == Action.TOLERATE,
        a == Action.MOBILIZE,
    )
    pacify, crackdown, accept = a == Action.PACIFY, a == Action.CRACKDOWN, a == Action.ACCEPT
    u = rng.random((4, s.batch_size))  # trigger, superior, repress-investigation, punishment

    # --- the official acts ----------------------------------------------------------------------
    s.posture = np.where(tolerate, TOLERANT, np.where(crackdown, FIRM, np.where(pacify, NORMAL, s.posture)))
    s.elite += (eli.cohesion * eli.petition_gain * petition) * (1.0 - s.elite) - eli.decay * s.elite
    s.brokers += (bro.mobilize_boost * mobilize) * (1.0 - s.brokers)
    s.brokers *= 1.0 - pol.pacify_broker_cut * pacify
    s.legitimacy += info.legitimacy_recovery * (info.legitimacy - s.legitimacy)
    s.legitimacy *= 1.0 - info.leak_legitimacy_drop * leak - pol.crackdown_legitimacy_drop * crackdown

    # --- information: leaks, word of mouth, the visible crowd, brokers ------------------------
    informed_share = s.informed.sum(axis=1) / n
    hazard = info.word_of_mouth * informed_share + info.crowd_visibility * s.crowd
    p_inform = 1.0 - (1.0 - info.leak_reach * leak) * (1.0 - bro.recruit_rate * s.brokers) * np.exp(-hazard)
    incident = s.incident_left > 0
    p_inform = 1.0 - (1.0 - p_inform) ** np.where(incident, pol.trigger_recruitment, 1.0)
    s.informed += rng.binomial(types.count - s.informed, p_inform[:, None])

    # --- activation: Epstein's rule with Granovetter's social term, brokers, triggers ----------
    capacity = pol.capacity * np.where(
        s.posture == TOLERANT, pol.tolerant_factor, np.where(s.posture == FIRM, pol.firm_factor, 1.0)
    )
    arrest_risk = 1.0 - np.exp(-pol.arrest_constant * capacity / (s.crowd + 0.01))
    grievance_scale = 1.0 - s.legitimacy
    base = (pop.hardship_mean + s.mood) * grievance_scale + pop.social_weight * s.crowd - pol.pacify_persuasion * pacify
    utility = (
        base[:, None]
        + types.hardship_offset * grievance_scale[:, None]
        - types.risk_aversion * arrest_risk[:, None]
        - types.threshold
    )
    p_stay_out = (1.0 - _sigmoid(pop.activation_slope * utility)) * (1.0 - bro.recruit_rate * s.brokers)[:, None]
    p_active = 1.0 - p_stay_out ** np.where(incident, pol.trigger_recruitment, 1.0)[:, None]
    active = rng.binomial(s.informed, p_active)
    facing = active.sum(axis=1) / n  # the crowd the police face today, before any dispersal
    active -= (active * (pol.crackdown_dispersal * crackdown)[:, None]).astype(np.int64)

    # --- radicalization, disorder, trigger events ---------------------------------------------
    s.radical += (
        (bro.radicalization * s.recklessness * s.brokers + bro.crackdown_radicalization * crackdown * facing)
        * (1.0 - s.radical)
        - bro.radical_decay * s.radical
        - pol.pacify_radical_cut * pacify * s.radical
    )
    np.clip(s.radical, 0.0, 1.0, out=s.radical)
    crowd = active.sum(axis=1) / n
    noise = np.exp(pop.disorder_noise * rng.standard_normal(s.batch_size) - 0.5 * pop.disorder_noise**2)
    disorder = np.minimum(crowd * s.radical * noise, 1.0) * ~accept
    relative = facing / pol.trigger_crowd_scale
    hump = relative * np.exp(1.0 - relative)  # zero on an empty square, largest for a small crowd
    force = crackdown + pol.firm_incident_share * ((s.posture == FIRM) & ~crackdown)
    trigger_hazard = (
        pol.trigger_radical_hazard * s.radical * np.minimum(relative, 1.0)
        + pol.heavy_handedness * force * (pop.hardship_mean + s.mood) * grievance_scale * hump
    )
    triggered = (u[0] < -np.expm1(-trigger_hazard)) & ~accept
    s.legitimacy *= 1.0 - pol.trigger_legitimacy_drop * triggered
    s.radical += pol.trigger_radicalization * triggered * (1.0 - s.radical)
    s.incident_left = np.where(triggered, pol.trigger_days, np.maximum(s.incident_left - 1, 0))

    # --- the superior responds ------------------------------------------------------------------
    pressure = crowd * (1.0 - s.radical) ** sup.radical_discount * (1.0 + sup.elite_weight * s.elite) / sup.pressure_ref
    s.stock = sup.pressure_memory * s.stock + (1.0 - sup.pressure_memory) * pressure
    view = SuperiorView(pressure, s.stock, disorder, s.evidence, s.elite, s.resolve)
    response = np.where(accept, Response.HOLD, superior.respond(view, sup, u[1])).astype(np.int64)
    repress = response == Response.REPRESS
    active -= (active * (sup.repress_dispersal * repress)[:, None]).astype(np.int64)
    s.warnings += response == Response.WARN
    s.last_response = np.where(response <= Response.REPRESS, response, s.last_response)

    # --- evidence and investigation -------------------------------------------------------------
    trace = (
        sup.evidence_leak * leak
        + sup.evidence_tolerate * (s.posture == TOLERANT) * crowd
        + sup.evidence_mobilize * s.brokers
        + sup.evidence_disorder * disorder
        + sup.evidence_arrest * repress * s.brokers
    )
    s.evidence += np.minimum(sup.monitoring * trace, 1.0) * (1.0 - s.evidence)
    s.brokers *= 1.0 - sup.repress_broker_arrest * repress
    s.brokers *= 1.0 - bro.decay * (1.0 - s.recklessness)
    s.active = active
    s.crowd = active.sum(axis=1) / n
    s.peak_crowd = np.maximum(s.peak_crowd, facing * ~accept)
    s.disorder = disorder
    s.peak_disorder = np.maximum(s.peak_disorder, disorder)

    opens = (s.investigation_left < 0) & (
        (disorder >= sup.investigation_disorder) & (disorder > 0) | (repress & (u[2] < sup.investigation_after_repress))
    )
    s.investigation_left = np.where(opens, sup.investigation_days, s.investigation_left - (s.investigation_left > 0))

    # --- termination ----------------------------------------------------------------------------
    s.day += 1
    outcome = _CONCESSION_OUTCOME[response]
    conceded = outcome != Outcome.NONE
    takeover = disorder >= sup.takeover_disorder
    deadline = s.day >= scenario.horizon.days
    ending = conceded | accept | takeover | deadline
    # An open investigation resolves when due, or when the episode ends for any other reason.
    due = (s.investigation_left == 0) | ((s.investigation_left > 0) & ending)
    veto = s.peak_disorder >= sup.veto_disorder
    p_punish = _sigmoid(sup.punish_bias + sup.punish_evidence * s.evidence)
    guilty = due & (veto | (u[3] < p_punish))
    level = 1 + (s.evidence >= 1.0 / 3.0) + (s.evidence >= 2.0 / 3.0)
    level = np.maximum(level, np.where(veto, Severity.DEMOTION, 0))
    level = np.maximum(level, np.where(s.peak_disorder >= sup.takeover_disorder, Severity.DISMISSAL, 0))
    punished = np.where(guilty, level, Severity.NONE)
    s.investigation_left = np.where(due, -1, s.investigation_left)
    new_severity = np.maximum(s.severity, punished)
    dismissed = new_severity == Severity.DISMISSAL
    terminated = ending | dismissed

    outcome = np.where(conceded, outcome, np.where(terminated, Outcome.IMPOSED, Outcome.NONE))
    end_reason = np.select(
        [conceded, accept, takeover, dismissed, deadline],
        [EndReason.CONCESSION, EndReason.ACCEPTED, EndReason.TAKEOVER, EndReason.DISMISSED, EndReason.DEADLINE],
        EndReason.NONE,
    )

    # --- reward ---------------------------------------------------------------------------------
    severity_cost = np.array([0.0, uti.severity_warning, uti.severity_demotion, 1.0]) * uti.punishment_cost
    value = np.array([0.0, 1.0, uti.value_suspend, uti.value_partial, 0.0])  # indexed by Outcome
    reward = (
        -_action_costs(uti)[a]
        - uti.disorder_cost * disorder / scenario.horizon.days
        + uti.stakes * value[outcome]
        - (severity_cost[new_severity] - severity_cost[s.severity])
    )
    s.severity = new_severity
    return StepResult(reward, terminated, response, outcome, end_reason, triggered, punished)


def _action_costs(u) -> np.ndarray:
    return np.array(
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
    )
