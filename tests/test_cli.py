"""The ``massbargain`` command line: train, evaluate, play, baselines, and its error handling.

End-to-end tests run the installed console script in a subprocess (as a user would); the quicker checks
call ``main(argv)`` in-process. Training budgets are tiny (2,048 timesteps).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from massbargain.agents import BASELINES
from massbargain.agents.evaluation import MODE_KEYS, OUTCOME_KEYS
from massbargain.experiments.cli import build_parser, main
from massbargain.experiments.cli import play as play_mod

pytest.importorskip("stable_baselines3")

SMALL_CONFIG = {
    "n_envs": 4,
    "n_steps": 64,
    "batch_size": 128,
    "n_epochs": 2,
    "eval_freq": 512,
    "eval_episodes": 100,
    "checkpoint_freq": 1024,
    "accept_warmup": 1024,
}


def cli(*args: str, stdin: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the console script (or the module, if the script is not on PATH)."""
    exe = shutil.which("massbargain")
    cmd = [exe] if exe else [sys.executable, "-m", "massbargain.experiments.cli"]
    return subprocess.run([*cmd, *args], input=stdin, capture_output=True, text=True, timeout=timeout)


def assert_user_error(result, *needles: str) -> None:
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("massbargain: error: "), result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert len(result.stderr.strip().splitlines()) == 1
    for needle in needles:
        assert needle in result.stderr


@pytest.fixture(scope="module")
def small_config(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cfg") / "small.yaml"
    path.write_text(yaml.safe_dump(SMALL_CONFIG))
    return path


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, small_config) -> Path:
    """``massbargain train`` end to end, with a tiny budget."""
    out = tmp_path_factory.mktemp("cli") / "run"
    result = cli(
        "train", "--scenario", "changxing", "--set", "utility.stakes=0.8", "--timesteps", "2048", "--seed", "3",
        "--n-envs", "4", "--config", str(small_config), "--out", str(out), "--no-progress",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"massbargain evaluate {out}" in result.stdout
    return out


def test_train_writes_the_full_run_directory(run_dir):
    for name in ("config.yaml", "model.zip", "best_model.zip", "metrics.json"):
        assert (run_dir / name).is_file(), name
    assert list((run_dir / "checkpoints").glob("model_*_steps.zip"))
    assert list((run_dir / "tb").rglob("events.out.tfevents.*"))
    info = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert info["config"]["seed"] == 3 and info["config"]["n_envs"] == 4
    assert info["config"]["n_epochs"] == SMALL_CONFIG["n_epochs"]  # from --config
    assert info["config"]["overrides"] == {"utility.stakes": 0.8}  # a number, not the string '0.8'
    assert info["scenario"]["name"] == "changxing" and info["scenario"]["utility"]["stakes"] == 0.8
    assert "stable-baselines3" in info["versions"]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["status"] == "complete" and metrics["timesteps"] == 2048
    assert [h["timesteps"] for h in metrics["history"]] == [512, 1024, 1536, 2048]


def test_resume_continues_the_timestep_count(run_dir, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    result = cli("train", "--out", str(copy), "--resume", "--timesteps", "3072", "--no-progress")
    assert result.returncode == 0, result.stderr
    assert "resuming" in result.stdout and "2048" in result.stdout
    metrics = json.loads((copy / "metrics.json").read_text())
    assert metrics["timesteps"] == 3072
    assert [h["timesteps"] for h in metrics["history"]][-2:] == [2560, 3072]
    assert len(yaml.safe_load((copy / "config.yaml").read_text())["sessions"]) == 2

    assert_user_error(cli("train", "--out", str(copy), "--resume", "--timesteps", "3072"), "already trained 3072")
    assert_user_error(cli("train", "--out", str(copy), "--resume"), "--timesteps")
    assert_user_error(cli("train", "--out", str(copy), "--resume", "--timesteps", "9000", "--seed", "1"), "drop --seed")
    assert_user_error(cli("train", "--out", str(tmp_path / "none"), "--resume", "--timesteps", "10"), "no run")


def test_train_refuses_a_used_run_directory(run_dir, capsys):
    assert main(["train", "--out", str(run_dir), "--timesteps", "100"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("massbargain: error: ") and "of another configuration (scenario: 'changxing' there" in err
    assert "--overwrite" in err and len(err.strip().splitlines()) == 1


def test_evaluate_json_figures_are_consistent(run_dir):
    result = cli("evaluate", str(run_dir), "--episodes", "300", "--seed", "5", "--planner-episodes", "10", "--json")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["scenario"] == "changxing with utility.stakes=0.8" and record["episodes"] == 300
    assert record["seed"] == 5 and record["model"] == "best"
    assert set(record["baselines"]) == set(BASELINES)
    for fig in [record["agent"], *record["baselines"].values()]:
        assert fig["episodes"] == 300
        assert sum(fig[k] for k in MODE_KEYS) == pytest.approx(1.0)
        assert sum(fig[k] for k in OUTCOME_KEYS) == pytest.approx(1.0)
        for key in (*MODE_KEYS, *OUTCOME_KEYS, "punishment_rate", "concession_rate", "control_share"):
            assert 0.0 <= fig[key] <= 1.0
        assert fig["return_ci95"] > 0 or fig["mean_return"] == 0.0  # ACCEPT on day one has no spread
    best = max(record["baselines"], key=lambda n: record["baselines"][n]["mean_return"])
    assert record["best_baseline"] == best
    assert record["advantage"] == pytest.approx(
        record["agent"]["mean_return"] - record["baselines"][best]["mean_return"]
    )
    # The best family member, chosen on other episodes, played on these.
    member = record["best_member"]
    assert member["choice_seed"] == 1_000_005 and member["episodes"] == 300 and member["member"]
    assert record["member_advantage"] == pytest.approx(record["agent"]["mean_return"] - member["mean_return"])
    low, high = record["member_advantage_ci95"]
    assert low <= record["member_advantage"] <= high
    # The planner comparison: the agent's mean over the planner's mean on the same 10 episodes.
    vs = record["planner"]
    assert vs["planner"] == "honest" and vs["episodes"] == 10 and vs["seed"] == 5
    assert vs["difference"] == pytest.approx(vs["agent_mean"] - vs["planner_mean"])
    if vs["use"] == "ratio":
        assert record["planner_ratio"] == vs["planner_ratio"] == pytest.approx(vs["agent_mean"] / vs["planner_mean"])
        assert record["planner_ratio_ci95"][0] <= record["planner_ratio_ci95"][1]
    else:  # the planner's return is near zero: no ratio, the difference instead
        assert abs(vs["planner_mean"]) < 0.05 and record["planner_ratio"] is None


def test_evaluate_table_and_scenario_override(run_dir, capsys):
    assert (
        main(
            ["evaluate", str(run_dir), "--episodes", "100", "--scenario", "daye", "--set", "utility.stakes=0.5"]
            + ["--planner-episodes", "4"]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert " on daye with utility.stakes=0.5: 100 episodes" in out
    for name in ["agent", *BASELINES, "withdrawn", "suspended", "partial", "imposed", "punished", "control"]:
        assert name in out
    assert "best baseline" in out
    assert "'best member' is the best of" in out and "chosen on other episodes (seed 1000000)" in out
    assert "the best scripted family member: difference in mean return" in out
    assert "planner" in out and ("% of the honest planner's mean return" in out or "difference" in out)
    assert main(["evaluate", str(run_dir), "--episodes", "50", "--no-planner"]) == 0
    assert "planner" not in capsys.readouterr().out


def test_evaluate_takes_one_model_file_of_a_run(run_dir, capsys):
    """Issue 17: evaluate runs/daye/model.zip said the path 'does not exist'."""
    for path in (run_dir / "model.zip", next((run_dir / "checkpoints").glob("model_*_steps.zip"))):
        assert main(["evaluate", str(path), "--episodes", "50", "--no-planner"]) == 0
        assert capsys.readouterr().out.startswith(f"{run_dir} ({path.name} model, sampled actions) on changxing")
    assert main(["evaluate", str(run_dir / "model.zip"), "--model", "final"]) == 2
    assert "--model picks a model of a run directory: drop it" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args, needles",
    [
        (
            ["train", "--set", "brokers.reckless=0.9", "--out", "{tmp}/x"],
            ["unknown scenario key 'brokers.reckless'; did you mean 'brokers.recklessness'?"],
        ),
        (
            ["train", "--set", "brokers.recklessness=2", "--out", "{tmp}/x"],
            ["brokers.recklessness must be in [0.0, 1.0]"],
        ),
        (
            ["train", "--set", "brokers.recklessness=high", "--out", "{tmp}/x"],
            ["brokers.recklessness must be a number"],
        ),
        (["train", "--scenario", "wuhan", "--out", "{tmp}/x"], ["unknown preset 'wuhan'", "changxing"]),
        (["train", "--scenario", "{tmp}/none.yaml", "--out", "{tmp}/x"], ["does not exist"]),
        (["train", "--config", "{tmp}/none.yaml", "--out", "{tmp}/x"], ["does not exist"]),
        (["evaluate", "{tmp}/no_such_run"], ["does not exist"]),
        (["evaluate", "{tmp}"], ["not a run directory"]),
        (["play", "--set", "superior.monitor=0.5"], ["did you mean 'superior.monitoring'?"]),
        (["baselines", "--scenario", "wuhan"], ["unknown preset"]),
    ],
)
def test_user_errors_are_one_clear_line(args, needles, tmp_path, capsys):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in args]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("massbargain: error: ") and len(captured.err.strip().splitlines()) == 1
    for needle in needles:
        assert needle in captured.err
    assert not (tmp_path / "x").exists()


def test_bad_set_through_the_console_script(tmp_path):
    result = cli("train", "--set", "brokers.reckless=0.9", "--out", str(tmp_path / "x"))
    assert_user_error(result, "unknown scenario key 'brokers.reckless'; did you mean 'brokers.recklessness'?")
    assert len(result.stderr) < 150  # not a list of ~100 keys
    result = cli("train", "--set", "recklessness", "--out", str(tmp_path / "x"))
    assert result.returncode == 2 and "KEY=VALUE" in result.stderr and "Traceback" not in result.stderr


def test_bad_config_value_names_the_field(tmp_path, capsys):
    cfg = tmp_path / "hp.yaml"
    cfg.write_text("batch_size: 100\n")
    assert main(["train", "--config", str(cfg), "--out", str(tmp_path / "x")]) == 2
    assert "batch_size (100) must divide" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["train", "evaluate", "play", "baselines", "explain", "sensitivity"])
def test_every_subcommand_help_has_an_example(command):
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    text = sub.format_help()
    assert "examples:" in text and f"massbargain {command}" in text.split("examples:")[1]


def test_baselines_table_and_json(capsys):
    assert main(["baselines", "--episodes", "100", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert set(record["scenarios"]) == {"baseline", "changxing", "daye"}
    for table in record["scenarios"].values():
        assert set(table) == set(BASELINES)
    assert main(["baselines", "--episodes", "100", "--scenario", "changxing"]) == 0
    out = capsys.readouterr().out
    assert "changxing" in out and "<- best" in out and all(name in out for name in BASELINES)


# --- play ----------------------------------------------------------------------------------------------


def test_play_with_scripted_input_finishes_an_episode():
    moves = ["", "fly", "9", "p", "?", "tol", "3"] + ["leak"] * 3 + ["petition"] * 40
    result = cli("play", "--scenario", "changxing", "--seed", "1", stdin="\n".join(moves) + "\n", timeout=60)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Traceback" not in out + result.stderr
    assert "unknown action 'fly'" in out and "no action 9" in out and "ambiguous" in out and "no action given" in out
    assert "Actions (number, name, mode: effect)" in out
    assert "superior:" in out and "Day   1/30" in out
    assert "Game over after" in out and "your return" in out


def test_play_in_process_reports_the_episode():
    lines = iter(["accept"])
    seen: list[str] = []
    summary = play_mod.play("baseline", seed=0, input_fn=lambda prompt: next(lines), output=seen.append)
    assert summary == {
        "days": 1, "return": 0.0, "outcome": "imposed", "end_reason": "accepted", "severity": "none", "quit": False,
    }  # fmt: skip
    assert any("Game over after 1 day:" in s for s in seen)


def test_play_stops_cleanly_when_input_ends():
    result = cli("play", "--seed", "0", stdin="wait\nwait\n", timeout=60)
    assert result.returncode == 0 and "no more input" in result.stdout and "Traceback" not in result.stderr
    result = cli("play", "--seed", "0", stdin="q\n", timeout=60)
    assert result.returncode == 0 and "You leave the game" in result.stdout


def test_parse_action():
    assert play_mod.parse_action(" 4 ") == play_mod.Action.MOBILIZE
    assert play_mod.parse_action("TOLERATE") == play_mod.Action.TOLERATE
    assert play_mod.parse_action("cr") == play_mod.Action.CRACKDOWN
    for bad in ("", "p", "-1", "8", "1.5", "mob!"):  # "p": petition or pacify
        with pytest.raises(ValueError, match="type a number 0-7"):
            play_mod.parse_action(bad)


# --- Ctrl-C ----------------------------------------------------------------------------------------------


@pytest.mark.skipif(os.name != "posix", reason="sends SIGINT")
def test_ctrl_c_during_training_saves_a_loadable_checkpoint(tmp_path, small_config):
    out = tmp_path / "run"
    exe = shutil.which("massbargain")
    cmd = [exe] if exe else [sys.executable, "-m", "massbargain.experiments.cli"]
    args = ["train", "--timesteps", "10000000", "--config", str(small_config), "--out", str(out), "--no-progress"]
    # The child gets the default Ctrl-C disposition a terminal gives: a test run before this one may leave SIGINT
    # ignored in the pytest process, and an ignored SIGINT is inherited (Python then never raises
    # KeyboardInterrupt).
    proc = subprocess.Popen(
        [*cmd, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 180  # generous: a fresh venv's first start and a loaded machine are slow
        while not (out / "metrics.json").exists():  # the first evaluation: training is under way
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr and proc.stderr.read()
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "interrupted at" in stdout and "--resume" in stdout
    from massbargain.agents.loading import load_agent

    agent = load_agent(out, "final")
    assert agent.model.num_timesteps > 0
    assert json.loads((out / "metrics.json").read_text())["status"] == "interrupted"
