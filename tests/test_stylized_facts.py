"""The ten stylized facts of docs/MODEL.md, each a seeded statistical comparison of scripted policies.

Every test measures behaviour with the functions of ``massbargain.experiments.measures.facts`` (batched rollouts
of scripted policies under the general dynamics) and states its threshold here; the table printed by
``python -m massbargain.experiments.measures.facts`` shows the same criteria with fresh figures. With 3,000
episodes per arm the figures' sampling error is a small fraction of every margin (see docs/MODEL.md,
"The ten stylized facts"), so the tests are not flaky; the seeds are fixed anyway.
"""

from __future__ import annotations

import numpy as np
import pytest

from massbargain import Scenario
from massbargain.experiments.measures import facts

EPISODES = 3000
SEED = 7


def test_fact1_official_channels_need_a_crowd():
    """Petitions alone rarely win; the same petitions after TOLERATE + LEAK (an orderly crowd) win far more."""
    m = facts.measure_official_channels(EPISODES, SEED)
    assert m["petition_concession"] <= 0.20
    assert m["backed_concession"] >= 0.50
    assert m["backed_concession"] >= 3.0 * m["petition_concession"]
    # The crowd is visible and orderly: nobody is punished.
    assert m["backed_peak_crowd_median"] >= 0.05
    assert m["backed_punishment"] <= 0.05
    # And it takes fewer petitions, not more.
    assert m["petitions_backed"] < m["petitions_alone"]


def test_fact2_consent_works_in_changxing():
    m = facts.measure_consent_changxing(EPISODES, SEED)
    assert m["concession"] >= 0.80
    assert m["punishment"] <= 0.05


def test_fact3_mobilization_backfires_in_daye():
    m = facts.measure_mobilization_backfires(EPISODES, SEED)
    for policy in ("mobilize", "mobilize_pacify"):
        assert m[f"{policy}_punishment"] >= 0.50
        # Below consent's mean return by more than both 95% intervals.
        assert m[f"{policy}_return"] + m[f"{policy}_return_ci95"] < m["consent_return"] - m["consent_return_ci95"]


def test_fact4_mass_pressure_rises_with_stakes():
    m = facts.measure_stakes(EPISODES // 2, SEED)  # 7 stakes x 6 policies; the margins are wide
    best = dict(zip(m["stakes"], m["best"], strict=True))
    assert facts.mode_of(best[0.05]) == "none"
    assert facts.mode_of(best[0.1]) == "none"
    assert facts.mode_of(best[0.6]) != "none"
    assert facts.mode_of(best[1.0]) != "none"
    advantage = m["mass_pressure_advantage"]
    assert advantage[0] < 0.0 < advantage[-1]
    # The advantage of the best mass-pressure policy over the best other one rises with the stakes.
    assert all(b >= a - 0.01 for a, b in zip(advantage, advantage[1:], strict=False))


def test_fact5_monitoring_moves_the_best_policy():
    """At low recklessness (ρ = 0.05), along μ = 0, 0.1, ..., 1: mobilization, then consent, then no mass
    pressure, each at least once and never back."""
    m = facts.measure_monitoring(EPISODES // 2, SEED)
    modes = m["modes"]
    order = {"mobilized": 0, "consent": 1, "none": 2}
    assert [order[x] for x in modes] == sorted(order[x] for x in modes)
    assert modes[0] == "mobilized" and "consent" in modes and modes[-1] == "none"
    by_mu = dict(zip(m["monitoring"], m["by_mode"], strict=True))
    assert by_mu[0.0]["mobilized"] >= by_mu[0.0]["consent"] + 0.03  # managed mobilization pays where nobody watches
    assert by_mu[0.5]["consent"] >= max(by_mu[0.5]["mobilized"], by_mu[0.5]["none"]) + 0.05
    assert by_mu[1.0]["none"] >= by_mu[1.0]["consent"] + 0.02


def test_fact6_crackdown_on_a_small_crowd_escalates():
    m = facts.measure_crackdown_trigger(EPISODES, SEED)
    assert m["crackdown_share"] >= 0.9
    assert m["crowd_at_crackdown_median"] <= 0.02  # a small petition, not a mass
    assert m["trigger_rate"] >= 0.5
    assert m["control_trigger_rate"] <= 0.05
    assert m["peak_crowd_median"] >= 5.0 * m["control_peak_crowd_median"]
    assert m["tenfold_share"] >= 0.5


def test_fact7_radical_crowds_win_less():
    """Radical crowds (R ≥ 0.3) win at most half the concessions calm crowds (R < 0.1) of the same size win
    (indirect standardization over crowd-size bins), and fewer in every well-populated bin."""
    m = facts.measure_radical_discount(EPISODES, SEED)
    assert m["expected"] >= 20
    assert m["ratio"] <= 0.5
    populated = [r for r in m["bins"] if r["calm_days"] >= 200 and r["radical_days"] >= 200 and r["crowd"][0] >= 0.15]
    assert populated
    for r in populated:
        assert r["radical_rate"] < r["calm_rate"], r


def test_fact8_veto_punishes_without_evidence():
    m = facts.measure_veto(EPISODES, SEED)
    assert m["max_evidence"] == 0.0  # μ = 0: no evidence can accrue
    assert m["large_episodes"] >= 100 and m["serious_episodes"] >= 100
    assert m["punished_after_large"] >= 0.95
    assert m["punished_after_serious"] <= 0.20


def test_fact9_partial_concessions_dominate():
    m = facts.measure_partial_concessions(EPISODES, SEED)
    for preset in ("baseline", "changxing", "daye"):
        assert m[f"{preset}_withdrawn"] > 0.0
        assert m[f"{preset}_partial_or_suspended"] >= 2.0 * m[f"{preset}_withdrawn"]


def test_fact10_loss_of_control():
    m = facts.measure_loss_of_control(EPISODES, SEED)
    crowd, brokers = m["crowd_5_days_after"], m["brokers_5_days_after"]
    assert crowd[0] < crowd[1] < crowd[2]  # ρ = 0.1, 0.5, 0.9
    assert brokers[0] < brokers[1] < brokers[2]
    assert crowd[2] >= 2.0 * crowd[0]
    assert m["reached_mobilized"] >= 0.5 and m["reached_consent"] >= 0.5
    assert m["pacify_days_mobilized"] >= 1.5 * m["pacify_days_consent"]


@pytest.mark.parametrize("stakes", [0.6, 0.9])
def test_headline_regions(stakes):
    """Best mode over recklessness ρ × monitoring μ: consent is the largest region at the baseline's and the
    cases' stakes (Changxing's 0.9; Daye's 0.7 lies between); at the baseline's stakes all three regions
    exist (no mass pressure, consent, mobilization)."""
    grid = facts.policy_regions(
        Scenario.preset("baseline").with_overrides({"utility.stakes": stakes}),
        rhos=(0.05, 0.3, 0.8),
        mus=(0.05, 0.4, 1.0),
        episodes=1000,
        seed=SEED,
    )
    counts = {mode: sum(v == mode for v in grid.values()) for mode in ("none", "consent", "mobilized")}
    assert counts["consent"] > max(counts["none"], counts["mobilized"])
    assert grid[(0.05, 0.05)] == "mobilized"
    assert grid[(0.8, 0.05)] != "mobilized"  # reckless brokers spoil mobilization even unwatched
    if stakes == 0.6:
        assert grid[(0.05, 1.0)] == "none"


@pytest.mark.parametrize("number", [1, 2, 3, 6, 7, 8, 9, 10])
def test_fact_fails_when_its_mechanism_is_switched_off(number):
    """Not circular: each fact rests on a named general mechanism, and goes when that mechanism is switched
    off (facts 4 and 5, the costly grids, are knocked out in ``python -m massbargain.experiments.measures.facts
    --knockouts``)."""
    _, overrides, kwargs = facts.KNOCKOUTS[number]
    presets = {name: Scenario.preset(name).with_overrides(overrides) for name in ("baseline", "changxing", "daye")}
    fact = facts.FACTS[number - 1]
    assert not fact.holds(fact.measure(1000, SEED, presets, **kwargs))


def test_facts_table_metadata_and_command(capsys):
    assert [f.number for f in facts.FACTS] == list(range(1, 11))
    for f in facts.FACTS:
        assert f.claim and f.source and f.criterion and f.mechanism
        assert f.test in globals()  # each fact names its test in this module
    assert facts.main(["--episodes", "50", "--markdown"]) in (0, 1)
    out = capsys.readouterr().out
    assert out.startswith("| # | claim |") and out.count("\n") >= 11


def test_perturbed_presets_move_each_preset_and_stay_valid():
    moved = facts.perturbed_presets("utility.stakes", 1.5)
    assert moved["baseline"].utility.stakes == pytest.approx(0.9)
    assert moved["changxing"].utility.stakes == 1.0  # clipped to the range
    moved = facts.perturbed_presets("superior.takeover_disorder", 0.5)
    assert all(s.superior.veto_disorder <= s.superior.takeover_disorder for s in moved.values())
    assert isinstance(facts.perturbed_presets("police.trigger_days", 1.5)["daye"].police.trigger_days, int)
    assert np.isfinite(moved["daye"].superior.takeover_disorder)
