"""Issue 17 through the real command line: every failure it lists is one line with the right exit status,
nothing is overwritten silently, and the cosmetic slips stay fixed.

Each test names the issue's case. Failures of the user's input exit with status 2, failures while running
with status 1; neither prints a traceback unless --debug (or MASSBARGAIN_DEBUG=1) asks for it. Commands run
in-process through ``main(argv)`` (quick) or as the installed console script (as a user would).
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from massbargain import Scenario, ScenarioError
from massbargain.agents.config import RunError, TrainConfig, UserError
from massbargain.agents.outdir import made_by, prepare_output_dir
from massbargain.experiments.cli import build_parser, main
from massbargain.experiments.cli.main import expected_failure
from massbargain.extras import MissingExtra, missing

COMMANDS = ("train", "evaluate", "play", "baselines", "bench", "facts", "sweep", "mode-map")
#: The module of the command line (``massbargain.experiments.cli.main`` the name is its function).
cli_main = importlib.import_module("massbargain.experiments.cli.main")
needs_train = pytest.mark.skipif(bool(missing("train")), reason="needs the train extra")
AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0  # root writes into read-only folders anyway
#: A few PPO updates: 4 envs x 64 steps a rollout, no periodic evaluation or checkpoint.
TINY = {"n_envs": 4, "n_steps": 64, "batch_size": 128, "n_epochs": 1, "eval_freq": 10**6, "eval_episodes": 50}
TINY.update(checkpoint_freq=10**6, accept_warmup=256)


def cli(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """The console script (or the module, if the script is not on PATH), as a user runs it."""
    exe = shutil.which("massbargain")
    cmd = [exe] if exe else [sys.executable, "-m", "massbargain"]
    run_env = {**os.environ, **(env or {})}
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=timeout, env=run_env)


def one_line(err: str, status: int, got: int, *needles: str) -> str:
    """Check an error report: the status, one line starting 'massbargain: error: ', no traceback."""
    assert got == status, err
    assert err.startswith("massbargain: error: "), err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, (needle, err)
    return err


def help_text(command: str, capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    return capsys.readouterr().out


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        status = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse's own errors exit from parse_args
        status = exc.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def fake_run(path: Path) -> Path:
    """A run directory as train writes it, without training: config.yaml (and no model yet)."""
    path.mkdir(parents=True)
    info = {"config": TrainConfig.default().to_dict(), "scenario": Scenario.preset("baseline").to_dict()}
    (path / "config.yaml").write_text(yaml.safe_dump(info))
    return path


@pytest.fixture(scope="module")
def tiny_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cfg") / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY))
    return path


# --- the boundary itself -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exc", "status", "text"),
    [
        (UserError("bad --out"), 2, "bad --out"),
        (ScenarioError("unknown preset 'x'"), 2, "unknown preset 'x'"),
        (MissingExtra("massbargain train needs the train extra"), 2, "needs the train extra"),
        (FileNotFoundError("run directory 'x' does not exist"), 2, "run directory 'x' does not exist"),
        (FileNotFoundError(2, "No such file or directory", b"/runs/x/metrics.json"), 1, "directory: '/runs/x/metrics"),
        (PermissionError(13, "Permission denied", "/runs/x"), 1, "Permission denied: '/runs/x'"),
        (OSError(28, "No space left on device"), 1, "No space left on device"),
        (ConnectionError("refused"), 1, "connection failed: refused"),
        (RunError("cannot reach the Ray cluster"), 1, "cannot reach the Ray cluster"),
        (UserError("line one\nline two"), 2, "line one line two"),
    ],
)
def test_expected_failures_map_to_a_status_and_one_line(exc, status, text):
    got = expected_failure(exc)
    assert got is not None and got[0] == status and text in got[1] and "\n" not in got[1]


def test_a_bug_keeps_its_traceback(monkeypatch):
    assert expected_failure(ValueError("a bug")) is None
    assert expected_failure(KeyError("a bug")) is None

    def boom(_args):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(cli_main, "_cmd_baselines", boom)
    with pytest.raises(ZeroDivisionError):
        main(["baselines"])


def test_debug_shows_the_traceback_and_still_the_one_line(tmp_path, capsys, monkeypatch):
    for argv in (["--debug", "evaluate", tmp_path / "none"], ["evaluate", tmp_path / "none", "--debug"]):
        status, _, err = run(argv, capsys)
        assert status == 2 and "Traceback (most recent call last)" in err
        assert err.strip().splitlines()[-1].startswith("massbargain: error: run directory")
    monkeypatch.setenv("MASSBARGAIN_DEBUG", "1")
    status, _, err = run(["evaluate", tmp_path / "none"], capsys)
    assert status == 2 and "Traceback" in err
    monkeypatch.setenv("MASSBARGAIN_DEBUG", "0")
    status, _, err = run(["evaluate", tmp_path / "none"], capsys)
    one_line(err, 2, status, "does not exist")


def test_argparse_errors_are_one_line_too(capsys):
    status, _, err = run(["facts", "--episodes", "0"], capsys)  # issue: facts --episodes 0 was a ValueError
    one_line(err, 2, status, "argument --episodes: expected a positive whole number", "'massbargain facts --help'")
    status, _, err = run(["train"], capsys)
    one_line(err, 2, status, "the following arguments are required: --out")


# --- nothing overwritten silently -----------------------------------------------------------------------


def test_a_mode_map_folder_refuses_another_configuration(tmp_path, capsys):
    """Issue: the quick map into runs/mode-map, then the full map into the same folder, replaced it silently."""
    from massbargain.experiments.maps.mode_map import MAP_KIND, ModeMapConfig

    out = prepare_output_dir(
        tmp_path / "mode-map", ModeMapConfig.default(quick=True).identity(), resume=True, overwrite=False,
        what=MAP_KIND, log=None,
    )  # fmt: skip
    (out / "results.csv").write_text("the quick map\n")
    status, _, err = run(["mode-map", "--out", out], capsys)
    one_line(err, 2, status, "holds a mode map of another configuration (recklessness: [0.05, 0.8] there")
    assert "choose another --out, or pass --overwrite to move the old contents to" in err
    assert (out / "results.csv").read_text() == "the quick map\n"


def test_a_sweep_folder_refuses_another_spec_and_overwrite_moves_it_aside(tmp_path, capsys):
    """Issue: a sweep rerun into its --out with another spec replaced spec.yaml and results.csv."""
    spec = {"base": {"policy": "consent", "episodes": 20}, "grid": {"brokers.recklessness": [0.1, 0.9]}}
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first.write_text(yaml.safe_dump(spec))
    second.write_text(yaml.safe_dump({**spec, "grid": {"brokers.recklessness": [0.1, 0.5]}}))
    out = tmp_path / "sweep"
    common = ["--out", out, "--workers", "1", "--no-progress"]
    assert run(["sweep", first, *common], capsys)[0] == 0
    table = (out / "results.csv").read_text()
    status, _, err = run(["sweep", second, *common], capsys)
    one_line(err, 2, status, "holds a sweep of another configuration (grid.brokers.recklessness: [0.1, 0.9] there")
    assert (out / "results.csv").read_text() == table and made_by(out)["config"]["grid"]["brokers.recklessness"][
        1
    ] == 0.9
    assert run(["sweep", first, *common], capsys)[0] == 0  # the same spec: resumed (nothing to do)
    status, out_text, _ = run(["sweep", second, *common, "--overwrite"], capsys)
    assert status == 0 and f"moved the old contents of {out} to " in out_text
    (aside,) = [p for p in tmp_path.iterdir() if p.name.startswith("sweep.old-")]
    assert (aside / "results.csv").read_text() == table  # kept, not deleted
    assert made_by(out)["config"]["grid"]["brokers.recklessness"] == [0.1, 0.5]


def test_sweep_and_mode_map_help_offer_overwrite(capsys):
    for command in ("sweep", "mode-map", "train"):
        assert "--overwrite" in help_text(command, capsys)


# --- tracebacks that were -------------------------------------------------------------------------------


@needs_train
@pytest.mark.parametrize("which", ["best", "final"])
def test_a_corrupt_or_foreign_model_file_is_one_line(tmp_path, which):
    """Issue: evaluate on a run whose best_model.zip or model.zip is corrupt printed 31 lines."""
    run_dir = fake_run(tmp_path / "run")
    name = "best_model.zip" if which == "best" else "model.zip"
    if which == "best":
        (run_dir / name).write_bytes(b"this is not a zip file")  # damaged
    else:
        with zipfile.ZipFile(run_dir / name, "w") as z:  # a zip, but of another program
            z.writestr("photo.txt", "hello")
    result = cli("evaluate", str(run_dir), *([] if which == "best" else ["--model", "final"]))
    one_line(result.stderr, 2, result.returncode, f"{name}' is not a loadable model", "damaged, or not saved by")
    if which == "best":
        assert "(--model final)" in result.stderr


@needs_train
def test_train_out_in_a_folder_that_cannot_be_made(tmp_path, tiny_config, capsys):
    """Issue: train --out under an unwritable parent raised PermissionError. (A parent that is a file fails
    the same way for every user, root included.)"""
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    status, _, err = run(["train", "--config", tiny_config, "--timesteps", "256", "--out", a_file / "run"], capsys)
    one_line(err, 2, status, f"--out {str(a_file / 'run')!r} cannot be created: Not a directory")


@pytest.mark.skipif(AS_ROOT or os.name != "posix", reason="root writes into read-only folders")
@needs_train
def test_train_out_under_an_unwritable_parent(tmp_path, tiny_config, capsys):
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(0o500)
    try:
        status, _, err = run(["train", "--config", tiny_config, "--timesteps", "256", "--out", parent / "run"], capsys)
    finally:
        parent.chmod(0o700)
    one_line(err, 2, status, "cannot be created: Permission denied")


@pytest.mark.skipif(bool(missing("ray")), reason="needs the ray extra")
def test_an_unreachable_ray_cluster_fails_at_once(tmp_path, capsys):
    """Issue: sweep --backend ray --address to an unreachable head printed 66 lines (after minutes)."""
    with socket.socket() as s:  # a local port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump({"base": {"policy": "consent", "episodes": 20}}))
    argv = ["sweep", spec, "--out", tmp_path / "o", "--backend", "ray", "--address", f"127.0.0.1:{port}"]
    status, _, err = run([*argv, "--no-progress"], capsys)
    one_line(err, 1, status, f"cannot reach the Ray cluster at '127.0.0.1:{port}' (Connection refused)")


@needs_train
def test_a_run_directory_removed_during_training(tmp_path, tiny_config, capsys, monkeypatch):
    """Issue: a run directory deleted during training printed 'massbargain: error: 2'."""
    from massbargain.agents import train as train_mod

    original = train_mod._RunMonitor._on_step

    def remove_then_step(self):
        shutil.rmtree(self.run_dir, ignore_errors=True)
        return original(self)

    monkeypatch.setattr(train_mod._RunMonitor, "_on_step", remove_then_step)
    run_dir = tmp_path / "run"
    argv = ["train", "--config", tiny_config, "--timesteps", "1024", "--out", run_dir, "--no-progress"]
    status, _, err = run(argv, capsys)
    one_line(err, 1, status, f"the run directory {str(run_dir)!r} disappeared during training")


# --- misleading messages that were -------------------------------------------------------------------------


@needs_train
def test_evaluate_of_a_mode_map_folder_says_what_it_is(tmp_path, capsys):
    """Issue: evaluate runs/mode-map said the run 'has not saved a model yet'."""
    out = prepare_output_dir(tmp_path / "mode-map", {"seeds": 2}, resume=True, overwrite=False, what="mode map")
    (out / "config.yaml").write_text("seeds: 2\n")
    (out / "models").mkdir()
    status, _, err = run(["evaluate", out], capsys)
    one_line(err, 2, status, "holds a mode map, not a training run", "its trained models are in models/<run_id>/")


@needs_train
def test_evaluate_of_a_foreign_folder_and_a_stray_file(tmp_path, capsys):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "config.yaml").write_text("learning_rate: 0.1\n")
    status, _, err = run(["evaluate", foreign], capsys)
    one_line(err, 2, status, "is not a training run's configuration")
    (tmp_path / "notes.txt").write_text("")
    status, _, err = run(["evaluate", tmp_path / "notes.txt"], capsys)
    one_line(err, 2, status, "is a file; pass a run directory")
    (tmp_path / "loose.zip").write_bytes(b"")
    status, _, err = run(["evaluate", tmp_path / "loose.zip"], capsys)
    one_line(err, 2, status, "is not inside a run directory")


@pytest.mark.skipif(AS_ROOT or os.name != "posix", reason="root writes into read-only folders")
@needs_train
def test_an_existing_read_only_out_is_not_writable_not_uncreatable(tmp_path, capsys):
    """Issue: mode-map --out an existing read-only folder said it 'cannot be created'."""
    out = tmp_path / "ro"
    out.mkdir()
    out.chmod(0o500)
    try:
        status, _, err = run(["mode-map", "--quick", "--out", out], capsys)
    finally:
        out.chmod(0o700)
    one_line(err, 2, status, "is not writable: Permission denied")


def test_baselines_header_names_the_scenario_as_asked(tmp_path, capsys):
    """Issue: headers said "scenario 'baseline'" under --set overrides or an unnamed YAML scenario."""
    status, out, _ = run(["baselines", "--episodes", "20", "--set", "brokers.recklessness=0.9"], capsys)
    assert status == 0 and out.startswith("baseline with brokers.recklessness=0.9: 20 episodes per baseline")
    mine = tmp_path / "my_county.yaml"
    mine.write_text("utility:\n  stakes: 0.3\n")
    status, out, _ = run(["baselines", "--episodes", "20", "--scenario", mine], capsys)
    assert status == 0 and out.startswith(f"{mine}: 20 episodes per baseline")
    status, out, _ = run(["baselines", "--episodes", "20", "--scenario", "daye", "--json"], capsys)
    assert status == 0 and list(json.loads(out)["scenarios"]) == ["daye"]


@needs_train
def test_a_set_typo_is_a_short_suggestion(tmp_path, capsys):
    """Issue: a typo in the README's own --set example printed a ~2,500-character line."""
    status, _, err = run(["train", "--set", "brokers.recklesness=0.9", "--out", tmp_path / "x"], capsys)
    one_line(err, 2, status, "unknown scenario key 'brokers.recklesness'; did you mean 'brokers.recklessness'?")
    assert len(err) < 120 and not (tmp_path / "x").exists()


# --- --n-envs, 1e5, the umask, the verdict -----------------------------------------------------------------


@needs_train
def test_any_n_envs_with_the_nearest_batch_size_and_1e3_timesteps(tmp_path, capsys):
    """Issue: --n-envs worked only for multiples of 16; --timesteps 1e5 was refused."""
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({k: v for k, v in TINY.items() if k not in ("batch_size", "n_steps", "n_envs")}))
    run_dir = tmp_path / "run"
    old = os.umask(0o002)  # a shared-group umask: results must come out group-writable, not 0600
    try:
        argv = ["train", "--config", config, "--n-envs", "10", "--timesteps", "1e3", "--out", run_dir]
        status, out, err = run([*argv, "--no-progress"], capsys)
    finally:
        os.umask(old)
    assert status == 0, err
    assert "note: batch_size 256 does not divide the rollout (16 steps x 10 envs = 160); using batch_size 160" in out
    stored = yaml.safe_load((run_dir / "config.yaml").read_text())["config"]
    assert (stored["n_envs"], stored["batch_size"], stored["timesteps"]) == (10, 160, 1000)
    # Issue: files of a run were created mode 0600 whatever the umask.
    for name in ("config.yaml", "metrics.json", "model.zip", "best_model.zip", "made_by.yaml"):
        assert stat.S_IMODE((run_dir / name).stat().st_mode) == 0o664, name
    # Issue: train ended without a word when the agent trailed the best scripted baseline.
    metrics = json.loads((run_dir / "metrics.json").read_text())
    best, scripted = metrics["best"]["mean_return"], metrics["best_scripted"]
    assert scripted["mean_return"] == max(scripted["returns"].values()) and "random" not in scripted["returns"]
    verdict = [line for line in out.splitlines() if line.startswith("verdict: ")]
    assert len(verdict) == 1 and f"{scripted['name']}" in verdict[0] and f"{best:+.3f}" in verdict[0]
    if best <= scripted["mean_return"]:
        assert "trails the best scripted baseline" in verdict[0] and "Try another --seed" in verdict[0]
    else:
        assert "is above the best scripted baseline" in verdict[0]
    # A batch_size given on purpose is not changed: the error says how to fix it.
    config.write_text(yaml.safe_dump({**TINY, "n_steps": 16, "batch_size": 256}))
    status, _, err = run(["train", "--config", config, "--n-envs", "10", "--out", tmp_path / "other"], capsys)
    one_line(err, 2, status, "batch_size (256) must divide", "batch_size 160 would, or n_envs a multiple of 16")


@needs_train
def test_the_verdict_says_what_to_try_when_the_agent_trails():
    from massbargain.agents.train import verdict

    config = TrainConfig.default()
    scripted = {"name": "consent", "mean_return": 0.18}
    line = verdict({"mean_return": 0.05, "passive_share": 1.0}, scripted, config)
    assert line.startswith("verdict: the agent trails the best scripted baseline: best model +0.050 vs consent +0.180")
    assert "collapsed to waiting (100% of episodes passive)" in line and "--timesteps (e.g. 2000000)" in line
    assert "collapsed" not in verdict({"mean_return": 0.05, "passive_share": 0.2}, scripted, config)
    assert "is above" in verdict({"mean_return": 0.3, "passive_share": 0.0}, scripted, config)


@pytest.mark.parametrize("text", ["1e5", "100000", "100_000", "1.0e5"])
def test_counts_accept_scientific_notation(text):
    args = build_parser().parse_args(["baselines", "--episodes", text, "--seed", "1e1"])
    assert args.episodes == 100_000 and args.seed == 10


@pytest.mark.parametrize("text", ["1.5", "0", "-3", "1e-1", "many", "inf"])
def test_counts_refuse_what_is_not_a_positive_whole_number(text, capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["baselines", "--episodes", text])
    assert exit_info.value.code == 2
    one_line(capsys.readouterr().err, 2, 2, "expected a positive whole number")


# --- version, python -m, cosmetics ---------------------------------------------------------------------


def test_version_and_python_dash_m(capsys):
    import massbargain

    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith(f"massbargain {massbargain.__version__} (Python ")
    result = subprocess.run(
        [sys.executable, "-m", "massbargain", "--version"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0 and result.stdout.startswith(f"massbargain {massbargain.__version__}")


def test_help_texts_say_95_percent_and_give_examples(capsys):
    for name in COMMANDS:
        text = help_text(name, capsys)
        assert "%%" not in text, name
        assert "examples:" in text, name  # facts and bench had neither description nor examples
    assert "95% confidence interval" in help_text("evaluate", capsys)


def test_the_quick_mode_maps_title_is_not_clipped():
    pd = pytest.importorskip("pandas")
    from massbargain.experiments.maps.mode_map_plots import plot_mode_map

    for stakes in ([0.15, 0.6], [0.15, 0.6, 0.9]):
        rows = [
            {"recklessness": r, "monitoring": m, "stakes": s, "consent_share": 0.5, "mobilized_share": 0.2}
            | {"none_share": 0.3, "mean_return": 0.1, "mode": "consent"}
            for r in (0.05, 0.8)
            for m in (0.0, 1.0)
            for s in stakes
        ]
        fig = plot_mode_map(pd.DataFrame(rows))
        fig.canvas.draw()
        title = fig._suptitle
        box, page = title.get_window_extent(), fig.bbox
        assert page.x0 <= box.x0 and box.x1 <= page.x1, f"title clipped with {len(stakes)} stakes values"
        assert len(title.get_text().splitlines()) == (2 if len(stakes) == 2 else 1)  # the headline map: one line


def test_the_render_legend_leaves_the_action_labels_free():
    pytest.importorskip("matplotlib")
    import gymnasium as gym

    from massbargain import render

    env = gym.make("MassBargain-Changxing-v0", render_mode="rgb_array")
    env.reset(seed=0)
    for action in (2, 2, 3, 1, 1, 2):
        env.step(action)
    env.render()
    ax = render._figure.axes[0]
    legend, axes = ax.get_legend().get_window_extent(), ax.get_window_extent()
    assert legend.y1 <= axes.y0  # below the axes: over neither the curves nor the labels along the top
    env.close()
