"""Registration, configuration at ``make`` and per episode, a light import, and use from spawned processes.

This module imports ``massbargain`` only inside its tests (through the ``mb`` fixture), never at the top:
the spawn test pickles a function of this module, so the child imports this module, and the child must
start without ``massbargain`` for ``gym.make("massbargain:...")`` to show that the prefix alone is enough.
"""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys
import textwrap
import warnings

import gymnasium as gym
import pytest

HEAVY = ("torch", "stable_baselines3", "pandas", "matplotlib")


@pytest.fixture(scope="module")
def mb():
    import massbargain

    return massbargain


def _make_in_child(env_id: str) -> dict:
    """Run in a spawned interpreter: make the env by its prefixed id and play a few days."""
    preloaded = "massbargain" in sys.modules
    env = gym.make(env_id)
    obs, _ = env.reset(seed=0)
    in_space = bool(env.observation_space.contains(obs))
    for _ in range(3):
        obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
        in_space &= bool(env.observation_space.contains(obs))
        if terminated or truncated:
            break
    env.close()
    name = type(env.unwrapped).__name__
    return {"preloaded": preloaded, "in_space": in_space, "shape": list(obs.shape), "name": name}


# --- registration -------------------------------------------------------------------------------------------


def test_import_registers_every_id_with_its_preset(mb):
    for version in (0, 1):
        assert {f"MassBargain-v{version}", f"MassBargain-Changxing-v{version}", f"MassBargain-Daye-v{version}"} <= set(
            mb.ENV_IDS
        )
    assert set(mb.ENV_IDS.values()) <= set(mb.PRESETS)
    for env_id, preset in mb.ENV_IDS.items():
        spec = gym.spec(env_id)
        assert spec.kwargs.get("preset") == preset
        assert spec.kwargs.get("version") == mb.ENV_VERSIONS[env_id] == int(env_id[-1])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # Gymnasium flags the v0 ids as out of date
            env = gym.make(env_id)
        assert isinstance(env.unwrapped, mb.MassBargainEnv)
        assert env.unwrapped.scenario == mb.Scenario.preset(preset, mb.ENV_VERSIONS[env_id])
        env.close()


def test_v0_and_v1_presets_differ_only_by_the_v1_values(mb):
    """A v0 preset is its v1 preset with V0_VALUES (and no other difference): the versions share one model."""
    for name in mb.PRESETS:
        v0, v1 = mb.Scenario.preset(name, version=0), mb.Scenario.preset(name, version=1)
        assert v0 != v1
        assert v1.with_overrides(mb.scenario.V0_VALUES) == v0
    with pytest.raises(mb.ScenarioError, match="model version"):
        mb.Scenario.preset("baseline", version=7)


def test_register_envs_is_idempotent(mb):
    before = {env_id: gym.spec(env_id) for env_id in mb.ENV_IDS}
    count = len(gym.registry)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # gymnasium warns when an id is registered again
        mb.register_envs()
        mb.register_envs()
    assert len(gym.registry) == count
    for env_id, spec in before.items():
        assert gym.spec(env_id) == spec
    env = gym.make("MassBargain-v1")
    obs, _ = env.reset(seed=0)
    assert obs in env.observation_space


def test_no_time_limit_shorter_than_the_horizon(mb):
    for env_id in mb.ENV_IDS:
        spec = gym.spec(env_id)
        horizon = gym.make(env_id).unwrapped.scenario.horizon.days
        assert spec.max_episode_steps is None or spec.max_episode_steps >= horizon


def test_prefixed_id_imports_the_package():
    env = gym.make("massbargain:MassBargain-v1")
    assert type(env.unwrapped).__name__ == "MassBargainEnv"
    obs, _ = env.reset(seed=1)
    assert obs in env.observation_space


def test_make_works_in_a_spawned_process():
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        result = pool.apply_async(_make_in_child, ("massbargain:MassBargain-v1",)).get(timeout=180)
    assert result["preloaded"] is False  # the prefix did the import, not this test module
    assert result["name"] == "MassBargainEnv"
    assert result["in_space"] is True
    assert len(result["shape"]) == 1 and result["shape"][0] > 0


def test_import_is_light():
    code = textwrap.dedent(
        f"""
        import json, sys
        import gymnasium as gym
        import massbargain
        for env_id in massbargain.ENV_IDS:  # every registered id, single and vector
            env = gym.make(env_id)
            env.reset(seed=0)
            env.step(0)
            vec = gym.make_vec(env_id, num_envs=2)
            vec.reset(seed=0)
            vec.step([0, 0])
        print(json.dumps({{
            "heavy": [m for m in {HEAVY!r} if m in sys.modules],
            "registered": [i for i in massbargain.ENV_IDS if i in gym.registry],
            "ids": list(massbargain.ENV_IDS),
        }}))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180, check=True)
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["heavy"] == [], f"import massbargain pulled in {report['heavy']}"
    assert report["registered"] == report["ids"] and report["ids"]


# --- configuration at make ----------------------------------------------------------------------------------


def test_make_with_a_preset_name(mb):
    env = gym.make("MassBargain-v1", scenario="daye")
    assert env.unwrapped.scenario == mb.Scenario.preset("daye")
    assert env.spec.kwargs["scenario"] == "daye"


def test_make_with_a_scenario_object(mb):
    s = mb.Scenario.preset("changxing").with_overrides({"horizon.days": 7, "name": "mine"})
    env = gym.make("MassBargain-Daye-v1", scenario=s)
    assert env.unwrapped.scenario == s
    assert env.spec.kwargs["scenario"] == s


@pytest.mark.parametrize("env_id", ["MassBargain-v1", "MassBargain-Changxing-v1", "MassBargain-Daye-v1"])
def test_make_with_overrides_applies_them_to_the_ids_preset(mb, env_id):
    preset = mb.Scenario.preset(mb.ENV_IDS[env_id])
    overrides = {"utility.stakes": 0.2, "horizon.days": 9}
    env = gym.make(env_id, scenario=overrides)
    s = env.unwrapped.scenario
    assert s == preset.with_overrides(overrides)
    assert s.brokers.recklessness == preset.brokers.recklessness  # the preset's own values are kept
    assert s.utility.stakes == 0.2 and s.horizon.days == 9
    assert env.spec.kwargs["scenario"] == overrides
    obs, _ = env.reset(seed=0)
    assert obs[mb.OBS_INDEX["stakes"]] == pytest.approx(0.2)


def test_daye_overrides_keep_dayes_recklessness(mb):
    daye = mb.Scenario.preset("daye")
    baseline = mb.Scenario.preset("baseline")
    assert daye.brokers.recklessness != baseline.brokers.recklessness  # otherwise the test shows nothing
    s = gym.make("MassBargain-Daye-v1", scenario={"utility.stakes": 0.2}).unwrapped.scenario
    assert s.brokers.recklessness == daye.brokers.recklessness
    assert s.utility.stakes == 0.2
    nested = gym.make("MassBargain-Daye-v1", scenario={"utility": {"stakes": 0.2}}).unwrapped.scenario
    assert nested == s


def test_make_with_a_yaml_path(mb, tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("utility:\n  stakes: 0.15\n")
    s = gym.make("MassBargain-Daye-v1", scenario=str(path)).unwrapped.scenario
    assert s == mb.Scenario.preset("daye").with_overrides({"utility.stakes": 0.15})


def test_make_with_bad_scenarios_raises(mb):
    with pytest.raises(mb.ScenarioError) as excinfo:
        gym.make("MassBargain-v1", scenario="atlantis")
    for name in mb.PRESETS:
        assert name in str(excinfo.value)
    with pytest.raises(mb.ScenarioError, match=r"brokers\.recklessness"):
        gym.make("MassBargain-Daye-v1", scenario={"brokers.recklessness": 1.5})
    with pytest.raises(mb.ScenarioError, match=r"horizon\.days"):
        gym.make("MassBargain-v1", scenario={"horizon.day": 5})


# --- configuration per episode ------------------------------------------------------------------------------


def test_reset_options_scenario(mb):
    env = gym.make("MassBargain-Daye-v1")
    daye = mb.Scenario.preset("daye")
    # A preset name.
    env.reset(seed=0, options={"scenario": "changxing"})
    assert env.unwrapped.scenario == mb.Scenario.preset("changxing")
    # A Scenario.
    s = daye.with_overrides({"horizon.days": 4})
    env.reset(seed=0, options={"scenario": s})
    assert env.unwrapped.scenario == s
    # A dict: overrides on the id's preset (not on the scenario of the previous episode).
    obs, _ = env.reset(seed=0, options={"scenario": {"utility.stakes": 0.2}})
    assert env.unwrapped.scenario == daye.with_overrides({"utility.stakes": 0.2})
    assert obs[mb.OBS_INDEX["stakes"]] == pytest.approx(0.2)
    # The episode runs under the new scenario: its deadline applies.
    env.reset(seed=0, options={"scenario": {"horizon.days": 3}})
    terminated, days = False, 0
    while not terminated:
        _, _, terminated, truncated, _ = env.step(0)
        days += 1
        assert not truncated and days <= 3


def test_reset_options_without_scenario_change_nothing(mb):
    env = gym.make("MassBargain-Changxing-v1")
    env.reset(seed=0, options={})
    env.reset(seed=0, options={"scenario": None})
    assert env.unwrapped.scenario == mb.Scenario.preset("changxing")


def test_reset_options_scenario_holds_for_that_episode_only(mb):
    """Per-episode semantics: a later reset() without the option plays the constructor's scenario again."""
    made = {"utility.stakes": 0.3}
    env = gym.make("MassBargain-Daye-v1", scenario=made)
    default = mb.Scenario.preset("daye").with_overrides(made)
    short = {"horizon.days": 2}
    obs, _ = env.reset(seed=0, options={"scenario": short})
    assert env.unwrapped.scenario == mb.Scenario.preset("daye").with_overrides(short)
    assert env.unwrapped.default_scenario == default
    days, terminated = 0, False
    while not terminated:
        _, _, terminated, _, _ = env.step(0)
        days += 1
    assert days == 2
    obs, _ = env.reset()  # no option: the constructor's scenario again, and its 30-day deadline
    assert env.unwrapped.scenario == default
    assert obs[mb.OBS_INDEX["stakes"]] == pytest.approx(0.3)
    for _ in range(5):
        _, _, terminated, _, _ = env.step(0)
    assert not terminated


@pytest.mark.parametrize("kind", ["single", "vector"])
def test_reset_refuses_unknown_options_with_a_suggestion(mb, kind):
    env = gym.make("MassBargain-v1") if kind == "single" else gym.make_vec("MassBargain-v1", num_envs=2)
    with pytest.raises(ValueError, match=r"unknown reset option 'scenrio'; did you mean 'scenario'\?"):
        env.reset(seed=0, options={"scenrio": "daye"})
    with pytest.raises(ValueError, match="unknown reset option 'something_else'"):
        env.reset(seed=0, options={"something_else": 1})
    assert env.unwrapped.scenario == mb.Scenario.preset("baseline")


def test_env_package_imports_nothing_from_agents() -> None:
    """The environment package (env, vector env, core, cases, rollouts) stands without the agents package."""
    code = (
        "import sys, pkgutil, importlib, massbargain\n"
        "for m in pkgutil.iter_modules(massbargain.__path__):\n"
        "    if m.name not in ('agents', 'experiments'):\n"
        "        importlib.import_module('massbargain.' + m.name)\n"
        "print(sorted(k for k in sys.modules if k.startswith('massbargain.agents')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
