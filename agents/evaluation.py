"""Evaluate a policy, and compare it with every scripted baseline on the same seeds.

:func:`evaluate` plays a batch of episodes with :func:`massbargain.rollout.run_episodes` and returns plain
figures (a dict of floats, JSON-ready); :func:`compare` does the same for a policy and every baseline of
:data:`massbargain.agents.BASELINES` with the same seed, so every policy meets the same episode draws
(hidden recklessness, resolve, mood, initial information); :func:`format_table` prints the result.
With ``families=True``, :func:`compare` also plays the best scripted family member
(:mod:`massbargain.agents.families`) chosen on other episodes than the ones it is reported on, the yardstick
``massbargain evaluate`` measures an agent against.

The figures (keys of the dict):

- ``mean_return`` and ``return_ci95``: the mean episode return and the half-width of its 95% normal
  confidence interval, 1.96·sd/√n;
- ``withdrawn_rate``, ``suspended_rate``, ``partial_rate``, ``imposed_rate``: what became of the plan
  (they sum to 1); ``concession_rate`` is the first three together;
- ``punishment_rate``: episodes that ended with the official punished (warning, demotion or dismissal);
- ``passive_share``, ``official_channel_share``, ``consent_share``, ``mobilized_share``: the share of
  episodes by *episode mode*, the most escalated mode an episode used (mobilized > consent > official
  channel > passive, docs/MODEL.md); they sum to 1;
- ``control_share``: the share of the official's days spent on a control action (PACIFY or CRACKDOWN).
  Control is not a rung of the escalation ladder: an episode that leaks and then pacifies is a consent
  episode that also used control, so control is measured in days rather than as a fifth episode mode;
- ``episodes``, ``mean_length`` (days).

No torch here: any object with ``act(obs)`` is a policy.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from massbargain.actions import Action
from massbargain.agents.baselines import BASELINES, Policy, RandomPolicy
from massbargain.rollout import EpisodeBatch, run_episodes
from massbargain.scenario import Scenario

__all__ = [
    "BEST_MEMBER",
    "MODE_KEYS",
    "OUTCOME_KEYS",
    "PLANNER_EPISODES",
    "compare",
    "evaluate",
    "format_planner_ratio",
    "format_table",
    "planner_ratio",
    "summarize",
]

#: Episodes of the planner comparison by default: the planner plans every day of every episode (about
#: 0.1-0.3 s of CPU per episode), so it plays fewer episodes than the baselines; pairing the two sides
#: episode by episode (common luck) keeps the interval of the ratio tight all the same.
PLANNER_EPISODES = 200

#: Key of the best scripted family member in :func:`compare`'s result (chosen on other seeds).
BEST_MEMBER = "best member"

#: Outcome rates, in the order tables show them (they sum to 1).
OUTCOME_KEYS = ("withdrawn_rate", "suspended_rate", "partial_rate", "imposed_rate")
#: Episode-mode shares (they sum to 1), then the share of days on control actions.
MODE_KEYS = ("passive_share", "official_channel_share", "consent_share", "mobilized_share")

_CONTROL = [int(Action.PACIFY), int(Action.CRACKDOWN)]


def summarize(batch: EpisodeBatch) -> dict[str, Any]:
    """The figures of a batch of episodes (see the module docstring), as plain Python numbers."""
    out = dict(batch.summary())
    days = batch.action_counts.sum()
    out["control_share"] = float(batch.action_counts[:, _CONTROL].sum() / days) if days else 0.0
    return out


def evaluate(
    policy: Policy,
    scenario: str | Path | Mapping[str, Any] | Scenario | None = "baseline",
    episodes: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Play ``episodes`` episodes of ``policy`` on ``scenario`` in one batch and summarize them.

    Args:
        policy: anything with ``act(obs)`` taking a batch (B, F) of observations.
        scenario: a preset name, YAML path, dict of overrides, or :class:`Scenario`.
        episodes: number of episodes (the 95% interval shrinks as 1/√episodes).
        seed: seed of the episodes' random draws; the same seed gives the same figures. A policy with a
            ``reset`` method is reset first (with ``seed=seed`` if it takes a seed: a trained agent's
            sampler then restarts from it).

    Returns:
        The figures listed in the module docstring.
    """
    return summarize(_play(policy, Scenario.resolve(scenario), episodes, seed))


def _play(policy: Policy, scenario: Scenario, episodes: int, seed: int) -> EpisodeBatch:
    """The episodes of :func:`evaluate`, the policy reset first."""
    reset = getattr(policy, "reset", None)
    if callable(reset):  # a policy with state or a sampler of its own starts afresh, from this seed if it takes one
        if _accepts(reset, "seed"):
            reset(seed=seed)
        else:
            reset()
    return run_episodes(policy, scenario, episodes, seed)


def _accepts(method: Any, parameter: str) -> bool:
    try:
        return parameter in inspect.signature(method).parameters
    except (TypeError, ValueError):
        return False


def compare(
    policy: Policy | None,
    scenario: str | Path | Mapping[str, Any] | Scenario | None = "baseline",
    episodes: int = 1000,
    seed: int = 0,
    *,
    name: str = "agent",
    baselines: Sequence[str] | None = None,
    families: bool = False,
    choice_episodes: int | None = None,
) -> dict[str, dict[str, Any]]:
    """Figures of ``policy`` and of every scripted baseline on the same seeds.

    Args:
        policy: the policy to compare (None: only the baselines).
        scenario, episodes, seed: as in :func:`evaluate`; the same for every policy.
        name: the policy's key in the result.
        baselines: baseline names (default: all of :data:`BASELINES`); ``random`` is re-seeded with
            ``seed`` so that its figures are reproducible too.
        families: also play the best scripted family member (:mod:`massbargain.agents.families`), chosen
            out of sample: among every member on ``choice_episodes`` (default ``episodes``) episodes of
            seed :func:`~massbargain.agents.families.choice_seed` (``seed`` + 1,000,000), then played on
            ``seed`` like every other row.

    Returns:
        ``{name: figures}``, the policy first, then the baselines in order, then (with ``families``)
        :data:`BEST_MEMBER`. Each baseline's figures also hold ``best_baseline`` (the name of the baseline
        with the highest mean return); the policy's hold ``advantage`` (its mean return minus the best
        baseline's) and ``advantage_ci95`` (the half-width of that difference's 95% interval, from the two
        standard errors). The best member's figures also hold ``member`` (its name), ``mode``,
        ``choice_seed``, ``choice_episodes``, ``candidates`` and ``choice_return`` (its in-sample mean
        return on the choice seed); the policy's then hold ``member_advantage`` (its mean return minus the
        member's) and ``member_advantage_ci95`` ([low, high], paired over the episodes).
    """
    scen = Scenario.resolve(scenario)
    names = list(BASELINES) if baselines is None else list(baselines)
    unknown = [n for n in names if n not in BASELINES]
    if unknown:
        raise ValueError(f"unknown baseline {unknown[0]!r}; baselines: {', '.join(BASELINES)}")
    results: dict[str, dict[str, Any]] = {}
    mine_batch = None
    if policy is not None:
        mine_batch = _play(policy, scen, episodes, seed)
        results[name] = summarize(mine_batch)
    for n in names:
        pol = RandomPolicy(seed) if n == "random" else BASELINES[n]
        results[n] = evaluate(pol, scen, episodes, seed)
    if names:
        best = max(names, key=lambda n: results[n]["mean_return"])
        for n in names:
            results[n]["best_baseline"] = best
        if policy is not None:
            mine, theirs = results[name], results[best]
            results[name]["best_baseline"] = best
            results[name]["advantage"] = mine["mean_return"] - theirs["mean_return"]
            results[name]["advantage_ci95"] = math.hypot(_finite(mine["return_ci95"]), _finite(theirs["return_ci95"]))
    if families:
        from massbargain.agents import families as fam

        selection = fam.select(scen, episodes=choice_episodes or episodes, seed=fam.choice_seed(seed))
        member, chosen = fam.best(selection)
        member_batch = run_episodes(member, scen, episodes, seed)
        results[BEST_MEMBER] = summarize(member_batch) | {
            "member": member.name,
            "mode": member.mode,
            "choice_seed": selection.seed,
            "choice_episodes": selection.episodes,
            "candidates": len(selection.members),
            "choice_return": chosen.mean_return,
        }
        if mine_batch is not None:
            d = fam.paired_difference(mine_batch, member_batch)
            results[name]["member_advantage"] = d.mean
            results[name]["member_advantage_ci95"] = [d.low, d.high]
    return results


def _finite(x: float) -> float:
    return 0.0 if not np.isfinite(x) else float(x)


def format_table(results: Mapping[str, Mapping[str, Any]], title: str | None = None) -> str:
    """A plain-text table of :func:`compare`'s (or several :func:`evaluate`'s) figures, one row each."""
    cols = [
        ("return", lambda r: f"{r['mean_return']:+.3f} ± {_finite(r['return_ci95']):.3f}"),
        ("withdrawn", lambda r: _pct(r["withdrawn_rate"])),
        ("suspended", lambda r: _pct(r["suspended_rate"])),
        ("partial", lambda r: _pct(r["partial_rate"])),
        ("imposed", lambda r: _pct(r["imposed_rate"])),
        ("punished", lambda r: _pct(r["punishment_rate"])),
        ("passive", lambda r: _pct(r["passive_share"])),
        ("official", lambda r: _pct(r["official_channel_share"])),
        ("consent", lambda r: _pct(r["consent_share"])),
        ("mobilized", lambda r: _pct(r["mobilized_share"])),
        ("control", lambda r: _pct(r["control_share"])),
        ("days", lambda r: f"{r['mean_length']:.1f}"),
    ]
    header = ["policy"] + [c for c, _ in cols]
    rows = [[str(n)] + [f(r) for _, f in cols] for n, r in results.items()]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    out = [title] if title else []
    out += [line(header), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    notes = "return: mean ± 95% CI; outcomes and punished: share of episodes; passive..mobilized: share of "
    notes += "episodes by most escalated mode; control: share of days on PACIFY or CRACKDOWN"
    out.append(notes)
    return "\n".join(out)


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def planner_ratio(
    policy: Policy,
    scenario: str | Path | Mapping[str, Any] | Scenario | None = "baseline",
    episodes: int = PLANNER_EPISODES,
    seed: int = 0,
    *,
    kind: str = "honest",
    near_zero: float = 0.05,
) -> dict[str, Any]:
    """The policy's mean return as a fraction of the reference planner's, on the same episodes.

    Both play ``episodes`` episodes with seed ``seed`` and common luck
    (:func:`massbargain.agents.planner.evaluate_policy`): episode ``i`` has the same hidden draws and the
    same superior luck on both sides, so the comparison is paired. The policy is reset first, as in
    :func:`evaluate`.

    Returns:
        ``planner`` (the kind), ``episodes``, ``seed``, ``agent_mean``, ``planner_mean`` (with their
        ``*_ci95`` half-widths), ``planner_ratio`` = agent_mean / planner_mean with ``planner_ratio_ci95``
        (a paired percentile-bootstrap interval, [low, high]), ``difference`` and ``difference_ci95``
        likewise, ``use`` (``"ratio"``, or ``"difference"`` when |planner_mean| < ``near_zero``: the ratio
        is then None) and ``planner_seconds`` (wall clock of the planner's episodes, construction included).
    """
    import time

    from massbargain.agents.planner import compare_returns, evaluate_planner, evaluate_policy, make_planner

    scen = Scenario.resolve(scenario)
    reset = getattr(policy, "reset", None)
    if callable(reset):
        if _accepts(reset, "seed"):
            reset(seed=seed)
        else:
            reset()
    mine = evaluate_policy(policy, scen, episodes, seed, common_luck=True).returns
    t0 = time.perf_counter()
    theirs = evaluate_planner(make_planner(kind, scen, seed=seed), scen, episodes, seed, common_luck=True).returns
    seconds = time.perf_counter() - t0
    cmp = compare_returns(mine, theirs, near_zero=near_zero, paired=True, seed=seed)
    return {
        "planner": kind,
        "episodes": episodes,
        "seed": seed,
        "agent_mean": cmp["mean"],
        "agent_ci95": _half_width(mine),
        "planner_mean": cmp["reference_mean"],
        "planner_ci95": _half_width(theirs),
        "planner_ratio": cmp["ratio"],
        "planner_ratio_ci95": cmp["ratio_ci95"],
        "difference": cmp["difference"],
        "difference_ci95": cmp["difference_ci95"],
        "use": cmp["use"],
        "planner_seconds": seconds,
    }


def _half_width(returns: np.ndarray) -> float:
    return float(1.96 * returns.std(ddof=1) / math.sqrt(returns.size)) if returns.size > 1 else float("nan")


def format_planner_ratio(r: Mapping[str, Any]) -> str:
    """One line for :func:`planner_ratio`'s figures: the fraction (or, near zero, the difference)."""
    where = (
        f"{r['episodes']} paired episodes (seed {r['seed']}, common luck): agent {r['agent_mean']:+.3f}, "
        f"{r['planner']} planner {r['planner_mean']:+.3f}; planner took {r['planner_seconds']:.0f} s"
    )
    if r["use"] == "ratio":
        lo, hi = r["planner_ratio_ci95"]
        return (
            f"agent reaches {100 * r['planner_ratio']:.1f}% of the {r['planner']} planner's mean return "
            f"(95% CI {100 * lo:.1f}%-{100 * hi:.1f}%) on {where}"
        )
    lo, hi = r["difference_ci95"]
    return (
        f"the {r['planner']} planner's mean return is near zero, so the difference: agent - planner = "
        f"{r['difference']:+.3f} (95% CI {lo:+.3f} to {hi:+.3f}) on {where}"
    )
