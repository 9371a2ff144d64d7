"""Figures of the mode map: heatmaps over recklessness (rows) × monitoring (columns), one panel per stakes.

Input: the per-cell table of :func:`massbargain.experiments.maps.mode_map.mode_map` (seeds pooled), with columns
``recklessness``, ``monitoring``, ``stakes``, ``mode`` and the metrics. Built on
:class:`matplotlib.figure.Figure` directly (no pyplot), as :mod:`massbargain.experiments.analysis.plots` does, with its
mode colours.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from massbargain.actions import Mode
from massbargain.experiments.analysis.plots import MODE_COLORS, save

__all__ = ["METRICS", "plot_heatmaps", "plot_mode_map", "write_figures"]

#: Heatmap metrics: column -> (title, colormap, value range or None for the data's).
METRICS: dict[str, tuple[str, Any, tuple[float, float] | None]] = {
    "consent_share": ("consent share (episodes)", "Greens", (0.0, 1.0)),
    "mobilized_share": ("mobilized share (episodes)", "Reds", (0.0, 1.0)),
    "consent_minus_mobilized": ("consent − mobilized share", None, (-1.0, 1.0)),
    "concession_rate": ("concession rate", "Blues", (0.0, 1.0)),
    "punishment_rate": ("punishment rate", "Purples", (0.0, 1.0)),
    "pyrrhic_rate": ("Pyrrhic rate (won and punished)", "Oranges", (0.0, 0.5)),
    "riot_rate": ("riot rate", "Greys", (0.0, 1.0)),
    "mean_return": ("mean return", "viridis", None),
}
_LETTER = {"none": "N", "consent": "C", "mobilized": "M"}
_DIVERGING = LinearSegmentedColormap.from_list(
    "mobilized_consent", [MODE_COLORS[Mode.MOBILIZED.name], "#f7f7f7", MODE_COLORS[Mode.CONSENT.name]]
)


def _matrix(cells: Any, stakes: float, column: str) -> tuple[np.ndarray, list[float], list[float]]:
    at = cells[np.isclose(cells["stakes"], stakes)]
    table = at.pivot(index="recklessness", columns="monitoring", values=column).sort_index()
    return table.to_numpy(), list(table.index), list(table.columns)


def _panel(
    ax: Any, values: np.ndarray, rows: Sequence[float], cols: Sequence[float], cmap: Any, vmin: float, vmax: float
) -> Any:
    im = ax.imshow(values, origin="lower", aspect="auto", cmap=cmap, vmin=vmin, vmax=vmax)
    ax.set_xticks(range(len(cols)), [f"{c:g}" for c in cols], fontsize=8)
    ax.set_yticks(range(len(rows)), [f"{r:g}" for r in rows], fontsize=8)
    return im


def _with_difference(cells: Any) -> Any:
    cells = cells.copy()
    cells["consent_minus_mobilized"] = cells["consent_share"] - cells["mobilized_share"]
    return cells


def plot_mode_map(cells: Any, title: str | None = None) -> Figure:
    """The headline figure: consent − mobilized share per cell (green consent, red mobilization); in each cell
    the agents' dominant mode's letter (N none, C consent, M mobilized) with the best script's and the
    planner's after it (``s``, ``p``), the agents' mean return, and the share of Pyrrhic episodes (won and
    punished) where it is at least 5%. An uncertified cell (see ``certified``) is outlined and starred."""
    cells = _with_difference(cells)
    stakes = sorted(cells["stakes"].unique())
    fig = Figure(figsize=(3.3 * len(stakes) + 1.2, 3.6), layout="constrained")
    axes = fig.subplots(1, len(stakes), squeeze=False)[0]
    im = None
    for ax, s in zip(axes, stakes, strict=True):
        diff, rows, cols = _matrix(cells, s, "consent_minus_mobilized")
        mode, _, _ = _matrix(cells, s, "mode")
        ret, _, _ = _matrix(cells, s, "mean_return")
        others = {c: _matrix(cells, s, c)[0] for c in ("scripted_mode", "planner_mode") if c in cells}
        pyrrhic = _matrix(cells, s, "pyrrhic_rate")[0] if "pyrrhic_rate" in cells else None
        certified = _matrix(cells, s, "certified")[0] if "certified" in cells else None
        im = _panel(ax, diff, rows, cols, _DIVERGING, -1.0, 1.0)
        for i in range(len(rows)):
            for j in range(len(cols)):
                head = _LETTER[mode[i, j]]
                if others:
                    head += " " + "".join(f"{c[0]}{_LETTER[v[i, j]]}" for c, v in others.items())
                text = f"{head}\n{ret[i, j]:+.2f}"
                if pyrrhic is not None and pyrrhic[i, j] >= 0.05:
                    text += f"\nP{100 * pyrrhic[i, j]:.0f}%"
                if certified is not None and not certified[i, j]:
                    text = "*" + text
                    ax.add_patch(Rectangle((j - 0.48, i - 0.48), 0.96, 0.96, fill=False, lw=1.2, ec="#222222"))
                ax.text(
                    j,
                    i,
                    text,
                    ha="center",
                    va="center",
                    fontsize=6.5,
                    color="#222222",
                    linespacing=0.95,
                )
        ax.set_title(f"stakes S = {s:g}", fontsize=10)
        ax.set_xlabel("superior monitoring μ", fontsize=9)
    axes[0].set_ylabel("broker recklessness ρ̄", fontsize=9)
    fig.colorbar(im, ax=list(axes), shrink=0.9, label="consent − mobilized share")
    title = (
        title
        or "PPO officials: consent (green) or mobilization (red)? N/C/M: agents' mode; s, p: best script's, "
        "planner's; P: Pyrrhic; *: uncertified"
    )
    # Wrapped to the figure's width (12.5 characters an inch at this size, where 14 fit), so that a narrow map
    # (fewer stakes values, e.g. --quick) is not clipped; the default map's title stays on one line.
    fig.suptitle(textwrap.fill(title, width=int(12.5 * fig.get_figwidth())), fontsize=10)
    return fig


def plot_heatmaps(cells: Any, metrics: Sequence[str] | None = None) -> Figure:
    """One row per metric (default: all of :data:`METRICS`), one column per stakes value; each metric's colour
    scale is shared across stakes."""
    cells = _with_difference(cells)
    metrics = list(metrics or METRICS)
    stakes = sorted(cells["stakes"].unique())
    fig = Figure(figsize=(3.0 * len(stakes) + 1.5, 2.6 * len(metrics)), layout="constrained")
    grid = fig.subplots(len(metrics), len(stakes), squeeze=False)
    for row, metric in zip(grid, metrics, strict=True):
        label, cmap, rng = METRICS[metric]
        cmap = cmap or _DIVERGING
        lo, hi = rng if rng is not None else (float(cells[metric].min()), float(cells[metric].max()))
        im = None
        for ax, s in zip(row, stakes, strict=True):
            values, rows, cols = _matrix(cells, s, metric)
            im = _panel(ax, values, rows, cols, cmap, lo, hi)
            for i in range(len(rows)):
                for j in range(len(cols)):
                    ax.text(j, i, f"{values[i, j]:.2f}", ha="center", va="center", fontsize=6, color="#222222")
            ax.set_title(f"{label}, S = {s:g}", fontsize=9)
        row[0].set_ylabel("recklessness ρ̄", fontsize=8)
        fig.colorbar(im, ax=list(row), shrink=0.9)
    for ax in grid[-1]:
        ax.set_xlabel("monitoring μ", fontsize=8)
    return fig


def write_figures(cells: Any, out: str | Path) -> list[Path]:
    """Write ``mode_map.png``, ``heatmaps.png`` and ``heatmap_<metric>.png`` for each metric into ``out``."""
    out = Path(out)
    paths = [
        save(plot_mode_map(cells), out / "mode_map.png", dpi=120),
        save(plot_heatmaps(cells), out / "heatmaps.png"),
    ]
    for metric in METRICS:
        paths.append(save(plot_heatmaps(cells, [metric]), out / f"heatmap_{metric}.png"))
    return paths
