"""Distilled rules (massbargain.experiments.explain): a tree recovers a scripted rule exactly, prints it in
the model's units, acts as a policy, and `massbargain explain` runs end to end on a tiny trained run."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import yaml

pytest.importorskip("sklearn")

from massbargain import OBS_INDEX, Action  # noqa: E402
from massbargain.agents.families import parse_member  # noqa: E402
from massbargain.experiments.explain import (  # noqa: E402
    DistilConfig,
    TreePolicy,
    condition_text,
    distil,
    evaluate_pair,
    explain_policy,
    leaves,
)
from massbargain.experiments.explain.dagger import _rollout_states  # noqa: E402
from massbargain.policy import RulePolicy  # noqa: E402
from massbargain.rollout import run_episodes  # noqa: E402
from massbargain.scenario import PRESETS  # noqa: E402

SMALL = DistilConfig(iterations=2, episodes=200, validation_episodes=300, explore=0.3, seed=0)
CONSENT = "consent(leak_until=0.5, tolerate=yes, pacify_at=never, petition=never, back_off=never)"


def _fresh_states(policy, tree, seed: int) -> np.ndarray:
    """States of other episodes than the distillation's: the policy with a random action on 30% of days."""
    obs, _ = _rollout_states(policy, tree, PRESETS["changxing"], 400, seed, beta=1.0, explore=0.3)
    return obs


def test_a_threshold_rule_on_one_field_is_recovered_exactly():
    rule = RulePolicy(
        "leak-until-half",
        lambda obs: np.where(obs[:, OBS_INDEX["informed"]] < 0.5, int(Action.LEAK), int(Action.WAIT)),
        "LEAK while fewer than half are informed, else WAIT.",
    )
    d = distil(rule, PRESETS["changxing"], depth=1, config=SMALL)
    rules = leaves(d.policy)
    assert [r.action_name for r in rules] == ["LEAK", "WAIT"]
    ((name, low, high),) = rules[0].bounds
    assert name == "informed" and low == -np.inf and abs(high - 0.5) < 0.03
    obs = _fresh_states(rule, None, seed=77)
    differ = d.policy.act(obs) != rule.act(obs)
    # the tree's threshold lies midway between the closest labelled states on either side of 0.5: it can
    # differ from the rule only between its threshold and 0.5
    informed = obs[differ, OBS_INDEX["informed"]]
    assert ((np.minimum(high, 0.5) <= informed) & (informed <= np.maximum(high, 0.5))).all()
    assert differ.mean() < 0.01


def test_a_family_member_is_recovered_exactly_on_fresh_states():
    member = parse_member(CONSENT)
    d = distil(member, PRESETS["changxing"], depth=3, config=SMALL)
    obs = _fresh_states(member, None, seed=99)
    assert len(obs) > 2000
    differ = d.policy.act(obs) != member.act(obs)
    assert differ.mean() < 0.01  # only where the informed share falls between the tree's threshold and 0.5:
    assert (np.abs(obs[differ, OBS_INDEX["informed"]] - 0.5) < 0.03).all()
    assert {r.action_name for r in leaves(d.policy)} == {"TOLERATE", "LEAK", "WAIT"}


def test_the_tree_is_a_policy_and_distillation_is_deterministic():
    member = parse_member(CONSENT)
    a = distil(member, PRESETS["changxing"], depth=2, config=SMALL).policy
    b = distil(member, PRESETS["changxing"], depth=2, config=SMALL).policy
    assert isinstance(a, TreePolicy)
    np.testing.assert_array_equal(a.tree.tree_.threshold, b.tree.tree_.threshold)
    obs = _fresh_states(member, None, seed=5)
    assert isinstance(a.act(obs[0]), int)
    assert a.act(obs).shape == (len(obs),)
    assert np.allclose(a.probs(obs).sum(axis=1), 1.0)
    batch = run_episodes(a, PRESETS["changxing"], 50, 0)
    assert np.array_equal(batch.returns, run_episodes(b, PRESETS["changxing"], 50, 0).returns)


def test_the_comparison_is_paired_and_measures_each_rule():
    member = parse_member(CONSENT)
    e = explain_policy(member, PRESETS["changxing"], DistilConfig(depth=3, **_small()), name="m", episodes=300)
    assert e.agreement == 1.0
    assert e.pair.difference.mean == pytest.approx(0.0, abs=1e-12)  # same actions on the same episodes
    assert e.pair.ratio == pytest.approx(1.0)
    assert sum(r.coverage for r in e.rules) == pytest.approx(1.0)
    d = evaluate_pair(e.tree, parse_member("passive"), PRESETS["changxing"], 300, 1)
    assert d.difference.low > 0  # the consent rule beats waiting on changxing


def _small() -> dict:
    return {"iterations": 2, "episodes": 200, "validation_episodes": 300, "explore": 0.3}


def test_conditions_print_in_the_model_units():
    assert condition_text("police_tolerant", -np.inf, 0.5) == "police not tolerant"
    assert condition_text("police_tolerant", 0.5, np.inf) == "police tolerant"
    assert condition_text("investigation", 0.5, np.inf) == "investigation open"
    assert condition_text("time_used", -np.inf, 11.5 / 30, days=30) == "day <= 11"
    assert condition_text("time_used", 11.5 / 30, np.inf, days=30) == "day >= 12"
    assert condition_text("warnings", 0.1, 0.3) == "warnings = 1"
    assert condition_text("informed", 0.2, 0.62) == "0.2 < informed <= 0.62"
    assert condition_text("informed", -np.inf, 0.615) == "informed <= 0.615"


def test_explain_distils_a_tiny_trained_run_end_to_end(tmp_path):
    pytest.importorskip("stable_baselines3")
    exe = shutil.which("massbargain")
    cmd = [exe] if exe else [sys.executable, "-m", "massbargain.experiments.cli"]
    config = tmp_path / "small.yaml"
    config.write_text(
        yaml.safe_dump(
            {"n_envs": 4, "n_steps": 64, "batch_size": 128, "n_epochs": 1, "eval_freq": 512, "eval_episodes": 50}
            | {"checkpoint_freq": 1024, "accept_warmup": 512}
        )
    )
    run = tmp_path / "run"
    train = [*cmd, "train", "--scenario", "changxing", "--timesteps", "1024", "--config", str(config)]
    result = subprocess.run([*train, "--out", str(run), "--no-progress"], capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "explained"
    args = ["explain", str(run), str(run), "--depth", "2", "--iterations", "1", "--rollouts", "50"]
    args += ["--episodes", "100", "--out", str(out), "--json"]
    result = subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    first, second = record["explanations"]
    assert first["depth"] <= 2 and 0.0 <= first["agreement"] <= 1.0
    assert first["held_out"]["episodes"] == 100
    assert first["rules"] == second["rules"]  # the same run, the same seeds: the same tree
    assert (out / "summary.csv").is_file() and (out / "rules.txt").read_text().startswith("run")
    bad = subprocess.run([*cmd, "explain", str(tmp_path / "none")], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
