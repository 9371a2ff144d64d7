"""What model v1 changed, measured: each v1 change beside the v0 figure it fixes, on the same episodes.

``python -m massbargain.experiments.measures.versions [--episodes N] [--seed S]`` prints the table of
docs/MODEL.md section "Model versions". Each row runs the same policy on the v0 and the v1 preset (the v0
presets are what the ``*-v0`` ids run).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from massbargain.actions import EndReason, Outcome
from massbargain.agents import families
from massbargain.agents.baselines import BASELINES
from massbargain.cases import REPLAYS
from massbargain.experiments.measures import mechanisms
from massbargain.experiments.measures.choice import best_members
from massbargain.rollout import run_episodes
from massbargain.scenario import Scenario

__all__ = ["ROWS", "versions_markdown"]


def _preset(name: str, version: int, **overrides: float) -> Scenario:
    return Scenario.preset(name, version).with_overrides(overrides)


def _consent_risk(version: int, episodes: int, seed: int) -> str:
    sc = _preset("baseline", version)
    b = best_members(sc, seed, episodes, modes=("consent",))["consent"].batch
    violent = ((b.triggers > 0) | (b.peak_disorder >= sc.superior.investigation_disorder)).mean()
    return f"violent unrest {violent:.3f}, punished {b.punished.mean():.3f}"


def _deterrence(version: int, episodes: int, seed: int) -> str:
    sc = _preset("baseline", version, **{"superior.monitoring": 1.0})
    member = families.parse_member(
        "consent(leak_until=0.9, tolerate=yes, pacify_at=0.3, petition=daily, back_off=never)", sc.horizon.days
    )
    b = run_episodes(member, sc, episodes, seed)
    return f"concession {b.conceded.mean():.2f}, return {b.returns.mean():+.3f}"


def _resolve(version: int, episodes: int, seed: int) -> str:
    out = []
    for r in (4.0, 8.0, 10.0):
        sc = _preset("baseline", version, **{"superior.resolve": r})
        member = families.parse_member(
            "consent(leak_until=0.7, tolerate=yes, pacify_at=0.1, petition=daily, back_off=never)", sc.horizon.days
        )
        out.append(f"{r:g}: {run_episodes(member, sc, episodes, seed).conceded.mean():.2f}")
    return "concession at resolve " + ", ".join(out)


def _daye(version: int, episodes: int, seed: int) -> str:
    b = run_episodes(REPLAYS["daye"], _preset("daye", version), episodes, seed)
    takeover_imposed = ((b.end_reason == EndReason.TAKEOVER) & (b.outcome == Outcome.IMPOSED)).mean()
    return (
        f"concession {b.conceded.mean():.2f}, Pyrrhic {(b.conceded & b.punished).mean():.2f}, takeover with the "
        f"plan imposed {takeover_imposed:.2f}"
    )


def _recklessness(version: int, episodes: int, seed: int) -> str:
    m = mechanisms.measure_recklessness_learning(episodes, seed, _preset("baseline", version), days=(1, 8))
    return f"best predictor's error after 1 day {m['ratio'][0]:.2f}×, after 8 days {m['ratio'][1]:.2f}× the prior's"


def _crackdown(version: int, episodes: int, seed: int) -> str:
    out = []
    for preset in ("baseline", "changxing", "daye"):
        sc = _preset(preset, version)
        d = (
            run_episodes(mechanisms._empty_square_crackdown(horizon=sc.horizon.days), sc, episodes, seed).returns
            - run_episodes(BASELINES["petition"], sc, episodes, seed).returns
        )
        out.append(f"{preset} {d.mean():+.3f}")
    return ", ".join(out)


def _collusion(version: int, episodes: int, seed: int) -> str:
    sc = _preset("baseline", version, **{"superior.monitoring": 1.0})
    member = families.parse_member(
        "consent(leak_until=0.7, tolerate=yes, pacify_at=0.1, petition=daily, back_off=never)", sc.horizon.days
    )
    b = run_episodes(member, sc, episodes, seed)
    calm = b.peak_disorder < sc.superior.investigation_disorder
    punished, median_e = b.punished[calm].mean(), np.median(b.evidence)
    return f"punished in {punished:.2f} of {int(calm.sum())} calm episodes (median final E {median_e:.2f})"


#: (change, what it fixes, measurement(version, episodes, seed) -> text)
ROWS: tuple[tuple[str, str, Callable[[int, int, int], str]], ...] = (
    (
        "standoffs radicalize and have incidents",
        "consent could never go wrong (best consent member, baseline)",
        _consent_risk,
    ),
    (
        "evidence opens inquiries",
        "collusion was never punished (orderly consent at μ = 1)",
        _collusion,
    ),
    (
        "attribution discount",
        "suspicion could not beat a big crowd (leak until 0.9 at μ = 1)",
        _deterrence,
    ),
    ("saturating pressure", "a decided superior could not hold (orderly consent)", _resolve),
    ("stability-first shelving", "the Daye replay ended in a takeover with the plan imposed", _daye),
    ("noisy broker conduct", "one MOBILIZE revealed ρ", _recklessness),
    (
        "crackdown cost scales with the crowd",
        "an empty-square crackdown paid (4 crackdowns then PACIFY/PETITION minus PETITION)",
        _crackdown,
    ),
)


def versions_markdown(episodes: int = 2000, seed: int = 0) -> str:
    lines = ["| v1 change | what it fixes | v0 | v1 |", "|---|---|---|---|"]
    for change, fixes, measure in ROWS:
        lines.append(f"| {change} | {fixes} | {measure(0, episodes, seed)} | {measure(1, episodes, seed)} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m massbargain.experiments.measures.versions", description=__doc__)
    p.add_argument("--episodes", type=int, default=2000, help="episodes per measurement (default 2000)")
    p.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    args: Any = p.parse_args(argv)
    print(versions_markdown(args.episodes, args.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
