"""MassBargainVectorEnv: registration, autoreset modes, seeding, infos, errors, and its agreement with the
single environment (step for step with one copy; in distribution with many).

The exact agreement tests compare bits: with ``num_envs=1`` the vector env must reproduce
``gym.make(id)`` (and a ``SyncVectorEnv`` of it, infos included) for the same seed and actions. The
statistical test compares outcome distributions of many copies with those of the single env under a fixed
policy, with seeds fixed and a chi-square bound computed from the sample sizes.
"""

from __future__ import annotations

import functools
import math
import pickle

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import massbargain
from massbargain import ENV_IDS, OBS_INDEX, Action, MassBargainVectorEnv, Outcome, Scenario
from massbargain.agents.baselines import BASELINES, RandomPolicy
from massbargain.vector import HIDDEN_KEYS, STEP_KEYS

IDS = sorted(ENV_IDS)
MODES = (AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP)
# A varied action sequence: every action, early ACCEPTs (short episodes, so autoresets happen often).
ACTIONS = [1, 3, 2, 2, 4, 0, 5, 6, 7, 1, 2, 3, 3, 7, 4, 4, 4, 5, 6, 0, 2, 7] + [1, 3, 2, 4, 0, 5, 6, 1, 2] * 12


def _same(a, b) -> bool:
    """Equal values: arrays elementwise (bit for bit for floats), enums against their integer codes."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.array_equal(np.asarray(a), np.asarray(b))
    return a == b


# --- registration, spaces, metadata ---------------------------------------------------------------------


@pytest.mark.parametrize("env_id", IDS)
def test_make_vec_gives_the_native_vector_env(env_id):
    envs = gym.make_vec(env_id, num_envs=8)
    single = gym.make(env_id)
    assert isinstance(envs.unwrapped, MassBargainVectorEnv)
    assert gym.spec(env_id).vector_entry_point == "massbargain.vector:MassBargainVectorEnv"
    assert envs.metadata["autoreset_mode"] is AutoresetMode.NEXT_STEP  # the documented default
    assert envs.single_observation_space == single.observation_space
    assert envs.single_action_space == single.action_space
    assert envs.observation_space.shape == (8, len(massbargain.OBSERVATION_FIELDS))
    assert envs.action_space == gym.spaces.MultiDiscrete([8] * 8)
    assert envs.unwrapped.scenario == single.unwrapped.scenario
    obs, info = envs.reset(seed=0)
    assert obs.dtype == np.float32 and obs.shape == (8, 19)
    assert envs.observation_space.contains(obs)
    assert set(HIDDEN_KEYS) <= set(info)


@pytest.mark.parametrize("mode", list(AutoresetMode))
def test_autoreset_mode_is_a_constructor_argument_and_declared(mode):
    by_enum = gym.make_vec("MassBargain-v1", num_envs=2, autoreset_mode=mode)
    by_value = gym.make_vec("MassBargain-v1", num_envs=2, autoreset_mode=mode.value)
    assert by_enum.metadata["autoreset_mode"] is mode is by_value.metadata["autoreset_mode"]
    assert MassBargainVectorEnv.metadata["autoreset_mode"] is AutoresetMode.NEXT_STEP  # class default unchanged


def test_scenario_and_preset_arguments():
    envs = gym.make_vec("MassBargain-v1", num_envs=3, scenario={"brokers.recklessness": 0.9})
    assert envs.unwrapped.scenario.brokers.recklessness == 0.9
    daye = gym.make_vec("MassBargain-Daye-v1", num_envs=3)
    assert daye.unwrapped.scenario == Scenario.preset("daye")
    envs.reset(seed=0, options={"scenario": "changxing"})
    assert envs.unwrapped.scenario == Scenario.preset("changxing")


def test_reset_options_scenario_holds_until_the_next_full_reset():
    """The option's scenario holds through autoresets and partial resets; a full reset() without it goes back."""
    envs = gym.make_vec("MassBargain-Daye-v1", num_envs=4, scenario={"utility.stakes": 0.3})
    default = Scenario.preset("daye").with_overrides({"utility.stakes": 0.3})
    obs, _ = envs.reset(seed=0, options={"scenario": {"horizon.days": 2}})
    for _ in range(6):  # several 2-day episodes: the autoresets keep the option's scenario
        obs, _, _, _, _ = envs.step(np.zeros(4, dtype=np.int64))
        assert envs.unwrapped.scenario.horizon.days == 2
    envs.reset(options={"reset_mask": np.array([True, False, False, False])})
    assert envs.unwrapped.scenario.horizon.days == 2  # the other copies still play under it
    obs, _ = envs.reset()
    assert envs.unwrapped.scenario == envs.unwrapped.default_scenario == default
    assert np.allclose(obs[:, OBS_INDEX["stakes"]], 0.3)


# --- one copy is the single env, step for step ----------------------------------------------------------


def _play_single(env_id: str, seed: int, actions: list[int]) -> list[tuple]:
    """The single env's transitions, with a reset() (no seed) after each episode; one tuple per step."""
    env = gym.make(env_id)
    obs, info = env.reset(seed=seed)
    out = [("reset", obs, info)]
    for a in actions:
        obs, reward, terminated, truncated, info = env.step(a)
        assert not truncated
        out.append(("step", obs, reward, terminated, info))
        if terminated:
            obs, info = env.reset()
            out.append(("reset", obs, info))
    return out


@pytest.mark.parametrize("env_id", IDS)
@pytest.mark.parametrize("seed", [0, 7])
def test_one_copy_equals_the_single_env_next_step(env_id, seed):
    single = _play_single(env_id, seed, ACTIONS)
    envs = gym.make_vec(env_id, num_envs=1)
    obs, info = envs.reset(seed=seed)
    _, s_obs, s_info = single[0]
    assert np.array_equal(obs[0], s_obs)
    assert all(_same(info[k][0], s_info[k]) for k in HIDDEN_KEYS)
    k = 1
    episodes = 0
    for a in ACTIONS:
        kind, s_obs, s_reward, s_terminated, s_info = single[k]
        obs, reward, terminated, truncated, info = envs.step(np.array([a]))
        assert np.array_equal(obs[0], s_obs), f"step {k}"
        assert reward[0] == s_reward and terminated[0] == s_terminated and not truncated[0]
        for key in (*STEP_KEYS, *HIDDEN_KEYS):
            assert info[f"_{key}"][0] and _same(info[key][0], s_info[key]), key
        k += 1
        if s_terminated:
            episodes += 1
            # NEXT_STEP: the following step ignores its action and starts the next episode.
            _, s_obs, s_info = single[k]
            obs, reward, terminated, truncated, info = envs.step(np.array([Action.MOBILIZE]))
            assert np.array_equal(obs[0], s_obs) and reward[0] == 0.0 and not terminated[0]
            assert not any(key in info for key in STEP_KEYS)  # no day was played
            assert all(_same(info[key][0], s_info[key]) for key in HIDDEN_KEYS)
            k += 1
    assert episodes >= 3  # the sequence crossed several autoresets


@pytest.mark.parametrize("env_id", IDS)
@pytest.mark.parametrize("seed", [0, 7])
def test_one_copy_equals_the_single_env_same_step(env_id, seed):
    single = _play_single(env_id, seed, ACTIONS)
    envs = gym.make_vec(env_id, num_envs=1, autoreset_mode="SameStep")
    obs, _ = envs.reset(seed=seed)
    assert np.array_equal(obs[0], single[0][1])
    k = 1
    episodes = 0
    for a in ACTIONS:
        _, s_obs, s_reward, s_terminated, s_info = single[k]
        obs, reward, terminated, _, info = envs.step(np.array([a]))
        assert reward[0] == s_reward and terminated[0] == s_terminated
        if s_terminated:
            episodes += 1
            assert info["_final_obs"][0] and np.array_equal(info["final_obs"][0], s_obs)
            final = info["final_info"]
            for key in (*STEP_KEYS, *HIDDEN_KEYS):
                assert final[f"_{key}"][0] and _same(final[key][0], s_info[key]), key
                assert (key in info) == (key in HIDDEN_KEYS)  # the top level holds the new episode
            k += 1
            _, s_obs, s_info = single[k]  # the single env's reset()
            assert all(_same(info[key][0], s_info[key]) for key in HIDDEN_KEYS)
        else:
            assert "final_obs" not in info
            for key in (*STEP_KEYS, *HIDDEN_KEYS):
                assert _same(info[key][0], s_info[key]), key
        assert np.array_equal(obs[0], s_obs)
        k += 1
    assert episodes >= 3


def _assert_same_info(ours: dict, sync: dict, path: str = "info") -> None:
    """Same keys, same masks, same values where the masks are set (recursively for final_info)."""
    assert set(ours) == set(sync), f"{path}: {sorted(set(ours) ^ set(sync))}"
    for key, value in sync.items():
        if key.startswith("_"):
            assert np.array_equal(ours[key], value), f"{path}[{key}]"
        elif isinstance(value, dict):
            _assert_same_info(ours[key], value, f"{path}[{key}]")
        else:
            mask = sync[f"_{key}"]
            for i in np.flatnonzero(mask):
                assert _same(ours[key][i], value[i]), f"{path}[{key}][{i}]"


@pytest.mark.parametrize("mode", MODES)
def test_one_copy_lays_out_info_exactly_as_sync_vector_env(mode):
    ours = gym.make_vec("MassBargain-Changxing-v1", num_envs=1, autoreset_mode=mode)
    sync = gym.make_vec(
        "MassBargain-Changxing-v1", num_envs=1, vectorization_mode="sync", vector_kwargs={"autoreset_mode": mode}
    )
    assert isinstance(sync, gym.vector.SyncVectorEnv)
    a, b = ours.reset(seed=3), sync.reset(seed=3)
    assert np.array_equal(a[0], b[0])
    _assert_same_info(a[1], b[1])
    for action in ACTIONS:
        a, b = ours.step(np.array([action])), sync.step(np.array([action]))
        for x, y in zip(a[:4], b[:4], strict=True):
            assert np.array_equal(x, y)
        _assert_same_info(a[4], b[4])


# --- many copies ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_finished_copies_restart_and_never_keep_evolving(mode):
    n, days = 64, Scenario.preset("baseline").horizon.days
    envs = gym.make_vec("MassBargain-v1", num_envs=n, autoreset_mode=mode)
    obs, _ = envs.reset(seed=1)
    rng = np.random.default_rng(0)
    restarting = np.zeros(n, dtype=bool)
    finished = 0
    for _ in range(3 * days):
        actions = rng.integers(0, len(Action), size=n)  # ACCEPT included: short episodes
        prev_time = obs[:, OBS_INDEX["time_used"]]
        obs, reward, terminated, truncated, info = envs.step(actions)
        time_used = obs[:, OBS_INDEX["time_used"]]
        assert not truncated.any()
        assert np.all((obs >= 0) & (obs <= 1))
        if mode is AutoresetMode.NEXT_STEP:
            # Copies that ended last step start afresh: day 0, nobody out, reward 0, not terminated.
            assert np.all(time_used[restarting] == 0) and np.all(obs[restarting, OBS_INDEX["crowd"]] == 0)
            assert np.all(reward[restarting] == 0) and not terminated[restarting].any()
            assert np.array_equal(info["_outcome"], ~restarting)
            live = ~restarting
        else:
            assert np.all(time_used[terminated] == 0)  # the returned obs is the new episode's first
            if terminated.any():
                final = np.stack(info["final_obs"][terminated])
                assert np.allclose(final[:, OBS_INDEX["time_used"]], prev_time[terminated] + 1 / days)
                assert np.all(info["final_info"]["outcome"][terminated] != Outcome.NONE)
                assert info["final_obs"][~terminated].tolist() == [None] * int((~terminated).sum())
            live = ~terminated
        # Every other copy moved on by exactly one day.
        assert np.allclose(time_used[live], prev_time[live] + 1 / days)
        assert np.all(time_used <= 1.0)
        finished += int(terminated.sum())
        restarting = terminated if mode is AutoresetMode.NEXT_STEP else np.zeros(n, dtype=bool)
    assert finished > 2 * n


def test_infos_already_returned_do_not_change():
    envs = gym.make_vec("MassBargain-v1", num_envs=32, autoreset_mode="SameStep")
    envs.reset(seed=0)
    infos = []
    for t in range(40):
        _, _, _, _, info = envs.step(np.full(32, Action.ACCEPT if t % 3 == 2 else Action.MOBILIZE))
        infos.append((info, {k: np.copy(v) for k, v in info.items() if not isinstance(v, dict)}))
    for info, snapshot in infos:
        for key, value in snapshot.items():
            if value.dtype != object:
                assert np.array_equal(info[key], value), key


def _policy(name: str, seed: int):
    return RandomPolicy(seed) if name == "random" else BASELINES[name]


@functools.cache
def _single_episodes(env_id: str, policy_name: str, episodes: int, seed: int) -> dict[str, np.ndarray]:
    """Episodes of the single env (cached: both autoreset modes compare against the same sample)."""
    policy = _policy(policy_name, seed)
    env = gym.make(env_id)
    obs, _ = env.reset(seed=seed)
    rows, total, length = [], 0.0, 0
    while len(rows) < episodes:
        obs, reward, terminated, _, info = env.step(policy.act(obs))
        total, length = total + reward, length + 1
        if terminated:
            rows.append((int(info["outcome"]), int(info["end_reason"]), int(info["severity"]), total, length))
            obs, _ = env.reset()
            total, length = 0.0, 0
    return _columns(rows)


def _vector_episodes(env_id: str, policy, copies: int, per_copy: int, seed: int, mode) -> dict[str, np.ndarray]:
    """The first ``per_copy`` episodes of each copy (a fixed count per copy: no bias toward short episodes)."""
    envs = gym.make_vec(env_id, num_envs=copies, autoreset_mode=mode)
    obs, _ = envs.reset(seed=seed)
    total, length, count = np.zeros(copies), np.zeros(copies, dtype=np.int64), np.zeros(copies, dtype=np.int64)
    restarting = np.zeros(copies, dtype=bool)
    rows = []
    while (count < per_copy).any():
        obs, reward, terminated, _, info = envs.step(policy.act(obs))
        total += reward
        length += ~restarting
        source = info.get("final_info", {}) if mode is AutoresetMode.SAME_STEP else info
        for i in np.flatnonzero(terminated & (count < per_copy)):
            rows.append((source["outcome"][i], source["end_reason"][i], source["severity"][i], total[i], length[i]))
        count += terminated
        total[terminated], length[terminated] = 0.0, 0
        restarting = terminated if mode is AutoresetMode.NEXT_STEP else np.zeros(copies, dtype=bool)
    return _columns(rows)


def _columns(rows: list[tuple]) -> dict[str, np.ndarray]:
    names = ("outcome", "end_reason", "severity", "return", "length")
    return {name: np.array(col) for name, col in zip(names, zip(*rows, strict=True), strict=True)}


def _chi_square_homogeneity(a: np.ndarray, b: np.ndarray) -> tuple[float, int]:
    """Pearson's chi-square of two samples of categories (cells with expected count < 5 pooled)."""
    cats = np.union1d(a, b)
    table = np.array([[np.sum(a == c), np.sum(b == c)] for c in cats], dtype=float)
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / table.sum()
    small = expected.min(1) < 5
    if small.any():
        table = np.vstack([table[~small], table[small].sum(0, keepdims=True)])
        table = table[table.sum(1) > 0]
        expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / table.sum()
    stat = float(((table - expected) ** 2 / expected).sum())
    return stat, table.shape[0] - 1


def _chi_square_critical(df: int, z: float = 3.29) -> float:
    """Upper critical value of chi-square(df) at one-sided normal quantile z (3.29: alpha = 0.0005), by the
    Wilson-Hilferty approximation (accurate to a few percent for df >= 1 at this level)."""
    c = 2.0 / (9.0 * df)
    return df * (1.0 - c + z * math.sqrt(c)) ** 3


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("env_id", "policy_name"), [("MassBargain-Changxing-v1", "consent"), ("MassBargain-v1", "random")]
)
def test_many_copies_match_the_single_env_in_distribution(env_id, policy_name, mode):
    single = _single_episodes(env_id, policy_name, episodes=1200, seed=11)
    vector = _vector_episodes(env_id, _policy(policy_name, 12), copies=400, per_copy=3, seed=12, mode=mode)
    assert vector["outcome"].size == 1200
    # Categorical outcomes: which outcome, why it ended, whether and how the official was punished.
    joint = lambda d: d["outcome"] * 100 + d["end_reason"] * 10 + d["severity"]  # noqa: E731
    for key, of in (("outcome", lambda d: d["outcome"]), ("severity", lambda d: d["severity"]), ("joint", joint)):
        stat, df = _chi_square_homogeneity(of(single), of(vector))
        assert df >= 1
        assert stat < _chi_square_critical(df), f"{key}: chi2 = {stat:.1f} on {df} df"
    # Means of return and length within 4 standard errors of their difference.
    for key in ("return", "length"):
        x, y = single[key].astype(float), vector[key].astype(float)
        se = math.sqrt(x.var(ddof=1) / x.size + y.var(ddof=1) / y.size)
        assert abs(x.mean() - y.mean()) < 4 * se, f"{key}: {x.mean():.3f} vs {y.mean():.3f} (se {se:.3f})"


# --- seeding ---------------------------------------------------------------------------------------------


def test_seeding_reproduces_and_separates():
    def run(seed, n=16, steps=30):
        envs = gym.make_vec("MassBargain-v1", num_envs=n)
        out = [envs.reset(seed=seed)[0]]
        for t in range(steps):
            out.append(envs.step(np.full(n, (t % 7)))[0])
        return np.stack(out)

    assert np.array_equal(run(5), run(5))
    assert not np.array_equal(run(5), run(6))
    envs = gym.make_vec("MassBargain-v1", num_envs=4)
    first, _ = envs.reset(seed=5)
    second, _ = envs.reset()  # continues the stream: a different start
    assert not np.array_equal(first, second)
    assert np.array_equal(envs.reset(seed=5)[0], first)
    assert np.array_equal(envs.reset(seed=[None] * 4)[0].shape, first.shape)
    assert envs.unwrapped.np_random_seed == 5
    one = gym.make_vec("MassBargain-v1", num_envs=1)
    assert np.array_equal(one.reset(seed=[9])[0], one.reset(seed=9)[0])
    with pytest.raises(ValueError, match="one generator"):
        envs.reset(seed=[1, 2, 3, 4])
    with pytest.raises(ValueError, match="num_envs=4"):
        envs.reset(seed=[1, 2])


# --- partial resets, DISABLED mode, errors ---------------------------------------------------------------


def test_reset_mask_restarts_only_the_selected_copies():
    envs = gym.make_vec("MassBargain-v1", num_envs=6)
    envs.reset(seed=0)
    for _ in range(5):
        obs, *_ = envs.step(np.full(6, Action.LEAK))
    mask = np.array([True, False, True, False, False, False])
    new, info = envs.reset(options={"reset_mask": mask})
    assert np.all(new[mask, OBS_INDEX["time_used"]] == 0)
    assert np.array_equal(new[~mask], obs[~mask])
    assert np.array_equal(info["_recklessness"], mask)


def test_disabled_mode_requires_explicit_resets():
    envs = gym.make_vec("MassBargain-v1", num_envs=3, autoreset_mode="Disabled")
    envs.reset(seed=0)
    obs, _, terminated, _, _ = envs.step(np.array([Action.ACCEPT, Action.WAIT, Action.WAIT]))
    assert terminated.tolist() == [True, False, False]
    with pytest.raises(RuntimeError, match="reset_mask"):
        envs.step(np.zeros(3, dtype=np.int64))
    new, _ = envs.reset(options={"reset_mask": terminated})
    assert new[0, OBS_INDEX["time_used"]] == 0 and np.array_equal(new[1:], obs[1:])
    envs.step(np.zeros(3, dtype=np.int64))


@pytest.mark.parametrize(
    ("actions", "match"),
    [
        (np.zeros(3, dtype=np.int64), r"shape \(4,\)"),
        (np.array([0, 1, 8, 2]), "copy 2: invalid action 8"),
        (np.array([0, -1, 0, 2]), "copy 1: invalid action -1"),
        (np.array([0.0, 1.5, 0, 2]), "copy 1: invalid action 1.5"),
        (["a", 0, 0, 0], "copy 0"),
    ],
)
def test_invalid_actions_name_the_copy_and_the_allowed_actions(actions, match):
    envs = gym.make_vec("MassBargain-v1", num_envs=4)
    envs.reset(seed=0)
    with pytest.raises(ValueError, match=match):
        envs.step(actions)
    envs.step(np.array([0.0, 1.0, 2.0, 3.0]))  # integral floats and lists are fine
    envs.step([0, 1, 2, 3])


def test_constructor_errors():
    with pytest.raises(ValueError, match="autoreset_mode must be one of"):
        MassBargainVectorEnv(2, autoreset_mode="sometimes")
    with pytest.raises(ValueError, match="does not render"):
        MassBargainVectorEnv(2, render_mode="ansi")
    with pytest.raises(ValueError, match="num_envs"):
        MassBargainVectorEnv(0)
    with pytest.raises(RuntimeError, match="reset"):
        MassBargainVectorEnv(2).step(np.zeros(2, dtype=np.int64))
    envs = MassBargainVectorEnv(2)
    envs.reset(seed=0)
    with pytest.raises(ValueError, match="reset_mask"):
        envs.reset(options={"reset_mask": np.array([1, 0])})
    with pytest.raises(ValueError, match="partial"):
        envs.reset(options={"reset_mask": np.array([True, False]), "scenario": "daye"})


def test_pickles_mid_episode():
    envs = gym.make_vec("MassBargain-Daye-v1", num_envs=8, autoreset_mode="SameStep")
    envs.reset(seed=4)
    for _ in range(5):
        envs.step(np.full(8, Action.MOBILIZE))
    clone = pickle.loads(pickle.dumps(envs))
    for t in range(20):
        a = np.full(8, t % 7)
        x, y = envs.step(a), clone.step(a)
        for u, v in zip(x[:4], y[:4], strict=True):
            assert np.array_equal(u, v)


@pytest.mark.parametrize("mode", MODES)
def test_gymnasium_record_episode_statistics_wrapper(mode):
    envs = gym.wrappers.vector.RecordEpisodeStatistics(
        gym.make_vec("MassBargain-Changxing-v1", num_envs=16, autoreset_mode=mode)
    )
    envs.reset(seed=0)
    policy = BASELINES["consent"]
    obs, _ = envs.reset(seed=0)
    for _ in range(60):
        obs, *_ = envs.step(policy.act(obs))
    assert len(envs.return_queue) > 16
    assert 0.2 < float(np.mean(envs.return_queue)) < 0.8  # consent wins in Changxing (~0.5)
    assert 3 < float(np.mean(envs.length_queue)) < 20
