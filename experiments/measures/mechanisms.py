"""Mechanism checks: each one measures a single rule of the model at work. They are unit tests of the
dynamics, not findings: a check restates its rule, so knocking the rule out proves nothing (docs/MODEL.md,
"Mechanism checks"). The emergent facts are in :mod:`massbargain.experiments.measures.facts`.

Includes the measurement of how fast the official can learn the brokers' hidden recklessness ρ
(:func:`measure_recklessness_learning`): the curve of the best predictor's error against days of
mobilization.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from massbargain import core
from massbargain.actions import Action, Outcome, Response
from massbargain.agents import families
from massbargain.agents.baselines import BASELINES
from massbargain.cases import HoldingSuperior, simulate
from massbargain.core import OBS_INDEX
from massbargain.experiments.measures import scripted as sp
from massbargain.policy import RulePolicy
from massbargain.rollout import run_episodes
from massbargain.scenario import Scenario

__all__ = [
    "MECHANISMS",
    "Mechanism",
    "measure_recklessness_learning",
    "mechanism_table",
    "mechanisms_markdown",
    "plain",
]

_I = OBS_INDEX


def measure_radical_discount(episodes: int, seed: int) -> dict[str, Any]:
    """Daily concession rate of radical (R ≥ 0.3) and calm (R < 0.1) crowds of equal size (baseline, μ = 0),
    indirectly standardized over crowd bins (the rule: Π = A·(1 − R)^η·...). Stability shelving, which
    answers disorder rather than pressure, is switched off so that the check sees the pressure rule alone."""
    sc = Scenario.preset("baseline").with_overrides(
        {
            "superior.monitoring": 0.0,
            "brokers.recklessness": 0.5,
            "brokers.recklessness_concentration": 1.0,
            "superior.shelve_disorder": 0.0,
            "superior.takeover_shelve": 0.0,
        }
    )
    t = simulate(sp.MOBILIZE_NO_PETITION, sc, episodes, seed)
    repressed = t.response == Response.REPRESS
    keep = 1.0 - sc.superior.repress_dispersal * repressed
    seen = np.where(keep > 0.0, t.crowd / np.where(keep > 0.0, keep, 1.0), np.nan)
    concede = t.response >= Response.SUSPEND
    edges = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.7, 1.01)
    observed = expected = 0.0
    for lo, hi in zip(edges, edges[1:], strict=False):
        in_bin = t.alive & (seen >= lo) & (seen < hi)
        calm, radical = in_bin & (t.radical < 0.1), in_bin & (t.radical >= 0.3)
        if calm.sum() >= 50 and radical.sum() >= 50:
            observed += float(concede[radical].sum())
            expected += float(radical.sum()) * float(concede[calm].mean())
    return {"observed": observed, "expected": expected, "ratio": observed / expected if expected else float("nan")}


def measure_veto(episodes: int, seed: int) -> dict[str, float]:
    """Punishment by peak disorder with no evidence possible (μ = 0): the one-vote veto rule."""
    sc = Scenario.preset("baseline").with_overrides(
        {"superior.monitoring": 0.0, "brokers.recklessness": 0.5, "brokers.recklessness_concentration": 1.0}
    )
    b = run_episodes(BASELINES["mobilize"], sc, episodes, seed)
    s = sc.superior
    large = b.peak_disorder >= s.veto_disorder
    serious = (b.peak_disorder >= s.investigation_disorder) & ~large
    return {
        "large": int(large.sum()),
        "serious": int(serious.sum()),
        "punished_after_large": float(b.punished[large].mean()),
        "punished_after_serious": float(b.punished[serious].mean()),
    }


def measure_concession_shares(episodes: int, seed: int) -> dict[str, float]:
    """How the consent baseline's concessions split, per preset (the rule: fixed shares)."""
    out = {}
    for preset in ("baseline", "changxing", "daye"):
        b = run_episodes(BASELINES["consent"], Scenario.preset(preset), episodes, seed)
        out[f"{preset}_withdrawn"] = float((b.outcome == Outcome.WITHDRAWN).mean())
        out[f"{preset}_partial_or_suspended"] = float(np.isin(b.outcome, [Outcome.SUSPENDED, Outcome.PARTIAL]).mean())
    return out


def measure_broker_persistence(episodes: int, seed: int) -> dict[str, Any]:
    """Broker activity five days after the official stops mobilizing, by recklessness (the decay law)."""
    out = []
    for rho in (0.1, 0.5, 0.9):
        sc = Scenario.preset("baseline").with_overrides(
            {
                "superior.monitoring": 0.0,
                "superior.takeover_disorder": 1.0,
                "brokers.recklessness": rho,
                "brokers.recklessness_concentration": 1000.0,
            }
        )
        t = simulate(sp.mobilize_then_stop(sc.horizon.days), sc, episodes, seed, superior=HoldingSuperior())
        out.append(float(t.brokers[sp.STOP_DAY - 1 + 5].mean()))
    return {"recklessness": [0.1, 0.5, 0.9], "brokers_5_days_after": out}


def _consent_member(scenario: Scenario) -> Any:
    return families.parse_member(
        "consent(leak_until=0.7, tolerate=yes, pacify_at=0.1, petition=daily, back_off=never)",
        days=scenario.horizon.days,
    )


def measure_resolve(episodes: int, seed: int) -> dict[str, float]:
    """Concessions won by an orderly consent policy against a superior of mean resolve 1 and 8 (the rule:
    saturating pressure)."""
    out = {}
    for resolve in (1.0, 8.0):
        sc = Scenario.preset("baseline").with_overrides({"superior.resolve": resolve})
        out[f"resolve_{resolve:g}"] = float(run_episodes(_consent_member(sc), sc, episodes, seed).conceded.mean())
    return out


def _empty_square_crackdown(days: int = 4, horizon: int = 30) -> RulePolicy:
    def rule(obs: np.ndarray) -> np.ndarray:
        early = obs[:, _I["time_used"]] < (days - 0.5) / horizon
        radical = obs[:, _I["radical_share"]] > 0.3
        return np.where(early, Action.CRACKDOWN, np.where(radical, Action.PACIFY, Action.PETITION))

    return RulePolicy(
        "empty_square_crackdown",
        rule,
        "Issue 12's script: CRACKDOWN on days 0-3 (nobody there), then PACIFY if R > 0.3, else PETITION.",
    )


def measure_empty_crackdown(episodes: int, seed: int) -> dict[str, float]:
    """Four crackdowns on an empty square, then PACIFY/PETITION, minus PETITION alone, per preset (the rule:
    a crackdown's legitimacy cost scales with the crowd struck). Paired, same episodes."""
    out = {}
    for preset in ("baseline", "changxing", "daye"):
        sc = Scenario.preset(preset)
        d = (
            run_episodes(_empty_square_crackdown(horizon=sc.horizon.days), sc, episodes, seed).returns
            - run_episodes(BASELINES["petition"], sc, episodes, seed).returns
        )
        out[preset] = float(d.mean())
        out[f"{preset}_ci95"] = float(1.96 * d.std(ddof=1) / np.sqrt(d.size))
    return out


LEARNING_DAYS = (1, 2, 3, 5, 8, 12)


def measure_recklessness_learning(
    episodes: int, seed: int, scenario: Scenario | None = None, days: tuple[int, ...] = LEARNING_DAYS
) -> dict[str, Any]:
    """How well the brokers' hidden recklessness ρ can be known after n days of mobilization.

    The official mobilizes every day (a superior that only holds, no monitoring or takeover, so that
    episodes last). Each day with active brokers, their conduct ρ_t is recovered from two consecutive
    observations of broker activity (M' = M̃·(1 − decay·(1 − ρ_t)), M̃ the activity after today's MOBILIZE):
    everything the observation says about ρ passes through ρ_t (radicalization and decay both use it). The
    best predictor of ρ from n days is then the Bayes posterior median under the model (Beta prior on ρ,
    logit-normal ρ_t around it), computed on a grid: no fitted predictor can beat it in mean absolute error.
    Returned: its error and the prior median's, for each n in ``days``.
    """
    sc = (scenario or Scenario.preset("baseline")).with_overrides(
        {"superior.monitoring": 0.0, "superior.takeover_disorder": 1.0}
    )
    bro = sc.brokers
    rng = np.random.default_rng(seed)
    state = core.initial_state(sc, rng, episodes)
    mobilize = np.full(episodes, int(Action.MOBILIZE))
    e = core.constants(sc).batch.effects[int(Action.MOBILIZE)]
    holding = HoldingSuperior()
    obs = core.observe(state, sc)
    rho_t = np.full((max(days), episodes), np.nan)
    for day in range(max(days)):
        m_mid = obs[:, _I["broker_activity"]].astype(float) * e[core._BROKER_MUL] + e[core._BROKER_ADD]
        core.step(state, mobilize, sc, rng, holding)
        obs = core.observe(state, sc)
        m_next = obs[:, _I["broker_activity"]].astype(float)
        rho_t[day] = 1.0 - (1.0 - m_next / m_mid) / bro.decay
    rho = state.recklessness
    grid = np.linspace(0.0005, 0.9995, 1999)
    mean, conc = bro.recklessness, bro.recklessness_concentration
    log_prior = (mean * conc - 1.0) * np.log(grid) + ((1.0 - mean) * conc - 1.0) * np.log1p(-grid)
    prior_median = grid[
        np.searchsorted(np.cumsum(np.exp(log_prior - log_prior.max())), 0.5 * np.exp(log_prior - log_prior.max()).sum())
    ]
    logit = np.log(grid / (1.0 - grid))
    out: dict[str, Any] = {"days": list(days), "prior_mae": float(np.abs(rho - prior_median).mean()), "mae": []}
    s = bro.recklessness_noise
    for n in days:
        if s > 0:
            x = np.clip(rho_t[:n], 1e-9, 1.0 - 1e-9)
            lx = np.log(x / (1.0 - x))  # (n, episodes)
            loglik = -0.5 * ((lx[:, :, None] - logit[None, None, :]) / s) ** 2
            logpost = log_prior[None, :] + loglik.sum(axis=0)
            post = np.exp(logpost - logpost.max(axis=1, keepdims=True))
            cdf = np.cumsum(post, axis=1)
            median = grid[np.argmax(cdf >= 0.5 * cdf[:, -1:], axis=1)]
        else:  # v0: one day reveals ρ exactly
            median = rho_t[n - 1]
        out["mae"].append(float(np.abs(rho - median).mean()))
    out["ratio"] = [m / out["prior_mae"] for m in out["mae"]]
    return out


def measure_evidence_inquiries(episodes: int, seed: int) -> dict[str, float]:
    """Inquiries opened on evidence alone: an orderly consent policy under full monitoring (μ = 1), episodes
    with no serious disorder and no repression (the rule: hazard 1 − exp(−ι·E²))."""
    sc = Scenario.preset("baseline").with_overrides({"superior.monitoring": 1.0})
    t = simulate(_consent_member(sc), sc, episodes, seed)
    calm = (t.peak_disorder < sc.superior.investigation_disorder) & ~(t.response == Response.REPRESS).any(axis=0)
    investigated = t.investigating.any(axis=0)
    return {"calm_episodes": int(calm.sum()), "investigated_when_calm": float(investigated[calm].mean())}


@dataclass(frozen=True)
class Mechanism:
    """One mechanism check: the rule it exercises, its measurement and its criterion."""

    name: str
    rule: str
    measure: Callable[[int, int], dict[str, Any]]
    figures: Callable[[dict[str, Any]], str]
    criterion: str
    holds: Callable[[dict[str, Any]], bool]


MECHANISMS: tuple[Mechanism, ...] = (
    Mechanism(
        "radical discount",
        "Π = A·(1 − R)^η·(1 + u·U)/Π_ref (Lohmann 1994)",
        measure_radical_discount,
        lambda m: (
            f"radical crowds won {m['observed']:.0f} concessions where calm ones of equal size would have won "
            f"{m['expected']:.0f}: ratio {m['ratio']:.2f}"
        ),
        "ratio ≤ 0.5 with ≥ 20 expected",
        lambda m: m["expected"] >= 20 and m["ratio"] <= 0.5,
    ),
    Mechanism(
        "one-vote veto",
        "peak disorder ≥ veto_disorder convicts whatever the evidence",
        measure_veto,
        lambda m: (
            f"μ = 0: punished after peak disorder ≥ veto {m['punished_after_large']:.2f} (n={m['large']}), after "
            f"serious sub-veto disorder {m['punished_after_serious']:.2f} (n={m['serious']})"
        ),
        "≥ 0.95 after large disorder; ≤ 0.20 after sub-veto disorder (n ≥ 100 each)",
        lambda m: (
            m["punished_after_large"] >= 0.95
            and m["punished_after_serious"] <= 0.2
            and min(m["large"], m["serious"]) >= 100
        ),
    ),
    Mechanism(
        "concession shares",
        "a concession splits SUSPEND : PARTIAL : WITHDRAW = 0.5 : 0.35 : 0.15",
        measure_concession_shares,
        lambda m: "; ".join(
            f"{p}: partial or suspended {m[f'{p}_partial_or_suspended']:.2f}, withdrawn {m[f'{p}_withdrawn']:.2f}"
            for p in ("baseline", "changxing", "daye")
        ),
        "partial or suspended ≥ 2× withdrawn in every preset",
        lambda m: all(
            m[f"{p}_partial_or_suspended"] >= 2 * m[f"{p}_withdrawn"] for p in ("baseline", "changxing", "daye")
        ),
    ),
    Mechanism(
        "broker persistence",
        "M decays at decay·(1 − ρ_t) a day",
        measure_broker_persistence,
        lambda m: (
            "brokers 5 days after stopping: "
            + ", ".join(f"ρ̄={r}: {b:.2f}" for r, b in zip(m["recklessness"], m["brokers_5_days_after"], strict=True))
        ),
        "rises with ρ̄",
        lambda m: all(a < b for a, b in zip(m["brokers_5_days_after"], m["brokers_5_days_after"][1:], strict=False)),
    ),
    Mechanism(
        "a resolute superior holds (v1)",
        "pressure enters the concession utility as x/(1 + σ_Π·x)",
        measure_resolve,
        lambda m: (
            f"orderly consent wins a concession in {m['resolve_1']:.2f} of episodes at resolve 1, "
            f"{m['resolve_8']:.2f} at resolve 8"
        ),
        "≥ 0.6 at resolve 1; ≤ 0.15 at resolve 8",
        lambda m: m["resolve_1"] >= 0.6 and m["resolve_8"] <= 0.15,
    ),
    Mechanism(
        "no crowd, no show of force (v1)",
        "a crackdown's legitimacy cost scales with min(A/A_c, 1); on (nearly) nobody it leaves the posture",
        measure_empty_crackdown,
        lambda m: (
            "4 crackdowns on an empty square then PACIFY/PETITION, minus PETITION alone: "
            + ", ".join(f"{p} {m[p]:+.3f} ± {m[f'{p}_ci95']:.3f}" for p in ("baseline", "changxing", "daye"))
        ),
        "no gain on any preset: mean ≤ 0 and lower 95% bound < 0 (v0: +0.07 to +0.32)",
        lambda m: all(m[p] <= 0.0 and m[p] - m[f"{p}_ci95"] < 0.0 for p in ("baseline", "changxing", "daye")),
    ),
    Mechanism(
        "recklessness is learned over days (v1)",
        "ρ_t = σ(logit ρ + s·z_t) drives radicalization and decay",
        lambda episodes, seed: measure_recklessness_learning(min(episodes, 4000), seed),
        lambda m: (
            f"prior MAE {m['prior_mae']:.3f}; best predictor's MAE after "
            + ", ".join(f"{n} d: {e:.3f} ({r:.2f}×)" for n, e, r in zip(m["days"], m["mae"], m["ratio"], strict=True))
        ),
        "after 1 day ≥ 0.5× the prior's error; after 8 days below the 1-day error by ≥ 25%",
        lambda m: m["ratio"][0] >= 0.5 and m["mae"][m["days"].index(8)] <= 0.75 * m["mae"][0],
    ),
    Mechanism(
        "evidence alone opens inquiries (v1)",
        "daily hazard 1 − exp(−ι·E²) of an investigation",
        measure_evidence_inquiries,
        lambda m: (
            f"μ = 1, orderly consent: investigated in {m['investigated_when_calm']:.2f} of "
            f"{m['calm_episodes']} episodes without serious disorder or repression"
        ),
        "≥ 0.2 of ≥ 100 such episodes",
        lambda m: m["calm_episodes"] >= 100 and m["investigated_when_calm"] >= 0.2,
    ),
)


def mechanism_table(episodes: int = 2000, seed: int = 0) -> list[dict[str, Any]]:
    """Every mechanism check measured afresh: name, rule, measured, criterion, holds, figures."""
    rows = []
    for c in MECHANISMS:
        m = c.measure(episodes, seed)
        rows.append(
            {
                "name": c.name,
                "rule": c.rule,
                "measured": c.figures(m),
                "criterion": c.criterion,
                "holds": bool(c.holds(m)),
                "figures": m,
            }
        )
    return rows


def mechanisms_markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["| mechanism check | rule | measured | criterion | holds |", "|---|---|---|---|---|"]
    for r in rows:
        cells = [r["name"], r["rule"], r["measured"], r["criterion"], "yes" if r["holds"] else "**no**"]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def plain(rows: list[dict[str, Any]]) -> str:
    out = ["Mechanism checks (unit tests of one rule each; not facts):"]
    for r in rows:
        out.append(f"[{'PASS' if r['holds'] else 'FAIL'}] {r['name']}: {r['rule']}")
        out.append(f"    measured:  {r['measured']}")
        out.append(f"    criterion: {r['criterion']}")
    return "\n".join(out)
