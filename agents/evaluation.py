"""Evaluate a policy, and compare it with every scripted baseline on the same seeds.

:func:`evaluate` plays a batch of episodes with :func:`massbargain.rollout.run_episodes` and returns plain
figures (a dict of floats, JSON-ready); :func:`compare` does the same for a policy and every baseline of
:data:`massbargain.agents.BASELINES` with the same seed, so every policy meets the same episode draws
(hidden recklessness, resolve, mood, initial information); :func:`format_table` prints the result.

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

__all__ = ["MODE_KEYS", "OUTCOME_KEYS", "compare", "evaluate", "format_table", "summarize"]

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
    reset = getattr(policy, "reset", None)
    if callable(reset):  # a policy with state or a sampler of its own starts afresh, from this seed if it takes one
        if _accepts(reset, "seed"):
            reset(seed=seed)
        else:
            reset()
    return summarize(run_episodes(policy, Scenario.resolve(scenario), episodes, seed))


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
) -> dict[str, dict[str, Any]]:
    """Figures of ``policy`` and of every scripted baseline on the same seeds.

    Args:
        policy: the policy to compare (None: only the baselines).
        scenario, episodes, seed: as in :func:`evaluate`; the same for every policy.
        name: the policy's key in the result.
        baselines: baseline names (default: all of :data:`BASELINES`); ``random`` is re-seeded with
            ``seed`` so that its figures are reproducible too.

    Returns:
        ``{name: figures}``, the policy first, then the baselines in order. Each baseline's figures also
        hold ``best_baseline`` (the name of the baseline with the highest mean return); the policy's hold
        ``advantage`` (its mean return minus the best baseline's) and ``advantage_ci95`` (the half-width
        of that difference's 95% interval, from the two standard errors).
    """
    scen = Scenario.resolve(scenario)
    names = list(BASELINES) if baselines is None else list(baselines)
    unknown = [n for n in names if n not in BASELINES]
    if unknown:
        raise ValueError(f"unknown baseline {unknown[0]!r}; baselines: {', '.join(BASELINES)}")
    results: dict[str, dict[str, Any]] = {}
    if policy is not None:
        results[name] = evaluate(policy, scen, episodes, seed)
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
