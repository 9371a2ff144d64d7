"""Global sensitivity (massbargain.experiments.measures.global_sensitivity): the sampler never produces an
invalid scenario, a constraint the box ignores is caught, Morris and Sobol rank a toy function's parameters
as known, one point's outputs are reproducible, and the command refuses a bad design in one line."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("SALib")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from massbargain.agents.families import parse_member  # noqa: E402
from massbargain.experiments.measures import global_sensitivity as gs  # noqa: E402
from massbargain.scenario import PRESETS, ScenarioError  # noqa: E402

BOXES = {name: gs.box(PRESETS[name]) for name in PRESETS}
VETO, TAKEOVER = "superior.veto_disorder", "superior.takeover_disorder"


def test_the_box_covers_every_continuous_parameter_inside_its_range():
    keys = gs.continuous_keys()
    assert len(keys) > 90 and "utility.stakes" in keys and "horizon.days" not in keys
    b = BOXES["baseline"]
    assert b.keys == tuple(keys)
    assert (b.bounds[:, 0] < b.bounds[:, 1]).all()
    assert b.bounds[b.keys.index(TAKEOVER), 0] >= b.bounds[b.keys.index(VETO), 1]


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(sorted(PRESETS)), st.lists(st.floats(0, 1), min_size=104, max_size=104))
def test_every_point_of_the_box_is_a_valid_scenario(preset, unit):
    b = BOXES[preset]
    u = np.resize(np.array(unit), len(b.keys))
    x = b.bounds[:, 0] + u * (b.bounds[:, 1] - b.bounds[:, 0])
    gs.scenario_at(b, x)  # raises ScenarioError if the scenario refuses it


def test_every_morris_and_sobol_sample_is_a_valid_scenario():
    from SALib.sample import morris, sobol

    b = BOXES["baseline"]
    for x in morris.sample(b.problem(), 4, num_levels=4, seed=1):
        gs.scenario_at(b, x)
    keys = [VETO, TAKEOVER, "utility.stakes"]
    for x in sobol.sample(b.problem(keys), 64, calc_second_order=False, seed=1):
        gs.scenario_at(b, x, keys)


def test_a_constraint_the_box_ignores_is_caught(monkeypatch):
    keys = [VETO, TAKEOVER, "utility.stakes"]
    assert gs.check_box(gs.box(PRESETS["baseline"], keys)) > 0
    monkeypatch.setattr(gs, "ORDERED", ())
    with pytest.raises(ScenarioError, match="veto_disorder"):
        gs.check_box(gs.box(PRESETS["baseline"], keys))


def _toy(X: np.ndarray) -> np.ndarray:
    """10·x0 + 3·x1² + 1·x2 + 0·x3 on [0, 1]^4: the ranking is x0 > x1 > x2 > x3."""
    return 10 * X[:, 0] + 3 * X[:, 1] ** 2 + 1 * X[:, 2]


def test_morris_ranks_a_toy_function_as_known():
    from SALib.sample import morris

    problem = {"num_vars": 4, "names": ["a", "b", "c", "d"], "bounds": [[0, 1]] * 4}
    X = morris.sample(problem, 10, num_levels=4, seed=0)
    rows = gs.morris_analysis(problem, X, _toy(X)[:, None], seed=0)
    ranked = [p for p, _ in gs.rank_parameters(rows, outputs=["margin"])]
    assert ranked == ["a", "b", "c", "d"]
    mu = {r["parameter"]: r["mu_star"] for r in rows}
    assert mu["a"] == pytest.approx(10) and mu["c"] == pytest.approx(1) and mu["d"] == 0


def test_sobol_indices_of_a_toy_function_are_the_known_ones():
    from SALib.sample import sobol

    problem = {"num_vars": 2, "names": ["a", "b"], "bounds": [[0, 1]] * 2}
    X = sobol.sample(problem, 1024, calc_second_order=False, seed=0)
    y = X[:, 0] + 2 * X[:, 1]  # additive: S1 = ST = 1/5 and 4/5
    Y = np.zeros((len(X), len(gs.OUTPUTS)))
    Y[:, 0] = y
    rows = {r["parameter"]: r for r in gs.sobol_analysis(problem, Y) if r["output"] == "margin"}
    assert rows["a"]["ST"] == pytest.approx(0.2, abs=0.03) and rows["b"]["ST"] == pytest.approx(0.8, abs=0.05)
    assert 0 < rows["b"]["ST_conf"] < 0.1
    again = {r["parameter"]: r for r in gs.sobol_analysis(problem, Y) if r["output"] == "margin"}
    assert again == rows  # a seeded bootstrap, seed 0 included


def test_one_point_is_reproducible_and_uses_common_random_numbers():
    names = [
        "passive",
        "consent(leak_until=0.5, tolerate=yes, pacify_at=0.1, petition=daily, back_off=never)",
        "mobilize(mobilize_below=0.1, pacify_at=0.1, stop_after=5, otherwise=wait, tolerate=no)",
    ]
    members = [parse_member(n) for n in names]
    a = gs.evaluate_point(PRESETS["changxing"], members, 200, seed=3)
    assert a == gs.evaluate_point(PRESETS["changxing"], members, 200, seed=3)
    assert a["best_consent"] == 1.0 and a["margin"] > 0  # consent pays on changxing
    assert 0.0 <= a["concession"] <= 1.0 and 0.0 <= a["punishment"] <= 1.0
    episodes, rows = gs.measure_replicates([PRESETS["changxing"], PRESETS["daye"]], members, 200, bounds=(50, 4000))
    assert 50 <= episodes <= 4000 and len(rows) == 2


def test_the_command_refuses_a_bad_design_in_one_line(tmp_path, capsys):
    from massbargain.experiments.cli import main

    assert main(["sensitivity", "--quick", "--sobol-samples", "100", "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("massbargain: error: sobol_samples must be a power of 2") and "Traceback" not in err


def test_the_trained_agent_design_moves_parameters_by_scenario_group():
    from SALib.sample import morris

    from massbargain.experiments.measures.sensitivity_agents import groups_problem

    problem = groups_problem(BOXES["baseline"])
    assert sorted(set(problem["groups"])) == ["brokers", "elite", "information", "police", "population", "superior"] + [
        "utility"
    ]
    X = morris.sample(problem, 2, num_levels=4, seed=0)
    assert len(X) == 2 * (7 + 1)  # a trajectory moves one group at a time
    for x in X:
        gs.scenario_at(BOXES["baseline"], x)


def test_the_reduced_grid_keeps_every_preset_winner_and_frequent_winners():
    consent = "consent(leak_until=0.{}, tolerate=yes, pacify_at=0.1, petition=daily, back_off=never)"
    rows = [
        {"scenario": "baseline", "mode": "consent", "member": consent.format(7)},  # one win, on a preset: kept
        {"scenario": "box-0", "mode": "consent", "member": consent.format(9)},  # one win at a random point: dropped
        {"scenario": "box-1", "mode": "consent", "member": consent.format(5)},
        {"scenario": "box-2", "mode": "consent", "member": consent.format(5)},  # two wins: kept
        {"scenario": "box-0", "mode": "none", "member": "passive"},  # the mode's most frequent winner: kept
    ]
    kept = [m.name for m in gs.grid_members(rows, min_wins=2)]
    assert kept == ["passive", consent.format(5), consent.format(7)]
