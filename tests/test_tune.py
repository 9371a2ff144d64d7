"""``massbargain tune``: the search space, a tiny study end to end, resuming, pruning, errors, Ray workers.

Budgets are tiny (1024 PPO steps a run, 4 evaluations): these tests check the machinery, not what it finds.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import shlex
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from massbargain.agents.config import TrainConfig, UserError, parse_assignment
from massbargain.experiments.cli import main
from massbargain.experiments.cli.main import build_parser
from massbargain.experiments.maps.mode_map import ModeMapConfig
from massbargain.experiments.maps.tune import (
    STUDY,
    TuneConfig,
    _storage,
    config_from_args,
    make_objective,
    set_flags,
    tune,
)
from massbargain.experiments.maps.tune_space import (
    NET_ARCHS,
    SPACE,
    base_recipe,
    outside_space,
    params_of,
    recipe_of,
    space_for,
)

optuna = pytest.importorskip("optuna")

#: A tiny base recipe: 16 envs x 16 steps = one 256-step rollout per update, 1024 steps, evaluations every 256.
#: (Every rollout the search can choose, 128 to 1024 steps, divides the budget, so all trials evaluate at the
#: same steps.)
TINY = {
    "timesteps": 1024,
    "n_envs": 16,
    "n_steps": 16,
    "batch_size": 128,
    "n_epochs": 2,
    "eval_freq": 256,
    "eval_episodes": 50,
    "accept_warmup": 512,
}
#: Evaluation steps of a TINY run (the last one is the final evaluation).
STEPS = [256, 512, 768, 1024]
CFG = TuneConfig(base=TINY, trials=3, holdout_seeds=(100, 101), holdout_episodes=100, prune_startup=3)


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("tune") / "out"
    return out, tune(CFG, out, workers=1, progress=False, log=None)


def _trials(out: Path) -> list:
    return optuna.load_study(study_name=STUDY, storage=_storage(out / "journal.log")).trials


# --- the search space ---------------------------------------------------------------------------------------


def test_the_default_recipe_is_a_point_of_the_space() -> None:
    default = TrainConfig.default()
    params = params_of(default, default.timesteps)
    assert params is not None
    assert recipe_of(params, default, default.timesteps) == base_recipe(default, default.timesteps)
    assert base_recipe(default, default.timesteps)["accept_warmup"] == default.accept_warmup
    assert outside_space(default, default.timesteps) is None
    decay = default.replace(learning_rate_final=1e-5)
    assert params_of(decay, default.timesteps) is None
    assert "learning_rate_final differs" in outside_space(decay, default.timesteps)
    assert outside_space(default, default.accept_warmup) == "accept_warmup_share 1 is outside [0, 0.6]"
    assert "net_arch [7] is none of" in outside_space(default.replace(net_arch=[7]), default.timesteps)


@pytest.mark.parametrize("n_envs", [4, 64])
def test_every_corner_of_the_space_is_a_valid_config(n_envs: int) -> None:
    base = TrainConfig.default().replace(n_envs=n_envs, batch_size=n_envs * 16 // 4)
    ends = [p.choices or (p.low, p.high) for p in SPACE]
    for corner in itertools.product(*ends):
        recipe = recipe_of(dict(zip([p.name for p in SPACE], corner, strict=True)), base, 100_000)
        config = base.replace(**recipe)  # validates: the batch divides the rollout, every value in range
        assert config.ent_coef_final <= config.ent_coef and config.accept_warmup <= 60_000
        assert config.net_arch in NET_ARCHS.values()


# --- a tiny study -----------------------------------------------------------------------------------------


def test_tiny_study_writes_a_loadable_best_config(study: tuple[Path, dict], tmp_path: Path) -> None:
    out, result = study
    table = pd.read_csv(out / "trials.csv")
    assert table["number"].tolist() == [0, 1, 2] and set(table["state"]) == {"COMPLETE"}
    assert table["default"].tolist() == [True, False, False]  # the first trial is the base recipe
    trials = _trials(out)
    assert trials[0].user_attrs["recipe"] == base_recipe(CFG.base_config(), 1024)
    best = max(trials, key=lambda t: t.value)
    assert result["best"]["number"] == best.number and result["best"]["value"] == best.value
    assert result["default_value"] == trials[0].value
    for t in trials:  # every evaluation went to the pruner, and the last is the trial's score
        assert sorted(t.intermediate_values) == STEPS
        assert t.intermediate_values[1024] == t.value

    recipe = yaml.safe_load((out / "best.yaml").read_text())
    assert recipe == best.user_attrs["recipe"]
    config = TrainConfig.from_yaml(out / "best.yaml", base=TrainConfig.default())  # massbargain train --config
    assert {k: getattr(config, k) for k in recipe} == recipe
    mode_map = ModeMapConfig(train={**ModeMapConfig().train, **recipe})  # the mode map's train settings
    assert mode_map.train_config("train").learning_rate == recipe["learning_rate"]
    flags = shlex.split(set_flags(recipe))  # the report's ppo_table options give the same recipe
    assert dict(parse_assignment(v) for v in flags[1::2]) == recipe and set(flags[::2]) == {"--set"}
    run = tmp_path / "run"
    assert main(["train", "--config", str(out / "best.yaml"), "--out", str(run), "--no-progress"]) == 0
    assert (run / "model.zip").is_file()

    holdout = result["holdout"]
    assert [r["seed"] for r in holdout["per_seed"]] == [100, 101]
    for r in holdout["per_seed"]:
        assert r["difference"] == pytest.approx(r["best"] - r["default"])
        assert r["difference_ci95"][0] <= r["difference"] <= r["difference_ci95"][1]
    lo, hi = holdout["difference_ci95"]
    assert lo <= holdout["difference"] <= hi
    assert holdout["difference"] == pytest.approx(holdout["best"] - holdout["default"])
    assert f"Best: trial {best.number}" in (out / "report.md").read_text()


def test_resume_runs_only_the_missing_trials(study: tuple[Path, dict], tmp_path: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(study[0], out)
    first = [(t.number, t.params, t.value) for t in _trials(out)]
    # A trial cut short: left running by a process of this machine that is gone.
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stuck = optuna.load_study(study_name=STUDY, storage=_storage(out / "journal.log")).ask()
    stuck.set_user_attr("worker", f"{socket.gethostname()}:{dead.pid}")

    with pytest.raises(UserError, match="already holds this tune study; pass --resume"):
        tune(CFG, out, progress=False, log=None)
    with pytest.raises(UserError, match="another configuration \\(timesteps: "):
        tune(dataclasses.replace(CFG, timesteps=2048), out, resume=True, progress=False, log=None)
    more = dataclasses.replace(CFG, trials=5, holdout_seeds=())
    result = tune(more, out, resume=True, workers=1, progress=False, log=None)
    trials = _trials(out)
    assert [(t.number, t.params, t.value) for t in trials[:3]] == first  # finished trials kept, not redone
    states = [t.state.name for t in trials]
    assert states[3] == "FAIL"  # the stuck one
    assert sum(s in ("COMPLETE", "PRUNED") for s in states) == 5 and len(trials) == 6
    assert result["holdout"] is None
    assert main(["tune", "--out", str(out), "--resume", "--trials", "5", "--no-progress"]) == 2  # other settings


def test_pruner_sees_each_evaluation_and_stops_a_poor_trial() -> None:
    cfg = TuneConfig(base=TINY, trials=3)
    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.RandomSampler(seed=0),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=1, n_warmup_steps=0),
    )
    # An earlier trial that returned 10 (impossible here) at every evaluation: any real trial is below the
    # median of the finished trials at its first evaluation, so it must be pruned there.
    distributions = {p.name: p.distribution() for p in SPACE}
    params = params_of(cfg.base_config(), cfg.timesteps)
    study.add_trial(
        optuna.trial.create_trial(
            params=params, distributions=distributions, value=10.0, intermediate_values=dict.fromkeys(STEPS, 10.0)
        )
    )
    study.optimize(make_objective(cfg), n_trials=1)
    poor = study.trials[-1]
    assert poor.state.name == "PRUNED"
    assert list(poor.intermediate_values) == [256]  # stopped at the first evaluation
    assert poor.intermediate_values[256] < 10.0


# --- errors, Ray ----------------------------------------------------------------------------------------------


def test_tune_errors_name_the_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = str(tmp_path / "o")
    assert main(["tune", "--cells", str(tmp_path / "missing.yaml"), "--out", out]) == 2
    assert "cells file" in capsys.readouterr().err
    cells = tmp_path / "cells.yaml"
    cells.write_text("- {brokers.recklesness: 0.5}\n")
    assert main(["tune", "--cells", str(cells), "--out", out]) == 2
    err = capsys.readouterr().err
    assert "brokers.recklesness" in err and "Traceback" not in err and err.count("\n") == 1
    base = tmp_path / "base.yaml"
    base.write_text("scenario: daye\n")
    assert main(["tune", "--config", str(base), "--out", out]) == 2
    assert "'scenario' is set by tune" in capsys.readouterr().err
    base.write_text("n_epochs: 0\n")
    assert main(["tune", "--config", str(base), "--out", out]) == 2
    assert "n_epochs must be an integer in [1, 1000]" in capsys.readouterr().err
    with pytest.raises(UserError, match="holdout_seeds must differ from the tuning seeds"):
        TuneConfig(seeds=(0, 1), holdout_seeds=(1, 2))
    assert main(["mode-map", "--quick", "--train-config", str(base), "--out", out]) == 2
    assert "n_epochs" in capsys.readouterr().err
    assert not Path(out).exists()


def test_ray_workers_share_the_study(tmp_path: Path) -> None:
    ray = pytest.importorskip("ray")
    cfg = TuneConfig(base=TINY, trials=2, holdout_seeds=())
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        tune(cfg, tmp_path / "out", backend="ray", workers=2, progress=False, log=None)
    finally:
        ray.shutdown()
    trials = _trials(tmp_path / "out")
    assert [t.state.name for t in trials] == ["COMPLETE", "COMPLETE"]
    assert all(not t.user_attrs["worker"].endswith(f":{os.getpid()}") for t in trials)  # in Ray's workers


def _config(name: str) -> Path:
    from importlib import resources

    return Path(str(resources.files("massbargain.experiments").joinpath("configs", name)))


def test_the_mode_map_spec_tunes_from_the_maps_own_recipe() -> None:
    spec = TuneConfig.from_yaml(_config("tune_mode_map.yaml"))
    train = ModeMapConfig.default().train_config("train")
    assert base_recipe(spec.base_config(), spec.timesteps) == base_recipe(train, train.timesteps)
    assert outside_space(spec.base_config(), spec.timesteps) is None  # trial 0 is the map's recipe
    cells = [ModeMapConfig.default().scenario_of(c) for c in ModeMapConfig.default().cells()]
    assert all(spec.scenario_of(c) in cells for c in spec.cells)  # cells of the default map
    flags = ["--spec", str(_config("tune_mode_map.yaml")), "--timesteps", "100000", "--out", "x"]
    args = build_parser().parse_args(["tune", *flags])
    assert config_from_args(args) == dataclasses.replace(spec, timesteps=100_000)  # options override the spec


def test_the_presets_spec_tunes_each_preset_from_the_default() -> None:
    spec = TuneConfig.from_yaml(_config("tune_presets.yaml"))
    assert [s for s, _ in spec.targets()] == ["baseline", "changxing", "daye"]
    assert spec.base_config().replace(timesteps=TrainConfig.default().timesteps) == TrainConfig.default().replace(
        eval_freq=spec.eval_freq, eval_episodes=spec.eval_episodes, checkpoint_freq=10**10, progress_bar=False
    )
    assert outside_space(spec.base_config(), spec.timesteps) is None  # trial 0 is ppo_default.yaml at 500k


def test_the_warm_mode_map_spec_fine_tunes_clones_against_the_maps_own_budget() -> None:
    spec = TuneConfig.from_yaml(_config("tune_mode_map_warm.yaml"))
    train = ModeMapConfig.default().train_config("train")
    base = spec.base_config()
    assert base.warm_start == "best" and base.accept_warmup == 0
    # the same recipe as the map's, at a quarter of its budget; compared held out with the map's at its own
    assert base_recipe(base, spec.timesteps) == base_recipe(train, spec.timesteps)
    assert spec.timesteps * 4 == train.timesteps == spec.holdout_default_timesteps
    assert outside_space(base, spec.timesteps) is None  # trial 0 is the map's recipe
    cells = [ModeMapConfig.default().scenario_of(c) for c in ModeMapConfig.default().cells()]
    assert all(spec.scenario_of(c) in cells for c in spec.cells)
    # a warm start already knows when to give in: the ACCEPT warm-up is not searched and stays 0
    assert [p.name for p in space_for(base)] == [p.name for p in SPACE if p.name != "accept_warmup_share"]
    assert set(params_of(base, spec.timesteps)) == {p.name for p in space_for(base)}
    point = {p.name: p.choices[0] if p.choices else p.high for p in space_for(base)}
    assert base.replace(**recipe_of(point, base, 10_000)).accept_warmup == 0  # a valid config
    assert TuneConfig().holdout_default_timesteps == TuneConfig().timesteps  # by default, the same budget
    with pytest.raises(UserError, match="holdout_default_timesteps must be a whole number >= 1"):
        TuneConfig(holdout_default_timesteps=0)
