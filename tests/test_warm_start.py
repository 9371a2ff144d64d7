"""Warm starts (massbargain.agents.warm_start, TrainConfig.warm_start, ``train --warm-start``).

A warm-started run begins as a behaviour-cloned copy of a scripted family member. These tests check that the
clone acts as its member (on the member's own states and on paired episodes), that ``best`` picks the member
the families' selection picks on the warm start's own episodes (never the evaluation's), and the errors.
Budgets are tiny: the clone is checked before PPO has changed it much (one 512-step run).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from massbargain import Scenario
from massbargain.agents.config import BEST_MEMBER, ConfigError, TrainConfig
from massbargain.agents.families import best, parse_member, select
from massbargain.experiments.cli.main import main

torch = pytest.importorskip("torch")
pytest.importorskip("stable_baselines3")

from massbargain.agents import train as train_mod  # noqa: E402
from massbargain.agents.loading import load_agent  # noqa: E402
from massbargain.agents.planner import evaluate_policy  # noqa: E402
from massbargain.agents.warm_start import (  # noqa: E402
    Demonstrations,
    clone_policy,
    demonstrations,
    load_demonstrations,
    save_demonstrations,
)

CONSENT = "consent(leak_until=0.5, tolerate=yes, pacify_at=0.1, petition=daily, back_off=never)"
TINY = dict(n_envs=2, n_steps=64, batch_size=64, n_epochs=1, eval_freq=10**9, checkpoint_freq=10**9)


def tiny(tmp_path, **changes) -> TrainConfig:
    return TrainConfig.default().replace(
        **{
            "out": str(tmp_path / "run"),
            "scenario": "changxing",
            "timesteps": 128,
            "accept_warmup": 0,
            "learning_rate": 1e-6,  # PPO barely moves: what is measured is the clone
            "learning_rate_final": 1e-6,
            "eval_episodes": 64,
            "progress_bar": False,
            **TINY,
            **changes,
        }
    )


def test_clone_learns_the_members_actions_and_its_returns() -> None:
    scenario = Scenario.preset("changxing")
    member = parse_member(CONSENT)
    demos = demonstrations(member, scenario, 2000, seed=5, gamma=0.995)
    assert demos.obs.shape == (len(demos), 19) and demos.actions.shape == demos.returns.shape == (len(demos),)
    assert np.array_equal(demos.actions, member.act(demos.obs))  # the member's own choices
    cfg = TrainConfig.default().replace(**TINY, accept_warmup=0)
    model = train_mod.make_ppo(cfg, train_mod.make_training_env(scenario, cfg.n_envs, 0))
    fit = clone_policy(model, demos, seed=0)
    assert fit["agreement"] >= 0.98  # a memoryless rule on 19 fields: the network can copy it
    assert fit["value_loss"] < 0.05  # the critic learned the returns that followed (their variance is ~0.2)


def test_a_warm_started_agent_plays_its_member(tmp_path) -> None:
    train_mod.train(tiny(tmp_path, warm_start=CONSENT), log=None)
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["warm_start"]["member"] == CONSENT and metrics["warm_start"]["agreement"] >= 0.98
    agent = load_agent(tmp_path / "run", which="final", seed=0)
    scenario = Scenario.preset("changxing")
    played = evaluate_policy(agent, scenario, 400, seed=7, common_luck=True)
    script = evaluate_policy(parse_member(CONSENT), scenario, 400, seed=7, common_luck=True)
    # paired episodes: the clone meets the map's certification bar against its member (95%, less 0.01)
    assert played.returns.mean() >= 0.95 * script.returns.mean() - 0.01
    assert played.conceded.mean() >= 0.8  # and it is a consent agent, not the untrained passive one


def test_best_is_the_members_selection_on_the_warm_starts_own_episodes(tmp_path) -> None:
    train_mod.train(tiny(tmp_path, warm_start=BEST_MEMBER, seed=4), log=None)
    scenario = Scenario.preset("changxing")
    seed = train_mod.WARM_START_SEED + 4
    expected, _ = best(select(scenario, None, train_mod.WARM_START_CHOICE_EPISODES, seed))
    assert expected.mode == "consent"  # Changxing: consent pays (fact 2)
    assert seed != train_mod.EVAL_SEED + 4  # chosen apart from the evaluation episodes
    recorded = json.loads((tmp_path / "run" / "metrics.json").read_text())["warm_start"]
    assert recorded["member"] == expected.name


def test_warm_start_errors_name_the_field(tmp_path, capsys) -> None:
    with pytest.raises(ConfigError, match="accept_warmup must be 0 with warm_start"):
        TrainConfig.default().replace(warm_start=BEST_MEMBER)  # the default phases ACCEPT in
    with pytest.raises(ConfigError, match="warm_start: unknown family 'consnet'"):
        TrainConfig.default().replace(warm_start="consnet(leak_until=0.5)", accept_warmup=0)
    assert TrainConfig.default().replace(warm_start="best", accept_warmup=0).warm_start == "best"
    out = tmp_path / "x"
    assert main(["train", "--warm-start", "consnet", "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "warm_start" in err and "consnet" in err and "Traceback" not in err
    assert not out.exists()


def test_cli_warm_start_sets_the_accept_warmup_to_zero(tmp_path, capsys) -> None:
    out = tmp_path / "cli"
    args = ["train", "--scenario", "changxing", "--warm-start", "best", "--timesteps", "128", "--n-envs", "2"]
    assert main([*args, "--out", str(out), "--no-progress"]) == 0
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["warm_start"]["agreement"] >= 0.95
    import yaml

    config = yaml.safe_load((out / "config.yaml").read_text())["config"]
    assert config["warm_start"] == "best" and config["accept_warmup"] == 0
    capsys.readouterr()
    assert main(["train", "--out", str(out), "--resume", "--timesteps", "256", "--warm-start", "best"]) == 2
    assert "drop --warm-start" in capsys.readouterr().err


def test_demonstrations_file_round_trips_and_names_its_content(tmp_path) -> None:
    scenario = Scenario.preset("changxing")
    demos = demonstrations(parse_member(CONSENT), scenario, 50, seed=5, gamma=0.995)
    path = save_demonstrations(demos, tmp_path / "sub" / "demos.npz")
    back = load_demonstrations(path)
    for name in ("obs", "actions", "returns"):
        assert np.array_equal(getattr(back, name), getattr(demos, name)), name
    assert back.digest() == demos.digest()
    other = demonstrations(parse_member(CONSENT), scenario, 50, seed=6, gamma=0.995)
    assert other.digest() != demos.digest()  # other episodes, another name
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["demos.npz"]  # no temporary file left behind


def test_bad_demonstrations_files_are_named_in_the_error(tmp_path) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        load_demonstrations(tmp_path / "missing.npz")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="is not a demonstrations file"):
        load_demonstrations(junk)
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, obs=np.zeros((3, 19)), actions=np.zeros(2), returns=np.zeros(3))
    with pytest.raises(ValueError, match=r"obs must be \(N, F\)"):
        load_demonstrations(wrong)
    # a run refuses, before training, a file whose observations are not this environment's
    narrow = Demonstrations(np.zeros((4, 5), np.float32), np.zeros(4, np.int64), np.zeros(4, np.float32))
    save_demonstrations(narrow, tmp_path / "narrow.npz")
    with pytest.raises(ConfigError, match="observations of 5 fields"):
        train_mod.train(tiny(tmp_path, warm_start=str(tmp_path / "narrow.npz")), log=None)
    with pytest.raises(ConfigError, match="does not exist"):
        train_mod.train(tiny(tmp_path, warm_start=str(tmp_path / "missing.npz")), log=None)


def test_a_run_clones_a_demonstrations_file_with_the_configured_fit(tmp_path) -> None:
    """Any teacher's saved episodes (here a member's, so that the clone can be checked against it) start a run;
    the run records the file and its digest, and the fit follows warm_start_epochs / _batch_size."""
    scenario = Scenario.preset("changxing")
    demos = demonstrations(parse_member(CONSENT), scenario, 300, seed=11, gamma=0.995)
    path = save_demonstrations(demos, tmp_path / "teacher.npz")
    config = tiny(tmp_path, warm_start=str(path), warm_start_epochs=60, warm_start_batch_size=256)
    train_mod.train(config, log=None)
    recorded = json.loads((tmp_path / "run" / "metrics.json").read_text())["warm_start"]
    assert recorded["demonstrations"] == str(path) and recorded["digest"] == demos.digest()
    assert recorded["states"] == len(demos) and recorded["agreement"] >= 0.95
    underfit = tiny(tmp_path / "b", warm_start=str(path), warm_start_epochs=1, warm_start_batch_size=4096)
    train_mod.train(underfit, log=None)  # one full-batch Adam step: far from a copy
    assert json.loads((tmp_path / "b" / "run" / "metrics.json").read_text())["warm_start"]["agreement"] < 0.95
