"""Figures of what a policy does: episode timelines, mode shares, policy surfaces, learning curves,
comparisons. Every function returns a :class:`matplotlib.figure.Figure`.

The figures are built with :class:`~matplotlib.figure.Figure` directly, not with ``pyplot``: no GUI
backend is involved (saving renders with Agg), nothing accumulates in pyplot's registry, and a notebook
shows the returned figure once (after ``%matplotlib inline``). Each function draws into a new figure, or
into ``fig=`` (a Figure or a SubFigure from ``Figure.subfigures``) so that several can share one picture.

Inputs are the tables of :mod:`massbargain.experiments.analysis`::

    from massbargain.experiments import analysis as an
    from massbargain.experiments.analysis import plots
    steps = an.rollouts("consent", "changxing", episodes=200)
    plots.plot_timeline(steps, episode=0).savefig("timeline.png")
    plots.plot_policy_surface(an.policy_surface("consent", "informed", "radical_share"))
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure, SubFigure
from matplotlib.patches import Patch

from massbargain.actions import ACTION_MODE, Action, Mode, Response
from massbargain.experiments.analysis import tables as an

__all__ = [
    "ACTION_COLORS",
    "MODE_COLORS",
    "RESPONSE_COLORS",
    "plot_action_by_state",
    "plot_action_shares",
    "plot_comparison",
    "plot_learning_curves",
    "plot_mode_shares",
    "plot_policy_surface",
    "plot_timeline",
    "save",
]

#: One colour per mode: grey passive, blue official channels, green consent, red mobilization, purple
#: control, dark grey exit.
MODE_COLORS: dict[str, str] = {
    Mode.PASSIVE.name: "#a6a6a6",
    Mode.OFFICIAL_CHANNEL.name: "#3b75af",
    Mode.CONSENT.name: "#3a923a",
    Mode.MOBILIZED.name: "#c0392b",
    Mode.CONTROL.name: "#8e6bb8",
    Mode.EXIT.name: "#4d4d4d",
}
#: Actions take their mode's colour; the two consent and the two control actions differ in shade.
ACTION_COLORS: dict[str, str] = {a.name: MODE_COLORS[ACTION_MODE[a].name] for a in Action}
ACTION_COLORS.update({Action.LEAK.name: "#8fd18f", Action.CRACKDOWN.name: "#5b3a8c"})
RESPONSE_COLORS: dict[str, str] = {
    Response.HOLD.name: "#a6a6a6",
    Response.WARN.name: "#e69f00",
    Response.REPRESS.name: "#8b0000",
    Response.SUSPEND.name: "#66bb6a",
    Response.PARTIAL.name: "#9ccc65",
    Response.WITHDRAW.name: "#1b7837",
}
_TIMELINE_SERIES = (
    ("crowd", "crowd", "#3b75af"),
    ("radical_share", "radical share", "#c0392b"),
    ("disorder", "disorder", "#e69f00"),
    ("evidence", "evidence (hidden)", "#4d4d4d"),
)


def _figure(fig: Figure | SubFigure | None, figsize: tuple[float, float]) -> Figure | SubFigure:
    return Figure(figsize=figsize, layout="constrained") if fig is None else fig


def _root(fig: Figure | SubFigure) -> Figure:
    return fig.get_figure(root=True) if isinstance(fig, SubFigure) else fig


def _label(value: Any) -> str:
    if isinstance(value, tuple):
        return " / ".join(_label(v) for v in value)
    if isinstance(value, pd.Interval):
        return f"{value.left:.3g}–{value.right:.3g}"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


# --- timeline ---------------------------------------------------------------------------------------


def plot_timeline(
    steps: pd.DataFrame,
    episode: int = 0,
    *,
    policy: str | None = None,
    fig: Figure | SubFigure | None = None,
) -> Figure:
    """One episode day by day: crowd, radical share, disorder and the hidden evidence at the end of each
    day (day 0: the first morning), trigger events (stars) and punishments (crosses); below, the
    official's action each day (coloured by mode) and the superior's response.

    ``steps`` is a :func:`~massbargain.experiments.analysis.rollouts` table; ``policy`` picks one when it
    holds several (default: the first).
    """
    if "policy" in steps.columns and steps["policy"].nunique() > 1:
        policy = policy if policy is not None else str(steps["policy"].iloc[0])
        steps = steps[steps["policy"] == policy]
    ep = steps[steps["episode"] == episode].sort_values("day")
    if ep.empty:
        raise ValueError(
            f"episode {episode} is not in the table (episodes {steps['episode'].min()}..{steps['episode'].max()})"
        )
    fig = _figure(fig, (8.0, 5.6))
    axes = fig.subplots(3, 1, sharex=True, gridspec_kw={"height_ratios": [3.0, 2.2, 1.4]})
    top, mid, low = axes
    days = np.concatenate([[0], ep["day"].to_numpy()])
    first = ep.iloc[0]
    for field, label, color in _TIMELINE_SERIES:
        values = np.concatenate([[float(first[field])], ep[f"{field}_after"].to_numpy(np.float64)])
        top.plot(days, values, marker="o", markersize=3, lw=1.6, color=color, label=label)
    peak = max(0.05, float(top.get_ylim()[1]))
    for day in ep.loc[ep["triggered"], "day"]:
        top.plot(day, peak * 0.95, marker="*", markersize=12, color="#c0392b", linestyle="none")
    punished = ep[ep["punished"] != "NONE"]
    for day, severity in zip(punished["day"], punished["punished"], strict=True):
        top.plot(day, peak * 0.95, marker="X", markersize=10, color="black", linestyle="none")
        top.annotate(str(severity).lower(), (day, peak * 0.95), textcoords="offset points", xytext=(6, -3), fontsize=8)
    top.set_ylim(0.0, peak)
    top.set_ylabel("share")
    top.legend(loc="upper left", fontsize=8, ncols=2, frameon=False)

    action_codes = ep["action"].cat.codes.to_numpy()
    mid.scatter(
        ep["day"],
        action_codes,
        c=[ACTION_COLORS[a] for a in ep["action"].astype(str)],
        s=46,
        marker="s",
        edgecolors="black",
        linewidths=0.4,
        zorder=3,
    )
    mid.set_yticks(range(len(Action)), [a.name for a in Action], fontsize=7)
    mid.set_ylim(len(Action) - 0.5, -0.5)
    mid.set_ylabel("official", fontsize=9)
    mid.grid(axis="y", color="#eeeeee")

    response_codes = ep["superior_response"].cat.codes.to_numpy()
    low.scatter(
        ep["day"],
        response_codes,
        c=[RESPONSE_COLORS[r] for r in ep["superior_response"].astype(str)],
        s=46,
        marker="D",
        edgecolors="black",
        linewidths=0.4,
        zorder=3,
    )
    low.set_yticks(range(len(Response)), [r.name for r in Response], fontsize=7)
    low.set_ylim(len(Response) - 0.5, -0.5)
    low.set_ylabel("superior", fontsize=9)
    low.grid(axis="y", color="#eeeeee")
    low.set_xlabel("day")
    low.set_xlim(-0.5, float(days[-1]) + 0.5)

    last = ep.iloc[-1]
    name = f"{last['policy']} on {last['scenario']}, " if "policy" in ep.columns else ""
    ret = float(ep["reward"].sum())
    title = f"{name}episode {episode}: {last['outcome']} ({last['end_reason']}), return {ret:.2f}"
    fig.suptitle(title, fontsize=10)
    return _root(fig)


# --- shares -----------------------------------------------------------------------------------------


def _stacked(table: pd.DataFrame, colors: Mapping[str, str], title: str, fig: Figure | SubFigure | None) -> Figure:
    fig = _figure(fig, (7.0, 0.9 + 0.42 * max(1, len(table))))
    ax = fig.subplots()
    labels = [_label(i) for i in table.index]
    y = np.arange(len(table))
    left = np.zeros(len(table))
    for col in table.columns:
        values = table[col].to_numpy(np.float64)
        if not values.any():
            continue
        ax.barh(y, values, left=left, color=colors.get(str(col), "#cccccc"), label=str(col), edgecolor="white")
        for yi, (lo, v) in enumerate(zip(left, values, strict=True)):
            if v >= 0.08:
                ax.text(lo + v / 2, yi, f"{v:.0%}", ha="center", va="center", fontsize=7, color="white")
        left += values
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_ylim(len(table) - 0.5, -0.5)
    ax.set_xlim(0.0, 1.0)
    ax.set_xlabel("share")
    if table.index.name or isinstance(table.index, pd.MultiIndex):
        ax.set_ylabel(" / ".join(str(n) for n in table.index.names if n))
    ax.set_title(title, fontsize=10)
    ax.legend(
        loc="upper center", bbox_to_anchor=(0.5, -0.25 if len(table) > 2 else -0.45), ncols=4, fontsize=7, frameon=False
    )
    return _root(fig)


def plot_mode_shares(
    data: pd.DataFrame,
    by: str | Sequence[str] | None = "policy",
    *,
    level: str = "episode",
    bins: an.Bins | None = None,
    fig: Figure | SubFigure | None = None,
) -> Figure:
    """Stacked bars of mode shares, one bar per group. ``data`` is a table from
    :func:`~massbargain.experiments.analysis.mode_shares` (drawn as is), or a step or episode table
    (then ``mode_shares(data, by, level=level, bins=bins)`` is drawn; ``by`` is dropped if absent)."""
    if set(map(str, data.columns)) <= set(MODE_COLORS):
        table = data
    else:
        keys = [by] if isinstance(by, str) else list(by or [])
        keys = [k for k in keys if k in data.columns]
        table = an.mode_shares(data, keys or None, level=level, bins=bins)
    what = "episodes by most escalated mode" if level == "episode" else "days by the action's mode"
    return _stacked(table, MODE_COLORS, f"Share of {what}", fig)


def plot_action_shares(
    data: pd.DataFrame,
    by: str | Sequence[str] | None = "policy",
    *,
    bins: an.Bins | None = None,
    fig: Figure | SubFigure | None = None,
) -> Figure:
    """Stacked bars of the share of days on which each action was taken, one bar per group."""
    if set(map(str, data.columns)) <= set(ACTION_COLORS):
        table = data
    else:
        keys = [by] if isinstance(by, str) else list(by or [])
        table = an.action_shares(data, [k for k in keys if k in data.columns] or None, bins=bins)
    return _stacked(table, ACTION_COLORS, "Share of days by action", fig)


# --- policy surfaces --------------------------------------------------------------------------------

_ACTION_CMAP = ListedColormap([ACTION_COLORS[a.name] for a in Action])
_ACTION_NORM = BoundaryNorm(np.arange(len(Action) + 1) - 0.5, len(Action))


def _grid(surface: pd.DataFrame, column: str, x: str, y: str) -> tuple[np.ndarray, list[float]]:
    pivot = surface.pivot_table(index=y, columns=x, values=column, aggfunc="first", observed=True)
    xs, ys = pivot.columns.to_numpy(np.float64), pivot.index.to_numpy(np.float64)
    dx = (xs[-1] - xs[0]) / max(len(xs) - 1, 1) / 2 or 0.5
    dy = (ys[-1] - ys[0]) / max(len(ys) - 1, 1) / 2 or 0.5
    return pivot.to_numpy(np.float64), [xs[0] - dx, xs[-1] + dx, ys[0] - dy, ys[-1] + dy]


def plot_policy_surface(
    surface: pd.DataFrame,
    action: str | Action | None = None,
    *,
    fig: Figure | SubFigure | None = None,
) -> Figure:
    """A policy surface from :func:`~massbargain.experiments.analysis.policy_surface`.

    ``action=None``: the most probable action at each grid point (colour), with contours of its
    probability (0.5, 0.8, 0.95) where the policy is not certain. ``action="all"``: the probability of each
    of the eight actions in small multiples. An action name: that action's probability with a colour bar.
    """
    x = surface.attrs.get("x", surface.columns[0])
    y = surface.attrs.get("y", surface.columns[1])
    who = surface.attrs.get("policy", "policy")
    fixed = surface.attrs.get("fixed") or {}
    note = ", ".join(f"{k}={v:g}" for k, v in fixed.items())
    if action is None:
        fig = _figure(fig, (6.2, 4.6))
        ax = fig.subplots()
        codes = surface["action"].cat.codes.to_frame("code").assign(**{x: surface[x], y: surface[y]})
        grid, extent = _grid(codes, "code", x, y)
        ax.imshow(grid, origin="lower", extent=extent, aspect="auto", cmap=_ACTION_CMAP, norm=_ACTION_NORM)
        top = surface[list(an.PROB_COLUMNS)].max(axis=1).to_frame("top").assign(**{x: surface[x], y: surface[y]})
        pgrid, _ = _grid(top, "top", x, y)
        if np.nanmin(pgrid) < 0.95:
            xs = np.linspace(extent[0], extent[1], grid.shape[1] + 1)
            ys = np.linspace(extent[2], extent[3], grid.shape[0] + 1)
            cs = ax.contour(
                (xs[:-1] + xs[1:]) / 2,
                (ys[:-1] + ys[1:]) / 2,
                pgrid,
                levels=[0.5, 0.8, 0.95],
                colors="white",
                linewidths=0.8,
            )
            ax.clabel(cs, fontsize=7, fmt="%.2f")
        present = [a for a in Action if (surface["action"] == a.name).any()]
        handles = [Patch(color=ACTION_COLORS[a.name], label=a.name) for a in present]
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
        ax.set_xlabel(x)
        ax.set_ylabel(y)
        ax.set_title(f"{who}: most probable action" + (f"\n({note})" if note else ""), fontsize=10)
        return _root(fig)
    if isinstance(action, str) and action.lower() == "all":
        fig = _figure(fig, (11.0, 5.2))
        axes = fig.subplots(2, 4, sharex=True, sharey=True)
        image = None
        for ax, a in zip(axes.ravel(), Action, strict=True):
            grid, extent = _grid(surface, an.prob_column(a), x, y)
            image = ax.imshow(grid, origin="lower", extent=extent, aspect="auto", vmin=0.0, vmax=1.0, cmap="viridis")
            ax.set_title(a.name, fontsize=9, color=ACTION_COLORS[a.name])
        for ax in axes[-1]:
            ax.set_xlabel(x)
        for ax in axes[:, 0]:
            ax.set_ylabel(y)
        fig.colorbar(image, ax=axes, label="probability", shrink=0.8)
        fig.suptitle(f"{who}: action probabilities" + (f" ({note})" if note else ""), fontsize=10)
        return _root(fig)
    a = Action[action.upper()] if isinstance(action, str) else Action(action)
    fig = _figure(fig, (5.6, 4.4))
    ax = fig.subplots()
    grid, extent = _grid(surface, an.prob_column(a), x, y)
    image = ax.imshow(grid, origin="lower", extent=extent, aspect="auto", vmin=0.0, vmax=1.0, cmap="viridis")
    fig.colorbar(image, ax=ax, label=f"P({a.name})")
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(f"{who}: probability of {a.name}" + (f"\n({note})" if note else ""), fontsize=10)
    return _root(fig)


def plot_action_by_state(
    steps: pd.DataFrame,
    x: str = "crowd",
    y: str = "radical_share",
    bins: int | Sequence[float] | tuple[Any, Any] = 4,
    *,
    fig: Figure | SubFigure | None = None,
) -> Figure:
    """The most common action in each cell of a grid of two state columns, from visited states (what
    :func:`~massbargain.experiments.analysis.action_by_state` tabulates), with the share of days in that
    cell on which it was taken and the number of days."""
    table = an.action_by_state(steps, x, y, bins)
    xb, yb = bins if isinstance(bins, tuple) and len(bins) == 2 else (bins, bins)
    shares = an.action_shares(steps, by=[y, x], bins={x: xb, y: yb})
    data, _ = an._prepare(steps, [y, x], {x: xb, y: yb})
    counts = data.groupby([y, x], observed=True).size()
    fig = _figure(fig, (1.6 + 1.5 * table.shape[1], 1.2 + 0.8 * table.shape[0]))
    ax = fig.subplots()
    for i, yi in enumerate(table.index):
        for j, xi in enumerate(table.columns):
            name = table.loc[yi, xi]
            if not isinstance(name, str):
                ax.add_patch(_cell(j, i, "#f4f4f4"))
                continue
            share = float(shares.loc[(yi, xi), name])
            ax.add_patch(_cell(j, i, ACTION_COLORS[name]))
            text = f"{name}\n{share:.0%} of {int(counts.loc[(yi, xi)])}"
            ax.text(j, i, text, ha="center", va="center", fontsize=7, color="white" if name != "LEAK" else "black")
    ax.set_xlim(-0.5, table.shape[1] - 0.5)
    ax.set_ylim(table.shape[0] - 0.5, -0.5)
    ax.set_xticks(range(table.shape[1]), [_label(c) for c in table.columns], fontsize=7)
    ax.set_yticks(range(table.shape[0]), [_label(r) for r in table.index], fontsize=7)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    who = ", ".join(map(str, steps["policy"].unique())) if "policy" in steps.columns else "policy"
    ax.set_title(f"{who}: most common action by visited state", fontsize=10)
    return _root(fig)


def _cell(x: float, y: float, color: str) -> Any:
    from matplotlib.patches import Rectangle

    return Rectangle((x - 0.5, y - 0.5), 1.0, 1.0, facecolor=color, edgecolor="white", linewidth=1.5)


# --- learning curves and comparisons ---------------------------------------------------------------

_PREFERRED_TAGS = ("rollout/ep_rew_mean", "eval/mean_return", "monitor/episode_return", "metrics/mean_return")


def plot_learning_curves(
    runs: pd.DataFrame | str | os.PathLike | Iterable[str | os.PathLike],
    tag: str | None = None,
    *,
    smooth: int | None = None,
    fig: Figure | SubFigure | None = None,
) -> Figure:
    """Learning curves of one or several runs: ``tag`` against environment timesteps, one line per run.

    ``runs`` is a table from :func:`~massbargain.experiments.analysis.learning_curves` or run
    directories. ``tag`` defaults to the first logged of ``rollout/ep_rew_mean`` (the training episodes'
    mean return), ``eval/mean_return`` (periodic greedy evaluations), ``monitor/episode_return``,
    ``metrics/mean_return``. ``smooth``: a rolling mean over that many points (default: 1 for
    TensorBoard's already averaged scalars, about a twentieth of the points for raw Monitor episodes).
    """
    curves = runs if isinstance(runs, pd.DataFrame) else an.learning_curves(runs)
    if tag is None:
        tag = next((t for t in _PREFERRED_TAGS if (curves["tag"] == t).any()), None)
        if tag is None:
            tag = str(curves["tag"].iloc[0])
    data = curves[curves["tag"] == tag]
    if data.empty:
        raise ValueError(f"no tag {tag!r} logged; tags: {', '.join(sorted(curves['tag'].unique()))}")
    fig = _figure(fig, (6.4, 3.8))
    ax = fig.subplots()
    for (run, source), group in data.groupby(["run", "source"], sort=True):
        group = group.sort_values("step")
        window = smooth or (max(1, len(group) // 20) if source == "monitor" else 1)
        values = group["value"].rolling(window, min_periods=1).mean()
        label = run if data["source"].nunique() == 1 else f"{run} ({source})"
        ax.plot(group["step"], values, lw=1.6, label=label)
    ax.set_xlabel("environment timesteps")
    ax.set_ylabel(tag)
    ax.set_title(f"Learning curve: {tag}", fontsize=10)
    ax.grid(color="#eeeeee")
    ax.legend(fontsize=8, frameon=False)
    return _root(fig)


def plot_comparison(
    table: pd.DataFrame,
    *,
    highlight: Sequence[str] | None = None,
    fig: Figure | SubFigure | None = None,
) -> Figure:
    """Policies side by side, from :func:`~massbargain.experiments.analysis.compare` (or
    ``outcome_rates(..., by="policy")``): mean return with its 95% interval, what became of the plan
    (withdrawn, suspended, partial, imposed), and the punishment rate. ``highlight``: policies to draw
    in a strong colour (e.g. the trained agents; default: those that are not scripted baselines)."""
    from massbargain.agents.baselines import BASELINES

    names = [_label(i) for i in table.index]
    if highlight is None:
        highlight = [n for n in names if n not in BASELINES]
    strong = ["#d35400" if n in set(highlight) else "#7f8c8d" for n in names]
    fig = _figure(fig, (10.0, 0.9 + 0.38 * max(2, len(table))))
    ax_r, ax_o, ax_p = fig.subplots(1, 3, sharey=True, gridspec_kw={"width_ratios": [1.2, 1.6, 0.9]})
    y = np.arange(len(table))
    err = table["return_ci95"].fillna(0.0).to_numpy() if "return_ci95" in table else None
    ax_r.barh(y, table["mean_return"], xerr=err, color=strong, capsize=2)
    ax_r.axvline(0.0, color="black", lw=0.6)
    ax_r.set_yticks(y, names, fontsize=8)
    ax_r.set_ylim(len(table) - 0.5, -0.5)
    ax_r.set_xlabel("mean return (95% CI)")
    left = np.zeros(len(table))
    colors = {"withdrawn": "#1b7837", "suspended": "#66bb6a", "partial": "#c5e1a5", "imposed": "#bdbdbd"}
    for outcome, color in colors.items():
        values = table[f"{outcome}_rate"].to_numpy(np.float64)
        ax_o.barh(y, values, left=left, color=color, label=outcome, edgecolor="white")
        left += values
    ax_o.set_xlim(0.0, 1.0)
    ax_o.set_xlabel("share of episodes")
    ax_o.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), ncols=4, fontsize=7, frameon=False)
    ax_p.barh(y, table["punishment_rate"], color=strong)
    ax_p.set_xlim(0.0, max(0.05, float(table["punishment_rate"].max()) * 1.15))
    ax_p.set_xlabel("punished")
    for ax in (ax_r, ax_o, ax_p):
        ax.grid(axis="x", color="#eeeeee")
    fig.suptitle("What each policy wins and what it costs", fontsize=10)
    return _root(fig)


def save(fig: Figure, path: str | Path, dpi: int = 110) -> Path:
    """Save ``fig`` (creating the folder) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    return path
