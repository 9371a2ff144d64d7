"""Certifying the mode map's agents: are they as good as the strongest policies we can build?

A trained agent's mode means something only if the agent plays its cell well. Each cell gets two references,
measured on the same held-out episodes as its agents (the cell's evaluation seed, common luck:
:func:`massbargain.agents.planner.evaluate_policy`):

* the **best scripted family member** (:mod:`massbargain.agents.families`, 193 members over every mode),
  chosen on other episodes (the choice seed);
* the **honest rollout planner** (:mod:`massbargain.agents.planner`) whose base policies are the best member
  (of the ``planner_bases`` best modes) and "give in tomorrow": with exact evaluation it is never worse than
  the best of them, so it improves on the best script by construction, up to sampling noise.

An agent is **certified** when its mean return on those episodes is at least ``ratio`` (95%) of the better
reference, less an absolute ``tolerance`` (0.01: near zero a ratio means nothing, and 0.01 is about the
sampling error of a paired mean on 200 episodes here). A cell is certified when all its seeds are. An agent
that is not is retrained (another seed, ``steps_factor`` times the steps) up to ``retrains`` times; the map
keeps, for each seed slot, the first certified attempt or else the last one, and lists the cells that still
fail.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from massbargain.agents.config import UserError

__all__ = ["CertifyConfig", "attempt_seed", "certified", "choose_attempts", "reference_bar"]

#: Seeds of a slot's retrains: attempt k of seed s trains with seed s + ATTEMPT_SEED_STEP * k.
ATTEMPT_SEED_STEP = 1000


@dataclass(frozen=True)
class CertifyConfig:
    """How agents are certified and retrained (the ``certify`` mapping of a mode-map config).

    Attributes:
        ratio: an agent must reach this share of the better reference's mean return.
        tolerance: ... less this absolute amount (returns near zero).
        episodes: held-out episodes of the comparison (the planner's cost grows with them).
        retrains: retrains of an uncertified (cell, seed) at most; 0 turns retraining off.
        steps_factor: each retrain trains this many times the previous attempt's steps.
        planner: compare with the honest planner too (False: with the best script only).
        planner_bases: the planner's base policies are the best members of this many modes (the best first),
            and "give in tomorrow". One base: ~10 s of CPU per 200 episodes in a high-stakes cell; three:
            ~30 s, and a few hundredths more return.
    """

    ratio: float = 0.95
    tolerance: float = 0.01
    episodes: int = 200
    retrains: int = 2
    steps_factor: float = 2.0
    planner: bool = True
    planner_bases: int = 1

    def __post_init__(self) -> None:
        checks = {
            "ratio": (0.0, 1.0),
            "tolerance": (0.0, 1.0),
            "steps_factor": (1.0, 100.0),
        }
        for name, (lo, hi) in checks.items():
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v <= hi:
                raise UserError(f"certify.{name} must be a number in [{lo:g}, {hi:g}], got {v!r}")
        check_whole_numbers(self, "certify", (("episodes", 2), ("retrains", 0), ("planner_bases", 1)))
        if not isinstance(self.planner, bool):
            raise UserError(f"certify.planner must be true or false, got {self.planner!r}")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> CertifyConfig:
        """A config from a mapping of its fields (unknown keys refused with the valid ones)."""
        return section_config(cls, data, "certify")


def section_config(cls: type, data: Mapping[str, Any] | None, section: str) -> Any:
    """The dataclass ``cls`` from a mapping of its fields, a section of a mode-map config; an unknown key is
    refused with ``section`` and the valid keys."""
    data = dict(data or {})
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = [k for k in data if k not in names]
    if unknown:
        raise UserError(f"{section}: unknown key {unknown[0]!r}; keys: {', '.join(names)}")
    return cls(**data)


def check_whole_numbers(config: Any, section: str, minima: Sequence[tuple[str, int]]) -> None:
    """Raise a UserError naming ``section.field`` unless each field of ``minima`` is a whole number >= its minimum."""
    for name, lo in minima:
        v = getattr(config, name)
        if isinstance(v, bool) or not isinstance(v, int) or v < lo:
            raise UserError(f"{section}.{name} must be a whole number >= {lo}, got {v!r}")


def reference_bar(script_mean: float, planner_mean: float | None, config: CertifyConfig) -> float:
    """The return an agent must reach: ``ratio`` of the better reference, less ``tolerance``."""
    ref = script_mean if planner_mean is None else max(script_mean, planner_mean)
    return ref - max((1.0 - config.ratio) * abs(ref), config.tolerance)


def certified(agent_mean: float, script_mean: float, planner_mean: float | None, config: CertifyConfig) -> bool:
    """Whether an agent's mean return on the comparison episodes reaches :func:`reference_bar`."""
    return bool(agent_mean >= reference_bar(script_mean, planner_mean, config))


def attempt_seed(seed: int, attempt: int) -> int:
    """The training seed of attempt ``attempt`` (0: the first) of seed slot ``seed``."""
    return seed + ATTEMPT_SEED_STEP * attempt


def choose_attempts(rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """For each (cell, seed slot), the row the map keeps: the first certified attempt, else the last one.

    ``rows`` carry ``recklessness``, ``monitoring``, ``stakes``, ``seed`` (the slot), ``attempt`` and
    ``certified``.
    """
    slots: dict[tuple, list[Mapping[str, Any]]] = {}
    for r in rows:
        slots.setdefault((r["recklessness"], r["monitoring"], r["stakes"], r["seed"]), []).append(r)
    kept = []
    for attempts in slots.values():
        attempts = sorted(attempts, key=lambda r: r["attempt"])
        good = [r for r in attempts if r["certified"]]
        kept.append(good[0] if good else attempts[-1])
    return kept


def paired_gap(agent: Sequence[float], reference: Sequence[float]) -> tuple[float, float]:
    """Mean and 95% half-width of the paired per-episode difference agent − reference."""
    d = np.asarray(agent, dtype=float) - np.asarray(reference, dtype=float)
    return float(d.mean()), float(1.96 * d.std(ddof=1) / np.sqrt(d.size)) if d.size > 1 else float("nan")
