"""Explain trained agents: distil each into a tree, print its rules, compare tree and agent, seeds side by side.

:func:`explain_policy` distils one policy (a trained agent, a scripted member, any ``act(obs)``) on a scenario
and measures the tree on held-out episodes; :func:`explain_runs` does it for the run directories of
``massbargain train`` and adds :func:`cross_agreement`: how often the trees of different seeds take the same
action on the pooled states they visit (are they the same strategy?). :func:`format_explanations` is the text
``massbargain explain`` prints. Needs scikit-learn; loading a run needs the ``train`` extra (torch).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from massbargain.experiments.explain.dagger import (
    DistilConfig,
    Distilled,
    PairResult,
    _rollout_states,
    distil_auto,
    evaluate_pair,
    label,
)
from massbargain.experiments.explain.rules import Leaf, format_rules, leaf_table
from massbargain.scenario import Scenario

__all__ = [
    "PASSIVE_RETURN",
    "Explanation",
    "cross_agreement",
    "explain_policy",
    "explain_runs",
    "format_explanations",
    "summary_rows",
]

#: An agent whose held-out mean return is below this is reported as passive: a tree that matches it
#: matches doing (almost) nothing, a trivial comparison.
PASSIVE_RETURN = 0.03


@dataclass(frozen=True, eq=False)
class Explanation:
    """One policy's distilled tree, its rules with coverage and agreement, and the held-out comparison."""

    name: str
    scenario: Scenario
    distilled: Distilled
    pair: PairResult
    rules: tuple[Leaf, ...]
    agreement: float  # share of the tree's held-out states where the agent's most probable action is the tree's
    states: np.ndarray  # the observations of the tree's held-out episodes

    @property
    def tree(self) -> Any:
        return self.distilled.policy

    @property
    def passive(self) -> bool:
        """The agent barely earns anything (mean return below :data:`PASSIVE_RETURN`)."""
        return self.pair.agent_return < PASSIVE_RETURN

    def to_dict(self) -> dict[str, Any]:
        days = self.scenario.horizon.days
        return {
            "name": self.name,
            "scenario": self.scenario.name,
            "depth": self.tree.depth,
            "leaves": self.tree.leaves,
            "rules_shown": len(self.rules),
            "agreement": self.agreement,
            "passive": self.passive,
            "labelled_states": self.distilled.states,
            "depths_tried": [list(d) for d in self.distilled.depths],
            "validation_by_iteration": list(self.distilled.validation),
            "agent_validation": self.distilled.agent_validation,
            "held_out": self.pair.to_dict(),
            "rules": [
                {
                    "rule": r.text(days),
                    "action": r.action_name,
                    "coverage": r.coverage,
                    "agreement": r.agreement,
                    "states": r.states,
                }
                for r in self.rules
            ],
        }


def explain_policy(
    policy: Any,
    scenario: Scenario,
    config: DistilConfig | None = None,
    *,
    name: str = "agent",
    episodes: int = 2000,
    eval_seed: int = 10_000,
) -> Explanation:
    """Distil ``policy`` on ``scenario`` (:func:`distil_auto`), then play tree and policy on ``episodes``
    held-out episodes (seed ``eval_seed``, never used while distilling) and measure each rule there."""
    config = config or DistilConfig()
    if eval_seed in (config.seed + 1, *(config.seed + 1000 * (i + 1) for i in range(config.iterations + 1))):
        raise ValueError(f"eval_seed {eval_seed} is one of the distillation's seeds; choose another")
    distilled = distil_auto(policy, scenario, config, name=f"tree of {name}")
    pair = evaluate_pair(distilled.policy, policy, scenario, episodes, eval_seed)
    obs, _ = _rollout_states(policy, distilled.policy, scenario, episodes, eval_seed, beta=0.0)
    expert, _ = label(policy, obs, "none")
    table = leaf_table(distilled.policy, obs, expert)
    agreement = float((np.asarray(distilled.policy.act(obs)) == expert).mean())
    return Explanation(name, scenario, distilled, pair, tuple(table), agreement, obs)


def explain_runs(
    run_dirs: Sequence[str | os.PathLike],
    config: DistilConfig | None = None,
    *,
    which: str = "best",
    episodes: int = 2000,
    eval_seed: int = 10_000,
    scenario: Scenario | None = None,
) -> list[Explanation]:
    """:func:`explain_policy` for the agent of each run directory, on its own scenario (or ``scenario``)."""
    import torch

    from massbargain.agents.loading import load_agent

    torch.set_num_threads(1)
    out = []
    for run_dir in run_dirs:
        agent = load_agent(run_dir, which=which)
        sc = scenario if scenario is not None else agent.scenario
        if sc is None:
            raise ValueError(f"{str(run_dir)!r} does not record its scenario; pass one")
        out.append(explain_policy(agent, sc, config, name=agent.name, episodes=episodes, eval_seed=eval_seed))
    return out


def cross_agreement(explanations: Sequence[Explanation]) -> np.ndarray:
    """(n, n): share of the pooled held-out states (of every explanation) where tree i and tree j act alike.

    Only meaningful for explanations of one scenario."""
    pooled = np.concatenate([e.states for e in explanations])
    acts = [np.asarray(e.tree.act(pooled)) for e in explanations]
    n = len(explanations)
    return np.array([[float((acts[i] == acts[j]).mean()) for j in range(n)] for i in range(n)])


def summary_rows(explanations: Sequence[Explanation]) -> list[dict[str, Any]]:
    """One row per explanation: depth, leaves, agreement, returns, ratio with its interval, rates."""
    rows = []
    for e in explanations:
        p = e.pair
        rows.append(
            {
                "run": e.name,
                "scenario": e.scenario.name,
                "depth": e.tree.depth,
                "leaves": e.tree.leaves,
                "agreement": e.agreement,
                "agent_return": p.agent_return,
                "tree_return": p.tree_return,
                "difference": p.difference.mean,
                "difference_low": p.difference.low,
                "difference_high": p.difference.high,
                "ratio": p.ratio,
                "ratio_low": p.ratio_low,
                "ratio_high": p.ratio_high,
                "agent_concession": p.agent_concession,
                "tree_concession": p.tree_concession,
                "agent_punishment": p.agent_punishment,
                "tree_punishment": p.tree_punishment,
                "agent_mode": p.agent_mode,
                "tree_mode": p.tree_mode,
                "passive": e.passive,
            }
        )
    return rows


def _pct(x: float) -> str:
    return "-" if math.isnan(x) else f"{x:.0%}"


def format_explanations(explanations: Sequence[Explanation]) -> str:
    """The text ``massbargain explain`` prints: each run's rules, then the runs side by side."""
    blocks = []
    for e in explanations:
        p, t = e.pair, e.tree
        d = p.difference
        ratio = (
            f"{p.ratio:.1%} of the agent's return [{p.ratio_low:.1%}, {p.ratio_high:.1%}]"
            if p.agent_return > 0
            else "ratio undefined (agent return <= 0)"
        )
        head = [
            f"{e.name} on {e.scenario.name}: tree of depth {t.depth}, {t.leaves} leaves ({len(e.rules)} rules), "
            f"agreement {e.agreement:.1%} with the agent's most probable action on the tree's own held-out states",
            f"  held out ({p.episodes} episodes, seed {p.seed}, the same for both): agent {p.agent_return:+.3f} "
            f"± {p.agent_ci95:.3f}, tree {p.tree_return:+.3f} ± {p.tree_ci95:.3f}; tree − agent {d.mean:+.3f} "
            f"[{d.low:+.3f}, {d.high:+.3f}] (paired 95% CI): {ratio}",
            f"  concession: agent {_pct(p.agent_concession)}, tree {_pct(p.tree_concession)}; punished: agent "
            f"{_pct(p.agent_punishment)}, tree {_pct(p.tree_punishment)}; mode: agent {p.agent_mode}, tree "
            f"{p.tree_mode}",
        ]
        if e.passive:
            head.append(
                f"  note: the agent is passive (mean return {p.agent_return:+.3f} < {PASSIVE_RETURN}): the tree "
                "matches doing almost nothing, a trivial comparison"
            )
        tried = ", ".join(f"{k}: {v:+.3f}" for k, v in e.distilled.depths)
        if tried:
            head.append(
                f"  depth chosen on validation episodes (agent {e.distilled.agent_validation:+.3f}; by depth {tried})"
            )
        blocks.append("\n".join([*head, _indent(format_rules(list(e.rules), e.scenario.horizon.days))]))
    if len(explanations) > 1:
        rows = [["run", "depth", "leaves", "agreement", "agent", "tree", "tree/agent [95% CI]", "conc a/t", "pun a/t"]]
        for r in summary_rows(explanations):
            ratio = "-" if r["agent_return"] <= 0 else f"{r['ratio']:.0%} [{r['ratio_low']:.0%}, {r['ratio_high']:.0%}]"
            rows.append(
                [
                    r["run"] + (" (passive)" if r["passive"] else ""),
                    str(r["depth"]),
                    str(r["leaves"]),
                    f"{r['agreement']:.1%}",
                    f"{r['agent_return']:+.3f}",
                    f"{r['tree_return']:+.3f}",
                    ratio,
                    f"{_pct(r['agent_concession'])}/{_pct(r['tree_concession'])}",
                    f"{_pct(r['agent_punishment'])}/{_pct(r['tree_punishment'])}",
                ]
            )
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows]
        blocks.append("side by side\n" + "\n".join(lines))
        blocks.append(_side_by_side(explanations))
        if len({e.scenario for e in explanations}) == 1:
            m = cross_agreement(explanations)
            names = [e.name for e in explanations]
            w = max(map(len, names))
            c = max(8, w)
            lines = [" " * w + "  " + "  ".join(n.rjust(c) for n in names)]
            lines += [
                n.ljust(w) + "  " + "  ".join(f"{x:{c}.1%}" for x in row) for n, row in zip(names, m, strict=True)
            ]
            blocks.append(
                "same strategy? share of the pooled held-out states where two trees take the same action\n"
                + "\n".join(lines)
            )
    return "\n\n".join(blocks)


def _side_by_side(explanations: Sequence[Explanation], width: int = 58) -> str:
    """The rules of each run in columns (coverage and action, then the conditions), wrapped to ``width``."""
    import textwrap

    columns = []
    for e in explanations:
        col = [e.name[:width], "-" * min(width, len(e.name))]
        for r in sorted(e.rules, key=lambda r: -r.coverage if not math.isnan(r.coverage) else 0):
            text = f"{_pct(r.coverage):>4} {r.text(e.scenario.horizon.days)}"
            col += textwrap.wrap(text, width, subsequent_indent="     ")
        columns.append(col)
    height = max(map(len, columns))
    lines = []
    for i in range(height):
        cells = [(c[i] if i < len(c) else "").ljust(width) for c in columns]
        lines.append("  ".join(cells).rstrip())
    return "rules side by side (by coverage)\n" + "\n".join(lines)


def _indent(text: str, by: str = "  ") -> str:
    return "\n".join(by + line for line in text.splitlines())
