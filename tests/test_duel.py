"""The learning superior (issue 14): the two-sided PettingZoo env, the superior's envs, the split day of the
core, and a tiny duel trained with SB3 on both sides."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest

import massbargain  # noqa: F401  (registers the ids)
from massbargain import core
from massbargain.actions import Action, EndReason, Outcome, Response
from massbargain.env import MassBargainEnv
from massbargain.rollout import run_episodes
from massbargain.scenario import Scenario
from massbargain.superior import ScriptedSuperior
from massbargain.superior_env import (
    PolicySuperior,
    PoolSuperior,
    SuperiorEnv,
    SuperiorReward,
    SuperiorVectorEnv,
    superior_reward,
)

pytest.importorskip("pettingzoo")
from massbargain.duel import DuelEnv  # noqa: E402


class _Mixed:
    """A deterministic official that uses every action (a function of the observation)."""

    def act(self, obs: np.ndarray):
        obs = np.asarray(obs)
        batch = np.atleast_2d(obs)
        a = (np.floor(batch[:, 0] * 30).astype(np.int64) * 5 + (batch[:, 3] > 0.01)) % 7  # never ACCEPT
        return a if obs.ndim == 2 else int(a[0])


def test_pettingzoo_api_test():
    from pettingzoo.test import api_test

    api_test(DuelEnv(scenario="daye"), num_cycles=300)


@pytest.mark.parametrize("scenario", ["baseline", "daye", "changxing"])
def test_scripted_superior_in_the_duel_equals_the_single_agent_env(scenario):
    """Same seed, same official actions, the scripted superior's response played: bit for bit the same
    observations, rewards, responses and ends as MassBargainEnv."""
    for seed in range(6):
        duel, single = DuelEnv(scenario=scenario), MassBargainEnv(scenario)
        duel.reset(seed=seed)
        obs, _ = single.reset(seed=seed)
        actions = np.random.default_rng(100 + seed).integers(0, len(Action), size=200)
        for a in actions:
            assert np.array_equal(duel.observe("official"), obs)
            duel.step(int(a))
            duel.step(int(duel.infos["superior"]["scripted_response"]))
            obs, reward, terminated, _, info = single.step(int(a))
            assert duel.rewards["official"] == reward
            assert duel.infos["official"]["response"] == info["superior_response"]
            assert duel.infos["official"]["outcome"] == info["outcome"]
            if terminated:
                assert all(duel.terminations.values())
                break
        assert terminated


def test_split_day_equals_step_batched():
    scenario = Scenario.preset("daye")
    a_state = core.initial_state(scenario, np.random.default_rng(3), 64)
    b_state = a_state.copy()
    rng_a, rng_b = np.random.default_rng(4), np.random.default_rng(4)
    sup = ScriptedSuperior()
    for day in range(10):
        actions = np.full(64, day % 7)
        ra = core.step(a_state, actions, scenario, rng_a)
        d = core.begin_day(b_state, actions, scenario, rng_b)
        rb = core.end_day(b_state, d, sup.respond(d.view, scenario.superior, d.uniform), scenario)
        assert np.array_equal(ra.reward, rb.reward) and np.array_equal(ra.response, rb.response)
        assert np.array_equal(core.observe(a_state, scenario), core.observe(b_state, scenario))


def test_pool_of_the_scripted_superior_alone_is_the_scripted_superior():
    scenario = Scenario.preset("baseline")
    a = run_episodes(_Mixed(), scenario, 300, seed=5)
    b = run_episodes(_Mixed(), scenario, 300, seed=5, superior=PoolSuperior([ScriptedSuperior()]))
    assert np.array_equal(a.returns, b.returns) and np.array_equal(a.outcome, b.outcome)


class _Fixed:
    """A 'learned' superior with fixed probabilities (for PolicySuperior)."""

    def __init__(self, p):
        self.p = np.asarray(p, dtype=float)

    def probs(self, obs):
        return np.tile(self.p, (np.atleast_2d(obs).shape[0], 1))


def test_policy_superior_samples_its_probabilities_and_pool_mixes_per_episode():
    scenario = Scenario.preset("baseline")
    hold = PolicySuperior(_Fixed([1, 0, 0, 0, 0, 0, 0]))
    withdraw = PolicySuperior(_Fixed([0, 0, 0, 0, 0, 1, 0]))
    b = run_episodes(_Mixed(), scenario, 400, seed=1, superior=hold)
    assert not (b.end_reason == EndReason.CONCESSION).any()  # (a takeover may still shelve the plan)
    b = run_episodes(_Mixed(), scenario, 400, seed=1, superior=withdraw)
    assert (b.outcome == Outcome.WITHDRAWN).all() and (b.length == 1).all()
    b = run_episodes(_Mixed(), scenario, 2000, seed=1, superior=PoolSuperior([hold, withdraw], [0.25, 0.75]))
    withdrawn = (b.outcome == Outcome.WITHDRAWN).mean()
    assert abs(withdrawn - 0.75) < 0.04  # ~4.5 standard errors
    assert ((b.outcome == Outcome.WITHDRAWN) == (b.length == 1)).all()  # a member holds for its whole episode


def test_superior_reward_orders_the_plan_and_charges_takeover():
    scenario = Scenario.preset("baseline")
    state = core.initial_state(scenario, np.random.default_rng(0), 5)
    state.disorder[:] = 0.0
    w = SuperiorReward()
    result = core.StepResult(
        reward=np.zeros(5),
        terminated=np.ones(5, dtype=bool),
        response=np.zeros(5, dtype=np.int64),
        outcome=np.array([Outcome.IMPOSED, Outcome.PARTIAL, Outcome.SUSPENDED, Outcome.WITHDRAWN, Outcome.IMPOSED]),
        end_reason=np.array([3, 1, 1, 1, 5]),
        triggered=np.zeros(5, dtype=bool),
        punished=np.zeros(5, dtype=np.int64),
    )
    r = superior_reward(result, state, scenario, w)
    assert r[0] > r[1] > r[2] > r[3]
    assert r[0] - r[4] == pytest.approx(w.takeover_cost)
    with pytest.raises(ValueError, match="takeover_cost"):
        SuperiorReward(takeover_cost=-1.0)


def test_superior_env_checker_registration_and_determinism():
    from gymnasium.utils.env_checker import check_env

    check_env(SuperiorEnv("daye", official=_Mixed()), skip_render_check=True)
    env = gym.make("MassBargainSuperior-Daye-v1", official=_Mixed())
    runs = []
    for _ in range(2):
        obs, _ = env.reset(seed=7)
        trace = [obs]
        rng = np.random.default_rng(0)
        for _ in range(200):
            obs, r, term, _, info = env.step(int(rng.integers(3)))
            trace.append((obs, r))
            if term:
                obs, _ = env.reset()
        runs.append(trace)
    assert all(np.array_equal(x[0], y[0]) for x, y in zip(runs[0][1:], runs[1][1:], strict=True))


def test_superior_vector_env_of_one_copy_equals_the_single_env():
    single, vector = SuperiorEnv("changxing", official=_Mixed()), SuperiorVectorEnv(1, "changxing", official=_Mixed())
    obs, _ = single.reset(seed=11)
    vobs, _ = vector.reset(seed=11)
    rng = np.random.default_rng(2)
    for _ in range(60):
        assert np.array_equal(obs, vobs[0])
        a = int(rng.choice([Response.HOLD, Response.WARN, Response.REPRESS, Response.INVESTIGATE]))
        obs, r, term, _, _ = single.step(a)
        vobs, vr, vterm, _, info = vector.step(np.array([a]))
        assert r == vr[0] and term == vterm[0]
        if term:
            assert np.array_equal(obs, info["final_obs"][0])
            break


def test_tiny_duel_trains_both_sides_and_resumes(tmp_path):
    pytest.importorskip("stable_baselines3")
    from massbargain.experiments.duel.train import DuelConfig, run_duel

    cfg = DuelConfig(scenario="baseline", rounds=2, official_steps=2048, superior_steps=2048, eval_episodes=100)
    table = run_duel(cfg, tmp_path, log=lambda _: None)
    for r in (1, 2):
        assert (tmp_path / f"round_{r}" / "official.zip").exists()
        assert (tmp_path / f"round_{r}" / "superior.zip").exists()
    assert table["officials"] == ["official_r1", "official_r2"]
    assert table["superiors"] == ["scripted", "superior_r1", "superior_r2"]
    cell = table["cells"]["official_r2"]["superior_r2"]
    assert 0.0 <= cell["pyrrhic_rate"] <= min(cell["concession_rate"], cell["punishment_rate"])
    assert abs(cell["none_share"] + cell["consent_share"] + cell["mobilized_share"] - 1.0) < 1e-9
    assert set(table["gains"]) == {"official", "superior", "learned_minus_scripted"}
    progress = json.loads((tmp_path / "progress.json").read_text())
    stamp = (tmp_path / "round_2" / "superior.zip").stat().st_mtime_ns
    run_duel(cfg, tmp_path, log=lambda _: None)  # finished: nothing is retrained
    assert json.loads((tmp_path / "progress.json").read_text()) == progress
    assert (tmp_path / "round_2" / "superior.zip").stat().st_mtime_ns == stamp
    with pytest.raises(ValueError, match="rounds"):
        DuelConfig(rounds=0)


def test_cli_refuses_another_configuration_and_bad_values(tmp_path, capsys):
    pytest.importorskip("stable_baselines3")
    from massbargain.agents.outdir import prepare_output_dir
    from massbargain.experiments.cli.main import main
    from massbargain.experiments.duel.train import WHAT, DuelConfig

    prepare_output_dir(tmp_path, DuelConfig(rounds=1).record(), resume=True, overwrite=False, what=WHAT, log=None)
    (tmp_path / "progress.json").write_text('{"done": [], "seconds": {}}')  # the folder holds work
    assert main(["duel", "--rounds", "2", "--out", str(tmp_path)]) == 2
    assert "rounds" in capsys.readouterr().err
    assert main(["duel", "--set", "brokers.recklessness=7", "--out", str(tmp_path / "x")]) == 2
    assert "recklessness" in capsys.readouterr().err
    assert main(["duel-report", str(tmp_path), "--out", str(tmp_path / "r")]) == 2
    assert "payoff.json" in capsys.readouterr().err
