"""Rendering: a readable status block per day (``ansi``) and a matplotlib dashboard (``rgb_array``).

matplotlib is imported only when a dashboard is drawn, so ``import massbargain`` stays light.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from massbargain.actions import Action, Response
from massbargain.core import OBS_INDEX, State, observe
from massbargain.scenario import Scenario

__all__ = ["ansi", "close", "rgb_array", "snapshot"]

_POSTURE_NAMES = ("firm", "normal", "tolerant")
_figure = None


def snapshot(state: State, scenario: Scenario, action: int | None, response: int | None, info: dict) -> dict[str, Any]:
    """The values one day's view needs, copied out of the (mutable) state."""
    return {
        "day": state.day,
        "action": action,
        "response": response,
        "obs": observe(state, scenario),
        "posture": state.posture,
        "evidence": state.evidence,
        "info": dict(info),
    }


def _bar(x: float, width: int = 20) -> str:
    filled = int(round(max(0.0, min(1.0, x)) * width))
    return "#" * filled + "." * (width - filled)


def ansi(history: list[dict[str, Any]], scenario: Scenario) -> str:
    """The latest day as a status block of a few lines."""
    h = history[-1]
    o = h["obs"]
    i = OBS_INDEX
    act = "-" if h["action"] is None else Action(h["action"]).name
    resp = "-" if h["response"] is None else Response(h["response"]).name

    def gauge(label: str, field: str) -> str:
        return f"{label:<9}{o[i[field]]:5.2f} |{_bar(o[i[field]])}|"

    flags = ("  INVESTIGATION" if o[i["investigation"]] > 0 else "") + (
        "  INCIDENT" if h["info"].get("triggered") else ""
    )
    lines = [
        f"Day {h['day']:>3}/{scenario.horizon.days}  [{scenario.name}]  official: {act:<9}  superior: {resp}",
        f"  {gauge('informed', 'informed')}   {gauge('crowd', 'crowd')}",
        f"  {gauge('radical', 'radical_share')}   {gauge('disorder', 'disorder')}",
        f"  brokers {o[i['broker_activity']]:4.2f}  elite {o[i['elite_opposition']]:4.2f}"
        f"  legitimacy {o[i['legitimacy']]:4.2f}  police {_POSTURE_NAMES[h['posture']]:<8}"
        f"  warnings {int(round(o[i['warnings']] * 5))}{flags}",
    ]
    outcome = h["info"].get("outcome")
    if outcome:
        lines.append(
            f"  ==> episode over: plan {outcome.name.lower()} ({h['info']['end_reason'].name.lower()}),"
            f" punishment: {h['info']['severity'].name.lower()}"
        )
    return "\n".join(lines) + "\n"


def rgb_array(history: list[dict[str, Any]], scenario: Scenario) -> np.ndarray:
    """A dashboard of the episode so far: crowd, radical share, disorder, evidence; actions and responses."""
    global _figure
    from massbargain.extras import require

    require("render", what="render_mode='rgb_array'")
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    if _figure is None:
        _figure = plt.figure(figsize=(6.4, 4.0), dpi=80)
    fig = _figure
    fig.clf()
    ax = fig.add_subplot(1, 1, 1)
    days = [h["day"] for h in history]
    i = OBS_INDEX
    for name, label in (("crowd", "crowd A"), ("radical_share", "radical R"), ("disorder", "disorder D")):
        ax.plot(days, [h["obs"][i[name]] for h in history], label=label)
    ax.plot(days, [h["evidence"] for h in history], label="evidence E (hidden)", linestyle="--")
    for h in history:
        if h["action"] is not None:
            ax.annotate(Action(h["action"]).name[:3], (h["day"], 1.02), fontsize=6, ha="center", rotation=90)
        if h["response"] not in (None, Response.HOLD):
            ax.axvline(h["day"], color="red", alpha=0.3)
    ax.set_xlim(0, scenario.horizon.days)
    ax.set_ylim(0, 1.15)
    ax.set_xlabel("day")
    ax.set_title(f"{scenario.name}: red lines = superior warns, represses or concedes", fontsize=9)
    # Below the axes, so that it covers neither the curves nor the action labels along the top.
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=4, fontsize=7, frameon=False)
    fig.subplots_adjust(bottom=0.24)
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()


def close() -> None:
    """Release the dashboard figure, if one was drawn."""
    global _figure
    if _figure is not None:
        import matplotlib.pyplot as plt

        plt.close(_figure)
        _figure = None
