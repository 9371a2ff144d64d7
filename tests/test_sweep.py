"""Sweeps: spec validation, a tiny PPO sweep on two local workers, resuming after Ctrl-C, Ray = local.

Budgets are tiny (about a thousand PPO steps a run): these tests check the machinery, not learning.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from massbargain.agents.config import UserError
from massbargain.experiments.cli import main
from massbargain.experiments.maps.sweep import (
    SweepSpec,
    load_results,
    read_record,
    run_one,
    sweep,
)

#: A tiny PPO run: 4 envs x 64 steps = one 256-step rollout per update, 1024 steps in all.
TINY = {
    "timesteps": 1024,
    "n_envs": 4,
    "n_steps": 64,
    "batch_size": 128,
    "n_epochs": 2,
    "eval_freq": 512,
    "eval_episodes": 100,
    "checkpoint_freq": 10**9,
    "accept_warmup": 512,
    "episodes": 200,
}
SPEC = {"base": TINY, "grid": {"brokers.recklessness": [0.1, 0.9]}, "seeds": 1}
METRICS = ("mean_return", "consent_share", "mobilized_share", "concession_rate", "punishment_rate", "advantage")


def _metrics(record: dict) -> dict:
    return {k: record["metrics"][k] for k in METRICS}


@pytest.fixture(scope="module")
def local_sweep(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    out = tmp_path_factory.mktemp("sweep") / "out"
    df = sweep(SweepSpec.from_dict(SPEC), out, workers=2, progress=False)
    return out, df


def test_tiny_sweep_on_two_local_workers(local_sweep: tuple[Path, pd.DataFrame]) -> None:
    out, df = local_sweep
    table = load_results(out)  # parquet, as pandas reads it
    assert len(table) == 2 and table["run_id"].is_unique
    assert sorted(table["brokers.recklessness"]) == [0.1, 0.9]
    assert set(table["seed"]) == {0}
    shares = table[["passive_share", "official_channel_share", "consent_share", "mobilized_share"]].sum(axis=1)
    assert shares.to_numpy() == pytest.approx(1.0)
    assert table["episodes"].eq(200).all() and table["timesteps"].eq(1024).all()
    assert ((table["mean_return"] > -3) & (table["mean_return"] < 1.5)).all()
    assert pd.read_csv(out / "results.csv")["run_id"].tolist() == table["run_id"].tolist()
    for run_id in table["run_id"]:
        assert (out / "models" / run_id / "best_model.zip").is_file()
    assert not list((out / "runs").glob(".*"))  # no temporary files left


def test_run_one_is_pure_same_seed_same_metrics(local_sweep: tuple[Path, pd.DataFrame]) -> None:
    out, df = local_sweep
    cfg = {**TINY, "brokers.recklessness": 0.9}
    row = df[df["brokers.recklessness"] == 0.9].iloc[0]
    again = run_one(cfg, 0)  # in this process, in a temporary directory
    for key in METRICS:
        assert again[key] == pytest.approx(row[key], abs=1e-12), key
    other = run_one({**cfg, "policy": "consent"}, 0)  # a scripted baseline: evaluation only
    assert other["consent_share"] == 1.0
    assert run_one({**cfg, "policy": "consent"}, 1)["mean_return"] != other["mean_return"]


def test_interrupted_sweep_resumes_without_lost_or_duplicated_runs(tmp_path: Path) -> None:
    spec_path = tmp_path / "spec.yaml"
    spec = {"base": {**TINY, "timesteps": 2048}, "grid": {"superior.monitoring": [0.0, 0.5, 1.0]}, "seeds": 2}
    spec_path.write_text(yaml.safe_dump(spec))
    out = tmp_path / "out"
    args = ["sweep", str(spec_path), "--out", str(out), "--workers", "2", "--no-progress"]
    code = "import sys; from massbargain.experiments.cli import main; sys.exit(main(sys.argv[1:]))"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-c", code, *args], start_new_session=True, env=env)
    deadline = time.monotonic() + 120
    while not list((out / "runs").glob("*.json")) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: the whole process group
    assert proc.wait(timeout=60) == 130
    first = {p.name: p.read_text() for p in (out / "runs").glob("*.json")}
    assert 0 < len(first) < 6, "the interruption should fall in the middle of the sweep"
    for text in first.values():  # every file a whole record
        assert set(json.loads(text)) == {"run_id", "seed", "config", "metrics", "seconds"}
    assert not list((out / "runs").glob(".*"))
    assert len(pd.read_csv(out / "results.csv")) == len(first)  # the table of what was finished

    assert main(args) == 0  # resume
    table = load_results(out)
    assert len(table) == 6 and table["run_id"].is_unique
    assert sorted(zip(table["superior.monitoring"], table["seed"], strict=True)) == [
        (m, s) for m in (0.0, 0.5, 1.0) for s in (0, 1)
    ]
    assert len(list((out / "runs").glob("*.json"))) == 6
    for name, text in first.items():  # finished runs were skipped, not redone
        assert (out / "runs" / name).read_text() == text
    assert main(args) == 0  # a third time: nothing to do, nothing duplicated
    assert len(load_results(out)) == 6


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        (
            {"grid": {"brokers.recklessnes": [0.1]}},
            ["unknown sweep key 'brokers.recklessnes'; did you mean 'brokers.recklessness'?"],
        ),
        ({"grid": {"nonsense": [0.1]}}, ["unknown sweep key 'nonsense'; valid keys: episodes, policy, model"]),
        ({"grid": {"brokers.recklessness": [0.1, 1.5]}}, ["brokers.recklessness", "[0.0, 1.0]", "1.5"]),
        ({"base": {"learning_rate": -1}}, ["learning_rate", "-1"]),
        ({"base": {"policy": "bogus"}}, ["policy must be one of", "ppo", "consent"]),
        ({"seeds": 0}, ["seeds must be a count"]),
        ({"base": {"episodes": 5}, "grid": {"episodes": [5]}}, ["both base and grid"]),
        ({"grids": {}}, ["unknown top-level key 'grids'; did you mean 'grid'?"]),
    ],
)
def test_bad_specs_name_the_field(spec: dict, words: list[str]) -> None:
    with pytest.raises(UserError) as err:
        SweepSpec.from_dict(spec)
    for w in words:
        assert w in str(err.value)


def test_cli_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sweep", str(tmp_path / "missing.yaml"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("massbargain: error: sweep spec") and "does not exist" in err and "Traceback" not in err
    bad = tmp_path / "bad.yaml"
    bad.write_text("grid: {superior.monitoring: [2.0]}\n")
    assert main(["sweep", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "superior.monitoring" in err and err.count("\n") == 1
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    assert main(["sweep", str(bad.with_name("ok.yaml")), "--out", str(a_file)]) == 2
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "ok.yaml").write_text("base: {policy: passive, episodes: 10}\n")
    assert main(["sweep", str(tmp_path / "ok.yaml"), "--out", str(a_file)]) == 2
    err = capsys.readouterr().err
    assert "is a file, not a folder" in err and "Traceback" not in err
    assert main(["mode-map", "--quick", "--out", str(a_file)]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err


def test_ray_backend_gives_the_local_results(local_sweep: tuple[Path, pd.DataFrame], tmp_path: Path) -> None:
    ray = pytest.importorskip("ray")
    out, _ = local_sweep
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        df = sweep(SweepSpec.from_dict(SPEC), tmp_path / "ray", backend="ray", progress=False)
    finally:
        ray.shutdown()
    assert len(df) == 2
    for run_id in df["run_id"]:
        assert _metrics(read_record(tmp_path / "ray", run_id)) == _metrics(read_record(out, run_id))
