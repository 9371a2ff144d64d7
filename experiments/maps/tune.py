"""``massbargain tune``: search the PPO recipe with Optuna for a scenario or a set of cells.

A *trial* trains PPO with one recipe (a point of the search space,
:data:`~massbargain.experiments.maps.tune_space.SPACE`) at a fixed step budget on every *unit* (each cell ×
each tuning seed, one after another) and scores it by the **mean final evaluation return** over the units:
the return of the model at the budget, on ``eval_episodes`` episodes with common luck (the periodic
evaluation of :func:`massbargain.agents.train.train`, seed ``EVAL_SEED + seed``). Searched: the learning
rate, the rollout (``n_steps``), the batch size, the epochs, the entropy schedule, the network, gamma and the
ACCEPT warm-up (:mod:`massbargain.experiments.maps.tune_space` has the ranges); the rest of the recipe is the
base config's (``experiments/configs/ppo_default.yaml``, or ``--config``).

The first trial of a new study is the base recipe itself (when it lies in the space), so the study's best
is never worse than the default on the tuning episodes. Sampling: TPE (seeded; the first third of the trials,
at most 10, random). **Pruning**: after every periodic evaluation the trial reports its mean return at step
``unit × 2 × budget + timesteps``, and the median rule (:class:`optuna.pruners.MedianPruner`) stops a trial
whose value there is below the median of earlier trials at the same step, once ``prune_startup`` trials have
finished and from half the first unit's budget on (earlier, the ACCEPT warm-up makes returns uninformative).

**Storage and resuming.** The study lives in an Optuna journal file (``OUT/journal.log``, or ``--journal``
elsewhere; no database server): rerunning with ``--resume`` continues it up to ``--trials`` finished
(complete or pruned) trials in total, never repeating a finished one. A trial cut short by Ctrl-C or a killed
process is marked failed on resume (if it ran on this machine) and a new one is drawn in its place. Several
machines may share one journal on a shared file system, each running the same command: each stops when the
study has ``--trials`` finished trials (a few more may finish, those in flight).

**Workers.** ``--workers N`` trials run at once, in local processes or, with ``--backend ray``, in Ray
tasks (the journal must then be on a file system the nodes share). With one worker the study is
reproducible: the same command gives the same trials.

**Output** (``OUT``)::

    config.yaml      the tune configuration (the study itself records the settings its trials depend on, and
                     refuses to continue with others)
    journal.log      the Optuna study (``optuna.load_study(study_name="massbargain-tune", storage=...)``)
    trials.csv       one row per trial: number, state, value, the point, the recipe, the units' returns
    best.yaml        the best recipe: TrainConfig fields for ``massbargain train --config`` and
                     ``massbargain mode-map --train-config``
    holdout/         the held-out comparison's runs (a sweep directory: resumable)
    holdout.json     best vs default on held-out seeds
    report.md        the study and the comparison in words

**Best vs default, held out** (:mod:`massbargain.experiments.maps.holdout`). The best and the base recipe
are trained again on ``holdout_seeds`` (training seeds the study never used) at the same budget, on every
cell, and their final models are evaluated on ``holdout_episodes`` episodes of evaluation seed
``holdout_eval_seed`` (not the tuning episodes), with common luck. Paired per training seed and episode: the
difference best − default per seed with a paired bootstrap interval over episodes, and its mean over seeds
with a 95% t-interval over seeds.

This module imports Optuna (the ``tune`` extra: ``pip install 'massbargain[tune]'``) only when it runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import socket
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from massbargain.agents.config import TrainConfig, UserError
from massbargain.agents.outdir import atomic_write_text
from massbargain.experiments.maps.tune_space import base_recipe, outside_space, params_of, recipe_of, space_for
from massbargain.scenario import Scenario, ScenarioError

__all__ = [
    "STUDY",
    "TuneConfig",
    "add_parser",
    "config_from_args",
    "load_cells",
    "make_objective",
    "run",
    "set_flags",
    "tune",
]

#: Name of the study in the journal.
STUDY = "massbargain-tune"
#: Fields a tune's base config may not set: the tune sets them per unit.
_SET_BY_TUNE = ("scenario", "overrides", "out", "seed")


# --- the configuration ---------------------------------------------------------------------------------


def _seed_tuple(name: str, value: Any) -> tuple[int, ...]:
    ok = isinstance(value, (list, tuple)) and all(
        isinstance(s, int) and not isinstance(s, bool) and 0 <= s < 2**31 for s in value
    )
    if not ok or len(set(value)) != len(value):
        raise UserError(f"{name} must be a list of distinct seeds in [0, 2**31), got {value!r}")
    return tuple(value)


@dataclass(frozen=True)
class TuneConfig:
    """What ``massbargain tune`` searches, on what, and how it compares the best with the default.

    Attributes:
        scenario: preset or scenario YAML; ``overrides``: dotted scenario keys on top of it.
        cells: one mapping per cell: dotted-key overrides on top of the scenario, and optionally a
            ``scenario`` of its own (e.g. ``[{scenario: baseline}, {scenario: daye}]`` tunes for two presets);
            empty: the scenario alone is the one cell.
        base: TrainConfig fields on top of ``ppo_default.yaml``: the recipe tuned from and compared with.
        timesteps: the step budget of every training run (default: the base's ``timesteps``).
        trials: finished (complete or pruned) trials the study should reach.
        seeds: training seeds of each trial (every trial trains each cell with each).
        eval_freq, eval_episodes: periodic evaluations (what pruning sees) and the final one (what the
            trial scores); default: the base's.
        prune_startup: finished trials before pruning starts.
        holdout_seeds: training seeds of the held-out comparison (none of ``seeds``; empty: no comparison).
        holdout_episodes, holdout_eval_seed: its evaluation episodes and their seed.
        holdout_default_timesteps: the default recipe's budget in the held-out comparison (default:
            ``timesteps``, the same as the best's). Set it to the base's own budget to ask whether a recipe
            found at a smaller budget does what the default does at its own (a cheaper recipe).
        seed: seed of the sampler.
    """

    scenario: str = "baseline"
    overrides: Mapping[str, Any] = field(default_factory=dict)
    cells: tuple[Mapping[str, Any], ...] = ()
    base: Mapping[str, Any] = field(default_factory=dict)
    timesteps: int | None = None
    trials: int = 20
    seeds: tuple[int, ...] = (0,)
    eval_freq: int | None = None
    eval_episodes: int | None = None
    prune_startup: int = 5
    holdout_seeds: tuple[int, ...] = (100, 101, 102)
    holdout_episodes: int = 2000
    holdout_eval_seed: int = 0
    holdout_default_timesteps: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        for name, lo in (("trials", 1), ("prune_startup", 0), ("holdout_episodes", 2), ("holdout_eval_seed", 0)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                raise UserError(f"{name} must be a whole number >= {lo}, got {v!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise UserError(f"seed must be a whole number >= 0, got {self.seed!r}")
        object.__setattr__(self, "seeds", _seed_tuple("seeds", self.seeds))
        if not self.seeds:
            raise UserError("seeds must hold at least one seed")
        object.__setattr__(self, "holdout_seeds", _seed_tuple("holdout_seeds", self.holdout_seeds))
        shared = sorted(set(self.seeds) & set(self.holdout_seeds))
        if shared:
            raise UserError(f"holdout_seeds must differ from the tuning seeds; both have {shared}")
        if not isinstance(self.base, Mapping):
            raise UserError(f"base must be a mapping of training fields, got {self.base!r}")
        bad = [k for k in self.base if k in _SET_BY_TUNE]
        if bad:
            raise UserError(f"base: {bad[0]!r} is set by tune (--scenario, --set, --seeds); leave it out")
        if not isinstance(self.cells, (list, tuple)) or not all(isinstance(c, Mapping) for c in self.cells):
            raise UserError(f"cells must be a list of mappings of dotted scenario keys, got {self.cells!r}")
        object.__setattr__(self, "cells", tuple(dict(c) for c in self.cells))
        object.__setattr__(self, "overrides", dict(self.overrides or {}))
        base = TrainConfig.default().replace(**dict(self.base))  # ConfigError names a bad field
        for name in ("timesteps", "eval_freq", "eval_episodes"):
            value = getattr(self, name)
            object.__setattr__(self, name, getattr(base.replace(**{name: value}) if value else base, name))
        value = self.holdout_default_timesteps
        if value is None:
            object.__setattr__(self, "holdout_default_timesteps", self.timesteps)
        elif isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise UserError(f"holdout_default_timesteps must be a whole number >= 1, got {value!r}")
        for cell in self.cells or ({},):
            try:
                self.scenario_of(cell)
            except ScenarioError as exc:
                raise UserError(f"cell {dict(cell)}: {exc}") from None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TuneConfig:
        """A config from a mapping of its fields (lists for tuples); unknown keys refused."""
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = [k for k in data if k not in names]
        if unknown:
            raise UserError(f"unknown tune key {unknown[0]!r}; valid keys: {', '.join(names)}")
        data = dict(data)
        for name in ("cells", "seeds", "holdout_seeds"):
            if isinstance(data.get(name), list):
                data[name] = tuple(data[name])
        return cls(**data)

    @classmethod
    def from_yaml(cls, path: str | os.PathLike) -> TuneConfig:
        """A config from a YAML mapping of its fields (UserError naming the file)."""
        import yaml

        path = Path(path)
        if not path.is_file():
            raise UserError(f"tune spec {str(path)!r} does not exist")
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise UserError(f"tune spec {str(path)!r} is not valid YAML: {exc}") from None
        if not isinstance(data, Mapping):
            raise UserError(f"{path}: must be a mapping of tune fields")
        try:
            return cls.from_dict(data)
        except UserError as exc:
            raise UserError(f"{path}: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        out = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            out[f.name] = [dict(x) if isinstance(x, Mapping) else x for x in v] if isinstance(v, tuple) else v
            if isinstance(v, Mapping):
                out[f.name] = dict(v)
        return out

    def study_key(self) -> dict[str, Any]:
        """The fields a study's trials depend on: a resumed study must have the same."""
        keep = ("scenario", "overrides", "cells", "base", "timesteps", "seeds", "eval_freq", "eval_episodes", "seed")
        return {k: v for k, v in self.to_dict().items() if k in keep}

    def base_config(self) -> TrainConfig:
        """The base TrainConfig at the budget, with the tune's evaluation settings, silent."""
        return TrainConfig.default().replace(
            **{
                **dict(self.base),
                "timesteps": self.timesteps,
                "eval_freq": self.eval_freq,
                "eval_episodes": self.eval_episodes,
                "checkpoint_freq": 10**10,
                "progress_bar": False,
            }
        )

    def targets(self) -> list[tuple[str, dict[str, Any]]]:
        """(scenario, overrides) of every cell: a cell's ``scenario`` key (a preset or YAML) replaces the
        config's scenario, its other keys are added to ``overrides``; no cells: the scenario alone."""
        out = []
        for cell in self.cells or ({},):
            rest = {k: v for k, v in cell.items() if k != "scenario"}
            out.append((str(cell.get("scenario", self.scenario)), {**self.overrides, **rest}))
        return out

    def scenario_of(self, cell: Mapping[str, Any]) -> Scenario:
        """The Scenario of one cell (see :meth:`targets`)."""
        rest = {k: v for k, v in cell.items() if k != "scenario"}
        return Scenario.resolve(cell.get("scenario", self.scenario)).with_overrides({**self.overrides, **rest})

    def units(self) -> list[tuple[str, dict[str, Any], int]]:
        """Every (scenario, overrides, training seed) a trial trains, in order (cells outer, seeds inner)."""
        return [(scenario, overrides, s) for scenario, overrides in self.targets() for s in self.seeds]


def load_cells(path: str | os.PathLike) -> tuple[dict[str, Any], ...]:
    """A cells file: a YAML list of mappings of dotted scenario keys (and optionally ``scenario``), one per
    cell (UserError naming the file)."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise UserError(f"cells file {str(path)!r} does not exist")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise UserError(f"cells file {str(path)!r} is not valid YAML: {exc}") from None
    if not isinstance(data, list) or not data or not all(isinstance(c, dict) for c in data):
        raise UserError(f"{path}: must be a non-empty list of mappings of dotted scenario keys to values")
    return tuple(data)


# --- one trial -------------------------------------------------------------------------------------------


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def make_objective(cfg: TuneConfig, log: Callable[[str], None] | None = None) -> Callable[[Any], float]:
    """The objective of an Optuna trial: draw a recipe from :data:`SPACE`, train it on every unit
    (:meth:`TuneConfig.units`), return the mean final evaluation return; report every evaluation to the trial
    and raise ``optuna.TrialPruned`` when the pruner says so."""
    from massbargain.agents.train import train

    base = cfg.base_config()
    units = cfg.units()
    say = log or (lambda _msg: None)

    def objective(trial: Any) -> float:
        import optuna

        params = {p.name: p.suggest(trial) for p in space_for(base)}
        recipe = recipe_of(params, base, cfg.timesteps)
        trial.set_user_attr("recipe", recipe)
        trial.set_user_attr("worker", _worker_name())
        returns = []
        for u, (scenario, overrides, seed) in enumerate(units):
            offset = u * 2 * cfg.timesteps  # each unit's evaluations get steps of their own

            def report(record: dict[str, Any], offset: int = offset) -> None:
                trial.report(record["mean_return"], offset + int(record["timesteps"]))
                if trial.should_prune():
                    raise optuna.TrialPruned(f"pruned at step {offset + int(record['timesteps'])}")

            config = base.replace(**recipe, scenario=scenario, overrides=overrides, seed=seed)
            with tempfile.TemporaryDirectory(prefix="massbargain-tune-") as tmp:
                try:
                    train(config.replace(out=str(Path(tmp) / "run")), log=None, on_evaluation=report)
                except optuna.TrialPruned:
                    say(f"trial {trial.number}: pruned at unit {u + 1}/{len(units)}")
                    raise
                metrics = json.loads((Path(tmp) / "run" / "metrics.json").read_text())
            returns.append(float(metrics["final"]["mean_return"]))
        trial.set_user_attr("returns", returns)
        value = float(np.mean(returns))
        say(f"trial {trial.number}: {value:+.4f} ({_describe(recipe)})")
        return value

    return objective


def _describe(recipe: Mapping[str, Any]) -> str:
    return (
        f"lr {recipe['learning_rate']:.3g}, n_steps {recipe['n_steps']}, batch {recipe['batch_size']}, "
        f"epochs {recipe['n_epochs']}, entropy {recipe['ent_coef']:.3g}->{recipe['ent_coef_final']:.3g}, "
        f"net {'x'.join(map(str, recipe['net_arch']))}, gamma {recipe['gamma']:.4g}, "
        f"warm-up {recipe['accept_warmup']}"
    )


# --- the study ---------------------------------------------------------------------------------------------


def _storage(journal: str | os.PathLike) -> Any:
    """The Optuna journal storage in a file (open-file lock: safe on NFS too)."""
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock

    path = str(journal)
    return JournalStorage(JournalFileBackend(path, lock_obj=JournalFileOpenLock(path)))


def _finished(study: Any) -> int:
    from optuna.trial import TrialState

    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)))


def _optimize(settings: dict[str, Any], journal: str, n_trials: int, worker: int, verbose: bool) -> int:
    """A worker: run up to ``n_trials`` trials of the study in ``journal`` (fewer if the study reaches its
    trials meanwhile); returns how many it ran. Module-level, for worker processes and Ray tasks."""
    import optuna
    from optuna.study import MaxTrialsCallback
    from optuna.trial import TrialState

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # (training sets its own torch threads: torch_threads)
    cfg = TuneConfig.from_dict(settings)
    storage = _storage(journal)
    known = optuna.load_study(study_name=STUDY, storage=storage)
    n = min(n_trials, cfg.trials - _finished(known))
    if n <= 0:
        return 0
    # A seed of its own per worker and per session, so that no two draw the same random points.
    sampler = optuna.samplers.TPESampler(
        seed=cfg.seed + len(known.trials) + 7919 * worker, n_startup_trials=min(10, max(2, cfg.trials // 3))
    )
    pruner = optuna.pruners.MedianPruner(n_startup_trials=cfg.prune_startup, n_warmup_steps=cfg.timesteps // 2)
    study = optuna.load_study(study_name=STUDY, storage=storage, sampler=sampler, pruner=pruner)
    before = _finished(study)
    stop = MaxTrialsCallback(cfg.trials, states=(TrialState.COMPLETE, TrialState.PRUNED))
    study.optimize(make_objective(cfg, print if verbose else None), n_trials=n, callbacks=[stop])
    return _finished(study) - before


def _fail_stale(study: Any) -> list[int]:
    """Mark failed the trials left running by a process of this machine that no longer exists (Ctrl-C, a
    killed worker); return their numbers. Trials of other machines are left alone (they may be running)."""
    from optuna.trial import TrialState

    host = socket.gethostname()
    stale = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        where, _, pid = str(t.user_attrs.get("worker", "")).rpartition(":")
        if where == host and pid.isdigit() and not _alive(int(pid)):
            study.tell(t.number, state=TrialState.FAIL, skip_if_finished=True)
            stale.append(t.number)
    return stale


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _run_workers(
    cfg: TuneConfig,
    journal: Path,
    remaining: int,
    *,
    backend: str,
    workers: int | None,
    address: str | None,
    resources: Mapping[str, float] | None,
    max_retries: int | None,
    verbose: bool,
) -> None:
    """Run ``remaining`` trials on ``workers`` workers (in this process if one, else local processes or Ray
    tasks), splitting them as evenly as possible."""
    n = max(1, min(workers or os.cpu_count() or 1, remaining))
    shares = [remaining // n + (i < remaining % n) for i in range(n)]
    settings = cfg.to_dict()
    if backend == "ray":
        from massbargain.experiments.maps.cluster import DEFAULT_MAX_RETRIES, _import_ray

        ray = _import_ray()
        started_here = not ray.is_initialized()
        if started_here:
            if address:
                ray.init(address=address, log_to_driver=verbose)
            else:
                ray.init(num_cpus=n, include_dashboard=False, log_to_driver=verbose)
        retries = DEFAULT_MAX_RETRIES if max_retries is None else max_retries
        task = ray.remote(_optimize).options(num_cpus=1, resources=dict(resources or {}), max_retries=retries)
        refs = [task.remote(settings, str(journal), k, i, verbose) for i, k in enumerate(shares)]
        try:
            ray.get(refs)
        except BaseException:
            for ref in refs:
                ray.cancel(ref, force=True)
            raise
        finally:
            if started_here:
                ray.shutdown()
        return
    if n == 1:
        _optimize(settings, str(journal), remaining, 0, verbose)
        return
    import concurrent.futures as cf
    import multiprocessing as mp

    from massbargain.experiments.maps.sweep import _worker_init

    pool = cf.ProcessPoolExecutor(max_workers=n, mp_context=mp.get_context("spawn"), initializer=_worker_init)
    futures = [pool.submit(_optimize, settings, str(journal), k, i, verbose) for i, k in enumerate(shares)]
    try:
        for fut in cf.as_completed(futures):
            fut.result()
    except BaseException:
        for proc in list(getattr(pool, "_processes", {}).values()):  # stop the trials in flight now
            proc.terminate()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


# --- the command ----------------------------------------------------------------------------------------------


def _check_study(study: Any, cfg: TuneConfig, journal: Path) -> None:
    """Record the settings the study's trials depend on in the study (the first time), or refuse others:
    trials of one study must be comparable, whichever machine or session runs them."""
    given = cfg.study_key()
    stored = study.user_attrs.get("settings")
    if stored is None:
        study.set_user_attr("settings", given)
        return
    changed = [k for k in given if stored.get(k) != given[k]]
    if changed:
        k = changed[0]
        raise UserError(
            f"{k} differs from the study in {str(journal)!r} (stored {stored.get(k)!r}, given {given[k]!r}); "
            "use the same settings, or another --out (or --journal)"
        )


def _trials_table(study: Any) -> Any:
    import pandas as pd

    rows = []
    for t in study.trials:
        row = {"number": t.number, "state": t.state.name, "value": t.value}
        row["seconds"] = t.duration.total_seconds() if t.duration is not None else None
        row["pruned_at"] = max(t.intermediate_values) if t.state.name == "PRUNED" and t.intermediate_values else None
        row.update({f"param.{k}": v for k, v in t.params.items()})
        row.update({f"recipe.{k}": v for k, v in (t.user_attrs.get("recipe") or {}).items()})
        row["returns"] = json.dumps(t.user_attrs.get("returns"))
        row["default"] = bool(t.user_attrs.get("default", False))
        rows.append(row)
    return pd.DataFrame(rows)


def tune(
    cfg: TuneConfig,
    out: str | os.PathLike,
    *,
    resume: bool = False,
    overwrite: bool = False,
    journal: str | os.PathLike | None = None,
    backend: str = "local",
    workers: int | None = None,
    address: str | None = None,
    storage: str | os.PathLike | None = None,
    resources: Mapping[str, float] | None = None,
    max_retries: int | None = None,
    progress: bool = True,
    log: Any = print,
) -> dict[str, Any]:
    """Run (or resume) the study of ``cfg`` into ``out``, write ``best.yaml``, compare best and default on the
    held-out seeds; return ``{"best": {"number", "value", "recipe"}, "default_value", "trials": {state:
    count}, "holdout": compare_holdout(...) or None, "seconds"}``. The runner options are those of
    :func:`massbargain.experiments.maps.sweep.run_sweep` (``storage`` is used by the held-out runs).

    Raises:
        UserError: Optuna missing, ``out`` not empty without ``resume``, a study (``journal``) with other
            settings, bad runner options.
    """
    try:
        import optuna
    except ImportError:
        raise UserError("tune needs Optuna: pip install 'massbargain[tune]'") from None
    import yaml

    from massbargain.experiments.maps import sweep as sw
    from massbargain.experiments.maps.holdout import compare_holdout, holdout_runs, holdout_task

    say = log or (lambda *a, **k: None)
    started = time.perf_counter()
    sw.check_ray_options(backend, storage, resources, max_retries)
    if backend not in sw.BACKENDS:
        raise UserError(f"backend must be one of {', '.join(sw.BACKENDS)}, got {backend!r}")
    out = Path(out)
    from massbargain.agents.outdir import prepare_output_dir

    # The one output-folder rule: another study's folder is refused, --resume continues this one,
    # --overwrite moves the old contents aside.
    prepare_output_dir(out, cfg.study_key(), resume=resume, overwrite=overwrite, what="tune study", log=say)
    journal = (Path(journal) if journal is not None else out / "journal.log").resolve()  # workers' cwd may differ
    journal.parent.mkdir(parents=True, exist_ok=True)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name=STUDY, storage=_storage(journal), direction="maximize", load_if_exists=True)
    _check_study(study, cfg, journal)
    atomic_write_text(out / "config.yaml", yaml.safe_dump(cfg.to_dict(), sort_keys=False))
    base = cfg.base_config()
    if not study.trials:
        why = outside_space(base, cfg.timesteps)
        if why is None:
            study.enqueue_trial(params_of(base, cfg.timesteps), user_attrs={"default": True})
        else:
            say(f"the base recipe is no point of the search space ({why}); the study starts without it")
    stale = _fail_stale(study)
    if stale:
        say(f"trials {stale} were cut short; marked failed, new ones take their place")
    remaining = cfg.trials - _finished(study)
    units = cfg.units()
    say(
        f"tune: {cfg.trials} trials ({_finished(study)} finished in {journal}), each {len(units)} run(s) of "
        f"{cfg.timesteps} steps ({len(cfg.cells) or 1} cell(s) x {len(cfg.seeds)} seed(s)), backend {backend}"
    )
    if remaining > 0:
        _run_workers(
            cfg,
            journal,
            remaining,
            backend=backend,
            workers=workers,
            address=address,
            resources=resources,
            max_retries=max_retries,
            verbose=log is not None,
        )
    study = optuna.load_study(study_name=STUDY, storage=_storage(journal))
    table = _trials_table(study)
    atomic_write_text(out / "trials.csv", table.to_csv(index=False))
    complete = [t for t in study.trials if t.state.name == "COMPLETE"]
    if not complete:
        raise UserError(f"no trial of the study in {str(journal)!r} completed; see trials.csv")
    best = max(complete, key=lambda t: (t.value, -t.number))
    default_trials = [t for t in complete if t.user_attrs.get("default")]
    default_value = default_trials[0].value if default_trials else None
    best_recipe = best.user_attrs["recipe"]
    header = (
        f"# massbargain tune: the best recipe of {len(complete)} complete trials (trial {best.number}, mean final "
        f"return {best.value:+.4f} over {len(units)} run(s) of {cfg.timesteps} steps on {cfg.scenario}"
        f"{' with ' + str(len(cfg.cells)) + ' cells' if cfg.cells else ''}).\n"
        f"# massbargain train --config best.yaml --out DIR;  massbargain mode-map --train-config best.yaml --out DIR\n"
    )
    atomic_write_text(out / "best.yaml", header + yaml.safe_dump(best_recipe, sort_keys=False))

    holdout = None
    if cfg.holdout_seeds:
        recipes = {"best": best_recipe, "default": base_recipe(base, cfg.holdout_default_timesteps)}
        runs = holdout_runs(
            recipes,
            cells=cfg.targets(),
            base=cfg.base,
            seeds=cfg.holdout_seeds,
            episodes=cfg.holdout_episodes,
            eval_seed=cfg.holdout_eval_seed,
        )
        unique = list({r.run_id: r for r in runs.values()}.values())
        say(f"held-out comparison: {len(unique)} runs (best and default recipes x seeds {list(cfg.holdout_seeds)})")
        sw.run_sweep(
            unique,
            out / "holdout",
            fn=holdout_task,
            backend=backend,
            workers=workers,
            address=address,
            storage=storage,
            resources=resources,
            max_retries=max_retries,
            progress=progress,
            desc="held-out runs",
        )
        returns = {k: sw.read_record(out / "holdout", r.run_id)["metrics"]["returns"] for k, r in runs.items()}
        holdout = compare_holdout(returns, cfg.holdout_seeds, len(cfg.cells) or 1)
        atomic_write_text(out / "holdout.json", json.dumps(holdout, indent=1) + "\n")
    counts = table["state"].value_counts().to_dict()
    seconds = time.perf_counter() - started
    result = {
        "best": {"number": best.number, "value": best.value, "recipe": best_recipe},
        "default_value": default_value,
        "trials": counts,
        "holdout": holdout,
        "seconds": seconds,
    }
    report = _report(cfg, result, out, journal)
    atomic_write_text(out / "report.md", report)
    say(report)
    return result


def set_flags(recipe: Mapping[str, Any]) -> str:
    """A recipe as ``--set field=value`` options (ppo_table's), shell-safe."""
    import shlex

    return " ".join("--set " + shlex.quote(f"{k}={json.dumps(v, separators=(',', ':'))}") for k, v in recipe.items())


def _report(cfg: TuneConfig, result: Mapping[str, Any], out: Path, journal: Path) -> str:
    best = result["best"]
    counts = ", ".join(f"{n} {s.lower()}" for s, n in sorted(result["trials"].items()))
    lines = [
        f"# massbargain tune: {cfg.scenario}" + (f", {len(cfg.cells)} cells" if cfg.cells else ""),
        "",
        f"Study `{STUDY}` in `{journal}`: {counts}; budget {cfg.timesteps} steps per run, training seeds "
        f"{list(cfg.seeds)}, evaluation every {cfg.eval_freq} steps on {cfg.eval_episodes} episodes. This session "
        f"took {result['seconds']:.0f} s.",
        "",
        f"Best: trial {best['number']}, mean final return {best['value']:+.4f}"
        + ("" if result["default_value"] is None else f" (the base recipe, trial 0: {result['default_value']:+.4f})")
        + ".",
        "",
        f"    {_describe(best['recipe'])}",
        "",
        f"Written to `{out / 'best.yaml'}`. Its quality and time on every preset beside the default's table "
        "(docs/TRAINING.md):",
        "",
        f"    python -m massbargain.experiments.measures.ppo_table --out runs/table-tuned {set_flags(best['recipe'])}",
    ]
    h = result["holdout"]
    if h is not None:
        lines += [
            "",
            f"## Best vs default on held-out seeds {h['seeds']} ({h['cells']} cell(s), final models, "
            f"{cfg.holdout_episodes} episodes of evaluation seed {cfg.holdout_eval_seed}, common luck, paired; "
            f"best at {cfg.timesteps} steps, default at {cfg.holdout_default_timesteps})",
            "",
            "| training seed | best | default | best − default (95% paired bootstrap) |",
            "|---|---|---|---|",
        ]
        for r in h["per_seed"]:
            lo, hi = r["difference_ci95"]
            diff = f"{r['difference']:+.4f} [{lo:+.4f}, {hi:+.4f}]"
            lines.append(f"| {r['seed']} | {r['best']:+.4f} | {r['default']:+.4f} | {diff} |")
        interval = (
            f"[{h['difference_ci95'][0]:+.4f}, {h['difference_ci95'][1]:+.4f}] (95% t-interval over seeds)"
            if h["difference_ci95"] is not None
            else "(one seed: no interval over seeds)"
        )
        lines += [
            f"| mean | {h['best']:+.4f} | {h['default']:+.4f} | {h['difference']:+.4f} {interval} |",
        ]
    return "\n".join(lines) + "\n"


# --- command line ------------------------------------------------------------------------------------------

_EXAMPLES = """\
examples:
  massbargain tune --scenario daye --trials 20 --out runs/tune-daye
  massbargain tune --scenario daye --trials 30 --out runs/tune-daye --resume      # 10 more
  massbargain tune --spec experiments/configs/tune_mode_map.yaml --out runs/tune-map   # the mode map's cells
  massbargain tune --scenario daye --out runs/t --journal /shared/tune.log --backend ray --address HEAD:6379

Each trial trains PPO with one recipe at the --timesteps budget on every cell and seed and scores the mean
final evaluation return; the median pruner stops poor trials early. Output: best.yaml (for massbargain train
--config and massbargain mode-map --train-config), trials.csv, holdout.json (best vs default on held-out
seeds, paired, with intervals), report.md, journal.log (the Optuna study; --resume continues it).
--spec FILE.yaml gives every setting at once (fields of massbargain.experiments.maps.tune.TuneConfig);
options given beside it override its values.
"""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``tune`` subcommand on an argparse ``subparsers`` object; :func:`run` executes it."""
    from massbargain.experiments.cli.main import _scenario_args, positive_int, seed_int
    from massbargain.experiments.maps.sweep import add_runner_arguments

    p = subparsers.add_parser(
        "tune",
        help="search the PPO recipe with Optuna (pruning, resumable, local or Ray workers)",
        description="Search PPO's hyperparameters (learning rate, rollout, batch, epochs, entropy schedule, "
        "network, gamma, ACCEPT warm-up) for a scenario or a set of cells; write the best as a training config "
        "and compare it with the default on held-out seeds.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--spec", metavar="FILE.yaml", help="a tune configuration (TuneConfig fields) to start from")
    _scenario_args(p, "default: baseline")
    p.add_argument("--cells", metavar="FILE.yaml", help="a YAML list of cells (dotted-key overrides) to tune on")
    p.add_argument("--config", metavar="FILE.yaml", help="base recipe: TrainConfig fields over ppo_default.yaml")
    p.add_argument("--timesteps", type=positive_int, help="step budget of every run (default: the base's)")
    p.add_argument("--trials", type=positive_int, help="finished trials to reach (default: 20)")
    p.add_argument("--seeds", type=positive_int, help="training seeds per trial: 0..N-1 (default: 1)")
    p.add_argument("--eval-freq", type=positive_int, help="evaluate (and maybe prune) every this many steps")
    p.add_argument("--eval-episodes", type=positive_int, help="episodes per evaluation (default: the base's)")
    p.add_argument(
        "--holdout-seeds", type=int, metavar="N", help="held-out training seeds 100..100+N-1 (default: 3; 0: none)"
    )
    p.add_argument("--holdout-episodes", type=positive_int, help="held-out evaluation episodes (default: 2000)")
    p.add_argument("--seed", type=seed_int, help="seed of the sampler (default: 0)")
    p.add_argument("--journal", metavar="FILE", help="the Optuna journal (default: OUT/journal.log)")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory")
    p.add_argument("--resume", action="store_true", help="continue the study in --out")
    add_runner_arguments(p, workers_help="trials at once (default: number of CPUs)")
    p.set_defaults(func=run)
    return p


def config_from_args(args: argparse.Namespace) -> TuneConfig:
    """The TuneConfig of ``massbargain tune``'s options: ``--spec`` (or the defaults), then every option given."""
    import yaml

    fields: dict[str, Any] = TuneConfig.from_yaml(args.spec).to_dict() if args.spec else {}
    if args.scenario is not None:
        fields["scenario"] = args.scenario
    if args.overrides:
        fields["overrides"] = {**fields.get("overrides", {}), **{k: yaml.safe_load(v) for k, v in args.overrides}}
    if args.cells:
        fields["cells"] = load_cells(args.cells)
    if args.config:
        TrainConfig.from_yaml(args.config, base=TrainConfig.default())  # validates, naming the field
        fields["base"] = {**fields.get("base", {}), **(yaml.safe_load(Path(args.config).read_text()) or {})}
    if args.holdout_seeds is not None:
        if args.holdout_seeds < 0:
            raise UserError(f"--holdout-seeds must be >= 0, got {args.holdout_seeds}")
        fields["holdout_seeds"] = list(range(100, 100 + args.holdout_seeds))
    if args.seeds is not None:
        fields["seeds"] = list(range(args.seeds))
    given = {
        "timesteps": args.timesteps,
        "trials": args.trials,
        "eval_freq": args.eval_freq,
        "eval_episodes": args.eval_episodes,
        "holdout_episodes": args.holdout_episodes,
        "seed": args.seed,
    }
    fields.update({k: v for k, v in given.items() if v is not None})
    return TuneConfig.from_dict(fields)


def run(args: argparse.Namespace) -> int:
    """Execute ``massbargain tune``."""
    from massbargain.experiments.maps.sweep import runner_options

    options = runner_options(args)
    cfg = config_from_args(args)
    try:
        tune(cfg, args.out, resume=args.resume, overwrite=args.overwrite, journal=args.journal, **options)
    except KeyboardInterrupt:
        print(f"interrupted; finished trials are kept. Continue with the same command and --resume (--out {args.out}).")
        raise
    return 0
