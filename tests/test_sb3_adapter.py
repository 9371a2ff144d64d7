"""SB3VecEnv: Stable-Baselines3's VecEnv API over the native vector env (same-step autoreset).

With one copy the adapter must give exactly what SB3's own DummyVecEnv gives over the single env
(observations, rewards, dones, ``terminal_observation``, ``TimeLimit.truncated``); with many copies it must
keep SB3's contract (shapes, dtypes, one info dict per copy, VecMonitor's episode figures); and PPO must
learn through it.
"""

from __future__ import annotations

import time

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.vector import AutoresetMode
from stable_baselines3 import PPO
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv, VecMonitor

import massbargain  # noqa: F401
from massbargain import OBS_INDEX, Action, Scenario
from massbargain.agents.baselines import BASELINES
from massbargain.agents.sb3_vec import SB3VecEnv, make_sb3_vec_env
from massbargain.rollout import run_episodes

ACTIONS = [1, 3, 2, 2, 4, 0, 5, 6, 7, 1, 2, 3, 3, 7, 4, 4, 4, 5, 6, 0, 2, 7] + [1, 3, 2, 4, 0, 5, 6, 1, 2] * 12
STEP_KEYS = ("action", "mode", "superior_response", "triggered", "punished", "outcome", "end_reason")


def _adapter(env_id: str = "MassBargain-v1", n: int = 1, **kwargs) -> SB3VecEnv:
    return SB3VecEnv(gym.make_vec(env_id, num_envs=n, autoreset_mode=AutoresetMode.SAME_STEP, **kwargs))


@pytest.mark.parametrize("env_id", ["MassBargain-v1", "MassBargain-Daye-v1"])
def test_one_copy_equals_dummy_vec_env_over_the_single_env(env_id):
    ours = _adapter(env_id)
    dummy = DummyVecEnv([lambda: gym.make(env_id)])
    ours.seed(5)
    dummy.seed(5)
    assert np.array_equal(ours.reset(), dummy.reset())
    episodes = 0
    for a in ACTIONS:
        o1, r1, d1, i1 = ours.step(np.array([a]))
        o2, r2, d2, i2 = dummy.step(np.array([a]))
        assert np.array_equal(o1, o2) and np.array_equal(r1, r2) and np.array_equal(d1, d2)
        assert r1.dtype == r2.dtype == np.float32 and d1.dtype == np.bool_
        if d2[0]:
            episodes += 1
            assert np.array_equal(i1[0]["terminal_observation"], i2[0]["terminal_observation"])
            assert i1[0]["TimeLimit.truncated"] is i2[0]["TimeLimit.truncated"] is False
            for key in (*STEP_KEYS, "recklessness", "resolve", "evidence", "severity"):
                assert i1[0][key] == i2[0][key], key
            assert ours.reset_infos[0]["recklessness"] == dummy.reset_infos[0]["recklessness"]
        else:
            assert i1 == [{}]
    assert episodes >= 3


def test_many_copies_keep_the_sb3_contract():
    n = 32
    env = _adapter(n=n)
    env.seed(0)
    obs = env.reset()
    assert obs.shape == (n, 19) and obs.dtype == np.float32
    rng = np.random.default_rng(0)
    finished = 0
    for _ in range(60):
        obs, rewards, dones, infos = env.step(rng.integers(0, 8, size=n))
        assert rewards.shape == (n,) and rewards.dtype == np.float32 and dones.dtype == np.bool_
        assert isinstance(infos, list) and len(infos) == n
        for i in range(n):
            if dones[i]:
                final = infos[i]["terminal_observation"]
                assert final.shape == (19,) and final[OBS_INDEX["time_used"]] > 0
                assert obs[i, OBS_INDEX["time_used"]] == 0  # already the next episode
                assert infos[i]["TimeLimit.truncated"] is False and infos[i]["outcome"] != 0
                assert set(env.reset_infos[i]) >= {"recklessness", "resolve", "evidence"}
            else:
                assert infos[i] == {}
        assert np.all(obs[:, OBS_INDEX["time_used"]] < 1.0 + 1e-6)
        finished += int(dones.sum())
    assert finished > n


def test_step_info_copies_every_key_to_every_copy():
    env = SB3VecEnv(gym.make_vec("MassBargain-v1", num_envs=4, autoreset_mode="SameStep"), step_info=True)
    env.reset()
    _, _, dones, infos = env.step(np.array([Action.WAIT, Action.ACCEPT, Action.LEAK, Action.MOBILIZE]))
    assert dones.tolist() == [False, True, False, False]
    assert all(info["mode"] is not None and "evidence" in info for info in infos)
    assert infos[1]["action"] == Action.ACCEPT and "terminal_observation" in infos[1]


def test_vec_monitor_reports_episodes():
    env = make_sb3_vec_env("MassBargain-Changxing-v1", 16, seed=1, info_keywords=("outcome", "end_reason"))
    assert isinstance(env, VecMonitor)
    policy = BASELINES["consent"]
    obs = env.reset()
    returns, lengths = np.zeros(16), np.zeros(16, dtype=int)
    seen = 0
    for _ in range(80):
        obs, rewards, dones, infos = env.step(policy.act(obs))
        returns += rewards
        lengths += 1
        for i in np.flatnonzero(dones):
            ep = infos[i]["episode"]
            assert ep["r"] == pytest.approx(returns[i], abs=1e-5) and ep["l"] == lengths[i]
            assert ep["outcome"] == infos[i]["outcome"] and ep["end_reason"] > 0
            seen += 1
        returns[dones], lengths[dones] = 0.0, 0
    assert seen > 16


def test_final_info_off_keeps_what_sb3_reads_and_the_same_episodes():
    full = make_sb3_vec_env("MassBargain-Daye-v1", 8, seed=3, monitor=False)
    slim = make_sb3_vec_env("MassBargain-Daye-v1", 8, seed=3, monitor=False, final_info=False)
    obs_f, obs_s = full.reset(), slim.reset()
    ended = 0
    for t in range(60):
        actions = np.array([ACTIONS[(t + i) % len(ACTIONS)] % 7 for i in range(8)])
        obs_f, rew_f, done_f, info_f = full.step(actions)
        obs_s, rew_s, done_s, info_s = slim.step(actions)
        np.testing.assert_array_equal(obs_f, obs_s)
        np.testing.assert_array_equal(rew_f, rew_s)
        np.testing.assert_array_equal(done_f, done_s)
        for i in np.flatnonzero(done_s):
            assert set(info_s[i]) == {"terminal_observation", "TimeLimit.truncated"}
            np.testing.assert_array_equal(info_s[i]["terminal_observation"], info_f[i]["terminal_observation"])
            assert "outcome" in info_f[i]
            ended += 1
    assert ended > 8
    with pytest.raises(ValueError, match="final_info"):
        make_sb3_vec_env("MassBargain-v1", 2, info_keywords=("outcome",), final_info=False)


def test_seed_reproduces_and_set_options_reaches_reset():
    def run(seed):
        env = make_sb3_vec_env("MassBargain-v1", 8, seed=seed, monitor=False)
        out = [env.reset()]
        for t in range(30):
            out.append(env.step(np.full(8, t % 7))[0])
        return np.stack(out)

    assert np.array_equal(run(3), run(3))
    assert not np.array_equal(run(3), run(4))
    env = _adapter(n=4)
    assert env.seed(9) == [9] * 4
    env.set_options({"scenario": "daye"})
    env.reset()
    assert env.venv.scenario == Scenario.preset("daye")
    with pytest.raises(ValueError, match="one options dict"):
        env.set_options([{"scenario": "daye"}, {}, {}, {}])


def test_truncation_of_another_vector_env_becomes_time_limit_truncated():
    venv = gym.make_vec(
        "CartPole-v1",
        num_envs=3,
        vectorization_mode="sync",
        vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP},
        max_episode_steps=3,
    )
    env = SB3VecEnv(venv)
    env.seed(0)
    env.reset()
    for _ in range(2):
        _, _, dones, infos = env.step(np.zeros(3, dtype=np.int64))
        assert not dones.any()
    _, _, dones, infos = env.step(np.zeros(3, dtype=np.int64))
    assert dones.all()
    assert all(info["TimeLimit.truncated"] is True and info["terminal_observation"].shape == (4,) for info in infos)


def test_attribute_access_and_errors():
    env = _adapter("MassBargain-Daye-v1", n=3)
    assert env.get_attr("scenario") == [Scenario.preset("daye")] * 3
    assert env.get_attr("scenario", indices=[1]) == [Scenario.preset("daye")]
    assert env.has_attr("scenario") and not env.has_attr("no_such_attribute")
    assert env.env_is_wrapped(Monitor) == [False] * 3
    results = env.env_method("reset", seed=0, indices=[0, 2])
    assert len(results) == 2
    env.set_attr("preset", "changxing")
    assert env.venv.preset == "changxing"
    with pytest.raises(ValueError, match="indices=None"):
        env.set_attr("preset", "daye", indices=[0])
    with pytest.raises(ValueError, match="SameStep"):
        SB3VecEnv(gym.make_vec("MassBargain-v1", num_envs=2))  # NEXT_STEP by default
    with pytest.raises(TypeError, match="make_vec"):
        SB3VecEnv(gym.make("MassBargain-v1"))
    with pytest.raises(RuntimeError, match="step_async"):
        env.step_wait()
    env.close()


def test_ppo_learns_through_the_adapter():
    """PPO with the project's default hyperparameters (ppo_default.yaml) and a small budget beats the random
    baseline on Changxing by a clear margin, on the same evaluation episodes."""
    threads, validate = torch.get_num_threads(), torch.distributions.Distribution._validate_args
    torch.set_num_threads(1)
    torch.distributions.Distribution.set_default_validate_args(False)
    try:
        start = time.perf_counter()
        env = make_sb3_vec_env("MassBargain-Changxing-v1", 16, seed=0)
        model = PPO(
            "MlpPolicy",
            env,
            learning_rate=3e-4,
            n_steps=64,
            batch_size=256,
            n_epochs=10,
            gamma=0.995,
            gae_lambda=0.95,
            clip_range=0.2,
            ent_coef=0.01,
            vf_coef=0.5,
            max_grad_norm=0.5,
            policy_kwargs={"net_arch": {"pi": [64, 64], "vf": [64, 64]}, "activation_fn": torch.nn.Tanh},
            seed=0,
            device="cpu",
            verbose=0,
        )
        model.learn(24 * 1024)
        elapsed = time.perf_counter() - start
    finally:
        torch.set_num_threads(threads)
        torch.distributions.Distribution.set_default_validate_args(validate)

    class Greedy:
        def act(self, obs):
            return model.predict(obs, deterministic=True)[0]

    scenario = Scenario.preset("changxing")
    trained = run_episodes(Greedy(), scenario, episodes=2000, seed=123).summary()
    random = run_episodes(BASELINES["random"], scenario, episodes=2000, seed=123).summary()
    margin = 0.1 + trained["return_ci95"] + random["return_ci95"]
    assert trained["mean_return"] > random["mean_return"] + margin, (trained, random)
    # The episodes PPO saw were counted by VecMonitor through the adapter.
    assert len(model.ep_info_buffer) > 0
    print(f"PPO {trained['mean_return']:.3f} vs random {random['mean_return']:.3f}; trained in {elapsed:.1f} s")
