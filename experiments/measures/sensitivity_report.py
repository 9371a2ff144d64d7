"""The files of ``massbargain sensitivity``: tables (CSV and Parquet), plots and a generated report.md.

:func:`write_outputs` takes the result of
:func:`massbargain.experiments.measures.global_sensitivity.run_sensitivity`. Needs pandas and matplotlib
(the ``analysis`` extra).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

__all__ = ["consent_vs_mobilization", "report_markdown", "write_outputs"]

_TABLES = ("box", "grid", "replicates", "morris", "ranking", "sobol", "morris_points", "sobol_points")


def write_outputs(result: dict[str, Any], out: Path) -> list[Path]:
    """Write every table, ``morris.png``, ``sobol.png``, ``result.json`` and ``report.md`` into ``out``."""
    import pandas as pd

    from massbargain.agents.outdir import atomic_write_text
    from massbargain.experiments.maps.sweep import write_table

    paths: list[Path] = []
    for name in _TABLES:
        paths += write_table(pd.DataFrame(result[name]), out, name)
    paths.append(atomic_write_text(out / "members.txt", "\n".join(result["members"]) + "\n"))
    small = {k: v for k, v in result.items() if k not in ("morris_points", "sobol_points")}
    paths.append(atomic_write_text(out / "result.json", json.dumps(small, indent=1, default=float)))
    paths += plot_morris(result, out / "morris.png")
    paths += plot_sobol(result, out / "sobol.png")
    paths.append(atomic_write_text(out / "report.md", report_markdown(result)))
    return paths


def _save(fig: Any, path: Path) -> list[Path]:
    import io

    from massbargain.agents.outdir import atomic_write_bytes

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=130, bbox_inches="tight")
    return [atomic_write_bytes(path, buf.getvalue())]


def _short(key: str) -> str:
    return key.split(".", 1)[1] if "." in key else key


def plot_morris(result: dict[str, Any], path: Path, top: int = 15) -> list[Path]:
    """mu* (with its 95% interval) of the ``top`` parameters for margin and for best_consent."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    outputs = ("margin", "best_consent", "concession", "punishment")
    fig, axes = plt.subplots(1, len(outputs), figsize=(4.2 * len(outputs), 4.8))
    for ax, output in zip(axes, outputs, strict=True):
        rows = sorted((r for r in result["morris"] if r["output"] == output), key=lambda r: -r["mu_star"])[:top]
        rows = rows[::-1]
        ax.barh(
            [_short(r["parameter"]) for r in rows],
            [r["mu_star"] for r in rows],
            xerr=[r["mu_star_conf"] for r in rows],
            color="#4477aa",
        )
        ax.set_title(f"Morris μ*: {output}", fontsize=10)
        ax.tick_params(axis="y", labelsize=7)
    fig.suptitle(
        f"Morris screening of {len(result['box'])} parameters around '{result['config']['base']}' "
        f"(±{result['config']['spread']:.0%}; {result['config']['morris_trajectories']} trajectories)",
        fontsize=10,
    )
    fig.tight_layout()
    paths = _save(fig, path)
    plt.close(fig)
    return paths


def plot_sobol(result: dict[str, Any], path: Path) -> list[Path]:
    """First (S1) and total (ST) order indices with their 95% intervals, one panel per output."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    outputs = list(dict.fromkeys(r["output"] for r in result["sobol"]))
    params = result["sobol_parameters"]
    fig, axes = plt.subplots(1, len(outputs), figsize=(3.6 * len(outputs), 3.8), sharey=True)
    y = np.arange(len(params))
    for ax, output in zip(np.atleast_1d(axes), outputs, strict=True):
        rows = {r["parameter"]: r for r in result["sobol"] if r["output"] == output}
        s1 = [rows[p]["S1"] for p in params]
        st = [rows[p]["ST"] for p in params]
        ax.barh(y - 0.2, s1, 0.4, xerr=[rows[p]["S1_conf"] for p in params], label="first order", color="#88ccee")
        ax.barh(y + 0.2, st, 0.4, xerr=[rows[p]["ST_conf"] for p in params], label="total order", color="#332288")
        ax.set_yticks(y, [_short(p) for p in params], fontsize=8)
        ax.set_xlim(-0.05, 1.05)
        ax.set_title(output, fontsize=10)
        ax.invert_yaxis()
    np.atleast_1d(axes)[0].legend(fontsize=7, loc="lower right")
    fig.suptitle(
        f"Sobol indices (N = {result['config']['sobol_samples']}, 95% bootstrap intervals) of what decides "
        "consent vs mobilization",
        fontsize=10,
    )
    fig.tight_layout()
    paths = _save(fig, path)
    plt.close(fig)
    return paths


def consent_vs_mobilization(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The parameters that decide the margin of consent over mobilization: Sobol rows of ``margin`` by total
    order, each with ``correlation``, the correlation of the parameter with the margin over the Sobol points
    (positive: raising it favours consent, with the other parameters at their base values), and ``mu``,
    Morris's signed mean effect over the whole box (where the other parameters move too)."""
    import numpy as np

    mu = {r["parameter"]: r["mu"] for r in result["morris"] if r["output"] == "margin"}
    points = result["sobol_points"]
    margin = np.array([p["margin"] for p in points])
    rows = [r for r in result["sobol"] if r["output"] == "margin"]
    rows = sorted(rows, key=lambda r: -(r["ST"] if math.isfinite(r["ST"]) else -1))
    out = []
    for r in rows:
        x = np.array([p[r["parameter"]] for p in points])
        corr = float(np.corrcoef(x, margin)[0, 1]) if x.std() > 0 and margin.std() > 0 else float("nan")
        out.append({**r, "correlation": corr, "mu": mu.get(r["parameter"], float("nan"))})
    return out


def report_markdown(result: dict[str, Any]) -> str:
    """The generated report: design, replicates, Morris ranking, Sobol table, timings."""
    import numpy as np

    cfg = result["config"]
    t = result["timings"]
    pts = result["morris_points"]
    margin = np.array([p["margin"] for p in pts])
    consent_best = np.mean([p["best_consent"] for p in pts])
    mob_best = np.mean([p["best_mobilized"] for p in pts])
    lines = [
        "# Global sensitivity of the consent-vs-mobilization answer",
        "",
        f"Generated by `massbargain sensitivity`. Box: {len(result['box'])} continuous parameters of the "
        f"`{cfg['base']}` preset, each ±{cfg['spread']:.0%} of its value (clipped to its range; a parameter at 0 "
        "moves in [lo, lo + 2% of its range]); `superior.takeover_disorder` starts at the veto's upper bound so "
        "that every sample is a valid scenario.",
        "",
        f"Policies: the reduced family grid of {len(result['members'])} members (every member of the full grid "
        f"of 193 that was best of its mode on one of the three presets, or on at least {cfg['grid_min_wins']} of "
        f"the presets and {cfg['grid_points']} random points of the box, {cfg['grid_episodes']} episodes each, and "
        "each mode's most frequent winner; `members.txt`, `grid.csv`). At each point every member plays the choice "
        "episodes, the best of each mode is kept and reported on other episodes; the same episode seeds at "
        "every point (common random numbers).",
        "",
        f"Replicates, measured before the design ({cfg['replicate_episodes']} episodes at the base and the "
        f"{cfg['grid_points']} grid points): the per-episode sd of the paired consent − mobilization difference "
        f"was up to {max(r['margin_sd'] for r in result['replicates']):.3f}, the sd of the margin over the points "
        f"{np.std([r['margin'] for r in result['replicates']], ddof=1):.3f}; episode noise at most "
        f"{cfg['noise_share']:.0%} of the margin's variance over the box needs {result['episodes']} episodes per "
        f"point (at most {cfg['max_episodes']}), a 95% half-width of "
        f"{1.96 * max(r['margin_sd'] for r in result['replicates']) / math.sqrt(result['episodes']):.3f} at the "
        "noisiest point.",
        "",
        "## Morris screening",
        "",
        f"{len(pts)} points ({cfg['morris_trajectories']} trajectories, 4 levels). Over them the margin of consent "
        f"over mobilization ranged {margin.min():+.3f} to {margin.max():+.3f} (mean {margin.mean():+.3f}); the "
        f"best member was a consent member at {consent_best:.0%} of the points and a mobilization member at "
        f"{mob_best:.0%}.",
        "",
        "| rank | parameter | score | μ* margin | μ margin | μ* best_consent | μ* concession | μ* punishment |",
        "|---|---|---|---|---|---|---|---|",
    ]
    by = {(r["output"], r["parameter"]): r for r in result["morris"]}
    for i, r in enumerate(result["ranking"][:15], 1):
        p = r["parameter"]
        m = by[("margin", p)]
        lines.append(
            f"| {i} | `{p}` | {r['score']:.2f} | {m['mu_star']:.3f} ± {m['mu_star_conf']:.3f} | {m['mu']:+.3f} | "
            f"{by[('best_consent', p)]['mu_star']:.2f} | {by[('concession', p)]['mu_star']:.2f} | "
            f"{by[('punishment', p)]['mu_star']:.2f} |"
        )
    lines += [
        "",
        "Score: the largest of the parameter's μ* over margin, best_consent, concession and punishment, each "
        "divided by that output's largest μ*. μ (signed mean effect over the box): + means raising the "
        "parameter favours consent.",
        "",
        "![Morris](morris.png)",
        "",
        "## Sobol indices",
        "",
        f"The {len(result['sobol_parameters'])} parameters with the largest μ* of the margin, N = "
        f"{cfg['sobol_samples']} "
        f"({len(result['sobol_points'])} points), the others at their base value. S1: first order, ST: total "
        "order, with 95% bootstrap half-widths.",
        "",
        "| output | parameter | S1 | ST | ST interval width |",
        "|---|---|---|---|---|",
    ]
    for r in result["sobol"]:
        width = 2 * r["ST_conf"]
        lines.append(
            f"| {r['output']} | `{r['parameter']}` | {r['S1']:.2f} ± {r['S1_conf']:.2f} | "
            f"{r['ST']:.2f} ± {r['ST_conf']:.2f} | {width:.3f} |"
        )
    widths = [2 * r["ST_conf"] for r in result["sobol"] if math.isfinite(r["ST_conf"])]
    lines += [
        "",
        f"Widest total-order interval: {max(widths, default=float('nan')):.3f}.",
        "",
        "![Sobol](sobol.png)",
        "",
        "## What decides consent vs mobilization",
        "",
    ]
    for i, r in enumerate(consent_vs_mobilization(result), 1):
        side = "consent" if r["correlation"] > 0 else "mobilization"
        lines.append(
            f"{i}. `{r['parameter']}`: ST {r['ST']:.2f} ± {r['ST_conf']:.2f}, S1 {r['S1']:.2f} ± {r['S1_conf']:.2f}; "
            f"raising it favours {side} (correlation with the margin over the Sobol points {r['correlation']:+.2f}, "
            f"the others at their base values; Morris μ over the whole box {r['mu']:+.3f})"
        )
    lines += [
        "",
        "## Time",
        "",
        f"{t['total']:.0f} s in all with {result['workers']} worker(s): grid {t['grid']:.0f} s, replicates "
        f"{t['replicates']:.0f} s, Morris {t['morris']:.0f} s, Sobol {t['sobol']:.0f} s (stages reused from an "
        "earlier run count 0).",
        "",
    ]
    return "\n".join(lines)
