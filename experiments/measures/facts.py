"""The emergent stylized facts of docs/MODEL.md, measured afresh against the best scripted family members.

A *fact* is something the model does that no single equation says: it follows from the interaction of two
or more mechanisms. Each fact here has a measurement (seeded batched rollouts), a criterion, and a
*knock-out*: a mechanism the fact relies on but does not restate is switched off, and the fact must then
fail. Checks that restate one rule (the radical discount, the veto, the concession shares, ...) are not facts:
they live in :mod:`massbargain.experiments.measures.mechanisms` as mechanism checks.

Wherever a fact speaks of "the best consent policy" (or mobilization, or no mass pressure) it means the best
member of the scripted families of that mode, chosen on other episodes than the ones reported
(:mod:`massbargain.experiments.measures.choice`).

``massbargain facts`` prints the table (``--markdown`` as in docs/MODEL.md, ``--knockouts``, ``--mechanisms``,
``--replays``, ``--episodes``, ``--seed``); ``tests/test_stylized_facts.py`` asserts every fact and its
knock-out on the same functions.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from massbargain.actions import Action
from massbargain.agents.baselines import BASELINES
from massbargain.cases import REPLAYS, HoldingSuperior, simulate
from massbargain.experiments.measures import scripted as sp
from massbargain.experiments.measures.choice import best_members, best_of, difference, region
from massbargain.rollout import run_episodes
from massbargain.scenario import PRESETS, Scenario

__all__ = [
    "FACTS",
    "KNOCKOUTS",
    "Fact",
    "add_parser",
    "facts_table",
    "knockout_table",
    "main",
    "run",
]

#: Scenarios to measure on, by preset name (None: the package's presets). Knock-outs and the sensitivity
#: analysis pass modified copies.
Presets = Mapping[str, Scenario] | None


def _preset(name: str, presets: Presets) -> Scenario:
    return Scenario.preset(name) if presets is None else presets[name]


def _rates(batch: Any, scenario: Scenario) -> dict[str, float]:
    riot = batch.peak_disorder >= scenario.superior.veto_disorder
    violent = (batch.triggers > 0) | (batch.peak_disorder >= scenario.superior.investigation_disorder)
    return {
        "return": float(batch.returns.mean()),
        "violent": float(violent.mean()),
        "concession": float(batch.conceded.mean()),
        "punishment": float(batch.punished.mean()),
        "riot": float(riot.mean()),
        "pyrrhic": float((batch.conceded & batch.punished).mean()),
    }


# --- the measurements -------------------------------------------------------------------------------------


def measure_official_channels(episodes: int, seed: int, presets: Presets = None) -> dict[str, float]:
    """Fact 1 (baseline): petitions alone vs the same petitions backed by a tolerated, informed crowd."""
    sc = _preset("baseline", presets)
    alone = run_episodes(BASELINES["petition"], sc, episodes, seed)
    backed = run_episodes(sp.PETITION_WITH_CROWD, sc, episodes, seed)
    return {
        "petition_concession": float(alone.conceded.mean()),
        "backed_concession": float(backed.conceded.mean()),
        "backed_peak_crowd_median": float(np.median(backed.peak_crowd)),
        "backed_punishment": float(backed.punished.mean()),
    }


def measure_consent_changxing(episodes: int, seed: int, presets: Presets = None) -> dict[str, Any]:
    """Fact 2 (changxing): the best consent member against the best of every other mode."""
    sc = _preset("changxing", presets)
    bests = best_members(sc, seed, episodes)
    consent = bests["consent"]
    others = max((b for m, b in bests.items() if m != "consent"), key=lambda b: b.mean_return)
    diff, half = difference(consent, others)
    return {
        "member": consent.name,
        **_rates(consent.batch, sc),
        "runner_up": others.name,
        "margin": diff,
        "margin_ci95": half,
        "region": region(bests),
    }


def measure_mobilization_backfires(episodes: int, seed: int, presets: Presets = None) -> dict[str, Any]:
    """Fact 3 (daye): the best mobilization member against the best consent member; and what happens when the
    official keeps the brokers busy (the ``mobilize`` baseline)."""
    sc = _preset("daye", presets)
    bests = best_members(sc, seed, episodes, modes=("consent", "mobilized"))
    diff, half = difference(bests["mobilized"], bests["consent"])
    busy = run_episodes(BASELINES["mobilize"], sc, episodes, seed)
    return {
        "mobilized_member": bests["mobilized"].name,
        "consent_member": bests["consent"].name,
        "mobilized_return": bests["mobilized"].mean_return,
        "consent_return": bests["consent"].mean_return,
        "margin": diff,
        "margin_ci95": half,
        "busy_punishment": float(busy.punished.mean()),
        "busy_riot": float((busy.peak_disorder >= sc.superior.veto_disorder).mean()),
    }


def measure_consent_risk(episodes: int, seed: int, presets: Presets = None) -> dict[str, Any]:
    """Fact 4 (baseline): riots and punishment under the best consent and the best mobilization members."""
    sc = _preset("baseline", presets)
    bests = best_members(sc, seed, episodes, modes=("consent", "mobilized"))
    out: dict[str, Any] = {"episodes": episodes}
    for mode in ("consent", "mobilized"):
        out[f"{mode}_member"] = bests[mode].name
        for k, v in _rates(bests[mode].batch, sc).items():
            out[f"{mode}_{k}"] = v
    # The busiest mobilization the families contain is not the best one; the risk of mobilization as such is
    # measured with the policy that keeps the brokers active (the baseline of that name).
    busy = run_episodes(BASELINES["mobilize"], sc, episodes, seed)
    for k, v in _rates(busy, sc).items():
        out[f"busy_{k}"] = v
    return out


STAKES_GRID = (0.1, 0.3, 0.6, 1.0)


def measure_stakes(episodes: int, seed: int, presets: Presets = None) -> dict[str, Any]:
    """Fact 5 (baseline): the best mode, and the advantage of the best mass-pressure member over the best
    member without mass pressure, along the stakes."""
    regions, advantage = [], []
    for stakes in STAKES_GRID:
        sc = _preset("baseline", presets).with_overrides({"utility.stakes": stakes})
        bests = best_members(sc, seed, episodes)
        regions.append(region(bests))
        mass = max(bests["consent"].mean_return, bests["mobilized"].mean_return)
        advantage.append(mass - best_of(bests, "none").mean_return)
    return {"stakes": list(STAKES_GRID), "region": regions, "advantage": advantage}


MONITORING_GRID = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


def measure_monitoring_deters(episodes: int, seed: int, presets: Presets = None) -> dict[str, Any]:
    """Fact 6 (baseline stakes): the best consent member's margin over the best member without mass pressure,
    along monitoring μ."""
    margins, halves = [], []
    for mu in MONITORING_GRID:
        sc = _preset("baseline", presets).with_overrides({"superior.monitoring": mu})
        bests = best_members(sc, seed, episodes, modes=("none", "exit", "consent"))
        d, h = difference(bests["consent"], best_of(bests, "none"))
        margins.append(d)
        halves.append(h)
    return {"monitoring": list(MONITORING_GRID), "margin": margins, "margin_ci95": halves}


LOW_RECKLESSNESS = 0.05
_MODE_ORDER = {"mobilized": 0, "consent": 1, "none": 2, "control": 2}


def measure_monitoring_modes(episodes: int, seed: int, presets: Presets = None) -> dict[str, Any]:
    """Fact 7 (baseline, prudent brokers ρ̄ = 0.05): the best mode along monitoring μ."""
    regions, returns = [], []
    for mu in MONITORING_GRID:
        sc = _preset("baseline", presets).with_overrides(
            {"brokers.recklessness": LOW_RECKLESSNESS, "superior.monitoring": mu}
        )
        bests = best_members(sc, seed, episodes)
        regions.append(region(bests))
        returns.append({m: round(b.mean_return, 3) for m, b in bests.items() if m in ("none", "consent", "mobilized")})
    rank = [_MODE_ORDER[r] for r in regions]
    ordered = all(a <= b for a, b in zip(rank, rank[1:], strict=False)) and set(rank) == {0, 1, 2}
    return {"monitoring": list(MONITORING_GRID), "region": regions, "returns": returns, "ordered": ordered}


RECKLESS_GRID = (0.05, 0.3, 0.8)


def measure_recklessness_modes(episodes: int, seed: int, presets: Presets = None) -> dict[str, Any]:
    """Fact 8 (baseline, no monitoring μ = 0): the best mobilization member's margin over the best consent
    member as broker recklessness ρ̄ rises."""
    regions, margins, halves = [], [], []
    for rho in RECKLESS_GRID:
        sc = _preset("baseline", presets).with_overrides({"brokers.recklessness": rho, "superior.monitoring": 0.0})
        bests = best_members(sc, seed, episodes)
        regions.append(region(bests))
        d, h = difference(bests["mobilized"], bests["consent"])
        margins.append(d)
        halves.append(h)
    return {"recklessness": list(RECKLESS_GRID), "region": regions, "margin": margins, "margin_ci95": halves}


def measure_crackdown_trigger(episodes: int, seed: int, presets: Presets = None) -> dict[str, float]:
    """Fact 9 (daye): one crackdown on the first small crowd, against the same leaks without force."""
    sc = _preset("daye", presets)
    force = simulate(sp.CRACKDOWN_SMALL, sc, episodes, seed)
    control = simulate(sp.LEAK_THEN_WAIT, sc, episodes, seed)
    cracked = force.action == Action.CRACKDOWN
    has = cracked.any(axis=0)
    first = np.argmax(cracked, axis=0)
    cols = np.arange(force.episodes)
    before = np.where(first > 0, force.crowd[np.maximum(first - 1, 0), cols], 0.0)  # the crowd struck
    return {
        "crackdown_share": float(has.mean()),
        "crowd_at_crackdown_median": float(np.median(before[has])),
        "trigger_rate": float(force.triggered.any(axis=0)[has].mean()),
        "peak_crowd_median": float(np.median(force.peak_crowd[has])),
        "control_peak_crowd_median": float(np.median(control.peak_crowd)),
        "tenfold_share": float((force.peak_crowd[has] >= 10.0 * np.maximum(before[has], 1e-9)).mean()),
    }


LOSS_RECKLESSNESS = (0.1, 0.5, 0.9)


def _crowd_only(scenario: Scenario, **overrides: float) -> Scenario:
    """The scenario with the superior's end states switched off: no evidence, no takeover."""
    return scenario.with_overrides({"superior.monitoring": 0.0, "superior.takeover_disorder": 1.0, **overrides})


def measure_loss_of_control(episodes: int, seed: int, presets: Presets = None) -> dict[str, Any]:
    """Fact 10 (baseline; a superior that only holds, no evidence, no takeover: the crowd alone).

    (a) MOBILIZE on days 0-3, then WAIT, at fixed mean recklessness ρ̄ (Beta concentration 1000): the crowd
    five days after the official stopped. (b) Days of PACIFY needed to bring a crowd of at least 0.1 below
    0.025, for a crowd raised by brokers and one raised by consent.
    """
    after = sp.STOP_DAY - 1 + 5  # end of the fifth day after the last MOBILIZE
    crowd_after, brokers_after = [], []
    for rho in LOSS_RECKLESSNESS:
        sc = _crowd_only(
            _preset("baseline", presets), **{"brokers.recklessness": rho, "brokers.recklessness_concentration": 1000.0}
        )
        t = simulate(sp.mobilize_then_stop(sc.horizon.days), sc, episodes, seed, superior=HoldingSuperior())
        crowd_after.append(float(t.crowd[after].mean()))
        brokers_after.append(float(t.brokers[after].mean()))

    def days_to_calm(policy: Any) -> float:
        t = simulate(policy, _crowd_only(_preset("baseline", presets)), episodes, seed, superior=HoldingSuperior())
        pacify = t.action == Action.PACIFY
        started = pacify.any(axis=0)
        first = np.argmax(pacify, axis=0)
        days = np.arange(t.crowd.shape[0])[:, None]
        calm = (days >= first) & (t.crowd < sp.PACIFY_AT / 4.0)
        calm_day = np.where(calm.any(axis=0), np.argmax(calm, axis=0), t.crowd.shape[0])  # censored at T
        spell = (calm_day - first + 1)[started]
        return float(spell.mean()) if spell.size else float("nan")

    return {
        "recklessness": list(LOSS_RECKLESSNESS),
        "crowd_5_days_after": crowd_after,
        "brokers_5_days_after": brokers_after,
        "pacify_days_mobilized": days_to_calm(sp.MOBILIZE_THEN_PACIFY),
        "pacify_days_consent": days_to_calm(sp.CONSENT_THEN_PACIFY),
    }


#: How a replayed episode ended: the plan's fate × the official's.
ENDINGS = ("concession, unpunished", "concession + punished (Pyrrhic)", "imposed, unpunished", "imposed + punished")


def replay_endings(policy: Any, scenario: Scenario, episodes: int, seed: int) -> dict[str, float]:
    """Shares of the four endings (:data:`ENDINGS`) of a policy's episodes."""
    b = run_episodes(policy, scenario, episodes, seed)
    c, p = b.conceded, b.punished
    shares = (c & ~p, c & p, ~c & ~p, ~c & p)
    return {name: float(s.mean()) for name, s in zip(ENDINGS, shares, strict=True)}


def measure_daye_replay(episodes: int, seed: int, presets: Presets = None) -> dict[str, Any]:
    """Fact 11: how the Daye replay ends on the daye preset."""
    endings = replay_endings(REPLAYS["daye"], _preset("daye", presets), episodes, seed)
    return {"endings": endings, "modal": max(endings, key=endings.__getitem__)}


def measure_changxing_replay(episodes: int, seed: int, presets: Presets = None) -> dict[str, Any]:
    """Fact 12: how the Changxing replay ends on the changxing preset."""
    endings = replay_endings(REPLAYS["changxing"], _preset("changxing", presets), episodes, seed)
    return {"endings": endings, "modal": max(endings, key=endings.__getitem__)}


# --- the table ----------------------------------------------------------------------------------------------


def _fmt(x: float) -> str:
    return f"{x:.2f}"


@dataclass(frozen=True)
class Fact:
    """One emergent fact: claim, source, measurement, criterion, the mechanisms it emerges from, and the
    knock-out that must make it fail."""

    number: int
    claim: str
    source: str
    test: str
    measure: Callable[..., dict[str, Any]]
    figures: Callable[[dict[str, Any]], str]
    criterion: str
    holds: Callable[[dict[str, Any]], bool]
    mechanisms: str


def _endings_text(m: dict[str, Any]) -> str:
    return "; ".join(f"{k} {v:.2f}" for k, v in m["endings"].items())


def _f5_holds(m: dict[str, Any]) -> bool:
    adv, reg = m["advantage"], dict(zip(m["stakes"], m["region"], strict=True))
    return (
        reg[0.1] == "none"
        and reg[0.6] != "none"
        and reg[1.0] != "none"
        and all(b >= a - 0.01 for a, b in zip(adv, adv[1:], strict=False))
    )


def _f6_holds(m: dict[str, Any]) -> bool:
    """Consent pays (interval above 0) at low μ, loses (interval below 0) at high μ, and crosses once."""
    lo = [d - h for d, h in zip(m["margin"], m["margin_ci95"], strict=True)]
    hi = [d + h for d, h in zip(m["margin"], m["margin_ci95"], strict=True)]
    signs = [1 if x > 0 else -1 if y < 0 else 0 for x, y in zip(lo, hi, strict=True)]
    nonzero = [s for s in signs if s != 0]
    crossings = sum(a != b for a, b in zip(nonzero, nonzero[1:], strict=False))
    return signs[0] == 1 and signs[-1] == -1 and crossings == 1


def _f8_holds(m: dict[str, Any]) -> bool:
    reg, margin = m["region"], m["margin"]
    return reg[0] == "mobilized" and reg[-1] == "consent" and margin[0] > margin[-1]


def _f10_holds(m: dict[str, Any]) -> bool:
    c = m["crowd_5_days_after"]
    return c[0] < c[1] < c[2] and c[2] >= 2.0 * c[0] and m["pacify_days_mobilized"] >= 1.5 * m["pacify_days_consent"]


FACTS: tuple[Fact, ...] = (
    Fact(
        1,
        "Official channels alone are ineffective; the same petitions backed by a visible orderly crowd win far "
        "more often.",
        "Deng et al. 2022; Ma 2019; Chen, Pan & Xu 2016",
        "test_fact_holds[1]",
        measure_official_channels,
        lambda m: (
            f"concession: petition only {_fmt(m['petition_concession'])}; backed by a crowd "
            f"{_fmt(m['backed_concession'])} (median peak crowd {m['backed_peak_crowd_median']:.2f}, punished "
            f"{_fmt(m['backed_punishment'])})"
        ),
        "petition only ≤ 0.20; backed ≥ 0.50 and ≥ 3× petition only",
        lambda m: (
            m["petition_concession"] <= 0.2
            and m["backed_concession"] >= 0.5
            and m["backed_concession"] >= 3 * m["petition_concession"]
        ),
        "crowd formation (information, tolerance, Epstein activation with Granovetter's social term) × the "
        "superior's pressure and elite terms × evidence",
    ),
    Fact(
        2,
        "Consent instability works in Changxing-like conditions: the best consent policy wins a concession in "
        "most episodes, rarely punished, and beats every other mode.",
        "Deng et al. 2022 (Changxing 2013; Southern Weekly)",
        "test_fact_holds[2]",
        measure_consent_changxing,
        lambda m: (
            f"best consent member {m['member']}: concession {_fmt(m['concession'])}, punished "
            f"{_fmt(m['punishment'])}, riot {_fmt(m['riot'])}, return {m['return']:+.3f}; margin over the best "
            f"other member ({m['runner_up']}) {m['margin']:+.3f} ± {m['margin_ci95']:.3f}"
        ),
        "concession ≥ 0.80; punished ≤ 0.05; margin over every other mode's best > 0 (95% interval)",
        lambda m: m["concession"] >= 0.8 and m["punishment"] <= 0.05 and m["margin"] - m["margin_ci95"] > 0,
        "tolerance × leaks × the social term raise a large orderly crowd; little evidence keeps it credible "
        "(attribution) and uninvestigated; a quick concession ends the standoff before it radicalizes",
    ),
    Fact(
        3,
        "Mobilization backfires with reckless brokers: even the best mobilization policy earns less than the "
        "best consent policy, and keeping the brokers busy ends in punishment most of the time.",
        "Deng et al. 2022 (Daye 2005; Hubei CDI report)",
        "test_fact_holds[3]",
        measure_mobilization_backfires,
        lambda m: (
            f"daye: best mobilization {m['mobilized_return']:+.3f} ({m['mobilized_member']}) vs best consent "
            f"{m['consent_return']:+.3f} ({m['consent_member']}): {m['margin']:+.3f} ± {m['margin_ci95']:.3f}; "
            f"busy brokers: punished {_fmt(m['busy_punishment'])}, riot {_fmt(m['busy_riot'])}"
        ),
        "best mobilization − best consent < 0 (95% interval); busy brokers punished ≥ 0.50",
        lambda m: m["margin"] + m["margin_ci95"] < 0 and m["busy_punishment"] >= 0.5,
        "noisy reckless brokers radicalize (α·ρ_t·M) → disorder, triggers and the veto; brokers leave evidence "
        "(attribution, inquiries); radicals are discounted in pressure",
    ),
    Fact(
        4,
        "Consent is less risky than mobilization but not riskless: under the best consent policy crowds still turn "
        "violent and officials are punished, far less often than when brokers are kept busy.",
        "Deng et al. 2022; Weng'an 2008 and Linshui 2015 (tolerated crowds that turned violent)",
        "test_fact_holds[4]",
        measure_consent_risk,
        lambda m: (
            f"baseline, best consent ({m['consent_member']}): violent unrest {m['consent_violent']:.3f} (riot at the "
            f"veto level {m['consent_riot']:.3f}), punished {m['consent_punishment']:.3f}, Pyrrhic "
            f"{m['consent_pyrrhic']:.3f}; best mobilization ({m['mobilized_member']}): violent "
            f"{m['mobilized_violent']:.3f}, punished {m['mobilized_punishment']:.3f}; busy brokers: violent "
            f"{m['busy_violent']:.3f} (riot {m['busy_riot']:.3f}), punished {m['busy_punishment']:.3f}"
        ),
        "best consent: violent unrest (a trigger incident or serious disorder) and punishment in ≥ 2% of episodes "
        "each; both ≤ ½ of the busy brokers'",
        lambda m: (
            m["consent_violent"] >= 0.02
            and m["consent_punishment"] >= 0.02
            and m["consent_violent"] <= 0.5 * m["busy_violent"]
            and m["consent_punishment"] <= 0.5 * m["busy_punishment"]
        ),
        "a long tolerated standoff radicalizes by itself (crowd × grievance × days) and has incidents → "
        "disorder, triggers, the veto; evidence from tolerance opens inquiries; brokers radicalize far faster",
    ),
    Fact(
        5,
        "The use of mass pressure rises with stakes; at low stakes the best policy uses no mass pressure.",
        "Deng et al. 2022 (high stakes: Changxing kept 80% of its revenue)",
        "test_fact_holds[5]",
        measure_stakes,
        lambda m: (
            "best mode (mass-pressure advantage): "
            + ", ".join(
                f"S={s}: {r} ({a:+.3f})" for s, r, a in zip(m["stakes"], m["region"], m["advantage"], strict=True)
            )
        ),
        "best at S = 0.1 is no mass pressure; at S = 0.6 and 1.0 mass pressure; the advantage rises with S (to 0.01)",
        _f5_holds,
        "the end value scales with stakes while the costs of leaks, tolerance and brokers and the risks of "
        "radicalization and inquiries do not",
    ),
    Fact(
        6,
        "Monitoring deters consent: at baseline stakes there is a monitoring level below which the best consent "
        "policy earns more than doing without mass pressure and above which it earns less.",
        "Deng et al. 2022; Tirole 1986",
        "test_fact_holds[6]",
        measure_monitoring_deters,
        lambda m: (
            "best consent − best without mass pressure: "
            + ", ".join(
                f"μ={mu}: {d:+.3f} ± {h:.3f}"
                for mu, d, h in zip(m["monitoring"], m["margin"], m["margin_ci95"], strict=True)
            )
        ),
        "margin's interval above 0 at μ = 0, below 0 at μ = 1, one sign change along μ",
        _f6_holds,
        "tolerance and leaks leave evidence in proportion to μ; evidence discounts the crowd (attribution), "
        "lowers the concession utility, and opens inquiries",
    ),
    Fact(
        7,
        "With prudent brokers, rising monitoring moves the best policy from mobilization to consent, and at high "
        "monitoring away from mass pressure altogether.",
        "Deng et al. 2022; Tirole 1986",
        "test_fact_holds[7]",
        measure_monitoring_modes,
        lambda m: (
            f"ρ̄ = {LOW_RECKLESSNESS}: "
            + ", ".join(f"μ={mu}: {r}" for mu, r in zip(m["monitoring"], m["region"], strict=True))
            + "; best returns by mode at μ = 0, 0.4, 1: "
            + "; ".join(str(m["returns"][i]) for i in (0, 2, -1))
        ),
        "along μ the best mode runs mobilized → consent → none, each at least once, never back",
        lambda m: m["ordered"],
        "brokers leave more evidence per unit of crowd than tolerance (e_mob·M, arrests); evidence discounts "
        "pressure and opens inquiries; consent's smaller traces still add up at high μ",
    ),
    Fact(
        8,
        "Reckless brokers favour consent over mobilization: without monitoring, mobilization is best with "
        "prudent brokers and consent with reckless ones.",
        "Deng et al. 2022",
        "test_fact_holds[8]",
        measure_recklessness_modes,
        lambda m: (
            "μ = 0: "
            + ", ".join(
                f"ρ̄={r}: {reg} (mobilization − consent {d:+.3f} ± {h:.3f})"
                for r, reg, d, h in zip(m["recklessness"], m["region"], m["margin"], m["margin_ci95"], strict=True)
            )
        ),
        "best mode mobilized at ρ̄ = 0.05, consent at ρ̄ = 0.8; the margin falls",
        _f8_holds,
        "recklessness (noisy daily conduct) radicalizes the crowd (α·ρ_t·M), which triggers incidents, disorder "
        "and the veto, and is discounted in pressure",
    ),
    Fact(
        9,
        "A crackdown on a small aggrieved crowd can trigger a much larger protest.",
        "Daye 2005 (police dogs on ~100 petitioners, then ~10,000 rioters); Cai 2010",
        "test_fact_holds[9]",
        measure_crackdown_trigger,
        lambda m: (
            f"daye: crowd struck {m['crowd_at_crackdown_median']:.4f} (median); trigger {_fmt(m['trigger_rate'])}; "
            f"median peak crowd {m['peak_crowd_median']:.3f} vs {m['control_peak_crowd_median']:.3f} without "
            f"force; peak ≥ 10× the crowd struck in {_fmt(m['tenfold_share'])}"
        ),
        "median peak crowd ≥ 5× the control's; peak ≥ 10× the crowd struck in ≥ 0.5",
        lambda m: m["peak_crowd_median"] >= 5 * m["control_peak_crowd_median"] and m["tenfold_share"] >= 0.5,
        "the trigger hazard of force on a small aggrieved crowd × the trigger's surge of recruitment and lost "
        "legitimacy × activation and the social term",
    ),
    Fact(
        10,
        "Loss of control: a mobilized crowd keeps going after the official stops, the longer the more reckless "
        "the brokers; pacifying it takes longer than pacifying a consent crowd.",
        "Deng et al. 2022 (over-mobilization)",
        "test_fact_holds[10]",
        measure_loss_of_control,
        lambda m: (
            "crowd 5 days after stopping: "
            + ", ".join(f"ρ̄={r}: {c:.3f}" for r, c in zip(m["recklessness"], m["crowd_5_days_after"], strict=True))
            + f"; days of PACIFY to calm a crowd: mobilized {m['pacify_days_mobilized']:.1f}, consent "
            f"{m['pacify_days_consent']:.1f}"
        ),
        "crowd 5 days after stopping rises with ρ̄ (ρ̄ = 0.9 ≥ 2× ρ̄ = 0.1); mobilized crowd takes ≥ 1.5× the "
        "PACIFY days of a consent crowd",
        _f10_holds,
        "brokers recruit regardless of thresholds and reckless ones decay slowly; the crowd draws the crowd "
        "(social term); PACIFY cuts brokers only by a share",
    ),
    Fact(
        11,
        "The Daye path on the Daye preset ends most often with the plan shelved and the official punished (the "
        "Pyrrhic outcome), as in the record.",
        "Deng et al. 2022 (Daye 2005: the plan lapsed; Hubei CDI report)",
        "test_fact_holds[11]",
        measure_daye_replay,
        _endings_text,
        "the modal ending is concession + punished",
        lambda m: m["modal"] == ENDINGS[1],
        "reckless brokers and police dogs raise a riot; the superior (or the province) shelves the plan to "
        "restore order; the inquiry opened by the riot convicts under the veto",
    ),
    Fact(
        12,
        "The Changxing path on the Changxing preset ends most often in a concession without punishment.",
        "Southern Weekly, 17 May 2013",
        "test_fact_holds[12]",
        measure_changxing_replay,
        _endings_text,
        "the modal ending is concession, unpunished (share ≥ 0.5)",
        lambda m: m["modal"] == ENDINGS[0] and m["endings"][ENDINGS[0]] >= 0.5,
        "leaks and tolerance raise a large orderly crowd; a cohesive elite adds pressure; little evidence",
    ),
)


def facts_table(episodes: int = 2000, seed: int = 0, presets: Presets = None) -> list[dict[str, Any]]:
    """Measure every fact afresh; one row per fact: number, claim, source, test, measured, criterion, holds,
    mechanisms (and the raw figures under ``figures``). ``presets`` replaces the package's presets."""
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
                "mechanisms": f.mechanisms,
                "figures": m,
            }
        )
    return rows


# --- knock-outs: switch off a mechanism the fact relies on but does not restate ----------------------------

#: Per fact: what is switched off (dotted overrides applied to every preset). None of these is the rule a
#: fact would restate; each removes an upstream mechanism, and the fact must then fail.
KNOCKOUTS: dict[int, tuple[str, dict[str, float]]] = {
    1: ("residents ignore the crowd (social_weight = 0)", {"population.social_weight": 0.0}),
    2: (
        "the superior does not weigh crowds (concede_pressure = concede_stock = 0)",
        {"superior.concede_pressure": 0.0, "superior.concede_stock": 0.0},
    ),
    3: (
        "brokers are harmless: they neither radicalize nor leave traces (radicalization = evidence_mobilize = "
        "evidence_arrest = 0)",
        {"brokers.radicalization": 0.0, "superior.evidence_mobilize": 0.0, "superior.evidence_arrest": 0.0},
    ),
    4: (
        "standoffs neither radicalize nor have incidents by themselves (self_radicalization = standoff_incidents = 0)",
        {"population.self_radicalization": 0.0, "population.standoff_incidents": 0.0},
    ),
    5: (
        "every action is free",
        {f"utility.cost_{a}": 0.0 for a in ("petition", "leak", "tolerate", "mobilize", "pacify", "crackdown")},
    ),
    6: (
        "consent leaves no trace (evidence_leak = evidence_tolerate = 0)",
        {
            "superior.evidence_leak": 0.0,
            "superior.evidence_tolerate": 0.0,
        },
    ),
    7: (
        "brokers leave no trace (evidence_mobilize = evidence_arrest = 0)",
        {
            "superior.evidence_mobilize": 0.0,
            "superior.evidence_arrest": 0.0,
        },
    ),
    8: ("brokers do not radicalize (brokers.radicalization = 0)", {"brokers.radicalization": 0.0}),
    9: (
        "a trigger changes nothing for residents (trigger_recruitment = 1, trigger_legitimacy_drop = 0)",
        {"police.trigger_recruitment": 1.0, "police.trigger_legitimacy_drop": 0.0},
    ),
    10: ("brokers recruit nobody (recruit_rate = 0)", {"brokers.recruit_rate": 0.0}),
    11: ("brokers do not radicalize (brokers.radicalization = 0)", {"brokers.radicalization": 0.0}),
    12: (
        "the superior does not weigh crowds (concede_pressure = concede_stock = 0)",
        {"superior.concede_pressure": 0.0, "superior.concede_stock": 0.0},
    ),
}


def knocked_out(number: int) -> dict[str, Scenario]:
    """Every preset with fact ``number``'s knock-out applied."""
    overrides = KNOCKOUTS[number][1]
    return {name: sc.with_overrides(overrides) for name, sc in PRESETS.items()}


def knockout_table(episodes: int = 2000, seed: int = 0) -> list[dict[str, Any]]:
    """Each fact measured with its knock-out (:data:`KNOCKOUTS`); ``holds`` should be False."""
    rows = []
    for f in FACTS:
        m = f.measure(episodes, seed, knocked_out(f.number))
        what = KNOCKOUTS[f.number][0]
        rows.append({"number": f.number, "knockout": what, "measured": f.figures(m), "holds": bool(f.holds(m))})
    return rows


# --- output -----------------------------------------------------------------------------------------------


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def facts_markdown(rows: list[dict[str, Any]], knockouts: list[dict[str, Any]] | None = None) -> str:
    """The facts (and, if given, their knock-outs) as the Markdown table of docs/MODEL.md."""
    head = "| # | claim | source | measured | criterion | holds |"
    lines = [head, "|---|---|---|---|---|---|"]
    ko = {r["number"]: r for r in knockouts or []}
    if ko:
        lines = [head + " knock-out | holds after it |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        cells = [str(r["number"]), r["claim"], r["source"], r["measured"], r["criterion"]]
        cells.append("yes" if r["holds"] else "**no**")
        if ko:
            k = ko[r["number"]]
            cells += [k["knockout"], "**yes**" if k["holds"] else "no"]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines)


def _plain(rows: list[dict[str, Any]], knockouts: list[dict[str, Any]] | None) -> str:
    ko = {r["number"]: r for r in knockouts or []}
    out = []
    for r in rows:
        out.append(f"[{'PASS' if r['holds'] else 'FAIL'}] {r['number']}. {r['claim']}")
        out.append(f"    source:     {r['source']}")
        out.append(f"    measured:   {r['measured']}")
        out.append(f"    criterion:  {r['criterion']}")
        out.append(f"    mechanisms: {r['mechanisms']}")
        if r["number"] in ko:
            k = ko[r["number"]]
            verdict = "fails, as it must" if not k["holds"] else "STILL HOLDS (the knock-out proves nothing)"
            out.append(f"    knock-out:  {k['knockout']}: {verdict}; {k['measured']}")
    return "\n".join(out)


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``facts`` subcommand on an argparse ``subparsers`` object; :func:`run` executes it."""
    p = subparsers.add_parser(
        "facts",
        help="measure the emergent stylized facts (and mechanism checks) afresh and print the table",
        description=(
            "Measure the emergent stylized facts of docs/MODEL.md afresh against the best scripted family "
            "members (chosen on other seeds), with each fact's knock-out; the mechanism checks (unit tests of "
            "one rule each) are listed separately."
        ),
        epilog=(
            "examples:\n"
            "  massbargain facts                       # the facts, their knock-outs and the mechanism checks\n"
            "  massbargain facts --markdown            # the tables of docs/MODEL.md\n"
            "  massbargain facts --replays             # also the case-replay table\n"
            "  massbargain facts --episodes 500        # quicker, noisier"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_arguments(p)
    p.set_defaults(func=run)
    return p


def _add_arguments(p: argparse.ArgumentParser) -> None:
    from massbargain.experiments.cli.main import positive_int, seed_int

    p.add_argument(
        "--episodes", type=positive_int, default=2000, help="episodes per policy and scenario (default 2000)"
    )
    p.add_argument("--seed", type=seed_int, default=0, help="seed of the reported rollouts (default 0)")
    p.add_argument("--markdown", action="store_true", help="print Markdown tables (as in docs/MODEL.md)")
    p.add_argument("--no-knockouts", action="store_true", help="skip the knock-outs (about halves the time)")
    p.add_argument("--replays", action="store_true", help="also print the case-replay table")
    p.add_argument(
        "--sensitivity",
        nargs="*",
        metavar="KEY",
        help="also move these parameters (default: the ones v1 added or recalibrated) by -50%% and +50%% and list "
        "the facts that fail (about 2 facts tables per key)",
    )


def run(args: argparse.Namespace) -> int:
    """Print the facts, knock-outs, mechanism checks (and replays); exit 0 if every fact holds, every
    knock-out fails and every mechanism check holds, 1 otherwise."""
    from massbargain.experiments.measures import mechanisms, replays

    if args.episodes < 10:
        raise ValueError(f"--episodes must be at least 10, got {args.episodes}")
    rows = facts_table(args.episodes, args.seed)
    kos = None if args.no_knockouts else knockout_table(args.episodes, args.seed)
    checks = mechanisms.mechanism_table(args.episodes, args.seed)
    print(facts_markdown(rows, kos) if args.markdown else _plain(rows, kos))
    print()
    print(mechanisms.mechanisms_markdown(checks) if args.markdown else mechanisms.plain(checks))
    if args.replays:
        print()
        print(replays.replays_markdown(args.episodes, args.seed))
    if getattr(args, "sensitivity", None) is not None:
        from massbargain.experiments.measures import sensitivity

        keys = args.sensitivity or sensitivity.V1_KEYS
        rows_s = sensitivity.sensitivity(args.episodes, args.seed, keys=keys, progress=lambda t: print(t, flush=True))
        print()
        print(sensitivity.sensitivity_markdown(rows_s))
    ok = all(r["holds"] for r in rows) and all(c["holds"] for c in checks)
    ok = ok and (kos is None or not any(k["holds"] for k in kos))
    held = sum(r["holds"] for r in rows)
    print(f"\n{held} of {len(rows)} emergent facts hold", end="")
    if kos is not None:
        print(f"; {sum(not k['holds'] for k in kos)} of {len(kos)} knock-outs make their fact fail", end="")
    print(f"; {sum(c['holds'] for c in checks)} of {len(checks)} mechanism checks hold.")
    return 0 if ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    """``massbargain facts [--episodes N] [--seed S] [--markdown] ...`` (also ``python -m`` this module)."""
    parser = argparse.ArgumentParser(prog="massbargain facts")
    _add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
