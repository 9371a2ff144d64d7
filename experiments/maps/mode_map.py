"""The headline experiment: where do trained officials favour consent instability over mobilization?

``massbargain mode-map --out DIR`` (``--quick`` for a small budget) trains PPO officials over a grid of broker
recklessness ρ̄ (``brokers.recklessness``, the mean of the hidden per-episode ρ) × superior monitoring μ
(``superior.monitoring``) × stakes (``utility.stakes``) of the baseline scenario and writes::

    DIR/
      made_by.yaml          what made the folder: a mode map and its configuration (massbargain.agents.outdir)
      config.yaml           the resolved ModeMapConfig
      results.csv/.parquet  one row per (cell, seed): recklessness, monitoring, stakes, seed, consent_share,
                            mobilized_share, none_share, concession_rate, punishment_rate, mean_return, ...
      fast.csv/.parquet     the fast mode's context policies, one row per (cell, seed)
      check.csv             per cell: per-cell PPO beside the fast mode
      scripted.csv          the best scripted policy of each cell (the comparison column)
      mode_map.png          the headline figure: consent − mobilized share, dominant mode in each cell
      heatmaps.png          consent share, mobilized share, their difference, concession rate, punishment
                            rate and return, one column per stakes value (and one PNG per metric)
      report.md             the answer in words drawn from the table, facts 3, 4, 5, the check
      runs/, models/        the sweep's per-run records and trained models (rerun to resume)

**Per-cell PPO (the map).** Each (cell, seed) trains its own PPO agent with the recipe of
:func:`massbargain.agents.train.train` (the native vector env: about 10 s per 100k steps on one core) on
that cell alone, and its final model is evaluated there with the batched core (``episodes`` episodes, the
same episodes for every agent in the cell).

**Fast mode (the comparison).** ``context_seeds`` context-conditioned policies
(:mod:`massbargain.experiments.maps.context`) are trained once on the whole grid, each episode drawing a cell and
seeing it as input, and evaluated in every cell; ``check.csv`` and the report compare them with the per-cell
map cell by cell. docs/MODE_MAP.md says why the per-cell map, not the fast mode, is the default.

Everything runs through :func:`massbargain.experiments.maps.sweep.run_sweep` (a local process pool, or Ray), so an
interrupted mode map resumes where it stopped. The same config gives the same tables. A folder holding another
configuration's map (the quick map, say) is refused, naming the keys that differ; ``--overwrite`` moves it
aside first (:mod:`massbargain.agents.outdir`).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from massbargain import suggest
from massbargain.agents.config import TrainConfig, UserError
from massbargain.agents.outdir import atomic_write_text, check_output_dir, prepare_output_dir
from massbargain.scenario import Scenario, ScenarioError

__all__ = [
    "AXES",
    "ModeMapConfig",
    "add_parser",
    "cell_metrics",
    "dominant_modes",
    "mode_map",
    "mode_map_task",
    "run",
]

#: Grid axes: column name -> scenario key.
AXES = {"recklessness": "brokers.recklessness", "monitoring": "superior.monitoring", "stakes": "utility.stakes"}
#: Episode modes the report speaks of: "none" is passive or official channels (or an early ACCEPT).
MODES = ("none", "consent", "mobilized")
#: Scripted baselines whose punishment and return per cell the report's fact checks read (references, not
#: candidates for "best": the best scripted policy of a cell is the best family member, chosen on other seeds).
REFERENCE_BASELINES = ("mobilize", "mobilize_pacify", "consent")
#: Evaluation episodes of cell ``i`` use seed ``EVAL_SEED + i`` for every policy (common random numbers).
EVAL_SEED = 20_000
#: What a mode map's output folder holds, in its ``made_by.yaml``.
MAP_KIND = "mode map"


def _config_path(name: str) -> Path:
    return Path(str(resources.files("massbargain.experiments").joinpath("configs", name)))


def _unit_list(name: str, value: Any) -> tuple[float, ...]:
    if not isinstance(value, (list, tuple)) or not value:
        raise UserError(f"{name} must be a non-empty list of numbers in [0, 1], got {value!r}")
    out = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= float(v) <= 1.0:
            raise UserError(f"{name} must be a list of numbers in [0, 1], got {v!r} in {list(value)}")
        out.append(float(v))
    if sorted(set(out)) != out:
        raise UserError(f"{name} must be increasing without repeats, got {out}")
    return tuple(out)


@dataclass(frozen=True)
class ModeMapConfig:
    """What the mode map trains and evaluates (``experiments/configs/mode_map.yaml`` has the defaults).

    Attributes:
        scenario: preset (or scenario YAML) the grid's cells override.
        recklessness, monitoring, stakes: the grid's axis values (each in [0, 1], increasing).
        seeds: PPO runs per cell (seeds 0 .. seeds-1); one table row per (cell, seed).
        episodes: evaluation episodes per (cell, seed), the same episodes for every policy in a cell.
        train: TrainConfig fields of the per-cell runs (on top of ppo_default.yaml).
        context_seeds: seeds of the fast-mode context policies compared with the per-cell map (empty: none).
        context_train: TrainConfig fields of the context policies.
        scripted_episodes: episodes per cell for the best scripted policy.
        workers: parallel runs (the command's ``--workers`` overrides it).
    """

    scenario: str = "baseline"
    recklessness: tuple[float, ...] = (0.05, 0.3, 0.8)
    monitoring: tuple[float, ...] = (0.0, 0.2, 0.5, 1.0)
    stakes: tuple[float, ...] = (0.15, 0.6, 0.9)
    seeds: int = 3
    episodes: int = 1000
    train: Mapping[str, Any] = field(
        default_factory=lambda: {
            "timesteps": 150_000,
            "n_epochs": 5,
            "accept_warmup": 50_000,
            "eval_freq": 1_000_000_000,
            "eval_episodes": 200,
            "checkpoint_freq": 1_000_000_000,
        }
    )
    context_seeds: tuple[int, ...] = (0,)
    context_train: Mapping[str, Any] = field(default_factory=lambda: {"timesteps": 400_000, "n_epochs": 5})
    scripted_episodes: int = 400
    workers: int = 2

    def __post_init__(self) -> None:
        for name in AXES:
            object.__setattr__(self, name, _unit_list(name, getattr(self, name)))
        for name, lo in (("seeds", 1), ("episodes", 2), ("scripted_episodes", 2), ("workers", 1)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                raise UserError(f"{name} must be a whole number >= {lo}, got {v!r}")
        seeds = self.context_seeds
        if not isinstance(seeds, (list, tuple)) or not all(isinstance(x, int) and x >= 0 for x in seeds):
            raise UserError(f"context_seeds must be a list of seeds >= 0 (or empty), got {seeds!r}")
        object.__setattr__(self, "context_seeds", tuple(seeds))
        for name in ("train", "context_train"):
            value = getattr(self, name)
            if not isinstance(value, Mapping):
                raise UserError(f"{name} must be a mapping of training fields, got {value!r}")
            bad = [k for k in value if k in ("scenario", "overrides", "out", "seed")]
            if bad:
                raise UserError(f"{name}: {bad[0]!r} is set by the mode map; leave it out")
            self.train_config(name)  # validates (ConfigError names the field)
        try:
            Scenario.resolve(self.scenario)
        except ScenarioError as exc:
            raise UserError(f"scenario: {exc}") from None

    # --- construction ---------------------------------------------------------------------------------
    @classmethod
    def from_yaml(cls, path: str | os.PathLike) -> ModeMapConfig:
        """Load a config from YAML (unknown keys refused with the list of valid ones)."""
        import yaml

        path = Path(path)
        if not path.is_file():
            raise UserError(f"mode-map config {str(path)!r} does not exist")
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise UserError(f"mode-map config {str(path)!r} is not valid YAML: {exc}") from None
        if not isinstance(data, Mapping):
            raise UserError(f"{path}: must be a mapping of fields")
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = [k for k in data if k not in names]
        if unknown:
            raise UserError(f"{path}: " + suggest.unknown("mode-map key", unknown[0], names))
        data = dict(data)
        if isinstance(data.get("context_seeds"), list):
            data["context_seeds"] = tuple(data["context_seeds"])
        try:
            return cls(**data)
        except UserError as exc:
            raise UserError(f"{path}: {exc}") from None

    @classmethod
    def default(cls, quick: bool = False) -> ModeMapConfig:
        """``mode_map.yaml`` (or ``mode_map_quick.yaml``) of ``massbargain.experiments/configs``."""
        return cls.from_yaml(_config_path("mode_map_quick.yaml" if quick else "mode_map.yaml"))

    def replace(self, **changes: Any) -> ModeMapConfig:
        return dataclasses.replace(self, **changes)

    def identity(self) -> dict[str, Any]:
        """What decides the map's results: every field but ``workers`` (a folder holds one identity)."""
        return {k: v for k, v in self.to_dict().items() if k != "workers"}

    def to_dict(self) -> dict[str, Any]:
        out = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, Mapping):
                v = dict(v)
            elif isinstance(v, tuple):
                v = [list(x) if isinstance(x, tuple) else x for x in v]
            out[f.name] = v
        return out

    # --- derived ----------------------------------------------------------------------------------------
    def train_config(self, which: str) -> TrainConfig:
        """The TrainConfig of the per-cell runs (``train``) or of the context policies (``context_train``)."""
        return TrainConfig.default().replace(progress_bar=False, **dict(getattr(self, which)))

    def cells(self) -> list[tuple[float, float, float]]:
        """Every (recklessness, monitoring, stakes) of the grid, stakes outermost, monitoring fastest."""
        return [(r, m, s) for s in self.stakes for r in self.recklessness for m in self.monitoring]

    def scenario_of(self, cell: Sequence[float]) -> Scenario:
        return Scenario.resolve(self.scenario).with_overrides(dict(zip(AXES.values(), cell, strict=True)))


# --- measuring a policy in a cell ----------------------------------------------------------------------


def cell_metrics(policy: Any, scenario: Scenario, episodes: int, seed: int) -> dict[str, float]:
    """What ``policy`` does and gets in ``scenario``: the figures of
    :func:`massbargain.agents.evaluation.summarize`, plus ``none_share`` (passive or official channels),
    ``accept_rate`` (episodes the official ended with ACCEPT) and ``days_<action>`` (share of days on each
    action)."""
    from massbargain.actions import Action, EndReason
    from massbargain.agents.evaluation import summarize
    from massbargain.rollout import run_episodes

    reset = getattr(policy, "reset", None)
    if callable(reset):
        reset(seed=seed)
    batch = run_episodes(policy, scenario, episodes, seed)
    out = summarize(batch)
    out["none_share"] = out["passive_share"] + out["official_channel_share"]
    out["accept_rate"] = float((batch.end_reason == EndReason.ACCEPTED).mean())
    days = batch.action_counts.sum(axis=0)
    for a in Action:
        out[f"days_{a.name.lower()}"] = float(days[a] / max(days.sum(), 1))
    return {k: v for k, v in out.items() if k != "episodes"}


def eval_seed(cell: Sequence[float]) -> int:
    """Seed of the evaluation episodes of a cell: every policy evaluated there meets the same episodes."""
    r, m, st = (round(1000 * float(v)) for v in cell)
    return EVAL_SEED + 1_000_000 * r + 1000 * m + st


def _grid_config(config: Mapping[str, Any]) -> ModeMapConfig:
    """A ModeMapConfig holding just what one run needs (the rest at its defaults)."""
    keys = ("scenario", "recklessness", "monitoring", "stakes", "episodes", "scripted_episodes")
    fields = {k: tuple(config[k]) if isinstance(config[k], list) else config[k] for k in keys if k in config}
    if "train" in config:
        fields["train" if config["kind"] == "cell" else "context_train"] = config["train"]
    return ModeMapConfig(**fields)


def mode_map_task(config: Mapping[str, Any], seed: int, workdir: str | None = None) -> dict[str, Any]:
    """One run of the mode map (the sweep's ``fn``), by ``config["kind"]``:

    * ``cell``: train PPO on ``config["cell"]`` = (recklessness, monitoring, stakes) alone with ``seed``
      (:func:`massbargain.agents.train.train`) and measure its final model there (:func:`cell_metrics`);
    * ``context``: train a context policy with ``seed`` on the whole grid and measure it in every cell;
    * ``scripted``: the best family member of each mode in every cell (chosen on other seeds), and the
      reference baselines of :data:`REFERENCE_BASELINES`.

    A run's config holds only what it depends on (scenario, the cell or the grid's axes, training fields,
    episodes), so that changing one part of a mode map does not redo the others.
    """
    from massbargain.agents.loading import TrainedAgent, load_agent

    cfg = _grid_config(config)
    kind = config["kind"]
    started = time.perf_counter()
    if kind == "cell":
        import tempfile

        from massbargain.agents.train import train

        cell = tuple(float(v) for v in config["cell"])
        scen = cfg.scenario_of(cell)
        overrides = dict(zip(AXES.values(), cell, strict=True))
        tc = cfg.train_config("train").replace(scenario=cfg.scenario, overrides=overrides, seed=seed)
        with tempfile.TemporaryDirectory(prefix="massbargain-cell-") as tmp:
            run_dir = Path(workdir) if workdir is not None else Path(tmp) / "run"
            train(tc.replace(out=str(run_dir)), log=None)
            seconds = time.perf_counter() - started
            agent = load_agent(run_dir, which="final", seed=seed)
            metrics = cell_metrics(agent, scen, cfg.episodes, eval_seed(cell))
        return {"row": {**dict(zip(AXES, cell, strict=True)), **metrics}, "train_seconds": round(seconds, 2)}
    if kind == "context":
        from massbargain.experiments.maps.context import ContextEncoder, ContextPolicy, save_model, train_context_policy

        cells = cfg.cells()
        scenarios = [cfg.scenario_of(c) for c in cells]
        model = train_context_policy(scenarios, cfg.train_config("context_train").replace(seed=seed))
        seconds = time.perf_counter() - started
        if workdir is not None:
            save_model(model, Path(workdir) / "model.zip")
        agent = TrainedAgent(model, name=f"context-{seed}", seed=seed)
        encode = ContextEncoder(scenarios)
        rows = []
        for cell, scen in zip(cells, scenarios, strict=True):
            metrics = cell_metrics(ContextPolicy(agent, encode(scen)), scen, cfg.episodes, eval_seed(cell))
            rows.append({**dict(zip(AXES, cell, strict=True)), **metrics})
        return {"rows": rows, "train_seconds": round(seconds, 2)}
    if kind == "scripted":
        from massbargain.agents import BASELINES
        from massbargain.experiments.measures.choice import best_members, best_of, region

        rows = []
        for cell in cfg.cells():
            scen = cfg.scenario_of(cell)
            # The best family member of each mode, chosen on the choice seed, reported on the cell's seed.
            bests = best_members(scen, eval_seed(cell), cfg.scripted_episodes)
            label = region(bests)
            top = best_of(bests, label)
            row = {**dict(zip(AXES, cell, strict=True)), "scripted_best": top.name, "scripted_mode": label}
            row["scripted_return"] = top.mean_return
            row.update({f"scripted_{m}_return": best_of(bests, m).mean_return for m in MODES})
            figures = {
                n: cell_metrics(BASELINES[n], scen, cfg.scripted_episodes, eval_seed(cell)) for n in REFERENCE_BASELINES
            }
            for n in REFERENCE_BASELINES:
                row[f"{n}_punishment"] = figures[n]["punishment_rate"]
                row[f"{n}_return"] = figures[n]["mean_return"]
                row[f"{n}_return_ci95"] = figures[n]["return_ci95"]
            rows.append(row)
        return {"rows": rows}
    raise ValueError(f"unknown mode-map task kind {kind!r}")


# --- the experiment ------------------------------------------------------------------------------------


def _runs(cfg: ModeMapConfig) -> list[Any]:
    """The sweep's runs: context policies first (the longest), then every (cell, seed), then the scripts."""
    from massbargain.experiments.maps.sweep import Run

    grid = {"scenario": cfg.scenario, **{a: list(getattr(cfg, a)) for a in AXES}, "episodes": cfg.episodes}
    runs = [Run({"kind": "context", **grid, "train": dict(cfg.context_train)}, s) for s in cfg.context_seeds]
    cell_base = {"kind": "cell", "scenario": cfg.scenario, "episodes": cfg.episodes, "train": dict(cfg.train)}
    runs += [Run({**cell_base, "cell": list(c)}, s) for c in cfg.cells() for s in range(cfg.seeds)]
    runs.append(Run({"kind": "scripted", **grid, "scripted_episodes": cfg.scripted_episodes}, 0))
    return runs


def dominant_modes(df: Any) -> Any:
    """The mode with the largest share (none, consent or mobilized) of each row of a table with
    ``none_share``, ``consent_share`` and ``mobilized_share``."""
    shares = df[[f"{m}_share" for m in MODES]].to_numpy()
    return np.array(MODES, dtype=object)[shares.argmax(axis=1)]


def mode_map(
    cfg: ModeMapConfig,
    out: str | os.PathLike,
    *,
    backend: str = "local",
    workers: int | None = None,
    address: str | None = None,
    storage: str | os.PathLike | None = None,
    resources: Mapping[str, float] | None = None,
    max_retries: int | None = None,
    progress: bool = True,
    overwrite: bool = False,
    log: Any = print,
) -> dict[str, Any]:
    """Run the mode map into ``out`` (resuming it); write tables, figures and ``report.md``.

    The runner's options (``backend`` ... ``max_retries``) are those of
    :func:`massbargain.experiments.maps.sweep.run_sweep`.
    ``out`` must be empty, new, or hold this very configuration's map (which is resumed); ``overwrite``
    moves what it holds aside first (:func:`massbargain.agents.outdir.prepare_output_dir`).

    Returns ``{"results": DataFrame (cell, seed), "cells": DataFrame (cell, seeds pooled), "check":
    DataFrame, "scripted": DataFrame, "facts": list of fact rows, "seconds": wall time of this call}``.
    """
    import pandas as pd
    import yaml

    from massbargain.experiments.maps import sweep as sw

    say = log or (lambda *a, **k: None)
    started = time.perf_counter()
    prepare_output_dir(out, cfg.identity(), resume=True, overwrite=overwrite, what=MAP_KIND, log=say)
    out = sw.prepare_out(out)
    atomic_write_text(out / "config.yaml", yaml.safe_dump(cfg.to_dict(), sort_keys=False))
    runs = _runs(cfg)
    n_workers = workers or cfg.workers
    say(
        f"mode map: {len(cfg.cells())} cells x {cfg.seeds} seeds of per-cell PPO "
        f"({cfg.train_config('train').timesteps} steps each), {len(cfg.context_seeds)} context policies "
        f"({cfg.train_config('context_train').timesteps} steps each), {n_workers} workers; {out}"
    )
    records = sw.run_sweep(
        runs,
        out,
        fn=mode_map_task,
        backend=backend,
        workers=n_workers,
        address=address,
        storage=storage,
        resources=resources,
        max_retries=max_retries,
        progress=progress,
        desc="runs",
    )
    results, fast_rows, scripted = [], [], None
    for run, rec in zip(runs, records, strict=True):
        kind = run.config["kind"]
        if kind == "cell":
            results.append({**rec["metrics"]["row"], "seed": rec["seed"]})
        elif kind == "context":
            fast_rows += [{**r, "seed": rec["seed"]} for r in rec["metrics"]["rows"]]
        else:
            scripted = pd.DataFrame(rec["metrics"]["rows"])
    df = pd.DataFrame(results)
    axes = list(AXES)
    df = df[[*axes, "seed", *[c for c in df.columns if c not in (*axes, "seed")]]]
    df["mode"] = dominant_modes(df)
    df = df.merge(scripted[[*axes, "scripted_best", "scripted_mode", "scripted_return"]], on=axes, how="left")
    sw.write_table(df, out, "results")
    scripted_path = out / "scripted.csv"
    atomic_write_text(scripted_path, scripted.to_csv(index=False))
    cells = _pool(df)
    fast = pd.DataFrame(fast_rows)
    if not fast.empty:
        fast["mode"] = dominant_modes(fast)
        sw.write_table(fast, out, "fast")
    check = _check_table(df, fast) if not fast.empty else pd.DataFrame()
    atomic_write_text(out / "check.csv", check.to_csv(index=False))
    facts = _facts(cfg, df, cells, scripted)
    from massbargain.experiments.maps import mode_map_plots as mp

    figures = mp.write_figures(cells, out)
    seconds = time.perf_counter() - started
    report = _report(cfg, df, cells, check, scripted, facts, figures, seconds, records)
    atomic_write_text(out / "report.md", report)
    say(f"done in {seconds:.0f} s: {out / 'report.md'}, {out / 'results.csv'}, {out / 'mode_map.png'}")
    return {"results": df, "cells": cells, "check": check, "scripted": scripted, "facts": facts, "seconds": seconds}


def _tcrit(n: int) -> float:
    """Two-sided 95% Student t quantile with n - 1 degrees of freedom (n >= 2)."""
    table = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}
    return table.get(n - 1, 1.96 + 2.5 / max(n - 1, 1))


def _pool(df: Any) -> Any:
    """One row per cell: means over seeds, the seeds' 95% interval of the return, mode agreement."""
    axes = list(AXES)
    metrics = [c for c in df.columns if c not in (*axes, "seed", "mode", "scripted_best", "scripted_mode")]
    g = df.groupby(axes, sort=True)
    cells = g[metrics].mean().reset_index()
    n = g.size().to_numpy()
    sd = g["mean_return"].std(ddof=1).fillna(0.0).to_numpy()
    cells["seeds"] = n
    cells["return_seed_ci95"] = np.where(n > 1, [_tcrit(k) for k in n] * sd / np.sqrt(np.maximum(n, 1)), np.nan)
    cells["mode"] = dominant_modes(cells)
    agree = g.apply(
        lambda x: float((x["mode"] == dominant_modes(x[[f"{m}_share" for m in MODES]].mean().to_frame().T)[0]).mean()),
        include_groups=False,
    )
    cells["mode_agreement"] = agree.to_numpy()
    best = df.loc[df.groupby(axes, sort=True)["mean_return"].idxmax()]
    cells["best_seed_mode"] = best["mode"].to_numpy()
    cells["best_seed_return"] = best["mean_return"].to_numpy()
    cells = cells.merge(df.groupby(axes)[["scripted_best", "scripted_mode"]].first().reset_index(), on=axes)
    return cells


def _check_table(df: Any, fast: Any) -> Any:
    """Per cell: the per-cell PPO runs (seeds pooled) beside the fast mode's context policies (seeds pooled)."""
    import pandas as pd

    axes = list(AXES)
    keep = [
        "mean_return",
        "consent_share",
        "mobilized_share",
        "none_share",
        "concession_rate",
        "punishment_rate",
    ]
    pc = df.groupby(axes)[keep].mean()
    cx = fast.groupby(axes)[keep].mean()
    table = pd.concat([pc.add_prefix("per_cell_"), cx.add_prefix("fast_")], axis=1).reset_index()
    table["per_cell_mode"] = dominant_modes(pc.reset_index())
    table["fast_mode"] = dominant_modes(cx.reindex(pc.index).reset_index())
    table["return_gap"] = table["fast_mean_return"] - table["per_cell_mean_return"]
    return table


# --- stylized facts 3, 4, 5 by trained agents ------------------------------------------------------------


def _facts(cfg: ModeMapConfig, df: Any, cells: Any, scripted: Any) -> list[dict[str, Any]]:
    """Facts 3, 4 and 5 of docs/MODEL.md measured on the trained agents (rows: claim, measured, criterion, holds)."""
    facts = []
    r_lo, r_hi = cfg.recklessness[0], cfg.recklessness[-1]
    s_hi = cfg.stakes[-1]
    mu_daye = min(cfg.monitoring, key=lambda m: abs(m - 0.6))

    # Fact 3: where brokers are reckless, mobilizing is punished and returns less; trained agents avoid it.
    at = cells[(cells.recklessness == r_hi) & (cells.monitoring == mu_daye) & (cells.stakes == s_hi)].iloc[0]
    sc = scripted[(scripted.recklessness == r_hi) & (scripted.monitoring == mu_daye) & (scripted.stakes == s_hi)].iloc[
        0
    ]
    lo = cells[(cells.recklessness == r_lo)]
    hi = cells[(cells.recklessness == r_hi)]
    mob_pun = max(sc["mobilize_punishment"], sc["mobilize_pacify_punishment"])
    mob_ret = max(sc["mobilize_return"], sc["mobilize_pacify_return"])
    ci = max(sc["mobilize_return_ci95"], sc["mobilize_pacify_return_ci95"])
    seed_ci = at["return_seed_ci95"] if np.isfinite(at["return_seed_ci95"]) else 0.0
    holds3 = (
        min(sc["mobilize_punishment"], sc["mobilize_pacify_punishment"]) >= 0.5
        and sc["consent_return"] - sc["consent_return_ci95"] > mob_ret + ci
        and at["mean_return"] + seed_ci >= sc["consent_return"] - sc["consent_return_ci95"]
        and at["mobilized_share"] <= 0.1
    )
    facts.append(
        {
            "fact": 3,
            "claim": "Mobilization backfires with reckless brokers: punishment is common and the return is below "
            "consent's.",
            "measured": f"ρ̄ = {r_hi}, μ = {mu_daye}, S = {s_hi}: mobilizing (scripted mobilize / mobilize_pacify) "
            f"is punished in {_pct(sc['mobilize_punishment'])} / {_pct(sc['mobilize_pacify_punishment'])} and "
            f"returns at best {mob_ret:+.3f}, scripted consent {sc['consent_return']:+.3f}; the trained agents "
            f"mobilize in {_pct(at['mobilized_share'])} of episodes, are punished in {_pct(at['punishment_rate'])} "
            f"and return {at['mean_return']:+.3f} (± {_num(seed_ci)} over seeds). Agents' mobilized share, grid "
            f"mean: ρ̄ = {r_lo}: {_pct(lo['mobilized_share'].mean())}, ρ̄ = {r_hi}: {_pct(hi['mobilized_share'].mean())}",
            "criterion": "both mobilization policies punished ≥ 50% and below consent by more than the intervals; "
            "the agents mobilize in ≤ 10% of episodes there and return at least consent's (within the intervals)",
            "holds": bool(holds3),
            "detail": {"mobilize_punishment": mob_pun},
        }
    )

    # Fact 4: mass pressure rises with stakes; at low stakes no mass pressure.
    by_s = cells.groupby("stakes")[["consent_share", "mobilized_share", "none_share"]].mean()
    mass = (by_s["consent_share"] + by_s["mobilized_share"]).to_numpy()
    low = cells[cells.stakes == cfg.stakes[0]]
    low_none = float((low["mode"] == "none").mean())
    rising = bool(np.all(np.diff(mass) >= -0.02)) and mass[-1] > mass[0]
    holds4 = rising and low_none >= 0.5
    facts.append(
        {
            "fact": 4,
            "claim": "The use of mass pressure rises with stakes; at low stakes the best policy is passive or "
            "official channels.",
            "measured": "share of episodes with mass pressure (consent or mobilized), grid mean: "
            + ", ".join(f"S={s}: {_pct(v)}" for s, v in zip(by_s.index, mass, strict=True))
            + f"; at S = {cfg.stakes[0]} no mass pressure is the agents' dominant mode in {_pct(low_none)} of cells",
            "criterion": "mass-pressure share rising with S (no drop > 2 points) and higher at the top than at the "
            "bottom; at the lowest S no mass pressure dominates in ≥ 50% of cells",
            "holds": bool(holds4),
        }
    )

    # Fact 5: along monitoring, mobilized -> consent -> none (at prudent brokers and middling stakes).
    s5 = min(cfg.stakes, key=lambda s: abs(s - 0.6))
    line = cells[(cells.recklessness == r_lo) & (cells.stakes == s5)].sort_values("monitoring")
    seq = list(line["mode"])
    order = {"mobilized": 0, "consent": 1, "none": 2}
    ranks = [order[m] for m in seq]
    holds5 = all(b >= a for a, b in zip(ranks, ranks[1:], strict=False)) and set(seq) == set(MODES)
    facts.append(
        {
            "fact": 5,
            "claim": "Higher monitoring μ moves the best policy from mobilization to consent, and at very high μ "
            "away from mass pressure altogether.",
            "measured": f"ρ̄ = {r_lo}, S = {s5}: agents' dominant mode "
            + ", ".join(f"μ={m}: {mode}" for m, mode in zip(line["monitoring"], seq, strict=True))
            + "; mobilized share "
            + ", ".join(f"{_pct(v)}" for v in line["mobilized_share"])
            + "; consent share "
            + ", ".join(f"{_pct(v)}" for v in line["consent_share"]),
            "criterion": "along μ the dominant mode runs mobilized → consent → none, each at least once, never back",
            "holds": bool(holds5),
            "partial": all(b >= a for a, b in zip(ranks, ranks[1:], strict=False)),
        }
    )
    return facts


# --- the report ----------------------------------------------------------------------------------------


def _pct(x: float) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{100 * x:.0f}%"


def _num(x: float, fmt: str = ".3f") -> str:
    return "n/a" if x is None or not np.isfinite(x) else format(x, fmt)


def _span(values: Sequence[float]) -> str:
    vals = sorted(set(float(v) for v in values))
    if not vals:
        return "nowhere"
    return f"{vals[0]:g}" if len(vals) == 1 else f"{vals[0]:g}–{vals[-1]:g}"


def _region_text(cfg: ModeMapConfig, cells: Any, mode: str) -> str:
    sub = cells[cells["mode"] == mode]
    n = len(cells)
    if sub.empty:
        return f"in none of the {n} cells"
    parts = []
    for s in cfg.stakes:
        at = sub[sub.stakes == s]
        if at.empty:
            continue
        where = "; ".join(f"ρ̄ {r:g} at μ {_span(g['monitoring'])}" for r, g in at.groupby("recklessness") if len(g))
        parts.append(f"S = {s:g}: {len(at)} of {len(cells[cells.stakes == s])} cells ({where})")
    outcome = (
        f"there the agents win a concession in {_pct(sub['concession_rate'].mean())} of episodes, are punished in "
        f"{_pct(sub['punishment_rate'].mean())}, and return {sub['mean_return'].mean():+.3f} on average "
        f"(cell range {sub['mean_return'].min():+.3f} to {sub['mean_return'].max():+.3f})"
    )
    return f"in {len(sub)} of {n} cells — " + "; ".join(parts) + f". {outcome}"


def _report(
    cfg: ModeMapConfig,
    df: Any,
    cells: Any,
    check: Any,
    scripted: Any,
    facts: list[dict[str, Any]],
    figures: Sequence[Path],
    seconds: float,
    records: Sequence[Mapping[str, Any]],
) -> str:
    ctx_t = cfg.train_config("context_train").timesteps
    cell_t = cfg.train_config("train").timesteps
    cell_secs = [r["metrics"]["train_seconds"] for r in records if r["config"]["kind"] == "cell"]
    ctx_secs = [r["metrics"]["train_seconds"] for r in records if r["config"]["kind"] == "context"]
    n_cells = len(cells)
    counts = cells["mode"].value_counts()
    lines = [
        "# Mode map: where do trained officials favour consent instability over mobilization?",
        "",
        f"Generated by `massbargain mode-map` from `results.csv` ({len(df)} rows: {n_cells} cells × {cfg.seeds} "
        f"seeds). Scenario `{cfg.scenario}`; grid: broker recklessness ρ̄ {list(cfg.recklessness)} × monitoring μ "
        f"{list(cfg.monitoring)} × stakes S {list(cfg.stakes)}. Every number below is read from the tables in this "
        "folder.",
        "",
        "## Method",
        "",
        f"Per cell and seed (seeds 0–{cfg.seeds - 1}), one PPO agent trained on that cell alone for {cell_t:,} steps "
        "(the recipe of `massbargain train`; mean "
        f"{np.mean(cell_secs) if cell_secs else float('nan'):.0f} s of training per run), its final model evaluated "
        f"there on {cfg.episodes} episodes (the same episodes for every agent in a cell; agents sample their "
        "actions, as they were trained). A cell's *dominant mode* is the most common episode mode of its agents: "
        "*none* (passive or official channels, including an early ACCEPT), *consent* (leak or tolerate, no "
        "brokers) or *mobilized* (brokers). Intervals: ± the 95% t-interval over seeds (training variation); each "
        f"(cell, seed) row also has its episode interval `return_ci95`. The whole run took {seconds:.0f} s of wall "
        "time (a resumed run counts only the resumed part).",
        "",
    ]
    if ctx_secs:
        lines += [
            f"Fast mode, for comparison (`fast.csv`): {len(ctx_secs)} context-conditioned PPO "
            f"{'policy' if len(ctx_secs) == 1 else 'policies'} (seeds "
            f"{list(cfg.context_seeds)}), each trained once for {ctx_t:,} steps ({np.mean(ctx_secs):.0f} s) with the "
            "cell drawn afresh every episode and given as input, then evaluated in every cell on the same episodes.",
            "",
        ]
    lines += [
        "## Answer",
        "",
        f"Dominant modes over the {n_cells} cells: none {counts.get('none', 0)}, consent {counts.get('consent', 0)}, "
        f"mobilized {counts.get('mobilized', 0)}.",
        "",
        f"- **No mass pressure pays** {_region_text(cfg, cells, 'none')}.",
        f"- **Consent instability dominates** {_region_text(cfg, cells, 'consent')}.",
        f"- **Mobilization dominates** {_region_text(cfg, cells, 'mobilized')}.",
        "",
    ]
    # How the trained agents play consent (what they actually do with their days), and early acceptance.
    cons = cells[cells["mode"] == "consent"]
    if not cons.empty:
        lines.append(
            f"Where consent dominates, the agents spend {_pct(cons['days_leak'].mean())} of their days leaking, "
            f"{_pct(cons['days_tolerate'].mean())} tolerating, {_pct(cons['days_petition'].mean())} petitioning "
            f"and {_pct(cons['days_wait'].mean())} waiting; episodes last {cons['mean_length'].mean():.1f} days on "
            "average."
        )
    lines.append(
        f"Early acceptance: agents end {_pct(cells['accept_rate'].mean())} of episodes with ACCEPT over the grid "
        f"(most in a cell: {_pct(cells['accept_rate'].max())})."
    )
    # Comparison with the scripted policies.
    same = float((cells["mode"] == cells["scripted_mode"]).mean())
    adv = (cells["mean_return"] - cells["scripted_return"]).to_numpy()
    sc_counts = scripted["scripted_mode"].value_counts()
    lines += [
        "",
        f"Beside the best scripted policy of each cell (the best member of the scripted families, chosen on other "
        f"episodes; {cfg.scripted_episodes} episodes reported, "
        f"`scripted.csv`): the scripted map has none {sc_counts.get('none', 0)}, "
        f"consent {sc_counts.get('consent', 0)}, "
        f"mobilized {sc_counts.get('mobilized', 0)} cells; the agents' dominant mode equals the scripted best mode in "
        f"{_pct(same)} of cells. The agents' return minus the best scripted return: mean {adv.mean():+.3f}, "
        f"from {adv.min():+.3f} to {adv.max():+.3f}; they beat the best script in {_pct(float((adv > 0).mean()))} of "
        "cells.",
        "",
        *_shortfall(cells, check),
        "## How confident",
        "",
        f"- Seeds agree on a cell's dominant mode in {_pct(float((cells['mode_agreement'] == 1).mean()))} of cells "
        f"(all {cfg.seeds} seeds the same); mean agreement {_pct(cells['mode_agreement'].mean())}.",
        f"- Return interval over seeds: median ± {_num(float(np.nanmedian(cells['return_seed_ci95'])))}, largest "
        f"± {_num(float(np.nanmax(cells['return_seed_ci95'])) if cells['return_seed_ci95'].notna().any() else np.nan)};"
        f" episode interval per (cell, seed): median ± {_num(float(df['return_ci95'].median()))}.",
        f"- Margin of the dominant mode (its share minus the runner-up's): median "
        f"{_pct(float(np.median(_margins(cells))))}; cells decided by less than 20 points: "
        f"{int((_margins(cells) < 0.2).sum())} of {n_cells}.",
    ]
    if not check.empty:
        same = check["per_cell_mode"] == check["fast_mode"]
        corr = float(np.corrcoef(check["per_cell_mean_return"], check["fast_mean_return"])[0, 1])
        lines += [
            f"- Fast mode against per-cell training, over all {len(check)} cells (`check.csv`): the dominant mode "
            f"agrees in {int(same.sum())} of {len(check)} cells; return gap (fast − per-cell) mean "
            f"{check['return_gap'].mean():+.3f}, from {check['return_gap'].min():+.3f} to "
            f"{check['return_gap'].max():+.3f}; correlation of the cells' returns {corr:.2f}. The fast mode's "
            f"dominant modes: " + ", ".join(f"{m} {int((check['fast_mode'] == m).sum())}" for m in MODES) + ".",
        ]
        if (~same).any():
            lines += [
                "",
                "Cells where the two disagree:",
                "",
                "| ρ̄ | μ | S | per-cell mode | fast mode | per-cell return | fast return "
                "| per-cell consent / mobilized | fast consent / mobilized |",
                "|---|---|---|---|---|---|---|---|---|",
            ]
            for _, r in check[~same].iterrows():
                lines.append(
                    f"| {r.recklessness:g} | {r.monitoring:g} | {r.stakes:g} | {r.per_cell_mode} | {r.fast_mode} | "
                    f"{r.per_cell_mean_return:+.3f} | {r.fast_mean_return:+.3f} | "
                    f"{_pct(r.per_cell_consent_share)} / {_pct(r.per_cell_mobilized_share)} | "
                    f"{_pct(r.fast_consent_share)} / {_pct(r.fast_mobilized_share)} |"
                )
    lines += [
        "",
        "## Stylized facts 3, 4 and 5 by trained agents",
        "",
        "| # | claim | measured | criterion | holds |",
        "|---|---|---|---|---|",
    ]
    for f in facts:
        holds = "yes" if f["holds"] else "no"
        lines.append(f"| {f['fact']} | {f['claim']} | {f['measured']} | {f['criterion']} | {holds} |")
    lines += [
        "",
        "## Figures",
        "",
        *[f"- [{p.name}]({p.name})" for p in figures],
        "",
        "![mode map](mode_map.png)",
        "",
    ]
    return "\n".join(lines)


def _shortfall(cells: Any, check: Any, tolerance: float = 0.05) -> list[str]:
    """Report lines on cells where another policy (the best scripted one, or the fast mode) returns more than
    the per-cell agents by over ``tolerance``: there the agents' mode is what training found, not the best."""
    other = cells["scripted_return"].to_numpy()
    source = np.where(np.isfinite(other), "best script", "")
    if not check.empty:
        fast = check.set_index(list(AXES)).reindex(pd_index(cells))["fast_mean_return"].to_numpy()
        use_fast = fast > np.nan_to_num(other, nan=-np.inf)
        other = np.where(use_fast, fast, other)
        source = np.where(use_fast, "fast mode", source)
    gap = other - cells["mean_return"].to_numpy()
    short = gap > tolerance
    lines = [""]
    if not short.any():
        lines += [
            f"In every cell the agents return within {tolerance} of the best other policy measured (the best script"
            + (" and the fast mode" if not check.empty else "")
            + "): the map shows what pays, as far as these policies can tell.",
            "",
        ]
        return lines
    n_best = int((cells["best_seed_mode"] != cells["mode"]).sum())
    lines += [
        f"**Where training falls short.** In {int(short.sum())} of {len(cells)} cells another policy returns more "
        f"than the agents by over {tolerance} (the agents' dominant mode there, and the better policy's return): "
        + "; ".join(
            f"ρ̄ {r.recklessness:g}, μ {r.monitoring:g}, S {r.stakes:g}: {r['mode']} {r.mean_return:+.3f} "
            f"vs {src} {o:+.3f}"
            for (_, r), o, src, k in zip(cells.iterrows(), other, source, short, strict=True)
            if k
        )
        + ". In these cells the dominant mode is what the agents learned in their budget, not necessarily what "
        f"pays best. Taking each cell's best seed instead of the seeds' shares changes the mode of {n_best} cells "
        f"(`best_seed_mode` in the pooled table). More `train.timesteps` or seeds narrow this.",
        "",
    ]
    return lines


def pd_index(cells: Any) -> Any:
    import pandas as pd

    return pd.MultiIndex.from_frame(cells[list(AXES)])


def _margins(cells: Any) -> np.ndarray:
    shares = np.sort(cells[[f"{m}_share" for m in MODES]].to_numpy(), axis=1)
    return shares[:, -1] - shares[:, -2]


# --- command line ----------------------------------------------------------------------------------------

_EXAMPLES = """\
examples:
  massbargain mode-map --quick --out runs/mode-map-quick     # about 2 minutes on 2 cores
  massbargain mode-map --out runs/mode-map                   # about 7 minutes on 2 cores
  massbargain mode-map --config my_grid.yaml --out runs/mine --workers 8
  massbargain mode-map --train-config runs/tune-map/best.yaml --out runs/mode-map-tuned  # a tuned recipe
  massbargain mode-map --out runs/mode-map --backend ray --address HEAD_IP:6379
  massbargain mode-map --out /shared/map --backend ray --address HEAD_IP:6379 --storage /shared  # see docs/CLUSTER.md

Rerun the same command to resume an interrupted map. Output: results.csv/.parquet (one row per cell and
seed), check.csv, scripted.csv, mode_map.png, heatmaps.png (+ one PNG per metric), report.md.
Defaults: experiments/configs/mode_map.yaml (--quick: mode_map_quick.yaml).
"""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``mode-map`` subcommand on an argparse ``subparsers`` object; :func:`run` executes it."""
    from massbargain.experiments.maps.sweep import add_runner_arguments

    p = subparsers.add_parser(
        "mode-map",
        help="the headline experiment: where trained agents favour consent over mobilization",
        description="Train PPO officials over broker recklessness x monitoring x stakes, evaluate them in every "
        "cell, and write the results table, heatmaps and a report.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", required=True, metavar="DIR", help="output directory (rerun with it to resume)")
    p.add_argument("--quick", action="store_true", help="small budget (mode_map_quick.yaml): about 2 minutes")
    p.add_argument("--config", metavar="FILE.yaml", help="a mode-map config replacing the default")
    p.add_argument(
        "--train-config",
        metavar="FILE.yaml",
        help="TrainConfig fields over the per-cell runs' train settings (e.g. best.yaml of massbargain tune)",
    )
    add_runner_arguments(p, workers_help="parallel runs (default: the config's workers)")
    p.set_defaults(func=run)
    return p


def _train_fields(path: str | os.PathLike) -> dict[str, Any]:
    """The TrainConfig fields of a YAML file (``--train-config``), validated (errors name the file and field)."""
    import yaml

    TrainConfig.from_yaml(path, base=TrainConfig.default())  # a missing file, bad YAML, a bad field or value
    data = yaml.safe_load(Path(path).read_text()) or {}
    bad = [k for k in data if k in ("scenario", "overrides", "out", "seed")]
    if bad:
        raise UserError(f"--train-config {str(path)!r}: {bad[0]!r} is set by the mode map; leave it out")
    return data


def run(args: argparse.Namespace) -> int:
    """Execute ``massbargain mode-map``."""
    if args.config and args.quick:
        raise UserError("--quick and --config exclude each other (--quick is the config mode_map_quick.yaml)")
    from massbargain.experiments.maps.sweep import resumable, runner_options
    from massbargain.extras import require

    require("train", "analysis", *(("ray",) if args.backend == "ray" else ()), what="massbargain mode-map")
    options = runner_options(args)
    cfg = ModeMapConfig.from_yaml(args.config) if args.config else ModeMapConfig.default(quick=args.quick)
    if args.train_config:
        cfg = cfg.replace(train={**cfg.train, **_train_fields(args.train_config)})
    check_output_dir(args.out, cfg.identity(), resume=True, overwrite=args.overwrite, what=MAP_KIND)
    with resumable(args.out):
        mode_map(cfg, args.out, overwrite=args.overwrite, **options)
    return 0
