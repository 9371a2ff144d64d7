"""The reference planner's figures (docs/PLANNER.md), on model v1 and v0.

For each model version and preset it measures, on the same episodes (seed ``--seed``, common luck):

* **returns**: the honest and (on ``--clairvoyant-versions``, default the latest) the clairvoyant planner
  (default settings) and every scripted baseline
  (:data:`massbargain.agents.baselines.BASELINES`), each a mean with its 95% interval, and the paired
  differences honest − best baseline and clairvoyant − honest;
* **empty-square crackdowns** (issue 12): the days on which the honest planner plays CRACKDOWN while
  yesterday's crowd, the crowd a crackdown strikes, is below :data:`EMPTY_SQUARE` (0.5% of residents),
  per episode, and the share of episodes with at least one such day; with all its CRACKDOWN days beside;
* **exploit** (``--exploit-episodes``, default 200): whether issue 12's empty-square crackdown pays: the
  script (CRACKDOWN on days 0-3, then PACIFY a radical crowd, else PETITION) against PETITION alone on ten
  times as many episodes, and the honest planner given the script as an extra base policy (its return
  against the default planner's, and its empty-square crackdowns);
* **belief**: how the honest belief learns the brokers' recklessness ρ over days of broker activity
  (:func:`recklessness_curve`, 3000 episodes);
* **speed** (``--speed-episodes``, default 200; model versions ``--speed-versions``, default the latest):
  :func:`massbargain.agents.planner.planner_speed` of both planners, construction included.

Usage::

    python -m massbargain.experiments.measures.planner_figures --out runs/planner_figures
    python -m massbargain.experiments.measures.planner_figures --out runs/pf --versions 1 --presets daye --no-speed

Every (version, preset, figure) is cached in ``OUT`` as JSON stamped with its settings, so an interrupted
run resumes where it stopped; a cache made with other settings is an error unless ``--overwrite``. The
Markdown tables go to stdout and to ``OUT/figures.md``.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from massbargain.actions import Action
from massbargain.core import OBS_INDEX
from massbargain.scenario import LATEST_VERSION, MODEL_VERSIONS, PRESETS

__all__ = ["EMPTY_SQUARE", "CrackdownCounter", "format_markdown", "main", "recklessness_curve", "run_figures"]

#: Yesterday's crowd share below which a CRACKDOWN strikes an empty square.
EMPTY_SQUARE = 0.005
KINDS = ("honest", "clairvoyant")
CURVE_DAYS = (1, 2, 3, 5, 8)


class CrackdownCounter:
    """A ``watch`` for :func:`~massbargain.agents.planner.evaluate_policy`: per episode, the CRACKDOWN days,
    and those on an empty square (the observed crowd, yesterday's after dispersals, below ``empty``)."""

    def __init__(self, episodes: int, empty: float = EMPTY_SQUARE) -> None:
        self.empty = empty
        self.all = np.zeros(episodes, dtype=np.int64)
        self.on_empty_square = np.zeros(episodes, dtype=np.int64)

    def __call__(self, obs: np.ndarray, actions: np.ndarray, running: np.ndarray) -> None:
        crackdown = (np.asarray(actions) == int(Action.CRACKDOWN)) & running
        self.all += crackdown
        self.on_empty_square += crackdown & (obs[:, OBS_INDEX["crowd"]] < self.empty)

    def summary(self) -> dict[str, float]:
        return {
            "crackdown_days": float(self.all.mean()),
            "empty_square_days": float(self.on_empty_square.mean()),
            "empty_square_share": float((self.on_empty_square > 0).mean()),
        }


def _mean_ci(x: np.ndarray) -> tuple[float, float]:
    return float(x.mean()), float(1.96 * x.std(ddof=1) / np.sqrt(x.size)) if x.size > 1 else float("nan")


def _play(version: int, preset: str, episodes: int, seed: int, kinds: Sequence[str] = KINDS) -> dict[str, Any]:
    """The planners ``kinds`` and every baseline on the same episodes, with the planners' crackdown counts."""
    from massbargain.agents.baselines import BASELINES, RandomPolicy
    from massbargain.agents.planner import evaluate_planner, evaluate_policy, make_planner
    from massbargain.scenario import Scenario

    scenario = Scenario.preset(preset, version)
    out: dict[str, Any] = {"returns": {}, "crackdowns": {}, "seconds": {}}
    for kind in kinds:
        counter = CrackdownCounter(episodes)
        t0 = time.perf_counter()
        batch = evaluate_planner(make_planner(kind, scenario, seed=seed), scenario, episodes, seed, True, counter)
        out["seconds"][kind] = time.perf_counter() - t0
        out["returns"][kind] = batch.returns.tolist()
        out["crackdowns"][kind] = counter.summary()
    for name, policy in BASELINES.items():
        policy = RandomPolicy(0) if isinstance(policy, RandomPolicy) else policy
        out["returns"][name] = evaluate_policy(policy, scenario, episodes, seed, common_luck=True).returns.tolist()
    return out


def _keep_brokers_active(obs: np.ndarray) -> np.ndarray:
    """MOBILIZE while broker activity is below 0.4, else PACIFY: brokers active every day."""
    return np.where(obs[:, OBS_INDEX["broker_activity"]] < 0.4, int(Action.MOBILIZE), int(Action.PACIFY))


def recklessness_curve(scenario: Any, episodes: int = 3000, days: int = 10, seed: int = 0) -> dict[str, Any]:
    """How the honest belief learns the brokers' recklessness ρ: after d days of broker activity, the mean
    absolute error of the posterior mean of ρ (the best predictor from those days), beside the prior mean's.

    A policy keeps the brokers active every day (MOBILIZE while their activity is below 0.4, else PACIFY) on
    ``episodes`` episodes while a :class:`~massbargain.agents.planner.Belief` follows them; rows are grouped
    by their days of observed activity. Returns ``days`` (d), ``episodes`` (rows with d days), ``error`` and
    ``prior_error`` (lists, one entry per d), and ``calibration``: the mean of the posterior's CDF at the true
    ρ at the end, and the share below 0.1 (0.5 and 0.1 if calibrated; None where one day reveals ρ).
    """
    from massbargain import core
    from massbargain.agents.planner import Belief

    rng = np.random.default_rng(seed)
    state = core.initial_state(scenario, rng, episodes)
    belief = Belief(scenario, episodes)
    obs = core.observe(state, scenario).astype(np.float64)
    belief.start(np.arange(episodes), obs)
    running = np.ones(episodes, dtype=bool)
    curve: dict[int, tuple[int, float, float]] = {}
    for _ in range(days):
        actions = _keep_brokers_active(obs)
        belief.prev_action[:] = actions
        running &= ~core.step(state, actions, scenario, rng).terminated
        obs = core.observe(state, scenario).astype(np.float64)
        rows = np.flatnonzero(running)
        belief.update(rows, obs[rows])
        belief.prev[rows] = obs[rows]
        seen, truth = belief.rho.days[rows], state.recklessness[rows]
        error = np.abs(belief.rho.mean(rows) - truth)
        prior = np.abs(scenario.brokers.recklessness - truth)
        for d in np.unique(seen).tolist():
            m = seen == d
            if d not in curve and m.sum() >= 30:
                curve[d] = (int(m.sum()), float(error[m].mean()), float(prior[m].mean()))
    keys = sorted(curve)
    out: dict[str, Any] = {
        "days": keys,
        "episodes": [curve[d][0] for d in keys],
        "error": [curve[d][1] for d in keys],
        "prior_error": [curve[d][2] for d in keys],
        "calibration": None,
    }
    if not belief.rho.exact and belief.rho.point is None:  # the posterior's CDF at the truth: uniform
        rank = belief.rho.cdf(rows, state.recklessness[rows])
        out["calibration"] = {"mean": float(rank.mean()), "below_0.1": float((rank < 0.1).mean())}
    return out


def _belief(version: int, preset: str, episodes: int, seed: int) -> dict[str, Any]:
    from massbargain.scenario import Scenario

    return recklessness_curve(Scenario.preset(preset, version), episodes, seed=seed)


def _empty_square_script(obs: np.ndarray) -> np.ndarray:
    """Issue 12's exploit: CRACKDOWN on the first four days (on an empty square), then PACIFY a radical crowd
    (radical share above 0.3) and PETITION otherwise."""
    early = obs[:, OBS_INDEX["time_used"]] * _DAYS < 3.5
    radical = obs[:, OBS_INDEX["radical_share"]] > 0.3
    return np.where(early, int(Action.CRACKDOWN), np.where(radical, int(Action.PACIFY), int(Action.PETITION)))


_DAYS = 30  # the presets' horizon (checked in _exploit)


def _exploit(version: int, preset: str, episodes: int, seed: int) -> dict[str, Any]:
    """Does the empty-square crackdown pay? The exploit script against PETITION alone (10 × ``episodes``,
    paired), and the honest planner given the script as an extra base policy (``episodes``): its returns and
    its empty-square crackdowns."""
    from massbargain.agents.baselines import BASELINES
    from massbargain.agents.planner import default_base_policies, evaluate_planner, evaluate_policy, make_planner
    from massbargain.policy import RulePolicy
    from massbargain.scenario import Scenario

    scenario = Scenario.preset(preset, version)
    assert scenario.horizon.days == _DAYS, "the exploit script counts days on a 30-day horizon"
    script = RulePolicy("empty-square crackdown", _empty_square_script, _empty_square_script.__doc__ or "")
    n = 10 * episodes
    exploit = evaluate_policy(script, scenario, n, seed, common_luck=True).returns
    petition = evaluate_policy(BASELINES["petition"], scenario, n, seed, common_luck=True).returns
    bases = [*default_base_policies(scenario), script]
    counter = CrackdownCounter(episodes)
    planner = make_planner("honest", scenario, base_policies=bases, seed=seed)
    returns = evaluate_planner(planner, scenario, episodes, seed, True, counter).returns
    default = evaluate_planner(make_planner("honest", scenario, seed=seed), scenario, episodes, seed, True).returns
    return {
        "script_minus_petition": (exploit - petition).tolist(),
        "planner_with_script": returns.tolist(),
        "planner_default": default.tolist(),
        "crackdowns": counter.summary(),
    }


def _speed(version: int, preset: str, episodes: int, seed: int) -> dict[str, Any]:
    from massbargain.agents.planner import planner_speed
    from massbargain.scenario import Scenario

    return {kind: planner_speed(kind, Scenario.preset(preset, version), episodes, seed) for kind in KINDS}


def run_figures(
    out: str | Path,
    versions: Sequence[int] = (LATEST_VERSION, 0),
    presets: Sequence[str] = tuple(PRESETS),
    episodes: int = 500,
    seed: int = 100,
    speed_episodes: int | None = 200,
    overwrite: bool = False,
    belief_episodes: int = 3000,
    exploit_episodes: int = 200,
    speed_versions: Sequence[int] = (LATEST_VERSION,),
    clairvoyant_versions: Sequence[int] = (LATEST_VERSION,),
    say: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
) -> dict[str, Any]:
    """Measure (or read from ``out``'s caches) every figure; returns ``{(version, preset): figures}``.

    Raises :class:`~massbargain.agents.config.UserError` when a cache in ``out`` was made with other
    settings and ``overwrite`` is False.
    """
    from massbargain.agents.config import UserError
    from massbargain.agents.outdir import atomic_write_text

    if episodes < 2 or (speed_episodes is not None and speed_episodes < 1):
        raise UserError(f"episodes must be >= 2 and speed episodes >= 1, got {episodes} and {speed_episodes}")
    out = Path(out)
    results: dict[tuple[int, str], dict[str, Any]] = {}
    for version in versions:
        kinds = KINDS if version in clairvoyant_versions else ("honest",)
        jobs: list[tuple[str, Callable[..., dict[str, Any]], int]] = [
            ("play", functools.partial(_play, kinds=kinds), episodes),
            ("belief", _belief, belief_episodes),
            ("exploit", _exploit, exploit_episodes),
        ]
        if speed_episodes is not None and version in speed_versions:
            jobs.append(("speed", _speed, speed_episodes))
        for preset in presets:
            figures: dict[str, Any] = {}
            for what, measure, n in jobs:
                path = out / f"v{version}" / f"{preset}_{what}.json"
                stamp = {"version": version, "preset": preset, "episodes": n, "seed": seed}
                if what == "play":
                    stamp["planners"] = list(kinds)
                cached = json.loads(path.read_text()) if path.is_file() else None
                if cached is not None and cached.get("stamp") == stamp:
                    figures[what] = cached["figures"]
                    continue
                if cached is not None and not overwrite:
                    raise UserError(
                        f"{path} holds figures made with {cached.get('stamp')}, not {stamp}; use another --out "
                        "or pass --overwrite"
                    )
                say(f"v{version} {preset}: {what} on {n} episodes ...")
                t0 = time.perf_counter()
                figures[what] = measure(version, preset, n, seed)
                atomic_write_text(path, json.dumps({"stamp": stamp, "figures": figures[what]}) + "\n")
                say(f"v{version} {preset}: {what} done in {time.perf_counter() - t0:.0f} s")
            results[version, preset] = figures
    return results


def _paired(x: np.ndarray, y: np.ndarray) -> str:
    d = x - y
    return f"{d.mean():+.4f} ± {1.96 * d.std(ddof=1) / np.sqrt(d.size):.4f}"


def format_markdown(results: dict[tuple[int, str], dict[str, Any]]) -> str:
    """The figures as Markdown tables: returns (one table per version), empty-square crackdowns, speed."""
    from massbargain.agents.baselines import BASELINES

    lines: list[str] = []
    versions = sorted({v for v, _ in results}, reverse=True)
    for version in versions:
        lines += [
            f"Returns on model v{version} (mean ± 95% interval; differences paired, episode by episode):",
            "",
            "| preset | honest planner | clairvoyant planner | best scripted baseline | honest − baseline "
            "| clairvoyant − honest |",
            "|---|---|---|---|---|---|",
        ]
        for (v, preset), figures in results.items():
            if v != version:
                continue
            r = {k: np.asarray(x) for k, x in figures["play"]["returns"].items()}
            best = max(BASELINES, key=lambda name: r[name].mean())
            h, b = _mean_ci(r["honest"]), _mean_ci(r[best])
            c = "{:.3f} ± {:.3f}".format(*_mean_ci(r["clairvoyant"])) if "clairvoyant" in r else "—"
            c_h = _paired(r["clairvoyant"], r["honest"]) if "clairvoyant" in r else "—"
            lines.append(
                f"| {preset} | {h[0]:.3f} ± {h[1]:.3f} | {c} | {best}: {b[0]:.3f} ± {b[1]:.3f} "
                f"| {_paired(r['honest'], r[best])} | {c_h} |"
            )
        lines.append("")
    lines += [
        f"Honest planner's CRACKDOWN days on an empty square (yesterday's crowd < {EMPTY_SQUARE}), per episode, "
        "and the share of episodes with any (all its CRACKDOWN days per episode in brackets):",
        "",
        "| preset | " + " | ".join(f"v{v}: days per episode | v{v}: episodes with any" for v in versions) + " |",
        "|---|" + "---|---|" * len(versions),
    ]
    for preset in dict.fromkeys(p for _, p in results):
        cells = []
        for version in versions:
            c = results[version, preset]["play"]["crackdowns"]["honest"]
            days, share = c["empty_square_days"], 100 * c["empty_square_share"]
            cells += [f"{days:.3f} [{c['crackdown_days']:.3f}]", f"{share:.1f}%"]
        lines.append(f"| {preset} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Does the empty-square crackdown pay? Issue 12's script (CRACKDOWN on days 0-3, then PACIFY a radical "
        "crowd, else PETITION) minus PETITION alone, paired; and the honest planner given that script as an "
        "extra base policy: its mean return minus the default planner's (paired), and its empty-square "
        "CRACKDOWN days per episode and share of episodes with any:",
        "",
        "| preset | " + " | ".join(f"v{v}: script − PETITION | v{v}: planner with script" for v in versions) + " |",
        "|---|" + "---|---|" * len(versions),
    ]
    for preset in dict.fromkeys(p for _, p in results):
        cells = []
        for version in versions:
            x = results[version, preset]["exploit"]
            c = x["crackdowns"]
            gain = _paired(np.asarray(x["planner_with_script"]), np.asarray(x["planner_default"]))
            cells += [
                _paired(np.asarray(x["script_minus_petition"]), np.zeros(len(x["script_minus_petition"]))),
                f"{gain}; {c['empty_square_days']:.2f} days, {100 * c['empty_square_share']:.0f}%",
            ]
        lines.append(f"| {preset} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "How the honest belief learns ρ: mean absolute error of its posterior mean after d days of broker "
        "activity, as a share of the prior mean's error on the same episodes (episodes whose brokers are kept "
        "active; calibration: the mean posterior CDF at the true ρ, 0.5 if calibrated):",
        "",
        "| version | preset | " + " | ".join(f"d = {d}" for d in CURVE_DAYS) + " | calibration |",
        "|---|---|" + "---|" * (len(CURVE_DAYS) + 1),
    ]
    for (version, preset), figures in results.items():
        b = figures["belief"]
        share = {d: e / p for d, e, p in zip(b["days"], b["error"], b["prior_error"], strict=True)}
        cells = [f"{share[d]:.2f}" if d in share else "" for d in CURVE_DAYS]
        cells.append("exact" if b["calibration"] is None else f"{b['calibration']['mean']:.2f}")
        lines.append(f"| v{version} | {preset} | " + " | ".join(cells) + " |")
    if any("speed" in f for f in results.values()):
        lines += [
            "",
            "Planner time (construction included, wall clock):",
            "",
            "| version | preset | episodes | honest | clairvoyant |",
            "|---|---|---|---|---|",
        ]
        for (version, preset), figures in results.items():
            if "speed" not in figures:
                continue
            s = figures["speed"]
            cells = [
                f"{s[k]['seconds']:.0f} s wall, {s[k]['cpu_seconds']:.0f} s CPU ({s[k]['ms_per_decision']:.0f} ms per "
                "episode-day)"
                for k in KINDS
            ]
            lines.append(f"| v{version} | {preset} | {s['honest']['episodes']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m massbargain.experiments.measures.planner_figures --out DIR``: measure and print."""
    from massbargain.agents.config import UserError
    from massbargain.agents.outdir import atomic_write_text

    parser = argparse.ArgumentParser(
        prog="python -m massbargain.experiments.measures.planner_figures",
        description="The reference planner's figures: returns beside the scripted baselines, empty-square "
        "crackdowns and speed, per model version and preset.",
        epilog="example: python -m massbargain.experiments.measures.planner_figures --out runs/planner_figures",
    )
    parser.add_argument("--out", required=True, help="folder of the cached figures and figures.md")
    parser.add_argument("--versions", nargs="+", type=int, default=[LATEST_VERSION, 0], choices=MODEL_VERSIONS)
    parser.add_argument("--presets", nargs="+", default=list(PRESETS), choices=list(PRESETS))
    parser.add_argument("--episodes", type=int, default=500, help="episodes per policy (default: 500)")
    parser.add_argument("--seed", type=int, default=100, help="seed of the episodes and planners (default: 100)")
    parser.add_argument("--speed-episodes", type=int, default=200, help="episodes of the speed figure (default: 200)")
    parser.add_argument("--no-speed", action="store_true", help="skip the speed figure")
    parser.add_argument(
        "--exploit-episodes", type=int, default=200, help="planner episodes of the exploit figure (default: 200)"
    )
    parser.add_argument(
        "--speed-versions", nargs="+", type=int, default=[LATEST_VERSION], help="versions timed (default: latest)"
    )
    parser.add_argument(
        "--clairvoyant-versions",
        nargs="+",
        type=int,
        default=[LATEST_VERSION],
        help="versions on which the clairvoyant planner plays too (default: latest)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace caches made with other settings")
    args = parser.parse_args(argv)
    try:
        results = run_figures(
            args.out,
            args.versions,
            args.presets,
            args.episodes,
            args.seed,
            None if args.no_speed else args.speed_episodes,
            args.overwrite,
            speed_versions=args.speed_versions,
            clairvoyant_versions=args.clairvoyant_versions,
            exploit_episodes=args.exploit_episodes,
        )
    except UserError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    text = format_markdown(results)
    atomic_write_text(Path(args.out) / "figures.md", text)
    print(text, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
