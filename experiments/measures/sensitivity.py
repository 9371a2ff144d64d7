"""One-at-a-time sensitivity of the emergent facts: each parameter moved by −50% and +50% in every preset.

For each key, :func:`sensitivity` measures the facts of :mod:`massbargain.experiments.measures.facts` on the
perturbed presets and lists those that fail. With the families' out-of-sample choice in the facts, one move
costs about two facts tables (minutes), so ``keys`` names the parameters to move (default:
:data:`V1_KEYS`, every parameter that model v1 added or recalibrated). ``massbargain facts --sensitivity
[KEY ...]`` runs it from the command line; docs/MODEL.md section "Sensitivity" has the table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from massbargain.experiments.measures.facts import facts_table
from massbargain.scenario import PRESETS, V0_VALUES, Scenario, parameter_table

__all__ = ["V1_KEYS", "perturbed_presets", "sensitivity", "sensitivity_markdown"]

#: The parameters model v1 added or recalibrated (the keys of :data:`massbargain.scenario.V0_VALUES`) and
#: the new ones that have no v0 switch (their v0 value does not matter while the mechanism is off).
V1_KEYS: tuple[str, ...] = (
    *V0_VALUES,
    "population.standoff_days",
    "population.street_crowd",
    "superior.shelve_bias",
)


def perturbed_presets(key: str, factor: float) -> dict[str, Scenario]:
    """Every preset with parameter ``key`` multiplied by ``factor`` (each preset's own value), clipped to its
    range (whole numbers rounded); the veto threshold is kept at or below the takeover threshold."""
    group, _, attr = key.partition(".")
    lo, hi = next(r["range"] for r in parameter_table() if r["key"] == key)
    out = {}
    for name, sc in PRESETS.items():
        value = getattr(getattr(sc, group), attr)
        new = min(max(value * factor, lo), hi)
        new = int(round(new)) if isinstance(value, int) else new
        moved = sc.with_overrides({key: new})
        s = moved.superior
        if s.veto_disorder > s.takeover_disorder:
            other = "superior.veto_disorder" if key == "superior.takeover_disorder" else "superior.takeover_disorder"
            moved = sc.with_overrides({other: new, key: new})
        out[name] = moved
    return out


def sensitivity(
    episodes: int = 1000,
    seed: int = 0,
    factor: float = 0.5,
    keys: Sequence[str] = V1_KEYS,
    progress: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """For each key, the facts that fail when it is moved by −``factor`` and +``factor`` (relative).

    One row per key: key, source, baseline value, low and high baseline values, and the numbers of the facts
    failing at each.
    """
    table = {r["key"]: r for r in parameter_table()}
    unknown = [k for k in keys if k not in table]
    if unknown:
        raise ValueError(f"unknown parameter {unknown[0]!r} for --sensitivity")
    rows = []
    for key in keys:
        row: dict[str, Any] = {"key": key, "source": table[key]["source"]}
        group, _, attr = key.partition(".")
        row["value"] = getattr(getattr(PRESETS["baseline"], group), attr)
        for label, f in (("low", 1.0 - factor), ("high", 1.0 + factor)):
            presets = perturbed_presets(key, f)
            row[f"{label}_value"] = getattr(getattr(presets["baseline"], group), attr)
            row[f"{label}_fails"] = [r["number"] for r in facts_table(episodes, seed, presets) if not r["holds"]]
        rows.append(row)
        if progress is not None:
            progress(f"{key}: −{factor:.0%} fails {row['low_fails']}, +{factor:.0%} fails {row['high_fails']}")
    return rows


def sensitivity_markdown(rows: list[dict[str, Any]]) -> str:
    """The sensitivity rows as the Markdown table of docs/MODEL.md."""

    def fails(x: list[int]) -> str:
        return "all hold" if not x else "fails " + ", ".join(map(str, x))

    lines = ["| parameter | source | value | −50% | facts | +50% | facts |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| `{r['key']}` | {r['source']} | {r['value']:g} | {r['low_value']:g} | {fails(r['low_fails'])} | "
            f"{r['high_value']:g} | {fails(r['high_fails'])} |"
        )
    return "\n".join(lines)
