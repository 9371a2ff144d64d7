"""The mode map: config validation, the context environment, a tiny end-to-end map with certification and
retraining, and a report drawn from data.

Budgets are tiny (a few hundred PPO steps from a random start): these tests check the pipeline and its
outputs, not learning. Agents that small are deliberately undertrained, so certification must flag most of
them and retrain them (issue 13).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from massbargain.agents.config import UserError
from massbargain.experiments.cli import main
from massbargain.experiments.maps.context import ContextEncoder, ContextEnv
from massbargain.experiments.maps.mode_map import (
    ModeMapConfig,
    _cell_run,
    dominant_modes,
    mode_map,
    mode_map_task,
)
from massbargain.experiments.maps.mode_map_report import _region_text
from massbargain.scenario import Scenario

TINY = ModeMapConfig(
    recklessness=(0.05, 0.8),
    monitoring=(0.0, 1.0),
    stakes=(0.1, 0.9),
    seeds=2,
    episodes=60,
    train={
        "timesteps": 512,
        "n_envs": 4,
        "n_steps": 64,
        "n_epochs": 1,
        "accept_warmup": 256,
        "eval_freq": 10**6,
        "eval_episodes": 20,
    },
    context_seeds=(0,),
    context_train={"timesteps": 1024, "n_envs": 4, "n_steps": 64, "n_epochs": 1, "accept_warmup": 256},
    scripted_episodes=40,
    warm_start=False,
    certify={"episodes": 30, "retrains": 1, "steps_factor": 2.0, "planner": True},
    workers=1,
)
REQUIRED = [
    "recklessness",
    "monitoring",
    "stakes",
    "seed",
    "consent_share",
    "mobilized_share",
    "concession_rate",
    "punishment_rate",
    "mean_return",
]


@pytest.fixture(scope="module")
def tiny_map(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("modemap") / "out"
    return out, mode_map(TINY, out, progress=False, log=None)


def test_tiny_mode_map_writes_table_figures_and_report(tiny_map: tuple[Path, dict]) -> None:
    out, result = tiny_map
    table = pd.read_parquet(out / "results.parquet")
    assert len(table) == 8 * 2  # one row per (cell, seed)
    assert set(table["seed"]) == {0, 1}
    assert list(table.columns[:4]) == ["recklessness", "monitoring", "stakes", "seed"]
    assert set(REQUIRED) <= set(table.columns)
    assert not table.duplicated(["recklessness", "monitoring", "stakes", "seed"]).any()
    shares = table[["none_share", "consent_share", "mobilized_share"]].sum(axis=1)
    assert shares.to_numpy() == pytest.approx(1.0)
    assert pd.read_csv(out / "results.csv").shape == table.shape
    for name in ("mode_map.png", "heatmaps.png", "heatmap_consent_minus_mobilized.png", "heatmap_mean_return.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    check = pd.read_csv(out / "check.csv")  # per-cell PPO beside the fast mode, every cell
    assert len(check) == 8 and set(check["fast_mode"]) <= {"none", "consent", "mobilized"}
    fast = pd.read_csv(out / "fast.csv")
    assert len(fast) == 8 and set(fast["seed"]) == {0}
    report = (out / "report.md").read_text()
    for heading in ("## Answer", "## How confident", "## Stylized facts 3, 4 and 5 by trained agents"):
        assert heading in report
    for fact in (3, 4, 5):
        assert f"\n| {fact} | " in report
    cells = result["cells"]
    counts = cells["mode"].value_counts()
    line = f"none {counts.get('none', 0)}, consent {counts.get('consent', 0)}, mobilized {counts.get('mobilized', 0)}."
    assert line in report  # the report's numbers are the table's
    agree = int((check["per_cell_mode"] == check["fast_mode"]).sum())
    assert f"the dominant mode agrees in {agree} of 8 cells" in report
    for col in ("pyrrhic_rate", "riot_rate", "certified", "cert_bar", "gap_planner", "attempt"):
        assert col in table.columns, col
    assert (table["pyrrhic_rate"] <= table[["concession_rate", "punishment_rate"]].min(axis=1) + 1e-12).all()
    refs = pd.read_csv(out / "references.csv")
    assert len(refs) == 8 and set(refs["planner_mode"]) <= {"none", "consent", "mobilized"}


def test_undertrained_agents_are_flagged_and_retrained(tiny_map: tuple[Path, dict]) -> None:
    """512 steps from a random start: certification flags the agents below the bar, each is retrained once
    with another seed and twice the steps, the table keeps the certified attempt where there is one, and the
    report's tally and list are the table's."""
    out, result = tiny_map
    every = pd.read_csv(out / "attempts.csv")
    first, second = every[every.attempt == 0], every[every.attempt == 1]
    assert len(first) == 16 and (~first["certified"]).sum() >= 4  # a random policy is not certified
    assert (first["certified"] == (first["cert_agent_return"] >= first["cert_bar"])).all()
    keys = ["recklessness", "monitoring", "stakes", "seed"]
    flagged = first[~first["certified"]][keys].apply(tuple, axis=1)
    assert sorted(second[keys].apply(tuple, axis=1)) == sorted(flagged)  # every flagged agent, only those
    assert (second["train_seed"] == second["seed"] + 1000).all()
    assert (second["timesteps"] == 2 * first["timesteps"].iloc[0]).all()
    kept = result["results"]
    assert len(kept) == 16
    for _, r in kept.iterrows():
        tries = every[(every[keys] == r[keys]).all(axis=1)]
        good = tries[tries["certified"]]
        assert r["attempt"] == (good["attempt"].min() if len(good) else tries["attempt"].max())
    report = (out / "report.md").read_text()
    cells = result["cells"]
    assert f"**{int(cells['certified'].sum())} of 8 cells certified** ({int(kept['certified'].sum())} of 16" in report
    assert f"{int((~first['certified']).sum())} were retrained" in report
    if (~kept["certified"]).any():
        assert "Agents still not certified" in report


def test_mode_map_resumes_and_is_reproducible(tiny_map: tuple[Path, dict]) -> None:
    out, first = tiny_map
    again = mode_map(TINY, out, progress=False, log=None)  # everything finished: only the tables are rebuilt
    pd.testing.assert_frame_equal(again["results"], first["results"])
    res = first["attempts"]
    old = res[(res.recklessness == 0.8) & (res.monitoring == 1.0) & (res.stakes == 0.9) & (res.seed == 1)].iloc[0]
    run = _cell_run(TINY, (0.8, 1.0, 0.9), 1, 0, None)
    fresh = mode_map_task(run.config, run.seed)["row"]  # (cell, seed 1)'s first attempt afresh, in this process
    for col in ("mean_return", "consent_share", "mobilized_share", "punishment_rate"):
        assert fresh[col] == pytest.approx(old[col], abs=1e-12), col


def test_a_map_interrupted_during_retrains_resumes_them_without_loss_or_duplication(
    tiny_map: tuple[Path, dict], tmp_path: Path
) -> None:
    """Ctrl-C while the tiny map retrains its uncertified agents, then a rerun: the finished runs (first
    attempts and retrains) are kept byte for byte, the unfinished retrains are run once, and the map equals the
    uninterrupted one."""
    _, whole = tiny_map
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(TINY.to_dict()))
    out = tmp_path / "out"
    args = ["mode-map", "--config", str(config), "--out", str(out), "--no-progress"]
    code = "import sys; from massbargain.experiments.cli import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.Popen([sys.executable, "-c", code, *args], start_new_session=True)

    def retrains() -> list[Path]:
        found = []
        for path in (out / "runs").glob("*.json"):
            try:
                if json.loads(path.read_text())["config"].get("attempt") == 1:
                    found.append(path)
            except (OSError, ValueError):  # not there yet, or a rename racing the read
                pass
        return found

    deadline = time.monotonic() + 300
    while not retrains() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: the whole process group
    assert proc.wait(timeout=60) == 130
    first = {p.name: p.read_text() for p in (out / "runs").glob("*.json")}
    n_retrains = int((~whole["attempts"].query("attempt == 0")["certified"]).sum())
    done = len(retrains())
    assert 1 <= done < n_retrains, "the interruption should fall among the retrains"
    assert not list((out / "runs").glob(".*"))  # no half-written record

    again = mode_map(TINY, out, progress=False, log=None)  # resume
    for name, text in first.items():  # finished runs, retrains included, were skipped, not redone
        assert (out / "runs" / name).read_text() == text
    attempts = again["attempts"]
    keys = ["recklessness", "monitoring", "stakes", "seed", "attempt"]
    assert not attempts.duplicated(keys).any() and len(attempts) == len(whole["attempts"])
    assert len(retrains()) == n_retrains
    columns = ["mean_return", "consent_share", "certified", "attempt", "cert_agent_return"]
    order = keys[:4]
    pd.testing.assert_frame_equal(
        again["results"].sort_values(order)[order + columns].reset_index(drop=True),
        whole["results"].sort_values(order)[order + columns].reset_index(drop=True),
    )


def test_a_map_folder_refuses_another_configuration(
    tiny_map: tuple[Path, dict], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 17: the quick map and the full map written to one folder replaced each other silently."""
    out, _ = tiny_map
    report = (out / "report.md").read_text()
    with pytest.raises(UserError, match=r"holds a mode map of another configuration \(seeds: 2 there, 3 here\)"):
        mode_map(TINY.replace(seeds=3), out, progress=False, log=None)
    assert main(["mode-map", "--quick", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    # Only the keys that differ are named (the recklessness axis is the same in both).
    head = f"massbargain: error: {str(out)!r} holds a mode map of another configuration (monitoring: [0.0, 1.0] there"
    assert err.startswith(head) and "recklessness" not in err
    assert "--overwrite" in err and err.count("\n") == 1
    assert (out / "report.md").read_text() == report  # nothing replaced
    assert TINY.replace(workers=2).identity() == TINY.identity()  # the workers do not change the results


def test_context_env_observes_the_drawn_cell() -> None:
    base = Scenario.preset("baseline")
    cells = [
        base.with_overrides({"brokers.recklessness": r, "superior.monitoring": m})
        for r in (0.1, 0.9)
        for m in (0.0, 0.5)
    ]
    enc = ContextEncoder(cells)
    env = ContextEnv(cells)
    assert env.observation_space.shape == (19 + 2 + 2 + 2 + 1,)
    seen = []
    for episode in range(12):
        obs, _ = env.reset(seed=100 + episode)
        assert env.observation_space.contains(obs)
        np.testing.assert_array_equal(obs[19:], enc(cells[env.cell]))
        assert obs[19] == pytest.approx(cells[env.cell].brokers.recklessness)
        obs, *_ = env.step(0)
        np.testing.assert_array_equal(obs[19:], enc(cells[env.cell]))
        seen.append(env.cell)
    assert len(set(seen)) > 1
    again = ContextEnv(cells)
    assert [again.reset(seed=100 + e)[0][19:].tolist() for e in range(12)] == [enc(cells[c]).tolist() for c in seen]
    with pytest.raises(ValueError, match="not on the grid"):
        enc(base.with_overrides({"brokers.recklessness": 0.3}))


def test_region_text_is_drawn_from_the_data() -> None:
    cfg = TINY
    rows = []
    for r, m, s in cfg.cells():
        mobilized = 0.9 if (r, m) == (0.05, 0.0) else 0.0
        consent = 0.0 if s == 0.1 else 1.0 - mobilized
        rows.append(
            {
                "recklessness": r,
                "monitoring": m,
                "stakes": s,
                "none_share": 1.0 - consent - mobilized,
                "consent_share": consent,
                "mobilized_share": mobilized,
                "concession_rate": 0.5,
                "punishment_rate": 0.25,
                "mean_return": 0.1,
            }
        )
    cells = pd.DataFrame(rows)
    cells["mode"] = dominant_modes(cells)
    assert (cells["mode"] == "mobilized").sum() == 2
    text = _region_text(cfg, cells, "mobilized")
    assert text.startswith("in 2 of 8 cells") and "S = 0.1: 1 of 4 cells (ρ̄ 0.05 at μ 0)" in text
    assert "punished in 25%" in text
    assert _region_text(cfg, cells.assign(mode="consent"), "none") == "in none of the 8 cells"


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"recklessness": (0.2, 1.5)}, ["recklessness", "[0, 1]", "1.5"]),
        ({"monitoring": (0.5, 0.1)}, ["monitoring must be increasing"]),
        ({"train": {"n_steps": 0}}, ["n_steps", "0"]),
        ({"context_train": {"learning_rate": -1}}, ["learning_rate", "-1"]),
        ({"context_train": {"seed": 3}}, ["context_train", "'seed' is set by the mode map"]),
        ({"seeds": 0}, ["seeds must be a whole number >= 1"]),
        ({"teacher": {"episodes": 0}}, ["teacher.episodes must be a whole number >= 1", "0"]),
        ({"teacher": {"particle": 8}}, ["teacher: unknown key 'particle'", "particles"]),
        ({"teacher": {"learning_rate": 2}}, ["teacher.learning_rate must be a number in (0, 1]"]),
        ({"certify": {"retrains": -1}}, ["certify.retrains must be a whole number >= 0"]),
    ],
)
def test_bad_config_names_the_field(changes: dict, words: list[str]) -> None:
    with pytest.raises(UserError) as err:
        TINY.replace(**changes)
    for w in words:
        assert w in str(err.value)


def test_cli_config_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("recklessnes: [0.1]\n")
    assert main(["mode-map", "--config", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "unknown mode-map key 'recklessnes'; did you mean 'recklessness'?" in err and err.count("\n") == 1
    assert main(["mode-map", "--quick", "--config", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert ModeMapConfig.default(quick=True).seeds >= 2 and ModeMapConfig.default().seeds >= 3


def test_dataclass_defaults_equal_mode_map_yaml() -> None:
    """``ModeMapConfig()`` and ``ModeMapConfig.default()`` (mode_map.yaml) describe the same experiment."""
    assert ModeMapConfig() == ModeMapConfig.default()
    quick = ModeMapConfig.default(quick=True)
    assert quick.train == ModeMapConfig().train  # the quick map trains its cells as the default one does


def test_compare_reads_another_maps_cells(tiny_map: tuple[Path, dict], tmp_path: Path) -> None:
    """``--compare DIR`` (e.g. the same grid on model v0): the report's section is the two tables' difference."""
    import yaml

    from massbargain.experiments.maps.mode_map_report import compare_lines

    _, result = tiny_map
    cells = result["cells"]
    other = cells.copy()
    flip = {"none": "consent", "consent": "mobilized", "mobilized": "none"}
    other.loc[:2, "mode"] = other.loc[:2, "mode"].map(flip)  # three cells change mode
    other["mean_return"] = other["mean_return"] - 0.1
    (tmp_path / "v0").mkdir()
    other.to_csv(tmp_path / "v0" / "cells.csv", index=False)
    (tmp_path / "v0" / "config.yaml").write_text(yaml.safe_dump({"version": 0}))
    text = "\n".join(compare_lines(cells, tmp_path / "v0"))
    assert "Against model v0 (`v0`) on the 8 cells both maps have" in text
    assert "the mode is the same in 5 cells" in text
    assert f"{cells['mean_return'].mean():+.3f} here, {other['mean_return'].mean():+.3f} there" in text
    assert text.count("\n| ") == 4  # the header and the three cells that moved
    with pytest.raises(UserError, match="holds no cells.csv"):
        compare_lines(cells, tmp_path)
    assert main(["mode-map", "--quick", "--out", str(tmp_path / "x"), "--compare", str(tmp_path)]) == 2


TAUGHT = TINY.replace(
    recklessness=(0.05,),
    monitoring=(0.0,),
    stakes=(0.1, 0.9),
    seeds=1,
    context_seeds=(),
    warm_start=True,
    certify={"episodes": 30, "retrains": 0, "planner": True},
    teacher={"episodes": 6, "particles": 4, "confirm_particles": 8, "epochs": 3, "batch_size": 64},
)


def test_the_planner_teaches_where_mass_pressure_pays(tmp_path: Path) -> None:
    """Where the best member is consent or mobilized, the cell's reference plays the teacher planner's episodes
    once into its folder and the agents clone that file (named by its digest in their configs); elsewhere they
    clone the member. The file can be played again, identically, where the folder is not at hand."""
    from massbargain.agents.warm_start import load_demonstrations
    from massbargain.experiments.maps.teacher import DEMONSTRATIONS_FILE, teacher_demonstrations

    out = tmp_path / "taught"
    result = mode_map(TAUGHT, out, progress=False, log=None)
    records = [json.loads(p.read_text()) for p in (out / "runs").glob("*.json")]
    refs = {tuple(r["config"]["cell"]): r for r in records if r["config"]["kind"] == "reference"}
    agents = {tuple(r["config"]["cell"]): r for r in records if r["config"]["kind"] == "cell"}
    scripted = result["scripted"].set_index(["recklessness", "monitoring", "stakes"])["scripted_mode"]
    taught = 0
    for cell, ref in refs.items():
        pays = scripted[cell] in ("consent", "mobilized")
        made, spec = ref["metrics"].get("teacher"), agents[cell]["config"].get("teacher")
        assert (made is not None) == pays == (spec is not None), cell
        row = result["results"].set_index(["recklessness", "monitoring", "stakes"]).loc[cell]
        assert row["teacher"] == ("planner" if pays else "member")
        if not pays:
            continue
        taught += 1
        path = out / "models" / ref["run_id"] / DEMONSTRATIONS_FILE
        demos = load_demonstrations(path)
        assert demos.digest() == made["digest"] == spec["digest"] and len(demos) == made["states"]
        assert spec["reference"] == ref["run_id"] and spec["episodes"] == 6
        metrics = json.loads((out / "models" / agents[cell]["run_id"] / "metrics.json").read_text())
        assert metrics["warm_start"]["digest"] == made["digest"]  # the agent cloned that very file
        assert metrics["warm_start"]["demonstrations"] == str(path)
        scen = TAUGHT.scenario_of(cell)
        again = teacher_demonstrations(spec, scen, None, str(tmp_path))  # no folder at hand: played again
        assert again == tmp_path / DEMONSTRATIONS_FILE and load_demonstrations(again).digest() == made["digest"]
        with pytest.raises(RuntimeError, match="came out different"):
            teacher_demonstrations({**spec, "digest": "0" * 16}, scen, None, str(tmp_path))
    assert taught >= 1  # ρ̄ 0.05, μ 0, S 0.9: mobilization pays (fact 1)
    assert "the teacher is the honest planner" in (out / "report.md").read_text()
    before = sorted(p.name for p in (out / "runs").glob("*.json"))
    again = mode_map(TAUGHT, out, progress=False, log=None)  # a rerun finds everything done: nothing runs twice
    assert sorted(p.name for p in (out / "runs").glob("*.json")) == before
    pd.testing.assert_frame_equal(again["results"], result["results"])
