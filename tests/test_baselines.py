"""Scripted baselines follow the policy protocol and do what their docstrings say; run_episodes is
reproducible and its summary is well formed.

The rules are checked on hand-built observations (one field moved at a time across the documented
threshold), not on outcome figures, which belong to the calibration.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest

from massbargain import OBS_INDEX, OBSERVATION_FIELDS, Action, MassBargainEnv, Mode, Outcome, Scenario
from massbargain.agents.baselines import BASELINES, Policy, RandomPolicy
from massbargain.rollout import EpisodeBatch, run_episodes

F = len(OBSERVATION_FIELDS)
NAMES = sorted(BASELINES)
SCRIPTED = [name for name in NAMES if name != "random"]
EPISODES = 48
SMALL = Scenario.preset("baseline").with_overrides({"horizon.days": 12})


def make_obs(**fields: float) -> np.ndarray:
    """A plausible observation: a quiet county on day 3, police normal, the superior holding; then ``fields``."""
    obs = np.zeros(F, dtype=np.float32)
    defaults = {
        "time_used": 0.1,
        "stakes": 0.6,
        "informed": 0.1,
        "police_normal": 1.0,
        "legitimacy": 0.7,
        "last_hold": 1.0,
    }
    for name, value in {**defaults, **fields}.items():
        obs[OBS_INDEX[name]] = value
    return obs


def random_observations(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.random((n, F), dtype=np.float32)


def fresh(name: str) -> Policy:
    """A copy of ``BASELINES[name]``, so that drawing from the shared random policy moves no stream others use."""
    return copy.deepcopy(BASELINES[name])


def act_one(policy: Policy, **fields: float) -> int:
    return policy.act(make_obs(**fields))


# --- the protocol -------------------------------------------------------------------------------------------


def test_the_documented_baselines_exist():
    assert {"passive", "petition", "consent", "mobilize", "crackdown", "accept", "random"} <= set(BASELINES)


@pytest.mark.parametrize("name", NAMES)
def test_policy_protocol(name):
    policy = fresh(name)
    assert isinstance(policy, Policy)
    obs = random_observations(64, seed=1)
    for row in obs[:8]:
        a = policy.act(row)
        assert isinstance(a, int) and not isinstance(a, bool)
        assert 0 <= a < len(Action)
    batch = policy.act(obs)
    assert isinstance(batch, np.ndarray)
    assert batch.shape == (64,)
    assert np.issubdtype(batch.dtype, np.integer)
    assert np.all((batch >= 0) & (batch < len(Action)))
    # Works on the env's own observations too.
    env = MassBargainEnv()
    real, _ = env.reset(seed=0)
    assert 0 <= policy.act(real) < len(Action)
    assert policy.act(real[None]).shape == (1,)


@pytest.mark.parametrize("name", SCRIPTED)
def test_scripted_policies_are_deterministic_and_batch_consistent(name):
    policy = BASELINES[name]
    obs = random_observations(40, seed=2)
    batch = policy.act(obs)
    assert np.array_equal(batch, policy.act(obs))
    assert [policy.act(row) for row in obs] == batch.tolist()


@pytest.mark.parametrize("name", SCRIPTED)
def test_scripted_policies_have_a_docstring(name):
    doc = BASELINES[name].__doc__
    assert isinstance(doc, str) and doc.strip()


def test_random_baseline_never_accepts_but_uses_every_other_action():
    actions = fresh("random").act(random_observations(4000, seed=3))
    assert not np.any(actions == Action.ACCEPT)
    assert set(actions.tolist()) == set(range(len(Action))) - {int(Action.ACCEPT)}
    policy = RandomPolicy(seed=4)
    singles = {policy.act(make_obs()) for _ in range(400)}
    assert int(Action.ACCEPT) not in singles and len(singles) == len(Action) - 1


def test_random_baseline_is_reproducible_for_a_seed():
    obs = random_observations(100, seed=5)
    assert np.array_equal(RandomPolicy(seed=7).act(obs), RandomPolicy(seed=7).act(obs))
    assert not np.array_equal(RandomPolicy(seed=7).act(obs), RandomPolicy(seed=8).act(obs))


# --- the rules do what their docstrings say -----------------------------------------------------------------


def test_constant_policies():
    obs = random_observations(30, seed=6)
    assert np.all(BASELINES["passive"].act(obs) == Action.WAIT)
    assert np.all(BASELINES["petition"].act(obs) == Action.PETITION)
    assert np.all(BASELINES["accept"].act(obs) == Action.ACCEPT)


def test_consent_rule():
    consent = BASELINES["consent"]
    # Pacify a radicalizing crowd (radical share above 0.3), whatever else holds.
    assert act_one(consent, radical_share=0.31) == Action.PACIFY
    assert act_one(consent, radical_share=0.9, police_tolerant=1.0, police_normal=0.0, informed=0.9) == Action.PACIFY
    # Otherwise make the police tolerant while they are not.
    assert act_one(consent, radical_share=0.29) == Action.TOLERATE
    assert act_one(consent, police_firm=1.0, police_normal=0.0) == Action.TOLERATE
    # Police tolerant: leak until most know (informed share below 0.5) ...
    tolerant = {"police_tolerant": 1.0, "police_normal": 0.0}
    assert act_one(consent, informed=0.2, **tolerant) == Action.LEAK
    assert act_one(consent, informed=0.49, **tolerant) == Action.LEAK
    # ... then petition.
    assert act_one(consent, informed=0.51, **tolerant) == Action.PETITION
    assert act_one(consent, informed=1.0, radical_share=0.1, **tolerant) == Action.PETITION


def test_mobilize_rule():
    mobilize = BASELINES["mobilize"]
    assert act_one(mobilize, broker_activity=0.0) == Action.MOBILIZE
    assert act_one(mobilize, broker_activity=0.49) == Action.MOBILIZE
    assert act_one(mobilize, broker_activity=0.51) == Action.PETITION
    assert act_one(mobilize, broker_activity=1.0, radical_share=0.9, crowd=0.5) == Action.PETITION


def test_mobilize_pacify_rule():
    managed = BASELINES["mobilize_pacify"]
    # Pacify when the radical share exceeds 0.2 or disorder 0.04.
    assert act_one(managed, radical_share=0.21) == Action.PACIFY
    assert act_one(managed, disorder=0.05) == Action.PACIFY
    assert act_one(managed, radical_share=0.21, broker_activity=0.0, crowd=0.0) == Action.PACIFY
    # Otherwise mobilize while brokers are below 0.3 and the crowd below 0.25 ...
    assert act_one(managed, radical_share=0.19, disorder=0.03, broker_activity=0.29, crowd=0.24) == Action.MOBILIZE
    # ... and petition once either is reached.
    assert act_one(managed, broker_activity=0.31, crowd=0.1) == Action.PETITION
    assert act_one(managed, broker_activity=0.1, crowd=0.26) == Action.PETITION


def test_crackdown_rule():
    crackdown = BASELINES["crackdown"]
    assert act_one(crackdown, crowd=0.02) == Action.CRACKDOWN
    assert act_one(crackdown, crowd=0.5, informed=0.6) == Action.CRACKDOWN
    assert act_one(crackdown, crowd=0.0) == Action.WAIT
    assert act_one(crackdown, crowd=0.005) == Action.WAIT


def test_rules_apply_row_by_row_in_a_batch():
    obs = np.stack([make_obs(radical_share=0.5), make_obs(), make_obs(police_tolerant=1.0, police_normal=0.0)])
    assert BASELINES["consent"].act(obs).tolist() == [Action.PACIFY, Action.TOLERATE, Action.LEAK]


def test_agents_import_is_light():
    code = (
        "import json, sys; import massbargain.agents; "
        "print(json.dumps([m for m in ('torch', 'stable_baselines3', 'pandas') if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


# --- run_episodes -------------------------------------------------------------------------------------------


def _fields(batch: EpisodeBatch) -> dict:
    return {f.name: getattr(batch, f.name) for f in dataclasses.fields(batch)}


@pytest.mark.parametrize("name", ["consent", "mobilize", "random"])
def test_run_episodes_is_reproducible(name):
    def policy():
        return RandomPolicy(seed=1) if name == "random" else BASELINES[name]

    a = run_episodes(policy(), SMALL, EPISODES, seed=21)
    b = run_episodes(policy(), SMALL, EPISODES, seed=21)
    c = run_episodes(policy(), SMALL, EPISODES, seed=22)
    for key, value in _fields(a).items():
        assert np.array_equal(value, _fields(b)[key]), key
    assert a.summary() == b.summary()
    assert any(not np.array_equal(value, _fields(c)[key]) for key, value in _fields(a).items())


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("preset", ["baseline", "daye"])
def test_run_episodes_summary_is_well_formed(name, preset):
    scenario = Scenario.preset(preset).with_overrides({"horizon.days": 12})
    batch = run_episodes(fresh(name), scenario, EPISODES, seed=3)
    assert batch.superior_returns is None  # filled only when asked for (superior_reward=, the duel)
    for key, value in _fields(batch).items():
        if key != "superior_returns":
            assert np.shape(value)[0] == EPISODES, key
    s = batch.summary()
    assert s["episodes"] == EPISODES
    assert np.isfinite(s["mean_return"])
    rates = {k: v for k, v in s.items() if k.endswith("_rate")}
    shares = {k: v for k, v in s.items() if k.endswith("_share")}
    assert {"concession_rate", "punishment_rate", "imposed_rate"} <= set(rates)
    for key, value in {**rates, **shares}.items():
        assert 0.0 <= value <= 1.0, key
    assert sum(shares.values()) == pytest.approx(1.0)
    outcomes = ("withdrawn_rate", "suspended_rate", "partial_rate", "imposed_rate")
    assert sum(s[k] for k in outcomes) == pytest.approx(1.0)
    assert s["concession_rate"] == pytest.approx(s["withdrawn_rate"] + s["suspended_rate"] + s["partial_rate"])
    assert 1 <= s["mean_length"] <= scenario.horizon.days
    assert np.all((batch.length >= 1) & (batch.length <= scenario.horizon.days))
    assert np.all(batch.outcome != Outcome.NONE)
    assert np.array_equal(batch.action_counts.sum(axis=1), batch.length)
    if name == "random":
        assert np.all(batch.action_counts[:, Action.ACCEPT] == 0)
    if name == "accept":
        assert np.all(batch.length == 1) and np.all(batch.outcome == Outcome.IMPOSED)
    if name in ("passive", "accept"):
        assert s["passive_share"] == 1.0
    if name == "mobilize":
        assert np.all(batch.mode == Mode.MOBILIZED)


def test_run_episodes_refuses_no_episodes():
    with pytest.raises(ValueError):
        run_episodes(BASELINES["passive"], SMALL, 0, seed=0)
