"""The headline experiment: where do trained officials favour consent instability over mobilization?

``massbargain mode-map --out DIR`` (``--quick`` for a small budget) trains PPO officials over a grid of broker
recklessness ρ̄ (``brokers.recklessness``, the mean of the hidden per-episode ρ) × superior monitoring μ
(``superior.monitoring``) × stakes (``utility.stakes``) of the baseline scenario, certifies them, and writes::

    DIR/
      made_by.yaml          what made the folder: a mode map and its configuration (massbargain.agents.outdir)
      config.yaml           the resolved ModeMapConfig
      results.csv/.parquet  one row per (cell, seed), the attempt kept: modes, rates (concession, punishment,
                            Pyrrhic, riot), return, and the certification (agent, script, planner, bar)
      attempts.csv/.parquet every attempt, retrains included
      cells.csv/.parquet    one row per cell: seeds pooled, the references' modes and rates, ``certified``
      references.csv        per cell: the best script's and the planner's figures on the comparison episodes
      scripted.csv          the best family member of each mode per cell (chosen on other seeds)
      fast.csv, check.csv   with ``context_seeds``: the fast mode's context policies, and the comparison
      mode_map.png          the headline figure: consent − mobilized share, the modes of agents, best script
                            and planner, return, Pyrrhic share, uncertified cells
      heatmaps.png          one row per metric, one column per stakes value (and one PNG per metric)
      report.md             the answer in words drawn from the tables (mode_map_report.py)
      runs/, models/        the sweep's per-run records and trained models (rerun to resume)

It runs in two phases over :func:`massbargain.experiments.maps.sweep.run_sweep` (a local process pool, or
Ray), so an interrupted map resumes where it stopped, retrains included:

1. **References**, one run per cell (:func:`reference_task`): the best family member of each mode, and on the
   certification episodes the best member overall and the honest planner built on it
   (:mod:`massbargain.experiments.maps.certify`); where mass pressure pays, also the teacher planner's
   episodes (:mod:`massbargain.experiments.maps.teacher`).
2. **Agents**, one run per (cell, seed) (:func:`cell_task`): PPO with the recipe of
   :func:`massbargain.agents.train.train`, warm-started from a clone of the planner's episodes where mass
   pressure pays and of the cell's best member elsewhere (:mod:`massbargain.agents.warm_start`), evaluated
   on the cell's episodes and on the certification episodes.
   Agents below the certification bar are retrained (another seed, more steps) up to ``certify.retrains``
   times.

The same config gives the same tables. A folder holding another configuration's map (the quick map, say)
is refused, naming the keys that differ; ``--overwrite`` moves it aside first (:mod:`massbargain.agents.outdir`).
docs/MODE_MAP.md gives the reasons for every choice and the measured figures.
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
from massbargain.experiments.maps.certify import CertifyConfig
from massbargain.experiments.maps.teacher import (
    DEMONSTRATIONS_FILE,
    TeacherConfig,
    planner_demonstrations,
    teacher_demonstrations,
    teacher_seed,
    teaches,
)
from massbargain.scenario import LATEST_VERSION, MODEL_VERSIONS, Scenario, ScenarioError

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
#: Outcome rates the map reports beside the modes.
RATES = ("concession_rate", "punishment_rate", "pyrrhic_rate", "riot_rate")
#: TrainConfig fields the mode map sets itself (a config's ``train`` must leave them out).
SET_BY_MAP = ("scenario", "overrides", "out", "seed", "version", "warm_start")
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
        scripted_episodes: episodes per cell for the best scripted policy of each mode (chosen on other seeds).
        version: the model version of the scenario (1: v1, the current model; 0: v0).
        warm_start: start each cell's agents from that cell's best scripted member (behaviour cloning, then
            PPO; :mod:`massbargain.agents.warm_start`); false: from SB3's random initialization.
        certify: fields of :class:`massbargain.experiments.maps.certify.CertifyConfig` (ratio, tolerance,
            episodes, retrains, steps_factor, planner).
        teacher: fields of :class:`massbargain.experiments.maps.teacher.TeacherConfig`: where the agents clone
            the honest planner's episodes instead of the best member (with ``warm_start``), and how.
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
            "timesteps": 50_000,
            "n_epochs": 5,
            "learning_rate": 0.0001,
            "learning_rate_final": 0.0001,
            "ent_coef": 0.003,
            "ent_coef_final": 0.0003,
            "accept_warmup": 0,
            "warm_start_episodes": 500,
            "eval_freq": 1_000_000_000,
            "eval_episodes": 200,
            "checkpoint_freq": 1_000_000_000,
        }
    )
    context_seeds: tuple[int, ...] = ()
    context_train: Mapping[str, Any] = field(default_factory=lambda: {"timesteps": 400_000, "n_epochs": 5})
    scripted_episodes: int = 400
    version: int = LATEST_VERSION
    warm_start: bool = True
    certify: Mapping[str, Any] = field(default_factory=lambda: {"retrains": 1, "steps_factor": 3.0})
    teacher: Mapping[str, Any] = field(default_factory=dict)
    workers: int = 2

    def __post_init__(self) -> None:
        if isinstance(self.version, bool) or self.version not in MODEL_VERSIONS:
            raise UserError(f"version must be one of {', '.join(map(str, MODEL_VERSIONS))}, got {self.version!r}")
        if not isinstance(self.warm_start, bool):
            raise UserError(f"warm_start must be true or false, got {self.warm_start!r}")
        if not isinstance(self.certify, Mapping):
            raise UserError(f"certify must be a mapping of certification fields, got {self.certify!r}")
        object.__setattr__(self, "certify", dataclasses.asdict(CertifyConfig.from_mapping(self.certify)))
        if not isinstance(self.teacher, Mapping):
            raise UserError(f"teacher must be a mapping of teacher fields, got {self.teacher!r}")
        object.__setattr__(self, "teacher", dataclasses.asdict(TeacherConfig.from_mapping(self.teacher)))
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
            bad = [k for k in value if k in SET_BY_MAP]
            if bad:
                raise UserError(f"{name}: {bad[0]!r} is set by the mode map; leave it out")
            self.train_config(name)  # validates (ConfigError names the field)
        try:
            Scenario.resolve(self.scenario, version=self.version)
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
        return TrainConfig.default().replace(progress_bar=False, version=self.version, **dict(getattr(self, which)))

    def cells(self) -> list[tuple[float, float, float]]:
        """Every (recklessness, monitoring, stakes) of the grid, stakes outermost, monitoring fastest."""
        return [(r, m, s) for s in self.stakes for r in self.recklessness for m in self.monitoring]

    def scenario_of(self, cell: Sequence[float]) -> Scenario:
        return Scenario.resolve(self.scenario, version=self.version).with_overrides(
            dict(zip(AXES.values(), cell, strict=True))
        )

    @property
    def certification(self) -> CertifyConfig:
        return CertifyConfig(**self.certify)

    @property
    def teaching(self) -> TeacherConfig:
        return TeacherConfig(**self.teacher)


# --- measuring a policy in a cell ----------------------------------------------------------------------


def batch_metrics(batch: Any, scenario: Scenario) -> dict[str, float]:
    """The figures of a batch of episodes in a cell: those of :func:`massbargain.agents.evaluation.summarize`,
    plus ``none_share`` (passive or official channels), ``pyrrhic_rate`` (a concession and a punishment in one
    episode), ``riot_rate`` (peak disorder at or above ``superior.veto_disorder``), ``accept_rate`` (episodes
    the official ended with ACCEPT) and ``days_<action>`` (share of days on each action)."""
    from massbargain.actions import Action, EndReason
    from massbargain.agents.evaluation import summarize

    out = summarize(batch)
    out["none_share"] = out["passive_share"] + out["official_channel_share"]
    out["pyrrhic_rate"] = float((batch.conceded & batch.punished).mean())
    out["riot_rate"] = float((batch.peak_disorder >= scenario.superior.veto_disorder).mean())
    out["accept_rate"] = float((batch.end_reason == EndReason.ACCEPTED).mean())
    days = batch.action_counts.sum(axis=0)
    for a in Action:
        out[f"days_{a.name.lower()}"] = float(days[a] / max(days.sum(), 1))
    return {k: v for k, v in out.items() if k != "episodes"}


def cell_metrics(policy: Any, scenario: Scenario, episodes: int, seed: int) -> dict[str, float]:
    """What ``policy`` does and gets in ``scenario`` on ``episodes`` episodes of ``seed``
    (:func:`batch_metrics`)."""
    from massbargain.rollout import run_episodes

    reset = getattr(policy, "reset", None)
    if callable(reset):
        reset(seed=seed)
    return batch_metrics(run_episodes(policy, scenario, episodes, seed), scenario)


def eval_seed(cell: Sequence[float]) -> int:
    """Seed of the evaluation episodes of a cell: every policy evaluated there meets the same episodes."""
    r, m, st = (round(1000 * float(v)) for v in cell)
    return EVAL_SEED + 1_000_000 * r + 1000 * m + st


def _grid_config(config: Mapping[str, Any]) -> ModeMapConfig:
    """A ModeMapConfig holding just what one run needs (the rest at its defaults)."""
    keys = ("scenario", "recklessness", "monitoring", "stakes", "episodes", "scripted_episodes", "version", "certify")
    fields = {k: tuple(config[k]) if isinstance(config[k], list) else config[k] for k in keys if k in config}
    if "train" in config:
        fields["train" if config["kind"] == "cell" else "context_train"] = config["train"]
    return ModeMapConfig(**fields)


def _cell_row(cell: Sequence[float]) -> dict[str, float]:
    return dict(zip(AXES, (float(v) for v in cell), strict=True))


def reference_task(
    cfg: ModeMapConfig, cell: Sequence[float], teacher: Mapping[str, Any] | None = None, workdir: str | None = None
) -> dict[str, Any]:
    """A cell's references: the best family member of each mode (chosen on the choice seed, reported on the
    cell's evaluation episodes), the reference baselines the facts read, and, on the certification episodes
    (common luck), the best member overall and the honest planner built on the best members.

    With ``teacher`` (the map's :class:`~massbargain.experiments.maps.teacher.TeacherConfig` fields and the
    agents' ``gamma``) and a cell where the planner teaches, it also plays the teacher planner's episodes
    into ``workdir`` (:mod:`massbargain.experiments.maps.teacher`) and returns their digest."""
    from massbargain.agents import BASELINES
    from massbargain.agents.families import parse_member
    from massbargain.agents.planner import evaluate_planner, evaluate_policy, make_planner
    from massbargain.agents.planner.rules import ScriptedRule
    from massbargain.experiments.measures.choice import best_members, best_of, region

    scen = cfg.scenario_of(cell)
    seed = eval_seed(cell)
    bests = best_members(scen, seed, cfg.scripted_episodes)
    label = region(bests)
    top = best_of(bests, label)
    row = {**_cell_row(cell), "scripted_best": top.name, "scripted_mode": label, "scripted_return": top.mean_return}
    row.update({f"scripted_{m}_return": best_of(bests, m).mean_return for m in MODES})
    row.update({f"scripted_{m}_best": best_of(bests, m).name for m in MODES})
    for n in REFERENCE_BASELINES:
        figures = cell_metrics(BASELINES[n], scen, cfg.scripted_episodes, seed)
        row[f"{n}_punishment"] = figures["punishment_rate"]
        row[f"{n}_return"] = figures["mean_return"]
        row[f"{n}_return_ci95"] = figures["return_ci95"]
    cert = cfg.certification
    member = parse_member(top.name, days=scen.horizon.days)
    script = evaluate_policy(member, scen, cert.episodes, seed, common_luck=True)
    out: dict[str, Any] = {"row": row, "script_returns": script.returns.round(6).tolist()}
    out["script"] = batch_metrics(script, scen)
    ranked = sorted(MODES, key=lambda m: -best_of(bests, m).mean_return)[: cert.planner_bases]
    base_names = [best_of(bests, m).name for m in ranked]
    if cert.planner:
        started = time.perf_counter()
        bases = [parse_member(name, days=scen.horizon.days) for name in base_names]
        planner = make_planner("honest", scen, base_policies=[*bases, ScriptedRule(accept=True)])
        batch = evaluate_planner(planner, scen, cert.episodes, seed, common_luck=True)
        out["planner"] = batch_metrics(batch, scen)
        out["planner_returns"] = batch.returns.round(6).tolist()
        out["planner_seconds"] = round(time.perf_counter() - started, 2)
    if teacher is not None and teaches(TeacherConfig.from_spec(teacher), label):
        out["teacher"] = _teach(scen, base_names, teacher, teacher_seed(seed), workdir)
    return out


def _teach(scen: Scenario, bases: list[str], spec: Mapping[str, Any], seed: int, workdir: str | None) -> dict:
    """Play the teacher planner's episodes, save them in ``workdir`` and describe them for the agents' runs."""
    from massbargain.agents.warm_start import save_demonstrations

    started = time.perf_counter()
    demos = planner_demonstrations(scen, bases, TeacherConfig.from_spec(spec), seed, spec["gamma"])
    if workdir is not None:  # without a folder to keep them in, the agents' runs play them again
        save_demonstrations(demos, Path(workdir) / DEMONSTRATIONS_FILE)
    return {
        "digest": demos.digest(),
        "bases": bases,
        "seed": seed,
        "states": len(demos),
        "seconds": round(time.perf_counter() - started, 2),
    }


def cell_task(
    cfg: ModeMapConfig,
    cell: Sequence[float],
    seed: int,
    warm_start: str | None,
    workdir: str | None,
    teacher: Mapping[str, Any] | None = None,
) -> dict:
    """Train one (cell, seed) agent (from ``warm_start``, a family member, if given, or from the planner's
    demonstrations that ``teacher`` names) and measure it: on the cell's ``episodes`` evaluation episodes
    (the map's rates) and on the certification episodes (its returns, episode by episode, for the paired
    comparison with the references)."""
    import tempfile

    from massbargain.agents.loading import load_agent
    from massbargain.agents.planner import evaluate_policy
    from massbargain.agents.train import train

    started = time.perf_counter()
    scen = cfg.scenario_of(cell)
    overrides = dict(zip(AXES.values(), cell, strict=True))
    tc = cfg.train_config("train").replace(scenario=cfg.scenario, overrides=overrides, seed=seed)
    if warm_start is not None:
        tc = tc.replace(warm_start=warm_start, accept_warmup=0)
    with tempfile.TemporaryDirectory(prefix="massbargain-cell-") as tmp:
        if teacher is not None:
            demos = teacher_demonstrations(teacher, scen, workdir, tmp)
            fit = TeacherConfig.from_spec(teacher).train_fields()
            tc = tc.replace(warm_start=str(demos), accept_warmup=0, **fit)
        run_dir = Path(workdir) if workdir is not None else Path(tmp) / "run"
        train(tc.replace(out=str(run_dir)), log=None)
        seconds = time.perf_counter() - started
        agent = load_agent(run_dir, which="final", seed=seed)
        metrics = cell_metrics(agent, scen, cfg.episodes, eval_seed(cell))
        agent.reset(seed=seed)
        cert = evaluate_policy(agent, scen, cfg.certification.episodes, eval_seed(cell), common_luck=True)
    return {
        "row": {**_cell_row(cell), **metrics},
        "agent_returns": cert.returns.round(6).tolist(),
        "train_seconds": round(seconds, 2),
        "timesteps": tc.timesteps,
    }


def mode_map_task(config: Mapping[str, Any], seed: int, workdir: str | None = None) -> dict[str, Any]:
    """One run of the mode map (the sweep's ``fn``), by ``config["kind"]``:

    * ``reference``: a cell's best scripted members and planner (:func:`reference_task`);
    * ``cell``: train PPO on ``config["cell"]`` = (recklessness, monitoring, stakes) alone with ``seed``,
      warm-started from ``config["warm_start"]`` if set, and measure it there (:func:`cell_task`);
    * ``context``: train a context policy with ``seed`` on the whole grid and measure it in every cell.

    A run's config holds only what it depends on (scenario, the cell or the grid's axes, training fields,
    episodes), so that changing one part of a mode map does not redo the others.
    """
    cfg = _grid_config(config)
    kind = config["kind"]
    started = time.perf_counter()
    if kind == "reference":
        return reference_task(cfg, config["cell"], config.get("teacher"), workdir)
    if kind == "cell":
        return cell_task(cfg, config["cell"], seed, config.get("warm_start"), workdir, config.get("teacher"))
    if kind == "context":
        from massbargain.agents.loading import TrainedAgent
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
            rows.append({**_cell_row(cell), **metrics})
        return {"rows": rows, "train_seconds": round(seconds, 2)}
    raise ValueError(f"unknown mode-map task kind {kind!r}")


# --- the experiment ------------------------------------------------------------------------------------


def _reference_runs(cfg: ModeMapConfig) -> list[Any]:
    """Phase 1: context policies (the longest) and every cell's references."""
    from massbargain.experiments.maps.sweep import Run

    common = {"scenario": cfg.scenario, "version": cfg.version}
    grid = {**common, **{a: list(getattr(cfg, a)) for a in AXES}, "episodes": cfg.episodes}
    runs = [Run({"kind": "context", **grid, "train": dict(cfg.context_train)}, s) for s in cfg.context_seeds]
    ref = {"kind": "reference", **common, "scripted_episodes": cfg.scripted_episodes, "certify": dict(cfg.certify)}
    if cfg.warm_start and cfg.teaching.planner:
        ref["teacher"] = {**cfg.teacher, "gamma": cfg.train_config("train").gamma}
    return runs + [Run({**ref, "cell": list(c)}, 0) for c in cfg.cells()]


def _cell_run(
    cfg: ModeMapConfig,
    cell: Sequence[float],
    slot: int,
    attempt: int,
    warm_start: str | None,
    teacher: Mapping[str, Any] | None = None,
) -> Any:
    """The run of seed slot ``slot``'s ``attempt`` in ``cell`` (attempt k: another seed, steps_factor**k the
    steps), warm-started from the member ``warm_start`` or, with a ``teacher`` spec (:func:`_teacher_spec`),
    from the planner's demonstrations."""
    from massbargain.experiments.maps.certify import attempt_seed
    from massbargain.experiments.maps.sweep import Run

    train = dict(cfg.train)
    if attempt:
        steps = cfg.train_config("train").timesteps
        train["timesteps"] = int(round(steps * cfg.certification.steps_factor**attempt))
    config = {
        "kind": "cell",
        "scenario": cfg.scenario,
        "version": cfg.version,
        "episodes": cfg.episodes,
        "certify": dict(cfg.certify),
        "train": train,
        "cell": list(cell),
        "warm_start": warm_start,
        "slot": slot,
        "attempt": attempt,
    }
    if teacher is not None:
        config["teacher"] = dict(teacher)
    return Run(config, attempt_seed(slot, attempt))


def _teacher_spec(run: Any, metrics: Mapping[str, Any]) -> dict[str, Any] | None:
    """What an agent's run needs to find (or play again) its cell's planner demonstrations: the reference
    run's id and teacher config, and the demonstrations' digest, bases and seed; None where no planner
    teaches."""
    made = metrics.get("teacher")
    if made is None:
        return None
    keep = ("digest", "bases", "seed")
    return {**run.config["teacher"], **{k: made[k] for k in keep}, "reference": run.run_id}


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
    compare: str | os.PathLike | None = None,
    log: Any = print,
) -> dict[str, Any]:
    """Run the mode map into ``out`` (resuming it); write tables, figures and ``report.md``.

    The runner's options (``backend`` ... ``max_retries``) are those of
    :func:`massbargain.experiments.maps.sweep.run_sweep`. ``compare``: another mode map's folder (e.g. the
    same grid on model v0) whose cells the report compares with this map's, cell by cell.
    ``out`` must be empty, new, or hold this very configuration's map (which is resumed); ``overwrite``
    moves what it holds aside first (:func:`massbargain.agents.outdir.prepare_output_dir`).

    Returns ``{"results": DataFrame (cell, seed: the attempt kept), "attempts": DataFrame (every attempt),
    "cells": DataFrame (cell, seeds pooled, with the references), "references": DataFrame, "check": DataFrame,
    "scripted": DataFrame, "facts": list of fact rows, "seconds": wall time of this call}``.
    """
    import pandas as pd
    import yaml

    from massbargain.experiments.maps import sweep as sw

    say = log or (lambda *a, **k: None)
    started = time.perf_counter()
    prepare_output_dir(out, cfg.identity(), resume=True, overwrite=overwrite, what=MAP_KIND, log=say)
    out = sw.prepare_out(out)
    atomic_write_text(out / "config.yaml", yaml.safe_dump(cfg.to_dict(), sort_keys=False))
    n_workers = workers or cfg.workers
    cert = cfg.certification
    options = {
        "fn": mode_map_task,
        "backend": backend,
        "workers": n_workers,
        "address": address,
        "storage": storage,
        "resources": resources,
        "max_retries": max_retries,
        "progress": progress,
    }
    cells_list = [tuple(c) for c in cfg.cells()]
    say(
        f"mode map (model v{cfg.version}): {len(cells_list)} cells x {cfg.seeds} seeds of per-cell PPO "
        f"({cfg.train_config('train').timesteps} steps each"
        f"{_warm_text(cfg)}), certified against "
        f"the best script{' and the honest planner' if cert.planner else ''} on {cert.episodes} episodes "
        f"(retrains up to {cert.retrains}), {len(cfg.context_seeds)} context policies, {n_workers} workers; {out}"
    )
    # Phase 1: every cell's references (best scripts, planner) and the context policies.
    ref_runs = _reference_runs(cfg)
    ref_records = sw.run_sweep(ref_runs, out, desc="references", **options)
    references, fast_rows, teachers = {}, [], {}
    for run, rec in zip(ref_runs, ref_records, strict=True):
        if run.config["kind"] == "reference":
            cell = tuple(float(v) for v in run.config["cell"])
            references[cell] = rec["metrics"]
            teachers[cell] = _teacher_spec(run, rec["metrics"])
        else:
            fast_rows += [{**r, "seed": rec["seed"]} for r in rec["metrics"]["rows"]]
    warm = {c: references[c]["row"]["scripted_best"] if cfg.warm_start else None for c in cells_list}
    # Phase 2: the agents, then retrains of those not certified (another seed, more steps), up to the cap.
    pending = [_cell_run(cfg, c, slot, 0, warm[c], teachers[c]) for c in cells_list for slot in range(cfg.seeds)]
    attempts, records = [], []
    for attempt in range(cert.retrains + 1):
        found = sw.run_sweep(pending, out, desc=f"agents (attempt {attempt})" if attempt else "agents", **options)
        new = [_agent_row(run, rec, references, cert) for run, rec in zip(pending, found, strict=True)]
        attempts += new
        records += found
        failing = [r for r in new if not r["certified"]]
        if not failing or attempt == cert.retrains:
            break
        say(f"{len(failing)} of {len(new)} agents not certified: retraining them (attempt {attempt + 1})")
        pending = [
            _cell_run(cfg, _cell_of(r), r["seed"], attempt + 1, warm[_cell_of(r)], teachers[_cell_of(r)])
            for r in failing
        ]
    tables = _tables(cfg, attempts, references, fast_rows)
    for name in ("results", "attempts", "references"):
        sw.write_table(tables[name], out, name)
    scripted = tables["scripted"]
    atomic_write_text(out / "scripted.csv", scripted.to_csv(index=False))
    df, cells, fast = tables["results"], tables["cells"], tables["fast"]
    sw.write_table(cells, out, "cells")
    if not fast.empty:
        sw.write_table(fast, out, "fast")
    check = _check_table(df, fast) if not fast.empty else pd.DataFrame()
    atomic_write_text(out / "check.csv", check.to_csv(index=False))
    from massbargain.experiments.maps import mode_map_plots as mp
    from massbargain.experiments.maps import mode_map_report as mr

    facts = mr.facts(cfg, df, cells, scripted)
    figures = mp.write_figures(cells, out)
    seconds = time.perf_counter() - started
    report = mr.report(cfg, df, cells, check, scripted, facts, figures, seconds, records, tables["attempts"], compare)
    atomic_write_text(out / "report.md", report)
    say(f"done in {seconds:.0f} s: {out / 'report.md'}, {out / 'results.csv'}, {out / 'mode_map.png'}")
    return {
        "results": df,
        "cells": cells,
        "attempts": tables["attempts"],
        "references": tables["references"],
        "check": check,
        "scripted": scripted,
        "facts": facts,
        "seconds": seconds,
    }


def _warm_text(cfg: ModeMapConfig) -> str:
    if not cfg.warm_start:
        return ""
    if cfg.teaching.planner:
        return ", warm-started from the planner's episodes where mass pressure pays, else from the best script"
    return ", warm-started from each cell's best script"


def _cell_of(row: Mapping[str, Any]) -> tuple[float, float, float]:
    return tuple(float(row[a]) for a in AXES)


def _agent_row(run: Any, record: Mapping[str, Any], references: Mapping[tuple, Any], cert: CertifyConfig) -> dict:
    """One agent's table row: its metrics, its attempt, and its certification against its cell's references."""
    from massbargain.experiments.maps.certify import certified, paired_gap, reference_bar

    m = record["metrics"]
    cell = tuple(float(v) for v in run.config["cell"])
    ref = references[cell]
    agent = np.asarray(m["agent_returns"])
    script = np.asarray(ref["script_returns"])
    planner = np.asarray(ref["planner_returns"]) if "planner_returns" in ref else None
    row = {**m["row"], "seed": run.config["slot"], "attempt": run.config["attempt"], "train_seed": run.seed}
    row["timesteps"] = m["timesteps"]
    row["train_seconds"] = m["train_seconds"]
    row["warm_start"] = run.config["warm_start"] or ""
    row["teacher"] = "planner" if run.config.get("teacher") else "member" if run.config["warm_start"] else "none"
    row["cert_agent_return"] = float(agent.mean())
    row["cert_script_return"] = float(script.mean())
    row["cert_planner_return"] = float(planner.mean()) if planner is not None else float("nan")
    script_mean, planner_mean = float(script.mean()), None if planner is None else float(planner.mean())
    bar = reference_bar(script_mean, planner_mean, cert)
    row["cert_bar"] = bar
    row["certified"] = certified(float(agent.mean()), script_mean, planner_mean, cert)
    row["gap_script"], row["gap_script_ci95"] = paired_gap(agent, script)
    if planner is not None:
        row["gap_planner"], row["gap_planner_ci95"] = paired_gap(agent, planner)
    return row


def _tables(cfg: ModeMapConfig, attempts: list[dict], references: Mapping[tuple, Any], fast_rows: list) -> dict:
    """The map's tables: every attempt, the kept one per (cell, seed) (``results``), the references per cell,
    the scripted comparison (``scripted``), the pooled cells and the fast mode."""
    import pandas as pd

    from massbargain.experiments.maps.certify import choose_attempts

    axes = list(AXES)
    every = pd.DataFrame(attempts)
    every["mode"] = dominant_modes(every)
    kept = pd.DataFrame(choose_attempts(every.to_dict("records")))
    kept = kept.sort_values([*axes, "seed"], kind="stable").reset_index(drop=True)
    kept = kept[[*axes, "seed", *[c for c in kept.columns if c not in (*axes, "seed")]]]
    ref_rows = []
    for cell, ref in references.items():
        r = {**dict(zip(axes, cell, strict=True))}
        for who in ("script", "planner"):
            if who in ref:
                for k in ("mean_return", *[f"{m}_share" for m in MODES], *RATES):
                    r[f"{who}_{k}"] = ref[who][k]
                r[f"{who}_mode"] = MODES[int(np.argmax([ref[who][f"{m}_share"] for m in MODES]))]
        r["scripted_best"] = ref["row"]["scripted_best"]
        r["planner_seconds"] = ref.get("planner_seconds", float("nan"))
        taught = ref.get("teacher") or {}
        r["teacher_states"] = taught.get("states", 0)
        r["teacher_seconds"] = taught.get("seconds", 0.0)
        ref_rows.append(r)
    refs = pd.DataFrame(ref_rows).sort_values(axes, kind="stable").reset_index(drop=True)
    scripted = pd.DataFrame([ref["row"] for ref in references.values()]).sort_values(axes, kind="stable")
    scripted = scripted.reset_index(drop=True)
    kept = kept.merge(scripted[[*axes, "scripted_best", "scripted_mode", "scripted_return"]], on=axes, how="left")
    cells = _pool(kept)
    extra = [c for c in refs.columns if c.startswith(("planner_", "script_")) and c != "planner_seconds"]
    cells = cells.merge(refs[[*axes, *extra]], on=axes, how="left")
    cells["certified"] = kept.groupby(axes, sort=True)["certified"].all().to_numpy()
    fast = pd.DataFrame(fast_rows)
    if not fast.empty:
        fast["mode"] = dominant_modes(fast)
    return {"results": kept, "attempts": every, "references": refs, "scripted": scripted, "cells": cells, "fast": fast}


def _tcrit(n: int) -> float:
    """Two-sided 95% Student t quantile with n - 1 degrees of freedom (n >= 2)."""
    table = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}
    return table.get(n - 1, 1.96 + 2.5 / max(n - 1, 1))


def _pool(df: Any) -> Any:
    """One row per cell: means over seeds, the seeds' 95% interval of the return, mode agreement."""
    axes = list(AXES)
    skip = (*axes, "seed", "attempt", "train_seed", "certified")
    metrics = [c for c in df.select_dtypes("number").columns if c not in skip]
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
    names = ["scripted_best", "scripted_mode", *(["teacher"] if "teacher" in df else [])]
    cells = cells.merge(df.groupby(axes)[names].first().reset_index(), on=axes)
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


# --- command line ----------------------------------------------------------------------------------------

_EXAMPLES = """\
examples:
  massbargain mode-map --quick --out runs/mode-map-quick     # 12 cells x 2 seeds: ~3 min of 2 cores
  massbargain mode-map --out runs/mode-map                   # 36 cells x 3 seeds, certified: ~15 min of 2 cores
  massbargain mode-map --config my_grid.yaml --out runs/mine --workers 8
  massbargain mode-map --train-config runs/tune-map/best.yaml --out runs/mode-map-tuned  # a tuned recipe
  massbargain mode-map --env-version 0 --out runs/mode-map-v0                 # the same grid on model v0
  massbargain mode-map --out runs/mode-map --compare runs/mode-map-v0          # the report compares the two
  massbargain mode-map --out runs/mode-map --backend ray --address HEAD_IP:6379
  massbargain mode-map --out /shared/map --backend ray --address HEAD_IP:6379 --storage /shared  # see docs/CLUSTER.md

Rerun the same command to resume an interrupted map. Output: results.csv/.parquet (one row per cell and
seed), attempts.csv, cells.csv, references.csv, scripted.csv, mode_map.png, heatmaps.png (+ one PNG per
metric), report.md.
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
    p.add_argument("--quick", action="store_true", help="small budget (mode_map_quick.yaml): ~3 min of 2 cores")
    p.add_argument("--config", metavar="FILE.yaml", help="a mode-map config replacing the default")
    p.add_argument(
        "--train-config",
        metavar="FILE.yaml",
        help="TrainConfig fields over the per-cell runs' train settings (e.g. best.yaml of massbargain tune)",
    )
    p.add_argument(
        "--env-version",
        type=int,
        choices=MODEL_VERSIONS,
        help=f"model version of the scenario (default: the config's, {LATEST_VERSION}); e.g. 0 to redraw the v0 map",
    )
    p.add_argument(
        "--compare",
        metavar="DIR",
        help="another mode map's folder (e.g. the same grid with --env-version 0): the report compares the cells",
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
    if args.env_version is not None:
        cfg = cfg.replace(version=args.env_version)
    if args.compare is not None and not (Path(args.compare) / "cells.csv").is_file():
        raise UserError(
            f"--compare {args.compare!r} holds no mode map's cells.csv (run massbargain mode-map there first)"
        )
    check_output_dir(args.out, cfg.identity(), resume=True, overwrite=args.overwrite, what=MAP_KIND)
    with resumable(args.out):
        mode_map(cfg, args.out, overwrite=args.overwrite, compare=args.compare, **options)
    return 0
