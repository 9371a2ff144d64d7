"""MassBargainEnv through its public API: API checkers, determinism, pickling, the deadline, info, rendering
and the errors users see. Parametrized over the registry (Minigrid style), so a new id is tested for free.

Nothing here depends on calibrated outcome figures: only on the contract of the Gymnasium API and of
docs/MODEL.md (one step a day, the deadline terminates, hidden variables in ``info``, and so on).
"""

from __future__ import annotations

import pickle
import re
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env

import massbargain
from massbargain import (
    ACTION_MODE,
    ENV_IDS,
    OBS_INDEX,
    OBSERVATION_FIELDS,
    Action,
    EndReason,
    MassBargainEnv,
    Mode,
    Outcome,
    Response,
    Scenario,
    ScenarioError,
)

IDS = sorted(ENV_IDS)
HIDDEN = ("recklessness", "resolve", "evidence")
# A fixed, varied action sequence without ACCEPT, longer than any default horizon.
ACTIONS = [
    Action.PETITION,
    Action.TOLERATE,
    Action.LEAK,
    Action.LEAK,
    Action.MOBILIZE,
    Action.WAIT,
    Action.PACIFY,
    Action.CRACKDOWN,
    Action.PETITION,
    Action.WAIT,
] * 40


def _make(env_id: str, **kwargs) -> gym.Env:
    return gym.make(env_id, **kwargs)


def _hidden(info: dict) -> tuple:
    return tuple(info[k] for k in HIDDEN)


def play(env: gym.Env, actions, seed: int | None = None, options: dict | None = None) -> list[tuple]:
    """One episode (or until ``actions`` run out) as comparable records: the reset, then one per step."""
    obs, info = env.reset(seed=seed, options=options)
    records = [("reset", obs.tobytes(), _hidden(info))]
    for a in actions:
        obs, reward, terminated, truncated, info = env.step(a)
        records.append((int(a), obs.tobytes(), reward, terminated, truncated, _hidden(info), info["superior_response"]))
        if terminated or truncated:
            break
    return records


def continue_play(env: gym.Env, actions) -> list[tuple]:
    """Steps of an episode already under way, as comparable records."""
    records = []
    for a in actions:
        obs, reward, terminated, truncated, info = env.step(a)
        records.append((int(a), obs.tobytes(), reward, terminated, truncated, _hidden(info)))
        if terminated or truncated:
            break
    return records


# --- the API checkers ---------------------------------------------------------------------------------------


def test_every_id_is_registered():
    assert "MassBargain-v1" in ENV_IDS
    for env_id in IDS:
        assert env_id in gym.registry


@pytest.mark.parametrize("env_id", IDS)
def test_gymnasium_check_env(env_id):
    env = _make(env_id)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gym_check_env(env.unwrapped)  # also makes and renders every declared render mode through the spec
    env.close()


@pytest.mark.parametrize("render_mode", MassBargainEnv.metadata["render_modes"])
def test_gymnasium_check_env_with_render_mode(render_mode):
    env = _make("MassBargain-v1", render_mode=render_mode)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gym_check_env(env.unwrapped)
    env.close()


@pytest.mark.parametrize("env_id", IDS)
def test_stable_baselines3_check_env(env_id):
    sb3_env_checker = pytest.importorskip("stable_baselines3.common.env_checker")
    env = _make(env_id)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sb3_env_checker.check_env(env.unwrapped, warn=True)
    env.close()


@pytest.mark.parametrize("env_id", IDS)
def test_spaces(env_id):
    env = _make(env_id)
    assert env.action_space == gym.spaces.Discrete(len(Action))
    space = env.observation_space
    assert isinstance(space, gym.spaces.Box)
    assert space.dtype == np.float32
    assert space.shape == (len(OBSERVATION_FIELDS),)
    assert np.all(space.low == 0.0) and np.all(space.high == 1.0)
    assert list(OBS_INDEX) == list(OBSERVATION_FIELDS)
    assert [OBS_INDEX[name] for name in OBSERVATION_FIELDS] == list(range(len(OBSERVATION_FIELDS)))


# --- determinism --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("env_id", IDS)
def test_same_seed_same_trajectory(env_id):
    a = play(_make(env_id), ACTIONS, seed=123)
    b = play(_make(env_id), ACTIONS, seed=123)
    assert len(a) > 1
    assert a == b


@pytest.mark.parametrize("env_id", IDS)
def test_different_seeds_differ(env_id):
    runs = [play(_make(env_id), ACTIONS, seed=seed) for seed in (1, 2)]
    assert runs[0] != runs[1]
    # The hidden draws of the episode already differ.
    assert runs[0][0][2] != runs[1][0][2]


def test_reseeding_the_same_env_restarts_its_stream():
    env = _make("MassBargain-v1")
    first = play(env, ACTIONS, seed=5)
    play(env, ACTIONS)  # consume more of the stream
    assert play(env, ACTIONS, seed=5) == first


@pytest.mark.parametrize("env_id", IDS)
def test_reset_without_seed_continues_the_stream(env_id):
    envs = [_make(env_id), _make(env_id)]
    episodes = [[play(env, ACTIONS, seed=9), play(env, ACTIONS), play(env, ACTIONS)] for env in envs]
    assert episodes[0] == episodes[1]
    first, second, third = episodes[0]
    # The later episodes are fresh draws from the continuing stream, not replays of the seeded one.
    assert second != first and third != second
    assert second[0][2] != first[0][2]


def test_unseeded_envs_are_not_identical():
    runs = [play(_make("MassBargain-v1"), ACTIONS) for _ in range(2)]
    assert runs[0] != runs[1]


# --- pickling -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("env_id", IDS)
@pytest.mark.parametrize("render_mode", [None, "ansi"])
def test_pickle_round_trip_mid_episode(env_id, render_mode):
    env = _make(env_id, render_mode=render_mode).unwrapped
    head, tail = [Action.PETITION, Action.TOLERATE, Action.LEAK], ACTIONS[3:]
    for seed in range(20):  # find a seed whose episode is still running after the head (deterministic)
        env.reset(seed=seed)
        if not any(env.step(a)[2] for a in head):
            break
    else:
        pytest.fail("every episode ended within three days")
    clone = pickle.loads(pickle.dumps(env))
    assert clone is not env
    assert clone.scenario == env.scenario
    original = continue_play(env, tail)
    copied = continue_play(clone, tail)
    assert len(original) >= 1
    assert copied == original
    if render_mode == "ansi":
        assert clone.render() == env.render()


def test_pickle_before_reset_gives_a_working_env():
    env = _make("MassBargain-Daye-v1").unwrapped
    clone = pickle.loads(pickle.dumps(env))
    assert play(clone, ACTIONS, seed=3) == play(env, ACTIONS, seed=3)


# --- the deadline -------------------------------------------------------------------------------------------


def _wrappers(env: gym.Env) -> list[gym.Env]:
    chain = [env]
    while isinstance(chain[-1], gym.Wrapper):
        chain.append(chain[-1].env)
    return chain


@pytest.mark.parametrize("env_id", IDS)
@pytest.mark.parametrize("days", [None, 5, 45])
def test_wait_every_day_terminates_by_the_deadline(env_id, days):
    kwargs = {} if days is None else {"scenario": {"horizon.days": days}}
    env = _make(env_id, **kwargs)
    horizon = env.unwrapped.scenario.horizon.days
    if days is not None:
        assert horizon == days
    # No step limit shorter than the horizon wraps the registered environment.
    assert env.spec.max_episode_steps is None or env.spec.max_episode_steps >= horizon
    for layer in _wrappers(env):
        if isinstance(layer, gym.wrappers.TimeLimit):
            assert layer._max_episode_steps >= horizon
    for seed in range(3):
        obs, _ = env.reset(seed=seed)
        assert obs[OBS_INDEX["time_used"]] == 0.0
        for day in range(1, horizon + 1):
            obs, _, terminated, truncated, info = env.step(Action.WAIT)
            assert truncated is False
            assert obs[OBS_INDEX["time_used"]] == pytest.approx(day / horizon)
            if terminated:
                break
        assert terminated is True, f"not over after {horizon} days"
        assert info["outcome"] != Outcome.NONE
        if day == horizon:
            assert obs[OBS_INDEX["time_used"]] == 1.0
        if info["end_reason"] == EndReason.DEADLINE:
            assert day == horizon
            assert info["outcome"] == Outcome.IMPOSED
        else:
            assert info["end_reason"] != EndReason.NONE


def test_step_after_the_end_raises():
    env = _make("MassBargain-v1", scenario={"horizon.days": 2}).unwrapped
    env.reset(seed=0)
    env.step(Action.WAIT)
    _, _, terminated, _, _ = env.step(Action.WAIT)
    assert terminated
    with pytest.raises(RuntimeError, match="reset"):
        env.step(Action.WAIT)


@pytest.mark.parametrize("env_id", IDS)
def test_accept_ends_the_episode_at_once_with_the_plan_imposed(env_id):
    env = _make(env_id)
    env.reset(seed=0)
    _, reward, terminated, truncated, info = env.step(Action.ACCEPT)
    assert terminated and not truncated
    assert np.isfinite(reward)
    assert info["outcome"] == Outcome.IMPOSED
    assert info["end_reason"] == EndReason.ACCEPTED
    assert info["mode"] == Mode.EXIT


def test_accept_day_keeps_the_crowd_within_its_peak():
    env = MassBargainEnv("changxing")
    violations = 0
    for seed in range(10):
        env.reset(seed=seed)
        if any(env.step(a)[2] for a in (Action.TOLERATE, Action.LEAK, Action.LEAK)):
            continue
        obs = env.step(Action.ACCEPT)[0]
        violations += obs[OBS_INDEX["crowd"]] > obs[OBS_INDEX["peak_crowd"]]
    assert violations == 0


# --- info ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("env_id", IDS)
def test_info_names_modes_responses_outcomes_and_hidden_variables(env_id):
    env = _make(env_id)
    obs, info = env.reset(seed=11)
    for key in HIDDEN:
        assert key in info
    start = _hidden(info)
    evidence = info["evidence"]
    for a in ACTIONS:
        obs, reward, terminated, truncated, info = env.step(a)
        for key in ("mode", "superior_response", "outcome", "end_reason", *HIDDEN):
            assert key in info, key
        assert isinstance(info["mode"], Mode) and info["mode"] == ACTION_MODE[a]
        assert isinstance(info["superior_response"], Response)
        assert isinstance(info["outcome"], Outcome)
        assert isinstance(info["end_reason"], EndReason)
        # The hidden draws are fixed for the episode; evidence is a share that only accumulates.
        assert info["recklessness"] == start[0] and info["resolve"] == start[1]
        assert 0.0 <= info["recklessness"] <= 1.0 and np.isfinite(info["resolve"])
        assert evidence <= info["evidence"] <= 1.0
        evidence = info["evidence"]
        if terminated:
            assert info["outcome"] != Outcome.NONE and info["end_reason"] != EndReason.NONE
            if info["end_reason"] == EndReason.CONCESSION:
                assert info["superior_response"] in (Response.SUSPEND, Response.PARTIAL, Response.WITHDRAW)
            break
        assert info["outcome"] == Outcome.NONE and info["end_reason"] == EndReason.NONE
        assert info["superior_response"] in (Response.HOLD, Response.WARN, Response.REPRESS)
    assert terminated


# --- rendering ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("env_id", IDS)
def test_render_ansi_shows_the_day(env_id):
    env = _make(env_id, render_mode="ansi")
    env.reset(seed=0)
    text = env.render()
    assert isinstance(text, str) and text.strip()
    assert re.search(r"\bday\b\D*\b0\b", text, re.IGNORECASE), text
    for day in range(1, 4):
        _, _, terminated, _, _ = env.step(Action.PETITION)
        text = env.render()
        assert isinstance(text, str)
        assert re.search(rf"\bday\b\D*\b{day}\b", text, re.IGNORECASE), text
        if terminated:
            break
    env.close()


def test_render_rgb_array_is_an_image():
    pytest.importorskip("matplotlib")
    env = _make("MassBargain-v1", render_mode="rgb_array")
    env.reset(seed=0)
    first = env.render()
    for a in (Action.TOLERATE, Action.LEAK, Action.MOBILIZE):
        if env.step(a)[2]:
            break
    frame = env.render()
    env.close()
    for image in (first, frame):
        assert isinstance(image, np.ndarray)
        assert image.dtype == np.uint8
        assert image.ndim == 3 and image.shape[2] == 3
        assert image.shape[0] > 0 and image.shape[1] > 0
        assert image.max() > image.min()  # something is drawn
    assert first.shape == frame.shape
    assert not np.array_equal(first, frame)  # the dashboard follows the episode
    env.close()  # closing twice is allowed


def test_render_without_render_mode_warns_and_returns_none():
    env = MassBargainEnv()
    env.reset(seed=0)
    with pytest.warns(UserWarning, match="render_mode"):
        assert env.render() is None


@pytest.mark.parametrize("render_mode", ["bogus", "human_like", 3])
def test_bad_render_mode_raises(render_mode):
    with pytest.raises(ValueError, match="render_mode"):
        MassBargainEnv(render_mode=render_mode)
    if not isinstance(render_mode, str):
        return  # gym.make itself assumes a string render mode
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # gym.make warns about an undeclared render mode before the env refuses it
        with pytest.raises(ValueError, match="render_mode"):
            gym.make("MassBargain-v1", render_mode=render_mode)


# --- bad input ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("action", [8, -1, 1.5, "x", None, "3", [1], np.array([1, 2]), True, np.bool_(False)])
@pytest.mark.parametrize("wrapped", [False, True], ids=["unwrapped", "made"])
def test_invalid_actions_raise_naming_the_allowed_ones(action, wrapped):
    env = _make("MassBargain-v1")
    if not wrapped:
        env = env.unwrapped
    env.reset(seed=0)
    with pytest.raises(ValueError) as excinfo:
        env.step(action)
    message = str(excinfo.value)
    for a in Action:
        assert a.name in message
    # The env is still usable after the refusal.
    obs, *_ = env.step(Action.WAIT)
    assert obs in env.observation_space


@pytest.mark.parametrize("action", [np.int64(2), np.int32(2), 2, 2.0, np.array(2), Action.LEAK])
def test_integer_like_actions_are_accepted(action):
    env = MassBargainEnv()
    env.reset(seed=0)
    obs, _, _, _, info = env.step(action)
    assert info["mode"] == Mode.CONSENT
    assert obs in env.observation_space


def test_step_before_reset_raises():
    with pytest.raises(RuntimeError, match="reset"):
        MassBargainEnv().step(Action.WAIT)
    with pytest.raises(gym.error.ResetNeeded):
        gym.make("MassBargain-v1").step(Action.WAIT)


def test_bad_scenarios_at_construction_raise():
    with pytest.raises(ScenarioError) as excinfo:
        MassBargainEnv("atlantis")
    for name in massbargain.PRESETS:
        assert name in str(excinfo.value)
    with pytest.raises(ScenarioError, match=r"brokers\.recklessness"):
        MassBargainEnv({"brokers.recklessness": 1.5})
    with pytest.raises(ScenarioError, match=r"did you mean 'brokers\.recklessness'\?$"):
        MassBargainEnv({"brokers.recklesness": 0.5})  # a typo: the closest key
    with pytest.raises(ScenarioError, match=r"groups: population, .*horizon"):
        MassBargainEnv({"nonsense": 0.5})  # nothing close: how keys are made, not a list of every key
    with pytest.raises(ScenarioError):
        MassBargainEnv(42)  # type: ignore[arg-type]
    with pytest.raises(ScenarioError):
        MassBargainEnv(preset="atlantis")


def test_bad_scenario_at_reset_raises_and_keeps_the_old_one():
    env = MassBargainEnv("daye")
    with pytest.raises(ScenarioError, match="atlantis"):
        env.reset(seed=0, options={"scenario": "atlantis"})
    with pytest.raises(ScenarioError, match=r"brokers\.recklessness"):
        env.reset(seed=0, options={"scenario": {"brokers.recklessness": -0.1}})
    assert env.scenario == Scenario.preset("daye")


# --- the environment object ---------------------------------------------------------------------------------


def test_env_accepts_a_scenario_object_and_reports_its_stakes():
    s = Scenario.preset("changxing").with_overrides({"utility.stakes": 0.25})
    env = MassBargainEnv(s)
    assert env.scenario == s
    obs, _ = env.reset(seed=0)
    assert obs[OBS_INDEX["stakes"]] == pytest.approx(0.25)


def test_env_docstring_is_the_manual():
    doc = MassBargainEnv.__doc__
    for heading in ("Description", "Action Space", "Observation Space", "Rewards", "Starting State", "Episode End"):
        assert heading in doc
    for a in Action:
        assert a.name in doc
