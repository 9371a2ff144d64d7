"""Global sensitivity of the headline answer: Morris screening over every continuous scenario parameter,
then Sobol indices on the most influential ones (SALib).

The question: which assumptions decide whether consent instability or mobilization pays? Outputs at each
parameter point, computed with the scripted families (:mod:`massbargain.agents.families`):

=================  ==========================================================================================
``margin``         mean return of the best consent member minus that of the best mobilization member
``best_consent``   1 if the best member overall is a consent member, else 0 (``best_mobilized`` likewise)
``best_return``    mean return of the best member overall
``concession``     the best member's concession rate
``punishment``     the best member's punishment rate
=================  ==========================================================================================

Each member is chosen on the choice seed (:func:`massbargain.agents.families.choice_seed`) and reported on
the report seed, as :func:`massbargain.experiments.measures.choice.best_members` does, with the **same
episode seeds at every point** (common random numbers): two points differ by their parameters, not by
their luck.

The design, step by step (:func:`run_sensitivity`):

1. **Box**: every continuous parameter (:func:`continuous_keys`: float parameters of the scenario; whole-
   number ones such as days and residents are left out) moves by ±``spread`` (50%) of its value in the base
   preset, clipped to its declared range; a parameter at 0 moves in [lo, lo + 2% of its range]. Constraints
   between parameters are the scenario's own (:class:`massbargain.scenario.Scenario` raises ScenarioError):
   the only one is ``veto_disorder <= takeover_disorder``, kept by raising the takeover's lower bound to the
   veto's upper bound (:data:`ORDERED`); :func:`check_box` builds the scenario at every corner of every
   pair of parameters, so a new constraint fails loudly instead of producing invalid samples.
2. **Reduced family grid** (:func:`reduced_grid`, :func:`grid_members`): the full grid (193 members) costs
   ~5 s per point (a member's cost is mostly the 30 daily steps, whatever the number of episodes); every
   member of the full grid plays the three presets and ``grid_points`` random points of the box, and the
   members best of their mode on a preset, or on at least ``grid_min_wins`` of the scenarios, are kept, with
   each mode's most frequent winner (19 members in the full design; the others won once at a random point,
   mostly near-ties of a kept one). Without the presets' winners the box around the baseline would lack
   its best consent member (+0.16 there, a single win).
3. **Replicates** (:func:`measure_replicates`): at the base and the grid points, the per-episode sd of the
   paired difference behind ``margin`` and the spread of ``margin`` over the points give the episodes per
   point at which episode noise is at most ``noise_share`` (5%) of the margin's variance over the box.
4. **Morris** (``morris_trajectories`` trajectories, 4 levels) over every parameter; elementary effects
   on each output; parameters ranked by mu* (each output's mu* divided by its largest).
5. **Sobol** (Saltelli sampling, first and total order with bootstrap 95% intervals) over the ``sobol_top``
   parameters with the largest mu* of ``margin``, the others at their base value.

Everything random is seeded; points are evaluated in chunks saved as they finish, so an interrupted run
continues where it stopped.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from massbargain.agents import families
from massbargain.rollout import run_episodes
from massbargain.scenario import PRESETS, Scenario, ScenarioError, parameter_table

__all__ = [
    "ORDERED",
    "OUTPUTS",
    "SOBOL_OUTPUTS",
    "Box",
    "SensitivityConfig",
    "box",
    "check_box",
    "continuous_keys",
    "evaluate_point",
    "measure_replicates",
    "morris_analysis",
    "grid_members",
    "reduced_grid",
    "run_sensitivity",
    "scenario_at",
    "sobol_analysis",
]

#: The outputs computed at each point (module docstring).
OUTPUTS: tuple[str, ...] = ("margin", "best_consent", "best_mobilized", "best_return", "concession", "punishment")
#: The outputs Sobol indices are computed for.
SOBOL_OUTPUTS: tuple[str, ...] = ("margin", "best_consent", "concession", "punishment")
#: Pairs (a, b) of parameters the scenario requires to satisfy a <= b.
ORDERED: tuple[tuple[str, str], ...] = (("superior.veto_disorder", "superior.takeover_disorder"),)


def continuous_keys() -> list[str]:
    """Every scenario parameter with a real (not whole-number) value, in the order of the parameter table."""
    return [r["key"] for r in parameter_table() if isinstance(r["default"], float)]


@dataclass(frozen=True)
class Box:
    """The parameter box: ``keys`` with their ``bounds`` (k, 2) around the ``base`` scenario."""

    base: Scenario
    keys: tuple[str, ...]
    bounds: np.ndarray

    def problem(self, keys: Sequence[str] | None = None) -> dict[str, Any]:
        """The SALib problem of ``keys`` (default: all)."""
        keys = list(self.keys if keys is None else keys)
        index = [self.keys.index(k) for k in keys]
        return {"num_vars": len(keys), "names": keys, "bounds": self.bounds[index].tolist()}

    def value(self, key: str) -> float:
        group, _, attr = key.partition(".")
        return float(getattr(getattr(self.base, group), attr))


def box(base: Scenario, keys: Sequence[str] | None = None, spread: float = 0.5, zero_width: float = 0.02) -> Box:
    """The box of ``keys`` (default: :func:`continuous_keys`) around ``base`` (module docstring, step 1)."""
    if not 0.0 < spread < 1.0:
        raise ValueError(f"spread must be in (0, 1), got {spread!r}")
    ranges = {r["key"]: r["range"] for r in parameter_table()}
    keys = tuple(continuous_keys() if keys is None else keys)
    unknown = [k for k in keys if k not in ranges]
    if unknown:
        raise ValueError(f"unknown scenario parameter {unknown[0]!r}; see massbargain.scenario.valid_keys()")
    rows = []
    for key in keys:
        group, _, attr = key.partition(".")
        v = float(getattr(getattr(base, group), attr))
        lo, hi = ranges[key]
        if v != 0.0:
            rows.append([max(lo, v - spread * abs(v)), min(hi, v + spread * abs(v))])
        else:
            rows.append([lo, lo + zero_width * (hi - lo)])
    bounds = np.array(rows, dtype=float)
    for a, b in ORDERED:
        if a in keys and b in keys:
            ia, ib = keys.index(a), keys.index(b)
            bounds[ib, 0] = max(bounds[ib, 0], bounds[ia, 1])
            if bounds[ib, 0] >= bounds[ib, 1]:
                raise ValueError(f"the box of {b} is empty once kept above {a}; widen spread")
    return Box(base, keys, bounds)


def scenario_at(b: Box, x: np.ndarray, keys: Sequence[str] | None = None) -> Scenario:
    """The base scenario with ``keys`` (default: all of the box) set to the values ``x``; ScenarioError if
    the scenario refuses them."""
    keys = b.keys if keys is None else keys
    return b.base.with_overrides({k: float(v) for k, v in zip(keys, x, strict=True)})


def check_box(b: Box) -> int:
    """Build the scenario at the four corners of every pair of parameters of the box (the others at their
    lower bound, then at their upper bound); return how many scenarios were built. Raises ScenarioError on
    the first invalid one: a constraint between parameters the box does not respect."""
    k = len(b.keys)
    built = 0
    for side in (0, 1):
        x0 = b.bounds[:, side].copy()
        scenario_at(b, x0)
        built += 1
        for i, j in itertools.combinations(range(k), 2):
            for si, sj in ((0, 0), (0, 1), (1, 0), (1, 1)):
                x = x0.copy()
                x[i], x[j] = b.bounds[i, si], b.bounds[j, sj]
                try:
                    scenario_at(b, x)
                except ScenarioError as exc:
                    raise ScenarioError(
                        f"the sensitivity box allows an invalid scenario ({b.keys[i]}, {b.keys[j]}): {exc}"
                    ) from None
                built += 1
    return built


# --- outputs at one point --------------------------------------------------------------------------------


def evaluate_point(
    scenario: Scenario, candidates: Sequence[families.Member], episodes: int, seed: int = 0
) -> dict[str, float]:
    """The outputs (:data:`OUTPUTS`) of one scenario: members chosen on ``choice_seed(seed)``, reported on
    ``seed``, ``episodes`` episodes each, the same seeds at every point."""
    choice = families.select(scenario, candidates, episodes, families.choice_seed(seed))
    chosen = {mode: families.best(choice, mode=mode)[0] for mode in families.MODES if _has(candidates, mode)}
    overall = families.best(choice)[0]
    batches = {m.name: run_episodes(m, scenario, episodes, seed) for m in {*chosen.values(), overall}}
    consent, mobilized = batches[chosen["consent"].name], batches[chosen["mobilized"].name]
    top = batches[overall.name]
    return {
        "margin": float(consent.returns.mean() - mobilized.returns.mean()),
        "best_consent": float(overall.mode == "consent"),
        "best_mobilized": float(overall.mode == "mobilized"),
        "best_return": float(top.returns.mean()),
        "concession": top.concession_rate,
        "punishment": top.punishment_rate,
        "margin_sd": float((consent.returns - mobilized.returns).std(ddof=1)),
        "best_mode": families.MODES.index(overall.mode),
    }


def _has(candidates: Sequence[families.Member], mode: str) -> bool:
    return any(m.mode == mode for m in candidates)


def reduced_grid(scenarios: Iterable[Scenario], episodes: int = 300, seed: int = 0) -> list[dict[str, Any]]:
    """The best member of each mode of the full family grid on each of ``scenarios`` (played on
    ``choice_seed(seed)``, ``episodes`` each): one row per (scenario, mode). :func:`grid_members` keeps
    those that win often enough."""
    full = families.members()
    rows = []
    for i, sc in enumerate(scenarios):
        sel = families.select(sc, full, episodes, families.choice_seed(seed))
        for mode in families.MODES:
            m, r = families.best(sel, mode=mode)
            rows.append({"point": i, "scenario": sc.name, "mode": mode, "member": m.name, "mean_return": r.mean_return})
    return rows


def grid_members(
    rows: Sequence[Mapping[str, Any]], min_wins: int = 1, days: int = 30, always: Sequence[str] = tuple(PRESETS)
) -> list[families.Member]:
    """The members of :func:`reduced_grid`'s rows that were best of their mode on a scenario named in
    ``always`` (the presets), or on at least ``min_wins`` of all the scenarios, and for each mode the member
    that won most often (so that every mode is represented); in family order."""
    import collections

    wins = collections.Counter(r["member"] for r in rows)
    kept = {name for name, n in wins.items() if n >= min_wins}
    kept |= {r["member"] for r in rows if r["scenario"] in always}
    for mode in dict.fromkeys(r["mode"] for r in rows):
        of_mode = [r["member"] for r in rows if r["mode"] == mode]
        kept.add(max(dict.fromkeys(of_mode), key=lambda name: (wins[name], -of_mode.index(name))))
    full = families.members()
    return [families.parse_member(m.name, days) for m in full if m.name in kept]


def measure_replicates(
    scenarios: Sequence[Scenario],
    candidates: Sequence[families.Member],
    episodes: int = 1000,
    seed: int = 0,
    noise_share: float = 0.05,
    bounds: tuple[int, int] = (100, 4000),
) -> tuple[int, list[dict[str, Any]]]:
    """Episodes per point so that the episode noise of ``margin`` is at most ``noise_share`` of its variance
    over ``scenarios`` (points of the box): n = max sd² / (noise_share · var(margin)), within ``bounds``.

    ``margin`` is a paired difference with per-episode sd ``sd`` at a point, so its noise variance with n
    episodes is sd²/n; its variance over the box is measured on ``episodes`` episodes per point."""
    if len(scenarios) < 2:
        raise ValueError("measure_replicates needs at least two points to measure the spread of the margin")
    rows = []
    for i, sc in enumerate(scenarios):
        out = evaluate_point(sc, candidates, episodes, seed)
        rows.append({"point": i, "episodes": episodes, "margin": out["margin"], "margin_sd": out["margin_sd"]})
    sd2 = max(r["margin_sd"] for r in rows) ** 2
    spread = float(np.var([r["margin"] for r in rows], ddof=1)) - sd2 / episodes  # less the noise it holds
    n = bounds[1] if spread <= 0 else int(math.ceil(sd2 / (noise_share * spread)))
    return int(min(max(n, bounds[0]), bounds[1])), rows


# --- the design -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SensitivityConfig:
    """Settings of :func:`run_sensitivity` (``quick()``: the ≤5-minute version).

    Attributes:
        base: the preset the box is built around.
        spread: relative half-width of the box (0.5: ±50%).
        grid_points: random box points (besides the three presets) that choose the reduced family grid.
        grid_episodes: episodes per member there.
        grid_min_wins: a member is kept if it was best of its mode on at least this many of those scenarios.
        noise_share: the episode noise of ``margin`` may be this share of its variance over the box.
        replicate_episodes: episodes per point of the replicates' measurement.
        max_episodes: at most this many episodes per point, whatever the measurement says.
        morris_trajectories: Morris trajectories (points: (k + 1) × this).
        sobol_top: parameters Sobol indices are computed for.
        sobol_samples: Saltelli base samples N (points: N × (sobol_top + 2)), a power of 2.
        seed: seed of the samplers and of the episodes (the same episodes at every point).
    """

    base: str = "baseline"
    spread: float = 0.5
    grid_points: int = 12
    grid_episodes: int = 300
    grid_min_wins: int = 2
    noise_share: float = 0.05
    replicate_episodes: int = 1000
    max_episodes: int = 300
    morris_trajectories: int = 6
    sobol_top: int = 4
    sobol_samples: int = 8192
    seed: int = 0

    @classmethod
    def quick(cls) -> SensitivityConfig:
        return cls(
            grid_points=4,
            grid_episodes=150,
            grid_min_wins=1,
            noise_share=0.1,
            replicate_episodes=300,
            max_episodes=150,
            morris_trajectories=3,
            sobol_top=3,
            sobol_samples=32,
        )

    def __post_init__(self) -> None:
        if self.base not in PRESETS:
            raise ValueError(f"base must be one of {', '.join(PRESETS)}, got {self.base!r}")
        n = self.sobol_samples
        if n < 2 or n & (n - 1):
            raise ValueError(f"sobol_samples must be a power of 2 >= 2, got {n!r}")
        for name in ("grid_episodes", "max_episodes", "morris_trajectories", "sobol_top"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)!r}")
        if self.morris_trajectories < 2:
            raise ValueError(f"morris_trajectories must be >= 2, got {self.morris_trajectories!r}")
        if not 0.0 < self.noise_share < 1.0:
            raise ValueError(f"noise_share must be in (0, 1), got {self.noise_share!r}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _evaluate_chunk(args: tuple[Box, np.ndarray, tuple[str, ...], list[str], int, int]) -> np.ndarray:
    b, xs, keys, names, episodes, seed = args
    days = b.base.horizon.days
    candidates = [families.parse_member(n, days) for n in names]
    out = np.empty((len(xs), len(OUTPUTS)))
    for i, x in enumerate(xs):
        values = evaluate_point(scenario_at(b, x, keys), candidates, episodes, seed)
        out[i] = [values[o] for o in OUTPUTS]
    return out


def evaluate_design(
    b: Box,
    X: np.ndarray,
    keys: Sequence[str],
    candidates: Sequence[families.Member],
    episodes: int,
    seed: int,
    *,
    store: Path | None = None,
    chunk: int = 32,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """The outputs (n, len(OUTPUTS)) at every row of ``X`` (values of ``keys``); chunks of ``chunk`` points
    are saved in ``store`` (``chunk-0003.npy``) as they finish and reused on a rerun."""
    names = [m.name for m in candidates]
    starts = list(range(0, len(X), chunk))
    results: dict[int, np.ndarray] = {}
    todo = []
    for s in starts:
        path = None if store is None else store / f"chunk-{s // chunk:04d}.npy"
        if path is not None and path.is_file():
            results[s] = np.load(path)
        else:
            todo.append(s)
    done = len(X) - sum(min(chunk, len(X) - s) for s in todo)

    def keep(s: int, y: np.ndarray) -> None:
        nonlocal done
        results[s] = y
        if store is not None:
            store.mkdir(parents=True, exist_ok=True)
            tmp = store / f".chunk-{s // chunk:04d}.{os.getpid()}.npy"
            np.save(tmp, y)
            os.replace(tmp, store / f"chunk-{s // chunk:04d}.npy")
        done += len(y)
        if progress is not None:
            progress(done, len(X))

    jobs = [(s, (b, X[s : s + chunk], tuple(keys), names, episodes, seed)) for s in todo]
    if workers <= 1 or len(jobs) <= 1:
        for s, job in jobs:
            keep(s, _evaluate_chunk(job))
    else:
        import concurrent.futures as cf
        import multiprocessing as mp

        with cf.ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as pool:
            futures = {pool.submit(_evaluate_chunk, job): s for s, job in jobs}
            for fut in cf.as_completed(futures):
                keep(futures[fut], fut.result())
    return np.concatenate([results[s] for s in starts])


def morris_analysis(problem: Mapping[str, Any], X: np.ndarray, Y: np.ndarray, seed: int = 0) -> list[dict[str, Any]]:
    """Morris mu*, its 95% bootstrap interval and sigma of each parameter for each column of ``Y``
    (:data:`OUTPUTS`), one row per (output, parameter)."""
    from SALib.analyze import morris

    rows = []
    for j, output in enumerate(OUTPUTS[: Y.shape[1]]):
        res = morris.analyze(
            dict(problem), X, Y[:, j], num_resamples=200, conf_level=0.95, num_levels=4, seed=_bootstrap_seed(seed)
        )
        for i, name in enumerate(problem["names"]):
            rows.append(
                {
                    "output": output,
                    "parameter": name,
                    "mu": float(res["mu"][i]),
                    "mu_star": float(res["mu_star"][i]),
                    "mu_star_conf": float(res["mu_star_conf"][i]),
                    "sigma": float(res["sigma"][i]),
                }
            )
    return rows


def rank_parameters(
    rows: Sequence[Mapping[str, Any]], outputs: Sequence[str] = SOBOL_OUTPUTS
) -> list[tuple[str, float]]:
    """Parameters by their largest normalized mu* (mu* / the output's largest mu*) over ``outputs``."""
    score: dict[str, float] = {}
    for output in outputs:
        of = [r for r in rows if r["output"] == output]
        top = max((r["mu_star"] for r in of), default=0.0)
        for r in of:
            s = r["mu_star"] / top if top > 0 else 0.0
            score[r["parameter"]] = max(score.get(r["parameter"], 0.0), s)
    return sorted(score.items(), key=lambda kv: -kv[1])


def _bootstrap_seed(seed: int) -> int:
    """The seed passed to SALib's analyses: SALib 1.6 tests ``if seed:`` and draws its bootstrap from numpy's
    global generator for seed 0, so the intervals would change from run to run; seed + 1 is never 0."""
    return int(seed) + 1


def sobol_analysis(problem: Mapping[str, Any], Y: np.ndarray, seed: int = 0) -> list[dict[str, Any]]:
    """First and total order Sobol indices with 95% bootstrap intervals, one row per (output, parameter)."""
    from SALib.analyze import sobol

    rows = []
    for output in SOBOL_OUTPUTS:
        y = Y[:, OUTPUTS.index(output)]
        if np.var(y) == 0:
            res = {k: np.full(problem["num_vars"], np.nan) for k in ("S1", "S1_conf", "ST", "ST_conf")}
        else:
            res = sobol.analyze(
                dict(problem),
                y,
                calc_second_order=False,
                num_resamples=200,
                conf_level=0.95,
                seed=_bootstrap_seed(seed),
            )
        for i, name in enumerate(problem["names"]):
            rows.append(
                {
                    "output": output,
                    "parameter": name,
                    "S1": float(res["S1"][i]),
                    "S1_conf": float(res["S1_conf"][i]),
                    "ST": float(res["ST"][i]),
                    "ST_conf": float(res["ST_conf"][i]),
                    "variance": float(np.var(y)),
                }
            )
    return rows


def run_sensitivity(
    config: SensitivityConfig,
    out: str | os.PathLike | None = None,
    *,
    workers: int = 1,
    log: Callable[[str], Any] | None = print,
) -> dict[str, Any]:
    """Every step of the module docstring; with ``out``, the tables, plots and report.md are written there
    and finished stages are reused on a rerun. Returns the tables (lists of rows) and timings."""
    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample

    say = log or (lambda _msg: None)
    store = None if out is None else Path(out)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    base = PRESETS[config.base]
    b = box(base, spread=config.spread)
    check_box(b)
    rng = np.random.default_rng(config.seed)
    points = [scenario_at(b, rng.uniform(b.bounds[:, 0], b.bounds[:, 1])) for _ in range(config.grid_points)]
    t = time.perf_counter()
    grid_scenarios = [*PRESETS.values(), *(p.with_overrides({"name": f"box-{i}"}) for i, p in enumerate(points))]
    grid_rows = _cached(store, "grid", lambda: reduced_grid(grid_scenarios, config.grid_episodes, config.seed))
    candidates = grid_members(grid_rows, config.grid_min_wins, base.horizon.days)
    timings["grid"] = time.perf_counter() - t
    say(
        f"reduced family grid: {len(candidates)} members (best of their mode on a preset, or on at least "
        f"{config.grid_min_wins} of the 3 presets and {len(points)} points, and each mode's most frequent winner)"
    )
    t = time.perf_counter()
    episodes, replicate_rows = _cached(
        store,
        f"replicates-{families.digest(candidates)}",
        lambda: measure_replicates(
            [base, *points],
            candidates,
            config.replicate_episodes,
            config.seed,
            config.noise_share,
            (50, config.max_episodes),
        ),
    )
    timings["replicates"] = time.perf_counter() - t
    worst = max(r["margin_sd"] for r in replicate_rows)
    spread = float(np.std([r["margin"] for r in replicate_rows], ddof=1))
    say(
        f"replicates: per-episode sd of the margin up to {worst:.3f}, sd over {len(replicate_rows)} points "
        f"{spread:.3f}; {episodes} episodes per point (95% half-width {1.96 * worst / math.sqrt(episodes):.3f})"
    )
    # Morris over every parameter
    t = time.perf_counter()
    problem = b.problem()
    X_m = morris_sample.sample(problem, config.morris_trajectories, num_levels=4, seed=config.seed)
    say(f"Morris: {len(b.keys)} parameters, {config.morris_trajectories} trajectories, {len(X_m)} points")
    Y_m = evaluate_design(
        b,
        X_m,
        b.keys,
        candidates,
        episodes,
        config.seed,
        store=None if store is None else store / "points" / f"morris-{families.digest(candidates)}-{episodes}",
        workers=workers,
        progress=_progress(say, "Morris"),
    )
    morris_rows = morris_analysis(problem, X_m, Y_m, config.seed)
    timings["morris"] = time.perf_counter() - t
    ranking = rank_parameters(morris_rows)
    # Sobol's parameters: the largest mu* of the margin, the headline output (the 0/1 mode indicator's
    # elementary effects are 0 or ±1, too coarse with a few trajectories to rank by)
    top = [k for k, _ in rank_parameters(morris_rows, outputs=("margin",))[: config.sobol_top]]
    say(f"most influential: {', '.join(top)}")
    # Sobol over the top parameters
    t = time.perf_counter()
    sub = b.problem(top)
    X_s = sobol_sample.sample(sub, config.sobol_samples, calc_second_order=False, seed=config.seed)
    say(f"Sobol: {len(top)} parameters, N = {config.sobol_samples}, {len(X_s)} points")
    Y_s = evaluate_design(
        b,
        X_s,
        top,
        candidates,
        episodes,
        config.seed,
        store=None
        if store is None
        else store
        / "points"
        / f"sobol-{families.digest(candidates)}-{episodes}-{'-'.join(k.split('.')[1] for k in top)}",
        workers=workers,
        progress=_progress(say, "Sobol"),
    )
    sobol_rows = sobol_analysis(sub, Y_s, config.seed)
    timings["sobol"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t0
    result = {
        "config": config.to_dict(),
        "box": [
            {"parameter": k, "base": b.value(k), "low": lo, "high": hi}
            for k, (lo, hi) in zip(b.keys, b.bounds, strict=True)
        ],
        "members": [m.name for m in candidates],
        "grid": grid_rows,
        "episodes": episodes,
        "replicates": replicate_rows,
        "morris": morris_rows,
        "ranking": [{"parameter": k, "score": s} for k, s in ranking],
        "sobol_parameters": top,
        "sobol": sobol_rows,
        "morris_points": _points_rows(X_m, b.keys, Y_m),
        "sobol_points": _points_rows(X_s, top, Y_s),
        "timings": timings,
        "workers": workers,
    }
    if store is not None:
        from massbargain.experiments.measures.sensitivity_report import write_outputs

        write_outputs(result, store)
    return result


def _points_rows(X: np.ndarray, keys: Sequence[str], Y: np.ndarray) -> list[dict[str, float]]:
    return [
        {**dict(zip(keys, map(float, x), strict=True)), **dict(zip(OUTPUTS, map(float, y), strict=True))}
        for x, y in zip(X, Y, strict=True)
    ]


def _progress(say: Callable[[str], Any], what: str) -> Callable[[int, int], None]:
    last = [-1.0]

    def report(done: int, total: int) -> None:
        share = done / total
        if share - last[0] >= 0.25 or done == total:
            last[0] = share
            say(f"  {what}: {done}/{total} points")

    return report


def _cached(store: Path | None, name: str, compute: Callable[[], Any]) -> Any:
    """``compute()`` (JSON: lists, dicts, numbers), saved as ``store/stages/name.json`` and read back on a
    rerun."""
    import json

    from massbargain.agents.outdir import atomic_write_text

    path = None if store is None else store / "stages" / f"{name}.json"
    if path is not None and path.is_file():
        return json.loads(path.read_text())
    value = compute()
    if path is not None:
        atomic_write_text(path, json.dumps(value))
    return value


# --- command line ----------------------------------------------------------------------------------------

_EXAMPLES = """examples:
  massbargain sensitivity --quick --out runs/sensitivity-quick    # about 2 minutes on 2 cores
  massbargain sensitivity --out runs/sensitivity --workers 2      # the full design: ~2 h (docs/SENSITIVITY.md)

Writes box, grid, replicates, morris, ranking, sobol, morris_points and sobol_points (.csv and .parquet),
members.txt, morris.png, sobol.png, result.json and report.md. An interrupted run continues where it stopped
(rerun the same command); another configuration in the same --out is refused unless --overwrite."""


def add_parser(subparsers: Any) -> Any:
    """Register the ``sensitivity`` subcommand; :func:`run` executes it."""
    import argparse

    from massbargain.experiments.cli.main import positive_int, seed_int

    p = subparsers.add_parser(
        "sensitivity",
        help="global sensitivity (Morris, then Sobol) of what decides consent vs mobilization",
        description="Morris screening over every continuous scenario parameter, then Sobol indices on the most "
        "influential ones, for the margin of the best consent policy over the best mobilization policy, the "
        "best policy's mode, concession and punishment rates (scripted families).",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--quick", action="store_true", help="the small design (about 2 minutes on 2 cores)")
    p.add_argument("--base", choices=list(PRESETS), help="preset the box is built around (default: baseline)")
    p.add_argument("--trajectories", type=positive_int, help="Morris trajectories (default: 6; quick: 3)")
    p.add_argument("--sobol-top", type=positive_int, help="parameters for Sobol (default: 4; quick: 3)")
    p.add_argument("--sobol-samples", type=positive_int, help="Saltelli N, a power of 2 (default: 8192; quick: 32)")
    p.add_argument("--max-episodes", type=positive_int, help="episodes per point at most (default: 300; quick: 150)")
    p.add_argument("--seed", type=seed_int, help="seed of the samplers and episodes (default: 0)")
    p.add_argument("--workers", type=positive_int, default=1, help="processes (default: 1)")
    p.add_argument(
        "--agents",
        action="store_true",
        help="instead: Morris by parameter group with one trained PPO agent per point (train extra)",
    )
    p.add_argument("--agent-timesteps", type=positive_int, default=300_000, help="steps per agent (300000)")
    p.add_argument("--agent-trajectories", type=positive_int, default=2, help="Morris trajectories (default: 2)")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory")
    p.add_argument("--overwrite", action="store_true", help="move what --out holds aside first")
    p.set_defaults(func=run)
    return p


def run(args: Any) -> int:
    from massbargain.agents.config import UserError
    from massbargain.agents.outdir import prepare_output_dir
    from massbargain.extras import require

    require("explain", "analysis", what="massbargain sensitivity")
    config = SensitivityConfig.quick() if args.quick else SensitivityConfig()
    changes = {
        "base": args.base,
        "morris_trajectories": args.trajectories,
        "sobol_top": args.sobol_top,
        "sobol_samples": args.sobol_samples,
        "max_episodes": args.max_episodes,
        "seed": args.seed,
    }
    try:
        config = dataclasses.replace(config, **{k: v for k, v in changes.items() if v is not None})
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if args.agents:
        return _run_agents(args, config)
    out = prepare_output_dir(args.out, config.to_dict(), resume=True, overwrite=args.overwrite, what="sensitivity")
    result = run_sensitivity(config, out, workers=args.workers)
    print(f"wrote {out / 'report.md'} ({result['timings']['total']:.0f} s)")
    return 0


def _run_agents(args: Any, config: SensitivityConfig) -> int:
    import json

    import pandas as pd

    from massbargain.agents.config import UserError
    from massbargain.agents.outdir import atomic_write_text, prepare_output_dir
    from massbargain.experiments.maps.sweep import write_table
    from massbargain.experiments.measures.sensitivity_agents import agents_group_morris
    from massbargain.extras import require

    require("train", what="massbargain sensitivity --agents")
    if args.agent_trajectories < 2:
        raise UserError(f"--agent-trajectories must be >= 2, got {args.agent_trajectories}")
    settings = {
        "base": config.base,
        "spread": config.spread,
        "seed": config.seed,
        "agents": {"timesteps": args.agent_timesteps, "trajectories": args.agent_trajectories},
    }
    out = prepare_output_dir(args.out, settings, resume=True, overwrite=args.overwrite, what="sensitivity (agents)")
    start = time.perf_counter()
    b = box(PRESETS[config.base], spread=config.spread)
    result = agents_group_morris(b, out, args.agent_trajectories, args.agent_timesteps, seed=config.seed)
    result["seconds"] = time.perf_counter() - start
    write_table(pd.DataFrame(result["rows"]), out, "agents_morris")
    write_table(pd.DataFrame(result["points"]), out, "agents_points")
    atomic_write_text(out / "agents.json", json.dumps(result, indent=1))
    for output in ("agent_return", "agent_consent"):
        rows = sorted((r for r in result["rows"] if r["output"] == output), key=lambda r: -r["mu_star"])
        print(f"{output}: " + ", ".join(f"{r['group']} {r['mu_star']:.3f}" for r in rows))
    print(f"wrote {out / 'agents_morris.csv'} ({result['seconds']:.0f} s)")
    return 0
