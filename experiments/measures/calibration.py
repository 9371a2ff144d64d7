"""The tables of docs/MODEL.md's parameter and calibration sections, generated from the code.

``python -m massbargain.experiments.measures.calibration --parameters`` prints the parameter table (v1
default, v0 value where it differs, range, unit, meaning, source, the presets' departures);
``--outcomes`` prints each preset's best family member per mode (chosen on other seeds) and the reference
baselines.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from massbargain.agents.baselines import BASELINES
from massbargain.experiments.measures.choice import best_members
from massbargain.rollout import EpisodeBatch, run_episodes
from massbargain.scenario import PRESETS, PRESETS_BY_VERSION, parameter_table

__all__ = ["outcomes_markdown", "parameter_markdown"]


def _value(scenario: object, key: str) -> object:
    group, attr = key.split(".")
    return getattr(getattr(scenario, group), attr)


def parameter_markdown() -> str:
    """Every parameter: v1 default, v0 value (if different), range, unit, meaning, source, preset values."""
    lines = [
        "| key | default (v1 baseline) | v0 | range | unit | meaning | source | changxing | daye |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    base, v0 = PRESETS["baseline"], PRESETS_BY_VERSION[0]["baseline"]
    for r in parameter_table():
        key = r["key"]
        value, old = _value(base, key), _value(v0, key)
        cells = [
            f"`{key}`",
            f"{value:g}",
            "·" if old == value else f"{old:g}",
            f"[{r['range'][0]:g}, {r['range'][1]:g}]",
        ]
        cells += [r["unit"], r["doc"], r["source"]]
        for preset in ("changxing", "daye"):
            v = _value(PRESETS[preset], key)
            cells.append("·" if v == value else f"**{v:g}**")
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def _row(preset: str, policy: str, b: EpisodeBatch, veto: float) -> str:
    n = b.returns.size
    half = 1.96 * b.returns.std(ddof=1) / n**0.5
    riot = (b.peak_disorder >= veto).mean()
    rates = [b.conceded.mean(), b.punished.mean(), riot, (b.conceded & b.punished).mean()]
    return (
        f"| {preset} | {policy} | {b.returns.mean():+.3f} (±{half:.3f}) | "
        + " | ".join(f"{x:.2f}" for x in rates)
        + f" | {b.length.mean():.1f} |"
    )


def outcomes_markdown(episodes: int = 2000, seed: int = 0) -> str:
    """Per preset: the best family member of each mode (chosen on the choice seed, reported on ``seed``)
    and the reference baselines, with return, concession, punishment, riot, Pyrrhic rates and days."""
    lines = [
        "| preset | policy | mean return (±95%) | concession | punished | riot | Pyrrhic | days |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for preset, sc in PRESETS.items():
        veto = sc.superior.veto_disorder
        for mode, best in best_members(sc, seed, episodes).items():
            lines.append(_row(preset, f"best {mode}: `{best.name}`", best.batch, veto))
        for name in ("consent", "mobilize", "mobilize_pacify", "crackdown"):
            lines.append(_row(preset, f"baseline `{name}`", run_episodes(BASELINES[name], sc, episodes, seed), veto))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m massbargain.experiments.measures.calibration", description=__doc__)
    p.add_argument("--parameters", action="store_true", help="print the parameter table")
    p.add_argument("--outcomes", action="store_true", help="print the presets' outcome table")
    p.add_argument("--episodes", type=int, default=2000, help="episodes per policy (default 2000)")
    p.add_argument("--seed", type=int, default=0, help="report seed (default 0)")
    args = p.parse_args(argv)
    if args.parameters or not args.outcomes:
        print(parameter_markdown())
    if args.outcomes:
        print(outcomes_markdown(args.episodes, args.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
