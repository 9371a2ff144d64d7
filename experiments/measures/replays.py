"""The case replays (:mod:`massbargain.cases`) on their own preset and on the other one: the table of
docs/MODEL.md section "The case replays" (``massbargain facts --replays``)."""

from __future__ import annotations

from massbargain.scenario import Scenario

__all__ = ["replays_markdown"]

_REPLAY_ROWS = (
    ("concession (any)", "concession_rate"),
    ("suspended or withdrawn, unpunished", "suspended_or_withdrawn_unpunished"),
    ("punished", "punishment_rate"),
    ("concession + punished (Pyrrhic)", "pyrrhic"),
    ("riot (peak disorder ≥ veto threshold)", "riot_rate"),
    ("repressed by the superior", "repressed_rate"),
    ("investigated", "investigated_rate"),
    ("riot + repression + investigation", "riot_repressed_investigated"),
    ("trigger event", "trigger_rate"),
    ("median peak crowd", "peak_crowd_median"),
    ("median peak disorder", "peak_disorder_median"),
    ("mean return", "mean_return"),
    ("mean days", "mean_length"),
)


def replays_markdown(episodes: int = 4000, seed: int = 0) -> str:
    """The case replays (``massbargain.cases``) on their own preset and on the other one, as the Markdown
    table of docs/MODEL.md section 11."""
    from massbargain.cases import CHANGXING_REPLAY, DAYE_REPLAY, replay_summary, simulate

    columns = [
        ("Changxing path, changxing preset", CHANGXING_REPLAY, "changxing"),
        ("Daye path, daye preset", DAYE_REPLAY, "daye"),
        ("Daye path, changxing preset", DAYE_REPLAY, "changxing"),
        ("Changxing path, daye preset", CHANGXING_REPLAY, "daye"),
    ]
    summaries = []
    for _, policy, preset in columns:
        scenario = Scenario.preset(preset)
        summaries.append(replay_summary(simulate(policy, scenario, episodes, seed), scenario))
    lines = ["| share of episodes | " + " | ".join(c[0] for c in columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for label, key in _REPLAY_ROWS:
        fmt = (
            "{:+.2f}"
            if key == "mean_return"
            else "{:.1f}"
            if key == "mean_length"
            else "{:.3f}"
            if "median" in key
            else "{:.2f}"
        )
        lines.append(f"| {label} | " + " | ".join(fmt.format(s[key]) for s in summaries) + " |")
    return "\n".join(lines)
