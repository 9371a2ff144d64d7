"""Scenario: every parameter of the model in one frozen, validated configuration object.

A :class:`Scenario` groups its parameters (population, information, police, brokers, elite, superior,
utility, horizon). Each parameter is declared once with :func:`param`, which records its default, allowed
range, unit and meaning; validation, the generated docstrings, the CLI's ``--set`` help and the parameter
table of ``docs/MODEL.md`` all read that one declaration.

Examples:
    >>> from massbargain import Scenario
    >>> s = Scenario.preset("daye")
    >>> s.brokers.recklessness
    0.8
    >>> s2 = s.with_overrides({"brokers.recklessness": 0.2, "utility.stakes": 0.5})
    >>> s2.to_dict()["utility"]["stakes"]
    0.5
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from massbargain.suggest import unknown

__all__ = [
    "LATEST_VERSION",
    "MODEL_VERSIONS",
    "PRESETS",
    "PRESETS_BY_VERSION",
    "PRESET_CALIBRATION",
    "PRESET_CALIBRATION_V1",
    "V0_VALUES",
    "BrokerParams",
    "EliteParams",
    "HorizonParams",
    "InformationParams",
    "PoliceParams",
    "PopulationParams",
    "Scenario",
    "ScenarioError",
    "SuperiorParams",
    "UtilityParams",
    "parameter_table",
]


#: Model versions; :data:`LATEST_VERSION` (v1) is the default everywhere (docs/MODEL.md, "Model versions").
MODEL_VERSIONS: tuple[int, ...] = (0, 1)
LATEST_VERSION = 1


class ScenarioError(ValueError):
    """An invalid scenario value, key or preset. The message names the field and what is allowed."""


def param(default: float, lo: float, hi: float, unit: str, doc: str, source: str = "assumption") -> Any:
    """Declare one model parameter: default, closed range [lo, hi], unit, meaning and source."""
    return field(default=default, metadata={"range": (lo, hi), "unit": unit, "doc": doc, "source": source})


class _Group:
    """Validation shared by every parameter group: numbers, finite, inside their declared range."""

    def __post_init__(self) -> None:
        group = _GROUP_NAMES.get(type(self), type(self).__name__)
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            lo, hi = f.metadata["range"]
            key = f"{group}.{f.name}"
            want_int = isinstance(f.default, int) and not isinstance(f.default, bool)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ScenarioError(f"{key} must be a number in [{lo}, {hi}], got {value!r}")
            if want_int and float(value) != int(value):
                raise ScenarioError(f"{key} must be a whole number in [{lo}, {hi}], got {value!r}")
            if not math.isfinite(value) or not lo <= value <= hi:
                raise ScenarioError(f"{key} must be in [{lo}, {hi}] ({f.metadata['unit']}), got {value!r}")
            # Normalize the type so that equal scenarios compare and hash equal.
            object.__setattr__(self, f.name, int(value) if want_int else float(value))


@dataclass(frozen=True)
class PopulationParams(_Group):
    n_residents: int = param(
        10_000,
        10,
        10_000_000,
        "people",
        "Residents who could join a protest.",
        "assumption (scale: outcomes are shares)",
    )
    hardship_mean: float = param(
        0.5,
        0.0,
        1.0,
        "utility",
        "Mean hardship h of residents if the plan goes ahead (Epstein's H).",
        "Epstein 2002 (H ~ U(0, 1), mean 0.5)",
    )
    hardship_sd: float = param(0.15, 0.0, 0.5, "utility", "Spread of hardship across residents.", "assumption")
    mood_sd: float = param(
        0.06,
        0.0,
        0.3,
        "utility",
        "SD of the hidden per-episode shift of mean hardship (the county's mood).",
        "assumption (design: hidden variation, no knife edge)",
    )
    risk_aversion_mean: float = param(
        0.5, 0.0, 1.0, "utility", "Mean risk aversion r.", "Epstein 2002 (R ~ U(0, 1), mean 0.5)"
    )
    risk_aversion_sd: float = param(0.15, 0.0, 0.5, "utility", "Spread of risk aversion.", "assumption")
    threshold_mean: float = param(
        0.33,
        0.0,
        1.0,
        "utility",
        "Mean activation threshold θ.",
        "assumption, calibrated (fact 1); cf. Granovetter 1978, Epstein 2002 T = 0.1",
    )
    threshold_sd: float = param(
        0.1, 0.0, 0.5, "utility", "Spread of thresholds.", "Granovetter 1978 (critical σ ≈ 0.10–0.12)"
    )
    activation_slope: float = param(
        8.0,
        0.5,
        50.0,
        "1/utility",
        "Slope β of the logistic activation; smooth, not a step.",
        "assumption (design: smooth activation)",
    )
    social_weight: float = param(
        0.28,
        0.0,
        5.0,
        "utility per share",
        "Weight w of the visible crowd in activation.",
        "assumption; mechanism Granovetter 1978",
    )
    disorder_noise: float = param(
        0.3,
        0.0,
        2.0,
        "log-SD",
        "SD of the mean-one lognormal noise on disorder D = A·R·noise (zero crowd, zero D).",
        "assumption",
    )
    quadrature_nodes: int = param(
        9,
        1,
        41,
        "nodes",
        "K: Gauss-Hermite nodes over the residents' activation argument (exchangeable types).",
        "numerical (K = 9: activation shares within 1e-4 of K = 41)",
    )
    self_radicalization: float = param(
        0.25,
        0.0,
        5.0,
        "1/day",
        "κ_s: radicalization per unit crowd × mean grievance h̄·(1 − L) of a standoff at full length (v1; 0 in v0).",
        "assumption (v1); cf. Weng'an 2008, Linshui 2015: tolerated crowds that turned violent",
    )
    standoff_days: int = param(
        10,
        1,
        60,
        "days",
        "τ_s: days on the street at which self-radicalization reaches full strength (v1).",
        "assumption",
    )
    street_crowd: float = param(
        0.05,
        0.0,
        1.0,
        "share",
        "Crowd share that counts as a standoff; the standoff clock resets when the crowd falls below it (v1).",
        "assumption",
    )
    standoff_incidents: float = param(
        0.1,
        0.0,
        5.0,
        "1/day",
        "λ_s: daily trigger hazard per unit crowd of a standoff at full length, calm or not (a rumour, a clash); "
        "0 in v0.",
        "assumption (v1); cf. Weng'an 2008 (a rumour), Linshui 2015",
    )


@dataclass(frozen=True)
class InformationParams(_Group):
    initial_informed: float = param(
        0.05, 0.0, 1.0, "share", "Share of residents who know the plan's details.", "assumption"
    )
    leak_reach: float = param(0.3, 0.0, 1.0, "share", "Share of the uninformed that one LEAK informs.", "assumption")
    word_of_mouth: float = param(
        0.25, 0.0, 5.0, "1/day", "Daily rate at which the informed share informs the uninformed.", "assumption"
    )
    crowd_visibility: float = param(
        1.0, 0.0, 10.0, "1/day", "Daily rate at which a visible crowd informs.", "assumption"
    )
    legitimacy: float = param(
        0.7,
        0.0,
        1.0,
        "share",
        "Initial legitimacy L of the plan in residents' eyes.",
        "assumption; cf. Epstein 2002 (Mesa: 0.8)",
    )
    leak_legitimacy_drop: float = param(0.1, 0.0, 1.0, "share of L", "Fraction of L lost with each LEAK.", "assumption")
    legitimacy_recovery: float = param(
        0.02, 0.0, 1.0, "1/day", "Daily pull of L back to its initial value.", "assumption"
    )


@dataclass(frozen=True)
class PoliceParams(_Group):
    capacity: float = param(
        0.09, 0.0, 1.0, "share", "Police capacity C relative to residents.", "Epstein 2002 (Mesa cop density 0.074)"
    )
    arrest_constant: float = param(
        2.3, 0.0, 20.0, "1", "Epstein's k in P = 1 − exp(−k·C_eff/A).", "Epstein 2002 (k = 2.3)"
    )
    firm_factor: float = param(1.6, 0.0, 5.0, "× capacity", "Effective capacity under a firm posture.", "assumption")
    tolerant_factor: float = param(
        0.25,
        0.0,
        1.0,
        "× capacity",
        "Effective capacity under the tolerant posture (≪ 1).",
        "assumption, calibrated (facts 1, 2); cf. Changxing 2013 (no crackdown)",
    )
    crackdown_dispersal: float = param(
        0.6, 0.0, 1.0, "share", "Share of the crowd a CRACKDOWN disperses.", "assumption"
    )
    crackdown_legitimacy_drop: float = param(
        0.15, 0.0, 1.0, "share of L", "Fraction of L lost per CRACKDOWN.", "assumption"
    )
    heavy_handedness: float = param(
        0.8,
        0.0,
        10.0,
        "1/day",
        "Scale of the trigger hazard of police force on an aggrieved crowd.",
        "assumption; cf. Daye 2005 (daye preset)",
    )
    firm_incident_share: float = param(
        0.15, 0.0, 1.0, "share", "Trigger hazard of a firm posture without a crackdown, relative to one.", "assumption"
    )
    trigger_crowd_scale: float = param(
        0.03,
        1e-4,
        1.0,
        "share",
        "A₀: crowd size at which police force most likely triggers escalation.",
        "assumption; cf. Daye 2005 (~100 petitioners)",
    )
    trigger_radical_hazard: float = param(
        0.15, 0.0, 5.0, "1/day", "Trigger hazard per unit radical share R.", "assumption"
    )
    trigger_legitimacy_drop: float = param(
        0.35, 0.0, 1.0, "share of L", "Fraction of L lost at a trigger.", "assumption"
    )
    trigger_days: int = param(
        3, 1, 30, "days", "Days a trigger multiplies recruitment.", "Daye 2005 (dogs 4 Aug, riot 6 Aug)"
    )
    trigger_recruitment: float = param(
        4.0,
        1.0,
        20.0,
        "×",
        "Multiplier m of recruitment after a trigger: p → 1 − (1 − p)^m.",
        "assumption; cf. Daye 2005 (100 → 10,000)",
    )
    trigger_radicalization: float = param(
        0.25, 0.0, 1.0, "share", "Jump of R at a trigger (of the headroom).", "assumption"
    )
    pacify_persuasion: float = param(
        0.35,
        0.0,
        2.0,
        "utility",
        "Activation utility removed on a PACIFY day.",
        "assumption; mechanism Deng & O'Brien 2013",
    )
    pacify_broker_cut: float = param(
        0.3, 0.0, 1.0, "share", "Share of broker activity M a PACIFY removes.", "assumption"
    )
    pacify_radical_cut: float = param(0.4, 0.0, 1.0, "share", "δ: share of R a PACIFY removes.", "assumption")
    crackdown_crowd_scale: float = param(
        0.03,
        0.0,
        1.0,
        "share",
        "A CRACKDOWN's legitimacy cost scales with min(A/this, 1), A the crowd struck; 0: unscaled (v0).",
        "assumption (v1): no crowd, no show of force to resent",
    )


@dataclass(frozen=True)
class BrokerParams(_Group):
    recklessness: float = param(
        0.3,
        0.0,
        1.0,
        "share",
        "Mean ρ of the hidden broker recklessness (Beta-distributed).",
        "assumption; mechanism Deng et al. 2022 (presets: cases)",
    )
    recklessness_concentration: float = param(
        8.0, 0.5, 1000.0, "1", "Concentration of the Beta distribution of ρ (large = nearly fixed).", "assumption"
    )
    mobilize_boost: float = param(
        0.5, 0.0, 1.0, "share", "Each MOBILIZE raises M by this share of 1 − M.", "assumption"
    )
    recruit_rate: float = param(
        0.35, 0.0, 1.0, "1/day", "Daily probability that brokers at M = 1 pull a resident into the crowd.", "assumption"
    )
    decay: float = param(
        0.35,
        0.0,
        1.0,
        "1/day",
        "Daily decay of M for prudent brokers; reckless ones decay at decay·(1 − ρ).",
        "assumption, calibrated (facts 5, 10)",
    )
    radicalization: float = param(
        0.35, 0.0, 2.0, "1/day", "α: radicalization per unit ρ·M.", "assumption; mechanism Deng et al. 2022"
    )
    radical_decay: float = param(0.1, 0.0, 1.0, "1/day", "d: daily decay of the radical share R.", "assumption")
    crackdown_radicalization: float = param(
        0.5, 0.0, 2.0, "1/day", "γ: radicalization per unit crowd on a CRACKDOWN day.", "assumption"
    )
    recklessness_noise: float = param(
        1.0,
        0.0,
        5.0,
        "logit SD",
        "Day-to-day noise of the brokers' conduct: ρ_t = σ(logit ρ + s·z_t); 0: ρ_t = ρ (v0).",
        "assumption (v1): recklessness is learned over days, not read off one",
    )


@dataclass(frozen=True)
class EliteParams(_Group):
    cohesion: float = param(
        0.5,
        0.0,
        1.0,
        "share",
        "How readily the county's elite joins a formal objection.",
        "assumption (changxing preset: Changxing 2013)",
    )
    petition_gain: float = param(
        0.35, 0.0, 1.0, "share", "Each PETITION raises U by cohesion·gain·(1 − U).", "assumption"
    )
    decay: float = param(0.03, 0.0, 1.0, "1/day", "Daily decay of visible elite opposition U.", "assumption")


@dataclass(frozen=True)
class SuperiorParams(_Group):
    resolve: float = param(1.0, -5.0, 10.0, "utility", "Mean of the superior's hidden resolve.", "assumption")
    resolve_sd: float = param(0.5, 0.0, 5.0, "utility", "SD of the hidden resolve across episodes.", "assumption")
    pressure_ref: float = param(
        0.12,
        1e-3,
        1.0,
        "share",
        "Π_ref: orderly crowd share that counts as one unit of pressure.",
        "assumption, calibrated (fact 1)",
    )
    radical_discount: float = param(
        2.0,
        0.0,
        10.0,
        "1",
        "η in Π = A·(1 − R)^η·(1 + u·U): radicals persuade less.",
        "assumption; mechanism Lohmann 1994",
    )
    elite_weight: float = param(
        1.0, 0.0, 10.0, "1", "u: weight of elite opposition in pressure.", "assumption; mechanism Ma 2019"
    )
    pressure_memory: float = param(0.7, 0.0, 0.99, "1", "λ of the pressure stock S ← λ·S + (1 − λ)·Π.", "assumption")
    concede_bias: float = param(
        -6.0, -20.0, 5.0, "utility", "Utility of conceding with no pressure.", "assumption, calibrated (fact 1)"
    )
    concede_pressure: float = param(
        1.2, 0.0, 20.0, "utility", "Utility of conceding per unit of today's Π.", "assumption; mechanism Cai 2010"
    )
    concede_stock: float = param(
        1.5,
        0.0,
        20.0,
        "utility",
        "Utility of conceding per unit of sustained pressure S.",
        "assumption; mechanism Cai 2010",
    )
    concede_elite: float = param(
        1.5, 0.0, 10.0, "utility", "Utility of conceding per unit of U.", "assumption; mechanism Ma 2019"
    )
    suspicion_weight: float = param(
        6.0,
        0.0,
        50.0,
        "utility",
        "Utility lost in conceding per unit of evidence E.",
        "assumption, calibrated (fact 5); mechanism Tirole 1986",
    )
    warn_bias: float = param(-3.0, -20.0, 5.0, "utility", "Utility of a warning with no evidence.", "assumption")
    warn_suspicion: float = param(5.0, 0.0, 50.0, "utility", "Utility of a warning per unit of E.", "assumption")
    repress_bias: float = param(-5.0, -20.0, 5.0, "utility", "Utility of repression with no disorder.", "assumption")
    disorder_aversion: float = param(
        12.0,
        0.0,
        100.0,
        "utility",
        "Utility of repression per unit of disorder D.",
        "assumption; mechanism Goldstone & Tilly 2001",
    )
    repress_peaceful: float = param(
        1.0,
        0.0,
        20.0,
        "utility",
        "Utility of repression lost per unit of peaceful pressure Π.",
        "assumption; mechanism Lohmann 1994",
    )
    temperature: float = param(
        1.0,
        0.05,
        10.0,
        "utility",
        "Softmax temperature of the superior's choice.",
        "normalization (utilities are in its units)",
    )
    share_suspend: float = param(
        0.5,
        1e-6,
        1.0,
        "weight",
        "Relative weight of SUSPEND among concessions.",
        "assumption, calibrated (fact 9); cf. Changxing 2013 (suspended)",
    )
    share_partial: float = param(
        0.35,
        1e-6,
        1.0,
        "weight",
        "Relative weight of PARTIAL among concessions.",
        "assumption, calibrated (fact 9); cf. Cai 2010",
    )
    share_withdraw: float = param(
        0.15, 1e-6, 1.0, "weight", "Relative weight of WITHDRAW among concessions.", "assumption, calibrated (fact 9)"
    )
    repress_dispersal: float = param(
        0.8, 0.0, 1.0, "share", "Share of the crowd the superior's forces disperse.", "assumption"
    )
    repress_broker_arrest: float = param(0.6, 0.0, 1.0, "share", "Share of broker activity M arrested.", "assumption")
    monitoring: float = param(
        0.4,
        0.0,
        1.0,
        "share",
        "μ: the superior's monitoring capacity (scales all evidence).",
        "assumption; mechanism Tirole 1986",
    )
    evidence_leak: float = param(
        0.1, 0.0, 1.0, "1/leak", "e_leak: evidence per LEAK.", "assumption, calibrated (fact 5)"
    )
    evidence_tolerate: float = param(
        0.1, 0.0, 1.0, "1/day", "e_tol: evidence per tolerant day per unit crowd A.", "assumption, calibrated (fact 5)"
    )
    evidence_mobilize: float = param(
        0.3, 0.0, 1.0, "1/day", "e_mob: evidence per day per unit broker activity M.", "assumption"
    )
    evidence_disorder: float = param(
        0.5, 0.0, 5.0, "1/day", "e_dis: evidence per day per unit disorder D.", "assumption"
    )
    evidence_arrest: float = param(
        0.6, 0.0, 1.0, "1", "Evidence from arrested brokers per unit M on REPRESS.", "assumption"
    )
    investigation_disorder: float = param(
        0.05, 0.0, 1.0, "share", "Disorder D that opens a discipline investigation.", "assumption; mechanism Cai 2010"
    )
    investigation_after_repress: float = param(
        0.5, 0.0, 1.0, "probability", "Chance that a REPRESS opens an investigation.", "assumption"
    )
    investigation_days: int = param(3, 0, 60, "days", "Days until an open investigation is resolved.", "assumption")
    punish_bias: float = param(-3.0, -20.0, 20.0, "logit", "Log-odds of punishment at zero evidence.", "assumption")
    punish_evidence: float = param(
        8.0, 0.0, 50.0, "logit", "Log-odds of punishment per unit of evidence E.", "assumption"
    )
    veto_disorder: float = param(
        0.15,
        0.0,
        1.0,
        "share",
        "Peak disorder above which the official is punished regardless of evidence.",
        "assumption; rule: one-vote veto (Weng'an 2008, Shishou 2009)",
    )
    takeover_disorder: float = param(
        0.35,
        0.0,
        1.0,
        "share",
        "Disorder at which the province takes over: the episode ends, plan imposed.",
        "assumption",
    )
    attribution_discount: float = param(
        2.0,
        0.0,
        10.0,
        "1",
        "ψ: the superior weighs a crowd by (1 − E)^ψ, E its evidence that the county staged it; 0: no discount (v0).",
        "assumption (v1); mechanism Tirole 1986, Lohmann 1994 (staged signals carry no information)",
    )
    pressure_saturation: float = param(
        0.1,
        0.0,
        10.0,
        "1/unit Π",
        "σ_Π: pressure and its stock enter the concession utility as x/(1 + σ_Π·x), at most 1/σ_Π; 0: linear (v0).",
        "assumption (v1): a superior that has decided can outlast any orderly crowd",
    )
    investigate_evidence: float = param(
        0.6,
        0.0,
        20.0,
        "1/day",
        "ι: daily hazard 1 − exp(−ι·E²) that the evidence alone opens an investigation of collusion; 0: never (v0).",
        "assumption (v1); mechanism Tirole 1986 (supervisors investigate collusion)",
    )
    shelve_bias: float = param(
        -10.0,
        -20.0,
        5.0,
        "utility",
        "Utility of shelving the plan to restore order, before disorder (v1).",
        "assumption",
    )
    shelve_disorder: float = param(
        60.0,
        0.0,
        100.0,
        "utility",
        "Utility of shelving (a SUSPEND) per unit of the episode's peak disorder; 0: no stability shelving (v0).",
        "assumption (v1); cf. Daye 2005 (the plan lapsed after the riot); stability first (Cai 2010)",
    )
    takeover_shelve: float = param(
        0.5,
        0.0,
        1.0,
        "probability",
        "Chance that a provincial takeover shelves the plan (suspended) instead of imposing it; 0 in v0.",
        "assumption (v1); cf. Daye 2005",
    )


@dataclass(frozen=True)
class UtilityParams(_Group):
    stakes: float = param(
        0.6,
        0.0,
        1.0,
        "share of return",
        "S: value to the county of keeping its status.",
        "assumption (presets: Changxing 2013 revenue)",
    )
    value_suspend: float = param(
        0.7, 0.0, 1.0, "share of S", "Value retained when the plan is suspended.", "assumption"
    )
    value_partial: float = param(0.4, 0.0, 1.0, "share of S", "Value retained by a partial concession.", "assumption")
    cost_wait: float = param(0.0, 0.0, 1.0, "return", "Cost of WAIT.", "assumption")
    cost_petition: float = param(0.004, 0.0, 1.0, "return", "Cost of PETITION.", "assumption, calibrated (facts 1, 4)")
    cost_leak: float = param(0.02, 0.0, 1.0, "return", "Cost of LEAK.", "assumption, calibrated (fact 4)")
    cost_tolerate: float = param(0.02, 0.0, 1.0, "return", "Cost of TOLERATE.", "assumption, calibrated (fact 4)")
    cost_mobilize: float = param(
        0.01, 0.0, 1.0, "return", "Cost of MOBILIZE (paying intermediaries).", "assumption, calibrated (facts 4, 5)"
    )
    cost_pacify: float = param(0.01, 0.0, 1.0, "return", "Cost of PACIFY (work teams).", "assumption")
    cost_crackdown: float = param(0.02, 0.0, 1.0, "return", "Cost of CRACKDOWN.", "assumption")
    cost_accept: float = param(0.0, 0.0, 1.0, "return", "Cost of ACCEPT.", "assumption")
    disorder_cost: float = param(
        1.0,
        0.0,
        10.0,
        "return",
        "κ_D: disorder cost per day is κ_D·D / days.",
        "normalization (design: returns in [−2, 1])",
    )
    punishment_cost: float = param(
        1.0,
        0.0,
        10.0,
        "return",
        "κ_P: cost of a dismissal; lighter ones pay less.",
        "normalization (design: returns in [−2, 1])",
    )
    severity_warning: float = param(0.2, 0.0, 1.0, "share of κ_P", "Cost of a disciplinary warning.", "assumption")
    severity_demotion: float = param(0.6, 0.0, 1.0, "share of κ_P", "Cost of a demotion.", "assumption")


@dataclass(frozen=True)
class HorizonParams(_Group):
    days: int = param(
        30, 1, 365, "days", "Deadline T: on day T the plan is imposed.", "assumption (design: a 30-day dispute)"
    )


_GROUPS: dict[str, type] = {
    "population": PopulationParams,
    "information": InformationParams,
    "police": PoliceParams,
    "brokers": BrokerParams,
    "elite": EliteParams,
    "superior": SuperiorParams,
    "utility": UtilityParams,
    "horizon": HorizonParams,
}
_GROUP_NAMES = {cls: name for name, cls in _GROUPS.items()}


@dataclass(frozen=True)
class Scenario:
    """Every parameter of the model, grouped. Frozen; validated on construction.

    Build one from a preset (``Scenario.preset("daye")``), from a dict or YAML file
    (``Scenario.from_dict``, ``Scenario.from_yaml``), or by overriding dotted keys
    (``scenario.with_overrides({"brokers.recklessness": 0.9})``). See ``docs/MODEL.md`` for every
    parameter's meaning, unit, range and source.
    """

    name: str = "custom"
    population: PopulationParams = field(default_factory=PopulationParams)
    information: InformationParams = field(default_factory=InformationParams)
    police: PoliceParams = field(default_factory=PoliceParams)
    brokers: BrokerParams = field(default_factory=BrokerParams)
    elite: EliteParams = field(default_factory=EliteParams)
    superior: SuperiorParams = field(default_factory=SuperiorParams)
    utility: UtilityParams = field(default_factory=UtilityParams)
    horizon: HorizonParams = field(default_factory=HorizonParams)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise ScenarioError(f"name must be a string, got {self.name!r}")
        for group, cls in _GROUPS.items():
            if not isinstance(getattr(self, group), cls):
                raise ScenarioError(f"{group} must be a {cls.__name__}, got {type(getattr(self, group)).__name__}")
        s = self.superior
        if s.veto_disorder > s.takeover_disorder:
            raise ScenarioError(
                f"superior.veto_disorder ({s.veto_disorder}) must not exceed "
                f"superior.takeover_disorder ({s.takeover_disorder})"
            )

    # --- construction -------------------------------------------------------------------------
    @classmethod
    def preset(cls, name: str, version: int = LATEST_VERSION) -> Scenario:
        """The named preset of model ``version``: one of :data:`PRESETS` (``baseline``, ``changxing``,
        ``daye``); ``version=0`` gives the v0 presets that the ``*-v0`` ids run (:data:`MODEL_VERSIONS`)."""
        presets = PRESETS_BY_VERSION.get(version) if isinstance(version, int) else None
        if presets is None:
            raise ScenarioError(f"unknown model version {version!r}; known versions: {list(PRESETS_BY_VERSION)}")
        if not isinstance(name, str) or name not in presets:
            raise ScenarioError(unknown("preset", name, sorted(presets)))
        return presets[name]

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], base: Scenario | None = None, version: int = LATEST_VERSION
    ) -> Scenario:
        """Build from a nested dict (as :meth:`to_dict` gives) or dotted keys, on top of ``base``.

        A ``"preset"`` key names the base preset (of model ``version``). Missing keys keep the base's values.
        """
        if not isinstance(data, Mapping):
            raise ScenarioError(f"a scenario dict must be a mapping, got {type(data).__name__}")
        data = dict(data)
        if "preset" in data:
            base = cls.preset(data.pop("preset"), version)
        base = base if base is not None else cls()
        return base.with_overrides(_flatten(data))

    @classmethod
    def from_yaml(cls, path: str | Path, base: Scenario | None = None, version: int = LATEST_VERSION) -> Scenario:
        """Load a scenario from a YAML file (nested groups or dotted keys; an optional ``preset``)."""
        import yaml

        path = Path(path)
        if not path.is_file():
            raise ScenarioError(f"scenario file {str(path)!r} does not exist")
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ScenarioError(f"scenario file {str(path)!r} is not valid YAML: {exc}") from None
        return cls.from_dict(data, base=base, version=version)

    @classmethod
    def resolve(
        cls,
        spec: str | Path | Mapping[str, Any] | Scenario | None,
        base: str = "baseline",
        version: int = LATEST_VERSION,
    ) -> Scenario:
        """Turn any accepted scenario spec into a Scenario.

        ``spec`` is a preset name, a path to a YAML file, a dict of overrides on ``base``, a Scenario, or
        None (the ``base`` preset). Preset names refer to model ``version``'s presets; a Scenario is taken as
        it is, whatever its version.
        """
        if spec is None:
            return cls.preset(base, version)
        if isinstance(spec, Scenario):
            return spec
        if isinstance(spec, Mapping):
            return cls.from_dict(spec, base=cls.preset(base, version), version=version)
        if isinstance(spec, Path) or (isinstance(spec, str) and spec.endswith((".yaml", ".yml"))):
            return cls.from_yaml(spec, base=cls.preset(base, version), version=version)
        if isinstance(spec, str):
            return cls.preset(spec, version)
        raise ScenarioError(
            f"scenario must be a preset name ({', '.join(sorted(PRESETS))}), a YAML path, a dict or a Scenario; "
            f"got {type(spec).__name__}"
        )

    def with_overrides(self, overrides: Mapping[str, Any]) -> Scenario:
        """A copy with dotted keys replaced, e.g. ``{"brokers.recklessness": 0.9}``."""
        changes: dict[str, dict[str, Any]] = {}
        name = self.name
        for key, value in overrides.items():
            if key == "name":
                name = str(value)
                continue
            group, _, attr = key.partition(".")
            if key not in _VALID_KEYS:
                raise ScenarioError(unknown("scenario key", key, _VALID_KEYS, where=_KEYS_HINT))
            changes.setdefault(group, {})[attr] = _coerce(key, value)
        groups = {g: dataclasses.replace(getattr(self, g), **kw) for g, kw in changes.items()}
        return dataclasses.replace(self, name=name, **groups)

    # --- export -------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Nested plain dict: ``{"name": ..., "population": {...}, ...}``; :meth:`from_dict` inverts it."""
        return dataclasses.asdict(self)

    def to_yaml(self, path: str | Path | None = None) -> str:
        """The scenario as YAML text; also written to ``path`` if given."""
        import yaml

        text = yaml.safe_dump(self.to_dict(), sort_keys=False)
        if path is not None:
            Path(path).write_text(text)
        return text


def valid_keys() -> list[str]:
    """Every dotted scenario key, e.g. ``brokers.recklessness``."""
    return list(_VALID_KEYS)


def _coerce(key: str, value: Any) -> Any:
    """Accept numbers given as strings (from the CLI or YAML); validation happens in the group."""
    if isinstance(value, str):
        try:
            return float(value) if any(c in value for c in ".eE") or value.lower() in ("nan", "inf") else int(value)
        except ValueError:
            lo, hi = _RANGES[key]
            raise ScenarioError(f"{key} must be a number in [{lo}, {hi}], got {value!r}") from None
    return value


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        full = f"{prefix}{key}"
        if isinstance(value, Mapping):
            if full not in _GROUPS:
                raise ScenarioError(unknown("scenario group", full, _GROUPS))
            out.update(_flatten(value, prefix=f"{full}."))
        else:
            out[full] = value
    return out


_RANGES = {f"{g}.{f.name}": f.metadata["range"] for g, cls in _GROUPS.items() for f in dataclasses.fields(cls)}
_VALID_KEYS = tuple(_RANGES)
_KEYS_HINT = f"keys are GROUP.FIELD, groups: {', '.join(_GROUPS)} (every key: massbargain.scenario.valid_keys())"


def parameter_table() -> list[dict[str, Any]]:
    """One row per parameter: key, default, range, unit, meaning, source (for docs and ``--help``)."""
    return [
        {
            "key": f"{g}.{f.name}",
            "default": f.default,
            "range": f.metadata["range"],
            "unit": f.metadata["unit"],
            "doc": f.metadata["doc"],
            "source": f.metadata["source"],
        }
        for g, cls in _GROUPS.items()
        for f in dataclasses.fields(cls)
    ]


def _document(cls: type) -> None:
    """Append each parameter's default, range, unit and meaning to the group's docstring."""
    lines = [f"{cls.__name__}: the {_GROUP_NAMES[cls]} parameters of a Scenario.", "", "Attributes:"]
    for f in dataclasses.fields(cls):
        lo, hi = f.metadata["range"]
        lines.append(
            f"    {f.name}: {f.metadata['doc']} Unit: {f.metadata['unit']}; default {f.default}; "
            f"range [{lo}, {hi}]; source: {f.metadata['source']}."
        )
    cls.__doc__ = "\n".join(lines)


for _cls in _GROUPS.values():
    _document(_cls)


#: Each preset's departures from the defaults, with the reason for each value (docs/MODEL.md,
#: "Calibration"). ``baseline`` is the defaults themselves: a generic county-to-district dispute.
PRESET_CALIBRATION: dict[str, dict[str, tuple[float, str]]] = {
    "baseline": {},
    "changxing": {
        "utility.stakes": (
            0.9,
            "Province-managed for finance, the county kept 80% of its revenue; as a district about half would go "
            "to Huzhou (3.5 of 7 bn yuan) and approval and planning powers would be lost (Southern Weekly, "
            "17 May 2013): the highest stakes on the model's scale.",
        ),
        "population.hardship_mean": (
            0.65,
            "Residents shared the loss (county status, revenue, identity): grievance above the generic county.",
        ),
        "elite.cohesion": (
            0.95,
            "All four leading county bodies opposed; dozens of township and department heads threatened to "
            "resign; 200+ retired cadres petitioned.",
        ),
        "brokers.recklessness": (
            0.2,
            "No reckless intermediaries were needed: the rally was announced by the investment-promotion "
            "bureau's own staff and stayed orderly.",
        ),
        "superior.concede_pressure": (
            1.5,
            "Huzhou yielded to a large orderly crowd within a day (1,000+ on 8 May, withdrawal announced at "
            "14:44): a superior more responsive to orderly pressure than the generic one.",
        ),
        "superior.monitoring": (
            0.4,
            "Moderate monitoring, as in the baseline: nothing reported suggests closer supervision; no "
            "punishment was reported (unverified).",
        ),
        "police.heavy_handedness": (
            0.4,
            "Police sealed roads and deployed in numbers but did not crack down: little heavy-handedness.",
        ),
    },
    "daye": {
        "utility.stakes": (
            0.7,
            "A county-level city facing absorption as a district: high stakes, not reported in figures "
            "(assumption, below Changxing's documented loss).",
        ),
        "brokers.recklessness": (
            0.8,
            "The crowd attacked the city's Party and government offices, wrecked 10+ cars, attacked a police "
            "station and blocked a highway and a bridge: reckless, radicalizing intermediaries.",
        ),
        "police.heavy_handedness": (
            2.5,
            "Police dogs were set on ~100 petitioners (4 Aug), two days before ~10,000 rioted (6 Aug).",
        ),
        "police.firm_incident_share": (
            0.3,
            "Police prone to force even without an order to crack down.",
        ),
        "elite.cohesion": (
            0.3,
            "No united elite opposition is reported (unverified): official channels carried little weight.",
        ),
        "superior.disorder_aversion": (
            25.0,
            "The authorities called it a grave illegal mass incident and promised severe punishment: a superior "
            "that represses disorder readily.",
        ),
        "superior.monitoring": (
            0.6,
            "The Hubei discipline commission investigated and reported (Deng et al. 2022, endnotes): close "
            "scrutiny after the fact.",
        ),
    },
}


#: Model versions: :data:`LATEST_VERSION` (v1) is the default everywhere. A v0 scenario is a v1 scenario with
#: :data:`V0_VALUES`, which switch every mechanism that v1 added off (docs/MODEL.md, "Model versions"), so the
#: ``*-v0`` ids reproduce their stored trajectories bit for bit.
V0_VALUES: dict[str, float] = {
    "population.self_radicalization": 0.0,
    "population.standoff_incidents": 0.0,
    "police.crackdown_crowd_scale": 0.0,
    "brokers.recklessness_noise": 0.0,
    "superior.attribution_discount": 0.0,
    "superior.pressure_saturation": 0.0,
    "superior.investigate_evidence": 0.0,
    "superior.shelve_disorder": 0.0,
    "superior.takeover_shelve": 0.0,
    # v0's calibration of parameters that v1 recalibrated (docs/MODEL.md, "Calibration of v1")
    "superior.suspicion_weight": 13.0,
    "superior.evidence_tolerate": 0.4,
}

#: Each version's preset calibration on top of its defaults: v0 used :data:`PRESET_CALIBRATION` alone; v1
#: adds :data:`PRESET_CALIBRATION_V1` (with reasons, as above).
PRESET_CALIBRATION_V1: dict[str, dict[str, tuple[float, str]]] = {"baseline": {}, "changxing": {}, "daye": {}}


def _make_presets(version: int) -> dict[str, Scenario]:
    base = Scenario(name="baseline")
    if version == 0:
        base = base.with_overrides(V0_VALUES)
    presets = {}
    for name, calibration in PRESET_CALIBRATION.items():
        extra = PRESET_CALIBRATION_V1[name] if version >= 1 else {}
        overrides = {key: value for key, (value, _reason) in {**calibration, **extra}.items()}
        presets[name] = base.with_overrides({"name": name, **overrides})
    return presets


PRESETS_BY_VERSION: dict[int, dict[str, Scenario]] = {v: _make_presets(v) for v in MODEL_VERSIONS}
#: The presets of the latest model version (v1), by name.
PRESETS: dict[str, Scenario] = PRESETS_BY_VERSION[LATEST_VERSION]
