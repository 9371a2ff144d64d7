"""``massbargain bench``: the figures it reports are consistent with what it measured, it measures PPO with the
project's default hyperparameters, and its command line prints a table or one JSON line.

No test here asserts a speed (speed is measured by the bench itself, as ratios within one run, not by
timed tests): they check the bench's bookkeeping.
"""

from __future__ import annotations

import json

import pytest

from massbargain.agents.config import TrainConfig
from massbargain.experiments.measures import bench


@pytest.fixture(scope="module")
def quick_result() -> dict:
    return bench.run_bench(quick=True, seed=0)


def test_fallback_hyperparameters_equal_the_default_config() -> None:
    """``FALLBACK_PPO`` is a copy of ppo_default.yaml for a broken install; it must not drift from it."""
    hp, source = bench._ppo_config()
    assert source == "experiments/configs/ppo_default.yaml"
    assert hp == bench.FALLBACK_PPO


def test_dataclass_defaults_equal_the_default_yaml() -> None:
    """``TrainConfig()`` (the dataclass defaults) and ``TrainConfig.default()`` (the YAML) are the same run."""
    assert TrainConfig() == TrainConfig.default()


def test_every_figure_is_the_ratio_of_its_measurements(quick_result: dict) -> None:
    figures = quick_result["figures"]
    assert set(figures) == {"single", "vector_64", "vector_1024", "native_sync", "ppo"}  # quick: no extras
    for name, f in figures.items():
        subject, reference, target, goal = bench.FIGURES[name]
        assert (f["subject"], f["reference"], f["target"], f["goal"]) == (subject, reference, target, goal)
        assert f["steps_per_s"] > 0 and f["reference_steps_per_s"] > 0
        assert f["ratio"] == pytest.approx(f["steps_per_s"] / f["reference_steps_per_s"])
        assert f["ok"] == (None if target is None else f["ratio"] >= target)
    targets = [f["ok"] for f in figures.values() if f["ok"] is not None] + [quick_result["planner"]["ok"]]
    assert quick_result["ok"] == all(targets)


def test_ppo_is_timed_on_the_default_rollout(quick_result: dict) -> None:
    cfg = TrainConfig.default()
    ppo = quick_result["figures"]["ppo"]
    assert ppo["notes"]["rollout_steps"] == cfg.n_steps * cfg.n_envs
    assert quick_result["ppo_hyperparameters"]["n_envs"] == cfg.n_envs
    assert quick_result["ppo_hyperparameters"]["ppo"]["n_epochs"] == cfg.n_epochs
    # Throughput is the rollout over the best collection plus the best training, each timed apart.
    collect, train = ppo["notes"]["collect_s"], ppo["notes"]["train_s"]
    assert ppo["steps_per_s"] == pytest.approx(ppo["notes"]["rollout_steps"] / (collect[0] + train[0]), rel=1e-3)
    assert ppo["reference_steps_per_s"] == pytest.approx(
        ppo["notes"]["rollout_steps"] / (collect[1] + train[1]), rel=1e-3
    )


def test_table_and_json_lines(quick_result: dict, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    table = bench.format_table(quick_result)
    for name in quick_result["figures"]:
        assert name in table
    assert "quick run" in table and "planner (honest, baseline)" in table
    head, rule = table.splitlines()[:2]
    # Every column has a header as wide as its rule (no stray '--' under an empty header).
    assert len(head.split()) == len(rule.split()) and head.split()[-1] == "status"

    monkeypatch.setattr(bench, "run_bench", lambda **_: quick_result)
    assert bench.main_bench(["--json", "--quiet"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and json.loads(out[0])["figures"].keys() == quick_result["figures"].keys()
    missed = {**quick_result, "ok": False}
    monkeypatch.setattr(bench, "run_bench", lambda **_: missed)
    assert bench.main_bench(["--check", "--quiet"]) == 1
    assert bench.main_bench(["--quiet"]) == 0  # without --check a miss is reported, not an error


def test_set_changes_the_ppo_layout_and_refuses_bad_fields(capsys) -> None:
    hp, source = bench._ppo_config({"n_envs": 16, "n_steps": 64})
    assert hp["n_envs"] == 16 and hp["ppo"]["n_steps"] == 64
    assert source.endswith("with n_envs=16, n_steps=64")
    for bad, words in (
        (["--set", "n_envz=3"], ["unknown config key 'n_envz'; did you mean 'n_envs'?"]),
        (["--set", "n_envs=0"], ["n_envs", "0"]),
    ):
        with pytest.raises(SystemExit) as exit_info:
            bench.main_bench(["--quick", "--quiet", *bad])
        assert exit_info.value.code == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err and all(w in err for w in words)
