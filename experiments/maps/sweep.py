"""Sweeps: a grid of scenario and training settings × seeds, each point one pure ``run_one(config, seed)``.

A sweep spec is a YAML mapping::

    # experiments/configs/sweep_example.yaml
    base:                          # settings shared by every run
      scenario: baseline           # preset name or scenario YAML
      timesteps: 100000            # any TrainConfig field (experiments/configs/ppo_default.yaml)
      episodes: 1000               # evaluation episodes per run
    grid:                          # the cartesian product of these lists
      brokers.recklessness: [0.1, 0.5, 0.9]   # any dotted scenario key
      superior.monitoring: [0.2, 0.8]
    seeds: 2                       # a count (seeds 0, 1) or a list of seeds

Keys of ``base`` and ``grid`` (one key in one of them only):

* every dotted scenario key (``massbargain.scenario.valid_keys()``), applied to ``scenario``;
* every :class:`~massbargain.agents.config.TrainConfig` field except ``out``, ``overrides``, ``seed`` and
  ``progress_bar`` (the sweep sets those);
* ``episodes``: evaluation episodes (default 1000); ``policy``: ``ppo`` (default: train PPO, evaluate its
  best model) or the name of a scripted baseline (no training: cheap sweeps of the scripted policies);
  ``model``: ``best`` (default) or ``final``, which model of a PPO run is evaluated.

:func:`run_one` runs one point: it trains PPO with ``seed`` (unless ``policy`` names a baseline) and
evaluates the policy on the point's scenario for ``episodes`` episodes with ``seed``; the same config and
seed give the same metrics. :func:`run_sweep` runs many, on a local process pool (default; one torch thread
per worker) or on Ray (``backend="ray"``, the optional extra ``massbargain[ray]``; a running cluster with
``address``, else a local instance; :mod:`massbargain.experiments.maps.cluster` brings every run's training
directory back to ``OUT``, through Ray's object store or a shared ``storage`` directory). The output
directory::

    OUT/
      made_by.yaml           what made the folder: a sweep and its spec (massbargain.agents.outdir)
      spec.yaml              the spec, as given (for the record)
      runs/<run_id>.json     one file per finished run: run_id, seed, config, metrics, seconds (and, on
                             Ray, node: the id and address of the node that ran it)
      models/<run_id>/       the training run directory of each PPO run (massbargain train's layout)
      results.csv            one row per finished run: run_id, seed, every config key, every metric
      results.parquet        the same table (pandas.read_parquet)

``run_id`` is a hash of (config, seed), so it names the same run in every sweep. Each run's file is written
atomically (temporary file, then ``os.replace``) by the coordinating process when the run finishes, after
its training directory is complete. Running the same sweep again with the same ``OUT`` resumes it (on any
backend): finished runs are skipped, unfinished ones (a training directory without a result file) are
started afresh, and no run is ever done or listed twice. Another spec into the same ``OUT`` is refused (the
rule of :mod:`massbargain.agents.outdir`): choose another folder, or ``overwrite=True`` (``--overwrite``)
moves the old one aside. Ctrl-C keeps every finished run and
writes the table of those.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import contextlib
import hashlib
import itertools
import json
import math
import multiprocessing as mp
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from massbargain import suggest
from massbargain.agents.config import TrainConfig, UserError
from massbargain.agents.outdir import atomic_write_text, check_output_dir, prepare_output_dir, writable_dir
from massbargain.scenario import Scenario, ScenarioError, valid_keys

__all__ = [
    "BACKENDS",
    "SPECIAL_KEYS",
    "Run",
    "SweepSpec",
    "add_parser",
    "add_runner_arguments",
    "check_config",
    "check_ray_options",
    "finished_ids",
    "prepare_out",
    "load_results",
    "read_record",
    "records_table",
    "resumable",
    "run",
    "runner_options",
    "run_one",
    "run_sweep",
    "sweep",
    "train_keys",
    "write_table",
]

#: Execution backends of :func:`run_sweep`.
BACKENDS = ("local", "ray")
#: What a sweep's output folder holds, in its ``made_by.yaml``.
SWEEP_KIND = "sweep"
#: Sweep keys that are neither scenario keys nor training fields, with their defaults.
SPECIAL_KEYS: dict[str, Any] = {"episodes": 1000, "policy": "ppo", "model": "best"}
_SET_BY_SWEEP = ("out", "overrides", "seed", "progress_bar")
RunFn = Callable[..., dict[str, Any]]


def train_keys() -> list[str]:
    """The TrainConfig fields a sweep may set (all but those the sweep sets itself)."""
    return [k for k in TrainConfig.field_names() if k not in _SET_BY_SWEEP]


def _all_keys() -> list[str]:
    return [*SPECIAL_KEYS, *train_keys(), *valid_keys()]


# --- one run -------------------------------------------------------------------------------------------


def _split(config: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(special, training, scenario-override) parts of a run's config; UserError on an unknown key."""
    special, training, scenario = dict(SPECIAL_KEYS), {}, {}
    known_train, known_scen = set(train_keys()), set(valid_keys())
    for key, value in config.items():
        if key in SPECIAL_KEYS:
            special[key] = value
        elif key in known_train:
            training[key] = value
        elif key in known_scen:
            scenario[key] = value
        else:
            hint = (
                f"valid keys: {', '.join(SPECIAL_KEYS)}, the training fields (experiments/configs/ppo_default.yaml) "
                "and the dotted scenario keys (massbargain.scenario.valid_keys())"
            )
            raise UserError(suggest.unknown("sweep key", key, _all_keys(), where=hint))
    return special, training, scenario


def check_config(config: Mapping[str, Any]) -> tuple[TrainConfig, Scenario]:
    """Validate one run's config; return its TrainConfig and scenario (UserError/ScenarioError naming the field)."""
    from massbargain.agents import BASELINES

    special, training, overrides = _split(config)
    if not isinstance(special["episodes"], int) or isinstance(special["episodes"], bool) or special["episodes"] < 2:
        raise UserError(f"episodes must be a whole number >= 2, got {special['episodes']!r}")
    policies = ("ppo", *BASELINES)
    if special["policy"] not in policies:
        raise UserError(f"policy must be one of {', '.join(policies)}, got {special['policy']!r}")
    if special["model"] not in ("best", "final"):
        raise UserError(f"model must be best or final, got {special['model']!r}")
    train_config = TrainConfig.default().replace(progress_bar=False, **training)
    scenario = Scenario.resolve(train_config.scenario)
    if overrides:
        scenario = scenario.with_overrides(overrides)
    return train_config.replace(overrides=overrides), scenario


def run_one(config: Mapping[str, Any], seed: int, workdir: str | os.PathLike | None = None) -> dict[str, Any]:
    """Train and evaluate one sweep point; the metrics depend only on ``config`` and ``seed``.

    Args:
        config: sweep keys (see the module docstring) to their values, e.g.
            ``{"brokers.recklessness": 0.9, "timesteps": 100_000}``.
        seed: seed of training (PPO, networks, environments) and of the evaluation episodes.
        workdir: where PPO writes its training run directory (must not exist or be empty); None: a
            temporary directory, removed afterwards.

    Returns:
        The figures of :func:`massbargain.agents.evaluation.evaluate` (mean_return, return_ci95, outcome
        rates, punishment_rate, mode shares, control_share, mean_length, episodes) and, for PPO,
        ``timesteps``, ``train_seconds``, ``best_baseline``, ``best_baseline_return`` and ``advantage`` (the
        agent's mean return minus the best scripted baseline's on the same episodes).
    """
    import tempfile

    from massbargain.agents import BASELINES
    from massbargain.agents.evaluation import compare, evaluate

    train_config, scenario = check_config(config)
    special = _split(config)[0]
    episodes = special["episodes"]
    if special["policy"] != "ppo":
        from massbargain.agents.baselines import RandomPolicy

        name = special["policy"]
        policy = RandomPolicy(seed) if name == "random" else BASELINES[name]
        return evaluate(policy, scenario, episodes, seed)

    from massbargain.agents.loading import load_agent
    from massbargain.agents.train import train

    with tempfile.TemporaryDirectory(prefix="massbargain-run-") as tmp:
        run_dir = Path(workdir) if workdir is not None else Path(tmp) / "run"
        started = time.perf_counter()
        train(train_config.replace(out=str(run_dir), seed=seed), log=None)
        seconds = time.perf_counter() - started
        agent = load_agent(run_dir, which=special["model"], seed=seed)
        table = compare(agent, scenario, episodes, seed, baselines=[b for b in BASELINES if b != "random"])
    metrics = dict(table["agent"])
    best = metrics.pop("best_baseline")
    metrics.update(
        timesteps=train_config.timesteps,
        train_seconds=round(seconds, 2),
        best_baseline=best,
        best_baseline_return=table[best]["mean_return"],
    )
    return metrics


# --- the spec ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """One point of a sweep: its config (sweep keys to values), seed, and id (a hash of both)."""

    config: Mapping[str, Any]
    seed: int

    @property
    def run_id(self) -> str:
        text = json.dumps({"config": dict(self.config), "seed": self.seed}, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class SweepSpec:
    """A parsed sweep spec: shared settings, grid axes (key -> values, in order) and seeds."""

    base: Mapping[str, Any]
    grid: Mapping[str, tuple[Any, ...]]
    seeds: tuple[int, ...]

    @classmethod
    def from_dict(cls, data: Any, source: str = "sweep spec") -> SweepSpec:
        """Parse and validate a spec mapping (every grid point is checked; errors name the key and value)."""
        if not isinstance(data, Mapping):
            raise UserError(f"{source}: must be a mapping with base, grid and seeds, got {type(data).__name__}")
        top = ("base", "grid", "seeds", "name")
        unknown = [k for k in data if k not in top]
        if unknown:
            raise UserError(f"{source}: " + suggest.unknown("top-level key", unknown[0], top))
        base = data.get("base") or {}
        grid_in = data.get("grid") or {}
        for part, value in (("base", base), ("grid", grid_in)):
            if not isinstance(value, Mapping):
                raise UserError(f"{source}: {part} must be a mapping of keys to values, got {type(value).__name__}")
        grid: dict[str, tuple[Any, ...]] = {}
        for key, values in grid_in.items():
            if key in base:
                raise UserError(f"{source}: {key!r} is in both base and grid; keep it in one")
            values = tuple(values) if isinstance(values, (list, tuple)) else (values,)
            if not values:
                raise UserError(f"{source}: grid.{key} has no values; give a list of at least one")
            if len(set(map(repr, values))) != len(values):
                raise UserError(f"{source}: grid.{key} repeats a value: {list(values)}")
            grid[str(key)] = values
        seeds = _parse_seeds(data.get("seeds", 1), source)
        spec = cls(base=dict(base), grid=grid, seeds=seeds)
        for cfg in spec.configs():
            try:
                check_config(cfg)
            except (UserError, ScenarioError) as exc:
                point = ", ".join(f"{k}={cfg[k]!r}" for k in spec.grid)
                raise UserError(f"{source}: {exc}" + (f" (grid point {point})" if point else "")) from None
        return spec

    @classmethod
    def from_yaml(cls, path: str | os.PathLike) -> SweepSpec:
        """Load a spec from a YAML file (UserError if it is missing or not valid YAML)."""
        import yaml

        path = Path(path)
        if not path.is_file():
            raise UserError(f"sweep spec {str(path)!r} does not exist")
        try:
            data = yaml.safe_load(path.read_text())
        except yaml.YAMLError as exc:
            raise UserError(f"sweep spec {str(path)!r} is not valid YAML: {exc}") from None
        return cls.from_dict(data, source=str(path))

    def configs(self) -> list[dict[str, Any]]:
        """Every grid point's full config (base keys, then grid keys), in grid order (last key fastest)."""
        keys = list(self.grid)
        combos = itertools.product(*self.grid.values())
        return [{**self.base, **dict(zip(keys, combo, strict=True))} for combo in combos]

    def runs(self) -> list[Run]:
        """Every (grid point, seed), seeds innermost."""
        return [Run(cfg, seed) for cfg in self.configs() for seed in self.seeds]

    def to_dict(self) -> dict[str, Any]:
        return {"base": dict(self.base), "grid": {k: list(v) for k, v in self.grid.items()}, "seeds": list(self.seeds)}


def _parse_seeds(value: Any, source: str) -> tuple[int, ...]:
    def ok(x: Any) -> bool:
        return isinstance(x, int) and not isinstance(x, bool) and 0 <= x < 2**31

    if ok(value) and value >= 1:
        return tuple(range(value))
    if isinstance(value, (list, tuple)) and value and all(ok(x) for x in value):
        if len(set(value)) != len(value):
            raise UserError(f"{source}: seeds repeat a seed: {list(value)}")
        return tuple(value)
    raise UserError(f"{source}: seeds must be a count >= 1 or a list of distinct seeds in [0, 2**31), got {value!r}")


# --- running many ----------------------------------------------------------------------------------------


def _json_safe(x: Any) -> Any:
    """Plain JSON values: numpy scalars to Python, NaN and infinities to None."""
    if isinstance(x, Mapping):
        return {str(k): _json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_safe(v) for v in x]
    if hasattr(x, "item") and not isinstance(x, (str, bytes)):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def _worker_init() -> None:
    """A pool worker: one torch thread (the small networks gain nothing from more, and workers share cores)."""
    os.environ["OMP_NUM_THREADS"] = "1"
    os.environ["MKL_NUM_THREADS"] = "1"
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover - torch is a dependency
        pass


def _execute(
    fn: RunFn, config: Mapping[str, Any], seed: int, workdir: str | None, worker: bool = True
) -> tuple[dict[str, Any], float]:
    """Run ``fn`` (in a worker process, unless ``worker`` is false); returns (metrics, seconds)."""
    if worker:
        _worker_init()
    if workdir is not None and Path(workdir).exists():
        shutil.rmtree(workdir)  # an unfinished run's leftovers: start it afresh
    started = time.perf_counter()
    metrics = fn(config, seed, workdir)
    return metrics, time.perf_counter() - started


def prepare_out(out: str | os.PathLike) -> Path:
    """Create the output directory ``out`` and its ``runs/`` if needed; UserError (naming it) if it is a file,
    cannot be created or is not writable."""
    out = writable_dir(out)
    writable_dir(out / "runs")
    return out


def finished_ids(out: str | os.PathLike) -> set[str]:
    """Ids of the runs whose result file exists in ``out``."""
    runs = Path(out) / "runs"
    return {p.stem for p in runs.glob("*.json")} if runs.is_dir() else set()


def _record(
    out: Path, run: Run, metrics: dict[str, Any], seconds: float, node: Mapping[str, str] | None = None
) -> None:
    record = {
        "run_id": run.run_id,
        "seed": run.seed,
        "config": dict(run.config),
        "metrics": metrics,
        "seconds": round(seconds, 2),
    }
    if node is not None:
        record["node"] = dict(node)
    atomic_write_text(out / "runs" / f"{run.run_id}.json", json.dumps(_json_safe(record), indent=1) + "\n")


def read_record(out: str | os.PathLike, run_id: str) -> dict[str, Any]:
    """The result file of one finished run (UserError if it is damaged: delete it to run that run again)."""
    path = Path(out) / "runs" / f"{run_id}.json"
    try:
        record = json.loads(path.read_text())
    except ValueError:
        record = None
    if not isinstance(record, dict) or "metrics" not in record:
        raise UserError(f"{str(path)!r} is not a run's result (damaged?); delete it to run that run again")
    return record


def run_sweep(
    runs: Sequence[Run],
    out: str | os.PathLike,
    *,
    fn: RunFn = run_one,
    backend: str = "local",
    workers: int | None = None,
    address: str | None = None,
    storage: str | os.PathLike | None = None,
    resources: Mapping[str, float] | None = None,
    max_retries: int | None = None,
    keep_workdirs: bool = True,
    progress: bool = True,
    desc: str = "runs",
) -> list[dict[str, Any]]:
    """Run every run not yet finished in ``out``; return the records of all of ``runs`` (in their order).

    Args:
        runs: the runs (see :meth:`SweepSpec.runs`); their ids must be distinct.
        out: the output directory (created if missing); finished runs in it are skipped.
        fn: the function of one run, ``fn(config, seed, workdir) -> metrics`` (a module-level function, so
            that worker processes can import it); default :func:`run_one`.
        backend: ``local`` (a process pool; ``workers`` = 1 runs in this process) or ``ray``.
        workers: parallel runs (default: the number of CPUs; for Ray, the CPUs of a local instance or,
            with ``address``, at most this many runs in flight).
        address: a Ray cluster to connect to (``ray start --head`` prints it); None: start a local one.
        storage: (Ray) a directory every node shares, through which training directories come back to
            ``out``; None (default): through Ray's object store (:mod:`massbargain.experiments.maps.cluster`).
        resources: (Ray) custom resources each run asks for besides one CPU, e.g. ``{"massbargain": 1}``.
        max_retries: (Ray) reruns of a run whose node or worker died (default
            :data:`~massbargain.experiments.maps.cluster.DEFAULT_MAX_RETRIES`).
        keep_workdirs: keep each run's working directory ``OUT/models/<run_id>`` (trained models); if
            false, runs get no working directory.
        progress: show a progress bar over runs.

    Raises:
        UserError: an unknown backend, a bad ``workers``, Ray options without ``backend="ray"``, Ray not
            installed, ``out`` not a directory, a resource the cluster lacks, a run lost beyond its retries.
        KeyboardInterrupt: Ctrl-C; every run finished so far is on disk.
    """
    if backend not in BACKENDS:
        raise UserError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise UserError(f"workers must be a whole number >= 1, got {workers!r}")
    check_ray_options(backend, storage, resources, max_retries)
    ids = [r.run_id for r in runs]
    if len(set(ids)) != len(ids):
        raise UserError("the sweep lists the same run (config and seed) more than once")
    out = prepare_out(out)
    for stray in (out / "runs").glob(".*.tmp"):  # a write cut short (the result it was writing is not done)
        stray.unlink(missing_ok=True)
    for stray in (out / "models").glob(".*.tmp"):  # a training directory whose unpacking was cut short
        shutil.rmtree(stray, ignore_errors=True)
    done = finished_ids(out)
    pending = [r for r in runs if r.run_id not in done]

    def workdir(run: Run) -> str | None:
        return str(out / "models" / run.run_id) if keep_workdirs else None

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(runs), initial=len(runs) - len(pending), desc=desc, unit="run", dynamic_ncols=True)
    try:
        if pending:
            n = workers or os.cpu_count() or 1
            if backend == "ray":
                from massbargain.experiments.maps.cluster import DEFAULT_MAX_RETRIES, run_ray

                def record(run: Run, outcome: Any) -> None:
                    _record(out, run, outcome.metrics, outcome.seconds, node=outcome.node)

                run_ray(
                    pending,
                    out,
                    fn,
                    record,
                    keep=keep_workdirs,
                    workers=workers,
                    address=address,
                    storage=storage,
                    resources=resources,
                    max_retries=DEFAULT_MAX_RETRIES if max_retries is None else max_retries,
                    bar=bar,
                )
            elif n == 1 or len(pending) == 1:
                for r in pending:
                    metrics, seconds = _execute(fn, r.config, r.seed, workdir(r), worker=False)
                    _record(out, r, metrics, seconds)
                    if bar is not None:
                        bar.update(1)
            else:
                _run_pool(pending, out, fn, workdir, min(n, len(pending)), bar)
    finally:
        if bar is not None:
            bar.close()
    return [read_record(out, r.run_id) for r in runs]


def check_ray_options(
    backend: str, storage: Any, resources: Mapping[str, float] | None, max_retries: int | None
) -> None:
    """UserError for Ray-only options given to another backend, or bad values of them."""
    options = (("storage", storage), ("resources", resources), ("max_retries", max_retries))
    given = [name for name, v in options if v is not None and v != {}]
    if backend != "ray" and given:
        raise UserError(f"{given[0]} is an option of the ray backend; add --backend ray or leave it out")
    for name, amount in (resources or {}).items():
        number = isinstance(amount, (int, float)) and not isinstance(amount, bool)
        if not isinstance(name, str) or not name or not number or not amount > 0:
            raise UserError(f"resources must map names to amounts > 0, got {name!r}: {amount!r}")
    whole = isinstance(max_retries, int) and not isinstance(max_retries, bool)
    if max_retries is not None and (not whole or max_retries < 0):
        raise UserError(f"max_retries must be a whole number >= 0, got {max_retries!r}")


def _run_pool(
    pending: Sequence[Run], out: Path, fn: RunFn, workdir: Callable[[Run], str | None], n: int, bar: Any
) -> None:
    # spawn: fresh interpreters (fork after torch has started threads can deadlock).
    pool = cf.ProcessPoolExecutor(max_workers=n, mp_context=mp.get_context("spawn"), initializer=_worker_init)
    futures: dict[cf.Future, Run] = {}
    try:
        futures = {pool.submit(_execute, fn, r.config, r.seed, workdir(r)): r for r in pending}
        for fut in cf.as_completed(futures):
            run = futures[fut]
            metrics, seconds = fut.result()
            _record(out, run, metrics, seconds)
            if bar is not None:
                bar.update(1)
    except BaseException:
        for fut in futures:
            fut.cancel()
        for proc in list(getattr(pool, "_processes", {}).values()):  # stop runs in flight now, not at their end
            proc.terminate()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


# --- the results table -----------------------------------------------------------------------------------


def _flatten(prefix: str, value: Any, row: dict[str, Any]) -> None:
    if isinstance(value, Mapping):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, row)
    else:
        row[prefix] = value


def records_table(records: Iterable[Mapping[str, Any]]) -> Any:
    """A pandas DataFrame with one row per run record: run_id, seed, the config keys, the metrics, seconds."""
    import pandas as pd

    rows = []
    for rec in records:
        row: dict[str, Any] = {"run_id": rec["run_id"], "seed": rec["seed"]}
        row.update(rec["config"])
        _flatten("", rec["metrics"], row)
        row["seconds"] = rec.get("seconds")
        rows.append(row)
    return pd.DataFrame(rows)


def write_table(df: Any, out: str | os.PathLike, stem: str = "results") -> list[Path]:
    """Write ``df`` as ``stem.csv`` and ``stem.parquet`` in ``out``, each atomically; return the paths."""
    out = Path(out)
    csv = out / f"{stem}.csv"
    atomic_write_text(csv, df.to_csv(index=False))
    paths = [csv]
    try:
        import pyarrow  # noqa: F401
    except ImportError:  # pragma: no cover - pyarrow is a dependency
        return paths
    pq = out / f"{stem}.parquet"
    tmp = out / f".{stem}.parquet.{os.getpid()}.tmp"
    try:
        df.to_parquet(tmp, index=False)
        os.replace(tmp, pq)
    finally:
        tmp.unlink(missing_ok=True)
    return [*paths, pq]


def load_results(out: str | os.PathLike) -> Any:
    """The results table of a sweep directory (``results.parquet``, else ``results.csv``) as a DataFrame."""
    import pandas as pd

    out = Path(out)
    if (out / "results.parquet").is_file():
        return pd.read_parquet(out / "results.parquet")
    if (out / "results.csv").is_file():
        return pd.read_csv(out / "results.csv")
    raise FileNotFoundError(f"{str(out)!r} holds no results table; run a sweep into it first")


def sweep(
    spec: SweepSpec,
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
) -> Any:
    """Run a sweep spec into ``out`` (resuming it) and write its results table; return the DataFrame.

    ``out`` must be empty, new, or hold this very spec's sweep (which is resumed); ``overwrite`` moves what
    it holds aside first (:func:`massbargain.agents.outdir.prepare_output_dir`). On Ctrl-C the table of the
    runs finished so far is written before KeyboardInterrupt propagates.
    """
    import yaml

    prepare_output_dir(out, spec.to_dict(), resume=True, overwrite=overwrite, what=SWEEP_KIND)
    out = prepare_out(out)
    atomic_write_text(out / "spec.yaml", yaml.safe_dump(spec.to_dict(), sort_keys=False))
    runs = spec.runs()
    try:
        records = run_sweep(
            runs,
            out,
            backend=backend,
            workers=workers,
            address=address,
            storage=storage,
            resources=resources,
            max_retries=max_retries,
            progress=progress,
        )
    except KeyboardInterrupt:
        done = finished_ids(out)
        write_table(records_table(read_record(out, r.run_id) for r in runs if r.run_id in done), out)
        raise
    df = records_table(records)
    write_table(df, out)
    return df


# --- command line ------------------------------------------------------------------------------------------

_EXAMPLES = """\
examples:
  massbargain sweep experiments/configs/sweep_example.yaml --out runs/sweep
  massbargain sweep spec.yaml --out runs/sweep --workers 2          # rerun the same line to resume
  massbargain sweep spec.yaml --out runs/sweep --backend ray        # a local Ray instance
  massbargain sweep spec.yaml --out runs/sweep --backend ray --address HEAD_IP:6379
  massbargain sweep spec.yaml --out /shared/sweep --backend ray --address HEAD_IP:6379 --storage /shared

Spec: base (shared settings), grid (key: [values], cartesian product), seeds (a count or a list). Keys:
dotted scenario keys (brokers.recklessness, ...), training fields (timesteps, learning_rate, ...),
episodes, policy (ppo or a baseline name), model (best or final).
Output: runs/<run_id>.json per finished run, models/<run_id>/, results.csv and results.parquet.
On a cluster every run's models come back to --out (through Ray's object store, or --storage, a
directory all nodes share); runs on a node that dies are rerun elsewhere (docs/CLUSTER.md).
"""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``sweep`` subcommand on an argparse ``subparsers`` object; :func:`run` executes it."""
    p = subparsers.add_parser(
        "sweep",
        help="run a grid of scenario/training settings x seeds (resumable, parallel)",
        description="Train and evaluate PPO (or a scripted baseline) at every point of a YAML grid, for each "
        "seed, in parallel; rerunning with the same --out resumes.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("spec", metavar="SPEC.yaml", help="the sweep spec")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory (rerun with it to resume)")
    add_runner_arguments(p, workers_help="parallel runs (default: number of CPUs)")
    p.set_defaults(func=run)
    return p


def add_runner_arguments(p: argparse.ArgumentParser, workers_help: str) -> None:
    """The runner's options, shared by ``sweep``, ``mode-map`` and ``tune``: --backend, --workers, --address,
    --storage, --resources, --max-retries, --no-progress, --overwrite."""
    from massbargain.experiments.cli.main import positive_int

    p.add_argument("--backend", choices=BACKENDS, default="local", help="local process pool (default) or ray")
    p.add_argument("--workers", type=positive_int, help=workers_help)
    p.add_argument("--address", metavar="ADDR", help="Ray cluster address (--backend ray; default: a local instance)")
    p.add_argument(
        "--storage",
        metavar="DIR",
        help="(ray) a directory every node shares, through which trained models come back to --out "
        "(default: Ray's object store)",
    )
    p.add_argument(
        "--resources",
        metavar="NAME=N",
        type=_resource,
        action="append",
        help="(ray) a custom resource each run asks for besides one CPU (repeatable), e.g. massbargain=1",
    )
    p.add_argument(
        "--max-retries",
        type=_non_negative_int,
        metavar="N",
        help="(ray) reruns of a run whose node or worker died (default: 3)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="move what --out holds aside (to DIR.old-<time>, never deleted) and start afresh",
    )


def _resource(text: str) -> tuple[str, float]:
    name, sep, amount = text.partition("=")
    try:
        value = float(amount)
    except ValueError:
        value = math.nan
    if not sep or not name.strip() or not value > 0:
        raise argparse.ArgumentTypeError(f"expected NAME=AMOUNT with an amount > 0 (e.g. massbargain=1), got {text!r}")
    return name.strip(), value


def _non_negative_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = -1
    if n < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return n


def runner_options(args: argparse.Namespace) -> dict[str, Any]:
    """The runner's keyword arguments (``backend``, ``workers``, ``address``, ``storage``, ``resources``,
    ``max_retries``, ``progress``) from parsed options."""
    flags = (("--address", args.address), ("--storage", args.storage), ("--resources", args.resources))
    for flag, value in (*flags, ("--max-retries", args.max_retries)):
        if value is not None and args.backend != "ray":
            raise UserError(f"{flag} is for --backend ray")
    return {
        "backend": args.backend,
        "workers": args.workers,
        "address": args.address,
        "storage": args.storage,
        "resources": dict(args.resources) if args.resources else None,
        "max_retries": args.max_retries,
        "progress": not args.no_progress,
    }


@contextlib.contextmanager
def resumable(out: str | os.PathLike) -> Iterator[None]:
    """On Ctrl-C inside the block, say that finished runs are kept and how to resume, then let it propagate."""
    try:
        yield
    except KeyboardInterrupt:
        print(f"interrupted; finished runs are kept. Resume with the same command (--out {out}).")
        raise


def run(args: argparse.Namespace) -> int:
    """Execute ``massbargain sweep``."""
    from massbargain.extras import require

    require("train", "analysis", *(("ray",) if args.backend == "ray" else ()), what="massbargain sweep")
    options = runner_options(args)
    spec = SweepSpec.from_yaml(args.spec)
    check_output_dir(args.out, spec.to_dict(), resume=True, overwrite=args.overwrite, what=SWEEP_KIND)
    runs = spec.runs()
    done = set() if args.overwrite else finished_ids(args.out) & {r.run_id for r in runs}
    print(f"sweep: {len(runs)} runs ({len(done)} already finished in {args.out}), backend {args.backend}")
    with resumable(args.out):
        df = sweep(spec, args.out, overwrite=args.overwrite, **options)
    print(f"done: {len(df)} runs; table {Path(args.out) / 'results.csv'} (and results.parquet)")
    return 0
