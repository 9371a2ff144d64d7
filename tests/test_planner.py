"""The reference planner (agents/planner/): its belief, its simulator, its protocol and its strength.

Returns are never hard-coded (the presets are recalibrated from time to time): the planner is compared
with the scripted baselines, and the clairvoyant with the honest planner, on the same seeds with common
luck (the superior's concession threshold and kind shared episode by episode), so that paired intervals
are narrow with few episodes. The default presets are model v1's; the belief is also checked on v0.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from massbargain import MassBargainEnv, Scenario, core
from massbargain.actions import Action
from massbargain.agents.baselines import BASELINES, RandomPolicy
from massbargain.agents.planner import (
    Belief,
    ClockSuperior,
    RolloutPlanner,
    ScriptedRule,
    compare_returns,
    evaluate_planner,
    evaluate_policy,
    make_planner,
    planner_speed,
    response_log_probabilities,
    rollout_returns,
    select_base_policies,
)
from massbargain.core import OBS_INDEX
from massbargain.policy import RulePolicy
from massbargain.rollout import run_episodes
from massbargain.superior import ScriptedSuperior, SuperiorView

PRESETS = ("baseline", "changxing", "daye")
EPISODES = 50
SEED = 2024
# Lighter than the defaults (32 particles, 256 to confirm) to keep the suite fast; still a full planner.
TEST_SETTINGS = {"particles": 16, "confirm_particles": 128}


@functools.cache
def _planner_returns(preset: str, kind: str, version: int = 1) -> np.ndarray:
    scenario = Scenario.preset(preset, version)
    planner = make_planner(kind, scenario, seed=1, **TEST_SETTINGS)
    return evaluate_planner(planner, scenario, EPISODES, SEED, common_luck=True).returns


def _baseline_returns(scenario: Scenario) -> dict[str, np.ndarray]:
    policies = {name: RandomPolicy(0) if isinstance(p, RandomPolicy) else p for name, p in BASELINES.items()}
    return {name: evaluate_policy(p, scenario, EPISODES, SEED, True).returns for name, p in policies.items()}


def _paired(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    d = x - y
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(d.size))


# --- the planner's strength ---------------------------------------------------------------------------


@pytest.mark.parametrize("preset", PRESETS)
def test_planner_beats_every_scripted_baseline_on_v0(preset: str) -> None:
    honest = _planner_returns(preset, "honest", 0)
    for name, baseline in _baseline_returns(Scenario.preset(preset, 0)).items():
        mean, se = _paired(honest, baseline)
        assert mean - 2.0 * se > 0.0, f"{preset}: planner {honest.mean():.4f} vs {name} {baseline.mean():.4f}"


@pytest.mark.parametrize("preset", PRESETS)
def test_planner_is_at_least_as_good_as_every_scripted_baseline(preset: str) -> None:
    """Model v1, paired at 2 standard errors: no scripted baseline beats the planner (issue 13's ordering), and
    the planner beats every baseline that its own best base rule beats by 3 standard errors.

    The v0 check (the planner beats every baseline) does not hold on v1, and this is why (docs/PLANNER.md): on
    ``daye`` the best scripted policy is doing nothing, which the planner matches but cannot beat, and on
    ``baseline`` consent is about as good as the best of the planner's rules. On v1 one-step rollouts improve
    little on their base, because a day's difference in the concession clock near the deadline, a
    standoff's radicalization or an evidence-driven inquiry flips whole outcomes in ~9% of continuations,
    which common random numbers cannot pair away."""
    scenario = Scenario.preset(preset)
    honest = _planner_returns(preset, "honest")
    best_rule = select_base_policies(scenario, k=1)[0][0]
    rule = evaluate_policy(best_rule, scenario, EPISODES, SEED, common_luck=True).returns
    for name, baseline in _baseline_returns(scenario).items():
        mean, se = _paired(honest, baseline)
        # Where the baseline's return is near zero (daye: doing nothing pays +0.0, nothing else pays), the planner
        # may trail it by up to 0.01 in absolute terms (one-step rollouts over noisy continuations; measured
        # -0.007 +- 0.002 on v1 daye), the tolerance issue 13's certification uses near zero.
        slack = 0.01 if abs(baseline.mean()) < 0.05 else 0.0
        assert mean + 2.0 * se > -slack, f"{preset}: {name} {baseline.mean():.4f} beats the planner {honest.mean():.4f}"
        lead, lead_se = _paired(rule, baseline)
        if lead > 3.0 * lead_se:
            assert mean - 2.0 * se > 0.0, f"{preset}: planner {honest.mean():.4f} vs {name} {baseline.mean():.4f}"


@pytest.mark.parametrize("preset", PRESETS)
def test_clairvoyant_not_worse_than_honest(preset: str) -> None:
    """Within noise, and within the planner's own tolerance: one-step rollout is not monotone in
    information, and on some presets the clairvoyant trails by a few thousandths (docs/PLANNER.md)."""
    honest = _planner_returns(preset, "honest")
    clairvoyant = _planner_returns(preset, "clairvoyant")
    mean, se = _paired(clairvoyant, honest)
    tolerance = 0.02 * abs(honest.mean())
    assert mean > -2.5 * se - tolerance, f"{preset}: clairvoyant {clairvoyant.mean():.4f} vs honest {honest.mean():.4f}"


def test_plugged_base_policies_are_improved_on() -> None:
    """Any policies with act(obs) can be the planner's continuations, and it does at least as well as them."""
    scenario = Scenario.preset("changxing")
    base = BASELINES["petition"]  # a RulePolicy, not one of the planner's own rules
    planner = make_planner("honest", scenario, base_policies=[base], seed=1, particles=8, confirm_particles=64)
    assert planner.base_policies == [base]
    mine = evaluate_planner(planner, scenario, 30, SEED, common_luck=True).returns
    theirs = evaluate_policy(base, scenario, 30, SEED, common_luck=True).returns
    mean, se = _paired(mine, theirs)
    assert mean - 2.0 * se > 0.0, f"planner {mine.mean():.4f} vs its base policy {theirs.mean():.4f}"
    with pytest.raises(ValueError, match="base_policies must be a non-empty list"):
        make_planner("honest", scenario, base_policies=[])
    with pytest.raises(ValueError, match=r"base_policies\[1\] must be a policy with act"):
        make_planner("honest", scenario, base_policies=[base, object()])


# --- the honest planner's belief ------------------------------------------------------------------------


def _posterior_rank(nodes: np.ndarray, logw: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """The posterior's CDF at the truth (mid-point of the nearest node's mass): uniform if calibrated."""
    w = np.exp(logw - logw.max(axis=1, keepdims=True))
    w /= w.sum(axis=1, keepdims=True)
    nearest = np.abs(nodes[None, :] - truth[:, None]).argmin(axis=1)
    rows = np.arange(truth.size)
    return np.cumsum(w, axis=1)[rows, nearest] - 0.5 * w[rows, nearest]


def _play_random(scenario: Scenario, episodes: int, days: int, seed: int, policy=None):  # noqa: ANN001, ANN202
    """Run ``policy`` (default: random) while a Belief follows; yields (belief, state, running rows) daily."""
    rng = np.random.default_rng(seed)
    state = core.initial_state(scenario, rng, episodes)
    policy = RandomPolicy(7) if policy is None else policy
    belief = Belief(scenario, episodes)
    obs = core.observe(state, scenario).astype(np.float64)
    belief.start(np.arange(episodes), obs)
    alive = np.ones(episodes, dtype=bool)
    for _ in range(days):
        actions = np.asarray(policy.act(obs.astype(np.float32)), dtype=np.int64)
        belief.prev_action[:] = actions
        result = core.step(state, actions, scenario, rng)
        obs = core.observe(state, scenario).astype(np.float64)
        alive &= ~result.terminated
        rows = np.flatnonzero(alive)
        belief.update(rows, obs[rows])
        belief.prev[rows] = obs[rows]
        yield belief, state, rows


@pytest.mark.parametrize(("version", "preset"), [(1, "baseline"), (1, "daye"), (0, "daye")])
def test_belief_rebuilds_the_hidden_state_from_observations(version: int, preset: str) -> None:
    """Evidence, pressure stock, peak disorder, warnings, the standoff clock, investigations: exact; the
    distribution of punishment so far: calibrated; mood and resolve: posteriors that cover the truth; ρ in
    v0: exact once brokers act (v1: test_recklessness_posterior_narrows_with_days_of_brokers)."""
    scenario = Scenario.preset(preset, version)
    for belief, state, rows in _play_random(scenario, 1500, 10, 5):
        for name in ("evidence", "stock", "peak_disorder"):
            np.testing.assert_allclose(getattr(belief, name)[rows], getattr(state, name)[rows], atol=1e-6)
        for name in ("warnings", "street_days", "investigation_left"):
            np.testing.assert_array_equal(getattr(belief, name)[rows], getattr(state, name)[rows])
        if version == 0:
            known = rows[belief.rho.known[rows]]
            np.testing.assert_allclose(belief.rho.value[known], state.recklessness[known], atol=1e-4)
    assert rows.size > 200
    assert (belief.rho.days[rows] > 0).mean() > 0.5  # the random policy mobilizes
    assert (state.severity[rows] > 0).mean() > 0.05  # and gets punished
    assert (state.street_days[rows] > 0).mean() > (0.3 if version == 1 else -1.0)  # standoffs (v1 only)
    assert (state.investigation_left >= 0).any()  # investigations open and are followed
    expected = belief.severity[rows] @ np.arange(4)
    true = state.severity[rows]
    assert abs(expected.mean() - true.mean()) < 3 * true.std() / np.sqrt(rows.size) + 0.02
    for nodes, logw, truth, sd, shrink in (
        (belief.mood, belief.mood_logw, state.mood, scenario.population.mood_sd, 0.5),  # the crowd tells
        (belief.resolve, belief.resolve_logw, state.resolve, scenario.superior.resolve_sd, 1.1),  # holds, barely
    ):
        rank = _posterior_rank(nodes, logw[rows], truth[rows])
        assert 0.4 < rank.mean() < 0.6  # the truth sits inside the posterior, not in a tail
        assert 0.05 < (rank < 0.1).mean() < 0.15
        error = np.abs((np.exp(logw[rows]) * nodes).sum(axis=1) / np.exp(logw[rows]).sum(axis=1) - truth[rows])
        assert error.mean() < shrink * sd * np.sqrt(2 / np.pi)  # the prior's mean absolute error, shrunk


def test_recklessness_posterior_narrows_with_days_of_brokers() -> None:
    """v1: brokers' conduct is noisy, so one day of activity leaves most of the prior's uncertainty about ρ,
    each further day narrows the posterior, and the posterior stays calibrated."""
    from massbargain.experiments.measures.planner_figures import recklessness_curve

    scenario = Scenario.preset("baseline")
    assert scenario.brokers.recklessness_noise > 0
    curve = recklessness_curve(scenario, episodes=3000, days=9, seed=11)
    error = dict(zip(curve["days"], curve["error"], strict=True))
    prior_error = dict(zip(curve["days"], curve["prior_error"], strict=True))
    # Issue 12's figure: after one day the posterior mean (the best predictor from it) keeps at least half
    # of the prior's mean absolute error; later days shrink it.
    assert error[1] >= 0.5 * prior_error[1]
    assert error[1] > error[2] > error[4] > error[8]
    assert error[8] < 0.6 * error[1]
    assert 0.45 < curve["calibration"]["mean"] < 0.55 and 0.07 < curve["calibration"]["below_0.1"] < 0.13
    exact = recklessness_curve(Scenario.preset("baseline", 0), episodes=200, days=2, seed=11)
    assert exact["error"][exact["days"].index(1)] < 1e-4 and exact["calibration"] is None  # v0: one day tells


def test_clock_superior_keeps_the_scripted_superiors_law() -> None:
    """Over three days of given views, the clock superior (one threshold and kind per stream) responds with
    the frequencies of ScriptedSuperior.respond's daily draws: day by day, each response among the episodes
    still running, including the first concession's day and kind (shelving, after disorder, is a SUSPEND)."""
    params = Scenario.preset("daye").superior
    assert params.shelve_disorder > 0  # v1's stability-first shelving is part of the law
    n = 200_000
    views = [  # pressure, stock, disorder, evidence, elite, resolve, peak disorder before the day
        (2.0, 1.5, 0.02, 0.2, 0.3, 0.5, 0.0),
        (4.0, 3.0, 0.12, 0.3, 0.5, 0.5, 0.02),
        (1.0, 2.5, 0.30, 0.5, 0.5, 0.0, 0.12),
    ]
    rng = np.random.default_rng(0)
    clock = ClockSuperior(np.random.default_rng(1), n)
    clock.stream, clock.hazard = np.arange(n), np.zeros(n)
    tables = []
    for superior in (ScriptedSuperior(), clock):
        running = np.ones(n, dtype=bool)
        table = np.zeros((len(views), 6))
        for t, values in enumerate(views):
            view = SuperiorView(*(np.full(n, v) for v in values))
            code = superior.respond(view, params, rng.random(n))
            table[t] = np.bincount(code[running], minlength=6) / n
            running &= code < 3
        tables.append(table)
    scripted, clocked = tables
    assert scripted[2, 3] > 0.5 * scripted[2].sum()  # shelving dominates the third day
    np.testing.assert_allclose(clocked, scripted, atol=5 * np.sqrt(2 * 0.25 / n))
    # and one day's probabilities are those of response_log_probabilities (a test of the function itself)
    p = np.exp(response_log_probabilities(SuperiorView(*(np.float64(v) for v in views[0])), params))
    np.testing.assert_allclose(p, scripted[0], atol=5 * np.sqrt(0.25 / n))


# --- the simulator ------------------------------------------------------------------------------------


@pytest.mark.parametrize("preset", ["changxing", "daye"])
def test_rollouts_and_common_luck_keep_the_models_law(preset: str) -> None:
    """Rollouts (shared streams, clock superior, normal binomials) and common-luck evaluation give the
    same mean return as plain episodes of the same rule."""
    scenario = Scenario.preset(preset)
    rule = BASELINES["consent"]
    n = 4000
    plain = run_episodes(rule, scenario, n, 1).returns
    lucky = evaluate_policy(rule, scenario, n, 2, common_luck=True).returns
    roots = core.initial_state(scenario, np.random.default_rng(3), n)
    first = int(rule.act(core.observe(roots, scenario)[:1])[0])
    simulated, _ = rollout_returns(roots, np.array([first]), [rule], scenario, np.random.default_rng(4))
    se = plain.std() / np.sqrt(n)
    for other in (lucky, simulated[0, 0]):
        assert abs(other.mean() - plain.mean()) < 4 * np.sqrt(2) * se


def test_common_luck_pairs_comparisons() -> None:
    """Two close policies (consent, and consent leaking further) evaluated with common luck differ by far
    less, episode by episode, than on different seeds; the episodes start as run_episodes' do.

    (On v1 the variant must pacify like consent: a tolerated crowd left to radicalize gets the official
    punished in about half the episodes, a real difference that no pairing removes.)"""
    scenario = Scenario.preset("changxing")
    variant = ScriptedRule(leak_until=0.75, pacify_above=0.3, petition_until=1.01)
    a = evaluate_policy(BASELINES["consent"], scenario, 500, 3, common_luck=True)
    b = evaluate_policy(variant, scenario, 500, 3, common_luck=True).returns
    a2 = evaluate_policy(BASELINES["consent"], scenario, 500, 4, common_luck=True).returns
    assert np.std(a.returns - b) < 0.5 * np.std(a2 - b)
    np.testing.assert_array_equal(a.recklessness, run_episodes(variant, scenario, 500, 3).recklessness)


def test_evaluate_policy_watch_sees_every_day() -> None:
    from massbargain.experiments.measures.planner_figures import CrackdownCounter

    scenario = Scenario.preset("baseline")
    counts = np.zeros(len(Action), dtype=np.int64)

    def watch(obs: np.ndarray, actions: np.ndarray, running: np.ndarray) -> None:
        np.add.at(counts, actions[running], 1)

    batch = evaluate_policy(BASELINES["consent"], scenario, 40, 3, common_luck=True, watch=watch)
    np.testing.assert_array_equal(counts, batch.action_counts.sum(axis=0))
    early = RulePolicy(
        "early-crackdown",
        lambda obs: np.where(obs[:, OBS_INDEX["time_used"]] < 0.1, Action.CRACKDOWN, Action.LEAK),
        "CRACKDOWN on the first three days, then LEAK.",
    )
    counter = CrackdownCounter(40)
    batch = evaluate_policy(early, scenario, 40, 3, watch=counter)
    np.testing.assert_array_equal(counter.all, batch.action_counts[:, Action.CRACKDOWN])
    assert (counter.on_empty_square >= 1).all()  # day 0's square is empty
    assert (counter.on_empty_square <= counter.all).all()
    assert counter.summary()["empty_square_share"] == 1.0


# --- protocol and helpers -----------------------------------------------------------------------------


def test_policy_protocol_and_episode_detection() -> None:
    scenario = Scenario.preset("changxing")
    planner = make_planner("honest", scenario, particles=4, confirm_particles=16)
    state = core.initial_state(scenario, np.random.default_rng(0), 3)
    obs = core.observe(state, scenario)
    actions = planner.act(obs)
    assert actions.shape == (3,) and actions.dtype == np.int64 and ((0 <= actions) & (actions < 8)).all()
    assert isinstance(planner.act(obs[0]), int)
    assert planner.belief is not None and planner.belief.size == 1  # a new batch size starts afresh
    actions = planner.act(obs)
    core.step(state, actions, scenario, np.random.default_rng(1))
    planner.act(core.observe(state, scenario))
    assert planner.belief.started.all()
    planner.reset()
    assert planner.belief is None and planner.decisions == 0


def test_clairvoyant_needs_the_state_and_plays_a_gym_env() -> None:
    scenario = Scenario.preset("changxing")
    env = MassBargainEnv("changxing")
    obs, _ = env.reset(seed=3)
    with pytest.raises(RuntimeError, match="true state"):
        make_planner("clairvoyant", scenario, particles=4).act(obs)
    planner = make_planner("clairvoyant", scenario, particles=4, confirm_particles=16, state_source=lambda: env.state)
    terminated = False
    for _ in range(scenario.horizon.days):
        obs, _, terminated, _, _ = env.step(planner.act(obs))
        if terminated:
            break
    assert terminated
    with pytest.raises(ValueError, match="kind"):
        RolloutPlanner(scenario, "psychic")


def test_base_policies_and_helpers() -> None:
    scenario = Scenario.preset("baseline")
    rules, means = select_base_policies(scenario, k=3)
    assert len(rules) == 3 and np.all(np.isfinite(means))
    assert (rules[0].petition_until == 0) != (rules[1].petition_until == 0)  # they spend differently
    assert ScriptedRule(accept=True).act(np.zeros(19, dtype=np.float32)) == 7
    near = compare_returns(np.array([0.1, 0.2, 0.3]), np.array([0.01, -0.01, 0.0]))
    assert near["use"] == "difference" and near["ratio"] is None
    far = compare_returns(np.full(50, 0.45), np.full(50, 0.5), paired=True)
    assert far["use"] == "ratio" and far["ratio"] == pytest.approx(0.9)
    speed = planner_speed("honest", "changxing", episodes=4, particles=4, confirm_particles=16)
    assert speed["episodes"] == 4 and speed["seconds"] > 0 and speed["decisions"] > 0


def test_planner_figures_cache_and_tables(tmp_path) -> None:  # noqa: ANN001
    from massbargain.agents.config import UserError
    from massbargain.experiments.measures import planner_figures as pf

    lines: list[str] = []
    settings = {"seed": 0, "speed_episodes": None, "belief_episodes": 40, "exploit_episodes": 2, "say": lines.append}
    results = pf.run_figures(tmp_path, [1], ["changxing"], episodes=3, **settings)
    play = results[1, "changxing"]["play"]
    assert set(play["returns"]) == {"honest", "clairvoyant", *BASELINES} and len(play["returns"]["honest"]) == 3
    assert len(lines) == 6 and (tmp_path / "v1" / "changxing_play.json").is_file()
    again = pf.run_figures(tmp_path, [1], ["changxing"], episodes=3, **settings)
    assert again == results and len(lines) == 6  # read from the cache
    with pytest.raises(UserError, match="--overwrite"):
        pf.run_figures(tmp_path, [1], ["changxing"], episodes=4, **settings)
    text = pf.format_markdown(results)
    assert "| changxing |" in text and "empty square" in text and "script − PETITION" in text
    exploit = results[1, "changxing"]["exploit"]
    assert len(exploit["script_minus_petition"]) == 20 and len(exploit["planner_with_script"]) == 2


def test_bench_reports_the_planners_speed() -> None:
    from massbargain.experiments.measures import bench

    p = bench._planner_speed(3, seed=0)
    assert p["kind"] == "honest" and p["episodes"] == 3 and p["scaled"]
    assert p["episodes_per_second"] == pytest.approx(3 / p["seconds"])
    assert p["seconds_200"] == pytest.approx(p["seconds"] * 200 / 3)
    assert p["cpu_seconds_200"] == pytest.approx(p["cpu_seconds"] * 200 / 3)
    assert p["ok"] == (p["seconds_200"] <= p["target_s"] == 120.0)
    fake = {
        "figures": {},
        "planner": p,
        "quick": True,
        "elapsed_s": 1.0,
        "method": "m",
        "ppo_hyperparameters_source": "s",
        "machine": {"cpus": 2, "load_1min": None},
    }
    assert "planner (honest, baseline)" in bench.format_table(fake) and "scaled from 3" in bench.format_table(fake)


@pytest.mark.parametrize("preset", PRESETS)
def test_certification_ordering_clairvoyant_honest_best_member(preset: str) -> None:
    """Issue 13's ordering, paired on the same episodes: the honest planner built on the best family member
    (chosen on other episodes) is at least as good as that member, and the clairvoyant planner at least as good
    as the honest one (within 2 standard errors, and the tolerances above: 0.01 near zero, 2% of the honest
    return for the clairvoyant, whose one-step rollouts are not monotone in information)."""
    from massbargain.agents.families import parse_member
    from massbargain.experiments.measures.choice import best_members, best_of, region

    scenario = Scenario.preset(preset)
    bests = best_members(scenario, SEED, EPISODES)
    member = parse_member(best_of(bests, region(bests)).name)
    bases = [member, ScriptedRule(accept=True)]
    script = evaluate_policy(member, scenario, EPISODES, SEED, common_luck=True).returns
    planners = {
        kind: make_planner(kind, scenario, base_policies=bases, seed=1, **TEST_SETTINGS)
        for kind in ("honest", "clairvoyant")
    }
    honest = evaluate_planner(planners["honest"], scenario, EPISODES, SEED, common_luck=True).returns
    clairvoyant = evaluate_planner(planners["clairvoyant"], scenario, EPISODES, SEED, common_luck=True).returns
    mean, se = _paired(honest, script)
    slack = 0.01 if abs(script.mean()) < 0.05 else 0.0
    assert mean + 2.0 * se >= -slack, f"{preset}: {member.name} beats the planner"
    mean, se = _paired(clairvoyant, honest)
    assert mean >= -2.0 * se - 0.02 * abs(honest.mean()), f"{preset}: clairvoyant {clairvoyant.mean():.4f} < honest"


def test_rollout_improvement_is_seeded_and_falls_back_on_its_base() -> None:
    """The fitted improvement (a research tool, not used by the map): same seed, same policy; the base's own
    action has advantage 0; with a margin no advantage reaches it plays the base; bad episodes are refused."""
    from massbargain.agents.families import parse_member
    from massbargain.agents.planner.improve import RolloutImprovement, rollout_improvement

    scenario = Scenario.preset("changxing")
    member = parse_member(
        "consent(leak_until=0.7, tolerate=yes, pacify_at=0.1, petition=daily, back_off=never)",
        days=scenario.horizon.days,
    )
    a = rollout_improvement(scenario, member, 12, seed=4, particles=8, confirm_particles=0)
    b = rollout_improvement(scenario, member, 12, seed=4, particles=8, confirm_particles=0)
    rng = np.random.default_rng(9)
    state, seen = core.initial_state(scenario, rng, 40), []
    for _ in range(10):  # the member's first ten days in 40 episodes
        seen.append(core.observe(state, scenario).astype(np.float32))
        core.step(state, np.asarray(member.act(seen[-1])), scenario, rng)
    obs = np.concatenate(seen)
    assert a.states > 12
    np.testing.assert_array_equal(a.act(obs), b.act(obs))
    adv = a.advantages(obs)
    base = np.asarray(member.act(obs))
    assert (adv[np.arange(len(obs)), base] == 0.0).all()
    assert np.abs(adv).max() > 0.0  # the regressions fitted something
    never = RolloutImprovement(base=member, regressors=a.regressors, margin=1e9, states=a.states)
    np.testing.assert_array_equal(never.act(obs), base)
    assert never.act(obs[0]) == int(base[0])
    assert a.name.startswith("improved(consent(")
    with pytest.raises(ValueError, match="episodes must be >= 1"):
        rollout_improvement(scenario, member, 0, seed=4)
