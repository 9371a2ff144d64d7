"""Property-based tests: for random valid scenarios and random action sequences, the environment keeps its
invariants (observations in the space, finite rewards, shares ordered, the deadline), and the batched core
agrees with the single environment.

Scenarios are drawn from ``parameter_table()``: a few parameters at a time, each inside its declared range,
on top of a random preset; the horizon and the population are kept small so that the file runs quickly.
Hypothesis is derandomized and keeps no example database, so every run tests the same examples.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from massbargain import (
    OBS_INDEX,
    OBSERVATION_FIELDS,
    PRESETS,
    Action,
    EndReason,
    MassBargainEnv,
    Outcome,
    Scenario,
    ScenarioError,
    core,
)
from massbargain.agents.baselines import BASELINES
from massbargain.rollout import run_episodes
from massbargain.scenario import parameter_table

SIZED = {"horizon.days", "population.n_residents"}  # drawn separately, kept small
ROWS = [row for row in parameter_table() if row["key"] not in SIZED]
F = len(OBSERVATION_FIELDS)
TOL = 1e-6  # float32 observations of float64 shares computed by different routes (a·(1/n) vs b/n)

PROPERTY = settings(
    derandomize=True,
    database=None,
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@st.composite
def scenarios(draw) -> Scenario:
    preset = draw(st.sampled_from(sorted(PRESETS)))
    rows = draw(st.lists(st.sampled_from(ROWS), max_size=5, unique_by=lambda row: row["key"]))
    overrides = {}
    for row in rows:
        lo, hi = row["range"]
        if isinstance(row["default"], int):
            overrides[row["key"]] = draw(st.integers(int(lo), int(hi)))
        else:
            # The ends of the range are where the edge cases live; draw them often.
            overrides[row["key"]] = draw(st.one_of(st.sampled_from([lo, hi]), st.floats(lo, hi)))
    overrides["horizon.days"] = draw(st.integers(3, 40))
    overrides["population.n_residents"] = draw(st.sampled_from([10, 11, 97, 1000]) | st.integers(10, 50_000))
    try:
        return Scenario.preset(preset).with_overrides(overrides)
    except ScenarioError:
        # Only the one cross-field rule may refuse values drawn inside their ranges.
        assert overrides.get("superior.veto_disorder", 0.0) > 0.0 or "superior.takeover_disorder" in overrides
        assume(False)


# ACCEPT is drawn rarely, so that most episodes run for a while.
ACTION = st.sampled_from([int(a) for a in Action if a != Action.ACCEPT] * 4 + [int(Action.ACCEPT)])
SEED = st.integers(0, 2**32 - 1)


def _check_observation(obs: np.ndarray, env: MassBargainEnv) -> None:
    assert isinstance(obs, np.ndarray)
    assert obs.dtype == np.float32 and obs.shape == (F,)
    assert np.all(np.isfinite(obs))
    assert np.all(obs >= 0.0) and np.all(obs <= 1.0), dict(zip(OBSERVATION_FIELDS, obs.tolist(), strict=True))
    assert env.observation_space.contains(obs)
    i = OBS_INDEX
    assert obs[i["crowd"]] <= obs[i["informed"]] + TOL
    assert obs[i["police_firm"]] + obs[i["police_normal"]] + obs[i["police_tolerant"]] == 1.0
    assert obs[i["last_hold"]] + obs[i["last_warn"]] + obs[i["last_repress"]] == 1.0


@PROPERTY
@given(scenario=scenarios(), seed=SEED, actions=st.lists(ACTION, min_size=1, max_size=40))
def test_random_episodes_keep_the_invariants(scenario, seed, actions):
    env = MassBargainEnv(scenario)
    horizon = scenario.horizon.days
    i = OBS_INDEX
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        obs, info = env.reset(seed=seed)
        _check_observation(obs, env)
        assert obs[i["stakes"]] == pytest.approx(scenario.utility.stakes, abs=TOL)
        recklessness, evidence = info["recklessness"], info["evidence"]
        day, terminated = 0, False
        while not terminated:
            a = actions[day % len(actions)]
            obs, reward, terminated, truncated, info = env.step(a)
            day += 1
            _check_observation(obs, env)
            assert isinstance(reward, float) and np.isfinite(reward)
            assert truncated is False
            assert obs[i["time_used"]] == pytest.approx(day / horizon, abs=TOL)
            if a != Action.ACCEPT:  # see test_env.py::test_accept_day_keeps_the_crowd_within_its_peak
                assert obs[i["peak_crowd"]] >= obs[i["crowd"]] - TOL
            assert info["recklessness"] == recklessness and 0.0 <= recklessness <= 1.0
            assert evidence <= info["evidence"] <= 1.0
            evidence = info["evidence"]
            assert day <= horizon, "the episode outlived its deadline"
    assert info["outcome"] != Outcome.NONE and info["end_reason"] != EndReason.NONE
    if Action.ACCEPT not in actions[:day] and day < horizon:
        assert info["end_reason"] != EndReason.DEADLINE


@PROPERTY
@given(scenario=scenarios(), seed=SEED)
def test_wait_every_day_ends_by_the_deadline(scenario, seed):
    env = MassBargainEnv(scenario)
    env.reset(seed=seed)
    day, terminated = 0, False
    while not terminated and day < scenario.horizon.days:
        _, reward, terminated, truncated, info = env.step(Action.WAIT)
        day += 1
        assert np.isfinite(reward) and truncated is False
    assert terminated, f"not over after {day} days"
    if info["end_reason"] == EndReason.DEADLINE:
        assert day == scenario.horizon.days and info["outcome"] == Outcome.IMPOSED
    else:  # only the superior, an investigation or the province end it earlier
        assert info["end_reason"] in (EndReason.CONCESSION, EndReason.DISMISSED, EndReason.TAKEOVER)


@PROPERTY
@given(scenario=scenarios(), seed=SEED, batch=st.integers(1, 6), actions=st.lists(ACTION, min_size=1, max_size=12))
def test_batched_core_keeps_observations_in_range_while_alive(scenario, seed, batch, actions):
    rng = np.random.default_rng(seed)
    state = core.initial_state(scenario, rng, batch)
    alive = np.ones(batch, dtype=bool)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        for day in range(scenario.horizon.days):
            obs = core.observe(state, scenario)
            assert obs.dtype == np.float32 and obs.shape == (batch, F)
            live = obs[alive]
            assert np.all((live >= 0.0) & (live <= 1.0))
            assert np.all(live[:, OBS_INDEX["crowd"]] <= live[:, OBS_INDEX["informed"]] + TOL)
            a = np.array([actions[(day + k) % len(actions)] for k in range(batch)], dtype=np.int64)
            result = core.step(state, a, scenario, rng)
            assert np.shape(result.reward) == (batch,) and np.all(np.isfinite(result.reward))
            alive &= ~np.asarray(result.terminated, dtype=bool)
            if not alive.any():
                break
    assert not alive.any(), "some episode outlived its deadline"


@settings(PROPERTY, max_examples=40)
@given(
    scenario=scenarios(),
    seed=st.integers(0, 10_000),
    policy=st.sampled_from(sorted(name for name in BASELINES if name != "random")),
)
def test_a_batch_of_one_matches_the_single_env(scenario, seed, policy):
    """One rule set: ``run_episodes`` (the batched core) and the Env (the single path) agree for a seed."""
    pi = BASELINES[policy]
    batch = run_episodes(pi, scenario, 1, seed)
    env = MassBargainEnv(scenario)
    obs, _ = env.reset(seed=seed)
    total, days, terminated = 0.0, 0, False
    while not terminated:
        obs, reward, terminated, _, info = env.step(pi.act(obs))
        total += reward
        days += 1
    assert batch.length[0] == days
    assert batch.outcome[0] == info["outcome"]
    assert batch.end_reason[0] == info["end_reason"]
    assert batch.severity[0] == info["severity"]
    assert batch.returns[0] == pytest.approx(total, abs=1e-9)
    assert batch.recklessness[0] == pytest.approx(info["recklessness"], abs=1e-12)
