"""The best scripted policy of each mode for a scenario: the best member of the scripted families, chosen on
other episodes than those it is reported on.

Everywhere the facts say "the best consent policy" (or mobilization, or no mass pressure) they mean
:func:`best_members`: every family member of that mode plays ``choose_episodes`` episodes on the choice seed
(:func:`massbargain.agents.families.choice_seed`), the best is kept, and only the kept members play the
reported ``episodes`` on the report seed, all on the same episodes (common random numbers), so differences
between modes are paired.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from massbargain.agents import families
from massbargain.rollout import EpisodeBatch, run_episodes
from massbargain.scenario import Scenario

__all__ = ["MODES", "REGION_OF", "Best", "best_members", "best_of", "difference", "region"]

#: Modes of the families; "none" and "exit" are no mass pressure, "control" is crackdowns.
MODES: tuple[str, ...] = ("none", "exit", "consent", "mobilized", "control")
#: The label of each mode in the regions of the facts and maps.
REGION_OF = {"none": "none", "exit": "none", "consent": "consent", "mobilized": "mobilized", "control": "control"}


@dataclass(frozen=True, eq=False)
class Best:
    """The best member of one mode: its name, its mean return where it was chosen, its reported episodes."""

    mode: str
    name: str
    choice_return: float
    batch: EpisodeBatch

    @property
    def mean_return(self) -> float:
        return float(self.batch.returns.mean())


_CHOICE: dict[tuple, dict[str, float]] = {}  # (scenario, choose episodes, seed) -> member name -> mean return
_REPORT: dict[tuple, Best] = {}  # (scenario, episodes, seed, member name) -> the member reported


def _choice_returns(scenario: Scenario, candidates: list, episodes: int, seed: int) -> dict[str, float]:
    """Mean return of every candidate on the choice episodes; members already played (by any earlier call with
    the same scenario, episodes and seed) are not played again."""
    known = _CHOICE.setdefault((scenario, episodes, seed), {})
    missing = [m for m in candidates if m.name not in known]
    if missing:
        selection = families.select(scenario, missing, episodes, seed)
        known.update({r.name: r.mean_return for r in selection.results})
    return {m.name: known[m.name] for m in candidates}


def best_members(
    scenario: Scenario,
    seed: int,
    episodes: int,
    modes: Sequence[str] = MODES,
    choose_episodes: int | None = None,
) -> dict[str, Best]:
    """The best family member of each of ``modes``, chosen on the choice seed, reported on ``seed``.

    ``choose_episodes`` defaults to half of ``episodes`` (at least 200). Every member meets the same choice
    episodes (common random numbers) and ties go to the first in family order. Plays are cached per scenario
    (an immutable value), so calls that share a scenario share their work.
    """
    if len(_CHOICE) > 256 or len(_REPORT) > 4096:
        _CHOICE.clear()
        _REPORT.clear()
    choose = choose_episodes if choose_episodes is not None else max(200, episodes // 2)
    choice = families.choice_seed(seed)
    candidates = [m for m in families.members(scenario) if m.mode in modes]
    returns = _choice_returns(scenario, candidates, choose, choice)
    out = {}
    for mode in modes:
        of_mode = [m for m in candidates if m.mode == mode]
        if not of_mode:
            continue
        top = max(of_mode, key=lambda m: (returns[m.name], -of_mode.index(m)))
        key = (scenario, int(episodes), int(seed), top.name)
        if key not in _REPORT:
            _REPORT[key] = Best(mode, top.name, returns[top.name], run_episodes(top, scenario, episodes, seed))
        out[mode] = _REPORT[key]
    return out


def region(bests: dict[str, Best]) -> str:
    """The label (none, consent, mobilized, control) of the mode whose best member returns most (reported)."""
    top = max(bests.values(), key=lambda b: b.mean_return)
    return REGION_OF[top.mode]


def best_of(bests: dict[str, Best], label: str) -> Best:
    """The best member among the modes with region label ``label`` (e.g. "none": passive/petition or accept)."""
    return max((b for b in bests.values() if REGION_OF[b.mode] == label), key=lambda b: b.mean_return)


def difference(a: Best, b: Best) -> tuple[float, float]:
    """Mean and 95% half-width of the paired per-episode difference of two members' returns (same episodes)."""
    d = a.batch.returns - b.batch.returns
    return float(d.mean()), float(1.96 * d.std(ddof=1) / np.sqrt(d.size))
