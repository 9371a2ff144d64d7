"""Scripted policy families: members follow the policy protocol, names are unique and parse back, the old
baselines are members, selection uses common random numbers, and the best member is chosen on one seed and
reported on another without the report seed ever being used for the choice.
"""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from massbargain import OBS_INDEX, OBSERVATION_FIELDS, Action, Scenario, core
from massbargain.agents import BASELINES
from massbargain.agents import families as fam
from massbargain.agents.evaluation import BEST_MEMBER, compare
from massbargain.agents.families import (
    BASELINE_MEMBERS,
    FAMILIES,
    MODES,
    Family,
    best,
    best_out_of_sample,
    choice_seed,
    members,
    paired_difference,
    parse_member,
    select,
)
from massbargain.experiments.cli import main
from massbargain.rollout import run_episodes

ALL = members()
BASELINE = Scenario.preset("baseline")


@pytest.fixture(scope="module")
def observations() -> np.ndarray:
    """Observations a policy meets: every preset played with random actions (no ACCEPT), plus uniform noise."""
    rng = np.random.default_rng(0)
    out = []
    for preset in ("baseline", "changxing", "daye"):
        scenario = Scenario.preset(preset)
        state = core.initial_state(scenario, rng, 300)
        for _ in range(scenario.horizon.days):
            out.append(core.observe(state, scenario))
            core.step(state, rng.integers(0, int(Action.ACCEPT), 300), scenario, rng)
    out.append(rng.random((2000, len(OBSERVATION_FIELDS)), dtype=np.float32))
    return np.concatenate(out)


# --- members -----------------------------------------------------------------------------------------------


def test_the_set_is_small_and_covers_every_mode() -> None:
    assert 100 <= len(ALL) <= 250
    assert {m.mode for m in ALL} == set(MODES)
    assert sum(f.size for f in FAMILIES.values()) == len(ALL)


def test_every_member_acts_validly_on_a_batch_and_on_one_observation(observations: np.ndarray) -> None:
    rows = observations[:: max(1, len(observations) // 4000)]
    for m in ALL:
        actions = m.act(rows)
        assert actions.shape == (len(rows),) and actions.dtype == np.int64, m.name
        assert ((actions >= 0) & (actions < len(Action))).all(), m.name
        for i in (0, len(rows) // 2, len(rows) - 1):
            one = m.act(rows[i])
            assert isinstance(one, int) and one == actions[i], m.name


def test_members_only_use_their_mode_and_control_actions(observations: np.ndarray) -> None:
    allowed = {
        "passive": {Action.WAIT},
        "petition": {Action.WAIT, Action.PETITION},
        "accept": {Action.ACCEPT},
        "consent": {Action.WAIT, Action.PETITION, Action.LEAK, Action.TOLERATE, Action.PACIFY},
        "mobilize": {Action.WAIT, Action.PETITION, Action.TOLERATE, Action.MOBILIZE, Action.PACIFY},
        "crackdown": {Action.WAIT, Action.PETITION, Action.CRACKDOWN},
    }
    for name, family in FAMILIES.items():
        used = set(np.unique(np.concatenate([m.act(observations) for m in family.members()])).tolist())
        assert used == {int(a) for a in allowed[name]}, name


def test_names_are_unique_and_parse_back() -> None:
    names = [m.name for m in ALL]
    assert len(set(names)) == len(names)
    for m in ALL:
        assert parse_member(m.name) == m
    m = parse_member("consent(leak_until=0.9, tolerate=no, pacify_at=never, petition=never, back_off=warning)")
    assert dict(m.params) == {
        "leak_until": 0.9,
        "tolerate": False,
        "pacify_at": None,
        "petition": "never",
        "back_off": "warning",
    }
    assert parse_member("passive", days=12).days == 12


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("kindness", "unknown family 'kindness'"),
        ("petition(every=4)", "every must be one of 1, 2, 3"),
        ("petition(often=1)", "petition takes every"),
        ("crackdown(above=0.05)", "crackdown takes the parameters above, otherwise"),
    ],
)
def test_bad_names_and_values_say_what_is_allowed(name: str, needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        parse_member(name)


def test_family_checks_its_mode() -> None:
    with pytest.raises(ValueError, match="mode must be one of none, consent"):
        Family("x", "chaos", (), lambda obs, day: obs)


@pytest.mark.parametrize("baseline", sorted(BASELINE_MEMBERS))
def test_each_old_baseline_is_a_member(baseline: str, observations: np.ndarray) -> None:
    member = parse_member(BASELINE_MEMBERS[baseline])
    assert member in ALL
    np.testing.assert_array_equal(member.act(observations), BASELINES[baseline].act(observations))


def test_day_rules_read_the_day_from_time_used() -> None:
    obs = np.zeros((4, len(OBSERVATION_FIELDS)), dtype=np.float32)
    obs[:, OBS_INDEX["time_used"]] = np.array([3, 4, 5, 6], dtype=np.float32) / 30
    assert parse_member("petition(every=2)").act(obs).tolist() == [0, 1, 0, 1]
    stop = "mobilize(mobilize_below=0.5, pacify_at=never, stop_after=5, otherwise=wait, tolerate=no)"
    assert parse_member(stop).act(obs).tolist() == [Action.MOBILIZE] * 2 + [Action.WAIT] * 2
    obs[:, OBS_INDEX["time_used"]] = np.array([3, 4, 5, 6], dtype=np.float32) / 8  # an 8-day horizon
    assert parse_member(stop, days=8).act(obs).tolist() == [Action.MOBILIZE] * 2 + [Action.WAIT] * 2
    assert parse_member(stop, days=30).act(obs).tolist() == [Action.WAIT] * 4  # read as days 10, 15, 19, 22


def test_consent_backs_off_when_warned() -> None:
    obs = np.zeros((2, len(OBSERVATION_FIELDS)), dtype=np.float32)
    obs[:, OBS_INDEX["police_tolerant"]] = 1.0
    obs[1, OBS_INDEX["warnings"]] = 0.2  # one warning
    base = "consent(leak_until=0.9, tolerate=yes, pacify_at=never, petition=never, back_off={})"
    assert parse_member(base.format("never")).act(obs).tolist() == [Action.LEAK, Action.LEAK]
    # Warned: pacify (the police back to normal), and once they are, only the cadence.
    assert parse_member(base.format("warning")).act(obs).tolist() == [Action.LEAK, Action.PACIFY]
    obs[:, OBS_INDEX["police_tolerant"]] = 0.0
    assert parse_member(base.format("warning")).act(obs).tolist() == [Action.TOLERATE, Action.WAIT]


# --- selection ---------------------------------------------------------------------------------------------


def test_selection_uses_common_random_numbers() -> None:
    a = parse_member(BASELINE_MEMBERS["consent"])
    other = parse_member(BASELINE_MEMBERS["petition"])
    sel = select(BASELINE, [a, a, other], episodes=200, seed=3)
    np.testing.assert_array_equal(sel.returns[0], sel.returns[1])
    assert sel.results[0] == sel.results[1]
    assert not np.array_equal(sel.returns[0], sel.returns[2])
    np.testing.assert_array_equal(sel.returns[0], run_episodes(BASELINES["consent"], BASELINE, 200, 3).returns)
    # Same seed, same starts: the hidden draws of episode i are shared by every member.
    starts = [run_episodes(m, BASELINE, 200, 3).recklessness for m in (a, other)]
    np.testing.assert_array_equal(*starts)


def test_rates_are_the_batch_figures() -> None:
    member = parse_member(BASELINE_MEMBERS["mobilize"])
    sel = select(BASELINE, [member], episodes=300, seed=1)
    r = sel.result(member)
    batch = run_episodes(member, BASELINE, 300, 1)
    assert r.mean_return == pytest.approx(batch.returns.mean())
    assert r.concession_rate == pytest.approx(batch.concession_rate)
    assert r.punishment_rate == pytest.approx(batch.punishment_rate)
    assert r.riot_rate == pytest.approx((batch.peak_disorder >= BASELINE.superior.veto_disorder).mean())
    assert r.pyrrhic_rate == pytest.approx((batch.conceded & batch.punished).mean())
    assert r.riot_rate > 0.1 and r.punishment_rate > 0.5  # the old mobilize script riots and is punished


def test_best_is_at_least_every_old_baseline_on_the_same_seed() -> None:
    sel = select(BASELINE, episodes=300, seed=11)
    top, top_result = best(sel)
    assert top_result.mean_return == sel.returns.mean(axis=1).max()
    for name in BASELINE_MEMBERS:
        old = run_episodes(BASELINES[name], BASELINE, 300, 11).returns.mean()
        assert top_result.mean_return >= old, name
        mode_best = best(sel, mode=parse_member(BASELINE_MEMBERS[name]).mode)[1]
        assert mode_best.mean_return >= old, name
    for mode in MODES:
        member, result = best(sel, mode=mode)
        assert member.mode == mode and result.mean_return <= top_result.mean_return
    with pytest.raises(ValueError, match="mode must be one of"):
        best(sel, mode="riot")


def test_choice_never_sees_the_report_seed(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, int]] = []
    play = fam._play

    def counting(policy, scenario, episodes, seed):  # noqa: ANN001, ANN202
        calls.append((getattr(policy, "name", "?"), seed))
        return play(policy, scenario, episodes, seed)

    monkeypatch.setattr(fam, "_play", counting)
    scenario = Scenario.preset("changxing").with_overrides({"horizon.days": 10})
    old = {"old": BASELINES["consent"]}
    report = best_out_of_sample(scenario, choose_seed=5, report_seed=6, episodes=100, against=old)
    seeds = Counter(seed for _, seed in calls)
    assert seeds[5] == len(ALL) == report.candidates
    chosen = {c.member.name for c in report.chosen.values()}
    # On the report seed: each chosen member once, and the policy compared with; nothing else.
    assert sorted(name for name, seed in calls if seed == 6) == sorted([*chosen, "consent"])
    assert set(seeds) == {5, 6}
    # Every choice on seed 5 precedes every play on seed 6.
    assert max(i for i, (_, s) in enumerate(calls) if s == 5) < min(i for i, (_, s) in enumerate(calls) if s == 6)
    overall = report.chosen["best"]
    assert overall.choice.seed == 5 and overall.report.seed == 6
    assert overall.choice.mean_return != overall.report.mean_return
    assert {"best", *(f"family:{f}" for f in FAMILIES), *MODES} == set(report.chosen)
    with pytest.raises(ValueError, match="must differ"):
        best_out_of_sample(scenario, choose_seed=4, report_seed=4, episodes=10)


def test_paired_difference_of_a_policy_with_itself_is_zero_and_otherwise_pairs_the_episodes() -> None:
    a = run_episodes(BASELINES["consent"], BASELINE, 400, 2)
    b = run_episodes(BASELINES["passive"], BASELINE, 400, 2)
    zero = paired_difference(a, a)
    assert (zero.mean, zero.low, zero.high) == (0.0, 0.0, 0.0)
    d = paired_difference(a, b)
    diff = a.returns - b.returns
    assert d.mean == pytest.approx(diff.mean())
    assert d.high - d.low == pytest.approx(2 * 1.96 * diff.std(ddof=1) / np.sqrt(400))
    with pytest.raises(ValueError, match="must match"):
        paired_difference(a.returns, b.returns[:10])


def test_best_consent_member_beats_the_old_consent_script_out_of_sample() -> None:
    """Baseline preset, 1000 episodes to choose (seed 1,000,000) and 1000 to report (seed 0): the old consent
    script leaks only until half the county knows and pacifies late; the best consent member earns clearly more
    (v1: +0.059, 95% CI +0.037 to +0.080; v0: +0.116; the test asks for a lower bound above +0.02)."""
    report = best_out_of_sample(
        BASELINE, choice_seed(0), 0, 1000, modes=["consent"], against={"consent": BASELINES["consent"]}
    )
    d = report.chosen["consent"].versus["consent"]
    assert d.low > 0.02, (report.chosen["consent"].member.name, d)


# --- where "the best scripted policy" is used ---------------------------------------------------------------


def test_compare_adds_the_best_member_chosen_on_other_seeds() -> None:
    short = BASELINE.with_overrides({"horizon.days": 12})
    member = best(select(short, episodes=100, seed=choice_seed(4)))[0]
    results = compare(member, short, episodes=100, seed=4, name="me", baselines=["passive"], families=True)
    row = results[BEST_MEMBER]
    assert row["member"] == member.name and row["choice_seed"] == choice_seed(4) == 1_000_004
    assert row["candidates"] == len(ALL) and row["episodes"] == 100
    # The policy *is* the chosen member: same episodes, same returns, a zero paired difference.
    assert results["me"]["member_advantage"] == 0.0 and results["me"]["member_advantage_ci95"] == [0.0, 0.0]
    other = compare(BASELINES["mobilize"], short, 100, 4, name="p", baselines=[], families=True, choice_episodes=50)
    assert other[BEST_MEMBER]["choice_episodes"] == 50
    assert other["p"]["member_advantage"] == pytest.approx(
        other["p"]["mean_return"] - other[BEST_MEMBER]["mean_return"]
    )
    assert other["p"]["member_advantage_ci95"][1] < 0  # busy brokers are well below the best member


def test_ppo_table_chooses_its_member_out_of_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    from massbargain.experiments.measures.ppo_table import _eval_best_member

    few = {k: FAMILIES[k] for k in ("passive", "petition", "crackdown")}  # 12 members: quick
    monkeypatch.setattr(fam, "FAMILIES", few)
    out = _eval_best_member("changxing", 60, 2)
    assert out["choice_seed"] == choice_seed(2) and len(out["returns"]) == 60
    assert out["member"] == best(select(Scenario.preset("changxing"), episodes=60, seed=choice_seed(2)))[0].name


def test_ppo_table_planner_builds_on_the_best_member() -> None:
    from massbargain.agents.planner import evaluate_planner, make_planner
    from massbargain.agents.planner.rules import ScriptedRule
    from massbargain.experiments.measures.ppo_table import _eval_planner

    member = "consent(leak_until=0.5, tolerate=yes, pacify_at=0.1, petition=daily, back_off=never)"
    out = _eval_planner("changxing", "honest", 6, 3, member)
    scenario = Scenario.preset("changxing")
    bases = [parse_member(member), ScriptedRule(accept=True)]
    same = evaluate_planner(make_planner("honest", scenario, base_policies=bases, seed=3), scenario, 6, 3, True)
    assert out["returns"] == [round(float(r), 6) for r in same.returns]  # that planner, on those episodes
    other = evaluate_planner(make_planner("honest", scenario, seed=3), scenario, 6, 3, True)  # default bases
    assert out["returns"] != [round(float(r), 6) for r in other.returns]


def test_cli_families_json_and_errors(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["families", "--scenario", "daye", "--episodes", "40", "--seed", "3", "--mode", "consent", "--json"]
    assert main(argv) == 0
    record = json.loads(capsys.readouterr().out)
    assert (record["choose_seed"], record["report_seed"], record["episodes"]) == (1_000_003, 3, 40)
    assert record["candidates"] == FAMILIES["consent"].size
    assert set(record["chosen"]) == {"best", "consent", "family:consent"}
    assert set(record["others"]) == set(BASELINE_MEMBERS)
    chosen = record["chosen"]["consent"]
    assert parse_member(chosen["member"]).mode == "consent"
    assert chosen["versus"]["consent"]["episodes"] == 40
    assert main(["families", "--scenario", "nowhere"]) == 2
    assert capsys.readouterr().err.startswith("massbargain: error: unknown preset 'nowhere'")


def test_cli_families_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["families", "--scenario", "changxing", "--episodes", "30", "--mode", "none"]) == 0
    out = capsys.readouterr().out
    assert "best of 4 scripted family members, chosen on seed 1000000 and reported on seed 0" in out
    assert out.count("best overall") == 1
    for name in ("passive", "petition"):
        assert f"\n{name} " in out
    for name in BASELINE_MEMBERS:  # the old baselines, on the report seed
        assert f"\n{name} " in out
