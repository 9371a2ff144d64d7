"""The ten stylized facts of docs/MODEL.md, measured afresh with scripted policies.

Each ``measure_*`` function runs seeded batched rollouts and returns the figures one fact is judged by;
``tests/test_stylized_facts.py`` asserts its thresholds on the same functions, and :func:`facts_table`
puts claim, source, test, measured figures, criterion and mechanism side by side. Nothing here knows a
fact's answer: every figure is an outcome of the general dynamics in ``massbargain.core``.

Run it as ``python -m massbargain.experiments.measures.facts`` (``--episodes``, ``--seed``, ``--markdown``,
``--regions``, ``--knockouts``, ``--sensitivity``); the ``massbargain facts`` subcommand calls
:func:`add_parser` and :func:`run`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from massbargain.actions import Action, Outcome, Response, Severity
from massbargain.agents.baselines import BASELINES, RulePolicy
from massbargain.cases import HoldingSuperior, simulate
from massbargain.core import OBS_INDEX
from massbargain.rollout import run_episodes
from massbargain.scenario import PRESETS, Scenario, parameter_table

__all__ = [
    "CONSENT_THEN_PACIFY",
    "KNOCKOUTS",
    "CRACKDOWN_SMALL",
    "FACTS",
    "LEAK_THEN_WAIT",
    "MOBILIZE_THEN_PACIFY",
    "MOBILIZE_THEN_STOP",
    "PETITION_WITH_CROWD",
    "POLICY_SET",
    "add_parser",
    "best_policy",
    "facts_table",
    "knockout_table",
    "main",
    "measure_consent_changxing",
    "measure_crackdown_trigger",
    "measure_loss_of_control",
    "measure_mobilization_backfires",
    "measure_monitoring",
    "measure_official_channels",
    "measure_partial_concessions",
    "measure_radical_discount",
    "measure_stakes",
    "measure_veto",
    "mobilize_then_stop",
    "mode_of",
    "policy_regions",
    "perturbed_presets",
    "run",
    "sensitivity",
    "sensitivity_markdown",
]

_I = OBS_INDEX

#: Scenarios to measure on, by preset name (None: the package's presets). The sensitivity analysis passes
#: perturbed copies.
Presets = Mapping[str, Scenario] | None


def _preset(name: str, presets: Presets) -> Scenario:
    return Scenario.preset(name) if presets is None else presets[name]


# --- scripted policies the facts need beyond BASELINES ----------------------------------------------


def _petition_with_crowd(obs: np.ndarray) -> np.ndarray:
    """TOLERATE until the police are tolerant, LEAK until half the residents know, then PETITION daily."""
    return np.select(
        [obs[:, _I["police_tolerant"]] < 0.5, obs[:, _I["informed"]] < 0.5],
        [Action.TOLERATE, Action.LEAK],
        Action.PETITION,
    )


def _crackdown_small(obs: np.ndarray) -> np.ndarray:
    """LEAK while fewer than a fifth know; CRACKDOWN once on the first (small) crowd; otherwise WAIT."""
    firm = obs[:, _I["police_firm"]] > 0.5
    return np.select(
        [obs[:, _I["informed"]] < 0.2, ~firm & (obs[:, _I["crowd"]] > 0.0)],
        [Action.LEAK, Action.CRACKDOWN],
        Action.WAIT,
    )


def _leak_then_wait(obs: np.ndarray) -> np.ndarray:
    """The control of CRACKDOWN_SMALL: the same leaks, no force."""
    return np.where(obs[:, _I["informed"]] < 0.2, Action.LEAK, Action.WAIT)


_STOP_DAY = 4  # the mobilize-then-stop policy mobilizes on days 0..3


def mobilize_then_stop(horizon: int = 30, stop_day: int = _STOP_DAY) -> RulePolicy:
    """MOBILIZE on days 0 .. stop_day − 1 (of a ``horizon``-day episode), then WAIT: the official stops."""

    def rule(obs: np.ndarray) -> np.ndarray:
        return np.where(obs[:, _I["time_used"]] < (stop_day - 0.5) / horizon, Action.MOBILIZE, Action.WAIT)

    return RulePolicy("mobilize_then_stop", rule, mobilize_then_stop.__doc__ or "")


_PACIFY_AT = 0.1  # crowd share at which the *_THEN_PACIFY policies switch to PACIFY for good


def _mobilize_then_pacify(obs: np.ndarray) -> np.ndarray:
    """MOBILIZE (broker activity below one half) until the crowd has reached 0.1, then PACIFY every day."""
    return np.select(
        [obs[:, _I["peak_crowd"]] >= _PACIFY_AT, obs[:, _I["broker_activity"]] < 0.5],
        [Action.PACIFY, Action.MOBILIZE],
        Action.WAIT,
    )


def _consent_then_pacify(obs: np.ndarray) -> np.ndarray:
    """TOLERATE, LEAK until half know, WAIT until the crowd has reached 0.1, then PACIFY every day."""
    return np.select(
        [
            obs[:, _I["peak_crowd"]] >= _PACIFY_AT,
            obs[:, _I["police_tolerant"]] < 0.5,
            obs[:, _I["informed"]] < 0.5,
        ],
        [Action.PACIFY, Action.TOLERATE, Action.LEAK],
        Action.WAIT,
    )


def _mobilize_no_petition(obs: np.ndarray) -> np.ndarray:
    """MOBILIZE while broker activity is below one half, otherwise WAIT (no elite opposition at all)."""
    return np.where(obs[:, _I["broker_activity"]] < 0.5, Action.MOBILIZE, Action.WAIT)


def _policy(rule: Callable[[np.ndarray], np.ndarray], name: str) -> RulePolicy:
    return RulePolicy(name, rule, rule.__doc__ or "")


PETITION_WITH_CROWD = _policy(_petition_with_crowd, "petition_with_crowd")
CRACKDOWN_SMALL = _policy(_crackdown_small, "crackdown_small")
LEAK_THEN_WAIT = _policy(_leak_then_wait, "leak_then_wait")
MOBILIZE_THEN_STOP = mobilize_then_stop()
MOBILIZE_THEN_PACIFY = _policy(_mobilize_then_pacify, "mobilize_then_pacify")
CONSENT_THEN_PACIFY = _policy(_consent_then_pacify, "consent_then_pacify")
MOBILIZE_NO_PETITION = _policy(_mobilize_no_petition, "mobilize_no_petition")

#: The scripted policies a "best policy" is chosen from, by the mode each stands for.
POLICY_SET: dict[str, str] = {
    "passive": "none",
    "petition": "none",
    "accept": "none",
    "consent": "consent",
    "mobilize": "mobilized",
    "mobilize_pacify": "mobilized",
}


def mode_of(policy_name: str) -> str:
    """``none`` (no mass pressure), ``consent`` or ``mobilized`` for a policy of :data:`POLICY_SET`."""
    return POLICY_SET[policy_name]


def best_policy(scenario: Scenario, episodes: int, seed: int) -> tuple[str, dict[str, float]]:
    """The policy of :data:`POLICY_SET` with the highest mean return, and every policy's mean return.

    All policies share the seed (common random numbers), so the comparison is paired.
    """
    returns = {k: float(run_episodes(BASELINES[k], scenario, episodes, seed).returns.mean()) for k in POLICY_SET}
    return max(returns, key=returns.__getitem__), returns


def _best_by_mode(returns: dict[str, float]) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, value in returns.items():
        m = mode_of(name)
        out[m] = max(out.get(m, -np.inf), value)
    return out


def policy_regions(
    scenario: Scenario,
    rhos: Sequence[float] = (0.05, 0.3, 0.8),
    mus: Sequence[float] = (0.05, 0.4, 1.0),
    episodes: int = 1000,
    seed: int = 0,
) -> dict[tuple[float, float], str]:
    """The best policy's mode on a grid of mean broker recklessness ρ × monitoring μ (the headline grid)."""
    grid = {}
    for rho in rhos:
        for mu in mus:
            sc = scenario.with_overrides({"brokers.recklessness": rho, "superior.monitoring": mu})
            grid[(rho, mu)] = mode_of(best_policy(sc, episodes, seed)[0])
    return grid


def _conceded(outcome: np.ndarray) -> np.ndarray:
    return np.isin(outcome, [Outcome.WITHDRAWN, Outcome.SUSPENDED, Outcome.PARTIAL])


# --- the ten measurements -------------------------------------------------------------------------------


def measure_official_channels(episodes: int, seed: int, presets: Presets = None) -> dict[str, float]:
    """Fact 1 (baseline): petitions alone vs the same petitions backed by a tolerated, informed crowd."""
    sc = _preset("baseline", presets)
    alone = run_episodes(BASELINES["petition"], sc, episodes, seed)
    backed = run_episodes(PETITION_WITH_CROWD, sc, episodes, seed)
    return {
        "petition_concession": alone.concession_rate,
        "backed_concession": backed.concession_rate,
        "backed_peak_crowd_median": float(np.median(backed.peak_crowd)),
        "backed_peak_disorder_p90": float(np.percentile(backed.peak_disorder, 90)),
        "backed_punishment": backed.punishment_rate,
        "petitions_alone": float(alone.action_counts[:, Action.PETITION].mean()),
        "petitions_backed": float(backed.action_counts[:, Action.PETITION].mean()),
    }


def measure_consent_changxing(episodes: int, seed: int, presets: Presets = None) -> dict[str, float]:
    """Fact 2 (changxing): leak + tolerate (the consent baseline)."""
    b = run_episodes(BASELINES["consent"], _preset("changxing", presets), episodes, seed)
    return {
        "concession": b.concession_rate,
        "punishment": b.punishment_rate,
        "mean_return": float(b.returns.mean()),
        "mean_days": float(b.length.mean()),
    }


def measure_mobilization_backfires(episodes: int, seed: int, presets: Presets = None) -> dict[str, float]:
    """Fact 3 (daye): mobilization, crude and managed, against consent."""
    sc = _preset("daye", presets)
    out: dict[str, float] = {}
    for name in ("mobilize", "mobilize_pacify", "consent"):
        b = run_episodes(BASELINES[name], sc, episodes, seed)
        out[f"{name}_punishment"] = b.punishment_rate
        out[f"{name}_return"] = float(b.returns.mean())
        out[f"{name}_return_ci95"] = float(1.96 * b.returns.std(ddof=1) / np.sqrt(b.returns.size))
    return out


STAKES_GRID = (0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0)


def measure_stakes(episodes: int, seed: int, presets: Presets = None) -> dict[str, Any]:
    """Fact 4 (baseline): the best policy and the advantage of mass pressure across stakes."""
    best, advantage = [], []
    for stakes in STAKES_GRID:
        name, returns = best_policy(
            _preset("baseline", presets).with_overrides({"utility.stakes": stakes}), episodes, seed
        )
        by_mode = _best_by_mode(returns)
        best.append(name)
        advantage.append(max(by_mode["consent"], by_mode["mobilized"]) - by_mode["none"])
    return {"stakes": list(STAKES_GRID), "best": best, "mass_pressure_advantage": advantage}


MONITORING_GRID = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
LOW_RECKLESSNESS = 0.05
_MODE_ORDER = {"mobilized": 0, "consent": 1, "none": 2}


def measure_monitoring(episodes: int, seed: int, presets: Presets = None) -> dict[str, Any]:
    """Fact 5 (baseline, ρ = 0.05): the best policy's mode along monitoring μ from 0 to 1.

    ``ordered`` is true when the modes run mobilized → consent → none along μ (each at least once, never
    back): the claim of the fact.
    """
    best, margins = [], []
    for mu in MONITORING_GRID:
        sc = _preset("baseline", presets).with_overrides(
            {"brokers.recklessness": LOW_RECKLESSNESS, "superior.monitoring": mu}
        )
        name, returns = best_policy(sc, episodes, seed)
        by_mode = _best_by_mode(returns)
        best.append(name)
        margins.append({m: round(v, 3) for m, v in by_mode.items()})
    modes = [mode_of(b) for b in best]
    rank = [_MODE_ORDER[m] for m in modes]
    ordered = all(a <= b for a, b in zip(rank, rank[1:], strict=False)) and set(rank) == {0, 1, 2}
    return {"monitoring": list(MONITORING_GRID), "best": best, "modes": modes, "by_mode": margins, "ordered": ordered}


def _switch_points(m: dict[str, Any]) -> str:
    """The first μ at which consent, then no mass pressure, is best."""
    first = {}
    for mu, mode in zip(m["monitoring"], m["modes"], strict=True):
        first.setdefault(mode, mu)
    return ", ".join(f"{mode} from μ = {mu}" for mode, mu in first.items())


def measure_crackdown_trigger(episodes: int, seed: int, presets: Presets = None) -> dict[str, float]:
    """Fact 6 (daye): one crackdown on the first small crowd, against the same leaks without force."""
    sc = _preset("daye", presets)
    force = simulate(CRACKDOWN_SMALL, sc, episodes, seed)
    control = simulate(LEAK_THEN_WAIT, sc, episodes, seed)
    cracked = force.action == Action.CRACKDOWN
    has = cracked.any(axis=0)
    first = np.argmax(cracked, axis=0)
    cols = np.arange(force.episodes)
    # The crowd the police saw when they struck: the end of the day before.
    before = np.where(first > 0, force.crowd[np.maximum(first - 1, 0), cols], 0.0)
    return {
        "crackdown_share": float(has.mean()),
        "crowd_at_crackdown_median": float(np.median(before[has])),
        "trigger_rate": float(force.triggered.any(axis=0)[has].mean()),
        "peak_crowd_median": float(np.median(force.peak_crowd[has])),
        "control_peak_crowd_median": float(np.median(control.peak_crowd)),
        "control_trigger_rate": float(control.triggered.any(axis=0).mean()),
        "tenfold_share": float((force.peak_crowd[has] >= 10.0 * np.maximum(before[has], 1e-9)).mean()),
    }


def measure_radical_discount(episodes: int, seed: int, presets: Presets = None) -> dict[str, Any]:
    """Fact 7: daily concession rate of radical and calm crowds of equal size (baseline, μ = 0).

    Days are pooled from episodes of broker mobilization without petitions, with zero monitoring (no
    suspicion) and ρ ~ Beta(mean 0.5, concentration 1) so that both calm and radical crowds occur; each
    day counts with the crowd the superior saw (today's repression undone). Days are binned by crowd size
    (width 0.05 up to 0.3, then wider); within a bin, days with R < 0.1 are calm and R ≥ 0.3 radical.
    ``ratio`` is the indirectly standardized rate ratio: the radical days' concessions over those they
    would have won at the calm rate of their own crowd bin (bins with ≥ 50 days of each kind), so crowd
    size is held equal.
    """
    sc = _preset("baseline", presets).with_overrides(
        {"superior.monitoring": 0.0, "brokers.recklessness": 0.5, "brokers.recklessness_concentration": 1.0}
    )
    t = simulate(MOBILIZE_NO_PETITION, sc, episodes, seed)
    repressed = t.response == Response.REPRESS
    keep = 1.0 - sc.superior.repress_dispersal * repressed
    seen = np.where(keep > 0.0, t.crowd / np.where(keep > 0.0, keep, 1.0), np.nan)  # undo today's repression
    concede = t.response >= Response.SUSPEND
    edges = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.7, 1.01)
    rows = []
    observed = expected = 0.0
    for lo, hi in zip(edges, edges[1:], strict=False):
        in_bin = t.alive & (seen >= lo) & (seen < hi)
        calm, radical = in_bin & (t.radical < 0.1), in_bin & (t.radical >= 0.3)
        row = {
            "crowd": (lo, min(hi, 1.0)),
            "calm_days": int(calm.sum()),
            "radical_days": int(radical.sum()),
            "calm_rate": float(concede[calm].mean()) if calm.any() else float("nan"),
            "radical_rate": float(concede[radical].mean()) if radical.any() else float("nan"),
        }
        rows.append(row)
        if row["calm_days"] >= 50 and row["radical_days"] >= 50:
            observed += float(concede[radical].sum())
            expected += row["radical_days"] * row["calm_rate"]
    return {
        "bins": rows,
        "observed": observed,
        "expected": expected,
        "ratio": observed / expected if expected > 0 else float("nan"),
    }


def measure_veto(episodes: int, seed: int, presets: Presets = None, large_at: float | None = None) -> dict[str, float]:
    """Fact 8 (baseline, μ = 0: no evidence can accrue): punishment by the episode's peak disorder.

    "Large" disorder is a peak at or above ``large_at`` (default: the scenario's veto threshold).
    """
    sc = _preset("baseline", presets).with_overrides(
        {"superior.monitoring": 0.0, "brokers.recklessness": 0.5, "brokers.recklessness_concentration": 1.0}
    )
    b = run_episodes(BASELINES["mobilize"], sc, episodes, seed)
    s = sc.superior
    threshold = s.veto_disorder if large_at is None else large_at
    large = b.peak_disorder >= threshold
    serious = (b.peak_disorder >= s.investigation_disorder) & ~large
    punished = b.severity > Severity.NONE
    return {
        "veto_threshold": threshold,
        "large_episodes": int(large.sum()),
        "serious_episodes": int(serious.sum()),
        "punished_after_large": float(punished[large].mean()),
        "punished_after_serious": float(punished[serious].mean()),
        "max_evidence": float(b.evidence.max()),
    }


def measure_partial_concessions(episodes: int, seed: int, presets: Presets = None) -> dict[str, float]:
    """Fact 9: how concessions to the consent baseline split, per preset."""
    out = {}
    for preset in ("baseline", "changxing", "daye"):
        b = run_episodes(BASELINES["consent"], _preset(preset, presets), episodes, seed)
        out[f"{preset}_withdrawn"] = float((b.outcome == Outcome.WITHDRAWN).mean())
        out[f"{preset}_partial_or_suspended"] = float(np.isin(b.outcome, [Outcome.SUSPENDED, Outcome.PARTIAL]).mean())
    return out


LOSS_RECKLESSNESS = (0.1, 0.5, 0.9)


def _crowd_only(scenario: Scenario, **overrides: float) -> Scenario:
    """The scenario with the superior's end states switched off: no evidence, no takeover."""
    return scenario.with_overrides({"superior.monitoring": 0.0, "superior.takeover_disorder": 1.0, **overrides})


def measure_loss_of_control(episodes: int, seed: int, presets: Presets = None) -> dict[str, Any]:
    """Fact 10 (baseline; a superior that only holds, no evidence, no takeover: the crowd alone).

    (a) MOBILIZE on days 0-3, then WAIT, at fixed recklessness ρ (Beta concentration 1000): crowd and
    broker activity five days after the official stopped. (b) Days of PACIFY needed to bring a crowd of
    at least 0.1 below 0.025, for a crowd raised by brokers and one raised by consent.
    """
    after = _STOP_DAY - 1 + 5  # end of the fifth day after the last MOBILIZE
    crowd_after, brokers_after, crowd_at_stop = [], [], []
    for rho in LOSS_RECKLESSNESS:
        sc = _crowd_only(
            _preset("baseline", presets), **{"brokers.recklessness": rho, "brokers.recklessness_concentration": 1000.0}
        )
        t = simulate(mobilize_then_stop(sc.horizon.days), sc, episodes, seed, superior=HoldingSuperior())
        crowd_at_stop.append(float(t.crowd[_STOP_DAY - 1].mean()))
        crowd_after.append(float(t.crowd[after].mean()))
        brokers_after.append(float(t.brokers[after].mean()))

    def days_to_calm(policy: RulePolicy) -> tuple[float, float]:
        t = simulate(policy, _crowd_only(_preset("baseline", presets)), episodes, seed, superior=HoldingSuperior())
        pacify = t.action == Action.PACIFY
        started = pacify.any(axis=0)
        first = np.argmax(pacify, axis=0)
        days = np.arange(t.crowd.shape[0])[:, None]
        calm = (days >= first) & (t.crowd < _PACIFY_AT / 4.0)
        calm_day = np.where(calm.any(axis=0), np.argmax(calm, axis=0), t.crowd.shape[0])  # censored at T
        spell = (calm_day - first + 1)[started]
        return (float(spell.mean()) if spell.size else float("nan")), float(started.mean())

    mobilized_days, mobilized_share = days_to_calm(MOBILIZE_THEN_PACIFY)
    consent_days, consent_share = days_to_calm(CONSENT_THEN_PACIFY)
    return {
        "recklessness": list(LOSS_RECKLESSNESS),
        "crowd_at_stop": crowd_at_stop,
        "crowd_5_days_after": crowd_after,
        "brokers_5_days_after": brokers_after,
        "pacify_days_mobilized": mobilized_days,
        "pacify_days_consent": consent_days,
        "reached_mobilized": mobilized_share,
        "reached_consent": consent_share,
    }


# --- the table ----------------------------------------------------------------------------------------


def _fmt(x: float) -> str:
    return f"{x:.2f}"


@dataclass(frozen=True)
class Fact:
    number: int
    claim: str
    source: str
    test: str
    measure: Callable[..., dict[str, Any]]
    figures: Callable[[dict[str, Any]], str]
    criterion: str
    holds: Callable[[dict[str, Any]], bool]
    mechanism: str


def _f4_figures(m: dict[str, Any]) -> str:
    pairs = ", ".join(
        f"S={s}: {b} ({a:+.2f})" for s, b, a in zip(m["stakes"], m["best"], m["mass_pressure_advantage"], strict=True)
    )
    return f"best policy (mass-pressure advantage): {pairs}"


def _f4_holds(m: dict[str, Any]) -> bool:
    adv = m["mass_pressure_advantage"]
    low = dict(zip(m["stakes"], m["best"], strict=True))
    return (
        mode_of(low[0.1]) == "none"
        and mode_of(low[0.6]) != "none"
        and mode_of(low[1.0]) != "none"
        and all(b >= a - 0.01 for a, b in zip(adv, adv[1:], strict=False))
    )


def _f7_figures(m: dict[str, Any]) -> str:
    compared = [r for r in m["bins"] if r["calm_days"] >= 50 and r["radical_days"] >= 50]
    top = sorted(compared, key=lambda r: -min(r["calm_days"], r["radical_days"]))[:2]
    per_bin = "; ".join(
        f"A∈[{r['crowd'][0]:g},{r['crowd'][1]:g}): R<0.1 {r['calm_rate']:.3f}/day (n={r['calm_days']}), "
        f"R≥0.3 {r['radical_rate']:.3f}/day (n={r['radical_days']})"
        for r in sorted(top, key=lambda r: r["crowd"])
    )
    return (
        f"radical crowds won {m['observed']:.0f} concessions where calm crowds of the same size would have won "
        f"{m['expected']:.0f}: rate ratio {m['ratio']:.2f}; e.g. {per_bin}"
    )


def _f7_holds(m: dict[str, Any]) -> bool:
    return m["expected"] >= 20 and m["ratio"] <= 0.5


def _f10_figures(m: dict[str, Any]) -> str:
    parts = ", ".join(
        f"ρ={r}: crowd {c:.3f}, brokers {b:.2f}"
        for r, c, b in zip(m["recklessness"], m["crowd_5_days_after"], m["brokers_5_days_after"], strict=True)
    )
    return (
        f"5 days after stopping: {parts}; days of PACIFY to calm a crowd: mobilized "
        f"{m['pacify_days_mobilized']:.1f}, consent {m['pacify_days_consent']:.1f}"
    )


def _f10_holds(m: dict[str, Any]) -> bool:
    c, b = m["crowd_5_days_after"], m["brokers_5_days_after"]
    return (
        c[0] < c[1] < c[2]
        and b[0] < b[1] < b[2]
        and c[2] >= 2.0 * c[0]
        and m["pacify_days_mobilized"] >= 1.5 * m["pacify_days_consent"]
    )


FACTS: tuple[Fact, ...] = (
    Fact(
        1,
        "Official channels alone are ineffective; the same petitions backed by a visible orderly crowd win far "
        "more often.",
        "Deng et al. 2022; Ma 2019; Chen, Pan & Xu 2016",
        "test_fact1_official_channels_need_a_crowd",
        measure_official_channels,
        lambda m: (
            f"concession: petition only {_fmt(m['petition_concession'])} ({m['petitions_alone']:.0f} petitions); "
            f"backed by a crowd {_fmt(m['backed_concession'])} ({m['petitions_backed']:.0f} petitions, median "
            f"peak crowd {m['backed_peak_crowd_median']:.2f}, punished {_fmt(m['backed_punishment'])})"
        ),
        "petition only ≤ 0.20; backed ≥ 0.50 and ≥ 3× petition only; backed punished ≤ 0.05",
        lambda m: (
            m["petition_concession"] <= 0.2
            and m["backed_concession"] >= 0.5
            and m["backed_concession"] >= 3 * m["petition_concession"]
            and m["backed_punishment"] <= 0.05
        ),
        "Concession utility grows with pressure Π = A·(1−R)^η·(1+u·U)/Π_ref and its stock: U alone adds "
        "concede_elite·U ≈ 1.3 against a bias of −6 − resolve; a crowd multiplies U's weight through (1+u·U).",
    ),
    Fact(
        2,
        "Consent instability works in Changxing-like conditions: leak + tolerate wins a concession in most "
        "episodes, with rare punishment.",
        "Deng et al. 2022 (Changxing 2013; Southern Weekly)",
        "test_fact2_consent_works_in_changxing",
        measure_consent_changxing,
        lambda m: (
            f"consent on changxing: concession {_fmt(m['concession'])}, punished {_fmt(m['punishment'])}, "
            f"mean return {m['mean_return']:+.2f}, {m['mean_days']:.1f} days"
        ),
        "concession ≥ 0.80; punishment ≤ 0.05",
        lambda m: m["concession"] >= 0.8 and m["punishment"] <= 0.05,
        "Tolerant police cut perceived arrest risk (P = 1−exp(−k·C_eff/A)); leaks inform and lower L, raising "
        "grievance h·(1−L) past thresholds; the crowd stays orderly (R = 0 without brokers or force), so no "
        "investigation opens, and consent's traces (e_leak, e_tol·A) are small at moderate μ.",
    ),
    Fact(
        3,
        "Mobilization backfires with reckless brokers: punishment is common and the return is below consent's.",
        "Deng et al. 2022 (Daye 2005; Hubei CDI report)",
        "test_fact3_mobilization_backfires_in_daye",
        measure_mobilization_backfires,
        lambda m: (
            f"daye punished: mobilize {_fmt(m['mobilize_punishment'])}, mobilize_pacify "
            f"{_fmt(m['mobilize_pacify_punishment'])}; mean return: mobilize {m['mobilize_return']:+.2f}, "
            f"mobilize_pacify {m['mobilize_pacify_return']:+.2f}, consent {m['consent_return']:+.2f}"
        ),
        "both mobilization policies punished ≥ 0.50; their returns below consent's by more than the CIs",
        lambda m: (
            all(m[f"{k}_punishment"] >= 0.5 for k in ("mobilize", "mobilize_pacify"))
            and all(
                m[f"{k}_return"] + m[f"{k}_return_ci95"] < m["consent_return"] - m["consent_return_ci95"]
                for k in ("mobilize", "mobilize_pacify")
            )
        ),
        "Radicalization α·ρ·M·(1−R) makes disorder D = A·R; D opens investigations (and above the veto "
        "threshold guarantees punishment); e_mob·M and arrested brokers' testimony push evidence E up; radicals "
        "are discounted in Π by (1−R)^η; the superior represses disorder (disorder_aversion·D).",
    ),
    Fact(
        4,
        "The use of mass pressure rises with stakes; at low stakes the best policy is passive or official channels.",
        "Deng et al. 2022 (high stakes: Changxing kept 80% of its revenue)",
        "test_fact4_mass_pressure_rises_with_stakes",
        measure_stakes,
        _f4_figures,
        "best at S = 0.1 is passive/petition/accept; best at S = 0.6 and 1.0 uses mass pressure; the advantage "
        "of the best mass-pressure policy over the best other one rises with S (to 0.01)",
        _f4_holds,
        "The end value S·v scales with stakes while action costs (leak, tolerate, mobilize, petition) and the "
        "risks of punishment do not.",
    ),
    Fact(
        5,
        "Higher monitoring μ moves the best policy from mobilization to consent, and at very high μ away from "
        "mass pressure altogether.",
        "Deng et al. 2022; Tirole 1986",
        "test_fact5_monitoring_moves_the_best_policy",
        measure_monitoring,
        lambda m: (
            "ρ = 0.05: best "
            + ", ".join(f"μ={mu}: {b}" for mu, b in zip(m["monitoring"], m["best"], strict=True))
            + f" ({_switch_points(m)}); best return by mode at μ = 0, 0.5, 1: "
            + "; ".join(str(m["by_mode"][i]) for i in (0, 5, 10))
        ),
        "along μ = 0, 0.1, …, 1 the best mode runs mobilized → consent → none, each at least once, never back",
        lambda m: m["ordered"],
        "Evidence E' = E + μ·(e_leak·[leak] + e_tol·[tolerant]·A + e_mob·M + e_dis·D)·(1−E) scales with μ and "
        "mobilization leaves the most; suspicion_weight·E is subtracted from the superior's concession utility.",
    ),
    Fact(
        6,
        "A crackdown on a small aggrieved crowd can trigger a much larger protest.",
        "Daye 2005 (police dogs on ~100 petitioners, then ~10,000 rioters); Cai 2010",
        "test_fact6_crackdown_on_a_small_crowd_escalates",
        measure_crackdown_trigger,
        lambda m: (
            f"daye: crowd at the crackdown {m['crowd_at_crackdown_median']:.4f} (median); trigger "
            f"{_fmt(m['trigger_rate'])} (control {_fmt(m['control_trigger_rate'])}); median peak crowd "
            f"{m['peak_crowd_median']:.3f} vs {m['control_peak_crowd_median']:.3f} without force; "
            f"peak ≥ 10× the crowd struck in {_fmt(m['tenfold_share'])}"
        ),
        "trigger rate ≥ 0.5; median peak crowd ≥ 5× the control's; peak ≥ 10× the crowd struck in ≥ 0.5",
        lambda m: (
            m["trigger_rate"] >= 0.5
            and m["peak_crowd_median"] >= 5 * m["control_peak_crowd_median"]
            and m["tenfold_share"] >= 0.5
        ),
        "Trigger hazard heavy_handedness·force·G·hump(A/A₀), hump(x) = x·e^(1−x): largest for a small aggrieved "
        "crowd, zero on an empty square; a trigger cuts L, jumps R and multiplies recruitment for trigger_days.",
    ),
    Fact(
        7,
        "At equal crowd size, a more radical crowd wins fewer concessions.",
        "Lohmann 1994",
        "test_fact7_radical_crowds_win_less",
        measure_radical_discount,
        _f7_figures,
        "crowd-standardized rate ratio (R ≥ 0.3 vs R < 0.1) ≤ 0.5, with ≥ 20 concessions expected",
        _f7_holds,
        "Pressure counts moderates: Π = A·(1−R)^η·(1+u·U)/Π_ref with η = radical_discount; radical disorder "
        "also raises the utility of repression.",
    ),
    Fact(
        8,
        "Disorder beyond the veto threshold gets the official punished regardless of evidence.",
        "One-vote veto; Weng'an 2008, Shishou 2009; Cai 2010",
        "test_fact8_veto_punishes_without_evidence",
        measure_veto,
        lambda m: (
            f"μ=0 (max evidence {m['max_evidence']:.2f}): punished after peak disorder ≥ {m['veto_threshold']} "
            f"{_fmt(m['punished_after_large'])} (n={m['large_episodes']}), after serious but smaller disorder "
            f"{_fmt(m['punished_after_serious'])} (n={m['serious_episodes']})"
        ),
        "punished after large disorder ≥ 0.95; after serious sub-veto disorder ≤ 0.20 (each n ≥ 100)",
        lambda m: (
            m["punished_after_large"] >= 0.95
            and m["punished_after_serious"] <= 0.2
            and min(m["large_episodes"], m["serious_episodes"]) >= 100
        ),
        "Serious disorder opens an investigation; its verdict is σ(punish_bias + punish_evidence·E), except that "
        "a peak disorder at or above veto_disorder convicts whatever E.",
    ),
    Fact(
        9,
        "Partial concessions (suspension, compensation) are more common than full withdrawal.",
        "Changxing 2013 (suspended); Cai 2010",
        "test_fact9_partial_concessions_dominate",
        measure_partial_concessions,
        lambda m: "; ".join(
            f"{p}: partial or suspended {_fmt(m[f'{p}_partial_or_suspended'])}, withdrawn {_fmt(m[f'{p}_withdrawn'])}"
            for p in ("baseline", "changxing", "daye")
        ),
        "partial or suspended ≥ 2× withdrawn in every preset",
        lambda m: all(
            m[f"{p}_partial_or_suspended"] >= 2 * m[f"{p}_withdrawn"] for p in ("baseline", "changxing", "daye")
        ),
        "The superior's concession is split by share_suspend : share_partial : share_withdraw (0.5 : 0.35 : 0.15).",
    ),
    Fact(
        10,
        "Loss of control: brokers and crowd keep going after the official stops, the longer the more reckless; "
        "pacifying a mobilized crowd is slower than pacifying a consent crowd.",
        "Deng et al. 2022 (over-mobilization)",
        "test_fact10_loss_of_control",
        measure_loss_of_control,
        _f10_figures,
        "crowd and broker activity 5 days after stopping rise with ρ (ρ=0.9 crowd ≥ 2× ρ=0.1); mobilized crowd "
        "takes ≥ 1.5× the PACIFY days of a consent crowd",
        _f10_holds,
        "Brokers decay at decay·(1−ρ) a day and recruit regardless of thresholds (1 − recruit_rate·M); PACIFY "
        "cuts M by only a share and R by δ, while a consent crowd rests on the tolerant posture that PACIFY ends.",
    ),
)


def facts_table(episodes: int = 4000, seed: int = 0, presets: Presets = None) -> list[dict[str, Any]]:
    """Measure every fact afresh; one row per fact: number, claim, source, test, measured, criterion, holds,
    mechanism (and the raw figures under ``figures``). ``presets`` replaces the package's presets."""
    rows = []
    for f in FACTS:
        m = f.measure(episodes, seed, presets)
        rows.append(
            {
                "number": f.number,
                "claim": f.claim,
                "source": f.source,
                "test": f"tests/test_stylized_facts.py::{f.test}",
                "measured": f.figures(m),
                "criterion": f.criterion,
                "holds": bool(f.holds(m)),
                "mechanism": f.mechanism,
                "figures": m,
            }
        )
    return rows


# --- knock-outs: switch off the mechanism a fact rests on, and the fact must go ---------------------------

#: Per fact: the mechanism switched off (dotted overrides applied to every preset) and extra arguments of
#: the measurement. If a fact survived its knock-out, something other than the named mechanism made it.
KNOCKOUTS: dict[int, tuple[str, dict[str, float], dict[str, Any]]] = {
    1: (
        "the superior ignores crowds (concede_pressure = concede_stock = 0)",
        {"superior.concede_pressure": 0.0, "superior.concede_stock": 0.0},
        {},
    ),
    2: (
        "tolerance does not lower arrest risk, leaks neither inform nor delegitimize",
        {"police.tolerant_factor": 1.0, "information.leak_reach": 0.0, "information.leak_legitimacy_drop": 0.0},
        {},
    ),
    3: ("brokers do not radicalize (brokers.radicalization = 0)", {"brokers.radicalization": 0.0}, {}),
    4: (
        "every action is free",
        {f"utility.cost_{a}": 0.0 for a in ("petition", "leak", "tolerate", "mobilize", "pacify", "crackdown")},
        {},
    ),
    5: ("the superior ignores evidence when conceding (suspicion_weight = 0)", {"superior.suspicion_weight": 0.0}, {}),
    6: ("police force never triggers escalation (heavy_handedness = 0)", {"police.heavy_handedness": 0.0}, {}),
    7: ("radicals count like moderates (radical_discount η = 0)", {"superior.radical_discount": 0.0}, {}),
    8: (
        "no one-vote veto (veto threshold raised to 1; large still means ≥ 0.15)",
        {"superior.veto_disorder": 1.0, "superior.takeover_disorder": 1.0},
        {"large_at": 0.15},
    ),
    9: (
        "the superior withdraws as often as it suspends or concedes in part (equal shares)",
        {"superior.share_suspend": 0.5, "superior.share_partial": 0.5, "superior.share_withdraw": 1.0},
        {},
    ),
    10: ("brokers recruit nobody (recruit_rate = 0)", {"brokers.recruit_rate": 0.0}, {}),
}


def knockout_table(episodes: int = 2000, seed: int = 0) -> list[dict[str, Any]]:
    """Each fact measured with its mechanism switched off (:data:`KNOCKOUTS`); ``holds`` should be False."""
    rows = []
    for f in FACTS:
        what, overrides, kwargs = KNOCKOUTS[f.number]
        presets = {name: sc.with_overrides(overrides) for name, sc in PRESETS.items()}
        m = f.measure(episodes, seed, presets, **kwargs)
        rows.append({"number": f.number, "knockout": what, "measured": f.figures(m), "holds": bool(f.holds(m))})
    return rows


# --- sensitivity --------------------------------------------------------------------------------------


def perturbed_presets(key: str, factor: float) -> dict[str, Scenario]:
    """Every preset with parameter ``key`` multiplied by ``factor`` (each preset's own value), clipped to its
    range (whole numbers rounded); the veto threshold is kept at or below the takeover threshold."""
    group, _, attr = key.partition(".")
    lo, hi = next(r["range"] for r in parameter_table() if r["key"] == key)
    out = {}
    for name, sc in PRESETS.items():
        value = getattr(getattr(sc, group), attr)
        new = min(max(value * factor, lo), hi)
        new = int(round(new)) if isinstance(value, int) else new
        moved = sc.with_overrides({key: new})
        s = moved.superior
        if s.veto_disorder > s.takeover_disorder:
            other = "superior.veto_disorder" if key == "superior.takeover_disorder" else "superior.takeover_disorder"
            moved = sc.with_overrides({other: new, key: new})
        out[name] = moved
    return out


def sensitivity(
    episodes: int = 2000,
    seed: int = 0,
    factor: float = 0.5,
    keys: Sequence[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """For each parameter, the facts that fail when it is moved by −``factor`` and +``factor`` (relative).

    ``keys`` defaults to every parameter except the numerical ``population.quadrature_nodes`` and those
    whose value is zero in every preset (a relative move leaves them unchanged). One row per key: key,
    source, baseline value, low and high baseline values, and the numbers of the facts failing at each.
    """
    table = {r["key"]: r for r in parameter_table()}
    if keys is None:
        keys = [
            k
            for k in table
            if k != "population.quadrature_nodes"
            and any(getattr(getattr(sc, k.split(".")[0]), k.split(".")[1]) != 0 for sc in PRESETS.values())
        ]
    rows = []
    for key in keys:
        row: dict[str, Any] = {"key": key, "source": table[key]["source"]}
        group, _, attr = key.partition(".")
        row["value"] = getattr(getattr(PRESETS["baseline"], group), attr)
        for label, f in (("low", 1.0 - factor), ("high", 1.0 + factor)):
            presets = perturbed_presets(key, f)
            row[f"{label}_value"] = getattr(getattr(presets["baseline"], group), attr)
            results = facts_table(episodes, seed, presets)
            row[f"{label}_fails"] = [r["number"] for r in results if not r["holds"]]
        rows.append(row)
        if progress is not None:
            progress(f"{key}: −{factor:.0%} fails {row['low_fails']}, +{factor:.0%} fails {row['high_fails']}")
    return rows


def sensitivity_markdown(rows: list[dict[str, Any]]) -> str:
    """The sensitivity rows as the Markdown table of docs/MODEL.md."""

    def fails(x: list[int]) -> str:
        return "all hold" if not x else "fails " + ", ".join(map(str, x))

    lines = ["| parameter | source | value | −50% | facts | +50% | facts |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| `{r['key']}` | {r['source']} | {r['value']:g} | {r['low_value']:g} | {fails(r['low_fails'])} | "
            f"{r['high_value']:g} | {fails(r['high_fails'])} |"
        )
    return "\n".join(lines)


def _markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| # | claim | source | test | measured | criterion | holds |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        cells = [str(r["number"]), r["claim"], r["source"], f"`{r['test'].split('::')[1]}`", r["measured"]]
        cells += [r["criterion"], "yes" if r["holds"] else "**no**"]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def _plain(rows: list[dict[str, Any]]) -> str:
    out = []
    for r in rows:
        out.append(f"[{'PASS' if r['holds'] else 'FAIL'}] {r['number']}. {r['claim']}")
        out.append(f"    source:    {r['source']}")
        out.append(f"    test:      {r['test']}")
        out.append(f"    measured:  {r['measured']}")
        out.append(f"    criterion: {r['criterion']}")
        out.append(f"    mechanism: {r['mechanism']}")
    return "\n".join(out)


def _regions_text(stakes: float, episodes: int, seed: int) -> str:
    rhos, mus = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.8), (0.0, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0)
    sc = Scenario.preset("baseline").with_overrides({"utility.stakes": stakes})
    grid = policy_regions(sc, rhos, mus, episodes, seed)
    lines = [
        f"best mode, baseline at stakes {stakes} (rows ρ, columns μ)",
        "ρ \\ μ  " + " ".join(f"{m:>9}" for m in mus),
    ]
    for rho in rhos:
        lines.append(f"{rho:<6} " + " ".join(f"{grid[(rho, mu)]:>9}" for mu in mus))
    counts = {m: sum(v == m for v in grid.values()) for m in ("none", "consent", "mobilized")}
    lines.append("cells: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return "\n".join(lines)


_DESCRIPTION = """\
Measure the ten stylized facts of docs/MODEL.md afresh with seeded rollouts of scripted policies and
print, for each, the claim, its source, the measured figures, the criterion and whether it holds (exit
status 1 if one fails)."""
_EXAMPLES = """\
examples:
  massbargain facts                          # the table (about a minute on 2 cores)
  massbargain facts --markdown               # as in docs/MODEL.md
  massbargain facts --episodes 1000 --seed 3
  massbargain facts --replays --knockouts    # also the case replays and each mechanism switched off
  massbargain facts --regions 0.6 0.9        # also the best mode over recklessness x monitoring
"""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``facts`` subcommand on an argparse ``subparsers`` object; :func:`run` executes it."""
    p = subparsers.add_parser(
        "facts",
        help="measure the ten stylized facts afresh and print the table",
        description=_DESCRIPTION,
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_arguments(p)
    p.set_defaults(func=run)
    return p


def _add_arguments(p: argparse.ArgumentParser) -> None:
    from massbargain.experiments.cli.main import positive_int, seed_int

    p.add_argument(
        "--episodes", type=positive_int, default=4000, help="episodes per policy and scenario (default 4000)"
    )
    p.add_argument("--seed", type=seed_int, default=0, help="seed of every rollout (default 0)")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table (as in docs/MODEL.md)")
    p.add_argument(
        "--replays",
        action="store_true",
        help="also play the Changxing and Daye case replays on both presets and print their table",
    )
    p.add_argument(
        "--knockouts",
        action="store_true",
        help="also measure each fact with the mechanism it rests on switched off (each should then fail)",
    )
    p.add_argument(
        "--sensitivity",
        action="store_true",
        help="also move every parameter by -50%% and +50%% and list the facts that fail (slow: ~25 min)",
    )
    p.add_argument(
        "--regions",
        type=float,
        nargs="*",
        metavar="STAKES",
        help="also print the best-mode grid over recklessness x monitoring at these stakes (default 0.6 0.9)",
    )


_REPLAY_ROWS = (
    ("concession (any)", "concession_rate"),
    ("suspended or withdrawn, unpunished", "suspended_or_withdrawn_unpunished"),
    ("punished", "punishment_rate"),
    ("riot (peak disorder ≥ veto threshold)", "riot_rate"),
    ("repressed by the superior", "repressed_rate"),
    ("investigated", "investigated_rate"),
    ("riot + repression + investigation", "riot_repressed_investigated"),
    ("trigger event", "trigger_rate"),
    ("median peak crowd", "peak_crowd_median"),
    ("median peak disorder", "peak_disorder_median"),
    ("mean return", "mean_return"),
    ("mean days", "mean_length"),
)


def replays_markdown(episodes: int = 4000, seed: int = 0) -> str:
    """The case replays (``massbargain.cases``) on their own preset and on the other one, as the Markdown
    table of docs/MODEL.md section 11."""
    from massbargain.cases import CHANGXING_REPLAY, DAYE_REPLAY, replay_summary, simulate

    columns = [
        ("Changxing path, changxing preset", CHANGXING_REPLAY, "changxing"),
        ("Daye path, daye preset", DAYE_REPLAY, "daye"),
        ("Daye path, changxing preset", DAYE_REPLAY, "changxing"),
        ("Changxing path, daye preset", CHANGXING_REPLAY, "daye"),
    ]
    summaries = []
    for _, policy, preset in columns:
        scenario = Scenario.preset(preset)
        summaries.append(replay_summary(simulate(policy, scenario, episodes, seed), scenario))
    lines = ["| share of episodes | " + " | ".join(c[0] for c in columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for label, key in _REPLAY_ROWS:
        fmt = (
            "{:+.2f}"
            if key == "mean_return"
            else "{:.1f}"
            if key == "mean_length"
            else "{:.3f}"
            if "median" in key
            else "{:.2f}"
        )
        lines.append(f"| {label} | " + " | ".join(fmt.format(s[key]) for s in summaries) + " |")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Run the ``facts`` subcommand; returns 0 if every fact holds, 1 otherwise."""
    rows = facts_table(args.episodes, args.seed)
    print(_markdown(rows) if args.markdown else _plain(rows))
    if args.regions is not None:
        for stakes in args.regions or [0.6, 0.9]:
            print()
            print(_regions_text(stakes, min(args.episodes, 1000), args.seed))
    if args.replays:
        print()
        print(replays_markdown(min(args.episodes, 4000), args.seed))
    if args.knockouts:
        print()
        print("| # | mechanism switched off | measured | fact holds |")
        print("|---|---|---|---|")
        for r in knockout_table(min(args.episodes, 2000), args.seed):
            print(f"| {r['number']} | {r['knockout']} | {r['measured']} | {'yes' if r['holds'] else 'no'} |")
    if args.sensitivity:
        print()
        progress = (lambda line: print(line, file=sys.stderr, flush=True)) if not args.markdown else None
        print(sensitivity_markdown(sensitivity(min(args.episodes, 1500), args.seed, progress=progress)))
    return 0 if all(r["holds"] for r in rows) else 1


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m massbargain.experiments.measures.facts [--episodes N] [--seed S] [--markdown] [--regions ...]``."""
    parser = argparse.ArgumentParser(
        prog="massbargain facts",
        description=_DESCRIPTION,
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
