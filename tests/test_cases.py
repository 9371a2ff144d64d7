"""The Changxing and Daye cases as scripted replays (massbargain.cases), over many seeds.

Changxing 2013: permit request (tolerate, inform), a large orderly crowd, elite opposition; the city
suspended the plan and nobody was reported punished. Daye 2005: police dogs on a small petition, brokers,
escalation; ~10,000 rioted, the authorities cracked down and the provincial discipline commission
investigated.
"""

from __future__ import annotations

import numpy as np
import pytest

from massbargain import Action, Scenario
from massbargain.agents.baselines import BASELINES
from massbargain.cases import REPLAYS, HoldingSuperior, replay_summary, simulate
from massbargain.rollout import run_episodes

EPISODES = 4000
SEED = 11


@pytest.fixture(scope="module")
def changxing():
    sc = Scenario.preset("changxing")
    t = simulate(REPLAYS["changxing"], sc, EPISODES, SEED)
    return t, replay_summary(t, sc)


@pytest.fixture(scope="module")
def daye():
    sc = Scenario.preset("daye")
    t = simulate(REPLAYS["daye"], sc, EPISODES, SEED)
    return t, replay_summary(t, sc)


def test_changxing_replay_follows_the_case(changxing):
    t, _ = changxing
    # 5 May: formal objection; 7 May: the permit request (tolerate); then the details get out.
    assert (t.action[0] == Action.PETITION).all()
    assert (t.action[1] == Action.TOLERATE).all()
    assert (t.action[2] == Action.LEAK).all()
    assert not np.isin(t.action[t.alive], [Action.MOBILIZE, Action.CRACKDOWN, Action.ACCEPT]).any()


def test_changxing_replay_ends_in_concession_without_punishment(changxing):
    _, s = changxing
    assert s["conceded_unpunished"] >= 0.85  # mostly (v1: a long standoff can still turn violent)
    assert s["concession_rate"] >= 0.90
    assert s["punishment_rate"] <= 0.10
    assert s["riot_rate"] <= 0.10  # the crowd mostly stays orderly
    assert s["peak_crowd_median"] >= 0.10  # and large
    assert s["mean_length"] <= 15


def test_daye_replay_follows_the_case(daye):
    t, _ = daye
    cracked = (t.action == Action.CRACKDOWN) & t.alive
    assert cracked.any(axis=0).mean() >= 0.95
    first = np.argmax(cracked, axis=0)
    cols = np.arange(t.episodes)
    struck = t.crowd[np.maximum(first - 1, 0), cols][cracked.any(axis=0)]
    assert np.median(struck) <= 0.02  # the dogs were set on a small petition
    assert ((t.action == Action.MOBILIZE) & t.alive).any(axis=0).mean() >= 0.9


def test_daye_replay_ends_in_riot_investigation_and_the_pyrrhic_outcome(daye):
    """v1: the riot gets the plan shelved (stability first) and the official punished, as in the record."""
    _, s = daye
    assert s["riot_rate"] >= 0.7
    assert s["investigated_rate"] >= 0.9
    assert s["punishment_rate"] >= 0.9
    assert s["pyrrhic"] >= 0.6  # the plan lapsed and the official was punished
    assert s["peak_crowd_median"] >= 50 * 0.005  # from ~100 petitioners toward ~10,000


def test_the_moves_matter_more_than_the_place():
    """Swapping the paths: the Daye path in Changxing still ends mostly in riots and punishment; the Changxing
    path in Daye is far safer than the Daye path there (v1: Daye's heavy-handed police and close monitoring
    make it riskier than at home)."""
    cx, dy = Scenario.preset("changxing"), Scenario.preset("daye")
    daye_in_cx = replay_summary(simulate(REPLAYS["daye"], cx, 2000, SEED), cx)
    cx_in_daye = replay_summary(simulate(REPLAYS["changxing"], dy, 2000, SEED), dy)
    daye_at_home = replay_summary(simulate(REPLAYS["daye"], dy, 2000, SEED), dy)
    assert daye_in_cx["riot_rate"] >= 0.35 and daye_in_cx["punishment_rate"] >= 0.8
    assert cx_in_daye["riot_rate"] <= daye_at_home["riot_rate"] / 3
    assert cx_in_daye["punishment_rate"] <= daye_at_home["punishment_rate"] / 2
    assert cx_in_daye["concession_rate"] >= 0.3


def test_simulate_matches_run_episodes():
    sc = Scenario.preset("baseline")
    for name in ("consent", "mobilize"):
        t = simulate(BASELINES[name], sc, 300, 3)
        b = run_episodes(BASELINES[name], sc, 300, 3)
        np.testing.assert_array_equal(t.returns, b.returns)
        np.testing.assert_array_equal(t.outcome, b.outcome)
        np.testing.assert_array_equal(t.severity, b.severity)
        np.testing.assert_array_equal(t.length, b.length)
        np.testing.assert_array_equal(t.peak_disorder, b.peak_disorder)
        assert (t.alive.sum(axis=0) == t.length).all()


def test_holding_superior_never_concedes_or_represses():
    # The province's shelving at a takeover is not the superior's concession: switched off here.
    sc = Scenario.preset("baseline").with_overrides({"superior.takeover_shelve": 0.0})
    t = simulate(BASELINES["mobilize"], sc, 200, 0, superior=HoldingSuperior())
    assert (t.response == 0).all()
    assert not np.isin(t.outcome, [1, 2, 3]).any()


def test_replays_table_of_the_facts_command():
    from massbargain.experiments.measures.replays import replays_markdown

    lines = replays_markdown(episodes=400, seed=0).splitlines()
    assert len(lines) == 2 + 13
    cells = {line.split(" | ")[0].lstrip("| "): line.strip("|").split(" | ")[1:] for line in lines[2:]}
    changxing, daye = (float(x) for x in cells["suspended or withdrawn, unpunished"][:2])
    assert changxing > 0.5 and daye < 0.1  # the cases' paths, measured by the same table as docs/MODEL.md
    assert float(cells["concession + punished (Pyrrhic)"][1]) > 0.5
