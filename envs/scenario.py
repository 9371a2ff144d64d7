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

__all__ = [
    "PRESETS",
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
    n_residents: int = param(10_000, 10, 10_000_000, "people", "Residents who could join a protest.")
    hardship_mean: float = param(
        0.5, 0.0, 1.0, "utility", "Mean hardship h of residents if the plan goes ahead (Epstein's H).", "Epstein 2002"
    )
    hardship_sd: float = param(0.15, 0.0, 0.5, "utility", "Spread of hardship across residents.")
    mood_sd: float = param(
        0.06, 0.0, 0.3, "utility", "SD of the hidden per-episode shift of mean hardship (the county's mood)."
    )
    risk_aversion_mean: float = param(0.5, 0.0, 1.0, "utility", "Mean risk aversion r.", "Epstein 2002")
    risk_aversion_sd: float = param(0.15, 0.0, 0.5, "utility", "Spread of risk aversion.")
    threshold_mean: float = param(
        0.33, 0.0, 1.0, "utility", "Mean activation threshold θ.", "Granovetter 1978; Epstein 2002 (T=0.1)"
    )
    threshold_sd: float = param(0.1, 0.0, 0.5, "utility", "Spread of thresholds.", "Granovetter 1978")
    activation_slope: float = param(
        8.0, 0.5, 50.0, "1/utility", "Slope β of the logistic activation; smooth, not a step."
    )
    social_weight: float = param(
        0.28, 0.0, 5.0, "utility per share", "Weight w of the visible crowd in activation.", "Granovetter 1978"
    )
    disorder_noise: float = param(
        0.3, 0.0, 2.0, "log-SD", "SD of the mean-one lognormal noise on disorder D = A·R·noise (zero crowd, zero D)."
    )
    quadrature_nodes: int = param(
        9, 1, 41, "nodes", "K: Gauss-Hermite nodes over the residents' activation argument (exchangeable types)."
    )


@dataclass(frozen=True)
class InformationParams(_Group):
    initial_informed: float = param(0.05, 0.0, 1.0, "share", "Share of residents who know the plan's details.")
    leak_reach: float = param(0.3, 0.0, 1.0, "share", "Share of the uninformed that one LEAK informs.")
    word_of_mouth: float = param(
        0.25, 0.0, 5.0, "1/day", "Daily rate at which the informed share informs the uninformed."
    )
    crowd_visibility: float = param(1.0, 0.0, 10.0, "1/day", "Daily rate at which a visible crowd informs.")
    legitimacy: float = param(
        0.7, 0.0, 1.0, "share", "Initial legitimacy L of the plan in residents' eyes.", "Epstein 2002 (Mesa: 0.8)"
    )
    leak_legitimacy_drop: float = param(0.1, 0.0, 1.0, "share of L", "Fraction of L lost with each LEAK.")
    legitimacy_recovery: float = param(0.02, 0.0, 1.0, "1/day", "Daily pull of L back to its initial value.")


@dataclass(frozen=True)
class PoliceParams(_Group):
    capacity: float = param(
        0.09, 0.0, 1.0, "share", "Police capacity C relative to residents.", "Epstein 2002 (Mesa: 0.074)"
    )
    arrest_constant: float = param(2.3, 0.0, 20.0, "1", "Epstein's k in P = 1 − exp(−k·C_eff/A).", "Epstein 2002")
    firm_factor: float = param(1.6, 0.0, 5.0, "× capacity", "Effective capacity under a firm posture.")
    tolerant_factor: float = param(
        0.25, 0.0, 1.0, "× capacity", "Effective capacity under the tolerant posture (≪ 1).", "Changxing 2013"
    )
    crackdown_dispersal: float = param(0.6, 0.0, 1.0, "share", "Share of the crowd a CRACKDOWN disperses.")
    crackdown_legitimacy_drop: float = param(0.15, 0.0, 1.0, "share of L", "Fraction of L lost per CRACKDOWN.")
    heavy_handedness: float = param(
        0.8, 0.0, 10.0, "1/day", "Scale of the trigger hazard of police force on an aggrieved crowd.", "Daye 2005"
    )
    firm_incident_share: float = param(
        0.15, 0.0, 1.0, "share", "Trigger hazard of a firm posture without a crackdown, relative to one."
    )
    trigger_crowd_scale: float = param(
        0.03, 1e-4, 1.0, "share", "A₀: crowd size at which police force most likely triggers escalation."
    )
    trigger_radical_hazard: float = param(0.15, 0.0, 5.0, "1/day", "Trigger hazard per unit radical share R.")
    trigger_legitimacy_drop: float = param(0.35, 0.0, 1.0, "share of L", "Fraction of L lost at a trigger.")
    trigger_days: int = param(3, 1, 30, "days", "Days a trigger multiplies recruitment.", "Daye 2005 (4→6 Aug)")
    trigger_recruitment: float = param(
        4.0, 1.0, 20.0, "×", "Multiplier m of recruitment after a trigger: p → 1 − (1 − p)^m.", "Daye 2005"
    )
    trigger_radicalization: float = param(0.25, 0.0, 1.0, "share", "Jump of R at a trigger (of the headroom).")
    pacify_persuasion: float = param(
        0.35, 0.0, 2.0, "utility", "Activation utility removed on a PACIFY day.", "Deng & O'Brien 2013"
    )
    pacify_broker_cut: float = param(0.3, 0.0, 1.0, "share", "Share of broker activity M a PACIFY removes.")
    pacify_radical_cut: float = param(0.4, 0.0, 1.0, "share", "δ: share of R a PACIFY removes.")


@dataclass(frozen=True)
class BrokerParams(_Group):
    recklessness: float = param(
        0.3, 0.0, 1.0, "share", "Mean ρ of the hidden broker recklessness (Beta-distributed).", "Deng et al. 2022"
    )
    recklessness_concentration: float = param(
        8.0, 0.5, 1000.0, "1", "Concentration of the Beta distribution of ρ (large = nearly fixed)."
    )
    mobilize_boost: float = param(0.5, 0.0, 1.0, "share", "Each MOBILIZE raises M by this share of 1 − M.")
    recruit_rate: float = param(
        0.35, 0.0, 1.0, "1/day", "Daily probability that brokers at M = 1 pull a resident into the crowd."
    )
    decay: float = param(
        0.5, 0.0, 1.0, "1/day", "Daily decay of M for prudent brokers; reckless ones decay at decay·(1 − ρ)."
    )
    radicalization: float = param(0.35, 0.0, 2.0, "1/day", "α: radicalization per unit ρ·M.", "Deng et al. 2022")
    radical_decay: float = param(0.1, 0.0, 1.0, "1/day", "d: daily decay of the radical share R.")
    crackdown_radicalization: float = param(
        0.5, 0.0, 2.0, "1/day", "γ: radicalization per unit crowd on a CRACKDOWN day."
    )


@dataclass(frozen=True)
class EliteParams(_Group):
    cohesion: float = param(
        0.5, 0.0, 1.0, "share", "How readily the county's elite joins a formal objection.", "Changxing 2013"
    )
    petition_gain: float = param(0.35, 0.0, 1.0, "share", "Each PETITION raises U by cohesion·gain·(1 − U).")
    decay: float = param(0.03, 0.0, 1.0, "1/day", "Daily decay of visible elite opposition U.")


@dataclass(frozen=True)
class SuperiorParams(_Group):
    resolve: float = param(1.0, -5.0, 10.0, "utility", "Mean of the superior's hidden resolve.")
    resolve_sd: float = param(0.5, 0.0, 5.0, "utility", "SD of the hidden resolve across episodes.")
    pressure_ref: float = param(
        0.12, 1e-3, 1.0, "share", "Π_ref: orderly crowd share that counts as one unit of pressure."
    )
    radical_discount: float = param(
        2.0, 0.0, 10.0, "1", "η in Π = A·(1 − R)^η·(1 + u·U): radicals persuade less.", "Lohmann 1994"
    )
    elite_weight: float = param(1.0, 0.0, 10.0, "1", "u: weight of elite opposition in pressure.", "Ma 2019")
    pressure_memory: float = param(0.7, 0.0, 0.99, "1", "λ of the pressure stock S ← λ·S + (1 − λ)·Π.")
    concede_bias: float = param(-6.0, -20.0, 5.0, "utility", "Utility of conceding with no pressure.")
    concede_pressure: float = param(
        1.2, 0.0, 20.0, "utility", "Utility of conceding per unit of today's Π.", "Cai 2010"
    )
    concede_stock: float = param(
        1.5, 0.0, 20.0, "utility", "Utility of conceding per unit of sustained pressure S.", "Cai 2010"
    )
    concede_elite: float = param(1.5, 0.0, 10.0, "utility", "Utility of conceding per unit of U.", "Ma 2019")
    suspicion_weight: float = param(
        4.0, 0.0, 50.0, "utility", "Utility lost in conceding per unit of evidence E.", "Tirole 1986"
    )
    warn_bias: float = param(-3.0, -20.0, 5.0, "utility", "Utility of a warning with no evidence.")
    warn_suspicion: float = param(5.0, 0.0, 50.0, "utility", "Utility of a warning per unit of E.")
    repress_bias: float = param(-5.0, -20.0, 5.0, "utility", "Utility of repression with no disorder.")
    disorder_aversion: float = param(
        12.0, 0.0, 100.0, "utility", "Utility of repression per unit of disorder D.", "Goldstone & Tilly 2001"
    )
    repress_peaceful: float = param(
        1.0, 0.0, 20.0, "utility", "Utility of repression lost per unit of peaceful pressure Π.", "Lohmann 1994"
    )
    temperature: float = param(1.0, 0.05, 10.0, "utility", "Softmax temperature of the superior's choice.")
    share_suspend: float = param(
        0.5, 1e-6, 1.0, "weight", "Relative weight of SUSPEND among concessions.", "Changxing 2013"
    )
    share_partial: float = param(0.35, 1e-6, 1.0, "weight", "Relative weight of PARTIAL among concessions.")
    share_withdraw: float = param(0.15, 1e-6, 1.0, "weight", "Relative weight of WITHDRAW among concessions.")
    repress_dispersal: float = param(0.8, 0.0, 1.0, "share", "Share of the crowd the superior's forces disperse.")
    repress_broker_arrest: float = param(0.6, 0.0, 1.0, "share", "Share of broker activity M arrested.")
    monitoring: float = param(
        0.5, 0.0, 1.0, "share", "μ: the superior's monitoring capacity (scales all evidence).", "Tirole 1986"
    )
    evidence_leak: float = param(0.04, 0.0, 1.0, "1/leak", "e_leak: evidence per LEAK.")
    evidence_tolerate: float = param(0.04, 0.0, 1.0, "1/day", "e_tol: evidence per tolerant day per unit crowd A.")
    evidence_mobilize: float = param(0.3, 0.0, 1.0, "1/day", "e_mob: evidence per day per unit broker activity M.")
    evidence_disorder: float = param(0.5, 0.0, 5.0, "1/day", "e_dis: evidence per day per unit disorder D.")
    evidence_arrest: float = param(0.6, 0.0, 1.0, "1", "Evidence from arrested brokers per unit M on REPRESS.")
    investigation_disorder: float = param(
        0.05, 0.0, 1.0, "share", "Disorder D that opens a discipline investigation.", "Cai 2010"
    )
    investigation_after_repress: float = param(
        0.5, 0.0, 1.0, "probability", "Chance that a REPRESS opens an investigation."
    )
    investigation_days: int = param(3, 0, 60, "days", "Days until an open investigation is resolved.")
    punish_bias: float = param(-3.0, -20.0, 20.0, "logit", "Log-odds of punishment at zero evidence.")
    punish_evidence: float = param(8.0, 0.0, 50.0, "logit", "Log-odds of punishment per unit of evidence E.")
    veto_disorder: float = param(
        0.15,
        0.0,
        1.0,
        "share",
        "Peak disorder above which the official is punished regardless of evidence.",
        "One-vote veto; Weng'an 2008, Shishou 2009",
    )
    takeover_disorder: float = param(
        0.35, 0.0, 1.0, "share", "Disorder at which the province takes over: the episode ends, plan imposed."
    )


@dataclass(frozen=True)
class UtilityParams(_Group):
    stakes: float = param(
        0.6, 0.0, 1.0, "share of return", "S: value to the county of keeping its status.", "Changxing 2013"
    )
    value_suspend: float = param(0.7, 0.0, 1.0, "share of S", "Value retained when the plan is suspended.")
    value_partial: float = param(0.4, 0.0, 1.0, "share of S", "Value retained by a partial concession.")
    cost_wait: float = param(0.0, 0.0, 1.0, "return", "Cost of WAIT.")
    cost_petition: float = param(0.004, 0.0, 1.0, "return", "Cost of PETITION.")
    cost_leak: float = param(0.008, 0.0, 1.0, "return", "Cost of LEAK.")
    cost_tolerate: float = param(0.004, 0.0, 1.0, "return", "Cost of TOLERATE.")
    cost_mobilize: float = param(0.02, 0.0, 1.0, "return", "Cost of MOBILIZE (paying intermediaries).")
    cost_pacify: float = param(0.01, 0.0, 1.0, "return", "Cost of PACIFY (work teams).")
    cost_crackdown: float = param(0.02, 0.0, 1.0, "return", "Cost of CRACKDOWN.")
    cost_accept: float = param(0.0, 0.0, 1.0, "return", "Cost of ACCEPT.")
    disorder_cost: float = param(1.0, 0.0, 10.0, "return", "κ_D: disorder cost per day is κ_D·D / days.")
    punishment_cost: float = param(1.0, 0.0, 10.0, "return", "κ_P: cost of a dismissal; lighter ones pay less.")
    severity_warning: float = param(0.2, 0.0, 1.0, "share of κ_P", "Cost of a disciplinary warning.")
    severity_demotion: float = param(0.6, 0.0, 1.0, "share of κ_P", "Cost of a demotion.")


@dataclass(frozen=True)
class HorizonParams(_Group):
    days: int = param(30, 1, 365, "days", "Deadline T: on day T the plan is imposed.")


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
    def preset(cls, name: str) -> Scenario:
        """The named preset: one of :data:`PRESETS` (``baseline``, ``changxing``, ``daye``)."""
        if not isinstance(name, str) or name not in PRESETS:
            raise ScenarioError(f"unknown preset {name!r}; known presets: {', '.join(sorted(PRESETS))}")
        return PRESETS[name]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], base: Scenario | None = None) -> Scenario:
        """Build from a nested dict (as :meth:`to_dict` gives) or dotted keys, on top of ``base``.

        A ``"preset"`` key names the base preset. Missing keys keep the base's values.
        """
        if not isinstance(data, Mapping):
            raise ScenarioError(f"a scenario dict must be a mapping, got {type(data).__name__}")
        data = dict(data)
        if "preset" in data:
            base = cls.preset(data.pop("preset"))
        base = base if base is not None else cls()
        return base.with_overrides(_flatten(data))

    @classmethod
    def from_yaml(cls, path: str | Path, base: Scenario | None = None) -> Scenario:
        """Load a scenario from a YAML file (nested groups or dotted keys; an optional ``preset``)."""
        import yaml

        path = Path(path)
        if not path.is_file():
            raise ScenarioError(f"scenario file {str(path)!r} does not exist")
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ScenarioError(f"scenario file {str(path)!r} is not valid YAML: {exc}") from None
        return cls.from_dict(data, base=base)

    @classmethod
    def resolve(cls, spec: str | Path | Mapping[str, Any] | Scenario | None, base: str = "baseline") -> Scenario:
        """Turn any accepted scenario spec into a Scenario.

        ``spec`` is a preset name, a path to a YAML file, a dict of overrides on ``base``, a Scenario, or
        None (the ``base`` preset).
        """
        if spec is None:
            return cls.preset(base)
        if isinstance(spec, Scenario):
            return spec
        if isinstance(spec, Mapping):
            return cls.from_dict(spec, base=cls.preset(base))
        if isinstance(spec, Path) or (isinstance(spec, str) and spec.endswith((".yaml", ".yml"))):
            return cls.from_yaml(spec, base=cls.preset(base))
        if isinstance(spec, str):
            return cls.preset(spec)
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
                raise ScenarioError(f"unknown scenario key {key!r}; valid keys: {', '.join(valid_keys())}")
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
                raise ScenarioError(f"unknown scenario group {full!r}; groups: {', '.join(_GROUPS)}")
            out.update(_flatten(value, prefix=f"{full}."))
        else:
            out[full] = value
    return out


_RANGES = {f"{g}.{f.name}": f.metadata["range"] for g, cls in _GROUPS.items() for f in dataclasses.fields(cls)}
_VALID_KEYS = tuple(_RANGES)


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


def _make_presets() -> dict[str, Scenario]:
    base = Scenario(name="baseline")
    changxing = base.with_overrides(
        {
            "name": "changxing",
            "utility.stakes": 0.9,
            "population.hardship_mean": 0.65,
            "elite.cohesion": 0.95,
            "brokers.recklessness": 0.2,
            "superior.concede_pressure": 1.5,
            "superior.monitoring": 0.4,
            "police.heavy_handedness": 0.4,
        }
    )
    daye = base.with_overrides(
        {
            "name": "daye",
            "utility.stakes": 0.7,
            "brokers.recklessness": 0.8,
            "police.heavy_handedness": 2.5,
            "police.firm_incident_share": 0.3,
            "elite.cohesion": 0.3,
            "superior.disorder_aversion": 16.0,
            "superior.monitoring": 0.6,
        }
    )
    return {"baseline": base, "changxing": changxing, "daye": daye}


PRESETS: dict[str, Scenario] = _make_presets()
